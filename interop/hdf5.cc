#include "interop/hdf5.h"

#include "interop/lzf.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

namespace slaf::interop::h5 {
namespace {

// libhdf5 prints its error stack to stderr by default; we report errors
// ourselves, once, with the innermost message.
struct QuietErrors {
  QuietErrors() {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    RegisterLzfFilter();
  }
};
const QuietErrors kQuiet;

herr_t CollectInnermost(unsigned n, const H5E_error2_t* e, void* data) {
  auto* out = static_cast<std::string*>(data);
  if (n == 0 && e->desc) *out = e->desc;  // walking upward: entry 0 is where libhdf5 noticed
  return 0;
}

// libhdf5's innermost message for the failure just seen, then clears it.
std::string Hdf5Message() {
  std::string msg;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, CollectInnermost, &msg);
  H5Eclear2(H5E_DEFAULT);
  return msg;
}

template <typename T>
hid_t NativeType() {
  if constexpr (std::is_same_v<T, int64_t>) return H5T_NATIVE_INT64;
  else if constexpr (std::is_same_v<T, uint64_t>) return H5T_NATIVE_UINT64;
  else if constexpr (std::is_same_v<T, int32_t>) return H5T_NATIVE_INT32;
  else if constexpr (std::is_same_v<T, uint32_t>) return H5T_NATIVE_UINT32;
  else if constexpr (std::is_same_v<T, int8_t>) return H5T_NATIVE_INT8;
  else if constexpr (std::is_same_v<T, uint8_t>) return H5T_NATIVE_UINT8;
  else if constexpr (std::is_same_v<T, double>) return H5T_NATIVE_DOUBLE;
  else if constexpr (std::is_same_v<T, float>) return H5T_NATIVE_FLOAT;
  else static_assert(!sizeof(T), "unsupported element type");
}

TypeInfo Classify(hid_t type) {
  TypeInfo t;
  t.size = H5Tget_size(type);
  switch (H5Tget_class(type)) {
    case H5T_INTEGER: t.kind = H5Tget_sign(type) == H5T_SGN_NONE ? Kind::kUInt : Kind::kInt; break;
    case H5T_FLOAT: t.kind = Kind::kFloat; break;
    case H5T_STRING:
      t.kind = Kind::kString;
      t.vlen_string = H5Tis_variable_str(type) > 0;
      break;
    case H5T_ENUM:
      // numpy bool as h5py writes it: an 8-bit enum {FALSE, TRUE}.
      t.kind = (t.size == 1 && H5Tget_nmembers(type) == 2) ? Kind::kBool : Kind::kOther;
      break;
    case H5T_COMPOUND: t.kind = Kind::kCompound; break;
    default: t.kind = Kind::kOther;
  }
  return t;
}

// h5py's boolean type: an int8 enum FALSE = 0, TRUE = 1.
Handle BoolType() {
  Handle t(H5Tenum_create(H5T_NATIVE_INT8));
  int8_t v = 0;
  H5Tenum_insert(t.get(), "FALSE", &v);
  v = 1;
  H5Tenum_insert(t.get(), "TRUE", &v);
  return t;
}

Handle Utf8VlenType() {
  Handle t(H5Tcopy(H5T_C_S1));
  H5Tset_size(t.get(), H5T_VARIABLE);
  H5Tset_cset(t.get(), H5T_CSET_UTF8);
  return t;
}

// Strings out of a buffer read with `mem_type` (vlen: char* per element;
// fixed: `size` bytes each, padding stripped).
std::vector<std::string> DecodeStrings(const TypeInfo& t, const std::vector<char>& buf, size_t n, hid_t mem_type,
                                       hid_t space) {
  std::vector<std::string> out(n);
  if (t.vlen_string) {
    auto* ptrs = reinterpret_cast<char* const*>(buf.data());
    for (size_t i = 0; i < n; ++i) out[i] = ptrs[i] ? ptrs[i] : "";
    H5Dvlen_reclaim(mem_type, space, H5P_DEFAULT, const_cast<char*>(buf.data()));
  } else {
    for (size_t i = 0; i < n; ++i) {
      const char* s = buf.data() + i * t.size;
      size_t len = t.size;
      while (len > 0 && (s[len - 1] == '\0' || s[len - 1] == ' ')) --len;
      out[i].assign(s, strnlen(s, len));
    }
  }
  return out;
}

Handle StringMemType(const TypeInfo& t, hid_t file_type) {
  if (t.vlen_string) return Utf8VlenType();
  Handle m(H5Tcopy(file_type));
  return m;
}

}  // namespace

