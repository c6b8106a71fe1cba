// slaf-inspect: explains a slaf file structure by structure (thin main over
// slaf/inspect.h).
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "slaf/dataset.h"
#include "slaf/file.h"
#include "slaf/inspect.h"
#include "slaf/remote.h"

namespace {

// A local path, or a URL split into its store (the part before the last '/')
// and the object's key.
slaf::Result<std::shared_ptr<slaf::io::RandomAccessFile>> OpenFile(const std::string& path) {
  if (!slaf::io::IsRemoteUri(path)) {
    SLAF_ASSIGN_OR_RETURN(std::unique_ptr<slaf::io::RandomAccessFile> f, slaf::io::OpenLocalFile(path));
    return std::shared_ptr<slaf::io::RandomAccessFile>(std::move(f));
  }
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash + 1 >= path.size() || path.compare(slash - 1, 2, "//") == 0) {
    return slaf::Status::InvalidArgument(path + ": a URL of a file (…/name.seg) is needed");
  }
  SLAF_ASSIGN_OR_RETURN(std::shared_ptr<slaf::io::ObjectStore> store, slaf::OpenStore(path.substr(0, slash), /*create=*/false));
  return store->OpenRead(path.substr(slash + 1));
}

}  // namespace

int main(int argc, char** argv) {
  const char* usage =
      "usage: slaf-inspect FILE [--json] [--no-chunks] [--hex CHUNK] [--stats]\n"
      "Prints header, footer, the chunk directory with zone maps, codec, stream\n"
      "sizes and checksum status of every chunk. --hex dumps one chunk's bytes\n"
      "with field annotations. FILE may be an http(s):// or s3:// URL (range\n"
      "reads; --stats prints the requests made). Exit status 1 when the file is\n"
      "damaged.\n";
  std::string path;
  slaf::InspectOptions opt;
  long hex = -1;
  bool stats = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(usage, stdout);
      return 0;
    } else if (a == "--json") {
      opt.json = true;
    } else if (a == "--stats") {
      stats = true;
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
  slaf::Result<std::shared_ptr<slaf::io::RandomAccessFile>> file = OpenFile(path);
  if (!file.ok()) {
    std::fprintf(stderr, "slaf-inspect: %s\n", file.status().ToString().c_str());
    return 1;
  }
  std::string out;
  slaf::Status s = hex >= 0 ? slaf::HexDumpChunk(**file, static_cast<size_t>(hex), &out) : slaf::InspectSegment(**file, opt, &out);
  std::fputs(out.c_str(), stdout);
  if (!s.ok() && hex >= 0) std::fprintf(stderr, "slaf-inspect: %s\n", s.ToString().c_str());
  if (stats) std::fprintf(stderr, "%s\n", slaf::io::FormatIoStats(slaf::io::GetIoStats()).c_str());
  return s.ok() ? 0 : 1;
}
