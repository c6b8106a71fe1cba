// Remote object stores: HTTP(S) URL prefixes (read-only) and S3 buckets
// (read-write), with range-reading files, a block cache and request
// coalescing. Transfers are io/http_client.cc's.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <list>
#include <map>
#include <mutex>
#include <thread>

#include "io/http_client.h"
#include "io/s3_list.h"
#include "slaf/remote.h"

namespace slaf::io {

bool IsRemoteUri(const std::string& uri) {
  return uri.rfind("http://", 0) == 0 || uri.rfind("https://", 0) == 0 || uri.rfind("s3://", 0) == 0;
}

namespace {

// ---------------------------------------------------------------- cache

// LRU cache of fetched byte ranges ("extents"), shared by the files of one
// store and bounded in bytes. Extents are the exact ranges fetched, not fixed
// blocks, so a small read costs only its own bytes. A read hits when one
// extent covers it entirely.
class BlockCache {
 public:
  explicit BlockCache(uint64_t capacity) : capacity_(capacity) {}

  bool Lookup(uint64_t file, uint64_t offset, size_t n, uint8_t* out) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = extents_.upper_bound({file, offset});
    // Extents of a file may overlap; look back over a few starting at or
    // before `offset`.
    for (int k = 0; k < 8 && it != extents_.begin(); ++k) {
      --it;
      if (it->first.first != file) break;
      const Extent& e = it->second;
      if (it->first.second + e.bytes.size() >= offset + n) {
        std::memcpy(out, e.bytes.data() + (offset - it->first.second), n);
        lru_.splice(lru_.begin(), lru_, e.lru);
        return true;
      }
    }
    return false;
  }

  void Insert(uint64_t file, uint64_t offset, std::vector<uint8_t> bytes) {
    if (bytes.empty() || bytes.size() > capacity_ / 4) return;  // big scans would flush everything
    std::lock_guard<std::mutex> lock(mu_);
    const Key key{file, offset};
    auto it = extents_.find(key);
    if (it != extents_.end()) {
      if (it->second.bytes.size() >= bytes.size()) return;
      Erase(it);
    }
    used_ += bytes.size();
    lru_.push_front(key);
    extents_.emplace(key, Extent{std::move(bytes), lru_.begin()});
    while (used_ > capacity_ && !lru_.empty()) Erase(extents_.find(lru_.back()));
  }

  void Forget(uint64_t file) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = extents_.lower_bound({file, 0});
    while (it != extents_.end() && it->first.first == file) it = Erase(it);
  }

 private:
  using Key = std::pair<uint64_t, uint64_t>;
  struct Extent {
    std::vector<uint8_t> bytes;
    std::list<Key>::iterator lru;
  };
  std::map<Key, Extent>::iterator Erase(std::map<Key, Extent>::iterator it) {
    used_ -= it->second.bytes.size();
    lru_.erase(it->second.lru);
    return extents_.erase(it);
  }

  std::mutex mu_;
  uint64_t capacity_;
  uint64_t used_ = 0;
  std::map<Key, Extent> extents_;
  std::list<Key> lru_;  // front: most recently used
};

// What a store's files share: the client (connections), the cache.
struct Remote {
  std::shared_ptr<HttpClient> client;
  std::shared_ptr<BlockCache> cache;
  std::atomic<uint64_t> next_file_id{1};
};

// ---------------------------------------------------------------- files