void Handle::Reset() {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE: H5Fclose(id_); break;
    case H5I_GROUP: H5Gclose(id_); break;
    case H5I_DATASET: H5Dclose(id_); break;
    case H5I_DATATYPE: H5Tclose(id_); break;
    case H5I_DATASPACE: H5Sclose(id_); break;
    case H5I_ATTR: H5Aclose(id_); break;
    case H5I_GENPROP_LST: H5Pclose(id_); break;
    default: break;
  }
  id_ = -1;
}

Result<File> File::Open(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::NotFound(path + ": no such file");
  htri_t is = H5Fis_hdf5(path.c_str());
  if (is <= 0) {
    Hdf5Message();
    return Status::InvalidArgument(path + ": not an HDF5 file (no HDF5 signature)");
  }
  File f;
  f.path_ = path;
  f.h_ = Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!f.h_.valid()) return Status::InvalidArgument(path + ": cannot open as HDF5: " + Hdf5Message());
  return f;
}

Result<File> File::Create(const std::string& path) {
  File f;
  f.path_ = path;
  f.h_ = Handle(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  if (!f.h_.valid()) return Status::IOError(path + ": cannot create HDF5 file: " + Hdf5Message());
  return f;
}

Status File::Error(const std::string& object, const std::string& what) const {
  return Status::InvalidArgument(path_ + ": " + object + ": " + what);
}

Result<hid_t> File::Dataset(const std::string& path) const {
  auto it = datasets_.find(path);
  if (it != datasets_.end()) return it->second.get();
  // The chunk cache must hold a full row of chunks, or reading a matrix in
  // row blocks decompresses each chunk again for every block (1 MiB, the
  // default, is far too small; h5py may even store a whole matrix as one
  // chunk). Bounded so that memory stays bounded.
  size_t cache = 4u << 20;
  {
    Handle probe(H5Dopen2(h_.get(), path.c_str(), H5P_DEFAULT));
    if (!probe.valid()) return Error(path, "cannot open dataset: " + Hdf5Message());
    Handle dcpl(H5Dget_create_plist(probe.get()));
    Handle space(H5Dget_space(probe.get()));
    Handle type(H5Dget_type(probe.get()));
    if (H5Pget_layout(dcpl.get()) == H5D_CHUNKED) {
      hsize_t chunk[8] = {0}, dims[8] = {0};
      const int rank = H5Pget_chunk(dcpl.get(), 8, chunk);
      H5Sget_simple_extent_dims(space.get(), dims, nullptr);
      double row_of_chunks = static_cast<double>(H5Tget_size(type.get()));
      for (int i = 0; i < rank; ++i) {
        row_of_chunks *= i == 0 ? static_cast<double>(chunk[0]) : static_cast<double>((dims[i] + chunk[i] - 1) / chunk[i] * chunk[i]);
      }
      // 1-D arrays are read front to back: a few chunks are enough.
      const double floor = rank == 1 ? 4.0 * (1 << 20) : 64.0 * (1 << 20);
      cache = static_cast<size_t>(std::min(std::max(row_of_chunks * 1.1, floor), 768.0 * (1 << 20)));
    }
  }
  Handle dapl(H5Pcreate(H5P_DATASET_ACCESS));
  H5Pset_chunk_cache(dapl.get(), 12421, cache, 1.0);
  Handle d(H5Dopen2(h_.get(), path.c_str(), dapl.get()));
  if (!d.valid()) return Error(path, "cannot open dataset: " + Hdf5Message());
  hid_t id = d.get();
  datasets_.emplace(path, std::move(d));
  return id;
}

Status File::Flush() const {
  if (H5Fflush(h_.get(), H5F_SCOPE_GLOBAL) < 0) return Status::IOError(path_ + ": flush failed: " + Hdf5Message());
  return Status::OK();
}

bool Exists(const File& f, const std::string& path) {
  if (path == "/" || path.empty()) return true;
  // H5Lexists fails (rather than returning false) when a parent is missing,
  // so walk the components.
  size_t pos = 1;
  while (true) {
    size_t next = path.find('/', pos);
    std::string prefix = path.substr(0, next);
    htri_t e = H5Lexists(f.id(), prefix.c_str(), H5P_DEFAULT);
    if (e <= 0) {
      Hdf5Message();
      return false;
    }
    if (next == std::string::npos) break;
    // The parent must be a group for its children to exist.
    if (!IsGroup(f, prefix)) return false;
    pos = next + 1;
  }
  Handle o(H5Oopen(f.id(), path.c_str(), H5P_DEFAULT));  // dangling soft links count as absent
  if (!o.valid()) Hdf5Message();
  return o.valid();
}

static H5I_type_t ObjectType(const File& f, const std::string& path) {
  Handle o(H5Oopen(f.id(), path.c_str(), H5P_DEFAULT));
  if (!o.valid()) {
    Hdf5Message();
    return H5I_BADID;
  }
  return H5Iget_type(o.get());
}

bool IsGroup(const File& f, const std::string& path) { return ObjectType(f, path) == H5I_GROUP; }
bool IsDataset(const File& f, const std::string& path) {
  return Exists(f, path) && ObjectType(f, path) == H5I_DATASET;
}

Result<std::vector<std::string>> Members(const File& f, const std::string& group) {
  Handle g(H5Gopen2(f.id(), group.c_str(), H5P_DEFAULT));
  if (!g.valid()) return f.Error(group, "cannot open group: " + Hdf5Message());
  H5G_info_t info;
  if (H5Gget_info(g.get(), &info) < 0) return f.Error(group, "cannot list group: " + Hdf5Message());
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    ssize_t len = H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (len < 0) return f.Error(group, "cannot read member name: " + Hdf5Message());
    std::string name(static_cast<size_t>(len), '\0');
    H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size() + 1, H5P_DEFAULT);
    names.push_back(std::move(name));
  }
  return names;
}

