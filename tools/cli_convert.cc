// slaf convert / slaf export: h5ad, 10x HDF5 and 10x MTX in and out
// (include/slaf/interop.h does the work).
#include <cinttypes>
#include <cstdio>

#include "slaf/interop.h"
#include "tools/cli.h"

namespace slaf::cli {
namespace {

const char* kConvertUsage =
    "usage: slaf convert INPUT OUTPUT.slaf [--format auto|h5ad|10x-h5|mtx] [--genome NAME]\n"
    "                    [--chunk-bytes N] [--gene-order frequency|input] [--gene-index]\n"
    "                    [--memory MiB] [--tmp DIR] [--quiet]\n"
    "Converts an h5ad file, a 10x Genomics HDF5 file (v2 or v3) or a 10x MTX\n"
    "directory (v2 genes.tsv or v3 features.tsv.gz, gzip or plain) into a new\n"
    "dataset. The format is detected unless --format says it. Integer data is\n"
    "stored as uint32 counts, anything else as float32. The dataset is built under\n"
    "a temporary name and renamed to OUTPUT.slaf only when complete.\n"
    "  --genome NAME    10x files with several genomes: only this one\n"
    "  --chunk-bytes N  target size of expression chunks (default 16384)\n"
    "  --gene-order O   frequency (default): store genes most frequent first, from a\n"
    "                   sample of the first cells (smaller files; gene ids and order\n"
    "                   as seen by readers do not change); input: as stored\n"
    "  --gene-index     also write the gene-major copy used by gene queries\n"
    "  --memory MiB     memory for sorting gene-major input (default 512)\n"
    "  --tmp DIR        where that sort spills (default: beside OUTPUT)\n"
    "Prints what was converted and every part of the input it could not carry.\n";

const char* kExportUsage =
    "usage: slaf export DATASET OUT --to h5ad|mtx [--version N] [--dtype int32|float32|float64] [--quiet]\n"
    "Writes one version of DATASET (default the newest) as an .h5ad file that\n"
    "anndata reads (X, layers, obs, var, obsm, varm, uns) or as a 10x v3 MTX\n"
    "directory (matrix.mtx.gz, features.tsv.gz, barcodes.tsv.gz). OUT must not\n"
    "exist. --dtype: element type of count matrices in h5ad (default int32).\n";

void PrintList(const char* title, const std::vector<std::string>& items) {
  if (items.empty()) return;
  std::printf("%s:\n", title);
  for (const std::string& s : items) std::printf("  - %s\n", s.c_str());
}

}  // namespace

int Convert(const std::vector<std::string>& argv) {
  Args args;
  if (Status s = args.Parse(argv, {"--quiet", "--gene-index"}, {"--format", "--genome", "--chunk-bytes", "--memory", "--tmp", "--gene-order"});
      !s.ok()) {
    return UsageError(kConvertUsage, "convert: " + s.message());
  }
  if (args.Has("--help")) return std::fputs(kConvertUsage, stdout), 0;
  if (args.positional().size() != 2) return UsageError(kConvertUsage, "convert: expected INPUT and OUTPUT");
  ConvertOptions o;
  if (const std::string* f = args.Get("--format")) {
    Result<InputFormat> fmt = ParseInputFormat(*f);
    if (!fmt.ok()) return UsageError(kConvertUsage, "convert: " + fmt.status().message());
    o.format = *fmt;
  }
  if (const std::string* g = args.Get("--genome")) o.genome = *g;
  uint64_t v = 0;
  if (const std::string* c = args.Get("--chunk-bytes")) {
    if (!ParseU64(*c, &v) || v < 1024 || v > (64u << 20)) {
      return UsageError(kConvertUsage, "convert: --chunk-bytes must be a number from 1024 to 67108864");
    }
    o.chunk_bytes = static_cast<uint32_t>(v);
  }
  if (const std::string* m = args.Get("--memory")) {
    if (!ParseU64(*m, &v) || v < 16 || v > (1u << 20)) return UsageError(kConvertUsage, "convert: --memory must be MiB from 16 on");
    o.memory_bytes = v << 20;
  }
  if (const std::string* t = args.Get("--tmp")) o.spill_dir = *t;
  if (const std::string* g = args.Get("--gene-order")) {
    if (*g != "frequency" && *g != "input") return UsageError(kConvertUsage, "convert: --gene-order must be frequency or input");
    o.frequency_order = *g == "frequency";
  }
  o.gene_index = args.Has("--gene-index");
  const std::string& input = args.positional()[0];
  const std::string& output = args.positional()[1];
  o.message = "slaf convert " + input;

  const bool quiet = args.Has("--quiet");
  std::unique_ptr<Progress> progress;
  std::string stage;
  o.progress = [&](uint64_t done, uint64_t total, const std::string& what) {
    if (what != stage) {
      progress = std::make_unique<Progress>(quiet, total, what == "gene index" ? "cells (gene index)" : "cells");
      stage = what;
    }
    progress->Update(done);
  };
  const auto t0 = std::chrono::steady_clock::now();
  Result<ConvertReport> r = slaf::Convert(input, output, o);
  progress.reset();
  if (!r.ok()) return Fail(r.status());
  const double s = SecondsSince(t0);
  if (!quiet) {
    std::printf("converted %s (%s) -> %s\n", input.c_str(), r->format.c_str(), output.c_str());
    std::printf("  %" PRIu64 " cells x %u genes, %" PRIu64 " nonzeros (%s)", r->n_cells, r->n_genes, r->nnz,
                r->value_type.c_str());
    for (size_t i = 0; i < r->layers.size(); ++i) std::printf("%s%s", i ? ", " : "; layers ", r->layers[i].c_str());
    std::printf("\n  version %" PRIu64 ", %s on disk (%" PRIu64 " bytes), %.2f s, %.1f M nonzeros/s\n", r->version,
                HumanBytes(r->bytes).c_str(), r->bytes, s, s > 0 ? r->nnz / s / 1e6 : 0.0);
    if (!r->raw.empty()) std::printf("  %s\n", r->raw.c_str());
    PrintList("notes", r->notes);
  }
  // What was left out is printed even with --quiet: it is data not carried.
  if (!r->not_carried.empty()) {
    std::fprintf(stderr, "not carried over (%zu):\n", r->not_carried.size());
    for (const std::string& n : r->not_carried) std::fprintf(stderr, "  - %s\n", n.c_str());
  }
  return 0;
}

int Export(const std::vector<std::string>& argv) {
  Args args;
  if (Status s = args.Parse(argv, {"--quiet"}, {"--to", "--version", "--dtype"}); !s.ok()) {
    return UsageError(kExportUsage, "export: " + s.message());
  }
  if (args.Has("--help")) return std::fputs(kExportUsage, stdout), 0;
  if (args.positional().size() != 2) return UsageError(kExportUsage, "export: expected DATASET and OUT");
  const std::string* to = args.Get("--to");
  if (!to) return UsageError(kExportUsage, "export: --to h5ad|mtx is required");
  ExportOptions o;
  Result<ExportFormat> fmt = ParseExportFormat(*to);
  if (!fmt.ok()) return UsageError(kExportUsage, "export: " + fmt.status().message());
  o.to = *fmt;
  if (const std::string* v = args.Get("--version")) {
    uint64_t n = 0;
    if (!ParseU64(*v, &n) || n == 0) return UsageError(kExportUsage, "export: --version must be a positive number");
    o.version = n;
  }
  if (const std::string* d = args.Get("--dtype")) {
    if (*d != "int32" && *d != "float32" && *d != "float64") return UsageError(kExportUsage, "export: --dtype must be int32, float32 or float64");
    o.count_dtype = *d;
  }
  const bool quiet = args.Has("--quiet");
  std::unique_ptr<Progress> progress;
  std::string stage;
  o.progress = [&](uint64_t done, uint64_t total, const std::string& what) {
    if (what != stage) {
      progress = std::make_unique<Progress>(quiet, total, "cells");
      stage = what;
    }
    progress->Update(done);
  };
  const auto t0 = std::chrono::steady_clock::now();
  Result<ExportReport> r = slaf::Export(args.positional()[0], args.positional()[1], o);
  progress.reset();
  if (!r.ok()) return Fail(r.status());
  if (!quiet) {
    std::printf("exported version %" PRIu64 " of %s -> %s\n", r->version, args.positional()[0].c_str(),
                args.positional()[1].c_str());
    std::printf("  %" PRIu64 " cells x %u genes, %" PRIu64 " nonzeros, %.2f s\n", r->n_cells, r->n_genes, r->nnz,
                SecondsSince(t0));
  }
  if (!r->not_carried.empty()) {
    std::fprintf(stderr, "not carried over (%zu):\n", r->not_carried.size());
    for (const std::string& n : r->not_carried) std::fprintf(stderr, "  - %s\n", n.c_str());
  }
  return 0;
}

}  // namespace slaf::cli
