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

// Checks, from `in` alone and without decoding, that it can decompress to
// out_len bytes: none must be exactly out_len, a zstd frame that declares its
// content size must declare out_len, and an lz4 block cannot expand more than
// 255 times. Callers run it before allocating out_len bytes, so a corrupt
// length is rejected without the allocation. Corruption otherwise.
Status CheckDecompressedSize(Codec codec, std::span<const uint8_t> in, size_t out_len);

// Decompresses `in` into out[0, out_len), which must be exactly the original
// size (taken from the file's directory, already bounds-checked by the
// caller). Any other decoded size is Corruption. Runs CheckDecompressedSize
// first.
Status Decompress(Codec codec, std::span<const uint8_t> in, uint8_t* out, size_t out_len);

}  // namespace slaf::codecs
