// Dense matrices (format-spec §8): round trips of float32/float64 with
// special values through every codec and encoding, row ranges across
// chunks, and damaged files (every truncation, every byte flip, crafted
// footers) that must fail cleanly and without large allocations.
#include <gtest/gtest.h>

#include <atomic>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <new>
#include <random>
#include <vector>

#include "codecs/checksum.h"
#include "engine/format.h"
#include "slaf/dense.h"
#include "slaf/file.h"
#include "tests/alloc_guard.h"

namespace slaf {
namespace {

using engine::Load;
using engine::Store;

DenseMatrix Random(uint64_t rows, uint32_t cols, DenseType type, uint64_t seed) {
  std::mt19937_64 rng(seed);
  DenseMatrix m;
  m.n_rows = rows;
  m.n_cols = cols;
  m.type = type;
  const double special[] = {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(), -0.0, 0.0, 1e-310, 1e-40};
  for (uint64_t i = 0; i < rows * cols; ++i) {
    const uint64_t r = rng();
    const double v = r % 17 == 0 ? special[(r >> 8) % 7] : static_cast<double>(static_cast<int64_t>(r >> 20) % 2000000 - 1000000) / 1024.0;
    if (type == DenseType::kFloat32) m.f32.push_back(static_cast<float>(v));
    else m.f64.push_back(v);
  }
  return m;
}

std::vector<uint8_t> Write(const DenseMatrix& m, DenseWriterOptions o = {}) {
  if (o.file_id == 0) o.file_id = 0xd5e;
  std::vector<uint8_t> bytes;
  auto f = io::NewMemoryWritableFile("m.dense", &bytes);
  Status s = WriteDense(f.get(), m, o);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return bytes;
}

Result<std::unique_ptr<DenseReader>> Open(std::vector<uint8_t> bytes) {
  return DenseReader::Open(std::shared_ptr<io::RandomAccessFile>(io::NewMemoryFile("m.dense", std::move(bytes))));
}

DenseMatrix Rows(const DenseMatrix& m, uint64_t b, uint64_t e) {
  DenseMatrix s;
  s.n_rows = e - b;
  s.n_cols = m.n_cols;
  s.type = m.type;
  if (m.type == DenseType::kFloat32) s.f32.assign(m.f32.begin() + b * m.n_cols, m.f32.begin() + e * m.n_cols);
  else s.f64.assign(m.f64.begin() + b * m.n_cols, m.f64.begin() + e * m.n_cols);
  return s;
}

TEST(Dense, RoundTripEveryCodecAndEncoding) {
  for (DenseType type : {DenseType::kFloat32, DenseType::kFloat64}) {
    const DenseMatrix m = Random(301, 7, type, 5 + static_cast<int>(type));
    for (ChunkCodecChoice codec : {ChunkCodecChoice::kAuto, ChunkCodecChoice::kNone, ChunkCodecChoice::kZstd, ChunkCodecChoice::kLz4}) {
      for (bool shuffle : {false, true}) {
        for (uint32_t target : {1u, 200u, 1u << 20}) {
          SCOPED_TRACE(testing::Message() << "type " << int(type) << " codec " << int(codec) << " shuffle " << shuffle << " target " << target);
          DenseWriterOptions o;
          o.codec = codec;
          o.shuffle = shuffle;
          o.target_chunk_bytes = target;
          auto r = Open(Write(m, o));
          ASSERT_TRUE(r.ok()) << r.status().ToString();
          ASSERT_TRUE((*r)->VerifyAll().ok());
          const DenseInfo& info = (*r)->info();
          EXPECT_EQ(info.n_rows, 301u);
          EXPECT_EQ(info.n_cols, 7u);
          EXPECT_EQ(info.type, type);
          EXPECT_EQ(info.file_id, 0xd5eu);
          if (target == 1) {
            EXPECT_EQ(info.chunks.size(), 301u);
          }
          if (codec == ChunkCodecChoice::kNone) {
            EXPECT_EQ(info.chunks[0].encoding, shuffle ? 2 : 1);
          }
          DenseMatrix got;
          ASSERT_TRUE((*r)->ReadRows(0, 301, &got).ok());
          EXPECT_TRUE(got.Equals(m));
          for (auto [b, e] : {std::pair<uint64_t, uint64_t>{0, 0}, {0, 1}, {2, 3}, {3, 9}, {100, 250}, {300, 301}, {301, 301}}) {
            ASSERT_TRUE((*r)->ReadRows(b, e, &got).ok());
            EXPECT_TRUE(got.Equals(Rows(m, b, e))) << b << ".." << e;
          }
        }
      }
    }
  }
}

TEST(Dense, ByteShuffleMatchesDefinition) {
  std::mt19937_64 rng(11);
  for (size_t size : {4, 8}) {
    for (size_t n : {0, 1, 15, 16, 17, 100, 333}) {
      std::vector<uint8_t> plain(n * size), planes(n * size);
      for (auto& b : plain) b = static_cast<uint8_t>(rng());
      engine::ShuffleBytes(plain.data(), n, size, planes.data());
      for (size_t k = 0; k < n; ++k)
        for (size_t b = 0; b < size; ++b) ASSERT_EQ(planes[b * n + k], plain[k * size + b]);
      for (size_t k0 : {size_t{0}, size_t{1}, n / 3}) {
        for (size_t cnt : {n - std::min(n, k0), (n - std::min(n, k0)) / 2}) {
          if (k0 + cnt > n) continue;
          std::vector<uint8_t> back(cnt * size, 0xAA);
          engine::UnshuffleBytes(planes.data(), n, size, k0, cnt, back.data());
          EXPECT_TRUE(std::equal(back.begin(), back.end(), plain.begin() + k0 * size)) << size << " " << n << " " << k0 << " " << cnt;
        }
      }
    }
  }
}

TEST(Dense, ZeroRowsAndZeroCols) {
  DenseMatrix empty;
  empty.n_cols = 50;
  const auto bytes = Write(empty);
  EXPECT_EQ(bytes.size(), 128u);
  auto r = Open(bytes);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->info().n_cols, 50u);
  DenseMatrix got;
  ASSERT_TRUE((*r)->ReadRows(0, 0, &got).ok());
  EXPECT_TRUE(got.Equals(empty));

