#include "engine/csr_util.h"

#include <unordered_map>

namespace slaf::engine {

void AppendCsr(const CsrMatrix& src, CsrMatrix* dst) {
  const uint64_t base = dst->indptr.back();
  for (uint64_t r = 1; r <= src.n_rows; ++r) dst->indptr.push_back(base + src.indptr[r] - src.indptr[0]);
  dst->indices.insert(dst->indices.end(), src.indices.begin() + static_cast<ptrdiff_t>(src.indptr[0]),
                      src.indices.begin() + static_cast<ptrdiff_t>(src.indptr[src.n_rows]));
  if (src.value_type == ValueType::kUInt32) {
    dst->counts.insert(dst->counts.end(), src.counts.begin() + static_cast<ptrdiff_t>(src.indptr[0]),
                       src.counts.begin() + static_cast<ptrdiff_t>(src.indptr[src.n_rows]));
  } else {
    dst->floats.insert(dst->floats.end(), src.floats.begin() + static_cast<ptrdiff_t>(src.indptr[0]),
                       src.floats.begin() + static_cast<ptrdiff_t>(src.indptr[src.n_rows]));
  }
  dst->n_rows += src.n_rows;
}

void ScatterRows(const std::vector<CsrMatrix>& parts, const std::vector<std::vector<uint64_t>>& slots, uint64_t n_rows,
                 uint32_t n_cols, ValueType type, CsrMatrix* out) {
  // Where each output row comes from: (part, row in part).
  std::vector<std::pair<uint32_t, uint32_t>> from(n_rows);
  for (size_t s = 0; s < parts.size(); ++s) {
    for (size_t i = 0; i < slots[s].size(); ++i) from[slots[s][i]] = {static_cast<uint32_t>(s), static_cast<uint32_t>(i)};
  }
  out->Clear(n_cols, type);
  out->n_rows = n_rows;
  out->indptr.resize(n_rows + 1);
  for (uint64_t r = 0; r < n_rows; ++r) {
    const CsrMatrix& p = parts[from[r].first];
    out->indptr[r + 1] = out->indptr[r] + p.indptr[from[r].second + 1] - p.indptr[from[r].second];
  }
  out->indices.resize(out->indptr[n_rows]);
  if (type == ValueType::kUInt32) out->counts.resize(out->indptr[n_rows]);
  else out->floats.resize(out->indptr[n_rows]);
  for (uint64_t r = 0; r < n_rows; ++r) {
    const CsrMatrix& p = parts[from[r].first];
    const uint64_t b = p.indptr[from[r].second], e = p.indptr[from[r].second + 1];
    std::copy(p.indices.begin() + b, p.indices.begin() + e, out->indices.begin() + out->indptr[r]);
    if (type == ValueType::kUInt32) std::copy(p.counts.begin() + b, p.counts.begin() + e, out->counts.begin() + out->indptr[r]);
    else std::copy(p.floats.begin() + b, p.floats.begin() + e, out->floats.begin() + out->indptr[r]);
  }
}

Status RemapCategories(const std::vector<std::string>& target, Column* c) {
  if (c->categories.size() <= target.size() && std::equal(c->categories.begin(), c->categories.end(), target.begin())) {
    c->categories = target;  // a prefix: codes already agree
    return Status::OK();
  }
  std::unordered_map<std::string_view, uint32_t> pos;
  for (uint32_t k = 0; k < target.size(); ++k) pos.emplace(target[k], k);
  std::vector<uint32_t> map(c->categories.size());
  for (size_t k = 0; k < map.size(); ++k) {
    auto it = pos.find(c->categories[k]);
    if (it == pos.end()) return Status::Corruption("category \"" + c->categories[k] + "\" is missing from the manifest's list");
    map[k] = it->second;
  }
  for (uint32_t& code : c->codes) code = map[code];
  c->categories = target;
  return Status::OK();
}

void ConcatColumns(std::vector<Column>& pieces, Column* out) {
  if (pieces.empty()) {
    out->n_rows = 0;
    return;
  }
  const Column& first = pieces.front();
  out->type = first.type;
  out->categories = first.categories;
  out->n_rows = 0;
  out->valid.clear();
  out->ints.clear();
  out->doubles.clear();
  out->bools.clear();
  out->codes.clear();
  out->chars.clear();
  out->offsets.assign(1, 0);
  bool any_null = false;
  for (const Column& p : pieces) any_null |= !p.valid.empty();
  for (const Column& p : pieces) {
    if (any_null) {
      if (p.valid.empty()) out->valid.insert(out->valid.end(), p.n_rows, 1);
      else out->valid.insert(out->valid.end(), p.valid.begin(), p.valid.end());
    }
    out->ints.insert(out->ints.end(), p.ints.begin(), p.ints.end());
    out->doubles.insert(out->doubles.end(), p.doubles.begin(), p.doubles.end());
    out->bools.insert(out->bools.end(), p.bools.begin(), p.bools.end());
    out->codes.insert(out->codes.end(), p.codes.begin(), p.codes.end());
    if (p.type == ColumnType::kString) {
      const uint64_t base = out->chars.size();
      for (uint64_t i = 1; i <= p.n_rows; ++i) out->offsets.push_back(base + p.offsets[i] - p.offsets[0]);
      out->chars.append(p.chars, p.offsets[0], p.offsets[p.n_rows] - p.offsets[0]);
    }
    out->n_rows += p.n_rows;
  }
  if (first.type != ColumnType::kString) out->offsets.clear();
}

std::vector<std::string> UnionCategories(const std::vector<std::string>& target, const std::vector<std::string>& more) {
  std::vector<std::string> out = target;
  std::unordered_map<std::string_view, bool> seen;
  for (const std::string& s : target) seen.emplace(s, true);
  for (const std::string& s : more) {
    if (seen.emplace(s, true).second) out.push_back(s);
  }
  return out;
}

CsrRowsView ViewOf(const CsrMatrix& m) {
  CsrRowsView v;
  v.n_rows = m.n_rows;
  v.indptr = m.indptr.data();
  v.indices = m.indices.data();
  // Only the array of the matrix's value type: a cleared vector keeps its
  // capacity, so data() of the other one can be non-null and stale.
  v.counts = m.value_type == ValueType::kUInt32 ? m.counts.data() : nullptr;
  v.floats = m.value_type == ValueType::kFloat32 ? m.floats.data() : nullptr;
  return v;
}

}  // namespace slaf::engine
