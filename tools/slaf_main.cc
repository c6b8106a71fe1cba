// slaf: command-line front end over datasets. Thin: each command parses its
// arguments and calls the library (tools/cli_*.cc, one file per command group).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "slaf/remote.h"
#include "tools/cli.h"

namespace {

struct Command {
  const char* name;
  int (*run)(const std::vector<std::string>&);
};

const Command kCommands[] = {
    {"generate", slaf::cli::Generate}, {"info", slaf::cli::Info},     {"versions", slaf::cli::Versions},
    {"verify", slaf::cli::Verify},     {"append", slaf::cli::Append}, {"vacuum", slaf::cli::Vacuum},
    {"cells", slaf::cli::Cells},       {"filter", slaf::cli::Filter}, {"scan", slaf::cli::Scan},
    {"convert", slaf::cli::Convert},   {"export", slaf::cli::Export}, {"stats", slaf::cli::Stats},
    {"index", slaf::cli::Index},       {"genes", slaf::cli::Genes},
    {"query", slaf::cli::Query},
};

const char* kUsage =
    "usage: slaf COMMAND [options]\n"
    "\n"
    "A dataset is a directory (OUT.slaf) of immutable files and one manifest per\n"
    "version: a local path, an s3://bucket/prefix (read and write), or an\n"
    "http(s):// URL (read-only; only the byte ranges a command needs are fetched).\n"
    "Commands:\n"
    "  convert INPUT OUT.slaf [--gene-index]           import h5ad, 10x HDF5 or 10x MTX\n"
    "  export DATASET OUT --to h5ad|mtx [--version N]  write a version as h5ad or MTX\n"
    "  generate OUT.slaf [--cells N] [--genes G] ...   write a synthetic dataset\n"
    "  info DATASET [--version N] [--json]             shape, sizes, columns, layers\n"
    "  versions DATASET [--json]                       the history of versions\n"
    "  verify DATASET [--version N]                    check every file; exit 1 if damaged\n"
    "  append DATASET SOURCE                           add SOURCE's cells as a new version\n"
    "  index DATASET [--layer L]                       build the gene-major copy for gene queries\n"
    "  vacuum DATASET [--keep-last K] [--dry-run]      remove unreferenced files\n"
    "  cells DATASET CELL... [--rows] [--genes G,...]  nonzeros of some cells\n"
    "  genes DATASET GENE... [--limit N]               one gene over all cells (top cells)\n"
    "  filter DATASET EXPR [--count] [--limit N]       cells (or --genes) matching EXPR\n"
    "  stats DATASET --genes|--cells [--top N]        top genes/cells, markers, count bands\n"
    "  scan DATASET [--layer L]                        decode every value; nnz, sum, speed\n"
    "  query DATASET \"SQL\" [--format table|csv|json] SQL over cells, genes, expression\n"
    "\n"
    "Options for every command: --stats (or SLAF_STATS=1) prints the remote I/O a\n"
    "command cost (requests, round trips, bytes, cache hits, time) to stderr.\n"
    "Run 'slaf COMMAND --help' for a command's options; slaf-inspect explains one\n"
    "segment file. Exit status: 0 ok, 1 failure, 2 usage error.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return slaf::cli::kExitUsage;
  }
  const std::string cmd = argv[1];
  std::vector<std::string> args;
  const char* env_stats = std::getenv("SLAF_STATS");
  bool stats = env_stats && *env_stats && std::string(env_stats) != "0";
  for (int i = 2; i < argc; ++i) {
    if (std::string(argv[i]) == "--stats") stats = true;
    else args.push_back(argv[i]);
  }
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  for (const Command& c : kCommands) {
    if (cmd != c.name) continue;
    const int rc = c.run(args);
    if (stats) std::fprintf(stderr, "%s\n", slaf::io::FormatIoStats(slaf::io::GetIoStats()).c_str());
    return rc;
  }
  return slaf::cli::UsageError(kUsage, "unknown command '" + cmd + "'");
}
