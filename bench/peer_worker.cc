// slaf-peer-worker: the engine-under-test worker of ../shared/peers (its
// README, "Adding the engine under test", is the contract).
//
//   slaf-peer-worker import --data-dir D --h5ad F --staging D/staging --out-dir D/slaf
//   slaf-peer-worker bench --data-dir D --store D/slaf --mode warm|cold [--scenario ID]...
//
// Import: the store is a slaf dataset (format-spec §9) made by
// slaf::Convert from the h5ad (what `slaf convert` does; so the harness's
// import time is the engine's convert time), then its gene index (the
// gene-major copy of X, §9.9, what `slaf index` builds) as the next version.
// SLAF_PEER_IMPORT=staging builds the cell-major store from the staging
// arrays instead, in one create transaction: X as expression segments in
// frequency gene order (§4.4), obs and var as column tables (§7) holding
// every staging column except the implicit integer ids; repeated strings
// are categorical, cell_id / gene_id stay strings and are the index columns.
// SLAF_PEER_GENE_INDEX=0 skips the gene index.
//
// Bench opens the newest version with Dataset::Open and answers every
// scenario from it: filters as Predicates on obs/var, cell rows through
// ReadCells, gene columns through ReadGenes (the gene index), aggregates
// through GeneStats and obs columns. The full scan (and gene columns when
// there is no gene index) run the segment scanner directly (projection and
// column pushdown), on segment files the manifest lists. SLAF_PEER_SQL=1
// answers the query scenarios through slaf::sql::Execute instead (see
// "SQL mode" below).
//
// Cached across queries, as the peers may (shared/peers README): the open
// Dataset with its lazily opened file readers, the X segment readers, and
// the cell_id / gene_id -> row maps, built on first use like h5py_csr's.
//
// Import knobs for experiments (environment): SLAF_CHUNK_BYTES and
// SLAF_MIN_CHUNK_ROWS override the dataset's segment defaults (the convert
// import takes SLAF_CHUNK_BYTES only), SLAF_GENE_ORDER=identity keeps the
// input's gene order.
#include <fcntl.h>
#include <simdjson.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "slaf/dataset.h"
#include "slaf/dataset_writer.h"
#include "slaf/interop.h"
#include "slaf/segment.h"
#include "slaf/sql.h"
#include "slaf/store.h"
#include "slaf/table.h"

namespace {

using Clock = std::chrono::steady_clock;
double Ms(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "slaf-peer-worker: %s\n", msg.c_str());
  std::exit(1);
}
void DieIf(const slaf::Status& s, const std::string& what) {
  if (!s.ok()) Die(what + ": " + s.ToString());
}

using Args = std::map<std::string, std::vector<std::string>>;

Args ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 2; i + 1 < argc; i += 2) a[argv[i]].push_back(argv[i + 1]);
  return a;
}

std::string Arg(const Args& a, const std::string& k, const std::string& def = "") {
  auto it = a.find(k);
  return it == a.end() ? def : it->second.back();
}

// Read-only mapping of a whole file (staging arrays are hundreds of MB).
struct Mapped {
  const uint8_t* data = nullptr;
  size_t size = 0;
  explicit Mapped(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) Die("cannot open " + path);
    struct stat st;
    fstat(fd, &st);
    size = static_cast<size_t>(st.st_size);
    if (size) data = static_cast<const uint8_t*>(mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0));
    ::close(fd);
    if (size && data == MAP_FAILED) Die("mmap " + path);
    if (size) madvise(const_cast<uint8_t*>(data), size, MADV_SEQUENTIAL);
  }
  ~Mapped() {
    if (size) munmap(const_cast<uint8_t*>(data), size);
  }
};

// The dataset format is 1.1 with a gene index (Manifest::ToJson), else 1.0.
std::string Version(bool gene_index = true) {
  return std::string("slaf 0.1.0 (dataset format ") + (gene_index ? "1.1, gene index" : "1.0") + ", segment format 1.0)";
}

// ---------------------------------------------------------------- import

// One staging metadata column (cells.json / genes.json, columnar, null =
// missing) as a table column of the type meta.json gives it. Strings with at
// most n/4 distinct values become categorical (sorted categories, as
// pandas), except the index column.
slaf::Column ColumnFromJson(const std::string& name, std::string_view type, simdjson::dom::array values, uint64_t n_rows,
                            bool is_index) {
  if (values.size() != n_rows) Die("column " + name + " has " + std::to_string(values.size()) + " values for " + std::to_string(n_rows) + " rows");
  slaf::Column c;
  c.name = name;
  c.n_rows = n_rows;
  std::vector<uint8_t> valid(n_rows, 1);
  bool any_null = false;
  uint64_t i = 0;
  if (type == "string") {
    std::vector<std::string_view> v(n_rows);
    for (simdjson::dom::element e : values) {
      if (e.is_null()) valid[i] = 0, any_null = true;
      else if (e.get_string().get(v[i])) Die("column " + name + " row " + std::to_string(i) + ": not a string");
      ++i;
    }
    std::unordered_map<std::string_view, uint32_t> distinct;
    for (uint64_t r = 0; r < n_rows; ++r) {
      if (valid[r] && distinct.emplace(v[r], 0).second && distinct.size() > n_rows / 4) break;
    }
    if (!is_index && distinct.size() <= n_rows / 4) {
      c.type = slaf::ColumnType::kCategorical;
      for (const auto& [s, _] : distinct) c.categories.emplace_back(s);
      std::sort(c.categories.begin(), c.categories.end());
      for (uint32_t k = 0; k < c.categories.size(); ++k) distinct[c.categories[k]] = k;
      c.codes.resize(n_rows);
      for (uint64_t r = 0; r < n_rows; ++r) c.codes[r] = valid[r] ? distinct[v[r]] : 0;
    } else {
      c.type = slaf::ColumnType::kString;
      c.offsets.reserve(n_rows + 1);
      c.offsets.push_back(0);
      for (uint64_t r = 0; r < n_rows; ++r) {
        c.chars.append(v[r]);
        c.offsets.push_back(c.chars.size());
      }
    }
  } else if (type == "int32" || type == "int64") {
    c.type = slaf::ColumnType::kInt64;
    c.ints.resize(n_rows);
    for (simdjson::dom::element e : values) {
      double d;
      if (e.is_null()) valid[i] = 0, any_null = true;
      else if (e.is_int64()) c.ints[i] = int64_t(e);
      else if (e.get_double().get(d) == simdjson::SUCCESS) c.ints[i] = static_cast<int64_t>(d);
      else Die("column " + name + " row " + std::to_string(i) + ": not a number");
      ++i;
    }
  } else if (type == "float32" || type == "float64") {
    c.type = slaf::ColumnType::kFloat64;
    c.doubles.resize(n_rows);
    for (simdjson::dom::element e : values) {
      if (e.is_null()) valid[i] = 0, any_null = true;
      else if (e.is_int64()) c.doubles[i] = static_cast<double>(int64_t(e));
      else if (e.get_double().get(c.doubles[i])) Die("column " + name + " row " + std::to_string(i) + ": not a number");
      ++i;
    }
  } else if (type == "bool") {
    c.type = slaf::ColumnType::kBool;
    c.bools.resize(n_rows);
    for (simdjson::dom::element e : values) {
      bool b = false;
      if (e.is_null()) valid[i] = 0, any_null = true;
      else if (e.get_bool().get(b)) Die("column " + name + " row " + std::to_string(i) + ": not a bool");
      c.bools[i++] = b;
    }
  } else {
    Die("column " + name + ": unknown staging type " + std::string(type));
  }
  if (any_null) c.valid = std::move(valid);
  return c;
}

