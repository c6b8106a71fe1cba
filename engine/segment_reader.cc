// SegmentReader: opens a segment with one speculative tail read, verifies
// every structure before trusting it (format-spec §2.6), and decodes only the
// chunks, rows and streams a request needs.
#include <algorithm>
#include <bit>
#include <cstring>
#include <future>

#include "codecs/checksum.h"
#include "engine/chunk.h"
#include "engine/format.h"
#include "slaf/file.h"
#include "slaf/segment.h"

namespace slaf::engine {
namespace {

// Bytes read from the end on open: the tail and, for most files, the whole
// footer, so opening costs one read (one request over HTTP).
constexpr uint64_t kSpeculativeTailBytes = 64 * 1024;

// A chunk read from the file, checksum-verified, decompressed and parsed.
struct LoadedChunk {
  std::vector<uint8_t> stored;
  std::vector<uint8_t> raw;
  ChunkDecoder decoder;
  std::string context;

  // Frees buffers above 1 MiB so a thread's reused chunks stay small.
  void Shrink() {
    if (stored.capacity() > (1u << 20)) std::vector<uint8_t>().swap(stored);
    if (raw.capacity() > (1u << 20)) std::vector<uint8_t>().swap(raw);
    decoder.Shrink();
  }
};

// Maps stored column ids back to original ids and re-sorts each row from
// row `first_row` on (format-spec §4.4), so callers always see increasing
// original ids. `vals` may be empty (indices-only scans).
//
// Sorting is a scatter into a bitmap over all columns plus a dense value
// array, then a walk over the bitmap words the row touches: O(row nnz +
// column span / 64), several times faster than a comparison sort for the
// hundreds to thousands of genes a cell holds.
template <typename V>
void RestoreOrder(const std::vector<uint32_t>& stored_to_original, const std::vector<uint64_t>& indptr, size_t first_row,
                  std::vector<uint32_t>* cols, std::vector<V>* vals) {
  const uint64_t from = indptr[first_row];
  for (size_t k = from; k < cols->size(); ++k) (*cols)[k] = stored_to_original[(*cols)[k]];
  const bool has_values = !vals->empty();
  thread_local std::vector<uint64_t> bits;
  thread_local std::vector<V> dense;
  if (bits.size() < stored_to_original.size() / 64 + 1) bits.assign(stored_to_original.size() / 64 + 1, 0);
  if (has_values && dense.size() < stored_to_original.size()) dense.resize(stored_to_original.size());
  for (size_t r = first_row; r + 1 < indptr.size(); ++r) {
    const uint64_t b = indptr[r], e = indptr[r + 1];
    if (e - b < 2) continue;
    uint32_t lo = UINT32_MAX, hi = 0;
    for (uint64_t k = b; k < e; ++k) {
      const uint32_t c = (*cols)[k];
      bits[c >> 6] |= 1ull << (c & 63);
      if (has_values) dense[c] = (*vals)[k];
      lo = std::min(lo, c);
      hi = std::max(hi, c);
    }
    uint64_t k = b;
    for (uint32_t word = lo >> 6; word <= hi >> 6; ++word) {
      uint64_t w = bits[word];
      bits[word] = 0;
      while (w) {
        const uint32_t c = (word << 6) | static_cast<uint32_t>(std::countr_zero(w));
        w &= w - 1;
        (*cols)[k] = c;
        if (has_values) (*vals)[k] = dense[c];
        ++k;
      }
    }
  }
}

void RestoreOrder(const std::vector<uint32_t>& stored_to_original, size_t first_row, CsrMatrix* m) {
  if (m->value_type == ValueType::kUInt32) RestoreOrder(stored_to_original, m->indptr, first_row, &m->indices, &m->counts);
  else RestoreOrder(stored_to_original, m->indptr, first_row, &m->indices, &m->floats);
}

// Per-call decode buffers: each public call owns one, so a reader can serve
// several threads at once.
struct Scratch {
  std::vector<uint32_t> cols, counts;
  std::vector<float> floats;
};

class SegmentReaderImpl final : public SegmentReader {
 public:
  explicit SegmentReaderImpl(std::shared_ptr<io::RandomAccessFile> file) : file_(std::move(file)) {}

