// slaf-peer-worker: the engine-under-test worker of ../shared/peers (its
// README, "Adding the engine under test", is the contract).
//
//   slaf-peer-worker import --data-dir D --h5ad F --staging D/staging --out-dir D/slaf
//   slaf-peer-worker bench --data-dir D --store D/slaf --mode warm|cold [--scenario ID]...
//
// The store is the expression segment X.seg plus the cell and gene id lists
// (cell_ids.txt, gene_ids.txt, one id per line) that resolve the harness's
// string ids. Metadata tables arrive with the datasets issue; until then the
// obs/var filter and cell-type scenarios answer "unsupported".
#include <fcntl.h>
#include <simdjson.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "slaf/file.h"
#include "slaf/segment.h"

namespace {

using Clock = std::chrono::steady_clock;
double Ms(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "slaf-peer-worker: %s\n", msg.c_str());
  std::exit(1);
}

std::map<std::string, std::vector<std::string>> ParseArgs(int argc, char** argv) {
  std::map<std::string, std::vector<std::string>> a;
  for (int i = 2; i + 1 < argc; i += 2) a[argv[i]].push_back(argv[i + 1]);
  return a;
}

std::string Arg(const std::map<std::string, std::vector<std::string>>& a, const std::string& k, const std::string& def = "") {
  auto it = a.find(k);
  return it == a.end() ? def : it->second.back();
}

// Read-only mapping of a whole file (staging arrays are hundreds of MB).
struct Mapped {
  const uint8_t* data = nullptr;
  size_t size = 0;
  explicit Mapped(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) Die("cannot open " + path);
    struct stat st;
    fstat(fd, &st);
    size = static_cast<size_t>(st.st_size);
    if (size) data = static_cast<const uint8_t*>(mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0));
    ::close(fd);
    if (size && data == MAP_FAILED) Die("mmap " + path);
    if (size) madvise(const_cast<uint8_t*>(data), size, MADV_SEQUENTIAL);
  }
  ~Mapped() {
    if (size) munmap(const_cast<uint8_t*>(data), size);
  }
};

std::string Version() { return "slaf 0.1.0 (format 1.0)"; }

void WriteIds(const simdjson::dom::element& doc, const char* column, const std::string& path) {
  std::ofstream out(path);
  for (auto v : doc[column].get_array()) {
    std::string_view s;
    if (v.get(s) == simdjson::SUCCESS) out << s << '\n';
    else out << simdjson::to_string(v) << '\n';
  }
}

