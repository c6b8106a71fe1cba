// h5ad (AnnData on HDF5) import. Reads the encodings anndata 0.8 writes
// (encoding-type attributes: csr_matrix, csc_matrix, array, dataframe,
// categorical, string-array, nullable-integer, nullable-boolean, dict), the
// anndata 0.7 dataframe layout (categories behind an object reference) and
// the pre-0.7 one (compound datasets, categories in uns/<column>_categories),
// and plain HDF5 files with a dense /X.
#include <charconv>
#include <cmath>
#include <set>
#include <type_traits>

#include "interop/hdf_matrix.h"
#include "interop/hdf5.h"
#include "interop/source.h"
#include "slaf/json_writer.h"

namespace slaf::interop {
namespace {

using h5::File;

std::string Join(const std::string& a, const std::string& b) { return a == "/" ? "/" + b : a + "/" + b; }

Result<std::string> EncodingType(const File& f, const std::string& path) {
  SLAF_ASSIGN_OR_RETURN(std::optional<std::string> e, h5::StringAttr(f, path, "encoding-type"));
  if (e) return *e;
  // Files from anndata before 0.8 (and h5sparse) mark sparse groups this way.
  SLAF_ASSIGN_OR_RETURN(std::optional<std::string> s, h5::StringAttr(f, path, "h5sparse_format"));
  if (s) return *s + "_matrix";
  return std::string();
}

// Numbers as text for indices and categories stored as numbers.
std::string NumberText(double v) {
  if (v == std::trunc(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// A 1-D dataset of strings or numbers as strings.
Result<std::vector<std::string>> ReadAsStrings(const File& f, const std::string& ds, std::vector<std::string>* notes) {
  SLAF_ASSIGN_OR_RETURN(h5::DatasetInfo info, h5::Describe(f, ds));
  if (info.type.kind == h5::Kind::kString) return h5::ReadStrings(f, ds);
  if (info.type.kind == h5::Kind::kBool) {
    SLAF_ASSIGN_OR_RETURN(std::vector<uint8_t> v, h5::ReadAll<uint8_t>(f, ds));
    std::vector<std::string> out;
    for (uint8_t b : v) out.push_back(b ? "True" : "False");
    notes->push_back(ds + ": booleans stored as the strings True/False");
    return out;
  }
  if (info.type.kind == h5::Kind::kInt || info.type.kind == h5::Kind::kUInt || info.type.kind == h5::Kind::kFloat) {
    SLAF_ASSIGN_OR_RETURN(std::vector<double> v, h5::ReadAll<double>(f, ds));
    std::vector<std::string> out;
    out.reserve(v.size());
    for (double x : v) out.push_back(NumberText(x));
    notes->push_back(ds + ": numbers stored as strings");
    return out;
  }
  return f.Error(ds, "expected strings or numbers");
}

// One dataframe column stored as a plain dataset.
Result<Column> ReadPlainColumn(const File& f, const std::string& ds, const std::string& name, uint64_t n_rows) {
  SLAF_ASSIGN_OR_RETURN(h5::DatasetInfo info, h5::Describe(f, ds));
  if (info.dims.size() != 1 || info.dims[0] != n_rows) {
    return f.Error(ds, "column has " + (info.dims.empty() ? std::string("no") : std::to_string(info.dims[0])) +
                           " rows, the table " + std::to_string(n_rows) + " (mismatched shapes)");
  }
  switch (info.type.kind) {
    case h5::Kind::kInt:
    case h5::Kind::kUInt: {
      if (info.type.kind == h5::Kind::kUInt && info.type.size == 8) {
        SLAF_ASSIGN_OR_RETURN(std::vector<uint64_t> u, h5::ReadAll<uint64_t>(f, ds));
        for (uint64_t x : u) {
          if (x > static_cast<uint64_t>(INT64_MAX)) return f.Error(ds, "uint64 value " + std::to_string(x) + " does not fit int64");
        }
      }
      SLAF_ASSIGN_OR_RETURN(std::vector<int64_t> v, h5::ReadAll<int64_t>(f, ds));
      return Column::Int64(name, std::move(v));
    }
    case h5::Kind::kFloat: {
      SLAF_ASSIGN_OR_RETURN(std::vector<double> v, h5::ReadAll<double>(f, ds));
      return Column::Float64(name, std::move(v));
    }
    case h5::Kind::kBool: {
      SLAF_ASSIGN_OR_RETURN(std::vector<uint8_t> v, h5::ReadAll<uint8_t>(f, ds));
      for (uint8_t& b : v) b = b ? 1 : 0;
      return Column::Bool(name, std::move(v));
    }
    case h5::Kind::kString: {
      SLAF_ASSIGN_OR_RETURN(std::vector<std::string> v, h5::ReadStrings(f, ds));
      return Column::String(name, v);
    }
    default: return f.Error(ds, "unsupported column element type");
  }
}

// Categorical from codes (-1 = missing) and categories.
Result<Column> MakeCategorical(const File& f, const std::string& where, const std::string& name, std::vector<int64_t> codes,
                               std::vector<std::string> cats) {
  std::set<std::string> seen(cats.begin(), cats.end());
  if (seen.size() != cats.size()) return f.Error(where, "categories are not distinct");
  Column c = Column::Categorical(name, {}, std::move(cats));
  c.n_rows = codes.size();
  c.codes.resize(codes.size());
  for (size_t i = 0; i < codes.size(); ++i) {
    if (codes[i] == -1) {
      if (c.valid.empty()) c.valid.assign(codes.size(), 1);
      c.valid[i] = 0;
      c.codes[i] = 0;
    } else if (codes[i] < 0 || static_cast<uint64_t>(codes[i]) >= c.categories.size()) {
      return f.Error(where, "code " + std::to_string(codes[i]) + " at row " + std::to_string(i) + " has no category");
    } else {
      c.codes[i] = static_cast<uint32_t>(codes[i]);
    }
  }
  return c;
}

// A column stored as an encoded group (anndata 0.8).
Result<std::optional<Column>> ReadGroupColumn(const File& f, const std::string& g, const std::string& name, uint64_t n_rows,
                                              Source* src) {
  SLAF_ASSIGN_OR_RETURN(std::string enc, EncodingType(f, g));
  if (enc == "categorical") {
    SLAF_ASSIGN_OR_RETURN(std::vector<int64_t> codes, h5::ReadAll<int64_t>(f, Join(g, "codes")));
    if (codes.size() != n_rows) return f.Error(g, "codes have " + std::to_string(codes.size()) + " rows, the table " + std::to_string(n_rows));
    SLAF_ASSIGN_OR_RETURN(std::vector<std::string> cats, ReadAsStrings(f, Join(g, "categories"), &src->notes));
    SLAF_ASSIGN_OR_RETURN(std::optional<bool> ordered, h5::BoolAttr(f, g, "ordered"));
    if (ordered && *ordered) src->notes.push_back(g + ": ordered categorical kept as unordered (category order is kept)");
    SLAF_ASSIGN_OR_RETURN(Column c, MakeCategorical(f, g, name, std::move(codes), std::move(cats)));
    return std::optional<Column>(std::move(c));
  }
  if (enc == "nullable-integer" || enc == "nullable-boolean" || enc == "nullable-string-array") {
    const std::string values = Join(g, "values");
    SLAF_ASSIGN_OR_RETURN(Column c, ReadPlainColumn(f, values, name, n_rows));
    SLAF_ASSIGN_OR_RETURN(std::vector<uint8_t> mask, h5::ReadAll<uint8_t>(f, Join(g, "mask")));
    if (mask.size() != n_rows) return f.Error(g, "mask has " + std::to_string(mask.size()) + " rows, the table " + std::to_string(n_rows));
    c.valid.assign(n_rows, 1);
    bool any = false;
    for (uint64_t i = 0; i < n_rows; ++i) {
      if (!mask[i]) continue;
      any = true;
      c.valid[i] = 0;
      if (c.type == ColumnType::kInt64) c.ints[i] = 0;
      if (c.type == ColumnType::kBool) c.bools[i] = 0;
    }
    if (c.type == ColumnType::kString && any) {
      // Null rows hold "" (Column invariant).
      std::vector<std::string> v;
      for (uint64_t i = 0; i < n_rows; ++i) v.emplace_back(c.valid[i] ? std::string(c.str(i)) : std::string());
      std::vector<uint8_t> valid = std::move(c.valid);
      c = Column::String(name, v);
      c.valid = std::move(valid);
    }
    if (!any) c.valid.clear();
    return std::optional<Column>(std::move(c));
  }
  src->not_carried.push_back(g + ": column encoding \"" + enc + "\" is not supported");
  return std::optional<Column>();
}

// Default names of the index column; "_index" when a column already has it.
std::string IndexName(const std::string& stored, const std::string& fallback, const Table& t) {
  if (stored != "_index" && !stored.empty()) return stored;
  return t.Find(fallback) ? "_index" : fallback;
}

// A pre-0.7 dataframe: a compound dataset whose first field is the index.
Status ReadLegacyDataFrame(const File& f, const std::string& ds, const std::string& fallback_index, Table* out,
                           std::string* index, Source* src, std::set<std::string>* used_uns) {
  SLAF_ASSIGN_OR_RETURN(std::vector<h5::Field> fields, h5::CompoundFields(f, ds));
  if (fields.empty()) return f.Error(ds, "compound dataframe without fields");
  uint64_t n = 0;
  for (size_t i = 0; i < fields.size(); ++i) {
    const h5::Field& fd = fields[i];
    Column c;
    switch (fd.type.kind) {
      case h5::Kind::kString: {
        SLAF_ASSIGN_OR_RETURN(std::vector<std::string> v, h5::ReadStringField(f, ds, fd.name));
        c = Column::String(fd.name, v);
        break;
      }
      case h5::Kind::kInt:
      case h5::Kind::kUInt: {
        SLAF_ASSIGN_OR_RETURN(std::vector<int64_t> v, h5::ReadField<int64_t>(f, ds, fd.name));
        // Categorical codes with their categories in uns (anndata < 0.7).
        const std::string cats_path = "/uns/" + fd.name + "_categories";
        if (i > 0 && h5::IsDataset(f, cats_path)) {
          SLAF_ASSIGN_OR_RETURN(std::vector<std::string> cats, ReadAsStrings(f, cats_path, &src->notes));
          bool fits = true;
          for (int64_t x : v) fits = fits && x >= -1 && x < static_cast<int64_t>(cats.size());
          if (fits) {
            SLAF_ASSIGN_OR_RETURN(c, MakeCategorical(f, cats_path, fd.name, std::move(v), std::move(cats)));
            used_uns->insert(fd.name + "_categories");
            break;
          }
        }
        c = Column::Int64(fd.name, std::move(v));
        break;
      }
      case h5::Kind::kFloat: {
        SLAF_ASSIGN_OR_RETURN(std::vector<double> v, h5::ReadField<double>(f, ds, fd.name));
        c = Column::Float64(fd.name, std::move(v));
        break;
      }
      case h5::Kind::kBool: {
        SLAF_ASSIGN_OR_RETURN(std::vector<uint8_t> v, h5::ReadField<uint8_t>(f, ds, fd.name));
        for (uint8_t& b : v) b = b ? 1 : 0;
        c = Column::Bool(fd.name, std::move(v));
        break;
      }
      default:
        src->not_carried.push_back(ds + ": field " + fd.name + " has an unsupported type");
        continue;
    }
    if (i == 0) {
      if (c.type != ColumnType::kString) {
        std::vector<std::string> names;
        for (uint64_t r = 0; r < c.n_rows; ++r) names.push_back(c.type == ColumnType::kInt64 ? std::to_string(c.ints[r]) : NumberText(c.doubles[r]));
        c = Column::String(fd.name, names);
      }
      n = c.n_rows;
    }
    out->columns.push_back(std::move(c));
  }
  out->n_rows = n;
  std::string first = out->columns[0].name;
  Table rest;
  for (size_t i = 1; i < out->columns.size(); ++i) rest.columns.push_back(out->columns[i]);
  *index = IndexName(first == "index" ? "_index" : first, fallback_index, rest);
  out->columns[0].name = *index;
  return Status::OK();
}

// obs or var of an h5ad file (any layout). `index` receives the name of
// the index column.
Status ReadDataFrame(const File& f, const std::string& path, const std::string& fallback_index, Table* out, std::string* index,
                     Source* src, std::set<std::string>* used_uns) {
  if (h5::IsDataset(f, path)) return ReadLegacyDataFrame(f, path, fallback_index, out, index, src, used_uns);
  SLAF_ASSIGN_OR_RETURN(std::optional<std::string> idx_key, h5::StringAttr(f, path, "_index"));
  if (!idx_key) return f.Error(path, "dataframe without an _index attribute");
  SLAF_ASSIGN_OR_RETURN(std::vector<std::string> order, h5::StringArrayAttr(f, path, "column-order"));
  const std::string idx_path = Join(path, *idx_key);
  if (!h5::IsDataset(f, idx_path)) return f.Error(path, "index " + *idx_key + " is missing");
  SLAF_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadAsStrings(f, idx_path, &src->notes));
  const uint64_t n = names.size();
  Table t;
  t.n_rows = n;
  for (const std::string& name : order) {
    const std::string p = Join(path, name);
    if (!h5::Exists(f, p)) return f.Error(path, "column " + name + " listed in column-order is missing");
    if (h5::IsGroup(f, p)) {
      SLAF_ASSIGN_OR_RETURN(std::optional<Column> c, ReadGroupColumn(f, p, name, n, src));
      if (c) t.columns.push_back(std::move(*c));
      continue;
    }
    // anndata 0.7: categorical codes point at their categories.
    SLAF_ASSIGN_OR_RETURN(std::optional<std::string> cats_path, h5::RefAttrTarget(f, p, "categories"));
    if (cats_path) {
      SLAF_ASSIGN_OR_RETURN(std::vector<int64_t> codes, h5::ReadAll<int64_t>(f, p));
      SLAF_ASSIGN_OR_RETURN(std::vector<std::string> cats, ReadAsStrings(f, *cats_path, &src->notes));
      SLAF_ASSIGN_OR_RETURN(Column c, MakeCategorical(f, p, name, std::move(codes), std::move(cats)));
      t.columns.push_back(std::move(c));
      continue;
    }
    SLAF_ASSIGN_OR_RETURN(Column c, ReadPlainColumn(f, p, name, n));
    t.columns.push_back(std::move(c));
  }
  *index = IndexName(*idx_key, fallback_index, t);
  out->n_rows = n;
  out->columns.clear();
  out->columns.push_back(Column::String(*index, names));
  for (Column& c : t.columns) {
    if (c.name == *index) {
      src->not_carried.push_back(path + ": column " + c.name + " has the index's name; left out");
      continue;
    }
    out->columns.push_back(std::move(c));
  }
  return Status::OK();
}

// --- uns → JSON -------------------------------------------------------------

constexpr uint64_t kMaxUnsArray = 100000;

Status UnsDataset(const File& f, const std::string& path, JsonWriter* w, Source* src, bool* written) {
  SLAF_ASSIGN_OR_RETURN(h5::DatasetInfo info, h5::Describe(f, path));
  *written = false;
  if (info.dims.size() > 1) {
    src->not_carried.push_back(path + ": " + std::to_string(info.dims.size()) + "-D array in uns");
    return Status::OK();
  }
  const bool scalar = info.dims.empty();
  const uint64_t n = scalar ? 1 : info.dims[0];
  if (n > kMaxUnsArray) {
    src->not_carried.push_back(path + ": array of " + std::to_string(n) + " values is too large for uns");
    return Status::OK();
  }
  switch (info.type.kind) {
    case h5::Kind::kString: {
      // A scalar string dataset reads as a one-element array.
      SLAF_ASSIGN_OR_RETURN(std::vector<std::string> v, h5::ReadStrings(f, path));
      if (scalar && v.size() == 1) {
        w->String(v[0]);
      } else {
        w->BeginArray();
        for (const std::string& s : v) w->String(s);
        w->EndArray();
      }
      break;
    }
    case h5::Kind::kInt:
    case h5::Kind::kUInt:
    case h5::Kind::kBool: {
      std::vector<int64_t> v;
      if (info.type.kind == h5::Kind::kBool) {
        SLAF_ASSIGN_OR_RETURN(std::vector<uint8_t> b, h5::ReadAll<uint8_t>(f, path));
        if (scalar) w->Bool(b[0] != 0);
        else {
          w->BeginArray();
          for (uint8_t x : b) w->Bool(x != 0);
          w->EndArray();
        }
        break;
      }
      // JSON numbers in manifests stay within +-2^53 (format-spec §9.3):
      // larger integers are kept exactly as decimal strings.
      bool as_text = false;
      auto put = [&](auto x) {
        using T = decltype(x);
        bool big = x > static_cast<T>(int64_t{1} << 53);
        if constexpr (std::is_signed_v<T>) big = big || x < -(int64_t{1} << 53);
        if (big) {
          w->String(std::to_string(x));
          as_text = true;
        } else {
          w->Int(static_cast<int64_t>(x));
        }
      };
      if (info.type.kind == h5::Kind::kUInt && info.type.size == 8) {
        SLAF_ASSIGN_OR_RETURN(std::vector<uint64_t> u, h5::ReadAll<uint64_t>(f, path));
        if (scalar) put(u[0]);
        else {
          w->BeginArray();
          for (uint64_t x : u) put(x);
          w->EndArray();
        }
      } else {
        SLAF_ASSIGN_OR_RETURN(v, h5::ReadAll<int64_t>(f, path));
        if (scalar) put(v[0]);
        else {
          w->BeginArray();
          for (int64_t x : v) put(x);
          w->EndArray();
        }
      }
      if (as_text) src->notes.push_back(path + ": integers beyond 2^53 stored as decimal strings in uns");
      break;
    }
    case h5::Kind::kFloat: {
      SLAF_ASSIGN_OR_RETURN(std::vector<double> v, h5::ReadAll<double>(f, path));
      // JSON has no NaN or infinity: they become null, and the report says so.
      uint64_t non_finite = 0;
      for (double x : v) non_finite += !std::isfinite(x);
      if (non_finite) src->notes.push_back(path + ": " + std::to_string(non_finite) + " NaN/infinite values stored as null in uns");
      if (scalar) w->Double(v[0]);
      else {
        w->BeginArray();
        for (double x : v) w->Double(x);
        w->EndArray();
      }
      break;
    }
    default:
      src->not_carried.push_back(path + ": record array in uns");
      return Status::OK();
  }
  *written = true;
  return Status::OK();
}

Status UnsGroup(const File& f, const std::string& path, JsonWriter* w, Source* src, int depth,
                const std::set<std::string>* skip) {
  SLAF_ASSIGN_OR_RETURN(std::vector<std::string> members, h5::Members(f, path));
  w->BeginObject();
  for (const std::string& m : members) {
    if (skip && skip->count(m)) continue;
    const std::string p = Join(path, m);
    if (h5::IsGroup(f, p)) {
      SLAF_ASSIGN_OR_RETURN(std::string enc, EncodingType(f, p));
      if (!enc.empty() && enc != "dict") {
        src->not_carried.push_back(p + ": " + enc + " in uns");
        continue;
      }
      if (depth >= 32) {
        src->not_carried.push_back(p + ": nested too deep");
        continue;
      }
      w->Key(m);
      SLAF_RETURN_IF_ERROR(UnsGroup(f, p, w, src, depth + 1, nullptr));
      continue;
    }
    // Write the key only once the value is known to be carried.
    JsonWriter value(false);
    bool written = false;
    SLAF_RETURN_IF_ERROR(UnsDataset(f, p, &value, src, &written));
    if (written) w->Key(m).Raw(value.str());
  }
  w->EndObject();
  return Status::OK();
}

// --- obsm / varm --------------------------------------------------------------

Status ReadDenseMap(const File& f, const std::string& path, uint64_t n_rows, std::map<std::string, DenseMatrix>* out,
                    Source* src) {
  if (!h5::Exists(f, path)) return Status::OK();
  SLAF_ASSIGN_OR_RETURN(std::vector<std::string> members, h5::Members(f, path));
  for (const std::string& m : members) {
    const std::string p = Join(path, m);
    if (!h5::IsDataset(f, p)) {
      SLAF_ASSIGN_OR_RETURN(std::string enc, EncodingType(f, p));
      src->not_carried.push_back(p + ": " + (enc.empty() ? std::string("group") : enc) + " (only dense arrays are carried)");
      continue;
    }
    SLAF_ASSIGN_OR_RETURN(h5::DatasetInfo info, h5::Describe(f, p));
    if (info.dims.empty() || info.dims.size() > 2 || info.dims[0] != n_rows ||
        (info.type.kind != h5::Kind::kFloat && info.type.kind != h5::Kind::kInt && info.type.kind != h5::Kind::kUInt)) {
      src->not_carried.push_back(p + ": not a numeric array with one row per " + (path == "/obsm" ? "cell" : "gene"));
      continue;
    }
    DenseMatrix d;
    d.n_rows = info.dims[0];
    d.n_cols = static_cast<uint32_t>(info.dims.size() == 2 ? info.dims[1] : 1);
    if (info.type.kind == h5::Kind::kFloat && info.type.size <= 4) {
      d.type = DenseType::kFloat32;
      SLAF_ASSIGN_OR_RETURN(d.f32, h5::ReadAll<float>(f, p));
    } else {
      d.type = DenseType::kFloat64;
      SLAF_ASSIGN_OR_RETURN(d.f64, h5::ReadAll<double>(f, p));
      if (info.type.kind != h5::Kind::kFloat) src->notes.push_back(p + ": integers stored as float64");
    }
    (*out)[m] = std::move(d);
  }
  return Status::OK();
}

// X, a layer or raw/X: CSR, CSC or dense.
Result<MatrixSource> MatrixAt(std::shared_ptr<File> f, const std::string& path, uint64_t n_cells, uint32_t n_genes,
                              const ReadOptions& o) {
  const std::string what = f->path() + ": " + path;
  if (h5::IsDataset(*f, path)) return HdfDenseSource(f, path, n_cells, n_genes, what, o);
  SLAF_ASSIGN_OR_RETURN(std::string enc, EncodingType(*f, path));
  if (enc != "csr_matrix" && enc != "csc_matrix") {
    return f->Error(path, "unsupported matrix encoding \"" + enc + "\" (expected csr_matrix, csc_matrix or a dense array)");
  }
  SLAF_ASSIGN_OR_RETURN(std::vector<int64_t> shape, h5::IntArrayAttr(*f, path, "shape"));
  if (shape.size() != 2 || shape[0] != static_cast<int64_t>(n_cells) || shape[1] != static_cast<int64_t>(n_genes)) {
    std::string s;
    for (int64_t x : shape) s += (s.empty() ? "" : " x ") + std::to_string(x);
    return f->Error(path, "shape is " + s + " but obs/var give " + std::to_string(n_cells) + " x " + std::to_string(n_genes) +
                              " (mismatched shapes)");
  }
  CsrPart part{Join(path, "data"), Join(path, "indices"), Join(path, "indptr"), 0};
  if (enc == "csr_matrix") return HdfCsrSource(f, {part}, n_cells, n_genes, what, o);
  return HdfCscSource(f, part, n_cells, n_genes, what, o);
}

// Rows of X when there is no obs (plain HDF5 files): its first dimension.
Result<std::pair<uint64_t, uint64_t>> XShape(const File& f) {
  if (h5::IsDataset(f, "/X")) {
    SLAF_ASSIGN_OR_RETURN(h5::DatasetInfo info, h5::Describe(f, "/X"));
    if (info.dims.size() != 2) return f.Error("/X", "is not a 2-D array");
    return std::make_pair(info.dims[0], info.dims[1]);
  }
  SLAF_ASSIGN_OR_RETURN(std::vector<int64_t> shape, h5::IntArrayAttr(f, "/X", "shape"));
  if (shape.size() != 2 || shape[0] < 0 || shape[1] < 0) return f.Error("/X", "bad shape attribute");
  return std::make_pair(static_cast<uint64_t>(shape[0]), static_cast<uint64_t>(shape[1]));
}

Table NumberedIndex(const std::string& name, uint64_t n) {
  std::vector<std::string> v;
  v.reserve(n);
  for (uint64_t i = 0; i < n; ++i) v.push_back(std::to_string(i));
  Table t;
  t.n_rows = n;
  t.columns.push_back(Column::String(name, v));
  return t;
}

}  // namespace

Result<Source> ReadH5ad(const std::string& path, const ReadOptions& o) {
  SLAF_ASSIGN_OR_RETURN(File file, File::Open(path));
  auto f = std::make_shared<File>(std::move(file));
  Source src;
  src.format = "h5ad";
  src.keepalive = f;
  if (!h5::Exists(*f, "/X")) return f->Error("/X", "no X matrix in this file (is it an h5ad file?)");

  std::set<std::string> used_uns;
  const bool has_obs = h5::Exists(*f, "/obs"), has_var = h5::Exists(*f, "/var");
  if (has_obs) SLAF_RETURN_IF_ERROR(ReadDataFrame(*f, "/obs", "cell_id", &src.obs, &src.obs_index, &src, &used_uns));
  if (has_var) SLAF_RETURN_IF_ERROR(ReadDataFrame(*f, "/var", "gene_id", &src.var, &src.var_index, &src, &used_uns));
  if (!has_obs || !has_var) {
    // A plain HDF5 file with a matrix at /X: rows and columns are numbered.
    SLAF_ASSIGN_OR_RETURN(auto shape, XShape(*f));
    if (!has_obs) src.obs = NumberedIndex(src.obs_index, shape.first);
    if (!has_var) src.var = NumberedIndex(src.var_index, shape.second);
    src.format = "hdf5 (dense /X, no obs/var)";
    src.notes.push_back(std::string("no ") + (!has_obs ? "obs" : "var") + ": rows numbered from 0");
  }
  src.n_cells = src.obs.n_rows;
  if (src.var.n_rows >= (1ull << 31)) return f->Error("/var", "more than 2^31 genes");
  src.n_genes = static_cast<uint32_t>(src.var.n_rows);

  SLAF_ASSIGN_OR_RETURN(MatrixSource x, MatrixAt(f, "/X", src.n_cells, src.n_genes, o));
  x.what = "X";
  src.matrices.push_back(std::move(x));
  if (h5::Exists(*f, "/layers")) {
    SLAF_ASSIGN_OR_RETURN(std::vector<std::string> layers, h5::Members(*f, "/layers"));
    for (const std::string& name : layers) {
      SLAF_ASSIGN_OR_RETURN(MatrixSource m, MatrixAt(f, "/layers/" + name, src.n_cells, src.n_genes, o));
      m.what = "layers/" + name;
      m.layer = name;
      src.matrices.push_back(std::move(m));
    }
  }
  // raw: carried as the layer "raw" when it has the same genes as X.
  if (h5::Exists(*f, "/raw/X")) {
    Table raw_var;
    std::string raw_index;
    Source scratch;
    bool same = false;
    if (h5::Exists(*f, "/raw/var")) {
      SLAF_RETURN_IF_ERROR(ReadDataFrame(*f, "/raw/var", "gene_id", &raw_var, &raw_index, &scratch, &used_uns));
      same = raw_var.n_rows == src.var.n_rows && raw_var.columns[0].offsets == src.var.columns[0].offsets &&
             raw_var.columns[0].chars == src.var.columns[0].chars;
    }
    std::string name = "raw";
    while (h5::Exists(*f, "/layers/" + name)) name += "_";
    if (same) {
      SLAF_ASSIGN_OR_RETURN(MatrixSource m, MatrixAt(f, "/raw/X", src.n_cells, src.n_genes, o));
      m.what = "raw/X";
      m.layer = name;
      src.matrices.push_back(std::move(m));
      src.notes.push_back("raw/X: stored as layer \"" + name + "\" (same genes as X)");
      if (raw_var.columns.size() > 1) src.not_carried.push_back("/raw/var: columns other than the index");
    } else if (raw_var.n_rows == 0 || raw_var.n_rows >= (1ull << 31)) {
      src.not_carried.push_back("/raw: no usable raw/var (" + std::to_string(raw_var.n_rows) + " genes)");
    } else {
      // Other genes than X (typically all genes, X holding the highly
      // variable ones): a dataset of its own, nested under raw/.
      auto raw = std::make_shared<Source>();
      raw->format = "h5ad raw";
      raw->keepalive = f;
      raw->n_cells = src.n_cells;
      raw->n_genes = static_cast<uint32_t>(raw_var.n_rows);
      raw->obs_index = src.obs_index;
      raw->obs.n_rows = src.n_cells;
      raw->obs.columns.push_back(src.obs.columns[0]);  // the cell names
      raw->var_index = raw_index;
      raw->var = std::move(raw_var);
      SLAF_ASSIGN_OR_RETURN(MatrixSource m, MatrixAt(f, "/raw/X", raw->n_cells, raw->n_genes, o));
      m.what = "raw/X";
      raw->matrices.push_back(std::move(m));
      SLAF_RETURN_IF_ERROR(ReadDenseMap(*f, "/raw/varm", raw->n_genes, &raw->varm, &src));
      for (std::string& n : scratch.notes) src.notes.push_back(n);
      for (std::string& n : scratch.not_carried) src.not_carried.push_back(n);
      src.notes.push_back("raw: " + std::to_string(raw->n_genes) + " genes (X has " + std::to_string(src.n_genes) +
                          "): written as the nested dataset raw/");
      src.raw = std::move(raw);
    }
  }
  SLAF_RETURN_IF_ERROR(ReadDenseMap(*f, "/obsm", src.n_cells, &src.obsm, &src));
  SLAF_RETURN_IF_ERROR(ReadDenseMap(*f, "/varm", src.n_genes, &src.varm, &src));
  for (const char* p : {"/obsp", "/varp"}) {
    if (!h5::Exists(*f, p)) continue;
    SLAF_ASSIGN_OR_RETURN(std::vector<std::string> members, h5::Members(*f, p));
    for (const std::string& m : members) src.not_carried.push_back(std::string(p) + "/" + m + ": pairwise matrices are not carried");
  }
  if (h5::Exists(*f, "/uns") && h5::IsGroup(*f, "/uns")) {
    JsonWriter w(false);
    SLAF_RETURN_IF_ERROR(UnsGroup(*f, "/uns", &w, &src, 0, &used_uns));
    src.uns_json = w.str();
  }
  if (!has_obs || !has_var) {
    // Plain HDF5: other top-level arrays (cluster labels, ...) are not obs columns.
    SLAF_ASSIGN_OR_RETURN(std::vector<std::string> top, h5::Members(*f, "/"));
    for (const std::string& m : top) {
      if (m != "X") src.not_carried.push_back("/" + m + ": not part of an AnnData layout");
    }
  }
  return src;
}

}  // namespace slaf::interop
