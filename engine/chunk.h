// One expression chunk (format-spec §4): the encoder turns a run of rows into
// the chunk's raw payload; ChunkDecoder reads rows back out of a verified,
// decompressed payload, decoding only the streams and blocks asked for.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/format.h"
#include "slaf/status.h"

namespace slaf::engine {

// Rows of one chunk, columns already in stored ids and strictly increasing.
struct ChunkRows {
  std::vector<uint32_t> row_nnz;
  std::vector<uint32_t> cols;
  std::vector<uint32_t> counts;  // ValueType::kUInt32
  std::vector<float> floats;     // ValueType::kFloat32
  void Clear() { row_nnz.clear(); cols.clear(); counts.clear(); floats.clear(); }
};

// Encodes rows into a raw payload (before the codec pass) and fills the zone
// map fields of *info (n_rows, nnz, min/max col and value, sum,
// value_encoding, raw_len). `shuffle_floats` picks §4.3 encoding 4 over 3.
void EncodeChunk(const ChunkRows& rows, ValueType type, bool shuffle_floats, std::vector<uint8_t>* payload,
                 ChunkInfo* info);

// format-spec §3.6 then §3.5: checks the stored bytes of chunk `index`
// against the directory checksum, then returns the raw payload: the stored
// bytes themselves (codec 0) or their decompression into *raw (the codec's
// size claim is checked before raw_len bytes are allocated). `context`
// (file and chunk) prefixes errors. The result points into `stored` or *raw.
Result<std::span<const uint8_t>> VerifyAndDecompress(std::span<const uint8_t> stored, const ChunkInfo& c, uint64_t file_id, size_t index,
                                                     std::vector<uint8_t>* raw, const std::string& context);

// Reads rows from a chunk payload. The payload must stay alive and
// unchanged while the decoder is used; `context` prefixes error messages
// (file and chunk).
class ChunkDecoder {
 public:
  // Parses the chunk header and the row counts; checks stream lengths
  // against raw_len and that the counts add up to info.nnz.
  Status Init(std::span<const uint8_t> payload, const ChunkInfo& info, uint32_t n_cols, const std::string* context);

  // Frees scratch above 1 MiB (decoders are reused per thread).
  void Shrink();
  // Offset of row r's first entry within the chunk; row_start(n_rows) = nnz.
  uint64_t row_start(uint32_t r) const { return row_start_[r]; }

  // Decodes the entries of rows [r0, r1) into the given arrays (resized to
  // the entry count). Column ids are stored ids. Pass nullptr to skip a
  // stream: its bytes are never touched (projection pushdown).
  Status DecodeRows(uint32_t r0, uint32_t r1, std::vector<uint32_t>* cols, std::vector<uint32_t>* counts,
                    std::vector<float>* floats);

 private:
  Status Fail(const std::string& what) const;
  Status DecodeBlockRange(const uint8_t* stream, size_t len, uint64_t first, uint64_t count,
                          std::vector<uint32_t>* out, const char* stream_name, uint32_t bias);

  std::span<const uint8_t> payload_;
  const std::string* context_ = nullptr;
  uint32_t n_rows_ = 0;
  uint32_t nnz_ = 0;
  uint32_t n_cols_ = 0;
  uint8_t value_encoding_ = 0;
  const uint8_t* cols_ = nullptr;
  size_t cols_len_ = 0;
  const uint8_t* values_ = nullptr;
  size_t values_len_ = 0;
  std::vector<uint64_t> row_start_;
  std::vector<uint32_t> scratch_;
};

}  // namespace slaf::engine
