// The physical operators: pull-based, one columnar batch (about kBatchRows
// rows) per Next(). Streaming operators (scan, filter, project, limit,
// union, the probe side of a join) hold one batch at a time; sort,
// aggregate, distinct, window and a join's build side hold their input.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "sql-lite/matrix_source.h"
#include "sql-lite/plan.h"

namespace slaf::sql {

void AppendValueKey(const Vector& v, size_t r, std::string* key);  // eval.cc

namespace {

// ---- column helpers

void AppendVector(Vector* dst, const Vector& src, size_t n) {
  if (dst->type == Type::kNull) {
    dst->size += n;
    return;
  }
  if (src.type == Type::kNull) {
    for (size_t r = 0; r < n; ++r) dst->AppendNull();
    return;
  }
  if (!src.valid.empty() || !dst->valid.empty()) {
    if (dst->valid.empty()) dst->valid.assign(dst->size, 1);
    if (src.valid.empty()) dst->valid.insert(dst->valid.end(), n, 1);
    else dst->valid.insert(dst->valid.end(), src.valid.begin(), src.valid.begin() + static_cast<std::ptrdiff_t>(n));
  }
  switch (dst->type) {
    case Type::kBool:
    case Type::kInt64: dst->i.insert(dst->i.end(), src.i.begin(), src.i.begin() + static_cast<std::ptrdiff_t>(n)); break;
    case Type::kDouble:
      if (src.type == Type::kDouble) {
        dst->d.insert(dst->d.end(), src.d.begin(), src.d.begin() + static_cast<std::ptrdiff_t>(n));
      } else {
        for (size_t r = 0; r < n; ++r) dst->d.push_back(static_cast<double>(src.i[r]));
      }
      break;
    case Type::kString: dst->s.insert(dst->s.end(), src.s.begin(), src.s.begin() + static_cast<std::ptrdiff_t>(n)); break;
    case Type::kNull: break;
  }
  dst->size += n;
}

void Slice(const Vector& src, size_t begin, size_t n, Vector* out) {
  out->type = src.type;
  out->size = n;
  auto sub = [&](const auto& v, auto* o) {
    if (v.empty()) o->clear();
    else o->assign(v.begin() + static_cast<std::ptrdiff_t>(begin), v.begin() + static_cast<std::ptrdiff_t>(begin + n));
  };
  sub(src.valid, &out->valid);
  sub(src.i, &out->i);
  sub(src.d, &out->d);
  sub(src.s, &out->s);
}

// All rows of an input, column by column.
struct Materialized {
  size_t n = 0;
  std::vector<Vector> cols;
  std::vector<std::shared_ptr<const void>> keep;

  void Init(const std::vector<Type>& types) {
    cols.resize(types.size());
    for (size_t c = 0; c < types.size(); ++c) cols[c].Reset(types[c], 0);
  }
  void Append(const Batch& b) {
    for (size_t c = 0; c < cols.size(); ++c) AppendVector(&cols[c], b.cols[c], b.n);
    n += b.n;
    keep.insert(keep.end(), b.keep.begin(), b.keep.end());
  }
  // The rows as one batch (views, no copy of string bytes).
  Batch AsBatch() const {
    Batch b;
    b.n = n;
    b.cols = cols;
    b.keep = keep;
    return b;
  }
};

Status Drain(Operator* op, const std::vector<Type>& types, Materialized* m) {
  m->Init(types);
  Batch b;
  while (true) {
    SLAF_ASSIGN_OR_RETURN(bool more, op->Next(&b));
    if (!more) return Status::OK();
    m->Append(b);
  }
}

// Emits a materialized result in slices of kBatchRows, in `order` if given.
class Emitter {
 public:
  void Reset(Materialized m, std::vector<uint32_t> order = {}) {
    m_ = std::move(m);
    order_ = std::move(order);
    pos_ = 0;
  }
  size_t rows() const { return order_.empty() ? m_.n : order_.size(); }
  bool Next(Batch* out) {
    const size_t total = rows();
    if (pos_ >= total) return false;
    const size_t n = std::min(kBatchRows, total - pos_);
    out->n = n;
    out->cols.resize(m_.cols.size());
    for (size_t c = 0; c < m_.cols.size(); ++c) {
      if (order_.empty()) Slice(m_.cols[c], pos_, n, &out->cols[c]);
      else out->cols[c].Gather(m_.cols[c], order_.data() + pos_, n);
    }
    out->keep = m_.keep;
    pos_ += n;
    return true;
  }
  Materialized& data() { return m_; }

