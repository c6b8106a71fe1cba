// Transactions (format-spec §9.4): new files under unique names, synced,
// then the next manifest by create-if-absent. A failed transaction leaves
// only unreferenced files behind, which vacuum removes.
#include "slaf/dataset_writer.h"

#include <simdjson.h>
#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <set>
#include <thread>
#include <tuple>

#include <unistd.h>

#include "engine/csr_util.h"
#include "engine/dataset_files.h"

namespace slaf {

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

// ---------------------------------------------------------------- files

namespace engine {

// Reseeded after fork(): a child must not repeat its parent's sequence (two
// forked writers would pick the same names).
uint64_t RandomId() {
  static thread_local std::mt19937_64 rng;
  static thread_local pid_t seeded_for = 0;
  if (seeded_for != ::getpid()) {
    seeded_for = ::getpid();
    std::random_device rd;
    rng.seed((static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(seeded_for) ^
             static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  }
  uint64_t v = 0;
  while (v == 0) v = rng();
  return v;
}

std::string UniqueKey(const std::string& dir, const char* ext) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(RandomId()));
  return dir + "/" + buf + ext;
}

HashingFile::HashingFile(std::unique_ptr<io::WritableFile> base) : base_(std::move(base)), state_(XXH3_createState()) {
  XXH3_64bits_reset_withSeed(state_, 0);
}

HashingFile::~HashingFile() { XXH3_freeState(state_); }

Status HashingFile::Append(std::span<const uint8_t> data) {
  SLAF_RETURN_IF_ERROR(base_->Append(data));
  XXH3_64bits_update(state_, data.data(), data.size());
  return Status::OK();
}

uint64_t HashingFile::digest() const { return XXH3_64bits_digest(state_); }

MatrixBuild::MatrixBuild(io::ObjectStore* store, std::string dir, uint32_t n_cols, ValueType type, const WriteOptions& opts,
                         const char* ext)
    : store_(store), dir_(std::move(dir)), n_cols_(n_cols), type_(type), opts_(opts), ext_(ext) {}

MatrixBuild::~MatrixBuild() = default;

Status MatrixBuild::Append(const CsrRowsView& rows) {
  uint64_t done = 0;
  while (done < rows.n_rows) {
    if (!writer_) SLAF_RETURN_IF_ERROR(Open());
    const uint64_t room = opts_.cells_per_segment - cells_in_file_;
    const uint64_t take = std::min(room, rows.n_rows - done);
    CsrRowsView part = rows;
    part.n_rows = take;
    part.indptr = rows.indptr + done;
    SLAF_RETURN_IF_ERROR(writer_->AppendRows(part));
    cells_in_file_ += take;
    nnz_in_file_ += part.indptr[take] - part.indptr[0];
    done += take;
    if (cells_in_file_ == opts_.cells_per_segment) SLAF_RETURN_IF_ERROR(EndSegment());
  }
  return Status::OK();
}

Status MatrixBuild::Open() {
  const std::string key = UniqueKey(dir_, ext_);
  SLAF_ASSIGN_OR_RETURN(std::unique_ptr<io::WritableFile> f, store_->Create(key));
  file_ = std::make_unique<HashingFile>(std::move(f));
  key_ = key;
  SegmentWriterOptions so = opts_.segment;
  so.n_cols = n_cols_;
  so.value_type = type_;
  SLAF_ASSIGN_OR_RETURN(writer_, SegmentWriter::Create(file_.get(), so));
  cells_in_file_ = 0;
  nnz_in_file_ = 0;
  return Status::OK();
}

Status MatrixBuild::EndSegment() {
  if (!writer_) return Status::OK();
  SLAF_ASSIGN_OR_RETURN(SegmentWriteStats st, writer_->Finish());  // syncs
  SLAF_RETURN_IF_ERROR(file_->Close());
  SegmentRef ref;
  ref.path = key_;
  ref.size = file_->size();
  ref.xxh3 = file_->digest();
  ref.first_cell = total_cells_;
  ref.n_cells = st.n_rows;
  ref.nnz = st.nnz;
  total_cells_ += st.n_rows;
  segments_.push_back(ref);
  writer_.reset();
  file_.reset();
  cells_in_file_ = 0;
  nnz_in_file_ = 0;
  return Status::OK();
}

}  // namespace engine

namespace {

using engine::HashingFile;
using engine::MatrixBuild;
using engine::RandomId;
using engine::UniqueKey;

Result<TableFileRef> WriteTableFile(io::ObjectStore* store, const std::string& dir, const Table& t, const WriteOptions& opts,
                                    uint64_t first_row) {
  const std::string key = UniqueKey(dir, ".tbl");
  SLAF_ASSIGN_OR_RETURN(std::unique_ptr<io::WritableFile> f, store->Create(key));
  HashingFile file(std::move(f));
  SLAF_RETURN_IF_ERROR(WriteTable(&file, t, opts.table).status());
  SLAF_RETURN_IF_ERROR(file.Close());
  TableFileRef ref;
  ref.path = key;
  ref.size = file.size();
  ref.xxh3 = file.digest();
  ref.first_row = first_row;
  ref.n_rows = t.n_rows;
  return ref;
}

Result<DenseEntry> WriteDenseFile(io::ObjectStore* store, const std::string& dir, const DenseMatrix& m, const WriteOptions& opts) {
  const std::string key = UniqueKey(dir, ".dense");
  SLAF_ASSIGN_OR_RETURN(std::unique_ptr<io::WritableFile> f, store->Create(key));
  HashingFile file(std::move(f));
  SLAF_RETURN_IF_ERROR(WriteDense(&file, m, opts.dense));
  SLAF_RETURN_IF_ERROR(file.Close());
  DenseEntry e;
  e.path = key;
  e.size = file.size();
  e.xxh3 = file.digest();
  e.n_rows = m.n_rows;
  e.n_cols = m.n_cols;
  e.type = m.type;
  return e;
}

Status CheckName(const char* what, const std::string& name) {
  if (name.empty() || name == "X") return Status::InvalidArgument(std::string(what) + " name \"" + name + "\" is not allowed");
  return io::CheckKey(name).WithContext(std::string(what) + " name");
}

// Adds file `file_index` (rows [first_row, +n)) of `t` to the columns of
// table entry `e`, appending rows: columns must match by name and type.
Status AppendRowsToEntry(TableEntry* e, const Table& t, uint32_t file_index, const char* which) {
  if (e->columns.empty()) {
    for (const Column& c : t.columns) {
      ColumnSchema s;
      s.name = c.name;
      s.type = c.type;
      s.categories = c.categories;
      s.files.push_back(file_index);
      e->columns.push_back(std::move(s));
    }
    return Status::OK();
  }
  if (t.columns.size() != e->columns.size()) {
    return Status::InvalidArgument(std::string(which) + " rows to append have " + std::to_string(t.columns.size()) +
                                   " columns; the dataset has " + std::to_string(e->columns.size()));
  }
  for (ColumnSchema& s : e->columns) {
    const Column* c = t.Find(s.name);
    if (!c) return Status::InvalidArgument(std::string(which) + " rows to append lack column \"" + s.name + "\"");
    if (c->type != s.type) {
      return Status::InvalidArgument(std::string(which) + " column \"" + s.name + "\" is " + std::string(ColumnTypeName(c->type)) +
                                     " in the new rows but " + std::string(ColumnTypeName(s.type)) + " in the dataset");
    }
    if (s.type == ColumnType::kCategorical) s.categories = engine::UnionCategories(s.categories, c->categories);
    s.files.push_back(file_index);
  }
  return Status::OK();
}

Table ConcatTables(std::vector<Table>& parts) {
  if (parts.size() == 1) return std::move(parts[0]);
  Table out;
  for (const Table& p : parts) out.n_rows += p.n_rows;
  for (size_t c = 0; c < parts[0].columns.size(); ++c) {
    const std::string& name = parts[0].columns[c].name;
    std::vector<Column> pieces;
    std::vector<std::string> cats;
    for (Table& p : parts) {
      pieces.push_back(*p.Find(name));
      cats = engine::UnionCategories(cats, pieces.back().categories);
    }
    if (pieces[0].type == ColumnType::kCategorical) {
      for (Column& piece : pieces) (void)engine::RemapCategories(cats, &piece);  // cats holds every category
    }
    Column& col = out.columns.emplace_back();
    engine::ConcatColumns(pieces, &col);
    col.name = name;
  }
  return out;
}

class TransactionImpl final : public Transaction {
 public:
  TransactionImpl(std::shared_ptr<io::ObjectStore> store, Manifest base, bool create, WriteOptions opts)
      : store_(std::move(store)), base_(std::move(base)), create_(create), opts_(std::move(opts)) {}

