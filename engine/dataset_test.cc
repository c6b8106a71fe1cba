// Datasets end to end: create, read, append, columns, layers, dense
// matrices, time travel, predicates, aggregates, verify, vacuum, races.
// Oracles: the in-memory CSR and tables the test wrote, and naive loops.
#include "slaf/dataset.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <thread>

#include "engine/csr_util.h"
#include "slaf/dataset_writer.h"
#include "tests/dataset_fixtures.h"

namespace slaf {
namespace {

using testing::TempDir;

std::shared_ptr<io::ObjectStore> Store(const TempDir& dir, const std::string& name = "ds.slaf") {
  auto s = io::OpenLocalStore(dir / name, /*create=*/true);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return *s;
}

void ExpectTablesEqual(const Table& a, const Table& b) {
  ASSERT_EQ(a.n_rows, b.n_rows);
  ASSERT_EQ(a.columns.size(), b.columns.size());
  for (size_t i = 0; i < a.columns.size(); ++i) {
    const Column* other = b.Find(a.columns[i].name);
    ASSERT_NE(other, nullptr) << a.columns[i].name;
    EXPECT_TRUE(a.columns[i].Equals(*other)) << "column " << a.columns[i].name;
  }
}

// Strings of a string/categorical column, row by row (codes may differ).
std::vector<std::string> Strings(const Column& c) {
  std::vector<std::string> out;
  for (uint64_t i = 0; i < c.n_rows; ++i) out.emplace_back(c.str(i));
  return out;
}

TEST(Dataset, CreateAndReadBack) {
  TempDir dir;
  auto store = Store(dir);
  const CsrMatrix m = testing::Cells(0, 300, 400);
  WriteOptions opts;
  opts.cells_per_segment = 70;  // five segments, the last one short
  ASSERT_EQ(testing::CreateDataset(store, m, opts), 1u);

  auto ds = Dataset::Open(dir / "ds.slaf");
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ((*ds)->version(), 1u);
  EXPECT_EQ((*ds)->n_cells(), 300u);
  EXPECT_EQ((*ds)->n_genes(), 400u);
  EXPECT_EQ((*ds)->nnz(), m.nnz());
  EXPECT_EQ((*ds)->manifest().x.segments.size(), 5u);
  EXPECT_EQ((*ds)->manifest().operation, "create");

  CsrMatrix all;
  ASSERT_TRUE((*ds)->ReadCellRange(0, 300, &all).ok());
  EXPECT_TRUE(testing::SameCsr(all, m));

  // A range across three segments.
  CsrMatrix part, want;
  ASSERT_TRUE((*ds)->ReadCellRange(65, 215, &part).ok());
  engine::AppendCsr(testing::Cells(0, 300, 400), &want);  // whole, then slice by hand
  const std::vector<double> dense = testing::Dense(m), got = testing::Dense(part);
  ASSERT_EQ(got.size(), 150u * 400u);
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], dense[65 * 400 + i]) << i;

  // Random cells (repeats, any order) x a gene subset.
  std::vector<uint64_t> cells = {299, 0, 150, 71, 150, 140, 69};
  std::vector<uint32_t> genes = {399, 3, 0, 200, 17};
  CsrMatrix sub;
  ASSERT_TRUE((*ds)->ReadCells(cells, genes, &sub).ok());
  const std::vector<double> subd = testing::Dense(sub);
  for (size_t i = 0; i < cells.size(); ++i) {
    for (size_t j = 0; j < genes.size(); ++j) {
      ASSERT_EQ(subd[i * genes.size() + j], dense[cells[i] * 400 + genes[j]]) << i << "," << j;
    }
  }
  // All genes of the listed cells.
  CsrMatrix rows;
  ASSERT_TRUE((*ds)->ReadCells(cells, {}, &rows).ok());
  const std::vector<double> rowsd = testing::Dense(rows);
  for (size_t i = 0; i < cells.size(); ++i) {
    for (uint32_t g = 0; g < 400; ++g) ASSERT_EQ(rowsd[i * 400 + g], dense[cells[i] * 400 + g]);
  }

  auto obs = (*ds)->obs();
  ASSERT_TRUE(obs.ok()) << obs.status().ToString();
  ExpectTablesEqual(*obs, testing::ObsFor(m, 0));
  auto var = (*ds)->var();
  ASSERT_TRUE(var.ok());
  ExpectTablesEqual(*var, testing::VarFor(400));
  EXPECT_EQ((*ds)->manifest().obs.index_column, "cell_id");
  EXPECT_EQ((*ds)->manifest().var.index_column, "gene_id");