namespace {

Result<Handle> OpenAttr(const File& f, const std::string& object, const std::string& name, bool* present) {
  htri_t e = H5Aexists_by_name(f.id(), object.c_str(), name.c_str(), H5P_DEFAULT);
  if (e < 0) return f.Error(object, "cannot read attribute " + name + ": " + Hdf5Message());
  *present = e > 0;
  if (!*present) return Handle();
  Handle a(H5Aopen_by_name(f.id(), object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT));
  if (!a.valid()) return f.Error(object, "cannot open attribute " + name + ": " + Hdf5Message());
  return a;
}

uint64_t ElementCount(hid_t space) {
  hssize_t n = H5Sget_simple_extent_npoints(space);
  return n < 0 ? 0 : static_cast<uint64_t>(n);
}

}  // namespace

Result<std::vector<std::string>> StringArrayAttr(const File& f, const std::string& object, const std::string& name) {
  bool present = false;
  SLAF_ASSIGN_OR_RETURN(Handle a, OpenAttr(f, object, name, &present));
  if (!present) return std::vector<std::string>{};
  Handle space(H5Aget_space(a.get()));
  Handle type(H5Aget_type(a.get()));
  uint64_t n = ElementCount(space.get());
  TypeInfo t = Classify(type.get());
  if (n == 0) return std::vector<std::string>{};  // h5py writes empty lists as float64 arrays
  if (t.kind != Kind::kString) return f.Error(object, "attribute " + name + " is not a string");
  Handle mem = StringMemType(t, type.get());
  std::vector<char> buf(n * (t.vlen_string ? sizeof(char*) : t.size));
  if (H5Aread(a.get(), mem.get(), buf.data()) < 0) return f.Error(object, "cannot read attribute " + name + ": " + Hdf5Message());
  return DecodeStrings(t, buf, n, mem.get(), space.get());
}

