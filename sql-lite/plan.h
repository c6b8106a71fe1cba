// The logical plan: bound (typed, name-resolved) expressions and a tree of
// operators. The binder builds it from the syntax tree, the optimizer
// pushes predicates and aggregates into the expression scan, and the
// executor (operators.cc) instantiates one physical operator per node.
//
// Columns are identified by slot numbers unique within a statement: every
// node lists the slots it outputs, and expressions refer to slots, so the
// binder can reorder joins without renumbering anything.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "slaf/dataset.h"
#include "sql-lite/vector.h"

namespace slaf::sql {

struct PlanNode;
using PlanPtr = std::shared_ptr<PlanNode>;
struct BExpr;
using BExprPtr = std::shared_ptr<BExpr>;

enum class BinOp : uint8_t { kAdd, kSub, kMul, kDiv, kMod, kConcat, kEq, kNe, kLt, kLe, kGt, kGe, kAnd, kOr };

enum class Func : uint8_t {
  kCoalesce, kLn, kLog, kExp, kSqrt, kAbs, kRound, kLower, kUpper, kLength, kPower, kFloor, kCeil, kNullIf,
};

struct BExpr {
  enum class Kind : uint8_t {
    kConst,      // value
    kSlot,       // slot
    kNeg,        // -args[0]
    kNot,        // NOT args[0]
    kBinary,     // op
    kFunc,       // func(args)
    kCase,       // args = [when0, then0, when1, then1, ..., else?]; has_else
    kCast,       // args[0] to type
    kInList,     // args[0] IN (args[1..]); negated
    kInSet,      // args[0] IN (subquery plan `sub`, one column); negated
    kIsNull,     // negated = IS NOT NULL
    kLike,       // args[0] LIKE args[1]; negated
  };
  Kind kind = Kind::kConst;
  Type type = Type::kNull;
  Value value;
  int slot = -1;
  BinOp op = BinOp::kAdd;
  Func func = Func::kCoalesce;
  bool negated = false;
  bool has_else = false;
  std::vector<BExprPtr> args;
  PlanPtr sub;  // kInSet
};

// Aggregate functions. The k*Partial forms combine partial results of the
// expression-aggregate kernel (count, sum, min, max, sum of squares).
enum class AggFunc : uint8_t {
  kCountStar, kCount, kSum, kAvg, kMin, kMax, kVarSamp, kVarPop, kStddevSamp, kStddevPop,
};

struct AggSpec {
  AggFunc func = AggFunc::kCountStar;
  bool distinct = false;
  BExprPtr arg;       // null for COUNT(*)
  Type type = Type::kInt64;  // result type
  int slot = -1;
  // Partial combine (expression-aggregate kernel): the argument slots of the
  // kernel's partial columns this aggregate reads.
  int cnt_slot = -1, sum_slot = -1, min_slot = -1, max_slot = -1, sumsq_slot = -1;
};

struct SortKey {
  BExprPtr expr;
  bool desc = false;
  bool nulls_first = true;
};

// What an expression scan reads: pushed-down selections (sorted, distinct
// ids; has_* false = all) and an inclusive value range.
struct ExprScanSpec {
  std::string layer;  // "" = X
  bool is_int = true;  // uint32 counts (BIGINT values) or float32 (DOUBLE)
  bool has_cells = false;
  std::vector<uint64_t> cells;
  bool has_genes = false;
  std::vector<uint32_t> genes;
  // A cell id range [cell_begin, cell_end) that holds in addition to `cells`.
  uint64_t cell_begin = 0, cell_end = UINT64_MAX;
  double value_min = -1.0 / 0.0, value_max = 1.0 / 0.0;
  // Streams the consumer needs decoded (projection pushdown).
  bool need_gene_ids = true;
  bool need_values = true;
  // The consumer maps stored gene ids itself (SourceBlock::stored_to_original).
  bool stored_ids_ok = false;
  // The consumer accumulates per gene (or overall) and needs no cell ids:
  // a full gene index then serves it decoding values only.
  bool prefer_gene_rows = false;
  // Selections known only at run time: filled before the scan opens by a
  // join's build side or an IN (subquery) (sideways information passing).
  std::vector<std::string> pushed;  // descriptions for EXPLAIN
};

// The per-axis partial aggregates the expression-aggregate kernel returns:
// one row per gene (axis kGene), per cell (kCell) or one row (kNone), with
// columns id (not for kNone), cnt, sum, min, max, sumsq (only those needed).
struct ExprAggSpec {
  enum class Axis : uint8_t { kNone, kGene, kCell } axis = Axis::kNone;
  bool want_sum = false, want_minmax = false, want_sumsq = false;
};

struct PlanNode {
  enum class Kind : uint8_t {
    kValues,       // one row, no columns (SELECT without FROM)
    kTableScan,    // cells or genes table in memory
    kExprScan,     // nonzeros of a matrix
    kExprAgg,      // one-pass aggregate kernel over a matrix
    kFilter,
    kProject,
    kHashJoin,     // children[0] = probe, children[1] = build
    kCrossJoin,    // children[0] x children[1]
    kAggregate,
    kWindow,
    kSort,         // with limit >= 0: top-N
    kLimit,
    kDistinct,
    kUnionAll,
  };
  Kind kind = Kind::kValues;
  std::vector<int> slots;         // output slots, in column order
  std::vector<Type> types;        // output types, parallel to slots
  std::vector<PlanPtr> children;
  double est_rows = 1;            // cardinality estimate for join ordering

