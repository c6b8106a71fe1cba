#include "sql-lite/matrix_source.h"

#include <algorithm>
#include <cmath>

namespace slaf::sql {

namespace {

bool HasValueRange(const ExprScanSpec& s) { return s.value_min > -INFINITY || s.value_max < INFINITY; }

const MatrixEntry* Entry(const Dataset& ds, const std::string& layer) {
  const Manifest& m = ds.manifest();
  if (layer.empty()) return &m.x;
  auto it = m.layers.find(layer);
  return it == m.layers.end() ? nullptr : &it->second;
}

// [begin, end) of part `part` of `parts` equal shares of n items.
std::pair<uint64_t, uint64_t> Share(uint64_t n, int part, int parts) {
  const uint64_t p = static_cast<uint64_t>(part), k = static_cast<uint64_t>(parts);
  return {n * p / k, n * (p + 1) / k};
}

// Keeps the entries of `m` in [lo, hi] (and, for gene-major blocks, of
// selected cells), compacting in place.
void FilterEntries(CsrMatrix* m, double lo, double hi, const std::vector<uint8_t>* cell_ok) {
  const bool is_int = m->value_type == ValueType::kUInt32;
  uint64_t w = 0;
  uint64_t start = 0;
  for (uint64_t r = 0; r < m->n_rows; ++r) {
    const uint64_t end = m->indptr[r + 1];
    for (uint64_t k = start; k < end; ++k) {
      const double v = is_int ? m->counts[k] : m->floats[k];
      if (v < lo || v > hi) continue;
      if (cell_ok && !(*cell_ok)[m->indices[k]]) continue;
      m->indices[w] = m->indices[k];
      if (is_int) m->counts[w] = m->counts[k];
      else m->floats[w] = m->floats[k];
      ++w;
    }
    start = end;
    m->indptr[r + 1] = w;
  }
  m->indices.resize(w);
  if (is_int) m->counts.resize(w);
  else m->floats.resize(w);
}

class GeneIndexSource final : public MatrixSource {
 public:
  GeneIndexSource(const Dataset& ds, const ExprScanSpec& spec, int part, int parts, ExecContext::ScanLog* log)
      : ds_(ds), spec_(spec), log_(log) {
    auto [b, e] = Share(spec.genes.size(), part, parts);
    genes_.assign(spec.genes.begin() + static_cast<std::ptrdiff_t>(b), spec.genes.begin() + static_cast<std::ptrdiff_t>(e));
  }
  Result<bool> Next(SourceBlock* block) override {
    if (done_ || genes_.empty()) return false;
    done_ = true;
    SLAF_ASSIGN_OR_RETURN(block->m, ds_.ReadGenes(genes_, spec_.layer));
    block->gene_rows = true;
    block->stored_to_original = nullptr;
    block->first_row = 0;
    block->row_ids.assign(genes_.begin(), genes_.end());
    std::vector<uint8_t> ok;
    const bool ranged = spec_.cell_begin > 0 || spec_.cell_end < ds_.n_cells();
    if (spec_.has_cells) {
      ok.assign(ds_.n_cells(), 0);
      for (uint64_t c : spec_.cells) ok[c] = 1;
    } else if (ranged) {
      ok.assign(ds_.n_cells(), 0);
      for (uint64_t c = spec_.cell_begin; c < std::min<uint64_t>(spec_.cell_end, ds_.n_cells()); ++c) ok[c] = 1;
    }
    if (!ok.empty() || HasValueRange(spec_)) FilterEntries(&block->m, spec_.value_min, spec_.value_max, ok.empty() ? nullptr : &ok);
    log_->entries += block->m.nnz();
    return true;
  }
  const char* path() const override { return "gene index"; }
  void Finish() override {}

