#include "interop/hdf_matrix.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "interop/rows.h"

namespace slaf::interop {
namespace {

// The in-memory type an HDF5 numeric dataset is read as: its own when that
// is int32/float32/float64 (no conversion), else a wider one.
enum class Num { kI32, kI64, kF32, kF64 };

Result<Num> NumOf(const h5::File& f, const std::string& ds) {
  SLAF_ASSIGN_OR_RETURN(h5::DatasetInfo info, h5::Describe(f, ds));
  switch (info.type.kind) {
    case h5::Kind::kInt: return info.type.size <= 4 ? Num::kI32 : Num::kI64;
    case h5::Kind::kUInt: return info.type.size <= 2 ? Num::kI32 : Num::kI64;
    case h5::Kind::kFloat: return info.type.size <= 4 ? Num::kF32 : Num::kF64;
    default: return f.Error(ds, "unsupported element type for a matrix (expected integers or floats)");
  }
}

template <typename F>
Status WithNum(Num n, F&& f) {
  switch (n) {
    case Num::kI32: return f(int32_t{});
    case Num::kI64: return f(int64_t{});
    case Num::kF32: return f(float{});
    case Num::kF64: return f(double{});
  }
  return Status::OK();
}

// Index arrays are integers only.
template <typename F>
Status WithIndex(Num n, F&& f) {
  if (n == Num::kI32) return f(int32_t{});
  return f(int64_t{});
}

Result<uint64_t> Length(const h5::File& f, const std::string& ds) {
  SLAF_ASSIGN_OR_RETURN(h5::DatasetInfo info, h5::Describe(f, ds));
  if (info.dims.size() != 1) return f.Error(ds, "expected a 1-D array, found " + std::to_string(info.dims.size()) + "-D");
  return info.dims[0];
}

// indptr with `major + 1` entries from 0, non-decreasing, ending at the
// length of data and indices.
Result<std::vector<int64_t>> ReadIndptr(const h5::File& f, const CsrPart& p, uint64_t major, const char* major_name) {
  SLAF_ASSIGN_OR_RETURN(uint64_t n_ptr, Length(f, p.indptr));
  if (n_ptr != major + 1) {
    return f.Error(p.indptr, "has " + std::to_string(n_ptr) + " entries; " + std::to_string(major) + " " + major_name +
                                 " need " + std::to_string(major + 1) + " (mismatched shapes)");
  }
  SLAF_ASSIGN_OR_RETURN(Num k, NumOf(f, p.indptr));
  if (k == Num::kF32 || k == Num::kF64) return f.Error(p.indptr, "indptr is not integer");
  SLAF_ASSIGN_OR_RETURN(std::vector<int64_t> ptr, h5::ReadAll<int64_t>(f, p.indptr));
  SLAF_ASSIGN_OR_RETURN(uint64_t n_data, Length(f, p.data));
  SLAF_ASSIGN_OR_RETURN(uint64_t n_idx, Length(f, p.indices));
  if (ptr[0] != 0) return f.Error(p.indptr, "starts at " + std::to_string(ptr[0]) + ", not 0");
  for (uint64_t i = 1; i < ptr.size(); ++i) {
    if (ptr[i] < ptr[i - 1]) return f.Error(p.indptr, "decreases at entry " + std::to_string(i));
  }
  if (static_cast<uint64_t>(ptr.back()) != n_data || n_data != n_idx) {
    return f.Error(p.indptr, "ends at " + std::to_string(ptr.back()) + " but data has " + std::to_string(n_data) +
                                 " and indices " + std::to_string(n_idx) + " entries");
  }
  return ptr;
}

struct CsrState {
  std::shared_ptr<h5::File> f;
  std::vector<CsrPart> parts;
  std::vector<std::vector<int64_t>> indptr;  // per part
  std::vector<int64_t> total;                // sum over parts, n_cells + 1
  Num index_num = Num::kI64, value_num = Num::kF64;
};

template <typename I, typename V>
Status StreamCsr(const CsrState& s, uint64_t n_cells, uint32_t n_genes, const std::string& what, uint64_t block_nnz,
                 ValueType type, const RowSink& sink, ValueStats* stats) {
  BlockAssembler out(n_genes, type, what, stats);
  const size_t np = s.parts.size();
  std::vector<std::vector<I>> idx(np);
  std::vector<std::vector<V>> val(np);
  std::vector<I> row_idx;
  std::vector<V> row_val;
  uint64_t cell = 0;
  while (cell < n_cells) {
    // The largest run of cells within block_nnz (at least one cell).
    auto limit = s.total.begin() + static_cast<int64_t>(cell) + 1;
    auto it = std::upper_bound(limit, s.total.end(), s.total[cell] + static_cast<int64_t>(block_nnz));
    uint64_t end = std::max<uint64_t>(cell + 1, static_cast<uint64_t>(it - s.total.begin()) - 1);
    end = std::min(end, n_cells);
    for (size_t p = 0; p < np; ++p) {
      const uint64_t a = static_cast<uint64_t>(s.indptr[p][cell]), b = static_cast<uint64_t>(s.indptr[p][end]);
      idx[p].resize(b - a);
      val[p].resize(b - a);
      SLAF_RETURN_IF_ERROR(h5::Read<I>(*s.f, s.parts[p].indices, a, b - a, idx[p].data()));
      SLAF_RETURN_IF_ERROR(h5::Read<V>(*s.f, s.parts[p].data, a, b - a, val[p].data()));
      if (s.parts[p].gene_offset) {
        for (I& g : idx[p]) {
          if (g >= 0) g += static_cast<I>(s.parts[p].gene_offset);
        }
      }
    }
    for (uint64_t c = cell; c < end; ++c) {
      if (np == 1) {
        const uint64_t base = static_cast<uint64_t>(s.indptr[0][cell]);
        const uint64_t a = static_cast<uint64_t>(s.indptr[0][c]) - base, b = static_cast<uint64_t>(s.indptr[0][c + 1]) - base;
        SLAF_RETURN_IF_ERROR(out.AddRow(idx[0].data() + a, val[0].data() + a, b - a, c));
      } else {
        row_idx.clear();
        row_val.clear();
        for (size_t p = 0; p < np; ++p) {
          const uint64_t base = static_cast<uint64_t>(s.indptr[p][cell]);
          const uint64_t a = static_cast<uint64_t>(s.indptr[p][c]) - base, b = static_cast<uint64_t>(s.indptr[p][c + 1]) - base;
          row_idx.insert(row_idx.end(), idx[p].begin() + a, idx[p].begin() + b);
          row_val.insert(row_val.end(), val[p].begin() + a, val[p].begin() + b);
        }
        SLAF_RETURN_IF_ERROR(out.AddRow(row_idx.data(), row_val.data(), row_idx.size(), c));
      }
    }
    SLAF_RETURN_IF_ERROR(sink(out.block()));
    out.Reset();
    cell = end;
  }
  return Status::OK();
}

}  // namespace

Result<MatrixSource> HdfCsrSource(std::shared_ptr<h5::File> f, std::vector<CsrPart> parts, uint64_t n_cells,
                                  uint32_t n_genes, std::string what, const ReadOptions& o) {
  auto s = std::make_shared<CsrState>();
  s->f = f;
  s->parts = std::move(parts);
  s->total.assign(n_cells + 1, 0);
  for (size_t p = 0; p < s->parts.size(); ++p) {
    SLAF_ASSIGN_OR_RETURN(std::vector<int64_t> ptr, ReadIndptr(*f, s->parts[p], n_cells, "cells"));
    for (uint64_t i = 0; i <= n_cells; ++i) s->total[i] += ptr[i];
    s->indptr.push_back(std::move(ptr));
    SLAF_ASSIGN_OR_RETURN(Num vn, NumOf(*f, s->parts[p].data));
    SLAF_ASSIGN_OR_RETURN(Num in, NumOf(*f, s->parts[p].indices));
    if (in == Num::kF32 || in == Num::kF64) return f->Error(s->parts[p].indices, "indices are not integer");
    // Parts share one read type: the widest.
    if (p == 0 || vn > s->value_num) s->value_num = vn;
    if (p == 0 || in > s->index_num) s->index_num = in;
  }
  MatrixSource m;
  m.what = what;
  m.nnz_hint = static_cast<uint64_t>(s->total.back());
  const uint64_t block_nnz = o.block_nnz;
  m.stream = [s, n_cells, n_genes, what, block_nnz](ValueType type, const RowSink& sink, ValueStats* stats) {
    return WithIndex(s->index_num, [&](auto i) {
      return WithNum(s->value_num, [&](auto v) {
        return StreamCsr<decltype(i), decltype(v)>(*s, n_cells, n_genes, what, block_nnz, type, sink, stats);
      });
    });
  };
  return m;
}

namespace {

template <typename I, typename V>
Status StreamCsc(const h5::File& f, const CsrPart& part, const std::vector<int64_t>& ptr, uint64_t n_cells,
                 uint32_t n_genes, const std::string& what, const ReadOptions& o, ValueType type, const RowSink& sink,
                 ValueStats* stats) {
  SLAF_ASSIGN_OR_RETURN(std::unique_ptr<engine::TripleSorter> sorter, MakeCellSorter(n_cells, n_genes, type, o, what));
  std::vector<I> idx;
  std::vector<V> val;
  std::vector<uint64_t> rows;
  std::vector<uint32_t> cols, bits;
  uint32_t gene = 0;
  while (gene < n_genes) {
    auto it = std::upper_bound(ptr.begin() + gene + 1, ptr.end(), ptr[gene] + static_cast<int64_t>(o.block_nnz));
    uint32_t end = static_cast<uint32_t>(std::max<int64_t>(gene + 1, (it - ptr.begin()) - 1));
    end = std::min(end, n_genes);
    const uint64_t a = static_cast<uint64_t>(ptr[gene]), b = static_cast<uint64_t>(ptr[end]);
    idx.resize(b - a);
    val.resize(b - a);
    SLAF_RETURN_IF_ERROR(h5::Read<I>(f, part.indices, a, b - a, idx.data()));
    SLAF_RETURN_IF_ERROR(h5::Read<V>(f, part.data, a, b - a, val.data()));
    rows.clear();
    cols.clear();
    bits.clear();
    for (uint32_t g = gene; g < end; ++g) {
      for (uint64_t k = static_cast<uint64_t>(ptr[g]) - a; k < static_cast<uint64_t>(ptr[g + 1]) - a; ++k) {
        const int64_t c = static_cast<int64_t>(idx[k]);
        if (c < 0 || static_cast<uint64_t>(c) >= n_cells) {
          return Status::InvalidArgument(what + ": gene " + std::to_string(g) + ": cell index " + std::to_string(c) +
                                         " outside [0, " + std::to_string(n_cells) + ")");
        }
        if (val[k] == 0) {
          ++stats->zeros_dropped;
          continue;
        }
        uint32_t v;
        if (!ValueBits(val[k], type, stats, &v)) return NotCounts(what);
        rows.push_back(static_cast<uint64_t>(c));
        cols.push_back(g);
        bits.push_back(v);
      }
    }
    SLAF_RETURN_IF_ERROR(sorter->Add(rows.data(), cols.data(), bits.data(), rows.size()));
    gene = end;
  }
  return FinishCellSorter(*sorter, o, sink);
}

}  // namespace

Result<MatrixSource> HdfCscSource(std::shared_ptr<h5::File> f, CsrPart part, uint64_t n_cells, uint32_t n_genes,
                                  std::string what, const ReadOptions& o) {
  SLAF_ASSIGN_OR_RETURN(std::vector<int64_t> ptr_v, ReadIndptr(*f, part, n_genes, "genes"));
  auto ptr = std::make_shared<std::vector<int64_t>>(std::move(ptr_v));
  SLAF_ASSIGN_OR_RETURN(Num vn, NumOf(*f, part.data));
  SLAF_ASSIGN_OR_RETURN(Num in, NumOf(*f, part.indices));
  if (in == Num::kF32 || in == Num::kF64) return f->Error(part.indices, "indices are not integer");
  MatrixSource m;
  m.what = what;
  m.cheap_prefix = [] { return false; };
  m.nnz_hint = static_cast<uint64_t>(ptr->back());
  m.stream = [f, part, ptr, n_cells, n_genes, what, o, vn, in](ValueType type, const RowSink& sink, ValueStats* stats) {
    return WithIndex(in, [&](auto i) {
      return WithNum(vn, [&](auto v) {
        return StreamCsc<decltype(i), decltype(v)>(*f, part, *ptr, n_cells, n_genes, what, o, type, sink, stats);
      });
    });
  };
  return m;
}

namespace {

template <typename V>
Status StreamDense(const h5::File& f, const std::string& ds, uint64_t n_cells, uint32_t n_genes, const std::string& what,
                   uint64_t block_elems, ValueType type, const RowSink& sink, ValueStats* stats) {
  BlockAssembler out(n_genes, type, what, stats);
  std::vector<uint32_t> iota(n_genes);
  std::iota(iota.begin(), iota.end(), 0u);
  const uint64_t rows_per_block = std::max<uint64_t>(1, block_elems / std::max<uint32_t>(1, n_genes));
  std::vector<V> buf;
  const uint64_t zeros_before = stats->zeros_dropped;
  for (uint64_t cell = 0; cell < n_cells; cell += rows_per_block) {
    const uint64_t n = std::min(rows_per_block, n_cells - cell);
    buf.resize(n * n_genes);
    SLAF_RETURN_IF_ERROR(h5::Read<V>(f, ds, cell, n, buf.data()));
    for (uint64_t r = 0; r < n; ++r) {
      SLAF_RETURN_IF_ERROR(out.AddRow(iota.data(), buf.data() + r * n_genes, n_genes, cell + r));
    }
    SLAF_RETURN_IF_ERROR(sink(out.block()));
    out.Reset();
  }
  stats->zeros_dropped = zeros_before;  // a dense matrix's zeros are not stored entries
  return Status::OK();
}

}  // namespace

Result<MatrixSource> HdfDenseSource(std::shared_ptr<h5::File> f, std::string dataset, uint64_t n_cells,
                                    uint32_t n_genes, std::string what, const ReadOptions& o) {
  SLAF_ASSIGN_OR_RETURN(h5::DatasetInfo info, h5::Describe(*f, dataset));
  if (info.dims.size() != 2 || info.dims[0] != n_cells || info.dims[1] != n_genes) {
    std::string shape;
    for (uint64_t d : info.dims) shape += (shape.empty() ? "" : " x ") + std::to_string(d);
    return f->Error(dataset, "is " + shape + " but the data has " + std::to_string(n_cells) + " cells x " +
                                 std::to_string(n_genes) + " genes (mismatched shapes)");
  }
  SLAF_ASSIGN_OR_RETURN(Num vn, NumOf(*f, dataset));
  MatrixSource m;
  m.what = what;
  const uint64_t block = o.block_nnz;
  m.stream = [f, dataset, n_cells, n_genes, what, block, vn](ValueType type, const RowSink& sink, ValueStats* stats) {
    return WithNum(vn, [&](auto v) {
      return StreamDense<decltype(v)>(*f, dataset, n_cells, n_genes, what, block, type, sink, stats);
    });
  };
  return m;
}

}  // namespace slaf::interop
