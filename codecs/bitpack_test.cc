// Bit-packing (format-spec §3.1) against a bit-by-bit reference packer.
#include "codecs/bitpack.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <vector>

namespace slaf::codecs {
namespace {

// Reference: value i occupies stream bits [i*w, (i+1)*w), bit k of the stream
// is bit k%8 of byte k/8 (LSB first), one bit at a time.
std::vector<uint8_t> NaivePack(const std::vector<uint32_t>& v, int w) {
  std::vector<uint8_t> out((v.size() * w + 7) / 8, 0);
  for (size_t i = 0; i < v.size(); ++i) {
    for (int b = 0; b < w; ++b) {
      if ((v[i] >> b) & 1) {
        const size_t k = i * w + b;
        out[k / 8] |= static_cast<uint8_t>(1u << (k % 8));
      }
    }
  }
  return out;
}

uint32_t MaxOf(int w) { return w == 32 ? 0xFFFFFFFFu : (1u << w) - 1; }

std::vector<uint32_t> Values(size_t n, int w, int pattern, std::mt19937_64* rng) {
  std::vector<uint32_t> v(n);
  for (size_t i = 0; i < n; ++i) {
    switch (pattern) {
      case 0: v[i] = 0; break;
      case 1: v[i] = MaxOf(w); break;
      case 2: v[i] = static_cast<uint32_t>((*rng)()) & MaxOf(w); break;
      default: v[i] = (i % 3 == 0) ? MaxOf(w) : (i % 3 == 1 ? 0 : static_cast<uint32_t>((*rng)()) & MaxOf(w)); break;
    }
  }
  return v;
}

// Unpacks from a heap buffer holding exactly `packed` plus `slack` bytes of
// junk, so a read past the allowed range is caught by ASan, and checks that
// nothing past out[n) is written.
std::vector<uint32_t> Unpack(const std::vector<uint8_t>& packed, size_t slack, size_t n, int w, uint32_t bias = 0) {
  const size_t len = packed.size() + slack;
  std::unique_ptr<uint8_t[]> buf(new uint8_t[len]);
  if (!packed.empty()) std::memcpy(buf.get(), packed.data(), packed.size());
  std::memset(buf.get() + packed.size(), 0xA5, slack);
  std::vector<uint32_t> out(n + 4, 0xDEADBEEF);
  UnpackBits(buf.get(), len, n, w, out.data(), bias);
  for (size_t i = n; i < n + 4; ++i) EXPECT_EQ(out[i], 0xDEADBEEFu) << "wrote past out[n) at " << i;
  out.resize(n);
  return out;
}

TEST(BitPack, EncodingOutput) {
  // {1,2,3,4,5} at width 3: 1 | 2<<3 | 3<<6 | 4<<9 | 5<<12 = 0x58D1, 15 bits.
  const uint32_t in[] = {1, 2, 3, 4, 5};
  uint8_t out[4] = {0xEE, 0xEE, 0xEE, 0xEE};
  PackBits(in, 5, 3, out);
  EXPECT_EQ(out[0], 0xD1);
  EXPECT_EQ(out[1], 0x58);
  EXPECT_EQ(out[2], 0xEE) << "PackedBytes(5, 3) is 2; byte 2 must be untouched";
  EXPECT_EQ(PackedBytes(5, 3), 2u);

  // {0x7F, 0, 0x55} at width 7: 0x7F | 0x55 << 14 = 0x15407F, 21 bits.
  const uint32_t in7[] = {0x7F, 0, 0x55};
  uint8_t out7[3];
  PackBits(in7, 3, 7, out7);
  EXPECT_EQ(out7[0], 0x7F);
  EXPECT_EQ(out7[1], 0x40);
  EXPECT_EQ(out7[2], 0x15);

  // Width 32 is plain little-endian u32.
  const uint32_t in32[] = {0x04030201, 0xFFFFFFFF};
  uint8_t out32[8];
  PackBits(in32, 2, 32, out32);
  const uint8_t want32[] = {1, 2, 3, 4, 0xFF, 0xFF, 0xFF, 0xFF};
  EXPECT_EQ(std::memcmp(out32, want32, 8), 0);

  // Width 1: bits LSB first, unused high bits of the last byte are zero.
  const uint32_t in1[] = {1, 0, 1, 1, 0, 0, 0, 0, 1, 1};
  uint8_t out1[2] = {0xFF, 0xFF};
  PackBits(in1, 10, 1, out1);
  EXPECT_EQ(out1[0], 0x0D);
  EXPECT_EQ(out1[1], 0x03);

  // Width 0 writes nothing.
  uint8_t out0 = 0x77;
  PackBits(in, 5, 0, &out0);
  EXPECT_EQ(out0, 0x77);
  EXPECT_EQ(PackedBytes(1000, 0), 0u);
}

TEST(BitPack, BitWidth) {
  EXPECT_EQ(BitWidth(0), 0);
  EXPECT_EQ(BitWidth(1), 1);
  EXPECT_EQ(BitWidth(2), 2);
  EXPECT_EQ(BitWidth(3), 2);
  EXPECT_EQ(BitWidth(255), 8);
  EXPECT_EQ(BitWidth(256), 9);
  EXPECT_EQ(BitWidth(0x80000000u), 32);
  EXPECT_EQ(BitWidth(0xFFFFFFFFu), 32);
  for (int w = 1; w <= 32; ++w) {
    EXPECT_EQ(BitWidth(MaxOf(w)), w);
    EXPECT_EQ(BitWidth(1u << (w - 1)), w);
  }
}

TEST(BitPack, RoundTripEveryWidthAndLength) {
  std::mt19937_64 rng(1234);
  const size_t lengths[] = {0, 1, 7, 127, 128, 129, 255, 256, 1000};
  // Slack 8 and more enables the unrolled path; 0..7 must use the safe one.
  const size_t slacks[] = {0, 1, 7, 8, 64};
  for (int w = 0; w <= 32; ++w) {
    for (size_t n : lengths) {
      for (int pattern = 0; pattern < 4; ++pattern) {
        SCOPED_TRACE("w=" + std::to_string(w) + " n=" + std::to_string(n) + " pattern=" + std::to_string(pattern));
        const std::vector<uint32_t> v = Values(n, w, pattern, &rng);
        const std::vector<uint8_t> want = NaivePack(v, w);
        ASSERT_EQ(want.size(), PackedBytes(n, w));
        std::vector<uint8_t> packed(want.size() + 1, 0xCC);
        PackBits(v.data(), n, w, packed.data());
        EXPECT_EQ(packed.back(), 0xCC) << "PackBits wrote past PackedBytes";
        packed.pop_back();
        ASSERT_EQ(packed, want);
        for (size_t slack : slacks) {
          ASSERT_EQ(Unpack(packed, slack, n, w), v) << "slack " << slack;
        }
      }
    }
  }
}

TEST(BitPack, UnpackAddsBias) {
  // Both paths add the bias to every value, modulo 2^32.
  std::mt19937_64 rng(4321);
  for (int w : {0, 1, 5, 13, 31, 32}) {
    for (size_t n : {0, 1, 127, 128, 129, 300}) {
      for (uint32_t bias : {1u, 7u, 0xFFFFFFFFu}) {
        const std::vector<uint32_t> v = Values(n, w, 3, &rng);
        const std::vector<uint8_t> packed = NaivePack(v, w);
        std::vector<uint32_t> want(v);
        for (uint32_t& x : want) x += bias;
        for (size_t slack : {0, 8}) {
          ASSERT_EQ(Unpack(packed, slack, n, w, bias), want) << "w=" << w << " n=" << n << " bias=" << bias << " slack=" << slack;
        }
      }
    }
  }
}

TEST(BitPack, UnpackAtUnalignedOffsets) {
  // Runs that start mid-buffer (as lows of a block after its header do).
  std::mt19937_64 rng(99);
  for (int w = 0; w <= 32; ++w) {
    const std::vector<uint32_t> v = Values(300, w, 2, &rng);
    const std::vector<uint8_t> packed = NaivePack(v, w);
    for (size_t lead : {1, 3, 5}) {
      std::vector<uint8_t> buf(lead, 0x5A);
      buf.insert(buf.end(), packed.begin(), packed.end());
      buf.insert(buf.end(), 9, 0xFF);
      std::vector<uint32_t> out(300);
      UnpackBits(buf.data() + lead, buf.size() - lead, 300, w, out.data());
      ASSERT_EQ(out, v) << "w=" << w << " lead=" << lead;
    }
  }
}

}  // namespace
}  // namespace slaf::codecs
