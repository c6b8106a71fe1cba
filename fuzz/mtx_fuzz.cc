// libFuzzer target: the 10x MTX reader (interop/mtx_reader.cc). The input is
// a matrix.mtx (plain text) next to fixed genes.tsv and barcodes.tsv (5
// genes, 4 cells); reading it as counts, then as floats, in cell order or
// through the external sort, must end in blocks that cover every cell or in
// an error, never a crash.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "interop/source.h"

namespace {

std::string Dir() {
  static std::string dir = [] {
    char tmpl[] = "/tmp/slaf-mtx-fuzz-XXXXXX";
    std::string d = mkdtemp(tmpl);
    FILE* g = std::fopen((d + "/genes.tsv").c_str(), "w");
    for (int i = 0; i < 5; ++i) std::fprintf(g, "ENSG%d\tG%d\n", i, i);
    std::fclose(g);
    FILE* b = std::fopen((d + "/barcodes.tsv").c_str(), "w");
    for (int i = 0; i < 4; ++i) std::fprintf(b, "CELL%d-1\n", i);
    std::fclose(b);
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string dir = Dir();
  FILE* m = std::fopen((dir + "/matrix.mtx").c_str(), "wb");
  if (!m) return 0;
  std::fwrite(data, 1, size, m);
  std::fclose(m);
  slaf::interop::ReadOptions o;
  o.memory_bytes = 1 << 16;
  o.spill_dir = dir;
  auto src = slaf::interop::ReadMtx(dir, o);
  if (!src.ok()) return 0;
  for (slaf::ValueType type : {slaf::ValueType::kUInt32, slaf::ValueType::kFloat32}) {
    for (int attempt = 0; attempt < 2; ++attempt) {  // a restart after finding the input unordered
      uint64_t cells = 0;
      slaf::interop::ValueStats stats;
      slaf::Status s = src->matrices[0].stream(type, [&](slaf::CsrMatrix& block) {
        if (block.indptr.size() != block.n_rows + 1 || block.indptr.back() != block.indices.size()) __builtin_trap();
        for (uint32_t g : block.indices) {
          if (g >= src->n_genes) __builtin_trap();
        }
        cells += block.n_rows;
        return slaf::Status::OK();
      }, &stats);
      if (s.ok() && cells != src->n_cells) __builtin_trap();
      if (!stats.restart_sorted) break;
    }
  }
  return 0;
}