  const Manifest& base() const override { return base_; }

  Status AppendCells(const CsrRowsView& rows, const std::string& layer) override {
    SLAF_RETURN_IF_ERROR(Usable());
    const bool x = layer.empty() || layer == "X";
    if (!x) {
      SLAF_RETURN_IF_ERROR(Poison(CheckName("layer", layer)));
      if (!create_ && !base_.layers.count(layer)) {
        return Poison(Status::InvalidArgument("no layer \"" + layer + "\" to append to; add it with AddLayer first"));
      }
      if (new_layers_.count(layer)) return Poison(Status::InvalidArgument("layer \"" + layer + "\" is being added whole in this transaction"));
    }
    const std::string key = x ? "" : layer;
    auto it = builds_.find(key);
    if (it == builds_.end()) {
      // A layer new in Create takes the type of the values given.
      ValueType type = base_.x.value_type;
      if (!x) {
        auto old = base_.layers.find(layer);
        type = old != base_.layers.end() ? old->second.value_type
                                         : (rows.floats && !rows.counts ? ValueType::kFloat32 : ValueType::kUInt32);
      }
      it = builds_.emplace(key, std::make_unique<MatrixBuild>(store_.get(), x ? "X" : "layers/" + layer, base_.n_genes, type, opts_)).first;
    }
    return Poison(it->second->Append(rows));
  }

