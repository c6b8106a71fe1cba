// slaf-inspect's library: reports a segment file structure by structure,
// continuing past damage where it can so the report shows what is wrong.
#include "slaf/inspect.h"

#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <memory>

#include "codecs/bitpack.h"
#include "codecs/block_codec.h"
#include "codecs/compress.h"
#include "engine/chunk.h"
#include "engine/format.h"
#include "slaf/file.h"
#include "slaf/segment.h"

namespace slaf {
namespace {

using engine::Load;

std::string Fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string Fmt(const char* f, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, f);
  vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

// JSON has no NaN or infinity: those are written as null.
std::string JsonNumber(double v) { return std::isfinite(v) ? Fmt("%.17g", v) : "null"; }

std::string JsonString(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\', o += c;
    else if (static_cast<unsigned char>(c) < 0x20) o += Fmt("\\u%04x", c);
    else o += c;
  }
  return o + "\"";
}

const char* EncodingName(uint8_t e) {
  switch (e) {
    case engine::kCountsMinusOne: return "u32-minus-one";
    case engine::kCountsPlain: return "u32";
    case engine::kFloatPlain: return "f32";
    case engine::kFloatShuffled: return "f32-shuffled";
  }
  return "unknown";
}

// A copy of the file that never outlives the call, for SegmentReader::Open.
class BorrowedFile final : public io::RandomAccessFile {
 public:
  explicit BorrowedFile(const io::RandomAccessFile& f) : f_(f) {}
  const std::string& name() const override { return f_.name(); }
  uint64_t size() const override { return f_.size(); }
  Status ReadAt(uint64_t o, size_t n, uint8_t* out) const override { return f_.ReadAt(o, n, out); }

 private:
  const io::RandomAccessFile& f_;
};

struct StreamSizes {
  uint32_t counts = 0, cols = 0, values = 0;
};

// Reads chunk i's stored bytes and returns its verified raw payload.
Result<std::span<const uint8_t>> ReadPayload(const io::RandomAccessFile& f, const SegmentInfo& info, size_t i, std::vector<uint8_t>* stored,
                                             std::vector<uint8_t>* raw) {
  const ChunkInfo& c = info.chunks[i];
  stored->resize(c.stored_len);
  SLAF_RETURN_IF_ERROR(f.ReadAt(c.offset, c.stored_len, stored->data()));
  return engine::VerifyAndDecompress(*stored, c, info.file_id, i, raw, f.name() + ": chunk " + std::to_string(i) + " at offset " + std::to_string(c.offset));
}

}  // namespace

