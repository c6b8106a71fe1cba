// Encoder and decoder for patched bit-packed blocks (format-spec §3.2).
#include "codecs/block_codec.h"

#include <algorithm>
#include <array>
#include <string>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "codecs/bitpack.h"

namespace slaf::codecs {

namespace {

std::string At(size_t off, const std::string& what) {
  return "block stream offset " + std::to_string(off) + ": " + what + " (format-spec §3.2)";
}

// Chooses the low-bit width minimising the block's encoded size. For each
// candidate w the exception count is a plain counting loop that the
// compiler vectorizes; counts are small (UMI data rarely needs w > 10), so
// this beats a per-value histogram, whose scattered increments serialise
// (measured: 30% slower conversions).
int ChooseWidth(const uint32_t* in, size_t m, int* max_width) {
  uint32_t all = 0;
  for (size_t i = 0; i < m; ++i) all |= in[i];
  const int maxw = BitWidth(all);
  *max_width = maxw;
  int best_w = maxw;
  size_t best_bits = m * static_cast<size_t>(maxw);
  for (int w = maxw - 1; w >= 0; --w) {  // ties keep the wider w (format-spec §3.2)
    uint32_t above = 0;  // values wider than w
    for (size_t i = 0; i < m; ++i) above += (in[i] >> w) != 0;
    const size_t bits = m * w + 8 + above * (8 + static_cast<size_t>(maxw - w));
    if (bits < best_bits) {
      best_bits = bits;
      best_w = w;
    }
    // Every narrower w' has at least `above` exceptions, so costs at least
    // 8 + above * (8 + maxw) bits (m*w' + 8 + above'*(8 + maxw - w') with
    // above' >= above and m >= above). Once that reaches the best, stop:
    // the choice is the same as trying every width, only cheaper.
    if (8 + static_cast<size_t>(above) * (8 + static_cast<size_t>(maxw)) >= best_bits) break;
  }
  return best_w;
}

// Bit j set when v[j] > limit, for j < len <= 32.
inline uint32_t AboveMask(const uint32_t* v, size_t len, uint32_t limit) {
  uint32_t bits = 0;
  size_t j = 0;
#ifdef __SSE2__
  const __m128i flip = _mm_set1_epi32(static_cast<int>(0x80000000u));
  const __m128i lim = _mm_set1_epi32(static_cast<int>(limit ^ 0x80000000u));
  for (; j + 4 <= len; j += 4) {
    const __m128i x = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(v + j)), flip);
    bits |= static_cast<uint32_t>(_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpgt_epi32(x, lim)))) << j;
  }
#endif
  for (; j < len; ++j) bits |= static_cast<uint32_t>(v[j] > limit) << j;
  return bits;
}

}  // namespace

namespace {

struct BlockHeader {
  int w = 0;
  size_t e = 0;
  int xw = 0;
  size_t header_bytes = 0;
  size_t total_bytes = 0;  // header + lows + positions + highs
};

Status ParseHeader(const uint8_t* p, const uint8_t* end, size_t base, size_t m, BlockHeader* h) {
  const size_t avail = static_cast<size_t>(end - p);
  if (avail < 2) return Status::Corruption(At(base, "block header needs 2 bytes, " + std::to_string(avail) + " left"));
  h->w = p[0];
  h->e = p[1];
  if (h->w > kMaxBitWidth) return Status::Corruption(At(base, "bit width " + std::to_string(h->w) + " > 32"));
  if (h->e > m) return Status::Corruption(At(base + 1, "exception count " + std::to_string(h->e) + " > block length " + std::to_string(m)));
  h->header_bytes = 2;
  h->xw = 0;
  if (h->e > 0) {
    if (avail < 3) return Status::Corruption(At(base + 2, "missing exception width byte"));
    h->xw = p[2];
    if (h->xw < 1 || h->w + h->xw > kMaxBitWidth) {
      return Status::Corruption(At(base + 2, "exception width " + std::to_string(h->xw) + " invalid with low width " + std::to_string(h->w)));
    }
    h->header_bytes = 3;
  }
  h->total_bytes = h->header_bytes + PackedBytes(m, h->w) + h->e + PackedBytes(h->e, h->xw);
  if (h->total_bytes > avail) {
    return Status::Corruption(At(base, "block needs " + std::to_string(h->total_bytes) + " bytes, " + std::to_string(avail) + " left"));
  }
  return Status::OK();
}

}  // namespace