  Status OpenImpl() {
    const std::string& name = file_->name();
    const uint64_t size = file_->size();
    if (size < kHeaderSize + kFooterFixedSize + kTailSize) {
      return Status::Corruption(name + ": file is " + std::to_string(size) + " bytes, smaller than the minimal segment (128 bytes: header, footer, tail; format-spec §2); truncated?");
    }
    uint8_t header[kHeaderSize];
    SLAF_RETURN_IF_ERROR(file_->ReadAt(0, kHeaderSize, header));
    Header h;
    SLAF_RETURN_IF_ERROR(DecodeHeader(header, name, &h));
    const uint64_t spec = std::min(size, kSpeculativeTailBytes);
    std::vector<uint8_t> end(spec);
    SLAF_RETURN_IF_ERROR(file_->ReadAt(size - spec, spec, end.data()));
    Tail t;
    SLAF_RETURN_IF_ERROR(DecodeTail(end.data() + spec - kTailSize, size, name, &t));
    std::vector<uint8_t> footer;
    if (t.footer_len <= spec - kTailSize) {
      const uint8_t* p = end.data() + (spec - kTailSize - t.footer_len);
      footer.assign(p, p + t.footer_len);
    } else {
      footer.resize(t.footer_len);  // bounded by the file size (DecodeTail)
      SLAF_RETURN_IF_ERROR(file_->ReadAt(t.footer_offset, t.footer_len, footer.data()));
    }
    const uint64_t actual = codecs::Checksum64(footer.data(), footer.size(), t.footer_offset);
    if (kCheckChecksums && actual != t.footer_checksum) {
      return Status::Corruption(name + ": offset " + std::to_string(t.footer_offset) + ": footer checksum mismatch: tail says " + std::to_string(t.footer_checksum) +
                                ", computed " + std::to_string(actual) + " over " + std::to_string(t.footer_len) + " bytes (format-spec §2.5)");
    }
    SLAF_RETURN_IF_ERROR(DecodeFooter(footer.data(), footer.size(), t, name, &info_));
    if (info_.file_id != h.file_id) {
      return Status::Corruption(name + ": offset " + std::to_string(t.footer_offset) + ": footer file_id does not match the header's (format-spec §2.3)");
    }
    if (h.minor != t.minor) {
      return Status::Corruption(name + ": offset " + std::to_string(size - kTailSize + 26) + ": tail says format minor version " + std::to_string(t.minor) + ", header says " + std::to_string(h.minor) + " (format-spec §2.5)");
    }
    info_.major = t.major;
    info_.minor = t.minor;
    info_.file_size = size;
    if (info_.permuted) {
      original_to_stored_.resize(info_.n_cols);
      for (uint32_t s = 0; s < info_.n_cols; ++s) original_to_stored_[info_.stored_to_original[s]] = s;
    }
    return Status::OK();
  }

  const SegmentInfo& info() const override { return info_; }
  const io::RandomAccessFile& file() const { return *file_; }

  // Reads, verifies and parses chunk i into *lc (reusing its buffers).
  Status LoadChunk(size_t i, LoadedChunk* lc) const {
    const ChunkInfo& c = info_.chunks[i];
    lc->stored.resize(c.stored_len);
    SLAF_RETURN_IF_ERROR(file_->ReadAt(c.offset, c.stored_len, lc->stored.data()));
    return ParseChunk(i, lc);
  }

  // Verifies and parses a chunk whose stored bytes are already in lc->stored.
  Status ParseChunk(size_t i, LoadedChunk* lc) const {
    const ChunkInfo& c = info_.chunks[i];
    lc->context = file_->name() + ": chunk " + std::to_string(i) + " at offset " + std::to_string(c.offset);
    std::span<const uint8_t> payload;
    SLAF_ASSIGN_OR_RETURN(payload, VerifyAndDecompress({lc->stored.data(), c.stored_len}, c, info_.file_id, i, &lc->raw, lc->context));
    return lc->decoder.Init(payload, c, info_.n_cols, &lc->context);
  }

  size_t ChunkOfRow(uint64_t row) const {
    auto it = std::upper_bound(info_.chunks.begin(), info_.chunks.end(), row,
                               [](uint64_t r, const ChunkInfo& c) { return r < c.first_row; });
    return static_cast<size_t>(it - info_.chunks.begin()) - 1;
  }

