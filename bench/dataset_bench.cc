// slaf-dataset-bench: the dataset targets of the datasets issue, measured on
// generated datasets (slaf/synthetic.h), printed as a markdown table.
//
//   slaf-dataset-bench [--dir D] [--cells N] [--genes G] [--density X] [--chunk-bytes B] [--repeats R]
//
// 1. open + read obs: Dataset::Open then obs() of all columns (10: the 7
//    generated ones plus 3 added in a second version), warm, median of R.
// 2. cell filter `total_counts > 2000` (column read from its file each
//    time, as h5py does in the peers harness), and `cell_type = 'B_cell'`.
// 3. resident index: heap bytes held after opening and touching every
//    segment (footers and directories loaded), per cell (mallinfo2).
// 4. one-cell fetch latency (warm), to see what the chunk size costs.
// 5. append of 10% and 20% more cells vs. creating the base, to show that
//    an append costs time in proportion to the new cells only.
// 6. gene index (format-spec §9.9): time to build it (default sort budget),
//    then one random gene over all cells (Dataset::ReadGenes), warm, with
//    the index vs. without it (a scan of the cell-major segments).
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "engine/csr_util.h"
#include "slaf/dataset.h"
#include "slaf/dataset_writer.h"
#include "slaf/synthetic.h"