  const std::vector<std::string> names = {"cell_42", "cell_7", "cell_299"};
  auto ids = (*ds)->cells_by_name(names);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<uint64_t>{42, 7, 299}));
  const std::vector<std::string> missing = {"cell_1", "nope"};
  EXPECT_TRUE((*ds)->cells_by_name(missing).status().IsNotFound());
  const std::vector<std::string> gnames = {"G5", "G0"};
  auto gids = (*ds)->genes_by_name(gnames);
  ASSERT_TRUE(gids.ok());
  EXPECT_EQ(*gids, (std::vector<uint32_t>{5, 0}));

  // Bad requests are errors that say what is wrong.
  CsrMatrix tmp;
  const std::vector<uint64_t> bad_cells = {300};
  Status s = (*ds)->ReadCells(bad_cells, {}, &tmp);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("300"), std::string::npos);
  EXPECT_TRUE((*ds)->ReadCellRange(10, 301, &tmp).IsInvalidArgument());
  EXPECT_TRUE((*ds)->ReadCellRange(0, 1, &tmp, "spliced").IsNotFound());
  const std::vector<std::string> nocol = {"nope"};
  Result<Table> t = (*ds)->obs(nocol);
  EXPECT_TRUE(t.status().IsNotFound());
  EXPECT_NE(t.status().message().find("cell_type"), std::string::npos) << "lists the columns that exist";
}

TEST(Dataset, TimeTravelKeepsOldVersionsByteForByte) {
  TempDir dir;
  auto store = Store(dir);
  const CsrMatrix a = testing::Cells(0, 120, 200);
  WriteOptions opts;
  opts.timestamp_ms = 1'000'000;
  opts.cells_per_segment = 50;
  ASSERT_EQ(testing::CreateDataset(store, a, opts), 1u);

  // Snapshot everything version 1 returns, and the bytes of its files.
  auto v1 = Dataset::Open(store);
  ASSERT_TRUE(v1.ok());
  CsrMatrix x1;
  ASSERT_TRUE((*v1)->ReadCellRange(0, 120, &x1).ok());
  const Table obs1 = *(*v1)->obs();
  std::map<std::string, std::string> bytes1;
  for (const FileRef* f : (*v1)->manifest().Files()) {
    std::ifstream in(dir / ("ds.slaf/" + f->path), std::ios::binary);
    bytes1[f->path] = std::string(std::istreambuf_iterator<char>(in), {});
  }

  // v2: append 30 cells, with a cell type version 1 does not know.
  const CsrMatrix b = testing::Cells(120, 30, 200);
  opts.timestamp_ms = 2'000'000;
  auto v2n = testing::AppendCells(store, b, testing::ObsFor(b, 120, "Platelet"), opts);
  ASSERT_TRUE(v2n.ok()) << v2n.status().ToString();
  EXPECT_EQ(*v2n, 2u);

  // v3: replace total_counts, add a column, add a layer, an obsm, uns.
  {
    opts.timestamp_ms = 3'000'000;
    auto tx = Transaction::Update(store, opts);
    ASSERT_TRUE(tx.ok());
    std::vector<double> score(150);
    for (size_t i = 0; i < 150; ++i) score[i] = i * 0.5;
    ASSERT_TRUE((*tx)->SetColumn(Axis::kObs, Column::Float64("score", score)).ok());
    ASSERT_TRUE((*tx)->SetColumn(Axis::kObs, Column::Int64("total_counts", std::vector<int64_t>(150, 7))).ok());
    CsrMatrix layer = testing::Stack(a, b);
    ASSERT_TRUE((*tx)->AddLayer("spliced", layer).ok());
    DenseMatrix pca;
    pca.n_rows = 150;
    pca.n_cols = 3;
    for (size_t i = 0; i < 450; ++i) pca.f32.push_back(static_cast<float>(i) / 7.0f);
    ASSERT_TRUE((*tx)->SetDense(Axis::kObs, "X_pca", pca).ok());
    ASSERT_TRUE((*tx)->SetUns(R"({"note": "hello", "n": [1, 2]})").ok());
    auto v = (*tx)->Commit();
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(*v, 3u);
  }

  // Version 1, opened after versions 2 and 3: same answers, same bytes.
  for (OpenOptions o : {OpenOptions{1, {}}, OpenOptions{{}, 1'500'000}}) {
    auto old = Dataset::Open(dir / "ds.slaf", o);
    ASSERT_TRUE(old.ok()) << old.status().ToString();
    EXPECT_EQ((*old)->version(), 1u);
    CsrMatrix x;
    ASSERT_TRUE((*old)->ReadCellRange(0, (*old)->n_cells(), &x).ok());
    EXPECT_TRUE(testing::SameCsr(x, x1));
    ExpectTablesEqual(*(*old)->obs(), obs1);
    for (const auto& [path, bytes] : bytes1) {
      std::ifstream in(dir / ("ds.slaf/" + path), std::ios::binary);
      EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), bytes) << path;
    }
  }

  // Version 2 by timestamp; version 3 has everything.
  auto v2 = Dataset::Open(store, OpenOptions{{}, 2'500'000});
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ((*v2)->version(), 2u);
  EXPECT_EQ((*v2)->n_cells(), 150u);
  auto latest = Dataset::Open(store);
  ASSERT_TRUE(latest.ok());
  const Dataset& d3 = **latest;
  EXPECT_EQ(d3.version(), 3u);
  EXPECT_EQ(d3.manifest().parent, 2u);
  CsrMatrix x3, l3;
  ASSERT_TRUE(d3.ReadCellRange(0, 150, &x3).ok());
  EXPECT_TRUE(testing::SameCsr(x3, testing::Stack(a, b)));
  ASSERT_TRUE(d3.ReadCellRange(0, 150, &l3, "spliced").ok());
  EXPECT_TRUE(testing::SameCsr(l3, x3));
  const std::vector<std::string> cols = {"cell_type", "total_counts", "score"};
  auto obs3 = d3.obs(cols);
  ASSERT_TRUE(obs3.ok()) << obs3.status().ToString();
  // Categories: version 1's order, then the appended one.
  EXPECT_EQ(obs3->columns[0].categories, (std::vector<std::string>{"T_cell", "B_cell", "NK", "Mono", "Platelet"}));
  std::vector<std::string> want_types = Strings(testing::ObsFor(a, 0).columns[1]);
  for (const std::string& s : Strings(testing::ObsFor(b, 120, "Platelet").columns[1])) want_types.push_back(s);
  EXPECT_EQ(Strings(obs3->columns[0]), want_types);
  EXPECT_EQ(obs3->columns[1].ints, std::vector<int64_t>(150, 7));
  EXPECT_DOUBLE_EQ(obs3->columns[2].doubles[149], 74.5);
  auto pca = d3.obsm("X_pca");
  ASSERT_TRUE(pca.ok()) << pca.status().ToString();
  EXPECT_EQ(pca->n_cols, 3u);
  EXPECT_EQ(pca->f32[449], 449.0f / 7.0f);
  EXPECT_EQ(d3.manifest().uns_json, R"({"note":"hello","n":[1,2]})");
  EXPECT_EQ(d3.manifest().operation, "set_column+add_layer+set_dense+set_uns");

  auto versions = ListVersions(store.get());
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 3u);
  EXPECT_EQ((*versions)[1].operation, "append");
  EXPECT_EQ((*versions)[1].n_cells, 150u);
  EXPECT_EQ((*versions)[0].timestamp_ms, 1'000'000);

  EXPECT_TRUE(Dataset::Open(store, OpenOptions{4, {}}).status().IsNotFound());
  EXPECT_TRUE(Dataset::Open(store, OpenOptions{{}, 10}).status().IsNotFound());

  // Appending now is refused: obsm covers the existing cells only.
  auto refused = testing::AppendCells(store, b, testing::ObsFor(b, 150), opts);
  EXPECT_TRUE(refused.status().IsInvalidArgument()) << refused.status().ToString();
}

