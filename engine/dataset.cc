// Dataset: one version of a dataset, opened from its manifest. Files are
// opened on first use and cached; every file's size is checked against the
// manifest before its footer is trusted.
#include "slaf/dataset.h"

#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <deque>
#include <functional>
#include <cmath>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "engine/csr_util.h"
#include "slaf/remote.h"

namespace slaf {

// ---------------------------------------------------------------- versions

Result<std::shared_ptr<io::ObjectStore>> OpenStore(const std::string& uri, bool create) {
  std::string path = uri;
  if (path.rfind("file://", 0) == 0) path = path.substr(7);
  if (path.rfind("s3://", 0) == 0) return io::OpenS3Store(path, io::HttpOptions::FromEnvironment());
  if (path.rfind("http://", 0) == 0 || path.rfind("https://", 0) == 0) {
    if (create) return Status::NotSupported(uri + ": HTTP(S) datasets are read-only; write to a local directory or an s3:// prefix");
    return io::OpenHttpStore(path, io::HttpOptions::FromEnvironment());
  }
  return io::OpenLocalStore(path, create);
}

namespace {

// The listed versions, sorted; nullopt when the store cannot list (plain
// HTTP): versions are then found by probing.
Result<std::optional<std::vector<uint64_t>>> ListedVersions(io::ObjectStore* store) {
  Result<std::vector<io::ObjectEntry>> entries = store->List("_versions/");
  if (!entries.ok()) {
    if (entries.status().IsNotSupported()) return std::optional<std::vector<uint64_t>>();
    if (entries.status().IsNotFound()) return std::optional<std::vector<uint64_t>>(std::vector<uint64_t>{});
    return entries.status();
  }
  std::vector<uint64_t> out;
  for (const io::ObjectEntry& e : *entries) {
    if (uint64_t v = VersionOfManifestKey(e.key)) out.push_back(v);
  }
  std::sort(out.begin(), out.end());
  return std::optional<std::vector<uint64_t>>(std::move(out));
}

// Whether manifest v exists; errors other than NotFound are errors, so a
// failing store never makes the newest version look older than it is.
Result<bool> ManifestExists(io::ObjectStore* store, uint64_t v) { return store->Exists(ManifestKey(v)); }

// The newest version at or after v: while manifest v+1 exists, v+1 (every
// commit creates the next number, so the probe cannot skip one).
Result<uint64_t> ProbeForward(io::ObjectStore* store, uint64_t v) {
  while (true) {
    SLAF_ASSIGN_OR_RETURN(bool exists, ManifestExists(store, v + 1));
    if (!exists) return v;
    ++v;
  }
}

Result<Manifest> ReadManifest(io::ObjectStore* store, uint64_t version) {
  const std::string key = ManifestKey(version);
  Result<std::vector<uint8_t>> bytes = store->Get(key);
  if (!bytes.ok()) {
    if (bytes.status().IsNotFound()) {
      return Status::NotFound(store->location() + ": version " + std::to_string(version) + " does not exist (" + key + ")");
    }
    return bytes.status();
  }
  SLAF_ASSIGN_OR_RETURN(Manifest m, Manifest::Parse(*bytes, store->location() + "/" + key));
  if (m.version != version) {
    return Status::Corruption(store->location() + "/" + key + ": manifest says version " + std::to_string(m.version));
  }
  return m;
}

// The _latest hint: a version number and, since the hint carries it, a copy
// of that version's manifest (format-spec §9.1).
struct Hint {
  uint64_t version = 0;  // 0: absent or unusable
  std::optional<Manifest> manifest;
};

Result<Hint> ReadHint(io::ObjectStore* store) {
  Hint out;
  Result<std::vector<uint8_t>> hint = store->Get(kLatestKey);
  if (!hint.ok()) {
    if (hint.status().IsNotFound()) return out;
    return hint.status();
  }
  const std::string text(hint->begin(), hint->end());
  char* end = nullptr;
  const unsigned long long h = std::strtoull(text.c_str(), &end, 10);
  if (end == text.c_str() || h == 0 || h > (1ull << 53)) return out;
  out.version = h;
  const size_t nl = text.find('\n');
  if (nl != std::string::npos && nl + 1 < text.size()) {
    // A copy that does not parse, or names another version, is ignored:
    // the hint is advisory.
    const std::span<const uint8_t> copy(hint->data() + nl + 1, hint->size() - nl - 1);
    Result<Manifest> m = Manifest::Parse(copy, store->location() + "/" + kLatestKey);
    if (m.ok() && m->version == h) out.manifest = std::move(*m);
  }
  return out;
}

// The newest manifest found from the hint in as few round trips as a remote
// store allows: with the manifest copy in the hint, the hint and one probe
// for h+1; with a bare number, the hint, then manifest h and the probe
// together. nullopt when the hint is missing or names a missing manifest
// (the caller then lists).
Result<std::optional<Manifest>> LatestByHint(io::ObjectStore* store) {
  SLAF_ASSIGN_OR_RETURN(Hint hint, ReadHint(store));
  const uint64_t h = hint.version;
  if (h == 0) return std::optional<Manifest>();
  Result<bool> next = false;
  Result<Manifest> m = Status::NotFound("");
  if (hint.manifest) {
    next = ManifestExists(store, h + 1);
    m = std::move(*hint.manifest);
  } else {
    std::thread probe([&] { next = ManifestExists(store, h + 1); });
    m = ReadManifest(store, h);
    probe.join();
  }
  if (!m.ok()) {
    if (m.status().IsNotFound()) return std::optional<Manifest>();
    return m.status();
  }
  SLAF_RETURN_IF_ERROR(next.status());
  if (!*next) return std::optional<Manifest>(std::move(*m));
  // The hint lags: probe on from h+1.
  SLAF_ASSIGN_OR_RETURN(uint64_t v, ProbeForward(store, h + 1));
  SLAF_ASSIGN_OR_RETURN(Manifest newest, ReadManifest(store, v));
  return std::optional<Manifest>(std::move(newest));
}

}  // namespace

Result<uint64_t> LatestVersion(io::ObjectStore* store) {
  uint64_t v = 0;
  SLAF_ASSIGN_OR_RETURN(Hint hint, ReadHint(store));
  const uint64_t h = hint.version;
  if (h != 0) {
    SLAF_ASSIGN_OR_RETURN(bool exists, ManifestExists(store, h));
    if (exists) v = h;
  }
  if (v == 0) {
    // No usable hint (a crash before it was written, or a vacuum): list.
    SLAF_ASSIGN_OR_RETURN(std::optional<std::vector<uint64_t>> listed, ListedVersions(store));
    if (listed && !listed->empty()) v = listed->back();
  }
  // The hint is advisory and may lag: probe forward.
  return ProbeForward(store, v);
}

Result<std::vector<VersionInfo>> ListVersions(io::ObjectStore* store) {
  SLAF_ASSIGN_OR_RETURN(std::optional<std::vector<uint64_t>> maybe_listed, ListedVersions(store));
  // A store that cannot list (plain HTTP): every number up to the newest,
  // skipping the ones a vacuum removed.
  const bool probing = !maybe_listed;
  std::vector<uint64_t> listed = probing ? std::vector<uint64_t>{} : std::move(*maybe_listed);
  if (probing) {
    SLAF_ASSIGN_OR_RETURN(uint64_t latest, LatestVersion(store));
    for (uint64_t v = 1; v <= latest; ++v) listed.push_back(v);
  }
  std::vector<VersionInfo> out;
  for (uint64_t v : listed) {
    Result<Manifest> read = ReadManifest(store, v);
    if (probing && !read.ok() && read.status().IsNotFound()) continue;
    SLAF_ASSIGN_OR_RETURN(Manifest m, std::move(read));
    out.push_back({m.version, m.parent, m.timestamp_ms, m.operation, m.message, m.n_cells, m.n_genes, m.x.nnz()});
  }
  return out;
}

double AxisStats::variance(size_t i) const {
  if (n < 2) return 0.0;
  const double nn = static_cast<double>(n);
  const double mean = sum[i] / nn;
  const double v = (sum_sq[i] - nn * mean * mean) / (nn - 1.0);
  return v > 0 ? v : 0.0;
}

uint64_t Dataset::bytes_on_disk() const {
  uint64_t b = 0;
  for (const FileRef* f : manifest().Files()) b += f->size;
  return b;
}

// ---------------------------------------------------------------- dataset

namespace {

// Three-valued logic for predicates: kFalse < kUnknown < kTrue, so AND is
// min, OR is max and NOT is 2 - x (SQL semantics for nulls).
constexpr uint8_t kFalse = 0, kUnknown = 1, kTrue = 2;

class DatasetImpl final : public Dataset {
 public:
  DatasetImpl(std::shared_ptr<io::ObjectStore> store, Manifest m) : store_(std::move(store)), m_(std::move(m)) {}