// A remote object read by ranges. The object's ETag (else Last-Modified) is
// pinned when it opens; every later request carries If-Match (else
// If-Unmodified-Since) and its answer is checked, so a changed object is an
// error, never a mix of old and new bytes.
class HttpFile final : public RandomAccessFile {
 public:
  static Result<std::shared_ptr<RandomAccessFile>> Open(std::shared_ptr<Remote> remote, std::string url) {
    const HttpOptions& o = remote->client->options();
    // The head and the tail of the object in one round trip: readers check
    // a header at 0 and a footer at the end before anything else.
    std::vector<uint8_t> tail(o.speculative_tail), head(o.speculative_head);
    HttpRequest t, h;
    t.url = h.url = url;
    t.range = h.range = true;
    t.suffix = true;
    t.range_length = tail.size();
    t.out = tail.data();
    h.allow_short = true;
    h.range_length = head.size();
    h.out = head.data();
    t.accept = h.accept = {416};  // an empty object has no byte to give
    SLAF_RETURN_IF_ERROR(remote->client->Execute({&t, &h}));
    if (t.http_status == 416 || h.http_status == 416) return EmptyObject(remote, url);
    if (t.etag != h.etag || t.last_modified != h.last_modified) {
      return Status::IOError(url + ": the object changed on the server while it was being opened (ETag " + h.etag + " then " + t.etag + ")");
    }
    auto f = std::shared_ptr<HttpFile>(new HttpFile(remote, url, t.total_size, t.etag, t.last_modified));
    tail.resize(t.received);
    head.resize(h.received);
    remote->cache->Insert(f->id_, t.range_offset, std::move(tail));
    remote->cache->Insert(f->id_, 0, std::move(head));
    return std::shared_ptr<RandomAccessFile>(std::move(f));
  }

  ~HttpFile() override { remote_->cache->Forget(id_); }

  const std::string& name() const override { return url_; }
  uint64_t size() const override { return size_; }

  Status ReadAt(uint64_t offset, size_t n, uint8_t* out) const override {
    const ReadRequest r{offset, n, out};
    return ReadRanges(std::span(&r, 1));
  }

  Status ReadRanges(std::span<const ReadRequest> requests) const override {
    std::vector<const ReadRequest*> missing;
    uint64_t hits = 0;
    for (const ReadRequest& r : requests) {
      SLAF_RETURN_IF_ERROR(CheckRange(r.offset, r.length));
      if (r.length == 0) continue;
      if (remote_->cache->Lookup(id_, r.offset, r.length, r.out)) ++hits;
      else missing.push_back(&r);
    }
    AddCacheStats(hits, missing.size());
    if (missing.empty()) return Status::OK();
    // Coalesce: sorted by offset, a range joins the previous request when
    // the gap is small and the request stays bounded.
    std::sort(missing.begin(), missing.end(), [](const ReadRequest* a, const ReadRequest* b) { return a->offset < b->offset; });
    const HttpOptions& o = remote_->client->options();
    struct Group {
      uint64_t begin, end;
      std::vector<const ReadRequest*> parts;
      std::vector<uint8_t> bytes;
      HttpRequest http;
    };
    std::vector<Group> groups;
    for (const ReadRequest* r : missing) {
      const uint64_t end = r->offset + r->length;
      if (!groups.empty()) {
        Group& g = groups.back();
        if (r->offset <= g.end + o.coalesce_gap && std::max(end, g.end) - g.begin <= o.max_request_bytes) {
          g.end = std::max(g.end, end);
          g.parts.push_back(r);
          continue;
        }
      }
      groups.push_back(Group{r->offset, end, {r}, {}, {}});
    }
    std::vector<HttpRequest*> batch;
    for (Group& g : groups) {
      g.bytes.resize(g.end - g.begin);
      HttpRequest& h = g.http;
      h.url = url_;
      h.range = true;
      h.range_offset = g.begin;
      h.range_length = g.bytes.size();
      h.out = g.bytes.data();
      h.expect_total = size_;
      // A weak ETag ("W/...") never matches If-Match (a strong comparison):
      // pin by date then, and by comparing the ETag of each answer.
      const bool strong = !etag_.empty() && etag_.rfind("W/", 0) != 0;
      if (strong) h.headers.push_back("If-Match: " + etag_);
      else if (!last_modified_.empty()) h.headers.push_back("If-Unmodified-Since: " + last_modified_);
      batch.push_back(&h);
    }
    SLAF_RETURN_IF_ERROR(remote_->client->Execute(batch));
    for (Group& g : groups) {
      const HttpRequest& h = g.http;
      if ((!etag_.empty() && !h.etag.empty() && h.etag != etag_) ||
          (etag_.empty() && !last_modified_.empty() && !h.last_modified.empty() && h.last_modified != last_modified_)) {
        return Status::IOError(url_ + ": the object changed on the server since it was opened (ETag " + etag_ + ", now " + h.etag +
                               "; bytes " + std::to_string(g.begin) + "-" + std::to_string(g.end - 1) + ")");
      }
      for (const ReadRequest* r : g.parts) std::memcpy(r->out, g.bytes.data() + (r->offset - g.begin), r->length);
      remote_->cache->Insert(id_, g.begin, std::move(g.bytes));
    }
    return Status::OK();
  }

