// slaf info and slaf versions: what a dataset version holds, and its history.
// Everything comes from the manifest plus the footers of the listed files
// (chunk counts, null counts); no column or matrix is read.
#include <cinttypes>
#include <cstdio>

#include "slaf/json_writer.h"
#include "tools/cli.h"

namespace slaf::cli {

namespace {

const char* kInfoUsage =
    "usage: slaf info DATASET [--version N] [--json]\n"
    "Shape, nnz, value type, the version (timestamp, operation), bytes on disk and\n"
    "per nonzero, segments and chunks, obs/var columns with types, categories and\n"
    "null counts, layers, obsm/varm and uns. --json prints one JSON object.\n"
    "Only the manifest and file footers are read.\n";

const char* kVersionsUsage =
    "usage: slaf versions DATASET [--json]\n"
    "One row per committed version: number, timestamp (UTC), operation,\n"
    "cells x genes, nnz and message. --json prints {\"versions\": [...]}.\n";

// Longest uns printed as is in the text output (the JSON output allows more).
constexpr size_t kShortUnsText = 240;
constexpr size_t kShortUnsJson = 64 * 1024;

const char* ValueTypeName(ValueType t) { return t == ValueType::kUInt32 ? "uint32" : "float32"; }
const char* DenseTypeName(DenseType t) { return t == DenseType::kFloat32 ? "float32" : "float64"; }

uint64_t MatrixBytes(const MatrixEntry& m) {
  uint64_t b = 0;
  for (const SegmentRef& s : m.segments) b += s.size;
  return b;
}

// What the footers add to the manifest. Failures to read a footer are kept
// as warnings: info still describes a damaged dataset (verify judges it).
struct Footers {
  std::map<const MatrixEntry*, std::optional<uint64_t>> chunks;
  // Per table entry, null count of each column (absent: unknown).
  std::map<std::pair<const TableEntry*, std::string>, uint64_t> nulls;
  std::vector<std::string> warnings;
};

Result<std::shared_ptr<io::RandomAccessFile>> OpenChecked(io::ObjectStore* store, const FileRef& f) {
  SLAF_ASSIGN_OR_RETURN(std::shared_ptr<io::RandomAccessFile> file, store->OpenRead(f.path));
  if (file->size() != f.size) {
    return Status::Corruption(store->location() + "/" + f.path + ": " + std::to_string(file->size()) +
                              " bytes, the manifest says " + std::to_string(f.size));
  }
  return file;
}

void ReadFooters(io::ObjectStore* store, const Manifest& m, Footers* out) {
  std::vector<const MatrixEntry*> matrices{&m.x};
  for (const auto& [_, l] : m.layers) matrices.push_back(&l);
  for (const MatrixEntry* mx : matrices) {
    uint64_t n = 0;
    bool known = true;
    for (const SegmentRef& s : mx->segments) {
      Result<std::shared_ptr<io::RandomAccessFile>> f = OpenChecked(store, s);
      Result<std::unique_ptr<SegmentReader>> r = f.ok() ? SegmentReader::Open(*f) : Result<std::unique_ptr<SegmentReader>>(f.status());
      if (!r.ok()) {
        out->warnings.push_back(r.status().ToString());
        known = false;
        break;
      }
      n += (*r)->info().chunks.size();
    }
    out->chunks[mx] = known ? std::optional<uint64_t>(n) : std::nullopt;
  }
  for (const TableEntry* t : {&m.obs, &m.var}) {
    std::vector<std::unique_ptr<TableReader>> readers(t->files.size());
    for (size_t i = 0; i < t->files.size(); ++i) {
      Result<std::shared_ptr<io::RandomAccessFile>> f = OpenChecked(store, t->files[i]);
      Result<std::unique_ptr<TableReader>> r = f.ok() ? TableReader::Open(*f) : Result<std::unique_ptr<TableReader>>(f.status());
      if (r.ok()) readers[i] = std::move(*r);
      else out->warnings.push_back(r.status().ToString());
    }
    for (const ColumnSchema& c : t->columns) {
      uint64_t n = 0;
      bool known = true;
      for (uint32_t fi : c.files) {
        const int k = readers[fi] ? readers[fi]->info().FindColumn(c.name) : -1;
        if (k < 0) {
          known = false;
          break;
        }
        n += readers[fi]->info().columns[k].null_count;
      }
      if (known) out->nulls[{t, c.name}] = n;
    }
  }
}

std::string Plural(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

void PrintTableText(const char* label, const TableEntry& t, const Footers& f) {
  std::printf("%-11s %" PRIu64 " rows, %s, index %s, %s\n", label, t.n_rows, Plural(t.columns.size(), "column", "columns").c_str(),
              t.index_column.empty() ? "(none)" : t.index_column.c_str(), Plural(t.files.size(), "file", "files").c_str());
  for (const ColumnSchema& c : t.columns) {
    std::string detail;
    if (c.type == ColumnType::kCategorical) {
      detail = Plural(c.categories.size(), "category", "categories");
      std::string list;
      for (size_t k = 0; k < c.categories.size(); ++k) {
        if (list.size() > 60) {
          list += ", ...";
          break;
        }
        list += (k ? ", " : "") + c.categories[k];
      }
      if (!list.empty()) detail += ": " + list;
    }
    auto it = f.nulls.find({&t, c.name});
    const std::string nulls = it == f.nulls.end() ? "nulls ?" : it->second ? "nulls " + std::to_string(it->second) : "";
    if (!nulls.empty()) detail = nulls + (detail.empty() ? "" : ", " + detail);
    if (detail.empty()) std::printf("  %-22s %s\n", c.name.c_str(), std::string(ColumnTypeName(c.type)).c_str());
    else std::printf("  %-22s %-12s %s\n", c.name.c_str(), std::string(ColumnTypeName(c.type)).c_str(), detail.c_str());
  }
}

void PrintTableJson(JsonWriter& w, const TableEntry& t, const Footers& f) {
  w.BeginObject().Key("n_rows").Uint(t.n_rows).Key("index").String(t.index_column).Key("files").Uint(t.files.size());
  w.Key("columns").BeginArray();
  for (const ColumnSchema& c : t.columns) {
    w.BeginObject().Key("name").String(c.name).Key("type").String(ColumnTypeName(c.type));
    auto it = f.nulls.find({&t, c.name});
    w.Key("null_count");
    if (it == f.nulls.end()) w.Null();
    else w.Uint(it->second);
    if (c.type == ColumnType::kCategorical) {
      w.Key("n_categories").Uint(c.categories.size()).Key("categories").BeginArray();
      for (const std::string& s : c.categories) w.String(s);
      w.EndArray();
    }
    w.EndObject();
  }
  w.EndArray().EndObject();
}

}  // namespace

int Info(const std::vector<std::string>& argv) {
  Args args;
  if (Status s = args.Parse(argv, {"--json"}, {"--version"}); !s.ok()) return UsageError(kInfoUsage, "info: " + s.message());
  if (args.Has("--help")) return std::fputs(kInfoUsage, stdout), 0;
  if (args.positional().size() != 1) return UsageError(kInfoUsage, "info: expected one DATASET");
  const std::string path = args.positional()[0];
  bool usage = false;
  Result<std::unique_ptr<Dataset>> ds = OpenDataset(path, args, &usage);
  if (!ds.ok()) return usage ? UsageError(kInfoUsage, ds.status().message()) : Fail(ds.status());
  const Manifest& m = (*ds)->manifest();
  io::ObjectStore* store = (*ds)->store();
  Result<uint64_t> latest = LatestVersion(store);
  if (!latest.ok()) return Fail(latest.status());
  Footers f;
  ReadFooters(store, m, &f);
  const uint64_t nnz = m.x.nnz(), x_bytes = MatrixBytes(m.x), all_bytes = (*ds)->bytes_on_disk();
  const uint64_t n_files = m.Files().size();
  const double per_nnz_x = nnz ? double(x_bytes) / nnz : 0.0, per_nnz_all = nnz ? double(all_bytes) / nnz : 0.0;
  const double density = m.n_cells && m.n_genes ? double(nnz) / (double(m.n_cells) * m.n_genes) : 0.0;
  for (const std::string& w : f.warnings) std::fprintf(stderr, "slaf: warning: %s\n", w.c_str());

  if (args.Has("--json")) {
    JsonWriter w;
    w.BeginObject();
    w.Key("path").String(path).Key("version").Uint(m.version).Key("latest_version").Uint(*latest);
    w.Key("parent").Uint(m.parent).Key("timestamp_ms").Int(m.timestamp_ms).Key("timestamp").String(FormatTimestamp(m.timestamp_ms));
    w.Key("operation").String(m.operation).Key("message").String(m.message);
    w.Key("n_cells").Uint(m.n_cells).Key("n_genes").Uint(m.n_genes).Key("nnz").Uint(nnz).Key("density").Double(density);
    w.Key("value_type").String(ValueTypeName(m.x.value_type));
    w.Key("x_bytes").Uint(x_bytes).Key("x_bytes_per_nnz").Double(per_nnz_x);
    w.Key("bytes_on_disk").Uint(all_bytes).Key("bytes_per_nnz").Double(per_nnz_all).Key("files").Uint(n_files);
    w.Key("segments").Uint(m.x.segments.size()).Key("chunks");
    if (f.chunks[&m.x]) w.Uint(*f.chunks[&m.x]);
    else w.Null();
    w.Key("gene_index");
    if (m.x.gene_index) {
      uint64_t bytes = 0;
      for (const GeneSegmentRef& g : m.x.gene_index->segments) bytes += g.size;
      w.BeginObject().Key("n_cells").Uint(m.x.gene_index->n_cells).Key("segments").Uint(m.x.gene_index->segments.size());
      w.Key("bytes").Uint(bytes).EndObject();
    } else {
      w.Null();
    }
    w.Key("obs");
    PrintTableJson(w, m.obs, f);
    w.Key("var");
    PrintTableJson(w, m.var, f);
    w.Key("layers").BeginObject();
    for (const auto& [name, l] : m.layers) {
      w.Key(name).BeginObject().Key("value_type").String(ValueTypeName(l.value_type)).Key("nnz").Uint(l.nnz());
      w.Key("segments").Uint(l.segments.size()).Key("chunks");
      if (f.chunks[&l]) w.Uint(*f.chunks[&l]);
      else w.Null();
      w.Key("bytes").Uint(MatrixBytes(l)).EndObject();
    }
    w.EndObject();
    for (const auto& [label, dense] : {std::pair{"obsm", &m.obsm}, std::pair{"varm", &m.varm}}) {
      w.Key(label).BeginObject();
      for (const auto& [name, d] : *dense) {
        w.Key(name).BeginObject().Key("n_rows").Uint(d.n_rows).Key("n_cols").Uint(d.n_cols).Key("dtype").String(DenseTypeName(d.type));
        w.Key("bytes").Uint(d.size).EndObject();
      }
      w.EndObject();
    }
    w.Key("uns_bytes").Uint(m.uns_json.size());
    if (m.uns_json.size() <= kShortUnsJson) w.Key("uns").Raw(m.uns_json);
    w.EndObject();
    std::printf("%s\n", w.str().c_str());
    return 0;
  }

  std::printf("%-11s %s\n", "dataset", path.c_str());
  std::printf("%-11s %" PRIu64 " of %" PRIu64 ", %s, %s%s%s\n", "version", m.version, *latest, FormatTimestamp(m.timestamp_ms).c_str(),
              m.operation.c_str(), m.message.empty() ? "" : ": ", m.message.c_str());
  std::printf("%-11s %" PRIu64 " cells x %u genes, %s\n", "shape", m.n_cells, m.n_genes, ValueTypeName(m.x.value_type));
  std::printf("%-11s %" PRIu64 " (%.2f%% of entries)\n", "nnz", nnz, 100.0 * density);
  const std::optional<uint64_t>& xc = f.chunks[&m.x];
  std::printf("%-11s %s, %s chunks, %" PRIu64 " bytes (%s), %.3f B/nnz\n", "X", Plural(m.x.segments.size(), "segment", "segments").c_str(),
              xc ? std::to_string(*xc).c_str() : "?", x_bytes, HumanBytes(x_bytes).c_str(), per_nnz_x);
  if (m.x.gene_index) {
    uint64_t bytes = 0;
    for (const GeneSegmentRef& g : m.x.gene_index->segments) bytes += g.size;
    std::printf("%-11s gene-major copy of cells 0-%" PRIu64 "%s, %s, %s\n", "gene index",
                m.x.gene_index->n_cells ? m.x.gene_index->n_cells - 1 : 0,
                m.x.gene_index->n_cells == m.n_cells ? " (all)" : " (later cells are scanned)",
                Plural(m.x.gene_index->segments.size(), "file", "files").c_str(), HumanBytes(bytes).c_str());
  } else {
    std::printf("%-11s none (slaf index DATASET builds one for fast gene queries)\n", "gene index");
  }
  std::printf("%-11s %s, %" PRIu64 " bytes (%s), %.3f B/nnz\n", "all files", Plural(n_files, "file", "files").c_str(), all_bytes,
              HumanBytes(all_bytes).c_str(), per_nnz_all);
  PrintTableText("obs", m.obs, f);
  PrintTableText("var", m.var, f);
  std::printf("%-11s %s\n", "layers", m.layers.empty() ? "none" : Plural(m.layers.size(), "layer", "layers").c_str());
  for (const auto& [name, l] : m.layers) {
    const std::optional<uint64_t>& lc = f.chunks[&l];
    std::printf("  %-22s %-12s nnz %" PRIu64 ", %s, %s chunks, %s\n", name.c_str(), ValueTypeName(l.value_type), l.nnz(),
                Plural(l.segments.size(), "segment", "segments").c_str(), lc ? std::to_string(*lc).c_str() : "?",
                HumanBytes(MatrixBytes(l)).c_str());
  }
  for (const auto& [label, dense] : {std::pair{"obsm", &m.obsm}, std::pair{"varm", &m.varm}}) {
    std::printf("%-11s %s\n", label, dense->empty() ? "none" : Plural(dense->size(), "matrix", "matrices").c_str());
    for (const auto& [name, d] : *dense) {
      std::printf("  %-22s %" PRIu64 " x %u %s, %s\n", name.c_str(), d.n_rows, d.n_cols, DenseTypeName(d.type), HumanBytes(d.size).c_str());
    }
  }
  if (m.uns_json.size() <= kShortUnsText) std::printf("%-11s %s\n", "uns", m.uns_json.c_str());
  else std::printf("%-11s %zu bytes of JSON\n", "uns", m.uns_json.size());
  return 0;
}

int Versions(const std::vector<std::string>& argv) {
  Args args;
  if (Status s = args.Parse(argv, {"--json"}, {}); !s.ok()) return UsageError(kVersionsUsage, "versions: " + s.message());
  if (args.Has("--help")) return std::fputs(kVersionsUsage, stdout), 0;
  if (args.positional().size() != 1) return UsageError(kVersionsUsage, "versions: expected one DATASET");
  const std::string& path = args.positional()[0];
  Result<std::shared_ptr<io::ObjectStore>> store = OpenStore(path, /*create=*/false);
  if (!store.ok()) return Fail(store.status());
  Result<std::vector<VersionInfo>> versions = ListVersions(store->get());
  if (!versions.ok()) return Fail(versions.status());
  if (versions->empty()) return Fail(path + ": not a slaf dataset (no _versions/ manifests)");
  if (args.Has("--json")) {
    JsonWriter w;
    w.BeginObject().Key("path").String(path).Key("versions").BeginArray();
    for (const VersionInfo& v : *versions) {
      w.BeginObject().Key("version").Uint(v.version).Key("parent").Uint(v.parent).Key("timestamp_ms").Int(v.timestamp_ms);
      w.Key("timestamp").String(FormatTimestamp(v.timestamp_ms)).Key("operation").String(v.operation).Key("message").String(v.message);
      w.Key("n_cells").Uint(v.n_cells).Key("n_genes").Uint(v.n_genes).Key("nnz").Uint(v.nnz).EndObject();
    }
    w.EndArray().EndObject();
    std::printf("%s\n", w.str().c_str());
    return 0;
  }
  std::printf("%7s  %-24s  %-16s  %-22s  %14s  %s\n", "version", "timestamp (UTC)", "operation", "cells x genes", "nnz", "message");
  for (const VersionInfo& v : *versions) {
    const std::string shape = std::to_string(v.n_cells) + " x " + std::to_string(v.n_genes);
    std::printf("%7" PRIu64 "  %-24s  %-16s  %-22s  %14" PRIu64 "  %s\n", v.version, FormatTimestamp(v.timestamp_ms).c_str(),
                v.operation.c_str(), shape.c_str(), v.nnz, v.message.c_str());
  }
  return 0;
}

}  // namespace slaf::cli
