#include "io/memory_store.h"

#include <chrono>
#include <cstring>
#include <random>

namespace slaf::io {

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}

// Reads see the object's bytes at open time (objects are immutable once
// complete, so a copy is what a real file would give).
class MemoryObjectFile final : public RandomAccessFile {
 public:
  MemoryObjectFile(std::string name, std::vector<uint8_t> bytes) : name_(std::move(name)), bytes_(std::move(bytes)) {}
  const std::string& name() const override { return name_; }
  uint64_t size() const override { return bytes_.size(); }
  Status ReadAt(uint64_t offset, size_t n, uint8_t* out) const override {
    SLAF_RETURN_IF_ERROR(CheckRange(offset, n));
    if (n) std::memcpy(out, bytes_.data() + offset, n);
    return Status::OK();
  }

 private:
  std::string name_;
  std::vector<uint8_t> bytes_;
};

}  // namespace

class MemoryStoreFile final : public WritableFile {
 public:
  MemoryStoreFile(MemoryStore* store, std::string name, std::shared_ptr<MemoryStore::Object> obj)
      : store_(store), name_(std::move(name)), obj_(std::move(obj)) {}
  const std::string& name() const override { return name_; }
  uint64_t size() const override {
    std::lock_guard<std::mutex> lock(store_->mu_);
    return obj_->bytes.size();
  }
  Status Append(std::span<const uint8_t> data) override {
    std::lock_guard<std::mutex> lock(store_->mu_);
    obj_->bytes.insert(obj_->bytes.end(), data.begin(), data.end());
    obj_->mtime_ms = NowMs();
    return Status::OK();
  }
  Status Sync() override {
    std::lock_guard<std::mutex> lock(store_->mu_);
    obj_->synced = obj_->bytes.size();
    obj_->name_durable = true;
    return Status::OK();
  }
  Status Close() override { return Status::OK(); }

 private:
  MemoryStore* store_;
  std::string name_;
  std::shared_ptr<MemoryStore::Object> obj_;
};

MemoryStore::MemoryStore(std::string name) : name_(std::move(name)) {}

Result<std::shared_ptr<RandomAccessFile>> MemoryStore::OpenRead(const std::string& key) {
  SLAF_RETURN_IF_ERROR(CheckKey(key));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return Status::NotFound(name_ + "/" + key + ": no such object");
  return std::shared_ptr<RandomAccessFile>(new MemoryObjectFile(name_ + "/" + key, it->second->bytes));
}

Result<std::unique_ptr<WritableFile>> MemoryStore::Create(const std::string& key) {
  SLAF_RETURN_IF_ERROR(CheckKey(key));
  std::lock_guard<std::mutex> lock(mu_);
  if (objects_.count(key)) return Status::Conflict(name_ + "/" + key + " already exists");
  auto obj = std::make_shared<Object>();
  obj->mtime_ms = NowMs();
  objects_[key] = obj;
  return std::unique_ptr<WritableFile>(new MemoryStoreFile(this, name_ + "/" + key, obj));
}

Status MemoryStore::PutIfAbsent(const std::string& key, std::span<const uint8_t> data) {
  SLAF_RETURN_IF_ERROR(CheckKey(key));
  std::lock_guard<std::mutex> lock(mu_);
  if (objects_.count(key)) return Status::Conflict(name_ + "/" + key + " already exists");
  auto obj = std::make_shared<Object>();
  obj->bytes.assign(data.begin(), data.end());
  obj->synced = obj->bytes.size();
  obj->name_durable = true;
  obj->mtime_ms = NowMs();
  objects_[key] = obj;
  return Status::OK();
}

Status MemoryStore::Put(const std::string& key, std::span<const uint8_t> data) {
  SLAF_RETURN_IF_ERROR(CheckKey(key));
  std::lock_guard<std::mutex> lock(mu_);
  auto obj = std::make_shared<Object>();
  obj->bytes.assign(data.begin(), data.end());
  obj->synced = obj->bytes.size();
  obj->name_durable = true;
  obj->mtime_ms = NowMs();
  objects_[key] = obj;
  return Status::OK();
}

Result<std::vector<ObjectEntry>> MemoryStore::List(const std::string& prefix) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ObjectEntry> out;
  for (auto it = objects_.lower_bound(prefix); it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    out.push_back({it->first, it->second->bytes.size(), it->second->mtime_ms});
  }
  return out;
}

Status MemoryStore::Delete(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!objects_.erase(key)) return Status::NotFound(name_ + "/" + key + ": no such object");
  return Status::OK();
}

void MemoryStore::SimulateCrash(uint64_t seed, bool torn) {
  std::lock_guard<std::mutex> lock(mu_);
  std::mt19937_64 rng(seed);
  for (auto it = objects_.begin(); it != objects_.end();) {
    Object& o = *it->second;
    if (!o.name_durable) {
      it = objects_.erase(it);
      continue;
    }
    size_t keep = o.synced;
    if (torn && o.bytes.size() > o.synced) keep += rng() % (o.bytes.size() - o.synced + 1);
    // Replace rather than truncate in place: open writers of the dead
    // process must not reach the surviving object.
    auto survivor = std::make_shared<Object>(o);
    survivor->bytes.resize(keep);
    survivor->synced = keep;
    it->second = survivor;
    ++it;
  }
}

std::map<std::string, std::vector<uint8_t>> MemoryStore::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, std::vector<uint8_t>> out;
  for (const auto& [k, o] : objects_) out[k] = o->bytes;
  return out;
}

}  // namespace slaf::io