int Import(const std::map<std::string, std::vector<std::string>>& a) {
  const auto t0 = Clock::now();
  const std::string st = Arg(a, "--staging"), out = Arg(a, "--out-dir");
  if (st.empty() || out.empty()) Die("import needs --staging and --out-dir");
  simdjson::dom::parser parser;
  simdjson::dom::element meta;
  if (parser.load(st + "/meta.json").get(meta)) Die("cannot parse " + st + "/meta.json");
  const uint64_t n_cells = uint64_t(meta["n_cells"]), n_genes = uint64_t(meta["n_genes"]), nnz = uint64_t(meta["nnz"]);
  const std::string gene_dtype{std::string_view(meta["gene_dtype"])};
  const std::string value_dtype{std::string_view(meta["value_dtype"])};
  {
    simdjson::dom::parser p2;
    simdjson::dom::element cells, genes;
    if (p2.load(st + "/cells.json").get(cells)) Die("cannot parse cells.json");
    WriteIds(cells, "cell_id", out + "/cell_ids.txt");
    if (p2.load(st + "/genes.json").get(genes)) Die("cannot parse genes.json");
    WriteIds(genes, "gene_id", out + "/gene_ids.txt");
  }
  Mapped cell(st + "/expr_cell.bin"), gene(st + "/expr_gene.bin"), value(st + "/expr_value.bin");
  if ((gene_dtype != "uint16" && gene_dtype != "uint32") || (value_dtype != "uint16" && value_dtype != "float32")) Die("unsupported staging dtypes " + gene_dtype + " / " + value_dtype);
  const bool g16 = gene_dtype == "uint16", v16 = value_dtype == "uint16";
  if (cell.size != 4 * nnz || gene.size != (g16 ? 2 : 4) * nnz || value.size != (v16 ? 2 : 4) * nnz) Die("staging array sizes do not match nnz");
  auto cell_at = [&](uint64_t k) { uint32_t v; std::memcpy(&v, cell.data + 4 * k, 4); return v; };
  auto gene_at = [&](uint64_t k) -> uint32_t {
    if (g16) { uint16_t v; std::memcpy(&v, gene.data + 2 * k, 2); return v; }
    uint32_t v; std::memcpy(&v, gene.data + 4 * k, 4); return v;
  };
  // Pass 1: per-gene nonzero counts for the frequency order (format-spec §4.4).
  std::vector<uint64_t> gene_nnz(n_genes, 0);
  for (uint64_t k = 0; k < nnz; ++k) {
    const uint32_t g = gene_at(k);
    if (g >= n_genes) Die("staging gene id " + std::to_string(g) + " >= n_genes at entry " + std::to_string(k));
    ++gene_nnz[g];
  }
  slaf::SegmentWriterOptions wo;
  wo.n_cols = static_cast<uint32_t>(n_genes);
  wo.value_type = v16 ? slaf::ValueType::kUInt32 : slaf::ValueType::kFloat32;
  if (const char* cb = getenv("SLAF_CHUNK_BYTES")) wo.target_chunk_bytes = static_cast<uint32_t>(std::stoul(cb));
  if (getenv("SLAF_GENE_ORDER") == nullptr || std::string(getenv("SLAF_GENE_ORDER")) != "identity") wo.stored_to_original = slaf::FrequencyOrder(gene_nnz);
  auto file = slaf::io::CreateLocalFile(out + "/X.seg");
  if (!file.ok()) Die(file.status().ToString());
  auto w = slaf::SegmentWriter::Create(file->get(), wo);
  if (!w.ok()) Die(w.status().ToString());
  // Pass 2: rows in blocks of 4096 cells.
  slaf::CsrMatrix block;
  uint64_t k = 0;
  for (uint64_t r0 = 0; r0 < n_cells; r0 += 4096) {
    const uint64_t r1 = std::min(n_cells, r0 + 4096);
    block.Clear(wo.n_cols, wo.value_type);
    for (uint64_t r = r0; r < r1; ++r) {
      while (k < nnz && cell_at(k) == r) {
        block.indices.push_back(gene_at(k));
        if (v16) { uint16_t v; std::memcpy(&v, value.data + 2 * k, 2); block.counts.push_back(v); }
        else { float v; std::memcpy(&v, value.data + 4 * k, 4); block.floats.push_back(v); }
        ++k;
      }
      block.indptr.push_back(block.indices.size());
    }
    block.n_rows = r1 - r0;
    slaf::CsrRowsView view{block.n_rows, block.indptr.data(), block.indices.data(), block.counts.data(), block.floats.data()};
    slaf::Status s = (*w)->AppendRows(view);
    if (!s.ok()) Die(s.ToString());
  }
  if (k != nnz) Die("staging entries are not sorted by cell");
  auto stats = (*w)->Finish();
  if (!stats.ok()) Die(stats.status().ToString());
  std::fprintf(stderr, "imported %" PRIu64 " x %" PRIu64 ", nnz %" PRIu64 ", %" PRIu64 " bytes (%.3f B/nnz) in %.1f s\n", n_cells, n_genes, nnz, stats->file_bytes,
               nnz ? double(stats->file_bytes) / nnz : 0.0, Ms(t0) / 1000);
  std::printf("@@RESULT {\"scenario\": \"__import__\", \"ok\": true, \"engine\": \"%s\", \"format\": \"slaf segment v1\", \"expr_bytes\": %" PRIu64 "}\n", Version().c_str(), stats->file_bytes);
  return 0;
}

double PeakRssMb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

void ResetPeakRss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
}

std::string Num(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}

std::string JsonStr(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  return o + "\"";
}

// Ids of cells or genes, one per line in a text file: read in one go, the
// lookup map built on first use (open stays cheap; ids are resolved by the
// obs/var tables once those exist).
class IdList {
 public:
  void Load(const std::string& path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) Die("cannot open " + path);
    blob_.resize(static_cast<size_t>(in.tellg()));
    in.seekg(0);
    in.read(blob_.data(), static_cast<std::streamsize>(blob_.size()));
    const char* p = blob_.data();
    const char* end = p + blob_.size();
    while (p < end) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
      if (!nl) nl = end;
      ids_.emplace_back(p, static_cast<size_t>(nl - p));
      p = nl + 1;
    }
  }
  const std::string_view& operator[](size_t i) const { return ids_[i]; }
  bool Find(std::string_view id, uint64_t* index) {
    if (map_.empty()) {
      map_.reserve(ids_.size());
      for (size_t i = 0; i < ids_.size(); ++i) map_.emplace(ids_[i], i);
    }
    auto it = map_.find(id);
    if (it == map_.end()) return false;
    *index = it->second;
    return true;
  }

 private:
  std::string blob_;
  std::vector<std::string_view> ids_;
  std::unordered_map<std::string_view, uint64_t> map_;
};