  const Manifest& manifest() const override { return m_; }
  io::ObjectStore* store() const override { return store_.get(); }

  Result<Table> obs(std::span<const std::string> columns) const override { return ReadTable(m_.obs, "obs", columns); }
  Result<Table> var(std::span<const std::string> columns) const override { return ReadTable(m_.var, "var", columns); }

  Result<std::vector<uint64_t>> cells(const Predicate& p) const override { return Select<uint64_t>(m_.obs, "obs", p); }
  Result<std::vector<uint32_t>> genes(const Predicate& p) const override { return Select<uint32_t>(m_.var, "var", p); }

  Result<std::vector<uint64_t>> cells_by_name(std::span<const std::string> names) const override {
    return ByName(m_.obs, "obs", names);
  }
  Result<std::vector<uint32_t>> genes_by_name(std::span<const std::string> names) const override {
    SLAF_ASSIGN_OR_RETURN(std::vector<uint64_t> ids, ByName(m_.var, "var", names));
    return std::vector<uint32_t>(ids.begin(), ids.end());
  }

  Status ReadCellRange(uint64_t begin, uint64_t end, CsrMatrix* out, const std::string& layer) const override {
    SLAF_ASSIGN_OR_RETURN(const MatrixEntry* mx, Matrix(layer));
    if (begin > end || end > m_.n_cells) {
      return Status::InvalidArgument("cell range [" + std::to_string(begin) + ", " + std::to_string(end) +
                                     ") is outside the dataset's " + std::to_string(m_.n_cells) + " cells");
    }
    out->Clear(m_.n_genes, mx->value_type);
    CsrMatrix part;
    for (size_t s = SegmentOf(*mx, begin); s < mx->segments.size() && begin < end; ++s) {
      const SegmentRef& ref = mx->segments[s];
      const uint64_t seg_end = ref.first_cell + ref.n_cells;
      const uint64_t stop = std::min(end, seg_end);
      if (stop <= begin) continue;
      SLAF_ASSIGN_OR_RETURN(std::shared_ptr<SegmentReader> r, Segment(ref, mx->value_type));
      if (begin == 0 && stop == end && out->n_rows == 0 && s + 1 == mx->segments.size()) {
        return r->ReadRows(begin - ref.first_cell, stop - ref.first_cell, out);
      }
      SLAF_RETURN_IF_ERROR(r->ReadRows(begin - ref.first_cell, stop - ref.first_cell, &part));
      engine::AppendCsr(part, out);
      begin = stop;
    }
    return Status::OK();
  }

  Status ReadCells(std::span<const uint64_t> cells, std::span<const uint32_t> genes, CsrMatrix* out,
                   const std::string& layer) const override {
    SLAF_ASSIGN_OR_RETURN(const MatrixEntry* mx, Matrix(layer));
    for (uint64_t c : cells) {
      if (c >= m_.n_cells) {
        return Status::InvalidArgument("cell id " + std::to_string(c) + " is out of range (the dataset has " +
                                       std::to_string(m_.n_cells) + " cells)");
      }
    }
    for (uint32_t g : genes) {
      if (g >= m_.n_genes) {
        return Status::InvalidArgument("gene id " + std::to_string(g) + " is out of range (the dataset has " +
                                       std::to_string(m_.n_genes) + " genes)");
      }
    }
    const uint32_t out_cols = genes.empty() ? m_.n_genes : static_cast<uint32_t>(genes.size());
    if (cells.empty()) {
      out->Clear(out_cols, mx->value_type);
      return Status::OK();
    }
    // Group the requested rows by segment, remembering their output slots.
    std::vector<std::vector<uint64_t>> local(mx->segments.size()), slots(mx->segments.size());
    size_t used = 0;
    for (size_t i = 0; i < cells.size(); ++i) {
      const size_t s = SegmentOf(*mx, cells[i]);
      if (local[s].empty()) ++used;
      local[s].push_back(cells[i] - mx->segments[s].first_cell);
      slots[s].push_back(i);
    }
    std::vector<CsrMatrix> parts(mx->segments.size());
    for (size_t s = 0; s < mx->segments.size(); ++s) {
      if (local[s].empty()) continue;
      SLAF_ASSIGN_OR_RETURN(std::shared_ptr<SegmentReader> r, Segment(mx->segments[s], mx->value_type));
      CsrMatrix* dst = used == 1 ? out : &parts[s];
      if (genes.empty()) {
        SLAF_RETURN_IF_ERROR(r->ReadRowList(local[s], dst));
      } else {
        SLAF_RETURN_IF_ERROR(r->ReadSubmatrix(local[s], genes, dst));
      }
      if (used == 1) return Status::OK();
    }
    engine::ScatterRows(parts, slots, cells.size(), out_cols, mx->value_type, out);
    return Status::OK();
  }

  Result<std::unique_ptr<CellBlockIterator>> IterateCells(std::vector<uint64_t> cells, uint32_t block_cells,
                                                          const std::string& layer) const override;

  Result<CsrMatrix> ReadGenes(std::span<const uint32_t> genes, const std::string& layer) const override;

