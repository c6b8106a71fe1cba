// slaf-remote-bench: what reading a dataset over HTTP or S3 costs, in
// requests, round trips, bytes and time (include/slaf/remote.h IoStats), for
// the cloud I/O targets (issue 6). Run by bench/remote_bench.py against a
// local nginx, directly and through a latency-adding proxy.
//
//   slaf-remote-bench URI --local PATH [--seed S] [--sql SQL] [--scan-repeats R]
//
// URI is the dataset to measure (a URL, or a path for the local baseline);
// PATH is the same dataset on local disk, used only to look up the stored
// size of the chunks a cell lives in. Prints one JSON object per line.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "slaf/dataset.h"
#include "slaf/remote.h"
#include "slaf/segment.h"
#include "slaf/sql.h"

namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

void Fail(const slaf::Status& s) {
  std::fprintf(stderr, "slaf-remote-bench: %s\n", s.ToString().c_str());
  std::exit(1);
}

template <typename T>
T Must(slaf::Result<T> r) {
  if (!r.ok()) Fail(r.status());
  return std::move(*r);
}

void Print(const std::string& what, double ms, const slaf::io::IoStats& s, const std::string& extra = "") {
  std::printf("{\"step\": \"%s\", \"ms\": %.2f, \"requests\": %llu, \"round_trips\": %llu, \"retries\": %llu, \"bytes_in\": %llu, "
              "\"cache_hits\": %llu%s%s}\n",
              what.c_str(), ms, static_cast<unsigned long long>(s.requests), static_cast<unsigned long long>(s.batches),
              static_cast<unsigned long long>(s.retries), static_cast<unsigned long long>(s.bytes_in),
              static_cast<unsigned long long>(s.cache_hits), extra.empty() ? "" : ", ", extra.c_str());
  std::fflush(stdout);
}

// Stored bytes of the X chunks holding `cells` (each chunk counted once),
// from the local copy's segment footers.
class ChunkSizes {
 public:
  explicit ChunkSizes(const std::string& local) {
    ds_ = Must(slaf::Dataset::Open(local));
    store_ = Must(slaf::OpenStore(local, false));
  }
  uint64_t Of(const std::vector<uint64_t>& cells) {
    std::set<std::pair<size_t, size_t>> seen;
    uint64_t bytes = 0;
    const auto& segs = ds_->manifest().x.segments;
    for (uint64_t c : cells) {
      size_t s = 0;
      while (s + 1 < segs.size() && segs[s + 1].first_cell <= c) ++s;
      const slaf::SegmentInfo& info = Info(s);
      const uint64_t row = c - segs[s].first_cell;
      auto it = std::upper_bound(info.chunks.begin(), info.chunks.end(), row,
                                 [](uint64_t r, const slaf::ChunkInfo& ch) { return r < ch.first_row; });
      const size_t k = static_cast<size_t>(it - info.chunks.begin()) - 1;
      if (seen.insert({s, k}).second) bytes += info.chunks[k].stored_len;
    }
    return bytes;
  }

