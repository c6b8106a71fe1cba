// TripleSorter (engine/triple_sorter.h).
//
// Temporary file layout: runs back to back, each a sequence of 16-byte
// records in row order (stable within a row), native byte order (the file
// never leaves the process):
//
//   offset 0   u64 row
//   offset 8   u32 column
//   offset 12  u32 value (raw bits)
//
// Per run the sorter keeps its first record, its length and the row of every
// kGranule-th record, which bounds each bucket's read to its rows plus at
// most one granule.
//
// Sorting: an entry is packed as (column << 32 | value), so sorting a row's
// packed words orders it by column and puts duplicates next to each other.
#include "engine/triple_sorter.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace slaf::engine {

namespace {

constexpr uint64_t kMaxRows = 1ull << 40;        // the segment limit (format-spec §2.6)
constexpr size_t kRecordBytes = 16;
constexpr uint64_t kGranule = 4096;               // records per sparse-index entry
constexpr size_t kIoBytes = 1u << 20;             // write and read buffers
constexpr uint64_t kMaxBlockRows = 1u << 20;
constexpr uint64_t kBytesPerBuffered = 24;        // 16 buffered + 8 sorted
constexpr uint64_t kMinEntries = 64;

// Resizes without the vector's doubling: the budget counts capacity.
void ResizeExactly(std::vector<uint64_t>* v, size_t n) {
  if (v->capacity() < n) {
    std::vector<uint64_t>().swap(*v);
    v->reserve(n);
  }
  v->resize(n);
}

struct Record {
  uint64_t row;
  uint32_t col;
  uint32_t value;
};
static_assert(sizeof(Record) == kRecordBytes);

struct Run {
  uint64_t first = 0;                 // index of its first record in the file
  uint64_t n = 0;                     // records
  std::vector<uint64_t> granule_row;  // row of record k * kGranule
  uint64_t cursor = 0;                // records consumed by Finish
  uint64_t next_row = 0;              // row of the record at cursor (UINT64_MAX at the end)
};

}  // namespace

class TripleSorter::Impl {
 public:
  explicit Impl(const TripleSorterOptions& o) : o_(o) {
    buffer_cap_ = std::max<uint64_t>(kMinEntries, o_.memory_bytes / kBytesPerBuffered);
    buffer_cap_ = std::min<uint64_t>(buffer_cap_, UINT32_MAX);  // sorted positions are u32
  }

  ~Impl() {
    if (fd_ >= 0) ::close(fd_);
  }

  Status Add(const uint64_t* rows, const uint32_t* cols, const uint32_t* values, size_t n) {
    if (!failed_.ok()) return failed_;
    if (finished_) return Fail(Status::InvalidArgument(o_.what + ": entries added after Finish"));
    for (size_t i = 0; i < n; ++i) {
      if (rows[i] >= o_.n_rows) {
        return Fail(Status::InvalidArgument(o_.what + ": row " + std::to_string(rows[i]) + " is out of range (the matrix has " +
                                            std::to_string(o_.n_rows) + " rows)"));
      }
      if (cols[i] >= o_.n_cols) {
        return Fail(Status::InvalidArgument(o_.what + ": column " + std::to_string(cols[i]) + " is out of range (the matrix has " +
                                            std::to_string(o_.n_cols) + " columns)"));
      }
    }
    if (n > 0 && counts_.empty()) counts_.assign(o_.n_rows, 0);
    for (size_t done = 0; done < n;) {
      if (rows_.size() == buffer_cap_) {
        Status s = Spill();
        if (!s.ok()) return Fail(s);
      }
      const size_t take = static_cast<size_t>(std::min<uint64_t>(n - done, buffer_cap_ - rows_.size()));
      Reserve(rows_.size() + take);
      for (size_t i = done; i < done + take; ++i) {
        if (++counts_[rows[i]] == UINT32_MAX) {
          // More entries than a row has columns (n_cols < 2^32): some repeat.
          return Fail(Status::InvalidArgument(o_.what + ": row " + std::to_string(rows[i]) +
                                              " has 2^32 - 1 entries or more, so some (row, column) pair repeats"));
        }
      }
      rows_.insert(rows_.end(), rows + done, rows + done + take);
      cols_.insert(cols_.end(), cols + done, cols + done + take);
      values_.insert(values_.end(), values + done, values + done + take);
      done += take;
      Track();
    }
    stats_.entries += n;
    return Status::OK();
  }