 private:
  Materialized m_;
  std::vector<uint32_t> order_;
  size_t pos_ = 0;
};

int CompareRows(const Vector& v, size_t a, size_t b) {
  const bool na = v.null(a), nb = v.null(b);
  if (na || nb) return na == nb ? 0 : (na ? -2 : 2);  // +-2: one side NULL
  switch (v.type) {
    case Type::kBool:
    case Type::kInt64: return v.i[a] < v.i[b] ? -1 : v.i[a] > v.i[b];
    case Type::kDouble: return v.d[a] < v.d[b] ? -1 : v.d[a] > v.d[b];
    case Type::kString: {
      const int c = v.s[a].compare(v.s[b]);
      return c < 0 ? -1 : c > 0;
    }
    case Type::kNull: return 0;
  }
  return 0;
}

// a before b under `keys` (each evaluated into keyv).
bool Before(const std::vector<SortKey>& keys, const std::vector<Vector>& keyv, uint32_t a, uint32_t b) {
  for (size_t k = 0; k < keys.size(); ++k) {
    const int c = CompareRows(keyv[k], a, b);
    if (c == 0) continue;
    if (c == -2 || c == 2) return (c == -2) == keys[k].nulls_first;  // NULL placement ignores DESC
    return keys[k].desc ? c > 0 : c < 0;
  }
  return a < b;  // stable
}

Result<std::vector<Vector>> EvalAll(const std::vector<BExprPtr>& exprs, const std::vector<int>& slots, const Batch& in,
                                    ExecContext* ctx, StringArena* arena) {
  std::vector<Vector> out(exprs.size());
  for (size_t k = 0; k < exprs.size(); ++k) {
    SLAF_ASSIGN_OR_RETURN(ExprEvaluator ev, ExprEvaluator::Make(exprs[k], slots, ctx));
    SLAF_RETURN_IF_ERROR(ev.Eval(in, &out[k], arena));
  }
  return out;
}

// Narrows a scan's selection to ids (sorted, distinct) of one axis,
// intersecting with what was already selected; `why` goes to EXPLAIN.
void RestrictSpec(ExprScanSpec* spec, bool cells, std::vector<uint64_t> ids, const std::string& why, PlanNode* node) {
  if (cells) {
    std::erase_if(ids, [&](uint64_t c) { return c < spec->cell_begin || c >= spec->cell_end; });
    if (spec->has_cells) {
      std::vector<uint64_t> both;
      std::set_intersection(spec->cells.begin(), spec->cells.end(), ids.begin(), ids.end(), std::back_inserter(both));
      ids.swap(both);
    }
    spec->has_cells = true;
    spec->cells = std::move(ids);
  } else {
    std::vector<uint32_t> g(ids.begin(), ids.end());
    if (spec->has_genes) {
      std::vector<uint32_t> both;
      std::set_intersection(spec->genes.begin(), spec->genes.end(), g.begin(), g.end(), std::back_inserter(both));
      g.swap(both);
    }
    spec->has_genes = true;
    spec->genes = std::move(g);
  }
  node->scan.pushed.push_back(why);
}

// Runs the restriction plans of a scan node and narrows the scan to the ids
// they return (semi-join pushdown).
template <typename ScanOp>
Status ApplyRestrictions(const PlanNode& node, ExecContext* ctx, ScanOp* op) {
  for (const PlanNode::Restriction& r : node.restrictions) {
    SLAF_ASSIGN_OR_RETURN(std::unique_ptr<Operator> sub, BuildOperator(r.plan, ctx));
    SLAF_RETURN_IF_ERROR(sub->Open());
    Materialized m;
    SLAF_RETURN_IF_ERROR(Drain(sub.get(), r.plan->types, &m));
    const uint64_t limit = r.cells ? ctx->ds->n_cells() : ctx->ds->n_genes();
    std::vector<uint64_t> ids;
    const Vector& v = m.cols[0];
    for (size_t i = 0; i < m.n; ++i) {
      if (v.null(i)) continue;
      const int64_t x = v.type == Type::kDouble ? static_cast<int64_t>(v.d[i]) : v.i[i];
      if (v.type == Type::kDouble && static_cast<double>(x) != v.d[i]) continue;
      if (x >= 0 && static_cast<uint64_t>(x) < limit) ids.push_back(static_cast<uint64_t>(x));
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    const std::string why = std::to_string(ids.size()) + (r.cells ? " cells" : " genes") + " from " + r.what;
    op->Restrict(r.cells, std::move(ids), why);
  }
  return Status::OK();
}

// ---- leaves

class ValuesOp final : public Operator {
 public:
  Status Open() override { return Status::OK(); }
  Result<bool> Next(Batch* out) override {
    if (done_) return false;
    done_ = true;
    out->n = 1;
    out->cols.clear();
    out->keep.clear();
    return true;
  }

 private:
  bool done_ = false;
};

class TableScanOp final : public Operator {
 public:
  TableScanOp(PlanPtr node, ExecContext* ctx) : node_(std::move(node)), ctx_(ctx) {}
  Status Open() override {
    const Dataset& ds = *ctx_->ds;
    const std::string& index_col = node_->genes_table ? ds.manifest().var.index_column : ds.manifest().obs.index_column;
    // Rows by name through the dataset's name index (cached per Dataset).
    std::vector<std::pair<uint64_t, const std::string*>> found;
    if (node_->has_lookup) {
      for (const std::string& name : node_->lookup_names) {
        const std::string one[1] = {name};
        Result<std::vector<uint64_t>> id = node_->genes_table ? [&]() -> Result<std::vector<uint64_t>> {
          SLAF_ASSIGN_OR_RETURN(std::vector<uint32_t> g, ds.genes_by_name(one));
          return std::vector<uint64_t>(g.begin(), g.end());
        }()
                                                              : ds.cells_by_name(one);
        if (id.ok()) found.push_back({(*id)[0], &name});
        else if (!id.status().IsNotFound()) return id.status();
      }
      std::sort(found.begin(), found.end());
    }
    bool only_names = node_->has_lookup;  // no column but the id and the index needs reading
    std::vector<std::string> want;
    for (const std::string& c : node_->columns) {
      if (!c.empty() && c != index_col) only_names = false;
      if (!c.empty() && std::find(want.begin(), want.end(), c) == want.end()) want.push_back(c);
    }
    Materialized m;
    if (only_names) {
      m.n = found.size();
      m.cols.resize(node_->columns.size());
      for (size_t k = 0; k < node_->columns.size(); ++k) {
        Vector& v = m.cols[k];
        v.Reset(node_->types[k], m.n);
        v.size = m.n;
        for (const auto& [id, name] : found) {
          if (node_->columns[k].empty()) v.i.push_back(static_cast<int64_t>(id));
          else v.s.push_back(*name);  // the plan node owns the names
        }
      }
    } else {
      auto table = std::make_shared<Table>();
      const uint64_t n_rows = node_->genes_table ? ds.n_genes() : ds.n_cells();
      if (!want.empty()) {
        SLAF_ASSIGN_OR_RETURN(*table, node_->genes_table ? ds.var(want) : ds.obs(want));
      }
      m.n = n_rows;
      m.cols.resize(node_->columns.size());
      for (size_t k = 0; k < node_->columns.size(); ++k) {
        Vector& v = m.cols[k];
        v.Reset(node_->types[k], n_rows);
        v.size = n_rows;
        if (node_->columns[k].empty()) {
          v.i.resize(n_rows);
          std::iota(v.i.begin(), v.i.end(), int64_t{0});
          continue;
        }
        const Column* col = table->Find(node_->columns[k]);
        if (!col) return Status::InvalidArgument("internal error: column " + node_->columns[k] + " not loaded");
        v.valid = col->valid;
        switch (col->type) {
          case ColumnType::kInt64: v.i = col->ints; break;
          case ColumnType::kFloat64: v.d = col->doubles; break;
          case ColumnType::kBool: v.i.assign(col->bools.begin(), col->bools.end()); break;
          case ColumnType::kString:
          case ColumnType::kCategorical:
            v.s.resize(n_rows);
            for (uint64_t r = 0; r < n_rows; ++r) v.s[r] = col->str(r);
            break;
        }
      }
      m.keep.push_back(table);
    }
    // Rows kept: the looked-up ones (of a whole table) or all, then the
    // predicates on this table, evaluated once over the loaded rows.
    std::vector<uint8_t> keep_row(m.n, node_->has_lookup && !only_names ? 0 : 1);
    if (node_->has_lookup && !only_names) {
      for (const auto& [id, name] : found) keep_row[id] = 1;
    }
    if (!node_->scan_filters.empty()) {
      Batch all = m.AsBatch();
      auto arena = std::make_shared<StringArena>();
      for (const BExprPtr& f : node_->scan_filters) {
        SLAF_ASSIGN_OR_RETURN(ExprEvaluator ev, ExprEvaluator::Make(f, node_->slots, ctx_));
        Vector r;
        SLAF_RETURN_IF_ERROR(ev.Eval(all, &r, arena.get()));
        for (uint64_t i = 0; i < m.n; ++i) {
          if (r.null(i) || (r.type == Type::kDouble ? r.d[i] == 0 : r.i[i] == 0)) keep_row[i] = 0;
        }
      }
    }
    std::vector<uint32_t> sel;
    for (uint64_t i = 0; i < m.n; ++i) {
      if (keep_row[i]) sel.push_back(static_cast<uint32_t>(i));
    }
    empty_ = sel.empty();  // (an empty order would mean "all rows" to the emitter)
    if (sel.size() == m.n) emit_.Reset(std::move(m));
    else emit_.Reset(std::move(m), std::move(sel));
    return Status::OK();
  }
  Result<bool> Next(Batch* out) override {
    if (empty_) return false;
    const bool more = emit_.Next(out);
    if (more) node_->rows_out += out->n;
    return more;
  }

 private:
  PlanPtr node_;
  ExecContext* ctx_;
  Emitter emit_;
  bool empty_ = false;
};

// Nonzeros of a matrix as rows (cell_integer_id, gene_integer_id, value).
class ExprScanOp final : public Operator {
 public:
  ExprScanOp(PlanPtr node, ExecContext* ctx) : node_(std::move(node)), ctx_(ctx), spec_(node_->scan) {}

  // Narrows the scan to ids (sorted, distinct) of one axis, before Open.
  void Restrict(bool cells, std::vector<uint64_t> ids, const std::string& why) { RestrictSpec(&spec_, cells, std::move(ids), why, node_.get()); }

  Status Open() override {
    SLAF_RETURN_IF_ERROR(ApplyRestrictions(*node_, ctx_, this));
    log_ = &ctx_->scans.emplace_back();
    node_->scan_log = static_cast<int>(ctx_->scans.size() - 1);
    SLAF_ASSIGN_OR_RETURN(src_, MatrixSource::Open(*ctx_->ds, spec_, 0, 1, log_));
    if (std::string(src_->path()) == "chunk scan") {
      SLAF_ASSIGN_OR_RETURN(MatrixTotals totals, ctx_->ds->Totals(spec_.layer));
      log_->chunks_total = totals.chunks;
    }
    node_->exec_note = src_->path();
    return Status::OK();
  }

  Result<bool> Next(Batch* out) override {
    out->n = 0;
    out->keep.clear();
    out->cols.resize(node_->scan_cols.size());
    for (size_t c = 0; c < node_->scan_cols.size(); ++c) {
      out->cols[c].Reset(node_->types[c], kBatchRows);
    }
    while (out->n < kBatchRows) {
      if (!have_ || r_ >= blk_.m.n_rows) {
        if (done_) break;
        SLAF_ASSIGN_OR_RETURN(bool more, src_->Next(&blk_));
        if (!more) {
          done_ = true;
          src_->Finish();
          break;
        }
        have_ = true;
        r_ = 0;
        k_ = blk_.m.indptr[0];
        continue;
      }
      const uint64_t end = blk_.m.indptr[r_ + 1];
      const uint64_t take = std::min<uint64_t>(end - k_, kBatchRows - out->n);
      const int64_t row_id = static_cast<int64_t>(blk_.row_id(r_));
      for (size_t c = 0; c < node_->scan_cols.size(); ++c) {
        Vector& v = out->cols[c];
        const int what = node_->scan_cols[c];
        const bool cell_col = (what == 0) != blk_.gene_rows;  // this column is the row id
        if (what == 2) {
          if (v.type == Type::kInt64) {
            for (uint64_t k = k_; k < k_ + take; ++k) v.i.push_back(blk_.m.counts[k]);
          } else if (blk_.m.value_type == ValueType::kUInt32) {
            for (uint64_t k = k_; k < k_ + take; ++k) v.d.push_back(blk_.m.counts[k]);
          } else {
            for (uint64_t k = k_; k < k_ + take; ++k) v.d.push_back(blk_.m.floats[k]);
          }
        } else if (cell_col) {
          v.i.insert(v.i.end(), take, row_id);
        } else {
          for (uint64_t k = k_; k < k_ + take; ++k) v.i.push_back(blk_.m.indices[k]);
        }
        v.size += take;
      }
      out->n += take;
      k_ += take;
      if (k_ >= end) {
        ++r_;
        if (r_ < blk_.m.n_rows) k_ = blk_.m.indptr[r_];
      }
    }
    node_->rows_out += out->n;
    return out->n > 0;
  }

 private:
  PlanPtr node_;
  ExecContext* ctx_;
  ExprScanSpec spec_;
  ExecContext::ScanLog* log_ = nullptr;
  std::unique_ptr<MatrixSource> src_;
  SourceBlock blk_;
  bool have_ = false, done_ = false;
  uint64_t r_ = 0, k_ = 0;
};

// The one-pass aggregate kernel: count, sum, min, max and sum of squares of
// the selected nonzeros per gene, per cell or overall, on ctx->threads
// threads (each reads its share of cells, partials are merged).
class ExprAggOp final : public Operator {
 public:
  ExprAggOp(PlanPtr node, ExecContext* ctx) : node_(std::move(node)), ctx_(ctx), spec_(node_->scan) {}

  void Restrict(bool cells, std::vector<uint64_t> ids, const std::string& why) { RestrictSpec(&spec_, cells, std::move(ids), why, node_.get()); }

  // Per slot: count, sum, min, max and, for variances, the exact sum of
  // squares (counts) or a running mean and M2 (floats: sums of squares would
  // cancel catastrophically for values far from zero).
  struct Acc {
    std::vector<int64_t> cnt;
    std::vector<double> sum, mn, mx, mean, m2;
    std::vector<__int128> isumsq;
    void Init(size_t n, const ExprAggSpec& f, bool is_int) {
      cnt.assign(n, 0);
      sum.assign(f.want_sum || f.want_sumsq ? n : 0, 0.0);
      if (f.want_minmax) {
        mn.assign(n, INFINITY);
        mx.assign(n, -INFINITY);
      }
      if (f.want_sumsq) {
        if (is_int) {
          isumsq.assign(n, 0);
        } else {
          mean.assign(n, 0.0);
          m2.assign(n, 0.0);
        }
      }
    }
    // Adds n_b values of mean mean_b and M2 m2_b to slot i, whose count is
    // still the one before them (Chan et al.'s parallel update).
    void MergeMoments(size_t i, double n_b, double mean_b, double m2_b) {
      const double n_a = static_cast<double>(cnt[i]);
      const double n = n_a + n_b;
      const double delta = mean_b - mean[i];
      mean[i] += delta * n_b / n;
      m2[i] += m2_b + delta * delta * n_a * n_b / n;
    }
  };

  Status Open() override {
    const Dataset& ds = *ctx_->ds;
    SLAF_RETURN_IF_ERROR(ApplyRestrictions(*node_, ctx_, this));
    const ExprAggSpec& f = node_->agg_spec;
    spec_.need_gene_ids = f.axis == ExprAggSpec::Axis::kGene;
    spec_.need_values = f.want_sum || f.want_minmax || f.want_sumsq;
    spec_.stored_ids_ok = f.axis == ExprAggSpec::Axis::kGene;
    spec_.prefer_gene_rows = f.axis != ExprAggSpec::Axis::kCell;
    const size_t width = f.axis == ExprAggSpec::Axis::kGene ? ds.n_genes() : f.axis == ExprAggSpec::Axis::kCell ? ds.n_cells() : 1;
    log_ = &ctx_->scans.emplace_back();
    node_->scan_log = static_cast<int>(ctx_->scans.size() - 1);
    const bool unrestricted = !spec_.has_cells && !spec_.has_genes && spec_.value_min == -INFINITY && spec_.value_max == INFINITY &&
                              spec_.cell_begin == 0 && spec_.cell_end >= ds.n_cells();
    Acc total;
    total.Init(width, f, spec_.is_int);
    if (f.axis == ExprAggSpec::Axis::kNone && unrestricted && !f.want_sumsq) {
      // Count, sum, min and max of a whole matrix are in its chunk directories.
      SLAF_ASSIGN_OR_RETURN(MatrixTotals t, ds.Totals(spec_.layer));
      total.cnt[0] = static_cast<int64_t>(t.nnz);
      if (!total.sum.empty()) total.sum[0] = t.sum;
      if (!total.mn.empty() && t.nnz) {
        total.mn[0] = t.min;
        total.mx[0] = t.max;
      }
      node_->exec_note = "chunk directories (no data read)";
      log_->chunks_total = t.chunks;
      log_->chunks_skipped = t.chunks;
    } else {
      const std::string path = ChoosePath(ds, spec_);
      const int parts = path == "gene index" ? 1 : std::max(1, ctx_->threads);
      std::vector<Acc> accs(static_cast<size_t>(parts));
      std::vector<ExecContext::ScanLog> logs(static_cast<size_t>(parts));
      std::vector<Status> st(static_cast<size_t>(parts));
      auto work = [&](int p) {
        Acc& a = accs[static_cast<size_t>(p)];
        if (p == 0) a = std::move(total);
        else a.Init(width, f, spec_.is_int);
        st[static_cast<size_t>(p)] = Run(p, parts, &a, &logs[static_cast<size_t>(p)]);
      };
      if (parts == 1) {
        work(0);
      } else {
        std::vector<std::thread> th;
        for (int p = 1; p < parts; ++p) th.emplace_back(work, p);
        work(0);
        for (auto& t : th) t.join();
      }
      for (const Status& s : st) SLAF_RETURN_IF_ERROR(s);
      total = std::move(accs[0]);
      for (size_t p = 1; p < accs.size(); ++p) Merge(accs[p], &total);
      if (path == "chunk scan") {
        SLAF_ASSIGN_OR_RETURN(MatrixTotals totals, ds.Totals(spec_.layer));
        log_->chunks_total = totals.chunks;
      }
      for (const auto& l : logs) {
        log_->chunks_read += l.chunks_read;
        log_->chunks_skipped += l.chunks_skipped;
        log_->entries += l.entries;
      }
      node_->exec_note = path + (parts > 1 ? ", " + std::to_string(parts) + " threads" : std::string());
    }
    return Emit(total, width);
  }

  Result<bool> Next(Batch* out) override {
    const bool more = emit_.Next(out);
    if (more) node_->rows_out += out->n;
    return more;
  }

 private:
  Status Run(int part, int parts, Acc* a, ExecContext::ScanLog* log) {
    SLAF_ASSIGN_OR_RETURN(std::unique_ptr<MatrixSource> src, MatrixSource::Open(*ctx_->ds, spec_, part, parts, log));
    const ExprAggSpec& f = node_->agg_spec;
    SourceBlock b;
    // Per gene over cell rows, entries are accumulated by the segment's
    // stored gene id and folded into original ids when the segment changes:
    // no per-entry id mapping.
    Acc stored;
    const std::vector<uint32_t>* perm = nullptr;
    while (true) {
      SLAF_ASSIGN_OR_RETURN(bool more, src->Next(&b));
      if (!more) break;
      Acc* into = a;
      if (b.stored_to_original && !b.stored_to_original->empty()) {
        if (perm != b.stored_to_original) {
          if (perm) Fold(*perm, &stored, a);
          else stored.Init(a->cnt.size(), f, spec_.is_int);
          perm = b.stored_to_original;
        }
        into = &stored;
      }
      if (b.m.value_type == ValueType::kUInt32) Accumulate(b, b.m.counts.data(), f, into);
      else Accumulate(b, b.m.floats.data(), f, into);
    }
    if (perm) Fold(*perm, &stored, a);
    src->Finish();
    return Status::OK();
  }

  // Adds `from` (indexed by stored id) into `to` (original ids); resets `from`.
  static void Fold(const std::vector<uint32_t>& perm, Acc* from, Acc* to) {
    for (size_t s = 0; s < perm.size() && s < from->cnt.size(); ++s) {
      if (from->cnt[s] == 0) continue;
      const uint32_t g = perm[s];
      if (!to->m2.empty()) {
        to->MergeMoments(g, static_cast<double>(from->cnt[s]), from->mean[s], from->m2[s]);
        from->mean[s] = from->m2[s] = 0;
      }
      to->cnt[g] += from->cnt[s];
      from->cnt[s] = 0;
      if (!to->sum.empty()) to->sum[g] += std::exchange(from->sum[s], 0.0);
      if (!to->mn.empty()) {
        to->mn[g] = std::min(to->mn[g], std::exchange(from->mn[s], INFINITY));
        to->mx[g] = std::max(to->mx[g], std::exchange(from->mx[s], -INFINITY));
      }
      if (!to->isumsq.empty()) to->isumsq[g] += std::exchange(from->isumsq[s], 0);
    }
  }

  template <typename T>
  static void Accumulate(const SourceBlock& b, const T* vals, const ExprAggSpec& f, Acc* a) {
    const CsrMatrix& m = b.m;
    const bool need_v = f.want_sum || f.want_minmax || f.want_sumsq;
    for (uint64_t r = 0; r < m.n_rows; ++r) {
      const uint64_t k0 = m.indptr[r], k1 = m.indptr[r + 1];
      if (k0 == k1) continue;
      // Slot of each entry: the row (gene rows by gene, cell rows by cell),
      // a column (cell rows by gene, gene rows by cell) or 0 (no axis).
      const bool by_row = f.axis == ExprAggSpec::Axis::kNone ? false
                          : (f.axis == ExprAggSpec::Axis::kGene) == b.gene_rows;
      if (f.axis == ExprAggSpec::Axis::kNone || by_row) {
        const size_t slot = f.axis == ExprAggSpec::Axis::kNone ? 0 : static_cast<size_t>(b.row_id(r));
        const int64_t n_r = static_cast<int64_t>(k1 - k0);
        if (!need_v) {
          a->cnt[slot] += n_r;
          continue;
        }
        // One row's entries: separate simple loops, so the compiler can
        // vectorize each (counts sum as exact integers).
        double s = 0, lo = INFINITY, hi = -INFINITY;
        __int128 iq = 0;
        if constexpr (std::is_same_v<T, uint32_t>) {
          uint64_t is = 0;
          for (uint64_t k = k0; k < k1; ++k) is += vals[k];
          s = static_cast<double>(is);
          if (f.want_minmax) {
            uint32_t l = UINT32_MAX, h = 0;
            for (uint64_t k = k0; k < k1; ++k) {
              l = std::min(l, vals[k]);
              h = std::max(h, vals[k]);
            }
            lo = l;
            hi = h;
          }
          if (f.want_sumsq) {
            uint64_t q = 0;  // exact below 2^64: a row of < 2^26 entries (a chunk's limit) of 16-bit counts
            for (uint64_t k = k0; k < k1; ++k) {
              const uint64_t v = vals[k];
              if (v > 0xFFFF) {
                iq += static_cast<__int128>(v) * v;
              } else {
                q += v * v;
              }
            }
            iq += q;
          }
        } else {
          double s0 = 0, s1 = 0, s2 = 0, s3 = 0;  // four chains: no add-latency bound
          uint64_t k = k0;
          for (; k + 4 <= k1; k += 4) {
            s0 += vals[k];
            s1 += vals[k + 1];
            s2 += vals[k + 2];
            s3 += vals[k + 3];
          }
          for (; k < k1; ++k) s0 += vals[k];
          s = (s0 + s1) + (s2 + s3);
          if (f.want_minmax) {
            for (uint64_t j = k0; j < k1; ++j) {
              lo = std::min(lo, static_cast<double>(vals[j]));
              hi = std::max(hi, static_cast<double>(vals[j]));
            }
          }
          if (f.want_sumsq) {  // the row's own mean and M2 (two passes, in cache), then merged
            const double mean_r = s / static_cast<double>(n_r);
            double m2_r = 0;
            for (uint64_t j = k0; j < k1; ++j) {
              const double d = static_cast<double>(vals[j]) - mean_r;
              m2_r += d * d;
            }
            a->MergeMoments(slot, static_cast<double>(n_r), mean_r, m2_r);
          }
        }
        a->cnt[slot] += n_r;
        if (!a->sum.empty()) a->sum[slot] += s;
        if (f.want_minmax) {
          a->mn[slot] = std::min(a->mn[slot], lo);
          a->mx[slot] = std::max(a->mx[slot], hi);
        }
        if constexpr (std::is_same_v<T, uint32_t>) {
          if (f.want_sumsq) a->isumsq[slot] += iq;
        }
        continue;
      }
      const uint32_t* idx = m.indices.data();
      int64_t* cnt = a->cnt.data();
      if (!need_v) {
        for (uint64_t k = k0; k < k1; ++k) ++cnt[idx[k]];
        continue;
      }
      if constexpr (!std::is_same_v<T, uint32_t>) {
        if (f.want_sumsq) {  // Welford per entry: the entries of one gene are scattered over rows
          for (uint64_t k = k0; k < k1; ++k) {
            const uint32_t g = idx[k];
            const double v = static_cast<double>(vals[k]);
            const double n = static_cast<double>(++cnt[g]);
            a->sum[g] += v;
            const double d = v - a->mean[g];
            a->mean[g] += d / n;
            a->m2[g] += d * (v - a->mean[g]);
          }
          if (f.want_minmax) {
            for (uint64_t k = k0; k < k1; ++k) {
              a->mn[idx[k]] = std::min(a->mn[idx[k]], static_cast<double>(vals[k]));
              a->mx[idx[k]] = std::max(a->mx[idx[k]], static_cast<double>(vals[k]));
            }
          }
          continue;
        }
      }
      if (a->sum.empty()) {
        for (uint64_t k = k0; k < k1; ++k) ++cnt[idx[k]];
      } else {
        double* sum = a->sum.data();
        for (uint64_t k = k0; k < k1; ++k) {
          const uint32_t g = idx[k];
          ++cnt[g];
          sum[g] += static_cast<double>(vals[k]);
        }
      }
      if (f.want_minmax) {
        for (uint64_t k = k0; k < k1; ++k) {
          const double v = static_cast<double>(vals[k]);
          a->mn[idx[k]] = std::min(a->mn[idx[k]], v);
          a->mx[idx[k]] = std::max(a->mx[idx[k]], v);
        }
      }
      if constexpr (std::is_same_v<T, uint32_t>) {
        if (f.want_sumsq) {
          for (uint64_t k = k0; k < k1; ++k) a->isumsq[idx[k]] += static_cast<__int128>(vals[k]) * vals[k];
        }
      }
    }
  }

  static void Merge(const Acc& from, Acc* to) {
    for (size_t i = 0; i < to->m2.size(); ++i) {
      if (from.cnt[i]) to->MergeMoments(i, static_cast<double>(from.cnt[i]), from.mean[i], from.m2[i]);
    }
    for (size_t i = 0; i < to->cnt.size(); ++i) to->cnt[i] += from.cnt[i];
    for (size_t i = 0; i < to->sum.size(); ++i) to->sum[i] += from.sum[i];
    for (size_t i = 0; i < to->mn.size(); ++i) {
      to->mn[i] = std::min(to->mn[i], from.mn[i]);
      to->mx[i] = std::max(to->mx[i], from.mx[i]);
    }
    for (size_t i = 0; i < to->isumsq.size(); ++i) to->isumsq[i] += from.isumsq[i];
  }

  // Rows: [id,] cnt, sum, min, max, M2 — ids with no entries are left out
  // (no group); without an axis, one row whose sum/min/max are NULL when
  // nothing was selected.
  Status Emit(const Acc& a, size_t width) {
    const ExprAggSpec& f = node_->agg_spec;
    const bool axis = f.axis != ExprAggSpec::Axis::kNone;
    Materialized m;
    m.Init(node_->types);
    size_t c0 = axis ? 1 : 0;
    for (size_t i = 0; i < width; ++i) {
      const int64_t n = a.cnt[i];
      if (axis && n == 0) continue;
      if (axis) {
        m.cols[0].i.push_back(static_cast<int64_t>(i));
        ++m.cols[0].size;
      }
      m.cols[c0].i.push_back(n);
      ++m.cols[c0].size;
      auto put = [&](Vector& v, double x, bool have) {
        if (!have) {
          v.AppendNull();
          return;
        }
        if (v.type == Type::kInt64) v.i.push_back(static_cast<int64_t>(x));
        else v.d.push_back(x);
        if (!v.valid.empty()) v.valid.push_back(1);
        ++v.size;
      };
      put(m.cols[c0 + 1], a.sum.empty() ? 0 : a.sum[i], n > 0 && !a.sum.empty());
      put(m.cols[c0 + 2], a.mn.empty() ? 0 : a.mn[i], n > 0 && !a.mn.empty());
      put(m.cols[c0 + 3], a.mx.empty() ? 0 : a.mx[i], n > 0 && !a.mx.empty());
      double m2 = 0;  // sum of squared deviations from the slot's mean
      if (!a.isumsq.empty() && n > 0) {
        const __int128 sum = static_cast<__int128>(static_cast<int64_t>(a.sum[i]));  // exact: counts
        m2 = static_cast<double>(static_cast<__int128>(n) * a.isumsq[i] - sum * sum) / static_cast<double>(n);
      }
      if (!a.m2.empty()) m2 = a.m2[i];
      put(m.cols[c0 + 4], m2, n > 0 && f.want_sumsq);
      ++m.n;
    }
    emit_.Reset(std::move(m));
    return Status::OK();
  }

  PlanPtr node_;
  ExecContext* ctx_;
  ExprScanSpec spec_;
  ExecContext::ScanLog* log_ = nullptr;
  Emitter emit_;
};

// ---- streaming operators

class FilterOp final : public Operator {
 public:
  FilterOp(PlanPtr node, std::unique_ptr<Operator> child, ExecContext* ctx)
      : node_(std::move(node)), child_(std::move(child)), ctx_(ctx) {}
  Status Open() override {
    SLAF_ASSIGN_OR_RETURN(ev_, ExprEvaluator::Make(node_->predicate, node_->children[0]->slots, ctx_));
    return child_->Open();
  }
  Result<bool> Next(Batch* out) override {
    while (true) {
      SLAF_ASSIGN_OR_RETURN(bool more, child_->Next(&in_));
      if (!more) return false;
      StringArena arena;
      Vector r;
      SLAF_RETURN_IF_ERROR(ev_.Eval(in_, &r, &arena));
      sel_.clear();
      for (size_t i = 0; i < in_.n; ++i) {
        if (!r.null(i) && (r.type == Type::kDouble ? r.d[i] != 0 : r.i[i] != 0)) sel_.push_back(static_cast<uint32_t>(i));
      }
      if (sel_.empty()) continue;
      out->n = sel_.size();
      out->cols.resize(in_.cols.size());
      for (size_t c = 0; c < in_.cols.size(); ++c) out->cols[c].Gather(in_.cols[c], sel_.data(), sel_.size());
      out->keep = in_.keep;
      node_->rows_out += out->n;
      return true;
    }
  }

 private:
  PlanPtr node_;
  std::unique_ptr<Operator> child_;
  ExecContext* ctx_;
  ExprEvaluator ev_;
  Batch in_;
  std::vector<uint32_t> sel_;
};

class ProjectOp final : public Operator {
 public:
  ProjectOp(PlanPtr node, std::unique_ptr<Operator> child, ExecContext* ctx)
      : node_(std::move(node)), child_(std::move(child)), ctx_(ctx) {}
  Status Open() override {
    for (const BExprPtr& e : node_->exprs) {
      SLAF_ASSIGN_OR_RETURN(ExprEvaluator ev, ExprEvaluator::Make(e, node_->children[0]->slots, ctx_));
      evs_.push_back(std::move(ev));
    }
    return child_->Open();
  }
  Result<bool> Next(Batch* out) override {
    SLAF_ASSIGN_OR_RETURN(bool more, child_->Next(&in_));
    if (!more) return false;
    auto arena = std::make_shared<StringArena>();
    out->n = in_.n;
    out->cols.resize(evs_.size());
    for (size_t k = 0; k < evs_.size(); ++k) SLAF_RETURN_IF_ERROR(evs_[k].Eval(in_, &out->cols[k], arena.get()));
    out->keep = in_.keep;
    if (arena->bytes() > 0) out->keep.push_back(arena);
    node_->rows_out += out->n;
    return true;
  }

 private:
  PlanPtr node_;
  std::unique_ptr<Operator> child_;
  ExecContext* ctx_;
  std::vector<ExprEvaluator> evs_;
  Batch in_;
};

class LimitOp final : public Operator {
 public:
  LimitOp(PlanPtr node, std::unique_ptr<Operator> child) : node_(std::move(node)), child_(std::move(child)) {}
  Status Open() override { return child_->Open(); }
  Result<bool> Next(Batch* out) override {
    while (true) {
      if (node_->limit >= 0 && emitted_ >= node_->limit) return false;
      SLAF_ASSIGN_OR_RETURN(bool more, child_->Next(&in_));
      if (!more) return false;
      size_t begin = 0;
      if (skipped_ < node_->offset) {
        const uint64_t skip = std::min<uint64_t>(in_.n, static_cast<uint64_t>(node_->offset - skipped_));
        skipped_ += static_cast<int64_t>(skip);
        begin = skip;
      }
      size_t n = in_.n - begin;
      if (node_->limit >= 0) n = std::min<size_t>(n, static_cast<size_t>(node_->limit - emitted_));
      if (n == 0) continue;
      out->n = n;
      out->cols.resize(in_.cols.size());
      for (size_t c = 0; c < in_.cols.size(); ++c) Slice(in_.cols[c], begin, n, &out->cols[c]);
      out->keep = in_.keep;
      emitted_ += static_cast<int64_t>(n);
      node_->rows_out += n;
      return true;
    }
  }

 private:
  PlanPtr node_;
  std::unique_ptr<Operator> child_;
  Batch in_;
  int64_t skipped_ = 0, emitted_ = 0;
};

class UnionAllOp final : public Operator {
 public:
  UnionAllOp(PlanPtr node, std::vector<std::unique_ptr<Operator>> kids) : node_(std::move(node)), kids_(std::move(kids)) {}
  Status Open() override { return kids_.empty() ? Status::OK() : kids_[0]->Open(); }
  Result<bool> Next(Batch* out) override {
    while (cur_ < kids_.size()) {
      SLAF_ASSIGN_OR_RETURN(bool more, kids_[cur_]->Next(out));
      if (more) {
        // Children were cast to the union's types by the binder, except
        // that an all-NULL column may still be typed NULL.
        for (size_t c = 0; c < out->cols.size(); ++c) {
          if (out->cols[c].type != node_->types[c]) {
            Vector v;
            v.Reset(node_->types[c], out->n);
            AppendVector(&v, out->cols[c], out->n);
            out->cols[c] = std::move(v);
          }
        }
        node_->rows_out += out->n;
        return true;
      }
      if (++cur_ < kids_.size()) SLAF_RETURN_IF_ERROR(kids_[cur_]->Open());
    }
    return false;
  }

 private:
  PlanPtr node_;
  std::vector<std::unique_ptr<Operator>> kids_;
  size_t cur_ = 0;
};

// ---- joins

// The expression scan feeding a join's probe side directly (or through
// filters), and which of its id columns the probe key is.
struct ScanTarget {
  Operator* op = nullptr;
  bool agg = false;
  bool cells = true;
};

class HashJoinOp final : public Operator {
 public:
  HashJoinOp(PlanPtr node, std::unique_ptr<Operator> probe, std::unique_ptr<Operator> build, ExecContext* ctx, ScanTarget target)
      : node_(std::move(node)), probe_(std::move(probe)), build_(std::move(build)), ctx_(ctx), target_(target) {}

  Status Open() override {
    SLAF_RETURN_IF_ERROR(build_->Open());
    const PlanNode& b = *node_->children[1];
    SLAF_RETURN_IF_ERROR(Drain(build_.get(), b.types, &built_));
    StringArena arena;
    const Batch all = built_.AsBatch();
    SLAF_ASSIGN_OR_RETURN(std::vector<Vector> keys, EvalAll(node_->build_keys, b.slots, all, ctx_, &arena));
    build_arena_keep_ = std::make_shared<StringArena>(std::move(arena));
    const size_t n = built_.n;
    next_.assign(n, -1);
    single_int_ = keys.size() == 1 && (keys[0].type == Type::kInt64 || keys[0].type == Type::kBool) &&
                  node_->probe_keys.size() == 1;
    if (single_int_) {
      const Vector& k = keys[0];
      int64_t lo = INT64_MAX, hi = INT64_MIN;
      for (size_t r = 0; r < n; ++r) {
        if (k.null(r)) continue;
        lo = std::min(lo, k.i[r]);
        hi = std::max(hi, k.i[r]);
      }
      dense_ = lo <= hi && static_cast<__int128>(hi) - lo < static_cast<__int128>(4 * n + (1 << 20));
      if (dense_) {
        lo_ = lo;
        head_.assign(static_cast<size_t>(hi - lo + 1), -1);
      }
      for (size_t r = n; r-- > 0;) {  // reverse: chains list rows in input order
        if (k.null(r)) continue;
        int32_t& h = dense_ ? head_[static_cast<size_t>(k.i[r] - lo_)] : int_map_.try_emplace(k.i[r], -1).first->second;
        next_[r] = h;
        h = static_cast<int32_t>(r);
      }
      // Sideways information passing: the build side's ids restrict the
      // expression scan on the probe side before it reads anything.
      if (target_.op && n > 0) {
        std::vector<uint64_t> ids;
        for (size_t r = 0; r < n; ++r) {
          if (!k.null(r) && k.i[r] >= 0) ids.push_back(static_cast<uint64_t>(k.i[r]));
        }
        std::sort(ids.begin(), ids.end());
        ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
        const uint64_t limit = target_.cells ? ctx_->ds->n_cells() : ctx_->ds->n_genes();
        while (!ids.empty() && ids.back() >= limit) ids.pop_back();
        if (ids.size() < limit) {
          const std::string why = std::to_string(ids.size()) + (target_.cells ? " cells" : " genes") + " from the join's build side";
          if (target_.agg) static_cast<ExprAggOp*>(target_.op)->Restrict(target_.cells, std::move(ids), why);
          else static_cast<ExprScanOp*>(target_.op)->Restrict(target_.cells, std::move(ids), why);
        }
      } else if (target_.op && n == 0) {
        if (target_.agg) static_cast<ExprAggOp*>(target_.op)->Restrict(target_.cells, {}, "empty build side");
        else static_cast<ExprScanOp*>(target_.op)->Restrict(target_.cells, {}, "empty build side");
      }
    } else {
      std::string key;
      for (size_t r = n; r-- > 0;) {
        key.clear();
        bool null = false;
        for (const Vector& k : keys) {
          null = null || k.null(r);
          AppendValueKey(k, r, &key);
        }
        if (null) continue;
        int32_t& h = str_map_.try_emplace(key, -1).first->second;
        next_[r] = h;
        h = static_cast<int32_t>(r);
      }
    }
    return probe_->Open();
  }

  Result<bool> Next(Batch* out) override {
    const PlanNode& p = *node_->children[0];
    while (true) {
      SLAF_ASSIGN_OR_RETURN(bool more, probe_->Next(&in_));
      if (!more) return false;
      StringArena arena;
      SLAF_ASSIGN_OR_RETURN(std::vector<Vector> keys, EvalAll(node_->probe_keys, p.slots, in_, ctx_, &arena));
      pi_.clear();
      bi_.clear();
      std::string key;
      for (size_t r = 0; r < in_.n; ++r) {
        int32_t h = -1;
        if (single_int_) {
          const Vector& k = keys[0];
          if (k.null(r)) continue;
          int64_t v;
          if (k.type == Type::kDouble) {
            if (k.d[r] != std::trunc(k.d[r]) || std::fabs(k.d[r]) > 9e18) continue;
            v = static_cast<int64_t>(k.d[r]);
          } else {
            v = k.i[r];
          }
          if (dense_) {
            if (v >= lo_ && static_cast<uint64_t>(v - lo_) < head_.size()) h = head_[static_cast<size_t>(v - lo_)];
          } else {
            auto it = int_map_.find(v);
            if (it != int_map_.end()) h = it->second;
          }
        } else {
          key.clear();
          bool null = false;
          for (const Vector& k : keys) {
            null = null || k.null(r);
            AppendValueKey(k, r, &key);
          }
          if (null) continue;
          auto it = str_map_.find(key);
          if (it != str_map_.end()) h = it->second;
        }
        for (; h >= 0; h = next_[static_cast<size_t>(h)]) {
          pi_.push_back(static_cast<uint32_t>(r));
          bi_.push_back(static_cast<uint32_t>(h));
        }
      }
      if (pi_.empty()) continue;
      const size_t np = in_.cols.size();
      out->n = pi_.size();
      out->cols.resize(np + built_.cols.size());
      for (size_t c = 0; c < np; ++c) out->cols[c].Gather(in_.cols[c], pi_.data(), pi_.size());
      for (size_t c = 0; c < built_.cols.size(); ++c) out->cols[np + c].Gather(built_.cols[c], bi_.data(), bi_.size());
      out->keep = in_.keep;
      out->keep.insert(out->keep.end(), built_.keep.begin(), built_.keep.end());
      node_->rows_out += out->n;
      return true;
    }
  }

 private:
  PlanPtr node_;
  std::unique_ptr<Operator> probe_, build_;
  ExecContext* ctx_;
  ScanTarget target_;
  Materialized built_;
  std::shared_ptr<StringArena> build_arena_keep_;
  bool single_int_ = false, dense_ = false;
  int64_t lo_ = 0;
  std::vector<int32_t> head_, next_;
  std::unordered_map<int64_t, int32_t> int_map_;
  std::unordered_map<std::string, int32_t> str_map_;
  Batch in_;
  std::vector<uint32_t> pi_, bi_;
};

class CrossJoinOp final : public Operator {
 public:
  CrossJoinOp(PlanPtr node, std::unique_ptr<Operator> left, std::unique_ptr<Operator> right)
      : node_(std::move(node)), left_(std::move(left)), right_(std::move(right)) {}
  Status Open() override {
    SLAF_RETURN_IF_ERROR(right_->Open());
    SLAF_RETURN_IF_ERROR(Drain(right_.get(), node_->children[1]->types, &right_rows_));
    return left_->Open();
  }
  Result<bool> Next(Batch* out) override {
    if (right_rows_.n == 0) return false;
    while (true) {
      if (row_ >= in_.n) {
        SLAF_ASSIGN_OR_RETURN(bool more, left_->Next(&in_));
        if (!more) return false;
        row_ = 0;
      }
      // One left row against a slice of the right rows.
      const size_t n = std::min(kBatchRows, right_rows_.n - rpos_);
      std::vector<uint32_t> li(n, static_cast<uint32_t>(row_));
      out->n = n;
      out->cols.resize(in_.cols.size() + right_rows_.cols.size());
      for (size_t c = 0; c < in_.cols.size(); ++c) out->cols[c].Gather(in_.cols[c], li.data(), n);
      for (size_t c = 0; c < right_rows_.cols.size(); ++c) Slice(right_rows_.cols[c], rpos_, n, &out->cols[in_.cols.size() + c]);
      out->keep = in_.keep;
      out->keep.insert(out->keep.end(), right_rows_.keep.begin(), right_rows_.keep.end());
      rpos_ += n;
      if (rpos_ >= right_rows_.n) {
        rpos_ = 0;
        ++row_;
      }
      node_->rows_out += n;
      return true;
    }
  }

 private:
  PlanPtr node_;
  std::unique_ptr<Operator> left_, right_;
  Materialized right_rows_;
  Batch in_;
  size_t row_ = 0, rpos_ = 0;
};

// ---- aggregation

struct AggState {
  std::vector<int64_t> cnt;
  std::vector<int64_t> isum;
  std::vector<double> dsum;
  std::vector<double> mean, m2;       // Welford, for variances
  std::vector<uint8_t> has;           // min/max seen
  std::vector<int64_t> imm;
  std::vector<double> dmm;
  std::vector<std::string> smm;
  std::vector<std::unordered_set<std::string>> seen;  // DISTINCT
  void Grow(size_t n) {
    cnt.resize(n, 0);
    isum.resize(n, 0);
    dsum.resize(n, 0);
    mean.resize(n, 0);
    m2.resize(n, 0);
    has.resize(n, 0);
    imm.resize(n, 0);
    dmm.resize(n, 0);
    smm.resize(n);
  }
};

class AggregateOp final : public Operator {
 public:
  AggregateOp(PlanPtr node, std::unique_ptr<Operator> child, ExecContext* ctx)
      : node_(std::move(node)), child_(std::move(child)), ctx_(ctx) {}

  Status Open() override {
    SLAF_RETURN_IF_ERROR(child_->Open());
    const PlanNode& in_node = *node_->children[0];
    const size_t ng = node_->group_by.size();
    states_.resize(node_->aggs.size());
    keys_.resize(ng);
    for (size_t g = 0; g < ng; ++g) keys_[g].Reset(node_->types[g], 0);
    std::vector<ExprEvaluator> gev, aev;
    std::vector<std::vector<ExprEvaluator>> pev(node_->aggs.size());
    for (const BExprPtr& e : node_->group_by) {
      SLAF_ASSIGN_OR_RETURN(ExprEvaluator ev, ExprEvaluator::Make(e, in_node.slots, ctx_));
      gev.push_back(std::move(ev));
    }
    for (size_t a = 0; a < node_->aggs.size(); ++a) {
      const AggSpec& s = node_->aggs[a];
      if (node_->partial_combine) {
        for (int slot : {s.cnt_slot, s.sum_slot, s.min_slot, s.max_slot, s.sumsq_slot}) {
          auto e = std::make_shared<BExpr>();
          e->kind = BExpr::Kind::kSlot;
          e->slot = slot;
          if (slot < 0) e = std::make_shared<BExpr>();  // unused: a NULL constant
          SLAF_ASSIGN_OR_RETURN(ExprEvaluator ev, ExprEvaluator::Make(e, in_node.slots, ctx_));
          pev[a].push_back(std::move(ev));
        }
      } else if (s.arg) {
        SLAF_ASSIGN_OR_RETURN(ExprEvaluator ev, ExprEvaluator::Make(s.arg, in_node.slots, ctx_));
        aev.push_back(std::move(ev));
      } else {
        aev.emplace_back();
      }
    }
    if (ng == 0) NewGroup();  // one row even without input
    Batch in;
    std::vector<uint32_t> group_of;
    std::string key;
    while (true) {
      SLAF_ASSIGN_OR_RETURN(bool more, child_->Next(&in));
      if (!more) break;
      StringArena tmp_arena;
      std::vector<Vector> gk(ng);
      for (size_t g = 0; g < ng; ++g) SLAF_RETURN_IF_ERROR(gev[g].Eval(in, &gk[g], &tmp_arena));
      group_of.assign(in.n, 0);
      if (ng > 0) {
        const bool int_key = ng == 1 && gk[0].type == Type::kInt64;
        for (size_t r = 0; r < in.n; ++r) {
          uint32_t gid;
          if (int_key && !gk[0].null(r)) {
            auto [it, fresh] = int_groups_.try_emplace(gk[0].i[r], 0);
            if (fresh) {
              it->second = NewGroup();
              AppendGroupKey(gk, r);
            }
            gid = it->second;
          } else {
            key.clear();
            for (size_t g = 0; g < ng; ++g) AppendValueKey(gk[g], r, &key);
            auto [it, fresh] = groups_.try_emplace(key, 0);
            if (fresh) {
              it->second = NewGroup();
              AppendGroupKey(gk, r);
            }
            gid = it->second;
          }
          group_of[r] = gid;
        }
      }
      for (size_t a = 0; a < node_->aggs.size(); ++a) {
        if (node_->partial_combine) {
          std::vector<Vector> parts(5);
          for (size_t k = 0; k < 5; ++k) SLAF_RETURN_IF_ERROR(pev[a][k].Eval(in, &parts[k], &tmp_arena));
          SLAF_RETURN_IF_ERROR(CombinePartials(a, parts, group_of, in.n));
        } else {
          Vector v;
          if (node_->aggs[a].arg) SLAF_RETURN_IF_ERROR(aev[a].Eval(in, &v, &tmp_arena));
          SLAF_RETURN_IF_ERROR(Update(a, v, group_of, in.n));
        }
      }
    }
    return Finish();
  }

  Result<bool> Next(Batch* out) override {
    const bool more = emit_.Next(out);
    if (more) node_->rows_out += out->n;
    return more;
  }

 private:
  uint32_t NewGroup() {
    const uint32_t id = static_cast<uint32_t>(n_groups_++);
    for (size_t a = 0; a < states_.size(); ++a) {
      states_[a].Grow(n_groups_);
      if (node_->aggs[a].distinct) states_[a].seen.resize(n_groups_);
    }
    return id;
  }
  void AppendGroupKey(const std::vector<Vector>& gk, size_t r) {
    for (size_t g = 0; g < gk.size(); ++g) {
      if (gk[g].type == Type::kString && !gk[g].null(r)) {
        keys_[g].s.push_back(arena_->Add(gk[g].s[r]));
        if (!keys_[g].valid.empty()) keys_[g].valid.push_back(1);
        ++keys_[g].size;
      } else {
        keys_[g].AppendFrom(gk[g], r);
      }
    }
  }

  void AddValue(AggState& s, const AggSpec& spec, size_t g, const Vector& v, size_t r) {
    ++s.cnt[g];
    switch (spec.func) {
      case AggFunc::kSum:
      case AggFunc::kAvg:
        if (v.type == Type::kDouble) {
          s.dsum[g] += v.d[r];
        } else if (__builtin_add_overflow(s.isum[g], v.i[r], &s.isum[g])) {
          overflow_ = true;
        }
        break;
      case AggFunc::kMin:
      case AggFunc::kMax: {
        const bool is_min = spec.func == AggFunc::kMin;
        bool better = !s.has[g];
        if (!better) {
          if (v.type == Type::kString) better = is_min ? v.s[r] < s.smm[g] : v.s[r] > s.smm[g];
          else if (v.type == Type::kDouble) better = is_min ? v.d[r] < s.dmm[g] : v.d[r] > s.dmm[g];
          else better = is_min ? v.i[r] < s.imm[g] : v.i[r] > s.imm[g];
        }
        if (better) {
          s.has[g] = 1;
          if (v.type == Type::kString) s.smm[g].assign(v.s[r]);
          else if (v.type == Type::kDouble) s.dmm[g] = v.d[r];
          else s.imm[g] = v.i[r];
        }
        break;
      }
      case AggFunc::kVarSamp:
      case AggFunc::kVarPop:
      case AggFunc::kStddevSamp:
      case AggFunc::kStddevPop: {
        const double x = v.type == Type::kDouble ? v.d[r] : static_cast<double>(v.i[r]);
        const double delta = x - s.mean[g];
        s.mean[g] += delta / static_cast<double>(s.cnt[g]);
        s.m2[g] += delta * (x - s.mean[g]);
        break;
      }
      default: break;
    }
  }

  Status Update(size_t a, const Vector& v, const std::vector<uint32_t>& group_of, size_t n) {
    AggState& s = states_[a];
    const AggSpec& spec = node_->aggs[a];
    if (spec.func == AggFunc::kCountStar) {
      for (size_t r = 0; r < n; ++r) ++s.cnt[group_of[r]];
      return Status::OK();
    }
    std::string key;
    for (size_t r = 0; r < n; ++r) {
      if (v.null(r)) continue;
      const size_t g = group_of[r];
      if (spec.distinct) {
        key.clear();
        AppendValueKey(v, r, &key);
        if (!s.seen[g].insert(key).second) continue;
      }
      AddValue(s, spec, g, v, r);
    }
    if (overflow_) return Status::InvalidArgument("integer overflow in SUM");
    return Status::OK();
  }

  // Partials: cnt, sum, min, max, sumsq columns of the aggregate kernel.
  Status CombinePartials(size_t a, const std::vector<Vector>& p, const std::vector<uint32_t>& group_of, size_t n) {
    AggState& s = states_[a];
    const AggSpec& spec = node_->aggs[a];
    for (size_t r = 0; r < n; ++r) {
      const size_t g = group_of[r];
      const int64_t c = p[0].null(r) ? 0 : p[0].i[r];
      if (c == 0) continue;
      const bool var = spec.func == AggFunc::kVarSamp || spec.func == AggFunc::kVarPop || spec.func == AggFunc::kStddevSamp ||
                       spec.func == AggFunc::kStddevPop;
      if (var) {  // Chan et al.: merge (c, mean, M2) into the group's moments
        const double sum_b = p[1].type == Type::kDouble ? p[1].d[r] : static_cast<double>(p[1].i[r]);
        const double n_a = static_cast<double>(s.cnt[g]), n_b = static_cast<double>(c), n = n_a + n_b;
        const double mean_b = sum_b / n_b, delta = mean_b - s.mean[g];
        s.mean[g] += delta * n_b / n;
        s.m2[g] += p[4].d[r] + delta * delta * n_a * n_b / n;
      }
      s.cnt[g] += c;
      switch (spec.func) {
        case AggFunc::kSum:
        case AggFunc::kAvg:
          if (p[1].type == Type::kDouble) s.dsum[g] += p[1].d[r];
          else if (__builtin_add_overflow(s.isum[g], p[1].i[r], &s.isum[g])) return Status::InvalidArgument("integer overflow in SUM");
          break;
        case AggFunc::kMin:
        case AggFunc::kMax: {
          const Vector& v = spec.func == AggFunc::kMin ? p[2] : p[3];
          const bool is_min = spec.func == AggFunc::kMin;
          if (v.type == Type::kDouble) {
            if (!s.has[g] || (is_min ? v.d[r] < s.dmm[g] : v.d[r] > s.dmm[g])) s.dmm[g] = v.d[r];
          } else if (!s.has[g] || (is_min ? v.i[r] < s.imm[g] : v.i[r] > s.imm[g])) {
            s.imm[g] = v.i[r];
          }
          s.has[g] = 1;
          break;
        }
        default: break;
      }
    }
    return Status::OK();
  }

  Status Finish() {
    const size_t ng = node_->group_by.size();
    Materialized m;
    m.Init(node_->types);
    m.n = n_groups_;
    for (size_t g = 0; g < ng; ++g) m.cols[g] = keys_[g];
    for (size_t a = 0; a < node_->aggs.size(); ++a) {
      const AggSpec& spec = node_->aggs[a];
      const AggState& s = states_[a];
      Vector& out = m.cols[ng + a];
      for (size_t g = 0; g < n_groups_; ++g) {
        const int64_t c = s.cnt[g];
        const bool int_sum = out.type == Type::kInt64;
        switch (spec.func) {
          case AggFunc::kCountStar:
          case AggFunc::kCount: out.i.push_back(c), ++out.size; if (!out.valid.empty()) out.valid.push_back(1); break;
          case AggFunc::kSum:
            if (c == 0) out.AppendNull();
            else AppendValue(&out, int_sum ? Value::Int(s.isum[g]) : Value::Double(s.dsum[g] + static_cast<double>(s.isum[g])), nullptr);
            break;
          case AggFunc::kAvg:
            if (c == 0) out.AppendNull();
            else AppendValue(&out, Value::Double((s.dsum[g] + static_cast<double>(s.isum[g])) / static_cast<double>(c)), nullptr);
            break;
          case AggFunc::kMin:
          case AggFunc::kMax:
            if (!s.has[g]) {
              out.AppendNull();
            } else if (out.type == Type::kString) {
              out.s.push_back(arena_->Add(s.smm[g]));
              if (!out.valid.empty()) out.valid.push_back(1);
              ++out.size;
            } else {
              AppendValue(&out, out.type == Type::kDouble ? Value::Double(s.dmm[g]) : Value::Int(s.imm[g]), nullptr);
            }
            break;
          default: {  // variances
            const bool sample = spec.func == AggFunc::kVarSamp || spec.func == AggFunc::kStddevSamp;
            if (c < (sample ? 2 : 1)) {
              out.AppendNull();
              break;
            }
            const double m2 = s.m2[g];  // Welford (rows) or Chan (partials)
            double var = m2 / static_cast<double>(sample ? c - 1 : c);
            if (var < 0) var = 0;
            const bool sd = spec.func == AggFunc::kStddevSamp || spec.func == AggFunc::kStddevPop;
            AppendValue(&out, Value::Double(sd ? std::sqrt(var) : var), nullptr);
          }
        }
      }
    }
    m.keep.push_back(arena_);
    emit_.Reset(std::move(m));
    return Status::OK();
  }

  PlanPtr node_;
  std::unique_ptr<Operator> child_;
  ExecContext* ctx_;
  size_t n_groups_ = 0;
  std::vector<AggState> states_;
  std::vector<Vector> keys_;
  std::shared_ptr<StringArena> arena_ = std::make_shared<StringArena>();
  std::unordered_map<int64_t, uint32_t> int_groups_;
  std::unordered_map<std::string, uint32_t> groups_;
  bool overflow_ = false;
  Emitter emit_;
};

// ---- sort, distinct, window

class SortOp final : public Operator {
 public:
  SortOp(PlanPtr node, std::unique_ptr<Operator> child, ExecContext* ctx)
      : node_(std::move(node)), child_(std::move(child)), ctx_(ctx) {}
  Status Open() override {
    SLAF_RETURN_IF_ERROR(child_->Open());
    Materialized m;
    SLAF_RETURN_IF_ERROR(Drain(child_.get(), node_->children[0]->types, &m));
    std::vector<BExprPtr> exprs;
    for (const SortKey& k : node_->order) exprs.push_back(k.expr);
    auto arena = std::make_shared<StringArena>();
    SLAF_ASSIGN_OR_RETURN(std::vector<Vector> keyv, EvalAll(exprs, node_->children[0]->slots, m.AsBatch(), ctx_, arena.get()));
    std::vector<uint32_t> idx(m.n);
    std::iota(idx.begin(), idx.end(), 0u);
    auto less = [&](uint32_t a, uint32_t b) { return Before(node_->order, keyv, a, b); };
    const uint64_t off = static_cast<uint64_t>(node_->offset);
    if (node_->limit >= 0 && off + static_cast<uint64_t>(node_->limit) < idx.size()) {
      const size_t keep = static_cast<size_t>(off + static_cast<uint64_t>(node_->limit));
      std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(keep), idx.end(), less);
      idx.resize(keep);
    } else {
      std::sort(idx.begin(), idx.end(), less);
    }
    idx.erase(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(std::min<uint64_t>(off, idx.size())));
    m.keep.push_back(arena);
    empty_ = idx.empty();
    emit_.Reset(std::move(m), std::move(idx));
    return Status::OK();
  }
  Result<bool> Next(Batch* out) override {
    if (empty_) return false;
    const bool more = emit_.Next(out);
    if (more) node_->rows_out += out->n;
    return more;
  }

 private:
  PlanPtr node_;
  std::unique_ptr<Operator> child_;
  ExecContext* ctx_;
  Emitter emit_;
  bool empty_ = false;
};

class DistinctOp final : public Operator {
 public:
  DistinctOp(PlanPtr node, std::unique_ptr<Operator> child) : node_(std::move(node)), child_(std::move(child)) {}
  Status Open() override { return child_->Open(); }
  Result<bool> Next(Batch* out) override {
    while (true) {
      SLAF_ASSIGN_OR_RETURN(bool more, child_->Next(&in_));
      if (!more) return false;
      sel_.clear();
      std::string key;
      for (size_t r = 0; r < in_.n; ++r) {
        key.clear();
        for (const Vector& v : in_.cols) AppendValueKey(v, r, &key);
        if (seen_.insert(key).second) sel_.push_back(static_cast<uint32_t>(r));
      }
      if (sel_.empty()) continue;
      out->n = sel_.size();
      out->cols.resize(in_.cols.size());
      for (size_t c = 0; c < in_.cols.size(); ++c) out->cols[c].Gather(in_.cols[c], sel_.data(), sel_.size());
      out->keep = in_.keep;
      node_->rows_out += out->n;
      return true;
    }
  }

