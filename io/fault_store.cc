#include "io/fault_store.h"

namespace slaf::io {

namespace {

// Forwards to the wrapped file, counting each call at the store.
class FaultFile final : public WritableFile {
 public:
  FaultFile(FaultInjectingStore* store, std::unique_ptr<WritableFile> base)
      : store_(store), base_(std::move(base)) {}
  const std::string& name() const override { return base_->name(); }
  uint64_t size() const override { return base_->size(); }
  Status Append(std::span<const uint8_t> data) override {
    return store_->Guard("append " + name(), [&] { return base_->Append(data); });
  }
  Status Sync() override {
    return store_->Guard("sync " + name(), [&] { return base_->Sync(); });
  }
  Status Close() override {
    return store_->Guard("close " + name(), [&] { return base_->Close(); });
  }

 private:
  FaultInjectingStore* store_;
  std::unique_ptr<WritableFile> base_;
};

}  // namespace

void FaultInjectingStore::Arm(uint64_t n, Mode mode) {
  std::lock_guard<std::mutex> lock(mu_);
  ops_ = 0;
  fired_ = false;
  from_then_on_ = mode == Mode::kFromThenOn;
  after_done_ = mode == Mode::kOnceAfterDone;
  fail_at_ = n;
  log_.clear();
}

void FaultInjectingStore::Disarm() {
  std::lock_guard<std::mutex> lock(mu_);
  ops_ = 0;
  fired_ = false;
  fail_at_ = 0;
  log_.clear();
}

std::vector<std::string> FaultInjectingStore::log() const {
  std::lock_guard<std::mutex> lock(mu_);
  return log_;
}

Status FaultInjectingStore::Tick(const std::string& what, bool* after) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t n = ++ops_;
  log_.push_back(what);
  const uint64_t at = fail_at_;
  if (at != 0 && (n == at || (from_then_on_ && n > at))) {
    fired_ = true;
    if (after) *after = after_done_;
    return Status::IOError("injected fault at operation " + std::to_string(n) + " (" + what + ")");
  }
  return Status::OK();
}

Result<std::unique_ptr<WritableFile>> FaultInjectingStore::Create(const std::string& key) {
  bool after = false;
  Status s = Tick("create " + key, &after);
  if (!s.ok() && !after) return s;
  SLAF_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, base_->Create(key));
  if (!s.ok()) return s;  // created, but the caller hears an error
  return std::unique_ptr<WritableFile>(new FaultFile(this, std::move(f)));
}

Status FaultInjectingStore::PutIfAbsent(const std::string& key, std::span<const uint8_t> data) {
  return Guard("put_if_absent " + key, [&] { return base_->PutIfAbsent(key, data); });
}

Status FaultInjectingStore::Put(const std::string& key, std::span<const uint8_t> data) {
  return Guard("put " + key, [&] { return base_->Put(key, data); });
}

Status FaultInjectingStore::Delete(const std::string& key) {
  return Guard("delete " + key, [&] { return base_->Delete(key); });
}

}  // namespace slaf::io