  // Appends rows [r0, r1) of a loaded chunk to *out, in original column ids
  // (restore) or in the file's stored ids (internal callers that only filter).
  Status AppendChunkRows(LoadedChunk* lc, uint32_t r0, uint32_t r1, CsrMatrix* out, Scratch* sc, bool restore = true) const {
    const bool is_int = info_.value_type == ValueType::kUInt32;
    SLAF_RETURN_IF_ERROR(lc->decoder.DecodeRows(r0, r1, &sc->cols, is_int ? &sc->counts : nullptr, is_int ? nullptr : &sc->floats));
    const size_t first_row = out->indptr.size() - 1;
    const uint64_t base = out->indptr.back();
    for (uint32_t r = r0; r < r1; ++r) out->indptr.push_back(base + lc->decoder.row_start(r + 1) - lc->decoder.row_start(r0));
    out->n_rows += r1 - r0;
    out->indices.insert(out->indices.end(), sc->cols.begin(), sc->cols.end());
    if (is_int) out->counts.insert(out->counts.end(), sc->counts.begin(), sc->counts.end());
    else out->floats.insert(out->floats.end(), sc->floats.begin(), sc->floats.end());
    if (info_.permuted && restore) RestoreOrder(info_.stored_to_original, first_row, out);
    return Status::OK();
  }

  Status ReadRows(uint64_t begin, uint64_t end, CsrMatrix* out) const override {
    out->Clear(info_.n_cols, info_.value_type);
    if (begin > end || end > info_.n_rows) {
      return Status::InvalidArgument(file_->name() + ": row range [" + std::to_string(begin) + ", " + std::to_string(end) + ") outside 0.." + std::to_string(info_.n_rows));
    }
    if (begin == end) return Status::OK();
    LoadedChunk lc;
    Scratch sc;
    for (size_t i = ChunkOfRow(begin); i < info_.chunks.size() && info_.chunks[i].first_row < end; ++i) {
      const ChunkInfo& c = info_.chunks[i];
      SLAF_RETURN_IF_ERROR(LoadChunk(i, &lc));
      const uint32_t r0 = static_cast<uint32_t>(std::max(begin, c.first_row) - c.first_row);
      const uint32_t r1 = static_cast<uint32_t>(std::min(end, c.first_row + c.n_rows) - c.first_row);
      SLAF_RETURN_IF_ERROR(AppendChunkRows(&lc, r0, r1, out, &sc));
    }
    return Status::OK();
  }

  Status ReadRowList(std::span<const uint64_t> rows, CsrMatrix* out) const override { return ReadRowListImpl(rows, out, true); }

  Status ReadRowListImpl(std::span<const uint64_t> rows, CsrMatrix* out, bool restore) const {
    out->Clear(info_.n_cols, info_.value_type);
    for (uint64_t r : rows) {
      if (r >= info_.n_rows) return Status::InvalidArgument(file_->name() + ": row " + std::to_string(r) + " out of range (n_rows " + std::to_string(info_.n_rows) + ")");
    }
    // Decode the distinct rows in file order, then copy them out in the
    // caller's order.
    std::vector<uint64_t> sorted(rows.begin(), rows.end());
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    const bool in_order = sorted.size() == rows.size() && std::equal(sorted.begin(), sorted.end(), rows.begin());
    CsrMatrix local;
    CsrMatrix* dst = in_order ? out : &local;
    if (!in_order) local.Clear(info_.n_cols, info_.value_type);
    SLAF_RETURN_IF_ERROR(ReadSortedRows(sorted, dst, restore));
    if (in_order) return Status::OK();
    const bool is_int = info_.value_type == ValueType::kUInt32;
    for (uint64_t r : rows) {
      const size_t i = static_cast<size_t>(std::lower_bound(sorted.begin(), sorted.end(), r) - sorted.begin());
      const uint64_t b = local.indptr[i], e = local.indptr[i + 1];
      out->indices.insert(out->indices.end(), local.indices.begin() + b, local.indices.begin() + e);
      if (is_int) out->counts.insert(out->counts.end(), local.counts.begin() + b, local.counts.begin() + e);
      else out->floats.insert(out->floats.end(), local.floats.begin() + b, local.floats.begin() + e);
      out->indptr.push_back(out->indices.size());
      ++out->n_rows;
    }
    return Status::OK();
  }