  Result<std::unique_ptr<MatrixScanner>> ScanMatrix(const ScanOptions& options, const std::string& layer) const override;
  Result<std::unique_ptr<MatrixScanner>> ScanGeneIndex(const ScanOptions& options, const std::string& layer) const override;

  Result<MatrixTotals> Totals(const std::string& layer) const override {
    SLAF_ASSIGN_OR_RETURN(const MatrixEntry* mx, Matrix(layer));
    MatrixTotals t;
    bool first = true;
    for (const SegmentRef& ref : mx->segments) {
      SLAF_ASSIGN_OR_RETURN(std::shared_ptr<SegmentReader> r, Segment(ref, mx->value_type));
      for (const ChunkInfo& c : r->info().chunks) {
        ++t.chunks;
        t.chunk_first_cell.push_back(ref.first_cell + c.first_row);
        if (c.nnz == 0) continue;
        t.nnz += c.nnz;
        t.sum += c.sum;
        t.min = first ? c.min_value : std::min(t.min, c.min_value);
        t.max = first ? c.max_value : std::max(t.max, c.max_value);
        first = false;
      }
    }
    return t;
  }

  Result<AxisStats> GeneStats(std::span<const uint64_t> cells, const std::string& layer) const override {
    return Stats(cells, layer, /*per_gene=*/true);
  }
  Result<AxisStats> CellStats(std::span<const uint64_t> cells, const std::string& layer) const override {
    return Stats(cells, layer, /*per_gene=*/false);
  }

  Result<DenseMatrix> obsm(const std::string& name) const override { return ReadDense(m_.obsm, "obsm", name); }
  Result<DenseMatrix> varm(const std::string& name) const override { return ReadDense(m_.varm, "varm", name); }

  VerifyReport Verify(const std::function<void(uint64_t, uint64_t)>& progress) const override;

 private:
  std::string Where(const FileRef& f) const { return store_->location() + "/" + f.path; }

  Result<const MatrixEntry*> Matrix(const std::string& layer) const {
    if (layer.empty() || layer == "X") return &m_.x;
    auto it = m_.layers.find(layer);
    if (it == m_.layers.end()) {
      std::string known;
      for (const auto& [name, _] : m_.layers) known += (known.empty() ? "" : ", ") + name;
      return Status::NotFound("no layer \"" + layer + "\" in version " + std::to_string(m_.version) +
                              " (layers: " + (known.empty() ? "none" : known) + ")");
    }
    return &it->second;
  }

  // X, then the layers in name order.
  std::vector<const MatrixEntry*> Matrices() const {
    std::vector<const MatrixEntry*> v{&m_.x};
    for (const auto& [_, l] : m_.layers) v.push_back(&l);
    return v;
  }

  // Index of the segment holding `cell` (cell < n_cells).
  static size_t SegmentOf(const MatrixEntry& mx, uint64_t cell) {
    auto it = std::upper_bound(mx.segments.begin(), mx.segments.end(), cell,
                               [](uint64_t c, const SegmentRef& s) { return c < s.first_cell; });
    return static_cast<size_t>(it - mx.segments.begin()) - 1;
  }

  // Opens a listed file and checks its size against the manifest.
  Result<std::shared_ptr<io::RandomAccessFile>> OpenFile(const FileRef& f) const {
    Result<std::shared_ptr<io::RandomAccessFile>> file = store_->OpenRead(f.path);
    if (!file.ok()) {
      if (file.status().IsNotFound()) {
        return Status::NotFound(Where(f) + ": listed by version " + std::to_string(m_.version) +
                                " but missing (removed by vacuum, or the dataset was copied incompletely)");
      }
      return file.status();
    }
    if ((*file)->size() != f.size) {
      return Status::Corruption(Where(f) + ": " + std::to_string((*file)->size()) + " bytes, but the manifest of version " +
                                std::to_string(m_.version) + " says " + std::to_string(f.size));
    }
    return file;
  }

  Result<std::shared_ptr<SegmentReader>> Segment(const SegmentRef& ref, ValueType type) const {
    return OpenSegment(ref, ref.n_cells, m_.n_genes, ref.nnz, type, "segment");
  }

  // A gene-index segment: genes as rows, the index's cells as columns.
  Result<std::shared_ptr<SegmentReader>> GeneSegment(const GeneSegmentRef& ref, uint64_t index_cells, ValueType type) const {
    return OpenSegment(ref, ref.n_genes, index_cells, ref.nnz, type, "gene-index segment");
  }

  // Opens (once) a listed segment file and checks its shape, value type and
  // entry count against the manifest (format-spec §9.2).
  Result<std::shared_ptr<SegmentReader>> OpenSegment(const FileRef& ref, uint64_t rows, uint64_t cols, uint64_t nnz, ValueType type,
                                                     const char* what) const {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = segments_.find(ref.path);
      if (it != segments_.end()) return it->second;
    }
    SLAF_ASSIGN_OR_RETURN(std::shared_ptr<io::RandomAccessFile> file, OpenFile(ref));
    SLAF_ASSIGN_OR_RETURN(std::unique_ptr<SegmentReader> r, SegmentReader::Open(file));
    const SegmentInfo& info = r->info();
    if (info.n_rows != rows || info.n_cols != cols || info.value_type != type || info.nnz != nnz) {
      return Status::Corruption(Where(ref) + ": " + what + " holds " + std::to_string(info.n_rows) + " x " +
                                std::to_string(info.n_cols) + " with " + std::to_string(info.nnz) +
                                " entries, the manifest says " + std::to_string(rows) + " x " + std::to_string(cols) +
                                " with " + std::to_string(nnz));
    }
    std::shared_ptr<SegmentReader> shared(std::move(r));
    std::lock_guard<std::mutex> lock(mu_);
    return segments_.emplace(ref.path, shared).first->second;
  }

  Result<std::shared_ptr<TableReader>> TableFile(const TableFileRef& ref) const {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = tables_.find(ref.path);
      if (it != tables_.end()) return it->second;
    }
    SLAF_ASSIGN_OR_RETURN(std::shared_ptr<io::RandomAccessFile> file, OpenFile(ref));
    SLAF_ASSIGN_OR_RETURN(std::unique_ptr<TableReader> r, TableReader::Open(file));
    if (r->info().n_rows != ref.n_rows) {
      return Status::Corruption(Where(ref) + ": table has " + std::to_string(r->info().n_rows) +
                                " rows, the manifest says " + std::to_string(ref.n_rows));
    }
    std::shared_ptr<TableReader> shared(std::move(r));
    std::lock_guard<std::mutex> lock(mu_);
    return tables_.emplace(ref.path, shared).first->second;
  }