// cells.json / genes.json -> obs / var, in meta.json schema order, without
// the implicit integer ids.
slaf::Table TableFromJson(const std::string& path, simdjson::dom::array schema, uint64_t n_rows, const std::string& index) {
  static const std::set<std::string> kImplicit = {"cell_integer_id", "cell_start_index", "gene_integer_id"};
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.load(path).get(doc)) Die("cannot parse " + path);
  slaf::Table t;
  t.n_rows = n_rows;
  for (simdjson::dom::element entry : schema) {
    const std::string name{std::string_view(entry.at(0))};
    if (kImplicit.count(name)) continue;
    simdjson::dom::array values;
    if (doc[name].get_array().get(values)) Die(path + ": no column " + name);
    t.columns.push_back(ColumnFromJson(name, std::string_view(entry.at(1)), values, n_rows, name == index));
  }
  DieIf(t.Validate(), path);
  return t;
}

// After the cell-major store is committed: the gene index (the gene-major
// copy of X, format-spec §9.9, as `slaf index` builds it) unless
// SLAF_PEER_GENE_INDEX=0, then the summary line. x_ms = time to the
// committed cell-major store.
int Finish(std::shared_ptr<slaf::io::ObjectStore> store, const std::string& source, double x_ms, Clock::time_point t0) {
  double gi_ms = 0;
  const char* gi = getenv("SLAF_PEER_GENE_INDEX");
  if (gi == nullptr || std::string(gi) != "0") {
    const auto t_gi = Clock::now();
    slaf::WriteOptions wo;
    wo.message = "slaf-peer-worker import: gene index";
    wo.sort_memory_bytes = 1ull << 30;
    auto v = slaf::BuildGeneIndex(store, "", wo);
    if (!v.ok()) Die("gene index: " + v.status().ToString());
    gi_ms = Ms(t_gi);
  }
  auto ds = slaf::Dataset::Open(store);
  if (!ds.ok()) Die(ds.status().ToString());
  const slaf::Manifest& m = (*ds)->manifest();
  uint64_t expr_bytes = 0, gi_bytes = 0;
  for (const slaf::SegmentRef& s : m.x.segments) expr_bytes += s.size;
  if (m.x.gene_index)
    for (const slaf::GeneSegmentRef& s : m.x.gene_index->segments) gi_bytes += s.size;
  const uint64_t nnz = (*ds)->nnz();
  std::fprintf(stderr,
               "imported (%s) %" PRIu64 " x %u, nnz %" PRIu64 " as version %" PRIu64 ": X %" PRIu64 " bytes in %zu segment(s) (%.3f B/nnz), gene index %" PRIu64
               " bytes (%.3f B/nnz), %" PRIu64 " bytes in all; cell-major store %.1f s, gene index %.1f s, total %.1f s\n",
               source.c_str(), (*ds)->n_cells(), (*ds)->n_genes(), nnz, m.version, expr_bytes, m.x.segments.size(), nnz ? double(expr_bytes) / nnz : 0.0, gi_bytes,
               nnz ? double(gi_bytes) / nnz : 0.0, (*ds)->bytes_on_disk(), x_ms / 1000, gi_ms / 1000, Ms(t0) / 1000);
  // expr_bytes: the cell-major X segments (the expression data every query
  // can use); the gene-major copy is reported on its own.
  std::printf("@@RESULT {\"scenario\": \"__import__\", \"ok\": true, \"engine\": \"%s\", \"format\": \"slaf dataset v1\", \"source\": \"%s\", \"expr_bytes\": %" PRIu64
              ", \"gene_index_bytes\": %" PRIu64 ", \"x_ms\": %.1f, \"gene_index_ms\": %.1f}\n",
              Version(m.x.gene_index.has_value()).c_str(), source.c_str(), expr_bytes, gi_bytes, x_ms, gi_ms);
  return 0;
}

// The import through slaf::Convert from the h5ad (what `slaf convert` does),
// so the harness's import time is the engine's convert time (plus the gene
// index). Convert writes a new directory beside --out-dir (under a temporary
// name, then renamed into place), so the empty directory the harness made is
// removed first; its external sort spills to $TMPDIR.
int ImportH5ad(const Args& a) {
  const auto t0 = Clock::now();
  const std::string h5ad = Arg(a, "--h5ad"), out = Arg(a, "--out-dir");
  if (h5ad.empty() || out.empty()) Die("import needs --h5ad and --out-dir");
  if (::rmdir(out.c_str()) != 0 && errno != ENOENT) Die(out + ": cannot remove the (empty) output directory: " + std::strerror(errno));
  slaf::ConvertOptions co;
  co.format = slaf::InputFormat::kH5ad;
  co.gene_index = false;  // built by Finish, timed on its own
  co.memory_bytes = 1ull << 30;
  co.spill_dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  co.message = "slaf-peer-worker import of " + h5ad;
  if (const char* cb = getenv("SLAF_CHUNK_BYTES")) co.chunk_bytes = static_cast<uint32_t>(std::stoul(cb));
  if (const char* go = getenv("SLAF_GENE_ORDER"); go && std::string(go) == "identity") co.frequency_order = false;
  auto report = slaf::Convert(h5ad, out, co);
  if (!report.ok()) Die("convert " + h5ad + ": " + report.status().ToString());
  const double x_ms = Ms(t0);
  std::fprintf(stderr, "convert: %s, %" PRIu64 " x %u, nnz %" PRIu64 ", %s, %" PRIu64 " bytes, %.1f s\n", report->format.c_str(), report->n_cells, report->n_genes, report->nnz,
               report->value_type.c_str(), report->bytes, x_ms / 1000);
  for (const std::string& n : report->not_carried) std::fprintf(stderr, "convert: not carried: %s\n", n.c_str());
  for (const std::string& n : report->notes) std::fprintf(stderr, "convert: note: %s\n", n.c_str());
  auto store = slaf::io::OpenLocalStore(out, /*create=*/false);
  if (!store.ok()) Die(store.status().ToString());
  return Finish(*store, "h5ad via slaf::Convert", x_ms, t0);
}