 private:
  const Dataset& ds_;
  const ExprScanSpec& spec_;
  ExecContext::ScanLog* log_;
  std::vector<uint32_t> genes_;
  bool done_ = false;
};

// Every gene row of a gene index that covers all cells, values only unless
// cell ids are needed.
class GeneIndexScanSource final : public MatrixSource {
 public:
  GeneIndexScanSource(const Dataset& ds, const ExprScanSpec& spec, ExecContext::ScanLog* log) : ds_(ds), spec_(spec), log_(log) {}
  Status Init(int part, int parts) {
    const uint64_t n = ds_.n_genes();
    ScanOptions so;
    so.row_begin = n * static_cast<uint64_t>(part) / static_cast<uint64_t>(parts);
    so.row_end = n * static_cast<uint64_t>(part + 1) / static_cast<uint64_t>(parts);
    so.want_indices = !spec_.prefer_gene_rows;
    so.want_values = spec_.need_values || HasValueRange(spec_);
    so.sorted_indices = false;
    so.value_min = spec_.value_min;
    so.value_max = spec_.value_max;
    if (spec_.has_genes) {
      auto a = std::lower_bound(spec_.genes.begin(), spec_.genes.end(), so.row_begin);
      auto b = std::lower_bound(a, spec_.genes.end(), so.row_end);
      so.rows.assign(a, b);
      if (so.rows.empty()) {
        empty_ = true;
        return Status::OK();
      }
    }
    if (so.row_begin >= so.row_end) {
      empty_ = true;
      return Status::OK();
    }
    SLAF_ASSIGN_OR_RETURN(scan_, ds_.ScanGeneIndex(so, spec_.layer));
    return Status::OK();
  }
  Result<bool> Next(SourceBlock* block) override {
    if (empty_) return false;
    uint64_t first = 0;
    SLAF_ASSIGN_OR_RETURN(bool more, scan_->Next(&block->m, &first));
    if (!more) return false;
    block->gene_rows = true;
    block->first_row = first;
    block->row_ids.clear();
    block->stored_to_original = nullptr;
    log_->entries += block->m.indptr.back();
    return true;
  }
  const char* path() const override { return "gene index scan"; }
  void Finish() override {
    if (!scan_ || finished_) return;
    finished_ = true;
    const ScanStats s = scan_->stats();
    log_->chunks_read += s.chunks_read;
    log_->chunks_skipped += s.chunks_skipped;
  }

