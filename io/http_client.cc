// libcurl transfers: a curl multi loop per batch, easy handles from a pool,
// connections (and DNS, TLS sessions) shared between all handles of a client,
// so a dataset's requests reuse a few persistent connections.
#include "io/http_client.h"

#include <curl/curl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <random>
#include <thread>

namespace slaf::io {

// ---------------------------------------------------------------- stats

namespace {

std::atomic<uint64_t> g_requests{0}, g_retries{0}, g_bytes_in{0}, g_bytes_out{0}, g_hits{0}, g_misses{0}, g_batches{0}, g_ns{0};

long EnvLong(const char* name, long fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  return (end && *end == '\0' && x >= 0) ? x : fallback;
}

std::string Human(uint64_t b) {
  char buf[32];
  if (b < 1024) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(b));
  else if (b < (1ull << 20)) std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
  else std::snprintf(buf, sizeof buf, "%.1f MiB", b / 1048576.0);
  return buf;
}

}  // namespace

// Round trips and I/O time count phases with at least one batch in flight,
// so concurrent batches (threads) overlap into one round trip.
namespace {
std::mutex g_phase_mu;
int g_in_flight = 0;
std::chrono::steady_clock::time_point g_phase_start;
}  // namespace

void BeginBatch() {
  std::lock_guard<std::mutex> lock(g_phase_mu);
  if (g_in_flight++ == 0) {
    g_phase_start = std::chrono::steady_clock::now();
    ++g_batches;
  }
}

void EndBatch(uint64_t requests, uint64_t bytes_in, uint64_t bytes_out, uint64_t retries) {
  g_requests += requests;
  g_bytes_in += bytes_in;
  g_bytes_out += bytes_out;
  g_retries += retries;
  std::lock_guard<std::mutex> lock(g_phase_mu);
  if (--g_in_flight == 0) {
    g_ns += static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - g_phase_start).count());
  }
}

void AddCacheStats(uint64_t hits, uint64_t misses) {
  g_hits += hits;
  g_misses += misses;
}

IoStats GetIoStats() {
  IoStats s;
  s.requests = g_requests;
  s.retries = g_retries;
  s.bytes_in = g_bytes_in;
  s.bytes_out = g_bytes_out;
  s.cache_hits = g_hits;
  s.cache_misses = g_misses;
  s.batches = g_batches;
  s.io_ns = g_ns;
  return s;
}

void ResetIoStats() {
  for (auto* c : {&g_requests, &g_retries, &g_bytes_in, &g_bytes_out, &g_hits, &g_misses, &g_batches, &g_ns}) *c = 0;
}

std::string FormatIoStats(const IoStats& s) {
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "io: %llu requests (%llu retries) in %llu round trips, %s in, %s out, block cache %llu hits / %llu misses, %.1f ms waiting on I/O",
                static_cast<unsigned long long>(s.requests), static_cast<unsigned long long>(s.retries),
                static_cast<unsigned long long>(s.batches), Human(s.bytes_in).c_str(), Human(s.bytes_out).c_str(),
                static_cast<unsigned long long>(s.cache_hits), static_cast<unsigned long long>(s.cache_misses), s.io_ns / 1e6);
  return buf;
}

HttpOptions HttpOptions::FromEnvironment() {
  HttpOptions o;
  o.connect_timeout_ms = EnvLong("SLAF_HTTP_CONNECT_TIMEOUT_MS", o.connect_timeout_ms);
  o.low_speed_time_s = std::max(1L, EnvLong("SLAF_HTTP_LOW_SPEED_TIME", o.low_speed_time_s));
  o.max_attempts = static_cast<int>(std::max(1L, EnvLong("SLAF_HTTP_MAX_ATTEMPTS", o.max_attempts)));
  o.retry_budget_ms = EnvLong("SLAF_HTTP_RETRY_BUDGET_MS", o.retry_budget_ms);
  o.retry_base_ms = EnvLong("SLAF_HTTP_RETRY_BASE_MS", o.retry_base_ms);
  o.max_parallel = static_cast<int>(std::clamp(EnvLong("SLAF_HTTP_PARALLEL", o.max_parallel), 1L, 256L));
  o.cache_bytes = static_cast<uint64_t>(EnvLong("SLAF_HTTP_CACHE_MB", static_cast<long>(o.cache_bytes >> 20))) << 20;
  for (const char* name : {"SLAF_HTTP_CA_FILE", "CURL_CA_BUNDLE"}) {
    const char* v = std::getenv(name);
    if (v && *v) {
      o.ca_file = v;
      break;
    }
  }
  return o;
}

