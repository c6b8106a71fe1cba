// slaf query: one SQL statement over a dataset's cells, genes, expression
// and layer tables (slaf::sql::Execute, docs/sql.md).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "slaf/sql.h"
#include "tools/cli.h"

namespace slaf::cli {
namespace {

const char* kQueryUsage =
    "usage: slaf query DATASET \"SQL\" [--format table|csv|json] [--version N] [--explain]\n"
    "       slaf query DATASET --file F.sql | -     (SQL from a file or stdin)\n"
    "Runs one SQL statement. Tables:\n"
    "  cells       cell_integer_id, then the obs columns (cell_id, ...)\n"
    "  genes       gene_integer_id, then the var columns (gene_id, ...)\n"
    "  expression  cell_integer_id, gene_integer_id, value: the nonzeros of X\n"
    "  layer_NAME  the same for each layer\n"
    "  --format F     table (default; at most --max-rows rows), csv or json\n"
    "  --max-rows N   rows shown by the table format (default 100; 0 = all)\n"
    "  --explain      print the executed plan: pushdown, read paths, chunks skipped\n"
    "  --threads N    threads for scans and aggregates (default 2)\n"
    "Example:\n"
    "  slaf query pbmc3k.slaf \"SELECT g.gene_ids, SUM(e.value) AS total FROM expression e\n"
    "    JOIN genes g ON e.gene_integer_id = g.gene_integer_id GROUP BY 1 ORDER BY total DESC LIMIT 10\"\n";

// The SQL line holding the error position, with a caret under the column.
std::string PointAt(const std::string& sql, const std::string& message) {
  const size_t at = message.find("SQL error at ");
  if (at == std::string::npos) return "";
  unsigned line = 0, col = 0;
  if (std::sscanf(message.c_str() + at, "SQL error at %u:%u", &line, &col) != 2 || line == 0 || col == 0) return "";
  std::istringstream in(sql);
  std::string text;
  for (unsigned l = 0; l < line && std::getline(in, text); ++l) {
  }
  if (text.size() > 200) return "";
  for (char& c : text) if (c == '\t') c = ' ';
  return "  " + text + "\n  " + std::string(col - 1 < text.size() + 1 ? col - 1 : text.size(), ' ') + "^\n";
}

}  // namespace

int Query(const std::vector<std::string>& argv) {
  Args args;
  if (Status s = args.Parse(argv, {"--explain"}, {"--format", "--version", "--file", "--max-rows", "--threads"}); !s.ok()) {
    return UsageError(kQueryUsage, "query: " + s.message());
  }
  if (args.Has("--help")) return std::fputs(kQueryUsage, stdout), 0;
  const auto& pos = args.positional();
  std::string sql;
  if (const std::string* f = args.Get("--file")) {
    if (pos.size() != 1) return UsageError(kQueryUsage, "query: with --file, give only DATASET");
    if (*f == "-") {
      sql.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
      std::ifstream in(*f, std::ios::binary);
      if (!in) return Fail("cannot read SQL file " + *f);
      sql.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  } else if (pos.size() == 2) {
    sql = pos[1];
    if (sql == "-") sql.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    return UsageError(kQueryUsage, "query: expected DATASET and SQL (or --file)");
  }
  const std::string format = args.Get("--format") ? *args.Get("--format") : "table";
  if (format != "table" && format != "csv" && format != "json") return UsageError(kQueryUsage, "query: --format must be table, csv or json");
  uint64_t max_rows = 100, threads = 2;
  if (const std::string* v = args.Get("--max-rows"); v && !ParseU64(*v, &max_rows)) return UsageError(kQueryUsage, "query: --max-rows needs a whole number");
  if (const std::string* v = args.Get("--threads"); v && (!ParseU64(*v, &threads) || threads == 0 || threads > 64)) {
    return UsageError(kQueryUsage, "query: --threads needs a number from 1 to 64");
  }
  bool usage_error = false;
  Result<std::unique_ptr<Dataset>> ds = OpenDataset(pos[0], args, &usage_error);
  if (!ds.ok()) return usage_error ? UsageError(kQueryUsage, "query: " + ds.status().message()) : Fail(ds.status());
  sql::QueryOptions opts;
  opts.threads = static_cast<int>(threads);
  opts.explain = args.Has("--explain");
  Result<sql::QueryResult> r = sql::Execute(**ds, sql, opts);
  if (!r.ok()) {
    std::fprintf(stderr, "slaf: %s\n%s", r.status().message().c_str(), PointAt(sql, r.status().message()).c_str());
    return kExitFailure;
  }
  if (r->explained) std::fputs(r->plan.c_str(), format == "table" ? stdout : stderr);
  if (format == "table") {
    if (r->explained) std::fputs("\n", stdout);
    std::fputs(sql::FormatTable(r->table, max_rows).c_str(), stdout);
  } else if (format == "csv") {
    std::fputs(sql::FormatCsv(r->table).c_str(), stdout);
  } else {
    std::fputs(sql::FormatJson(r->table).c_str(), stdout);
  }
  return 0;
}

}  // namespace slaf::cli