  Status AppendObs(const Table& rows) override {
    SLAF_RETURN_IF_ERROR(Usable());
    SLAF_RETURN_IF_ERROR(Poison(rows.Validate().WithContext("obs rows")));
    if (!obs_rows_.empty()) {
      // Same columns as the previous parts: checked again against the base at commit.
      for (const Column& c : obs_rows_[0].columns) {
        const Column* o = rows.Find(c.name);
        if (!o || o->type != c.type || rows.columns.size() != obs_rows_[0].columns.size()) {
          return Poison(Status::InvalidArgument("obs rows differ in columns from the rows appended before"));
        }
      }
    }
    obs_rows_.push_back(rows);
    return Status::OK();
  }

  Status SetVar(const Table& var) override {
    SLAF_RETURN_IF_ERROR(Usable());
    if (!create_) return Poison(Status::InvalidArgument("var can only be set when a dataset is created; use SetColumn"));
    SLAF_RETURN_IF_ERROR(Poison(var.Validate().WithContext("var")));
    if (var.n_rows != base_.n_genes) {
      return Poison(Status::InvalidArgument("var has " + std::to_string(var.n_rows) + " rows but the dataset has " +
                                            std::to_string(base_.n_genes) + " genes"));
    }
    var_ = var;
    return Status::OK();
  }

  Status SetIndexColumn(Axis axis, const std::string& name) override {
    SLAF_RETURN_IF_ERROR(Usable());
    (axis == Axis::kObs ? obs_index_ : var_index_) = name;
    return Status::OK();
  }

  Status SetColumn(Axis axis, const Column& column) override {
    SLAF_RETURN_IF_ERROR(Usable());
    SLAF_RETURN_IF_ERROR(Poison(column.Validate().WithContext("column \"" + column.name + "\"")));
    if (column.name.empty()) return Poison(Status::InvalidArgument("a column needs a name"));
    set_columns_.push_back({axis, column});
    return Status::OK();
  }

  Status AddLayer(const std::string& name, const CsrMatrix& m) override {
    SLAF_RETURN_IF_ERROR(Usable());
    SLAF_RETURN_IF_ERROR(Poison(CheckName("layer", name)));
    if (base_.layers.count(name) || builds_.count(name) || new_layers_.count(name)) {
      return Poison(Status::InvalidArgument("layer \"" + name + "\" already exists; layers are not replaced"));
    }
    if (m.n_cols != base_.n_genes) {
      return Poison(Status::InvalidArgument("layer \"" + name + "\" has " + std::to_string(m.n_cols) + " genes, the dataset " +
                                            std::to_string(base_.n_genes)));
    }
    MatrixBuild b(store_.get(), "layers/" + name, base_.n_genes, m.value_type, opts_);
    SLAF_RETURN_IF_ERROR(Poison(b.Append(engine::ViewOf(m))));
    SLAF_RETURN_IF_ERROR(Poison(b.Finish()));
    MatrixEntry e;
    e.value_type = m.value_type;
    e.segments = b.segments();
    new_layers_[name] = std::move(e);
    return Status::OK();
  }

  Status SetDense(Axis axis, const std::string& name, const DenseMatrix& m) override {
    SLAF_RETURN_IF_ERROR(Usable());
    const char* which = axis == Axis::kObs ? "obsm" : "varm";
    SLAF_RETURN_IF_ERROR(Poison(CheckName(which, name)));
    const size_t want = m.n_rows * m.n_cols;
    if ((m.type == DenseType::kFloat32 ? m.f32.size() : m.f64.size()) != want) {
      return Poison(Status::InvalidArgument(std::string(which) + " " + name + ": value array does not match its shape"));
    }
    SLAF_ASSIGN_OR_RETURN(DenseEntry e, WriteDenseFile(store_.get(), std::string(which) + "/" + name, m, opts_));
    (axis == Axis::kObs ? new_obsm_ : new_varm_)[name] = std::move(e);
    return Status::OK();
  }

  Status SetUns(const std::string& json) override {
    SLAF_RETURN_IF_ERROR(Usable());
    simdjson::dom::parser parser;
    simdjson::dom::object obj;
    if (parser.parse(json).get(obj) != simdjson::SUCCESS) {
      return Poison(Status::InvalidArgument("uns must be a JSON object"));
    }
    uns_ = simdjson::minify(obj);
    return Status::OK();
  }