 private:
  HttpFile(std::shared_ptr<Remote> remote, std::string url, uint64_t size, std::string etag, std::string last_modified)
      : remote_(std::move(remote)), url_(std::move(url)), size_(size), etag_(std::move(etag)), last_modified_(std::move(last_modified)),
        id_(remote_->next_file_id++) {}

  static Result<std::shared_ptr<RandomAccessFile>> EmptyObject(std::shared_ptr<Remote> remote, std::string url) {
    HttpRequest head;
    head.method = "HEAD";
    head.url = url;
    SLAF_RETURN_IF_ERROR(remote->client->Execute(&head));
    if (head.total_size != 0) return Status::IOError(url + ": the server refused a range read of a " + std::to_string(head.total_size) + "-byte object (HTTP 416)");
    return std::shared_ptr<RandomAccessFile>(new HttpFile(remote, url, 0, head.etag, head.last_modified));
  }

  std::shared_ptr<Remote> remote_;
  std::string url_;
  uint64_t size_;
  std::string etag_, last_modified_;
  uint64_t id_;
};

// ---------------------------------------------------------------- stores

// Reads shared by HTTP and S3 stores; writes are S3's.
class RemoteStore : public ObjectStore {
 public:
  RemoteStore(std::string location, std::shared_ptr<Remote> remote) : location_(std::move(location)), remote_(std::move(remote)) {}

  const std::string& location() const override { return location_; }

  Result<std::shared_ptr<RandomAccessFile>> OpenRead(const std::string& key) override {
    SLAF_RETURN_IF_ERROR(CheckKey(key));
    Result<std::shared_ptr<RandomAccessFile>> f = HttpFile::Open(remote_, Url(key));
    if (!f.ok() && f.status().IsNotFound()) return Status::NotFound(location_ + "/" + key + ": no such object");
    return f;
  }

  Result<std::vector<uint8_t>> Get(const std::string& key) override {
    SLAF_RETURN_IF_ERROR(CheckKey(key));
    std::vector<uint8_t> body;
    HttpRequest r;
    r.url = Url(key);
    r.body = &body;
    r.max_body = 256ull << 20;  // manifests and hints; data files are read by range
    Status s = remote_->client->Execute(&r);
    if (s.IsNotFound()) return Status::NotFound(location_ + "/" + key + ": no such object");
    SLAF_RETURN_IF_ERROR(s);
    return body;
  }

  Result<bool> Exists(const std::string& key) override {
    SLAF_RETURN_IF_ERROR(CheckKey(key));
    HttpRequest r;
    r.method = "HEAD";
    r.url = Url(key);
    r.accept = {404};
    SLAF_RETURN_IF_ERROR(remote_->client->Execute(&r));
    return r.http_status != 404;
  }

 protected:
  virtual std::string Url(const std::string& key) const = 0;

  std::string location_;
  std::shared_ptr<Remote> remote_;
};

class HttpStore final : public RemoteStore {
 public:
  HttpStore(std::string prefix, std::shared_ptr<Remote> remote) : RemoteStore(prefix, std::move(remote)), prefix_(std::move(prefix)) {}

  Result<std::unique_ptr<WritableFile>> Create(const std::string&) override { return ReadOnly(); }
  Status PutIfAbsent(const std::string&, std::span<const uint8_t>) override { return ReadOnly(); }
  Status Put(const std::string&, std::span<const uint8_t>) override { return ReadOnly(); }
  Status Delete(const std::string&) override { return ReadOnly(); }
  Result<std::vector<ObjectEntry>> List(const std::string&) override {
    return Status::NotSupported(location_ + ": an HTTP server cannot list objects");
  }

