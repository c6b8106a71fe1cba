// slaf verify, slaf vacuum and slaf index: integrity, space and the gene index of a dataset.
#include <cinttypes>
#include <cstdio>

#include "slaf/dataset_writer.h"
#include "tools/cli.h"

namespace slaf::cli {

namespace {

const char* kVerifyUsage =
    "usage: slaf verify DATASET [--version N] [--quiet]\n"
    "Reads every file of the version (the newest by default) whole: size and XXH3\n"
    "against the manifest, then every chunk's checksum, decoding and zone map.\n"
    "Exit status 0 if all is well, 1 if a file is damaged or missing (each one\n"
    "is listed).\n";

const char* kVacuumUsage =
    "usage: slaf vacuum DATASET [--keep-from N | --keep-last K] [--min-age SECONDS]\n"
    "                   [--dry-run]\n"
    "Removes files no kept version references. By default every version is kept\n"
    "and only unreferenced files (left by failed or abandoned writes) go;\n"
    "--keep-from N drops versions before N, --keep-last K keeps the newest K.\n"
    "Files younger than --min-age (default 3600 s) are kept: they may belong to a\n"
    "write in progress. --dry-run lists what would be removed.\n";

}  // namespace

int Verify(const std::vector<std::string>& argv) {
  Args args;
  if (Status s = args.Parse(argv, {"--quiet"}, {"--version"}); !s.ok()) return UsageError(kVerifyUsage, "verify: " + s.message());
  if (args.Has("--help")) return std::fputs(kVerifyUsage, stdout), 0;
  if (args.positional().size() != 1) return UsageError(kVerifyUsage, "verify: expected one DATASET");
  const std::string& path = args.positional()[0];
  bool usage = false;
  Result<std::unique_ptr<Dataset>> ds = OpenDataset(path, args, &usage);
  if (!ds.ok()) return usage ? UsageError(kVerifyUsage, ds.status().message()) : Fail(ds.status());
  const auto t0 = std::chrono::steady_clock::now();
  Progress progress(args.Has("--quiet"), (*ds)->bytes_on_disk(), "MB", 1e6);
  const VerifyReport report = (*ds)->Verify([&](uint64_t done, uint64_t) { progress.Update(done); });
  progress.Done();
  std::printf("checked %" PRIu64 " files, %" PRIu64 " bytes (%s) of version %" PRIu64 " in %.2fs\n", report.files_checked,
              report.bytes_checked, HumanBytes(report.bytes_checked).c_str(), (*ds)->version(), SecondsSince(t0));
  if (report.ok()) {
    std::printf("ok: every file matches the manifest\n");
    return 0;
  }
  for (const std::string& p : report.problems) std::printf("DAMAGED %s\n", p.c_str());
  return Fail(path + ": version " + std::to_string((*ds)->version()) + " has " + std::to_string(report.problems.size()) +
              (report.problems.size() == 1 ? " damaged or missing file" : " damaged or missing files"));
}

int Vacuum(const std::vector<std::string>& argv) {
  Args args;
  if (Status s = args.Parse(argv, {"--dry-run"}, {"--keep-from", "--keep-last", "--min-age"}); !s.ok()) {
    return UsageError(kVacuumUsage, "vacuum: " + s.message());
  }
  if (args.Has("--help")) return std::fputs(kVacuumUsage, stdout), 0;
  if (args.positional().size() != 1) return UsageError(kVacuumUsage, "vacuum: expected one DATASET");
  const std::string& path = args.positional()[0];
  uint64_t keep_from = 1, keep_last = 0, min_age = 3600;
  if (args.Has("--keep-from") && args.Has("--keep-last")) return UsageError(kVacuumUsage, "vacuum: give --keep-from or --keep-last, not both");
  if (const std::string* v = args.Get("--keep-from"); v && (!ParseU64(*v, &keep_from) || keep_from == 0)) {
    return UsageError(kVacuumUsage, "--keep-from needs a version number (1, 2, ...)");
  }
  if (const std::string* v = args.Get("--keep-last"); v && (!ParseU64(*v, &keep_last) || keep_last == 0)) {
    return UsageError(kVacuumUsage, "--keep-last needs a positive number of versions");
  }
  if (const std::string* v = args.Get("--min-age"); v && (!ParseU64(*v, &min_age) || min_age > (1ull << 40))) {
    return UsageError(kVacuumUsage, "--min-age needs a number of seconds");
  }
  const bool dry_run = args.Has("--dry-run");
  Result<std::shared_ptr<io::ObjectStore>> store = OpenStore(path, /*create=*/false);
  if (!store.ok()) return Fail(store.status());
  Result<uint64_t> latest = LatestVersion(store->get());
  if (!latest.ok()) return Fail(latest.status());
  if (*latest == 0) return Fail(path + ": not a slaf dataset (no _versions/ manifests)");
  if (keep_last) keep_from = keep_last >= *latest ? 1 : *latest - keep_last + 1;
  if (keep_from > *latest) {
    return Fail("--keep-from " + std::to_string(keep_from) + " is past the newest version, " + std::to_string(*latest));
  }
  Result<VacuumResult> r = slaf::Vacuum(store->get(), keep_from, static_cast<int64_t>(min_age) * 1000, dry_run);
  if (!r.ok()) return Fail(r.status());
  const char* verb = dry_run ? "would remove" : "removed";
  size_t manifests = 0;
  for (const std::string& key : r->removed) {
    manifests += key.rfind("_versions/", 0) == 0;
    std::printf("%s %s\n", verb, key.c_str());
  }
  std::printf("%s %zu data files (%" PRIu64 " bytes, %s) and %zu manifests of older versions; keeping versions %" PRIu64
              "..%" PRIu64 "%s\n",
              verb, r->removed.size() - manifests, r->bytes, HumanBytes(r->bytes).c_str(), manifests, keep_from, *latest,
              dry_run ? " (dry run: nothing was changed)" : "");
  return 0;
}

}  // namespace slaf::cli

