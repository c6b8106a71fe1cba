// Crash safety of commits (RELIABILITY.md requirements 1-3): for create,
// append and set-column, every write-side store operation n is failed
//   (a) once, (b) from n on, (b') once after it was done (a lost response:
//       a manifest created but reported failed must count as committed),
//       on the local directory store, and
//   (c) as a crash at n: the writer dies and unsynced data is dropped, with
//       and without a torn tail, for 3 seeds (durability-modelling store).
// Afterwards the dataset opens at version k or k+1, never in between, with
// exactly the contents of that version, and `verify` is clean. A commit
// that returned OK survives a crash (n = N + 1). After a failure, the same
// change commits on a second try.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>

#include "engine/csr_util.h"
#include "io/fault_store.h"
#include "io/memory_store.h"
#include "slaf/dataset.h"
#include "slaf/dataset_writer.h"
#include "tests/dataset_fixtures.h"

namespace slaf {
namespace {

using testing::TempDir;

constexpr uint32_t kGenes = 60;

// What a version must read as.
struct Expected {
  uint64_t version = 0;
  CsrMatrix x;
  Table obs, var;
};

Expected Read(const std::shared_ptr<io::ObjectStore>& store) {
  Expected e;
  auto ds = Dataset::Open(store);
  EXPECT_TRUE(ds.ok()) << ds.status().ToString();
  if (!ds.ok()) return e;
  e.version = (*ds)->version();
  EXPECT_TRUE((*ds)->ReadCellRange(0, (*ds)->n_cells(), &e.x).ok());
  e.obs = *(*ds)->obs();
  e.var = *(*ds)->var();
  VerifyReport r = (*ds)->Verify();
  EXPECT_TRUE(r.ok()) << r.problems[0];
  return e;
}

bool SameTable(const Table& a, const Table& b) {
  if (a.n_rows != b.n_rows || a.columns.size() != b.columns.size()) return false;
  for (size_t i = 0; i < a.columns.size(); ++i) {
    if (!a.columns[i].Equals(b.columns[i])) return false;
  }
  return true;
}

bool Same(const Expected& a, const Expected& b) {
  return a.version == b.version && testing::SameCsr(a.x, b.x) && SameTable(a.obs, b.obs) && SameTable(a.var, b.var);
}

// Small chunks and segments so a commit has many operations to fail.
WriteOptions SmallFiles() {
  WriteOptions o;
  o.cells_per_segment = 16;
  o.segment.target_chunk_bytes = 512;
  o.table.rows_per_chunk = 8;
  return o;
}

using Operation = std::function<Status(std::shared_ptr<io::ObjectStore>)>;

Status CreateOp(std::shared_ptr<io::ObjectStore> store) {
  const CsrMatrix m = testing::Cells(0, 40, kGenes);
  SLAF_ASSIGN_OR_RETURN(auto tx, Transaction::Create(store, kGenes, ValueType::kUInt32, SmallFiles()));
  SLAF_RETURN_IF_ERROR(tx->AppendCells(engine::ViewOf(m)));
  SLAF_RETURN_IF_ERROR(tx->AppendObs(testing::ObsFor(m, 0)));
  SLAF_RETURN_IF_ERROR(tx->SetVar(testing::VarFor(kGenes)));
  return tx->Commit().status();
}

Status AppendOp(std::shared_ptr<io::ObjectStore> store) {
  const CsrMatrix m = testing::Cells(40, 35, kGenes);
  return testing::AppendCells(store, m, testing::ObsFor(m, 40, "Platelet"), SmallFiles()).status();
}

Status SetColumnOp(std::shared_ptr<io::ObjectStore> store) {
  SLAF_ASSIGN_OR_RETURN(auto tx, Transaction::Update(store, SmallFiles()));
  std::vector<std::string> labels;
  for (uint64_t i = 0; i < tx->base().n_cells; ++i) labels.push_back(i % 3 ? "kept" : "dropped");
  SLAF_RETURN_IF_ERROR(tx->SetColumn(Axis::kObs, Column::String("qc", labels)));
  SLAF_RETURN_IF_ERROR(tx->SetColumn(Axis::kObs, Column::Int64("total_counts", std::vector<int64_t>(tx->base().n_cells, 1))));
  return tx->Commit().status();
}

// Base dataset for the operation: none for create, 40 cells otherwise.
void Prepare(const std::shared_ptr<io::ObjectStore>& store, bool empty) {
  if (!empty) ASSERT_TRUE(CreateOp(store).ok());
}

struct Scenario {
  const char* name;
  Operation op;
  bool from_empty;
};

const Scenario kScenarios[] = {
    {"create", CreateOp, true},
    {"append", AppendOp, false},
    {"set_column", SetColumnOp, false},
};

void PrintTo(const Scenario& s, std::ostream* os) { *os << s.name; }

class CrashTest : public ::testing::TestWithParam<Scenario> {};

// Counts the operations of an unfaulted run and records the contents it
// commits, on the given kind of store.
struct Reference {
  uint64_t ops = 0;
  Expected before, after;
};

Reference Measure(const Scenario& sc) {
  Reference ref;
  auto mem = std::make_shared<io::MemoryStore>("mem");
  Prepare(mem, sc.from_empty);
  if (!sc.from_empty) ref.before = Read(mem);
  auto faulty = std::make_shared<io::FaultInjectingStore>(mem);
  faulty->Disarm();
  EXPECT_TRUE(sc.op(faulty).ok());
  ref.ops = faulty->ops();
  ref.after = Read(mem);
  std::printf("[ info ] %s: %llu write-side store operations, each faulted\n", sc.name, static_cast<unsigned long long>(ref.ops));
  return ref;
}

TEST_P(CrashTest, ErrorsOnLocalStoreLeaveVersionKOrKPlusOne) {
  const Scenario& sc = GetParam();
  const Reference ref = Measure(sc);
  ASSERT_GT(ref.ops, 5u);
  ASSERT_LE(ref.ops, 200u);
  using Mode = io::FaultInjectingStore::Mode;
  for (auto mode : {Mode::kOnce, Mode::kFromThenOn, Mode::kOnceAfterDone}) {
    for (uint64_t n = 1; n <= ref.ops; ++n) {
      SCOPED_TRACE(std::string(sc.name) + " fault at op " + std::to_string(n) +
                   (mode == Mode::kOnce ? " (once)" : mode == Mode::kFromThenOn ? " (from then on)" : " (done, then reported failed)"));
      TempDir dir;
      auto local = *io::OpenLocalStore(dir / "ds.slaf", true);
      Prepare(local, sc.from_empty);
      auto faulty = std::make_shared<io::FaultInjectingStore>(local);
      faulty->Arm(n, mode);
      const Status s = sc.op(faulty);
      EXPECT_TRUE(faulty->fired());
      auto latest = LatestVersion(local.get());
      ASSERT_TRUE(latest.ok());
      if (s.ok()) {
        // Only the advisory _latest hint may fail after a commit.
        EXPECT_EQ(*latest, ref.after.version);
        EXPECT_TRUE(Same(Read(local), ref.after));
      } else {
        EXPECT_EQ(*latest, ref.before.version) << s.ToString();
        if (!sc.from_empty) EXPECT_TRUE(Same(Read(local), ref.before));
        // The writer does not get stuck: the same change commits now.
        ASSERT_TRUE(sc.op(local).ok());
        Expected again = Read(local);
        EXPECT_EQ(again.version, ref.after.version);
        EXPECT_TRUE(testing::SameCsr(again.x, ref.after.x));
      }
    }
  }
}

TEST_P(CrashTest, CrashAtEveryOperationDropsUnsyncedData) {
  const Scenario& sc = GetParam();
  const Reference ref = Measure(sc);
  // n = ops + 1: no fault, then a crash: an acknowledged commit is durable.
  for (uint64_t n = 1; n <= ref.ops + 1; ++n) {
    for (uint64_t seed = 1; seed <= 3; ++seed) {
      for (bool torn : {false, true}) {
        SCOPED_TRACE(std::string(sc.name) + " crash at op " + std::to_string(n) + " seed " + std::to_string(seed) +
                     (torn ? " torn" : ""));
        auto mem = std::make_shared<io::MemoryStore>("mem");
        Prepare(mem, sc.from_empty);
        auto faulty = std::make_shared<io::FaultInjectingStore>(mem);
        faulty->Arm(n, io::FaultInjectingStore::Mode::kFromThenOn);
        const Status s = sc.op(faulty);
        mem->SimulateCrash(seed * 7919 + n, torn);
        auto latest = LatestVersion(mem.get());
        ASSERT_TRUE(latest.ok()) << latest.status().ToString();
        if (s.ok()) {
          EXPECT_EQ(*latest, ref.after.version) << "acknowledged commit lost";
        }
        if (*latest == ref.after.version) {
          EXPECT_TRUE(Same(Read(mem), ref.after));
        } else {
          ASSERT_EQ(*latest, ref.before.version);
          if (!sc.from_empty) EXPECT_TRUE(Same(Read(mem), ref.before));
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Operations, CrashTest, ::testing::ValuesIn(kScenarios),
                         [](const ::testing::TestParamInfo<Scenario>& i) { return std::string(i.param.name); });

}  // namespace
}  // namespace slaf