Status InspectSegment(const io::RandomAccessFile& file, const InspectOptions& opt, std::string* out) {
  const bool js = opt.json;
  std::string& o = *out;
  auto rd = std::make_shared<BorrowedFile>(file);
  auto opened = SegmentReader::Open(rd);
  if (!opened.ok()) {
    if (js) o += "{\"file\": " + JsonString(file.name()) + ", \"size\": " + std::to_string(file.size()) + ", \"ok\": false, \"error\": " + JsonString(opened.status().ToString()) + "}\n";
    else o += "file " + file.name() + " (" + std::to_string(file.size()) + " bytes)\nERROR: " + opened.status().ToString() + "\n";
    // Show the raw header and tail bytes to help a reader find the damage.
    if (!js && file.size() >= engine::kHeaderSize) {
      uint8_t h[engine::kHeaderSize];
      if (file.ReadAt(0, sizeof h, h).ok()) o += "header bytes: " + engine::Hex(h, sizeof h) + "\n";
    }
    if (!js && file.size() >= engine::kTailSize) {
      uint8_t t[engine::kTailSize];
      if (file.ReadAt(file.size() - sizeof t, sizeof t, t).ok()) o += "tail bytes:   " + engine::Hex(t, sizeof t) + "\n";
    }
    return opened.status();
  }
  const SegmentInfo& info = (*opened)->info();
  const char* vt = info.value_type == ValueType::kUInt32 ? "uint32" : "float32";
  if (js) {
    o += "{\"file\": " + JsonString(file.name()) + Fmt(", \"size\": %" PRIu64 ", \"format_version\": \"%u.%u\", \"kind\": \"XCSR\", \"file_id\": \"%016" PRIx64 "\"", info.file_size, info.major, info.minor, info.file_id);
    o += Fmt(", \"n_rows\": %" PRIu64 ", \"n_cols\": %u, \"value_type\": \"%s\", \"nnz\": %" PRIu64 ", \"sum\": %s, \"col_order\": \"%s\"", info.n_rows, info.n_cols, vt, info.nnz, JsonNumber(info.sum).c_str(), info.permuted ? "permuted" : "identity");
    o += Fmt(", \"footer_offset\": %" PRIu64 ", \"footer_len\": %" PRIu64 ", \"bytes_per_nnz\": %.4f, \"chunks\": [", info.footer_offset, info.footer_len, info.nnz ? double(info.file_size) / info.nnz : 0.0);
  } else {
    o += Fmt("file %s\n  size %" PRIu64 " bytes, format %u.%u, kind XCSR (cell-major expression segment), file_id %016" PRIx64 "\n", file.name().c_str(), info.file_size, info.major, info.minor, info.file_id);
    o += Fmt("  shape %" PRIu64 " rows x %u cols, value_type %s, nnz %" PRIu64 ", sum %.17g, col_order %s\n", info.n_rows, info.n_cols, vt, info.nnz, info.sum, info.permuted ? "permuted (stored->original table in footer)" : "identity");
    o += Fmt("  header 0..32, chunks 32..%" PRIu64 ", footer %" PRIu64 "..%" PRIu64 " (%" PRIu64 " bytes), tail %" PRIu64 "..%" PRIu64 "\n", info.footer_offset, info.footer_offset, info.footer_offset + info.footer_len, info.footer_len, info.file_size - engine::kTailSize, info.file_size);
    o += Fmt("  %.4f bytes per nonzero, %zu chunks\n\n", info.nnz ? double(info.file_size) / info.nnz : 0.0, info.chunks.size());
    o += "  chunk      offset  stored     raw codec  encoding       first_row   rows     nnz  cols[min,max]   values[min,max]        sum  streams(counts/cols/values)  checksum\n";
  }
  Status first_error;
  std::vector<uint8_t> stored, raw;
  for (size_t i = 0; i < info.chunks.size(); ++i) {
    const ChunkInfo& c = info.chunks[i];
    std::string status = "not read";
    StreamSizes ss;
    if (opt.chunks) {
      // Full check: checksum, every stream decoded, zone map matches.
      Status s = (*opened)->VerifyChunk(i);
      if (s.ok()) {
        auto payload = ReadPayload(file, info, i, &stored, &raw);  // raw_len >= 16 (footer checks)
        if (payload.ok()) ss = {Load<uint32_t>(payload->data()), Load<uint32_t>(payload->data() + 4), Load<uint32_t>(payload->data() + 8)};
        else s = payload.status();
      }
      status = s.ok() ? "ok" : "BAD";
      if (!s.ok() && first_error.ok()) first_error = s;
    }
    const char* codec = codecs::CodecName(static_cast<codecs::Codec>(c.codec)).data();
    if (js) {
      o += Fmt("%s{\"index\": %zu, \"offset\": %" PRIu64 ", \"stored_len\": %u, \"raw_len\": %u, \"codec\": \"%s\", \"value_encoding\": \"%s\", \"first_row\": %" PRIu64 ", \"n_rows\": %u, \"nnz\": %u, \"min_col\": %u, \"max_col\": %u, \"min_value\": %s, \"max_value\": %s, \"sum\": %s, \"checksum\": \"%016" PRIx64 "\", \"status\": \"%s\"",
               i ? ", " : "", i, c.offset, c.stored_len, c.raw_len, codec, EncodingName(c.value_encoding), c.first_row, c.n_rows, c.nnz, c.min_col, c.max_col, JsonNumber(c.min_value).c_str(), JsonNumber(c.max_value).c_str(), JsonNumber(c.sum).c_str(), c.checksum, status.c_str());
      if (opt.chunks && status == "ok") o += Fmt(", \"streams\": {\"counts\": %u, \"cols\": %u, \"values\": %u}", ss.counts, ss.cols, ss.values);
      o += "}";
    } else {
      o += Fmt("  %5zu %11" PRIu64 " %7u %7u %-5s %-13s %10" PRIu64 " %6u %7u  [%u,%u]  [%g,%g]  %.10g  %u/%u/%u  %016" PRIx64 " %s\n", i, c.offset, c.stored_len, c.raw_len, codec, EncodingName(c.value_encoding), c.first_row, c.n_rows, c.nnz, c.min_col, c.max_col, c.min_value, c.max_value, c.sum, ss.counts, ss.cols, ss.values, c.checksum, status.c_str());
    }
  }
  if (js) {
    o += Fmt("], \"ok\": %s", first_error.ok() ? "true" : "false");
    if (!first_error.ok()) o += ", \"error\": " + JsonString(first_error.ToString());
    o += "}\n";
  } else if (!first_error.ok()) {
    o += "\nERROR: " + first_error.ToString() + "\n";
  } else if (opt.chunks) {
    o += "\nall " + std::to_string(info.chunks.size()) + " chunks verified: checksum, every stream decoded, zone map matches\n";
  }
  return first_error;
}