  // One column of obs/var, assembled from its files.
  Status ReadColumn(const TableEntry& t, const ColumnSchema& c, Column* out) const {
    std::vector<Column> pieces;
    for (size_t k = 0; k < c.files.size(); ++k) {
      const TableFileRef& ref = t.files[c.files[k]];
      SLAF_ASSIGN_OR_RETURN(std::shared_ptr<TableReader> r, TableFile(ref));
      const int idx = r->info().FindColumn(c.name);
      if (idx < 0 || r->info().columns[idx].type != c.type) {
        return Status::Corruption(Where(ref) + ": has no " + std::string(ColumnTypeName(c.type)) + " column \"" + c.name +
                                  "\" although the manifest of version " + std::to_string(m_.version) + " says so");
      }
      Column* dst = c.files.size() == 1 ? out : &pieces.emplace_back();
      SLAF_RETURN_IF_ERROR(r->ReadColumn(static_cast<size_t>(idx), dst));
      if (c.type == ColumnType::kCategorical) {
        SLAF_RETURN_IF_ERROR(engine::RemapCategories(c.categories, dst).WithContext(Where(ref) + " column " + c.name));
      }
    }
    if (c.files.size() != 1) engine::ConcatColumns(pieces, out);
    out->name = c.name;
    out->type = c.type;
    out->n_rows = t.n_rows;
    return Status::OK();
  }

  Result<const ColumnSchema*> Schema(const TableEntry& t, const char* which, const std::string& name) const {
    if (const ColumnSchema* c = t.Find(name)) return c;
    std::string known;
    for (const ColumnSchema& c : t.columns) known += (known.empty() ? "" : ", ") + c.name;
    return Status::NotFound(std::string(which) + " has no column \"" + name + "\" (columns: " + known + ")");
  }

  Result<Table> ReadTable(const TableEntry& t, const char* which, std::span<const std::string> names) const {
    Table out;
    out.n_rows = t.n_rows;
    if (names.empty()) {
      for (const ColumnSchema& c : t.columns) SLAF_RETURN_IF_ERROR(ReadColumn(t, c, &out.columns.emplace_back()));
    } else {
      for (const std::string& n : names) {
        SLAF_ASSIGN_OR_RETURN(const ColumnSchema* c, Schema(t, which, n));
        SLAF_RETURN_IF_ERROR(ReadColumn(t, *c, &out.columns.emplace_back()));
      }
    }
    return out;
  }

  // name -> row of the index column, built on first use and kept (like a
  // pandas index): later lookups cost a hash probe per name.
  struct NameIndex {
    Column names;
    std::unordered_map<std::string_view, uint64_t> rows;
  };
  Result<const NameIndex*> Names(const TableEntry& t, const char* which) const {
    const bool obs = &t == &m_.obs;
    std::lock_guard<std::mutex> lock(names_mu_);
    std::unique_ptr<NameIndex>& slot = obs ? obs_names_ : var_names_;
    if (slot) return slot.get();
    if (t.index_column.empty()) return Status::NotFound(std::string(which) + " has no index column");
    SLAF_ASSIGN_OR_RETURN(const ColumnSchema* c, Schema(t, which, t.index_column));
    auto idx = std::make_unique<NameIndex>();
    SLAF_RETURN_IF_ERROR(ReadColumn(t, *c, &idx->names));
    idx->rows.reserve(idx->names.n_rows);
    for (uint64_t i = 0; i < idx->names.n_rows; ++i) idx->rows.emplace(idx->names.str(i), i);  // first wins
    slot = std::move(idx);
    return slot.get();
  }

  Result<std::vector<uint64_t>> ByName(const TableEntry& t, const char* which, std::span<const std::string> names) const {
    SLAF_ASSIGN_OR_RETURN(const NameIndex* index, Names(t, which));
    std::vector<uint64_t> ids;
    ids.reserve(names.size());
    for (const std::string& n : names) {
      auto it = index->rows.find(n);
      const uint64_t id = it == index->rows.end() ? UINT64_MAX : it->second;
      if (id == UINT64_MAX) {
        return Status::NotFound(std::string(which) + " " + t.index_column + " \"" + n + "\" not found in version " +
                                std::to_string(m_.version));
      }
      ids.push_back(id);
    }
    return ids;
  }

  // Rows where p is true. Masks and the column come from per-thread
  // buffers: a filter over 50k cells is ~0.1 ms of work, and fresh
  // allocations of that size would cost more in page faults than the work.
  template <typename Id>
  Result<std::vector<Id>> Select(const TableEntry& t, const char* which, const Predicate& p) const {
    std::vector<uint8_t>& mask = MaskBuffer(0);
    SLAF_RETURN_IF_ERROR(Evaluate(t, which, p, 0, &mask));
    size_t n = 0;
    for (uint8_t x : mask) n += x == kTrue;
    // Branch-free fill: every row is written at slot k, which advances only
    // for matches, so one spare slot takes the writes after the last match.
    std::vector<Id> ids(n + 1);
    size_t k = 0;
    for (uint64_t i = 0; i < mask.size(); ++i) {
      ids[k] = static_cast<Id>(i);
      k += mask[i] == kTrue;
    }
    ids.pop_back();
    return ids;
  }
  static std::vector<uint8_t>& MaskBuffer(size_t depth) {
    thread_local std::deque<std::vector<uint8_t>> pool;  // deque: growing keeps references valid
    if (pool.size() <= depth) pool.resize(depth + 1);
    return pool[depth];
  }
  Status Evaluate(const TableEntry& t, const char* which, const Predicate& p, size_t depth, std::vector<uint8_t>* out) const;
  Status EvaluateLeaf(const TableEntry& t, const char* which, const Predicate& p, std::vector<uint8_t>* out) const;

  Result<AxisStats> Stats(std::span<const uint64_t> cells, const std::string& layer, bool per_gene) const;

  Result<DenseMatrix> ReadDense(const std::map<std::string, DenseEntry>& m, const char* which, const std::string& name) const {
    auto it = m.find(name);
    if (it == m.end()) return Status::NotFound(std::string(which) + " has no matrix \"" + name + "\"");
    SLAF_ASSIGN_OR_RETURN(std::shared_ptr<io::RandomAccessFile> file, OpenFile(it->second));
    SLAF_ASSIGN_OR_RETURN(std::unique_ptr<DenseReader> r, DenseReader::Open(file));
    if (r->info().n_rows != it->second.n_rows || r->info().n_cols != it->second.n_cols || r->info().type != it->second.type) {
      return Status::Corruption(Where(it->second) + ": shape or dtype differs from the manifest");
    }
    DenseMatrix out;
    SLAF_RETURN_IF_ERROR(r->ReadRows(0, r->info().n_rows, &out));
    return out;
  }

  Status VerifyFile(const FileRef& f, int role, VerifyReport* report, uint64_t* done, uint64_t total,
                    const std::function<void(uint64_t, uint64_t)>& progress) const;

  std::shared_ptr<io::ObjectStore> store_;
  Manifest m_;
  mutable std::mutex mu_;
  mutable std::unordered_map<std::string, std::shared_ptr<SegmentReader>> segments_;
  mutable std::unordered_map<std::string, std::shared_ptr<TableReader>> tables_;
  mutable std::mutex names_mu_;
  mutable std::unique_ptr<NameIndex> obs_names_, var_names_;
};

// ---- predicates