int Import(const Args& a) {
  const char* src = getenv("SLAF_PEER_IMPORT");
  if (src && std::string(src) != "staging" && std::string(src) != "h5ad") Die("SLAF_PEER_IMPORT must be h5ad (default) or staging");
  if (!src || std::string(src) == "h5ad") return ImportH5ad(a);
  const auto t0 = Clock::now();
  const std::string st = Arg(a, "--staging"), out = Arg(a, "--out-dir");
  if (st.empty() || out.empty()) Die("import needs --staging and --out-dir");
  simdjson::dom::parser parser;
  simdjson::dom::element meta;
  if (parser.load(st + "/meta.json").get(meta)) Die("cannot parse " + st + "/meta.json");
  const uint64_t n_cells = uint64_t(meta["n_cells"]), n_genes = uint64_t(meta["n_genes"]), nnz = uint64_t(meta["nnz"]);
  const std::string gene_dtype{std::string_view(meta["gene_dtype"])};
  const std::string value_dtype{std::string_view(meta["value_dtype"])};
  Mapped cell(st + "/expr_cell.bin"), gene(st + "/expr_gene.bin"), value(st + "/expr_value.bin");
  if ((gene_dtype != "uint16" && gene_dtype != "uint32") || (value_dtype != "uint16" && value_dtype != "float32")) Die("unsupported staging dtypes " + gene_dtype + " / " + value_dtype);
  const bool g16 = gene_dtype == "uint16", v16 = value_dtype == "uint16";
  if (cell.size != 4 * nnz || gene.size != (g16 ? 2 : 4) * nnz || value.size != (v16 ? 2 : 4) * nnz) Die("staging array sizes do not match nnz");
  auto cell_at = [&](uint64_t k) { uint32_t v; std::memcpy(&v, cell.data + 4 * k, 4); return v; };
  auto gene_at = [&](uint64_t k) -> uint32_t {
    if (g16) { uint16_t v; std::memcpy(&v, gene.data + 2 * k, 2); return v; }
    uint32_t v; std::memcpy(&v, gene.data + 4 * k, 4); return v;
  };
  // Pass 1: per-gene nonzero counts for the frequency order (format-spec §4.4).
  std::vector<uint64_t> gene_nnz(n_genes, 0);
  for (uint64_t k = 0; k < nnz; ++k) {
    const uint32_t g = gene_at(k);
    if (g >= n_genes) Die("staging gene id " + std::to_string(g) + " >= n_genes at entry " + std::to_string(k));
    ++gene_nnz[g];
  }
  slaf::WriteOptions wo;
  wo.message = "slaf-peer-worker import of " + st;
  if (const char* cb = getenv("SLAF_CHUNK_BYTES")) wo.segment.target_chunk_bytes = static_cast<uint32_t>(std::stoul(cb));
  if (const char* mr = getenv("SLAF_MIN_CHUNK_ROWS")) wo.segment.min_chunk_rows = static_cast<uint32_t>(std::stoul(mr));
  if (getenv("SLAF_GENE_ORDER") == nullptr || std::string(getenv("SLAF_GENE_ORDER")) != "identity") wo.segment.stored_to_original = slaf::FrequencyOrder(gene_nnz);
  const slaf::ValueType vt = v16 ? slaf::ValueType::kUInt32 : slaf::ValueType::kFloat32;
  auto store = slaf::io::OpenLocalStore(out, /*create=*/true);
  if (!store.ok()) Die(store.status().ToString());
  auto txn = slaf::Transaction::Create(*store, static_cast<uint32_t>(n_genes), vt, wo);
  if (!txn.ok()) Die(txn.status().ToString());
  // Pass 2: rows in blocks of 4096 cells.
  slaf::CsrMatrix block;
  uint64_t k = 0;
  for (uint64_t r0 = 0; r0 < n_cells; r0 += 4096) {
    const uint64_t r1 = std::min(n_cells, r0 + 4096);
    block.Clear(static_cast<uint32_t>(n_genes), vt);
    for (uint64_t r = r0; r < r1; ++r) {
      while (k < nnz && cell_at(k) == r) {
        block.indices.push_back(gene_at(k));
        if (v16) { uint16_t v; std::memcpy(&v, value.data + 2 * k, 2); block.counts.push_back(v); }
        else { float v; std::memcpy(&v, value.data + 4 * k, 4); block.floats.push_back(v); }
        ++k;
      }
      block.indptr.push_back(block.indices.size());
    }
    block.n_rows = r1 - r0;
    slaf::CsrRowsView view{block.n_rows, block.indptr.data(), block.indices.data(), block.counts.data(), block.floats.data()};
    DieIf((*txn)->AppendCells(view), "append cells");
  }
  if (k != nnz) Die("staging entries are not sorted by cell");
  DieIf((*txn)->AppendObs(TableFromJson(st + "/cells.json", meta["cells_schema"].get_array(), n_cells, "cell_id")), "obs");
  DieIf((*txn)->SetVar(TableFromJson(st + "/genes.json", meta["genes_schema"].get_array(), n_genes, "gene_id")), "var");
  auto version = (*txn)->Commit();
  if (!version.ok()) Die(version.status().ToString());
  return Finish(*store, "staging", Ms(t0), t0);
}

// ---------------------------------------------------------------- bench

double PeakRssMb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

void ResetPeakRss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
}

std::string Num(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}

std::string JsonStr(std::string_view s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  return o + "\"";
}

// name -> row of an index column (obs cell_id, var gene_id), built from the
// dataset on first use and kept, as h5py_csr keeps its id -> row map.
class NameIndex {
 public:
  slaf::Status Build(slaf::Result<slaf::Table> t) {
    if (!t.ok()) return t.status();
    col_ = std::move(t->columns.at(0));
    map_.reserve(col_.n_rows);
    for (uint64_t i = 0; i < col_.n_rows; ++i) map_.emplace(col_.str(i), i);
    return slaf::Status::OK();
  }
  bool built() const { return !map_.empty(); }
  bool Find(std::string_view name, uint64_t* row) const {
    auto it = map_.find(name);
    if (it == map_.end()) return false;
    *row = it->second;
    return true;
  }

 private:
  slaf::Column col_;  // owns the strings map_ points into
  std::unordered_map<std::string_view, uint64_t> map_;
};

struct Outcome {
  bool ok = true, unsupported = false;
  std::string error, check, extra;  // check: JSON object text; extra: more fields
};

Outcome Fail(const std::string& e) {
  Outcome o;
  o.ok = false;
  o.error = e;
  return o;
}
Outcome Unsupported(const std::string& e) {
  Outcome o = Fail(e);
  o.unsupported = true;
  return o;
}

// Sum of a CSR block's values: integer adds for counts.
void Accumulate(const slaf::CsrMatrix& m, uint64_t* nnz, double* sum) {
  uint64_t isum = 0;
  double fsum = 0;
  for (uint32_t v : m.counts) isum += v;
  for (float v : m.floats) fsum += v;
  *nnz += m.indptr.back();
  *sum += static_cast<double>(isum) + fsum;
}

std::string NnzSum(uint64_t nnz, double sum) { return "{\"nnz\": " + std::to_string(nnz) + ", \"sum\": " + Num(sum) + "}"; }

// The check of a query answered as one CSR result.
std::string NnzSumOf(const slaf::CsrMatrix& m) {
  uint64_t nnz = 0;
  double sum = 0;
  Accumulate(m, &nnz, &sum);
  return NnzSum(nnz, sum);
}

// A scenario literal as a predicate value.
bool ToValue(simdjson::dom::element e, slaf::Predicate::Value* v) {
  std::string_view s;
  bool b;
  int64_t i;
  double d;
  if (e.get_string().get(s) == simdjson::SUCCESS) *v = std::string(s);
  else if (e.get_bool().get(b) == simdjson::SUCCESS) *v = b;
  else if (e.get_int64().get(i) == simdjson::SUCCESS) *v = i;
  else if (e.get_double().get(d) == simdjson::SUCCESS) *v = d;
  else return false;
  return true;
}

// Scenario filter terms ([column, op, value], ANDed) as one Predicate.
// not_prefix P is the range test s < P || s >= P' (P' = P with its last
// byte incremented): every string starting with P lies in [P, P'), strings
// compare bytewise. Prefixes that have no such P' are left in *rest for the
// caller to test.
std::string TermsToPredicate(simdjson::dom::array terms, slaf::Predicate* out, std::vector<std::pair<std::string, std::string>>* rest) {
  using P = slaf::Predicate;
  std::vector<P> all;
  for (simdjson::dom::element t : terms) {
    const std::string col{std::string_view(t.at(0))};
    const std::string_view op = t.at(1);
    simdjson::dom::element val = t.at(2);
    P::Value v;
    if (op == "in") {
      std::vector<P::Value> vs;
      for (simdjson::dom::element e : val.get_array()) {
        if (!ToValue(e, &v)) return "unsupported literal in term on " + col;
        vs.push_back(v);
      }
      all.push_back(P::In(col, std::move(vs)));
      continue;
    }
    if (op == "is_true") {
      // Truthiness like pandas' astype(bool): anything but false/0.
      all.push_back(P::Compare(col, P::Op::kNe, false));
      continue;
    }
    if (!ToValue(val, &v)) return "unsupported literal in term on " + col;
    if (op == "not_prefix") {
      const std::string prefix = std::get<std::string>(v);
      if (prefix.empty() || static_cast<unsigned char>(prefix.back()) == 0xff) {
        rest->push_back({col, prefix});
        continue;
      }
      std::string upper = prefix;
      upper.back() = static_cast<char>(static_cast<unsigned char>(upper.back()) + 1);
      all.push_back(P::Or({P::Compare(col, P::Op::kLt, prefix), P::Compare(col, P::Op::kGe, upper)}));
      continue;
    }
    static const std::map<std::string_view, P::Op> kOps = {
        {">=", P::Op::kGe}, {">", P::Op::kGt}, {"<", P::Op::kLt}, {"<=", P::Op::kLe}, {"==", P::Op::kEq}};
    auto it = kOps.find(op);
    if (it == kOps.end()) return "unsupported filter op " + std::string(op);
    all.push_back(P::Compare(col, it->second, std::move(v)));
  }
  *out = P::And(std::move(all));
  return "";
}

