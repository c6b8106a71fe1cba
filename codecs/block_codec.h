// Patched bit-packed blocks: the integer stream encoding of format-spec §3.2.
//
// A stream of n unsigned 32-bit values is cut into ceil(n/128) blocks; every
// block holds 128 values except possibly the last (n % 128). Each block is
//
//   offset  size              field
//   0       1                 w   low-bit width, 0..32
//   1       1                 e   number of exceptions, 0..block length
//   2       1 (only if e > 0) xw  exception high-bit width, 1..32-w
//   .       ceil(m*w/8)       low w bits of every value, bit-packed (§3.1)
//   .       e (only if e > 0) positions of the exceptions, strictly increasing
//   .       ceil(e*xw/8)      high bits (value >> w) of each exception, packed
//
// A value whose bit width exceeds w is an exception: its low w bits sit in
// the packed run and its remaining bits in the exception list. The encoder
// picks w per block to minimise the block's size, so a few outliers do not
// widen the whole block (the idea of PFOR, Zukowski et al. 2006).
//
// Pure functions; the decoder never reads outside [p, end).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "slaf/status.h"

namespace slaf::codecs {

inline constexpr size_t kBlockValues = 128;

// Appends the encoding of in[0, n) to *out.
void EncodeBlocks(const uint32_t* in, size_t n, std::vector<uint8_t>* out);

// Decodes n values from [p, end) into out[0, n), adding `bias` to each
// (mod 2^32). On success *consumed is the number of bytes used. Errors are
// Corruption with the byte offset relative to p; callers add the file and
// stream context.
Status DecodeBlocks(const uint8_t* p, const uint8_t* end, size_t n, uint32_t* out,
                    size_t* consumed, uint32_t bias = 0);

// Size in bytes of the encoding of n values starting at p, found by walking
// block headers without unpacking. Same validation as DecodeBlocks except the
// exception positions, which are not read.
Status MeasureBlocks(const uint8_t* p, const uint8_t* end, size_t n, size_t* bytes);

// Byte offset of block number `block` (0-based) of a stream starting at p,
// found by walking headers. REQUIRES: block <= number of blocks in the stream.
Status SeekBlock(const uint8_t* p, const uint8_t* end, size_t n, size_t block, size_t* offset);

}  // namespace slaf::codecs