template <typename T>
bool CompareOp(Predicate::Op op, T a, T b) {
  switch (op) {
    case Predicate::Op::kEq: return a == b;
    case Predicate::Op::kNe: return a != b;
    case Predicate::Op::kLt: return a < b;
    case Predicate::Op::kLe: return a <= b;
    case Predicate::Op::kGt: return a > b;
    case Predicate::Op::kGe: return a >= b;
    default: return false;
  }
}

// out[i] |= (x[i] OP b) ? kTrue : kFalse, with the operator chosen once
// outside the loop so the loop vectorizes.
template <typename T, typename U>
void CompareInto(Predicate::Op op, const T* x, size_t n, U b, uint8_t* out) {
  auto run = [&](auto cmp) {
    for (size_t i = 0; i < n; ++i) out[i] |= cmp(static_cast<U>(x[i]), b) ? kTrue : kFalse;
  };
  switch (op) {
    case Predicate::Op::kEq: run(std::equal_to<U>()); break;
    case Predicate::Op::kNe: run(std::not_equal_to<U>()); break;
    case Predicate::Op::kLt: run(std::less<U>()); break;
    case Predicate::Op::kLe: run(std::less_equal<U>()); break;
    case Predicate::Op::kGt: run(std::greater<U>()); break;
    case Predicate::Op::kGe: run(std::greater_equal<U>()); break;
    default: break;
  }
}

std::string ValueText(const Predicate::Value& v) {
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&v)) return std::to_string(*d);
  if (auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  return "'" + std::get<std::string>(v) + "'";
}

