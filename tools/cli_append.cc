// slaf append: the cells of one dataset appended to another, in one
// transaction (X, every layer, obs), streamed in blocks of cells.
#include <cinttypes>
#include <cstdio>
#include <unordered_set>

#include "slaf/dataset_writer.h"
#include "tools/cli.h"

namespace slaf::cli {

namespace {

const char* kAppendUsage =
    "usage: slaf append DATASET SOURCE [--cell-id-prefix P] [--quiet]\n"
    "Appends every cell of the dataset SOURCE (its newest version) to DATASET as a\n"
    "new version: X, each of DATASET's layers and the obs rows. SOURCE must have\n"
    "the same genes (var index) in the same order, the same obs columns (names and\n"
    "types) and every layer of DATASET. --cell-id-prefix P prepends P to SOURCE's\n"
    "cell ids (obs index) so they stay distinct from DATASET's. A concurrent\n"
    "append to DATASET is waited for and built upon (up to 10 attempts).\n";

constexpr uint32_t kBlockCells = 4096;

CsrRowsView ViewOf(const CsrMatrix& m) {
  CsrRowsView v;
  v.n_rows = m.n_rows;
  v.indptr = m.indptr.data();
  v.indices = m.indices.data();
  if (m.value_type == ValueType::kUInt32) v.counts = m.counts.data();
  else v.floats = m.floats.data();
  return v;
}

const char* TypeName(ValueType t) { return t == ValueType::kUInt32 ? "uint32" : "float32"; }

// The var index column, or an empty optional if the table has none.
Result<std::optional<Column>> GeneIds(const Dataset& ds) {
  const std::string& index = ds.manifest().var.index_column;
  if (index.empty()) return std::optional<Column>();
  std::vector<std::string> names{index};
  SLAF_ASSIGN_OR_RETURN(Table t, ds.var(names));
  return std::optional<Column>(std::move(t.columns[0]));
}

// Same genes in the same order, else an error naming the first difference.
Status CheckGenes(const Dataset& dst, const Dataset& src) {
  SLAF_ASSIGN_OR_RETURN(std::optional<Column> a, GeneIds(dst));
  SLAF_ASSIGN_OR_RETURN(std::optional<Column> b, GeneIds(src));
  const uint64_t na = dst.n_genes(), nb = src.n_genes();
  if (!a || !b) {
    if (a || b) {
      return Status::InvalidArgument(std::string(a ? "SOURCE" : "DATASET") + " has no gene ids (var index column), so its genes cannot be matched");
    }
    if (na != nb) return Status::InvalidArgument("SOURCE has " + std::to_string(nb) + " genes, DATASET " + std::to_string(na));
    return Status::OK();
  }
  for (uint64_t i = 0; i < std::max(na, nb); ++i) {
    const bool in_a = i < na, in_b = i < nb;
    if (in_a && in_b && a->str(i) == b->str(i)) continue;
    auto name = [&](bool in, const Column& c) { return in ? "\"" + std::string(c.str(i)) + "\"" : std::string("no gene"); };
    return Status::InvalidArgument("genes differ at position " + std::to_string(i) + ": DATASET has " + name(in_a, *a) +
                                   ", SOURCE has " + name(in_b, *b) + " (DATASET has " + std::to_string(na) + " genes, SOURCE " +
                                   std::to_string(nb) + "); SOURCE's genes must equal DATASET's, in order");
  }
  return Status::OK();
}

// obs columns equal by name and type; the error lists every difference.
Status CheckObs(const TableEntry& dst, const TableEntry& src) {
  std::string diff;
  auto add = [&](const std::string& s) { diff += (diff.empty() ? "" : "; ") + s; };
  for (const ColumnSchema& c : dst.columns) {
    const ColumnSchema* o = src.Find(c.name);
    if (!o) add("\"" + c.name + "\" (" + std::string(ColumnTypeName(c.type)) + ") is missing from SOURCE");
    else if (o->type != c.type) {
      add("\"" + c.name + "\" is " + std::string(ColumnTypeName(c.type)) + " in DATASET but " + std::string(ColumnTypeName(o->type)) + " in SOURCE");
    }
  }
  for (const ColumnSchema& c : src.columns) {
    if (!dst.Find(c.name)) add("\"" + c.name + "\" (" + std::string(ColumnTypeName(c.type)) + ") is only in SOURCE");
  }
  if (diff.empty()) return Status::OK();
  return Status::InvalidArgument("obs columns differ: " + diff);
}

Status CheckMatrices(const Manifest& dst, const Manifest& src) {
  if (src.x.value_type != dst.x.value_type) {
    return Status::InvalidArgument(std::string("SOURCE's X holds ") + TypeName(src.x.value_type) + " values, DATASET's " + TypeName(dst.x.value_type));
  }
  for (const auto& [name, l] : dst.layers) {
    auto it = src.layers.find(name);
    if (it == src.layers.end()) return Status::InvalidArgument("DATASET has layer \"" + name + "\", SOURCE does not");
    if (it->second.value_type != l.value_type) {
      return Status::InvalidArgument("layer \"" + name + "\" holds " + TypeName(it->second.value_type) + " values in SOURCE, " +
                                     TypeName(l.value_type) + " in DATASET");
    }
  }
  if (!dst.obsm.empty()) {
    return Status::InvalidArgument("DATASET has obsm matrices (" + dst.obsm.begin()->first +
                                   ", ...) covering its cells only; appending cells is not supported for it");
  }
  return Status::OK();
}

// Replaces the index column of `obs` by `prefix` + each name.
Status PrefixIndex(Table* obs, const std::string& index, const std::string& prefix) {
  Column* c = nullptr;
  for (Column& x : obs->columns) if (x.name == index) c = &x;
  if (index.empty() || !c) return Status::InvalidArgument("--cell-id-prefix: SOURCE's obs has no index column");
  std::vector<std::string> names(c->n_rows);
  for (uint64_t i = 0; i < c->n_rows; ++i) names[i] = prefix + std::string(c->str(i));
  std::vector<uint8_t> valid = std::move(c->valid);
  *c = Column::String(index, names);
  c->valid = std::move(valid);
  return Status::OK();
}

// Cells of `src` whose id is already one of `dst`'s (a warning, not an error:
// lookups by name then return the first).
Result<std::pair<uint64_t, std::string>> DuplicateIds(const Dataset& dst, const Table& src_obs) {
  const std::string& index = dst.manifest().obs.index_column;
  const Column* s = src_obs.Find(index);
  if (index.empty() || !s || dst.n_cells() == 0) return std::pair<uint64_t, std::string>{0, ""};
  std::vector<std::string> names{index};
  SLAF_ASSIGN_OR_RETURN(Table t, dst.obs(names));
  const Column& d = t.columns[0];
  std::unordered_set<std::string_view> have;
  have.reserve(d.n_rows * 2);
  for (uint64_t i = 0; i < d.n_rows; ++i) have.insert(d.str(i));
  std::pair<uint64_t, std::string> out{0, ""};
  for (uint64_t i = 0; i < s->n_rows; ++i) {
    if (have.count(s->str(i)) && out.first++ == 0) out.second = s->str(i);
  }
  return out;
}

}  // namespace

int Append(const std::vector<std::string>& argv) {
  Args args;
  if (Status s = args.Parse(argv, {"--quiet"}, {"--cell-id-prefix"}); !s.ok()) return UsageError(kAppendUsage, "append: " + s.message());
  if (args.Has("--help")) return std::fputs(kAppendUsage, stdout), 0;
  if (args.positional().size() != 2) return UsageError(kAppendUsage, "append: expected DATASET and SOURCE");
  const std::string& dst_path = args.positional()[0];
  const std::string& src_path = args.positional()[1];
  const auto t0 = std::chrono::steady_clock::now();

  Result<std::unique_ptr<Dataset>> src = Dataset::Open(src_path);
  if (!src.ok()) return Fail(src.status());
  if ((*src)->n_cells() == 0) {
    std::printf("%s has no cells: nothing to append\n", src_path.c_str());
    return 0;
  }
  Result<std::shared_ptr<io::ObjectStore>> store = OpenStore(dst_path, /*create=*/false);
  if (!store.ok()) return Fail(store.status());
  WriteOptions wo;
  wo.max_attempts = 10;  // a concurrent append: rebase and retry
  wo.message = "slaf append: " + std::to_string((*src)->n_cells()) + " cells from " + src_path + " (version " +
               std::to_string((*src)->version()) + ")";
  Result<std::unique_ptr<Transaction>> tx = Transaction::Update(*store, wo);
  if (!tx.ok()) return Fail(tx.status());
  // Checks run against the transaction's base, the version it builds on.
  Result<std::unique_ptr<Dataset>> dst = Dataset::Open(*store, OpenOptions{(*tx)->base().version, {}});
  if (!dst.ok()) return Fail(dst.status());
  const Manifest& dm = (*dst)->manifest();
  const Manifest& sm = (*src)->manifest();
  auto fail = [&](const Status& s) { return Fail(s.WithContext("cannot append " + src_path + " to " + dst_path)); };
  if (Status s = CheckGenes(**dst, **src); !s.ok()) return fail(s);
  if (Status s = CheckMatrices(dm, sm); !s.ok()) return fail(s);
  if (Status s = CheckObs(dm.obs, sm.obs); !s.ok()) return fail(s);
  for (const auto& [name, _] : sm.layers) {
    if (!dm.layers.count(name)) std::fprintf(stderr, "slaf: note: SOURCE's layer \"%s\" is not in DATASET and is not appended\n", name.c_str());
  }

  Table obs;
  if (!dm.obs.columns.empty()) {
    Result<Table> t = (*src)->obs();
    if (!t.ok()) return Fail(t.status());
    obs = std::move(*t);
    if (const std::string* prefix = args.Get("--cell-id-prefix")) {
      if (Status s = PrefixIndex(&obs, sm.obs.index_column, *prefix); !s.ok()) return fail(s);
    }
    Result<std::pair<uint64_t, std::string>> dups = DuplicateIds(**dst, obs);
    if (!dups.ok()) return Fail(dups.status());
    if (dups->first) {
      std::fprintf(stderr, "slaf: warning: %" PRIu64 " of SOURCE's cell ids already exist in DATASET (e.g. \"%s\"); lookups by name return the first; --cell-id-prefix avoids this\n",
                   dups->first, dups->second.c_str());
    }
  }

  const uint64_t n = sm.n_cells;
  Progress progress(args.Has("--quiet"), n, "cells");
  CsrMatrix block;
  for (uint64_t b = 0; b < n; b += kBlockCells) {
    const uint64_t e = std::min<uint64_t>(n, b + kBlockCells);
    for (const std::string* layer : [&] {
           std::vector<const std::string*> v{nullptr};
           for (const auto& [name, _] : dm.layers) v.push_back(&name);
           return v;
         }()) {
      const std::string name = layer ? *layer : "";
      if (Status s = (*src)->ReadCellRange(b, e, &block, name); !s.ok()) return Fail(s);
      if (Status s = (*tx)->AppendCells(ViewOf(block), name); !s.ok()) return Fail(s);
    }
    progress.Update(e);
  }
  if (!dm.obs.columns.empty()) {
    if (Status s = (*tx)->AppendObs(obs); !s.ok()) return fail(s);
  }
  Result<uint64_t> version = (*tx)->Commit();
  progress.Done();
  if (!version.ok()) return Fail(version.status());
  Result<std::unique_ptr<Dataset>> now = Dataset::Open(*store, OpenOptions{*version, {}});
  if (!now.ok()) return Fail(now.status());
  std::printf("appended %" PRIu64 " cells from %s: %s is now version %" PRIu64 " with %" PRIu64 " cells x %u genes, nnz %" PRIu64 " (%.2fs)\n",
              n, src_path.c_str(), dst_path.c_str(), *version, (*now)->n_cells(), (*now)->n_genes(), (*now)->nnz(), SecondsSince(t0));
  return 0;
}

}  // namespace slaf::cli
