// Dense matrices (.dense, format-spec §8): per-cell or per-gene embeddings
// such as PCA, UMAP or learned representations (obsm / varm). Row-major,
// float32 or float64, stored as chunks of whole rows.
//
// Thread safety: a DenseReader is immutable after Open.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "slaf/segment.h"
#include "slaf/status.h"

namespace slaf {

namespace io {
class RandomAccessFile;
class WritableFile;
}  // namespace io

enum class DenseType : uint8_t { kFloat32 = 1, kFloat64 = 2 };  // on-disk ids

struct DenseMatrix {
  uint64_t n_rows = 0;
  uint32_t n_cols = 0;
  DenseType type = DenseType::kFloat32;
  std::vector<float> f32;   // n_rows * n_cols, row-major, for kFloat32
  std::vector<double> f64;  // for kFloat64
  double at(uint64_t r, uint32_t c) const {
    size_t k = r * n_cols + c;
    return type == DenseType::kFloat32 ? static_cast<double>(f32[k]) : f64[k];
  }
  // Bitwise equality (NaN equals NaN).
  bool Equals(const DenseMatrix& other) const;
};

struct DenseChunkInfo {
  uint64_t offset = 0;
  uint32_t stored_len = 0;
  uint32_t raw_len = 0;
  uint64_t first_row = 0;
  uint32_t n_rows = 0;
  uint8_t codec = 0;
  uint8_t encoding = 0;  // plain or byte-shuffled
  uint64_t checksum = 0;
};

struct DenseInfo {
  uint16_t major = 0, minor = 0;
  uint64_t file_id = 0;
  uint64_t n_rows = 0;
  uint32_t n_cols = 0;
  DenseType type = DenseType::kFloat32;
  uint64_t file_size = 0;
  std::vector<DenseChunkInfo> chunks;
};

struct DenseWriterOptions {
  uint32_t target_chunk_bytes = 256 * 1024;  // raw bytes per chunk, whole rows
  ChunkCodecChoice codec = ChunkCodecChoice::kAuto;  // kAuto: zstd if smaller
  bool shuffle = true;                               // byte planes before the codec
  int zstd_level = 3;
  uint64_t file_id = 0;  // 0 = random
};

// Writes `m` as one .dense file; syncs, does not close.
Status WriteDense(io::WritableFile* file, const DenseMatrix& m, const DenseWriterOptions& options);

class DenseReader {
 public:
  static Result<std::unique_ptr<DenseReader>> Open(std::shared_ptr<io::RandomAccessFile> file);
  virtual ~DenseReader() = default;
  virtual const DenseInfo& info() const = 0;
  // Rows [begin, end) into *out (type and n_cols from the file).
  virtual Status ReadRows(uint64_t begin, uint64_t end, DenseMatrix* out) const = 0;
  virtual Status VerifyAll() const = 0;
};

}  // namespace slaf
