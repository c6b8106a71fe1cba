// Export: one dataset version as h5ad (the encodings anndata 0.8 writes and
// reads) or as a 10x v3 MTX directory. Matrices stream out cell block by
// cell block; obs/var/obsm/varm are written from memory.
#include <sys/stat.h>
#include <zlib.h>

#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <simdjson.h>

#include "interop/hdf5.h"
#include "slaf/dataset.h"
#include "slaf/interop.h"

namespace slaf {
namespace {

namespace fs = std::filesystem;
using interop::h5::File;
namespace h5 = interop::h5;

constexpr uint64_t kBlockCells = 4096;

Status Enc(const File& f, const std::string& path, const char* type, const char* version) {
  SLAF_RETURN_IF_ERROR(h5::SetStringAttr(f, path, "encoding-type", type));
  return h5::SetStringAttr(f, path, "encoding-version", version);
}

// X or a layer as csr_matrix, streamed.
Status WriteCsr(const Dataset& ds, const File& f, const std::string& path, const std::string& layer, const std::string& dtype,
                const ExportOptions& o, uint64_t* nnz_out) {
  SLAF_RETURN_IF_ERROR(h5::CreateGroup(f, path));
  SLAF_RETURN_IF_ERROR(Enc(f, path, "csr_matrix", "0.1.0"));
  SLAF_RETURN_IF_ERROR(h5::SetIntArrayAttr(f, path, "shape", {static_cast<int64_t>(ds.n_cells()), static_cast<int64_t>(ds.n_genes())}));
  SLAF_ASSIGN_OR_RETURN(auto indices, h5::Appender<int32_t>::Create(f, path + "/indices"));
  SLAF_ASSIGN_OR_RETURN(auto indptr, h5::Appender<int64_t>::Create(f, path + "/indptr"));
  std::optional<h5::Appender<int32_t>> d_i32;
  std::optional<h5::Appender<float>> d_f32;
  std::optional<h5::Appender<double>> d_f64;
  if (dtype == "int32") {
    SLAF_ASSIGN_OR_RETURN(d_i32, h5::Appender<int32_t>::Create(f, path + "/data"));
  } else if (dtype == "float64") {
    SLAF_ASSIGN_OR_RETURN(d_f64, h5::Appender<double>::Create(f, path + "/data"));
  } else {
    SLAF_ASSIGN_OR_RETURN(d_f32, h5::Appender<float>::Create(f, path + "/data"));
  }
  int64_t zero = 0;
  SLAF_RETURN_IF_ERROR(indptr.Append(&zero, 1));
  CsrMatrix block;
  std::vector<int32_t> idx, i32;
  std::vector<float> f32;
  std::vector<double> f64;
  std::vector<int64_t> ptr;
  uint64_t nnz = 0;
  const std::string what = layer.empty() ? "X" : "layers/" + layer;
  for (uint64_t c = 0; c < ds.n_cells(); c += kBlockCells) {
    const uint64_t end = std::min(ds.n_cells(), c + kBlockCells);
    SLAF_RETURN_IF_ERROR(ds.ReadCellRange(c, end, &block, layer));
    const uint64_t n = block.nnz();
    idx.assign(block.indices.begin(), block.indices.end());
    SLAF_RETURN_IF_ERROR(indices.Append(idx.data(), n));
    if (d_i32) {
      i32.resize(n);
      for (uint64_t k = 0; k < n; ++k) {
        const double v = block.value(k);
        if (v > 2147483647.0) return Status::InvalidArgument(what + ": value " + std::to_string(v) + " does not fit int32; use --dtype float64");
        i32[k] = static_cast<int32_t>(v);
      }
      SLAF_RETURN_IF_ERROR(d_i32->Append(i32.data(), n));
    } else if (d_f64) {
      f64.resize(n);
      for (uint64_t k = 0; k < n; ++k) f64[k] = block.value(k);
      SLAF_RETURN_IF_ERROR(d_f64->Append(f64.data(), n));
    } else {
      f32.resize(n);
      for (uint64_t k = 0; k < n; ++k) f32[k] = static_cast<float>(block.value(k));
      SLAF_RETURN_IF_ERROR(d_f32->Append(f32.data(), n));
    }
    ptr.resize(block.n_rows);
    for (uint64_t r = 0; r < block.n_rows; ++r) ptr[r] = static_cast<int64_t>(nnz + block.indptr[r + 1]);
    SLAF_RETURN_IF_ERROR(indptr.Append(ptr.data(), ptr.size()));
    nnz += n;
    if (o.progress) o.progress(end, ds.n_cells(), what);
  }
  *nnz_out = nnz;
  return Status::OK();
}

// The smallest signed integer type anndata would pick for categorical codes.
Status WriteCodes(const File& f, const std::string& path, const Column& c) {
  std::vector<int64_t> codes(c.n_rows);
  for (uint64_t i = 0; i < c.n_rows; ++i) codes[i] = c.is_null(i) ? -1 : static_cast<int64_t>(c.codes[i]);
  const size_t n = c.categories.size();
  if (n < 128) {
    std::vector<int8_t> v(codes.begin(), codes.end());
    SLAF_RETURN_IF_ERROR(h5::WriteArray<int8_t>(f, path, {v.size()}, v.data()));
  } else {
    std::vector<int32_t> v(codes.begin(), codes.end());
    SLAF_RETURN_IF_ERROR(h5::WriteArray<int32_t>(f, path, {v.size()}, v.data()));
  }
  return Enc(f, path, "array", "0.2.0");
}

std::vector<std::string> Strings(const Column& c) {
  std::vector<std::string> v(c.n_rows);
  for (uint64_t i = 0; i < c.n_rows; ++i) v[i] = std::string(c.str(i));
  return v;
}

Status WriteColumn(const File& f, const std::string& path, const Column& c, std::vector<std::string>* not_carried) {
  const bool nulls = c.null_count() > 0;
  switch (c.type) {
    case ColumnType::kInt64:
      if (nulls) {
        SLAF_RETURN_IF_ERROR(h5::CreateGroup(f, path));
        SLAF_RETURN_IF_ERROR(Enc(f, path, "nullable-integer", "0.1.0"));
        SLAF_RETURN_IF_ERROR(h5::WriteArray<int64_t>(f, path + "/values", {c.n_rows}, c.ints.data()));
        std::vector<uint8_t> mask(c.n_rows);
        for (uint64_t i = 0; i < c.n_rows; ++i) mask[i] = c.is_null(i);
        return h5::WriteArray<bool>(f, path + "/mask", {c.n_rows}, reinterpret_cast<const bool*>(mask.data()));
      }
      SLAF_RETURN_IF_ERROR(h5::WriteArray<int64_t>(f, path, {c.n_rows}, c.ints.data()));
      return Enc(f, path, "array", "0.2.0");
    case ColumnType::kFloat64: {
      std::vector<double> v = c.doubles;
      for (uint64_t i = 0; i < c.n_rows; ++i) {
        if (c.is_null(i)) v[i] = std::nan("");
      }
      SLAF_RETURN_IF_ERROR(h5::WriteArray<double>(f, path, {c.n_rows}, v.data()));
      return Enc(f, path, "array", "0.2.0");
    }
    case ColumnType::kBool:
      if (nulls) {
        SLAF_RETURN_IF_ERROR(h5::CreateGroup(f, path));
        SLAF_RETURN_IF_ERROR(Enc(f, path, "nullable-boolean", "0.1.0"));
        SLAF_RETURN_IF_ERROR(h5::WriteArray<bool>(f, path + "/values", {c.n_rows}, reinterpret_cast<const bool*>(c.bools.data())));
        std::vector<uint8_t> mask(c.n_rows);
        for (uint64_t i = 0; i < c.n_rows; ++i) mask[i] = c.is_null(i);
        return h5::WriteArray<bool>(f, path + "/mask", {c.n_rows}, reinterpret_cast<const bool*>(mask.data()));
      }
      SLAF_RETURN_IF_ERROR(h5::WriteArray<bool>(f, path, {c.n_rows}, reinterpret_cast<const bool*>(c.bools.data())));
      return Enc(f, path, "array", "0.2.0");
    case ColumnType::kString:
      if (nulls) not_carried->push_back(path + ": " + std::to_string(c.null_count()) + " missing strings written as \"\"");
      SLAF_RETURN_IF_ERROR(h5::WriteStrings(f, path, Strings(c)));
      return Enc(f, path, "string-array", "0.2.0");
    case ColumnType::kCategorical:
      SLAF_RETURN_IF_ERROR(h5::CreateGroup(f, path));
      SLAF_RETURN_IF_ERROR(Enc(f, path, "categorical", "0.2.0"));
      SLAF_RETURN_IF_ERROR(h5::SetBoolAttr(f, path, "ordered", false));
      SLAF_RETURN_IF_ERROR(WriteCodes(f, path + "/codes", c));
      SLAF_RETURN_IF_ERROR(h5::WriteStrings(f, path + "/categories", c.categories));
      return Enc(f, path + "/categories", "string-array", "0.2.0");
  }
  return Status::OK();
}

Status WriteDataFrame(const File& f, const std::string& path, const Table& t, const std::string& index,
                      std::vector<std::string>* not_carried) {
  SLAF_RETURN_IF_ERROR(h5::CreateGroup(f, path));
  SLAF_RETURN_IF_ERROR(Enc(f, path, "dataframe", "0.2.0"));
  std::vector<std::string> order;
  std::string index_name = index;
  const Column* idx = index.empty() ? nullptr : t.Find(index);
  if (!idx) {
    index_name = "_index";
    std::vector<std::string> names;
    for (uint64_t i = 0; i < t.n_rows; ++i) names.push_back(std::to_string(i));
    SLAF_RETURN_IF_ERROR(h5::WriteStrings(f, path + "/_index", names));
  } else {
    SLAF_RETURN_IF_ERROR(h5::WriteStrings(f, path + "/" + index_name, Strings(*idx)));
  }
  SLAF_RETURN_IF_ERROR(Enc(f, path + "/" + index_name, "string-array", "0.2.0"));
  for (const Column& c : t.columns) {
    if (c.name == index_name) continue;
    if (c.name.find('/') != std::string::npos) {
      not_carried->push_back(path + ": column \"" + c.name + "\" has a '/' in its name, which HDF5 cannot hold");
      continue;
    }
    SLAF_RETURN_IF_ERROR(WriteColumn(f, path + "/" + c.name, c, not_carried));
    order.push_back(c.name);
  }
  SLAF_RETURN_IF_ERROR(h5::SetStringAttr(f, path, "_index", index_name));
  return h5::SetStringArrayAttr(f, path, "column-order", order);
}

Status WriteDense(const File& f, const std::string& path, const DenseMatrix& d) {
  if (d.type == DenseType::kFloat32) {
    SLAF_RETURN_IF_ERROR(h5::WriteArray<float>(f, path, {d.n_rows, d.n_cols}, d.f32.data()));
  } else {
    SLAF_RETURN_IF_ERROR(h5::WriteArray<double>(f, path, {d.n_rows, d.n_cols}, d.f64.data()));
  }
  return Enc(f, path, "array", "0.2.0");
}

// uns: JSON objects become dict groups, scalars and homogeneous arrays
// become datasets.
Status WriteUnsValue(const File& f, const std::string& path, simdjson::dom::element e, std::vector<std::string>* not_carried) {
  using simdjson::dom::element_type;
  switch (e.type()) {
    case element_type::OBJECT: {
      SLAF_RETURN_IF_ERROR(h5::CreateGroup(f, path));
      SLAF_RETURN_IF_ERROR(Enc(f, path, "dict", "0.1.0"));
      for (auto [key, value] : e.get_object()) {
        std::string k(key);
        if (k.empty() || k.find('/') != std::string::npos || k == ".") {
          not_carried->push_back(path + ": key \"" + k + "\" cannot be an HDF5 name");
          continue;
        }
        SLAF_RETURN_IF_ERROR(WriteUnsValue(f, path + "/" + k, value, not_carried));
      }
      return Status::OK();
    }
    case element_type::STRING:
      SLAF_RETURN_IF_ERROR(h5::WriteScalarString(f, path, std::string(std::string_view(e.get_string()))));
      return Enc(f, path, "string", "0.2.0");
    case element_type::INT64:
      SLAF_RETURN_IF_ERROR(h5::WriteScalar<int64_t>(f, path, int64_t(e.get_int64())));
      return Enc(f, path, "numeric-scalar", "0.2.0");
    case element_type::UINT64:
      SLAF_RETURN_IF_ERROR(h5::WriteScalar<uint64_t>(f, path, uint64_t(e.get_uint64())));
      return Enc(f, path, "numeric-scalar", "0.2.0");
    case element_type::DOUBLE:
      SLAF_RETURN_IF_ERROR(h5::WriteScalar<double>(f, path, double(e.get_double())));
      return Enc(f, path, "numeric-scalar", "0.2.0");
    case element_type::BOOL: {
      bool b = bool(e.get_bool());
      SLAF_RETURN_IF_ERROR(h5::WriteArray<bool>(f, path, {}, &b));
      return Enc(f, path, "numeric-scalar", "0.2.0");
    }
    case element_type::NULL_VALUE:
      not_carried->push_back(path + ": null in uns");
      return Status::OK();
    case element_type::ARRAY: {
      auto arr = e.get_array();
      std::vector<std::string> strs;
      std::vector<double> nums;
      std::vector<int64_t> ints;
      std::vector<uint8_t> bools;
      bool all_str = true, all_int = true, all_num = true, all_bool = true;
      for (auto v : arr) {
        all_str = all_str && v.is_string();
        all_int = all_int && v.is_int64();
        all_num = all_num && v.is_number();
        all_bool = all_bool && v.is_bool();
        if (v.is_string()) strs.emplace_back(std::string_view(v.get_string()));
        if (v.is_int64()) ints.push_back(int64_t(v.get_int64()));
        if (v.is_number()) nums.push_back(double(v.get_double()));
        if (v.is_bool()) bools.push_back(bool(v.get_bool()));
      }
      const uint64_t n = arr.size();
      if (n > 0 && all_str) {
        SLAF_RETURN_IF_ERROR(h5::WriteStrings(f, path, strs));
        return Enc(f, path, "string-array", "0.2.0");
      }
      if (n > 0 && all_bool) {
        SLAF_RETURN_IF_ERROR(h5::WriteArray<bool>(f, path, {n}, reinterpret_cast<const bool*>(bools.data())));
      } else if (n > 0 && all_int) {
        SLAF_RETURN_IF_ERROR(h5::WriteArray<int64_t>(f, path, {n}, ints.data()));
      } else if (all_num) {
        SLAF_RETURN_IF_ERROR(h5::WriteArray<double>(f, path, {n}, nums.data()));
      } else {
        not_carried->push_back(path + ": array of mixed types in uns");
        return Status::OK();
      }
      return Enc(f, path, "array", "0.2.0");
    }
  }
  return Status::OK();
}

Status EmptyDict(const File& f, const std::string& path) {
  SLAF_RETURN_IF_ERROR(h5::CreateGroup(f, path));
  return Enc(f, path, "dict", "0.1.0");
}

Result<ExportReport> ExportH5ad(const std::string& uri, const Dataset& ds, const std::string& out, const ExportOptions& o) {
  ExportReport r;
  const std::string tmp = out + ".partial";
  SLAF_ASSIGN_OR_RETURN(File f, File::Create(tmp));
  auto fail = [&](Status s) {
    std::error_code ec;
    fs::remove(tmp, ec);
    return s;
  };
  auto run = [&]() -> Status {
    SLAF_RETURN_IF_ERROR(Enc(f, "/", "anndata", "0.1.0"));
    const Manifest& m = ds.manifest();
    auto dtype = [&](ValueType t) { return t == ValueType::kUInt32 ? o.count_dtype : std::string("float32"); };
    SLAF_RETURN_IF_ERROR(WriteCsr(ds, f, "/X", "", dtype(m.x.value_type), o, &r.nnz));
    SLAF_RETURN_IF_ERROR(EmptyDict(f, "/layers"));
    for (const auto& [name, entry] : m.layers) {
      uint64_t nnz = 0;
      SLAF_RETURN_IF_ERROR(WriteCsr(ds, f, "/layers/" + name, name, dtype(entry.value_type), o, &nnz));
    }
    SLAF_ASSIGN_OR_RETURN(Table obs, ds.obs());
    SLAF_ASSIGN_OR_RETURN(Table var, ds.var());
    SLAF_RETURN_IF_ERROR(WriteDataFrame(f, "/obs", obs, m.obs.index_column, &r.not_carried));
    SLAF_RETURN_IF_ERROR(WriteDataFrame(f, "/var", var, m.var.index_column, &r.not_carried));
    SLAF_RETURN_IF_ERROR(EmptyDict(f, "/obsm"));
    for (const auto& [name, e] : m.obsm) {
      SLAF_ASSIGN_OR_RETURN(DenseMatrix d, ds.obsm(name));
      SLAF_RETURN_IF_ERROR(WriteDense(f, "/obsm/" + name, d));
    }
    SLAF_RETURN_IF_ERROR(EmptyDict(f, "/varm"));
    for (const auto& [name, e] : m.varm) {
      SLAF_ASSIGN_OR_RETURN(DenseMatrix d, ds.varm(name));
      SLAF_RETURN_IF_ERROR(WriteDense(f, "/varm/" + name, d));
    }
    // AnnData's raw, kept by convert as the nested dataset raw/ (format-spec §9.1).
    Result<std::unique_ptr<Dataset>> raw = Dataset::Open(uri + "/raw");
    if (raw.ok() && (*raw)->n_cells() != ds.n_cells()) {
      r.not_carried.push_back("raw/: has " + std::to_string((*raw)->n_cells()) + " cells, this version " +
                              std::to_string(ds.n_cells()) + " (cells were appended after import)");
    } else if (raw.ok()) {
      const Dataset& rd = **raw;
      SLAF_RETURN_IF_ERROR(h5::CreateGroup(f, "/raw"));
      SLAF_RETURN_IF_ERROR(Enc(f, "/raw", "raw", "0.1.0"));
      uint64_t nnz = 0;
      SLAF_RETURN_IF_ERROR(WriteCsr(rd, f, "/raw/X", "", dtype(rd.manifest().x.value_type), o, &nnz));
      SLAF_ASSIGN_OR_RETURN(Table raw_var, rd.var());
      SLAF_RETURN_IF_ERROR(WriteDataFrame(f, "/raw/var", raw_var, rd.manifest().var.index_column, &r.not_carried));
      SLAF_RETURN_IF_ERROR(EmptyDict(f, "/raw/varm"));
      for (const auto& [name, e] : rd.manifest().varm) {
        SLAF_ASSIGN_OR_RETURN(DenseMatrix d, rd.varm(name));
        SLAF_RETURN_IF_ERROR(WriteDense(f, "/raw/varm/" + name, d));
      }
    } else if (!raw.status().IsNotFound()) {
      return raw.status().WithContext("raw/");
    }
    SLAF_RETURN_IF_ERROR(EmptyDict(f, "/obsp"));
    SLAF_RETURN_IF_ERROR(EmptyDict(f, "/varp"));
    simdjson::dom::parser parser;
    simdjson::dom::element uns;
    if (parser.parse(m.uns_json).get(uns) != simdjson::SUCCESS || !uns.is_object()) {
      return Status::Corruption("manifest uns is not a JSON object");
    }
    SLAF_RETURN_IF_ERROR(WriteUnsValue(f, "/uns", uns, &r.not_carried));
    return f.Flush();
  };
  Status st = run();
  if (!st.ok()) return fail(st);
  f = File();  // close before renaming
  if (::rename(tmp.c_str(), out.c_str()) != 0) return fail(Status::IOError(out + ": cannot rename into place: " + std::strerror(errno)));
  r.files.push_back(out);
  return r;
}

// A gzip file written in one go from pieces.
class GzOut {
 public:
  Status Open(const std::string& path) {
    path_ = path;
    gz_ = gzopen(path.c_str(), "wb6");
    if (!gz_) return Status::IOError(path + ": cannot create: " + std::strerror(errno));
    gzbuffer(gz_, 1 << 18);
    return Status::OK();
  }
  Status Write(std::string_view s) {
    if (s.empty()) return Status::OK();
    if (gzwrite(gz_, s.data(), static_cast<unsigned>(s.size())) != static_cast<int>(s.size())) {
      int code = 0;
      return Status::IOError(path_ + ": write failed: " + gzerror(gz_, &code));
    }
    return Status::OK();
  }
  Status Close() {
    if (!gz_) return Status::OK();
    int rc = gzclose(gz_);
    gz_ = nullptr;
    if (rc != Z_OK) return Status::IOError(path_ + ": close failed (disk full?)");
    return Status::OK();
  }
  ~GzOut() {
    if (gz_) gzclose(gz_);
  }

