// Manifest JSON (format-spec §9): writing with JsonWriter, reading with
// simdjson's DOM parser plus the strictness rules of §9.3.
#include "slaf/manifest.h"

#include <simdjson.h>

#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <set>

#include "slaf/json_writer.h"
#include "slaf/store.h"

namespace slaf {

namespace {

constexpr size_t kMaxManifestBytes = 64ull << 20;
constexpr size_t kMaxDepth = 64;
constexpr uint64_t kMaxJsonInt = 1ull << 53;

std::string Hex16(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

const char* ValueTypeName(ValueType t) { return t == ValueType::kUInt32 ? "uint32" : "float32"; }
const char* DenseTypeName(DenseType t) { return t == DenseType::kFloat32 ? "float32" : "float64"; }

void WriteFileRef(JsonWriter& w, const FileRef& f) {
  w.Key("path").String(f.path).Key("size").Uint(f.size).Key("xxh3").String(Hex16(f.xxh3));
}

void WriteMatrix(JsonWriter& w, const MatrixEntry& m) {
  w.BeginObject().Key("value_type").String(ValueTypeName(m.value_type)).Key("segments").BeginArray();
  for (const SegmentRef& s : m.segments) {
    w.BeginObject();
    WriteFileRef(w, s);
    w.Key("first_cell").Uint(s.first_cell).Key("n_cells").Uint(s.n_cells).Key("nnz").Uint(s.nnz).EndObject();
  }
  w.EndArray();
  if (m.gene_index) {  // format 1.1
    w.Key("gene_index").BeginObject().Key("n_cells").Uint(m.gene_index->n_cells).Key("segments").BeginArray();
    for (const GeneSegmentRef& s : m.gene_index->segments) {
      w.BeginObject();
      WriteFileRef(w, s);
      w.Key("first_gene").Uint(s.first_gene).Key("n_genes").Uint(s.n_genes).Key("nnz").Uint(s.nnz).EndObject();
    }
    w.EndArray().EndObject();
  }
  w.EndObject();
}

void WriteTable(JsonWriter& w, const TableEntry& t) {
  w.BeginObject().Key("n_rows").Uint(t.n_rows).Key("index").String(t.index_column).Key("files").BeginArray();
  for (const TableFileRef& f : t.files) {
    w.BeginObject();
    WriteFileRef(w, f);
    w.Key("first_row").Uint(f.first_row).Key("n_rows").Uint(f.n_rows).EndObject();
  }
  w.EndArray().Key("columns").BeginArray();
  for (const ColumnSchema& c : t.columns) {
    w.BeginObject().Key("name").String(c.name).Key("type").String(ColumnTypeName(c.type));
    if (c.type == ColumnType::kCategorical) {
      w.Key("categories").BeginArray();
      for (const std::string& s : c.categories) w.String(s);
      w.EndArray();
    }
    w.Key("files").BeginArray();
    for (uint32_t i : c.files) w.Uint(i);
    w.EndArray().EndObject();
  }
  w.EndArray().EndObject();
}

void WriteDenseMap(JsonWriter& w, const std::map<std::string, DenseEntry>& m) {
  w.BeginObject();
  for (const auto& [name, d] : m) {
    w.Key(name).BeginObject();
    WriteFileRef(w, d);
    w.Key("n_rows").Uint(d.n_rows).Key("n_cols").Uint(d.n_cols).Key("dtype").String(DenseTypeName(d.type)).EndObject();
  }
  w.EndObject();
}

// ---- parsing ----

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

// format-spec §9.3: rules over the whole document. Returns false and fills
// `what` and `path` (a JSONPath suffix, built only on failure) at the first
// violation. `depth` counts the containers enclosing and including `e`
// (the root object is at depth 1). Inside `uns` integers may be negative.
bool CheckTree(element e, size_t depth, bool in_uns, std::string* path, std::string* what) {
  switch (e.type()) {
    case element_type::OBJECT: {
      if (depth > kMaxDepth) return *what = "nesting deeper than 64", false;
      std::set<std::string_view> keys;
      for (auto field : object(e)) {
        const std::string_view key = field.key;
        if (key.find('\0') != std::string_view::npos) return *what = "key contains NUL", false;
        if (!keys.insert(key).second) return *what = "duplicate key \"" + std::string(key) + "\"", false;
        const bool uns = in_uns || (depth == 1 && key == "uns");
        if (!CheckTree(field.value, depth + 1, uns, path, what)) {
          *path = "." + std::string(key) + *path;
          return false;
        }
      }
      return true;
    }
    case element_type::ARRAY: {
      if (depth > kMaxDepth) return *what = "nesting deeper than 64", false;
      size_t i = 0;
      for (element x : simdjson::dom::array(e)) {
        if (!CheckTree(x, depth + 1, in_uns, path, what)) {
          *path = "[" + std::to_string(i) + "]" + *path;
          return false;
        }
        ++i;
      }
      return true;
    }
    case element_type::INT64: {
      const int64_t v = int64_t(e);
      if (v < 0 && !in_uns) return *what = "negative number " + std::to_string(v), false;
      if (v > static_cast<int64_t>(kMaxJsonInt) || v < -static_cast<int64_t>(kMaxJsonInt)) {
        return *what = "integer " + std::to_string(v) + " outside [-2^53, 2^53]", false;
      }
      return true;
    }
    case element_type::UINT64:
      return *what = "integer " + std::to_string(uint64_t(e)) + " above 2^53", false;
    case element_type::DOUBLE:
      if (double(e) < 0 && !in_uns) return *what = "negative number", false;
      return true;
    case element_type::STRING:
      if (std::string_view(e).find('\0') != std::string_view::npos) return *what = "string contains NUL", false;
      return true;
    default:
      return true;
  }
}

// Parses `json` into `*doc` with at most `max_depth` nested containers.
Status ParseJson(simdjson::dom::parser* parser, std::span<const uint8_t> json, size_t max_depth, const std::string& name,
                 const char* what, element* doc) {
  if (parser->allocate(std::max<size_t>(json.size(), 64), max_depth) != simdjson::SUCCESS) {
    return Status::IOError(name + ": cannot allocate the JSON parser");
  }
  simdjson::padded_string padded(reinterpret_cast<const char*>(json.data()), json.size());
  if (auto err = parser->parse(padded).get(*doc); err != simdjson::SUCCESS) {
    if (err == simdjson::DEPTH_ERROR) return Status::Corruption(name + ": " + what + " nests deeper than 64 (format-spec §9.3)");
    return Status::Corruption(name + ": " + what + " is not valid JSON: " + simdjson::error_message(err) + " (format-spec §9.3)");
  }
  return Status::OK();
}

class Parser {
 public:
  explicit Parser(const std::string& name) : name_(name) {}

  Status Fail(const std::string& where, const std::string& what) const {
    return Status::Corruption(name_ + ": manifest field " + where + ": " + what + " (format-spec §9.2)");
  }

  Result<element> Field(object o, const std::string& where, const char* key) const {
    element e;
    if (o[key].get(e) != simdjson::SUCCESS) return Fail(where + "." + key, "missing");
    return e;
  }
  Result<object> Obj(object o, const std::string& where, const char* key) const {
    SLAF_ASSIGN_OR_RETURN(element e, Field(o, where, key));
    object r;
    if (e.get(r) != simdjson::SUCCESS) return Fail(where + "." + key, "not an object");
    return r;
  }
  Result<uint64_t> Uint(object o, const std::string& where, const char* key) const {
    SLAF_ASSIGN_OR_RETURN(element e, Field(o, where, key));
    int64_t v;
    if (e.get(v) != simdjson::SUCCESS || v < 0) return Fail(where + "." + key, "not a non-negative integer");
    return static_cast<uint64_t>(v);
  }
  Result<std::string> Str(object o, const std::string& where, const char* key) const {
    SLAF_ASSIGN_OR_RETURN(element e, Field(o, where, key));
    std::string_view s;
    if (e.get(s) != simdjson::SUCCESS) return Fail(where + "." + key, "not a string");
    return std::string(s);
  }
  Result<simdjson::dom::array> Arr(object o, const std::string& where, const char* key) const {
    SLAF_ASSIGN_OR_RETURN(element e, Field(o, where, key));
    simdjson::dom::array a;
    if (e.get(a) != simdjson::SUCCESS) return Fail(where + "." + key, "not an array");
    return a;
  }

  Status FileRefFrom(object o, const std::string& where, FileRef* f) const {
    SLAF_ASSIGN_OR_RETURN(f->path, Str(o, where, "path"));
    SLAF_ASSIGN_OR_RETURN(f->size, Uint(o, where, "size"));
    SLAF_ASSIGN_OR_RETURN(std::string hex, Str(o, where, "xxh3"));
    if (hex.size() != 16 || hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
      return Fail(where + ".xxh3", "expected 16 lowercase hex digits, found \"" + hex + "\"");
    }
    f->xxh3 = std::stoull(hex, nullptr, 16);
    return Status::OK();
  }

  Status MatrixFrom(object o, const std::string& where, MatrixEntry* m) const {
    SLAF_ASSIGN_OR_RETURN(std::string vt, Str(o, where, "value_type"));
    if (vt == "uint32") m->value_type = ValueType::kUInt32;
    else if (vt == "float32") m->value_type = ValueType::kFloat32;
    else return Status::NotSupported(name_ + ": manifest field " + where + ".value_type: unknown value type \"" + vt + "\" (format-spec §9.2)");
    SLAF_ASSIGN_OR_RETURN(simdjson::dom::array segs, Arr(o, where, "segments"));
    size_t i = 0;
    for (element e : segs) {
      const std::string w = where + ".segments[" + std::to_string(i++) + "]";
      object so;
      if (e.get(so) != simdjson::SUCCESS) return Fail(w, "not an object");
      SegmentRef s;
      SLAF_RETURN_IF_ERROR(FileRefFrom(so, w, &s));
      SLAF_ASSIGN_OR_RETURN(s.first_cell, Uint(so, w, "first_cell"));
      SLAF_ASSIGN_OR_RETURN(s.n_cells, Uint(so, w, "n_cells"));
      SLAF_ASSIGN_OR_RETURN(s.nnz, Uint(so, w, "nnz"));
      m->segments.push_back(std::move(s));
    }
    // Optional since format 1.1 (§9.9); a 1.0 reader ignores it (unknown member).
    element gi;
    if (o["gene_index"].get(gi) == simdjson::SUCCESS) {
      const std::string gw = where + ".gene_index";
      object go;
      if (gi.get(go) != simdjson::SUCCESS) return Fail(gw, "not an object");
      GeneIndexEntry g;
      SLAF_ASSIGN_OR_RETURN(g.n_cells, Uint(go, gw, "n_cells"));
      SLAF_ASSIGN_OR_RETURN(simdjson::dom::array gsegs, Arr(go, gw, "segments"));
      i = 0;
      for (element e : gsegs) {
        const std::string w = gw + ".segments[" + std::to_string(i++) + "]";
        object so;
        if (e.get(so) != simdjson::SUCCESS) return Fail(w, "not an object");
        GeneSegmentRef s;
        SLAF_RETURN_IF_ERROR(FileRefFrom(so, w, &s));
        SLAF_ASSIGN_OR_RETURN(s.first_gene, Uint(so, w, "first_gene"));
        SLAF_ASSIGN_OR_RETURN(s.n_genes, Uint(so, w, "n_genes"));
        SLAF_ASSIGN_OR_RETURN(s.nnz, Uint(so, w, "nnz"));
        g.segments.push_back(std::move(s));
      }
      m->gene_index = std::move(g);
    }
    return Status::OK();
  }

  Status TableFrom(object o, const std::string& where, TableEntry* t) const {
    SLAF_ASSIGN_OR_RETURN(t->n_rows, Uint(o, where, "n_rows"));
    SLAF_ASSIGN_OR_RETURN(t->index_column, Str(o, where, "index"));
    SLAF_ASSIGN_OR_RETURN(simdjson::dom::array files, Arr(o, where, "files"));
    size_t i = 0;
    for (element e : files) {
      const std::string w = where + ".files[" + std::to_string(i++) + "]";
      object fo;
      if (e.get(fo) != simdjson::SUCCESS) return Fail(w, "not an object");
      TableFileRef f;
      SLAF_RETURN_IF_ERROR(FileRefFrom(fo, w, &f));
      SLAF_ASSIGN_OR_RETURN(f.first_row, Uint(fo, w, "first_row"));
      SLAF_ASSIGN_OR_RETURN(f.n_rows, Uint(fo, w, "n_rows"));
      t->files.push_back(std::move(f));
    }
    SLAF_ASSIGN_OR_RETURN(simdjson::dom::array cols, Arr(o, where, "columns"));
    i = 0;
    for (element e : cols) {
      const std::string w = where + ".columns[" + std::to_string(i++) + "]";
      object co;
      if (e.get(co) != simdjson::SUCCESS) return Fail(w, "not an object");
      ColumnSchema c;
      SLAF_ASSIGN_OR_RETURN(c.name, Str(co, w, "name"));
      SLAF_ASSIGN_OR_RETURN(std::string type, Str(co, w, "type"));
      Result<ColumnType> ct = ParseColumnType(type);
      if (!ct.ok()) return Status::NotSupported(name_ + ": manifest field " + w + ".type: unknown column type \"" + type + "\" (format-spec §9.2)");
      c.type = *ct;
      if (c.type == ColumnType::kCategorical) {
        SLAF_ASSIGN_OR_RETURN(simdjson::dom::array cats, Arr(co, w, "categories"));
        for (element x : cats) {
          std::string_view s;
          if (x.get(s) != simdjson::SUCCESS) return Fail(w + ".categories", "not a string");
          c.categories.emplace_back(s);
        }
      }
      SLAF_ASSIGN_OR_RETURN(simdjson::dom::array fidx, Arr(co, w, "files"));
      for (element x : fidx) {
        int64_t v;
        if (x.get(v) != simdjson::SUCCESS || v < 0 || static_cast<uint64_t>(v) >= t->files.size()) {
          return Fail(w + ".files", "file index out of range (table has " + std::to_string(t->files.size()) + " files)");
        }
        c.files.push_back(static_cast<uint32_t>(v));
      }
      t->columns.push_back(std::move(c));
    }
    return Status::OK();
  }

  Status DenseMapFrom(object o, const std::string& where, std::map<std::string, DenseEntry>* out) const {
    for (auto field : o) {
      const std::string w = where + "." + std::string(field.key);
      object d;
      if (field.value.get(d) != simdjson::SUCCESS) return Fail(w, "not an object");
      DenseEntry e;
      SLAF_RETURN_IF_ERROR(FileRefFrom(d, w, &e));
      SLAF_ASSIGN_OR_RETURN(e.n_rows, Uint(d, w, "n_rows"));
      SLAF_ASSIGN_OR_RETURN(uint64_t nc, Uint(d, w, "n_cols"));
      if (nc > UINT32_MAX) return Fail(w + ".n_cols", "above 2^32 - 1");
      e.n_cols = static_cast<uint32_t>(nc);
      SLAF_ASSIGN_OR_RETURN(std::string dt, Str(d, w, "dtype"));
      if (dt == "float32") e.type = DenseType::kFloat32;
      else if (dt == "float64") e.type = DenseType::kFloat64;
      else return Status::NotSupported(name_ + ": manifest field " + w + ".dtype: unknown dtype \"" + dt + "\" (format-spec §9.2)");
      (*out)[std::string(field.key)] = std::move(e);
    }
    return Status::OK();
  }

 private:
  const std::string& name_;
};

// A listed path or a name used as a directory: the key rules of §9.1.
Status CheckPath(const std::string& what, const std::string& path) {
  const Status s = io::CheckKey(path);
  if (s.ok()) return s;
  return Status::Corruption(what + ": " + s.message() + " (format-spec §9.1)");
}

// uns: a JSON object obeying §9.3 at depth 2 of the manifest, so that every
// manifest a writer produces is one that readers accept.
Status ValidateUns(const std::string& uns_json) {
  if (uns_json.size() > kMaxManifestBytes) return Status::Corruption("uns is larger than 64 MiB (format-spec §9.3)");
  simdjson::dom::parser parser;
  element doc;
  const auto bytes = std::span(reinterpret_cast<const uint8_t*>(uns_json.data()), uns_json.size());
  SLAF_RETURN_IF_ERROR(ParseJson(&parser, bytes, kMaxDepth - 1, "uns", "uns", &doc));
  if (doc.type() != element_type::OBJECT) return Status::Corruption("uns is not a JSON object (format-spec §9.2)");
  std::string path, what;
  if (!CheckTree(doc, 2, true, &path, &what)) return Status::Corruption("uns" + path + ": " + what + " (format-spec §9.3)");
  return Status::OK();
}

Status CheckCoverage(const std::string& what, uint64_t n_rows, uint64_t first, uint64_t count, uint64_t* next) {
  if (first != *next) {
    return Status::Corruption(what + " starts at row " + std::to_string(first) + ", expected " + std::to_string(*next) +
                              " (files must cover the rows in order without gaps, format-spec §9.2)");
  }
  if (count > n_rows - *next) return Status::Corruption(what + " runs past row " + std::to_string(n_rows) + " (format-spec §9.2)");
  *next += count;
  return Status::OK();
}

// format-spec §9.9, gene index: genes covered in order, cells a prefix of
// the matrix's, and (where its end is a segment boundary) the same entries.
Status ValidateGeneIndex(const std::string& name, const MatrixEntry& m, uint64_t n_cells, uint32_t n_genes) {
  const GeneIndexEntry& g = *m.gene_index;
  const std::string what = name + " gene_index";
  if (g.n_cells > n_cells) {
    return Status::Corruption(what + ": covers " + std::to_string(g.n_cells) + " cells, the matrix has " + std::to_string(n_cells) +
                              " (format-spec §9.9)");
  }
  if (g.n_cells > (1ull << 31)) {
    return Status::Corruption(what + ": covers " + std::to_string(g.n_cells) + " cells, more than the 2^31 columns a segment holds (format-spec §9.9)");
  }
  uint64_t next = 0;
  for (size_t i = 0; i < g.segments.size(); ++i) {
    const GeneSegmentRef& s = g.segments[i];
    SLAF_RETURN_IF_ERROR(CheckPath(what + " segment " + std::to_string(i), s.path));
    if (s.first_gene != next) {
      return Status::Corruption(what + " segment " + s.path + " starts at gene " + std::to_string(s.first_gene) + ", expected " +
                                std::to_string(next) + " (segments must cover the genes in order without gaps, format-spec §9.9)");
    }
    if (s.n_genes > n_genes - next) return Status::Corruption(what + " segment " + s.path + " runs past gene " + std::to_string(n_genes) + " (format-spec §9.9)");
    next += s.n_genes;
  }
  if (next != n_genes) return Status::Corruption(what + ": segments cover " + std::to_string(next) + " of " + std::to_string(n_genes) + " genes (format-spec §9.9)");
  uint64_t below = 0;
  bool boundary = g.n_cells == 0 || g.n_cells == n_cells;
  for (const SegmentRef& s : m.segments) {
    if (s.first_cell == g.n_cells) boundary = true;
    if (s.first_cell + s.n_cells <= g.n_cells) below += s.nnz;
  }
  if (boundary && below != g.nnz()) {
    return Status::Corruption(what + ": holds " + std::to_string(g.nnz()) + " entries, but the matrix's segments hold " +
                              std::to_string(below) + " in cells [0, " + std::to_string(g.n_cells) + ") (format-spec §9.9)");
  }
  return Status::OK();
}

Status ValidateMatrix(const std::string& name, const MatrixEntry& m, uint64_t n_cells, uint32_t n_genes) {
  uint64_t next = 0;
  for (size_t i = 0; i < m.segments.size(); ++i) {
    const SegmentRef& s = m.segments[i];
    SLAF_RETURN_IF_ERROR(CheckPath(name + " segment " + std::to_string(i), s.path));
    SLAF_RETURN_IF_ERROR(CheckCoverage(name + " segment " + s.path, n_cells, s.first_cell, s.n_cells, &next));
  }
  if (next != n_cells) return Status::Corruption(name + ": segments cover " + std::to_string(next) + " of " + std::to_string(n_cells) + " cells (format-spec §9.2)");
  if (m.gene_index) return ValidateGeneIndex(name, m, n_cells, n_genes);
  return Status::OK();
}

Status ValidateTable(const std::string& name, const TableEntry& t, uint64_t expected_rows) {
  if (t.n_rows != expected_rows) {
    return Status::Corruption(name + ": n_rows " + std::to_string(t.n_rows) + " differs from the shape (" +
                              std::to_string(expected_rows) + ", format-spec §9.2)");
  }
  for (const TableFileRef& f : t.files) {
    SLAF_RETURN_IF_ERROR(CheckPath(name + " file", f.path));
    if (f.first_row > t.n_rows || f.n_rows > t.n_rows - f.first_row) {
      return Status::Corruption(name + ": file " + f.path + " rows out of range (format-spec §9.2)");
    }
  }
  std::set<std::string> names;
  for (const ColumnSchema& c : t.columns) {
    if (c.name.empty() || !names.insert(c.name).second) return Status::Corruption(name + ": empty or duplicate column name \"" + c.name + "\" (format-spec §9.2)");
    // Even a table of 0 rows names a file (of 0 rows) per column, so every
    // column has a file to take its type and dictionary from.
    if (c.files.empty()) return Status::Corruption(name + " column " + c.name + ": names no file (format-spec §9.2)");
    uint64_t next = 0;
    for (uint32_t fi : c.files) {
      const TableFileRef& f = t.files[fi];
      SLAF_RETURN_IF_ERROR(CheckCoverage(name + " column " + c.name + " file " + f.path, t.n_rows, f.first_row, f.n_rows, &next));
    }
    if (next != t.n_rows) return Status::Corruption(name + " column " + c.name + ": files cover " + std::to_string(next) + " of " + std::to_string(t.n_rows) + " rows (format-spec §9.2)");
    std::set<std::string_view> cats;
    for (const std::string& s : c.categories) {
      if (!cats.insert(s).second) return Status::Corruption(name + " column " + c.name + ": duplicate category \"" + s + "\" (format-spec §9.2)");
    }
  }
  if (!t.index_column.empty()) {
    const ColumnSchema* idx = t.Find(t.index_column);
    if (!idx || idx->type != ColumnType::kString) return Status::Corruption(name + ": index column \"" + t.index_column + "\" is not a string column (format-spec §9.2)");
  }
  return Status::OK();
}

}  // namespace

uint64_t GeneIndexEntry::nnz() const {
  uint64_t n = 0;
  for (const GeneSegmentRef& s : segments) n += s.nnz;
  return n;
}

uint64_t MatrixEntry::nnz() const {
  uint64_t n = 0;
  for (const SegmentRef& s : segments) n += s.nnz;
  return n;
}

const ColumnSchema* TableEntry::Find(std::string_view name) const {
  for (const ColumnSchema& c : columns) if (c.name == name) return &c;
  return nullptr;
}

std::vector<const FileRef*> Manifest::Files() const {
  std::vector<const FileRef*> out;
  for (const SegmentRef& s : x.segments) out.push_back(&s);
  for (const auto& [_, m] : layers) for (const SegmentRef& s : m.segments) out.push_back(&s);
  if (x.gene_index) for (const GeneSegmentRef& s : x.gene_index->segments) out.push_back(&s);
  for (const auto& [_, m] : layers) {
    if (m.gene_index) for (const GeneSegmentRef& s : m.gene_index->segments) out.push_back(&s);
  }
  for (const TableFileRef& f : obs.files) out.push_back(&f);
  for (const TableFileRef& f : var.files) out.push_back(&f);
  for (const auto& [_, d] : obsm) out.push_back(&d);
  for (const auto& [_, d] : varm) out.push_back(&d);
  return out;
}

Status Manifest::Validate() const {
  if (version == 0) return Status::Corruption("version 0 is not valid (versions start at 1, format-spec §9.2)");
  if (parent >= version) return Status::Corruption("parent " + std::to_string(parent) + " is not below version " + std::to_string(version) + " (format-spec §9.2)");
  if (version > kMaxJsonInt || n_cells > kMaxJsonInt) return Status::Corruption("version or n_cells above 2^53 (format-spec §9.3)");
  if (timestamp_ms < 0 || static_cast<uint64_t>(timestamp_ms) > kMaxJsonInt) {
    return Status::Corruption("timestamp_ms " + std::to_string(timestamp_ms) + " is outside [0, 2^53] (format-spec §9.2)");
  }
  if (n_genes > (1u << 31)) return Status::Corruption("n_genes " + std::to_string(n_genes) + " is above 2^31 (format-spec §9.2)");
  SLAF_RETURN_IF_ERROR(ValidateMatrix("X", x, n_cells, n_genes));
  for (const auto& [name, m] : layers) {
    if (name == "X") return Status::Corruption("a layer may not be named \"X\" (format-spec §9.2)");
    SLAF_RETURN_IF_ERROR(CheckPath("layer name", "layers/" + name));
    SLAF_RETURN_IF_ERROR(ValidateMatrix("layer " + name, m, n_cells, n_genes));
  }
  SLAF_RETURN_IF_ERROR(ValidateTable("obs", obs, n_cells));
  SLAF_RETURN_IF_ERROR(ValidateTable("var", var, n_genes));
  for (const auto* m : {&obsm, &varm}) {
    const bool is_obs = m == &obsm;
    for (const auto& [name, d] : *m) {
      const std::string what = std::string(is_obs ? "obsm " : "varm ") + name;
      SLAF_RETURN_IF_ERROR(CheckPath(what + " name", name));
      SLAF_RETURN_IF_ERROR(CheckPath(what, d.path));
      const uint64_t want = is_obs ? n_cells : n_genes;
      if (d.n_rows != want) {
        return Status::Corruption(std::string(is_obs ? "obsm " : "varm ") + name + ": " + std::to_string(d.n_rows) +
                                  " rows, expected " + std::to_string(want) + " (format-spec §9.2)");
      }
    }
  }
  // The same file twice would be double-counted by vacuum and verify.
  std::set<std::string> paths;
  for (const FileRef* f : Files()) {
    if (!paths.insert(f->path).second) return Status::Corruption("file " + f->path + " is listed twice (format-spec §9.2)");
  }
  return ValidateUns(uns_json);
}

std::string Manifest::ToJson() const {
  JsonWriter w;
  w.BeginObject();
  w.Key("format").String("slaf-dataset");
  // The lowest minor version whose members this manifest uses (format-spec
  // §9.2, versioning): 1.0 readers read it all when there is no gene index.
  bool uses_1_1 = x.gene_index.has_value();
  for (const auto& [_, m] : layers) uses_1_1 = uses_1_1 || m.gene_index.has_value();
  w.Key("format_version").BeginArray().Uint(kDatasetFormatMajor).Uint(uses_1_1 ? 1 : 0).EndArray();
  w.Key("version").Uint(version);
  w.Key("parent").Uint(parent);
  w.Key("timestamp_ms").Int(timestamp_ms);
  w.Key("timestamp").String(FormatTimestamp(timestamp_ms));
  w.Key("operation").String(operation);
  w.Key("message").String(message);
  w.Key("shape").BeginArray().Uint(n_cells).Uint(n_genes).EndArray();
  w.Key("X");
  WriteMatrix(w, x);
  w.Key("layers").BeginObject();
  for (const auto& [name, m] : layers) {
    w.Key(name);
    WriteMatrix(w, m);
  }
  w.EndObject();
  w.Key("obs");
  WriteTable(w, obs);
  w.Key("var");
  WriteTable(w, var);
  w.Key("obsm");
  WriteDenseMap(w, obsm);
  w.Key("varm");
  WriteDenseMap(w, varm);
  w.Key("uns").Raw(uns_json);
  w.EndObject();
  return w.str() + "\n";
}

Result<Manifest> Manifest::Parse(std::span<const uint8_t> json, const std::string& name) {
  if (json.size() > kMaxManifestBytes) return Status::Corruption(name + ": manifest larger than 64 MiB (format-spec §9.3)");
  simdjson::dom::parser parser;
  element doc;
  SLAF_RETURN_IF_ERROR(ParseJson(&parser, json, kMaxDepth, name, "manifest", &doc));
  std::string path, what;
  if (!CheckTree(doc, 1, false, &path, &what)) {
    return Status::Corruption(name + ": manifest field $" + path + ": " + what + " (format-spec §9.3)");
  }
  Parser p(name);
  object root;
  if (doc.get(root) != simdjson::SUCCESS) return p.Fail("$", "not an object");
  SLAF_ASSIGN_OR_RETURN(std::string format, p.Str(root, "$", "format"));
  if (format != "slaf-dataset") return p.Fail("$.format", "expected \"slaf-dataset\", found \"" + format + "\"");
  SLAF_ASSIGN_OR_RETURN(simdjson::dom::array fv, p.Arr(root, "$", "format_version"));
  int64_t major = -1, minor = -1;
  if (fv.size() != 2 || fv.at(0).get(major) != simdjson::SUCCESS || fv.at(1).get(minor) != simdjson::SUCCESS) {
    return p.Fail("$.format_version", "expected [major, minor], two non-negative integers");
  }
  // Any minor version of a known major is readable (format-spec §9.2).
  if (major != kDatasetFormatMajor) {
    return Status::NotSupported(name + ": dataset format major version " + std::to_string(major) +
                                " is not supported (this reader implements " + std::to_string(kDatasetFormatMajor) + ", format-spec §9.3)");
  }
  Manifest m;
  SLAF_ASSIGN_OR_RETURN(m.version, p.Uint(root, "$", "version"));
  SLAF_ASSIGN_OR_RETURN(m.parent, p.Uint(root, "$", "parent"));
  SLAF_ASSIGN_OR_RETURN(uint64_t ts, p.Uint(root, "$", "timestamp_ms"));
  m.timestamp_ms = static_cast<int64_t>(ts);
  SLAF_ASSIGN_OR_RETURN(m.operation, p.Str(root, "$", "operation"));
  SLAF_ASSIGN_OR_RETURN(m.message, p.Str(root, "$", "message"));
  SLAF_ASSIGN_OR_RETURN(simdjson::dom::array shape, p.Arr(root, "$", "shape"));
  std::vector<uint64_t> dims;
  for (element e : shape) {
    int64_t v;
    if (e.get(v) != simdjson::SUCCESS || v < 0) return p.Fail("$.shape", "not two non-negative integers");
    dims.push_back(static_cast<uint64_t>(v));
  }
  if (dims.size() != 2 || dims[1] > (1ull << 31)) return p.Fail("$.shape", "expected [n_cells, n_genes] with n_genes <= 2^31");
  m.n_cells = dims[0];
  m.n_genes = static_cast<uint32_t>(dims[1]);
  SLAF_ASSIGN_OR_RETURN(object xo, p.Obj(root, "$", "X"));
  SLAF_RETURN_IF_ERROR(p.MatrixFrom(xo, "$.X", &m.x));
  SLAF_ASSIGN_OR_RETURN(object lo, p.Obj(root, "$", "layers"));
  for (auto field : lo) {
    object mo;
    const std::string w = "$.layers." + std::string(field.key);
    if (field.value.get(mo) != simdjson::SUCCESS) return p.Fail(w, "not an object");
    SLAF_RETURN_IF_ERROR(p.MatrixFrom(mo, w, &m.layers[std::string(field.key)]));
  }
  SLAF_ASSIGN_OR_RETURN(object obs, p.Obj(root, "$", "obs"));
  SLAF_RETURN_IF_ERROR(p.TableFrom(obs, "$.obs", &m.obs));
  SLAF_ASSIGN_OR_RETURN(object var, p.Obj(root, "$", "var"));
  SLAF_RETURN_IF_ERROR(p.TableFrom(var, "$.var", &m.var));
  SLAF_ASSIGN_OR_RETURN(object obsm, p.Obj(root, "$", "obsm"));
  SLAF_RETURN_IF_ERROR(p.DenseMapFrom(obsm, "$.obsm", &m.obsm));
  SLAF_ASSIGN_OR_RETURN(object varm, p.Obj(root, "$", "varm"));
  SLAF_RETURN_IF_ERROR(p.DenseMapFrom(varm, "$.varm", &m.varm));
  SLAF_ASSIGN_OR_RETURN(object uns, p.Obj(root, "$", "uns"));
  m.uns_json = simdjson::minify(uns);
  SLAF_RETURN_IF_ERROR(m.Validate().WithContext(name));
  return m;
}

std::string ManifestKey(uint64_t version) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "_versions/%020" PRIu64 ".json", version);
  return buf;
}

uint64_t VersionOfManifestKey(std::string_view key) {
  constexpr std::string_view prefix = "_versions/";
  if (key.size() != prefix.size() + 25 || key.substr(0, prefix.size()) != prefix || key.substr(key.size() - 5) != ".json") return 0;
  uint64_t v = 0;
  for (size_t i = prefix.size(); i < prefix.size() + 20; ++i) {
    const char c = key[i];
    if (c < '0' || c > '9') return 0;
    v = v * 10 + static_cast<uint64_t>(c - '0');
    if (v > (1ull << 53)) return 0;  // versions are at most 2^53 (format-spec §9.2)
  }
  return v;
}

std::string LatestHint(uint64_t version, std::string_view manifest_json) {
  std::string hint = std::to_string(version) + "\n";
  hint.append(manifest_json);
  return hint;
}

std::string FormatTimestamp(int64_t ms) {
  // Floor division, so times before 1970 print as such.
  int64_t secs = ms / 1000, millis = ms % 1000;
  if (millis < 0) {
    millis += 1000;
    secs -= 1;
  }
  const time_t t = static_cast<time_t>(secs);
  struct tm tm = {};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  return buf;
}

}  // namespace slaf