struct Store {
  std::unique_ptr<slaf::SegmentReader> x;
  IdList cells, genes;
};

Store OpenStore(const std::string& dir) {
  Store s;
  auto f = slaf::io::OpenLocalFile(dir + "/X.seg");
  if (!f.ok()) Die(f.status().ToString());
  auto r = slaf::SegmentReader::Open(std::shared_ptr<slaf::io::RandomAccessFile>(std::move(*f)));
  if (!r.ok()) Die(r.status().ToString());
  s.x = std::move(*r);
  s.cells.Load(dir + "/cell_ids.txt");
  s.genes.Load(dir + "/gene_ids.txt");
  return s;
}

struct Outcome {
  bool ok = true, unsupported = false;
  std::string error, check, extra;  // check: JSON object text; extra: more fields
};

// Sum of a CSR block's values: integer adds for counts.
void Accumulate(const slaf::CsrMatrix& m, uint64_t* nnz, double* sum) {
  uint64_t isum = 0;
  double fsum = 0;
  for (uint32_t v : m.counts) isum += v;
  for (float v : m.floats) fsum += v;
  *nnz += m.indptr.back();
  *sum += static_cast<double>(isum) + fsum;
}

std::string NnzSum(uint64_t nnz, double sum) { return "{\"nnz\": " + std::to_string(nnz) + ", \"sum\": " + Num(sum) + "}"; }

// The check of a query answered as one CSR result.
std::string NnzSumOf(const slaf::CsrMatrix& m) {
  uint64_t nnz = 0;
  double sum = 0;
  Accumulate(m, &nnz, &sum);
  return NnzSum(nnz, sum);
}

class Runner {
 public:
  Runner(Store* s, const std::string& data_dir) : s_(s), data_dir_(data_dir) {}