 private:
  std::string path_;
  gzFile gz_ = nullptr;
};

void AppendNumber(std::string* s, double v, bool integer) {
  char buf[40];
  if (integer) {
    auto r = std::to_chars(buf, buf + sizeof buf, static_cast<uint64_t>(v));
    s->append(buf, r.ptr);
  } else {
    auto r = std::to_chars(buf, buf + sizeof buf, static_cast<float>(v));
    s->append(buf, r.ptr);
  }
}

Result<ExportReport> ExportMtx(const std::string& uri, const Dataset& ds, const std::string& out, const ExportOptions& o) {
  ExportReport r;
  const std::string tmp = out + ".partial";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  if (!fs::create_directory(tmp, ec)) return Status::IOError(tmp + ": cannot create directory: " + ec.message());
  auto fail = [&](Status s) {
    fs::remove_all(tmp, ec);
    return s;
  };
  auto run = [&]() -> Status {
    const Manifest& m = ds.manifest();
    SLAF_ASSIGN_OR_RETURN(Table obs, ds.obs());
    SLAF_ASSIGN_OR_RETURN(Table var, ds.var());
    // barcodes: the obs index (or cell numbers).
    GzOut b;
    SLAF_RETURN_IF_ERROR(b.Open(tmp + "/barcodes.tsv.gz"));
    const Column* bc = obs.Find(m.obs.index_column);
    std::string text;
    for (uint64_t i = 0; i < ds.n_cells(); ++i) {
      text += bc ? std::string(bc->str(i)) : std::to_string(i);
      text += '\n';
      if (text.size() > (1 << 20)) {
        SLAF_RETURN_IF_ERROR(b.Write(text));
        text.clear();
      }
    }
    SLAF_RETURN_IF_ERROR(b.Write(text));
    SLAF_RETURN_IF_ERROR(b.Close());
    // features: id, name, type, as Cell Ranger 3 writes them.
    GzOut fo;
    SLAF_RETURN_IF_ERROR(fo.Open(tmp + "/features.tsv.gz"));
    const Column* id = var.Find(m.var.index_column);
    const Column* sym = var.Find("gene_symbol");
    const Column* type = var.Find("feature_type");
    text.clear();
    for (uint32_t g = 0; g < ds.n_genes(); ++g) {
      std::string gid = id ? std::string(id->str(g)) : std::to_string(g);
      text += gid + '\t' + (sym && !sym->is_null(g) ? std::string(sym->str(g)) : gid) + '\t' +
              (type && !type->is_null(g) ? std::string(type->str(g)) : std::string("Gene Expression")) + '\n';
    }
    SLAF_RETURN_IF_ERROR(fo.Write(text));
    SLAF_RETURN_IF_ERROR(fo.Close());
    // matrix: genes x cells, 1-based, ordered by cell.
    const bool integer = m.x.value_type == ValueType::kUInt32;
    GzOut mx;
    SLAF_RETURN_IF_ERROR(mx.Open(tmp + "/matrix.mtx.gz"));
    text = std::string("%%MatrixMarket matrix coordinate ") + (integer ? "integer" : "real") + " general\n%metadata_json: {\"software_version\": \"slaf\"}\n";
    text += std::to_string(ds.n_genes()) + " " + std::to_string(ds.n_cells()) + " " + std::to_string(ds.nnz()) + "\n";
    CsrMatrix block;
    for (uint64_t c = 0; c < ds.n_cells(); c += kBlockCells) {
      const uint64_t end = std::min(ds.n_cells(), c + kBlockCells);
      SLAF_RETURN_IF_ERROR(ds.ReadCellRange(c, end, &block));
      for (uint64_t row = 0; row < block.n_rows; ++row) {
        const std::string cell = std::to_string(c + row + 1);
        for (uint64_t k = block.indptr[row]; k < block.indptr[row + 1]; ++k) {
          char buf[16];
          auto rr = std::to_chars(buf, buf + sizeof buf, block.indices[k] + 1);
          text.append(buf, rr.ptr);
          text += ' ';
          text += cell;
          text += ' ';
          AppendNumber(&text, block.value(k), integer);
          text += '\n';
        }
      }
      r.nnz += block.nnz();
      SLAF_RETURN_IF_ERROR(mx.Write(text));
      text.clear();
      if (o.progress) o.progress(end, ds.n_cells(), "X");
    }
    SLAF_RETURN_IF_ERROR(mx.Write(text));
    SLAF_RETURN_IF_ERROR(mx.Close());
    if (!m.layers.empty()) r.not_carried.push_back("layers: MTX holds only X");
    if (fs::exists(fs::path(uri) / "raw" / "_versions", ec)) r.not_carried.push_back("raw/: MTX holds only X");
    if (!m.obsm.empty() || !m.varm.empty()) r.not_carried.push_back("obsm/varm: MTX holds no embeddings");
    if (obs.columns.size() > 1 || var.columns.size() > 3) r.not_carried.push_back("obs/var columns beyond the ids: MTX holds none");
    return Status::OK();
  };
  Status st = run();
  if (!st.ok()) return fail(st);
  fs::rename(tmp, out, ec);
  if (ec) return fail(Status::IOError(out + ": cannot rename into place: " + ec.message()));
  for (const char* n : {"matrix.mtx.gz", "features.tsv.gz", "barcodes.tsv.gz"}) r.files.push_back(out + "/" + n);
  return r;
}

}  // namespace

Result<ExportFormat> ParseExportFormat(const std::string& s) {
  if (s == "h5ad") return ExportFormat::kH5ad;
  if (s == "mtx") return ExportFormat::kMtx;
  return Status::InvalidArgument("unknown export format \"" + s + "\" (expected h5ad or mtx)");
}

Result<ExportReport> Export(const std::string& uri, const std::string& out, const ExportOptions& o) {
  std::error_code ec;
  if (fs::exists(out, ec)) return Status::InvalidArgument(out + ": already exists");
  OpenOptions open;
  if (o.version) open.version = *o.version;
  SLAF_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, Dataset::Open(uri, open));
  Result<ExportReport> r = o.to == ExportFormat::kH5ad ? ExportH5ad(uri, *ds, out, o) : ExportMtx(uri, *ds, out, o);
  if (r.ok()) {
    r->version = ds->version();
    r->n_cells = ds->n_cells();
    r->n_genes = ds->n_genes();
  }
  return r;
}

}  // namespace slaf