template <typename Id>
std::string IdsCheck(const std::vector<Id>& ids) {
  uint64_t idsum = 0;
  for (Id i : ids) idsum += i;
  return "{\"n\": " + std::to_string(ids.size()) + ", \"idsum\": " + std::to_string(idsum) + "}";
}

// ---------------------------------------------------------------- SQL mode
//
// SLAF_PEER_SQL=1 (or "user"): the scenarios a SQL user would write as
// queries (filters, cell and gene rows, submatrices, aggregates, the full
// scan) are answered by slaf::sql::Execute on SQL text built from the
// scenario, and the result Table is reduced to the same check as the API
// path, so the harness cross-checks the SQL engine against the peers. The
// text is what a user would write; SLAF_PEER_SQL=duckdb sends the statements
// node/bench.mjs sends DuckDB instead (`x::DOUBLE` written CAST(x AS
// DOUBLE)). Like DuckDB's, a lookup by cell_id / gene_id is its own
// statement before the expression query, and both are timed. Streaming stays
// on the API path. SLAF_PEER_SQL_THREADS sets QueryOptions::threads
// (default 2 = the cores, as DuckDB); SLAF_PEER_SQL_EXPLAIN=1 prints each
// statement's EXPLAIN plan to stderr once per scenario (warm, untimed).
enum class SqlStyle { kOff, kUser, kDuckdb };

SqlStyle SqlStyleFromEnv() {
  const char* e = getenv("SLAF_PEER_SQL");
  if (e == nullptr) return SqlStyle::kOff;
  const std::string v = e;
  if (v.empty() || v == "0") return SqlStyle::kOff;
  if (v == "duckdb") return SqlStyle::kDuckdb;
  if (v == "1" || v == "user") return SqlStyle::kUser;
  Die("SLAF_PEER_SQL must be 0, 1, user or duckdb");
}

std::string SqlLit(std::string_view s) {
  std::string o = "'";
  for (char c : s) {
    if (c == '\'') o += '\'';
    o += c;
  }
  return o + "'";
}

// A numeric result cell as double (NaN for null).
double NumAt(const slaf::Column& c, uint64_t i) {
  if (c.is_null(i)) return std::nan("");
  switch (c.type) {
    case slaf::ColumnType::kInt64: return static_cast<double>(c.ints[i]);
    case slaf::ColumnType::kFloat64: return c.doubles[i];
    case slaf::ColumnType::kBool: return c.bools[i];
    default: return std::nan("");
  }
}

bool IsNumeric(const slaf::Column& c) {
  return c.type == slaf::ColumnType::kInt64 || c.type == slaf::ColumnType::kFloat64 || c.type == slaf::ColumnType::kBool;
}

class SqlRunner {
 public:
  SqlRunner(slaf::Dataset* ds, SqlStyle style) : ds_(ds), style_(style) {
    if (const char* t = getenv("SLAF_PEER_SQL_THREADS")) options_.threads = std::stoi(t);
    explain_ = getenv("SLAF_PEER_SQL_EXPLAIN") != nullptr && std::string(getenv("SLAF_PEER_SQL_EXPLAIN")) == "1";
  }

  std::string_view style_name() const { return style_ == SqlStyle::kDuckdb ? "duckdb" : "user"; }

  // nullopt: not a SQL scenario (the API path answers it).
  std::optional<Outcome> Run(simdjson::dom::element sc) {
    const std::string_view kind = sc["kind"];
    sql_.clear();
    runs_.emplace_back();
    Outcome o;
    if (kind == "cell_filter" || kind == "gene_filter") o = Filter(sc, kind == "cell_filter");
    else if (kind == "cells_by_id") o = ById(sc, true);
    else if (kind == "genes_by_id") o = ById(sc, false);
    else if (kind == "submatrix") o = Submatrix(sc);
    else if (kind == "agg_celltype") o = AggCellType();
    else if (kind == "agg_gene_by_celltype") o = AggGeneByCellType(sc);
    else if (kind == "agg_top_genes") o = TopGenes(sc);
    else if (kind == "full_scan") o = FullScan();
    else return std::nullopt;
    // The statements, for the result line (kept in the harness's raw JSON).
    std::string texts = "\"sql_style\": " + JsonStr(style_name()) + ", \"sql\": [";
    for (size_t i = 0; i < sql_.size(); ++i) texts += (i ? ", " : "") + JsonStr(sql_[i]);
    o.extra = texts + "]";
    if (!o.ok) o.error = "SQL: " + o.error + " [" + (sql_.empty() ? std::string() : sql_.back()) + "]";
    return o;
  }

  // Per-statement times: forget those of earlier scenarios.
  void Reset() { runs_.clear(); }

  // `"sql_stmt_ms": [...]`: per statement, the median over the runs since
  // Reset() without the first `skip` (the warm-up); "" when none.
  std::string StatementTimes(size_t skip) const {
    if (runs_.size() <= skip) skip = 0;
    const size_t n = runs_.empty() ? 0 : runs_.back().size();
    if (n == 0) return "";
    std::string o = "\"sql_stmt_ms\": [";
    for (size_t k = 0; k < n; ++k) {
      std::vector<double> v;
      for (size_t r = skip; r < runs_.size(); ++r)
        if (runs_[r].size() == n) v.push_back(runs_[r][k]);
      std::sort(v.begin(), v.end());
      o += (k ? ", " : "") + Num(v.empty() ? 0 : v[v.size() / 2]);
    }
    return o + "]";
  }

  // EXPLAIN of the statements of the last Run, to stderr.
  void Explain(const std::string& id) {
    if (!explain_) return;
    for (const std::string& q : sql_) {
      auto r = slaf::sql::Execute(*ds_, "EXPLAIN " + q, options_);
      std::fprintf(stderr, "[%s] EXPLAIN %s\n%s\n", id.c_str(), q.c_str(), r.ok() ? r->plan.c_str() : r.status().ToString().c_str());
    }
  }

 private:
  // Runs one statement; the text is kept for the result line and errors.
  slaf::Status Query(std::string q, slaf::Table* out) {
    sql_.push_back(std::move(q));
    const auto t0 = Clock::now();
    auto r = slaf::sql::Execute(*ds_, sql_.back(), options_);
    if (!r.ok()) return r.status();
    *out = std::move(r->table);
    runs_.back().push_back(Ms(t0));
    return slaf::Status::OK();
  }

  static Outcome Err(const slaf::Status& s) { return Fail(s.ToString()); }

  static Outcome Shape(const slaf::Table& t, size_t cols, const std::string& what) {
    if (t.columns.size() != cols) return Fail(what + ": " + std::to_string(t.columns.size()) + " result column(s), expected " + std::to_string(cols));
    return Outcome();
  }

