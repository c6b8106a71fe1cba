// An in-memory object store that models durability like a disk: bytes
// appended to a file are lost in a crash until the file is synced, and a
// file created but never synced disappears. SimulateCrash() applies those
// losses (optionally keeping a torn, random prefix of the unsynced bytes).
// PutIfAbsent and Put are atomic and durable, as on object stores.
//
// Used by the crash tests with FaultInjectingStore on top.
#pragma once

#include <map>
#include <memory>
#include <mutex>

#include "slaf/store.h"

namespace slaf::io {

class MemoryStore final : public ObjectStore {
 public:
  explicit MemoryStore(std::string name);
  const std::string& location() const override { return name_; }
  Result<std::shared_ptr<RandomAccessFile>> OpenRead(const std::string& key) override;
  Result<std::unique_ptr<WritableFile>> Create(const std::string& key) override;
  Status PutIfAbsent(const std::string& key, std::span<const uint8_t> data) override;
  Status Put(const std::string& key, std::span<const uint8_t> data) override;
  Result<std::vector<ObjectEntry>> List(const std::string& prefix) override;
  Status Delete(const std::string& key) override;

  // Drops what a power loss would: unsynced bytes (keeping a random prefix
  // of them when `torn` and seed says so) and never-synced files.
  void SimulateCrash(uint64_t seed, bool torn);

  // Snapshot of every object's current bytes, for comparisons in tests.
  std::map<std::string, std::vector<uint8_t>> Snapshot() const;

  struct Object {
    std::vector<uint8_t> bytes;
    size_t synced = 0;         // bytes that survive a crash
    bool name_durable = false; // the object survives a crash at all
    int64_t mtime_ms = 0;
  };

 private:
  friend class MemoryStoreFile;
  std::string name_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Object>> objects_;
};

}  // namespace slaf::io
