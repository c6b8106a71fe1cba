// Patched bit-packed blocks (format-spec §3.2): round trips, a hand-encoded
// block, and a decoder that rejects every malformed header with Corruption.
#include "codecs/block_codec.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <vector>

namespace slaf::codecs {
namespace {

std::vector<uint8_t> Encode(const std::vector<uint32_t>& v) {
  std::vector<uint8_t> out;
  EncodeBlocks(v.data(), v.size(), &out);
  return out;
}

// Decodes from a heap copy of exactly `bytes` (ASan catches overreads).
Status Decode(const std::vector<uint8_t>& bytes, size_t n, std::vector<uint32_t>* out, size_t* consumed) {
  std::unique_ptr<uint8_t[]> buf(new uint8_t[bytes.size() + 1]);
  if (!bytes.empty()) std::memcpy(buf.get(), bytes.data(), bytes.size());
  out->assign(n, 0xDEADBEEF);
  return DecodeBlocks(buf.get(), buf.get() + bytes.size(), n, out->data(), consumed);
}

enum class Dist { kZeros, kMax, kOutliers, kRandomWidths, kSmall, kAscending };

std::vector<uint32_t> Make(Dist d, size_t n, std::mt19937_64* rng) {
  std::vector<uint32_t> v(n);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t r = (*rng)();
    switch (d) {
      case Dist::kZeros: v[i] = 0; break;
      case Dist::kMax: v[i] = 0xFFFFFFFFu; break;
      case Dist::kOutliers:  // mostly 0..3, about 2% huge
        v[i] = (r % 50 == 0) ? static_cast<uint32_t>(r >> 32) | 0x80000000u : static_cast<uint32_t>(r >> 40) % 4;
        break;
      case Dist::kRandomWidths: {
        const int w = static_cast<int>(r % 33);
        v[i] = w == 0 ? 0 : static_cast<uint32_t>(r >> 32) >> (32 - w);
        break;
      }
      case Dist::kSmall: v[i] = static_cast<uint32_t>(r % 3); break;
      case Dist::kAscending: v[i] = static_cast<uint32_t>(i * 7); break;
    }
  }
  return v;
}

TEST(BlockCodec, EncodingOutputPlainBlock) {
  // {1,2,3,4,5}: max width 3 is cheapest (15 bits vs >= 36 with exceptions).
  // w=3, e=0, then 1 | 2<<3 | 3<<6 | 4<<9 | 5<<12 = 0x58D1.
  const std::vector<uint8_t> want = {0x03, 0x00, 0xD1, 0x58};
  EXPECT_EQ(Encode({1, 2, 3, 4, 5}), want);
}

TEST(BlockCodec, EncodingOutputWithException) {
  // Seven 1s and one 1000 (10 bits): w=1 costs 8 + 8 + (8 + 9) bits, less
  // than 8*10. Lows 1,1,1,1,1,1,1,0 -> 0x7F; position 7; high 1000>>1 = 500
  // in 9 bits -> f4 01.
  const std::vector<uint8_t> want = {0x01, 0x01, 0x09, 0x7F, 0x07, 0xF4, 0x01};
  const std::vector<uint32_t> v = {1, 1, 1, 1, 1, 1, 1, 1000};
  EXPECT_EQ(Encode(v), want);
  std::vector<uint32_t> out;
  size_t used = 0;
  ASSERT_TRUE(Decode(want, v.size(), &out, &used).ok());
  EXPECT_EQ(out, v);
  EXPECT_EQ(used, want.size());
}

TEST(BlockCodec, EncodingOutputEmptyAndZeros) {
  EXPECT_TRUE(Encode({}).empty());
  // 128 zeros then 1 zero: two blocks of width 0, no data bytes.
  const std::vector<uint8_t> want = {0, 0, 0, 0};
  EXPECT_EQ(Encode(std::vector<uint32_t>(129, 0)), want);
}

TEST(BlockCodec, RoundTripManyLengthsAndDistributions) {
  std::mt19937_64 rng(7);
  const size_t lengths[] = {0, 1, 2, 7, 127, 128, 129, 255, 256, 257, 1000, 4096, 10007};
  for (Dist d : {Dist::kZeros, Dist::kMax, Dist::kOutliers, Dist::kRandomWidths, Dist::kSmall, Dist::kAscending}) {
    for (size_t n : lengths) {
      SCOPED_TRACE("dist " + std::to_string(static_cast<int>(d)) + " n=" + std::to_string(n));
      const std::vector<uint32_t> v = Make(d, n, &rng);
      const std::vector<uint8_t> enc = Encode(v);
      std::vector<uint32_t> out;
      size_t used = 0;
      ASSERT_TRUE(Decode(enc, n, &out, &used).ok());
      ASSERT_EQ(out, v);
      EXPECT_EQ(used, enc.size());

      // With trailing bytes (the fast unpack path) the result is the same.
      std::vector<uint8_t> padded = enc;
      padded.insert(padded.end(), 16, 0xFF);
      ASSERT_TRUE(Decode(padded, n, &out, &used).ok());
      ASSERT_EQ(out, v);
      EXPECT_EQ(used, enc.size());

      size_t measured = 0;
      ASSERT_TRUE(MeasureBlocks(enc.data(), enc.data() + enc.size(), n, &measured).ok());
      EXPECT_EQ(measured, enc.size());

      // Blocks are independent: block b starts where the encodings of the
      // blocks before it end, and decodes on its own from there.
      size_t expect_offset = 0;
      const size_t blocks = (n + kBlockValues - 1) / kBlockValues;
      for (size_t b = 0; b <= blocks; ++b) {
        size_t off = 0;
        ASSERT_TRUE(SeekBlock(enc.data(), enc.data() + enc.size(), n, b, &off).ok()) << "block " << b;
        EXPECT_EQ(off, expect_offset) << "block " << b;
        if (b == blocks) break;
        const size_t m = std::min(kBlockValues, n - b * kBlockValues);
        const std::vector<uint32_t> slice(v.begin() + b * kBlockValues, v.begin() + b * kBlockValues + m);
        const std::vector<uint8_t> one = Encode(slice);
        ASSERT_LE(off + one.size(), enc.size());
        EXPECT_TRUE(std::equal(one.begin(), one.end(), enc.begin() + off)) << "block " << b;
        std::vector<uint32_t> rest(n - b * kBlockValues);
        size_t rest_used = 0;
        ASSERT_TRUE(DecodeBlocks(enc.data() + off, enc.data() + enc.size(), rest.size(), rest.data(), &rest_used).ok());
        EXPECT_TRUE(std::equal(rest.begin(), rest.end(), v.begin() + b * kBlockValues));
        expect_offset += one.size();
      }
    }
  }
}

TEST(BlockCodec, DecodeAddsBias) {
  // The bias is added to the whole value, exceptions included (mod 2^32).
  std::mt19937_64 rng(13);
  for (Dist d : {Dist::kOutliers, Dist::kRandomWidths, Dist::kZeros, Dist::kMax}) {
    const std::vector<uint32_t> v = Make(d, 1000, &rng);
    std::vector<uint8_t> enc = Encode(v);
    enc.insert(enc.end(), 8, 0);
    for (uint32_t bias : {1u, 0x7FFFFFFFu, 0xFFFFFFFFu}) {
      std::vector<uint32_t> out(v.size());
      size_t used = 0;
      ASSERT_TRUE(DecodeBlocks(enc.data(), enc.data() + enc.size(), v.size(), out.data(), &used, bias).ok());
      EXPECT_EQ(used, enc.size() - 8);
      for (size_t i = 0; i < v.size(); ++i) ASSERT_EQ(out[i], v[i] + bias) << "dist " << static_cast<int>(d) << " i " << i;
    }
  }
}

TEST(BlockCodec, OutliersUseExceptions) {
  // 126 values of width <= 2 and two 32-bit outliers: w=2 with two
  // exceptions (2*128 + 8 + 2*(8+30) bits) beats w=32 (4096 bits).
  std::vector<uint32_t> v(128);
  for (size_t i = 0; i < v.size(); ++i) v[i] = i % 4;
  v[10] = 0xFFFFFFFFu;
  v[77] = 0x80000001u;
  const std::vector<uint8_t> enc = Encode(v);
  ASSERT_EQ(enc.size(), 3u + 32 + 2 + 8);  // header, lows, positions, 2x30 bits
  EXPECT_EQ(enc[0], 2);
  EXPECT_EQ(enc[1], 2);
  EXPECT_EQ(enc[2], 30);
  EXPECT_EQ(enc[35], 10);
  EXPECT_EQ(enc[36], 77);
  std::vector<uint32_t> out;
  size_t used = 0;
  ASSERT_TRUE(Decode(enc, v.size(), &out, &used).ok());
  EXPECT_EQ(out, v);
}

TEST(BlockCodec, RejectsTruncationAtEveryLength) {
  std::mt19937_64 rng(3);
  for (Dist d : {Dist::kOutliers, Dist::kRandomWidths, Dist::kZeros, Dist::kMax}) {
    const std::vector<uint32_t> v = Make(d, 300, &rng);
    const std::vector<uint8_t> enc = Encode(v);
    for (size_t len = 0; len < enc.size(); ++len) {
      const std::vector<uint8_t> cut(enc.begin(), enc.begin() + len);
      std::vector<uint32_t> out;
      size_t used = 0;
      const Status s = Decode(cut, v.size(), &out, &used);
      ASSERT_TRUE(s.IsCorruption()) << "len " << len << ": " << s.ToString();
      EXPECT_NE(s.message().find("offset"), std::string::npos) << s.message();
      size_t measured = 0;
      EXPECT_TRUE(MeasureBlocks(cut.data(), cut.data() + cut.size(), v.size(), &measured).IsCorruption()) << "len " << len;
    }
  }
}

// Decoding `bytes` as one block of m values must fail with Corruption, and
// so must measuring it when `measure_fails` (positions are not measured).
void ExpectCorrupt(const std::vector<uint8_t>& bytes, size_t m, bool measure_fails = true) {
  std::vector<uint32_t> out;
  size_t used = 0;
  const Status s = Decode(bytes, m, &out, &used);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("format-spec §3.2"), std::string::npos) << s.message();
  size_t measured = 0;
  const Status ms = MeasureBlocks(bytes.data(), bytes.data() + bytes.size(), m, &measured);
  if (measure_fails) {
    EXPECT_TRUE(ms.IsCorruption()) << ms.ToString();
  }
}