 private:
  std::string Url(const std::string& key) const override { return prefix_ + "/" + UriEncode(key, true); }
  Status ReadOnly() const {
    return Status::NotSupported(location_ + ": HTTP(S) datasets are read-only; write to a local directory or an s3:// prefix");
  }
  std::string prefix_;
};

// Whether the object at `url` holds exactly `size` bytes equal to those
// `ours(offset, n, out)` produces, compared 8 MiB at a time.
template <typename Source>
Result<bool> StoredEquals(const std::shared_ptr<Remote>& remote, const std::string& url, uint64_t size, Source ours) {
  SLAF_ASSIGN_OR_RETURN(std::shared_ptr<RandomAccessFile> f, HttpFile::Open(remote, url));
  if (f->size() != size) return false;
  std::vector<uint8_t> a(std::min<uint64_t>(size, 8 << 20)), b(a.size());
  for (uint64_t off = 0; off < size;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(a.size(), size - off));
    SLAF_RETURN_IF_ERROR(f->ReadAt(off, n, a.data()));
    if (!ours(off, n, b.data())) return Status::IOError(url + ": cannot re-read the upload spool file");
    if (std::memcmp(a.data(), b.data(), n) != 0) return false;
    off += n;
  }
  return true;
}

// A new S3 object: appended bytes spool to an unlinked temporary file and
// are PUT (create-if-absent) on Sync, so an object appears whole or not at
// all and memory stays flat whatever the file size.
class S3WritableFile final : public WritableFile {
 public:
  S3WritableFile(std::string name, std::string url, std::shared_ptr<Remote> remote, int fd)
      : name_(std::move(name)), url_(std::move(url)), remote_(std::move(remote)), fd_(fd) {}
  ~S3WritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }
  const std::string& name() const override { return name_; }
  uint64_t size() const override { return size_; }
  Status Append(std::span<const uint8_t> data) override {
    if (fd_ < 0) return Status::IOError(name_ + ": append after close");
    size_t done = 0;
    while (done < data.size()) {
      const ssize_t w = ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(size_ + done));
      if (w < 0) {
        if (errno == EINTR) continue;
        return Status::IOError(name_ + ": writing the upload spool file: " + std::strerror(errno));
      }
      done += static_cast<size_t>(w);
    }
    size_ += data.size();
    dirty_ = true;
    return Status::OK();
  }
  Status Sync() override {
    if (fd_ < 0) return Status::IOError(name_ + ": sync after close");
    if (!dirty_ && uploaded_) return Status::OK();
    HttpRequest r;
    r.method = "PUT";
    r.url = url_;
    r.upload_fd = fd_;
    r.upload_size = size_;
    // The first upload must not replace anything (data files have unique
    // names; a clash is a bug or a concurrent writer). Later syncs replace
    // our own object.
    if (!uploaded_) r.headers.push_back("If-None-Match: *");
    r.accept = {412};
    SLAF_RETURN_IF_ERROR(remote_->client->Execute(&r));
    if (r.http_status == 412) {
      // After a retry, the object may be our own first attempt, whose
      // answer was lost.
      bool ours = false;
      if (r.attempts > 1) {
        SLAF_ASSIGN_OR_RETURN(ours, StoredEquals(remote_, url_, size_, [&](uint64_t off, size_t n, uint8_t* out) {
                                return ::pread(fd_, out, n, static_cast<off_t>(off)) == static_cast<ssize_t>(n);
                              }));
      }
      if (!ours) return Status::Conflict(name_ + " already exists");
    }
    uploaded_ = true;
    dirty_ = false;
    return Status::OK();
  }
  Status Close() override {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    return Status::OK();
  }

 private:
  std::string name_, url_;
  std::shared_ptr<Remote> remote_;
  int fd_;
  uint64_t size_ = 0;
  bool dirty_ = false, uploaded_ = false;
};