  // rows: sorted, distinct, in range. Reads the chunks they touch in batches
  // through ReadRanges so remote backends can coalesce and parallelise.
  Status ReadSortedRows(const std::vector<uint64_t>& rows, CsrMatrix* out, bool restore) const {
    // A batch is up to 128 chunks and up to 16 MiB of stored plus
    // decompressed bytes (always at least one chunk), so memory stays
    // bounded whatever the chunk sizes. One batch is one round trip
    // remotely: 100 random cells (~80 chunks) take one, not three.
    constexpr size_t kBatchChunks = 128;
    constexpr uint64_t kBatchBytes = 16u << 20;
    std::vector<size_t> chunk_ids;
    for (uint64_t r : rows) {
      const size_t c = ChunkOfRow(r);
      if (chunk_ids.empty() || chunk_ids.back() != c) chunk_ids.push_back(c);
    }
    // Chunk buffers are reused across calls on this thread: fresh buffers
    // per call cost more in page faults than the decoding itself. Buffers
    // above 1 MiB each are released at the end of every call.
    thread_local std::vector<LoadedChunk> batch;
    struct Release {
      ~Release() {
        for (LoadedChunk& lc : batch) lc.Shrink();
      }
    } release;
    if (batch.size() < std::min(kBatchChunks, chunk_ids.size())) batch.resize(std::min(kBatchChunks, chunk_ids.size()));
    Scratch sc;
    size_t next_row = 0;
    for (size_t start = 0, n = 0; start < chunk_ids.size(); start += n) {
      uint64_t bytes = 0;
      n = 0;
      auto cost = [&](size_t k) {
        const ChunkInfo& c = info_.chunks[chunk_ids[k]];
        return static_cast<uint64_t>(c.stored_len) + (c.codec != 0 ? c.raw_len : 0);
      };
      while (start + n < chunk_ids.size() && n < kBatchChunks && (n == 0 || bytes + cost(start + n) <= kBatchBytes)) {
        bytes += cost(start + n);
        ++n;
      }
      std::vector<io::ReadRequest> reqs(n);
      for (size_t j = 0; j < n; ++j) {
        const ChunkInfo& c = info_.chunks[chunk_ids[start + j]];
        batch[j].stored.resize(c.stored_len);
        reqs[j] = {c.offset, c.stored_len, batch[j].stored.data()};
      }
      SLAF_RETURN_IF_ERROR(file_->ReadRanges(reqs));
      for (size_t j = 0; j < n; ++j) {
        const size_t ci = chunk_ids[start + j];
        const ChunkInfo& c = info_.chunks[ci];
        SLAF_RETURN_IF_ERROR(ParseChunk(ci, &batch[j]));
        // Consecutive requested rows become one decoded run.
        while (next_row < rows.size() && rows[next_row] < c.first_row + c.n_rows) {
          const uint32_t r0 = static_cast<uint32_t>(rows[next_row] - c.first_row);
          uint32_t r1 = r0 + 1;
          ++next_row;
          while (next_row < rows.size() && rows[next_row] == c.first_row + r1 && r1 < c.n_rows) {
            ++r1;
            ++next_row;
          }
          SLAF_RETURN_IF_ERROR(AppendChunkRows(&batch[j], r0, r1, out, &sc, restore));
        }
      }
    }
    return Status::OK();
  }

  Status ReadSubmatrix(std::span<const uint64_t> rows, std::span<const uint32_t> cols, CsrMatrix* out) const override {
    // Requested columns as (stored id, output position), sorted by stored id,
    // so each row is intersected by one merge in the file's own order, with
    // no re-sort to original ids.
    std::vector<std::pair<uint32_t, uint32_t>> wanted(cols.size());
    for (size_t j = 0; j < cols.size(); ++j) {
      if (cols[j] >= info_.n_cols) return Status::InvalidArgument(file_->name() + ": column " + std::to_string(cols[j]) + " out of range (n_cols " + std::to_string(info_.n_cols) + ")");
      wanted[j] = {info_.permuted ? original_to_stored_[cols[j]] : cols[j], static_cast<uint32_t>(j)};
    }
    std::sort(wanted.begin(), wanted.end());
    for (size_t j = 1; j < wanted.size(); ++j) {
      if (wanted[j].first == wanted[j - 1].first) return Status::InvalidArgument(file_->name() + ": column " + std::to_string(cols[wanted[j].second]) + " requested twice");
    }
    // Reused per thread: page faults on fresh megabyte-sized buffers cost
    // more than decoding them.
    thread_local CsrMatrix full;
    struct Release {  // drop the buffers after calls of more than 16 M entries
      ~Release() {
        if (full.indices.capacity() > (16u << 20) || full.indptr.capacity() > (16u << 20)) full = CsrMatrix();
      }
    } release;
    SLAF_RETURN_IF_ERROR(ReadRowListImpl(rows, &full, /*restore=*/false));
    out->Clear(static_cast<uint32_t>(cols.size()), info_.value_type);
    const bool is_int = info_.value_type == ValueType::kUInt32;
    // Membership by a bitmap over stored ids (one bit test per entry; most
    // entries miss), position by binary search on hits only.
    std::vector<uint64_t> member(info_.n_cols / 64 + 1, 0);
    for (auto [c, j] : wanted) member[c >> 6] |= 1ull << (c & 63);
    std::vector<std::pair<uint32_t, uint64_t>> hits;  // (output column, entry)
    for (uint64_t r = 0; r < full.n_rows; ++r) {
      hits.clear();
      for (uint64_t k = full.indptr[r]; k < full.indptr[r + 1]; ++k) {
        const uint32_t c = full.indices[k];
        if (!(member[c >> 6] >> (c & 63) & 1)) continue;
        auto it = std::lower_bound(wanted.begin(), wanted.end(), std::make_pair(c, 0u));
        hits.emplace_back(it->second, k);
      }
      std::sort(hits.begin(), hits.end());
      for (auto [col, k] : hits) {
        out->indices.push_back(col);
        if (is_int) out->counts.push_back(full.counts[k]);
        else out->floats.push_back(full.floats[k]);
      }
      out->indptr.push_back(out->indices.size());
      ++out->n_rows;
    }
    return Status::OK();
  }

