// A store wrapper that fails chosen write-side operations, for the crash and
// error-path tests (RELIABILITY.md requirement 1). Every Create, Append,
// Sync, Close, PutIfAbsent, Put and Delete is counted and logged; when
// armed, the n-th one (1-based) returns IOError("injected fault ...")
// without reaching the wrapped store, once or from then on; or, in
// kOnceAfterDone mode, reaches the wrapped store and then reports the error
// anyway (a lost response: the operation happened, the caller is told no).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "slaf/store.h"

namespace slaf::io {

class FaultInjectingStore final : public ObjectStore {
 public:
  enum class Mode { kOnce, kFromThenOn, kOnceAfterDone };
  explicit FaultInjectingStore(std::shared_ptr<ObjectStore> base) : base_(std::move(base)) {}

  // Fail operation number n (counted from now on, 1-based).
  void Arm(uint64_t n, Mode mode);
  void Disarm();
  // Operations counted since the last Arm/Disarm, and whether a fault fired.
  uint64_t ops() const { return ops_.load(); }
  bool fired() const { return fired_.load(); }
  std::vector<std::string> log() const;

  const std::string& location() const override { return base_->location(); }
  Result<std::shared_ptr<RandomAccessFile>> OpenRead(const std::string& key) override { return base_->OpenRead(key); }
  Result<std::unique_ptr<WritableFile>> Create(const std::string& key) override;
  Status PutIfAbsent(const std::string& key, std::span<const uint8_t> data) override;
  Status Put(const std::string& key, std::span<const uint8_t> data) override;
  Result<std::vector<ObjectEntry>> List(const std::string& prefix) override { return base_->List(prefix); }
  Status Delete(const std::string& key) override;

  // Counts one operation; a non-OK Status if it is the one to fail.
  // `*after` is set when the failure must be reported after doing the work.
  Status Tick(const std::string& what, bool* after = nullptr);
  // Runs `op` unless Tick fails first; in kOnceAfterDone mode runs it and
  // then returns the injected error.
  template <typename F>
  auto Guard(const std::string& what, F&& op) -> decltype(op()) {
    bool after = false;
    Status s = Tick(what, &after);
    if (!s.ok() && !after) return s;
    auto r = op();
    if (!s.ok()) return s;
    return r;
  }

 private:
  std::shared_ptr<ObjectStore> base_;
  std::atomic<uint64_t> ops_{0};
  std::atomic<uint64_t> fail_at_{0};  // 0 = disarmed
  std::atomic<bool> from_then_on_{false};
  std::atomic<bool> after_done_{false};
  std::atomic<bool> fired_{false};
  mutable std::mutex mu_;
  std::vector<std::string> log_;
};

}  // namespace slaf::io