  Status Finish(uint64_t block_nnz, const std::function<Status(const CsrMatrix&)>& emit) {
    if (!failed_.ok()) return failed_;
    if (finished_) return Fail(Status::InvalidArgument(o_.what + ": Finish called twice"));
    finished_ = true;
    block_nnz_ = std::max<uint64_t>(1, block_nnz);
    emit_ = &emit;
    block_.Clear(o_.n_cols, o_.value_type);
    Status s = runs_.empty() ? FinishInMemory() : FinishFromRuns();
    if (s.ok() && block_.n_rows > 0) s = EmitBlock();
    if (!s.ok()) return Fail(s);
    return Status::OK();
  }

  const TripleSorterStats& stats() const { return stats_; }

 private:
  Status Fail(Status s) {
    failed_ = s;
    return s;
  }

  // Grows the entry buffer to hold `want` entries, never past its capacity.
  void Reserve(size_t want) {
    if (rows_.capacity() >= want) return;
    const size_t cap = static_cast<size_t>(std::min<uint64_t>(buffer_cap_, std::max<uint64_t>(want, 2 * rows_.capacity())));
    rows_.reserve(cap);
    cols_.reserve(cap);
    values_.reserve(cap);
  }

  void Track() {
    const uint64_t bytes = rows_.capacity() * 8 + cols_.capacity() * 4 + values_.capacity() * 4 + packed_.capacity() * 8 +
                           io_.capacity();
    stats_.peak_bytes = std::max(stats_.peak_bytes, bytes);
  }

  // Counting sort of the buffer by row into packed_ (stable). Afterwards
  // row span_lo_ + k holds packed_[ends_[k-1] .. ends_[k]) (0 for k = 0),
  // and the buffer is empty.
  void SortBuffer() {
    const size_t n = rows_.size();
    uint64_t lo = UINT64_MAX, hi = 0;
    for (uint64_t r : rows_) {
      lo = std::min(lo, r);
      hi = std::max(hi, r);
    }
    if (n == 0) lo = hi = 0;
    span_lo_ = lo;
    ends_.assign(n == 0 ? 0 : hi - lo + 1, 0);
    for (uint64_t r : rows_) ++ends_[r - lo];
    uint32_t sum = 0;
    for (uint32_t& e : ends_) {  // counts -> start positions
      const uint32_t c = e;
      e = sum;
      sum += c;
    }
    ResizeExactly(&packed_, n);
    Track();
    for (size_t i = 0; i < n; ++i) packed_[ends_[rows_[i] - lo]++] = static_cast<uint64_t>(cols_[i]) << 32 | values_[i];
    rows_.clear();
    cols_.clear();
    values_.clear();
  }

  Status OpenSpillFile() {
    std::string dir = o_.spill_dir;
    if (dir.empty()) {
      const char* t = std::getenv("TMPDIR");
      dir = t && *t ? t : "/tmp";
    }
    std::string tmpl = dir + "/slaf-sort-XXXXXX";
    fd_ = ::mkstemp(tmpl.data());
    if (fd_ < 0) return Status::IOError(o_.what + ": cannot create a temporary file in " + dir + ": " + std::strerror(errno));
    path_ = tmpl;
    // Unlinked at once: the file lives as long as the descriptor, so no
    // crash or early return can leave it behind.
    if (::unlink(path_.c_str()) != 0) return Status::IOError(path_ + ": cannot unlink the temporary file: " + std::strerror(errno));
    return Status::OK();
  }

