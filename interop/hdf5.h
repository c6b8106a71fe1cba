// A thin, error-checked layer over the libhdf5 C API for the importers and
// the h5ad exporter. Every failure becomes a Status that names the file and
// the object path ("pbmc.h5ad: /X/indptr: ...") plus libhdf5's own innermost
// message; libhdf5's automatic stack printing is turned off.
//
// libhdf5 (Debian's serial build) is not thread-safe: one thread at a time.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "slaf/status.h"

namespace slaf::interop::h5 {

// An owned hid_t, closed with the right H5*close on destruction.
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  Handle(Handle&& o) noexcept : id_(o.id_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      Reset();
      id_ = o.id_;
      o.id_ = -1;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { Reset(); }
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void Reset();

 private:
  hid_t id_ = -1;
};

// Scalar kinds of a dataset's or attribute's element type.
enum class Kind { kInt, kUInt, kFloat, kBool, kString, kCompound, kOther };

struct TypeInfo {
  Kind kind = Kind::kOther;
  size_t size = 0;  // bytes of one element (fixed strings: their length)
  bool vlen_string = false;
};

// A file opened read-only or created; the context for errors.
class File {
 public:
  static Result<File> Open(const std::string& path);
  static Result<File> Create(const std::string& path);  // truncates
  const std::string& path() const { return path_; }
  hid_t id() const { return h_.get(); }
  Status Error(const std::string& object, const std::string& what) const;  // InvalidArgument
  Status Flush() const;
  // The dataset at `path`, opened once and kept open so that its chunk
  // cache (64 MiB) survives between reads of consecutive pieces.
  Result<hid_t> Dataset(const std::string& path) const;

 private:
  std::string path_;
  Handle h_;
  mutable std::map<std::string, Handle> datasets_;  // closed before h_
};

// True when `path` (absolute, "/a/b") names a link that exists.
bool Exists(const File& f, const std::string& path);
bool IsGroup(const File& f, const std::string& path);
bool IsDataset(const File& f, const std::string& path);
// Names of a group's members, in creation (or name) order.
Result<std::vector<std::string>> Members(const File& f, const std::string& group);

// Attributes of an object. nullopt when absent.
Result<std::optional<std::string>> StringAttr(const File& f, const std::string& object, const std::string& name);
Result<std::vector<std::string>> StringArrayAttr(const File& f, const std::string& object, const std::string& name);
Result<std::vector<int64_t>> IntArrayAttr(const File& f, const std::string& object, const std::string& name);
Result<std::optional<bool>> BoolAttr(const File& f, const std::string& object, const std::string& name);

struct DatasetInfo {
  std::vector<uint64_t> dims;
  TypeInfo type;
};
Result<DatasetInfo> Describe(const File& f, const std::string& dataset);

// Reads elements [offset, offset + count) of a 1-D dataset (or the leading
// rows of a 2-D one, counting whole rows of dims[1] elements) converted by
// libhdf5 to T (int64_t, uint64_t, int32_t, uint32_t, double, float, uint8_t).
template <typename T>
Status Read(const File& f, const std::string& dataset, uint64_t offset, uint64_t count, T* out);
template <typename T>
Result<std::vector<T>> ReadAll(const File& f, const std::string& dataset);
// The whole 1-D string dataset (variable- or fixed-length, UTF-8 or ASCII).
Result<std::vector<std::string>> ReadStrings(const File& f, const std::string& dataset);

// Pre-0.7 anndata dataframes are compound datasets, one field per column.
struct Field {
  std::string name;
  TypeInfo type;
};
Result<std::vector<Field>> CompoundFields(const File& f, const std::string& dataset);
template <typename T>
Result<std::vector<T>> ReadField(const File& f, const std::string& dataset, const std::string& field);
Result<std::vector<std::string>> ReadStringField(const File& f, const std::string& dataset, const std::string& field);

// The path of the object an object-reference attribute points to (anndata
// 0.7 keeps categorical columns' categories that way); nullopt when absent.
Result<std::optional<std::string>> RefAttrTarget(const File& f, const std::string& object, const std::string& name);

// Writing (h5ad export). Groups are created with their parents.
Status CreateGroup(const File& f, const std::string& path);
Status SetStringAttr(const File& f, const std::string& object, const std::string& name, const std::string& value);
Status SetStringArrayAttr(const File& f, const std::string& object, const std::string& name,
                          const std::vector<std::string>& values);
Status SetIntArrayAttr(const File& f, const std::string& object, const std::string& name, const std::vector<int64_t>& values);
Status SetBoolAttr(const File& f, const std::string& object, const std::string& name, bool value);
// A dataset of `dims` with element type T (or variable-length UTF-8 strings).
template <typename T>
Status WriteArray(const File& f, const std::string& path, const std::vector<uint64_t>& dims, const T* data);
Status WriteStrings(const File& f, const std::string& path, const std::vector<std::string>& values);
Status WriteScalarString(const File& f, const std::string& path, const std::string& value);
template <typename T>
Status WriteScalar(const File& f, const std::string& path, T value);

// A 1-D dataset that grows by appends (chunked, unlimited), for streaming
// CSR data out without holding it.
template <typename T>
class Appender {
 public:
  static Result<Appender> Create(const File& f, const std::string& path, uint64_t chunk_elems = 1 << 18);
  Status Append(const T* data, uint64_t n);
  uint64_t size() const { return size_; }

 private:
  const File* f_ = nullptr;
  std::string path_;
  Handle ds_;
  uint64_t size_ = 0;
};

}  // namespace slaf::interop::h5
