// Turning source rows (any integer index type, any numeric value type) into
// the CSR blocks datasets store: values converted to counts or float32,
// stored zeros dropped, unsorted rows sorted, bad gene ids and duplicate
// entries reported with the row and the input's name.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <numeric>
#include <string>
#include <type_traits>
#include <vector>

#include "engine/triple_sorter.h"
#include "interop/source.h"

namespace slaf::interop {

// A value as a count: an integer in [0, 2^32).
template <typename V>
inline bool ToCount(V v, uint32_t* out) {
  if constexpr (std::is_floating_point_v<V>) {
    // A cast round trip instead of std::trunc (a libm call without SSE4.1).
    if (!(v >= 0 && v <= static_cast<V>(4294967295.0))) return false;
    const uint64_t u = static_cast<uint64_t>(v);
    if (static_cast<V>(u) != v || u > 4294967295ull) return false;
    *out = static_cast<uint32_t>(u);
    return true;
  } else if constexpr (std::is_signed_v<V>) {
    if (v < 0 || static_cast<int64_t>(v) > 4294967295LL) return false;
  } else {
    if (static_cast<uint64_t>(v) > 4294967295ULL) return false;
  }
  *out = static_cast<uint32_t>(v);
  return true;
}

// A value as float32; counts how many change.
template <typename V>
inline float ToFloat(V v, uint64_t* inexact) {
  const float f = static_cast<float>(v);
  if constexpr (std::is_floating_point_v<V>) {
    if (static_cast<V>(f) != v && !std::isnan(v)) ++*inexact;
  } else {
    if (static_cast<V>(f) != v) ++*inexact;
  }
  return f;
}

// A value as the 32 bits the external sort keeps (a count, or float32 bits).
// False, with stats->not_counts, when counts were asked for and v is not one.
template <typename V>
inline bool ValueBits(V v, ValueType type, ValueStats* stats, uint32_t* bits) {
  if (type == ValueType::kUInt32) {
    if (ToCount(v, bits)) return true;
    stats->not_counts = true;
    return false;
  }
  const float x = ToFloat(v, &stats->inexact);
  std::memcpy(bits, &x, 4);
  return true;
}

// The external sort that turns gene-major or unordered entries into cell rows.
inline Result<std::unique_ptr<engine::TripleSorter>> MakeCellSorter(uint64_t n_cells, uint32_t n_genes, ValueType type,
                                                                    const ReadOptions& o, const std::string& what) {
  engine::TripleSorterOptions so;
  so.n_rows = n_cells;
  so.n_cols = n_genes;
  so.value_type = type;
  so.memory_bytes = o.memory_bytes;
  so.spill_dir = o.spill_dir;
  so.what = what;
  return engine::TripleSorter::Make(so);
}

// Hands the sorted rows to a sink (which may take a block's contents, so
// each emitted block is copied first).
inline Status FinishCellSorter(engine::TripleSorter& sorter, const ReadOptions& o, const RowSink& sink) {
  return sorter.Finish(o.block_nnz, [&](const CsrMatrix& b) {
    CsrMatrix copy = b;
    return sink(copy);
  });
}

class BlockAssembler {
 public:
  BlockAssembler(uint32_t n_genes, ValueType type, std::string what, ValueStats* stats)
      : n_genes_(n_genes), type_(type), what_(std::move(what)), stats_(stats) {
    block_.Clear(n_genes, type);
  }

  // Starts a new block (the previous one was handed on).
  void Reset() { block_.Clear(n_genes_, type_); }
  CsrMatrix& block() { return block_; }
  uint64_t nnz() const { return block_.indices.size(); }

  // Appends one row: `n` entries with gene ids idx[k] and values val[k].
  // `row` (the cell id in the whole input) is for messages.
  template <typename I, typename V>
  Status AddRow(const I* idx, const V* val, size_t n, uint64_t row) {
    const size_t start = block_.indices.size();
    const uint32_t n_genes = n_genes_;
    bool sorted = true;
    int64_t prev = -1;
    // Room for all n entries, growing geometrically (resizing to exactly
    // start + n would reallocate per row); trimmed to what was kept below.
    if (block_.indices.capacity() < start + n) {
      const size_t cap = std::max(start + n, 2 * block_.indices.capacity());
      block_.indices.reserve(cap);
      if (type_ == ValueType::kUInt32) block_.counts.reserve(cap);
      else block_.floats.reserve(cap);
    }
    block_.indices.resize(start + n);
    if (type_ == ValueType::kUInt32) block_.counts.resize(start + n);
    else block_.floats.resize(start + n);
    uint32_t* out_idx = block_.indices.data() + start;
    uint32_t* out_cnt = type_ == ValueType::kUInt32 ? block_.counts.data() + start : nullptr;
    float* out_flt = type_ == ValueType::kUInt32 ? nullptr : block_.floats.data() + start;
    if (out_cnt && FastCounts(idx, val, n, out_idx, out_cnt, &sorted)) {
      // Every id in range, every value a nonzero count: done in one branch-free pass.
      if (!sorted) SLAF_RETURN_IF_ERROR(SortRow(start, row));
      block_.indptr.push_back(block_.indices.size());
      ++block_.n_rows;
      return Status::OK();
    }
    sorted = true;
    size_t kept = 0;
    for (size_t k = 0; k < n; ++k) {
      const int64_t g = static_cast<int64_t>(idx[k]);
      if (g < 0 || g >= n_genes) {
        Trim(start);
        return Status::InvalidArgument(what_ + ": cell " + std::to_string(row) + ": gene index " + std::to_string(g) +
                                       " outside [0, " + std::to_string(n_genes) + ")");
      }
      const V v = val[k];
      if (v == 0) {
        ++stats_->zeros_dropped;
        continue;
      }
      if (out_cnt) {
        if (!ToCount(v, &out_cnt[kept])) {
          stats_->not_counts = true;
          Trim(start);
          return NotCounts(what_);
        }
      } else {
        out_flt[kept] = ToFloat(v, &stats_->inexact);
      }
      if (g <= prev) sorted = false;
      prev = g;
      out_idx[kept++] = static_cast<uint32_t>(g);
    }
    Trim(start + kept);
    if (!sorted) SLAF_RETURN_IF_ERROR(SortRow(start, row));
    block_.indptr.push_back(block_.indices.size());
    ++block_.n_rows;
    return Status::OK();
  }