namespace {

void DumpBytes(const uint8_t* p, size_t n, uint64_t base, const std::string& what, std::string* o) {
  for (size_t i = 0; i < n || (n == 0 && i == 0); i += 16) {
    const size_t m = std::min<size_t>(16, n - i);
    *o += Fmt("  %08" PRIx64 "  %-47s  %s\n", base + i, engine::Hex(p + i, m).c_str(), i == 0 ? what.c_str() : "");
    if (n == 0) break;
  }
}

// Annotates a block stream of n values (format-spec §3.2).
void DumpBlocks(const uint8_t* p, const uint8_t* end, size_t n, uint64_t base, const std::string& name, std::string* o) {
  const uint8_t* q = p;
  for (size_t start = 0, b = 0; start < n; start += codecs::kBlockValues, ++b) {
    const size_t m = std::min(codecs::kBlockValues, n - start);
    if (end - q < 2) {
      *o += "  (stream ends inside a block header)\n";
      return;
    }
    const int w = q[0], e = q[1];
    const int xw = e > 0 && end - q >= 3 ? q[2] : 0;
    const size_t hb = e > 0 ? 3 : 2;
    const size_t lows = codecs::PackedBytes(m, w), total = hb + lows + e + codecs::PackedBytes(e, xw);
    if (w > 32 || static_cast<size_t>(e) > m || static_cast<size_t>(end - q) < total) {
      DumpBytes(q, std::min<size_t>(hb, end - q), base + (q - p), Fmt("%s block %zu: INVALID header w=%d e=%d xw=%d", name.c_str(), b, w, e, xw), o);
      return;
    }
    DumpBytes(q, hb, base + (q - p), Fmt("%s block %zu header: %zu values, low width w=%d, exceptions e=%d%s", name.c_str(), b, m, w, e, e ? Fmt(", high width xw=%d", xw).c_str() : ""), o);
    DumpBytes(q + hb, lows, base + (q - p) + hb, Fmt("%s block %zu: %zu low parts x %d bits", name.c_str(), b, m, w), o);
    if (e > 0) {
      DumpBytes(q + hb + lows, e, base + (q - p) + hb + lows, Fmt("%s block %zu: exception positions", name.c_str(), b), o);
      DumpBytes(q + hb + lows + e, codecs::PackedBytes(e, xw), base + (q - p) + hb + lows + e, Fmt("%s block %zu: exception high parts x %d bits", name.c_str(), b, xw), o);
    }
    q += total;
  }
}

}  // namespace

