// Bit-packing kernels. The hot path unpacks 128-value blocks with a width
// fixed at compile time: one unaligned 64-bit load, shift and mask per value,
// fully unrolled so every shift and offset is a constant.
#include "codecs/bitpack.h"

#include <array>
#include <cstring>
#include <utility>

namespace slaf::codecs {

namespace {

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;  // little-endian host (checked in engine/format.h)
}

template <int W>
void Unpack128(const uint8_t* in, uint32_t* out, uint32_t bias) {
  if constexpr (W == 0) {
    for (int i = 0; i < 128; ++i) out[i] = bias;
  } else {
    constexpr uint64_t kMask = (W == 32) ? 0xFFFFFFFFull : ((1ull << W) - 1);
#pragma GCC unroll 128
    for (int i = 0; i < 128; ++i) {
      const int bit = i * W;
      out[i] = static_cast<uint32_t>((Load64(in + (bit >> 3)) >> (bit & 7)) & kMask) + bias;
    }
  }
}

// Packs 128 values at compile-time width W into exactly 16*W bytes (2*W
// 64-bit words): 128*W bits always fill whole words, so no partial flush.
template <int W>
void Pack128(const uint32_t* in, uint8_t* out) {
  if constexpr (W > 0) {
    uint64_t acc = 0;
    int have = 0;
#pragma GCC unroll 128
    for (int i = 0; i < 128; ++i) {
      const uint64_t v = in[i];
      acc |= v << have;
      have += W;
      if (have >= 64) {
        std::memcpy(out, &acc, 8);
        out += 8;
        have -= 64;
        acc = have > 0 ? v >> (W - have) : 0;
      }
    }
  }
}

using Unpack128Fn = void (*)(const uint8_t*, uint32_t*, uint32_t);
using Pack128Fn = void (*)(const uint32_t*, uint8_t*);

template <int... Ws>
constexpr auto MakeTable(std::integer_sequence<int, Ws...>) {
  return std::array<Unpack128Fn, sizeof...(Ws)>{&Unpack128<Ws>...};
}

template <int... Ws>
constexpr auto MakePackTable(std::integer_sequence<int, Ws...>) {
  return std::array<Pack128Fn, sizeof...(Ws)>{&Pack128<Ws>...};
}

// Byte-at-a-time path: never reads past PackedBytes(n, w).
void UnpackSafe(const uint8_t* in, size_t n, int w, uint32_t* out, uint32_t bias) {
  if (w == 0) {
    for (size_t i = 0; i < n; ++i) out[i] = bias;
    return;
  }
  const uint64_t mask = (w == 32) ? 0xFFFFFFFFull : ((1ull << w) - 1);
  uint64_t acc = 0;
  int have = 0;
  size_t pos = 0;
  for (size_t i = 0; i < n; ++i) {
    while (have < w) {
      acc |= static_cast<uint64_t>(in[pos++]) << have;
      have += 8;
    }
    out[i] = static_cast<uint32_t>(acc & mask) + bias;
    acc >>= w;
    have -= w;
  }
}

constexpr auto kUnpack128 = MakeTable(std::make_integer_sequence<int, kMaxBitWidth + 1>{});
constexpr auto kPack128 = MakePackTable(std::make_integer_sequence<int, kMaxBitWidth + 1>{});
}  // namespace

void PackBits(const uint32_t* in, size_t n, int w, uint8_t* out) {
  if (w == 0) return;
  while (n >= 128) {
    kPack128[w](in, out);
    in += 128;
    out += 16 * static_cast<size_t>(w);
    n -= 128;
  }
  uint64_t acc = 0;
  int have = 0;
  size_t pos = 0;
  for (size_t i = 0; i < n; ++i) {
    acc |= static_cast<uint64_t>(in[i]) << have;
    have += w;
    while (have >= 8) {
      out[pos++] = static_cast<uint8_t>(acc);
      acc >>= 8;
      have -= 8;
    }
  }
  if (have > 0) out[pos] = static_cast<uint8_t>(acc);
}

void UnpackBits(const uint8_t* in, size_t in_len, size_t n, int w, uint32_t* out, uint32_t bias) {
  size_t i = 0;
  const size_t block_bytes = 16 * static_cast<size_t>(w);  // 128 * w / 8
  // Fast path: whole 128-value blocks with 8 readable bytes after the block.
  while (n - i >= 128 && in_len >= block_bytes + 8) {
    kUnpack128[w](in, out + i, bias);
    in += block_bytes;
    in_len -= block_bytes;
    i += 128;
  }
  // Remainder (a partial block, or exception lists): one 64-bit load per
  // value while 8 bytes of slack follow, else byte by byte.
  const size_t rest = n - i;
  if (rest > 0 && w > 0 && in_len >= PackedBytes(rest, w) + 8) {
    const uint64_t mask = (w == 32) ? 0xFFFFFFFFull : ((1ull << w) - 1);
    for (size_t k = 0; k < rest; ++k) {
      const size_t bit = k * static_cast<size_t>(w);
      out[i + k] = static_cast<uint32_t>((Load64(in + (bit >> 3)) >> (bit & 7)) & mask) + bias;
    }
    return;
  }
  UnpackSafe(in, rest, w, out + i, bias);
}

}  // namespace slaf::codecs