  Result<uint64_t> Commit() override {
    SLAF_RETURN_IF_ERROR(Usable());
    done_ = true;
    Result<uint64_t> r = CommitImpl();
    if (!r.ok()) poisoned_ = r.status();
    return r;
  }

 private:
  Status Usable() const {
    if (!poisoned_.ok()) return Status::InvalidArgument("transaction failed earlier and cannot be used: " + poisoned_.ToString());
    if (done_) return Status::InvalidArgument("transaction already committed");
    return Status::OK();
  }
  Status Poison(Status s) {
    if (!s.ok()) poisoned_ = s;
    return s;
  }

  // Writes every pending file; the results feed Compose().
  Status WriteFiles() {
    for (auto& [_, b] : builds_) SLAF_RETURN_IF_ERROR(b->Finish());
    if (!obs_rows_.empty()) {
      appended_obs_ = ConcatTables(obs_rows_);
      obs_rows_.clear();
    }
    if (create_) {
      // Columns set in Create join the initial tables.
      for (auto& [axis, col] : set_columns_) {
        Table& t = axis == Axis::kObs ? appended_obs_ : var_;
        if (axis == Axis::kObs && t.columns.empty()) t.n_rows = col.n_rows;
        if (Column* old = const_cast<Column*>(t.Find(col.name))) *old = col;
        else t.columns.push_back(col);
      }
      set_columns_.clear();
      if (var_.columns.empty()) var_.n_rows = base_.n_genes;
      SLAF_RETURN_IF_ERROR(var_.Validate().WithContext("var"));
      if (!var_.columns.empty()) {
        SLAF_ASSIGN_OR_RETURN(TableFileRef ref, WriteTableFile(store_.get(), "var", var_, opts_, 0));
        var_file_ = ref;
      }
    }
    const uint64_t new_cells = builds_.count("") ? builds_[""]->total_cells() : 0;
    if (!appended_obs_.columns.empty()) {
      if (appended_obs_.n_rows != new_cells) {
        return Status::InvalidArgument("obs has " + std::to_string(appended_obs_.n_rows) + " rows for " +
                                       std::to_string(new_cells) + " new cells");
      }
      SLAF_RETURN_IF_ERROR(appended_obs_.Validate().WithContext("obs"));
      SLAF_ASSIGN_OR_RETURN(TableFileRef ref, WriteTableFile(store_.get(), "obs", appended_obs_, opts_, 0));
      obs_file_ = ref;
    }
    for (auto& [axis, col] : set_columns_) {
      Table t;
      t.n_rows = col.n_rows;
      t.columns.push_back(col);
      SLAF_ASSIGN_OR_RETURN(TableFileRef ref, WriteTableFile(store_.get(), axis == Axis::kObs ? "obs" : "var", t, opts_, 0));
      column_files_.push_back(ref);
    }
    return Status::OK();
  }