TEST(Dataset, PredicatesMatchNaiveEvaluation) {
  TempDir dir;
  auto store = Store(dir);
  const CsrMatrix m = testing::Cells(0, 400, 300);
  testing::CreateDataset(store, m);
  auto ds = Dataset::Open(store);
  ASSERT_TRUE(ds.ok());
  const Table obs = testing::ObsFor(m, 0);
  const Column& total = *obs.Find("total_counts");
  const Column& type = *obs.Find("cell_type");
  const Column& pct = *obs.Find("pct");

  struct Case {
    const char* text;
    std::function<bool(uint64_t)> want;
  } cases[] = {
      {"total_counts > 100", [&](uint64_t i) { return total.ints[i] > 100; }},
      {"total_counts >= 50 and total_counts < 90.5", [&](uint64_t i) { return total.ints[i] >= 50 && total.ints[i] < 90.5; }},
      {"cell_type = 'B_cell'", [&](uint64_t i) { return type.str(i) == "B_cell"; }},
      {"cell_type in ('NK', \"Mono\") or flag = true",
       [&](uint64_t i) { return type.str(i) == "NK" || type.str(i) == "Mono" || i % 2 == 1; }},
      // Three-valued logic: a null pct is neither < 10 nor NOT < 10.
      {"not (pct < 10)", [&](uint64_t i) { return !pct.is_null(i) && !(pct.doubles[i] < 10); }},
      {"pct is null", [&](uint64_t i) { return pct.is_null(i); }},
      {"pct is not null and cell_id != 'cell_8'", [&](uint64_t i) { return !pct.is_null(i) && i != 8; }},
      {"NOT cell_type = 'T_cell' AND (batch = 'b0' OR batch = 'b1')",
       [&](uint64_t i) { return type.str(i) != "T_cell" && i % 3 != 0; }},
  };
  for (const Case& c : cases) {
    auto p = Predicate::Parse(c.text);
    ASSERT_TRUE(p.ok()) << c.text << ": " << p.status().ToString();
    auto ids = (*ds)->cells(*p);
    ASSERT_TRUE(ids.ok()) << c.text << ": " << ids.status().ToString();
    std::vector<uint64_t> want;
    for (uint64_t i = 0; i < 400; ++i) if (c.want(i)) want.push_back(i);
    EXPECT_EQ(*ids, want) << c.text;
    EXPECT_FALSE(want.empty()) << c.text << " should select something";
  }
  auto hv = (*ds)->genes(*Predicate::Parse("highly_variable"  " = true"));
  ASSERT_TRUE(hv.ok());
  EXPECT_EQ(hv->size(), 60u);

  // Errors name the position, the column or the type problem.
  for (const char* bad : {"total_counts >", "cell_type in ('a'", "(total_counts > 1", "x ~ 3", "a = 'unterminated"}) {
    Result<Predicate> p = Predicate::Parse(bad);
    EXPECT_TRUE(p.status().IsInvalidArgument()) << bad;
    EXPECT_NE(p.status().message().find("position"), std::string::npos) << p.status().ToString();
  }
  EXPECT_TRUE((*ds)->cells(*Predicate::Parse("nope > 1")).status().IsNotFound());
  EXPECT_TRUE((*ds)->cells(*Predicate::Parse("cell_type > 1")).status().IsInvalidArgument());
  EXPECT_TRUE((*ds)->cells(*Predicate::Parse("total_counts = 'x'")).status().IsInvalidArgument());
}