Result<std::optional<std::string>> StringAttr(const File& f, const std::string& object, const std::string& name) {
  bool present = false;
  {
    SLAF_ASSIGN_OR_RETURN(Handle a, OpenAttr(f, object, name, &present));
  }
  if (!present) return std::optional<std::string>();
  SLAF_ASSIGN_OR_RETURN(std::vector<std::string> v, StringArrayAttr(f, object, name));
  if (v.size() != 1) return f.Error(object, "attribute " + name + " is not a single string");
  return std::optional<std::string>(v[0]);
}

Result<std::vector<int64_t>> IntArrayAttr(const File& f, const std::string& object, const std::string& name) {
  bool present = false;
  SLAF_ASSIGN_OR_RETURN(Handle a, OpenAttr(f, object, name, &present));
  if (!present) return f.Error(object, "attribute " + name + " is missing");
  Handle space(H5Aget_space(a.get()));
  Handle type(H5Aget_type(a.get()));
  TypeInfo t = Classify(type.get());
  if (t.kind != Kind::kInt && t.kind != Kind::kUInt) return f.Error(object, "attribute " + name + " is not integer");
  std::vector<int64_t> v(ElementCount(space.get()));
  if (!v.empty() && H5Aread(a.get(), H5T_NATIVE_INT64, v.data()) < 0) {
    return f.Error(object, "cannot read attribute " + name + ": " + Hdf5Message());
  }
  return v;
}

Result<std::optional<bool>> BoolAttr(const File& f, const std::string& object, const std::string& name) {
  bool present = false;
  SLAF_ASSIGN_OR_RETURN(Handle a, OpenAttr(f, object, name, &present));
  if (!present) return std::optional<bool>();
  Handle type(H5Aget_type(a.get()));
  Handle space(H5Aget_space(a.get()));
  TypeInfo t = Classify(type.get());
  if (ElementCount(space.get()) != 1 || (t.kind != Kind::kBool && t.kind != Kind::kInt && t.kind != Kind::kUInt)) {
    return f.Error(object, "attribute " + name + " is not a boolean");
  }
  int64_t v = 0;
  if (t.kind == Kind::kBool) {
    int8_t b = 0;
    Handle native(H5Tget_native_type(type.get(), H5T_DIR_ASCEND));
    if (H5Aread(a.get(), native.get(), &b) < 0) return f.Error(object, "cannot read attribute " + name + ": " + Hdf5Message());
    v = b;
  } else if (H5Aread(a.get(), H5T_NATIVE_INT64, &v) < 0) {
    return f.Error(object, "cannot read attribute " + name + ": " + Hdf5Message());
  }
  return std::optional<bool>(v != 0);
}

Result<DatasetInfo> Describe(const File& f, const std::string& dataset) {
  Handle d(H5Dopen2(f.id(), dataset.c_str(), H5P_DEFAULT));
  if (!d.valid()) return f.Error(dataset, "cannot open dataset: " + Hdf5Message());
  Handle space(H5Dget_space(d.get()));
  Handle type(H5Dget_type(d.get()));
  DatasetInfo info;
  int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) return f.Error(dataset, "cannot read shape: " + Hdf5Message());
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  info.dims.assign(dims.begin(), dims.end());
  info.type = Classify(type.get());
  return info;
}