  // kTableScan
  bool genes_table = false;          // else cells
  std::vector<std::string> columns;  // source column per output ("" for the integer id)
  std::vector<BExprPtr> scan_filters;  // conjuncts on this table, evaluated at load
  // Rows by name: the index column equals one of these (sorted, distinct),
  // found through the dataset's name index instead of a column scan.
  bool has_lookup = false;
  std::vector<std::string> lookup_names;

  // kExprScan / kExprAgg
  ExprScanSpec scan;
  std::vector<int> scan_cols;  // kExprScan: 0 = cell id, 1 = gene id, 2 = value, per output
  ExprAggSpec agg_spec;
  // Semi-join pushdown: plans of one integer column (cell or gene ids) that
  // the scan runs first and keeps only the ids they return.
  struct Restriction {
    PlanPtr plan;
    bool cells = true;
    std::string what;  // for EXPLAIN
  };
  std::vector<Restriction> restrictions;

  // kFilter
  BExprPtr predicate;
  // kProject
  std::vector<BExprPtr> exprs;
  // kHashJoin: equality keys probe_keys[i] = build_keys[i]
  std::vector<BExprPtr> probe_keys, build_keys;
  // kAggregate
  std::vector<BExprPtr> group_by;
  std::vector<AggSpec> aggs;
  bool partial_combine = false;  // aggs read kernel partials
  // kWindow: one function over partitions ordered by `order`
  enum class WinFunc : uint8_t { kRowNumber, kRank, kDenseRank } win_func = WinFunc::kRowNumber;
  std::vector<BExprPtr> partition_by;
  // kSort (also kWindow order)
  std::vector<SortKey> order;
  // kSort / kLimit
  int64_t limit = -1;  // -1 = none
  int64_t offset = 0;

  std::string label;  // for EXPLAIN: table name, alias, notes
  // Filled while executing, for EXPLAIN: the scan log and chosen read path.
  int scan_log = -1;
  std::string exec_note;
  uint64_t rows_out = 0;
};

// Binds a parsed statement against the dataset: names, types, joins,
// aggregates, pushdown. Errors are SqlError with positions.
struct Statement;
// `names` receives the result's column names.
Result<PlanPtr> BindStatement(const Statement& stmt, const Dataset& ds, std::vector<std::string>* names);

// Projection pushdown over a bound plan (optimizer.cc): table scans keep
// only the columns read above them, expression scans only the streams.
void Optimize(const PlanPtr& plan);

// Sets a pass-through node's output columns to its children's (binder.cc).
void InheritColumns(PlanNode* n);

// Execution.
struct ExecContext {
  const Dataset* ds = nullptr;
  int threads = 2;
  struct ScanLog {
    uint64_t chunks_total = 0, chunks_read = 0, chunks_skipped = 0, entries = 0;
  };
  std::deque<ScanLog> scans;  // one per executed scan (deque: stable addresses)
};

class Operator {
 public:
  virtual ~Operator() = default;
  virtual Status Open() = 0;
  // Fills *out with the next batch (out->n > 0) and returns true, or false at the end.
  virtual Result<bool> Next(Batch* out) = 0;
};

Result<std::unique_ptr<Operator>> BuildOperator(const PlanPtr& plan, ExecContext* ctx);

// Evaluates `e` over `in` (slot -> column via `slot_index`) into *out.
class ExprEvaluator {
 public:
  // Maps the expression's slots to the input batch's columns; fails (an
  // internal error) when a slot is not among `input_slots`.
  static Result<ExprEvaluator> Make(const BExprPtr& e, const std::vector<int>& input_slots, ExecContext* ctx);
  Status Eval(const Batch& in, Vector* out, StringArena* arena);

  struct Node;
 private:
  std::shared_ptr<Node> root_;
};

// Explains a plan tree after execution (one node per line, indented).
std::string ExplainPlan(const PlanPtr& plan, const ExecContext& ctx);

}  // namespace slaf::sql
