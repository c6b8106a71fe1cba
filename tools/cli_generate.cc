// slaf generate: a synthetic dataset (slaf::WriteSyntheticDataset).
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "slaf/synthetic.h"
#include "tools/cli.h"

namespace slaf::cli {

namespace {

const char* kGenerateUsage =
    "usage: slaf generate OUT.slaf [--cells N] [--genes G] [--density D] [--seed S]\n"
    "                     [--chunk-bytes B] [--gene-order identity|frequency]\n"
    "                     [--gene-prefix P] [--quiet]\n"
    "Writes a deterministic synthetic dataset into the new directory OUT.slaf:\n"
    "UMI-like counts (log-normal gene means, varying library sizes, gamma-Poisson\n"
    "counts) with QC-style obs (cell_id, cell_type, batch, leiden, total_counts,\n"
    "n_genes_by_counts, pct_counts_mt) and var (gene_id, mt, n_cells_by_counts,\n"
    "total_counts, mean_counts, dispersion, highly_variable).\n"
    "Defaults: 1000 cells, 2000 genes, density 0.07, seed 42, 16384-byte chunks,\n"
    "identity gene order, genes named GENE00000... (--gene-prefix changes GENE; 13\n"
    "genes at fixed positions are named MT-CO1...). Fails if OUT.slaf already holds\n"
    "a dataset.\n";

}  // namespace

int Generate(const std::vector<std::string>& argv) {
  Args args;
  if (Status s = args.Parse(argv, {"--quiet"}, {"--cells", "--genes", "--density", "--seed", "--chunk-bytes", "--gene-order", "--gene-prefix"}); !s.ok()) {
    return UsageError(kGenerateUsage, "generate: " + s.message());
  }
  if (args.Has("--help")) return std::fputs(kGenerateUsage, stdout), 0;
  if (args.positional().size() != 1) return UsageError(kGenerateUsage, "generate: expected one OUT path");
  const std::string out = args.positional()[0];
  SyntheticSpec spec;
  SyntheticDatasetOptions options;
  uint64_t v = 0;
  if (const std::string* a = args.Get("--cells"); a && !ParseU64(*a, &spec.n_cells)) {
    return UsageError(kGenerateUsage, "--cells needs a whole number");
  }
  if (const std::string* a = args.Get("--genes")) {
    if (!ParseU64(*a, &v) || v == 0 || v > (1u << 31)) return UsageError(kGenerateUsage, "--genes needs a whole number in 1..2^31");
    spec.n_genes = static_cast<uint32_t>(v);
  }
  if (const std::string* a = args.Get("--density")) {
    if (!ParseDouble(*a, &spec.density) || !(spec.density > 0 && spec.density <= 0.6)) {
      return UsageError(kGenerateUsage, "--density must be a number in (0, 0.6]");
    }
  }
  if (const std::string* a = args.Get("--seed"); a && !ParseU64(*a, &spec.seed)) {
    return UsageError(kGenerateUsage, "--seed needs a whole number");
  }
  if (const std::string* a = args.Get("--chunk-bytes")) {
    if (!ParseU64(*a, &v) || v < 1024 || v > (64u << 20)) return UsageError(kGenerateUsage, "--chunk-bytes must be in 1024..67108864");
    options.write.segment.target_chunk_bytes = static_cast<uint32_t>(v);
  }
  std::string order = "identity";
  if (const std::string* a = args.Get("--gene-order")) {
    order = *a;
    if (order != "identity" && order != "frequency") return UsageError(kGenerateUsage, "--gene-order must be identity or frequency");
  }
  options.gene_order_frequency = order == "frequency";
  if (const std::string* a = args.Get("--gene-prefix")) options.gene_prefix = *a;
  options.write.message = "slaf generate";
  const bool quiet = args.Has("--quiet");

  // A directory this command creates is removed again if writing fails, so
  // no half-written dataset is left under the requested name.
  std::error_code ec;
  const bool existed = std::filesystem::exists(out, ec);
  Result<std::shared_ptr<io::ObjectStore>> store = OpenStore(out, /*create=*/true);
  if (!store.ok()) return Fail(store.status());
  Result<uint64_t> latest = LatestVersion(store->get());
  if (!latest.ok()) return Fail(latest.status());
  if (*latest != 0) {
    return Fail(out + " already holds a dataset (version " + std::to_string(*latest) +
                "); choose a new path, or append to it with 'slaf append'");
  }
  const auto t0 = std::chrono::steady_clock::now();
  Progress progress(quiet, spec.n_cells, "cells");
  options.progress = [&](uint64_t done, uint64_t) { progress.Update(done); };
  Result<uint64_t> version = WriteSyntheticDataset(*store, spec, options);
  progress.Done();
  if (!version.ok()) {
    if (!existed) std::filesystem::remove_all(out, ec);
    return Fail(version.status());
  }
  Result<std::unique_ptr<Dataset>> ds = Dataset::Open(*store, OpenOptions{*version, {}});
  if (!ds.ok()) return Fail(ds.status());
  const Manifest& m = (*ds)->manifest();
  uint64_t x_bytes = 0;
  for (const SegmentRef& s : m.x.segments) x_bytes += s.size;
  const uint64_t nnz = m.x.nnz(), bytes = (*ds)->bytes_on_disk();
  std::printf("wrote %s: %" PRIu64 " cells x %u genes, nnz %" PRIu64 ", %" PRIu64 " bytes on disk (%s; X %.3f B/nnz, all files %.3f B/nnz), gene order %s, version %" PRIu64 ", %.2fs\n",
              out.c_str(), m.n_cells, m.n_genes, nnz, bytes, HumanBytes(bytes).c_str(), nnz ? double(x_bytes) / nnz : 0.0,
              nnz ? double(bytes) / nnz : 0.0, order.c_str(), m.version, SecondsSince(t0));
  return 0;
}

}  // namespace slaf::cli
