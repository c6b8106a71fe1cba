// Varints, zigzag (format-spec §3.3) and delta coding (§3.4).
#include "codecs/varint.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "codecs/delta.h"

namespace slaf::codecs {
namespace {

std::vector<uint8_t> Put(uint64_t v) {
  std::vector<uint8_t> out;
  PutVarint64(&out, v);
  return out;
}

TEST(Varint, EncodingOutput) {
  EXPECT_EQ(Put(0), (std::vector<uint8_t>{0x00}));
  EXPECT_EQ(Put(1), (std::vector<uint8_t>{0x01}));
  EXPECT_EQ(Put(127), (std::vector<uint8_t>{0x7F}));
  EXPECT_EQ(Put(128), (std::vector<uint8_t>{0x80, 0x01}));
  EXPECT_EQ(Put(300), (std::vector<uint8_t>{0xAC, 0x02}));
  EXPECT_EQ(Put(16383), (std::vector<uint8_t>{0xFF, 0x7F}));
  EXPECT_EQ(Put(16384), (std::vector<uint8_t>{0x80, 0x80, 0x01}));
  EXPECT_EQ(Put(UINT64_MAX), (std::vector<uint8_t>{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}));
  EXPECT_EQ(Put(1ull << 63), (std::vector<uint8_t>{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}));
}

TEST(Varint, RoundTrip) {
  std::vector<uint64_t> values = {0, 1, 127, 128, 255, 256, 16383, 16384, UINT32_MAX, 1ull << 32,
                                  (1ull << 63) - 1, 1ull << 63, UINT64_MAX - 1, UINT64_MAX};
  for (int bits = 1; bits <= 64; ++bits) {
    const uint64_t top = bits == 64 ? UINT64_MAX : (1ull << bits) - 1;
    values.push_back(top);
    values.push_back(1ull << (bits - 1));
  }
  std::mt19937_64 rng(17);
  for (int i = 0; i < 1000; ++i) {
    const int shift = static_cast<int>(rng() % 64);
    values.push_back(rng() >> shift);
  }
  // One buffer holding all of them back to back, decoded in sequence.
  std::vector<uint8_t> buf;
  for (uint64_t v : values) {
    const size_t before = buf.size();
    PutVarint64(&buf, v);
    const size_t len = buf.size() - before;
    EXPECT_LE(len, kMaxVarint64Bytes);
    // Length is ceil(bits / 7), at least 1.
    int bits = 64 - (v ? __builtin_clzll(v) : 63);
    EXPECT_EQ(len, static_cast<size_t>((bits + 6) / 7)) << v;
  }
  const uint8_t* p = buf.data();
  const uint8_t* end = buf.data() + buf.size();
  for (uint64_t v : values) {
    uint64_t got = 0;
    p = GetVarint64(p, end, &got);
    ASSERT_NE(p, nullptr);
    ASSERT_EQ(got, v);
  }
  EXPECT_EQ(p, end);
}

TEST(Varint, RejectsTruncated) {
  for (uint64_t v : std::vector<uint64_t>{128, 300, 1ull << 40, UINT64_MAX}) {
    const std::vector<uint8_t> enc = Put(v);
    for (size_t len = 0; len < enc.size(); ++len) {
      std::vector<uint8_t> cut(enc.begin(), enc.begin() + len);
      uint64_t got = 12345;
      EXPECT_EQ(GetVarint64(cut.data(), cut.data() + cut.size(), &got), nullptr) << v << " cut at " << len;
      EXPECT_EQ(got, 12345u) << "output must be untouched on failure";
    }
  }
}

TEST(Varint, RejectsOverflow) {
  uint64_t got = 0;
  // Eleven bytes: ten continuation bytes then a terminator.
  std::vector<uint8_t> eleven(10, 0x80);
  eleven.push_back(0x00);
  EXPECT_EQ(GetVarint64(eleven.data(), eleven.data() + eleven.size(), &got), nullptr);
  // Ten bytes whose last carries bits beyond 2^64.
  for (uint8_t last : {0x02, 0x03, 0x7F, 0x81}) {
    std::vector<uint8_t> ten(9, 0xFF);
    ten.push_back(last);
    ten.push_back(0x00);
    EXPECT_EQ(GetVarint64(ten.data(), ten.data() + ten.size(), &got), nullptr) << int(last);
  }
  // The largest legal ten-byte forms still decode, including a non-minimal
  // high byte of 0.
  std::vector<uint8_t> max(9, 0xFF);
  max.push_back(0x01);
  ASSERT_EQ(GetVarint64(max.data(), max.data() + max.size(), &got), max.data() + 10);
  EXPECT_EQ(got, UINT64_MAX);
  std::vector<uint8_t> low(9, 0xFF);
  low.push_back(0x00);
  ASSERT_EQ(GetVarint64(low.data(), low.data() + low.size(), &got), low.data() + 10);
  EXPECT_EQ(got, (1ull << 63) - 1);
}

TEST(Varint, StopsAtLimit) {
  // The byte at `limit` says "end" but must not be read.
  const uint8_t bytes[] = {0x80, 0x00};
  uint64_t got = 0;
  EXPECT_EQ(GetVarint64(bytes, bytes + 1, &got), nullptr);
  EXPECT_EQ(GetVarint64(bytes, bytes, &got), nullptr);
  ASSERT_EQ(GetVarint64(bytes, bytes + 2, &got), bytes + 2);
  EXPECT_EQ(got, 0u);
}

TEST(ZigZag, Mapping) {
  const std::pair<int64_t, uint64_t> table[] = {
      {0, 0}, {-1, 1}, {1, 2}, {-2, 3}, {2, 4}, {-64, 127}, {64, 128},
      {INT64_MAX, UINT64_MAX - 1}, {INT64_MIN, UINT64_MAX}, {INT32_MIN, 0xFFFFFFFFull}};
  for (auto [s, u] : table) {
    EXPECT_EQ(ZigZagEncode(s), u) << s;
    EXPECT_EQ(ZigZagDecode(u), s) << u;
  }
  std::mt19937_64 rng(23);
  for (int i = 0; i < 10000; ++i) {
    const int shift = static_cast<int>(rng() % 64);
    const int64_t v = static_cast<int64_t>(rng()) >> shift;
    ASSERT_EQ(ZigZagDecode(ZigZagEncode(v)), v);
    // Small magnitudes stay small: |v| < 2^k maps below 2^(k+1).
    const uint64_t mag = v < 0 ? ~static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
    EXPECT_EQ(ZigZagEncode(v) >> 1, mag);
  }
}

TEST(Delta, EncodingOutput) {
  const uint32_t in[] = {3, 4, 10, 11, 4000000000u};
  uint32_t out[5];
  DeltaEncodeIncreasing(in, 5, out);
  const uint32_t want[] = {3, 0, 5, 0, 4000000000u - 12};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(out[i], want[i]) << i;
  ASSERT_TRUE(DeltaDecodeIncreasing(out, 5, 4000000001ull));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(out[i], in[i]) << i;
}

TEST(Delta, RoundTripInPlace) {
  std::mt19937_64 rng(29);
  for (size_t n : {0, 1, 2, 100, 5000}) {
    std::vector<uint32_t> v;
    uint64_t x = rng() % 10;
    for (size_t i = 0; i < n; ++i) {
      v.push_back(static_cast<uint32_t>(x));
      x += 1 + (rng() % 4 == 0 ? rng() % 100000 : 0);
    }
    std::vector<uint32_t> work = v;
    DeltaEncodeIncreasing(work.data(), n, work.data());  // aliasing allowed
    for (size_t i = 1; i < n; ++i) ASSERT_EQ(work[i], v[i] - v[i - 1] - 1);
    const uint64_t limit = n ? uint64_t{v.back()} + 1 : 0;
    ASSERT_TRUE(DeltaDecodeIncreasing(work.data(), n, limit));
    EXPECT_EQ(work, v);
  }
}

TEST(Delta, LimitCheck) {
  // {5, 6, 9} stored as 5, 0, 2: the last id is 9, so the limit must be > 9.
  std::vector<uint32_t> v = {5, 0, 2};
  EXPECT_TRUE(DeltaDecodeIncreasing(std::vector<uint32_t>(v).data(), 3, 10));
  EXPECT_FALSE(DeltaDecodeIncreasing(std::vector<uint32_t>(v).data(), 3, 9));
  EXPECT_FALSE(DeltaDecodeIncreasing(std::vector<uint32_t>(v).data(), 3, 0));
  // First value alone at the limit.
  uint32_t one = 7;
  EXPECT_FALSE(DeltaDecodeIncreasing(&one, 1, 7));
  one = 7;
  EXPECT_TRUE(DeltaDecodeIncreasing(&one, 1, 8));
  // Empty runs always fit.
  EXPECT_TRUE(DeltaDecodeIncreasing(nullptr, 0, 0));
  // Gaps that overflow 32 bits are caught, not wrapped: 2^32-1 then +1.
  std::vector<uint32_t> wrap = {0xFFFFFFFFu, 0};
  EXPECT_FALSE(DeltaDecodeIncreasing(wrap.data(), 2, 1ull << 32));
  std::vector<uint32_t> big = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
  EXPECT_FALSE(DeltaDecodeIncreasing(big.data(), 3, 1ull << 31));
  // The largest legal id under the u32 domain.
  std::vector<uint32_t> top = {0xFFFFFFFEu};
  EXPECT_TRUE(DeltaDecodeIncreasing(top.data(), 1, 0xFFFFFFFFull));
}

}  // namespace
}  // namespace slaf::codecs