  Result<std::unique_ptr<SegmentScanner>> Scan(ScanOptions options) const override;

  Status VerifyChunk(size_t i) const override {
    if (i >= info_.chunks.size()) return Status::InvalidArgument(file_->name() + ": chunk " + std::to_string(i) + " does not exist");
    LoadedChunk lc;
    Scratch sc;
    SLAF_RETURN_IF_ERROR(LoadChunk(i, &lc));
    const ChunkInfo& c = info_.chunks[i];
    const bool is_int = info_.value_type == ValueType::kUInt32;
    SLAF_RETURN_IF_ERROR(lc.decoder.DecodeRows(0, c.n_rows, &sc.cols, is_int ? &sc.counts : nullptr, is_int ? nullptr : &sc.floats));
    // Recompute the zone map the way the writer does (same order, so float
    // sums are bit-identical) and compare.
    ChunkRows rows;
    rows.cols = std::move(sc.cols);
    rows.counts = std::move(sc.counts);
    rows.floats = std::move(sc.floats);
    for (uint32_t r = 0; r < c.n_rows; ++r) rows.row_nnz.push_back(static_cast<uint32_t>(lc.decoder.row_start(r + 1) - lc.decoder.row_start(r)));
    ChunkInfo z;
    std::vector<uint8_t> payload;
    EncodeChunk(rows, info_.value_type, c.value_encoding == kFloatShuffled, &payload, &z);
    auto same = [](double a, double b) { return a == b || (a != a && b != b); };
    if (z.min_col != c.min_col || z.max_col != c.max_col || !same(z.min_value, c.min_value) || !same(z.max_value, c.max_value) || !same(z.sum, c.sum)) {
      return Status::Corruption(lc.context + ": zone map does not match the data: directory says cols [" + std::to_string(c.min_col) + ", " + std::to_string(c.max_col) + "] values [" +
                                std::to_string(c.min_value) + ", " + std::to_string(c.max_value) + "] sum " + std::to_string(c.sum) + ", data has cols [" + std::to_string(z.min_col) + ", " +
                                std::to_string(z.max_col) + "] values [" + std::to_string(z.min_value) + ", " + std::to_string(z.max_value) + "] sum " + std::to_string(z.sum) + " (format-spec §2.4)");
    }
    return Status::OK();
  }

  Status VerifyAll() const override {
    for (size_t i = 0; i < info_.chunks.size(); ++i) SLAF_RETURN_IF_ERROR(VerifyChunk(i));
    return Status::OK();
  }

  const std::vector<uint32_t>& original_to_stored() const { return original_to_stored_; }

 private:
  std::shared_ptr<io::RandomAccessFile> file_;
  SegmentInfo info_;
  std::vector<uint32_t> original_to_stored_;
};

class SegmentScannerImpl final : public SegmentScanner {
 public:
  SegmentScannerImpl(const SegmentReaderImpl* reader, ScanOptions opt) : r_(reader), opt_(std::move(opt)) {
    const SegmentInfo& info = r_->info();
    opt_.row_end = std::min(opt_.row_end, info.n_rows);
    filter_values_ = opt_.value_min > -1.0 / 0.0 || opt_.value_max < 1.0 / 0.0;
    if (!opt_.columns.empty()) {
      // Selection in stored ids: a mask for entries, a sorted list for
      // zone-map tests.
      // A bitmap: n_cols comes from the file, so keep it at 1 bit per column.
      col_mask_.assign(info.n_cols / 64 + 1, 0);
      for (uint32_t c : opt_.columns) {
        if (c >= info.n_cols) continue;  // checked in Scan()
        const uint32_t s = info.permuted ? r_->original_to_stored()[c] : c;
        col_mask_[s >> 6] |= 1ull << (s & 63);
        stored_cols_.push_back(s);
      }
      std::sort(stored_cols_.begin(), stored_cols_.end());
    }
    next_chunk_ = opt_.row_begin < opt_.row_end ? r_->ChunkOfRow(opt_.row_begin) : info.chunks.size();
    stats_.chunks_total = info.chunks.size();
  }