TEST(Dataset, AggregatesAndIterationMatchNaiveLoops) {
  TempDir dir;
  auto store = Store(dir);
  const CsrMatrix m = testing::Cells(0, 250, 180);
  WriteOptions opts;
  opts.cells_per_segment = 64;
  testing::CreateDataset(store, m, opts);
  auto ds = Dataset::Open(store);
  ASSERT_TRUE(ds.ok());
  const std::vector<double> d = testing::Dense(m);

  for (const std::vector<uint64_t>& sel : {std::vector<uint64_t>{}, std::vector<uint64_t>{3, 64, 65, 200, 249, 10}}) {
    const size_t n = sel.empty() ? 250 : sel.size();
    auto cell_at = [&](size_t i) { return sel.empty() ? i : sel[i]; };
    auto gs = (*ds)->GeneStats(sel);
    ASSERT_TRUE(gs.ok()) << gs.status().ToString();
    ASSERT_EQ(gs->n, n);
    for (uint32_t g = 0; g < 180; ++g) {
      double s = 0, s2 = 0;
      uint64_t nz = 0;
      for (size_t i = 0; i < n; ++i) {
        const double v = d[cell_at(i) * 180 + g];
        s += v;
        s2 += v * v;
        nz += v != 0;
      }
      ASSERT_EQ(gs->nnz[g], nz) << g;
      ASSERT_DOUBLE_EQ(gs->sum[g], s) << g;
      ASSERT_DOUBLE_EQ(gs->sum_sq[g], s2) << g;
      const double mean = s / n;
      double var = 0;
      for (size_t i = 0; i < n; ++i) var += (d[cell_at(i) * 180 + g] - mean) * (d[cell_at(i) * 180 + g] - mean);
      var /= static_cast<double>(n - 1);
      ASSERT_NEAR(gs->variance(g), var, 1e-9 * std::max(1.0, var)) << g;
      ASSERT_NEAR(gs->mean(g), mean, 1e-12);
    }
    auto cs = (*ds)->CellStats(sel);
    ASSERT_TRUE(cs.ok());
    ASSERT_EQ(cs->sum.size(), n);
    for (size_t i = 0; i < n; ++i) {
      double s = 0;
      uint64_t nz = 0;
      for (uint32_t g = 0; g < 180; ++g) {
        s += d[cell_at(i) * 180 + g];
        nz += d[cell_at(i) * 180 + g] != 0;
      }
      ASSERT_EQ(cs->nnz[i], nz);
      ASSERT_DOUBLE_EQ(cs->sum[i], s);
    }
  }

  // Blocks of 37 cells, all cells then a selection, reassemble exactly.
  auto it = (*ds)->IterateCells({}, 37);
  ASSERT_TRUE(it.ok());
  CsrMatrix block, joined;
  joined.Clear(180, ValueType::kUInt32);
  std::vector<uint64_t> ids, all_ids;
  while (true) {
    auto more = (*it)->Next(&block, &ids);
    ASSERT_TRUE(more.ok());
    if (!*more) break;
    EXPECT_LE(block.n_rows, 37u);
    engine::AppendCsr(block, &joined);
    all_ids.insert(all_ids.end(), ids.begin(), ids.end());
  }
  EXPECT_TRUE(testing::SameCsr(joined, m));
  EXPECT_EQ(all_ids.size(), 250u);
  EXPECT_TRUE((*ds)->IterateCells({250}, 10).status().IsInvalidArgument());
}

