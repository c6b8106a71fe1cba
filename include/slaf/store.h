// Object stores: where a dataset's files live (a local directory, memory,
// later HTTP and S3 prefixes). Keys are relative paths with '/' separators
// ("X/7f3a.seg", "_versions/00000000000000000002.json"); the dataset layer
// never builds a path of its own, so every backend serves every command.
//
// The commit protocol (format-spec §9) needs exactly one atomic primitive:
// PutIfAbsent, create-if-absent of a small object whose whole content
// becomes visible at once or not at all.
//
// Thread safety: implementations are safe for concurrent use.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "slaf/file.h"
#include "slaf/status.h"

namespace slaf::io {

struct ObjectEntry {
  std::string key;
  uint64_t size = 0;
  int64_t mtime_ms = 0;  // last modification, ms since the Unix epoch
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Location for messages: a directory path or URL prefix.
  virtual const std::string& location() const = 0;

  // Opens an existing object; NotFound if absent.
  virtual Result<std::shared_ptr<RandomAccessFile>> OpenRead(const std::string& key) = 0;

  // The whole object (manifests, hints); NotFound if absent.
  virtual Result<std::vector<uint8_t>> Get(const std::string& key);

  // Whether an object exists (a HEAD request remotely); errors other than
  // absence are errors.
  virtual Result<bool> Exists(const std::string& key);

  // Starts a new object under a key no one else uses (data files get unique
  // names). Durable once the file's Sync() returns OK; Sync also makes the
  // object's name durable (the directory entry, locally). Fails with
  // Conflict if the key exists.
  virtual Result<std::unique_ptr<WritableFile>> Create(const std::string& key) = 0;

  // Atomically creates `key` holding `data` if no object has that key, else
  // Conflict. On OK the object is durable and complete; a crash or error
  // leaves either no object or the whole object, never a part.
  virtual Status PutIfAbsent(const std::string& key, std::span<const uint8_t> data) = 0;

  // Creates or replaces `key` atomically (readers see old or new bytes).
  // Only for advisory objects such as the _latest hint.
  virtual Status Put(const std::string& key, std::span<const uint8_t> data) = 0;

  // Objects whose key starts with `prefix`, in no particular order.
  virtual Result<std::vector<ObjectEntry>> List(const std::string& prefix) = 0;

  // Removes an object; NotFound if absent.
  virtual Status Delete(const std::string& key) = 0;
};

// A directory on the local file system. With `create`, the directory is
// made if missing. PutIfAbsent writes a synced temporary file and link()s it
// to the key, which fails if the key exists, then syncs the directory.
Result<std::shared_ptr<ObjectStore>> OpenLocalStore(const std::string& dir, bool create);

// Checks a key: relative, '/'-separated, no empty, "." or ".." segments, no
// backslash, NUL, "%" escapes or URL scheme. Every store applies it to every
// key; manifests apply it to every path they list (format-spec §9).
Status CheckKey(const std::string& key);

}  // namespace slaf::io
