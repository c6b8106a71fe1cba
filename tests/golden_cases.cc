#include "tests/golden_cases.h"

#include <cmath>
#include <cstdio>

#include <cstring>

#include "codecs/checksum.h"
#include "engine/format.h"
#include "slaf/file.h"

namespace slaf::golden {

std::vector<uint8_t> Encode(const Case& c) {
  std::vector<uint8_t> bytes;
  auto file = io::NewMemoryWritableFile(c.name + ".seg", &bytes);
  auto w = SegmentWriter::Create(file.get(), c.options);
  if (!w.ok()) return {};
  const CsrMatrix& m = c.matrix;
  CsrRowsView v{m.n_rows, m.indptr.data(), m.indices.data(), m.counts.data(), m.floats.data()};
  if (!(*w)->AppendRows(v).ok() || !(*w)->Finish().ok()) return {};
  return bytes;
}

namespace {
template <typename T>
void Array(std::string* o, const char* key, const std::vector<T>& v, bool last = false) {
  *o += "  \"";
  *o += key;
  *o += "\": [";
  char buf[64];
  for (size_t i = 0; i < v.size(); ++i) {
    // JSON has no NaN or infinity: those are written as strings.
    if constexpr (std::is_same_v<T, float>) {
      const double d = v[i];
      if (d != d) std::snprintf(buf, sizeof buf, "%s\"NaN\"", i ? ", " : "");
      else if (d == 1.0 / 0.0 || d == -1.0 / 0.0) std::snprintf(buf, sizeof buf, "%s\"%sInfinity\"", i ? ", " : "", d < 0 ? "-" : "");
      else if (d == 0 && std::signbit(d)) std::snprintf(buf, sizeof buf, "%s-0.0", i ? ", " : "");  // "-0" would parse as integer 0
      else std::snprintf(buf, sizeof buf, "%s%.9g", i ? ", " : "", d);
    }
    else std::snprintf(buf, sizeof buf, "%s%llu", i ? ", " : "", static_cast<unsigned long long>(v[i]));
    *o += buf;
  }
  *o += last ? "]\n" : "],\n";
}
}  // namespace

std::string ExpectedJson(const Case& c) {
  const CsrMatrix& m = c.matrix;
  std::string o = "{\n";
  o += "  \"file\": \"" + c.name + ".seg\",\n";
  o += "  \"description\": \"" + c.what + "\",\n";
  o += "  \"n_rows\": " + std::to_string(m.n_rows) + ",\n";
  o += "  \"n_cols\": " + std::to_string(m.n_cols) + ",\n";
  o += std::string("  \"value_type\": \"") + (m.value_type == ValueType::kUInt32 ? "uint32" : "float32") + "\",\n";
  o += "  \"nnz\": " + std::to_string(m.nnz()) + ",\n";
  Array(&o, "indptr", m.indptr);
  Array(&o, "indices", m.indices);
  if (m.value_type == ValueType::kUInt32) Array(&o, "values", m.counts, true);
  else Array(&o, "values", m.floats, true);
  o += "}\n";
  return o;
}

std::vector<InvalidCase> InvalidCases() {
  const std::vector<uint8_t> good = Encode(AllCases()[0]);  // tiny_counts
  const size_t size = good.size();
  const uint64_t footer_offset = engine::Load<uint64_t>(good.data() + size - 32);
  const uint64_t footer_len = engine::Load<uint64_t>(good.data() + size - 24);
  // Rewrites the footer checksum in the tail after a deliberate footer edit,
  // so the defect behind it is what the reader reports.
  auto reseal = [&](std::vector<uint8_t>* b) {
    engine::Store<uint64_t>(b->data() + size - 16, codecs::Checksum64(b->data() + footer_offset, footer_len, footer_offset));
  };
  std::vector<InvalidCase> v;
  auto add = [&](std::string name, std::string defect, std::string err, auto mutate) {
    InvalidCase c{std::move(name), std::move(defect), std::move(err), good};
    mutate(&c.bytes);
    v.push_back(std::move(c));
  };
  add("bad_magic", "first byte changed from 'S' to 'X'", "expected magic \"SLAF\"", [](auto* b) { (*b)[0] = 'X'; });
  add("major_version_2", "header and tail say format major version 2", "major version 2", [&](auto* b) {
    engine::Store<uint16_t>(b->data() + 8, 2);
    engine::Store<uint16_t>(b->data() + size - 8, 2);
  });
  add("truncated_tail", "last 10 bytes cut off", "tail magic", [](auto* b) { b->resize(b->size() - 10); });
  add("chunk_bit_flip", "one bit flipped inside chunk 0's payload (file offset 40)", "checksum mismatch", [](auto* b) { (*b)[40] ^= 0x04; });
  add("footer_bit_flip", "one bit flipped in the footer's n_rows", "footer checksum mismatch", [&](auto* b) { (*b)[footer_offset + 8] ^= 0x01; });
  add("footer_offset_past_end", "tail's footer_offset points past the end of the file", "does not end at the tail", [&](auto* b) {
    engine::Store<uint64_t>(b->data() + size - 32, 1ull << 40);
  });
  add("unknown_codec", "chunk 0's codec id set to 9 (footer checksum recomputed)", "unknown codec id 9", [&](auto* b) {
    (*b)[footer_offset + 64 + 64] = 9;
    reseal(b);
  });
  add("rows_mismatch", "footer n_rows says 5 while the chunks hold 4 (footer checksum recomputed)", "footer says n_rows 5", [&](auto* b) {
    engine::Store<uint64_t>(b->data() + footer_offset + 8, 5);
    reseal(b);
  });
  add("huge_chunk_count", "footer n_chunks set to 2^31 (footer checksum recomputed)", "does not match n_chunks", [&](auto* b) {
    engine::Store<uint32_t>(b->data() + footer_offset + 24, 1u << 31);
    reseal(b);
  });
  return v;
}

}  // namespace slaf::golden