Result<double> AsNumber(const Predicate::Value& v, const std::string& column) {
  if (auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (auto* d = std::get_if<double>(&v)) return *d;
  if (auto* b = std::get_if<bool>(&v)) return *b ? 1.0 : 0.0;
  return Status::InvalidArgument("column \"" + column + "\" is numeric; cannot compare it with " + ValueText(v));
}

Status DatasetImpl::Evaluate(const TableEntry& t, const char* which, const Predicate& p, size_t depth,
                             std::vector<uint8_t>* out) const {
  using Op = Predicate::Op;
  if (depth > 64) return Status::InvalidArgument("conditions nested deeper than 64");
  if (p.op == Op::kAnd || p.op == Op::kOr) {
    if (p.children.empty()) {
      out->assign(t.n_rows, p.op == Op::kAnd ? kTrue : kFalse);
      return Status::OK();
    }
    SLAF_RETURN_IF_ERROR(Evaluate(t, which, p.children[0], depth + 1, out));
    std::vector<uint8_t>& m = MaskBuffer(depth + 1);
    for (size_t k = 1; k < p.children.size(); ++k) {
      SLAF_RETURN_IF_ERROR(Evaluate(t, which, p.children[k], depth + 2, &m));
      uint8_t* a = out->data();
      const uint8_t* b = m.data();
      if (p.op == Op::kAnd) {
        for (size_t i = 0; i < out->size(); ++i) a[i] = std::min(a[i], b[i]);
      } else {
        for (size_t i = 0; i < out->size(); ++i) a[i] = std::max(a[i], b[i]);
      }
    }
    return Status::OK();
  }
  if (p.op == Op::kNot) {
    if (p.children.size() != 1) return Status::InvalidArgument("NOT takes exactly one condition");
    SLAF_RETURN_IF_ERROR(Evaluate(t, which, p.children[0], depth + 1, out));
    for (uint8_t& x : *out) x = static_cast<uint8_t>(kTrue - x);
    return Status::OK();
  }
  return EvaluateLeaf(t, which, p, out);
}

Status DatasetImpl::EvaluateLeaf(const TableEntry& t, const char* which, const Predicate& p,
                                 std::vector<uint8_t>* out_mask) const {
  using Op = Predicate::Op;
  SLAF_ASSIGN_OR_RETURN(const ColumnSchema* schema, Schema(t, which, p.column));
  thread_local Column col;  // reused: see Select
  SLAF_RETURN_IF_ERROR(ReadColumn(t, *schema, &col));
  const uint64_t n = col.n_rows;
  out_mask->resize(n);
  uint8_t* out = out_mask->data();
  if (p.op == Op::kIsNull || p.op == Op::kIsNotNull) {
    const bool want_null = p.op == Op::kIsNull;
    for (uint64_t i = 0; i < n; ++i) out[i] = col.is_null(i) == want_null ? kTrue : kFalse;
    return Status::OK();
  }
  if (p.op == Op::kIn ? p.values.empty() : p.values.size() != 1) {
    return Status::InvalidArgument("condition on \"" + p.column + "\" needs " + (p.op == Op::kIn ? "at least one value" : "one value"));
  }
  const Op op = p.op == Op::kIn ? Op::kEq : p.op;
  std::fill(out, out + n, kFalse);
  switch (col.type) {
    case ColumnType::kInt64: {
      // Exact integer comparison when the literal is an integer.
      for (const Predicate::Value& v : p.values) {
        if (const int64_t* iv = std::get_if<int64_t>(&v)) {
          CompareInto(op, col.ints.data(), n, *iv, out);
        } else {
          SLAF_ASSIGN_OR_RETURN(double b, AsNumber(v, p.column));
          CompareInto(op, col.ints.data(), n, b, out);
        }
      }
      break;
    }
    case ColumnType::kFloat64:
    case ColumnType::kBool: {
      for (const Predicate::Value& v : p.values) {
        SLAF_ASSIGN_OR_RETURN(double b, AsNumber(v, p.column));
        if (col.type == ColumnType::kFloat64) {
          CompareInto(op, col.doubles.data(), n, b, out);
        } else {
          CompareInto(op, col.bools.data(), n, b, out);
        }
      }
      break;
    }
    case ColumnType::kString:
    case ColumnType::kCategorical: {
      std::vector<std::string_view> lits;
      for (const Predicate::Value& v : p.values) {
        const std::string* s = std::get_if<std::string>(&v);
        if (!s) return Status::InvalidArgument("column \"" + p.column + "\" holds strings; cannot compare it with " + ValueText(v));
        lits.push_back(*s);
      }
      auto match = [&](std::string_view x) {
        for (std::string_view l : lits) if (CompareOp(op, x, l)) return true;
        return false;
      };
      if (col.type == ColumnType::kCategorical) {
        // Decide once per category, then map codes.
        std::vector<uint8_t> cat(col.categories.size());
        for (size_t k = 0; k < cat.size(); ++k) cat[k] = match(col.categories[k]) ? kTrue : kFalse;
        for (uint64_t i = 0; i < n; ++i) out[i] = cat[col.codes[i]];
      } else {
        for (uint64_t i = 0; i < n; ++i) out[i] = match(col.str(i)) ? kTrue : kFalse;
      }
      break;
    }
  }
  if (!col.valid.empty()) {
    for (uint64_t i = 0; i < n; ++i) if (!col.valid[i]) out[i] = kUnknown;
  }
  // NaN compares false (and != true) like IEEE; SQL engines differ, so the
  // spec of Predicate follows C++.
  return Status::OK();
}

// ---- iteration and aggregates

class BlockIterator final : public CellBlockIterator {
 public:
  BlockIterator(const DatasetImpl* ds, std::vector<uint64_t> cells, uint32_t block, std::string layer)
      : ds_(ds), cells_(std::move(cells)), block_(block), layer_(std::move(layer)) {}
  Result<bool> Next(CsrMatrix* out, std::vector<uint64_t>* ids) override {
    const uint64_t total = cells_.empty() ? ds_->n_cells() : cells_.size();
    if (pos_ >= total) return false;
    const uint64_t end = std::min<uint64_t>(total, pos_ + block_);
    ids->clear();
    if (cells_.empty()) {
      SLAF_RETURN_IF_ERROR(ds_->ReadCellRange(pos_, end, out, layer_));
      for (uint64_t c = pos_; c < end; ++c) ids->push_back(c);
    } else {
      std::span<const uint64_t> part(cells_.data() + pos_, end - pos_);
      SLAF_RETURN_IF_ERROR(ds_->ReadCells(part, {}, out, layer_));
      ids->assign(part.begin(), part.end());
    }
    pos_ = end;
    return true;
  }

 private:
  const DatasetImpl* ds_;
  std::vector<uint64_t> cells_;
  uint32_t block_;
  std::string layer_;
  uint64_t pos_ = 0;
};

Result<std::unique_ptr<CellBlockIterator>> DatasetImpl::IterateCells(std::vector<uint64_t> cells, uint32_t block_cells,
                                                                     const std::string& layer) const {
  if (block_cells == 0) return Status::InvalidArgument("block size must be at least one cell");
  SLAF_RETURN_IF_ERROR(Matrix(layer).status());
  for (uint64_t c : cells) {
    if (c >= m_.n_cells) return Status::InvalidArgument("cell id " + std::to_string(c) + " is out of range");
  }
  return std::unique_ptr<CellBlockIterator>(new BlockIterator(this, std::move(cells), block_cells, layer));
}

Result<AxisStats> DatasetImpl::Stats(std::span<const uint64_t> cells, const std::string& layer, bool per_gene) const {
  SLAF_ASSIGN_OR_RETURN(const MatrixEntry* mx, Matrix(layer));
  AxisStats st;
  const size_t width = per_gene ? m_.n_genes : (cells.empty() ? m_.n_cells : cells.size());
  st.n = per_gene ? (cells.empty() ? m_.n_cells : cells.size()) : m_.n_genes;
  st.nnz.assign(width, 0);
  st.sum.assign(width, 0.0);
  st.sum_sq.assign(width, 0.0);
  // Accumulates a block whose row r is output slot slot0 + r (per cell).
  auto add = [&](const CsrMatrix& b, uint64_t slot0) {
    for (uint64_t r = 0; r < b.n_rows; ++r) {
      uint64_t nz = 0;
      double s = 0, s2 = 0;
      for (uint64_t k = b.indptr[r]; k < b.indptr[r + 1]; ++k) {
        const double v = b.value(k);
        if (per_gene) {
          const uint32_t g = b.indices[k];
          st.nnz[g] += 1;
          st.sum[g] += v;
          st.sum_sq[g] += v * v;
        } else {
          ++nz;
          s += v;
          s2 += v * v;
        }
      }
      if (!per_gene) {
        st.nnz[slot0 + r] += nz;
        st.sum[slot0 + r] += s;
        st.sum_sq[slot0 + r] += s2;
      }
    }
  };
  thread_local CsrMatrix block;  // reused: regrowing it per call costs more than the sums
  if (cells.empty()) {
    // Full pass: stream every segment; per-cell stats need no gene ids.
    for (const SegmentRef& ref : mx->segments) {
      SLAF_ASSIGN_OR_RETURN(std::shared_ptr<SegmentReader> r, Segment(ref, mx->value_type));
      ScanOptions so;
      so.want_indices = true;
      so.sorted_indices = false;  // order within a row does not matter here
      SLAF_ASSIGN_OR_RETURN(std::unique_ptr<SegmentScanner> scan, r->Scan(so));
      uint64_t first = 0;
      while (true) {
        SLAF_ASSIGN_OR_RETURN(bool more, scan->Next(&block, &first));
        if (!more) break;
        add(block, ref.first_cell + first);
      }
    }
    return st;
  }
  constexpr size_t kBlock = 512;
  for (size_t i = 0; i < cells.size(); i += kBlock) {
    const size_t e = std::min(cells.size(), i + kBlock);
    SLAF_RETURN_IF_ERROR(ReadCells(cells.subspan(i, e - i), {}, &block, layer));
    add(block, i);
  }
  return st;
}

// ---- scans

// Scans a row range across a list of segments that tile the rows: the
// cell-major segments (rows = cells) or the gene index (rows = genes).
class MatrixScannerImpl final : public MatrixScanner {
 public:
  struct Part {
    uint64_t first = 0, n = 0;
  };
  MatrixScannerImpl(std::vector<Part> parts, uint64_t total_rows, ScanOptions o,
                    std::function<Result<std::shared_ptr<SegmentReader>>(size_t)> open)
      : parts_(std::move(parts)), total_(total_rows), o_(std::move(o)), open_(std::move(open)) {
    auto it = std::upper_bound(parts_.begin(), parts_.end(), o_.row_begin, [](uint64_t c, const Part& p) { return c < p.first; });
    seg_ = o_.row_begin < total_ && it != parts_.begin() ? static_cast<size_t>(it - parts_.begin()) - 1 : parts_.size();
  }
  Result<bool> Next(CsrMatrix* block, uint64_t* first_cell) override {
    const uint64_t end = std::min<uint64_t>(o_.row_end, total_);
    while (true) {
      if (!cur_) {
        if (seg_ >= parts_.size() || o_.row_begin >= end) return false;
        const Part& ref = parts_[seg_];
        if (ref.first >= end) return false;
        if (ref.n == 0) {
          ++seg_;
          continue;
        }
        ScanOptions so = o_;
        so.row_begin = o_.row_begin > ref.first ? o_.row_begin - ref.first : 0;
        so.row_end = std::min<uint64_t>(end, ref.first + ref.n) - ref.first;
        if (!o_.rows.empty()) {  // the selected rows of this segment, made local
          so.rows.clear();
          auto a = std::lower_bound(o_.rows.begin(), o_.rows.end(), ref.first + so.row_begin);
          auto b = std::lower_bound(a, o_.rows.end(), ref.first + so.row_end);
          for (auto it = a; it != b; ++it) so.rows.push_back(*it - ref.first);
          if (so.rows.empty()) {
            ++seg_;
            continue;
          }
        }
        SLAF_ASSIGN_OR_RETURN(reader_, open_(seg_));
        SLAF_ASSIGN_OR_RETURN(cur_, reader_->Scan(std::move(so)));
      }
      uint64_t first = 0;
      SLAF_ASSIGN_OR_RETURN(bool more, cur_->Next(block, &first));
      if (more) {
        *first_cell = parts_[seg_].first + first;
        return true;
      }
      const ScanStats& s = cur_->stats();
      done_.chunks_total += s.chunks_total;
      done_.chunks_read += s.chunks_read;
      done_.chunks_skipped += s.chunks_skipped;
      done_.bytes_read += s.bytes_read;
      cur_.reset();
      ++seg_;
    }
  }
  const std::vector<uint32_t>& stored_to_original() const override {
    static const std::vector<uint32_t> kIdentity;
    return reader_ ? reader_->info().stored_to_original : kIdentity;
  }
  ScanStats stats() const override {
    ScanStats s = done_;
    if (cur_) {
      s.chunks_total += cur_->stats().chunks_total;
      s.chunks_read += cur_->stats().chunks_read;
      s.chunks_skipped += cur_->stats().chunks_skipped;
      s.bytes_read += cur_->stats().bytes_read;
    }
    return s;
  }

 private:
  std::vector<Part> parts_;
  uint64_t total_;
  ScanOptions o_;
  std::function<Result<std::shared_ptr<SegmentReader>>(size_t)> open_;
  size_t seg_ = 0;
  std::shared_ptr<SegmentReader> reader_;
  std::unique_ptr<SegmentScanner> cur_;
  ScanStats done_;
};

Result<std::unique_ptr<MatrixScanner>> DatasetImpl::ScanMatrix(const ScanOptions& options, const std::string& layer) const {
  SLAF_ASSIGN_OR_RETURN(const MatrixEntry* mx, Matrix(layer));
  for (uint32_t g : options.columns) {
    if (g >= m_.n_genes) return Status::InvalidArgument("gene id " + std::to_string(g) + " is out of range");
  }
  std::vector<MatrixScannerImpl::Part> parts;
  for (const SegmentRef& ref : mx->segments) parts.push_back({ref.first_cell, ref.n_cells});
  auto open = [this, mx](size_t s) { return Segment(mx->segments[s], mx->value_type); };
  return std::unique_ptr<MatrixScanner>(new MatrixScannerImpl(std::move(parts), m_.n_cells, options, open));
}

Result<std::unique_ptr<MatrixScanner>> DatasetImpl::ScanGeneIndex(const ScanOptions& options, const std::string& layer) const {
  SLAF_ASSIGN_OR_RETURN(const MatrixEntry* mx, Matrix(layer));
  if (!mx->gene_index) return Status::NotFound("matrix '" + (layer.empty() ? std::string("X") : layer) + "' of version " + std::to_string(m_.version) + " has no gene index");
  const GeneIndexEntry* gi = &*mx->gene_index;
  for (uint32_t c : options.columns) {
    if (c >= gi->n_cells) return Status::InvalidArgument("cell id " + std::to_string(c) + " is not in the gene index");
  }
  std::vector<MatrixScannerImpl::Part> parts;
  for (const GeneSegmentRef& ref : gi->segments) parts.push_back({ref.first_gene, ref.n_genes});
  auto open = [this, gi, mx](size_t s) { return GeneSegment(gi->segments[s], gi->n_cells, mx->value_type); };
  return std::unique_ptr<MatrixScanner>(new MatrixScannerImpl(std::move(parts), m_.n_genes, options, open));
}

// ---- genes

Result<CsrMatrix> DatasetImpl::ReadGenes(std::span<const uint32_t> genes, const std::string& layer) const {
  SLAF_ASSIGN_OR_RETURN(const MatrixEntry* mx, Matrix(layer));
  for (uint32_t g : genes) {
    if (g >= m_.n_genes) {
      return Status::InvalidArgument("gene id " + std::to_string(g) + " is out of range (the dataset has " +
                                     std::to_string(m_.n_genes) + " genes)");
    }
  }
  if (m_.n_cells > UINT32_MAX) {
    return Status::NotSupported("ReadGenes returns cells as columns: at most 2^32 - 1 cells, version " + std::to_string(m_.version) +
                                " has " + std::to_string(m_.n_cells));
  }
  const ValueType type = mx->value_type;
  const bool is_int = type == ValueType::kUInt32;
  // Distinct genes in id order: each is read once, then copied to every
  // output row that asks for it.
  std::vector<uint32_t> distinct(genes.begin(), genes.end());
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  auto slot_of = [&](uint32_t g) { return static_cast<size_t>(std::lower_bound(distinct.begin(), distinct.end(), g) - distinct.begin()); };

  // Cells [0, indexed) from the gene index: row k of `head` is distinct[k].
  const GeneIndexEntry* gi = mx->gene_index ? &*mx->gene_index : nullptr;
  const uint64_t indexed = gi ? gi->n_cells : 0;
  CsrMatrix head, part;
  head.Clear(static_cast<uint32_t>(indexed), type);
  if (gi) {
    size_t k = 0;
    std::vector<uint64_t> local;
    for (const GeneSegmentRef& ref : gi->segments) {
      local.clear();
      for (; k < distinct.size() && distinct[k] < ref.first_gene + ref.n_genes; ++k) local.push_back(distinct[k] - ref.first_gene);
      if (local.empty()) continue;
      SLAF_ASSIGN_OR_RETURN(std::shared_ptr<SegmentReader> r, GeneSegment(ref, indexed, type));
      SLAF_RETURN_IF_ERROR(r->ReadRowList(local, &part));
      engine::AppendCsr(part, &head);
    }
  }

  // Cells [indexed, n_cells) from the cell-major segments, gene by gene;
  // values as raw bits. Segments and rows come in cell order, so each gene's
  // cells are ascending.
  std::vector<std::vector<uint32_t>> tail_cells(distinct.size()), tail_bits(distinct.size());
  if (indexed < m_.n_cells && !distinct.empty()) {
    CsrMatrix block;
    for (size_t s = SegmentOf(*mx, indexed); s < mx->segments.size(); ++s) {
      const SegmentRef& ref = mx->segments[s];
      if (ref.n_cells == 0) continue;
      SLAF_ASSIGN_OR_RETURN(std::shared_ptr<SegmentReader> r, Segment(ref, type));
      ScanOptions so;
      so.row_begin = indexed > ref.first_cell ? indexed - ref.first_cell : 0;
      so.sorted_indices = false;  // entries go to per-gene lists
      if (distinct.size() < m_.n_genes) so.columns = distinct;
      SLAF_ASSIGN_OR_RETURN(std::unique_ptr<SegmentScanner> scan, r->Scan(so));
      uint64_t first = 0;
      while (true) {
        SLAF_ASSIGN_OR_RETURN(bool more, scan->Next(&block, &first));
        if (!more) break;
        for (uint64_t row = 0; row < block.n_rows; ++row) {
          const uint32_t cell = static_cast<uint32_t>(ref.first_cell + first + row);
          for (uint64_t e = block.indptr[row]; e < block.indptr[row + 1]; ++e) {
            const size_t slot = slot_of(block.indices[e]);
            tail_cells[slot].push_back(cell);
            tail_bits[slot].push_back(is_int ? block.counts[e] : std::bit_cast<uint32_t>(block.floats[e]));
          }
        }
      }
    }
  }

  CsrMatrix out;
  out.Clear(static_cast<uint32_t>(m_.n_cells), type);
  for (uint32_t g : genes) {
    const size_t slot = slot_of(g);
    if (gi) {
      const uint64_t b = head.indptr[slot], e = head.indptr[slot + 1];
      out.indices.insert(out.indices.end(), head.indices.begin() + b, head.indices.begin() + e);
      if (is_int) out.counts.insert(out.counts.end(), head.counts.begin() + b, head.counts.begin() + e);
      else out.floats.insert(out.floats.end(), head.floats.begin() + b, head.floats.begin() + e);
    }
    out.indices.insert(out.indices.end(), tail_cells[slot].begin(), tail_cells[slot].end());
    for (uint32_t bits : tail_bits[slot]) {
      if (is_int) out.counts.push_back(bits);
      else out.floats.push_back(std::bit_cast<float>(bits));
    }
    out.indptr.push_back(out.indices.size());
    ++out.n_rows;
  }
  return out;
}

// ---- verification

enum Role { kSegmentRole, kTableRole, kDenseRole };

Status DatasetImpl::VerifyFile(const FileRef& f, int role, VerifyReport* report, uint64_t* done, uint64_t total,
                               const std::function<void(uint64_t, uint64_t)>& progress) const {
  SLAF_ASSIGN_OR_RETURN(std::shared_ptr<io::RandomAccessFile> file, OpenFile(f));
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset_withSeed(state, 0);
  std::vector<uint8_t> buf(4 << 20);
  Status s;
  for (uint64_t off = 0; off < f.size && s.ok();) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), f.size - off));
    s = file->ReadAt(off, n, buf.data());
    if (s.ok()) XXH3_64bits_update(state, buf.data(), n);
    off += n;
    *done += n;
    if (progress) progress(*done, total);
  }
  const uint64_t h = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  SLAF_RETURN_IF_ERROR(s);
  report->bytes_checked += f.size;
  if (h != f.xxh3) {
    char buf2[80];
    std::snprintf(buf2, sizeof buf2, "xxh3 of the whole file is %016llx, the manifest says %016llx",
                  static_cast<unsigned long long>(h), static_cast<unsigned long long>(f.xxh3));
    return Status::Corruption(Where(f) + ": " + buf2);
  }
  if (role == kSegmentRole) {
    SLAF_ASSIGN_OR_RETURN(std::unique_ptr<SegmentReader> r, SegmentReader::Open(file));
    return r->VerifyAll();
  }
  if (role == kTableRole) {
    SLAF_ASSIGN_OR_RETURN(std::unique_ptr<TableReader> r, TableReader::Open(file));
    return r->VerifyAll();
  }
  SLAF_ASSIGN_OR_RETURN(std::unique_ptr<DenseReader> r, DenseReader::Open(file));
  return r->VerifyAll();
}

