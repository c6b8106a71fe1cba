// libFuzzer target: statements that parse are bound against a tiny
// synthetic dataset (names, types, pushdown, the aggregate kernel's
// eligibility) and executed when their plan has at most one cross join (so
// a fuzzed FROM a, b, c, d cannot take minutes). Binding and execution must
// either succeed or fail with a Status, never crash or trip a sanitizer; a
// binding error must carry "SQL error at L:C".
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "io/memory_store.h"
#include "slaf/dataset.h"
#include "slaf/synthetic.h"
#include "sql-lite/ast.h"
#include "sql-lite/plan.h"

namespace {

const slaf::Dataset& TinyDataset() {
  static std::unique_ptr<slaf::Dataset> ds = [] {
    auto store = std::make_shared<slaf::io::MemoryStore>("fuzz");
    slaf::SyntheticSpec spec;
    spec.n_cells = 60;
    spec.n_genes = 20;
    spec.density = 0.1;
    slaf::SyntheticDatasetOptions o;
    o.gene_order_frequency = true;  // permuted segments, as converted datasets have
    if (!slaf::WriteSyntheticDataset(store, spec, o).ok()) std::abort();
    auto d = slaf::Dataset::Open(store);
    if (!d.ok()) std::abort();
    return std::move(*d);
  }();
  return *ds;
}

int CrossJoins(const slaf::sql::PlanPtr& p) {
  int n = p->kind == slaf::sql::PlanNode::Kind::kCrossJoin ? 1 : 0;
  for (const auto& c : p->children) n += CrossJoins(c);
  for (const auto& r : p->restrictions) n += CrossJoins(r.plan);
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  const std::string_view sql(reinterpret_cast<const char*>(data), size);
  auto stmt = slaf::sql::Parse(sql);
  if (!stmt.ok()) return 0;  // sql_fuzz covers the parser's errors
  const slaf::Dataset& ds = TinyDataset();
  std::vector<std::string> names;
  auto plan = slaf::sql::BindStatement(*stmt, ds, &names);
  if (!plan.ok()) {
    if (plan.status().message().find("SQL error at ") == std::string::npos) __builtin_trap();
    return 0;
  }
  if (names.size() != (*plan)->slots.size()) __builtin_trap();
  slaf::sql::Optimize(*plan);
  if (CrossJoins(*plan) > 1) return 0;
  slaf::sql::ExecContext ctx;
  ctx.ds = &ds;
  ctx.threads = 2;
  auto op = slaf::sql::BuildOperator(*plan, &ctx);
  if (!op.ok() || !(*op)->Open().ok()) return 0;
  slaf::sql::Batch b;
  uint64_t rows = 0;
  while (rows < 1000000) {
    auto more = (*op)->Next(&b);
    if (!more.ok() || !*more) break;
    if (b.cols.size() != names.size()) __builtin_trap();
    for (const auto& v : b.cols) {
      if (v.type != slaf::sql::Type::kNull && v.size != b.n) __builtin_trap();
    }
    rows += b.n;
  }
  return 0;
}