  const ScanStats& stats() const override { return stats_; }

  Result<bool> Next(CsrMatrix* block, uint64_t* first_row) override {
    const SegmentInfo& info = r_->info();
    while (next_chunk_ < info.chunks.size() && info.chunks[next_chunk_].first_row < opt_.row_end) {
      const size_t i = next_chunk_;
      const ChunkInfo& c = info.chunks[i];
      if (Skippable(c)) {
        ++stats_.chunks_skipped;
        ++next_chunk_;
        continue;
      }
      // Advance only once the chunk is in: after an I/O error, Next() may be
      // called again and retries the same chunk.
      if (ahead_pos_ >= cur_.ids.size() || cur_.ids[ahead_pos_] != i) SLAF_RETURN_IF_ERROR(NextWindow(i));
      std::swap(lc_.stored, cur_.bufs[ahead_pos_++]);
      SLAF_RETURN_IF_ERROR(r_->ParseChunk(i, &lc_));
      ++next_chunk_;
      ++stats_.chunks_read;
      stats_.bytes_read += c.stored_len;
      const uint32_t r0 = static_cast<uint32_t>(std::max(opt_.row_begin, c.first_row) - c.first_row);
      const uint32_t r1 = static_cast<uint32_t>(std::min(opt_.row_end, c.first_row + c.n_rows) - c.first_row);
      SLAF_RETURN_IF_ERROR(Decode(r0, r1, block));
      *first_row = c.first_row + r0;
      return true;
    }
    return false;
  }

 private:
  // The stored bytes of a run of chunks a scan will decode.
  struct Window {
    std::vector<size_t> ids;
    std::vector<std::vector<uint8_t>> bufs;
  };

  // Makes cur_ the window starting at chunk `first`: the one prefetched if
  // it starts there (and was read without error), else read now. Then
  // starts reading the window after it on another thread, so fetching (a
  // round trip, remotely) overlaps decoding. Windows start small, so a scan
  // that stops early (LIMIT) fetches little, and double up to 8 MiB; one
  // window is one ReadRanges call, which a remote file turns into one
  // request (or a few in parallel) instead of one per chunk.
  Status NextWindow(size_t first) {
    constexpr uint64_t kMaxWindow = 8u << 20;
    bool have = false;
    if (prefetch_.valid()) {
      const Status s = prefetch_.get();
      if (s.ok() && !next_.ids.empty() && next_.ids.front() == first) {
        std::swap(cur_, next_);
        have = true;
      }
    }
    if (!have) {
      Status s = FillWindow(first, window_, &cur_);
      if (!s.ok()) {
        cur_.ids.clear();
        return s;
      }
      window_ = std::min(window_ * 2, kMaxWindow);
    }
    ahead_pos_ = 0;
    const size_t after = cur_.ids.back() + 1;
    const SegmentInfo& info = r_->info();
    if (after < info.chunks.size() && info.chunks[after].first_row < opt_.row_end) {
      const uint64_t bytes = window_;
      window_ = std::min(window_ * 2, kMaxWindow);
      prefetch_ = std::async(std::launch::async, [this, after, bytes] { return FillWindow(after, bytes, &next_); });
    }
    return Status::OK();
  }