  Outcome Run(simdjson::dom::element sc, double stream_seconds, bool cold) {
    const std::string_view kind = sc["kind"];
    Outcome o;
    slaf::CsrMatrix& m = result_;  // reused: callers keep buffers across queries
    if (kind == "cells_by_id") {
      std::vector<uint64_t> rows;
      for (auto id : sc["cell_ids"].get_array()) {
        uint64_t row;
        if (!s_->cells.Find(std::string_view(id), &row)) return Fail("unknown cell id");
        rows.push_back(row);
      }
      if (!Check(s_->x->ReadRowList(rows, &m), &o)) return o;
      o.check = NnzSumOf(m);
    } else if (kind == "genes_by_id") {
      slaf::ScanOptions so;
      for (auto id : sc["gene_ids"].get_array()) {
        uint64_t col;
        if (!s_->genes.Find(std::string_view(id), &col)) return Fail("unknown gene id");
        so.columns.push_back(static_cast<uint32_t>(col));
      }
      so.want_indices = false;
      uint64_t nnz = 0;
      double sum = 0;
      if (!ScanAll(so, [&](const slaf::CsrMatrix& b) { Accumulate(b, &nnz, &sum); }, &o)) return o;
      o.check = NnzSum(nnz, sum);
    } else if (kind == "submatrix") {
      std::vector<uint64_t> rows;
      std::vector<uint32_t> cols;
      for (auto v : sc["cells"].get_array()) rows.push_back(uint64_t(v));
      for (auto v : sc["genes"].get_array()) cols.push_back(static_cast<uint32_t>(uint64_t(v)));
      if (!Check(s_->x->ReadSubmatrix(rows, cols, &m), &o)) return o;
      o.check = NnzSumOf(m);
    } else if (kind == "full_scan") {
      slaf::ScanOptions so;
      so.want_indices = false;  // projection pushdown: only the value stream is decoded
      uint64_t nnz = 0;
      double sum = 0;
      if (!ScanAll(so, [&](const slaf::CsrMatrix& b) { Accumulate(b, &nnz, &sum); }, &o)) return o;
      o.check = NnzSum(nnz, sum);
    } else if (kind == "agg_top_genes") {
      const size_t k = uint64_t(sc["k"]);
      const uint32_t n_cols = s_->x->info().n_cols;
      std::vector<uint64_t> isum(n_cols, 0);
      std::vector<double> fsum(n_cols, 0);
      slaf::ScanOptions so;
      so.sorted_indices = false;  // a per-gene sum does not need sorted rows
      if (!ScanAll(so, [&](const slaf::CsrMatrix& b) {
            for (size_t i = 0; i < b.counts.size(); ++i) isum[b.indices[i]] += b.counts[i];
            for (size_t i = 0; i < b.floats.size(); ++i) fsum[b.indices[i]] += b.floats[i];
          }, &o)) return o;
      std::vector<std::pair<double, uint32_t>> tot(n_cols);
      for (uint32_t g = 0; g < n_cols; ++g) tot[g] = {static_cast<double>(isum[g]) + fsum[g], g};
      const size_t kk = std::min<size_t>(k, n_cols);
      std::partial_sort(tot.begin(), tot.begin() + kk, tot.end(), [](auto& a, auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
      o.check = "{\"top\": [";
      for (size_t i = 0; i < kk; ++i) o.check += (i ? ", [" : "[") + JsonStr(std::string(s_->genes[tot[i].second])) + ", " + Num(tot[i].first) + "]";
      o.check += "]}";
    } else if (kind == "stream") {
      return Stream(sc, stream_seconds, cold);
    } else {
      o.ok = false;
      o.unsupported = true;
      o.error = "needs cell/gene metadata tables (obs/var), which arrive with the datasets issue";
    }
    return o;
  }

 private:
  static Outcome Fail(const std::string& e) {
    Outcome o;
    o.ok = false;
    o.error = e;
    return o;
  }
  static bool Check(const slaf::Status& s, Outcome* o) {
    if (s.ok()) return true;
    *o = Fail(s.ToString());
    return false;
  }
  template <typename F>
  bool ScanAll(const slaf::ScanOptions& so, F&& f, Outcome* o) {
    auto sc = s_->x->Scan(so);
    if (!sc.ok()) return Check(sc.status(), o);
    uint64_t first;
    while (true) {
      auto more = (*sc)->Next(&block_, &first);
      if (!more.ok()) return Check(more.status(), o);
      if (!*more) return true;
      f(block_);
    }
  }

  Outcome Stream(simdjson::dom::element sc, double seconds, bool cold) {
    if (perm_.empty()) {
      std::ifstream in(data_dir_ + "/stream_perm.u32", std::ios::binary);
      std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      perm_.resize(raw.size() / 4);
      std::memcpy(perm_.data(), raw.data(), perm_.size() * 4);
    }
    const size_t bs = uint64_t(sc["batch_size"]);
    const uint64_t n = s_->x->info().n_rows;
    if (perm_.size() != n) return Fail("stream_perm.u32 does not match n_cells");
    if (bs == 0 || bs > n) return Fail("batch_size must be in 1..n_cells");
    size_t pos = 0;
    uint64_t batches = 0, cells = 0, nnz = 0;
    double first_ms = 0;
    std::vector<uint64_t> batch(bs);
    slaf::CsrMatrix m;
    auto one = [&]() -> bool {
      if (pos + bs > n) pos = 0;
      std::copy(perm_.begin() + pos, perm_.begin() + pos + bs, batch.begin());
      std::sort(batch.begin(), batch.end());
      pos += bs;
      if (!s_->x->ReadRowList(batch, &m).ok()) return false;
      ++batches;
      cells += bs;
      nnz += m.indptr.back();
      return true;
    };
    auto t0 = Clock::now();
    if (!one()) return Fail("stream batch failed");
    first_ms = Ms(t0);
    double secs = first_ms / 1000;
    if (!cold) {
      const auto w0 = Clock::now();  // 1 s warm-up
      while (Ms(w0) < 1000) one();
      batches = cells = nnz = 0;
      t0 = Clock::now();
      while (Ms(t0) < seconds * 1000) {
        for (int i = 0; i < 16; ++i) one();
      }
      secs = Ms(t0) / 1000;
    }
    Outcome o;
    o.check = "null";
    char b[512];
    std::snprintf(b, sizeof b, "\"stream\": {\"batches\": %" PRIu64 ", \"cells\": %" PRIu64 ", \"nnz\": %" PRIu64 ", \"seconds\": %.6f, \"cells_per_s\": %.1f, \"nnz_per_s\": %.1f, \"first_batch_ms\": %.4f}", batches,
                  cells, nnz, secs, cells / secs, nnz / secs, first_ms);
    o.extra = b;
    stream_ms_ = cold ? first_ms : secs * 1000;
    return o;
  }

 public:
  double stream_ms_ = 0;

 private:
  Store* s_;
  std::string data_dir_;
  slaf::CsrMatrix block_, result_;
  std::vector<uint32_t> perm_;
};

void Emit(const std::string& line) {
  std::printf("@@RESULT %s\n", line.c_str());
  std::fflush(stdout);
}

std::string Head(const std::string& id, const Outcome& o) {
  std::string s = "{\"scenario\": " + JsonStr(id) + ", \"ok\": " + (o.ok ? "true" : "false");
  if (o.unsupported) s += ", \"unsupported\": true";
  if (!o.ok) s += ", \"error\": " + JsonStr(o.error);
  return s;
}

int Bench(const std::map<std::string, std::vector<std::string>>& a) {
  const std::string d = Arg(a, "--data-dir"), store = Arg(a, "--store"), mode = Arg(a, "--mode", "warm");
  const int repeats = std::stoi(Arg(a, "--repeats", "7"));
  const double max_seconds = std::stod(Arg(a, "--max-seconds", "30"));
  const std::string stream_arg = Arg(a, "--stream-seconds");
  std::vector<std::string> only;
  if (a.count("--scenario")) only = a.at("--scenario");
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.load(d + "/scenarios.json").get(doc)) Die("cannot parse " + d + "/scenarios.json");
  const bool cold = mode == "cold";
  const auto t_open = Clock::now();
  Store s = OpenStore(store);
  const double open_ms = Ms(t_open);
  Runner runner(&s, d);
  if (!cold) Emit("{\"scenario\": \"__open__\", \"ok\": true, \"open_ms\": " + Num(open_ms) + ", \"peak_rss_mb\": " + Num(PeakRssMb()) + ", \"engine\": " + JsonStr(Version()) + "}");
  for (auto sc : doc["scenarios"].get_array()) {
    const std::string id{std::string_view(sc["id"])};
    if (!only.empty() && std::find(only.begin(), only.end(), id) == only.end()) continue;
    const bool is_stream = std::string_view(sc["kind"]) == "stream";
    double stream_seconds = 10;
    if (is_stream) stream_seconds = stream_arg.empty() ? double(sc["seconds"]) : std::stod(stream_arg);
    if (cold) {
      const auto t0 = Clock::now();
      Outcome o = runner.Run(sc, stream_seconds, true);
      const double q = is_stream ? runner.stream_ms_ : Ms(t0);
      std::string line = Head(id, o);
      if (o.ok) {
        line += ", \"open_ms\": " + Num(open_ms) + ", \"query_ms\": " + Num(q) + ", \"total_ms\": " + Num(open_ms + q) + ", \"check\": " + o.check;
        if (!o.extra.empty()) line += ", " + o.extra;
        line += ", \"peak_rss_mb\": " + Num(PeakRssMb());
      }
      Emit(line + "}");
      continue;
    }
    ResetPeakRss();
    const auto t_sc = Clock::now();
    auto t0 = Clock::now();
    Outcome o = runner.Run(sc, stream_seconds, false);
    const double first_ms = Ms(t0);
    std::string line = Head(id, o);
    if (!o.ok) {
      Emit(line + "}");
      continue;
    }
    std::vector<double> times;
    if (is_stream) {
      times.push_back(runner.stream_ms_);
    } else {
      while (static_cast<int>(times.size()) < repeats && Ms(t_sc) < max_seconds * 1000) {
        t0 = Clock::now();
        Outcome again = runner.Run(sc, stream_seconds, false);
        times.push_back(Ms(t0));
        if (!again.ok) break;
      }
    }
    line += ", \"first_ms\": " + Num(first_ms) + ", \"times_ms\": [";
    bool warmup_only = times.empty();
    if (warmup_only) times.push_back(first_ms);
    for (size_t i = 0; i < times.size(); ++i) line += (i ? ", " : "") + Num(times[i]);
    line += "], \"check\": " + o.check;
    if (warmup_only) line += ", \"warmup_only\": true";
    if (!o.extra.empty()) line += ", " + o.extra;
    line += ", \"peak_rss_mb\": " + Num(PeakRssMb()) + "}";
    Emit(line);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) Die("usage: slaf-peer-worker import|bench --option value ...");
  const std::string cmd = argv[1];
  auto args = ParseArgs(argc, argv);
  if (cmd == "import") return Import(args);
  if (cmd == "bench") return Bench(args);
  Die("unknown command " + cmd);
}