bool ParseContentRange(const std::string& v, uint64_t* a, uint64_t* b, uint64_t* total) {
  // Digits only (no sign, no spaces), each below 2^63.
  size_t pos = 0;
  auto number = [&](uint64_t* out) {
    const size_t start = pos;
    uint64_t x = 0;
    while (pos < v.size() && v[pos] >= '0' && v[pos] <= '9' && pos - start < 18) x = x * 10 + static_cast<uint64_t>(v[pos++] - '0');
    *out = x;
    return pos > start && (pos == v.size() || v[pos] < '0' || v[pos] > '9');
  };
  if (v.compare(0, 6, "bytes ") != 0) return false;
  pos = 6;
  if (!number(a) || pos >= v.size() || v[pos++] != '-') return false;
  if (!number(b) || pos >= v.size() || v[pos++] != '/') return false;
  if (!number(total) || pos != v.size()) return false;
  return *a <= *b && *b < *total;
}

std::string UriEncode(const std::string& s, bool keep_slash) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// ---------------------------------------------------------------- client

namespace {

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// The state of one attempt of one request.
struct Transfer {
  HttpRequest* req = nullptr;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  int attempt = 0;
  std::chrono::steady_clock::time_point ready;  // when a retry may start
  // Per-response header state (reset at every status line: redirects).
  std::string content_range, etag, last_modified;
  uint64_t content_length = 0;
  bool has_content_length = false;
  long retry_after_s = -1;
  // Body handling.
  bool range_ignored = false;  // 200 to a range request: aborted
  bool overflow = false;       // more body than asked for: aborted
  bool whole_from_start = false;  // 200 to a range at 0: wanted bytes taken, rest not read
  std::string error_body;      // first bytes of a non-2xx body (S3 error XML)
  uint64_t upload_pos = 0;
  char errbuf[CURL_ERROR_SIZE] = {0};
  Status last_error;

  // Forgets one response's headers (at a redirect's next status line).
  void ResetHeaders() {
    content_range.clear();
    etag.clear();
    last_modified.clear();
    has_content_length = false;
    retry_after_s = -1;
  }
  // Forgets everything of the previous attempt.
  void ResetAttempt() {
    ResetHeaders();
    range_ignored = overflow = whole_from_start = false;
    error_body.clear();
    upload_pos = 0;
    errbuf[0] = 0;
    last_error = Status::OK();
  }
};

bool StartsWithNoCase(const char* line, size_t n, const char* prefix) {
  const size_t m = std::strlen(prefix);
  return n >= m && strncasecmp(line, prefix, m) == 0;
}

std::string Trimmed(const char* p, size_t n) {
  size_t b = 0, e = n;
  while (b < e && (p[b] == ' ' || p[b] == '\t')) ++b;
  while (e > b && (p[e - 1] == '\r' || p[e - 1] == '\n' || p[e - 1] == ' ' || p[e - 1] == '\t')) --e;
  return std::string(p + b, e - b);
}

size_t OnHeader(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * nmemb;
  if (StartsWithNoCase(data, n, "HTTP/")) {
    t->ResetHeaders();
  } else if (StartsWithNoCase(data, n, "content-range:")) {
    t->content_range = Trimmed(data + 14, n - 14);
  } else if (StartsWithNoCase(data, n, "etag:")) {
    t->etag = Trimmed(data + 5, n - 5);
  } else if (StartsWithNoCase(data, n, "last-modified:")) {
    t->last_modified = Trimmed(data + 14, n - 14);
  } else if (StartsWithNoCase(data, n, "content-length:")) {
    const std::string v = Trimmed(data + 15, n - 15);
    char* end = nullptr;
    const unsigned long long x = std::strtoull(v.c_str(), &end, 10);
    t->has_content_length = !v.empty() && end && *end == '\0';
    t->content_length = x;
  } else if (StartsWithNoCase(data, n, "retry-after:")) {
    const std::string v = Trimmed(data + 12, n - 12);
    char* end = nullptr;
    const long x = std::strtol(v.c_str(), &end, 10);
    if (!v.empty() && end && *end == '\0') t->retry_after_s = x;
  }
  return n;
}

size_t OnBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  HttpRequest* r = t->req;
  const size_t n = size * nmemb;
  long code = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
  if (code < 200 || code >= 300) {
    if (t->error_body.size() < 2048) t->error_body.append(data, std::min<size_t>(n, 2048 - t->error_body.size()));
    return n;
  }
  if (r->range) {
    // A 200 to a range request is the whole object: stop at once rather
    // than download an unbounded body.
    if (code != 206) {
      // The whole object from byte 0: usable when the range starts there;
      // take the wanted bytes and stop the transfer.
      if (code != 200 || r->suffix || r->range_offset != 0) {
        t->range_ignored = true;
        return 0;
      }
      const size_t take = static_cast<size_t>(std::min<uint64_t>(n, r->range_length - r->received));
      std::memcpy(r->out + r->received, data, take);
      r->received += take;
      if (r->received == r->range_length) {
        t->whole_from_start = true;
        return 0;
      }
      return n;
    }
    if (r->received + n > r->range_length) {
      t->overflow = true;
      return 0;
    }
    std::memcpy(r->out + r->received, data, n);
  } else if (r->body) {
    if (r->received + n > r->max_body) {
      t->overflow = true;
      return 0;
    }
    r->body->insert(r->body->end(), reinterpret_cast<uint8_t*>(data), reinterpret_cast<uint8_t*>(data) + n);
  }
  r->received += n;
  return n;
}

