// Expression chunk payload (format-spec §4.2), before the codec pass:
//
//   offset  size        field
//   0       4  u32      counts_len   bytes of the row-count stream
//   4       4  u32      cols_len     bytes of the column stream
//   8       4  u32      values_len   bytes of the value stream
//   12      4  u32      reserved, 0
//   16      counts_len  per-row nonzero counts, block stream (§3.2), n_rows values
//   .       cols_len    per row: first column, then gaps minus one (§3.4),
//                       all rows concatenated into one block stream of nnz values
//   .       values_len  values in encoding value_encoding (§4.3)
#include "engine/chunk.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "codecs/bitpack.h"
#include "codecs/checksum.h"
#include "codecs/compress.h"
#include "codecs/block_codec.h"
#include "codecs/delta.h"

namespace slaf::engine {

using codecs::kBlockValues;

void EncodeChunk(const ChunkRows& rows, ValueType type, bool shuffle_floats, std::vector<uint8_t>* payload,
                 ChunkInfo* info) {
  const size_t nnz = rows.cols.size();
  info->n_rows = static_cast<uint32_t>(rows.row_nnz.size());
  info->nnz = static_cast<uint32_t>(nnz);
  info->min_col = nnz ? std::numeric_limits<uint32_t>::max() : 0;
  info->max_col = 0;
  payload->assign(kChunkHeaderSize, 0);

  // Row counts.
  codecs::EncodeBlocks(rows.row_nnz.data(), rows.row_nnz.size(), payload);
  const size_t counts_len = payload->size() - kChunkHeaderSize;

  // Columns: per-row delta coding, one stream.
  // Scratch reused across chunks; a large one is not kept afterwards.
  thread_local std::vector<uint32_t> gaps;
  if (gaps.size() < nnz) gaps.resize(nnz);
  struct Release {
    ~Release() {
      if (gaps.capacity() > (1u << 20)) std::vector<uint32_t>().swap(gaps);
    }
  } release;
  size_t k = 0;
  for (uint32_t n : rows.row_nnz) {
    if (n) {
      info->min_col = std::min(info->min_col, rows.cols[k]);
      info->max_col = std::max(info->max_col, rows.cols[k + n - 1]);
    }
    codecs::DeltaEncodeIncreasing(rows.cols.data() + k, n, gaps.data() + k);
    k += n;
  }
  codecs::EncodeBlocks(gaps.data(), nnz, payload);
  const size_t cols_len = payload->size() - kChunkHeaderSize - counts_len;

  // Values and their zone map.
  double sum = 0, lo = nnz ? std::numeric_limits<double>::infinity() : 0, hi = nnz ? -lo : 0;
  if (type == ValueType::kUInt32) {
    // Integer sum and bounds: vectorizes, and no floating-point add chain.
    uint64_t isum = 0;
    uint32_t lo32 = UINT32_MAX, hi32 = 0;
    // One pass: bounds, sum, and value - 1 (used unless a zero turns up).
    for (size_t i = 0; i < nnz; ++i) {
      const uint32_t v = rows.counts[i];
      isum += v;
      lo32 = std::min(lo32, v);
      hi32 = std::max(hi32, v);
      gaps[i] = v - 1;
    }
    sum = static_cast<double>(isum);
    if (nnz) lo = lo32, hi = hi32;
    const bool has_zero = nnz && lo32 == 0;
    info->value_encoding = has_zero ? kCountsPlain : kCountsMinusOne;
    codecs::EncodeBlocks(has_zero ? rows.counts.data() : gaps.data(), nnz, payload);
  } else {
    bool any = false;
    for (float v : rows.floats) {
      sum += v;
      if (std::isnan(v)) continue;  // §2.4: NaN never enters min/max
      lo = any ? std::min<double>(lo, v) : v;
      hi = any ? std::max<double>(hi, v) : v;
      any = true;
    }
    if (!any) lo = hi = 0;
    info->value_encoding = shuffle_floats ? kFloatShuffled : kFloatPlain;
    const size_t base = payload->size();
    payload->resize(base + 4 * nnz);
    uint8_t* out = payload->data() + base;
    const auto* src = reinterpret_cast<const uint8_t*>(rows.floats.data());
    if (shuffle_floats) {
      for (size_t i = 0; i < nnz; ++i)
        for (size_t b = 0; b < 4; ++b) out[b * nnz + i] = src[4 * i + b];
    } else if (nnz) {
      std::memcpy(out, src, 4 * nnz);
    }
  }
  info->sum = sum;
  info->min_value = lo;
  info->max_value = hi;
  const size_t values_len = payload->size() - kChunkHeaderSize - counts_len - cols_len;
  Store<uint32_t>(payload->data(), static_cast<uint32_t>(counts_len));
  Store<uint32_t>(payload->data() + 4, static_cast<uint32_t>(cols_len));
  Store<uint32_t>(payload->data() + 8, static_cast<uint32_t>(values_len));
  info->raw_len = static_cast<uint32_t>(payload->size());
}

Result<std::span<const uint8_t>> VerifyAndDecompress(std::span<const uint8_t> stored, const ChunkInfo& c, uint64_t file_id, size_t index,
                                                     std::vector<uint8_t>* raw, const std::string& context) {
  const uint64_t actual = codecs::Checksum64(stored.data(), stored.size(), ChunkSeed(file_id, index));
  if (kCheckChecksums && actual != c.checksum) {
    return Status::Corruption(context + ": checksum mismatch: directory says " + std::to_string(c.checksum) + ", computed " + std::to_string(actual) +
                              " over " + std::to_string(stored.size()) + " bytes (format-spec §3.6)");
  }
  if (c.codec == static_cast<uint8_t>(codecs::Codec::kNone)) {
    if (c.raw_len != stored.size()) {
      return Status::Corruption(context + ": uncompressed chunk has stored_len " + std::to_string(stored.size()) + " != raw_len " + std::to_string(c.raw_len) + " (format-spec §2.4)");
    }
    return stored;
  }
  const auto codec = static_cast<codecs::Codec>(c.codec);
  Status s = codecs::CheckDecompressedSize(codec, stored, c.raw_len);
  if (s.ok()) {
    raw->resize(c.raw_len);
    s = codecs::Decompress(codec, stored, raw->data(), c.raw_len);
  }
  if (!s.ok()) return Status::Corruption(context + ": " + s.message() + " (format-spec §3.5)");
  return std::span<const uint8_t>(raw->data(), c.raw_len);
}

void ChunkDecoder::Shrink() {
  if (row_start_.capacity() * sizeof(uint64_t) > (1u << 20)) std::vector<uint64_t>().swap(row_start_);
  if (scratch_.capacity() * sizeof(uint32_t) > (1u << 20)) std::vector<uint32_t>().swap(scratch_);
}

Status ChunkDecoder::Fail(const std::string& what) const {
  return Status::Corruption((context_ ? *context_ + ": " : std::string()) + what);
}

Status ChunkDecoder::Init(std::span<const uint8_t> payload, const ChunkInfo& info, uint32_t n_cols,
                          const std::string* context) {
  payload_ = payload;
  context_ = context;
  n_rows_ = info.n_rows;
  nnz_ = info.nnz;
  n_cols_ = n_cols;
  value_encoding_ = info.value_encoding;
  if (payload.size() < kChunkHeaderSize) return Fail("payload of " + std::to_string(payload.size()) + " bytes is shorter than the 16-byte chunk header (format-spec §4.2)");
  const uint8_t* p = payload.data();
  const uint64_t counts_len = Load<uint32_t>(p), cols_len = Load<uint32_t>(p + 4), values_len = Load<uint32_t>(p + 8);
  if (Load<uint32_t>(p + 12) != 0) return Fail("payload offset 12: reserved field must be 0 (format-spec §4.2)");
  if (kChunkHeaderSize + counts_len + cols_len + values_len != payload.size()) {
    return Fail("stream lengths " + std::to_string(counts_len) + " + " + std::to_string(cols_len) + " + " + std::to_string(values_len) +
                " + 16 do not add up to raw_len " + std::to_string(payload.size()) + " (format-spec §4.2)");
  }
  const uint8_t* counts = p + kChunkHeaderSize;
  cols_ = counts + counts_len;
  cols_len_ = cols_len;
  values_ = cols_ + cols_len;
  values_len_ = values_len;
  if ((value_encoding_ == kFloatPlain || value_encoding_ == kFloatShuffled) && values_len != 4ull * nnz_) {
    return Fail("float value stream is " + std::to_string(values_len) + " bytes, expected 4 x nnz = " + std::to_string(4ull * nnz_) + " (format-spec §4.3)");
  }
  // §2.6: a block stream holds at least 2 bytes per 128 values, so declared
  // counts larger than the streams allow are rejected before allocating.
  auto min_bytes = [](uint64_t n) { return 2 * ((n + kBlockValues - 1) / kBlockValues); };
  if (counts_len < min_bytes(n_rows_) || cols_len < min_bytes(nnz_)) {
    return Fail("streams of " + std::to_string(counts_len) + " and " + std::to_string(cols_len) + " bytes cannot hold " + std::to_string(n_rows_) + " rows and " + std::to_string(nnz_) + " nonzeros (format-spec §3.2)");
  }
  if ((value_encoding_ == kCountsMinusOne || value_encoding_ == kCountsPlain) && values_len < min_bytes(nnz_)) {
    return Fail("value stream of " + std::to_string(values_len) + " bytes cannot hold " + std::to_string(nnz_) + " values (format-spec §3.2)");
  }
  scratch_.resize(n_rows_);
  size_t used = 0;
  Status s = codecs::DecodeBlocks(counts, counts + counts_len, n_rows_, scratch_.data(), &used);
  if (!s.ok()) return Fail("row-count stream at payload offset 16: " + s.message());
  if (used != counts_len) return Fail("row-count stream holds " + std::to_string(used) + " bytes of blocks but counts_len is " + std::to_string(counts_len) + " (format-spec §4.2)");
  row_start_.resize(n_rows_ + 1);
  uint64_t total = 0;
  for (uint32_t r = 0; r < n_rows_; ++r) {
    row_start_[r] = total;
    total += scratch_[r];
  }
  row_start_[n_rows_] = total;
  if (total != nnz_) return Fail("row counts add up to " + std::to_string(total) + ", directory says nnz " + std::to_string(nnz_) + " (format-spec §4.2)");
  return Status::OK();
}

Status ChunkDecoder::DecodeBlockRange(const uint8_t* stream, size_t len, uint64_t first, uint64_t count,
                                      std::vector<uint32_t>* out, const char* stream_name, uint32_t bias) {
  // Decode the whole blocks covering [first, first + count), then drop the
  // values before `first`.
  const uint64_t b0 = first / kBlockValues;
  const uint64_t skip = first - b0 * kBlockValues;
  const uint64_t n = std::min<uint64_t>(nnz_ - b0 * kBlockValues, ((skip + count + kBlockValues - 1) / kBlockValues) * kBlockValues);
  size_t off = 0, used = 0;
  Status s = codecs::SeekBlock(stream, stream + len, nnz_, b0, &off);
  if (s.ok()) {
    out->resize(n);
    s = codecs::DecodeBlocks(stream + off, stream + len, n, out->data(), &used, bias);
  }
  if (!s.ok()) return Fail(std::string(stream_name) + " stream: " + s.message());
  // A full decode must consume the stream exactly (§4.2).
  if (first == 0 && count == nnz_ && off + used != len) {
    return Fail(std::string(stream_name) + " stream holds " + std::to_string(off + used) + " bytes of blocks but its length is " + std::to_string(len) + " (format-spec §4.2)");
  }
  if (skip) out->erase(out->begin(), out->begin() + static_cast<ptrdiff_t>(skip));
  out->resize(count);
  return Status::OK();
}

Status ChunkDecoder::DecodeRows(uint32_t r0, uint32_t r1, std::vector<uint32_t>* cols, std::vector<uint32_t>* counts,
                                std::vector<float>* floats) {
  const uint64_t first = row_start_[r0];
  const uint64_t count = row_start_[r1] - first;
  if (cols) {
    SLAF_RETURN_IF_ERROR(DecodeBlockRange(cols_, cols_len_, first, count, cols, "column", 0));
    uint32_t* c = cols->data();
    for (uint32_t r = r0; r < r1; ++r) {
      const uint64_t n = row_start_[r + 1] - row_start_[r];
      if (!codecs::DeltaDecodeIncreasing(c, n, n_cols_)) {
        return Fail("row " + std::to_string(r) + " of the chunk has a column id >= n_cols " + std::to_string(n_cols_) + " (format-spec §4.2)");
      }
      c += n;
    }
  }
  if (counts && (value_encoding_ == kCountsMinusOne || value_encoding_ == kCountsPlain)) {
    // §4.3: encoding 1 stores value - 1; the decoder adds the 1 back while
    // unpacking (a stored 2^32-1, which writers never produce, wraps to 0).
    const bool minus_one = value_encoding_ == kCountsMinusOne;
    SLAF_RETURN_IF_ERROR(DecodeBlockRange(values_, values_len_, first, count, counts, "value", minus_one ? 1 : 0));
  }
  if (floats && (value_encoding_ == kFloatPlain || value_encoding_ == kFloatShuffled)) {
    floats->resize(count);
    auto* dst = reinterpret_cast<uint8_t*>(floats->data());
    if (value_encoding_ == kFloatPlain) {
      if (count) std::memcpy(dst, values_ + 4 * first, 4 * count);
    } else {
      for (uint64_t i = 0; i < count; ++i)
        for (size_t b = 0; b < 4; ++b) dst[4 * i + b] = values_[b * nnz_ + first + i];
    }
  }
  return Status::OK();
}

}  // namespace slaf::engine