  DenseMatrix no_cols;
  no_cols.n_rows = 10;
  no_cols.type = DenseType::kFloat64;
  r = Open(Write(no_cols));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE((*r)->VerifyAll().ok());
  ASSERT_TRUE((*r)->ReadRows(3, 10, &got).ok());
  EXPECT_EQ(got.n_rows, 7u);
  EXPECT_TRUE(got.f64.empty());
}

TEST(Dense, WriterAndReaderArguments) {
  DenseMatrix m = Random(4, 3, DenseType::kFloat32, 1);
  m.f32.pop_back();
  std::vector<uint8_t> bytes;
  auto f = io::NewMemoryWritableFile("x", &bytes);
  EXPECT_TRUE(WriteDense(f.get(), m, {}).IsInvalidArgument());
  m = Random(4, 3, DenseType::kFloat32, 1);
  m.f64.push_back(1);
  EXPECT_TRUE(WriteDense(f.get(), m, {}).IsInvalidArgument());
  auto r = Open(Write(Random(4, 3, DenseType::kFloat32, 1)));
  ASSERT_TRUE(r.ok());
  DenseMatrix got;
  EXPECT_TRUE((*r)->ReadRows(3, 2, &got).IsInvalidArgument());
  EXPECT_TRUE((*r)->ReadRows(0, 5, &got).IsInvalidArgument());
}

TEST(Dense, EqualsIsBitwise) {
  DenseMatrix a = Random(2, 2, DenseType::kFloat64, 3), b = a;
  a.f64[0] = std::numeric_limits<double>::quiet_NaN();
  b.f64[0] = a.f64[0];
  EXPECT_TRUE(a.Equals(b));
  b.f64[1] = -0.0;
  a.f64[1] = 0.0;
  EXPECT_FALSE(a.Equals(b));
}

TEST(Dense, OtherKindsAreNotSupported) {
  std::vector<uint8_t> bytes = Write(Random(3, 3, DenseType::kFloat32, 2));
  std::memcpy(bytes.data() + 4, "TABL", 4);
  auto r = Open(bytes);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotSupported()) << r.status().ToString();
}

Status OpenAndRead(const std::vector<uint8_t>& bytes, DenseMatrix* out) {
  auto r = Open(bytes);
  if (!r.ok()) return r.status();
  SLAF_RETURN_IF_ERROR((*r)->ReadRows(0, (*r)->info().n_rows, out));
  return (*r)->VerifyAll();
}

TEST(DenseCorruption, EveryTruncationFails) {
  DenseWriterOptions o;
  o.target_chunk_bytes = 64;
  const auto bytes = Write(Random(20, 3, DenseType::kFloat64, 9), o);
  g_alloc_guard = true;
  for (size_t len = 0; len < bytes.size(); ++len) {
    DenseMatrix got;
    Status s;
    try {
      s = OpenAndRead(std::vector<uint8_t>(bytes.begin(), bytes.begin() + len), &got);
    } catch (const std::bad_alloc&) {
      g_alloc_guard = false;
      FAIL() << "allocation over the cap at length " << len;
    }
    ASSERT_FALSE(s.ok()) << len;
    EXPECT_TRUE(s.IsCorruption() || s.IsNotSupported()) << s.ToString();
  }
  g_alloc_guard = false;
}

