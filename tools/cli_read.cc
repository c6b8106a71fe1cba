// slaf cells, slaf filter and slaf scan: reading expression and metadata.
#include <charconv>
#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "tools/cli.h"

namespace slaf::cli {

namespace {

const char* kCellsUsage =
    "usage: slaf cells DATASET CELL [CELL...] [--rows] [--version N] [--genes G1,G2,...]\n"
    "Prints each cell's nonzeros as gene:value pairs, one line per cell:\n"
    "  CELL_ID (row R, K nonzeros): GENE:VALUE GENE:VALUE ...\n"
    "Cells are obs index names (cell_id), or row numbers with --rows. --genes\n"
    "keeps only the named genes (var index names), in the order given.\n";

const char* kGenesUsage =
    "usage: slaf genes DATASET GENE [GENE...] [--rows] [--limit N] [--layer L] [--version N]\n"
    "Prints each gene's expression over all cells, one line per gene:\n"
    "  GENE (gene_id, row R, K cells, sum S): CELL:VALUE ... (highest first)\n"
    "GENE is a var index name (gene_id) or, failing that, a gene_symbol; with\n"
    "--rows, row numbers. --limit N cells per gene (default 10, 0 = all). Uses\n"
    "the gene index (slaf index, convert --gene-index) when the dataset has one.\n";

const char* kFilterUsage =
    "usage: slaf filter DATASET EXPR [--genes] [--columns a,b,c] [--limit N] [--count]\n"
    "                   [--version N] [--format table|csv]\n"
    "Prints the cells (or genes, with --genes) whose obs (var) row satisfies EXPR:\n"
    "their index name and the requested columns (default: all), or only their\n"
    "number with --count. EXPR compares columns with literals:\n"
    "  = != < <= > >=, IN ('a', 'b'), IS [NOT] NULL, and, or, not, parentheses;\n"
    "  strings in quotes, numbers, true/false. Example:\n"
    "  slaf filter ds.slaf \"cell_type = 'B_cell' and total_counts > 2000\" --limit 5\n";

const char* kScanUsage =
    "usage: slaf scan DATASET [--layer L] [--version N] [--quiet]\n"
    "Decodes every value of X (or a layer) segment by segment; prints cells, nnz,\n"
    "sum, time and throughput.\n";

// The index column of a table, read whole; nullopt if the table has none.
Result<std::optional<Column>> IndexColumn(const Dataset& ds, bool obs) {
  const std::string& index = (obs ? ds.manifest().obs : ds.manifest().var).index_column;
  if (index.empty()) return std::optional<Column>();
  std::vector<std::string> names{index};
  SLAF_ASSIGN_OR_RETURN(Table t, obs ? ds.obs(names) : ds.var(names));
  return std::optional<Column>(std::move(t.columns[0]));
}

std::string Name(const std::optional<Column>& index, uint64_t row) {
  return index && !index->is_null(row) ? std::string(index->str(row)) : std::to_string(row);
}

std::string FormatFloat(float v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// One value of a column as text; nulls are `null_text`.
std::string ValueText(const Column& c, uint64_t row, const char* null_text) {
  if (c.is_null(row)) return null_text;
  switch (c.type) {
    case ColumnType::kInt64: return std::to_string(c.ints[row]);
    case ColumnType::kFloat64: return FormatDouble(c.doubles[row]);
    case ColumnType::kBool: return c.bools[row] ? "true" : "false";
    case ColumnType::kString:
    case ColumnType::kCategorical: return std::string(c.str(row));
  }
  return "";
}

// RFC 4180: quoted when it holds a comma, quote or line break.
std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

bool Numeric(ColumnType t) { return t == ColumnType::kInt64 || t == ColumnType::kFloat64; }

}  // namespace

int Cells(const std::vector<std::string>& argv) {
  Args args;
  if (Status s = args.Parse(argv, {"--rows"}, {"--version", "--genes"}); !s.ok()) return UsageError(kCellsUsage, "cells: " + s.message());
  if (args.Has("--help")) return std::fputs(kCellsUsage, stdout), 0;
  if (args.positional().size() < 2) return UsageError(kCellsUsage, "cells: expected DATASET and at least one CELL");
  const std::vector<std::string> wanted(args.positional().begin() + 1, args.positional().end());
  std::vector<uint64_t> ids;
  if (args.Has("--rows")) {
    for (const std::string& w : wanted) {
      uint64_t v = 0;
      if (!ParseU64(w, &v)) return UsageError(kCellsUsage, "cells: not a row number: " + w);
      ids.push_back(v);
    }
  }
  bool usage = false;
  Result<std::unique_ptr<Dataset>> ds = OpenDataset(args.positional()[0], args, &usage);
  if (!ds.ok()) return usage ? UsageError(kCellsUsage, ds.status().message()) : Fail(ds.status());
  const Dataset& d = **ds;
  if (!args.Has("--rows")) {
    if (d.manifest().obs.index_column.empty()) return Fail("the dataset's obs has no index column; give row numbers with --rows");
    Result<std::vector<uint64_t>> r = d.cells_by_name(wanted);
    if (!r.ok()) return Fail(r.status());
    ids = std::move(*r);
  }
  Result<std::optional<Column>> cell_names = IndexColumn(d, /*obs=*/true);
  if (!cell_names.ok()) return Fail(cell_names.status());
  Result<std::optional<Column>> gene_names = IndexColumn(d, /*obs=*/false);
  if (!gene_names.ok()) return Fail(gene_names.status());
  std::vector<uint32_t> genes;
  if (const std::string* g = args.Get("--genes")) {
    const std::vector<std::string> names = SplitList(*g);
    if (names.empty()) return UsageError(kCellsUsage, "--genes needs gene names separated by commas");
    if (*gene_names) {
      Result<std::vector<uint32_t>> r = d.genes_by_name(names);
      if (!r.ok()) return Fail(r.status());
      genes = std::move(*r);
    } else {  // no gene names: gene ids
      for (const std::string& n : names) {
        uint64_t v = 0;
        if (!ParseU64(n, &v) || v >= d.n_genes()) return Fail("the dataset's var has no index column, and \"" + n + "\" is not a gene id below " + std::to_string(d.n_genes()));
        genes.push_back(static_cast<uint32_t>(v));
      }
    }
  }
  CsrMatrix m;
  if (Status s = d.ReadCells(ids, genes, &m); !s.ok()) return Fail(s);
  std::string line;
  for (uint64_t i = 0; i < m.n_rows; ++i) {
    const uint64_t nz = m.indptr[i + 1] - m.indptr[i];
    line = Name(*cell_names, ids[i]) + " (row " + std::to_string(ids[i]) + ", " + std::to_string(nz) + (nz == 1 ? " nonzero):" : " nonzeros):");
    for (uint64_t k = m.indptr[i]; k < m.indptr[i + 1]; ++k) {
      const uint32_t g = genes.empty() ? m.indices[k] : genes[m.indices[k]];
      line += ' ';
      line += Name(*gene_names, g);
      line += ':';
      line += m.value_type == ValueType::kUInt32 ? std::to_string(m.counts[k]) : FormatFloat(m.floats[k]);
    }
    line += '\n';
    std::fputs(line.c_str(), stdout);
  }
  return 0;
}

int Filter(const std::vector<std::string>& argv) {
  Args args;
  if (Status s = args.Parse(argv, {"--genes", "--count"}, {"--columns", "--limit", "--version", "--format"}); !s.ok()) {
    return UsageError(kFilterUsage, "filter: " + s.message());
  }
  if (args.Has("--help")) return std::fputs(kFilterUsage, stdout), 0;
  if (args.positional().size() != 2) return UsageError(kFilterUsage, "filter: expected DATASET and EXPR");
  uint64_t limit = UINT64_MAX;
  if (const std::string* v = args.Get("--limit"); v && !ParseU64(*v, &limit)) return UsageError(kFilterUsage, "--limit needs a whole number");
  std::string format = "table";
  if (const std::string* v = args.Get("--format")) {
    format = *v;
    if (format != "table" && format != "csv") return UsageError(kFilterUsage, "--format must be table or csv");
  }
  Result<Predicate> p = Predicate::Parse(args.positional()[1]);
  if (!p.ok()) return UsageError(kFilterUsage, p.status().message());
  bool usage = false;
  Result<std::unique_ptr<Dataset>> ds = OpenDataset(args.positional()[0], args, &usage);
  if (!ds.ok()) return usage ? UsageError(kFilterUsage, ds.status().message()) : Fail(ds.status());
  const Dataset& d = **ds;
  const bool genes = args.Has("--genes");
  Result<std::vector<uint64_t>> matched = MatchingRows(d, *p, genes);
  if (!matched.ok()) return Fail(matched.status());
  std::vector<uint64_t> ids = std::move(*matched);
  if (args.Has("--count")) {
    std::printf("%zu\n", ids.size());
    return 0;
  }
  const TableEntry& t = genes ? d.manifest().var : d.manifest().obs;
  std::vector<std::string> names;
  if (!t.index_column.empty()) names.push_back(t.index_column);
  if (const std::string* c = args.Get("--columns")) {
    for (const std::string& n : SplitList(*c)) {
      if (n != t.index_column) names.push_back(n);
    }
  } else {
    for (const ColumnSchema& c : t.columns) {
      if (c.name != t.index_column) names.push_back(c.name);
    }
  }
  Table table;
  if (!names.empty()) {
    Result<Table> r = genes ? d.var(names) : d.obs(names);
    if (!r.ok()) return Fail(r.status());
    table = std::move(*r);
  }
  const uint64_t shown = std::min<uint64_t>(limit, ids.size());
  // Cells as text: column 0 is the index name (or the row number).
  const bool row_column = t.index_column.empty();
  std::vector<std::string> header;
  if (row_column) header.push_back("row");
  for (const Column& c : table.columns) header.push_back(c.name);
  auto cell = [&](uint64_t id, size_t col) -> std::string {
    if (row_column && col == 0) return std::to_string(id);
    const Column& c = table.columns[col - (row_column ? 1 : 0)];
    return ValueText(c, id, format == "csv" ? "" : "NA");
  };
  std::string line;
  if (format == "csv") {
    for (size_t k = 0; k < header.size(); ++k) line += (k ? "," : "") + CsvField(header[k]);
    std::printf("%s\n", line.c_str());
    for (uint64_t i = 0; i < shown; ++i) {
      line.clear();
      for (size_t k = 0; k < header.size(); ++k) line += (k ? "," : "") + CsvField(cell(ids[i], k));
      line += '\n';
      std::fputs(line.c_str(), stdout);
    }
    return 0;
  }
  // Aligned table; widths from the header and the first 1000 rows shown.
  std::vector<size_t> width(header.size());
  std::vector<bool> right(header.size(), row_column);
  for (size_t k = 0; k < header.size(); ++k) {
    width[k] = header[k].size();
    if (k >= (row_column ? 1u : 0u)) right[k] = Numeric(table.columns[k - (row_column ? 1 : 0)].type);
    for (uint64_t i = 0; i < std::min<uint64_t>(shown, 1000); ++i) width[k] = std::max(width[k], cell(ids[i], k).size());
  }
  auto emit = [&](auto value_of) {
    line.clear();
    for (size_t k = 0; k < header.size(); ++k) {
      const std::string v = value_of(k);
      const std::string pad(v.size() < width[k] ? width[k] - v.size() : 0, ' ');
      line += (k ? "  " : "") + (right[k] ? pad + v : v + (k + 1 < header.size() ? pad : ""));
    }
    line += '\n';
    std::fputs(line.c_str(), stdout);
  };
  emit([&](size_t k) { return header[k]; });
  for (uint64_t i = 0; i < shown; ++i) emit([&](size_t k) { return cell(ids[i], k); });
  const char* what = genes ? "genes" : "cells";
  std::printf("(%" PRIu64 " of %zu matching %s shown; %" PRIu64 " %s in all)\n", shown, ids.size(), what,
              genes ? uint64_t(d.n_genes()) : d.n_cells(), what);
  return 0;
}

int Scan(const std::vector<std::string>& argv) {
  Args args;
  if (Status s = args.Parse(argv, {"--quiet"}, {"--layer", "--version"}); !s.ok()) return UsageError(kScanUsage, "scan: " + s.message());
  if (args.Has("--help")) return std::fputs(kScanUsage, stdout), 0;
  if (args.positional().size() != 1) return UsageError(kScanUsage, "scan: expected one DATASET");
  bool usage = false;
  Result<std::unique_ptr<Dataset>> ds = OpenDataset(args.positional()[0], args, &usage);
  if (!ds.ok()) return usage ? UsageError(kScanUsage, ds.status().message()) : Fail(ds.status());
  const Manifest& m = (*ds)->manifest();
  const std::string layer = args.Get("--layer") ? *args.Get("--layer") : "";
  const MatrixEntry* mx = &m.x;
  if (!layer.empty() && layer != "X") {
    auto it = m.layers.find(layer);
    if (it == m.layers.end()) {
      std::string known;
      for (const auto& [name, _] : m.layers) known += (known.empty() ? "" : ", ") + name;
      return Fail("no layer \"" + layer + "\" in version " + std::to_string(m.version) + " (layers: " + (known.empty() ? "none" : known) + ")");
    }
    mx = &it->second;
  }
  io::ObjectStore* store = (*ds)->store();
  const auto t0 = std::chrono::steady_clock::now();
  ScanOptions so;
  so.want_indices = false;  // values only: the fastest full pass
  CsrMatrix block;
  uint64_t nnz = 0, int_sum = 0, first = 0;
  double float_sum = 0;
  Progress progress(args.Has("--quiet"), m.n_cells, "cells");
  for (const SegmentRef& ref : mx->segments) {
    const std::string where = store->location() + "/" + ref.path;
    Result<std::shared_ptr<io::RandomAccessFile>> file = store->OpenRead(ref.path);
    if (!file.ok()) return Fail(file.status());
    if ((*file)->size() != ref.size) {
      return Fail(Status::Corruption(where + ": " + std::to_string((*file)->size()) + " bytes, the manifest says " + std::to_string(ref.size)));
    }
    Result<std::unique_ptr<SegmentReader>> r = SegmentReader::Open(*file);
    if (!r.ok()) return Fail(r.status());
    const SegmentInfo& info = (*r)->info();
    if (info.n_rows != ref.n_cells || info.nnz != ref.nnz || info.value_type != mx->value_type) {
      return Fail(Status::Corruption(where + ": segment holds " + std::to_string(info.n_rows) + " cells and " + std::to_string(info.nnz) +
                                     " entries, the manifest says " + std::to_string(ref.n_cells) + " and " + std::to_string(ref.nnz)));
    }
    Result<std::unique_ptr<SegmentScanner>> scanner = (*r)->Scan(so);
    if (!scanner.ok()) return Fail(scanner.status());
    while (true) {
      Result<bool> more = (*scanner)->Next(&block, &first);
      if (!more.ok()) return Fail(more.status());
      if (!*more) break;
      nnz += block.indptr.back();
      for (uint32_t v : block.counts) int_sum += v;  // integer adds: no FP latency chain
      for (float v : block.floats) float_sum += v;
      progress.Update(ref.first_cell + first + block.n_rows);
    }
  }
  progress.Done();
  const double sum = float_sum + static_cast<double>(int_sum);
  const double s = SecondsSince(t0);
  std::printf("%" PRIu64 " cells, nnz %" PRIu64 ", sum %.17g, %.3f s, %.1f M nnz/s\n", m.n_cells, nnz, sum, s, s > 0 ? nnz / s / 1e6 : 0.0);
  return 0;
}

int Genes(const std::vector<std::string>& argv) {
  Args args;
  if (Status s = args.Parse(argv, {"--rows"}, {"--version", "--limit", "--layer"}); !s.ok()) return UsageError(kGenesUsage, "genes: " + s.message());
  if (args.Has("--help")) return std::fputs(kGenesUsage, stdout), 0;
  if (args.positional().size() < 2) return UsageError(kGenesUsage, "genes: expected DATASET and at least one GENE");
  uint64_t limit = 10;
  if (const std::string* v = args.Get("--limit"); v && !ParseU64(*v, &limit)) return UsageError(kGenesUsage, "genes: --limit needs a whole number");
  const std::string layer = args.Get("--layer") ? *args.Get("--layer") : "";
  const std::vector<std::string> wanted(args.positional().begin() + 1, args.positional().end());
  bool usage = false;
  Result<std::unique_ptr<Dataset>> ds = OpenDataset(args.positional()[0], args, &usage);
  if (!ds.ok()) return usage ? UsageError(kGenesUsage, ds.status().message()) : Fail(ds.status());
  const Dataset& d = **ds;
  Result<std::optional<Column>> cell_names = IndexColumn(d, /*obs=*/true);
  if (!cell_names.ok()) return Fail(cell_names.status());
  Result<std::optional<Column>> gene_names = IndexColumn(d, /*obs=*/false);
  if (!gene_names.ok()) return Fail(gene_names.status());
  std::optional<Column> symbols;
  if (d.manifest().var.Find("gene_symbol")) {
    std::vector<std::string> cols{"gene_symbol"};
    Result<Table> t = d.var(cols);
    if (!t.ok()) return Fail(t.status());
    symbols = std::move(t->columns[0]);
  }
  std::vector<uint32_t> genes;
  for (const std::string& w : wanted) {
    uint64_t v = 0;
    if (args.Has("--rows")) {
      if (!ParseU64(w, &v) || v >= d.n_genes()) return Fail("not a gene row below " + std::to_string(d.n_genes()) + ": " + w);
      genes.push_back(static_cast<uint32_t>(v));
      continue;
    }
    std::vector<std::string> one{w};
    Result<std::vector<uint32_t>> r = *gene_names ? d.genes_by_name(one) : Result<std::vector<uint32_t>>(Status::NotFound(""));
    if (r.ok()) {
      genes.push_back((*r)[0]);
      continue;
    }
    bool found = false;
    for (uint64_t g = 0; symbols && g < symbols->n_rows && !found; ++g) {
      if (symbols->str(g) == w) {
        genes.push_back(static_cast<uint32_t>(g));
        found = true;
      }
    }
    if (!found) return Fail("no gene named \"" + w + "\" (var index" + std::string(symbols ? " or gene_symbol" : "") + ")");
  }
  Result<CsrMatrix> m = d.ReadGenes(genes, layer);
  if (!m.ok()) return Fail(m.status());
  std::string line;
  for (size_t i = 0; i < genes.size(); ++i) {
    const uint32_t g = genes[i];
    std::vector<uint64_t> order;
    double sum = 0;
    for (uint64_t k = m->indptr[i]; k < m->indptr[i + 1]; ++k) {
      order.push_back(k);
      sum += m->value(k);
    }
    std::stable_sort(order.begin(), order.end(), [&](uint64_t a, uint64_t b) { return m->value(a) > m->value(b); });
    if (limit > 0 && order.size() > limit) order.resize(limit);
    const std::string label = symbols ? std::string(symbols->str(g)) : Name(*gene_names, g);
    line = label + " (" + Name(*gene_names, g) + ", row " + std::to_string(g) + ", " + std::to_string(m->indptr[i + 1] - m->indptr[i]) +
           " cells, sum " + FormatDouble(sum) + "):";
    for (uint64_t k : order) {
      line += ' ';
      line += Name(*cell_names, m->indices[k]);
      line += ':';
      line += m->value_type == ValueType::kUInt32 ? std::to_string(m->counts[k]) : FormatFloat(m->floats[k]);
    }
    line += '\n';
    std::fputs(line.c_str(), stdout);
  }
  return 0;
}

}  // namespace slaf::cli