  // Sum of an integer id column (the check's idsum).
  static Outcome IdColumn(const slaf::Column& c, std::vector<uint64_t>* ids) {
    if (c.type != slaf::ColumnType::kInt64) return Fail("id column " + c.name + " is " + std::string(slaf::ColumnTypeName(c.type)) + ", expected int64");
    for (uint64_t i = 0; i < c.n_rows; ++i) {
      if (c.is_null(i) || c.ints[i] < 0) return Fail("id column " + c.name + ": null or negative id");
      ids->push_back(static_cast<uint64_t>(c.ints[i]));
    }
    return Outcome();
  }

  // nnz = rows, sum = sum of the (last) value column; integer adds for int64.
  static Outcome NnzSumCheck(const slaf::Table& t) {
    if (t.columns.empty()) return Fail("no result columns");
    const slaf::Column& v = t.columns.back();
    double sum = 0;
    if (v.type == slaf::ColumnType::kInt64) {
      int64_t isum = 0;
      for (uint64_t i = 0; i < v.n_rows; ++i) isum += v.ints[i];
      sum = static_cast<double>(isum);
    } else if (v.type == slaf::ColumnType::kFloat64) {
      for (uint64_t i = 0; i < v.n_rows; ++i) sum += v.doubles[i];
    } else {
      return Fail("value column " + v.name + " is " + std::string(slaf::ColumnTypeName(v.type)));
    }
    if (v.null_count()) return Fail("value column " + v.name + " has nulls");
    Outcome o;
    o.check = NnzSum(t.n_rows, sum);
    return o;
  }

  // SELECT cell_integer_id FROM cells WHERE <the scenario's sql_where>, as DuckDB.
  Outcome Filter(simdjson::dom::element sc, bool cells) {
    const std::string where{std::string_view(sc["sql_where"])};
    slaf::Table t;
    const std::string q = cells ? "SELECT cell_integer_id FROM cells WHERE " + where : "SELECT gene_integer_id FROM genes WHERE " + where;
    if (slaf::Status s = Query(q, &t); !s.ok()) return Err(s);
    if (Outcome o = Shape(t, 1, "filter"); !o.ok) return o;
    ids_.clear();
    if (Outcome o = IdColumn(t.columns[0], &ids_); !o.ok) return o;
    Outcome o;
    o.check = IdsCheck(ids_);
    return o;
  }

  static std::string Join(const std::vector<uint64_t>& v) {
    std::string o;
    for (size_t i = 0; i < v.size(); ++i) o += (i ? "," : "") + std::to_string(v[i]);
    return o;
  }

  // cells_by_id / genes_by_id: the ids by name, then their nonzeros.
  Outcome ById(simdjson::dom::element sc, bool cells) {
    const std::string table = cells ? "cells" : "genes", name = cells ? "cell_id" : "gene_id";
    const std::string id = cells ? "cell_integer_id" : "gene_integer_id", other = cells ? "gene_integer_id" : "cell_integer_id";
    std::vector<std::string> names;
    for (simdjson::dom::element e : sc[cells ? "cell_ids" : "gene_ids"].get_array()) names.push_back(SqlLit(std::string_view(e)));
    std::string in;
    for (size_t i = 0; i < names.size(); ++i) in += (i ? ", " : "") + names[i];
    const bool one = style_ == SqlStyle::kUser && names.size() == 1;
    slaf::Table t;
    std::string q = "SELECT " + id + " FROM " + table + " WHERE " + name + (one ? " = " + names[0] : " IN (" + in + ")");
    if (slaf::Status s = Query(q, &t); !s.ok()) return Err(s);
    if (Outcome o = Shape(t, 1, "id lookup"); !o.ok) return o;
    ids_.clear();
    if (Outcome o = IdColumn(t.columns[0], &ids_); !o.ok) return o;
    if (ids_.size() != names.size()) return Fail("id lookup: " + std::to_string(ids_.size()) + " row(s) for " + std::to_string(names.size()) + " name(s)");
    if (style_ == SqlStyle::kDuckdb) {
      q = "SELECT cell_integer_id, gene_integer_id, value FROM expression WHERE " + id + " IN (" + Join(ids_) + ")";
    } else if (ids_.size() == 1) {
      q = "SELECT " + other + ", value FROM expression WHERE " + id + " = " + std::to_string(ids_[0]);
    } else {
      q = "SELECT cell_integer_id, gene_integer_id, value FROM expression WHERE " + id + " IN (" + Join(ids_) + ")";
    }
    if (slaf::Status s = Query(q, &t); !s.ok()) return Err(s);
    if (Outcome o = Shape(t, ids_.size() == 1 && style_ == SqlStyle::kUser ? 2 : 3, "expression"); !o.ok) return o;
    return NnzSumCheck(t);
  }

  Outcome Submatrix(simdjson::dom::element sc) {
    std::vector<uint64_t> c, g;
    for (auto v : sc["cells"].get_array()) c.push_back(uint64_t(v));
    for (auto v : sc["genes"].get_array()) g.push_back(uint64_t(v));
    slaf::Table t;
    if (slaf::Status s = Query("SELECT cell_integer_id, gene_integer_id, value FROM expression WHERE cell_integer_id IN (" + Join(c) + ") AND gene_integer_id IN (" + Join(g) + ")", &t); !s.ok())
      return Err(s);
    if (Outcome o = Shape(t, 3, "submatrix"); !o.ok) return o;
    return NnzSumCheck(t);
  }

  // groups = result rows, count_sum = sum of COUNT(*), avg_sum = sum of the averages.
  Outcome AggCellType() {
    slaf::Table t;
    const std::string q = style_ == SqlStyle::kDuckdb ? "SELECT cell_type, COUNT(*) AS n, AVG(total_counts) AS avg_total FROM cells GROUP BY cell_type"
                                                      : "SELECT cell_type, COUNT(*), AVG(total_counts) FROM cells GROUP BY cell_type";
    if (slaf::Status s = Query(q, &t); !s.ok()) return Err(s);
    if (Outcome o = Shape(t, 3, "agg"); !o.ok) return o;
    if (!IsNumeric(t.columns[1]) || !IsNumeric(t.columns[2])) return Fail("COUNT / AVG columns are not numeric");
    double count_sum = 0, avg_sum = 0;
    for (uint64_t i = 0; i < t.n_rows; ++i) {
      count_sum += NumAt(t.columns[1], i);
      if (!t.columns[2].is_null(i)) avg_sum += NumAt(t.columns[2], i);
    }
    Outcome o;
    o.check = "{\"groups\": " + std::to_string(t.n_rows) + ", \"count_sum\": " + std::to_string(static_cast<uint64_t>(count_sum)) + ", \"avg_sum\": " + Num(avg_sum) + "}";
    return o;
  }

  // n_genes = result rows (genes with a nonzero among those cells), sum =
  // sum of SUM(value), avg_sum = sum of AVG(value) (DuckDB style: SUM / COUNT,
  // as bench.mjs reduces it).
  Outcome AggGeneByCellType(simdjson::dom::element sc) {
    const std::string type = SqlLit(std::string_view(sc["cell_type"]));
    const bool duck = style_ == SqlStyle::kDuckdb;
    const std::string q =
        duck ? "SELECT e.gene_integer_id, SUM(e.value) AS s, COUNT(*) AS c, AVG(e.value) AS a FROM expression e JOIN cells c ON e.cell_integer_id = c.cell_integer_id WHERE c.cell_type = " +
                   type + " GROUP BY e.gene_integer_id"
             : "SELECT gene_integer_id, SUM(value), AVG(value) FROM expression e JOIN cells c ON e.cell_integer_id = c.cell_integer_id WHERE c.cell_type = " + type +
                   " GROUP BY gene_integer_id";
    slaf::Table t;
    if (slaf::Status s = Query(q, &t); !s.ok()) return Err(s);
    if (Outcome o = Shape(t, duck ? 4 : 3, "agg"); !o.ok) return o;
    for (size_t k = 1; k < t.columns.size(); ++k)
      if (!IsNumeric(t.columns[k])) return Fail("aggregate column " + std::to_string(k) + " is not numeric");
    uint64_t n = 0;
    double sum = 0, avg_sum = 0;
    for (uint64_t i = 0; i < t.n_rows; ++i) {
      const double s = NumAt(t.columns[1], i);
      if (duck) {
        const double c = NumAt(t.columns[2], i);
        sum += s;
        if (c > 0) ++n, avg_sum += s / c;
      } else {
        if (std::isnan(s)) continue;
        ++n;
        sum += s;
        avg_sum += NumAt(t.columns[2], i);
      }
    }
    Outcome o;
    o.check = "{\"n_genes\": " + std::to_string(n) + ", \"sum\": " + Num(sum) + ", \"avg_sum\": " + Num(avg_sum) + "}";
    return o;
  }

