// libFuzzer target: the LZF decoder (interop/lzf.h) behind the HDF5 LZF
// filter must reject or decode any bytes without reading or writing out of
// bounds, for any output capacity.
#include <cstdint>
#include <vector>

#include "interop/lzf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // The first two bytes pick the output capacity (0..65535).
  const size_t cap = static_cast<size_t>(data[0]) << 8 | data[1];
  std::vector<uint8_t> out(cap);
  const size_t n = slaf::interop::LzfDecompress(data + 2, size - 2, out.data(), cap);
  if (n != SIZE_MAX && n > cap) __builtin_trap();
  return 0;
}