TEST(Dataset, VerifyFindsDamagedAndMissingFiles) {
  TempDir dir;
  auto store = Store(dir);
  const CsrMatrix m = testing::Cells(0, 200, 300);
  WriteOptions opts;
  opts.cells_per_segment = 100;
  testing::CreateDataset(store, m, opts);
  auto ds = Dataset::Open(store);
  ASSERT_TRUE(ds.ok());
  VerifyReport clean = (*ds)->Verify();
  EXPECT_TRUE(clean.ok()) << clean.problems[0];
  EXPECT_EQ(clean.files_checked, 4u);  // 2 segments, obs, var

  const std::string seg = dir / ("ds.slaf/" + (*ds)->manifest().x.segments[1].path);
  {
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    char c;
    f.read(&c, 1);
    f.seekp(100);
    c ^= 0x10;
    f.write(&c, 1);
  }
  const std::string var = dir / ("ds.slaf/" + (*ds)->manifest().var.files[0].path);
  std::filesystem::remove(var);
  auto reopened = Dataset::Open(store);
  ASSERT_TRUE(reopened.ok());
  VerifyReport bad = (*reopened)->Verify();
  ASSERT_EQ(bad.problems.size(), 2u);
  EXPECT_NE(bad.problems[0].find((*ds)->manifest().x.segments[1].path), std::string::npos) << bad.problems[0];
  EXPECT_NE(bad.problems[0].find("Corruption"), std::string::npos) << bad.problems[0];
  EXPECT_NE(bad.problems[1].find("missing"), std::string::npos) << bad.problems[1];
  // The damaged chunk is refused when read; the intact segment still reads.
  CsrMatrix out;
  EXPECT_TRUE((*reopened)->ReadCellRange(0, 100, &out).ok());
  EXPECT_TRUE((*reopened)->ReadCellRange(100, 200, &out).IsCorruption());
}

TEST(Dataset, BadWritesAreRefusedAndChangeNothing) {
  TempDir dir;
  auto store = Store(dir);
  const CsrMatrix m = testing::Cells(0, 50, 100);
  testing::CreateDataset(store, m);
  EXPECT_TRUE(Transaction::Create(store, 100, ValueType::kUInt32).status().code() == Status::Code::kConflict);

  // Obs rows missing a column.
  const CsrMatrix b = testing::Cells(50, 10, 100);
  Table obs = testing::ObsFor(b, 50);
  obs.columns.pop_back();
  EXPECT_TRUE(testing::AppendCells(store, b, obs).status().IsInvalidArgument());
  // A gene id past n_genes.
  {
    auto tx = Transaction::Update(store);
    ASSERT_TRUE(tx.ok());
    CsrMatrix wide = testing::Cells(0, 5, 120);
    EXPECT_FALSE((*tx)->AppendCells(engine::ViewOf(wide)).ok());
    EXPECT_FALSE((*tx)->Commit().ok()) << "a failed transaction stays failed";
  }
  // A column of the wrong length; an empty transaction.
  {
    auto tx = Transaction::Update(store);
    ASSERT_TRUE((*tx)->SetColumn(Axis::kVar, Column::Int64("x", {1, 2, 3})).ok());
    Result<uint64_t> r = (*tx)->Commit();
    EXPECT_TRUE(r.status().IsInvalidArgument());
    EXPECT_NE(r.status().message().find("3 rows"), std::string::npos) << r.status().ToString();
  }
  EXPECT_TRUE((*Transaction::Update(store))->Commit().status().IsInvalidArgument());
  auto ds = Dataset::Open(store);
  ASSERT_TRUE(ds.ok());
  EXPECT_EQ((*ds)->version(), 1u);
  EXPECT_TRUE((*ds)->Verify().ok());
}