  // Reads the first unskippable chunk at or after `from` and those after it,
  // up to `bytes` (at least one chunk) into *w. Reads only opt_ and the
  // reader, so it may run on another thread.
  Status FillWindow(size_t from, uint64_t bytes_limit, Window* w) const {
    const SegmentInfo& info = r_->info();
    constexpr size_t kMaxChunks = 1024;
    w->ids.clear();
    uint64_t bytes = 0;
    for (size_t j = from; j < info.chunks.size() && info.chunks[j].first_row < opt_.row_end && w->ids.size() < kMaxChunks; ++j) {
      const ChunkInfo& c = info.chunks[j];
      if (Skippable(c)) continue;
      if (!w->ids.empty() && bytes + c.stored_len > bytes_limit) break;
      w->ids.push_back(j);
      bytes += c.stored_len;
    }
    if (w->ids.empty()) return Status::OK();
    if (w->bufs.size() < w->ids.size()) w->bufs.resize(w->ids.size());
    std::vector<io::ReadRequest> reqs(w->ids.size());
    for (size_t k = 0; k < w->ids.size(); ++k) {
      const ChunkInfo& c = info.chunks[w->ids[k]];
      w->bufs[k].resize(c.stored_len);
      reqs[k] = {c.offset, c.stored_len, w->bufs[k].data()};
    }
    return r_->file().ReadRanges(reqs);
  }

  bool Skippable(const ChunkInfo& c) const {
    if (!opt_.rows.empty()) {
      const uint64_t lo = std::max(opt_.row_begin, c.first_row), hi = std::min(opt_.row_end, c.first_row + c.n_rows);
      auto it = std::lower_bound(opt_.rows.begin(), opt_.rows.end(), lo);
      if (it == opt_.rows.end() || *it >= hi) return true;
    }
    if (c.nnz == 0) return false;  // no zone map to test: read it (cheap)
    if (filter_values_ && (c.max_value < opt_.value_min || c.min_value > opt_.value_max)) return true;
    if (!stored_cols_.empty()) {
      auto it = std::lower_bound(stored_cols_.begin(), stored_cols_.end(), c.min_col);
      if (it == stored_cols_.end() || *it > c.max_col) return true;
    }
    return false;
  }

  Status Decode(uint32_t r0, uint32_t r1, CsrMatrix* block) {
    const SegmentInfo& info = r_->info();
    const bool is_int = info.value_type == ValueType::kUInt32;
    const bool need_cols = opt_.want_indices || !col_mask_.empty();
    const bool need_vals = opt_.want_values || filter_values_;
    // No Clear(): decoded arrays are overwritten in place, and keeping their
    // size avoids re-zeroing them for every chunk.
    block->n_cols = info.n_cols;
    block->value_type = info.value_type;
    if (!need_cols) block->indices.clear();
    if (!(need_vals && is_int)) block->counts.clear();
    if (!(need_vals && !is_int)) block->floats.clear();
    ChunkDecoder& d = lc_.decoder;
    block->n_rows = r1 - r0;
    block->indptr.resize(block->n_rows + 1);
    if (opt_.rows.empty()) {
      SLAF_RETURN_IF_ERROR(d.DecodeRows(r0, r1, need_cols ? &block->indices : nullptr,
                                        need_vals && is_int ? &block->counts : nullptr,
                                        need_vals && !is_int ? &block->floats : nullptr));
      const uint64_t base = d.row_start(r0);
      for (uint32_t r = r0; r <= r1; ++r) block->indptr[r - r0] = d.row_start(r) - base;
    } else {
      SLAF_RETURN_IF_ERROR(DecodeSelectedRows(r0, r1, need_cols, need_vals, is_int, block));
    }
    if (!col_mask_.empty() || filter_values_) Filter(block);
    if (!opt_.want_indices) block->indices.clear();
    if (!opt_.want_values) {
      block->counts.clear();
      block->floats.clear();
    }
    if (info.permuted && opt_.want_indices && opt_.original_ids) {
      if (opt_.sorted_indices) {
        RestoreOrder(info.stored_to_original, 0, block);
      } else {
        for (uint32_t& col : block->indices) col = info.stored_to_original[col];
      }
    }
    return Status::OK();
  }

