// slaf: command-line front end. Thin: parses arguments, calls the library.
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "slaf/file.h"
#include "slaf/segment.h"
#include "slaf/synthetic.h"

namespace {

using slaf::Status;

const char* kUsage =
    "usage: slaf COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  generate OUT.seg [--cells N] [--genes G] [--density D] [--seed S]\n"
    "                   [--chunk-bytes B] [--gene-order identity|frequency] [--quiet]\n"
    "      write a deterministic UMI-like synthetic matrix as a segment file\n"
    "  cells FILE.seg ROW [ROW...]   print the nonzeros of the given cells\n"
    "  scan FILE.seg [--quiet]       decode every chunk; print nnz, sum, time\n"
    "\n"
    "run 'slaf COMMAND --help' for a command's options; slaf-inspect explains files.\n";

int Fail(const Status& s) {
  std::fprintf(stderr, "slaf: %s\n", s.ToString().c_str());
  return 1;
}

int UsageError(const std::string& msg) {
  std::fprintf(stderr, "slaf: %s\n\n%s", msg.c_str(), kUsage);
  return 2;
}

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

bool ParseU64(const std::string& s, uint64_t* v) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  *v = std::strtoull(s.c_str(), &end, 10);
  return errno == 0 && *end == 0 && s[0] != '-';
}

// Progress on a terminal only (stderr), quiet when piped or --quiet.
class Progress {
 public:
  Progress(bool quiet, uint64_t total, const char* unit)
      : on_(!quiet && isatty(2)), total_(total), unit_(unit), t0_(std::chrono::steady_clock::now()) {}
  void Update(uint64_t done) {
    if (!on_) return;
    const double s = Seconds(t0_);
    const double rate = s > 0 ? done / s : 0;
    const double eta = rate > 0 ? (total_ - done) / rate : 0;
    std::fprintf(stderr, "\r  %" PRIu64 "/%" PRIu64 " %s (%.0f%%), %.0f %s/s, ETA %.0fs   ", done, total_, unit_, total_ ? 100.0 * done / total_ : 100.0, rate, unit_, eta);
  }
  void Done() {
    if (on_) std::fprintf(stderr, "\r%80s\r", "");
  }

 private:
  bool on_;
  uint64_t total_;
  const char* unit_;
  std::chrono::steady_clock::time_point t0_;
};

int Generate(const std::vector<std::string>& args) {
  const char* help =
      "usage: slaf generate OUT.seg [--cells N] [--genes G] [--density D] [--seed S]\n"
      "                     [--chunk-bytes B] [--gene-order identity|frequency] [--quiet]\n"
      "Writes a deterministic UMI-like count matrix (log-normal gene means, varying\n"
      "library sizes, gamma-Poisson counts). Defaults: 1000 cells, 2000 genes,\n"
      "density 0.07, seed 42, 16384-byte chunks, identity gene order.\n";
  slaf::SyntheticSpec spec;
  std::string out, order = "identity";
  uint64_t chunk_bytes = 16 * 1024;
  bool quiet = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](uint64_t* v) { return i + 1 < args.size() && ParseU64(args[++i], v); };
    uint64_t v = 0;
    if (a == "--help" || a == "-h") {
      std::fputs(help, stdout);
      return 0;
    } else if (a == "--cells") {
      if (!value(&spec.n_cells)) return UsageError("--cells needs a whole number");
    } else if (a == "--genes") {
      if (!value(&v) || v == 0 || v > (1u << 31)) return UsageError("--genes needs a whole number in 1..2^31");
      spec.n_genes = static_cast<uint32_t>(v);
    } else if (a == "--density") {
      if (i + 1 >= args.size()) return UsageError("--density needs a value");
      spec.density = std::atof(args[++i].c_str());
      if (!(spec.density > 0 && spec.density <= 0.6)) return UsageError("--density must be in (0, 0.6]");
    } else if (a == "--seed") {
      if (!value(&spec.seed)) return UsageError("--seed needs a whole number");
    } else if (a == "--chunk-bytes") {
      if (!value(&chunk_bytes) || chunk_bytes < 1024 || chunk_bytes > (64u << 20)) return UsageError("--chunk-bytes must be in 1024..67108864");
    } else if (a == "--gene-order") {
      if (i + 1 >= args.size()) return UsageError("--gene-order needs identity or frequency");
      order = args[++i];
      if (order != "identity" && order != "frequency") return UsageError("--gene-order must be identity or frequency");
    } else if (a == "--quiet" || a == "-q") {
      quiet = true;
    } else if (!a.empty() && a[0] == '-') {
      return UsageError("generate: unknown option " + a);
    } else if (out.empty()) {
      out = a;
    } else {
      return UsageError("generate: unexpected argument " + a);
    }
  }
  if (out.empty()) return UsageError("generate: missing OUT path");
  const auto t0 = std::chrono::steady_clock::now();
  slaf::SyntheticMatrix gen(spec);
  slaf::SegmentWriterOptions wo;
  wo.n_cols = spec.n_genes;
  wo.target_chunk_bytes = static_cast<uint32_t>(chunk_bytes);
  constexpr uint64_t kBlock = 4096;
  slaf::CsrMatrix block;
  if (order == "frequency") {  // first pass: per-gene nonzero counts
    std::vector<uint64_t> gene_nnz(spec.n_genes, 0);
    for (uint64_t r = 0; r < spec.n_cells; r += kBlock) {
      gen.GenerateRows(r, std::min(spec.n_cells, r + kBlock), &block);
      for (uint32_t g : block.indices) ++gene_nnz[g];
    }
    wo.stored_to_original = slaf::FrequencyOrder(gene_nnz);
  }
  const std::string tmp = out + ".tmp";
  auto file = slaf::io::CreateLocalFile(tmp);
  if (!file.ok()) return Fail(file.status());
  // Any failure from here on removes the partial file.
  auto fail = [&](const Status& s) {
    std::remove(tmp.c_str());
    return Fail(s);
  };
  auto writer = slaf::SegmentWriter::Create(file->get(), wo);
  if (!writer.ok()) return fail(writer.status());
  Progress progress(quiet, spec.n_cells, "cells");
  for (uint64_t r = 0; r < spec.n_cells; r += kBlock) {
    gen.GenerateRows(r, std::min(spec.n_cells, r + kBlock), &block);
    slaf::CsrRowsView view{block.n_rows, block.indptr.data(), block.indices.data(), block.counts.data(), nullptr};
    Status s = (*writer)->AppendRows(view);
    if (!s.ok()) return fail(s);
    progress.Update(std::min(spec.n_cells, r + kBlock));
  }
  auto stats = (*writer)->Finish();
  progress.Done();
  if (!stats.ok()) return fail(stats.status());
  // Publish under the final name only once complete (no half-written file
  // ever carries the requested name).
  if (std::rename(tmp.c_str(), out.c_str()) != 0) return fail(Status::IOError("rename " + tmp + " -> " + out + ": " + std::strerror(errno)));
  if (!quiet) {
    std::printf("wrote %s: %" PRIu64 " cells x %u genes, nnz %" PRIu64 ", %" PRIu64 " chunks, %" PRIu64 " bytes (%.3f B/nnz), gene order %s, %.2fs\n", out.c_str(),
                stats->n_rows, spec.n_genes, stats->nnz, stats->chunks, stats->file_bytes, stats->nnz ? double(stats->file_bytes) / stats->nnz : 0.0, order.c_str(), Seconds(t0));
  }
  return 0;
}