class S3Store final : public RemoteStore {
 public:
  // bucket_url: the URL of the bucket ("http://host:port/bucket" path-style
  // or "https://bucket.s3.region.amazonaws.com"); prefix: the key prefix
  // inside it ("" or "a/b").
  S3Store(std::string location, std::string bucket_url, std::string prefix, std::shared_ptr<Remote> remote)
      : RemoteStore(std::move(location), std::move(remote)), bucket_url_(std::move(bucket_url)), prefix_(std::move(prefix)) {}

  Result<std::unique_ptr<WritableFile>> Create(const std::string& key) override {
    SLAF_RETURN_IF_ERROR(CheckKey(key));
    const char* tmpdir = std::getenv("TMPDIR");
    std::string path = std::string(tmpdir && *tmpdir ? tmpdir : "/tmp") + "/slaf-upload-XXXXXX";
    const int fd = ::mkstemp(path.data());
    if (fd < 0) return Status::IOError("creating an upload spool file in " + path + ": " + std::strerror(errno));
    ::unlink(path.c_str());
    return std::unique_ptr<WritableFile>(new S3WritableFile(location_ + "/" + key, Url(key), remote_, fd));
  }

  Status PutIfAbsent(const std::string& key, std::span<const uint8_t> data) override {
    SLAF_RETURN_IF_ERROR(CheckKey(key));
    // 409 ConditionalRequestConflict: a concurrent conditional write to the
    // same key is in flight; S3 asks to retry, and then one of us gets 412.
    for (int attempt = 0;; ++attempt) {
      HttpRequest r;
      r.method = "PUT";
      r.url = Url(key);
      r.upload = data.data();
      r.upload_size = data.size();
      r.headers.push_back("If-None-Match: *");
      r.accept = {409, 412};
      SLAF_RETURN_IF_ERROR(remote_->client->Execute(&r));
      if (r.http_status == 412) {
        // A retried create that meets 412 may have met itself: our first
        // attempt landed and its answer was lost (format-spec §9.4).
        bool ours = false;
        if (r.attempts > 1) {
          SLAF_ASSIGN_OR_RETURN(ours, StoredEquals(remote_, Url(key), data.size(), [&](uint64_t off, size_t n, uint8_t* out) {
                                  std::memcpy(out, data.data() + off, n);
                                  return true;
                                }));
        }
        if (!ours) return Status::Conflict(location_ + "/" + key + " already exists");
      }
      if (r.http_status != 409) return Status::OK();
      if (attempt >= 5) return Status::IOError(location_ + "/" + key + ": conditional create kept conflicting (HTTP 409)");
      std::this_thread::sleep_for(std::chrono::milliseconds(50 << attempt));
    }
  }

  Status Put(const std::string& key, std::span<const uint8_t> data) override {
    SLAF_RETURN_IF_ERROR(CheckKey(key));
    HttpRequest r;
    r.method = "PUT";
    r.url = Url(key);
    r.upload = data.data();
    r.upload_size = data.size();
    return remote_->client->Execute(&r);
  }

  Status Delete(const std::string& key) override {
    // S3 deletes succeed for missing keys; the interface reports NotFound.
    SLAF_ASSIGN_OR_RETURN(bool exists, Exists(key));
    if (!exists) return Status::NotFound(location_ + "/" + key + ": no such object");
    HttpRequest r;
    r.method = "DELETE";
    r.url = Url(key);
    r.accept = {404};
    return remote_->client->Execute(&r);
  }

