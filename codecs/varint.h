// LEB128 unsigned varints and zigzag mapping (format-spec §3.3).
//
// A varint stores 7 bits per byte, least significant group first; the high
// bit of each byte is 1 when another byte follows. A u64 takes at most 10
// bytes; a decoder rejects longer encodings and bits beyond 64.
// Zigzag maps signed to unsigned so small magnitudes stay small:
// 0->0, -1->1, 1->2, -2->3, ...
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace slaf::codecs {

inline constexpr size_t kMaxVarint64Bytes = 10;

inline void PutVarint64(std::vector<uint8_t>* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<uint8_t>(v));
}

// Decodes one varint from [p, limit). Returns the byte after it, or nullptr
// when the input ends early or the encoding overflows 64 bits.
inline const uint8_t* GetVarint64(const uint8_t* p, const uint8_t* limit, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && p < limit; shift += 7) {
    const uint64_t byte = *p++;
    if (shift == 63 && byte > 1) return nullptr;  // would overflow 64 bits
    result |= (byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return p;
    }
  }
  return nullptr;
}

inline uint64_t ZigZagEncode(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t ZigZagDecode(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

}  // namespace slaf::codecs