 private:
  PlanPtr node_;
  std::unique_ptr<Operator> child_;
  Batch in_;
  std::vector<uint32_t> sel_;
  std::unordered_set<std::string> seen_;
};

class WindowOp final : public Operator {
 public:
  WindowOp(PlanPtr node, std::unique_ptr<Operator> child, ExecContext* ctx)
      : node_(std::move(node)), child_(std::move(child)), ctx_(ctx) {}
  Status Open() override {
    SLAF_RETURN_IF_ERROR(child_->Open());
    const PlanNode& in = *node_->children[0];
    Materialized m;
    SLAF_RETURN_IF_ERROR(Drain(child_.get(), in.types, &m));
    // Sort by (partition keys, window order); partitions are then runs.
    std::vector<SortKey> keys;
    for (const BExprPtr& e : node_->partition_by) keys.push_back(SortKey{e, false, true});
    const size_t np = keys.size();
    for (const SortKey& k : node_->order) keys.push_back(k);
    std::vector<BExprPtr> exprs;
    for (const SortKey& k : keys) exprs.push_back(k.expr);
    auto arena = std::make_shared<StringArena>();
    SLAF_ASSIGN_OR_RETURN(std::vector<Vector> keyv, EvalAll(exprs, in.slots, m.AsBatch(), ctx_, arena.get()));
    std::vector<uint32_t> idx(m.n);
    std::iota(idx.begin(), idx.end(), 0u);
    std::sort(idx.begin(), idx.end(), [&](uint32_t a, uint32_t b) { return Before(keys, keyv, a, b); });
    Vector w;
    w.Reset(Type::kInt64, m.n);
    w.i.assign(m.n, 0);
    w.size = m.n;
    int64_t row_number = 0, rank = 0, dense = 0;
    for (size_t k = 0; k < idx.size(); ++k) {
      bool new_part = k == 0, new_peer = k == 0;
      for (size_t j = 0; j < keys.size() && k > 0; ++j) {
        if (CompareRows(keyv[j], idx[k - 1], idx[k]) != 0) {
          if (j < np) new_part = true;
          new_peer = true;
        }
      }
      if (new_part) row_number = rank = dense = 0;
      ++row_number;
      if (new_peer) {
        rank = row_number;
        ++dense;
      }
      w.i[idx[k]] = node_->win_func == PlanNode::WinFunc::kRowNumber ? row_number
                    : node_->win_func == PlanNode::WinFunc::kRank   ? rank
                                                                    : dense;
    }
    m.cols.push_back(std::move(w));
    m.keep.push_back(arena);
    emit_.Reset(std::move(m));
    return Status::OK();
  }
  Result<bool> Next(Batch* out) override {
    const bool more = emit_.Next(out);
    if (more) node_->rows_out += out->n;
    return more;
  }

