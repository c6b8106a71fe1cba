// The LZF filter (HDF5 filter id 32000) that h5py uses for
// compression="lzf": Debian's libhdf5 does not ship it, and h5ad files
// written with it are common (scanpy's read cache). Decompression only; we
// never write LZF.
//
// The LZF format (liblzf, Marc Lehmann) is a sequence of
//   literal runs:    control byte 000LLLLL, then L+1 bytes copied as they are
//   back references: control byte LLLooooo (LLL > 0), [one more length byte
//                    if LLL == 7], one offset byte: copy length+2 bytes
//                    starting (ooooo << 8 | offset byte) + 1 bytes back.
// h5py's filter stores the chunk's uncompressed size in cd_values[2].
#include <hdf5.h>

#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "interop/lzf.h"

namespace slaf::interop {

size_t LzfDecompress(const uint8_t* in, size_t n, uint8_t* out, size_t cap) {
  const uint8_t* ip = in;
  const uint8_t* const in_end = in + n;
  size_t op = 0;
  while (ip < in_end) {
    unsigned ctrl = *ip++;
    if (ctrl < 32) {
      const size_t len = ctrl + 1;
      if (static_cast<size_t>(in_end - ip) < len) return 0;
      if (cap - op < len) return SIZE_MAX;
      std::memcpy(out + op, ip, len);
      ip += len;
      op += len;
    } else {
      size_t len = ctrl >> 5;
      if (len == 7) {
        if (ip >= in_end) return 0;
        len += *ip++;
      }
      if (ip >= in_end) return 0;
      const size_t back = ((ctrl & 0x1f) << 8) + *ip++ + 1;
      len += 2;
      if (back > op) return 0;
      if (cap - op < len) return SIZE_MAX;
      for (size_t k = 0; k < len; ++k, ++op) out[op] = out[op - back];  // may overlap
    }
  }
  return op;
}

namespace {

constexpr H5Z_filter_t kLzfId = 32000;

size_t LzfFilter(unsigned flags, size_t cd_nelmts, const unsigned cd_values[], size_t nbytes, size_t* buf_size, void** buf) {
  if (!(flags & H5Z_FLAG_REVERSE)) return 0;  // compressing: not supported, HDF5 reports the failure
  size_t cap = cd_nelmts >= 3 && cd_values[2] != 0 ? cd_values[2] : std::max<size_t>(*buf_size, nbytes) * 2;
  for (int attempt = 0; attempt < 8; ++attempt, cap *= 2) {
    auto* out = static_cast<uint8_t*>(std::malloc(cap));
    if (!out) return 0;
    const size_t got = LzfDecompress(static_cast<const uint8_t*>(*buf), nbytes, out, cap);
    if (got == SIZE_MAX) {
      std::free(out);
      continue;
    }
    if (got == 0) {
      std::free(out);
      return 0;
    }
    std::free(*buf);
    *buf = out;
    *buf_size = cap;
    return got;
  }
  return 0;
}

}  // namespace

void RegisterLzfFilter() {
  static const bool registered = [] {
    if (H5Zfilter_avail(kLzfId) > 0) return true;
    static const H5Z_class2_t cls = {H5Z_CLASS_T_VERS, kLzfId, 1, 1, "lzf (slaf, decode only)", nullptr, nullptr, LzfFilter};
    return H5Zregister(&cls) >= 0;
  }();
  (void)registered;
}

}  // namespace slaf::interop