 private:
  const slaf::SegmentInfo& Info(size_t s) {
    auto it = readers_.find(s);
    if (it == readers_.end()) {
      auto file = Must(store_->OpenRead(ds_->manifest().x.segments[s].path));
      it = readers_.emplace(s, Must(slaf::SegmentReader::Open(file))).first;
    }
    return it->second->info();
  }
  std::unique_ptr<slaf::Dataset> ds_;
  std::shared_ptr<slaf::io::ObjectStore> store_;
  std::map<size_t, std::unique_ptr<slaf::SegmentReader>> readers_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: slaf-remote-bench URI --local PATH [--seed S] [--sql SQL] [--scan-repeats R]\n");
    return 2;
  }
  const std::string uri = argv[1];
  std::string local, sql;
  uint64_t seed = 1;
  int scan_repeats = 3;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--local" && i + 1 < argc) local = argv[++i];
    else if (a == "--seed" && i + 1 < argc) seed = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--sql" && i + 1 < argc) sql = argv[++i];
    else if (a == "--scan-repeats" && i + 1 < argc) scan_repeats = std::max(1, std::atoi(argv[++i]));
    else return std::fprintf(stderr, "slaf-remote-bench: unknown argument %s\n", a.c_str()), 2;
  }
  if (local.empty()) return std::fprintf(stderr, "slaf-remote-bench: --local PATH is required\n"), 2;
  ChunkSizes sizes(local);
  std::mt19937_64 rng(seed);

  // Open, then one cell cold (segment footer + chunk), then another warm.
  slaf::io::ResetIoStats();
  auto t0 = Clock::now();
  std::unique_ptr<slaf::Dataset> ds = Must(slaf::Dataset::Open(uri));
  Print("open", Ms(t0), slaf::io::GetIoStats());
  const uint64_t n = ds->n_cells();
  for (const char* what : {"cell_cold", "cell_warm"}) {
    const std::vector<uint64_t> one = {rng() % n};
    slaf::CsrMatrix m;
    slaf::io::ResetIoStats();
    t0 = Clock::now();
    if (slaf::Status s = ds->ReadCells(one, {}, &m); !s.ok()) Fail(s);
    Print(what, Ms(t0), slaf::io::GetIoStats(), "\"chunk_bytes\": " + std::to_string(sizes.Of(one)) + ", \"nnz\": " + std::to_string(m.indices.size()));
  }

  // 100 random cells with the files open (cells not read before).
  std::vector<uint64_t> cells;
  while (cells.size() < 100) cells.push_back(rng() % n);
  slaf::CsrMatrix many;
  slaf::io::ResetIoStats();
  t0 = Clock::now();
  if (slaf::Status s = ds->ReadCells(cells, {}, &many); !s.ok()) Fail(s);
  Print("cells_100", Ms(t0), slaf::io::GetIoStats(), "\"chunk_bytes\": " + std::to_string(sizes.Of(cells)));

  // The same 100 on a freshly opened dataset: open and footers included.
  slaf::io::ResetIoStats();
  t0 = Clock::now();
  {
    std::unique_ptr<slaf::Dataset> fresh = Must(slaf::Dataset::Open(uri));
    std::vector<uint64_t> other;
    while (other.size() < 100) other.push_back(rng() % n);
    if (slaf::Status s = fresh->ReadCells(other, {}, &many); !s.ok()) Fail(s);
  }
  Print("cells_100_from_open", Ms(t0), slaf::io::GetIoStats());

  // Full scan of X: every value decoded and summed; best of R.
  double best = 1e300;
  slaf::io::IoStats scan_stats;
  double total = 0;
  for (int r = 0; r < scan_repeats; ++r) {
    std::unique_ptr<slaf::Dataset> fresh = Must(slaf::Dataset::Open(uri));
    slaf::io::ResetIoStats();
    t0 = Clock::now();
    auto scanner = Must(fresh->ScanMatrix(slaf::ScanOptions{}));
    slaf::CsrMatrix block;
    uint64_t first = 0;
    total = 0;
    while (Must(scanner->Next(&block, &first))) {
      for (uint32_t v : block.counts) total += v;
      for (float v : block.floats) total += v;
    }
    const double ms = Ms(t0);
    if (ms < best) {
      best = ms;
      scan_stats = slaf::io::GetIoStats();
    }
  }
  char extra[64];
  std::snprintf(extra, sizeof extra, "\"sum\": %.0f", total);
  Print("scan_full", best, scan_stats, extra);

  if (!sql.empty()) {
    for (const char* what : {"sql_cold", "sql_warm"}) {
      std::unique_ptr<slaf::Dataset> fresh;
      if (std::string(what) == "sql_cold") {
        slaf::io::ResetIoStats();
        t0 = Clock::now();
        fresh = Must(slaf::Dataset::Open(uri));
      }
      slaf::Dataset& d = fresh ? *fresh : *ds;
      if (!fresh) {
        slaf::io::ResetIoStats();
        t0 = Clock::now();
      }
      auto res = Must(slaf::sql::Execute(d, sql));
      if (fresh) ds = std::move(fresh);  // the warm run reuses its open files and cache
      Print(what, Ms(t0), slaf::io::GetIoStats(), "\"rows\": " + std::to_string(res.table.n_rows));
    }
  }
  return 0;
}