size_t OnUpload(char* buf, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  HttpRequest* r = t->req;
  const size_t cap = size * nmemb;
  const uint64_t left = r->upload_size - t->upload_pos;
  const size_t n = static_cast<size_t>(std::min<uint64_t>(cap, left));
  if (n == 0) return 0;
  if (r->upload) {
    std::memcpy(buf, r->upload + t->upload_pos, n);
  } else {
    const ssize_t got = ::pread(r->upload_fd, buf, n, static_cast<off_t>(t->upload_pos));
    if (got <= 0) return CURL_READFUNC_ABORT;
    t->upload_pos += static_cast<uint64_t>(got);
    return static_cast<size_t>(got);
  }
  t->upload_pos += n;
  return n;
}

int OnSeek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > t->req->upload_size) return CURL_SEEKFUNC_FAIL;
  t->upload_pos = static_cast<uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

std::string Describe(const HttpRequest& r) {
  std::string s = r.method + " " + r.url;
  if (r.range) {
    if (r.suffix) s += " (last " + std::to_string(r.range_length) + " bytes)";
    else s += " (bytes " + std::to_string(r.range_offset) + "-" + std::to_string(r.range_offset + r.range_length - 1) + ")";
  }
  return s;
}

// Text of an S3 error document's <Code>, if any.
std::string ErrorCode(const std::string& body) {
  const size_t b = body.find("<Code>");
  const size_t e = body.find("</Code>");
  if (b == std::string::npos || e == std::string::npos || e < b) return "";
  return body.substr(b + 6, e - b - 6);
}

bool RetryableCurlCode(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_COULDNT_RESOLVE_HOST:  // transient DNS failures happen; bounded anyway
      return true;
    default:
      return false;
  }
}

enum class Verdict { kDone, kRetry, kFail };

}  // namespace

