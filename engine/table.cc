// Column tables (format-spec §7): Column/Table helpers, WriteTable and
// TableReader.
//
// File: header (kind "TABL") | column chunks: all chunks of column 0 in row
// order, then column 1, ... | footer | tail (format-spec §2, §7.1).
//
// Footer (§7.2):
//   fixed part, 64 bytes: 0 u64 file_id | 8 u64 n_rows | 16 u32 n_columns
//     20 u32 n_chunks | 24 u32 descriptors_len | 28..63 reserved
//   column descriptors, descriptors_len bytes, one per column (§7.3):
//     0 u8 type | 1 u8 reserved | 2 u16 name_len | 4 u32 n_categories
//     8 u64 null_count | 16 u32 first_chunk | 20 u32 n_col_chunks
//     24 name | n_categories x (u32 len | bytes)
//   directory, 64 bytes per chunk (§7.4):
//     0 u64 offset | 8 u32 stored_len | 12 u32 raw_len | 16 u64 first_row
//     24 u32 n_rows | 28 u32 null_count | 32 u32 column | 36 u8 codec
//     37 u8 encoding | 38 u8 zone_flags | 39 u8 reserved | 40 min | 48 max
//     56 u64 checksum
// Column chunk payload (§7.5): [validity bitmap, ceil(n/8) bytes, only when
// null_count > 0] values in the chunk's encoding (§7.6):
//   int64 1 frame of reference: i64 base | block stream of v - base
//   int64 2 plain: n x i64        float64 1 plain: n x f64
//   float64 2 byte planes: 8 planes of n bytes
//   bool 1 bitmap: ceil(n/8)      categorical 1: block stream of codes
//   string 1: u32 lengths_len | block stream of lengths | bytes
#include "slaf/table.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <unordered_set>

#include "codecs/block_codec.h"
#include "codecs/checksum.h"
#include "codecs/compress.h"
#include "engine/format.h"
#include "slaf/file.h"