TEST(Dataset, TwoWritersOneVersionOneWinsThreads) {
  TempDir dir;
  auto store = Store(dir);
  testing::CreateDataset(store, testing::Cells(0, 40, 80));
  for (int round = 0; round < 5; ++round) {
    const CsrMatrix b = testing::Cells(0, 10, 80, 100 + round);
    auto t1 = Transaction::Update(store);
    auto t2 = Transaction::Update(store);
    ASSERT_TRUE(t1.ok() && t2.ok());
    for (auto* t : {&*t1, &*t2}) {
      ASSERT_TRUE((*t)->AppendCells(engine::ViewOf(b)).ok());
      ASSERT_TRUE((*t)->AppendObs(testing::ObsFor(b, 0)).ok());
    }
    Result<uint64_t> r1 = Status::IOError("unset"), r2 = Status::IOError("unset");
    std::thread a([&] { r1 = (*t1)->Commit(); });
    std::thread c([&] { r2 = (*t2)->Commit(); });
    a.join();
    c.join();
    ASSERT_NE(r1.ok(), r2.ok()) << r1.status().ToString() << " / " << r2.status().ToString();
    const Status& lost = r1.ok() ? r2.status() : r1.status();
    EXPECT_EQ(lost.code(), Status::Code::kConflict);
    EXPECT_NE(lost.message().find("another writer"), std::string::npos) << lost.ToString();
  }
  auto ds = Dataset::Open(store);
  EXPECT_EQ((*ds)->version(), 6u);
  EXPECT_EQ((*ds)->n_cells(), 90u);
  EXPECT_TRUE((*ds)->Verify().ok());
}

TEST(Dataset, ConcurrentAppendsRebaseAndAllLand) {
  TempDir dir;
  auto store = Store(dir);
  testing::CreateDataset(store, testing::Cells(0, 20, 60));
  constexpr int kThreads = 4, kAppends = 5;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < kAppends; ++k) {
        const CsrMatrix b = testing::Cells(0, 3, 60, 1000 + t * 100 + k);
        Table obs = testing::ObsFor(b, 0);
        // Cell ids name their writer so the final multiset can be checked.
        std::vector<std::string> ids;
        for (int i = 0; i < 3; ++i) ids.push_back("t" + std::to_string(t) + "_" + std::to_string(k) + "_" + std::to_string(i));
        obs.columns[0] = Column::String("cell_id", ids);
        WriteOptions o;
        o.max_attempts = 50;
        auto r = testing::AppendCells(store, b, obs, o);
        if (!r.ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto ds = Dataset::Open(store);
  ASSERT_TRUE(ds.ok());
  EXPECT_EQ((*ds)->version(), 1u + kThreads * kAppends);
  EXPECT_EQ((*ds)->n_cells(), 20u + 3u * kThreads * kAppends);
  auto versions = ListVersions(store.get());
  for (size_t i = 1; i < versions->size(); ++i) EXPECT_EQ((*versions)[i].parent, (*versions)[i - 1].version);
  const std::vector<std::string> idcol = {"cell_id"};
  auto obs = (*ds)->obs(idcol);
  std::vector<std::string> got = Strings(obs->columns[0]);
  std::sort(got.begin() + 20, got.end());
  std::vector<std::string> want;
  for (int t = 0; t < kThreads; ++t)
    for (int k = 0; k < kAppends; ++k)
      for (int i = 0; i < 3; ++i) want.push_back("t" + std::to_string(t) + "_" + std::to_string(k) + "_" + std::to_string(i));
  std::sort(want.begin(), want.end());
  EXPECT_EQ(std::vector<std::string>(got.begin() + 20, got.end()), want);
  EXPECT_TRUE((*ds)->Verify().ok());
}

TEST(Dataset, TwoWriterProcessesOneWins) {
  TempDir dir;
  auto store = Store(dir);
  testing::CreateDataset(store, testing::Cells(0, 30, 50));
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  pid_t kids[2];
  for (int k = 0; k < 2; ++k) {
    kids[k] = fork();
    ASSERT_GE(kids[k], 0);
    if (kids[k] == 0) {
      // Child: prepare the whole transaction, wait for the start signal,
      // commit. Exit 0 = committed, 3 = conflict, 1 = anything else.
      close(go[1]);
      auto s = io::OpenLocalStore(dir / "ds.slaf", false);
      const CsrMatrix b = testing::Cells(0, 5, 50, 77 + k);
      auto tx = Transaction::Update(*s);
      if (!tx.ok()) {
        fprintf(stderr, "child %d: %s\n", k, tx.status().ToString().c_str());
        _exit(1);
      }
      if (!(*tx)->AppendCells(engine::ViewOf(b)).ok() || !(*tx)->AppendObs(testing::ObsFor(b, 0)).ok()) _exit(1);
      char c;
      if (read(go[0], &c, 1) != 0) _exit(1);  // EOF when the parent closes
      auto r = (*tx)->Commit();
      if (!r.ok()) fprintf(stderr, "child %d: %s\n", k, r.status().ToString().c_str());
      _exit(r.ok() ? 0 : r.status().code() == Status::Code::kConflict ? 3 : 1);
    }
  }
  close(go[0]);
  usleep(200 * 1000);
  close(go[1]);  // both children start committing now
  int codes[2];
  for (int k = 0; k < 2; ++k) {
    int st = 0;
    waitpid(kids[k], &st, 0);
    ASSERT_TRUE(WIFEXITED(st));
    codes[k] = WEXITSTATUS(st);
  }
  std::sort(codes, codes + 2);
  EXPECT_EQ(codes[0], 0);
  EXPECT_EQ(codes[1], 3) << "the second writer must get Conflict";
  auto ds = Dataset::Open(store);
  EXPECT_EQ((*ds)->version(), 2u);
  EXPECT_EQ((*ds)->n_cells(), 35u);
}

TEST(Dataset, VacuumRemovesOnlyUnreferencedFiles) {
  TempDir dir;
  auto store = Store(dir);
  testing::CreateDataset(store, testing::Cells(0, 30, 50));
  // An orphan from a failed transaction and a replaced column.
  {
    auto f = store->Create("X/deadbeefdeadbeef.seg");
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  // Version 2 adds a var column (file A); version 3 replaces it (file B),
  // so file A belongs to version 2 only.
  std::string file_a;
  for (int64_t fill : {1, 2}) {
    auto tx = Transaction::Update(store);
    ASSERT_TRUE((*tx)->SetColumn(Axis::kVar, Column::Int64("extra", std::vector<int64_t>(50, fill))).ok());
    ASSERT_TRUE((*tx)->Commit().ok());
    if (fill == 1) file_a = (*Dataset::Open(store))->manifest().var.files.back().path;
  }
  // Too young: nothing goes.
  auto none = Vacuum(store.get(), 1, 3'600'000, false);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->removed.empty());
  // Orphans only: every version keeps its files.
  auto orphans = Vacuum(store.get(), 1, 0, false);
  ASSERT_TRUE(orphans.ok()) << orphans.status().ToString();
  EXPECT_EQ(orphans->removed, std::vector<std::string>{"X/deadbeefdeadbeef.seg"});
  for (uint64_t v = 1; v <= 3; ++v) EXPECT_TRUE((*Dataset::Open(store, OpenOptions{v, {}}))->Verify().ok()) << v;
  // Keeping versions 3 and on drops manifests 1 and 2 and file A.
  const std::vector<std::string> want = {ManifestKey(1), ManifestKey(2), file_a};
  auto dry = Vacuum(store.get(), 3, 0, true);
  ASSERT_TRUE(dry.ok());
  EXPECT_EQ(dry->removed, want);
  EXPECT_TRUE(Dataset::Open(store, OpenOptions{1, {}}).ok()) << "dry run removes nothing";
  auto old = Vacuum(store.get(), 3, 0, false);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->removed, want);
  EXPECT_TRUE(Dataset::Open(store, OpenOptions{1, {}}).status().IsNotFound());
  auto ds = Dataset::Open(store);
  ASSERT_TRUE(ds.ok());
  EXPECT_EQ((*ds)->version(), 3u);
  EXPECT_TRUE((*ds)->Verify().ok());
  EXPECT_EQ(ListVersions(store.get())->size(), 1u);
}

