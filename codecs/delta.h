// Delta coding of strictly increasing runs (format-spec §3.4).
//
// A strictly increasing run x0 < x1 < ... is stored as x0, x1-x0-1,
// x2-x1-1, ...: subtracting one more than a plain delta maps the smallest
// legal gap to 0, which bit-packs to fewer bits for dense runs.
#pragma once

#include <cstddef>
#include <cstdint>

namespace slaf::codecs {

// REQUIRES: in strictly increasing. out may alias in.
inline void DeltaEncodeIncreasing(const uint32_t* in, size_t n, uint32_t* out) {
  uint32_t prev = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t x = in[i];
    out[i] = (i == 0) ? x : x - prev - 1;
    prev = x;
  }
}

// Inverse of DeltaEncodeIncreasing, in place. Returns false when a value
// would exceed `limit` (exclusive), i.e. the run does not fit the domain.
inline bool DeltaDecodeIncreasing(uint32_t* v, size_t n, uint64_t limit) {
  uint64_t x = 0;
  for (size_t i = 0; i < n; ++i) {
    x = (i == 0) ? v[i] : x + v[i] + 1;
    v[i] = static_cast<uint32_t>(x);
  }
  return n == 0 || x < limit;
}

}  // namespace slaf::codecs