  // The next manifest on top of `base`. Pure: may run again on a newer base.
  Result<Manifest> Compose(const Manifest& base) const {
    Manifest m = base;
    m.version = base.version + 1;
    m.parent = base.version;
    m.timestamp_ms = opts_.timestamp_ms ? *opts_.timestamp_ms : NowMs();
    m.message = opts_.message;
    std::vector<std::string> ops;
    if (create_) ops.push_back("create");

    const uint64_t new_cells = builds_.count("") ? builds_.at("")->total_cells() : 0;
    if (new_cells > 0 || obs_file_ || (!builds_.empty() && !create_)) {
      if (!create_) ops.push_back("append");
      if (!base.obsm.empty()) {
        return Status::InvalidArgument("cannot append cells: obsm matrices (" + base.obsm.begin()->first +
                                       ", ...) cover the existing cells only");
      }
      for (const auto& [name, b] : builds_) {
        MatrixEntry& mx = name.empty() ? m.x : m.layers[name];
        if (mx.segments.empty()) mx.value_type = b->type();
        if (b->total_cells() != new_cells) {
          return Status::InvalidArgument((name.empty() ? std::string("X") : "layer " + name) + " received " +
                                         std::to_string(b->total_cells()) + " new cells, X " + std::to_string(new_cells));
        }
        for (SegmentRef s : b->segments()) {
          s.first_cell += base.n_cells;
          mx.segments.push_back(std::move(s));
        }
      }
      for (const auto& [name, _] : base.layers) {
        if (!builds_.count(name) && new_cells > 0) {
          return Status::InvalidArgument("the dataset has layer \"" + name + "\": appended cells need rows for it too");
        }
      }
      m.n_cells = base.n_cells + new_cells;
      m.obs.n_rows = m.n_cells;
      if (obs_file_) {
        TableFileRef ref = *obs_file_;
        ref.first_row = base.n_cells;
        m.obs.files.push_back(ref);
        SLAF_RETURN_IF_ERROR(AppendRowsToEntry(&m.obs, appended_obs_, static_cast<uint32_t>(m.obs.files.size() - 1), "obs"));
      } else if (!base.obs.columns.empty() && new_cells > 0) {
        return Status::InvalidArgument("appended cells need obs rows for the columns " + base.obs.columns[0].name + ", ...");
      }
    }
    if (create_) {
      m.var.n_rows = m.n_genes;
      if (m.obs.index_column.empty()) m.obs.index_column = m.obs.Find("cell_id") ? "cell_id" : "";
      if (var_file_) {
        m.var.files.push_back(*var_file_);
        SLAF_RETURN_IF_ERROR(AppendRowsToEntry(&m.var, var_, 0, "var"));
      }
      if (m.var.index_column.empty()) m.var.index_column = m.var.Find("gene_id") ? "gene_id" : "";
    }
    if (!column_files_.empty()) ops.push_back("set_column");
    for (size_t k = 0; k < column_files_.size(); ++k) {
      const auto& [axis, col] = set_columns_[k];
      TableEntry& t = axis == Axis::kObs ? m.obs : m.var;
      if (col.n_rows != t.n_rows) {
        return Status::InvalidArgument("column \"" + col.name + "\" has " + std::to_string(col.n_rows) + " rows; " +
                                       (axis == Axis::kObs ? "obs" : "var") + " has " + std::to_string(t.n_rows));
      }
      t.files.push_back(column_files_[k]);
      ColumnSchema s;
      s.name = col.name;
      s.type = col.type;
      s.categories = col.categories;
      s.files.push_back(static_cast<uint32_t>(t.files.size() - 1));
      bool replaced = false;
      for (ColumnSchema& old : t.columns) {
        if (old.name == s.name) {
          old = s;
          replaced = true;
        }
      }
      if (!replaced) t.columns.push_back(std::move(s));
    }
    if (obs_index_) m.obs.index_column = *obs_index_;
    if (var_index_) m.var.index_column = *var_index_;
    if (!new_layers_.empty()) ops.push_back("add_layer");
    for (const auto& [name, e] : new_layers_) {
      uint64_t n = 0;
      for (const SegmentRef& s : e.segments) n += s.n_cells;
      if (n != m.n_cells) {
        return Status::InvalidArgument("layer \"" + name + "\" has " + std::to_string(n) + " cells, the dataset " +
                                       std::to_string(m.n_cells));
      }
      if (m.layers.count(name)) return Status::Conflict("layer \"" + name + "\" was added by another writer");
      m.layers[name] = e;
    }
    if (!new_obsm_.empty() || !new_varm_.empty()) ops.push_back("set_dense");
    for (const auto& [name, e] : new_obsm_) m.obsm[name] = e;
    for (const auto& [name, e] : new_varm_) m.varm[name] = e;
    if (uns_) {
      ops.push_back("set_uns");
      m.uns_json = *uns_;
    }
    if (gene_index_) {
      ops.push_back("gene_index");
      const auto& [layer, index] = *gene_index_;
      MatrixEntry* mx = layer.empty() ? &m.x : nullptr;
      if (!mx) {
        auto it = m.layers.find(layer);
        if (it == m.layers.end()) return Status::InvalidArgument("no layer \"" + layer + "\" to index");
        mx = &it->second;
      }
      if (index.n_cells > m.n_cells) {
        return Status::InvalidArgument("the gene index covers " + std::to_string(index.n_cells) + " cells, the dataset has " +
                                       std::to_string(m.n_cells));
      }
      mx->gene_index = index;
    }
    if (ops.empty()) return Status::InvalidArgument("nothing to commit: the transaction made no change");
    m.operation.clear();
    for (const std::string& op : ops) m.operation += (m.operation.empty() ? "" : "+") + op;
    // Files that no longer belong to any column (a replaced column's old
    // file) are dropped from the list; older versions still reference them.
    for (TableEntry* t : {&m.obs, &m.var}) PruneTableFiles(t);
    SLAF_RETURN_IF_ERROR(m.Validate().WithContext("new manifest"));
    return m;
  }

  static void PruneTableFiles(TableEntry* t) {
    std::vector<int> remap(t->files.size(), -1);
    std::vector<TableFileRef> kept;
    for (ColumnSchema& c : t->columns) {
      for (uint32_t& f : c.files) {
        if (remap[f] < 0) {
          remap[f] = static_cast<int>(kept.size());
          kept.push_back(t->files[f]);
        }
        f = static_cast<uint32_t>(remap[f]);
      }
    }
    t->files = std::move(kept);
  }

  // A pure append can move onto a newer version: its files carry no cell
  // positions, Compose assigns them.
  bool Rebasable() const {
    return !create_ && set_columns_.empty() && new_layers_.empty() && new_obsm_.empty() && new_varm_.empty() && !uns_ &&
           !obs_index_ && !var_index_ && !gene_index_;
  }