TEST(Dataset, LatestHintIsAdvisory) {
  TempDir dir;
  auto store = Store(dir);
  testing::CreateDataset(store, testing::Cells(0, 10, 20));
  auto b = testing::Cells(10, 5, 20);
  ASSERT_TRUE(testing::AppendCells(store, b, testing::ObsFor(b, 10)).ok());
  // A stale, a garbage and a missing hint all find version 2.
  for (const std::string hint : {"1\n", "banana", "99\n", ""}) {
    if (hint.empty()) {
      ASSERT_TRUE(store->Delete(kLatestKey).ok());
    } else {
      ASSERT_TRUE(store->Put(kLatestKey, std::span(reinterpret_cast<const uint8_t*>(hint.data()), hint.size())).ok());
    }
    auto v = LatestVersion(store.get());
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(*v, 2u) << "hint \"" << hint << "\"";
  }
  EXPECT_TRUE(Dataset::Open(dir / "nothing-here").status().IsNotFound());
  // The hint carries the manifest of its version (format-spec §9.1): a stale
  // copy is never the answer once a newer version exists, and a copy that
  // does not parse or names another version is ignored.
  auto v1 = store->Get(ManifestKey(1));
  ASSERT_TRUE(v1.ok());
  std::string stale = "1\n" + std::string(v1->begin(), v1->end());
  std::string lying = "2\n" + std::string(v1->begin(), v1->end());
  std::string torn = stale.substr(0, stale.size() / 2);
  for (const std::string& hint : {stale, lying, torn}) {
    ASSERT_TRUE(store->Put(kLatestKey, std::span(reinterpret_cast<const uint8_t*>(hint.data()), hint.size())).ok());
    auto ds = Dataset::Open(store);
    ASSERT_TRUE(ds.ok()) << ds.status().ToString();
    EXPECT_EQ((*ds)->version(), 2u);
    EXPECT_EQ((*ds)->n_cells(), 15u);
  }
  // What a commit writes: the number, a newline, the manifest bytes.
  auto c = testing::Cells(15, 3, 20);
  ASSERT_TRUE(testing::AppendCells(store, c, testing::ObsFor(c, 15)).ok());
  auto written = store->Get(kLatestKey);
  auto v3 = store->Get(ManifestKey(3));
  ASSERT_TRUE(written.ok() && v3.ok());
  EXPECT_EQ(std::string(written->begin(), written->end()), "3\n" + std::string(v3->begin(), v3->end()));
  // Vacuum refreshes a lagging hint before removing old versions.
  ASSERT_TRUE(store->Put(kLatestKey, std::span(reinterpret_cast<const uint8_t*>(stale.data()), stale.size())).ok());
  ASSERT_TRUE(Vacuum(store.get(), 3, 0, false).ok());
  written = store->Get(kLatestKey);
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(std::string(written->begin(), written->end()), "3\n" + std::string(v3->begin(), v3->end()));
  auto after = Dataset::Open(store);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ((*after)->n_cells(), 18u);
  TempDir empty;
  EXPECT_TRUE(Dataset::Open(empty.path()).status().IsNotFound());
}

}  // namespace
}  // namespace slaf