  // Decodes the runs of selected rows among chunk rows [r0, r1) (global
  // row = chunk first_row + r), leaving the other rows empty.
  Status DecodeSelectedRows(uint32_t r0, uint32_t r1, bool need_cols, bool need_vals, bool is_int, CsrMatrix* block) {
    ChunkDecoder& d = lc_.decoder;
    const uint64_t base_row = r_->info().chunks[next_chunk_ - 1].first_row;
    block->indices.clear();
    block->counts.clear();
    block->floats.clear();
    std::fill(block->indptr.begin(), block->indptr.end(), 0);
    auto it = std::lower_bound(opt_.rows.begin(), opt_.rows.end(), base_row + r0);
    uint64_t filled = 0;  // indptr[0..filled] are set
    uint64_t pos = 0;     // entries appended so far
    while (it != opt_.rows.end() && *it < base_row + r1) {
      const uint32_t a = static_cast<uint32_t>(*it - base_row);
      uint32_t b = a + 1;
      ++it;
      while (it != opt_.rows.end() && *it == base_row + b && b < r1) ++b, ++it;
      SLAF_RETURN_IF_ERROR(d.DecodeRows(a, b, need_cols ? &run_.indices : nullptr, need_vals && is_int ? &run_.counts : nullptr,
                                        need_vals && !is_int ? &run_.floats : nullptr));
      for (uint64_t r = filled + 1; r <= a - r0; ++r) block->indptr[r] = pos;  // unselected rows: empty
      if (need_cols) block->indices.insert(block->indices.end(), run_.indices.begin(), run_.indices.end());
      if (need_vals && is_int) block->counts.insert(block->counts.end(), run_.counts.begin(), run_.counts.end());
      if (need_vals && !is_int) block->floats.insert(block->floats.end(), run_.floats.begin(), run_.floats.end());
      for (uint32_t r = a; r < b; ++r) block->indptr[r - r0 + 1] = pos + (d.row_start(r + 1) - d.row_start(a));
      pos += d.row_start(b) - d.row_start(a);
      filled = b - r0;
    }
    for (uint64_t r = filled + 1; r <= block->n_rows; ++r) block->indptr[r] = pos;
    return Status::OK();
  }

  // Keeps entries whose column is selected and whose value is in range.
  void Filter(CsrMatrix* b) {
    const bool is_int = b->value_type == ValueType::kUInt32;
    uint64_t w = 0, k = 0;
    for (uint64_t r = 0; r < b->n_rows; ++r) {
      const uint64_t e = b->indptr[r + 1];
      for (; k < e; ++k) {
        if (!col_mask_.empty() && !(col_mask_[b->indices[k] >> 6] >> (b->indices[k] & 63) & 1)) continue;
        if (filter_values_) {
          // Cast both arms: `is_int ? u32 : float` would round counts to float.
          const double v = is_int ? static_cast<double>(b->counts[k]) : static_cast<double>(b->floats[k]);
          if (!(v >= opt_.value_min && v <= opt_.value_max)) continue;
        }
        if (!b->indices.empty()) b->indices[w] = b->indices[k];
        if (!b->counts.empty()) b->counts[w] = b->counts[k];
        if (!b->floats.empty()) b->floats[w] = b->floats[k];
        ++w;
      }
      b->indptr[r + 1] = w;
    }
    if (!b->indices.empty()) b->indices.resize(w);
    if (!b->counts.empty()) b->counts.resize(w);
    if (!b->floats.empty()) b->floats.resize(w);
  }

  const SegmentReaderImpl* r_;
  ScanOptions opt_;
  bool filter_values_ = false;
  std::vector<uint64_t> col_mask_;
  std::vector<uint32_t> stored_cols_;
  size_t next_chunk_ = 0;
  LoadedChunk lc_;
  CsrMatrix run_;  // one run of selected rows, before appending
  // Read-ahead: chunks cur_.ids[ahead_pos_..] are in cur_.bufs; next_ is
  // being filled by prefetch_ (declared last: destroyed, i.e. waited for,
  // before the windows it writes).
  Window cur_, next_;
  size_t ahead_pos_ = 0;
  uint64_t window_ = 256 << 10;
  std::future<Status> prefetch_;
  ScanStats stats_;
};

Result<std::unique_ptr<SegmentScanner>> SegmentReaderImpl::Scan(ScanOptions options) const {
  if (options.row_begin > info_.n_rows) return Status::InvalidArgument(file_->name() + ": scan starts at row " + std::to_string(options.row_begin) + " past n_rows " + std::to_string(info_.n_rows));
  for (uint32_t c : options.columns) {
    if (c >= info_.n_cols) return Status::InvalidArgument(file_->name() + ": scan column " + std::to_string(c) + " out of range (n_cols " + std::to_string(info_.n_cols) + ")");
  }
  std::unique_ptr<SegmentScanner> s = std::make_unique<SegmentScannerImpl>(this, std::move(options));
  return s;
}

}  // namespace
}  // namespace slaf::engine

namespace slaf {

Result<std::unique_ptr<SegmentReader>> SegmentReader::Open(std::shared_ptr<io::RandomAccessFile> file) {
  auto r = std::make_unique<engine::SegmentReaderImpl>(std::move(file));
  SLAF_RETURN_IF_ERROR(r->OpenImpl());
  std::unique_ptr<SegmentReader> out = std::move(r);
  return out;
}

}  // namespace slaf