  // Paths of the files this transaction added (its fingerprint in a manifest).
  std::set<std::string> NewFiles(const Manifest& next, const Manifest& base) const {
    std::set<std::string> old, added;
    for (const FileRef* f : base.Files()) old.insert(f->path);
    for (const FileRef* f : next.Files()) {
      if (!old.count(f->path)) added.insert(f->path);
    }
    return added;
  }

  // After a successful create of version v: a vacuum may have removed an
  // old manifest v while v + 1 exists (format-spec §9.6), so a writer that
  // read a stale base can land in that hole, hidden behind newer versions.
  // If v + 1 exists and does not build on our commit, take ours back.
  Result<bool> LandedInHole(const Manifest& next, const Manifest& base) {
    Result<std::vector<uint8_t>> after = store_->Get(ManifestKey(next.version + 1));
    if (!after.ok()) {
      if (after.status().IsNotFound()) return false;
      return after.status();
    }
    SLAF_ASSIGN_OR_RETURN(Manifest m, Manifest::Parse(*after, ManifestKey(next.version + 1)));
    const std::set<std::string> ours = NewFiles(next, base);
    std::set<std::string> theirs;
    for (const FileRef* f : m.Files()) theirs.insert(f->path);
    if (!ours.empty()) return !theirs.count(*ours.begin());
    return m.timestamp_ms < next.timestamp_ms;  // no files of our own: compare times
  }

  Result<uint64_t> CommitImpl() {
    SLAF_RETURN_IF_ERROR(WriteFiles());
    Manifest base = base_;
    std::mt19937_64 rng(RandomId());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (int attempt = 1;; ++attempt) {
      SLAF_ASSIGN_OR_RETURN(Manifest next, Compose(base));
      const std::string json = next.ToJson();
      const std::string key = ManifestKey(next.version);
      const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(json.data()), json.size());
      Status s = store_->PutIfAbsent(key, bytes);
      if (!s.ok() && s.code() != Status::Code::kConflict) {
        // The create may have landed before the error (e.g. the directory
        // sync failed after link(), or a lost response): if the stored
        // manifest is ours, the commit happened; saying otherwise would
        // invite the caller to apply the change twice.
        Result<std::vector<uint8_t>> stored = store_->Get(key);
        if (!stored.ok() || !std::equal(stored->begin(), stored->end(), bytes.begin(), bytes.end())) return s;
        s = Status::OK();
      }
      if (s.ok()) {
        SLAF_ASSIGN_OR_RETURN(bool hidden, LandedInHole(next, base));
        if (!hidden) {
          // Advisory hint for readers; the commit is already durable, so a
          // failure here is harmless (readers probe forward).
          // It carries a copy of the manifest, so a remote reader opens the
          // newest version with the hint and one probe (format-spec §9.1).
          const std::string hint = LatestHint(next.version, json);
          (void)store_->Put(kLatestKey, std::span(reinterpret_cast<const uint8_t*>(hint.data()), hint.size()));
          return next.version;
        }
        SLAF_RETURN_IF_ERROR(store_->Delete(key));
      }
      const Status conflict = Status::Conflict(
          store_->location() + ": version " + std::to_string(next.version) +
          " was committed by another writer after this transaction read version " + std::to_string(base.version) +
          "; nothing was changed, reopen the dataset and retry");
      if (!Rebasable() || attempt >= opts_.max_attempts || std::chrono::steady_clock::now() > deadline) return conflict;
      // Full-jitter backoff between 50 ms and min(5 s, 50 ms * 2^attempt),
      // then rebase onto the newest version.
      const int64_t cap_ms = std::min<int64_t>(5000, 50ll << std::min(attempt, 7));
      std::this_thread::sleep_for(std::chrono::milliseconds(50 + static_cast<int64_t>(rng() % static_cast<uint64_t>(cap_ms - 49))));
      SLAF_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> latest, Dataset::Open(store_));
      const Manifest& nb = latest->manifest();
      if (nb.n_genes != base.n_genes || nb.x.value_type != base.x.value_type) return conflict;
      // Changes that make the append incompatible are conflicts, not input errors.
      Result<Manifest> probe = Compose(nb);
      if (!probe.ok()) {
        return Status::Conflict(store_->location() + ": version " + std::to_string(nb.version) +
                                " changed the dataset so that this append no longer applies: " + probe.status().message());
      }
      base = nb;
    }
  }

  std::shared_ptr<io::ObjectStore> store_;
  Manifest base_;
  bool create_;
  WriteOptions opts_;
  Status poisoned_;
  bool done_ = false;

  std::map<std::string, std::unique_ptr<MatrixBuild>> builds_;  // "" = X
  std::vector<Table> obs_rows_;
  Table appended_obs_;
  std::optional<TableFileRef> obs_file_;
  Table var_;
  std::optional<TableFileRef> var_file_;
  std::vector<std::pair<Axis, Column>> set_columns_;
  std::vector<TableFileRef> column_files_;
  std::map<std::string, MatrixEntry> new_layers_;
  std::map<std::string, DenseEntry> new_obsm_, new_varm_;
  std::optional<std::string> uns_;
  std::optional<std::string> obs_index_, var_index_;
  std::optional<std::pair<std::string, GeneIndexEntry>> gene_index_;  // layer ("" = X), index

