// BuildGeneIndex (include/slaf/dataset_writer.h): the gene-major copy of a
// matrix, format-spec §9.9 "gene_index".
//
// One pass over the cells of the newest version: each block of cells is
// turned into (gene, cell, value) triples and fed to a TripleSorter, which
// hands back gene-major CSR blocks in gene order; those are written as
// ordinary segment files (rows = genes, columns = cells) under
// gene_index/X/ or gene_index/layers/<name>/ with the extension .gseg, a new
// file after every gene_index_nnz_per_segment entries. The commit goes
// through the transaction's create-if-absent path (§9.4).
#include <algorithm>
#include <bit>

#include "engine/dataset_files.h"
#include "engine/triple_sorter.h"
#include "slaf/dataset_writer.h"

namespace slaf {

namespace {

// Cells read per block: about this many entries.
constexpr uint64_t kReadNnz = 1u << 20;
// Genes per block handed from the sort to the segment writer: about this
// many entries.
constexpr uint64_t kEmitNnz = 1u << 20;

}  // namespace

Result<uint64_t> BuildGeneIndex(std::shared_ptr<io::ObjectStore> store, const std::string& layer, WriteOptions options,
                                std::function<void(uint64_t cells_done)> progress) {
  const std::string name = layer.empty() || layer == "X" ? "" : layer;
  SLAF_ASSIGN_OR_RETURN(std::unique_ptr<Transaction> tx, Transaction::Update(store, options));
  const Manifest& base = tx->base();
  const MatrixEntry* mx = &base.x;
  if (!name.empty()) {
    auto it = base.layers.find(name);
    if (it == base.layers.end()) {
      return Status::NotFound(store->location() + ": no layer \"" + name + "\" in version " + std::to_string(base.version) +
                              " to build a gene index of");
    }
    mx = &it->second;
  }
  if (mx->gene_index && mx->gene_index->n_cells == base.n_cells) return base.version;  // already complete
  if (base.n_cells > (1ull << 31)) {
    return Status::NotSupported(store->location() + ": " + std::to_string(base.n_cells) +
                                " cells: a gene index covers at most 2^31, the columns of one segment (format-spec §2.6)");
  }
  const std::string what = store->location() + " " + (name.empty() ? "X" : "layer " + name) + " (gene index)";
  SLAF_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, Dataset::Open(store, OpenOptions{base.version, {}}));

  engine::TripleSorterOptions so;
  so.n_rows = base.n_genes;
  so.n_cols = static_cast<uint32_t>(base.n_cells);
  so.value_type = mx->value_type;
  so.memory_bytes = options.sort_memory_bytes;
  so.spill_dir = options.spill_dir;
  so.what = what;
  SLAF_ASSIGN_OR_RETURN(std::unique_ptr<engine::TripleSorter> sorter, engine::TripleSorter::Make(so));

  // Transpose cells into (gene, cell, value) triples, a segment at a time,
  // in blocks of about kReadNnz entries.
  const bool is_int = mx->value_type == ValueType::kUInt32;
  CsrMatrix cells;
  std::vector<uint64_t> rows;
  std::vector<uint32_t> cols, bits;
  uint64_t done = 0;
  for (const SegmentRef& seg : mx->segments) {
    const uint64_t per_cell = std::max<uint64_t>(1, seg.n_cells ? seg.nnz / seg.n_cells : 1);
    const uint64_t step = std::max<uint64_t>(1, kReadNnz / per_cell);
    for (uint64_t c = seg.first_cell; c < seg.first_cell + seg.n_cells; c += step) {
      const uint64_t end = std::min(seg.first_cell + seg.n_cells, c + step);
      SLAF_RETURN_IF_ERROR(ds->ReadCellRange(c, end, &cells, name));
      rows.resize(cells.nnz());
      cols.resize(cells.nnz());
      bits.resize(cells.nnz());
      for (uint64_t r = 0; r < cells.n_rows; ++r) {
        for (uint64_t k = cells.indptr[r]; k < cells.indptr[r + 1]; ++k) {
          rows[k] = cells.indices[k];
          cols[k] = static_cast<uint32_t>(c + r);
          bits[k] = is_int ? cells.counts[k] : std::bit_cast<uint32_t>(cells.floats[k]);
        }
      }
      SLAF_RETURN_IF_ERROR(sorter->Add(rows.data(), cols.data(), bits.data(), rows.size()));
      done += end - c;
      if (progress) progress(done);
    }
  }
  std::vector<uint64_t>().swap(rows);
  std::vector<uint32_t>().swap(cols);
  std::vector<uint32_t>().swap(bits);
  cells = CsrMatrix();

  // Gene-major segments. Rows are genes, so chunks close at 16 KiB or
  // earlier without a row minimum (a dense gene is a chunk of its own, and
  // reading a gene reads only its chunks), and no column permutation (its
  // columns are cells; a permutation would cost 4 bytes per cell of footer).
  WriteOptions io = options;
  io.segment.min_chunk_rows = 1;
  io.segment.stored_to_original.clear();
  io.cells_per_segment = UINT64_MAX;
  const uint64_t per_file = std::max<uint64_t>(1, options.gene_index_nnz_per_segment);
  engine::MatrixBuild build(store.get(), name.empty() ? "gene_index/X" : "gene_index/layers/" + name,
                            static_cast<uint32_t>(base.n_cells), mx->value_type, io, ".gseg");
  uint64_t gene0 = 0;  // gene of the block's row 0
  const std::function<Status(const CsrMatrix&)> emit = [&](const CsrMatrix& block) -> Status {
    for (uint64_t r = 0; r < block.n_rows; ++r) {
      const uint64_t n = block.indptr[r + 1] - block.indptr[r];
      if (n > (1u << 26)) {
        return Status::NotSupported(what + ": gene " + std::to_string(gene0 + r) + " has " + std::to_string(n) +
                                    " nonzeros, more than the 2^26 one segment chunk holds (format-spec §2.6)");
      }
    }
    gene0 += block.n_rows;
    // Rows [r, e) fill the open file up to per_file entries; a file ends
    // after the gene that reaches it.
    for (uint64_t r = 0, e = 0; r < block.n_rows; r = e) {
      uint64_t nnz = build.open_nnz();
      for (e = r; e < block.n_rows && nnz < per_file; ++e) nnz += block.indptr[e + 1] - block.indptr[e];
      CsrRowsView v;
      v.n_rows = e - r;
      v.indptr = block.indptr.data() + r;
      v.indices = block.indices.data();
      v.counts = block.counts.data();
      v.floats = block.floats.data();
      SLAF_RETURN_IF_ERROR(build.Append(v).WithContext(what));
      if (build.open_nnz() >= per_file) SLAF_RETURN_IF_ERROR(build.EndSegment());
    }
    return Status::OK();
  };
  SLAF_RETURN_IF_ERROR(sorter->Finish(kEmitNnz, emit));
  sorter.reset();
  SLAF_RETURN_IF_ERROR(build.Finish());

  GeneIndexEntry index;
  index.n_cells = base.n_cells;
  for (const SegmentRef& s : build.segments()) {
    GeneSegmentRef g;
    static_cast<FileRef&>(g) = s;
    g.first_gene = s.first_cell;
    g.n_genes = s.n_cells;
    g.nnz = s.nnz;
    index.segments.push_back(std::move(g));
  }
  return engine::CommitGeneIndex(std::move(tx), name, std::move(index));
}

}  // namespace slaf