VerifyReport DatasetImpl::Verify(const std::function<void(uint64_t, uint64_t)>& progress) const {
  VerifyReport report;
  std::vector<std::pair<const FileRef*, int>> files;
  for (const SegmentRef& s : m_.x.segments) files.push_back({&s, kSegmentRole});
  for (const auto& [_, l] : m_.layers) for (const SegmentRef& s : l.segments) files.push_back({&s, kSegmentRole});
  for (const auto* mx : Matrices()) {
    if (mx->gene_index) for (const GeneSegmentRef& s : mx->gene_index->segments) files.push_back({&s, kSegmentRole});
  }
  for (const TableFileRef& f : m_.obs.files) files.push_back({&f, kTableRole});
  for (const TableFileRef& f : m_.var.files) files.push_back({&f, kTableRole});
  for (const auto& [_, d] : m_.obsm) files.push_back({&d, kDenseRole});
  for (const auto& [_, d] : m_.varm) files.push_back({&d, kDenseRole});
  uint64_t total = 0, done = 0;
  for (const auto& [f, _] : files) total += f->size;
  for (const auto& [f, role] : files) {
    const uint64_t before = done;
    Status s = VerifyFile(*f, role, &report, &done, total, progress);
    done = before + f->size;
    ++report.files_checked;
    if (!s.ok()) report.problems.push_back(f->path + ": " + s.ToString());
  }
  // Segments also have to agree with the manifest on shape and counts.
  auto note = [&](const std::string& path, const Status& s) {
    if (s.ok() || s.IsNotFound()) return;
    const std::string line = path + ": " + s.ToString();
    if (std::find(report.problems.begin(), report.problems.end(), line) == report.problems.end()) report.problems.push_back(line);
  };
  for (const auto* mx : Matrices()) {
    for (const SegmentRef& ref : mx->segments) note(ref.path, Segment(ref, mx->value_type).status());
    if (!mx->gene_index) continue;
    for (const GeneSegmentRef& ref : mx->gene_index->segments) {
      note(ref.path, GeneSegment(ref, mx->gene_index->n_cells, mx->value_type).status());
    }
  }
  return report;
}

}  // namespace

