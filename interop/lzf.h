// LZF decompression for the HDF5 LZF filter (lzf_filter.cc), exposed for
// its fuzz target.
#pragma once

#include <cstddef>
#include <cstdint>

namespace slaf::interop {

// Decompresses `in` (n bytes) into `out` (capacity `cap`). Returns the
// output size, 0 for corrupt input, or SIZE_MAX when `cap` is too small.
size_t LzfDecompress(const uint8_t* in, size_t n, uint8_t* out, size_t cap);

// Registers the filter with libhdf5 (idempotent).
void RegisterLzfFilter();

}  // namespace slaf::interop
