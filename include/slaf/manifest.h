// The manifest of one dataset version (format-spec §9): a JSON document at
// _versions/<20-digit version>.json listing every file of that version with
// its role, row range, size and checksum, plus shape, schemas, lineage and
// free user metadata. Manifests are immutable: opening version N reads only
// manifest N, which is what makes time travel work.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "slaf/dense.h"
#include "slaf/segment.h"
#include "slaf/status.h"
#include "slaf/table.h"

namespace slaf {

// The newest dataset format this library reads and writes (format-spec
// §9.2). Manifest::ToJson writes the lowest minor version whose members the
// manifest uses: 1.0 without a gene index, 1.1 with one.
inline constexpr int kDatasetFormatMajor = 1;
inline constexpr int kDatasetFormatMinor = 1;

// A file of the version: its key in the store, size and XXH3-64 (seed 0) of
// all its bytes.
struct FileRef {
  std::string path;
  uint64_t size = 0;
  uint64_t xxh3 = 0;
};

// An expression segment holding cells [first_cell, first_cell + n_cells).
struct SegmentRef : FileRef {
  uint64_t first_cell = 0;
  uint64_t n_cells = 0;
  uint64_t nnz = 0;
};

// A gene-major segment (.gseg) of a gene index: an ordinary segment file
// whose rows are genes [first_gene, first_gene + n_genes) and whose columns
// are the cells [0, GeneIndexEntry::n_cells).
struct GeneSegmentRef : FileRef {
  uint64_t first_gene = 0;
  uint64_t n_genes = 0;
  uint64_t nnz = 0;
};

// The optional gene-major copy of a matrix's cells [0, n_cells) (format-spec
// §9.9, "gene_index", dataset format 1.1): segments in gene order covering
// every gene exactly once. Cells appended after it was built are not in it;
// readers take those from the matrix's cell-major segments.
struct GeneIndexEntry {
  uint64_t n_cells = 0;
  std::vector<GeneSegmentRef> segments;
  uint64_t nnz() const;
};

// X or a layer: segments in cell order covering every cell exactly once,
// and optionally a gene index over a prefix of the cells.
struct MatrixEntry {
  ValueType value_type = ValueType::kUInt32;
  std::vector<SegmentRef> segments;
  std::optional<GeneIndexEntry> gene_index;
  uint64_t nnz() const;
};

// A table file holding rows [first_row, first_row + n_rows) of obs or var.
struct TableFileRef : FileRef {
  uint64_t first_row = 0;
  uint64_t n_rows = 0;
};

// A column of obs/var: its values are the column of the same name in each of
// `files` (indices into TableEntry::files), whose row ranges follow each
// other from row 0 to n_rows. Categorical columns list the union of the
// files' categories in first-seen order; readers map each file's codes to it.
struct ColumnSchema {
  std::string name;
  ColumnType type = ColumnType::kInt64;
  std::vector<std::string> categories;
  std::vector<uint32_t> files;
};

struct TableEntry {
  uint64_t n_rows = 0;
  std::string index_column;  // "cell_id" / "gene_id": a string column of unique names
  std::vector<TableFileRef> files;
  std::vector<ColumnSchema> columns;
  const ColumnSchema* Find(std::string_view name) const;
};

struct DenseEntry : FileRef {
  uint64_t n_rows = 0;
  uint32_t n_cols = 0;
  DenseType type = DenseType::kFloat32;
};

struct Manifest {
  uint64_t version = 0;
  uint64_t parent = 0;  // 0: none (the first version)
  int64_t timestamp_ms = 0;
  std::string operation;  // create, append, add_column, add_layer, add_obsm, ...
  std::string message;    // human-readable detail of the operation
  uint64_t n_cells = 0;
  uint32_t n_genes = 0;
  MatrixEntry x;
  std::map<std::string, MatrixEntry> layers;
  TableEntry obs, var;
  std::map<std::string, DenseEntry> obsm, varm;
  std::string uns_json = "{}";  // a JSON object, stored as written

  // Every data file of this version (segments, gene-index segments, tables,
  // dense matrices).
  std::vector<const FileRef*> Files() const;

  // Structural checks: paths (io::CheckKey), segment and table coverage,
  // gene-index coverage, column file lists, shapes of obsm/varm against
  // n_cells/n_genes.
  Status Validate() const;

  std::string ToJson() const;
  // Parses and validates a manifest; `name` prefixes errors. Rejects
  // documents over 64 MiB, nesting over 64, duplicate keys, integers above
  // 2^53, unknown format major versions and every Validate() failure.
  static Result<Manifest> Parse(std::span<const uint8_t> json, const std::string& name);
};

// "_versions/00000000000000000007.json"
std::string ManifestKey(uint64_t version);
// The inverse: the version of a key "_versions/<20 digits>.json" (at most
// 2^53, format-spec §9.2), else 0.
uint64_t VersionOfManifestKey(std::string_view key);

inline constexpr const char* kLatestKey = "_latest";
// The content of the _latest hint (format-spec §9.1): the version in decimal,
// "\n", then the bytes of that version's manifest.
std::string LatestHint(uint64_t version, std::string_view manifest_json);

// ISO 8601 UTC with milliseconds, e.g. "2026-11-25T05:30:00.123Z".
std::string FormatTimestamp(int64_t ms);

}  // namespace slaf
