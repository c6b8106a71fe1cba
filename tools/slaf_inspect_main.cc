// slaf-inspect: explains a slaf file structure by structure (thin main over
// slaf/inspect.h).
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "slaf/file.h"
#include "slaf/inspect.h"

int main(int argc, char** argv) {
  const char* usage =
      "usage: slaf-inspect FILE [--json] [--no-chunks] [--hex CHUNK]\n"
      "Prints header, footer, the chunk directory with zone maps, codec, stream\n"
      "sizes and checksum status of every chunk. --hex dumps one chunk's bytes\n"
      "with field annotations. Exit status 1 when the file is damaged.\n";
  std::string path;
  slaf::InspectOptions opt;
  long hex = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(usage, stdout);
      return 0;
    } else if (a == "--json") {
      opt.json = true;
    } else if (a == "--no-chunks") {
      opt.chunks = false;
    } else if (a == "--hex" && i + 1 < argc) {
      char* end = nullptr;
      hex = std::strtol(argv[++i], &end, 10);
      if (*end || hex < 0) {
        std::fprintf(stderr, "slaf-inspect: --hex needs a chunk number\n");
        return 2;
      }
    } else if (path.empty() && (a.empty() || a[0] != '-')) {
      path = a;
    } else {
      std::fprintf(stderr, "slaf-inspect: unexpected argument %s\n\n%s", a.c_str(), usage);
      return 2;
    }
  }
  if (path.empty()) {
    std::fputs(usage, stderr);
    return 2;
  }
  auto file = slaf::io::OpenLocalFile(path);
  if (!file.ok()) {
    std::fprintf(stderr, "slaf-inspect: %s\n", file.status().ToString().c_str());
    return 1;
  }
  std::string out;
  slaf::Status s = hex >= 0 ? slaf::HexDumpChunk(**file, static_cast<size_t>(hex), &out) : slaf::InspectSegment(**file, opt, &out);
  std::fputs(out.c_str(), stdout);
  if (!s.ok() && hex >= 0) std::fprintf(stderr, "slaf-inspect: %s\n", s.ToString().c_str());
  return s.ok() ? 0 : 1;
}