template <typename T>
Status Read(const File& f, const std::string& dataset, uint64_t offset, uint64_t count, T* out) {
  SLAF_ASSIGN_OR_RETURN(hid_t d, f.Dataset(dataset));
  Handle space(H5Dget_space(d));
  Handle type(H5Dget_type(d));
  int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 1 || rank > 2) return f.Error(dataset, "expected a 1-D or 2-D dataset, found rank " + std::to_string(rank));
  hsize_t dims[2] = {0, 1};
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  if (offset > dims[0] || count > dims[0] - offset) {
    return f.Error(dataset, "read of rows [" + std::to_string(offset) + ", " + std::to_string(offset + count) +
                                ") past its " + std::to_string(dims[0]) + " rows");
  }
  if (count == 0) return Status::OK();
  TypeInfo t = Classify(type.get());
  hid_t mem_type = NativeType<T>();
  Handle enum_native;
  if (t.kind == Kind::kBool) {
    if constexpr (!std::is_same_v<T, uint8_t> && !std::is_same_v<T, int8_t>) {
      return f.Error(dataset, "boolean dataset read as a number");
    }
    enum_native = Handle(H5Tget_native_type(type.get(), H5T_DIR_ASCEND));
    mem_type = enum_native.get();
  } else if (t.kind != Kind::kInt && t.kind != Kind::kUInt && t.kind != Kind::kFloat) {
    return f.Error(dataset, "expected numbers, found another element type");
  }
  hsize_t start[2] = {offset, 0}, cnt[2] = {count, dims[1]};
  if (H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, cnt, nullptr) < 0) {
    return f.Error(dataset, "bad selection: " + Hdf5Message());
  }
  hsize_t mem_n = count * (rank == 2 ? dims[1] : 1);
  Handle mem(H5Screate_simple(1, &mem_n, nullptr));
  if (H5Dread(d, mem_type, mem.get(), space.get(), H5P_DEFAULT, out) < 0) {
    return f.Error(dataset, "read of rows [" + std::to_string(offset) + ", " + std::to_string(offset + count) +
                                ") failed: " + Hdf5Message());
  }
  return Status::OK();
}

