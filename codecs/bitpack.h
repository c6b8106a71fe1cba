// Fixed-width bit-packing of unsigned 32-bit integers (format-spec §3.1).
//
// Layout: value i of a run occupies bits [i*w, (i+1)*w) of a little-endian
// bit stream: bit k of the stream is bit (k % 8) of byte (k / 8). A run of n
// values at width w takes PackedBytes(n, w) = ceil(n*w/8) bytes; the unused
// high bits of the last byte are written as zero and ignored by readers.
//
// Pure functions over caller-owned buffers; no allocation, no I/O.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace slaf::codecs {

inline constexpr int kMaxBitWidth = 32;

// Bytes needed for n values at width w (0..32).
inline constexpr size_t PackedBytes(size_t n, int w) { return (n * static_cast<size_t>(w) + 7) / 8; }

// Smallest width that can hold v (0 for v == 0).
inline int BitWidth(uint32_t v) { return static_cast<int>(std::bit_width(v)); }

// Writes PackedBytes(n, w) bytes to out.
// REQUIRES: 0 <= w <= 32; every in[i] < 2^w; out holds PackedBytes(n, w) bytes.
void PackBits(const uint32_t* in, size_t n, int w, uint8_t* out);

// Reads n values of width w from in[0, in_len) into out[0, n), adding
// `bias` to each (mod 2^32; used to undo the value-1 mapping in one pass).
// REQUIRES: 0 <= w <= 32 and in_len >= PackedBytes(n, w) (callers check the
// bound against the data they hold before calling). Reads no byte at or past
// in + in_len; uses a faster unrolled path when 8 bytes of slack follow.
void UnpackBits(const uint8_t* in, size_t in_len, size_t n, int w, uint32_t* out, uint32_t bias = 0);

}  // namespace slaf::codecs