  Outcome TopGenes(simdjson::dom::element sc) {
    const std::string k = std::to_string(uint64_t(sc["k"]));
    const std::string q = style_ == SqlStyle::kDuckdb
                              ? "SELECT g.gene_id, t.s FROM (SELECT gene_integer_id, SUM(value) AS s FROM expression GROUP BY gene_integer_id) t JOIN genes g ON g.gene_integer_id = t.gene_integer_id ORDER BY t.s DESC, t.gene_integer_id ASC LIMIT " + k
                              : "SELECT g.gene_id, SUM(e.value) AS total FROM expression e JOIN genes g ON e.gene_integer_id = g.gene_integer_id GROUP BY g.gene_id ORDER BY total DESC LIMIT " + k;
    slaf::Table t;
    if (slaf::Status s = Query(q, &t); !s.ok()) return Err(s);
    if (Outcome o = Shape(t, 2, "top genes"); !o.ok) return o;
    const slaf::Column& id = t.columns[0];
    if (id.type != slaf::ColumnType::kString || !IsNumeric(t.columns[1])) return Fail("top genes: expected (string, number) columns");
    Outcome o;
    o.check = "{\"top\": [";
    for (uint64_t i = 0; i < t.n_rows; ++i) o.check += (i ? ", [" : "[") + JsonStr(id.str(i)) + ", " + Num(NumAt(t.columns[1], i)) + "]";
    o.check += "]}";
    return o;
  }

  Outcome FullScan() {
    const bool duck = style_ == SqlStyle::kDuckdb;
    slaf::Table t;
    if (slaf::Status s = Query(duck ? "SELECT COUNT(*) AS n, CAST(SUM(value) AS DOUBLE) AS s FROM expression" : "SELECT SUM(value), COUNT(*) FROM expression", &t); !s.ok()) return Err(s);
    if (Outcome o = Shape(t, 2, "scan"); !o.ok) return o;
    if (t.n_rows != 1 || !IsNumeric(t.columns[0]) || !IsNumeric(t.columns[1])) return Fail("scan: expected one row of two numbers");
    const slaf::Column& n = t.columns[duck ? 0 : 1];
    const uint64_t nnz = n.type == slaf::ColumnType::kInt64 ? static_cast<uint64_t>(n.ints[0]) : static_cast<uint64_t>(NumAt(n, 0));
    Outcome o;
    o.check = NnzSum(nnz, NumAt(t.columns[duck ? 1 : 0], 0));
    return o;
  }

  slaf::Dataset* ds_;
  SqlStyle style_;
  slaf::sql::QueryOptions options_;
  bool explain_ = false;
  std::vector<std::string> sql_;  // statements of the current scenario
  std::vector<std::vector<double>> runs_;  // per run since Reset(): ms per statement
  std::vector<uint64_t> ids_;
};

class Runner {
 public:
  Runner(slaf::Dataset* ds, const std::string& data_dir, SqlRunner* sql = nullptr) : ds_(ds), data_dir_(data_dir), sql_(sql) {}

  Outcome Run(simdjson::dom::element sc, double stream_seconds, bool cold) {
    if (sql_) {
      if (std::optional<Outcome> o = sql_->Run(sc)) return *std::move(o);
    }
    const std::string_view kind = sc["kind"];
    if (kind == "cell_filter" || kind == "gene_filter") return Filter(sc, kind == "cell_filter");
    if (kind == "cells_by_id") return CellsById(sc);
    if (kind == "genes_by_id") return GenesById(sc);
    if (kind == "submatrix") return Submatrix(sc);
    if (kind == "agg_celltype") return AggCellType();
    if (kind == "agg_gene_by_celltype") return AggGeneByCellType(sc);
    if (kind == "agg_top_genes") return TopGenes(sc);
    if (kind == "full_scan") return FullScan();
    if (kind == "stream") return Stream(sc, stream_seconds, cold);
    return Unsupported("unknown scenario kind " + std::string(kind));
  }

  double stream_ms() const { return stream_ms_; }

 private:
  static Outcome Err(const slaf::Status& s) { return Fail(s.ToString()); }

  Outcome Filter(simdjson::dom::element sc, bool cells) {
    slaf::Predicate p;
    std::vector<std::pair<std::string, std::string>> prefixes;  // not_prefix terms the predicate cannot hold
    if (std::string e = TermsToPredicate(sc["terms"].get_array(), &p, &prefixes); !e.empty()) return Unsupported(e);
    // The ids stay in the vector the dataset returns. A widening copy cost
    // more than the filter: freeing 145 KB at the top of the heap made glibc
    // trim it, and that brk's TLB shootdown took ~0.5 ms on the bench VM.
    return cells ? FilterCheck(ds_->cells(p), prefixes, true) : FilterCheck(ds_->genes(p), prefixes, false);
  }

  template <typename Id>
  Outcome FilterCheck(slaf::Result<std::vector<Id>> ids, const std::vector<std::pair<std::string, std::string>>& prefixes, bool cells) {
    if (!ids.ok()) return Err(ids.status());
    for (const auto& [column, prefix] : prefixes) {
      const std::string name[] = {column};
      auto t = cells ? ds_->obs(name) : ds_->var(name);
      if (!t.ok()) return Err(t.status());
      const slaf::Column& c = t->columns[0];
      if (c.type != slaf::ColumnType::kString && c.type != slaf::ColumnType::kCategorical) return Fail(column + " is not a string column");
      std::erase_if(*ids, [&](Id i) { return !c.is_null(i) && c.str(i).starts_with(prefix); });
    }
    Outcome o;
    o.check = IdsCheck(*ids);
    return o;
  }

  // Rows of the names in `list` through the (cached) index of obs or var.
  Outcome Resolve(simdjson::dom::array list, bool obs, std::vector<uint64_t>* rows) {
    NameIndex& index = obs ? cell_index_ : gene_index_;
    if (!index.built()) {
      const slaf::TableEntry& t = obs ? ds_->manifest().obs : ds_->manifest().var;
      const std::string name[] = {t.index_column};
      slaf::Status s = index.Build(obs ? ds_->obs(name) : ds_->var(name));
      if (!s.ok()) return Err(s);
    }
    for (simdjson::dom::element id : list) {
      uint64_t row;
      if (!index.Find(std::string_view(id), &row)) return Fail("unknown " + std::string(obs ? "cell" : "gene") + " id " + std::string(std::string_view(id)));
      rows->push_back(row);
    }
    return Outcome();
  }

  Outcome CellsById(simdjson::dom::element sc) {
    std::vector<uint64_t> rows;
    if (Outcome o = Resolve(sc["cell_ids"].get_array(), true, &rows); !o.ok) return o;
    if (slaf::Status s = ds_->ReadCells(rows, {}, &result_); !s.ok()) return Err(s);
    Outcome o;
    o.check = NnzSumOf(result_);
    return o;
  }

