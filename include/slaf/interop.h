// Import and export: h5ad (AnnData), 10x Genomics HDF5 and 10x MTX into a
// dataset, and a dataset version back out as h5ad or a 10x MTX directory.
//
// Conversion streams: memory stays bounded by ConvertOptions::memory_bytes
// plus O(cells + genes) for the obs/var tables and row pointers, whatever the
// matrix size. Inputs stored gene by gene (CSC h5ad, unordered MTX) go
// through an external sort that spills to disk.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "slaf/status.h"

namespace slaf {

enum class InputFormat { kAuto, kH5ad, k10xH5, kMtx };
// "auto", "h5ad", "10x-h5", "mtx"
Result<InputFormat> ParseInputFormat(const std::string& s);
// Looks at the path: a directory or *.mtx[.gz] is MTX; an HDF5 file with /X
// is h5ad, one with /matrix or genome groups is 10x HDF5.
Result<InputFormat> DetectFormat(const std::string& path);

struct ConvertOptions {
  InputFormat format = InputFormat::kAuto;
  std::string genome;                    // 10x: only this genome
  uint32_t chunk_bytes = 0;              // target segment chunk size; 0 = default
  bool gene_index = false;               // also write the gene-major copy
  // Store genes in order of decreasing frequency (format-spec §4.4), from a
  // sample of the first cells: smaller column-id gaps, 20-30% smaller
  // segments. Off: the input's gene order.
  bool frequency_order = true;
  uint64_t memory_bytes = 512ull << 20;  // external sort budget
  std::string spill_dir;                 // its temporary files ("" = next to the output)
  std::string message;                   // stored in the manifest
  // Called as cells are written: (cells done, cells in all, what).
  std::function<void(uint64_t, uint64_t, const std::string&)> progress;
};

struct ConvertReport {
  std::string format;  // what the input was, e.g. "10x-h5 v3"
  uint64_t n_cells = 0;
  uint32_t n_genes = 0;
  uint64_t nnz = 0;  // of X
  std::vector<std::string> layers;
  std::string value_type;                // of X: "uint32" or "float32"
  std::vector<std::string> not_carried;  // parts of the input left out, with why
  std::vector<std::string> notes;        // changes on the way in
  uint64_t version = 0;                  // the output's newest version
  uint64_t bytes = 0;                    // size of the output
  std::string raw;                       // the nested raw/ dataset, described; "" for none
};

// Converts `input` into a new dataset directory `output`, which must not
// exist. The dataset is built under a temporary name beside it and renamed
// into place only once committed, so an interrupted run leaves no dataset
// that looks valid at `output`.
Result<ConvertReport> Convert(const std::string& input, const std::string& output, const ConvertOptions& options);

enum class ExportFormat { kH5ad, kMtx };
Result<ExportFormat> ParseExportFormat(const std::string& s);  // "h5ad", "mtx"

struct ExportOptions {
  ExportFormat to = ExportFormat::kH5ad;
  std::optional<uint64_t> version;  // default: the newest
  // Element type of count matrices in h5ad: "int32" (default), "float32",
  // "float64". Float matrices are written as float32.
  std::string count_dtype = "int32";
  std::function<void(uint64_t, uint64_t, const std::string&)> progress;
};

struct ExportReport {
  uint64_t version = 0;
  uint64_t n_cells = 0;
  uint32_t n_genes = 0;
  uint64_t nnz = 0;
  std::vector<std::string> files;        // written
  std::vector<std::string> not_carried;  // parts of the dataset the format cannot hold
};

// Writes one version of the dataset at `dataset_uri` to `output`: an .h5ad
// file that anndata reads, or a directory with matrix.mtx.gz,
// features.tsv.gz and barcodes.tsv.gz (10x v3 layout).
Result<ExportReport> Export(const std::string& dataset_uri, const std::string& output, const ExportOptions& options);

}  // namespace slaf