  // ListObjectsV2, page by page.
  Result<std::vector<ObjectEntry>> List(const std::string& prefix) override {
    const std::string full = prefix_.empty() ? prefix : prefix_ + "/" + prefix;
    std::vector<ObjectEntry> out;
    std::string token;
    for (int page = 0; page < 100000; ++page) {
      // Parameters in canonical (sorted) order, encoded, as SigV4 signs them.
      std::string query = bucket_url_ + "/?";
      if (!token.empty()) query += "continuation-token=" + UriEncode(token, false) + "&";
      // '/' stays unescaped: libcurl 7.88's SigV4 signs the query as sent,
      // and a signature over "%2F" is refused (checked against moto).
      query += "list-type=2&prefix=" + UriEncode(full, true);
      std::vector<uint8_t> body;
      HttpRequest r;
      r.url = query;
      r.body = &body;
      r.max_body = 64 << 20;
      Status s = remote_->client->Execute(&r);
      if (s.IsNotFound()) return Status::NotFound(location_ + ": no such bucket");
      SLAF_RETURN_IF_ERROR(s);
      SLAF_ASSIGN_OR_RETURN(ListPage page_of, ParseListObjectsV2({reinterpret_cast<const char*>(body.data()), body.size()}, prefix_, location_));
      for (ObjectEntry& e : page_of.entries) out.push_back(std::move(e));
      if (!page_of.truncated) return out;
      token = page_of.next_token;
    }
    return Status::IOError(location_ + ": too many ListObjectsV2 pages");
  }

 private:
  std::string Url(const std::string& key) const override {
    return bucket_url_ + "/" + UriEncode(prefix_.empty() ? key : prefix_ + "/" + key, true);
  }

  std::string bucket_url_, prefix_;
};

std::shared_ptr<Remote> NewRemote(const HttpOptions& options, HttpClient::Auth auth) {
  auto r = std::make_shared<Remote>();
  r->client = std::make_shared<HttpClient>(options, std::move(auth));
  r->cache = std::make_shared<BlockCache>(options.cache_bytes);
  return r;
}

std::string StripSlashes(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

}  // namespace

Result<std::shared_ptr<ObjectStore>> OpenHttpStore(const std::string& url, const HttpOptions& options) {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) return Status::InvalidArgument(url + ": not an http:// or https:// URL");
  const std::string prefix = StripSlashes(url);
  if (prefix.find('?') != std::string::npos || prefix.find('#') != std::string::npos) {
    return Status::InvalidArgument(url + ": a dataset URL has no query or fragment");
  }
  return std::shared_ptr<ObjectStore>(new HttpStore(prefix, NewRemote(options, {})));
}

Result<std::shared_ptr<ObjectStore>> OpenS3Store(const std::string& uri, const HttpOptions& options) {
  if (uri.rfind("s3://", 0) != 0) return Status::InvalidArgument(uri + ": not an s3:// URI");
  const std::string rest = StripSlashes(uri.substr(5));
  const size_t slash = rest.find('/');
  const std::string bucket = rest.substr(0, slash);
  const std::string prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (bucket.empty()) return Status::InvalidArgument(uri + ": no bucket name");
  if (!prefix.empty()) SLAF_RETURN_IF_ERROR(CheckKey(prefix));
  std::string region = "us-east-1";
  if (const char* r = Env("AWS_REGION")) region = r;
  else if (const char* r2 = Env("AWS_DEFAULT_REGION")) region = r2;
  std::string bucket_url;
  const char* endpoint = Env("AWS_ENDPOINT_URL_S3");
  if (!endpoint) endpoint = Env("AWS_ENDPOINT_URL");
  if (endpoint) bucket_url = StripSlashes(endpoint) + "/" + UriEncode(bucket, false);  // path-style
  else bucket_url = "https://" + bucket + ".s3." + region + ".amazonaws.com";
  HttpClient::Auth auth;
  const char* key = Env("AWS_ACCESS_KEY_ID");
  const char* secret = Env("AWS_SECRET_ACCESS_KEY");
  if (key && secret) {
    auth.sigv4 = "aws:amz:" + region + ":s3";
    auth.userpwd = std::string(key) + ":" + secret;
    if (const char* token = Env("AWS_SESSION_TOKEN")) auth.token = token;
  }
  return std::shared_ptr<ObjectStore>(new S3Store(StripSlashes(uri), bucket_url, prefix, NewRemote(options, std::move(auth))));
}

}  // namespace slaf::io
