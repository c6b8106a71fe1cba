// SegmentWriter: streams CSR rows into chunks (format-spec §2, §4).
//
// File layout written: header (32 bytes), chunks back to back, footer
// (fixed part, directory, optional column permutation), tail (32 bytes).
// A chunk closes when its rows' estimated encoded size reaches the target;
// the estimate is the bytes per nonzero of the previous chunk, so chunk sizes
// track the data without encoding twice.
#include <algorithm>
#include <cstring>
#include <bit>
#include <numeric>
#include <random>

#include "codecs/checksum.h"
#include "codecs/compress.h"
#include "engine/chunk.h"
#include "engine/format.h"
#include "slaf/file.h"
#include "slaf/segment.h"

namespace slaf {

void CsrMatrix::Clear(uint32_t cols, ValueType type) {
  n_rows = 0;
  n_cols = cols;
  value_type = type;
  indptr.assign(1, 0);
  indices.clear();
  counts.clear();
  floats.clear();
}

std::vector<uint32_t> FrequencyOrder(std::span<const uint64_t> col_nnz) {
  std::vector<uint32_t> order(col_nnz.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return col_nnz[a] > col_nnz[b]; });
  return order;
}

namespace engine {
namespace {

class SegmentWriterImpl final : public SegmentWriter {
 public:
  SegmentWriterImpl(io::WritableFile* file, SegmentWriterOptions options) : file_(file), opt_(std::move(options)) {}