Result<std::unique_ptr<Dataset>> Dataset::Open(const std::string& uri, const OpenOptions& options) {
  SLAF_ASSIGN_OR_RETURN(std::shared_ptr<io::ObjectStore> store, OpenStore(uri, /*create=*/false));
  return Open(std::move(store), options);
}

Result<std::unique_ptr<Dataset>> Dataset::Open(std::shared_ptr<io::ObjectStore> store, const OpenOptions& options) {
  uint64_t v = 0;
  if (options.version) {
    v = *options.version;
    if (v == 0) return Status::InvalidArgument("versions start at 1");
  } else {
    if (!options.as_of_ms) {
      SLAF_ASSIGN_OR_RETURN(std::optional<Manifest> hinted, LatestByHint(store.get()));
      if (hinted) return std::unique_ptr<Dataset>(new DatasetImpl(std::move(store), std::move(*hinted)));
    }
    SLAF_ASSIGN_OR_RETURN(v, LatestVersion(store.get()));
    if (v == 0) return Status::NotFound(store->location() + ": not a slaf dataset (no _versions/ manifests)");
  }
  if (!options.version && options.as_of_ms) {
    // Walk back from the newest to the first version committed in time.
    while (true) {
      Result<Manifest> m = ReadManifest(store.get(), v);
      if (m.ok() && m->timestamp_ms <= *options.as_of_ms) {
        return std::unique_ptr<Dataset>(new DatasetImpl(std::move(store), std::move(*m)));
      }
      if (!m.ok() && !m.status().IsNotFound()) return m.status();
      if (v == 1 || (m.ok() && m->parent == 0)) {
        return Status::NotFound(store->location() + ": no version was committed at or before " +
                                FormatTimestamp(*options.as_of_ms));
      }
      v = m.ok() ? m->parent : v - 1;
    }
  }
  SLAF_ASSIGN_OR_RETURN(Manifest m, ReadManifest(store.get(), v));
  return std::unique_ptr<Dataset>(new DatasetImpl(std::move(store), std::move(m)));
}

}  // namespace slaf
