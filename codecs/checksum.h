// Checksums (format-spec §3.6): XXH3-64 from the Debian libxxhash, seeded so
// the same bytes at another place give another checksum.
#pragma once

#include <xxhash.h>

#include <cstddef>
#include <cstdint>

namespace slaf::codecs {

inline uint64_t Checksum64(const void* data, size_t n, uint64_t seed) {
  return XXH3_64bits_withSeed(data, n, seed);
}

}  // namespace slaf::codecs