  Status Start() {
    if (opt_.n_cols > kMaxCols) return Status::InvalidArgument("n_cols " + std::to_string(opt_.n_cols) + " exceeds 2^31");
    if (!opt_.stored_to_original.empty()) {
      if (opt_.stored_to_original.size() != opt_.n_cols) return Status::InvalidArgument("column permutation has " + std::to_string(opt_.stored_to_original.size()) + " entries, n_cols is " + std::to_string(opt_.n_cols));
      original_to_stored_.assign(opt_.n_cols, UINT32_MAX);
      for (uint32_t s = 0; s < opt_.n_cols; ++s) {
        const uint32_t o = opt_.stored_to_original[s];
        if (o >= opt_.n_cols || original_to_stored_[o] != UINT32_MAX) return Status::InvalidArgument("column permutation is not a permutation of 0..n_cols-1");
        original_to_stored_[o] = s;
      }
    }
    target_nnz_ = std::max<size_t>(256, opt_.target_chunk_bytes);  // first chunk: assume ~1 byte per nonzero
    info_.file_id = opt_.file_id;
    if (info_.file_id == 0) info_.file_id = (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
    info_.n_cols = opt_.n_cols;
    info_.value_type = opt_.value_type;
    info_.permuted = !opt_.stored_to_original.empty();
    info_.stored_to_original = opt_.stored_to_original;
    Header h;
    h.file_id = info_.file_id;
    uint8_t buf[kHeaderSize];
    EncodeHeader(h, buf);
    return Write({buf, kHeaderSize});
  }

  // After any error the writer is poisoned (RELIABILITY.md requirement 3):
  // rows may be half-added and bytes half-written, so every later call
  // returns the first error and the file must be discarded.
  Status AppendRows(const CsrRowsView& rows) override {
    if (!failed_.ok()) return failed_;
    Status s = AppendRowsImpl(rows);
    if (!s.ok()) failed_ = s;
    return s;
  }

  Result<SegmentWriteStats> Finish() override {
    if (!failed_.ok()) return failed_;
    auto r = FinishImpl();
    if (!r.ok()) failed_ = r.status();
    return r;
  }

 private:
  Status AppendRowsImpl(const CsrRowsView& rows) {
    if (finished_) return Status::InvalidArgument("AppendRows after Finish");
    const bool is_int = opt_.value_type == ValueType::kUInt32;
    const bool has_entries = rows.n_rows > 0 && rows.indptr[rows.n_rows] != rows.indptr[0];
    if (has_entries && ((is_int && !rows.counts) || (!is_int && !rows.floats))) return Status::InvalidArgument("value array does not match the writer's value type");
    for (uint64_t r = 0; r < rows.n_rows; ++r) {
      const uint64_t b = rows.indptr[r], e = rows.indptr[r + 1];
      // Flush first if this row would push the chunk past the nnz limit.
      if (!pending_.row_nnz.empty() && e >= b && pending_.cols.size() + (e - b) > kMaxChunkNnz) SLAF_RETURN_IF_ERROR(FlushChunk());
      if (e < b) return Status::InvalidArgument("indptr decreases at row " + std::to_string(info_.n_rows + pending_rows()));
      if (e - b > kMaxChunkNnz) return Status::InvalidArgument("row " + std::to_string(info_.n_rows + pending_rows()) + " holds more than 2^26 nonzeros, the per-chunk limit (format-spec §2.6)");
      SLAF_RETURN_IF_ERROR(AddRow(rows, b, e));
      if ((pending_.cols.size() >= target_nnz_ && pending_.row_nnz.size() >= opt_.min_chunk_rows) ||
          pending_.row_nnz.size() >= kMaxChunkRowsWritten) {
        SLAF_RETURN_IF_ERROR(FlushChunk());
      }
    }
    return Status::OK();
  }

  Result<SegmentWriteStats> FinishImpl() {
    if (finished_) return Status::InvalidArgument("Finish called twice");
    finished_ = true;
    if (!pending_.row_nnz.empty()) SLAF_RETURN_IF_ERROR(FlushChunk());
    std::vector<uint8_t> footer;
    EncodeFooter(info_, &footer);
    Tail t;
    t.footer_offset = offset_;
    t.footer_len = footer.size();
    t.footer_checksum = codecs::Checksum64(footer.data(), footer.size(), t.footer_offset);
    SLAF_RETURN_IF_ERROR(Write(footer));
    uint8_t tail[kTailSize];
    EncodeTail(t, tail);
    SLAF_RETURN_IF_ERROR(Write({tail, kTailSize}));
    SLAF_RETURN_IF_ERROR(file_->Sync());
    SLAF_RETURN_IF_ERROR(file_->Close());
    SegmentWriteStats st;
    st.n_rows = info_.n_rows;
    st.nnz = info_.nnz;
    st.file_bytes = offset_;
    st.chunks = info_.chunks.size();
    return st;
  }

  // Rows per chunk are capped well below the §2.6 limit to keep the count
  // stream small and cell lookups cheap for very sparse data.
  static constexpr size_t kMaxChunkRowsWritten = 1u << 16;

  size_t pending_rows() const { return pending_.row_nnz.size(); }

  Status Write(std::span<const uint8_t> bytes) {
    SLAF_RETURN_IF_ERROR(file_->Append(bytes));
    offset_ += bytes.size();
    return Status::OK();
  }

  Status AddRow(const CsrRowsView& rows, uint64_t b, uint64_t e) {
    const uint64_t row = info_.n_rows + pending_rows();
    const uint64_t n = e - b;
    if (n > opt_.n_cols) return Status::InvalidArgument("row " + std::to_string(row) + " has " + std::to_string(n) + " entries, more than n_cols");
    const size_t base = pending_.cols.size();
    const bool is_int = opt_.value_type == ValueType::kUInt32;
    // Both paths take original ids below n_cols, strictly increasing
    // (segment.h); checked before either touches its state.
    for (uint64_t k = b; k < e; ++k) {
      const uint32_t c = rows.indices[k];
      if (c >= opt_.n_cols) return Status::InvalidArgument("row " + std::to_string(row) + ": column " + std::to_string(c) + " >= n_cols " + std::to_string(opt_.n_cols));
      if (k > b && c <= rows.indices[k - 1]) return Status::InvalidArgument("row " + std::to_string(row) + ": column ids not strictly increasing at " + std::to_string(c));
    }
    if (original_to_stored_.empty()) {
      pending_.cols.insert(pending_.cols.end(), rows.indices + b, rows.indices + e);
      if (is_int) pending_.counts.insert(pending_.counts.end(), rows.counts + b, rows.counts + e);
      else pending_.floats.insert(pending_.floats.end(), rows.floats + b, rows.floats + e);
    } else {
      // §4.4: map to stored ids and sort the row by them: scatter into a
      // bitmap over stored ids (entry_of_ keeps each entry's index), then walk
      // the touched words in order. O(row nnz + id span / 64).
      if (bits_.empty()) {
        bits_.assign(opt_.n_cols / 64 + 1, 0);
        entry_of_.resize(opt_.n_cols);
      }
      uint32_t lo = UINT32_MAX, hi = 0;
      for (uint64_t k = b; k < e; ++k) {
        const uint32_t s = original_to_stored_[rows.indices[k]];
        bits_[s >> 6] |= 1ull << (s & 63);
        entry_of_[s] = static_cast<uint32_t>(k - b);
        lo = std::min(lo, s);
        hi = std::max(hi, s);
      }
      // The row's values are copied once in order first: gathering them in
      // stored-id order straight from the caller's arrays (often written by
      // another core just before) misses the cache on every line, while a
      // sequential copy streams and the gather then stays in L1.
      const size_t n_row = static_cast<size_t>(e - b);
      row_vals_.resize(n_row);
      if (n_row > 0) {  // memcpy may not see a null pointer, even for 0 bytes
        if (is_int) std::memcpy(row_vals_.data(), rows.counts + b, n_row * 4);
        else std::memcpy(row_vals_.data(), rows.floats + b, n_row * 4);
      }
      pending_.cols.resize(base + n_row);
      std::vector<uint32_t>& vals = pending_.counts;
      if (is_int) vals.resize(base + n_row);
      else pending_.floats.resize(base + n_row);
      uint32_t* out_cols = pending_.cols.data() + base;
      uint32_t* out_vals = is_int ? vals.data() + base : reinterpret_cast<uint32_t*>(pending_.floats.data() + base);
      size_t j = 0;
      for (uint32_t word = lo >> 6; b < e && word <= hi >> 6; ++word) {
        uint64_t w = bits_[word];
        bits_[word] = 0;
        while (w) {
          const uint32_t s = (word << 6) | static_cast<uint32_t>(std::countr_zero(w));
          w &= w - 1;
          out_cols[j] = s;
          out_vals[j] = row_vals_[entry_of_[s]];
          ++j;
        }
      }
    }
    pending_.row_nnz.push_back(static_cast<uint32_t>(pending_.cols.size() - base));
    return Status::OK();
  }

  Status FlushChunk() {
    ChunkInfo c;
    EncodeChunk(pending_, opt_.value_type, opt_.shuffle_floats, &payload_, &c);
    c.first_row = info_.n_rows;
    c.offset = offset_;
    codecs::Codec codec = codecs::Codec::kNone;
    switch (opt_.codec) {
      case ChunkCodecChoice::kAuto: codec = opt_.value_type == ValueType::kFloat32 ? codecs::Codec::kZstd : codecs::Codec::kNone; break;
      case ChunkCodecChoice::kNone: codec = codecs::Codec::kNone; break;
      case ChunkCodecChoice::kZstd: codec = codecs::Codec::kZstd; break;
      case ChunkCodecChoice::kLz4: codec = codecs::Codec::kLz4; break;
    }
    const std::vector<uint8_t>* stored = &payload_;
    if (codec != codecs::Codec::kNone) {
      compressed_.clear();
      SLAF_RETURN_IF_ERROR(codecs::Compress(codec, payload_, opt_.zstd_level, &compressed_));
      if (compressed_.size() < payload_.size()) stored = &compressed_;
      else codec = codecs::Codec::kNone;
    }
    if (payload_.size() > kMaxChunkBytes) return Status::InvalidArgument("a chunk's payload exceeds 256 MiB (format-spec §2.6); lower target_chunk_bytes");
    c.codec = static_cast<uint8_t>(codec);
    c.stored_len = static_cast<uint32_t>(stored->size());
    c.checksum = codecs::Checksum64(stored->data(), stored->size(), ChunkSeed(info_.file_id, info_.chunks.size()));
    SLAF_RETURN_IF_ERROR(Write(*stored));
    // Next chunk's nonzero budget from this chunk's bytes per nonzero.
    if (c.nnz > 0) {
      const double bpn = static_cast<double>(c.stored_len) / c.nnz;
      target_nnz_ = std::max<size_t>(256, static_cast<size_t>(opt_.target_chunk_bytes / std::max(bpn, 0.05)));
    }
    info_.n_rows += c.n_rows;
    info_.nnz += c.nnz;
    info_.sum += c.sum;
    info_.chunks.push_back(c);
    pending_.Clear();
    return Status::OK();
  }

  io::WritableFile* file_;
  SegmentWriterOptions opt_;
  SegmentInfo info_;
  std::vector<uint32_t> original_to_stored_;
  ChunkRows pending_;
  std::vector<uint8_t> payload_, compressed_;
  std::vector<uint64_t> bits_;      // row scratch for the permuted path
  std::vector<uint32_t> entry_of_;
  std::vector<uint32_t> row_vals_;  // one row's value bits, in the caller's order
  uint64_t offset_ = 0;
  size_t target_nnz_ = 0;
  bool finished_ = false;
  Status failed_;
};

}  // namespace
}  // namespace engine

Result<std::unique_ptr<SegmentWriter>> SegmentWriter::Create(io::WritableFile* file, SegmentWriterOptions options) {
  auto w = std::make_unique<engine::SegmentWriterImpl>(file, std::move(options));
  SLAF_RETURN_IF_ERROR(w->Start());
  std::unique_ptr<SegmentWriter> out = std::move(w);
  return out;
}

}  // namespace slaf
