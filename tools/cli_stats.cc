// slaf stats: per-gene or per-cell summaries of the expression in one pass
// (Dataset::GeneStats / CellStats): top genes, marker genes picked by a
// filter, cells per total-count band.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <numeric>

#include "tools/cli.h"

namespace slaf::cli {
namespace {

const char* kStatsUsage =
    "usage: slaf stats DATASET (--genes | --cells) [--where EXPR] [--top N] [--by sum|cells|mean]\n"
    "                  [--bands B1,B2,...] [--layer L] [--version N]\n"
    "Summaries of the expression in one pass over the data.\n"
    "  --genes         one row per gene: cells expressing it, total, mean and\n"
    "                  variance over all cells\n"
    "  --cells         one row per cell: genes detected, total, mean, variance\n"
    "  --where EXPR    only rows whose obs/var metadata match (slaf filter syntax),\n"
    "                  e.g. \"gene_symbol in ('MS4A1', 'CD79A')\"\n"
    "  --top N         the N rows with the largest --by (default 10; 0 = all)\n"
    "  --by KEY        sum (default), cells (genes: cells expressing; cells: genes\n"
    "                  detected) or mean\n"
    "  --bands B,...   with --cells: count cells per band of total counts instead,\n"
    "                  e.g. 500,1000,2000,5000 -> [0,500) [500,1000) ... [5000,inf)\n";

}  // namespace

int Stats(const std::vector<std::string>& argv) {
  Args args;
  if (Status s = args.Parse(argv, {"--genes", "--cells"}, {"--where", "--top", "--by", "--bands", "--layer", "--version"}); !s.ok()) {
    return UsageError(kStatsUsage, "stats: " + s.message());
  }
  if (args.Has("--help")) return std::fputs(kStatsUsage, stdout), 0;
  if (args.positional().size() != 1) return UsageError(kStatsUsage, "stats: expected DATASET");
  const bool genes = args.Has("--genes");
  if (genes == args.Has("--cells")) return UsageError(kStatsUsage, "stats: give one of --genes or --cells");
  uint64_t top = 10;
  if (const std::string* v = args.Get("--top"); v && !ParseU64(*v, &top)) return UsageError(kStatsUsage, "stats: --top needs a whole number");
  std::string by = "sum";
  if (const std::string* v = args.Get("--by")) by = *v;
  if (by != "sum" && by != "cells" && by != "mean") return UsageError(kStatsUsage, "stats: --by must be sum, cells or mean");
  std::vector<double> bands;
  if (const std::string* v = args.Get("--bands")) {
    if (genes) return UsageError(kStatsUsage, "stats: --bands goes with --cells");
    for (const std::string& b : SplitList(*v)) {
      double x;
      if (!ParseDouble(b, &x) || (!bands.empty() && x <= bands.back())) {
        return UsageError(kStatsUsage, "stats: --bands must be increasing numbers");
      }
      bands.push_back(x);
    }
  }
  std::optional<Predicate> where;
  if (const std::string* w = args.Get("--where")) {
    Result<Predicate> p = Predicate::Parse(*w);
    if (!p.ok()) return UsageError(kStatsUsage, "stats: " + p.status().message());
    where = std::move(*p);
  }
  const std::string layer = args.Get("--layer") ? *args.Get("--layer") : "";
  bool usage = false;
  Result<std::unique_ptr<Dataset>> ds = OpenDataset(args.positional()[0], args, &usage);
  if (!ds.ok()) return usage ? UsageError(kStatsUsage, ds.status().message()) : Fail(ds.status());
  const Dataset& d = **ds;

  Result<AxisStats> st = genes ? d.GeneStats({}, layer) : d.CellStats({}, layer);
  if (!st.ok()) return Fail(st.status());
  const uint64_t n = genes ? d.n_genes() : d.n_cells();

  if (!bands.empty()) {
    std::vector<uint64_t> count(bands.size() + 1, 0);
    for (uint64_t i = 0; i < n; ++i) {
      count[std::upper_bound(bands.begin(), bands.end(), st->sum[i]) - bands.begin()]++;
    }
    std::printf("%-22s %10s %8s\n", "total counts", "cells", "share");
    for (size_t b = 0; b < count.size(); ++b) {
      std::string lo = b == 0 ? "0" : FormatDouble(bands[b - 1]);
      std::string hi = b == bands.size() ? "inf" : FormatDouble(bands[b]);
      std::printf("%-22s %10" PRIu64 " %7.1f%%\n", ("[" + lo + ", " + hi + ")").c_str(), count[b],
                  n ? 100.0 * count[b] / n : 0.0);
    }
    return 0;
  }

  std::vector<uint64_t> rows;
  if (where) {
    Result<std::vector<uint64_t>> r = MatchingRows(d, *where, genes);
    if (!r.ok()) return Fail(r.status());
    rows = std::move(*r);
  } else {
    rows.resize(n);
    std::iota(rows.begin(), rows.end(), 0);
  }
  auto key = [&](uint64_t i) {
    return by == "sum" ? st->sum[i] : by == "cells" ? static_cast<double>(st->nnz[i]) : st->mean(i);
  };
  std::stable_sort(rows.begin(), rows.end(), [&](uint64_t a, uint64_t b) { return key(a) > key(b); });
  if (top > 0 && rows.size() > top) rows.resize(top);

  // Names: the index column, plus gene_symbol when var has one.
  const TableEntry& t = genes ? d.manifest().var : d.manifest().obs;
  std::vector<std::string> cols;
  if (!t.index_column.empty()) cols.push_back(t.index_column);
  if (genes && t.Find("gene_symbol") && t.index_column != "gene_symbol") cols.push_back("gene_symbol");
  Result<Table> names = genes ? d.var(cols) : d.obs(cols);
  if (!names.ok()) return Fail(names.status());
  for (const Column& c : names->columns) std::printf("%-18s ", c.name.c_str());
  std::printf("%10s %14s %12s %12s\n", genes ? "cells" : "genes", "sum", "mean", "variance");
  for (uint64_t i : rows) {
    for (const Column& c : names->columns) std::printf("%-18s ", std::string(c.str(i)).c_str());
    std::printf("%10" PRIu64 " %14s %12.4g %12.4g\n", st->nnz[i], FormatDouble(st->sum[i]).c_str(), st->mean(i),
                st->variance(i));
  }
  return 0;
}

}  // namespace slaf::cli
