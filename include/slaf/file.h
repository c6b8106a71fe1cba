// Byte access interfaces, implemented by the io layer. Every storage backend, local files,
// memory, and later HTTP ranges and object stores, implements these, so the
// engine has one code path for all of them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "slaf/status.h"

namespace slaf::io {

// One byte range of a batched read: `length` bytes at `offset` into `out`.
struct ReadRequest {
  uint64_t offset = 0;
  size_t length = 0;
  uint8_t* out = nullptr;
};

// A read-only file of fixed size. Implementations are safe for concurrent
// use from several threads. Files are immutable once written (ARCHITECTURE),
// so implementations may cache the size.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;

  // Name used in error messages (a path or URL).
  virtual const std::string& name() const = 0;

  virtual uint64_t size() const = 0;

  // Reads exactly n bytes at offset into out. A range past the end of the
  // file is InvalidArgument naming the file, offset and size; a short read
  // from the backend is IOError.
  virtual Status ReadAt(uint64_t offset, size_t n, uint8_t* out) const = 0;

  // Reads several ranges. Backends with per-request latency coalesce nearby
  // ranges and issue them in parallel; the default reads them one by one.
  virtual Status ReadRanges(std::span<const ReadRequest> requests) const;

 protected:
  // Shared bounds check for implementations.
  Status CheckRange(uint64_t offset, size_t n) const;
};

// An append-only file being written. Not thread-safe. Data is durable only
// after Sync() returns OK; after any error the file must be abandoned.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual const std::string& name() const = 0;
  virtual Status Append(std::span<const uint8_t> data) = 0;
  virtual Status Sync() = 0;
  virtual Status Close() = 0;
  // Bytes appended so far.
  virtual uint64_t size() const = 0;
};

// Local files (pread based). The file must not change while open.
Result<std::unique_ptr<RandomAccessFile>> OpenLocalFile(const std::string& path);

// Creates (or truncates) a local file for writing.
Result<std::unique_ptr<WritableFile>> CreateLocalFile(const std::string& path);

// In-memory file over a copy of `bytes`, named `name` in errors.
std::unique_ptr<RandomAccessFile> NewMemoryFile(std::string name, std::vector<uint8_t> bytes);

// Writable file appending to *sink, which must outlive the file.
std::unique_ptr<WritableFile> NewMemoryWritableFile(std::string name, std::vector<uint8_t>* sink);

}  // namespace slaf::io