namespace slaf {

// ---------------------------------------------------------------------------
// Column and Table helpers.

std::string_view ColumnTypeName(ColumnType t) {
  switch (t) {
    case ColumnType::kInt64: return "int64";
    case ColumnType::kFloat64: return "float64";
    case ColumnType::kBool: return "bool";
    case ColumnType::kString: return "string";
    case ColumnType::kCategorical: return "categorical";
  }
  return "unknown";
}

Result<ColumnType> ParseColumnType(std::string_view s) {
  for (ColumnType t : {ColumnType::kInt64, ColumnType::kFloat64, ColumnType::kBool, ColumnType::kString, ColumnType::kCategorical}) {
    if (ColumnTypeName(t) == s) return t;
  }
  return Status::InvalidArgument("unknown column type \"" + std::string(s) + "\" (expected int64, float64, bool, string or categorical)");
}

uint64_t Column::null_count() const {
  uint64_t n = 0;
  for (uint8_t v : valid) n += v == 0;
  return n;
}

std::string_view Column::str(uint64_t i) const {
  if (is_null(i)) return {};
  if (type == ColumnType::kString) return std::string_view(chars).substr(offsets[i], offsets[i + 1] - offsets[i]);
  if (type == ColumnType::kCategorical) return categories[codes[i]];
  return {};
}

Column Column::Int64(std::string name, std::vector<int64_t> v) {
  Column c;
  c.name = std::move(name);
  c.type = ColumnType::kInt64;
  c.n_rows = v.size();
  c.ints = std::move(v);
  return c;
}

Column Column::Float64(std::string name, std::vector<double> v) {
  Column c;
  c.name = std::move(name);
  c.type = ColumnType::kFloat64;
  c.n_rows = v.size();
  c.doubles = std::move(v);
  return c;
}

Column Column::Bool(std::string name, std::vector<uint8_t> v) {
  Column c;
  c.name = std::move(name);
  c.type = ColumnType::kBool;
  c.n_rows = v.size();
  c.bools = std::move(v);
  return c;
}

Column Column::String(std::string name, const std::vector<std::string>& v) {
  Column c;
  c.name = std::move(name);
  c.type = ColumnType::kString;
  c.n_rows = v.size();
  c.offsets.reserve(v.size() + 1);
  c.offsets.push_back(0);
  for (const std::string& s : v) {
    c.chars += s;
    c.offsets.push_back(c.chars.size());
  }
  return c;
}

Column Column::Categorical(std::string name, std::vector<uint32_t> codes, std::vector<std::string> categories) {
  Column c;
  c.name = std::move(name);
  c.type = ColumnType::kCategorical;
  c.n_rows = codes.size();
  c.codes = std::move(codes);
  c.categories = std::move(categories);
  return c;
}

Status Column::Validate() const {
  const std::string who = "column \"" + name + "\" (" + std::string(ColumnTypeName(type)) + "): ";
  auto bad = [&](const std::string& what) { return Status::InvalidArgument(who + what); };
  const uint64_t n = n_rows;
  if (ColumnTypeName(type) == "unknown") return bad("unknown type id " + std::to_string(static_cast<int>(type)));
  if (!valid.empty() && valid.size() != n) return bad("valid has " + std::to_string(valid.size()) + " entries, n_rows is " + std::to_string(n));
  for (uint8_t v : valid) {
    if (v > 1) return bad("valid bytes must be 0 or 1, found " + std::to_string(v));
  }
  auto size_is = [&](const char* array, size_t have, uint64_t want) -> Status {
    if (have != want) return bad(std::string(array) + " has " + std::to_string(have) + " entries, expected " + std::to_string(want));
    return Status::OK();
  };
  const bool is_str = type == ColumnType::kString, is_cat = type == ColumnType::kCategorical;
  SLAF_RETURN_IF_ERROR(size_is("ints", ints.size(), type == ColumnType::kInt64 ? n : 0));
  SLAF_RETURN_IF_ERROR(size_is("doubles", doubles.size(), type == ColumnType::kFloat64 ? n : 0));
  SLAF_RETURN_IF_ERROR(size_is("bools", bools.size(), type == ColumnType::kBool ? n : 0));
  SLAF_RETURN_IF_ERROR(size_is("offsets", offsets.size(), is_str ? n + 1 : 0));
  if (!is_str && !chars.empty()) return bad("chars must be empty for this type");
  SLAF_RETURN_IF_ERROR(size_is("codes", codes.size(), is_cat ? n : 0));
  if (!is_cat && !categories.empty()) return bad("categories must be empty for this type");
  if (is_str) {
    if (offsets[0] != 0) return bad("offsets[0] must be 0, found " + std::to_string(offsets[0]));
    for (uint64_t i = 0; i < n; ++i) {
      if (offsets[i + 1] < offsets[i]) return bad("offsets decrease at row " + std::to_string(i));
    }
    if (offsets[n] != chars.size()) return bad("offsets end at " + std::to_string(offsets[n]) + ", chars holds " + std::to_string(chars.size()) + " bytes");
  }
  if (type == ColumnType::kBool) {
    for (uint64_t i = 0; i < n; ++i) {
      if (bools[i] > 1) return bad("bool at row " + std::to_string(i) + " is " + std::to_string(bools[i]) + ", must be 0 or 1");
    }
  }
  if (is_cat) {
    std::unordered_set<std::string_view> seen;
    for (const std::string& c : categories) {
      if (!seen.insert(c).second) return bad("category \"" + c + "\" appears twice");
    }
    for (uint64_t i = 0; i < n; ++i) {
      if (!is_null(i) && codes[i] >= categories.size()) return bad("code " + std::to_string(codes[i]) + " at row " + std::to_string(i) + " is not below the " + std::to_string(categories.size()) + " categories");
    }
  }
  // Null rows hold the zero value (format-spec §7.5: the file stores zeros there).
  for (uint64_t i = 0; i < n && !valid.empty(); ++i) {
    if (valid[i]) continue;
    const bool zero = type == ColumnType::kInt64 ? ints[i] == 0
                      : type == ColumnType::kFloat64 ? std::bit_cast<uint64_t>(doubles[i]) == 0
                      : type == ColumnType::kBool ? bools[i] == 0
                      : is_str ? offsets[i + 1] == offsets[i]
                               : codes[i] == 0;
    if (!zero) return bad("null row " + std::to_string(i) + " must hold the zero value (0, +0.0, false, \"\" or code 0)");
  }
  return Status::OK();
}

bool Column::Equals(const Column& o) const {
  if (name != o.name || type != o.type || n_rows != o.n_rows) return false;
  if ((!valid.empty() && valid.size() != n_rows) || (!o.valid.empty() && o.valid.size() != n_rows)) return false;
  for (uint64_t i = 0; i < n_rows; ++i) {
    if (is_null(i) != o.is_null(i)) return false;
  }
  switch (type) {
    case ColumnType::kInt64: return ints == o.ints;
    case ColumnType::kFloat64:
      return doubles.size() == o.doubles.size() && (doubles.empty() || std::memcmp(doubles.data(), o.doubles.data(), 8 * doubles.size()) == 0);
    case ColumnType::kBool: return bools == o.bools;
    case ColumnType::kString: return offsets == o.offsets && chars == o.chars;
    case ColumnType::kCategorical: return codes == o.codes && categories == o.categories;
  }
  return false;
}

const Column* Table::Find(std::string_view name) const {
  for (const Column& c : columns) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

Status Table::Validate() const {
  std::unordered_set<std::string_view> names;
  for (const Column& c : columns) {
    if (c.name.empty()) return Status::InvalidArgument("table: a column has an empty name");
    if (!names.insert(c.name).second) return Status::InvalidArgument("table: column name \"" + c.name + "\" appears twice");
    if (c.n_rows != n_rows) return Status::InvalidArgument("table: column \"" + c.name + "\" has " + std::to_string(c.n_rows) + " rows, the table " + std::to_string(n_rows));
    SLAF_RETURN_IF_ERROR(c.Validate());
  }
  return Status::OK();
}

int TableInfo::FindColumn(std::string_view name) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

namespace engine {
namespace {

using codecs::kBlockValues;

// format-spec §7.2-§7.4 sizes and §7.9 limits.
constexpr size_t kTableFooterFixedSize = 64;
constexpr size_t kDescriptorFixedSize = 24;
constexpr size_t kTableEntrySize = 64;
constexpr uint32_t kMaxTableColumns = 1u << 20;
constexpr uint64_t kMaxCategories = 1ull << 31;
// The writer closes a string chunk before its bytes pass 64 MiB, well
// inside the 256 MiB chunk limit.
constexpr uint64_t kStringChunkBytes = 64ull << 20;

// §7.6 encodings, numbered per column type.
constexpr uint8_t kIntFrameOfReference = 1, kIntPlain = 2;
constexpr uint8_t kDoublePlain = 1, kDoubleShuffled = 2;
constexpr uint8_t kBoolBitmap = 1;
constexpr uint8_t kStringLengths = 1;
constexpr uint8_t kCategoricalCodes = 1;
constexpr uint8_t kZoneHasMinMax = 1;  // zone_flags bit 0

bool KnownEncoding(ColumnType t, uint8_t e) {
  switch (t) {
    case ColumnType::kInt64: return e == kIntFrameOfReference || e == kIntPlain;
    case ColumnType::kFloat64: return e == kDoublePlain || e == kDoubleShuffled;
    case ColumnType::kBool: return e == kBoolBitmap;
    case ColumnType::kString: return e == kStringLengths;
    case ColumnType::kCategorical: return e == kCategoricalCodes;
  }
  return false;
}

uint64_t BitmapBytes(uint64_t n) { return (n + 7) / 8; }
uint64_t MinBlockBytes(uint64_t n) { return 2 * ((n + kBlockValues - 1) / kBlockValues); }

// §7.4: the smallest raw_len a chunk of n rows can have, and whether the
// encoding fixes raw_len exactly.
uint64_t MinRawLen(ColumnType t, uint8_t enc, uint64_t n, uint64_t null_count, bool* exact) {
  const uint64_t v = null_count ? BitmapBytes(n) : 0;
  *exact = true;
  switch (t) {
    case ColumnType::kInt64:
      if (enc == kIntPlain) return v + 8 * n;
      *exact = false;
      return v + 8 + MinBlockBytes(n);
    case ColumnType::kFloat64: return v + 8 * n;
    case ColumnType::kBool: return v + BitmapBytes(n);
    case ColumnType::kString: *exact = false; return v + 4 + MinBlockBytes(n);
    case ColumnType::kCategorical: *exact = false; return v + MinBlockBytes(n);
  }
  return 0;
}

// Zone map and null count over rows [r0, r0 + n) of a valid column (§7.4).
void ComputeZoneMap(const Column& col, uint64_t r0, uint32_t n, TableChunkInfo* c) {
  c->null_count = 0;
  c->has_minmax = false;
  c->min_int = c->max_int = 0;
  c->min_double = c->max_double = 0;
  const uint8_t* valid = col.valid.empty() ? nullptr : col.valid.data() + r0;
  if (valid) {
    uint32_t nulls = 0;
    for (uint32_t i = 0; i < n; ++i) nulls += valid[i] == 0;
    c->null_count = nulls;
  }
  auto int_range = [&](auto get) {
    int64_t lo = std::numeric_limits<int64_t>::max(), hi = std::numeric_limits<int64_t>::min();
    bool any = false;
    if (!valid) {
      for (uint32_t i = 0; i < n; ++i) {
        const int64_t v = get(i);
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      any = n > 0;
    } else {
      for (uint32_t i = 0; i < n; ++i) {
        if (!valid[i]) continue;
        const int64_t v = get(i);
        lo = std::min(lo, v);
        hi = std::max(hi, v);
        any = true;
      }
    }
    if (any) c->has_minmax = true, c->min_int = lo, c->max_int = hi;
  };
  switch (col.type) {
    case ColumnType::kInt64: int_range([&](uint32_t i) { return col.ints[r0 + i]; }); break;
    case ColumnType::kBool: int_range([&](uint32_t i) { return static_cast<int64_t>(col.bools[r0 + i]); }); break;
    case ColumnType::kCategorical: int_range([&](uint32_t i) { return static_cast<int64_t>(col.codes[r0 + i]); }); break;
    case ColumnType::kFloat64: {
      double lo = 0, hi = 0;
      bool any = false;
      for (uint32_t i = 0; i < n; ++i) {
        const double v = col.doubles[r0 + i];
        if ((valid && !valid[i]) || std::isnan(v)) continue;  // §7.4: NaN never enters min/max
        lo = any ? std::min(lo, v) : v;
        hi = any ? std::max(hi, v) : v;
        any = true;
      }
      if (any) c->has_minmax = true, c->min_double = lo, c->max_double = hi;
      break;
    }
    case ColumnType::kString: break;  // §7.4: no zone map for strings
  }
}

void AppendBitmap(const uint8_t* bytes, uint32_t n, std::vector<uint8_t>* out) {
  const size_t base = out->size();
  out->resize(base + BitmapBytes(n), 0);
  uint8_t* p = out->data() + base;
  for (uint32_t i = 0; i < n; ++i) p[i >> 3] |= static_cast<uint8_t>((bytes[i] & 1) << (i & 7));
}

template <typename T>
void AppendRaw(const T* v, size_t n, std::vector<uint8_t>* out) {
  const auto* b = reinterpret_cast<const uint8_t*>(v);
  out->insert(out->end(), b, b + n * sizeof(T));
}

// Encodes rows [r0, r0 + n) of a validated column into a raw payload (§7.5,
// §7.6) and fills the chunk's zone map, null_count, encoding and raw_len.
void EncodeColumnChunk(const Column& col, uint64_t r0, uint32_t n, bool shuffle_doubles, std::vector<uint8_t>* out, TableChunkInfo* c) {
  out->clear();
  ComputeZoneMap(col, r0, n, c);
  c->n_rows = n;
  if (c->null_count) AppendBitmap(col.valid.data() + r0, n, out);
  // Null rows hold zero values (Column::Validate), which is what §7.5 stores.
  thread_local std::vector<uint32_t> u32;
  u32.resize(n);
  switch (col.type) {
    case ColumnType::kInt64: {
      const int64_t* v = col.ints.data() + r0;
      const bool fits = !c->has_minmax || static_cast<uint64_t>(c->max_int) - static_cast<uint64_t>(c->min_int) <= UINT32_MAX;
      if (!fits) {
        c->encoding = kIntPlain;
        AppendRaw(v, n, out);
        break;
      }
      c->encoding = kIntFrameOfReference;
      const int64_t base = c->has_minmax ? c->min_int : 0;
      const uint8_t* valid = col.valid.empty() ? nullptr : col.valid.data() + r0;
      for (uint32_t i = 0; i < n; ++i) {
        u32[i] = (valid && !valid[i]) ? 0 : static_cast<uint32_t>(static_cast<uint64_t>(v[i]) - static_cast<uint64_t>(base));
      }
      const size_t at = out->size();
      out->resize(at + 8);
      Store<int64_t>(out->data() + at, base);
      codecs::EncodeBlocks(u32.data(), n, out);
      break;
    }
    case ColumnType::kFloat64: {
      const double* v = col.doubles.data() + r0;
      if (!shuffle_doubles) {
        c->encoding = kDoublePlain;
        AppendRaw(v, n, out);
        break;
      }
      c->encoding = kDoubleShuffled;
      const size_t at = out->size();
      out->resize(at + 8ull * n);
      ShuffleBytes(reinterpret_cast<const uint8_t*>(v), n, 8, out->data() + at);
      break;
    }
    case ColumnType::kBool:
      c->encoding = kBoolBitmap;
      AppendBitmap(col.bools.data() + r0, n, out);
      break;
    case ColumnType::kString: {
      c->encoding = kStringLengths;
      const uint64_t* off = col.offsets.data() + r0;
      for (uint32_t i = 0; i < n; ++i) u32[i] = static_cast<uint32_t>(off[i + 1] - off[i]);
      const size_t at = out->size();
      out->resize(at + 4);
      codecs::EncodeBlocks(u32.data(), n, out);
      Store<uint32_t>(out->data() + at, static_cast<uint32_t>(out->size() - at - 4));
      out->insert(out->end(), col.chars.begin() + static_cast<ptrdiff_t>(off[0]), col.chars.begin() + static_cast<ptrdiff_t>(off[n]));
      break;
    }
    case ColumnType::kCategorical:
      c->encoding = kCategoricalCodes;
      codecs::EncodeBlocks(col.codes.data() + r0, n, out);
      break;
  }
  if (u32.capacity() > (1u << 20)) std::vector<uint32_t>().swap(u32);
  c->raw_len = static_cast<uint32_t>(std::min<uint64_t>(out->size(), UINT32_MAX));
}

void StoreZone(const ColumnType type, const TableChunkInfo& c, uint8_t* p) {
  if (!c.has_minmax) return;  // min and max stay 0
  if (type == ColumnType::kFloat64) {
    Store<double>(p, c.min_double);
    Store<double>(p + 8, c.max_double);
  } else {
    Store<int64_t>(p, c.min_int);
    Store<int64_t>(p + 8, c.max_int);
  }
}

void EncodeTableFooter(const TableInfo& info, std::vector<uint8_t>* out) {
  std::vector<uint8_t> desc;
  size_t n_chunks = 0;
  for (const TableColumnInfo& col : info.columns) {
    const size_t at = desc.size();
    desc.resize(at + kDescriptorFixedSize, 0);
    uint8_t* p = desc.data() + at;
    p[0] = static_cast<uint8_t>(col.type);
    Store<uint16_t>(p + 2, static_cast<uint16_t>(col.name.size()));
    Store<uint32_t>(p + 4, static_cast<uint32_t>(col.categories.size()));
    Store<uint64_t>(p + 8, col.null_count);
    Store<uint32_t>(p + 16, static_cast<uint32_t>(n_chunks));
    Store<uint32_t>(p + 20, static_cast<uint32_t>(col.chunks.size()));
    desc.insert(desc.end(), col.name.begin(), col.name.end());
    for (const std::string& cat : col.categories) {
      uint8_t len[4];
      Store<uint32_t>(len, static_cast<uint32_t>(cat.size()));
      desc.insert(desc.end(), len, len + 4);
      desc.insert(desc.end(), cat.begin(), cat.end());
    }
    n_chunks += col.chunks.size();
  }
  out->assign(kTableFooterFixedSize, 0);
  uint8_t* f = out->data();
  Store<uint64_t>(f, info.file_id);
  Store<uint64_t>(f + 8, info.n_rows);
  Store<uint32_t>(f + 16, static_cast<uint32_t>(info.columns.size()));
  Store<uint32_t>(f + 20, static_cast<uint32_t>(n_chunks));
  Store<uint32_t>(f + 24, static_cast<uint32_t>(desc.size()));
  out->insert(out->end(), desc.begin(), desc.end());
  for (size_t ci = 0; ci < info.columns.size(); ++ci) {
    for (const TableChunkInfo& c : info.columns[ci].chunks) {
      const size_t at = out->size();
      out->resize(at + kTableEntrySize, 0);
      uint8_t* e = out->data() + at;
      Store<uint64_t>(e, c.offset);
      Store<uint32_t>(e + 8, c.stored_len);
      Store<uint32_t>(e + 12, c.raw_len);
      Store<uint64_t>(e + 16, c.first_row);
      Store<uint32_t>(e + 24, c.n_rows);
      Store<uint32_t>(e + 28, c.null_count);
      Store<uint32_t>(e + 32, static_cast<uint32_t>(ci));
      e[36] = c.codec;
      e[37] = c.encoding;
      e[38] = c.has_minmax ? kZoneHasMinMax : 0;
      StoreZone(info.columns[ci].type, c, e + 40);
      Store<uint64_t>(e + 56, c.checksum);
    }
  }
}

// Rows of the next chunk of `col` starting at row r: rows_per_chunk, fewer
// for strings whose bytes would pass kStringChunkBytes (at least one row).
uint32_t ChunkRows(const Column& col, uint64_t r, uint32_t rows_per_chunk) {
  uint64_t n = std::min<uint64_t>(rows_per_chunk, col.n_rows - r);
  if (col.type == ColumnType::kString && col.offsets[r + n] - col.offsets[r] > kStringChunkBytes) {
    const uint64_t limit = col.offsets[r] + kStringChunkBytes;
    const auto it = std::upper_bound(col.offsets.begin() + static_cast<ptrdiff_t>(r) + 1, col.offsets.begin() + static_cast<ptrdiff_t>(r + n) + 1, limit);
    n = std::max<uint64_t>(1, static_cast<uint64_t>(it - col.offsets.begin()) - 1 - r);
  }
  return static_cast<uint32_t>(n);
}

}  // namespace
}  // namespace engine

Result<TableWriteStats> WriteTable(io::WritableFile* file, const Table& table, const TableWriterOptions& options) {
  using namespace engine;
  SLAF_RETURN_IF_ERROR(table.Validate());
  if (options.rows_per_chunk == 0 || options.rows_per_chunk > kMaxChunkRows) return Status::InvalidArgument("rows_per_chunk " + std::to_string(options.rows_per_chunk) + " outside 1..2^24 (format-spec §7.9)");
  if (table.n_rows > kMaxRows) return Status::InvalidArgument("table has " + std::to_string(table.n_rows) + " rows, over the limit 2^40 (format-spec §7.9)");
  if (table.columns.size() > kMaxTableColumns) return Status::InvalidArgument("table has " + std::to_string(table.columns.size()) + " columns, over the limit 2^20 (format-spec §7.9)");
  for (const Column& c : table.columns) {
    if (c.name.size() > UINT16_MAX) return Status::InvalidArgument("column name of " + std::to_string(c.name.size()) + " bytes, over the limit 65535 (format-spec §7.3)");
    if (c.categories.size() > kMaxCategories) return Status::InvalidArgument("column \"" + c.name + "\" has more than 2^31 categories (format-spec §7.9)");
    for (const std::string& cat : c.categories) {
      if (cat.size() > UINT32_MAX) return Status::InvalidArgument("column \"" + c.name + "\": a category is longer than 2^32-1 bytes");
    }
  }
  TableInfo info;
  info.file_id = options.file_id;
  if (info.file_id == 0) info.file_id = (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
  info.n_rows = table.n_rows;
  Header h;
  h.file_id = info.file_id;
  uint8_t header[kHeaderSize];
  EncodeHeader(h, header, kKindTable);
  SLAF_RETURN_IF_ERROR(file->Append({header, kHeaderSize}));
  uint64_t offset = kHeaderSize;
  uint64_t chunk_index = 0;
  std::vector<uint8_t> payload, packed;
  for (const Column& col : table.columns) {
    TableColumnInfo ci;
    ci.name = col.name;
    ci.type = col.type;
    ci.categories = col.categories;
    for (uint64_t r = 0; r < table.n_rows;) {
      const uint32_t n = ChunkRows(col, r, options.rows_per_chunk);
      TableChunkInfo c;
      c.first_row = r;
      // format-spec §7.10: doubles are byte-shuffled only when a compressing
      // codec may keep them; otherwise plain, which reads fastest.
      const bool try_codec = options.codec != ChunkCodecChoice::kNone;
      EncodeColumnChunk(col, r, n, try_codec && col.type == ColumnType::kFloat64, &payload, &c);
      if (payload.size() > kMaxChunkBytes) {
        return Status::InvalidArgument("column \"" + col.name + "\": chunk at row " + std::to_string(r) + " needs " + std::to_string(payload.size()) + " bytes, over the 256 MiB chunk limit (format-spec §7.9)");
      }
      const std::vector<uint8_t>* stored = &payload;
      c.codec = 0;
      if (try_codec) {
        const codecs::Codec codec = options.codec == ChunkCodecChoice::kLz4 ? codecs::Codec::kLz4 : codecs::Codec::kZstd;
        packed.clear();
        SLAF_RETURN_IF_ERROR(codecs::Compress(codec, payload, options.zstd_level, &packed));
        // kAuto keeps zstd only when it saves at least 1/8; forced codecs
        // when the result is smaller at all.
        const bool keep = options.codec == ChunkCodecChoice::kAuto ? 8 * packed.size() <= 7 * payload.size() : packed.size() < payload.size();
        if (keep) {
          stored = &packed;
          c.codec = static_cast<uint8_t>(codec);
        } else if (c.encoding == kDoubleShuffled) {
          EncodeColumnChunk(col, r, n, false, &payload, &c);
        }
      }
      c.offset = offset;
      c.stored_len = static_cast<uint32_t>(stored->size());
      c.checksum = codecs::Checksum64(stored->data(), stored->size(), ChunkSeed(info.file_id, chunk_index));
      SLAF_RETURN_IF_ERROR(file->Append(*stored));
      offset += stored->size();
      ++chunk_index;
      ci.null_count += c.null_count;
      ci.chunks.push_back(c);
      r += n;
    }
    info.columns.push_back(std::move(ci));
  }
  if (chunk_index > UINT32_MAX) return Status::InvalidArgument("table needs more than 2^32-1 chunks; raise rows_per_chunk");
  std::vector<uint8_t> footer;
  EncodeTableFooter(info, &footer);
  SLAF_RETURN_IF_ERROR(WriteFooterAndTail(file, offset, footer));
  TableWriteStats stats;
  stats.n_rows = table.n_rows;
  stats.file_bytes = offset + footer.size() + kTailSize;
  stats.chunks = chunk_index;
  return stats;
}

// ---------------------------------------------------------------------------
// Reader.

namespace engine {
namespace {

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

// Per-thread buffers for one chunk: stored bytes, decompressed payload,
// decoded u32s. Released above 16 MiB so a thread's buffers stay modest.
struct ChunkBuffers {
  std::vector<uint8_t> stored, raw;
  std::vector<uint32_t> u32;
  void Shrink() {
    constexpr size_t kKeep = 16u << 20;
    if (stored.capacity() > kKeep) std::vector<uint8_t>().swap(stored);
    if (raw.capacity() > kKeep) std::vector<uint8_t>().swap(raw);
    if (u32.capacity() * 4 > kKeep) std::vector<uint32_t>().swap(u32);
  }
};

ChunkBuffers& ThreadBuffers() {
  thread_local ChunkBuffers b;
  return b;
}

class TableReaderImpl final : public TableReader {
 public:
  explicit TableReaderImpl(std::shared_ptr<io::RandomAccessFile> file) : file_(std::move(file)) {}

  Status OpenImpl() {
    Header h;
    Tail t;
    std::vector<uint8_t> footer;
    SLAF_RETURN_IF_ERROR(ReadContainer(*file_, kKindTable, &h, &t, &footer));
    SLAF_RETURN_IF_ERROR(DecodeFooter(footer.data(), footer.size(), t.footer_offset));
    SLAF_RETURN_IF_ERROR(CheckContainerIds(file_->name(), h, t, info_.file_id, file_->size()));
    info_.major = t.major;
    info_.minor = t.minor;
    info_.file_size = file_->size();
    return Status::OK();
  }

  const TableInfo& info() const override { return info_; }

  using TableReader::ReadColumn;
  Status ReadColumn(size_t index, uint64_t row_begin, uint64_t row_end, Column* out) const override {
    if (index >= info_.columns.size()) return Status::InvalidArgument(file_->name() + ": column index " + std::to_string(index) + " out of range (" + std::to_string(info_.columns.size()) + " columns)");
    const TableColumnInfo& col = info_.columns[index];
    row_end = std::min(row_end, info_.n_rows);
    if (row_begin > row_end) return Status::InvalidArgument(file_->name() + ": row range [" + std::to_string(row_begin) + ", " + std::to_string(row_end) + ") outside 0.." + std::to_string(info_.n_rows));
    const uint64_t n = row_end - row_begin;
    Reset(col, n, out);
    if (n == 0) return Status::OK();
    const size_t k0 = ChunkOfRow(col, row_begin);
    size_t k1 = k0;
    uint64_t raw_total = 0;
    while (k1 < col.chunks.size() && col.chunks[k1].first_row < row_end) raw_total += col.chunks[k1++].raw_len;
    // Reserve the whole result at once unless the footer's claims are far
    // beyond what the file's bytes could back (a crafted footer must not
    // make us allocate terabytes); then the arrays grow chunk by chunk.
    if (n <= (1ull << 20) || n <= 8 * info_.file_size) Reserve(col.type, n, std::min(raw_total, 64 * info_.file_size), out);
    ChunkBuffers& buf = ThreadBuffers();
    uint64_t nulls = 0;
    Status s;
    for (size_t k = k0; k < k1 && s.ok(); ++k) {
      const TableChunkInfo& c = col.chunks[k];
      const uint32_t r0 = static_cast<uint32_t>(std::max(row_begin, c.first_row) - c.first_row);
      const uint32_t r1 = static_cast<uint32_t>(std::min(row_end, c.first_row + c.n_rows) - c.first_row);
      s = ReadChunk(index, k, r0, r1, out, &buf, &nulls);
    }
    buf.Shrink();
    if (!s.ok()) {
      Reset(col, 0, out);  // no half-read column escapes
      return s;
    }
    if (nulls == 0) std::vector<uint8_t>().swap(out->valid);
    return Status::OK();
  }

  Result<Table> ReadAll() const override {
    Table t;
    t.n_rows = info_.n_rows;
    t.columns.resize(info_.columns.size());
    for (size_t i = 0; i < info_.columns.size(); ++i) SLAF_RETURN_IF_ERROR(ReadColumn(i, &t.columns[i]));
    return t;
  }

  Status VerifyAll() const override {
    ChunkBuffers& buf = ThreadBuffers();
    Column tmp;
    for (size_t ci = 0; ci < info_.columns.size(); ++ci) {
      const TableColumnInfo& col = info_.columns[ci];
      for (size_t k = 0; k < col.chunks.size(); ++k) {
        const TableChunkInfo& c = col.chunks[k];
        Reset(col, c.n_rows, &tmp);
        uint64_t nulls = 0;
        Status s = ReadChunk(ci, k, 0, c.n_rows, &tmp, &buf, &nulls);
        if (s.ok()) s = CheckZoneMap(ci, k, tmp);
        if (!s.ok()) {
          buf.Shrink();
          return s;
        }
      }
    }
    buf.Shrink();
    return Status::OK();
  }

 private:
  std::string ChunkContext(size_t ci, size_t k) const {
    const TableChunkInfo& c = info_.columns[ci].chunks[k];
    return file_->name() + ": column " + std::to_string(ci) + " " + Quoted(info_.columns[ci].name) + ": chunk " + std::to_string(first_chunk_[ci] + k) +
           " at offset " + std::to_string(c.offset);
  }

  static size_t ChunkOfRow(const TableColumnInfo& col, uint64_t row) {
    auto it = std::upper_bound(col.chunks.begin(), col.chunks.end(), row, [](uint64_t r, const TableChunkInfo& c) { return r < c.first_row; });
    return it == col.chunks.begin() ? 0 : static_cast<size_t>(it - col.chunks.begin()) - 1;
  }

  static void Reset(const TableColumnInfo& col, uint64_t n, Column* out) {
    out->name = col.name;
    out->type = col.type;
    out->n_rows = n;
    out->valid.clear();
    out->ints.clear();
    out->doubles.clear();
    out->bools.clear();
    out->offsets.clear();
    out->chars.clear();
    out->codes.clear();
    out->categories = col.categories;
    if (col.type == ColumnType::kString) out->offsets.push_back(0);
  }

  static void Reserve(ColumnType t, uint64_t n, uint64_t raw_total, Column* out) {
    auto reserve = [](auto* v, uint64_t count) {
      v->reserve(count);
      AdviseHugePages(v->data(), v->capacity() * sizeof((*v)[0]));
    };
    switch (t) {
      case ColumnType::kInt64: reserve(&out->ints, n); break;
      case ColumnType::kFloat64: reserve(&out->doubles, n); break;
      case ColumnType::kBool: reserve(&out->bools, n); break;
      case ColumnType::kString:
        reserve(&out->offsets, n + 1);
        reserve(&out->chars, raw_total);  // a chunk's bytes never exceed its raw_len
        break;
      case ColumnType::kCategorical: reserve(&out->codes, n); break;
    }
  }

  // Reads chunk k of column ci, verifies and decodes its rows [r0, r1) and
  // appends them to *out. *nulls counts the null rows appended. The result
  // grows only after the chunk's bytes verified (or, read in place, when
  // they are no more than the file holds).
  Status ReadChunk(size_t ci, size_t k, uint32_t r0, uint32_t r1, Column* out, ChunkBuffers* buf, uint64_t* nulls) const {
    const TableColumnInfo& col = info_.columns[ci];
    const TableChunkInfo& c = col.chunks[k];
    const uint64_t pos = out->type == ColumnType::kString ? out->offsets.size() - 1 : Size(*out);
    const uint32_t cnt = r1 - r0;
    // Plain fixed-width values without nulls, stored uncompressed and wanted
    // whole: read straight into the result and verify the checksum there.
    const bool direct = c.codec == 0 && c.null_count == 0 && r0 == 0 && r1 == c.n_rows &&
                        ((col.type == ColumnType::kInt64 && c.encoding == kIntPlain) || (col.type == ColumnType::kFloat64 && c.encoding == kDoublePlain));
    if (direct) {
      uint8_t* dst;
      if (col.type == ColumnType::kInt64) {
        out->ints.resize(pos + cnt);
        dst = reinterpret_cast<uint8_t*>(out->ints.data() + pos);
      } else {
        out->doubles.resize(pos + cnt);
        dst = reinterpret_cast<uint8_t*>(out->doubles.data() + pos);
      }
      SLAF_RETURN_IF_ERROR(file_->ReadAt(c.offset, c.stored_len, dst));
      SLAF_RETURN_IF_ERROR(VerifyChecksum(ci, k, {dst, c.stored_len}));
      if (!out->valid.empty()) out->valid.resize(pos + cnt, 1);
      return Status::OK();
    }
    buf->stored.resize(c.stored_len);
    SLAF_RETURN_IF_ERROR(file_->ReadAt(c.offset, c.stored_len, buf->stored.data()));
    SLAF_RETURN_IF_ERROR(VerifyChecksum(ci, k, {buf->stored.data(), c.stored_len}));
    std::span<const uint8_t> payload(buf->stored.data(), c.stored_len);
    if (c.codec != 0) {
      const auto codec = static_cast<codecs::Codec>(c.codec);
      Status s = codecs::CheckDecompressedSize(codec, payload, c.raw_len);
      if (s.ok()) {
        buf->raw.resize(c.raw_len);
        s = codecs::Decompress(codec, payload, buf->raw.data(), c.raw_len);
      }
      if (!s.ok()) return Status::Corruption(ChunkContext(ci, k) + ": " + s.message() + " (format-spec §3.5)");
      payload = {buf->raw.data(), c.raw_len};
    }
    return DecodeChunk(ci, k, payload, r0, r1, pos, out, buf, nulls);
  }

  static uint64_t Size(const Column& c) {
    switch (c.type) {
      case ColumnType::kInt64: return c.ints.size();
      case ColumnType::kFloat64: return c.doubles.size();
      case ColumnType::kBool: return c.bools.size();
      case ColumnType::kString: return c.offsets.size() - 1;
      case ColumnType::kCategorical: return c.codes.size();
    }
    return 0;
  }

  Status VerifyChecksum(size_t ci, size_t k, std::span<const uint8_t> stored) const {
    const TableChunkInfo& c = info_.columns[ci].chunks[k];
    const uint64_t actual = codecs::Checksum64(stored.data(), stored.size(), ChunkSeed(info_.file_id, first_chunk_[ci] + k));
    if (kCheckChecksums && actual != c.checksum) {
      return Status::Corruption(ChunkContext(ci, k) + ": checksum mismatch: directory says " + std::to_string(c.checksum) + ", computed " + std::to_string(actual) + " over " +
                                std::to_string(stored.size()) + " bytes (format-spec §3.6, §7.7)");
    }
    return Status::OK();
  }

  // Decodes the block stream s[0, len) of n values, calling sink(row, values,
  // count) for the parts of rows [r0, r1); checks that the stream takes
  // exactly len bytes. `at` is the stream's payload offset, for errors.
  template <typename Sink>
  Status DecodeBlockRows(size_t ci, size_t k, const uint8_t* s, size_t len, size_t at, uint32_t n, uint32_t r0, uint32_t r1, const char* what, Sink sink) const {
    const uint8_t* end = s + len;
    const size_t n_blocks = (n + kBlockValues - 1) / kBlockValues;
    const size_t b0 = r0 / kBlockValues, b1 = r1 == r0 ? b0 : (r1 + kBlockValues - 1) / kBlockValues;
    auto fail = [&](size_t off, const Status& st) {
      return Status::Corruption(ChunkContext(ci, k) + ": " + what + " stream at payload offset " + std::to_string(at + off) + ": " + st.message());
    };
    size_t off = 0;
    if (b0 > 0) {
      Status st = codecs::SeekBlock(s, end, n, b0, &off);
      if (!st.ok()) return fail(0, st);
    }
    uint32_t tmp[kBlockValues];
    for (size_t b = b0; b < b1; ++b) {
      const uint32_t first = static_cast<uint32_t>(b * kBlockValues);
      const uint32_t m = std::min<uint32_t>(kBlockValues, n - first);
      size_t used = 0;
      Status st = codecs::DecodeBlocks(s + off, end, m, tmp, &used);
      if (!st.ok()) return fail(off, st);
      const uint32_t lo = std::max(r0, first), hi = std::min(r1, first + m);
      sink(lo, tmp + (lo - first), hi - lo);
      off += used;
    }
    if (b1 < n_blocks) {
      size_t rest = 0;
      Status st = codecs::MeasureBlocks(s + off, end, n - static_cast<uint32_t>(b1 * kBlockValues), &rest);
      if (!st.ok()) return fail(off, st);
      off += rest;
    }
    if (off != len) {
      return Status::Corruption(ChunkContext(ci, k) + ": " + what + " stream holds " + std::to_string(off) + " bytes of blocks but " + std::to_string(len) + " bytes are left for it (format-spec §7.6)");
    }
    return Status::OK();
  }

  // format-spec §7.7 steps 3-5 (§7.5, §7.6) for rows [r0, r1) of a verified payload.
  Status DecodeChunk(size_t ci, size_t k, std::span<const uint8_t> payload, uint32_t r0, uint32_t r1, uint64_t pos, Column* out, ChunkBuffers* buf, uint64_t* nulls) const {
    const TableColumnInfo& col = info_.columns[ci];
    const TableChunkInfo& c = col.chunks[k];
    const uint32_t n = c.n_rows, cnt = r1 - r0;
    auto bad = [&](const std::string& what) { return Status::Corruption(ChunkContext(ci, k) + ": " + what); };
    const uint8_t* p = payload.data();
    const size_t len = payload.size();
    // Validity bitmap (§7.5).
    const uint8_t* validity = nullptr;
    size_t vbytes = 0;
    if (c.null_count) {
      vbytes = BitmapBytes(n);
      if (len < vbytes) return bad("payload of " + std::to_string(len) + " bytes cannot hold the " + std::to_string(vbytes) + "-byte validity bitmap (format-spec §7.5)");
      validity = p;
      if ((n & 7) && (p[vbytes - 1] >> (n & 7)) != 0) return bad("payload offset " + std::to_string(vbytes - 1) + ": unused bits of the validity bitmap must be 0 (format-spec §7.5)");
      uint64_t ones = 0;
      for (size_t i = 0; i < vbytes; ++i) ones += std::popcount(p[i]);
      if (n - ones != c.null_count) return bad("validity bitmap has " + std::to_string(n - ones) + " null rows, directory says null_count " + std::to_string(c.null_count) + " (format-spec §7.5)");
    }
    auto is_null = [&](uint32_t r) { return validity && !((validity[r >> 3] >> (r & 7)) & 1); };
    const uint8_t* v = p + vbytes;
    const size_t vlen = len - vbytes;
    const size_t vat = vbytes;  // payload offset of the values
    auto null_slot = [&](uint32_t r) {
      return bad("row " + std::to_string(c.first_row + r) + " is null but its value slot is not zero (format-spec §7.5)");
    };
    auto exact = [&](uint64_t want) -> Status {
      if (vlen != want) return bad("values take " + std::to_string(vlen) + " bytes, expected " + std::to_string(want) + " (format-spec §7.6)");
      return Status::OK();
    };
    switch (col.type) {
      case ColumnType::kInt64: {
        out->ints.resize(pos + cnt);
        int64_t* dst = out->ints.data() + pos;  // dst[i] is row r0 + i of the chunk
        if (c.encoding == kIntPlain) {
          SLAF_RETURN_IF_ERROR(exact(8ull * n));
          std::memcpy(dst, v + 8ull * r0, 8ull * cnt);
          for (uint32_t r = r0; r < r1 && validity; ++r) {
            if (is_null(r) && dst[r - r0] != 0) return null_slot(r);
          }
        } else {
          if (vlen < 8) return bad("frame-of-reference values need the 8-byte base, " + std::to_string(vlen) + " bytes left (format-spec §7.6)");
          const uint64_t base = Load<uint64_t>(v);
          SLAF_RETURN_IF_ERROR(DecodeBlockRows(ci, k, v + 8, vlen - 8, vat + 8, n, r0, r1, "int64", [&](uint32_t r, const uint32_t* d, uint32_t m) {
            // §7.6: base + delta mod 2^64, in two's complement.
            int64_t* o = dst + (r - r0);
            for (uint32_t j = 0; j < m; ++j) o[j] = static_cast<int64_t>(base + d[j]);
          }));
          for (uint32_t r = r0; r < r1 && validity; ++r) {
            if (!is_null(r)) continue;
            if (static_cast<uint64_t>(dst[r - r0]) != base) return null_slot(r);
            dst[r - r0] = 0;
          }
        }
        break;
      }
      case ColumnType::kFloat64: {
        SLAF_RETURN_IF_ERROR(exact(8ull * n));
        out->doubles.resize(pos + cnt);
        double* dst = out->doubles.data() + pos;
        if (c.encoding == kDoublePlain) {
          std::memcpy(dst, v + 8ull * r0, 8ull * cnt);
        } else {
          UnshuffleBytes(v, n, 8, r0, cnt, reinterpret_cast<uint8_t*>(dst));
        }
        for (uint32_t r = r0; r < r1 && validity; ++r) {
          if (is_null(r) && std::bit_cast<uint64_t>(dst[r - r0]) != 0) return null_slot(r);
        }
        break;
      }
      case ColumnType::kBool: {
        SLAF_RETURN_IF_ERROR(exact(BitmapBytes(n)));
        if ((n & 7) && (v[vlen - 1] >> (n & 7)) != 0) return bad("payload offset " + std::to_string(vat + vlen - 1) + ": unused bits of the bool bitmap must be 0 (format-spec §7.6)");
        out->bools.resize(pos + cnt);
        uint8_t* dst = out->bools.data() + pos;
        for (uint32_t i = 0; i < cnt; ++i) {
          const uint32_t r = r0 + i;
          dst[i] = (v[r >> 3] >> (r & 7)) & 1;
          if (dst[i] && is_null(r)) return null_slot(r);
        }
        break;
      }
      case ColumnType::kString: {
        if (vlen < 4) return bad("string values need the 4-byte lengths_len, " + std::to_string(vlen) + " bytes left (format-spec §7.6)");
        const uint64_t lengths_len = Load<uint32_t>(v);
        if (lengths_len > vlen - 4) return bad("lengths_len " + std::to_string(lengths_len) + " runs past the payload (" + std::to_string(vlen - 4) + " bytes left) (format-spec §7.6)");
        const uint64_t chars_len = vlen - 4 - lengths_len;
        // Every length is needed for the byte offsets, so the whole stream
        // is decoded (the footer bounded n by raw_len, §7.4).
        buf->u32.resize(n);
        uint32_t* lens = buf->u32.data();
        SLAF_RETURN_IF_ERROR(DecodeBlockRows(ci, k, v + 4, lengths_len, vat + 4, n, 0, n, "string length", [&](uint32_t r, const uint32_t* d, uint32_t m) {
          std::memcpy(lens + r, d, 4ull * m);
        }));
        uint64_t start = 0, total = 0;
        for (uint32_t r = 0; r < r0; ++r) start += lens[r];
        total = start;
        for (uint32_t r = r0; r < n; ++r) total += lens[r];
        for (uint32_t r = 0; r < n && validity; ++r) {
          if (lens[r] && is_null(r)) return null_slot(r);
        }
        if (total != chars_len) return bad("string lengths add up to " + std::to_string(total) + " bytes, " + std::to_string(chars_len) + " bytes follow them (format-spec §7.6)");
        out->offsets.resize(pos + cnt + 1);
        uint64_t* off = out->offsets.data() + pos;
        const uint64_t base = off[0];
        uint64_t acc = base;
        for (uint32_t i = 0; i < cnt; ++i) off[i + 1] = acc += lens[r0 + i];
        const char* chars = reinterpret_cast<const char*>(v + 4 + lengths_len);
        out->chars.append(chars + start, acc - base);
        break;
      }
      case ColumnType::kCategorical: {
        out->codes.resize(pos + cnt);
        uint32_t* dst = out->codes.data() + pos;  // dst[i] is row r0 + i of the chunk
        SLAF_RETURN_IF_ERROR(DecodeBlockRows(ci, k, v, vlen, vat, n, r0, r1, "categorical code", [&](uint32_t r, const uint32_t* d, uint32_t m) {
          std::memcpy(dst + (r - r0), d, 4ull * m);
        }));
        const uint64_t n_cat = col.categories.size();
        auto out_of_range = [&](uint32_t r) {
          return bad("row " + std::to_string(c.first_row + r) + ": code " + std::to_string(dst[r - r0]) + " is not below the " + std::to_string(n_cat) + " categories (format-spec §7.6)");
        };
        if (!validity) {
          uint32_t hi = 0;
          for (uint32_t i = 0; i < cnt; ++i) hi = std::max(hi, dst[i]);
          for (uint32_t r = r0; r < r1 && hi >= n_cat; ++r) {
            if (dst[r - r0] >= n_cat) return out_of_range(r);
          }
        } else {
          for (uint32_t r = r0; r < r1; ++r) {
            if (is_null(r)) {
              if (dst[r - r0] != 0) return null_slot(r);
            } else if (dst[r - r0] >= n_cat) {
              return out_of_range(r);
            }
          }
        }
        break;
      }
    }
    // Validity bytes for the appended rows.
    if (validity) {
      uint64_t chunk_nulls = 0;
      for (uint32_t r = r0; r < r1; ++r) chunk_nulls += is_null(r);
      if (chunk_nulls || !out->valid.empty()) {
        out->valid.resize(pos, 1);  // rows before the first null are valid
        out->valid.resize(pos + cnt);
        for (uint32_t i = 0; i < cnt; ++i) out->valid[pos + i] = !is_null(r0 + i);
      }
      *nulls += chunk_nulls;
    } else if (!out->valid.empty()) {
      out->valid.resize(pos + cnt, 1);
    }
    return Status::OK();
  }

  // §7.8 (verifier): the zone map recomputed from the decoded chunk equals
  // the directory's. Floats compare numerically, so -0 and +0 are equal.
  Status CheckZoneMap(size_t ci, size_t k, const Column& decoded) const {
    const TableChunkInfo& c = info_.columns[ci].chunks[k];
    TableChunkInfo z;
    ComputeZoneMap(decoded, 0, c.n_rows, &z);
    const bool same = z.null_count == c.null_count && z.has_minmax == c.has_minmax &&
                      (decoded.type == ColumnType::kFloat64 ? z.min_double == c.min_double && z.max_double == c.max_double
                                                             : z.min_int == c.min_int && z.max_int == c.max_int);
    if (!same) return Status::Corruption(ChunkContext(ci, k) + ": zone map in the directory differs from the decoded values (format-spec §7.4)");
    return Status::OK();
  }

  Status DecodeFooter(const uint8_t* p, size_t len, uint64_t fo);

  std::shared_ptr<io::RandomAccessFile> file_;
  TableInfo info_;
  std::vector<uint64_t> first_chunk_;  // directory index of each column's first chunk
};

// format-spec §7.2-§7.4, checks in the order of §7.2.
Status TableReaderImpl::DecodeFooter(const uint8_t* p, size_t len, uint64_t fo) {
  const std::string& file = file_->name();
  auto at = [&](uint64_t rel) { return file + ": offset " + std::to_string(fo + rel) + ": "; };
  auto bad = [&](uint64_t rel, const std::string& what) { return Status::Corruption(at(rel) + what); };
  info_.file_id = Load<uint64_t>(p);
  info_.n_rows = Load<uint64_t>(p + 8);
  const uint32_t n_columns = Load<uint32_t>(p + 16);
  const uint32_t n_chunks = Load<uint32_t>(p + 20);
  const uint64_t descriptors_len = Load<uint32_t>(p + 24);
  // Step 1-3: limits, reserved bytes, exact footer length.
  if (info_.n_rows > kMaxRows) return bad(8, "n_rows " + std::to_string(info_.n_rows) + " exceeds the limit 2^40 (format-spec §7.9)");
  if (n_columns > kMaxTableColumns) return bad(16, "n_columns " + std::to_string(n_columns) + " exceeds the limit 2^20 (format-spec §7.9)");
  for (size_t i = 28; i < kTableFooterFixedSize; ++i) {
    if (p[i]) return bad(i, "reserved footer bytes 28-63 must be 0 (format-spec §7.2)");
  }
  const uint64_t expect = kTableFooterFixedSize + descriptors_len + kTableEntrySize * static_cast<uint64_t>(n_chunks);
  if (expect != len) {
    return bad(20, "footer length " + std::to_string(len) + " does not match descriptors_len " + std::to_string(descriptors_len) + " and n_chunks " + std::to_string(n_chunks) +
                       " (expected " + std::to_string(expect) + " bytes) (format-spec §7.2)");
  }
  if (static_cast<uint64_t>(n_columns) * kDescriptorFixedSize > descriptors_len) {
    return bad(16, std::to_string(n_columns) + " column descriptors cannot fit in descriptors_len " + std::to_string(descriptors_len) + " (format-spec §7.2)");
  }
  // Step 4: column descriptors.
  info_.columns.resize(n_columns);
  first_chunk_.resize(n_columns);
  std::unordered_set<std::string_view> names;
  const uint64_t d0 = kTableFooterFixedSize, dend = d0 + descriptors_len;
  uint64_t q = d0, next_chunk = 0;
  for (uint32_t ci = 0; ci < n_columns; ++ci) {
    TableColumnInfo& col = info_.columns[ci];
    const std::string who = "column " + std::to_string(ci) + ": ";
    if (dend - q < kDescriptorFixedSize) return bad(q, who + "descriptor needs 24 bytes, " + std::to_string(dend - q) + " left in the descriptors (format-spec §7.3)");
    const uint8_t* d = p + q;
    const uint8_t type = d[0];
    if (type < 1 || type > 5) return Status::NotSupported(at(q) + who + "unknown column type " + std::to_string(type) + " (format-spec §7.3)");
    col.type = static_cast<ColumnType>(type);
    if (d[1] != 0) return bad(q + 1, who + "reserved descriptor byte must be 0 (format-spec §7.3)");
    const uint64_t name_len = Load<uint16_t>(d + 2);
    const uint64_t n_cat = Load<uint32_t>(d + 4);
    col.null_count = Load<uint64_t>(d + 8);
    const uint64_t first = Load<uint32_t>(d + 16), count = Load<uint32_t>(d + 20);
    if (name_len == 0) return bad(q + 2, who + "empty column name (format-spec §7.3)");
    if (name_len > dend - q - kDescriptorFixedSize) return bad(q + 2, who + "name of " + std::to_string(name_len) + " bytes runs past the descriptors (format-spec §7.3)");
    col.name.assign(reinterpret_cast<const char*>(d + kDescriptorFixedSize), name_len);
    if (!names.insert(col.name).second) return bad(q + kDescriptorFixedSize, who + "column name " + Quoted(col.name) + " appears twice (format-spec §7.3)");
    if (n_cat != 0 && col.type != ColumnType::kCategorical) return bad(q + 4, who + "n_categories " + std::to_string(n_cat) + " on a column that is not categorical (format-spec §7.3)");
    if (n_cat > kMaxCategories) return bad(q + 4, who + "n_categories " + std::to_string(n_cat) + " exceeds the limit 2^31 (format-spec §7.9)");
    q += kDescriptorFixedSize + name_len;
    if (n_cat * 4 > dend - q) return bad(q, who + std::to_string(n_cat) + " categories cannot fit in the " + std::to_string(dend - q) + " descriptor bytes left (format-spec §7.3)");
    col.categories.resize(n_cat);
    std::unordered_set<std::string_view> seen;
    seen.reserve(n_cat);
    for (uint64_t j = 0; j < n_cat; ++j) {
      if (dend - q < 4) return bad(q, who + "category " + std::to_string(j) + " runs past the descriptors (format-spec §7.3)");
      const uint64_t cl = Load<uint32_t>(p + q);
      if (cl > dend - q - 4) return bad(q, who + "category " + std::to_string(j) + " of " + std::to_string(cl) + " bytes runs past the descriptors (format-spec §7.3)");
      col.categories[j].assign(reinterpret_cast<const char*>(p + q + 4), cl);
      q += 4 + cl;
    }
    for (uint64_t j = 0; j < n_cat; ++j) {
      if (!seen.insert(col.categories[j]).second) return bad(q, who + "category " + Quoted(col.categories[j]) + " appears twice (format-spec §7.3)");
    }
    if (col.null_count > info_.n_rows) return bad(q, who + "null_count " + std::to_string(col.null_count) + " exceeds n_rows " + std::to_string(info_.n_rows) + " (format-spec §7.3)");
    if (first != next_chunk) return bad(q, who + "first_chunk " + std::to_string(first) + ", expected " + std::to_string(next_chunk) + " (format-spec §7.3)");
    if (count > n_chunks - first) return bad(q, who + "chunks [" + std::to_string(first) + ", " + std::to_string(first + count) + ") run past n_chunks " + std::to_string(n_chunks) + " (format-spec §7.3)");
    first_chunk_[ci] = first;
    next_chunk = first + count;
    col.chunks.resize(count);
  }
  if (q != dend) return bad(q, "column descriptors end " + std::to_string(dend - q) + " bytes before descriptors_len (format-spec §7.3)");
  if (next_chunk != n_chunks) return bad(20, "columns hold " + std::to_string(next_chunk) + " chunks, footer says n_chunks " + std::to_string(n_chunks) + " (format-spec §7.3)");
  // Step 5: directory entries, column by column.
  uint64_t next_offset = kHeaderSize;
  for (uint32_t ci = 0; ci < n_columns; ++ci) {
    TableColumnInfo& col = info_.columns[ci];
    uint64_t next_row = 0, nulls = 0;
    for (size_t k = 0; k < col.chunks.size(); ++k) {
      const uint64_t index = first_chunk_[ci] + k;
      const uint64_t rel = dend + kTableEntrySize * index;
      const uint8_t* e = p + rel;
      const std::string who = "column " + std::to_string(ci) + ": chunk " + std::to_string(index) + ": ";
      TableChunkInfo& c = col.chunks[k];
      c.offset = Load<uint64_t>(e);
      c.stored_len = Load<uint32_t>(e + 8);
      c.raw_len = Load<uint32_t>(e + 12);
      c.first_row = Load<uint64_t>(e + 16);
      c.n_rows = Load<uint32_t>(e + 24);
      c.null_count = Load<uint32_t>(e + 28);
      const uint32_t column = Load<uint32_t>(e + 32);
      c.codec = e[36];
      c.encoding = e[37];
      const uint8_t zone = e[38];
      c.checksum = Load<uint64_t>(e + 56);
      if (e[39] != 0 || (zone & ~kZoneHasMinMax) != 0) return bad(rel + 38, who + "reserved zone_flags bits and byte 39 must be 0 (format-spec §7.4)");
      if (c.offset != next_offset) return bad(rel, who + "offset " + std::to_string(c.offset) + ", expected " + std::to_string(next_offset) + " (chunks are contiguous, format-spec §7.4)");
      if (c.stored_len > kMaxChunkBytes || c.raw_len > kMaxChunkBytes) return bad(rel + 8, who + "length over the 256 MiB limit (format-spec §7.9)");
      if (c.stored_len > fo - c.offset) return bad(rel + 8, who + "runs past the footer at offset " + std::to_string(fo) + " (format-spec §7.4)");
      if (column != ci) return bad(rel + 32, who + "column " + std::to_string(column) + ", expected " + std::to_string(ci) + " (format-spec §7.4)");
      if (c.first_row != next_row) return bad(rel + 16, who + "first_row " + std::to_string(c.first_row) + ", expected " + std::to_string(next_row) + " (format-spec §7.4)");
      if (c.n_rows == 0 || c.n_rows > kMaxChunkRows) return bad(rel + 24, who + "n_rows " + std::to_string(c.n_rows) + " outside 1..2^24 (format-spec §7.9)");
      if (c.null_count > c.n_rows) return bad(rel + 28, who + "null_count " + std::to_string(c.null_count) + " exceeds n_rows " + std::to_string(c.n_rows) + " (format-spec §7.4)");
      if (c.codec > codecs::kMaxCodecId) return Status::NotSupported(at(rel + 36) + who + "unknown codec id " + std::to_string(c.codec) + " (format-spec §3.5)");
      if (!KnownEncoding(col.type, c.encoding)) return Status::NotSupported(at(rel + 37) + who + "unknown encoding " + std::to_string(c.encoding) + " for a " + std::string(ColumnTypeName(col.type)) + " column (format-spec §7.6)");
      // Zone map (§7.4).
      c.has_minmax = zone & kZoneHasMinMax;
      const uint8_t* z = e + 40;
      if (!c.has_minmax) {
        if (Load<uint64_t>(z) != 0 || Load<uint64_t>(z + 8) != 0) return bad(rel + 40, who + "min and max must be 0 without has_minmax (format-spec §7.4)");
        if (col.type != ColumnType::kFloat64 && col.type != ColumnType::kString && c.null_count < c.n_rows) return bad(rel + 38, who + "has_minmax must be set: the chunk has non-null values (format-spec §7.4)");
      } else {
        const char* why = nullptr;
        if (col.type == ColumnType::kString) why = "string chunks have no zone map";
        else if (c.null_count == c.n_rows) why = "has_minmax is set on a chunk without non-null values";
        if (col.type == ColumnType::kFloat64) {
          c.min_double = Load<double>(z);
          c.max_double = Load<double>(z + 8);
          if (!why && !(c.min_double <= c.max_double)) why = "min > max, or NaN";
        } else if (col.type != ColumnType::kString) {
          c.min_int = Load<int64_t>(z);
          c.max_int = Load<int64_t>(z + 8);
          const int64_t cap = col.type == ColumnType::kBool ? 1 : col.type == ColumnType::kCategorical ? static_cast<int64_t>(col.categories.size()) - 1 : std::numeric_limits<int64_t>::max();
          const int64_t floor = col.type == ColumnType::kInt64 ? std::numeric_limits<int64_t>::min() : 0;
          if (!why && !(floor <= c.min_int && c.min_int <= c.max_int && c.max_int <= cap)) why = "min and max out of order or out of range for the type";
        }
        if (why) return bad(rel + 40, who + "invalid zone map: " + why + " (format-spec §7.4)");
      }
      // raw_len against the rows it must hold (§7.4), and the codec's bound (§3.5).
      bool exact = false;
      const uint64_t min_raw = MinRawLen(col.type, c.encoding, c.n_rows, c.null_count, &exact);
      if (exact ? c.raw_len != min_raw : c.raw_len < min_raw) {
        return bad(rel + 12, who + "raw_len " + std::to_string(c.raw_len) + " cannot hold " + std::to_string(c.n_rows) + " rows in encoding " + std::to_string(c.encoding) + " (" + (exact ? "exactly " : "at least ") +
                                   std::to_string(min_raw) + " bytes) (format-spec §7.4)");
      }
      if (c.codec == 0 && c.raw_len != c.stored_len) return bad(rel + 8, who + "uncompressed chunk has stored_len " + std::to_string(c.stored_len) + " != raw_len " + std::to_string(c.raw_len) + " (format-spec §7.4)");
      if (c.codec == 2 && c.raw_len > 255ull * c.stored_len) return bad(rel + 12, who + "lz4 block of " + std::to_string(c.stored_len) + " bytes cannot decode to raw_len " + std::to_string(c.raw_len) + " (format-spec §3.5)");
      next_offset = c.offset + c.stored_len;
      next_row += c.n_rows;
      nulls += c.null_count;
    }
    // Step 6: per-column totals.
    if (next_row != info_.n_rows) return bad(8, "column " + std::to_string(ci) + " " + Quoted(col.name) + ": chunks hold " + std::to_string(next_row) + " rows, footer says n_rows " + std::to_string(info_.n_rows) + " (format-spec §7.4)");
    if (nulls != col.null_count) return bad(kTableFooterFixedSize, "column " + std::to_string(ci) + " " + Quoted(col.name) + ": chunks hold " + std::to_string(nulls) + " null rows, descriptor says null_count " + std::to_string(col.null_count) + " (format-spec §7.3)");
  }
  // Step 7: the chunks fill the chunks region.
  if (next_offset != fo) return bad(0, "chunks end at offset " + std::to_string(next_offset) + " but the footer starts at " + std::to_string(fo) + " (format-spec §7.4)");
  return Status::OK();
}

}  // namespace
}  // namespace engine

Result<std::unique_ptr<TableReader>> TableReader::Open(std::shared_ptr<io::RandomAccessFile> file) {
  auto r = std::make_unique<engine::TableReaderImpl>(std::move(file));
  SLAF_RETURN_IF_ERROR(r->OpenImpl());
  return std::unique_ptr<TableReader>(std::move(r));
}

}  // namespace slaf
