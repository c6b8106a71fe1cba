// HTTP range reads against tests/http_fault_server.py on 127.0.0.1: correct
// bytes (oracle: the same file read locally), coalescing and caching seen in
// the request counters, and every fault either retried to success or turned
// into a clear error, never wrong data and never a hang.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>

#include "io/http_client.h"
#include "io/s3_list.h"
#include "slaf/dataset.h"
#include "slaf/remote.h"
#include "tests/dataset_fixtures.h"

namespace slaf {
namespace {

using testing::TempDir;

// Starts the fault server over `root` and stops it at the end.
class FaultServer {
 public:
  explicit FaultServer(const std::string& root) {
    int out[2];
    if (::pipe(out) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      const std::string script = std::string(SLAF_SOURCE_DIR) + "/tests/http_fault_server.py";
      ::execl("/usr/bin/python3", "python3", script.c_str(), root.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    FILE* f = ::fdopen(out[0], "r");
    char line[64] = {0};
    if (f && std::fgets(line, sizeof line, f)) std::sscanf(line, "PORT %d", &port_);
    if (f) std::fclose(f);
  }
  ~FaultServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  int port() const { return port_; }
  std::string Url(const std::string& mode) const { return "http://127.0.0.1:" + std::to_string(port_) + "/" + mode; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// Quick failure detection for tests: 1 s without bytes is a stall, short
// backoff.
io::HttpOptions TestOptions() {
  io::HttpOptions o;
  o.connect_timeout_ms = 2000;
  o.low_speed_limit = 1;
  o.low_speed_time_s = 1;
  o.retry_base_ms = 10;
  o.retry_max_ms = 50;
  o.retry_budget_ms = 5000;
  o.max_attempts = 4;
  return o;
}

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::mt19937_64 rng(7);
    bytes_.resize(3 << 20);  // 3 MiB: bigger than the speculative head and tail
    for (auto& b : bytes_) b = static_cast<uint8_t>(rng());
    std::ofstream(dir_ / "data.bin", std::ios::binary).write(reinterpret_cast<const char*>(bytes_.data()), bytes_.size());
    std::ofstream(dir_ / "empty.bin", std::ios::binary).flush();
    server_ = std::make_unique<FaultServer>(dir_.path());
    ASSERT_GT(server_->port(), 0) << "the fault server did not start";
  }

  std::shared_ptr<io::ObjectStore> Store(const std::string& mode, io::HttpOptions o = TestOptions()) {
    auto s = io::OpenHttpStore(server_->Url(mode), o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return *s;
  }

  // Reads `ranges` through the store's file and compares with the bytes.
  Status ReadAndCompare(io::RandomAccessFile& f, const std::vector<std::pair<uint64_t, size_t>>& ranges) {
    std::vector<std::vector<uint8_t>> outs(ranges.size());
    std::vector<io::ReadRequest> reqs;
    for (size_t i = 0; i < ranges.size(); ++i) {
      outs[i].resize(ranges[i].second);
      reqs.push_back({ranges[i].first, ranges[i].second, outs[i].data()});
    }
    SLAF_RETURN_IF_ERROR(f.ReadRanges(reqs));
    for (size_t i = 0; i < ranges.size(); ++i) {
      EXPECT_TRUE(std::equal(outs[i].begin(), outs[i].end(), bytes_.begin() + ranges[i].first)) << "range " << i << " differs";
    }
    return Status::OK();
  }

  TempDir dir_;
  std::vector<uint8_t> bytes_;
  std::unique_ptr<FaultServer> server_;
};

TEST_F(HttpTest, OpenFetchesHeadAndTailInOneRoundTrip) {
  auto store = Store("ok");
  io::ResetIoStats();
  auto f = store->OpenRead("data.bin");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->size(), bytes_.size());
  io::IoStats s = io::GetIoStats();
  EXPECT_EQ(s.requests, 2u);
  EXPECT_EQ(s.batches, 1u);
  // Header and footer reads are then free.
  ASSERT_TRUE(ReadAndCompare(**f, {{0, 64}, {bytes_.size() - 4096, 4096}}).ok());
  EXPECT_EQ(io::GetIoStats().requests, 2u);
  EXPECT_EQ(io::GetIoStats().cache_hits, 2u);
}

TEST_F(HttpTest, RandomRangesMatchTheFile) {
  auto f = *Store("ok")->OpenRead("data.bin");
  std::mt19937_64 rng(3);
  for (int round = 0; round < 20; ++round) {
    std::vector<std::pair<uint64_t, size_t>> ranges;
    for (int i = 0; i < 1 + round % 7; ++i) {
      const size_t n = 1 + rng() % 200000;
      ranges.push_back({rng() % (bytes_.size() - n), n});
    }
    ASSERT_TRUE(ReadAndCompare(*f, ranges).ok());
  }
  // Whole file, and a range ending exactly at the end.
  ASSERT_TRUE(ReadAndCompare(*f, {{0, bytes_.size()}}).ok());
  ASSERT_TRUE(ReadAndCompare(*f, {{bytes_.size() - 1, 1}}).ok());
}

TEST_F(HttpTest, NearbyRangesShareOneRequestAndRepeatsHitTheCache) {
  auto f = *Store("ok")->OpenRead("data.bin");
  io::ResetIoStats();
  // Three ranges within the coalescing gap, one far away: two requests, sent
  // together.
  ASSERT_TRUE(ReadAndCompare(*f, {{1000000, 1000}, {1010000, 5000}, {1100000, 100}, {2500000, 100}}).ok());
  io::IoStats s = io::GetIoStats();
  EXPECT_EQ(s.requests, 2u);
  EXPECT_EQ(s.batches, 1u);
  EXPECT_LT(s.bytes_in, 110000u);
  ASSERT_TRUE(ReadAndCompare(*f, {{1010000, 5000}, {2500000, 100}}).ok());
  EXPECT_EQ(io::GetIoStats().requests, 2u);
}

TEST_F(HttpTest, OutOfRangeReadsAreRejectedWithoutARequest) {
  auto f = *Store("ok")->OpenRead("data.bin");
  io::ResetIoStats();
  std::vector<uint8_t> out(10);
  Status s = f->ReadAt(bytes_.size() - 5, 10, out.data());
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_EQ(io::GetIoStats().requests, 0u);
}

TEST_F(HttpTest, MissingObjectsAreNotFound) {
  auto store = Store("ok");
  EXPECT_TRUE(store->OpenRead("nope.bin").status().IsNotFound());
  EXPECT_TRUE(store->Get("nope.bin").status().IsNotFound());
  EXPECT_FALSE(*store->Exists("nope.bin"));
  EXPECT_TRUE(*store->Exists("data.bin"));
  auto empty = store->OpenRead("empty.bin");
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ((*empty)->size(), 0u);
  auto whole = store->Get("data.bin");
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(*whole, bytes_);
}

TEST_F(HttpTest, WritesAreRefusedOnPlainHttp) {
  auto store = Store("ok");
  const uint8_t b[1] = {1};
  EXPECT_TRUE(store->Put("x", b).IsNotSupported());
  EXPECT_TRUE(store->PutIfAbsent("x", b).IsNotSupported());
  EXPECT_TRUE(store->List("").status().IsNotSupported());
}

TEST_F(HttpTest, ServiceUnavailableIsRetried) {
  io::ResetIoStats();
  auto f = Store("503-once")->OpenRead("data.bin");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_TRUE(ReadAndCompare(**f, {{123456, 7890}, {2000000, 10}}).ok());
  EXPECT_GE(io::GetIoStats().retries, 4u);  // two at open, two for the reads
}

TEST_F(HttpTest, PersistentServiceUnavailableIsABoundedError) {
  const auto t0 = std::chrono::steady_clock::now();
  Status s = Store("503-always")->OpenRead("data.bin").status();
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(s.message().find("HTTP 503"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("gave up after 4 attempts"), std::string::npos) << s.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST_F(HttpTest, A200ToARangeRequestIsAnErrorNotAnEndlessDownload) {
  io::ResetIoStats();
  const auto t0 = std::chrono::steady_clock::now();
  Status s = Store("no-range")->OpenRead("data.bin").status();
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(s.message().find("ignored the Range header"), std::string::npos) << s.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_LT(io::GetIoStats().bytes_in, 64u << 20);
}

TEST_F(HttpTest, A200FromByteZeroServesARangeAtZeroOnly) {
  auto f = Store("no-range-late")->OpenRead("data.bin");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  io::ResetIoStats();
  EXPECT_FALSE(ReadAndCompare(**f, {{4096, 100000}}).ok());  // not at 0: refused
  ASSERT_TRUE(ReadAndCompare(**f, {{0, 200000}}).ok());  // at 0: the wanted bytes, then the transfer stops
  EXPECT_LT(io::GetIoStats().bytes_in, 16u << 20);
}

TEST_F(HttpTest, AnObjectChangingAfterOpenIsAnError) {
  for (const char* mode : {"etag-change", "etag-lie"}) {
    auto f = Store(mode)->OpenRead("data.bin");
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    std::vector<uint8_t> out(1000);
    Status s = (*f)->ReadAt(1500000, out.size(), out.data());
    EXPECT_TRUE(s.IsIOError()) << mode << ": " << s.ToString();
    EXPECT_NE(s.message().find("changed on the server"), std::string::npos) << mode << ": " << s.ToString();
  }
}

TEST_F(HttpTest, TruncatedBodiesAreRetriedThenReported) {
  io::ResetIoStats();
  auto f = Store("truncated-once")->OpenRead("data.bin");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_TRUE(ReadAndCompare(**f, {{500000, 300000}}).ok());
  EXPECT_GE(io::GetIoStats().retries, 3u);
  Status s = Store("truncated-always")->OpenRead("data.bin").status();
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(s.message().find("gave up"), std::string::npos) << s.ToString();
}

TEST_F(HttpTest, StalledTransfersTimeOutAndAreRetried) {
  const auto t0 = std::chrono::steady_clock::now();
  auto f = Store("stall-once")->OpenRead("data.bin");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_TRUE(ReadAndCompare(**f, {{70000, 1000}}).ok());
  Status s = Store("stall-always")->OpenRead("data.bin").status();
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(s.message().find("gave up"), std::string::npos) << s.ToString();
  // Each stall costs about low_speed_time (1 s): never the server's 30 s.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));
}

TEST_F(HttpTest, AWrongContentRangeIsNeverTakenAsData) {
  auto f = Store("badrange-once")->OpenRead("data.bin");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_TRUE(ReadAndCompare(**f, {{800000, 4000}}).ok());
  Status s = Store("badrange-always")->OpenRead("data.bin").status();
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(s.message().find("not the range asked for"), std::string::npos) << s.ToString();
}

TEST_F(HttpTest, RedirectsAreFollowedWithinLimits) {
  auto f = Store("redirect")->OpenRead("data.bin");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_TRUE(ReadAndCompare(**f, {{100, 100}}).ok());
  Status s = Store("redirect-loop")->OpenRead("data.bin").status();
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
}

TEST_F(HttpTest, ConnectionRefusedIsAClearError) {
  io::HttpOptions o = TestOptions();
  o.max_attempts = 2;
  auto store = io::OpenHttpStore("http://127.0.0.1:1/x", o);
  ASSERT_TRUE(store.ok());
  Status s = (*store)->OpenRead("data.bin").status();
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(s.message().find("127.0.0.1:1"), std::string::npos) << s.ToString();
}

// An S3 store on the fault server (path-style endpoint, signed requests).
std::shared_ptr<io::ObjectStore> S3On(const FaultServer& server, const std::string& mode) {
  ::setenv("AWS_ENDPOINT_URL", server.Url(mode).c_str(), 1);
  ::setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "secret-never-sent", 1);
  ::setenv("AWS_REGION", "us-east-1", 1);
  auto s = io::OpenS3Store("s3://bkt/pre", TestOptions());
  ::unsetenv("AWS_ENDPOINT_URL");
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return *s;
}

std::string Fetch(const FaultServer& server, const std::string& path) {
  auto store = io::OpenHttpStore("http://127.0.0.1:" + std::to_string(server.port()), TestOptions());
  auto b = (*store)->Get(path);
  return b.ok() ? std::string(b->begin(), b->end()) : b.status().ToString();
}

TEST_F(HttpTest, ARetriedCreateThatMeetsItsOwnFirstAttemptSucceeds) {
  const std::string text = "{\"manifest\": 1}";
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  // The first PUT lands but its answer is lost; the retry gets 412 and
  // finds our own bytes: success, not a conflict (format-spec §9.4).
  auto store = S3On(*server_, "put-lost");
  Status s = store->PutIfAbsent("_versions/1.json", bytes);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(store->PutIfAbsent("_versions/1.json", bytes).code() == Status::Code::kConflict);  // a real second create
  // Same, but another writer's bytes landed: a conflict.
  Status other = S3On(*server_, "put-lost-other")->PutIfAbsent("_versions/2.json", bytes);
  EXPECT_TRUE(other.code() == Status::Code::kConflict) << other.ToString();
  // Data files (spooled uploads) follow the same rule.
  auto f = store->Create("X/a.seg");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append(bytes).ok());
  Status synced = (*f)->Sync();
  EXPECT_TRUE(synced.ok()) << synced.ToString();
  EXPECT_EQ(Fetch(*server_, "ok/bkt/pre/X/a.seg"), text);
}

TEST_F(HttpTest, SignedRequestsDoNotFollowRedirects) {
  Status s = S3On(*server_, "redirect")->OpenRead("data.bin").status();
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(s.message().find("do not follow redirects"), std::string::npos) << s.ToString();
  EXPECT_EQ(Fetch(*server_, "_auth/redirect"), "yes");
  EXPECT_EQ(Fetch(*server_, "_auth/ok"), "no");  // the target never saw the signature
}

TEST(RemoteParse, ContentRangeIsStrict) {
  uint64_t a, b, t;
  EXPECT_TRUE(io::ParseContentRange("bytes 0-99/100", &a, &b, &t));
  EXPECT_EQ(a, 0u);
  EXPECT_EQ(b, 99u);
  EXPECT_EQ(t, 100u);
  for (const char* bad : {"bytes 0-100/100", "bytes 5-4/10", "bytes -1-4/10", "bytes 0-4/", "bytes 0-4/10 ", "bytes */10", "items 0-4/10",
                          "bytes 0-4/99999999999999999999", "bytes +0-4/10", "bytes 0 -4/10", ""}) {
    EXPECT_FALSE(io::ParseContentRange(bad, &a, &b, &t)) << bad;
  }
}

TEST(RemoteParse, ListObjectsV2) {
  const std::string xml =
      "<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>t/+=</NextContinuationToken>"
      "<Contents><Key>p/q/X/a.seg</Key><LastModified>2026-12-07T15:12:25.250Z</LastModified><Size>123</Size></Contents>"
      "<Contents><Key>p/q/a &amp; b</Key><Size>0</Size></Contents>"
      "<Contents><Key>p/qq/other</Key><Size>1</Size></Contents>"
      "<Contents><Key>p/q/../escape</Key><Size>1</Size></Contents></ListBucketResult>";
  auto page = io::ParseListObjectsV2(xml, "p/q", "s3://b/p/q");
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->entries.size(), 2u);  // other prefix and ".." skipped
  EXPECT_EQ(page->entries[0].key, "X/a.seg");
  EXPECT_EQ(page->entries[0].size, 123u);
  EXPECT_EQ(page->entries[0].mtime_ms, 1796656345250);
  EXPECT_EQ(page->entries[1].key, "a & b");
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_token, "t/+=");
  EXPECT_FALSE(io::ParseListObjectsV2("<IsTruncated>true</IsTruncated>", "", "w").ok());
  EXPECT_FALSE(io::ParseListObjectsV2("<Contents><Key>k</Key><Size>-1</Size></Contents>", "", "w").ok());
  EXPECT_FALSE(io::ParseListObjectsV2("<Contents><Key>k</Key>", "", "w").ok());
}

// A dataset served over HTTP reads exactly like the local copy, and opening
// it costs two requests.
TEST_F(HttpTest, DatasetOverHttpMatchesLocal) {
  const uint32_t n_genes = 300;
  CsrMatrix m = testing::Cells(0, 3000, n_genes);
  auto local = *io::OpenLocalStore(dir_ / "ds.slaf", true);
  WriteOptions wo;
  wo.cells_per_segment = 1000;
  testing::CreateDataset(local, m, wo);
  ASSERT_TRUE(testing::AppendCells(local, testing::Cells(3000, 500, n_genes, 9), testing::ObsFor(testing::Cells(3000, 500, n_genes, 9), 3000), wo).ok());
  io::ResetIoStats();
  auto remote = Dataset::Open(*io::OpenHttpStore(server_->Url("ok") + "/ds.slaf", TestOptions()), {});
  ASSERT_TRUE(remote.ok()) << remote.status().ToString();
  // The hint (carrying the manifest), then the probe for a newer version.
  EXPECT_EQ(io::GetIoStats().requests, 2u);
  EXPECT_EQ(io::GetIoStats().batches, 2u);
  auto here = Dataset::Open(dir_ / "ds.slaf");
  ASSERT_TRUE(here.ok());
  EXPECT_EQ((*remote)->version(), (*here)->version());
  std::vector<uint64_t> cells = {5, 999, 1000, 2999, 3001, 3499, 17};
  CsrMatrix a, b;
  ASSERT_TRUE((*remote)->ReadCells(cells, {}, &a).ok());
  ASSERT_TRUE((*here)->ReadCells(cells, {}, &b).ok());
  EXPECT_TRUE(testing::SameCsr(a, b));
  auto obs_r = (*remote)->obs();
  auto obs_l = (*here)->obs();
  ASSERT_TRUE(obs_r.ok() && obs_l.ok());
  EXPECT_EQ(obs_r->n_rows, obs_l->n_rows);
  // Time travel over HTTP.
  auto v1 = Dataset::Open(server_->Url("ok") + "/ds.slaf", OpenOptions{1, {}});
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  EXPECT_EQ((*v1)->n_cells(), 3000u);
}

}  // namespace
}  // namespace slaf