namespace slaf::cli {
namespace {

const char* kIndexUsage =
    "usage: slaf index DATASET [--layer L] [--memory MiB] [--tmp DIR] [--quiet]\n"
    "Builds the gene-major copy of X (or of layer L) over every cell of the newest\n"
    "version and commits it as a new version (operation gene_index): reading one\n"
    "gene over all cells then touches only that gene's chunks. Cells appended later\n"
    "are read from the cell-major segments until the index is built again.\n"
    "  --memory MiB  memory for the external sort (default 256)\n"
    "  --tmp DIR     where the sort spills (default $TMPDIR or /tmp)\n";

}  // namespace

int Index(const std::vector<std::string>& argv) {
  Args args;
  if (Status s = args.Parse(argv, {"--quiet"}, {"--layer", "--memory", "--tmp"}); !s.ok()) {
    return UsageError(kIndexUsage, "index: " + s.message());
  }
  if (args.Has("--help")) return std::fputs(kIndexUsage, stdout), 0;
  if (args.positional().size() != 1) return UsageError(kIndexUsage, "index: expected DATASET");
  WriteOptions wo;
  if (const std::string* m = args.Get("--memory")) {
    uint64_t v = 0;
    if (!ParseU64(*m, &v) || v < 16 || v > (1u << 20)) return UsageError(kIndexUsage, "index: --memory must be MiB from 16 on");
    wo.sort_memory_bytes = v << 20;
  }
  if (const std::string* t = args.Get("--tmp")) wo.spill_dir = *t;
  const std::string layer = args.Get("--layer") ? *args.Get("--layer") : "";
  Result<std::shared_ptr<io::ObjectStore>> store = OpenStore(args.positional()[0], /*create=*/false);
  if (!store.ok()) return Fail(store.status());
  Result<std::unique_ptr<Dataset>> ds = Dataset::Open(*store);
  if (!ds.ok()) return Fail(ds.status());
  const uint64_t before = (*ds)->version();
  Progress progress(args.Has("--quiet"), (*ds)->n_cells(), "cells");
  const auto t0 = std::chrono::steady_clock::now();
  Result<uint64_t> v = BuildGeneIndex(*store, layer, wo, [&](uint64_t done) { progress.Update(done); });
  progress.Done();
  if (!v.ok()) return Fail(v.status());
  if (!args.Has("--quiet")) {
    if (*v == before) std::printf("version %" PRIu64 " already has a gene index over every cell\n", *v);
    else std::printf("gene index of %s committed as version %" PRIu64 " in %.2f s\n", layer.empty() ? "X" : layer.c_str(), *v, SecondsSince(t0));
  }
  return 0;
}

}  // namespace slaf::cli