  Status WriteAll(const uint8_t* p, size_t n) {
    while (n > 0) {
      const ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return Status::IOError(path_ + " (temporary file of " + o_.what + "): write failed: " + std::strerror(errno));
      }
      p += w;
      n -= static_cast<size_t>(w);
      stats_.spilled_bytes += static_cast<uint64_t>(w);
    }
    return Status::OK();
  }

  // Sorts the buffer and appends it to the temporary file as one run.
  Status Spill() {
    if (fd_ < 0) SLAF_RETURN_IF_ERROR(OpenSpillFile());
    SortBuffer();
    Run run;
    run.first = file_records_;
    run.n = packed_.size();
    io_.resize(kIoBytes);
    Track();
    size_t fill = 0;
    uint64_t k = 0;
    for (size_t r = 0; r < ends_.size(); ++r) {
      for (; k < ends_[r]; ++k) {
        const Record rec{span_lo_ + r, static_cast<uint32_t>(packed_[k] >> 32), static_cast<uint32_t>(packed_[k])};
        if (k % kGranule == 0) run.granule_row.push_back(rec.row);
        std::memcpy(io_.data() + fill, &rec, kRecordBytes);
        fill += kRecordBytes;
        if (fill == io_.size()) {
          SLAF_RETURN_IF_ERROR(WriteAll(io_.data(), fill));
          fill = 0;
        }
      }
    }
    SLAF_RETURN_IF_ERROR(WriteAll(io_.data(), fill));
    run.next_row = run.granule_row.empty() ? UINT64_MAX : run.granule_row[0];
    file_records_ += run.n;
    runs_.push_back(std::move(run));
    ++stats_.runs;
    return Status::OK();
  }

  Status FinishInMemory() {
    SortBuffer();
    std::vector<uint64_t>().swap(rows_);
    std::vector<uint32_t>().swap(cols_);
    std::vector<uint32_t>().swap(values_);
    SLAF_RETURN_IF_ERROR(EmptyRows(0, span_lo_));
    if (!ends_.empty()) SLAF_RETURN_IF_ERROR(EmitRows(span_lo_, ends_.size()));
    return EmptyRows(span_lo_ + ends_.size(), o_.n_rows);
  }

  Status FinishFromRuns() {
    if (!rows_.empty()) SLAF_RETURN_IF_ERROR(Spill());
    std::vector<uint64_t>().swap(rows_);
    std::vector<uint32_t>().swap(cols_);
    std::vector<uint32_t>().swap(values_);
    std::vector<uint64_t>().swap(packed_);
    // A bucket costs 8 bytes per entry (packed) and 4 per row (ends_).
    const uint64_t budget = std::max<uint64_t>(o_.memory_bytes, kMinEntries * 8);
    for (uint64_t lo = 0; lo < o_.n_rows;) {
      uint64_t hi = lo, entries = 0;
      while (hi < o_.n_rows && (hi == lo || (entries + counts_[hi]) * 8 + (hi - lo + 1) * 4 <= budget) &&
             entries + counts_[hi] <= UINT32_MAX) {
        entries += counts_[hi];
        ++hi;
      }
      if (entries == 0) {
        SLAF_RETURN_IF_ERROR(EmptyRows(lo, hi));
      } else {
        SLAF_RETURN_IF_ERROR(LoadBucket(lo, hi, entries));
        SLAF_RETURN_IF_ERROR(EmitRows(lo, hi - lo));
      }
      lo = hi;
    }
    return Status::OK();
  }

  // Reads rows [lo, hi) from every run into packed_, by counting sort with
  // the known per-row counts; runs in order keep the sort stable.
  Status LoadBucket(uint64_t lo, uint64_t hi, uint64_t entries) {
    ++stats_.buckets;
    stats_.max_bucket_entries = std::max(stats_.max_bucket_entries, entries);
    ends_.resize(hi - lo);
    uint32_t sum = 0;
    for (uint64_t r = lo; r < hi; ++r) {
      ends_[r - lo] = sum;
      sum += counts_[r];
    }
    ResizeExactly(&packed_, entries);
    io_.resize(kIoBytes);
    Track();
    const uint64_t per_read = io_.size() / kRecordBytes;
    uint64_t placed = 0;
    for (Run& run : runs_) {
      if (run.cursor >= run.n || run.next_row >= hi) continue;
      // Records from the first granule starting at row >= hi on are not ours.
      const size_t g = static_cast<size_t>(std::lower_bound(run.granule_row.begin(), run.granule_row.end(), hi) - run.granule_row.begin());
      const uint64_t limit = std::min(run.n, g * kGranule);
      bool stopped = false;
      while (run.cursor < limit && !stopped) {
        const uint64_t n = std::min(limit - run.cursor, per_read);
        SLAF_RETURN_IF_ERROR(ReadRecords(run.first + run.cursor, n));
        for (uint64_t j = 0; j < n; ++j) {
          Record rec;
          std::memcpy(&rec, io_.data() + j * kRecordBytes, kRecordBytes);
          if (rec.row >= hi) {
            run.cursor += j;
            run.next_row = rec.row;
            stopped = true;
            break;
          }
          // A damaged file must not make us write out of bounds.
          if (rec.row < lo || ends_[rec.row - lo] >= entries) {
            return Status::IOError(path_ + " (temporary file of " + o_.what + "): record " + std::to_string(run.first + run.cursor + j) +
                                   " holds row " + std::to_string(rec.row) + ", which does not belong there: the file was damaged");
          }
          packed_[ends_[rec.row - lo]++] = static_cast<uint64_t>(rec.col) << 32 | rec.value;
          ++placed;
        }
        if (!stopped) run.cursor += n;
      }
      if (!stopped) run.next_row = run.cursor < run.n ? run.granule_row[run.cursor / kGranule] : UINT64_MAX;
    }
    if (placed != entries) {
      return Status::IOError(path_ + " (temporary file of " + o_.what + "): rows " + std::to_string(lo) + ".." + std::to_string(hi - 1) +
                             " should hold " + std::to_string(entries) + " entries, read " + std::to_string(placed));
    }
    return Status::OK();
  }

  Status ReadRecords(uint64_t first, uint64_t n) {
    uint8_t* p = io_.data();
    size_t left = static_cast<size_t>(n * kRecordBytes);
    off_t off = static_cast<off_t>(first * kRecordBytes);
    while (left > 0) {
      const ssize_t r = ::pread(fd_, p, left, off);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        return Status::IOError(path_ + " (temporary file of " + o_.what + "): read at offset " + std::to_string(off) + " failed: " +
                               (r < 0 ? std::strerror(errno) : "unexpected end of file"));
      }
      p += r;
      off += r;
      left -= static_cast<size_t>(r);
    }
    return Status::OK();
  }

  // Emits rows span_lo .. span_lo + n - 1 from packed_ / ends_ (ends_[k] is
  // the end of row span_lo + k).
  Status EmitRows(uint64_t span_lo, uint64_t n) {
    const bool is_int = o_.value_type == ValueType::kUInt32;
    uint64_t start = 0;
    for (uint64_t k = 0; k < n; ++k) {
      const uint64_t end = ends_[k];
      uint64_t* p = packed_.data();
      bool ascending = true;
      for (uint64_t i = start + 1; i < end && ascending; ++i) ascending = (p[i] >> 32) > (p[i - 1] >> 32);
      if (!ascending) {
        std::sort(p + start, p + end);
        for (uint64_t i = start + 1; i < end; ++i) {
          if ((p[i] >> 32) == (p[i - 1] >> 32)) {
            return Status::InvalidArgument(o_.what + ": duplicate entry for row " + std::to_string(span_lo + k) + ", column " +
                                           std::to_string(p[i] >> 32));
          }
        }
      }
      for (uint64_t i = start; i < end; ++i) {
        block_.indices.push_back(static_cast<uint32_t>(p[i] >> 32));
        const uint32_t v = static_cast<uint32_t>(p[i]);
        if (is_int) block_.counts.push_back(v);
        else block_.floats.push_back(std::bit_cast<float>(v));
      }
      SLAF_RETURN_IF_ERROR(EndRow());
      start = end;
    }
    return Status::OK();
  }

  Status EmptyRows(uint64_t lo, uint64_t hi) {
    for (uint64_t r = lo; r < hi; ++r) SLAF_RETURN_IF_ERROR(EndRow());
    return Status::OK();
  }

  Status EndRow() {
    block_.indptr.push_back(block_.indices.size());
    ++block_.n_rows;
    if (block_.nnz() >= block_nnz_ || block_.n_rows >= kMaxBlockRows) return EmitBlock();
    return Status::OK();
  }

  Status EmitBlock() {
    ++stats_.blocks;
    SLAF_RETURN_IF_ERROR((*emit_)(block_));
    block_.Clear(o_.n_cols, o_.value_type);
    return Status::OK();
  }

  TripleSorterOptions o_;
  uint64_t buffer_cap_ = 0;
  Status failed_;
  bool finished_ = false;
  TripleSorterStats stats_;

  std::vector<uint32_t> counts_;  // entries per row, all added so far
  std::vector<uint64_t> rows_;    // the entry buffer
  std::vector<uint32_t> cols_, values_;
  std::vector<uint64_t> packed_;  // sorted (column << 32 | value)
  std::vector<uint32_t> ends_;    // row ends in packed_
  uint64_t span_lo_ = 0;
  std::vector<uint8_t> io_;

  int fd_ = -1;
  std::string path_;
  uint64_t file_records_ = 0;
  std::vector<Run> runs_;

  uint64_t block_nnz_ = 1;
  const std::function<Status(const CsrMatrix&)>* emit_ = nullptr;
  CsrMatrix block_;
};

Result<std::unique_ptr<TripleSorter>> TripleSorter::Make(const TripleSorterOptions& o) {
  if (o.n_rows > kMaxRows) {
    return Status::InvalidArgument(o.what + ": " + std::to_string(o.n_rows) + " rows is more than the 2^40 a segment holds");
  }
  return std::unique_ptr<TripleSorter>(new TripleSorter(std::make_unique<Impl>(o)));
}

TripleSorter::TripleSorter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TripleSorter::~TripleSorter() = default;

Status TripleSorter::Add(const uint64_t* rows, const uint32_t* cols, const uint32_t* values, size_t n) {
  return impl_->Add(rows, cols, values, n);
}

Status TripleSorter::Finish(uint64_t block_nnz, const std::function<Status(const CsrMatrix& block)>& emit) {
  return impl_->Finish(block_nnz, emit);
}

const TripleSorterStats& TripleSorter::stats() const { return impl_->stats(); }

}  // namespace slaf::engine
