// hello_dataset: what an application does with the slaf C++ API.
//
//   hello_dataset DATASET [CELL_TYPE]
//
// Opens a dataset (creating a small synthetic one first if DATASET does not
// exist), prints its shape and metadata columns, selects the cells of one
// type with a predicate on obs, and ranks genes by their mean expression in
// those cells, computed in one pass by the engine.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <string>

#include "slaf/dataset.h"
#include "slaf/synthetic.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: hello_dataset DATASET [CELL_TYPE]\n");
    return 2;
  }
  const std::string path = argv[1];
  const std::string cell_type = argc > 2 ? argv[2] : "B_cell";

  if (!std::filesystem::exists(path)) {
    auto store = slaf::OpenStore(path, /*create=*/true);
    if (!store.ok()) return std::fprintf(stderr, "%s\n", store.status().ToString().c_str()), 1;
    auto v = slaf::WriteSyntheticDataset(*store, {5000, 3000, 0.06, 7}, {});
    if (!v.ok()) return std::fprintf(stderr, "%s\n", v.status().ToString().c_str()), 1;
    std::printf("created %s (version %llu)\n", path.c_str(), static_cast<unsigned long long>(*v));
  }

  auto ds = slaf::Dataset::Open(path);
  if (!ds.ok()) return std::fprintf(stderr, "%s\n", ds.status().ToString().c_str()), 1;
  const slaf::Dataset& d = **ds;
  std::printf("%llu cells x %u genes, %llu nonzeros, version %llu\n", static_cast<unsigned long long>(d.n_cells()),
              d.n_genes(), static_cast<unsigned long long>(d.nnz()), static_cast<unsigned long long>(d.version()));
  for (const slaf::ColumnSchema& c : d.manifest().obs.columns) {
    std::printf("  obs.%s: %s\n", c.name.c_str(), std::string(slaf::ColumnTypeName(c.type)).c_str());
  }

  auto cells = d.cells(slaf::Predicate::Compare("cell_type", slaf::Predicate::Op::kEq, cell_type));
  if (!cells.ok()) return std::fprintf(stderr, "%s\n", cells.status().ToString().c_str()), 1;
  std::printf("%zu cells with cell_type = '%s'\n", cells->size(), cell_type.c_str());
  if (cells->empty()) return 0;

  auto stats = d.GeneStats(*cells);
  if (!stats.ok()) return std::fprintf(stderr, "%s\n", stats.status().ToString().c_str()), 1;
  const std::vector<std::string> id_column = {d.manifest().var.index_column};
  auto var = d.var(id_column);
  if (!var.ok()) return std::fprintf(stderr, "%s\n", var.status().ToString().c_str()), 1;
  std::vector<uint32_t> order(d.n_genes());
  std::iota(order.begin(), order.end(), 0u);
  const size_t top = std::min<size_t>(5, order.size());
  std::partial_sort(order.begin(), order.begin() + top, order.end(),
                    [&](uint32_t a, uint32_t b) { return stats->mean(a) > stats->mean(b); });
  std::printf("top genes by mean expression in %s cells:\n", cell_type.c_str());
  for (size_t k = 0; k < top; ++k) {
    const uint32_t g = order[k];
    std::printf("  %-10s mean %.3f  variance %.3f  detected in %llu cells\n", std::string(var->columns[0].str(g)).c_str(),
                stats->mean(g), stats->variance(g), static_cast<unsigned long long>(stats->nnz[g]));
  }
  return 0;
}
