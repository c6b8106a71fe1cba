// Writing a transaction's data files (format-spec §9.1, §9.4 step 2): unique
// keys, files that hash what they write, and segment builds that roll over to
// a new file. Shared by dataset_writer.cc (transactions) and
// gene_index_writer.cc (BuildGeneIndex); not part of the public API.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "slaf/dataset_writer.h"
#include "slaf/manifest.h"
#include "slaf/store.h"

struct XXH3_state_s;

namespace slaf::engine {

// A random non-zero 64-bit id; reseeded after fork().
uint64_t RandomId();

// dir + "/" + 16 hex digits of RandomId() + ext: a fresh data file key.
std::string UniqueKey(const std::string& dir, const char* ext);

// A store file that hashes what passes through, so the manifest can record
// every file's XXH3-64 without reading it back.
class HashingFile final : public io::WritableFile {
 public:
  explicit HashingFile(std::unique_ptr<io::WritableFile> base);
  ~HashingFile() override;
  HashingFile(const HashingFile&) = delete;
  HashingFile& operator=(const HashingFile&) = delete;
  const std::string& name() const override { return base_->name(); }
  uint64_t size() const override { return base_->size(); }
  Status Append(std::span<const uint8_t> data) override;
  Status Sync() override { return base_->Sync(); }
  Status Close() override { return base_->Close(); }
  uint64_t digest() const;

 private:
  std::unique_ptr<io::WritableFile> base_;
  XXH3_state_s* state_;
};

// Segment files of one matrix being written: rows are appended in blocks
// and a new file under `dir` starts every opts.cells_per_segment rows or on
// EndSegment(). Rows are cells for X and layers (n_cols = genes) and genes
// for a gene index (n_cols = cells, ext ".gseg"). `opts` must outlive the
// build. After an error the build must be abandoned.
class MatrixBuild {
 public:
  MatrixBuild(io::ObjectStore* store, std::string dir, uint32_t n_cols, ValueType type, const WriteOptions& opts,
              const char* ext = ".seg");
  ~MatrixBuild();

  Status Append(const CsrRowsView& rows);
  // Finishes the open file, if any; the next Append starts a new one.
  Status EndSegment();
  // Finishes the open file; afterwards segments() is complete.
  Status Finish() { return EndSegment(); }

  // first_cell / n_cells count rows from 0 in the order appended.
  const std::vector<SegmentRef>& segments() const { return segments_; }
  uint64_t total_cells() const { return total_cells_; }
  uint64_t open_nnz() const { return nnz_in_file_; }  // entries in the open file
  ValueType type() const { return type_; }

 private:
  Status Open();

  io::ObjectStore* store_;
  std::string dir_;
  uint32_t n_cols_;
  ValueType type_;
  const WriteOptions& opts_;
  const char* ext_;
  std::unique_ptr<HashingFile> file_;
  std::unique_ptr<SegmentWriter> writer_;
  std::string key_;
  uint64_t cells_in_file_ = 0;
  uint64_t nnz_in_file_ = 0;
  uint64_t total_cells_ = 0;
  std::vector<SegmentRef> segments_;
};

// Commits `index` as the gene index of `layer` ("" = X) on top of the
// transaction's base: operation "gene_index", not rebased after a Conflict
// (format-spec §9.4). REQUIRES: `tx` comes from Transaction::Update and has
// no other change.
Result<uint64_t> CommitGeneIndex(std::unique_ptr<Transaction> tx, const std::string& layer, GeneIndexEntry index);

}  // namespace slaf::engine