TEST(BlockCodec, RejectsMalformedHeaders) {
  std::vector<uint8_t> pad(600, 0);
  auto with_pad = [&](std::vector<uint8_t> head) {
    head.insert(head.end(), pad.begin(), pad.end());
    return head;
  };
  // Width above 32.
  for (int w : {33, 64, 255}) ExpectCorrupt(with_pad({static_cast<uint8_t>(w), 0}), 5);
  // More exceptions than values in the block.
  ExpectCorrupt(with_pad({1, 6, 1}), 5);
  ExpectCorrupt(with_pad({1, 129, 1}), 128);
  // Exception width 0, or low + exception width over 32.
  ExpectCorrupt(with_pad({1, 1, 0}), 5);
  ExpectCorrupt(with_pad({1, 1, 32}), 5);
  ExpectCorrupt(with_pad({32, 1, 1}), 5);
  ExpectCorrupt(with_pad({20, 2, 13}), 5);
  // Missing exception width byte.
  ExpectCorrupt({1, 1}, 5);
  // Header alone, no data.
  ExpectCorrupt({3, 0}, 5);
  ExpectCorrupt({3}, 5);
  ExpectCorrupt({}, 1);
}

TEST(BlockCodec, RejectsBadExceptionPositions) {
  // m = 5, w = 1, e = 2, xw = 1: lows (1 byte), positions (2), highs (1).
  auto block = [](uint8_t p0, uint8_t p1) { return std::vector<uint8_t>{1, 2, 1, 0x1F, p0, p1, 0x03}; };
  std::vector<uint32_t> out;
  size_t used = 0;
  ASSERT_TRUE(Decode(block(1, 3), 5, &out, &used).ok());
  EXPECT_EQ(out, (std::vector<uint32_t>{1, 3, 1, 3, 1}));
  EXPECT_EQ(used, 7u);
  ExpectCorrupt(block(3, 3), 5, /*measure_fails=*/false);  // repeated
  ExpectCorrupt(block(3, 1), 5, false);                     // decreasing
  ExpectCorrupt(block(1, 5), 5, false);                     // past the block
  ExpectCorrupt(block(200, 201), 5, false);
}

