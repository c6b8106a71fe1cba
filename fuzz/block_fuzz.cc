// libFuzzer target: the patched bit-packed block decoder (format-spec §3.2)
// on untrusted bytes. The first two bytes choose the value count.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "codecs/block_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t n = (static_cast<size_t>(data[0]) << 8 | data[1]) % 4096;
  std::vector<uint32_t> out(n);
  size_t used = 0;
  slaf::Status s = slaf::codecs::DecodeBlocks(data + 2, data + size, n, out.data(), &used);
  if (s.ok() && used > size - 2) __builtin_trap();  // consumed more than it was given
  size_t measured = 0;
  if (s.ok() && (!slaf::codecs::MeasureBlocks(data + 2, data + size, n, &measured).ok() || measured != used)) __builtin_trap();
  return 0;
}
