// General-purpose compression passes (format-spec §3.5): zstd and lz4 block
// format, via the Debian libzstd and liblz4 libraries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "slaf/status.h"

namespace slaf::codecs {

// Codec ids as stored on disk; never renumber.
enum class Codec : uint8_t { kNone = 0, kZstd = 1, kLz4 = 2 };

inline constexpr uint8_t kMaxCodecId = 2;
std::string_view CodecName(Codec c);

// Appends the compressed form of `in` to *out. `level` is the zstd level
// (ignored by lz4 and none).
Status Compress(Codec codec, std::span<const uint8_t> in, int level, std::vector<uint8_t>* out);

// Decompresses `in` into out[0, out_len), which must be exactly the original
// size (taken from the file's directory, already bounds-checked by the
// caller). Any other decoded size is Corruption.
Status Decompress(Codec codec, std::span<const uint8_t> in, uint8_t* out, size_t out_len);

}  // namespace slaf::codecs