namespace {

using Clock = std::chrono::steady_clock;
double Ms(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

[[noreturn]] void Die(const slaf::Status& s) {
  std::fprintf(stderr, "slaf-dataset-bench: %s\n", s.ToString().c_str());
  std::exit(1);
}
template <typename T>
T Check(slaf::Result<T> r) {
  if (!r.ok()) Die(r.status());
  return std::move(*r);
}
void Check(const slaf::Status& s) {
  if (!s.ok()) Die(s);
}

template <typename F>
double Median(int repeats, F&& f) {
  std::vector<double> t;
  f();  // warm-up
  for (int i = 0; i < repeats; ++i) {
    const auto t0 = Clock::now();
    f();
    t.push_back(Ms(t0));
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

size_t HeapBytes() { return mallinfo2().uordblks; }

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp/slaf-dataset-bench";
  slaf::SyntheticSpec spec{1'000'000, 2000, 0.02, 42};
  uint32_t chunk_bytes = 16 * 1024;
  int repeats = 7;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--dir") dir = v;
    else if (a == "--cells") spec.n_cells = std::stoull(v);
    else if (a == "--genes") spec.n_genes = static_cast<uint32_t>(std::stoul(v));
    else if (a == "--density") spec.density = std::stod(v);
    else if (a == "--chunk-bytes") chunk_bytes = static_cast<uint32_t>(std::stoul(v));
    else if (a == "--repeats") repeats = std::stoi(v);
    else if (a == "--min-chunk-rows") continue;
    else return std::fprintf(stderr, "unknown option %s\n", a.c_str()), 2;
  }
  std::filesystem::remove_all(dir);
  const std::string path = dir + "/base.slaf";
  slaf::SyntheticDatasetOptions opts;
  opts.write.segment.target_chunk_bytes = chunk_bytes;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--min-chunk-rows") opts.write.segment.min_chunk_rows = static_cast<uint32_t>(std::stoul(argv[i + 1]));
  }
  opts.write.segment.stored_to_original.clear();
  auto t0 = Clock::now();
  Check(slaf::WriteSyntheticDataset(Check(slaf::OpenStore(path, true)), spec, opts));
  const double create_ms = Ms(t0);
  // Three more obs columns in version 2: 10 in all.
  {
    auto store = Check(slaf::OpenStore(path, false));
    auto tx = Check(slaf::Transaction::Update(store));
    std::mt19937_64 rng(1);
    std::vector<double> score(spec.n_cells);
    std::vector<uint8_t> doublet(spec.n_cells);
    std::vector<int64_t> n_counts(spec.n_cells);
    for (uint64_t i = 0; i < spec.n_cells; ++i) {
      score[i] = static_cast<double>(rng() % 1000000) / 1e6;
      doublet[i] = score[i] > 0.9;
      n_counts[i] = static_cast<int64_t>(rng() % 50000);
    }
    Check(tx->SetColumn(slaf::Axis::kObs, slaf::Column::Float64("doublet_score", score)));
    Check(tx->SetColumn(slaf::Axis::kObs, slaf::Column::Bool("predicted_doublet", doublet)));
    Check(tx->SetColumn(slaf::Axis::kObs, slaf::Column::Int64("n_counts_raw", n_counts)));
    Check(tx->Commit());
  }

  std::unique_ptr<slaf::Dataset> ds;
  slaf::CsrMatrix one;
  size_t n_cols = 0;
  const double open_obs_ms = Median(repeats, [&] {
    ds = Check(slaf::Dataset::Open(path));
    slaf::Table obs = Check(ds->obs());
    n_cols = obs.columns.size();
  });
  const double open_ms = Median(repeats, [&] { ds = Check(slaf::Dataset::Open(path)); });

  size_t hits = 0;
  const slaf::Predicate total = Check(slaf::Predicate::Parse("total_counts > 2000"));
  const double filter_ms = Median(repeats * 3, [&] { hits = Check(ds->cells(total)).size(); });
  size_t b_hits = 0;
  const slaf::Predicate btype = Check(slaf::Predicate::Parse("cell_type = 'B_cell'"));
  const double btype_ms = Median(repeats * 3, [&] { b_hits = Check(ds->cells(btype)).size(); });

  // Resident index: a fresh open that touches every segment. The reader's
  // per-thread scratch buffers exist already (the reads above made them),
  // so the difference is what the open dataset itself holds.
  {
    const uint64_t c = 0;
    Check(ds->ReadCells(std::span<const uint64_t>(&c, 1), {}, &one));
  }
  ds.reset();
  const size_t heap0 = HeapBytes();
  ds = Check(slaf::Dataset::Open(path));
  for (const slaf::SegmentRef& s : ds->manifest().x.segments) {
    const uint64_t c = s.first_cell;
    Check(ds->ReadCells(std::span<const uint64_t>(&c, 1), {}, &one));
  }
  const size_t heap1 = HeapBytes();
  const double resident_per_cell = static_cast<double>(heap1 - heap0) / static_cast<double>(spec.n_cells);

  std::mt19937_64 rng(7);
  std::vector<uint64_t> picks(2000);
  for (uint64_t& p : picks) p = rng() % spec.n_cells;
  size_t pi = 0;
  const double cell_ms = Median(static_cast<int>(picks.size()) - 1, [&] {
    const uint64_t c = picks[pi++ % picks.size()];
    Check(ds->ReadCells(std::span<const uint64_t>(&c, 1), {}, &one));
  });

  // Appends: 10% and 20% more cells onto copies of the base.
  double append_ms[2] = {0, 0};
  const double fractions[2] = {0.1, 0.2};
  for (int k = 0; k < 2; ++k) {
    const std::string copy = dir + "/append" + std::to_string(k) + ".slaf";
    std::filesystem::copy(path, copy, std::filesystem::copy_options::recursive);
    const uint64_t extra = static_cast<uint64_t>(spec.n_cells * fractions[k]);
    slaf::SyntheticMatrix gen({extra, spec.n_genes, spec.density, 99});
    slaf::CsrMatrix rows;
    gen.GenerateRows(0, extra, &rows);  // generated outside the timing
    auto base = Check(slaf::Dataset::Open(copy));
    slaf::Table obs = Check(base->obs());
    // Obs rows for the new cells: the base's first `extra` rows, renamed.
    slaf::Table add;
    add.n_rows = extra;
    for (const slaf::Column& c : obs.columns) {
      slaf::Column part = c;
      part.n_rows = extra;
      if (!part.valid.empty()) part.valid.resize(extra);
      if (!part.ints.empty()) part.ints.resize(extra);
      if (!part.doubles.empty()) part.doubles.resize(extra);
      if (!part.bools.empty()) part.bools.resize(extra);
      if (!part.codes.empty()) part.codes.resize(extra);
      if (c.type == slaf::ColumnType::kString) {
        std::vector<std::string> names;
        for (uint64_t i = 0; i < extra; ++i) names.push_back("new_" + std::to_string(i));
        part = slaf::Column::String(c.name, names);
      }
      add.columns.push_back(std::move(part));
    }
    t0 = Clock::now();
    auto tx = Check(slaf::Transaction::Update(Check(slaf::OpenStore(copy, false))));
    Check(tx->AppendCells(slaf::engine::ViewOf(rows)));
    Check(tx->AppendObs(add));
    Check(tx->Commit());
    append_ms[k] = Ms(t0);
  }

  // Gene index, built as version 3 of the base; `ds` stays at version 2.
  t0 = Clock::now();
  Check(slaf::BuildGeneIndex(Check(slaf::OpenStore(path, false))));
  const double build_index_ms = Ms(t0);
  auto indexed = Check(slaf::Dataset::Open(path));
  uint64_t index_bytes = 0;
  for (const slaf::GeneSegmentRef& s : indexed->manifest().x.gene_index->segments) index_bytes += s.size;
  std::vector<uint32_t> gene_picks(64);
  for (uint32_t& g : gene_picks) g = static_cast<uint32_t>(rng() % spec.n_genes);
  size_t gk = 0;
  const double gene_scan_ms = Median(repeats, [&] {
    const uint32_t g = gene_picks[gk++ % gene_picks.size()];
    Check(ds->ReadGenes(std::span<const uint32_t>(&g, 1)));
  });
  gk = 0;
  const double gene_index_ms = Median(static_cast<int>(gene_picks.size()) - 1, [&] {
    const uint32_t g = gene_picks[gk++ % gene_picks.size()];
    Check(indexed->ReadGenes(std::span<const uint32_t>(&g, 1)));
  });

  std::printf("| measure | value |\n|---|---:|\n");
  std::printf("| dataset | %llu cells x %u genes, density %.3f, %llu nnz, %d-byte chunks, %zu segments |\n",
              static_cast<unsigned long long>(spec.n_cells), spec.n_genes, spec.density,
              static_cast<unsigned long long>(ds->nnz()), chunk_bytes, ds->manifest().x.segments.size());
  std::printf("| open (manifest only), warm | %.3f ms |\n", open_ms);
  std::printf("| open + read obs (%zu columns), warm | %.1f ms |\n", n_cols, open_obs_ms);
  std::printf("| filter total_counts > 2000 (%zu cells) | %.3f ms |\n", hits, filter_ms);
  std::printf("| filter cell_type = 'B_cell' (%zu cells) | %.3f ms |\n", b_hits, btype_ms);
  std::printf("| resident index after touching every segment | %.2f bytes/cell |\n", resident_per_cell);
  std::printf("| one random cell, warm | %.4f ms |\n", cell_ms);
  std::printf("| create base (generate + write) | %.0f ms |\n", create_ms);
  std::printf("| append 10%% cells | %.0f ms |\n", append_ms[0]);
  std::printf("| append 20%% cells | %.0f ms (ratio to 10%%: %.2f) |\n", append_ms[1], append_ms[1] / append_ms[0]);
  std::printf("| build gene index (%.1f MiB of .gseg) | %.0f ms |\n", static_cast<double>(index_bytes) / (1 << 20), build_index_ms);
  std::printf("| one gene x all cells, no index (scan) | %.3f ms |\n", gene_scan_ms);
  std::printf("| one gene x all cells, gene index | %.3f ms |\n", gene_index_ms);
  std::filesystem::remove_all(dir);
  return 0;
}