namespace slaf {
namespace {

// A writer that read an old version, after a vacuum removed that version's
// successor manifest, must not land in the hole behind newer versions.
TEST(Dataset, StaleWriterDoesNotLandInAVacuumedHole) {
  testing::TempDir dir;
  auto store = *io::OpenLocalStore(dir / "ds.slaf", true);
  testing::CreateDataset(store, testing::Cells(0, 20, 40));
  const CsrMatrix b = testing::Cells(20, 4, 40);
  for (int attempts : {1, 3}) {
    auto stale = Transaction::Update(store, [&] {
      WriteOptions o;
      o.max_attempts = attempts;
      return o;
    }());
    ASSERT_TRUE(stale.ok());
    ASSERT_TRUE((*stale)->AppendCells(engine::ViewOf(b)).ok());
    ASSERT_TRUE((*stale)->AppendObs(testing::ObsFor(b, 20)).ok());
    const uint64_t base = (*stale)->base().version;
    // Two more versions by someone else, then a vacuum that drops all but the newest.
    for (int k = 0; k < 2; ++k) {
      auto tx = Transaction::Update(store);
      ASSERT_TRUE((*tx)->SetColumn(Axis::kVar, Column::Int64("k", std::vector<int64_t>(40, k))).ok());
      ASSERT_TRUE((*tx)->Commit().ok());
    }
    ASSERT_TRUE(Vacuum(store.get(), base + 2, 0, false).ok());
    ASSERT_FALSE(Dataset::Open(store, OpenOptions{base + 1, {}}).ok()) << "the hole exists";
    Result<uint64_t> r = (*stale)->Commit();
    if (attempts == 1) {
      EXPECT_EQ(r.status().code(), Status::Code::kConflict) << r.status().ToString();
      EXPECT_FALSE(Dataset::Open(store, OpenOptions{base + 1, {}}).ok()) << "the stale manifest was taken back";
      EXPECT_EQ(*LatestVersion(store.get()), base + 2);
    } else {
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(*r, base + 3) << "rebased onto the newest version";
      auto ds = Dataset::Open(store);
      EXPECT_EQ((*ds)->n_cells(), 24u);
    }
  }
}

}  // namespace
}  // namespace slaf

namespace slaf {
namespace {

TEST(Dataset, EmptyDatasetKeepsItsSchemaAndTakesAppends) {
  testing::TempDir dir;
  auto store = *io::OpenLocalStore(dir / "ds.slaf", true);
  const CsrMatrix none = testing::Cells(0, 0, 30);
  testing::CreateDataset(store, none);
  auto ds = Dataset::Open(store);
  ASSERT_TRUE(ds.ok());
  EXPECT_EQ((*ds)->n_cells(), 0u);
  EXPECT_EQ((*ds)->manifest().obs.columns.size(), 7u) << "obs columns survive with zero rows";
  const CsrMatrix b = testing::Cells(0, 5, 30);
  ASSERT_TRUE(testing::AppendCells(store, b, testing::ObsFor(b, 0)).ok());
  auto after = Dataset::Open(store);
  CsrMatrix x;
  ASSERT_TRUE((*after)->ReadCellRange(0, 5, &x).ok());
  EXPECT_TRUE(testing::SameCsr(x, b));
  ExpectTablesEqual(*(*after)->obs(), testing::ObsFor(b, 0));
}

}  // namespace
}  // namespace slaf
