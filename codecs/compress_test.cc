// zstd / lz4 / none passes (format-spec §3.5): round trips, and Corruption
// for every size mismatch or damaged input.
#include "codecs/compress.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace slaf::codecs {
namespace {

std::vector<uint8_t> Inputs(int which) {
  std::mt19937_64 rng(which);
  std::vector<uint8_t> v;
  switch (which) {
    case 0: break;                                            // empty
    case 1: v = {42}; break;                                  // one byte
    case 2: v.assign(100000, 7); break;                       // one repeated byte
    case 3:                                                   // incompressible
      v.resize(70000);
      for (uint8_t& b : v) b = static_cast<uint8_t>(rng());
      break;
    default:                                                  // text-like
      for (int i = 0; i < 20000; ++i) v.push_back(static_cast<uint8_t>('a' + rng() % 4));
      break;
  }
  return v;
}

class CompressTest : public ::testing::TestWithParam<Codec> {};

TEST_P(CompressTest, RoundTrip) {
  const Codec codec = GetParam();
  for (int which = 0; which < 5; ++which) {
    const std::vector<uint8_t> in = Inputs(which);
    std::vector<uint8_t> packed = {0xAB};  // Compress appends
    ASSERT_TRUE(Compress(codec, in, 3, &packed).ok());
    ASSERT_EQ(packed[0], 0xAB);
    const std::span<const uint8_t> body(packed.data() + 1, packed.size() - 1);
    if (codec == Codec::kNone) {
      EXPECT_TRUE(std::equal(body.begin(), body.end(), in.begin(), in.end()));
    } else if (which == 2) {
      EXPECT_LT(body.size(), in.size() / 50);
    }
    std::vector<uint8_t> out(in.size() + 1, 0xEE);
    ASSERT_TRUE(Decompress(codec, body, out.data(), in.size()).ok()) << which;
    EXPECT_EQ(out.back(), 0xEE) << "wrote past out_len";
    out.pop_back();
    EXPECT_EQ(out, in) << which;
  }
}

TEST_P(CompressTest, WrongExpectedLengthIsCorruption) {
  const Codec codec = GetParam();
  for (int which = 1; which < 5; ++which) {
    const std::vector<uint8_t> in = Inputs(which);
    std::vector<uint8_t> packed;
    ASSERT_TRUE(Compress(codec, in, 3, &packed).ok());
    for (size_t len : {in.size() - 1, in.size() + 1, in.size() * 2, size_t{0}}) {
      std::vector<uint8_t> out(len + 1);
      const Status s = Decompress(codec, packed, out.data(), len);
      EXPECT_TRUE(s.IsCorruption()) << CodecName(codec) << " input " << which << " len " << len << ": " << s.ToString();
    }
  }
}

class DamagedTest : public ::testing::TestWithParam<Codec> {};

TEST_P(DamagedTest, TruncatedOrGarbageIsCorruption) {
  const Codec codec = GetParam();
  const std::vector<uint8_t> in = Inputs(4);
  std::vector<uint8_t> packed;
  ASSERT_TRUE(Compress(codec, in, 3, &packed).ok());
  std::vector<uint8_t> out(in.size());
  // Every truncation.
  for (size_t len = 0; len < packed.size(); len += 1 + len / 64) {
    const Status s = Decompress(codec, {packed.data(), len}, out.data(), out.size());
    EXPECT_TRUE(s.IsCorruption()) << "truncated to " << len << ": " << s.ToString();
  }
  // Garbage.
  std::mt19937_64 rng(31);
  for (int i = 0; i < 200; ++i) {
    std::vector<uint8_t> junk(1 + rng() % 300);
    for (uint8_t& b : junk) b = static_cast<uint8_t>(rng());
    const Status s = Decompress(codec, junk, out.data(), out.size());
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  }
}

INSTANTIATE_TEST_SUITE_P(Codecs, CompressTest, ::testing::Values(Codec::kNone, Codec::kZstd, Codec::kLz4),
                         [](const auto& info) { return std::string(CodecName(info.param)); });
// none has no structure to damage; its length check is in WrongExpectedLength.
INSTANTIATE_TEST_SUITE_P(Codecs, DamagedTest, ::testing::Values(Codec::kZstd, Codec::kLz4),
                         [](const auto& info) { return std::string(CodecName(info.param)); });

TEST(Compress, Names) {
  EXPECT_EQ(CodecName(Codec::kNone), "none");
  EXPECT_EQ(CodecName(Codec::kZstd), "zstd");
  EXPECT_EQ(CodecName(Codec::kLz4), "lz4");
  EXPECT_EQ(CodecName(static_cast<Codec>(9)), "unknown");
}

TEST(Compress, UnknownCodec) {
  const std::vector<uint8_t> in = {1, 2, 3};
  std::vector<uint8_t> out(3);
  EXPECT_TRUE(Compress(static_cast<Codec>(9), in, 3, &out).IsInvalidArgument());
  EXPECT_TRUE(Decompress(static_cast<Codec>(9), in, out.data(), 3).IsNotSupported());
}

TEST(Compress, CheckDecompressedSizeBeforeAllocating) {
  const std::vector<uint8_t> in(4 << 20, 0);  // lz4's best case: ~255x
  for (Codec codec : {Codec::kNone, Codec::kZstd, Codec::kLz4}) {
    SCOPED_TRACE(std::string(CodecName(codec)));
    std::vector<uint8_t> packed;
    ASSERT_TRUE(Compress(codec, in, 3, &packed).ok());
    EXPECT_TRUE(CheckDecompressedSize(codec, packed, in.size()).ok());
    std::vector<uint8_t> out(in.size(), 1);
    ASSERT_TRUE(Decompress(codec, packed, out.data(), out.size()).ok());
    EXPECT_EQ(out, in);
    if (codec != Codec::kLz4) {
      EXPECT_TRUE(CheckDecompressedSize(codec, packed, in.size() + 1).IsCorruption());
    }
  }
  // lz4 cannot expand past 255x, so a larger claim is refused unread.
  const std::vector<uint8_t> block(100, 0);
  EXPECT_TRUE(CheckDecompressedSize(Codec::kLz4, block, 25500).ok());
  EXPECT_TRUE(CheckDecompressedSize(Codec::kLz4, block, 25501).IsCorruption());
  EXPECT_TRUE(CheckDecompressedSize(Codec::kLz4, {}, 1).IsCorruption());
  EXPECT_TRUE(CheckDecompressedSize(Codec::kZstd, block, 100).IsCorruption()) << "not a zstd frame";
  EXPECT_TRUE(CheckDecompressedSize(Codec::kNone, block, 99).IsCorruption());
  EXPECT_TRUE(CheckDecompressedSize(static_cast<Codec>(3), block, 100).IsNotSupported());
}

TEST(Compress, ZstdFrameWithoutDeclaredSizeOrWithWrongOne) {
  // A zstd frame declaring 5 bytes must not be accepted as 6.
  const std::vector<uint8_t> in = {1, 2, 3, 4, 5};
  std::vector<uint8_t> packed;
  ASSERT_TRUE(Compress(Codec::kZstd, in, 1, &packed).ok());
  std::vector<uint8_t> out(6);
  const Status s = Decompress(Codec::kZstd, packed, out.data(), 6);
  ASSERT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find("declares 5"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace slaf::codecs
