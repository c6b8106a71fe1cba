// Execute(): parse, bind, run, and turn the result batches into a Table;
// EXPLAIN text and the output formats of `slaf query`.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "slaf/json_writer.h"
#include "slaf/sql.h"
#include "sql-lite/ast.h"
#include "sql-lite/plan.h"

namespace slaf::sql {

namespace {

std::string Indent(int depth) { return std::string(static_cast<size_t>(depth) * 2, ' '); }

std::string Describe(const PlanNode& n) {
  using K = PlanNode::Kind;
  auto ids = [](const ExprScanSpec& s) {
    std::string out;
    if (s.has_cells) out += ", cells: " + std::to_string(s.cells.size());
    if (s.cell_begin > 0 || s.cell_end != UINT64_MAX) {
      out += ", cell range [" + std::to_string(s.cell_begin) + ", " + (s.cell_end == UINT64_MAX ? std::string("end") : std::to_string(s.cell_end)) + ")";
    }
    if (s.has_genes) out += ", genes: " + std::to_string(s.genes.size());
    if (s.value_min > -INFINITY || s.value_max < INFINITY) {
      out += ", value in [" + DoubleToText(s.value_min) + ", " + DoubleToText(s.value_max) + "]";
    }
    for (const std::string& p : s.pushed) out += "; pushed: " + p;
    return out;
  };
  switch (n.kind) {
    case K::kValues: return "Values (one row)";
    case K::kTableScan: {
      std::string cols;
      for (const std::string& c : n.columns) cols += (cols.empty() ? "" : ", ") + (c.empty() ? std::string(n.genes_table ? "gene_integer_id" : "cell_integer_id") : c);
      return "TableScan " + n.label + " [" + cols + "]";
    }
    case K::kExprScan: {
      static const char* names[] = {"cell_integer_id", "gene_integer_id", "value"};
      std::string cols;
      for (int c : n.scan_cols) cols += (cols.empty() ? "" : ", ") + std::string(names[c]);
      return "ExpressionScan " + n.label + " [" + cols + "]" + ids(n.scan);
    }
    case K::kExprAgg: {
      const char* axis = n.agg_spec.axis == ExprAggSpec::Axis::kGene ? "per gene"
                         : n.agg_spec.axis == ExprAggSpec::Axis::kCell ? "per cell"
                                                                       : "overall";
      std::string what = "count";
      if (n.agg_spec.want_sum) what += ", sum";
      if (n.agg_spec.want_minmax) what += ", min, max";
      if (n.agg_spec.want_sumsq) what += ", sum of squares";
      return std::string("ExpressionAggregate ") + n.label + " " + axis + " (" + what + ", one pass)" + ids(n.scan);
    }
    case K::kFilter: return "Filter";
    case K::kProject: return "Project " + std::to_string(n.exprs.size()) + " columns";
    case K::kHashJoin: return "HashJoin on " + std::to_string(n.probe_keys.size()) + " key(s) (probe: first input, lookup into: second)";
    case K::kCrossJoin: return "CrossJoin";
    case K::kAggregate:
      return "HashAggregate " + std::to_string(n.group_by.size()) + " key(s), " + std::to_string(n.aggs.size()) + " aggregate(s)" +
             (n.label.empty() ? "" : " " + n.label);
    case K::kWindow: return "Window";
    case K::kSort:
      return n.limit >= 0 ? "TopN " + std::to_string(n.limit) + (n.offset ? " offset " + std::to_string(n.offset) : "")
                          : "Sort" + (n.offset ? " offset " + std::to_string(n.offset) : std::string());
    case K::kLimit: return "Limit " + std::to_string(n.limit) + (n.offset ? " offset " + std::to_string(n.offset) : "");
    case K::kDistinct: return "Distinct";
    case K::kUnionAll: return "UnionAll";
  }
  return "?";
}

void Explain(const PlanPtr& n, const ExecContext& ctx, int depth, std::string* out) {
  *out += Indent(depth) + Describe(*n);
  *out += "  -> " + std::to_string(n->rows_out) + " rows";
  if (!n->exec_note.empty()) *out += " via " + n->exec_note;
  if (n->scan_log >= 0 && static_cast<size_t>(n->scan_log) < ctx.scans.size()) {
    const ExecContext::ScanLog& l = ctx.scans[static_cast<size_t>(n->scan_log)];
    if (l.chunks_read || l.chunks_skipped || l.chunks_total) {
      *out += "; chunks read " + std::to_string(l.chunks_read);
      if (l.chunks_total) *out += " of " + std::to_string(l.chunks_total);
      *out += ", skipped " + std::to_string(l.chunks_skipped);
    }
    *out += "; " + std::to_string(l.entries) + " nonzeros decoded";
  }
  *out += "\n";
  for (const PlanNode::Restriction& r : n->restrictions) {
    *out += Indent(depth + 1) + "restricted by (" + std::string(r.cells ? "cell" : "gene") + " ids):\n";
    Explain(r.plan, ctx, depth + 2, out);
  }
  for (const PlanPtr& c : n->children) Explain(c, ctx, depth + 1, out);
}

std::string CellText(const Column& c, uint64_t r) {
  if (c.is_null(r)) return "NULL";
  switch (c.type) {
    case ColumnType::kInt64: return std::to_string(c.ints[r]);
    case ColumnType::kFloat64: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", c.doubles[r]);
      // Shortest form that reads back exactly.
      for (int p = 1; p <= 17; ++p) {
        std::snprintf(buf, sizeof buf, "%.*g", p, c.doubles[r]);
        if (std::strtod(buf, nullptr) == c.doubles[r]) break;
      }
      return buf;
    }
    case ColumnType::kBool: return c.bools[r] ? "true" : "false";
    case ColumnType::kString:
    case ColumnType::kCategorical: return std::string(c.str(r));
  }
  return "";
}

}  // namespace