  Outcome GenesById(simdjson::dom::element sc) {
    std::vector<uint64_t> cols;
    if (Outcome o = Resolve(sc["gene_ids"].get_array(), false, &cols); !o.ok) return o;
    if (ds_->manifest().x.gene_index) {
      // The gene-major copy: only the chunks of these genes are read.
      std::vector<uint32_t> genes(cols.begin(), cols.end());
      auto m = ds_->ReadGenes(genes);
      if (!m.ok()) return Err(m.status());
      Outcome o;
      o.check = NnzSumOf(*m);
      return o;
    }
    slaf::ScanOptions so;
    for (uint64_t c : cols) so.columns.push_back(static_cast<uint32_t>(c));
    so.want_indices = false;  // the check needs values only
    uint64_t nnz = 0;
    double sum = 0;
    if (slaf::Status s = ScanX(so, [&](const slaf::CsrMatrix& b) { Accumulate(b, &nnz, &sum); }); !s.ok()) return Err(s);
    Outcome o;
    o.check = NnzSum(nnz, sum);
    return o;
  }

  Outcome Submatrix(simdjson::dom::element sc) {
    std::vector<uint64_t> rows;
    std::vector<uint32_t> cols;
    for (auto v : sc["cells"].get_array()) rows.push_back(uint64_t(v));
    for (auto v : sc["genes"].get_array()) cols.push_back(static_cast<uint32_t>(uint64_t(v)));
    if (slaf::Status s = ds_->ReadCells(rows, cols, &result_); !s.ok()) return Err(s);
    Outcome o;
    o.check = NnzSumOf(result_);
    return o;
  }

  // SELECT cell_type, COUNT(*), AVG(total_counts) GROUP BY cell_type, as
  // pandas' groupby(observed=True).agg(["count", "mean"]): rows with a null
  // cell_type form no group, null total_counts are neither counted nor
  // averaged.
  Outcome AggCellType() {
    const std::string names[] = {"cell_type", "total_counts"};
    auto t = ds_->obs(names);
    if (!t.ok()) return Err(t.status());
    const slaf::Column& ct = t->columns[0];
    const slaf::Column& tc = t->columns[1];
    auto total = [&](uint64_t i) { return tc.type == slaf::ColumnType::kInt64 ? static_cast<double>(tc.ints[i]) : tc.doubles[i]; };
    if (tc.type != slaf::ColumnType::kInt64 && tc.type != slaf::ColumnType::kFloat64) return Fail("total_counts is not numeric");
    std::vector<uint64_t> rows, count;
    std::vector<double> sum;
    std::unordered_map<std::string_view, uint32_t> groups;  // string cell_type only
    for (uint64_t i = 0; i < ct.n_rows; ++i) {
      if (ct.is_null(i)) continue;
      uint32_t g;
      if (ct.type == slaf::ColumnType::kCategorical) g = ct.codes[i];
      else g = groups.emplace(ct.str(i), static_cast<uint32_t>(groups.size())).first->second;
      if (g >= rows.size()) {
        rows.resize(g + 1);
        count.resize(g + 1);
        sum.resize(g + 1);
      }
      ++rows[g];
      if (tc.is_null(i) || std::isnan(total(i))) continue;
      ++count[g];
      sum[g] += total(i);
    }
    uint64_t n_groups = 0, count_sum = 0;
    double avg_sum = 0;
    for (size_t g = 0; g < rows.size(); ++g) {
      if (rows[g] == 0) continue;
      ++n_groups;
      count_sum += count[g];
      if (count[g]) avg_sum += sum[g] / static_cast<double>(count[g]);
    }
    Outcome o;
    o.check = "{\"groups\": " + std::to_string(n_groups) + ", \"count_sum\": " + std::to_string(count_sum) + ", \"avg_sum\": " + Num(avg_sum) + "}";
    return o;
  }

  // Per gene over the cells of one type: SUM(value), COUNT = nonzeros,
  // AVG = SUM / COUNT.
  Outcome AggGeneByCellType(simdjson::dom::element sc) {
    const std::string type{std::string_view(sc["cell_type"])};
    auto cells = ds_->cells(slaf::Predicate::Compare("cell_type", slaf::Predicate::Op::kEq, type));
    if (!cells.ok()) return Err(cells.status());
    if (cells->empty()) {
      Outcome o;
      o.check = "{\"n_genes\": 0, \"sum\": 0, \"avg_sum\": 0}";
      return o;
    }
    auto st = ds_->GeneStats(*cells);
    if (!st.ok()) return Err(st.status());
    uint64_t n_genes = 0;
    double sum = 0, avg_sum = 0;
    for (size_t g = 0; g < st->nnz.size(); ++g) {
      if (st->nnz[g] == 0) continue;
      ++n_genes;
      sum += st->sum[g];
      avg_sum += st->sum[g] / static_cast<double>(st->nnz[g]);
    }
    Outcome o;
    o.check = "{\"n_genes\": " + std::to_string(n_genes) + ", \"sum\": " + Num(sum) + ", \"avg_sum\": " + Num(avg_sum) + "}";
    return o;
  }

  Outcome TopGenes(simdjson::dom::element sc) {
    const size_t k = uint64_t(sc["k"]);
    auto st = ds_->GeneStats();
    if (!st.ok()) return Err(st.status());
    const std::string name[] = {ds_->manifest().var.index_column};
    auto var = ds_->var(name);
    if (!var.ok()) return Err(var.status());
    const slaf::Column& ids = var->columns[0];
    std::vector<uint32_t> order(st->sum.size());
    for (uint32_t g = 0; g < order.size(); ++g) order[g] = g;
    const size_t kk = std::min(k, order.size());
    std::partial_sort(order.begin(), order.begin() + kk, order.end(),
                      [&](uint32_t a, uint32_t b) { return st->sum[a] != st->sum[b] ? st->sum[a] > st->sum[b] : a < b; });
    Outcome o;
    o.check = "{\"top\": [";
    for (size_t i = 0; i < kk; ++i) o.check += (i ? ", [" : "[") + JsonStr(ids.str(order[i])) + ", " + Num(st->sum[order[i]]) + "]";
    o.check += "]}";
    return o;
  }

  Outcome FullScan() {
    slaf::ScanOptions so;
    so.want_indices = false;  // projection pushdown: only the value stream is decoded
    uint64_t nnz = 0;
    double sum = 0;
    if (slaf::Status s = ScanX(so, [&](const slaf::CsrMatrix& b) { Accumulate(b, &nnz, &sum); }); !s.ok()) return Err(s);
    Outcome o;
    o.check = NnzSum(nnz, sum);
    return o;
  }

  // Readers of the X segments the manifest lists, opened on first use.
  slaf::Status OpenX() {
    if (!x_.empty()) return slaf::Status::OK();
    for (const slaf::SegmentRef& ref : ds_->manifest().x.segments) {
      SLAF_ASSIGN_OR_RETURN(std::shared_ptr<slaf::io::RandomAccessFile> f, ds_->store()->OpenRead(ref.path));
      if (f->size() != ref.size) return slaf::Status::Corruption(ref.path + ": size differs from the manifest");
      SLAF_ASSIGN_OR_RETURN(std::unique_ptr<slaf::SegmentReader> r, slaf::SegmentReader::Open(f));
      x_.push_back(std::move(r));
    }
    return slaf::Status::OK();
  }

  template <typename F>
  slaf::Status ScanX(const slaf::ScanOptions& so, F&& f) {
    SLAF_RETURN_IF_ERROR(OpenX());
    for (const auto& r : x_) {
      SLAF_ASSIGN_OR_RETURN(std::unique_ptr<slaf::SegmentScanner> scan, r->Scan(so));
      uint64_t first;
      while (true) {
        SLAF_ASSIGN_OR_RETURN(bool more, scan->Next(&block_, &first));
        if (!more) break;
        f(block_);
      }
    }
    return slaf::Status::OK();
  }

