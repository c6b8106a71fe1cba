// Small helpers shared by the dataset reader and writer: stitching CSR
// blocks and column pieces read from several files.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "slaf/segment.h"
#include "slaf/status.h"
#include "slaf/table.h"

namespace slaf::engine {

// Appends the rows of `src` to `dst` (same value type and columns).
void AppendCsr(const CsrMatrix& src, CsrMatrix* dst);

// Builds `out` with n_rows rows where row slots[s][i] is row i of parts[s].
void ScatterRows(const std::vector<CsrMatrix>& parts, const std::vector<std::vector<uint64_t>>& slots, uint64_t n_rows,
                 uint32_t n_cols, ValueType type, CsrMatrix* out);

// Rewrites the codes of categorical column `c` from its own categories to
// positions in `target`, which must contain every category of `c`; then
// sets c->categories = target.
Status RemapCategories(const std::vector<std::string>& target, Column* c);

// Concatenates pieces of one column (same type; categoricals already mapped
// to the same categories) into *out.
void ConcatColumns(std::vector<Column>& pieces, Column* out);

// Categories of `target` followed by those of `more` not yet in it.
std::vector<std::string> UnionCategories(const std::vector<std::string>& target, const std::vector<std::string>& more);

// Wraps a CsrMatrix as a view of all its rows.
CsrRowsView ViewOf(const CsrMatrix& m);

}  // namespace slaf::engine