  friend Result<uint64_t> engine::CommitGeneIndex(std::unique_ptr<Transaction>, const std::string&, GeneIndexEntry);
};

}  // namespace

Result<std::unique_ptr<Transaction>> Transaction::Create(std::shared_ptr<io::ObjectStore> store, uint32_t n_genes,
                                                         ValueType value_type, WriteOptions options) {
  SLAF_ASSIGN_OR_RETURN(uint64_t latest, LatestVersion(store.get()));
  if (latest != 0) {
    return Status::Conflict(store->location() + " already holds a dataset (version " + std::to_string(latest) + ")");
  }
  if (options.cells_per_segment == 0) return Status::InvalidArgument("cells_per_segment must be positive");
  Manifest base;  // version 0: the empty dataset
  base.n_genes = n_genes;
  base.x.value_type = value_type;
  return std::unique_ptr<Transaction>(new TransactionImpl(std::move(store), std::move(base), true, std::move(options)));
}

Result<std::unique_ptr<Transaction>> Transaction::Update(std::shared_ptr<io::ObjectStore> store, WriteOptions options) {
  if (options.cells_per_segment == 0) return Status::InvalidArgument("cells_per_segment must be positive");
  SLAF_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, Dataset::Open(store));
  Manifest base = ds->manifest();
  return std::unique_ptr<Transaction>(new TransactionImpl(std::move(store), std::move(base), false, std::move(options)));
}

Result<uint64_t> engine::CommitGeneIndex(std::unique_ptr<Transaction> tx, const std::string& layer, GeneIndexEntry index) {
  // The only Transaction implementation is TransactionImpl.
  auto* impl = static_cast<TransactionImpl*>(tx.get());
  SLAF_RETURN_IF_ERROR(impl->Usable());
  impl->gene_index_.emplace(layer, std::move(index));
  return impl->Commit();
}

// ---------------------------------------------------------------- vacuum

Result<VacuumResult> Vacuum(io::ObjectStore* store, uint64_t keep_from_version, int64_t min_age_ms, bool dry_run) {
  SLAF_ASSIGN_OR_RETURN(uint64_t latest, LatestVersion(store));
  if (latest == 0) return Status::NotFound(store->location() + ": not a slaf dataset");
  keep_from_version = std::min(std::max<uint64_t>(keep_from_version, 1), latest);
  if (!dry_run) {
    // Refresh the hint first: a lagging hint must not name (and carry) a
    // version this vacuum is about to remove.
    SLAF_ASSIGN_OR_RETURN(std::vector<uint8_t> newest, store->Get(ManifestKey(latest)));
    const std::string hint = LatestHint(latest, {reinterpret_cast<const char*>(newest.data()), newest.size()});
    SLAF_RETURN_IF_ERROR(store->Put(kLatestKey, std::span(reinterpret_cast<const uint8_t*>(hint.data()), hint.size())));
  }
  SLAF_ASSIGN_OR_RETURN(std::vector<VersionInfo> versions, ListVersions(store));
  std::set<std::string> referenced;
  std::vector<uint64_t> old_versions;
  for (const VersionInfo& v : versions) {
    if (v.version < keep_from_version) {
      old_versions.push_back(v.version);
      continue;
    }
    SLAF_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, Dataset::Open(std::shared_ptr<io::ObjectStore>(store, [](io::ObjectStore*) {}),
                                                                     OpenOptions{v.version, {}}));
    for (const FileRef* f : ds->manifest().Files()) referenced.insert(f->path);
  }
  const int64_t cutoff = NowMs() - min_age_ms;
  VacuumResult out;
  SLAF_ASSIGN_OR_RETURN(std::vector<io::ObjectEntry> all, store->List(""));
  std::map<std::string, int64_t> mtime;
  for (const io::ObjectEntry& e : all) mtime[e.key] = e.mtime_ms;
  // Old manifests go first, so no remaining version points at a removed file.
  // A manifest younger than min_age stays, with the files it references: a
  // slow writer that read that version might still commit on top of it.
  for (uint64_t v : old_versions) {
    const std::string key = ManifestKey(v);
    if (mtime.count(key) && mtime[key] > cutoff) {
      SLAF_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> young,
                            Dataset::Open(std::shared_ptr<io::ObjectStore>(store, [](io::ObjectStore*) {}), OpenOptions{v, {}}));
      for (const FileRef* f : young->manifest().Files()) referenced.insert(f->path);
      continue;
    }
    if (!dry_run) SLAF_RETURN_IF_ERROR(store->Delete(key));
    out.removed.push_back(key);
    for (const io::ObjectEntry& e : all) {
      if (e.key == key) out.bytes += e.size;
    }
  }
  for (const io::ObjectEntry& e : all) {
    // Role directories of §9.1; gene_index/ since format 1.1.
    const bool data = e.key.rfind("X/", 0) == 0 || e.key.rfind("layers/", 0) == 0 || e.key.rfind("obs/", 0) == 0 ||
                      e.key.rfind("var/", 0) == 0 || e.key.rfind("obsm/", 0) == 0 || e.key.rfind("varm/", 0) == 0 ||
                      e.key.rfind("gene_index/", 0) == 0;
    // Temporary files of interrupted manifest and hint writes (io/store.cc).
    const bool temp = (e.key.rfind("_versions/", 0) == 0 || e.key.rfind("_latest.", 0) == 0) &&
                      e.key.find(".tmp-") != std::string::npos;
    if (!(data || temp) || referenced.count(e.key)) continue;
    // Young files may belong to a transaction still writing: keep them.
    if (e.mtime_ms > cutoff) continue;
    if (!dry_run) {
      Status s = store->Delete(e.key);
      if (!s.ok() && !s.IsNotFound()) return s;
    }
    out.removed.push_back(e.key);
    out.bytes += e.size;
  }
  return out;
}