Result<QueryResult> Execute(const Dataset& dataset, std::string_view sql, const QueryOptions& options) {
  SLAF_ASSIGN_OR_RETURN(Statement stmt, Parse(sql));
  std::vector<std::string> names;
  SLAF_ASSIGN_OR_RETURN(PlanPtr plan, BindStatement(stmt, dataset, &names));
  Optimize(plan);
  ExecContext ctx;
  ctx.ds = &dataset;
  ctx.threads = std::max(1, options.threads);
  SLAF_ASSIGN_OR_RETURN(std::unique_ptr<Operator> op, BuildOperator(plan, &ctx));
  SLAF_RETURN_IF_ERROR(op->Open());
  const size_t n_cols = plan->types.size();
  Batch b;
  uint64_t rows = 0;
  QueryResult res;
  res.table.columns.resize(n_cols);
  for (size_t c = 0; c < n_cols; ++c) {
    Column& col = res.table.columns[c];
    col.name = names[c];
    col.type = plan->types[c] == Type::kDouble ? ColumnType::kFloat64
               : plan->types[c] == Type::kBool ? ColumnType::kBool
               : plan->types[c] == Type::kString ? ColumnType::kString
                                                 : ColumnType::kInt64;
    if (col.type == ColumnType::kString) col.offsets.push_back(0);
  }
  std::vector<std::vector<uint8_t>> valid(n_cols);
  while (true) {
    SLAF_ASSIGN_OR_RETURN(bool more, op->Next(&b));
    if (!more) break;
    for (size_t c = 0; c < n_cols; ++c) {
      Column& col = res.table.columns[c];
      const Vector& v = b.cols[c];
      for (size_t r = 0; r < b.n; ++r) {
        const bool null = v.null(r);
        valid[c].push_back(null ? 0 : 1);
        switch (col.type) {
          case ColumnType::kInt64: col.ints.push_back(null ? 0 : (v.type == Type::kDouble ? static_cast<int64_t>(v.d[r]) : v.i[r])); break;
          case ColumnType::kFloat64: col.doubles.push_back(null ? 0 : (v.type == Type::kDouble ? v.d[r] : static_cast<double>(v.i[r]))); break;
          case ColumnType::kBool: col.bools.push_back(null ? 0 : static_cast<uint8_t>(v.i[r] != 0)); break;
          case ColumnType::kString:
            if (!null) col.chars.append(v.s[r]);
            col.offsets.push_back(col.chars.size());
            break;
          case ColumnType::kCategorical: break;
        }
      }
    }
    rows += b.n;
  }
  for (size_t c = 0; c < n_cols; ++c) {
    Column& col = res.table.columns[c];
    col.n_rows = rows;
    bool has_null = false;
    for (uint8_t x : valid[c]) has_null = has_null || !x;
    if (has_null) col.valid = std::move(valid[c]);
  }
  res.table.n_rows = rows;
  for (const ExecContext::ScanLog& l : ctx.scans) {
    res.stats.chunks_total += l.chunks_total;
    res.stats.chunks_read += l.chunks_read;
    res.stats.chunks_skipped += l.chunks_skipped;
    res.stats.entries_scanned += l.entries;
  }
  res.stats.rows_out = rows;
  if (stmt.explain || options.explain) {
    res.explained = true;
    Explain(plan, ctx, 0, &res.plan);
  }
  return res;
}

