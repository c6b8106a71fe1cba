// Byte layout constants and (de)serialisation of the container structures of
// format-spec §2: header, footer, chunk directory entries and tail. Field
// names follow the spec so one grep finds both.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "slaf/file.h"
#include "slaf/segment.h"
#include "slaf/status.h"

static_assert(std::endian::native == std::endian::little, "slaf assumes a little-endian host");

namespace slaf::engine {

// format-spec §2.1: "SLAF" at both ends of every file.
inline constexpr uint8_t kMagic[4] = {'S', 'L', 'A', 'F'};
// format-spec §1.2: file kinds. "XCSR": expression segment, cell-major CSR;
// "TABL": column table (§7); "DNSE": dense row-major matrix (§8).
inline constexpr uint8_t kKindCsr[4] = {'X', 'C', 'S', 'R'};
inline constexpr uint8_t kKindTable[4] = {'T', 'A', 'B', 'L'};
inline constexpr uint8_t kKindDense[4] = {'D', 'N', 'S', 'E'};
inline constexpr uint16_t kMajorVersion = 1;
inline constexpr uint16_t kMinorVersion = 0;

inline constexpr size_t kHeaderSize = 32;        // §2.1
inline constexpr size_t kTailSize = 32;          // §2.5
inline constexpr size_t kFooterFixedSize = 64;   // §2.3
inline constexpr size_t kDirEntrySize = 80;      // §2.4
inline constexpr size_t kChunkHeaderSize = 16;   // §4.2

// §2.6 limits a reader enforces before trusting a length.
inline constexpr uint64_t kMaxChunkBytes = 256ull << 20;
inline constexpr uint32_t kMaxChunkRows = 1u << 24;
inline constexpr uint32_t kMaxChunkNnz = 1u << 26;
inline constexpr uint64_t kMaxRows = 1ull << 40;
inline constexpr uint32_t kMaxCols = 1u << 31;

// Fuzz builds (fuzz/run.sh) skip checksum comparisons so mutated inputs
// reach the decoders behind them; the usual libFuzzer convention.
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
inline constexpr bool kCheckChecksums = false;
#else
inline constexpr bool kCheckChecksums = true;
#endif

// §3.6: chunk checksum seed mixes the file id and the chunk index so a chunk
// copied from another file or position does not verify.
inline constexpr uint64_t kGoldenRatio64 = 0x9E3779B97F4A7C15ull;
inline uint64_t ChunkSeed(uint64_t file_id, uint64_t chunk_index) {
  return file_id ^ ((chunk_index + 1) * kGoldenRatio64);
}

// §4.3 value encodings.
enum ValueEncoding : uint8_t {
  kCountsMinusOne = 1,  // u32 blocks of (value - 1); every value >= 1
  kCountsPlain = 2,     // u32 blocks of value
  kFloatPlain = 3,      // f32 little-endian
  kFloatShuffled = 4,   // f32 byte planes
};

struct Header {
  uint16_t major = kMajorVersion, minor = kMinorVersion;
  uint32_t flags = 0;
  uint64_t file_id = 0;
};

struct Tail {
  uint64_t footer_offset = 0;
  uint64_t footer_len = 0;
  uint64_t footer_checksum = 0;
  uint16_t major = kMajorVersion, minor = kMinorVersion;
};

// Little-endian field access into byte buffers.
template <typename T>
inline void Store(uint8_t* p, T v) { std::memcpy(p, &v, sizeof(T)); }
template <typename T>
inline T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// `kind` is one of the kK* constants above (4 bytes, format-spec §1.2).
void EncodeHeader(const Header& h, uint8_t out[kHeaderSize], const uint8_t* kind = kKindCsr);
// `file` names the file in errors. A header of another kind than `kind` is
// NotSupported (format-spec §2.1 step 2).
Status DecodeHeader(const uint8_t in[kHeaderSize], const std::string& file, Header* h, const uint8_t* kind = kKindCsr);

void EncodeTail(const Tail& t, uint8_t out[kTailSize]);
// Checks magic, version and that the footer lies between header and tail.
Status DecodeTail(const uint8_t in[kTailSize], uint64_t file_size, const std::string& file, Tail* t);

// Footer = fixed part, directory, optional permutation (§2.3).
void EncodeFooter(const SegmentInfo& info, std::vector<uint8_t>* out);
// Parses and fully validates a footer whose checksum already matched.
Status DecodeFooter(const uint8_t* p, size_t len, const Tail& tail, const std::string& file, SegmentInfo* info);

std::string Hex(const uint8_t* p, size_t n);

// Byte planes (format-spec §7.6 float64 encoding 2, §8.4 encoding 2): byte
// b of value k of n values of `size` bytes (4 or 8) sits at b * n + k.
void ShuffleBytes(const uint8_t* src, size_t n, size_t size, uint8_t* planes);
// Values [k0, k0 + cnt) of n byte-planed values back to plain little-endian
// values at dst. REQUIRES: k0 + cnt <= n, size 4 or 8.
void UnshuffleBytes(const uint8_t* planes, size_t n, size_t size, size_t k0, size_t cnt, uint8_t* dst);

// Asks the kernel to back [p, p + bytes) with transparent huge pages before
// it is first written. Whole-column reads write tens of MiB of fresh memory,
// and faulting that in 4 KiB pages cost more than decoding it (measured:
// 1M-row table, 280 ms against 50 ms). A hint only; a no-op off Linux.
void AdviseHugePages(void* p, size_t bytes);

// Opens the container of a file of kind `kind` (format-spec §2.7 steps 1-4,
// shared by every kind): size >= 128, header, tail, and the footer bytes
// with their checksum verified. Reads the last 64 KiB at once, so small
// footers cost one read. The caller parses the footer, then checks the
// footer's file_id against h->file_id and h->minor against t->minor
// (CheckContainerIds).
Status ReadContainer(const io::RandomAccessFile& file, const uint8_t* kind, Header* h, Tail* t, std::vector<uint8_t>* footer);
// The footer's file_id equals the header's; the tail's minor version the
// header's (format-spec §2.3 step 8, §2.7 step 3).
Status CheckContainerIds(const std::string& file, const Header& h, const Tail& t, uint64_t footer_file_id, uint64_t file_size);

// Appends the footer, which starts at file offset `footer_offset`, and the
// tail (footer checksum seeded with footer_offset), then syncs: the end of
// every writer.
Status WriteFooterAndTail(io::WritableFile* file, uint64_t footer_offset, std::span<const uint8_t> footer);

}  // namespace slaf::engine