// Built twice, for AVX2 and for baseline x86-64, picked at load time: the
// width search's counting loops run twice as wide with AVX2.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void EncodeBlocks(const uint32_t* in, size_t n, std::vector<uint8_t>* out) {
  std::array<uint32_t, kBlockValues> lows;
  std::array<uint32_t, kBlockValues> highs;
  for (size_t start = 0; start < n; start += kBlockValues) {
    const size_t m = std::min(kBlockValues, n - start);
    const uint32_t* v = in + start;
    int maxw = 0;
    const int w = ChooseWidth(v, m, &maxw);
    size_t e = 0;
    uint8_t positions[kBlockValues];
    const uint32_t* low_src = v;  // every value fits: pack the input directly
    if (w < maxw) {
      // Here w < maxw <= 32, so the shift is defined. The low bits are one
      // vectorizable pass; exceptions (usually a few percent) are found 32
      // values at a time as a bit mask and visited one set bit at a time,
      // which avoids both mispredicted branches and a store chain through e.
      const uint32_t low_mask = (1u << w) - 1;
      for (size_t i = 0; i < m; ++i) lows[i] = v[i] & low_mask;
      for (size_t base = 0; base < m; base += 32) {
        const size_t len = std::min<size_t>(32, m - base);
        uint32_t bits = AboveMask(v + base, len, low_mask);
        while (bits) {
          const size_t i = base + static_cast<size_t>(__builtin_ctz(bits));
          positions[e] = static_cast<uint8_t>(i);
          highs[e] = v[i] >> w;
          ++e;
          bits &= bits - 1;
        }
      }
      low_src = lows.data();
    }
    const int xw = e > 0 ? maxw - w : 0;
    out->push_back(static_cast<uint8_t>(w));
    out->push_back(static_cast<uint8_t>(e));
    if (e > 0) out->push_back(static_cast<uint8_t>(xw));
    size_t pos = out->size();
    out->resize(pos + PackedBytes(m, w));
    PackBits(low_src, m, w, out->data() + pos);
    if (e > 0) {
      out->insert(out->end(), positions, positions + e);
      pos = out->size();
      out->resize(pos + PackedBytes(e, xw));
      PackBits(highs.data(), e, xw, out->data() + pos);
    }
  }
}

Status DecodeBlocks(const uint8_t* p, const uint8_t* end, size_t n, uint32_t* out, size_t* consumed, uint32_t bias) {
  const uint8_t* const begin = p;
  std::array<uint32_t, kBlockValues> highs;
  for (size_t start = 0; start < n; start += kBlockValues) {
    const size_t m = std::min(kBlockValues, n - start);
    BlockHeader h;
    const size_t base = static_cast<size_t>(p - begin);
    SLAF_RETURN_IF_ERROR(ParseHeader(p, end, base, m, &h));
    const uint8_t* q = p + h.header_bytes;
    const size_t low_bytes = PackedBytes(m, h.w);
    UnpackBits(q, static_cast<size_t>(end - q), m, h.w, out + start, bias);
    q += low_bytes;
    if (h.e > 0) {
      const uint8_t* positions = q;
      q += h.e;
      UnpackBits(q, static_cast<size_t>(end - q), h.e, h.xw, highs.data());
      int prev = -1;
      for (size_t j = 0; j < h.e; ++j) {
        const int pos = positions[j];
        if (pos <= prev || static_cast<size_t>(pos) >= m) {
          return Status::Corruption(At(base + h.header_bytes + low_bytes + j,
                                       "exception position " + std::to_string(pos) + " not increasing or >= " + std::to_string(m)));
        }
        prev = pos;
        // low + bias + (high << w) == (value) + bias: add, not or, so the
        // bias carried into the low part stays correct.
        out[start + pos] += highs[j] << h.w;
      }
    }
    p += h.total_bytes;
  }
  *consumed = static_cast<size_t>(p - begin);
  return Status::OK();
}

Status SeekBlock(const uint8_t* p, const uint8_t* end, size_t n, size_t block, size_t* offset) {
  const uint8_t* const begin = p;
  for (size_t b = 0; b < block; ++b) {
    const size_t start = b * kBlockValues;
    if (start >= n) return Status::InvalidArgument(At(0, "seek past the last block"));
    BlockHeader h;
    SLAF_RETURN_IF_ERROR(ParseHeader(p, end, static_cast<size_t>(p - begin), std::min(kBlockValues, n - start), &h));
    p += h.total_bytes;
  }
  *offset = static_cast<size_t>(p - begin);
  return Status::OK();
}

Status MeasureBlocks(const uint8_t* p, const uint8_t* end, size_t n, size_t* bytes) {
  return SeekBlock(p, end, n, (n + kBlockValues - 1) / kBlockValues, bytes);
}

}  // namespace slaf::codecs