template <typename T>
Result<std::vector<T>> ReadAll(const File& f, const std::string& dataset) {
  SLAF_ASSIGN_OR_RETURN(DatasetInfo info, Describe(f, dataset));
  uint64_t n = 1;
  for (uint64_t d : info.dims) n *= d;
  std::vector<T> v(n);
  uint64_t rows = info.dims.empty() ? 1 : info.dims[0];
  if (info.dims.empty()) {
    // A scalar dataset.
    Handle d(H5Dopen2(f.id(), dataset.c_str(), H5P_DEFAULT));
    if (H5Dread(d.get(), NativeType<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0) {
      return f.Error(dataset, "cannot read: " + Hdf5Message());
    }
    return v;
  }
  SLAF_RETURN_IF_ERROR(Read<T>(f, dataset, 0, rows, v.data()));
  return v;
}

Result<std::vector<std::string>> ReadStrings(const File& f, const std::string& dataset) {
  Handle d(H5Dopen2(f.id(), dataset.c_str(), H5P_DEFAULT));
  if (!d.valid()) return f.Error(dataset, "cannot open dataset: " + Hdf5Message());
  Handle space(H5Dget_space(d.get()));
  Handle type(H5Dget_type(d.get()));
  TypeInfo t = Classify(type.get());
  if (t.kind != Kind::kString) return f.Error(dataset, "expected strings");
  if (H5Sget_simple_extent_ndims(space.get()) > 1) return f.Error(dataset, "expected a 1-D string array");
  uint64_t n = ElementCount(space.get());
  Handle mem = StringMemType(t, type.get());
  std::vector<char> buf(std::max<uint64_t>(1, n) * (t.vlen_string ? sizeof(char*) : t.size));
  if (n > 0 && H5Dread(d.get(), mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) < 0) {
    return f.Error(dataset, "cannot read strings: " + Hdf5Message());
  }
  return DecodeStrings(t, buf, n, mem.get(), space.get());
}

Result<std::vector<Field>> CompoundFields(const File& f, const std::string& dataset) {
  Handle d(H5Dopen2(f.id(), dataset.c_str(), H5P_DEFAULT));
  if (!d.valid()) return f.Error(dataset, "cannot open dataset: " + Hdf5Message());
  Handle type(H5Dget_type(d.get()));
  if (H5Tget_class(type.get()) != H5T_COMPOUND) return f.Error(dataset, "not a compound dataset");
  std::vector<Field> fields;
  int n = H5Tget_nmembers(type.get());
  for (int i = 0; i < n; ++i) {
    char* name = H5Tget_member_name(type.get(), static_cast<unsigned>(i));
    Handle mt(H5Tget_member_type(type.get(), static_cast<unsigned>(i)));
    fields.push_back({name ? name : "", Classify(mt.get())});
    H5free_memory(name);
  }
  return fields;
}

namespace {

// Reads one field of a compound dataset into `buf` through a one-member
// compound memory type.
Status ReadFieldInto(const File& f, const std::string& dataset, const std::string& field, hid_t member_mem_type,
                     size_t elem_size, std::vector<char>* buf, uint64_t* n) {
  Handle d(H5Dopen2(f.id(), dataset.c_str(), H5P_DEFAULT));
  if (!d.valid()) return f.Error(dataset, "cannot open dataset: " + Hdf5Message());
  Handle space(H5Dget_space(d.get()));
  *n = ElementCount(space.get());
  Handle mem(H5Tcreate(H5T_COMPOUND, elem_size));
  H5Tinsert(mem.get(), field.c_str(), 0, member_mem_type);
  buf->assign(std::max<uint64_t>(1, *n) * elem_size, 0);
  if (*n > 0 && H5Dread(d.get(), mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf->data()) < 0) {
    return f.Error(dataset, "cannot read field " + field + ": " + Hdf5Message());
  }
  return Status::OK();
}

Result<Handle> MemberType(const File& f, const std::string& dataset, const std::string& field) {
  Handle d(H5Dopen2(f.id(), dataset.c_str(), H5P_DEFAULT));
  if (!d.valid()) return f.Error(dataset, "cannot open dataset: " + Hdf5Message());
  Handle type(H5Dget_type(d.get()));
  int i = H5Tget_member_index(type.get(), field.c_str());
  if (i < 0) return f.Error(dataset, "no field " + field);
  return Handle(H5Tget_member_type(type.get(), static_cast<unsigned>(i)));
}

}  // namespace

template <typename T>
Result<std::vector<T>> ReadField(const File& f, const std::string& dataset, const std::string& field) {
  SLAF_ASSIGN_OR_RETURN(Handle mt, MemberType(f, dataset, field));
  TypeInfo t = Classify(mt.get());
  Handle native;
  hid_t mem = NativeType<T>();
  if (t.kind == Kind::kBool) {
    native = Handle(H5Tget_native_type(mt.get(), H5T_DIR_ASCEND));
    mem = native.get();
  }
  std::vector<char> buf;
  uint64_t n = 0;
  SLAF_RETURN_IF_ERROR(ReadFieldInto(f, dataset, field, mem, sizeof(T), &buf, &n));
  std::vector<T> out(n);
  std::memcpy(out.data(), buf.data(), n * sizeof(T));
  return out;
}

Result<std::vector<std::string>> ReadStringField(const File& f, const std::string& dataset, const std::string& field) {
  SLAF_ASSIGN_OR_RETURN(Handle mt, MemberType(f, dataset, field));
  TypeInfo t = Classify(mt.get());
  if (t.kind != Kind::kString) return f.Error(dataset, "field " + field + " is not a string");
  Handle mem = StringMemType(t, mt.get());
  const size_t elem = t.vlen_string ? sizeof(char*) : t.size;
  std::vector<char> buf;
  uint64_t n = 0;
  SLAF_RETURN_IF_ERROR(ReadFieldInto(f, dataset, field, mem.get(), elem, &buf, &n));
  std::vector<std::string> out(n);
  for (uint64_t i = 0; i < n; ++i) {
    const char* s = buf.data() + i * elem;
    if (t.vlen_string) {
      char* p;
      std::memcpy(&p, s, sizeof p);
      out[i] = p ? p : "";
      std::free(p);  // libhdf5 allocates vlen strings with malloc
    } else {
      size_t len = strnlen(s, elem);
      while (len > 0 && s[len - 1] == ' ') --len;
      out[i].assign(s, len);
    }
  }
  return out;
}

Result<std::optional<std::string>> RefAttrTarget(const File& f, const std::string& object, const std::string& name) {
  bool present = false;
  SLAF_ASSIGN_OR_RETURN(Handle a, OpenAttr(f, object, name, &present));
  if (!present) return std::optional<std::string>();
  Handle type(H5Aget_type(a.get()));
  if (H5Tget_class(type.get()) != H5T_REFERENCE) return std::optional<std::string>();
  hobj_ref_t ref;
  if (H5Aread(a.get(), H5T_STD_REF_OBJ, &ref) < 0) return f.Error(object, "cannot read reference " + name + ": " + Hdf5Message());
  Handle target(H5Rdereference2(a.get(), H5P_DEFAULT, H5R_OBJECT, &ref));
  if (!target.valid()) return f.Error(object, "dangling reference " + name + ": " + Hdf5Message());
  ssize_t len = H5Iget_name(target.get(), nullptr, 0);
  if (len <= 0) return f.Error(object, "reference " + name + " points to an unnamed object");
  std::string path(static_cast<size_t>(len), '\0');
  H5Iget_name(target.get(), path.data(), path.size() + 1);
  return std::optional<std::string>(path);
}

// ---- writing ---------------------------------------------------------------

Status CreateGroup(const File& f, const std::string& path) {
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  Handle g(H5Gcreate2(f.id(), path.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!g.valid()) return Status::IOError(f.path() + ": " + path + ": cannot create group: " + Hdf5Message());
  return Status::OK();
}

namespace {

Status WriteAttr(const File& f, const std::string& object, const std::string& name, hid_t type, hid_t space,
                 const void* data) {
  if (H5Aexists_by_name(f.id(), object.c_str(), name.c_str(), H5P_DEFAULT) > 0) {
    H5Adelete_by_name(f.id(), object.c_str(), name.c_str(), H5P_DEFAULT);
  }
  Handle a(H5Acreate_by_name(f.id(), object.c_str(), name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (!a.valid() || H5Awrite(a.get(), type, data) < 0) {
    return Status::IOError(f.path() + ": " + object + ": cannot write attribute " + name + ": " + Hdf5Message());
  }
  return Status::OK();
}

}  // namespace

Status SetStringAttr(const File& f, const std::string& object, const std::string& name, const std::string& value) {
  Handle type = Utf8VlenType();
  Handle space(H5Screate(H5S_SCALAR));
  const char* p = value.c_str();
  return WriteAttr(f, object, name, type.get(), space.get(), &p);
}

Status SetStringArrayAttr(const File& f, const std::string& object, const std::string& name,
                          const std::vector<std::string>& values) {
  hsize_t n = values.size();
  Handle space(H5Screate_simple(1, &n, nullptr));
  if (n == 0) {
    // As h5py writes an empty list: a float64 array of length 0 (libhdf5
    // wants a buffer even for no elements).
    const double none = 0;
    return WriteAttr(f, object, name, H5T_NATIVE_DOUBLE, space.get(), &none);
  }
  Handle type = Utf8VlenType();
  std::vector<const char*> ptrs;
  for (const std::string& s : values) ptrs.push_back(s.c_str());
  return WriteAttr(f, object, name, type.get(), space.get(), ptrs.data());
}

Status SetIntArrayAttr(const File& f, const std::string& object, const std::string& name, const std::vector<int64_t>& values) {
  hsize_t n = values.size();
  Handle space(H5Screate_simple(1, &n, nullptr));
  return WriteAttr(f, object, name, H5T_NATIVE_INT64, space.get(), values.data());
}

Status SetBoolAttr(const File& f, const std::string& object, const std::string& name, bool value) {
  Handle type = BoolType();
  Handle space(H5Screate(H5S_SCALAR));
  int8_t v = value ? 1 : 0;
  return WriteAttr(f, object, name, type.get(), space.get(), &v);
}

namespace {

Status WriteDataset(const File& f, const std::string& path, hid_t type, const std::vector<uint64_t>& dims, const void* data) {
  std::vector<hsize_t> d(dims.begin(), dims.end());
  Handle space(dims.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(d.size()), d.data(), nullptr));
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  Handle ds(H5Dcreate2(f.id(), path.c_str(), type, space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!ds.valid()) return Status::IOError(f.path() + ": " + path + ": cannot create dataset: " + Hdf5Message());
  uint64_t n = 1;
  for (uint64_t x : dims) n *= x;
  if (n > 0 && H5Dwrite(ds.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
    return Status::IOError(f.path() + ": " + path + ": cannot write dataset: " + Hdf5Message());
  }
  return Status::OK();
}

}  // namespace

template <typename T>
Status WriteArray(const File& f, const std::string& path, const std::vector<uint64_t>& dims, const T* data) {
  if constexpr (std::is_same_v<T, bool>) {
    static_assert(sizeof(bool) == 1);
    Handle type = BoolType();
    return WriteDataset(f, path, type.get(), dims, data);
  } else {
    return WriteDataset(f, path, NativeType<T>(), dims, data);
  }
}

template <typename T>
Status WriteScalar(const File& f, const std::string& path, T value) {
  return WriteArray<T>(f, path, {}, &value);
}

Status WriteStrings(const File& f, const std::string& path, const std::vector<std::string>& values) {
  Handle type = Utf8VlenType();
  std::vector<const char*> ptrs;
  for (const std::string& s : values) ptrs.push_back(s.c_str());
  return WriteDataset(f, path, type.get(), {values.size()}, ptrs.data());
}

Status WriteScalarString(const File& f, const std::string& path, const std::string& value) {
  Handle type = Utf8VlenType();
  const char* p = value.c_str();
  return WriteDataset(f, path, type.get(), {}, &p);
}

template <typename T>
Result<Appender<T>> Appender<T>::Create(const File& f, const std::string& path, uint64_t chunk_elems) {
  Appender<T> a;
  a.f_ = &f;
  a.path_ = path;
  hsize_t zero = 0, unlimited = H5S_UNLIMITED, chunk = chunk_elems;
  Handle space(H5Screate_simple(1, &zero, &unlimited));
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
  H5Pset_chunk(dcpl.get(), 1, &chunk);
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  a.ds_ = Handle(H5Dcreate2(f.id(), path.c_str(), NativeType<T>(), space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT));
  if (!a.ds_.valid()) return Status::IOError(f.path() + ": " + path + ": cannot create dataset: " + Hdf5Message());
  return a;
}

template <typename T>
Status Appender<T>::Append(const T* data, uint64_t n) {
  if (n == 0) return Status::OK();
  hsize_t new_size = size_ + n;
  if (H5Dset_extent(ds_.get(), &new_size) < 0) {
    return Status::IOError(f_->path() + ": " + path_ + ": cannot extend dataset: " + Hdf5Message());
  }
  Handle space(H5Dget_space(ds_.get()));
  hsize_t start = size_, count = n;
  H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, &start, nullptr, &count, nullptr);
  Handle mem(H5Screate_simple(1, &count, nullptr));
  if (H5Dwrite(ds_.get(), NativeType<T>(), mem.get(), space.get(), H5P_DEFAULT, data) < 0) {
    return Status::IOError(f_->path() + ": " + path_ + ": cannot write: " + Hdf5Message());
  }
  size_ = new_size;
  return Status::OK();
}

#define SLAF_H5_INSTANTIATE(T)                                                                    \
  template Status Read<T>(const File&, const std::string&, uint64_t, uint64_t, T*);                 \
  template Result<std::vector<T>> ReadAll<T>(const File&, const std::string&);                     \
  template Status WriteArray<T>(const File&, const std::string&, const std::vector<uint64_t>&, const T*); \
  template Status WriteScalar<T>(const File&, const std::string&, T);                               \
  template class Appender<T>;
SLAF_H5_INSTANTIATE(int64_t)
SLAF_H5_INSTANTIATE(uint64_t)
SLAF_H5_INSTANTIATE(int32_t)
SLAF_H5_INSTANTIATE(uint32_t)
SLAF_H5_INSTANTIATE(int8_t)
SLAF_H5_INSTANTIATE(uint8_t)
SLAF_H5_INSTANTIATE(double)
SLAF_H5_INSTANTIATE(float)
#undef SLAF_H5_INSTANTIATE
template Result<std::vector<int64_t>> ReadField<int64_t>(const File&, const std::string&, const std::string&);
template Result<std::vector<double>> ReadField<double>(const File&, const std::string&, const std::string&);
template Result<std::vector<uint8_t>> ReadField<uint8_t>(const File&, const std::string&, const std::string&);
template Status WriteArray<bool>(const File&, const std::string&, const std::vector<uint64_t>&, const bool*);

}  // namespace slaf::interop::h5