namespace {

// "…_versions/<20 digits>.json" of the dataset at `prefix` ("" or "raw/").
bool IsManifestKey(const std::string& key, std::string* prefix, uint64_t* version) {
  const size_t at = key.rfind("_versions/");
  if (at == std::string::npos || (at > 0 && key[at - 1] != '/')) return false;
  *version = VersionOfManifestKey(std::string_view(key).substr(at));
  *prefix = key.substr(0, at);
  return *version != 0;
}

}  // namespace

Result<uint64_t> CopyDataset(io::ObjectStore* from, io::ObjectStore* to, const std::function<void(uint64_t, uint64_t)>& progress) {
  SLAF_ASSIGN_OR_RETURN(bool taken, to->Exists(ManifestKey(1)));
  if (taken) return Status::Conflict(to->location() + ": already holds a dataset");
  SLAF_ASSIGN_OR_RETURN(std::vector<io::ObjectEntry> all, from->List(""));
  std::vector<io::ObjectEntry> data, hints;
  std::vector<std::tuple<size_t, uint64_t, io::ObjectEntry>> manifests;  // (-depth, version)
  uint64_t total = 0;
  for (const io::ObjectEntry& e : all) {
    if (e.key.find(".tmp-") != std::string::npos) continue;  // interrupted writes
    std::string prefix;
    uint64_t v = 0;
    total += e.size;
    if (IsManifestKey(e.key, &prefix, &v)) {
      manifests.emplace_back(prefix.size(), v, e);
    } else if (e.key == kLatestKey || (e.key.size() > 8 && e.key.compare(e.key.size() - 8, 8, "/_latest") == 0)) {
      hints.push_back(e);
    } else {
      data.push_back(e);
    }
  }
  // Nested datasets (longer prefixes) commit before the dataset holding them.
  std::sort(manifests.begin(), manifests.end(), [](const auto& a, const auto& b) {
    if (std::get<0>(a) != std::get<0>(b)) return std::get<0>(a) > std::get<0>(b);
    return std::get<1>(a) < std::get<1>(b);
  });
  uint64_t done = 0;
  std::vector<uint8_t> buf(8 << 20);
  for (const io::ObjectEntry& e : data) {
    SLAF_ASSIGN_OR_RETURN(std::shared_ptr<io::RandomAccessFile> in, from->OpenRead(e.key));
    SLAF_ASSIGN_OR_RETURN(std::unique_ptr<io::WritableFile> out, to->Create(e.key));
    for (uint64_t off = 0; off < in->size();) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), in->size() - off));
      SLAF_RETURN_IF_ERROR(in->ReadAt(off, n, buf.data()));
      SLAF_RETURN_IF_ERROR(out->Append({buf.data(), n}));
      off += n;
    }
    SLAF_RETURN_IF_ERROR(out->Sync());
    SLAF_RETURN_IF_ERROR(out->Close());
    done += e.size;
    if (progress) progress(done, total);
  }
  for (const auto& m : manifests) {
    const io::ObjectEntry& e = std::get<2>(m);
    SLAF_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, from->Get(e.key));
    SLAF_RETURN_IF_ERROR(to->PutIfAbsent(e.key, bytes));
    done += e.size;
    if (progress) progress(done, total);
  }
  for (const io::ObjectEntry& e : hints) {
    SLAF_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, from->Get(e.key));
    SLAF_RETURN_IF_ERROR(to->Put(e.key, bytes));
    done += e.size;
  }
  if (progress) progress(done, total);
  return done;
}

}  // namespace slaf