slaf::Result<std::unique_ptr<slaf::SegmentReader>> OpenSegment(const std::string& path) {
  auto f = slaf::io::OpenLocalFile(path);
  if (!f.ok()) return f.status();
  return slaf::SegmentReader::Open(std::shared_ptr<slaf::io::RandomAccessFile>(std::move(*f)));
}

int Cells(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs("usage: slaf cells FILE.seg ROW [ROW...]\nPrints each cell's nonzeros as gene:value pairs.\n", args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  auto r = OpenSegment(args[0]);
  if (!r.ok()) return Fail(r.status());
  std::vector<uint64_t> rows;
  for (size_t i = 1; i < args.size(); ++i) {
    uint64_t v;
    if (!ParseU64(args[i], &v)) return UsageError("cells: not a row number: " + args[i]);
    rows.push_back(v);
  }
  slaf::CsrMatrix m;
  Status s = (*r)->ReadRowList(rows, &m);
  if (!s.ok()) return Fail(s);
  for (uint64_t i = 0; i < m.n_rows; ++i) {
    std::printf("cell %" PRIu64 " (%" PRIu64 " nonzeros):", rows[i], m.indptr[i + 1] - m.indptr[i]);
    for (uint64_t k = m.indptr[i]; k < m.indptr[i + 1]; ++k) std::printf(" %u:%g", m.indices[k], m.value(k));
    std::printf("\n");
  }
  return 0;
}

int Scan(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs("usage: slaf scan FILE.seg [--quiet]\nDecodes every chunk (values only) and prints nnz, sum and throughput.\n", args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const bool quiet = args.size() > 1 && (args[1] == "--quiet" || args[1] == "-q");
  auto r = OpenSegment(args[0]);
  if (!r.ok()) return Fail(r.status());
  const auto t0 = std::chrono::steady_clock::now();
  slaf::ScanOptions so;
  so.want_indices = false;
  auto scanner = (*r)->Scan(so);
  if (!scanner.ok()) return Fail(scanner.status());
  slaf::CsrMatrix block;
  uint64_t first = 0, nnz = 0, int_sum = 0;
  double sum = 0;
  Progress progress(quiet, (*r)->info().n_rows, "cells");
  while (true) {
    auto more = (*scanner)->Next(&block, &first);
    if (!more.ok()) return Fail(more.status());
    if (!*more) break;
    nnz += block.indptr.back();
    for (uint32_t v : block.counts) int_sum += v;  // integer adds: no FP latency chain
    for (float v : block.floats) sum += v;
    progress.Update(first + block.n_rows);
  }
  progress.Done();
  sum += static_cast<double>(int_sum);
  const double s = Seconds(t0);
  std::printf("nnz %" PRIu64 ", sum %.17g, %.3f s, %.1f M nnz/s\n", nnz, sum, s, s > 0 ? nnz / s / 1e6 : 0.0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string cmd = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (cmd == "generate") return Generate(args);
  if (cmd == "cells") return Cells(args);
  if (cmd == "scan") return Scan(args);
  return UsageError("unknown command '" + cmd + "'");
}