  // The common case of counts, without early exits so that it pipelines:
  // converts all n entries and says whether every one was a valid id with a
  // nonzero count; if not, the caller redoes the row carefully.
  template <typename I, typename V>
  bool FastCounts(const I* idx, const V* val, size_t n, uint32_t* out_idx, uint32_t* out_cnt, bool* sorted) const {
    bool bad = false, unsorted = false;
    for (size_t k = 0; k < n; ++k) {
      const int64_t g = static_cast<int64_t>(idx[k]);
      const V v = val[k];
      bad |= (g < 0) | (g >= static_cast<int64_t>(n_genes_));
      // From memory rather than a carried `prev`, so the loop vectorizes.
      if (k > 0) unsorted |= idx[k] <= idx[k - 1];
      out_idx[k] = static_cast<uint32_t>(g);
      if constexpr (std::is_floating_point_v<V>) {
        // Through int32, which converts four lanes at a time; counts of
        // 2^31 and more (never seen in practice) take the careful path.
        const bool in_range = v >= 1 && v < static_cast<V>(2147483648.0);  // also false for NaN
        const int32_t u = static_cast<int32_t>(in_range ? v : V(0));
        bad |= !in_range | (static_cast<V>(u) != v);
        out_cnt[k] = static_cast<uint32_t>(u);
      } else if constexpr (std::is_signed_v<V>) {
        bad |= (v < 1) | (static_cast<int64_t>(v) > 4294967295LL);
        out_cnt[k] = static_cast<uint32_t>(v);
      } else {
        bad |= (v < 1) | (static_cast<uint64_t>(v) > 4294967295ULL);
        out_cnt[k] = static_cast<uint32_t>(v);
      }
    }
    *sorted = !unsorted;
    return !bad;
  }

  void Trim(size_t size) {
    block_.indices.resize(size);
    if (type_ == ValueType::kUInt32) block_.counts.resize(size);
    else block_.floats.resize(size);
  }

  void AddEmptyRows(uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) block_.indptr.push_back(block_.indices.size());
    block_.n_rows += n;
  }

 private:
  Status SortRow(size_t start, uint64_t row) {
    const size_t n = block_.indices.size() - start;
    uint32_t* ids = block_.indices.data() + start;
    bool descending = true;
    for (size_t k = 1; k < n && descending; ++k) descending = ids[k] < ids[k - 1];
    if (descending) {
      // Common in 10x MTX files (genes listed from last to first within a cell).
      std::reverse(ids, ids + n);
      if (type_ == ValueType::kUInt32) std::reverse(block_.counts.begin() + start, block_.counts.end());
      else std::reverse(block_.floats.begin() + start, block_.floats.end());
      return Status::OK();
    }
    std::vector<uint32_t> order(n);
    std::iota(order.begin(), order.end(), 0u);
    uint32_t* idx = block_.indices.data() + start;
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return idx[a] < idx[b]; });
    std::vector<uint32_t> tmp_idx(n), tmp_val(n);
    uint32_t* vals = type_ == ValueType::kUInt32 ? block_.counts.data() + start
                                                 : reinterpret_cast<uint32_t*>(block_.floats.data() + start);
    for (size_t k = 0; k < n; ++k) {
      tmp_idx[k] = idx[order[k]];
      tmp_val[k] = vals[order[k]];
      if (k > 0 && tmp_idx[k] == tmp_idx[k - 1]) {
        return Status::InvalidArgument(what_ + ": cell " + std::to_string(row) + ": gene " + std::to_string(tmp_idx[k]) +
                                       " stored twice");
      }
    }
    std::copy(tmp_idx.begin(), tmp_idx.end(), idx);
    std::copy(tmp_val.begin(), tmp_val.end(), vals);
    return Status::OK();
  }

  uint32_t n_genes_;
  ValueType type_;
  std::string what_;
  ValueStats* stats_;
  CsrMatrix block_;
};

}  // namespace slaf::interop