std::string FormatTable(const Table& t, uint64_t max_rows) {
  const uint64_t shown = max_rows ? std::min(max_rows, t.n_rows) : t.n_rows;
  std::vector<size_t> width(t.columns.size());
  std::vector<std::vector<std::string>> cells(t.columns.size());
  for (size_t c = 0; c < t.columns.size(); ++c) {
    width[c] = t.columns[c].name.size();
    for (uint64_t r = 0; r < shown; ++r) {
      cells[c].push_back(CellText(t.columns[c], r));
      width[c] = std::max(width[c], cells[c].back().size());
    }
  }
  auto right = [&](size_t c) { return t.columns[c].type == ColumnType::kInt64 || t.columns[c].type == ColumnType::kFloat64; };
  std::string out;
  auto row = [&](auto get) {
    for (size_t c = 0; c < t.columns.size(); ++c) {
      const std::string s = get(c);
      const std::string pad(width[c] - s.size(), ' ');
      out += (c ? "  " : "") + (right(c) ? pad + s : s + (c + 1 < t.columns.size() ? pad : ""));
    }
    out += "\n";
  };
  row([&](size_t c) { return t.columns[c].name; });
  row([&](size_t c) { return std::string(width[c], '-'); });
  for (uint64_t r = 0; r < shown; ++r) row([&](size_t c) { return cells[c][r]; });
  if (shown < t.n_rows) out += "... (" + std::to_string(t.n_rows - shown) + " more rows)\n";
  out += "(" + std::to_string(t.n_rows) + (t.n_rows == 1 ? " row)\n" : " rows)\n");
  return out;
}

std::string FormatCsv(const Table& t) {
  auto quote = [](const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string q = "\"";
    for (char ch : s) {
      if (ch == '"') q += '"';
      q += ch;
    }
    return q + "\"";
  };
  std::string out;
  for (size_t c = 0; c < t.columns.size(); ++c) out += (c ? "," : "") + quote(t.columns[c].name);
  out += "\n";
  for (uint64_t r = 0; r < t.n_rows; ++r) {
    for (size_t c = 0; c < t.columns.size(); ++c) {
      if (c) out += ",";
      if (!t.columns[c].is_null(r)) out += quote(CellText(t.columns[c], r));
    }
    out += "\n";
  }
  return out;
}

std::string FormatJson(const Table& t) {
  JsonWriter w(/*pretty=*/false);
  w.BeginObject().Key("columns").BeginArray();
  for (const Column& c : t.columns) {
    const char* type = c.type == ColumnType::kInt64 ? "int64" : c.type == ColumnType::kFloat64 ? "float64" : c.type == ColumnType::kBool ? "bool" : "string";
    w.BeginObject().Key("name").String(c.name).Key("type").String(type).EndObject();
  }
  w.EndArray().Key("rows").BeginArray();
  for (uint64_t r = 0; r < t.n_rows; ++r) {
    w.BeginArray();
    for (const Column& c : t.columns) {
      if (c.is_null(r)) {
        w.Null();
        continue;
      }
      switch (c.type) {
        case ColumnType::kInt64: w.Int(c.ints[r]); break;
        case ColumnType::kFloat64: w.Double(c.doubles[r]); break;
        case ColumnType::kBool: w.Bool(c.bools[r] != 0); break;
        default: w.String(c.str(r)); break;
      }
    }
    w.EndArray();
  }
  w.EndArray().EndObject();
  return w.str() + "\n";
}

}  // namespace slaf::sql
