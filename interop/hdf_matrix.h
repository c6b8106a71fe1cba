// Streaming matrices out of HDF5 files in bounded memory: compressed sparse
// rows (h5ad csr_matrix, 10x cells-by-column CSC), compressed sparse columns
// (h5ad csc_matrix, through the external sort) and dense 2-D datasets.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "interop/hdf5.h"
#include "interop/source.h"

namespace slaf::interop {

// One group of data/indices/indptr whose major axis is cells; its minor ids
// are shifted by gene_offset (10x files with several genomes side by side).
struct CsrPart {
  std::string data, indices, indptr;
  uint32_t gene_offset = 0;
};

// Each function checks the arrays against (n_cells, n_genes) when called
// and returns a stream for MatrixSource; the file must outlive it.
Result<MatrixSource> HdfCsrSource(std::shared_ptr<h5::File> f, std::vector<CsrPart> parts, uint64_t n_cells,
                                  uint32_t n_genes, std::string what, const ReadOptions& o);
// Major axis genes: indptr has n_genes + 1 entries, indices are cells.
Result<MatrixSource> HdfCscSource(std::shared_ptr<h5::File> f, CsrPart part, uint64_t n_cells, uint32_t n_genes,
                                  std::string what, const ReadOptions& o);
// A 2-D dataset of n_cells rows and n_genes columns.
Result<MatrixSource> HdfDenseSource(std::shared_ptr<h5::File> f, std::string dataset, uint64_t n_cells,
                                    uint32_t n_genes, std::string what, const ReadOptions& o);

}  // namespace slaf::interop
