// SQL over a dataset (sql-lite/, docs/sql.md): tables `cells`, `genes`,
// `expression(cell_integer_id, gene_integer_id, value)` and one
// `layer_<name>` per layer, all at the version the Dataset was opened at.
//
// Execute() runs one statement: tokenizer -> parser -> binder -> logical
// plan -> optimizer (pushdown into engine scans, lookup joins, one-pass
// aggregate kernels) -> vectorized executor. Errors are InvalidArgument with
// the message "SQL error at LINE:COLUMN: ..." naming what was expected or
// unknown, with a suggestion for misspelled names.
//
// Thread safety: Execute may run concurrently on one Dataset.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "slaf/dataset.h"
#include "slaf/status.h"
#include "slaf/table.h"

namespace slaf::sql {

struct QueryOptions {
  // Worker threads for scans and aggregate kernels (1 = run inline).
  int threads = 2;
  // Also fill QueryResult::plan, as an EXPLAIN prefix does.
  bool explain = false;
};

// What a query read, for EXPLAIN and benchmarks.
struct QueryStats {
  uint64_t chunks_total = 0;    // chunks of the expression segments the scans could have read
  uint64_t chunks_read = 0;
  uint64_t chunks_skipped = 0;  // ruled out by zone maps or by the cell/gene selection
  uint64_t entries_scanned = 0; // nonzeros decoded
  uint64_t rows_out = 0;
};

struct QueryResult {
  // Result columns in SELECT order. Column types are kInt64, kFloat64, kBool
  // or kString (never kCategorical); a column whose SQL type is NULL is
  // kInt64 with every row null. Names may repeat (SELECT a, a).
  Table table;
  // For `EXPLAIN SELECT ...`: the executed plan, one operator per line with
  // what was pushed down and the chunks each scan read and skipped. The
  // query runs (like EXPLAIN ANALYZE elsewhere); `table` then holds its rows.
  std::string plan;
  bool explained = false;
  QueryStats stats;
};

// Runs `sql` (one statement, optionally prefixed with EXPLAIN; a trailing
// ';' is allowed) against `dataset`.
Result<QueryResult> Execute(const Dataset& dataset, std::string_view sql, const QueryOptions& options = {});

// Output formats of `slaf query`. Doubles print in their shortest
// round-trip form; NULL prints as "NULL" (table), empty (CSV), null (JSON).
// FormatTable aligns columns and prints at most `max_rows` rows (0 = all),
// then "(N rows)".
std::string FormatTable(const Table& t, uint64_t max_rows = 0);
std::string FormatCsv(const Table& t);
// {"columns":[{"name":"n","type":"int64"},...],"rows":[[1,"a",null,true,2.5],...]}
// NaN and infinities print as null.
std::string FormatJson(const Table& t);

}  // namespace slaf::sql
