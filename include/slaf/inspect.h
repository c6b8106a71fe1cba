// Format debugging: describe a segment file field by field (the library
// behind slaf-inspect, callable from tests and other tools).
#pragma once

#include <cstddef>
#include <string>

#include "slaf/status.h"

namespace slaf {

namespace io {
class RandomAccessFile;
}

struct InspectOptions {
  bool json = false;
  // Read every chunk: verify its checksum and report its stream sizes.
  bool chunks = true;
};

// Appends a report on `file` to *out: header, tail, footer, the chunk
// directory with zone maps, codec and stream sizes, and checksum status per
// chunk. Returns the first problem found (the report still holds everything
// that could be read before and after it), or OK for a sound file.
Status InspectSegment(const io::RandomAccessFile& file, const InspectOptions& options, std::string* out);

// Appends an annotated hex dump of chunk `chunk`: directory entry, stored
// bytes, and the decoded payload's header, block headers and streams.
Status HexDumpChunk(const io::RandomAccessFile& file, size_t chunk, std::string* out);

}  // namespace slaf