 private:
  PlanPtr node_;
  std::unique_ptr<Operator> child_;
  ExecContext* ctx_;
  Emitter emit_;
};

// The expression scan or kernel a join's probe key can restrict.
ScanTarget FindScanTarget(const PlanNode& join, const std::vector<std::pair<const PlanNode*, Operator*>>& ops) {
  ScanTarget t;
  if (join.probe_keys.size() != 1 || join.probe_keys[0]->kind != BExpr::Kind::kSlot) return t;
  const int slot = join.probe_keys[0]->slot;
  for (const auto& [node, op] : ops) {
    auto it = std::find(node->slots.begin(), node->slots.end(), slot);
    if (it == node->slots.end()) continue;
    const size_t c = static_cast<size_t>(it - node->slots.begin());
    if (node->kind == PlanNode::Kind::kExprScan && node->scan_cols[c] != 2) {
      t.op = op;
      t.cells = node->scan_cols[c] == 0;
    } else if (node->kind == PlanNode::Kind::kExprAgg && c == 0 && node->agg_spec.axis != ExprAggSpec::Axis::kNone) {
      t.op = op;
      t.agg = true;
      t.cells = node->agg_spec.axis == ExprAggSpec::Axis::kCell;
    }
  }
  return t;
}

Result<std::unique_ptr<Operator>> Build(const PlanPtr& plan, ExecContext* ctx,
                                        std::vector<std::pair<const PlanNode*, Operator*>>* scans) {
  using K = PlanNode::Kind;
  auto child = [&](size_t i) { return Build(plan->children[i], ctx, scans); };
  switch (plan->kind) {
    case K::kValues: return std::unique_ptr<Operator>(new ValuesOp());
    case K::kTableScan: return std::unique_ptr<Operator>(new TableScanOp(plan, ctx));
    case K::kExprScan: {
      auto op = std::make_unique<ExprScanOp>(plan, ctx);
      scans->push_back({plan.get(), op.get()});
      return std::unique_ptr<Operator>(std::move(op));
    }
    case K::kExprAgg: {
      auto op = std::make_unique<ExprAggOp>(plan, ctx);
      scans->push_back({plan.get(), op.get()});
      return std::unique_ptr<Operator>(std::move(op));
    }
    case K::kFilter: {
      SLAF_ASSIGN_OR_RETURN(auto c, child(0));
      return std::unique_ptr<Operator>(new FilterOp(plan, std::move(c), ctx));
    }
    case K::kProject: {
      SLAF_ASSIGN_OR_RETURN(auto c, child(0));
      return std::unique_ptr<Operator>(new ProjectOp(plan, std::move(c), ctx));
    }
    case K::kHashJoin: {
      // Only scans reached through the probe side's streaming operators
      // (filters, other joins' probes) may be restricted by this join.
      std::vector<std::pair<const PlanNode*, Operator*>> probe_scans;
      SLAF_ASSIGN_OR_RETURN(auto probe, Build(plan->children[0], ctx, &probe_scans));
      SLAF_ASSIGN_OR_RETURN(auto build, child(1));
      const ScanTarget t = FindScanTarget(*plan, probe_scans);
      scans->insert(scans->end(), probe_scans.begin(), probe_scans.end());
      return std::unique_ptr<Operator>(new HashJoinOp(plan, std::move(probe), std::move(build), ctx, t));
    }
    case K::kCrossJoin: {
      SLAF_ASSIGN_OR_RETURN(auto l, child(0));
      SLAF_ASSIGN_OR_RETURN(auto r, child(1));
      return std::unique_ptr<Operator>(new CrossJoinOp(plan, std::move(l), std::move(r)));
    }
    case K::kAggregate: {
      std::vector<std::pair<const PlanNode*, Operator*>> hidden;
      SLAF_ASSIGN_OR_RETURN(auto c, Build(plan->children[0], ctx, &hidden));
      return std::unique_ptr<Operator>(new AggregateOp(plan, std::move(c), ctx));
    }
    case K::kWindow: {
      std::vector<std::pair<const PlanNode*, Operator*>> hidden;
      SLAF_ASSIGN_OR_RETURN(auto c, Build(plan->children[0], ctx, &hidden));
      return std::unique_ptr<Operator>(new WindowOp(plan, std::move(c), ctx));
    }
    case K::kSort: {
      std::vector<std::pair<const PlanNode*, Operator*>> hidden;
      SLAF_ASSIGN_OR_RETURN(auto c, Build(plan->children[0], ctx, &hidden));
      return std::unique_ptr<Operator>(new SortOp(plan, std::move(c), ctx));
    }
    case K::kLimit: {
      SLAF_ASSIGN_OR_RETURN(auto c, child(0));
      return std::unique_ptr<Operator>(new LimitOp(plan, std::move(c)));
    }
    case K::kDistinct: {
      std::vector<std::pair<const PlanNode*, Operator*>> hidden;
      SLAF_ASSIGN_OR_RETURN(auto c, Build(plan->children[0], ctx, &hidden));
      return std::unique_ptr<Operator>(new DistinctOp(plan, std::move(c)));
    }
    case K::kUnionAll: {
      std::vector<std::unique_ptr<Operator>> kids;
      for (size_t i = 0; i < plan->children.size(); ++i) {
        std::vector<std::pair<const PlanNode*, Operator*>> hidden;
        SLAF_ASSIGN_OR_RETURN(auto c, Build(plan->children[i], ctx, &hidden));
        kids.push_back(std::move(c));
      }
      return std::unique_ptr<Operator>(new UnionAllOp(plan, std::move(kids)));
    }
  }
  return Status::InvalidArgument("internal error: unknown plan node");
}

}  // namespace

Result<std::unique_ptr<Operator>> BuildOperator(const PlanPtr& plan, ExecContext* ctx) {
  std::vector<std::pair<const PlanNode*, Operator*>> scans;
  return Build(plan, ctx, &scans);
}

}  // namespace slaf::sql