struct HttpClient::Impl {
  CURLSH* share = nullptr;
  std::mutex share_mu[CURL_LOCK_DATA_LAST];
  std::mutex pool_mu;
  std::vector<CURL*> pool;

  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<Impl*>(user)->share_mu[data].lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* user) { static_cast<Impl*>(user)->share_mu[data].unlock(); }

  Impl() {
    share = curl_share_init();
    curl_share_setopt(share, CURLSHOPT_LOCKFUNC, &Impl::Lock);
    curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, &Impl::Unlock);
    curl_share_setopt(share, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }
  ~Impl() {
    for (CURL* e : pool) curl_easy_cleanup(e);
    curl_share_cleanup(share);
  }
  CURL* Take() {
    {
      std::lock_guard<std::mutex> lock(pool_mu);
      if (!pool.empty()) {
        CURL* e = pool.back();
        pool.pop_back();
        curl_easy_reset(e);
        return e;
      }
    }
    return curl_easy_init();
  }
  void Give(CURL* e) {
    std::lock_guard<std::mutex> lock(pool_mu);
    if (pool.size() < 64) pool.push_back(e);
    else curl_easy_cleanup(e);
  }
};

HttpClient::HttpClient(HttpOptions options, Auth auth) : options_(options), auth_(std::move(auth)) {
  InitCurlOnce();
  impl_ = std::make_unique<Impl>();
}

HttpClient::~HttpClient() = default;