  Outcome Stream(simdjson::dom::element sc, double seconds, bool cold) {
    if (perm_.empty()) {
      std::ifstream in(data_dir_ + "/stream_perm.u32", std::ios::binary);
      std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      perm_.resize(raw.size() / 4);
      std::memcpy(perm_.data(), raw.data(), perm_.size() * 4);
    }
    const size_t bs = uint64_t(sc["batch_size"]);
    const uint64_t n = ds_->n_cells();
    if (perm_.size() != n) return Fail("stream_perm.u32 does not match n_cells");
    if (bs == 0 || bs > n) return Fail("batch_size must be in 1..n_cells");
    size_t pos = 0;
    uint64_t batches = 0, cells = 0, nnz = 0;
    std::vector<uint64_t> batch(bs);
    slaf::CsrMatrix m;
    slaf::Status status;
    auto one = [&]() {
      if (pos + bs > n) pos = 0;
      std::copy(perm_.begin() + pos, perm_.begin() + pos + bs, batch.begin());
      std::sort(batch.begin(), batch.end());
      pos += bs;
      if (slaf::Status s = ds_->ReadCells(batch, {}, &m); !s.ok()) status = s;
      ++batches;
      cells += bs;
      nnz += m.nnz();
    };
    auto t0 = Clock::now();
    one();
    const double first_ms = Ms(t0);
    double secs = first_ms / 1000;
    if (!cold) {
      const auto w0 = Clock::now();  // 1 s warm-up
      while (Ms(w0) < 1000 && status.ok()) one();
      batches = cells = nnz = 0;
      t0 = Clock::now();
      while (Ms(t0) < seconds * 1000 && status.ok()) {
        for (int i = 0; i < 16; ++i) one();
      }
      secs = Ms(t0) / 1000;
    }
    if (!status.ok()) return Err(status);
    Outcome o;
    o.check = "null";
    char b[512];
    std::snprintf(b, sizeof b, "\"stream\": {\"batches\": %" PRIu64 ", \"cells\": %" PRIu64 ", \"nnz\": %" PRIu64 ", \"seconds\": %.6f, \"cells_per_s\": %.1f, \"nnz_per_s\": %.1f, \"first_batch_ms\": %.4f}", batches,
                  cells, nnz, secs, cells / secs, nnz / secs, first_ms);
    o.extra = b;
    stream_ms_ = cold ? first_ms : secs * 1000;
    return o;
  }

  slaf::Dataset* ds_;
  std::string data_dir_;
  SqlRunner* sql_;
  std::vector<std::unique_ptr<slaf::SegmentReader>> x_;
  NameIndex cell_index_, gene_index_;
  slaf::CsrMatrix block_, result_;  // reused: callers keep buffers across queries
  std::vector<uint32_t> perm_;
  double stream_ms_ = 0;
};

void Emit(const std::string& line) {
  std::printf("@@RESULT %s\n", line.c_str());
  std::fflush(stdout);
}

std::string Head(const std::string& id, const Outcome& o) {
  std::string s = "{\"scenario\": " + JsonStr(id) + ", \"ok\": " + (o.ok ? "true" : "false");
  if (o.unsupported) s += ", \"unsupported\": true";
  if (!o.ok) s += ", \"error\": " + JsonStr(o.error);
  return s;
}

int Bench(const Args& a) {
  const std::string d = Arg(a, "--data-dir"), store = Arg(a, "--store"), mode = Arg(a, "--mode", "warm");
  const int repeats = std::stoi(Arg(a, "--repeats", "7"));
  const double max_seconds = std::stod(Arg(a, "--max-seconds", "30"));
  const std::string stream_arg = Arg(a, "--stream-seconds");
  std::vector<std::string> only;
  if (a.count("--scenario")) only = a.at("--scenario");
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.load(d + "/scenarios.json").get(doc)) Die("cannot parse " + d + "/scenarios.json");
  const bool cold = mode == "cold";
  const auto t_open = Clock::now();
  auto ds = slaf::Dataset::Open(store);
  if (!ds.ok()) Die(ds.status().ToString());
  const double open_ms = Ms(t_open);
  const SqlStyle style = SqlStyleFromEnv();
  std::optional<SqlRunner> sql;
  if (style != SqlStyle::kOff) sql.emplace(ds->get(), style);
  Runner runner(ds->get(), d, sql ? &*sql : nullptr);
  const std::string engine = Version((*ds)->manifest().x.gene_index.has_value()) + (sql ? ", SQL mode (" + std::string(sql->style_name()) + " statements)" : "");
  if (!cold) Emit("{\"scenario\": \"__open__\", \"ok\": true, \"open_ms\": " + Num(open_ms) + ", \"peak_rss_mb\": " + Num(PeakRssMb()) + ", \"engine\": " + JsonStr(engine) + "}");
  for (auto sc : doc["scenarios"].get_array()) {
    const std::string id{std::string_view(sc["id"])};
    if (!only.empty() && std::find(only.begin(), only.end(), id) == only.end()) continue;
    const bool is_stream = std::string_view(sc["kind"]) == "stream";
    double stream_seconds = 10;
    if (is_stream) stream_seconds = stream_arg.empty() ? double(sc["seconds"]) : std::stod(stream_arg);
    if (sql) sql->Reset();
    if (cold) {
      const auto t0 = Clock::now();
      Outcome o = runner.Run(sc, stream_seconds, true);
      const double q = is_stream ? runner.stream_ms() : Ms(t0);
      std::string line = Head(id, o);
      if (o.ok) {
        line += ", \"open_ms\": " + Num(open_ms) + ", \"query_ms\": " + Num(q) + ", \"total_ms\": " + Num(open_ms + q) + ", \"check\": " + o.check;
        if (!o.extra.empty()) line += ", " + o.extra;
        if (sql && !sql->StatementTimes(0).empty()) line += ", " + sql->StatementTimes(0);
        line += ", \"peak_rss_mb\": " + Num(PeakRssMb());
      }
      Emit(line + "}");
      continue;
    }
    ResetPeakRss();
    const auto t_sc = Clock::now();
    auto t0 = Clock::now();
    Outcome o = runner.Run(sc, stream_seconds, false);
    const double first_ms = Ms(t0);
    std::string line = Head(id, o);
    if (!o.ok) {
      Emit(line + "}");
      continue;
    }
    std::vector<double> times;
    if (is_stream) {
      times.push_back(runner.stream_ms());
    } else {
      while (static_cast<int>(times.size()) < repeats && Ms(t_sc) < max_seconds * 1000) {
        t0 = Clock::now();
        Outcome again = runner.Run(sc, stream_seconds, false);
        times.push_back(Ms(t0));
        if (!again.ok) break;
      }
    }
    line += ", \"first_ms\": " + Num(first_ms) + ", \"times_ms\": [";
    bool warmup_only = times.empty();
    if (warmup_only) times.push_back(first_ms);
    for (size_t i = 0; i < times.size(); ++i) line += (i ? ", " : "") + Num(times[i]);
    line += "], \"check\": " + o.check;
    if (warmup_only) line += ", \"warmup_only\": true";
    if (!o.extra.empty()) line += ", " + o.extra;
    if (sql && !sql->StatementTimes(1).empty()) line += ", " + sql->StatementTimes(1);
    line += ", \"peak_rss_mb\": " + Num(PeakRssMb()) + "}";
    Emit(line);
    if (sql) sql->Explain(id);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) Die("usage: slaf-peer-worker import|bench --option value ...");
  const std::string cmd = argv[1];
  auto args = ParseArgs(argc, argv);
  if (cmd == "import") return Import(args);
  if (cmd == "bench") return Bench(args);
  Die("unknown command " + cmd);
}
