// Micro-benchmarks (Google Benchmark): bit-unpacking, chunk decode through
// full scans, single-cell fetch, and writing from in-memory CSR. Data: a
// synthetic matrix (slaf/synthetic.h), 20,000 cells x 20,000 genes, density
// 0.07, seed 42, built once in memory; single-threaded.
//   build/bench/slaf-microbench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <random>

#include "codecs/bitpack.h"
#include "codecs/block_codec.h"
#include "slaf/file.h"
#include "slaf/segment.h"
#include "slaf/synthetic.h"

namespace {

constexpr uint64_t kCells = 20000;
constexpr uint32_t kGenes = 20000;

const slaf::CsrMatrix& Matrix() {
  static slaf::CsrMatrix m = [] {
    slaf::SyntheticMatrix g({kCells, kGenes, 0.07, 42});
    slaf::CsrMatrix out;
    g.GenerateRows(0, kCells, &out);
    return out;
  }();
  return m;
}

// Encodes the matrix into *bytes (cleared first; a reused buffer keeps page
// faults and regrowth out of the write benchmark).
void EncodeInto(bool permuted, std::vector<uint8_t>* bytes) {
  const slaf::CsrMatrix& m = Matrix();
  bytes->clear();
  auto f = slaf::io::NewMemoryWritableFile("bench.seg", bytes);
  slaf::SegmentWriterOptions o;
  o.n_cols = kGenes;
  if (permuted) {
    std::vector<uint64_t> nnz(kGenes, 0);
    for (uint32_t c : m.indices) ++nnz[c];
    o.stored_to_original = slaf::FrequencyOrder(nnz);
  }
  auto w = slaf::SegmentWriter::Create(f.get(), o);
  slaf::CsrRowsView v{m.n_rows, m.indptr.data(), m.indices.data(), m.counts.data(), nullptr};
  if (!(*w)->AppendRows(v).ok() || !(*w)->Finish().ok()) std::abort();
}

std::vector<uint8_t> Encode(bool permuted) {
  std::vector<uint8_t> bytes;
  EncodeInto(permuted, &bytes);
  return bytes;
}

std::unique_ptr<slaf::SegmentReader> Reader(bool permuted) {
  auto r = slaf::SegmentReader::Open(std::shared_ptr<slaf::io::RandomAccessFile>(slaf::io::NewMemoryFile("bench.seg", Encode(permuted))));
  if (!r.ok()) std::abort();
  return std::move(*r);
}

void BM_UnpackBits(benchmark::State& state) {
  const int w = static_cast<int>(state.range(0));
  std::vector<uint32_t> in(128 * 1024), out(in.size());
  std::mt19937 rng(1);
  for (auto& v : in) v = w == 32 ? rng() : rng() & ((1u << w) - 1);
  std::vector<uint8_t> packed(slaf::codecs::PackedBytes(in.size(), w) + 8);
  slaf::codecs::PackBits(in.data(), in.size(), w, packed.data());
  for (auto _ : state) {
    slaf::codecs::UnpackBits(packed.data(), packed.size(), in.size(), w, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * in.size());
}
BENCHMARK(BM_UnpackBits)->Arg(1)->Arg(3)->Arg(5)->Arg(8)->Arg(13)->Arg(32);

void BM_DecodeBlocks(benchmark::State& state) {
  std::vector<uint32_t> in(128 * 1024), out(in.size());
  std::mt19937 rng(2);
  for (auto& v : in) v = (rng() % 100 < 95) ? rng() % 4 : rng() % 1000;  // UMI-like: small, rare outliers
  std::vector<uint8_t> enc;
  slaf::codecs::EncodeBlocks(in.data(), in.size(), &enc);
  enc.resize(enc.size() + 16);
  for (auto _ : state) {
    size_t used;
    if (!slaf::codecs::DecodeBlocks(enc.data(), enc.data() + enc.size(), in.size(), out.data(), &used).ok()) std::abort();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * in.size());
  state.counters["bits_per_value"] = 8.0 * (enc.size() - 16) / in.size();
}
BENCHMARK(BM_DecodeBlocks);

// Full scan, decoding values only (SUM(value), COUNT(*)) or whole rows.
void BM_Scan(benchmark::State& state) {
  const bool permuted = state.range(0), with_indices = state.range(1);
  auto r = Reader(permuted);
  slaf::CsrMatrix block;
  for (auto _ : state) {
    slaf::ScanOptions so;
    so.want_indices = with_indices;
    so.sorted_indices = false;
    auto sc = r->Scan(so);
    uint64_t first, sum = 0;
    while (*(*sc)->Next(&block, &first))
      for (uint32_t v : block.counts) sum += v;
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * r->info().nnz);
  state.counters["bytes_per_nnz"] = double(r->info().file_size) / r->info().nnz;
}
BENCHMARK(BM_Scan)->ArgNames({"permuted", "indices"})->Args({0, 0})->Args({0, 1})->Args({1, 0})->Args({1, 1})->Unit(benchmark::kMillisecond);

void BM_FetchCell(benchmark::State& state) {
  auto r = Reader(state.range(0));
  std::mt19937_64 rng(3);
  slaf::CsrMatrix m;
  for (auto _ : state) {
    const uint64_t row = rng() % kCells;
    if (!r->ReadRowList({&row, 1}, &m).ok()) std::abort();
    benchmark::DoNotOptimize(m.indices.data());
  }
}
BENCHMARK(BM_FetchCell)->ArgNames({"permuted"})->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_Write(benchmark::State& state) {
  const bool permuted = state.range(0);
  std::vector<uint8_t> bytes;
  EncodeInto(permuted, &bytes);  // builds the input and sizes the buffer outside the timed loop
  for (auto _ : state) {
    EncodeInto(permuted, &bytes);
    benchmark::DoNotOptimize(bytes.data());
  }
  state.SetItemsProcessed(state.iterations() * Matrix().nnz());
}
BENCHMARK(BM_Write)->ArgNames({"permuted"})->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