Status HttpClient::Execute(std::vector<HttpRequest*> requests) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  std::deque<Transfer> transfers;  // stable addresses
  std::deque<Transfer*> waiting;
  for (HttpRequest* r : requests) {
    transfers.emplace_back();
    transfers.back().req = r;
    transfers.back().ready = start;
    waiting.push_back(&transfers.back());
  }
  CURLM* multi = curl_multi_init();
  if (!multi) return Status::IOError("curl_multi_init failed");
  BeginBatch();
  curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(options_.max_parallel));
  uint64_t sent = 0, retries = 0, bytes_in = 0, bytes_out = 0;
  std::mt19937_64 rng(std::random_device{}());
  int running = 0;
  size_t active = 0;

  auto start_transfer = [&](Transfer* t) {
    HttpRequest* r = t->req;
    r->received = 0;
    r->http_status = 0;
    r->status = Status::OK();
    if (r->body) r->body->clear();
    t->ResetAttempt();
    CURL* e = t->easy = impl_->Take();
    curl_easy_setopt(e, CURLOPT_URL, r->url.c_str());
    curl_easy_setopt(e, CURLOPT_SHARE, impl_->share);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, options_.low_speed_limit);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, options_.low_speed_time_s);
    // Signed requests never follow redirects (the signature and the
    // x-amz-* headers would go to another host); others follow a few, and
    // an https URL never downgrades to http.
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, auth_.sigv4.empty() ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, options_.max_redirects);
    const bool tls = r->url.rfind("https://", 0) == 0;
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, tls ? "https" : "http,https");
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    if (!options_.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, options_.ca_file.c_str());
    // Bytes as stored: no transparent decompression changing lengths.
    curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    curl_slist* h = nullptr;
    for (const std::string& line : r->headers) h = curl_slist_append(h, line.c_str());
    if (r->range) {
      const std::string range = r->suffix ? "Range: bytes=-" + std::to_string(r->range_length)
                                          : "Range: bytes=" + std::to_string(r->range_offset) + "-" +
                                                std::to_string(r->range_offset + r->range_length - 1);
      h = curl_slist_append(h, range.c_str());
    }
    if (!auth_.token.empty()) h = curl_slist_append(h, ("x-amz-security-token: " + auth_.token).c_str());
    if (!auth_.sigv4.empty()) {
      // Signed as UNSIGNED-PAYLOAD so uploads stream from disk (libcurl
      // signs the header's value as the payload hash).
      h = curl_slist_append(h, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
      curl_easy_setopt(e, CURLOPT_AWS_SIGV4, auth_.sigv4.c_str());
      curl_easy_setopt(e, CURLOPT_USERPWD, auth_.userpwd.c_str());
    }
    if (r->method == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (r->method == "PUT") {
      // No 100-continue round trip. (Not by an empty "Expect:" header:
      // libcurl's SigV4 would sign that header, which is never sent.)
      curl_easy_setopt(e, CURLOPT_EXPECT_100_TIMEOUT_MS, 0L);
      curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(e, CURLOPT_READFUNCTION, &OnUpload);
      curl_easy_setopt(e, CURLOPT_READDATA, t);
      curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, &OnSeek);
      curl_easy_setopt(e, CURLOPT_SEEKDATA, t);
      curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(r->upload_size));
    } else if (r->method != "GET") {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method.c_str());
    }
    t->headers = h;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_multi_add_handle(multi, e);
    ++active;
    ++sent;
    if (t->attempt > 0) ++retries;
    ++t->attempt;
    r->attempts = t->attempt;
  };

  // Judges a finished attempt; sets req->status on kDone/kFail.
  auto judge = [&](Transfer* t, CURLcode rc) -> Verdict {
    HttpRequest* r = t->req;
    long code = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
    r->http_status = code;
    r->etag = t->etag;
    r->last_modified = t->last_modified;
    bytes_in += r->received;
    if (r->method == "PUT" && rc == CURLE_OK) bytes_out += r->upload_size;
    const std::string what = Describe(*r);
    if (t->whole_from_start) {
      const uint64_t total = t->has_content_length ? t->content_length : 0;
      if (r->expect_total && total && total != r->expect_total) {
        r->status = Status::IOError(what + ": the object is now " + std::to_string(total) + " bytes, it was " +
                                    std::to_string(r->expect_total) + " when opened (it changed on the server)");
        return Verdict::kFail;
      }
      r->total_size = total;
      r->status = Status::OK();
      return Verdict::kDone;
    }
    if (t->range_ignored) {
      t->last_error = Status::IOError(what + ": the server answered " + std::to_string(code) +
                                      " instead of 206 Partial Content (it ignored the Range header); range reads need byte-range support");
      return Verdict::kRetry;
    }
    if (t->overflow) {
      t->last_error = Status::IOError(what + ": the server sent more bytes than requested" +
                                      (r->range ? std::string("") : " (limit " + std::to_string(r->max_body) + ")"));
      return r->range ? Verdict::kRetry : Verdict::kFail;
    }
    if (rc != CURLE_OK) {
      t->last_error = Status::IOError(what + ": " + (t->errbuf[0] ? std::string(t->errbuf) : std::string(curl_easy_strerror(rc))));
      // A refused connection or an unknown host is more often a wrong URL
      // than a blip: a few quick tries, not the full budget.
      if ((rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) && t->attempt >= 3) {
        r->status = Status::IOError(t->last_error.message() + " (" + std::to_string(t->attempt) + " attempts)");
        return Verdict::kFail;
      }
      return RetryableCurlCode(rc) ? Verdict::kRetry : Verdict::kFail;
    }
    if (std::find(r->accept.begin(), r->accept.end(), code) != r->accept.end()) {
      r->status = Status::OK();
      return Verdict::kDone;
    }
    if (code == 429 || code == 408 || code >= 500) {
      const std::string ec = ErrorCode(t->error_body);
      t->last_error = Status::IOError(what + ": HTTP " + std::to_string(code) + (ec.empty() ? "" : " " + ec));
      return Verdict::kRetry;
    }
    if (code < 200 || code >= 300) {
      const std::string ec = ErrorCode(t->error_body);
      const std::string msg = what + ": HTTP " + std::to_string(code) + (ec.empty() ? "" : " " + ec);
      if (code == 404) r->status = Status::NotFound(msg + " (no such object)");
      else if (code == 416 && r->expect_total) r->status = Status::IOError(msg + ": the object changed on the server since it was opened (range no longer satisfiable)");
      else if (code == 412) r->status = Status::IOError(msg + ": the object changed on the server since it was opened (precondition failed)");
      else if (code == 401 || code == 403) r->status = Status::IOError(msg + ": access denied (check credentials and permissions)");
      else if (code >= 300 && code < 400 && !auth_.sigv4.empty()) r->status = Status::IOError(msg + ": signed requests do not follow redirects (a wrong region or endpoint? check AWS_REGION and AWS_ENDPOINT_URL)");
      else if (code >= 300 && code < 400) r->status = Status::IOError(msg + ": redirect not followed (more than " + std::to_string(options_.max_redirects) + " redirects, or to a disallowed URL)");
      else r->status = Status::IOError(msg);
      return Verdict::kFail;
    }
    if (r->range) {
      uint64_t a = 0, b = 0, total = 0;
      if (!ParseContentRange(t->content_range, &a, &b, &total)) {
        t->last_error = Status::IOError(what + ": 206 without a valid Content-Range (got \"" + t->content_range + "\")");
        return Verdict::kRetry;
      }
      uint64_t want = r->range_length;
      if (r->suffix) want = std::min(r->range_length, total);
      else if (r->allow_short && r->range_offset < total) want = std::min(r->range_length, total - r->range_offset);
      const bool match = r->suffix ? (b == total - 1 && b - a + 1 == want) : (a == r->range_offset && b - a + 1 == want);
      if (!match) {
        t->last_error = Status::IOError(what + ": the server sent Content-Range \"" + t->content_range + "\", not the range asked for");
        return Verdict::kRetry;
      }
      if (r->expect_total && total != r->expect_total) {
        r->status = Status::IOError(what + ": Content-Range says the object is " + std::to_string(total) + " bytes, it was " +
                                    std::to_string(r->expect_total) + " when opened (it changed on the server)");
        return Verdict::kFail;
      }
      if (r->received != want) {
        t->last_error = Status::IOError(what + ": body has " + std::to_string(r->received) + " bytes, Content-Range promised " + std::to_string(want) + " (truncated)");
        return Verdict::kRetry;
      }
      r->total_size = total;
      r->range_offset = a;  // for suffix reads: where the bytes start
    } else if (r->method != "HEAD" && t->has_content_length && r->received != t->content_length) {
      t->last_error = Status::IOError(what + ": body has " + std::to_string(r->received) + " bytes, Content-Length said " + std::to_string(t->content_length) + " (truncated)");
      return Verdict::kRetry;
    } else {
      r->total_size = t->has_content_length ? t->content_length : r->received;
    }
    r->status = Status::OK();
    return Verdict::kDone;
  };

  std::vector<Transfer*> delayed;  // retries waiting for their backoff
  while (!waiting.empty() || !delayed.empty() || active > 0) {
    const auto now = Clock::now();
    for (auto it = delayed.begin(); it != delayed.end();) {
      if ((*it)->ready <= now) {
        waiting.push_back(*it);
        it = delayed.erase(it);
      } else {
        ++it;
      }
    }
    while (!waiting.empty() && active < static_cast<size_t>(options_.max_parallel)) {
      start_transfer(waiting.front());
      waiting.pop_front();
    }
    curl_multi_perform(multi, &running);
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
      const CURLcode rc = m->data.result;
      const Verdict v = judge(t, rc);
      curl_multi_remove_handle(multi, t->easy);
      curl_slist_free_all(t->headers);
      t->headers = nullptr;
      impl_->Give(t->easy);
      t->easy = nullptr;
      --active;
      if (v == Verdict::kFail && t->req->status.ok()) t->req->status = t->last_error;
      if (v != Verdict::kRetry) continue;
      const long waited = static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
      long delay = std::min(options_.retry_max_ms, options_.retry_base_ms << std::min(t->attempt - 1, 16));
      delay = delay / 2 + static_cast<long>(rng() % static_cast<uint64_t>(delay / 2 + 1));  // jitter
      if (t->retry_after_s >= 0) delay = std::max(delay, std::min(t->retry_after_s * 1000, options_.retry_max_ms));
      if (t->attempt >= options_.max_attempts || waited + delay > options_.retry_budget_ms) {
        t->req->status = Status::IOError(t->last_error.message() + " (gave up after " + std::to_string(t->attempt) + " attempts, " +
                                         std::to_string(waited) + " ms)");
        continue;
      }
      t->ready = Clock::now() + std::chrono::milliseconds(delay);
      delayed.push_back(t);
    }
    if (active == 0 && waiting.empty() && !delayed.empty()) {
      auto next = delayed.front()->ready;
      for (Transfer* t : delayed) next = std::min(next, t->ready);
      std::this_thread::sleep_until(next);
    } else if (active > 0) {
      int timeout = 100;
      if (!delayed.empty()) timeout = 10;
      curl_multi_poll(multi, nullptr, 0, timeout, nullptr);
    }
  }
  curl_multi_cleanup(multi);
  EndBatch(sent, bytes_in, bytes_out, retries);
  for (HttpRequest* r : requests) {
    if (!r->status.ok()) return r->status;
  }
  return Status::OK();
}

}  // namespace slaf::io