Status HexDumpChunk(const io::RandomAccessFile& file, size_t chunk, std::string* out) {
  auto rd = std::make_shared<BorrowedFile>(file);
  auto opened = SegmentReader::Open(rd);
  if (!opened.ok()) return opened.status();
  const SegmentInfo& info = (*opened)->info();
  if (chunk >= info.chunks.size()) return Status::InvalidArgument(file.name() + ": chunk " + std::to_string(chunk) + " does not exist (the file has " + std::to_string(info.chunks.size()) + ")");
  const ChunkInfo& c = info.chunks[chunk];
  std::string& o = *out;
  o += Fmt("chunk %zu of %s: offset %" PRIu64 ", stored_len %u, raw_len %u, codec %s, value_encoding %u (%s)\n", chunk, file.name().c_str(), c.offset, c.stored_len, c.raw_len,
           codecs::CodecName(static_cast<codecs::Codec>(c.codec)).data(), c.value_encoding, EncodingName(c.value_encoding));
  o += Fmt("rows %" PRIu64 "..%" PRIu64 " (%u), nnz %u, stored cols [%u, %u], values [%g, %g], sum %.17g, checksum %016" PRIx64 " (XXH3-64, seed file_id ^ (index+1)*0x9E3779B97F4A7C15)\n\n",
           c.first_row, c.first_row + c.n_rows, c.n_rows, c.nnz, c.min_col, c.max_col, c.min_value, c.max_value, c.sum, c.checksum);
  std::vector<uint8_t> stored, raw;
  auto payload = ReadPayload(file, info, chunk, &stored, &raw);
  if (!payload.ok()) {
    o += "ERROR: " + payload.status().ToString() + "\nstored bytes:\n";
    DumpBytes(stored.data(), stored.size(), c.offset, "", &o);
    return payload.status();
  }
  uint64_t base = c.offset;
  if (c.codec != 0) {
    o += "stored (compressed) bytes, file offsets:\n";
    DumpBytes(stored.data(), stored.size(), c.offset, std::string(codecs::CodecName(static_cast<codecs::Codec>(c.codec))) + " frame", &o);
    o += "\ndecompressed payload, payload offsets:\n";
    base = 0;
  } else {
    o += "payload (uncompressed), file offsets:\n";
  }
  const uint8_t* p = payload->data();
  const uint32_t cl = Load<uint32_t>(p), gl = Load<uint32_t>(p + 4), vl = Load<uint32_t>(p + 8);
  DumpBytes(p, 4, base, Fmt("counts_len = %u", cl), &o);
  DumpBytes(p + 4, 4, base + 4, Fmt("cols_len = %u", gl), &o);
  DumpBytes(p + 8, 4, base + 8, Fmt("values_len = %u", vl), &o);
  DumpBytes(p + 12, 4, base + 12, "reserved (0)", &o);
  const uint8_t* q = p + engine::kChunkHeaderSize;
  if (16ull + cl + gl + vl != payload->size()) {
    o += "stream lengths do not add up to raw_len\n";
    return Status::Corruption(file.name() + ": chunk " + std::to_string(chunk) + ": stream lengths do not add up (format-spec §4.2)");
  }
  DumpBlocks(q, q + cl, c.n_rows, base + 16, "counts", &o);
  q += cl;
  DumpBlocks(q, q + gl, c.nnz, base + 16 + cl, "cols", &o);
  q += gl;
  if (c.value_encoding == engine::kCountsMinusOne || c.value_encoding == engine::kCountsPlain) {
    DumpBlocks(q, q + vl, c.nnz, base + 16 + cl + gl, c.value_encoding == engine::kCountsMinusOne ? "values-1" : "values", &o);
  } else {
    DumpBytes(q, vl, base + 16 + cl + gl, c.value_encoding == engine::kFloatShuffled ? "f32 byte planes (all byte 0s, then byte 1s, ...)" : "f32 little-endian values", &o);
  }
  return Status::OK();
}

}  // namespace slaf
