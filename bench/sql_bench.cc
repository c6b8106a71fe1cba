// slaf-sql-bench: warm in-process timings of SQL queries on one dataset,
// median of R runs after one warm-up, for 1 and 2 threads; the issue 5
// targets by default. Used next to the peers harness (which runs the same
// queries through the worker) to see the engine's own share of the time.
//
//   slaf-sql-bench DATASET [--repeats R] [--query SQL ...]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "slaf/dataset.h"
#include "slaf/sql.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: slaf-sql-bench DATASET [--repeats R] [--query SQL ...]\n");
    return 2;
  }
  int repeats = 7;
  std::vector<std::string> queries;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--repeats" && i + 1 < argc) repeats = std::max(1, std::atoi(argv[++i]));
    else if (a == "--query" && i + 1 < argc) queries.push_back(argv[++i]);
    else return std::fprintf(stderr, "slaf-sql-bench: unknown argument %s\n", a.c_str()), 2;
  }
  auto ds = slaf::Dataset::Open(argv[1]);
  if (!ds.ok()) return std::fprintf(stderr, "slaf-sql-bench: %s\n", ds.status().ToString().c_str()), 1;
  if (queries.empty()) {
    const uint64_t cell = (*ds)->n_cells() / 2;
    queries = {
        "SELECT gene_integer_id, SUM(value) AS total FROM expression GROUP BY gene_integer_id ORDER BY total DESC LIMIT 10",
        "SELECT e.gene_integer_id, SUM(e.value), AVG(e.value) FROM expression e JOIN cells c ON e.cell_integer_id = "
        "c.cell_integer_id WHERE c.cell_type = 'B_cell' GROUP BY e.gene_integer_id",
        "SELECT gene_integer_id, value FROM expression WHERE cell_integer_id = " + std::to_string(cell),
        "SELECT cell_integer_id, value FROM expression WHERE gene_integer_id = 77",
        "SELECT SUM(value), COUNT(*) FROM expression",
        "SELECT SUM(value), COUNT(*), VARIANCE(value) FROM expression",
    };
  }
  std::printf("| query | rows | 1 thread ms | 2 threads ms |\n|---|---|---|---|\n");
  for (const std::string& q : queries) {
    double med[2] = {0, 0};
    uint64_t rows = 0;
    for (int threads = 1; threads <= 2; ++threads) {
      slaf::sql::QueryOptions o;
      o.threads = threads;
      std::vector<double> t;
      for (int r = 0; r <= repeats; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        auto res = slaf::sql::Execute(**ds, q, o);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (!res.ok()) return std::fprintf(stderr, "slaf-sql-bench: %s\n", res.status().ToString().c_str()), 1;
        rows = res->table.n_rows;
        if (r > 0) t.push_back(ms);  // run 0 warms the page cache and readers
      }
      std::sort(t.begin(), t.end());
      med[threads - 1] = t[t.size() / 2];
    }
    std::printf("| `%s` | %llu | %.3f | %.3f |\n", q.c_str(), static_cast<unsigned long long>(rows), med[0], med[1]);
  }
  return 0;
}