TEST(BlockCodec, CorruptSecondBlockReportsItsOffset) {
  std::vector<uint32_t> v(200, 1);
  std::vector<uint8_t> enc = Encode(v);
  // Block 0 is {1, 0, 16 bytes of ones}: block 1 starts at byte 18.
  ASSERT_EQ(enc[0], 1);
  ASSERT_EQ(enc[1], 0);
  enc[18] = 40;
  std::vector<uint32_t> out;
  size_t used = 0;
  const Status s = Decode(enc, v.size(), &out, &used);
  ASSERT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find("offset 18"), std::string::npos) << s.message();
}

TEST(BlockCodec, RandomBytesNeverCrash) {
  // Whatever the bytes, the decoder returns a status and stays in bounds.
  std::mt19937_64 rng(5);
  int ok = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::vector<uint8_t> bytes(rng() % 64);
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
    if (!bytes.empty() && rng() % 2) bytes[0] %= 33;
    if (bytes.size() > 1 && rng() % 2) bytes[1] %= 4;
    const size_t n = rng() % 300;
    std::vector<uint32_t> out;
    size_t used = 0;
    const Status s = Decode(bytes, n, &out, &used);
    if (s.ok()) {
      ++ok;
      EXPECT_LE(used, bytes.size());
    } else {
      EXPECT_TRUE(s.IsCorruption()) << s.ToString();
    }
  }
  EXPECT_GT(ok, 0);
}

}  // namespace
}  // namespace slaf::codecs
