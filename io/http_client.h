// HTTP transfers over libcurl for the remote stores (http_store.cc): one
// client per store, running batches of requests in parallel on a curl multi
// handle with persistent connections, strict response checks and bounded
// retries. Internal to io/; the public face is include/slaf/remote.h.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "slaf/remote.h"
#include "slaf/status.h"

namespace slaf::io {

// One HTTP exchange. The caller fills the request part; Execute fills the
// response part and `status`.
struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, PUT, DELETE
  std::string url;
  std::vector<std::string> headers;  // "Name: value"

  // Range reads: `range_length` bytes at `range_offset` into `out`, or with
  // `suffix` the last `range_length` bytes (out must hold range_length).
  // The reply must be a 206 whose Content-Range matches exactly; with
  // `expect_total` set, its total must equal it too.
  bool range = false;
  bool suffix = false;
  bool allow_short = false;  // the range may end early at the end of the object
  uint64_t range_offset = 0;
  uint64_t range_length = 0;
  uint8_t* out = nullptr;
  uint64_t expect_total = 0;  // 0: not checked

  // Whole-body reads (range == false): the body, at most max_body bytes.
  std::vector<uint8_t>* body = nullptr;
  uint64_t max_body = 1ull << 30;

  // Uploads (PUT): either bytes in memory or a whole open file.
  const uint8_t* upload = nullptr;
  uint64_t upload_size = 0;
  int upload_fd = -1;

  // Statuses other than 2xx that are answers, not errors (404 for a probe,
  // 412 for a conditional create): returned in http_status with OK.
  std::vector<long> accept;

  // ---- response
  long http_status = 0;
  std::string etag, last_modified;
  uint64_t total_size = 0;  // from Content-Range (ranges) or Content-Length
  uint64_t received = 0;    // body bytes of the final attempt
  int attempts = 0;         // tries made (a 412 after a retry may mean our own first try landed)
  Status status;
};

class HttpClient {
 public:
  // `auth`: SigV4 signing for S3 (empty provider: no signing).
  struct Auth {
    std::string sigv4;     // CURLOPT_AWS_SIGV4, e.g. "aws:amz:us-east-1:s3"
    std::string userpwd;   // "access_key:secret"
    std::string token;     // x-amz-security-token, if any
  };
  HttpClient(HttpOptions options, Auth auth);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  const HttpOptions& options() const { return options_; }

  // Runs the requests in parallel (up to options.max_parallel at once),
  // retrying transient failures, and returns the first error (every
  // request's own status is set too).
  Status Execute(std::vector<HttpRequest*> requests);
  Status Execute(HttpRequest* request) { return Execute(std::vector<HttpRequest*>{request}); }

 private:
  struct Impl;
  HttpOptions options_;
  Auth auth_;
  std::unique_ptr<Impl> impl_;
};

// Parses a Content-Range value "bytes a-b/total" (a <= b < total).
bool ParseContentRange(const std::string& v, uint64_t* a, uint64_t* b, uint64_t* total);

// Percent-encodes everything but RFC 3986 unreserved characters, and '/'
// when keep_slash (S3 keys in paths; SigV4 canonical form).
std::string UriEncode(const std::string& s, bool keep_slash);

// Counters shared by every client (include/slaf/remote.h IoStats).
void BeginBatch();
void EndBatch(uint64_t requests, uint64_t bytes_in, uint64_t bytes_out, uint64_t retries);
void AddCacheStats(uint64_t hits, uint64_t misses);

}  // namespace slaf::io