TEST(DenseCorruption, EveryByteFlipFailsOrReadsTheSame) {
  for (ChunkCodecChoice codec : {ChunkCodecChoice::kNone, ChunkCodecChoice::kZstd}) {
    DenseWriterOptions o;
    o.target_chunk_bytes = 64;
    o.codec = codec;
    const DenseMatrix m = Random(20, 3, DenseType::kFloat32, 8);
    const auto bytes = Write(m, o);
    g_alloc_guard = true;
    for (size_t i = 0; i < bytes.size(); ++i) {
      for (uint8_t mask : {uint8_t{0x01}, uint8_t{0xff}}) {
        auto b = bytes;
        b[i] ^= mask;
        DenseMatrix got;
        Status s;
        try {
          s = OpenAndRead(b, &got);
        } catch (const std::bad_alloc&) {
          g_alloc_guard = false;
          FAIL() << "allocation over the cap, byte " << i;
        }
        if (s.ok()) {
          EXPECT_TRUE(got.Equals(m)) << "byte " << i;
        } else {
          EXPECT_TRUE(s.IsCorruption() || s.IsNotSupported()) << s.ToString();
          EXPECT_NE(s.message().find("m.dense"), std::string::npos) << s.ToString();
        }
      }
    }
    g_alloc_guard = false;
  }
}

TEST(DenseCorruption, CraftedFooters) {
  DenseWriterOptions o;
  o.target_chunk_bytes = 64;
  o.codec = ChunkCodecChoice::kNone;
  const auto good = Write(Random(20, 3, DenseType::kFloat32, 4), o);
  const size_t size = good.size();
  const uint64_t fo = Load<uint64_t>(good.data() + size - 32), flen = Load<uint64_t>(good.data() + size - 24);
  auto craft = [&](auto edit) {
    auto b = good;
    edit(b.data() + fo);
    Store<uint64_t>(b.data() + size - 16, codecs::Checksum64(b.data() + fo, flen, fo));
    g_alloc_guard = true;
    DenseMatrix got;
    Status s;
    try {
      s = OpenAndRead(b, &got);
    } catch (const std::bad_alloc&) {
      s = Status::IOError("allocation over the cap");
    }
    g_alloc_guard = false;
    return s;
  };
  auto expect = [](const Status& s, bool not_supported, const char* text) {
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_EQ(s.IsNotSupported(), not_supported) << s.ToString();
    EXPECT_TRUE(s.IsCorruption() || s.IsNotSupported()) << s.ToString();
    EXPECT_NE(s.message().find(text), std::string::npos) << s.ToString();
  };
  expect(craft([](uint8_t* f) { Store<uint32_t>(f + 24, 1u << 31); }), false, "does not match n_chunks");
  expect(craft([](uint8_t* f) { Store<uint64_t>(f + 8, 1ull << 40); }), false, "footer says n_rows");
  expect(craft([](uint8_t* f) { Store<uint32_t>(f + 16, 1u << 24); }), false, "raw_len");
  expect(craft([](uint8_t* f) { Store<uint32_t>(f + 16, (1u << 24) + 1); }), false, "exceeds the limit 2^24");
  expect(craft([](uint8_t* f) { f[20] = 3; }), true, "unknown value_type 3");
  expect(craft([](uint8_t* f) { f[21] = 1; }), false, "reserved");
  expect(craft([](uint8_t* f) { f[64 + 28] = 5; }), true, "unknown codec id 5");
  expect(craft([](uint8_t* f) { f[64 + 29] = 3; }), true, "unknown encoding 3");
  expect(craft([](uint8_t* f) { Store<uint32_t>(f + 64 + 24, 1u << 24); }), false, "raw_len");
  expect(craft([](uint8_t* f) { Store<uint32_t>(f + 64 + 8, 1u << 28); }), false, "runs past the footer");
}

TEST(DenseCorruption, CompressedChunkClaimingHugeRowsFailsWithoutAllocating) {
  DenseMatrix m;
  m.n_rows = 64;
  m.n_cols = 4;
  m.f32.assign(256, 1.5f);
  DenseWriterOptions o;
  o.codec = ChunkCodecChoice::kZstd;
  auto b = Write(m, o);
  const size_t size = b.size();
  const uint64_t fo = Load<uint64_t>(b.data() + size - 32), flen = Load<uint64_t>(b.data() + size - 24);
  ASSERT_EQ(b[fo + 64 + 28], 1) << "chunk must be zstd-compressed for this test";
  Store<uint32_t>(b.data() + fo + 64 + 24, 1u << 24);           // n_rows
  Store<uint32_t>(b.data() + fo + 64 + 12, (1u << 24) * 16);    // raw_len = n_rows x 4 x 4 = 256 MiB
  Store<uint64_t>(b.data() + fo + 8, 1u << 24);
  Store<uint64_t>(b.data() + size - 16, codecs::Checksum64(b.data() + fo, flen, fo));
  auto r = Open(b);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  DenseMatrix got;
  g_alloc_guard = true;
  Status s;
  try {
    s = (*r)->ReadRows(0, 1u << 24, &got);
  } catch (const std::bad_alloc&) {
    s = Status::IOError("allocation over the cap");
  }
  g_alloc_guard = false;
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_EQ(got.n_rows, 0u);
  EXPECT_TRUE(got.f32.empty());
}

}  // namespace
}  // namespace slaf