 private:
  const Dataset& ds_;
  const ExprScanSpec& spec_;
  ExecContext::ScanLog* log_;
  std::unique_ptr<MatrixScanner> scan_;
  bool empty_ = false;
  bool finished_ = false;
};

class ChunkScanSource final : public MatrixSource {
 public:
  ChunkScanSource(const Dataset& ds, const ExprScanSpec& spec, ExecContext::ScanLog* log) : ds_(ds), spec_(spec), log_(log) {}
  Status Init(int part, int parts) {
    uint64_t lo = std::min<uint64_t>(spec_.cell_begin, ds_.n_cells()), hi = std::min<uint64_t>(spec_.cell_end, ds_.n_cells());
    if (lo >= hi) {
      empty_ = true;
      return Status::OK();
    }
    if (spec_.has_cells) {
      if (spec_.cells.empty()) {
        empty_ = true;
        return Status::OK();
      }
      lo = std::max(lo, spec_.cells.front());
      hi = std::min(hi, spec_.cells.back() + 1);
      if (lo >= hi) {
        empty_ = true;
        return Status::OK();
      }
    }
    if (spec_.has_genes && spec_.genes.empty()) {
      empty_ = true;
      return Status::OK();
    }
    const uint64_t n = hi - lo;
    ScanOptions so;
    so.row_begin = lo;
    so.row_end = hi;
    if (parts > 1) {
      // Split at chunk starts so that no chunk is decoded by two threads.
      SLAF_ASSIGN_OR_RETURN(MatrixTotals t, ds_.Totals(spec_.layer));
      auto cut = [&](int p) -> uint64_t {
        if (p == 0) return lo;
        if (p == parts) return hi;
        const uint64_t target = lo + n * static_cast<uint64_t>(p) / static_cast<uint64_t>(parts);
        auto it = std::lower_bound(t.chunk_first_cell.begin(), t.chunk_first_cell.end(), target);
        return it == t.chunk_first_cell.end() ? hi : std::clamp(*it, lo, hi);
      };
      so.row_begin = cut(part);
      so.row_end = cut(part + 1);
    }
    if (so.row_begin >= so.row_end) {
      empty_ = true;
      return Status::OK();
    }
    so.want_indices = spec_.need_gene_ids || spec_.has_genes;
    so.want_values = spec_.need_values || HasValueRange(spec_);
    so.sorted_indices = false;  // row order of entries is not part of SQL results
    so.original_ids = !spec_.stored_ids_ok;
    so.value_min = spec_.value_min;
    so.value_max = spec_.value_max;
    if (spec_.has_genes) so.columns = spec_.genes;
    if (spec_.has_cells && spec_.cells.size() != hi - lo) {  // not one contiguous range
      auto a = std::lower_bound(spec_.cells.begin(), spec_.cells.end(), so.row_begin);
      auto b = std::lower_bound(a, spec_.cells.end(), so.row_end);
      so.rows.assign(a, b);
      if (so.rows.empty()) {
        empty_ = true;
        return Status::OK();
      }
    }
    SLAF_ASSIGN_OR_RETURN(scan_, ds_.ScanMatrix(so, spec_.layer));
    return Status::OK();
  }
  Result<bool> Next(SourceBlock* block) override {
    if (empty_) return false;
    uint64_t first = 0;
    SLAF_ASSIGN_OR_RETURN(bool more, scan_->Next(&block->m, &first));
    if (!more) return false;
    block->gene_rows = false;
    block->first_row = first;
    block->row_ids.clear();
    block->stored_to_original = spec_.stored_ids_ok ? &scan_->stored_to_original() : nullptr;
    log_->entries += block->m.indptr.back();
    return true;
  }
  const char* path() const override { return "chunk scan"; }
  void Finish() override {
    if (!scan_ || finished_) return;
    finished_ = true;
    const ScanStats s = scan_->stats();
    log_->chunks_read += s.chunks_read;
    log_->chunks_skipped += s.chunks_skipped;
  }

 private:
  const Dataset& ds_;
  const ExprScanSpec& spec_;
  ExecContext::ScanLog* log_;
  std::unique_ptr<MatrixScanner> scan_;
  bool empty_ = false;
  bool finished_ = false;
};

}  // namespace

const char* ChoosePath(const Dataset& ds, const ExprScanSpec& spec) {
  const MatrixEntry* mx = Entry(ds, spec.layer);
  const bool index = mx && mx->gene_index.has_value() && ds.n_cells() <= UINT32_MAX;
  // A few genes over many cells: the gene-major copy reads only those genes.
  const bool few_cells = spec.has_cells && spec.cells.size() <= 64;
  if (index && spec.has_genes && spec.genes.size() <= 256 && !few_cells) return "gene index";
  const bool all_cells = !spec.has_cells && spec.cell_begin == 0 && spec.cell_end >= ds.n_cells();
  if (index && spec.prefer_gene_rows && all_cells && mx->gene_index->n_cells == ds.n_cells()) return "gene index scan";
  return "chunk scan";
}

Result<std::unique_ptr<MatrixSource>> MatrixSource::Open(const Dataset& ds, const ExprScanSpec& spec, int part, int parts,
                                                         ExecContext::ScanLog* log) {
  const std::string path = ChoosePath(ds, spec);
  if (path == "gene index") return std::unique_ptr<MatrixSource>(new GeneIndexSource(ds, spec, part, parts, log));
  if (path == "gene index scan") {
    auto s = std::make_unique<GeneIndexScanSource>(ds, spec, log);
    SLAF_RETURN_IF_ERROR(s->Init(part, parts));
    return std::unique_ptr<MatrixSource>(std::move(s));
  }
  auto s = std::make_unique<ChunkScanSource>(ds, spec, log);
  SLAF_RETURN_IF_ERROR(s->Init(part, parts));
  return std::unique_ptr<MatrixSource>(std::move(s));
}

}  // namespace slaf::sql
