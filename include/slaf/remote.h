// Remote datasets: HTTP(S) range reads and S3 object stores (libcurl), behind
// the same ObjectStore / RandomAccessFile interfaces as local directories, so
// every command and the SQL engine take URLs unchanged (slaf::OpenStore in
// dataset.h picks the backend from the URI scheme).
//
//   http://host/path/data.slaf, https://...   read-only: range GETs
//   s3://bucket/prefix/data.slaf              reads and writes, SigV4-signed
//
// What a remote read costs is visible in IoStats (`slaf --stats`).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "slaf/status.h"
#include "slaf/store.h"

namespace slaf::io {

struct HttpOptions {
  long connect_timeout_ms = 10000;
  // A transfer slower than low_speed_limit bytes/s for low_speed_time_s
  // seconds is aborted (and retried): a stalled server never hangs a read.
  long low_speed_limit = 1024;
  long low_speed_time_s = 30;
  // Transient failures (connection errors, timeouts, short bodies, 5xx, 429)
  // are retried with exponential backoff and full jitter, at most
  // max_attempts tries per request (10 retries) and retry_budget_ms of
  // waiting per batch.
  int max_attempts = 11;
  long retry_base_ms = 100;
  long retry_max_ms = 15000;
  long retry_budget_ms = 180000;
  long max_redirects = 5;
  int max_parallel = 64;                       // requests in flight per batch (connections per host)
  uint64_t cache_bytes = 256ull << 20;         // LRU block cache, shared by all files
  uint64_t coalesce_gap = 128 << 10;           // ranges closer than this share a request
  uint64_t max_request_bytes = 16ull << 20;    // a coalesced request is at most this
  uint64_t speculative_tail = 512 << 10;       // fetched with the head when a file opens (footers of big segments fit)
  uint64_t speculative_head = 4 << 10;
  // Extra trusted CA certificates (PEM file) for https; peer and host
  // verification are always on.
  std::string ca_file;

  // Defaults overridden by SLAF_HTTP_CONNECT_TIMEOUT_MS,
  // SLAF_HTTP_LOW_SPEED_TIME, SLAF_HTTP_MAX_ATTEMPTS, SLAF_HTTP_RETRY_BUDGET_MS,
  // SLAF_HTTP_RETRY_BASE_MS, SLAF_HTTP_PARALLEL, SLAF_HTTP_CACHE_MB,
  // SLAF_HTTP_CA_FILE (else CURL_CA_BUNDLE).
  static HttpOptions FromEnvironment();
};

// Process-wide remote I/O counters (all stores, all threads).
struct IoStats {
  uint64_t requests = 0;      // HTTP requests sent, retries included
  uint64_t retries = 0;       // of those, repeats after a transient failure
  uint64_t bytes_in = 0;      // response body bytes received
  uint64_t bytes_out = 0;     // request body bytes sent
  uint64_t cache_hits = 0;    // range reads served by the block cache
  uint64_t cache_misses = 0;  // range reads that needed a request
  uint64_t batches = 0;       // round trips: waits with requests in flight (concurrent ones overlap)
  uint64_t io_ns = 0;         // wall time with at least one request in flight
};
IoStats GetIoStats();
void ResetIoStats();
// One line, e.g. "io: 12 requests (0 retries) in 3 round trips, 1.2 MiB in, ..."
std::string FormatIoStats(const IoStats& s);

// Whether `uri` names a remote store (http://, https://, s3://).
bool IsRemoteUri(const std::string& uri);

// A read-only store over an HTTP(S) URL prefix. Listing is not possible, so
// versions are found from the _latest hint and by probing forward.
Result<std::shared_ptr<ObjectStore>> OpenHttpStore(const std::string& url, const HttpOptions& options);

// An S3 bucket prefix, "s3://bucket/prefix". Endpoint: AWS_ENDPOINT_URL
// (path-style addressing) or https://<bucket>.s3.<region>.amazonaws.com.
// Region: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1. Requests are signed
// (SigV4) when AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are set (plus
// AWS_SESSION_TOKEN), else anonymous. PutIfAbsent is a PUT with
// If-None-Match: *.
Result<std::shared_ptr<ObjectStore>> OpenS3Store(const std::string& uri, const HttpOptions& options);

}  // namespace slaf::io
