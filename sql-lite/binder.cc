// The binder: resolves names and types of a parsed statement against the
// dataset and builds the logical plan, deciding pushdown as it goes:
//  - conjuncts on one `cells`/`genes` table are evaluated when that table
//    loads; conjuncts on the expression's ids and value become the scan's
//    cell/gene selection and value range (zone maps then skip chunks);
//  - joins are ordered largest input first, so `expression` is always the
//    streaming probe side and `cells`/`genes` become lookup tables, whose
//    ids restrict the scan at run time;
//  - aggregates over `expression` grouped by gene or cell (or not grouped)
//    whose arguments are `value` run in the one-pass kernel (kExprAgg),
//    and the joined metadata only filters or labels its per-gene/per-cell
//    partial results.
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "sql-lite/ast.h"
#include "sql-lite/plan.h"

namespace slaf::sql {

namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (std::tolower(a[i - 1]) != std::tolower(b[j - 1]))});
    }
    prev.swap(cur);
  }
  return prev[b.size()];
}

// "; did you mean 'x'?" for the closest candidate within a small distance.
std::string Suggest(const std::string& name, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::max<size_t>(2, name.size() / 3) + 1;
  for (const std::string& c : candidates) {
    const size_t d = EditDistance(name, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best.empty() ? std::string() : "; did you mean '" + best + "'?";
}

bool IsNumeric(Type t) { return t == Type::kInt64 || t == Type::kDouble || t == Type::kBool || t == Type::kNull; }

Type NumericResult(Type a, Type b) {
  if (a == Type::kDouble || b == Type::kDouble) return Type::kDouble;
  if (a == Type::kNull && b == Type::kNull) return Type::kNull;
  return Type::kInt64;
}

// Common type of two values in one column (CASE arms, UNION ALL, COALESCE).
bool Unify(Type a, Type b, Type* out) {
  if (a == Type::kNull) return *out = b, true;
  if (b == Type::kNull || a == b) return *out = a, true;
  if (IsNumeric(a) && IsNumeric(b)) return *out = NumericResult(a, b), true;
  return false;
}

Type ColumnTypeToSql(ColumnType t) {
  switch (t) {
    case ColumnType::kInt64: return Type::kInt64;
    case ColumnType::kFloat64: return Type::kDouble;
    case ColumnType::kBool: return Type::kBool;
    case ColumnType::kString:
    case ColumnType::kCategorical: return Type::kString;
  }
  return Type::kString;
}

BExprPtr Const(Value v) {
  auto e = std::make_shared<BExpr>();
  e->kind = BExpr::Kind::kConst;
  e->type = v.type;
  e->value = std::move(v);
  return e;
}

BExprPtr SlotRef(int slot, Type t) {
  auto e = std::make_shared<BExpr>();
  e->kind = BExpr::Kind::kSlot;
  e->slot = slot;
  e->type = t;
  return e;
}

BExprPtr Binary(BinOp op, BExprPtr a, BExprPtr b, Type t) {
  auto e = std::make_shared<BExpr>();
  e->kind = BExpr::Kind::kBinary;
  e->op = op;
  e->type = t;
  e->args = {std::move(a), std::move(b)};
  return e;
}

BExprPtr CastTo(BExprPtr a, Type t) {
  if (a->type == t) return a;
  auto e = std::make_shared<BExpr>();
  e->kind = BExpr::Kind::kCast;
  e->type = t;
  e->args = {std::move(a)};
  return e;
}

// Canonical text of a bound expression (slots by number), to match
// GROUP BY expressions and deduplicate aggregates.
std::string Canon(const BExprPtr& e) {
  std::string s = "(" + std::to_string(static_cast<int>(e->kind)) + ":" + std::to_string(static_cast<int>(e->type));
  switch (e->kind) {
    case BExpr::Kind::kConst:
      s += e->value.is_null() ? "null" : e->value.type == Type::kString ? "'" + e->value.s + "'"
                                     : e->value.type == Type::kDouble ? DoubleToText(e->value.d)
                                                                      : std::to_string(e->value.i);
      break;
    case BExpr::Kind::kSlot: s += "#" + std::to_string(e->slot); break;
    default:
      s += std::to_string(static_cast<int>(e->op)) + "," + std::to_string(static_cast<int>(e->func)) + "," +
           std::to_string(e->negated) + std::to_string(e->has_else);
  }
  for (const BExprPtr& a : e->args) s += Canon(a);
  if (e->sub) s += "sub" + std::to_string(reinterpret_cast<uintptr_t>(e->sub.get()));
  return s + ")";
}

void CollectSlots(const BExprPtr& e, std::set<int>* out) {
  if (e->kind == BExpr::Kind::kSlot) out->insert(e->slot);
  for (const BExprPtr& a : e->args) CollectSlots(a, out);
}

std::string ExprText(const Expr& e) { return ExprToString(e); }

// ---- scopes

struct ColumnRef {
  std::string qualifier;  // table alias
  std::string name;
  int slot = -1;
  Type type = Type::kNull;
  int rel = -1;
  bool hidden = false;  // reachable by name, not part of SELECT *
};

struct Scope {
  std::vector<ColumnRef> cols;
};

struct Rel {
  enum class Kind { kCells, kGenes, kExpr, kOther } kind = Kind::kOther;
  std::string alias;
  PlanPtr plan;
  std::vector<ColumnRef> cols;
  double est = 1000;
  std::vector<BExprPtr> filters;  // conjuncts on this relation not pushed into its scan
  // kExpr: slots of its three columns; pushed selections.
  int cell_slot = -1, gene_slot = -1, value_slot = -1;
  int id_slot = -1;     // kCells / kGenes: the integer id column
  int index_slot = -1;  // kCells / kGenes: the obs/var index column (cell_id, gene_id)
  bool has_cell_range = false;
  uint64_t cell_lo = 0, cell_hi = UINT64_MAX;  // inclusive
  std::vector<std::string> pushed;
};

struct BoundQuery {
  PlanPtr plan;
  std::vector<std::string> names;
};

struct WindowCall {
  PlanNode::WinFunc func;
  std::vector<BExprPtr> partition;
  std::vector<SortKey> order;
  int slot;
};

// How expressions bind: against the FROM scope (rows), or after
// aggregation, where only group keys and aggregates are visible.
struct BindMode {
  const Scope* scope = nullptr;
  bool allow_aggregates = false;
  bool allow_windows = false;
  const char* clause = "";  // "WHERE", "GROUP BY", ... for messages
  // After aggregation:
  bool post_agg = false;
  std::map<std::string, int>* group_slots = nullptr;  // Canon -> slot
  std::map<std::string, int>* agg_slots = nullptr;  // key -> slot
  std::vector<AggSpec>* aggs = nullptr;
  std::vector<WindowCall>* windows = nullptr;
};

class Binder {
 public:
  explicit Binder(const Dataset& ds) : ds_(ds) {}

  Result<BoundQuery> BindQuery(const Query& q, int depth);

 private:
  int NewSlot() { return next_slot_++; }

  Result<BoundQuery> BindCore(const SelectCore& core, const std::vector<OrderItem>* order, const Expr* limit,
                              const Expr* offset, int depth);
  Result<Rel> BindTableRef(const TableRef& t, int depth);
  Result<BExprPtr> Bind(const Expr& e, const BindMode& m, int depth);
  Result<BExprPtr> BindInner(const Expr& e, const BindMode& m, int depth);
  Result<BExprPtr> BindColumn(const Expr& e, const Scope& scope);
  Result<BExprPtr> BindFunction(const Expr& e, const BindMode& m, int depth);
  Result<BExprPtr> BindAggregate(const Expr& e, const BindMode& m, int depth);
  Result<int64_t> ConstInt(const Expr& e, const char* what);
  bool PushIntoScan(const BExprPtr& conj, const Expr& ast, Rel* rel);
  Status CheckNoAggregates(const Expr& e, const char* clause);

  const Dataset& ds_;
  int next_slot_ = 0;
  std::vector<std::vector<const CommonTable*>> ctes_;
  std::set<std::string> binding_ctes_;  // to refuse recursive CTEs
  std::map<std::string, BoundQuery> subqueries_;  // IN (subquery) plans by QueryKey
};

bool IsAggregateName(const std::string& n) {
  static const std::set<std::string> k = {"COUNT", "SUM", "AVG", "MIN", "MAX", "STDDEV", "STDDEV_SAMP", "STDDEV_POP",
                                          "VARIANCE", "VAR_SAMP", "VAR_POP"};
  return k.count(n) > 0;
}

bool ContainsAggregate(const Expr& e) {
  if (e.kind == ExprKind::kFunction && !e.over && IsAggregateName(e.name)) return true;
  for (const ExprPtr& a : e.args) if (a && ContainsAggregate(*a)) return true;
  if (e.case_operand && ContainsAggregate(*e.case_operand)) return true;
  for (const auto& [w, t] : e.whens) if (ContainsAggregate(*w) || ContainsAggregate(*t)) return true;
  if (e.else_expr && ContainsAggregate(*e.else_expr)) return true;
  return false;
}

bool ContainsWindow(const Expr& e) {
  if (e.kind == ExprKind::kFunction && e.over) return true;
  for (const ExprPtr& a : e.args) if (a && ContainsWindow(*a)) return true;
  if (e.case_operand && ContainsWindow(*e.case_operand)) return true;
  for (const auto& [w, t] : e.whens) if (ContainsWindow(*w) || ContainsWindow(*t)) return true;
  if (e.else_expr && ContainsWindow(*e.else_expr)) return true;
  return false;
}

bool HasSubquery(const Expr& e) {
  if (e.subquery) return true;
  for (const ExprPtr& a : e.args) if (a && HasSubquery(*a)) return true;
  if (e.case_operand && HasSubquery(*e.case_operand)) return true;
  for (const auto& [w, t] : e.whens) if (HasSubquery(*w) || HasSubquery(*t)) return true;
  if (e.else_expr && HasSubquery(*e.else_expr)) return true;
  for (const ExprPtr& p : e.partition_by) if (HasSubquery(*p)) return true;
  for (const OrderItem& o : e.window_order) if (HasSubquery(*o.expr)) return true;
  return false;
}

// Canonical text of a subquery without nested subqueries, CTEs or derived
// tables (empty otherwise): the same IN (SELECT ...) written twice, as a
// select item and as a GROUP BY key, must bind to one plan.
std::string QueryKey(const Query& q) {
  if (!q.with.empty()) return "";
  std::string k;
  auto expr = [&](const Expr& e) -> bool {
    if (HasSubquery(e)) return false;
    k += ExprToString(e);
    k += '\x1f';
    return true;
  };
  for (const SelectCore& c : q.cores) {
    k += c.distinct ? "SELECT DISTINCT " : "SELECT ";
    for (const SelectItem& it : c.items) {
      if (it.expr->kind == ExprKind::kStar) k += it.expr->qualifier + ".*";
      else if (!expr(*it.expr)) return "";
      k += " AS " + it.alias + "\x1f";
    }
    k += " FROM ";
    for (const TableRef& t : c.from) {
      if (t.subquery) return "";
      k += t.name + " " + t.alias + "\x1f";
    }
    for (const JoinClause& j : c.joins) {
      if (j.table.subquery) return "";
      k += " JOIN " + j.table.name + " " + j.table.alias + " ON ";
      if (j.on && !expr(*j.on)) return "";
    }
    k += " WHERE ";
    if (c.where && !expr(*c.where)) return "";
    k += " GROUP BY ";
    for (const ExprPtr& g : c.group_by) if (!expr(*g)) return "";
    k += " HAVING ";
    if (c.having && !expr(*c.having)) return "";
    k += " UNION ALL ";
  }
  k += " ORDER BY ";
  for (const OrderItem& o : q.order_by) {
    if (!expr(*o.expr)) return "";
    k += std::to_string(o.desc) + std::to_string(static_cast<int>(o.nulls));
  }
  k += " LIMIT ";
  if (q.limit && !expr(*q.limit)) return "";
  k += " OFFSET ";
  if (q.offset && !expr(*q.offset)) return "";
  return k;
}

Status Binder::CheckNoAggregates(const Expr& e, const char* clause) {
  if (e.kind == ExprKind::kFunction && e.over) return SqlError(e.pos, std::string("window functions are not allowed in ") + clause);
  if (e.kind == ExprKind::kFunction && IsAggregateName(e.name)) {
    return SqlError(e.pos, std::string("aggregate functions are not allowed in ") + clause);
  }
  for (const ExprPtr& a : e.args) if (a) SLAF_RETURN_IF_ERROR(CheckNoAggregates(*a, clause));
  if (e.case_operand) SLAF_RETURN_IF_ERROR(CheckNoAggregates(*e.case_operand, clause));
  for (const auto& [w, t] : e.whens) {
    SLAF_RETURN_IF_ERROR(CheckNoAggregates(*w, clause));
    SLAF_RETURN_IF_ERROR(CheckNoAggregates(*t, clause));
  }
  if (e.else_expr) SLAF_RETURN_IF_ERROR(CheckNoAggregates(*e.else_expr, clause));
  return Status::OK();
}

// ---- tables

Result<Rel> Binder::BindTableRef(const TableRef& t, int depth) {
  Rel rel;
  if (t.subquery) {
    if (t.alias.empty()) return SqlError(t.pos, "a subquery in FROM needs an alias: (SELECT ...) AS name");
    SLAF_ASSIGN_OR_RETURN(BoundQuery bq, BindQuery(*t.subquery, depth + 1));
    rel.alias = t.alias;
    rel.plan = bq.plan;
    rel.est = bq.plan->est_rows;
    for (size_t c = 0; c < bq.names.size(); ++c) {
      rel.cols.push_back(ColumnRef{t.alias, bq.names[c], bq.plan->slots[c], bq.plan->types[c], -1});
    }
    return rel;
  }
  const std::string name = t.name;
  rel.alias = t.alias.empty() ? name : t.alias;
  // CTEs shadow tables; the innermost WITH wins.
  for (auto s = ctes_.rbegin(); s != ctes_.rend(); ++s) {
    for (const CommonTable* c : *s) {
      if (c->name != name) continue;
      if (binding_ctes_.count(name)) return SqlError(t.pos, "recursive reference to common table '" + name + "' is not supported");
      binding_ctes_.insert(name);
      Result<BoundQuery> bq = BindQuery(*c->query, depth + 1);
      binding_ctes_.erase(name);
      if (!bq.ok()) return bq.status();
      rel.plan = bq->plan;
      rel.est = bq->plan->est_rows;
      for (size_t k = 0; k < bq->names.size(); ++k) {
        rel.cols.push_back(ColumnRef{rel.alias, bq->names[k], bq->plan->slots[k], bq->plan->types[k], -1});
      }
      return rel;
    }
  }
  const Manifest& m = ds_.manifest();
  auto table_scan = [&](bool genes) {
    const TableEntry& te = genes ? m.var : m.obs;
    rel.kind = genes ? Rel::Kind::kGenes : Rel::Kind::kCells;
    auto node = std::make_shared<PlanNode>();
    node->kind = PlanNode::Kind::kTableScan;
    node->genes_table = genes;
    node->label = name + (rel.alias != name ? " AS " + rel.alias : "");
    const std::string id_name = genes ? "gene_integer_id" : "cell_integer_id";
    rel.id_slot = NewSlot();
    node->columns.push_back("");
    node->slots.push_back(rel.id_slot);
    node->types.push_back(Type::kInt64);
    rel.cols.push_back(ColumnRef{rel.alias, id_name, rel.id_slot, Type::kInt64, -1});
    bool has_id_name = false;
    for (const ColumnSchema& c : te.columns) {
      const int slot = NewSlot();
      if (c.name == te.index_column) rel.index_slot = slot;
      node->columns.push_back(c.name);
      node->slots.push_back(slot);
      node->types.push_back(ColumnTypeToSql(c.type));
      rel.cols.push_back(ColumnRef{rel.alias, c.name, slot, ColumnTypeToSql(c.type), -1});
      has_id_name = has_id_name || c.name == (genes ? "gene_id" : "cell_id");
    }
    // The index column is also reachable as cell_id / gene_id (same
    // column, not repeated by SELECT *).
    if (!has_id_name && !te.index_column.empty()) {
      for (size_t k = 0; k < rel.cols.size(); ++k) {
        if (rel.cols[k].name != te.index_column) continue;
        ColumnRef alias = rel.cols[k];
        alias.name = genes ? "gene_id" : "cell_id";
        alias.hidden = true;
        rel.cols.push_back(alias);
        break;
      }
    }
    rel.plan = node;
    rel.est = static_cast<double>(te.n_rows);
    node->est_rows = rel.est;
  };
  if (name == "cells") {
    table_scan(false);
    return rel;
  }
  if (name == "genes") {
    table_scan(true);
    return rel;
  }
  std::string layer;
  bool is_matrix = false;
  const MatrixEntry* mx = nullptr;
  if (name == "expression") {
    is_matrix = true;
    mx = &m.x;
  } else if (name.rfind("layer_", 0) == 0) {
    layer = name.substr(6);
    auto it = m.layers.find(layer);
    if (it != m.layers.end()) {
      is_matrix = true;
      mx = &it->second;
    }
  }
  if (!is_matrix) {
    std::vector<std::string> known = {"cells", "genes", "expression"};
    for (const auto& [l, _] : m.layers) known.push_back("layer_" + l);
    for (const auto& s : ctes_) for (const CommonTable* c : s) known.push_back(c->name);
    std::string list;
    for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
    return SqlError(t.pos, "unknown table '" + name + "'" + Suggest(name, known) + " (tables: " + list + ")");
  }
  rel.kind = Rel::Kind::kExpr;
  auto node = std::make_shared<PlanNode>();
  node->kind = PlanNode::Kind::kExprScan;
  node->scan.layer = layer;
  node->scan.is_int = mx->value_type == ValueType::kUInt32;
  node->label = name + (rel.alias != name ? " AS " + rel.alias : "");
  const Type vt = node->scan.is_int ? Type::kInt64 : Type::kDouble;
  rel.cell_slot = NewSlot();
  rel.gene_slot = NewSlot();
  rel.value_slot = NewSlot();
  node->slots = {rel.cell_slot, rel.gene_slot, rel.value_slot};
  node->types = {Type::kInt64, Type::kInt64, vt};
  node->scan_cols = {0, 1, 2};
  rel.cols.push_back(ColumnRef{rel.alias, "cell_integer_id", rel.cell_slot, Type::kInt64, -1});
  rel.cols.push_back(ColumnRef{rel.alias, "gene_integer_id", rel.gene_slot, Type::kInt64, -1});
  rel.cols.push_back(ColumnRef{rel.alias, "value", rel.value_slot, vt, -1});
  rel.plan = node;
  rel.est = static_cast<double>(mx->nnz());
  node->est_rows = rel.est;
  return rel;
}

// ---- expressions

Result<BExprPtr> Binder::BindColumn(const Expr& e, const Scope& scope) {
  const ColumnRef* found = nullptr;
  std::vector<const ColumnRef*> matches;
  for (int pass = 0; pass < 2 && matches.empty(); ++pass) {
    for (const ColumnRef& c : scope.cols) {
      const bool name_ok = pass == 0 ? c.name == e.name : Lower(c.name) == Lower(e.name);
      const bool qual_ok = e.qualifier.empty() || c.qualifier == e.qualifier || (pass == 1 && Lower(c.qualifier) == Lower(e.qualifier));
      if (name_ok && qual_ok) matches.push_back(&c);
    }
  }
  if (matches.size() > 1) {
    std::string list;
    for (const ColumnRef* c : matches) list += (list.empty() ? "" : ", ") + c->qualifier + "." + c->name;
    return SqlError(e.pos, "column reference '" + e.name + "' is ambiguous (" + list + "); qualify it with a table name");
  }
  if (matches.empty()) {
    std::vector<std::string> names;
    bool qualifier_known = e.qualifier.empty();
    for (const ColumnRef& c : scope.cols) {
      if (e.qualifier.empty() || c.qualifier == e.qualifier) names.push_back(c.name);
      qualifier_known = qualifier_known || c.qualifier == e.qualifier;
    }
    if (!qualifier_known) {
      std::vector<std::string> quals;
      for (const ColumnRef& c : scope.cols) quals.push_back(c.qualifier);
      return SqlError(e.pos, "unknown table or alias '" + e.qualifier + "'" + Suggest(e.qualifier, quals));
    }
    const std::string full = e.qualifier.empty() ? e.name : e.qualifier + "." + e.name;
    if (scope.cols.empty()) return SqlError(e.pos, "unknown column '" + full + "' (the query has no FROM clause)");
    return SqlError(e.pos, "unknown column '" + full + "'" + Suggest(e.name, names));
  }
  found = matches[0];
  return SlotRef(found->slot, found->type);
}

// LIMIT and OFFSET: an integer expression without columns (2 + 3 works),
// evaluated once here.
Result<int64_t> Binder::ConstInt(const Expr& e, const char* what) {
  if (HasSubquery(e) || ContainsAggregate(e) || ContainsWindow(e)) {
    return SqlError(e.pos, std::string(what) + " must be an integer constant");
  }
  Scope none;
  BindMode m;
  m.scope = &none;
  m.clause = what;
  Result<BExprPtr> b = Bind(e, m, 0);
  if (!b.ok()) return SqlError(e.pos, std::string(what) + " must be an integer constant");
  if ((*b)->type != Type::kInt64) {
    return SqlError(e.pos, std::string(what) + " must be an integer, got " + TypeName((*b)->type));
  }
  SLAF_ASSIGN_OR_RETURN(ExprEvaluator ev, ExprEvaluator::Make(*b, {}, nullptr));
  Batch one;
  one.n = 1;
  Vector v;
  StringArena arena;
  if (Status st = ev.Eval(one, &v, &arena); !st.ok()) return SqlError(e.pos, std::string(what) + ": " + st.message());
  if (v.null(0)) return SqlError(e.pos, std::string(what) + " must not be NULL");
  return v.i[0];
}

Result<BExprPtr> Binder::Bind(const Expr& e, const BindMode& m, int depth) {
  if (depth > 400) return SqlError(e.pos, "expression nested too deeply");
  if (m.post_agg) {
    // A subexpression equal to a GROUP BY expression reads the group key.
    if (e.kind != ExprKind::kLiteral && !(e.kind == ExprKind::kFunction && (IsAggregateName(e.name) || e.over)) &&
        !ContainsAggregate(e) && !ContainsWindow(e)) {
      BindMode pre;
      pre.scope = m.scope;
      pre.clause = m.clause;
      Result<BExprPtr> b = BindInner(e, pre, depth + 1);
      if (b.ok()) {
        auto it = m.group_slots->find(Canon(*b));
        if (it != m.group_slots->end()) return SlotRef(it->second, (*b)->type);
      }
    }
  }
  return BindInner(e, m, depth);
}

Result<BExprPtr> Binder::BindInner(const Expr& e, const BindMode& m, int depth) {
  switch (e.kind) {
    case ExprKind::kLiteral: {
      Value v;
      if (std::holds_alternative<bool>(e.literal)) v = Value::Bool(std::get<bool>(e.literal));
      else if (std::holds_alternative<int64_t>(e.literal)) v = Value::Int(std::get<int64_t>(e.literal));
      else if (std::holds_alternative<double>(e.literal)) v = Value::Double(std::get<double>(e.literal));
      else if (std::holds_alternative<std::string>(e.literal)) v = Value::String(std::get<std::string>(e.literal));
      return Const(std::move(v));
    }
    case ExprKind::kColumn: {
      if (m.post_agg) {
        // Not a group key (Bind checked): only allowed inside an aggregate.
        Result<BExprPtr> b = BindColumn(e, *m.scope);
        if (!b.ok()) return b.status();
        return SqlError(e.pos, "column '" + ExprText(e) + "' must appear in the GROUP BY clause or be used in an aggregate function");
      }
      return BindColumn(e, *m.scope);
    }
    case ExprKind::kStar: return SqlError(e.pos, "'*' is only allowed as a select item or in COUNT(*)");
    case ExprKind::kUnary: {
      SLAF_ASSIGN_OR_RETURN(BExprPtr a, Bind(*e.args[0], m, depth + 1));
      if (e.op == "NOT") {
        if (!IsNumeric(a->type)) return SqlError(e.pos, std::string("NOT expects a boolean, got ") + TypeName(a->type));
        auto x = std::make_shared<BExpr>();
        x->kind = BExpr::Kind::kNot;
        x->type = Type::kBool;
        x->args = {a};
        return x;
      }
      if (!IsNumeric(a->type)) return SqlError(e.pos, std::string("unary ") + e.op + " expects a number, got " + TypeName(a->type));
      if (e.op == "+") return a;
      if (a->kind == BExpr::Kind::kConst && !a->value.is_null()) {  // fold -literal
        if (a->type == Type::kDouble) return Const(Value::Double(-a->value.d));
        if (a->value.i != INT64_MIN) return Const(Value::Int(-a->value.i));
      }
      auto x = std::make_shared<BExpr>();
      x->kind = BExpr::Kind::kNeg;
      x->type = a->type == Type::kBool ? Type::kInt64 : a->type;
      x->args = {a};
      return x;
    }
    case ExprKind::kBinary: {
      SLAF_ASSIGN_OR_RETURN(BExprPtr a, Bind(*e.args[0], m, depth + 1));
      SLAF_ASSIGN_OR_RETURN(BExprPtr b, Bind(*e.args[1], m, depth + 1));
      static const std::map<std::string, BinOp> ops = {
          {"+", BinOp::kAdd}, {"-", BinOp::kSub}, {"*", BinOp::kMul}, {"/", BinOp::kDiv}, {"%", BinOp::kMod},
          {"||", BinOp::kConcat}, {"=", BinOp::kEq}, {"<>", BinOp::kNe}, {"<", BinOp::kLt}, {"<=", BinOp::kLe},
          {">", BinOp::kGt}, {">=", BinOp::kGe}, {"AND", BinOp::kAnd}, {"OR", BinOp::kOr}};
      auto it = ops.find(e.op);
      if (it == ops.end()) return SqlError(e.pos, "unknown operator '" + e.op + "'");
      const BinOp op = it->second;
      Type t = Type::kBool;
      if (op == BinOp::kAnd || op == BinOp::kOr) {
        if (!IsNumeric(a->type) || !IsNumeric(b->type)) {
          return SqlError(e.pos, e.op + " expects booleans, got " + TypeName(a->type) + " and " + TypeName(b->type));
        }
      } else if (op >= BinOp::kEq && op <= BinOp::kGe) {
        const bool ok = a->type == Type::kNull || b->type == Type::kNull || (IsNumeric(a->type) && IsNumeric(b->type)) ||
                        (a->type == Type::kString && b->type == Type::kString);
        if (!ok) return SqlError(e.pos, std::string("cannot compare ") + TypeName(a->type) + " with " + TypeName(b->type) +
                                            " (use CAST to convert one side)");
      } else if (op == BinOp::kConcat) {
        t = Type::kString;
      } else {
        if (!IsNumeric(a->type) || !IsNumeric(b->type)) {
          return SqlError(e.pos, "operator " + e.op + " expects numbers, got " + TypeName(a->type) + " and " + TypeName(b->type));
        }
        t = NumericResult(a->type, b->type);
      }
      return Binary(op, a, b, t);
    }
    case ExprKind::kFunction:
      if (e.over) {
        if (!m.allow_windows) return SqlError(e.pos, std::string("window functions are not allowed in ") + m.clause);
        static const std::map<std::string, PlanNode::WinFunc> wf = {{"ROW_NUMBER", PlanNode::WinFunc::kRowNumber},
                                                                     {"RANK", PlanNode::WinFunc::kRank},
                                                                     {"DENSE_RANK", PlanNode::WinFunc::kDenseRank}};
        auto it = wf.find(e.name);
        if (it == wf.end()) return SqlError(e.pos, "unsupported window function " + e.name + " (supported: ROW_NUMBER, RANK, DENSE_RANK)");
        if (!e.args.empty()) return SqlError(e.pos, e.name + "() takes no arguments");
        BindMode inner = m;
        inner.allow_windows = false;
        WindowCall w;
        w.func = it->second;
        for (const ExprPtr& p : e.partition_by) {
          SLAF_ASSIGN_OR_RETURN(BExprPtr b, Bind(*p, inner, depth + 1));
          w.partition.push_back(b);
        }
        for (const OrderItem& o : e.window_order) {
          SLAF_ASSIGN_OR_RETURN(BExprPtr b, Bind(*o.expr, inner, depth + 1));
          const bool first = o.nulls == OrderItem::Nulls::kDefault ? !o.desc : o.nulls == OrderItem::Nulls::kFirst;
          w.order.push_back(SortKey{b, o.desc, first});
        }
        w.slot = NewSlot();
        m.windows->push_back(w);
        return SlotRef(w.slot, Type::kInt64);
      }
      if (IsAggregateName(e.name)) return BindAggregate(e, m, depth);
      return BindFunction(e, m, depth);
    case ExprKind::kCase: {
      // CASE x WHEN a ... is CASE WHEN x = a ...
      auto x = std::make_shared<BExpr>();
      x->kind = BExpr::Kind::kCase;
      BExprPtr operand;
      if (e.case_operand) {
        SLAF_ASSIGN_OR_RETURN(operand, Bind(*e.case_operand, m, depth + 1));
      }
      Type t = Type::kNull;
      for (const auto& [w, th] : e.whens) {
        SLAF_ASSIGN_OR_RETURN(BExprPtr wb, Bind(*w, m, depth + 1));
        if (operand) {
          const bool ok = operand->type == Type::kNull || wb->type == Type::kNull ||
                          (IsNumeric(operand->type) && IsNumeric(wb->type)) || operand->type == wb->type;
          if (!ok) return SqlError(w->pos, std::string("cannot compare ") + TypeName(operand->type) + " with " + TypeName(wb->type));
          wb = Binary(BinOp::kEq, operand, wb, Type::kBool);
        } else if (!IsNumeric(wb->type)) {
          return SqlError(w->pos, std::string("WHEN expects a boolean condition, got ") + TypeName(wb->type));
        }
        SLAF_ASSIGN_OR_RETURN(BExprPtr tb, Bind(*th, m, depth + 1));
        if (!Unify(t, tb->type, &t)) {
          return SqlError(th->pos, std::string("CASE branches have different types: ") + TypeName(t) + " and " + TypeName(tb->type));
        }
        x->args.push_back(wb);
        x->args.push_back(tb);
      }
      if (e.else_expr) {
        SLAF_ASSIGN_OR_RETURN(BExprPtr eb, Bind(*e.else_expr, m, depth + 1));
        if (!Unify(t, eb->type, &t)) {
          return SqlError(e.else_expr->pos, std::string("CASE branches have different types: ") + TypeName(t) + " and " + TypeName(eb->type));
        }
        x->args.push_back(eb);
        x->has_else = true;
      }
      x->type = t;
      return x;
    }
    case ExprKind::kCast: {
      SLAF_ASSIGN_OR_RETURN(BExprPtr a, Bind(*e.args[0], m, depth + 1));
      static const std::map<std::string, Type> types = {
          {"INTEGER", Type::kInt64}, {"INT", Type::kInt64},       {"BIGINT", Type::kInt64},   {"SMALLINT", Type::kInt64},
          {"INT64", Type::kInt64},   {"LONG", Type::kInt64},      {"DOUBLE", Type::kDouble},  {"DOUBLE PRECISION", Type::kDouble},
          {"REAL", Type::kDouble},   {"FLOAT", Type::kDouble},    {"FLOAT64", Type::kDouble}, {"NUMERIC", Type::kDouble},
          {"DECIMAL", Type::kDouble}, {"TEXT", Type::kString},    {"VARCHAR", Type::kString}, {"STRING", Type::kString},
          {"CHAR", Type::kString},   {"BOOLEAN", Type::kBool},    {"BOOL", Type::kBool}};
      auto it = types.find(e.cast_type);
      if (it == types.end()) return SqlError(e.pos, "unknown type '" + e.cast_type + "' (use INTEGER, DOUBLE, TEXT or BOOLEAN)");
      auto x = std::make_shared<BExpr>();
      x->kind = BExpr::Kind::kCast;
      x->type = it->second;
      x->args = {a};
      return x;
    }
    case ExprKind::kInList: {
      SLAF_ASSIGN_OR_RETURN(BExprPtr a, Bind(*e.args[0], m, depth + 1));
      auto x = std::make_shared<BExpr>();
      x->kind = BExpr::Kind::kInList;
      x->type = Type::kBool;
      x->negated = e.negated;
      x->args.push_back(a);
      for (size_t k = 1; k < e.args.size(); ++k) {
        SLAF_ASSIGN_OR_RETURN(BExprPtr b, Bind(*e.args[k], m, depth + 1));
        const bool ok = a->type == Type::kNull || b->type == Type::kNull || (IsNumeric(a->type) && IsNumeric(b->type)) ||
                        (a->type == Type::kString && b->type == Type::kString);
        if (!ok) return SqlError(e.args[k]->pos, std::string("IN list value of type ") + TypeName(b->type) + " cannot be compared with " + TypeName(a->type));
        x->args.push_back(b);
      }
      return x;
    }
    case ExprKind::kInSubquery: {
      SLAF_ASSIGN_OR_RETURN(BExprPtr a, Bind(*e.args[0], m, depth + 1));
      // One plan per subquery text: binding the same expression twice (a
      // select item that is also a GROUP BY key) must give equal trees.
      std::string key = QueryKey(*e.subquery);
      if (key.empty()) key = "#" + std::to_string(reinterpret_cast<uintptr_t>(e.subquery.get()));
      for (const auto& scope : ctes_) {  // the same text under other CTEs is another query
        for (const CommonTable* c : scope) key += "@" + std::to_string(reinterpret_cast<uintptr_t>(c));
      }
      auto cached = subqueries_.find(key);
      if (cached == subqueries_.end()) {
        SLAF_ASSIGN_OR_RETURN(BoundQuery fresh, BindQuery(*e.subquery, depth + 1));
        cached = subqueries_.emplace(key, std::move(fresh)).first;
      }
      const BoundQuery& bq = cached->second;
      if (bq.names.size() != 1) {
        return SqlError(e.subquery->pos, "the subquery of IN must return one column, it returns " + std::to_string(bq.names.size()));
      }
      const Type st = bq.plan->types[0];
      const bool ok = a->type == Type::kNull || st == Type::kNull || (IsNumeric(a->type) && IsNumeric(st)) ||
                      (a->type == Type::kString && st == Type::kString);
      if (!ok) return SqlError(e.pos, std::string("cannot compare ") + TypeName(a->type) + " with the subquery's " + TypeName(st));
      auto x = std::make_shared<BExpr>();
      x->kind = BExpr::Kind::kInSet;
      x->type = Type::kBool;
      x->negated = e.negated;
      x->args = {a};
      x->sub = bq.plan;
      return x;
    }
    case ExprKind::kBetween: {
      SLAF_ASSIGN_OR_RETURN(BExprPtr a, Bind(*e.args[0], m, depth + 1));
      SLAF_ASSIGN_OR_RETURN(BExprPtr lo, Bind(*e.args[1], m, depth + 1));
      SLAF_ASSIGN_OR_RETURN(BExprPtr hi, Bind(*e.args[2], m, depth + 1));
      for (const BExprPtr& b : {lo, hi}) {
        const bool ok = a->type == Type::kNull || b->type == Type::kNull || (IsNumeric(a->type) && IsNumeric(b->type)) ||
                        (a->type == Type::kString && b->type == Type::kString);
        if (!ok) return SqlError(e.pos, std::string("BETWEEN cannot compare ") + TypeName(a->type) + " with " + TypeName(b->type));
      }
      BExprPtr both = Binary(BinOp::kAnd, Binary(BinOp::kGe, a, lo, Type::kBool), Binary(BinOp::kLe, a, hi, Type::kBool), Type::kBool);
      if (!e.negated) return both;
      auto x = std::make_shared<BExpr>();
      x->kind = BExpr::Kind::kNot;
      x->type = Type::kBool;
      x->args = {both};
      return x;
    }
    case ExprKind::kIsNull: {
      SLAF_ASSIGN_OR_RETURN(BExprPtr a, Bind(*e.args[0], m, depth + 1));
      auto x = std::make_shared<BExpr>();
      x->kind = BExpr::Kind::kIsNull;
      x->type = Type::kBool;
      x->negated = e.negated;
      x->args = {a};
      return x;
    }
    case ExprKind::kLike: {
      SLAF_ASSIGN_OR_RETURN(BExprPtr a, Bind(*e.args[0], m, depth + 1));
      SLAF_ASSIGN_OR_RETURN(BExprPtr p, Bind(*e.args[1], m, depth + 1));
      for (const BExprPtr& b : {a, p}) {
        if (b->type != Type::kString && b->type != Type::kNull) {
          return SqlError(e.pos, std::string("LIKE expects text, got ") + TypeName(b->type) + " (use CAST(x AS TEXT))");
        }
      }
      auto x = std::make_shared<BExpr>();
      x->kind = BExpr::Kind::kLike;
      x->type = Type::kBool;
      x->negated = e.negated;
      x->args = {a, p};
      return x;
    }
  }
  return SqlError(e.pos, "unsupported expression");
}

Result<BExprPtr> Binder::BindFunction(const Expr& e, const BindMode& m, int depth) {
  struct F {
    Func f;
    int min_args, max_args;
  };
  static const std::map<std::string, F> funcs = {
      {"COALESCE", {Func::kCoalesce, 1, 64}}, {"IFNULL", {Func::kCoalesce, 2, 2}}, {"LN", {Func::kLn, 1, 1}},
      {"LOG", {Func::kLog, 1, 2}},            {"LOG10", {Func::kLog, 1, 1}},       {"EXP", {Func::kExp, 1, 1}},
      {"SQRT", {Func::kSqrt, 1, 1}},          {"ABS", {Func::kAbs, 1, 1}},         {"ROUND", {Func::kRound, 1, 2}},
      {"LOWER", {Func::kLower, 1, 1}},        {"UPPER", {Func::kUpper, 1, 1}},     {"LENGTH", {Func::kLength, 1, 1}},
      {"POWER", {Func::kPower, 2, 2}},        {"POW", {Func::kPower, 2, 2}},       {"FLOOR", {Func::kFloor, 1, 1}},
      {"CEIL", {Func::kCeil, 1, 1}},          {"CEILING", {Func::kCeil, 1, 1}},    {"NULLIF", {Func::kNullIf, 2, 2}}};
  auto it = funcs.find(e.name);
  if (it == funcs.end()) {
    std::vector<std::string> names;
    for (const auto& [n, _] : funcs) names.push_back(n);
    for (const char* a : {"COUNT", "SUM", "AVG", "MIN", "MAX", "STDDEV", "VARIANCE", "ROW_NUMBER", "RANK", "DENSE_RANK"}) names.push_back(a);
    if (e.name == "ROW_NUMBER" || e.name == "RANK" || e.name == "DENSE_RANK") {
      return SqlError(e.pos, e.name + "() needs an OVER (...) clause");
    }
    return SqlError(e.pos, "unknown function " + e.name + Suggest(e.name, names));
  }
  const F& f = it->second;
  if (e.star_arg || e.distinct) return SqlError(e.pos, e.name + " does not take " + (e.star_arg ? "*" : "DISTINCT"));
  const int n = static_cast<int>(e.args.size());
  if (n < f.min_args || n > f.max_args) {
    return SqlError(e.pos, e.name + " takes " + (f.min_args == f.max_args ? std::to_string(f.min_args) : std::to_string(f.min_args) + " to " + std::to_string(f.max_args)) +
                               " argument" + (f.max_args == 1 ? "" : "s") + ", got " + std::to_string(n));
  }
  auto x = std::make_shared<BExpr>();
  x->kind = BExpr::Kind::kFunc;
  x->func = f.f;
  for (const ExprPtr& a : e.args) {
    SLAF_ASSIGN_OR_RETURN(BExprPtr b, Bind(*a, m, depth + 1));
    x->args.push_back(b);
  }
  auto need_numeric = [&](size_t k) -> Status {
    if (!IsNumeric(x->args[k]->type)) {
      return SqlError(e.args[k]->pos, e.name + " expects a number, got " + TypeName(x->args[k]->type));
    }
    return Status::OK();
  };
  switch (f.f) {
    case Func::kCoalesce:
    case Func::kNullIf: {
      Type t = Type::kNull;
      for (size_t k = 0; k < x->args.size(); ++k) {
        if (!Unify(t, x->args[k]->type, &t)) {
          return SqlError(e.args[k]->pos, e.name + " arguments have different types: " + TypeName(t) + " and " + TypeName(x->args[k]->type));
        }
      }
      x->type = f.f == Func::kNullIf ? (x->args[0]->type == Type::kNull ? Type::kNull : t) : t;
      if (f.f == Func::kNullIf && x->args[0]->type != t && x->args[0]->type != Type::kNull) x->args[0] = CastTo(x->args[0], t);
      if (f.f == Func::kCoalesce) {
        for (BExprPtr& a : x->args) if (a->type != t && a->type != Type::kNull && t == Type::kDouble) a = CastTo(a, t);
      }
      return x;
    }
    case Func::kLower:
    case Func::kUpper:
    case Func::kLength:
      if (x->args[0]->type != Type::kString && x->args[0]->type != Type::kNull) {
        return SqlError(e.args[0]->pos, e.name + " expects text, got " + TypeName(x->args[0]->type));
      }
      x->type = f.f == Func::kLength ? Type::kInt64 : Type::kString;
      return x;
    case Func::kAbs:
      SLAF_RETURN_IF_ERROR(need_numeric(0));
      x->type = x->args[0]->type == Type::kDouble ? Type::kDouble : Type::kInt64;
      return x;
    default:
      for (size_t k = 0; k < x->args.size(); ++k) SLAF_RETURN_IF_ERROR(need_numeric(k));
      x->type = Type::kDouble;
      return x;
  }
}

Result<BExprPtr> Binder::BindAggregate(const Expr& e, const BindMode& m, int depth) {
  if (!m.allow_aggregates) return SqlError(e.pos, std::string("aggregate functions are not allowed in ") + m.clause);
  static const std::map<std::string, AggFunc> fs = {
      {"COUNT", AggFunc::kCount},        {"SUM", AggFunc::kSum},           {"AVG", AggFunc::kAvg},
      {"MIN", AggFunc::kMin},            {"MAX", AggFunc::kMax},           {"STDDEV", AggFunc::kStddevSamp},
      {"STDDEV_SAMP", AggFunc::kStddevSamp}, {"STDDEV_POP", AggFunc::kStddevPop}, {"VARIANCE", AggFunc::kVarSamp},
      {"VAR_SAMP", AggFunc::kVarSamp},   {"VAR_POP", AggFunc::kVarPop}};
  AggSpec spec;
  spec.func = fs.at(e.name);
  spec.distinct = e.distinct;
  if (e.star_arg) {
    if (e.name != "COUNT") return SqlError(e.pos, e.name + "(*) is not valid; only COUNT(*)");
    spec.func = AggFunc::kCountStar;
  } else {
    if (e.args.size() != 1) return SqlError(e.pos, e.name + " takes one argument, got " + std::to_string(e.args.size()));
    SLAF_RETURN_IF_ERROR(CheckNoAggregates(*e.args[0], "the argument of an aggregate function"));
    BindMode inner;
    inner.scope = m.scope;
    inner.clause = "an aggregate's argument";
    SLAF_ASSIGN_OR_RETURN(spec.arg, Bind(*e.args[0], inner, depth + 1));
  }
  const Type at = spec.arg ? spec.arg->type : Type::kInt64;
  switch (spec.func) {
    case AggFunc::kCountStar:
    case AggFunc::kCount: spec.type = Type::kInt64; break;
    case AggFunc::kSum:
      if (!IsNumeric(at)) return SqlError(e.args[0]->pos, std::string("SUM expects numbers, got ") + TypeName(at));
      spec.type = at == Type::kDouble ? Type::kDouble : Type::kInt64;
      break;
    case AggFunc::kMin:
    case AggFunc::kMax: spec.type = at; break;  // MIN(NULL) is NULL-typed, like NULL itself
    default:
      if (!IsNumeric(at)) return SqlError(e.args[0]->pos, e.name + " expects numbers, got " + TypeName(at));
      spec.type = Type::kDouble;
  }
  if (spec.arg && spec.arg->type == Type::kBool && spec.func != AggFunc::kMin && spec.func != AggFunc::kMax) {
    spec.arg = CastTo(spec.arg, Type::kInt64);
  }
  const std::string key = std::to_string(static_cast<int>(spec.func)) + (spec.distinct ? "D" : "") + (spec.arg ? Canon(spec.arg) : "*");
  auto it = m.agg_slots->find(key);
  if (it != m.agg_slots->end()) return SlotRef(it->second, spec.type);
  spec.slot = NewSlot();
  (*m.agg_slots)[key] = spec.slot;
  m.aggs->push_back(spec);
  return SlotRef(spec.slot, spec.type);
}

// ---- pushdown into the expression scan

// Narrows `rel`'s scan by `conj` when it is a comparison of the cell id,
// gene id or value with constants, or an id IN (subquery). Returns false
// (and changes nothing) otherwise.
bool Binder::PushIntoScan(const BExprPtr& conj, const Expr& ast, Rel* rel) {
  PlanNode& node = *rel->plan;
  ExprScanSpec& s = node.scan;
  auto const_num = [](const BExprPtr& e, double* v) {
    if (e->kind != BExpr::Kind::kConst || e->value.is_null() || !IsNumeric(e->type)) return false;
    *v = e->value.type == Type::kDouble ? e->value.d : static_cast<double>(e->value.i);
    return true;
  };
  auto which = [&](const BExprPtr& e) -> int {  // 0 cell, 1 gene, 2 value, -1 other
    if (e->kind != BExpr::Kind::kSlot) return -1;
    if (e->slot == rel->cell_slot) return 0;
    if (e->slot == rel->gene_slot) return 1;
    if (e->slot == rel->value_slot) return 2;
    return -1;
  };
  const uint64_t n_cells = ds_.n_cells();
  const uint32_t n_genes = ds_.n_genes();
  // Applies lo <= column <= hi (inclusive, doubles).
  auto apply_range = [&](int col, double lo, double hi) {
    if (col == 2) {
      s.value_min = std::max(s.value_min, lo);
      s.value_max = std::min(s.value_max, hi);
      if (s.value_min > s.value_max) {  // nothing passes: an empty gene set says so
        s.has_genes = true;
        s.genes.clear();
      }
      return;
    }
    const double limit = col == 0 ? static_cast<double>(n_cells) - 1 : static_cast<double>(n_genes) - 1;
    lo = std::max(0.0, std::ceil(lo));
    hi = std::min(limit, std::floor(hi));
    if (col == 0) {
      if (lo > hi) {
        s.has_cells = true;
        s.cells.clear();
        return;
      }
      const uint64_t a = static_cast<uint64_t>(lo), b = static_cast<uint64_t>(hi);
      if (s.has_cells) {
        std::vector<uint64_t> keep;
        for (uint64_t c : s.cells) if (c >= a && c <= b) keep.push_back(c);
        s.cells.swap(keep);
      } else if (b - a + 1 <= std::max<uint64_t>(1, n_cells / 8)) {
        s.has_cells = true;
        for (uint64_t c = a; c <= b; ++c) s.cells.push_back(c);
      } else {
        // A wide range: scan [a, b] as a contiguous selection.
        rel->has_cell_range = true;
        rel->cell_lo = std::max(rel->cell_lo, a);
        rel->cell_hi = std::min(rel->cell_hi, b);
      }
      return;
    }
    std::vector<uint32_t> keep;
    if (lo <= hi) {
      const uint32_t a = static_cast<uint32_t>(lo), b = static_cast<uint32_t>(hi);
      if (s.has_genes) {
        for (uint32_t g : s.genes) if (g >= a && g <= b) keep.push_back(g);
      } else {
        for (uint32_t g = a; g <= b; ++g) keep.push_back(g);
      }
    }
    s.has_genes = true;
    s.genes.swap(keep);
  };
  if (conj->kind == BExpr::Kind::kBinary && conj->op >= BinOp::kEq && conj->op <= BinOp::kGe && conj->op != BinOp::kNe) {
    BExprPtr col = conj->args[0], k = conj->args[1];
    BinOp op = conj->op;
    if (which(col) < 0) {
      std::swap(col, k);
      switch (op) {  // c < x  is  x > c
        case BinOp::kLt: op = BinOp::kGt; break;
        case BinOp::kLe: op = BinOp::kGe; break;
        case BinOp::kGt: op = BinOp::kLt; break;
        case BinOp::kGe: op = BinOp::kLe; break;
        default: break;
      }
    }
    double v;
    const int w = which(col);
    if (w < 0 || !const_num(k, &v) || std::isnan(v)) return false;
    const bool int_col = w < 2 || s.is_int;
    double lo = -INFINITY, hi = INFINITY;
    switch (op) {
      case BinOp::kEq: lo = hi = v; break;
      case BinOp::kLt: hi = int_col ? std::ceil(v) - 1 : std::nextafter(v, -INFINITY); break;
      case BinOp::kLe: hi = v; break;
      case BinOp::kGt: lo = int_col ? std::floor(v) + 1 : std::nextafter(v, INFINITY); break;
      case BinOp::kGe: lo = v; break;
      default: return false;
    }
    if (op == BinOp::kEq && int_col && v != std::floor(v)) lo = 1, hi = 0;  // an integer never equals 2.5
    if (int_col && w == 2) {  // value of integer matrices: round inward
      lo = std::ceil(lo);
      hi = std::floor(hi);
    }
    apply_range(w, lo, hi);
    if (rel->pushed.empty() || rel->pushed.back() != ExprText(ast)) rel->pushed.push_back(ExprText(ast));
    return true;
  }
  if (conj->kind == BExpr::Kind::kInList && !conj->negated) {
    const int w = which(conj->args[0]);
    if (w < 0 || w == 2) return false;
    std::set<uint64_t> ids;
    for (size_t k = 1; k < conj->args.size(); ++k) {
      double v;
      if (conj->args[k]->kind == BExpr::Kind::kConst && conj->args[k]->value.is_null()) continue;  // never equal
      if (!const_num(conj->args[k], &v)) return false;
      if (v >= 0 && v == std::floor(v) && v < (w == 0 ? static_cast<double>(n_cells) : static_cast<double>(n_genes))) {
        ids.insert(static_cast<uint64_t>(v));
      }
    }
    if (w == 0) {
      std::vector<uint64_t> v(ids.begin(), ids.end());
      if (s.has_cells) {
        std::vector<uint64_t> both;
        std::set_intersection(s.cells.begin(), s.cells.end(), v.begin(), v.end(), std::back_inserter(both));
        v.swap(both);
      }
      s.has_cells = true;
      s.cells = std::move(v);
    } else {
      std::vector<uint32_t> v(ids.begin(), ids.end());
      if (s.has_genes) {
        std::vector<uint32_t> both;
        std::set_intersection(s.genes.begin(), s.genes.end(), v.begin(), v.end(), std::back_inserter(both));
        v.swap(both);
      }
      s.has_genes = true;
      s.genes = std::move(v);
    }
    rel->pushed.push_back(ExprText(ast));
    return true;
  }
  if (conj->kind == BExpr::Kind::kInSet && !conj->negated) {
    const int w = which(conj->args[0]);
    if (w < 0 || w == 2) return false;
    node.restrictions.push_back(PlanNode::Restriction{conj->sub, w == 0, "IN (subquery)"});
    rel->pushed.push_back(ExprText(ast));
    return true;
  }
  return false;
}

// `index = 'name'` or `index IN ('a', 'b')` on a cells/genes table becomes a
// lookup in the dataset's name index (no column scan). Several such
// conjuncts intersect.
bool LookupByName(const BExprPtr& b, Rel& r) {
  if (r.index_slot < 0) return false;
  std::vector<std::string> names;
  auto is_index = [&](const BExprPtr& x) { return x->kind == BExpr::Kind::kSlot && x->slot == r.index_slot; };
  auto str_const = [](const BExprPtr& x) { return x->kind == BExpr::Kind::kConst && x->value.type == Type::kString; };
  if (b->kind == BExpr::Kind::kBinary && b->op == BinOp::kEq) {
    if (is_index(b->args[0]) && str_const(b->args[1])) names.push_back(b->args[1]->value.s);
    else if (is_index(b->args[1]) && str_const(b->args[0])) names.push_back(b->args[0]->value.s);
    else return false;
  } else if (b->kind == BExpr::Kind::kInList && !b->negated && is_index(b->args[0])) {
    for (size_t k = 1; k < b->args.size(); ++k) {
      const BExprPtr& x = b->args[k];
      if (x->kind == BExpr::Kind::kConst && x->value.is_null()) continue;  // never equal
      if (!str_const(x)) return false;
      names.push_back(x->value.s);
    }
  } else {
    return false;
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  PlanNode& node = *r.plan;
  if (node.has_lookup) {
    std::vector<std::string> both;
    std::set_intersection(node.lookup_names.begin(), node.lookup_names.end(), names.begin(), names.end(), std::back_inserter(both));
    names.swap(both);
  }
  node.has_lookup = true;
  node.lookup_names = std::move(names);
  return true;
}

// ---- SELECT

std::vector<const Expr*> SplitAnd(const Expr* e) {
  if (e->kind == ExprKind::kBinary && e->op == "AND") {
    std::vector<const Expr*> a = SplitAnd(e->args[0].get()), b = SplitAnd(e->args[1].get());
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }
  return {e};
}

// Output slots and types of a node that passes its children's columns.
void Inherit(PlanNode* n) {
  n->slots.clear();
  n->types.clear();
  for (const PlanPtr& c : n->children) {
    n->slots.insert(n->slots.end(), c->slots.begin(), c->slots.end());
    n->types.insert(n->types.end(), c->types.begin(), c->types.end());
  }
}

PlanPtr MakeNode(PlanNode::Kind k, std::vector<PlanPtr> children) {
  auto n = std::make_shared<PlanNode>();
  n->kind = k;
  n->children = std::move(children);
  Inherit(n.get());
  n->est_rows = n->children.empty() ? 1 : n->children[0]->est_rows;
  return n;
}

PlanPtr FilterOver(PlanPtr input, std::vector<BExprPtr> preds) {
  if (preds.empty()) return input;
  BExprPtr p = preds[0];
  for (size_t k = 1; k < preds.size(); ++k) p = Binary(BinOp::kAnd, p, preds[k], Type::kBool);
  PlanPtr f = MakeNode(PlanNode::Kind::kFilter, {std::move(input)});
  f->predicate = p;
  f->est_rows = f->children[0]->est_rows / 4;
  return f;
}

Result<BoundQuery> Binder::BindCore(const SelectCore& core, const std::vector<OrderItem>* order, const Expr* limit_e,
                                    const Expr* offset_e, int depth) {
  if (depth > 64) return SqlError(core.pos, "queries nested too deeply");
  // FROM: relations and the conjuncts of WHERE and every ON.
  std::vector<Rel> rels;
  for (const TableRef& t : core.from) {
    SLAF_ASSIGN_OR_RETURN(Rel r, BindTableRef(t, depth));
    rels.push_back(std::move(r));
  }
  std::vector<const Expr*> conj_ast;
  for (const JoinClause& j : core.joins) {
    SLAF_ASSIGN_OR_RETURN(Rel r, BindTableRef(j.table, depth));
    rels.push_back(std::move(r));
    if (j.on) {
      for (const Expr* c : SplitAnd(j.on.get())) conj_ast.push_back(c);
    }
  }
  {
    std::set<std::string> aliases;
    for (size_t i = 0; i < rels.size(); ++i) {
      if (!aliases.insert(rels[i].alias).second) {
        const SourcePos p = i < core.from.size() ? core.from[i].pos : core.joins[i - core.from.size()].table.pos;
        return SqlError(p, "table name '" + rels[i].alias + "' is used twice in FROM; give one an alias");
      }
    }
  }
  if (core.where) for (const Expr* c : SplitAnd(core.where.get())) conj_ast.push_back(c);
  Scope scope;
  std::map<int, int> slot_rel;
  for (size_t i = 0; i < rels.size(); ++i) {
    for (ColumnRef c : rels[i].cols) {
      c.rel = static_cast<int>(i);
      slot_rel[c.slot] = static_cast<int>(i);
      scope.cols.push_back(c);
    }
  }
  BindMode row_mode;
  row_mode.scope = &scope;
  row_mode.clause = "WHERE or ON";
  struct Conj {
    BExprPtr e;
    const Expr* ast;
    std::set<int> rels;
  };
  std::vector<Conj> joins_conj, top_conj;
  for (const Expr* c : conj_ast) {
    SLAF_RETURN_IF_ERROR(CheckNoAggregates(*c, "WHERE or ON"));
    SLAF_ASSIGN_OR_RETURN(BExprPtr bound, Bind(*c, row_mode, 0));
    if (!IsNumeric(bound->type)) return SqlError(c->pos, std::string("a condition must be boolean, got ") + TypeName(bound->type));
    // BETWEEN binds to an AND of two comparisons: split those too.
    std::vector<BExprPtr> pieces;
    std::function<void(const BExprPtr&)> split = [&](const BExprPtr& x) {
      if (x->kind == BExpr::Kind::kBinary && x->op == BinOp::kAnd) {
        split(x->args[0]);
        split(x->args[1]);
      } else {
        pieces.push_back(x);
      }
    };
    split(bound);
    for (const BExprPtr& b : pieces) {
      std::set<int> slots, rs;
      CollectSlots(b, &slots);
      for (int s : slots) rs.insert(slot_rel.at(s));
      if (rs.size() == 1) {
        Rel& r = rels[static_cast<size_t>(*rs.begin())];
        if (r.kind == Rel::Kind::kExpr && PushIntoScan(b, *c, &r)) continue;
        if ((r.kind == Rel::Kind::kCells || r.kind == Rel::Kind::kGenes) && LookupByName(b, r)) {
          r.est = static_cast<double>(r.plan->lookup_names.size());
          if (r.pushed.empty() || r.pushed.back() != ExprText(*c)) r.pushed.push_back(ExprText(*c));
          continue;
        }
        if (r.kind == Rel::Kind::kCells || r.kind == Rel::Kind::kGenes) {
          r.plan->scan_filters.push_back(b);
          r.est /= 4;
          if (r.pushed.empty() || r.pushed.back() != ExprText(*c)) r.pushed.push_back(ExprText(*c));
          continue;
        }
        r.filters.push_back(b);
        continue;
      }
      if (rs.empty()) top_conj.push_back({b, c, rs});
      else joins_conj.push_back({b, c, rs});
    }
  }
  for (Rel& r : rels) {
    std::string note;
    for (const std::string& p : r.pushed) note += (note.empty() ? "" : " AND ") + p;
    if (r.kind == Rel::Kind::kExpr) {
      ExprScanSpec& s = r.plan->scan;
      if (r.has_cell_range) {  // a wide id range stays a range, not an id list
        s.cell_begin = std::max(s.cell_begin, r.cell_lo);
        s.cell_end = r.cell_hi == UINT64_MAX ? s.cell_end : std::min(s.cell_end, r.cell_hi + 1);
        if (s.has_cells) {
          std::vector<uint64_t> keep;
          for (uint64_t c : s.cells) if (c >= s.cell_begin && c < s.cell_end) keep.push_back(c);
          s.cells.swap(keep);
        }
      }
      if (!note.empty()) s.pushed.push_back("WHERE " + note);
    } else if ((r.kind == Rel::Kind::kCells || r.kind == Rel::Kind::kGenes) && !note.empty()) {
      r.plan->label += " WHERE " + note;
    }
  }

  // Aggregation shape.
  std::vector<const Expr*> post_exprs;  // select items, HAVING, ORDER BY: where aggregates may appear
  for (const SelectItem& it : core.items) if (it.expr->kind != ExprKind::kStar) post_exprs.push_back(it.expr.get());
  if (core.having) post_exprs.push_back(core.having.get());
  if (order) for (const OrderItem& o : *order) post_exprs.push_back(o.expr.get());
  bool aggregate = !core.group_by.empty() || core.having;
  for (const Expr* e : post_exprs) aggregate = aggregate || ContainsAggregate(*e);

  // GROUP BY keys: an expression, a select-list position or a select alias.
  std::vector<BExprPtr> group_keys;
  std::vector<std::string> group_canon;
  for (const ExprPtr& g : core.group_by) {
    const Expr* ge = g.get();
    if (g->kind == ExprKind::kLiteral && std::holds_alternative<int64_t>(g->literal)) {
      const int64_t k = std::get<int64_t>(g->literal);
      if (k < 1 || k > static_cast<int64_t>(core.items.size()) || core.items[static_cast<size_t>(k - 1)].expr->kind == ExprKind::kStar) {
        return SqlError(g->pos, "GROUP BY position " + std::to_string(k) + " is not in the select list");
      }
      ge = core.items[static_cast<size_t>(k - 1)].expr.get();
    } else if (g->kind == ExprKind::kColumn && g->qualifier.empty()) {
      bool in_scope = false;
      for (const ColumnRef& c : scope.cols) in_scope = in_scope || c.name == g->name;
      if (!in_scope) {
        for (const SelectItem& it : core.items) {
          if (it.alias == g->name) ge = it.expr.get();
        }
      }
    }
    SLAF_RETURN_IF_ERROR(CheckNoAggregates(*ge, "GROUP BY"));
    BindMode gm = row_mode;
    gm.clause = "GROUP BY";
    SLAF_ASSIGN_OR_RETURN(BExprPtr b, Bind(*ge, gm, 0));
    group_keys.push_back(b);
    group_canon.push_back(Canon(b));
  }

  // Bind select items, HAVING and ORDER BY (after aggregation if any).
  std::map<std::string, int> group_slots;
  std::vector<Type> group_types;
  std::map<std::string, int> agg_slots;
  std::vector<AggSpec> aggs;
  std::vector<WindowCall> windows;
  std::vector<int> group_out_slots;
  for (size_t k = 0; k < group_keys.size(); ++k) {
    auto it = group_slots.find(group_canon[k]);
    const int s = it != group_slots.end() ? it->second : NewSlot();
    group_slots[group_canon[k]] = s;
    group_out_slots.push_back(s);
    group_types.push_back(group_keys[k]->type);
  }
  BindMode sel_mode;
  sel_mode.scope = &scope;
  sel_mode.allow_aggregates = aggregate;
  sel_mode.allow_windows = true;
  sel_mode.clause = "SELECT";
  sel_mode.post_agg = aggregate;
  sel_mode.group_slots = &group_slots;
  sel_mode.agg_slots = &agg_slots;
  sel_mode.aggs = &aggs;
  sel_mode.windows = &windows;

  std::vector<BExprPtr> out_exprs;
  std::vector<std::string> out_names;
  for (const SelectItem& it : core.items) {
    if (it.expr->kind == ExprKind::kStar) {
      bool any = false;
      for (const ColumnRef& c : scope.cols) {
        if (!it.expr->qualifier.empty() && c.qualifier != it.expr->qualifier) continue;
        if (c.hidden) continue;
        any = true;
        Expr col;
        col.kind = ExprKind::kColumn;
        col.pos = it.expr->pos;
        col.qualifier = c.qualifier;
        col.name = c.name;
        if (aggregate) {
          SLAF_ASSIGN_OR_RETURN(BExprPtr b, Bind(col, sel_mode, 0));
          out_exprs.push_back(b);
        } else {
          out_exprs.push_back(SlotRef(c.slot, c.type));
        }
        out_names.push_back(c.name);
      }
      if (!any) {
        if (it.expr->qualifier.empty()) return SqlError(it.expr->pos, "SELECT * needs a FROM clause");
        return SqlError(it.expr->pos, "unknown table or alias '" + it.expr->qualifier + "' in " + it.expr->qualifier + ".*");
      }
      continue;
    }
    SLAF_ASSIGN_OR_RETURN(BExprPtr b, Bind(*it.expr, sel_mode, 0));
    out_exprs.push_back(b);
    out_names.push_back(!it.alias.empty() ? it.alias : ExprToString(*it.expr));
  }
  BExprPtr having;
  if (core.having) {
    BindMode hm = sel_mode;
    hm.clause = "HAVING";
    hm.allow_windows = false;
    SLAF_ASSIGN_OR_RETURN(having, Bind(*core.having, hm, 0));
    if (!IsNumeric(having->type)) return SqlError(core.having->pos, std::string("HAVING must be boolean, got ") + TypeName(having->type));
  }
  // ORDER BY: an output alias or position, else an expression over the input.
  std::vector<SortKey> sort_keys;
  std::vector<BExprPtr> hidden;  // extra projected sort expressions
  std::vector<int> sort_out_index;  // per key: output column index
  if (order) {
    for (const OrderItem& o : *order) {
      const bool first = o.nulls == OrderItem::Nulls::kDefault ? !o.desc : o.nulls == OrderItem::Nulls::kFirst;
      int idx = -1;
      if (o.expr->kind == ExprKind::kLiteral && std::holds_alternative<int64_t>(o.expr->literal)) {
        const int64_t k = std::get<int64_t>(o.expr->literal);
        if (k < 1 || k > static_cast<int64_t>(out_exprs.size())) {
          return SqlError(o.expr->pos, "ORDER BY position " + std::to_string(k) + " is not in the select list (1.." +
                                           std::to_string(out_exprs.size()) + ")");
        }
        idx = static_cast<int>(k - 1);
      } else if (o.expr->kind == ExprKind::kColumn && o.expr->qualifier.empty()) {
        for (size_t k = 0; k < out_names.size() && idx < 0; ++k) {
          if (out_names[k] == o.expr->name) idx = static_cast<int>(k);
        }
      }
      if (idx < 0) {
        BindMode om = sel_mode;
        om.clause = "ORDER BY";
        SLAF_ASSIGN_OR_RETURN(BExprPtr b, Bind(*o.expr, om, 0));
        const std::string c = Canon(b);
        for (size_t k = 0; k < out_exprs.size() && idx < 0; ++k) {
          if (Canon(out_exprs[k]) == c) idx = static_cast<int>(k);
        }
        if (idx < 0) {
          if (core.distinct) return SqlError(o.expr->pos, "with SELECT DISTINCT, ORDER BY expressions must appear in the select list");
          hidden.push_back(b);
          idx = static_cast<int>(out_exprs.size() + hidden.size() - 1);
        }
      }
      sort_out_index.push_back(idx);
      sort_keys.push_back(SortKey{nullptr, o.desc, first});
    }
  }

  // The input plan.
  PlanPtr input;
  bool fused = false;
  std::vector<int> partial_slots;  // cnt, sum, min, max, sumsq
  if (aggregate) {
    // Eligible for the one-pass kernel? One expression relation, the rest
    // base cells/genes tables joined on their ids, aggregates over `value`,
    // group keys all on the gene side or all on the cell side.
    int e_idx = -1;
    bool ok = true;
    for (size_t i = 0; i < rels.size(); ++i) {
      if (rels[i].kind == Rel::Kind::kExpr) {
        if (e_idx >= 0) ok = false;
        e_idx = static_cast<int>(i);
      } else if (rels[i].kind != Rel::Kind::kCells && rels[i].kind != Rel::Kind::kGenes) {
        ok = false;
      }
    }
    ok = ok && e_idx >= 0 && rels[static_cast<size_t>(e_idx)].filters.empty() && top_conj.empty() && windows.empty();
    std::map<int, bool> joined_on_cells;  // rel -> joined by cell id (else gene id)
    if (ok) {
      const Rel& E = rels[static_cast<size_t>(e_idx)];
      for (const Conj& c : joins_conj) {
        const BExprPtr& b = c.e;
        bool matched = false;
        if (b->kind == BExpr::Kind::kBinary && b->op == BinOp::kEq && b->args[0]->kind == BExpr::Kind::kSlot &&
            b->args[1]->kind == BExpr::Kind::kSlot) {
          for (int side = 0; side < 2 && !matched; ++side) {
            const int es = b->args[static_cast<size_t>(side)]->slot, os = b->args[static_cast<size_t>(1 - side)]->slot;
            const int orel = slot_rel.at(os);
            if (orel == e_idx) continue;
            const Rel& O = rels[static_cast<size_t>(orel)];
            if (es == E.cell_slot && O.kind == Rel::Kind::kCells && os == O.id_slot && !joined_on_cells.count(orel)) {
              joined_on_cells[orel] = true;
              matched = true;
            } else if (es == E.gene_slot && O.kind == Rel::Kind::kGenes && os == O.id_slot && !joined_on_cells.count(orel)) {
              joined_on_cells[orel] = false;
              matched = true;
            }
          }
        }
        ok = ok && matched;
      }
      ok = ok && joined_on_cells.size() + 1 == rels.size();
      for (const AggSpec& a : aggs) {
        ok = ok && !a.distinct &&
             (a.func == AggFunc::kCountStar || (a.arg && a.arg->kind == BExpr::Kind::kSlot && a.arg->slot == E.value_slot));
      }
      // Axis from the group keys.
      int axis = 0;  // 0 none, 1 gene, 2 cell
      for (const BExprPtr& g : group_keys) {
        std::set<int> slots;
        CollectSlots(g, &slots);
        for (int s : slots) {
          int a;
          if (s == E.gene_slot) a = 1;
          else if (s == E.cell_slot) a = 2;
          else if (s == E.value_slot) a = -1;
          else if (auto j = joined_on_cells.find(slot_rel.at(s)); j != joined_on_cells.end()) a = j->second ? 2 : 1;
          else a = -1;  // a relation not joined on an id: generic path
          if (a < 0 || (axis != 0 && axis != a)) ok = false;
          axis = a < 0 ? axis : a;
        }
        if (slots.empty()) ok = false;  // constant keys: keep the generic path
      }
      if (ok) {
        fused = true;
        auto k = std::make_shared<PlanNode>();
        k->kind = PlanNode::Kind::kExprAgg;
        k->scan = E.plan->scan;
        k->restrictions = E.plan->restrictions;
        k->label = E.plan->label;
        k->agg_spec.axis = axis == 1 ? ExprAggSpec::Axis::kGene : axis == 2 ? ExprAggSpec::Axis::kCell : ExprAggSpec::Axis::kNone;
        for (const AggSpec& a : aggs) {
          k->agg_spec.want_sum = k->agg_spec.want_sum || a.func == AggFunc::kSum || a.func == AggFunc::kAvg;
          k->agg_spec.want_minmax = k->agg_spec.want_minmax || a.func == AggFunc::kMin || a.func == AggFunc::kMax;
          const bool var = a.func == AggFunc::kVarSamp || a.func == AggFunc::kVarPop || a.func == AggFunc::kStddevSamp ||
                           a.func == AggFunc::kStddevPop;
          k->agg_spec.want_sumsq = k->agg_spec.want_sumsq || var;
          k->agg_spec.want_sum = k->agg_spec.want_sum || var;
        }
        const Type vt = E.plan->types[2];
        if (axis != 0) {
          k->slots.push_back(axis == 1 ? E.gene_slot : E.cell_slot);  // the id keeps E's slot
          k->types.push_back(Type::kInt64);
        }
        for (Type t : {Type::kInt64, vt, vt, vt, Type::kDouble}) {
          partial_slots.push_back(NewSlot());
          k->slots.push_back(partial_slots.back());
          k->types.push_back(t);
        }
        k->est_rows = axis == 1 ? ds_.n_genes() : axis == 2 ? static_cast<double>(ds_.n_cells()) : 1;
        input = k;
        // Metadata tables: join the one on the axis side when keys read its
        // columns; otherwise they only filter (semi-join restrictions).
        for (const auto& [ri, on_cells] : joined_on_cells) {
          const Rel& O = rels[static_cast<size_t>(ri)];
          bool keys_read = false;
          for (const BExprPtr& g : group_keys) {
            std::set<int> slots;
            CollectSlots(g, &slots);
            for (int s : slots) keys_read = keys_read || slot_rel.at(s) == ri;
          }
          const bool same_axis = (on_cells && axis == 2) || (!on_cells && axis == 1);
          if (keys_read && same_axis) {
            PlanPtr j = MakeNode(PlanNode::Kind::kHashJoin, {input, O.plan});
            j->probe_keys = {SlotRef(on_cells ? E.cell_slot : E.gene_slot, Type::kInt64)};
            j->build_keys = {SlotRef(O.id_slot, Type::kInt64)};
            j->est_rows = input->est_rows;
            input = j;
          } else if (!O.plan->scan_filters.empty() || O.plan->has_lookup) {
            auto ids = MakeNode(PlanNode::Kind::kProject, {O.plan});
            ids->exprs = {SlotRef(O.id_slot, Type::kInt64)};
            ids->slots = {NewSlot()};
            ids->types = {Type::kInt64};
            k->restrictions.push_back(PlanNode::Restriction{ids, on_cells, O.plan->label});
          }
        }
      }
    }
  }
  if (!fused) {
    // Joins: largest relation first (it streams), then connected relations
    // as hash-join build sides.
    std::vector<size_t> order_idx(rels.size());
    for (size_t i = 0; i < rels.size(); ++i) order_idx[i] = i;
    std::stable_sort(order_idx.begin(), order_idx.end(), [&](size_t a, size_t b) { return rels[a].est > rels[b].est; });
    if (rels.empty()) {
      input = MakeNode(PlanNode::Kind::kValues, {});
    } else {
      std::set<int> in_plan;
      std::vector<bool> used_conj(joins_conj.size(), false);
      const size_t first = order_idx[0];
      input = FilterOver(rels[first].plan, rels[first].filters);
      in_plan.insert(static_cast<int>(first));
      while (in_plan.size() < rels.size()) {
        // The next relation: connected by an equality, largest first.
        int pick = -1;
        for (size_t i : order_idx) {
          if (in_plan.count(static_cast<int>(i))) continue;
          for (size_t c = 0; c < joins_conj.size() && pick < 0; ++c) {
            if (used_conj[c] || !joins_conj[c].rels.count(static_cast<int>(i))) continue;
            const BExprPtr& b = joins_conj[c].e;
            if (b->kind != BExpr::Kind::kBinary || b->op != BinOp::kEq) continue;
            std::set<int> rest = joins_conj[c].rels;
            rest.erase(static_cast<int>(i));
            bool covered = true;
            for (int r : rest) covered = covered && in_plan.count(r);
            if (covered) pick = static_cast<int>(i);
          }
          if (pick >= 0) break;
        }
        const bool cross = pick < 0;
        if (cross) {
          for (size_t i : order_idx) {
            if (!in_plan.count(static_cast<int>(i))) {
              pick = static_cast<int>(i);
              break;
            }
          }
        }
        const Rel& R = rels[static_cast<size_t>(pick)];
        PlanPtr right = FilterOver(R.plan, R.filters);
        PlanPtr j = MakeNode(cross ? PlanNode::Kind::kCrossJoin : PlanNode::Kind::kHashJoin, {input, right});
        j->est_rows = cross ? input->est_rows * right->est_rows : std::max(input->est_rows, right->est_rows);
        in_plan.insert(pick);
        std::vector<BExprPtr> residual;
        for (size_t c = 0; c < joins_conj.size(); ++c) {
          if (used_conj[c]) continue;
          bool covered = true;
          for (int r : joins_conj[c].rels) covered = covered && in_plan.count(r);
          if (!covered) continue;
          used_conj[c] = true;
          const BExprPtr& b = joins_conj[c].e;
          // An equality between the two sides becomes a hash key.
          if (!cross && b->kind == BExpr::Kind::kBinary && b->op == BinOp::kEq) {
            std::set<int> l_slots, r_slots;
            CollectSlots(b->args[0], &l_slots);
            CollectSlots(b->args[1], &r_slots);
            auto side = [&](const std::set<int>& ss) {  // 1 = new relation only, 0 = old only, -1 mixed
              bool newr = false, oldr = false;
              for (int s : ss) (slot_rel.at(s) == pick ? newr : oldr) = true;
              return newr && !oldr ? 1 : oldr && !newr ? 0 : -1;
            };
            const int ls = side(l_slots), rs = side(r_slots);
            if (ls >= 0 && rs >= 0 && ls != rs) {
              BExprPtr pk = ls == 0 ? b->args[0] : b->args[1];
              BExprPtr bk = ls == 0 ? b->args[1] : b->args[0];
              const bool ok = (IsNumeric(pk->type) && IsNumeric(bk->type)) || pk->type == bk->type;
              if (ok) {
                if (pk->type != bk->type && (pk->type == Type::kDouble || bk->type == Type::kDouble)) {
                  pk = CastTo(pk, Type::kDouble);
                  bk = CastTo(bk, Type::kDouble);
                }
                j->probe_keys.push_back(pk);
                j->build_keys.push_back(bk);
                continue;
              }
            }
          }
          residual.push_back(b);
        }
        if (j->probe_keys.empty() && j->kind == PlanNode::Kind::kHashJoin) j->kind = PlanNode::Kind::kCrossJoin;
        input = FilterOver(j, residual);
      }
    }
    std::vector<BExprPtr> tops;
    for (const Conj& c : top_conj) tops.push_back(c.e);
    input = FilterOver(input, tops);
  }

  // Aggregate.
  if (aggregate) {
    PlanPtr a = MakeNode(PlanNode::Kind::kAggregate, {input});
    a->group_by = group_keys;
    a->aggs = aggs;
    a->partial_combine = fused;
    a->slots = group_out_slots;
    a->types = group_types;
    for (AggSpec& s : a->aggs) {
      a->slots.push_back(s.slot);
      a->types.push_back(s.type);
      if (fused) {
        s.cnt_slot = partial_slots[0];
        s.sum_slot = partial_slots[1];
        s.min_slot = partial_slots[2];
        s.max_slot = partial_slots[3];
        s.sumsq_slot = partial_slots[4];
        s.arg = nullptr;
      }
    }
    a->est_rows = group_keys.empty() ? 1 : std::max(1.0, input->est_rows / 10);
    a->label = fused ? "combining the kernel's partials" : "";
    input = a;
    if (having) input = FilterOver(input, {having});
  }
  // Windows, each appending one column.
  for (const WindowCall& w : windows) {
    PlanPtr n = MakeNode(PlanNode::Kind::kWindow, {input});
    n->win_func = w.func;
    n->partition_by = w.partition;
    n->order = w.order;
    n->slots.push_back(w.slot);
    n->types.push_back(Type::kInt64);
    input = n;
  }
  // Projection (select items + hidden sort keys).
  PlanPtr proj = MakeNode(PlanNode::Kind::kProject, {input});
  proj->exprs = out_exprs;
  proj->exprs.insert(proj->exprs.end(), hidden.begin(), hidden.end());
  proj->slots.clear();
  proj->types.clear();
  for (const BExprPtr& e : proj->exprs) {
    proj->slots.push_back(NewSlot());
    proj->types.push_back(e->type);
  }
  PlanPtr out = proj;
  if (core.distinct) out = MakeNode(PlanNode::Kind::kDistinct, {out});
  int64_t limit = -1, offset = 0;
  if (limit_e) {
    SLAF_ASSIGN_OR_RETURN(limit, ConstInt(*limit_e, "LIMIT"));
    if (limit < 0) return SqlError(limit_e->pos, "LIMIT must not be negative");
  }
  if (offset_e) {
    SLAF_ASSIGN_OR_RETURN(offset, ConstInt(*offset_e, "OFFSET"));
    if (offset < 0) return SqlError(offset_e->pos, "OFFSET must not be negative");
  }
  if (!sort_keys.empty()) {
    PlanPtr s = MakeNode(PlanNode::Kind::kSort, {out});
    for (size_t k = 0; k < sort_keys.size(); ++k) {
      const size_t c = static_cast<size_t>(sort_out_index[k]);
      sort_keys[k].expr = SlotRef(out->slots[c], out->types[c]);
    }
    s->order = sort_keys;
    s->limit = limit;
    s->offset = offset;
    out = s;
  } else if (limit_e || offset_e) {
    PlanPtr l = MakeNode(PlanNode::Kind::kLimit, {out});
    l->limit = limit;
    l->offset = offset;
    out = l;
  }
  if (!hidden.empty()) {  // drop the hidden sort keys
    PlanPtr p = MakeNode(PlanNode::Kind::kProject, {out});
    p->slots.clear();
    p->types.clear();
    for (size_t k = 0; k < out_exprs.size(); ++k) {
      p->exprs.push_back(SlotRef(out->slots[k], out->types[k]));
      p->slots.push_back(NewSlot());
      p->types.push_back(out->types[k]);
    }
    out = p;
  }
  out->est_rows = limit >= 0 ? std::min<double>(static_cast<double>(limit), input->est_rows) : input->est_rows;
  return BoundQuery{out, out_names};
}

Result<BoundQuery> Binder::BindQuery(const Query& q, int depth) {
  if (depth > 64) return SqlError(q.pos, "queries nested too deeply");
  std::vector<const CommonTable*> scope;
  for (const CommonTable& c : q.with) {
    for (const CommonTable* d : scope) {
      if (d->name == c.name) return SqlError(c.pos, "common table '" + c.name + "' is defined twice");
    }
    scope.push_back(&c);
  }
  ctes_.push_back(scope);
  struct Pop {
    std::vector<std::vector<const CommonTable*>>* v;
    ~Pop() { v->pop_back(); }
  } pop{&ctes_};
  if (q.cores.size() == 1) {
    return BindCore(q.cores[0], q.order_by.empty() ? nullptr : &q.order_by, q.limit.get(), q.offset.get(), depth);
  }
  // UNION ALL: same column count, types unified per column.
  std::vector<BoundQuery> parts;
  for (const SelectCore& c : q.cores) {
    SLAF_ASSIGN_OR_RETURN(BoundQuery b, BindCore(c, nullptr, nullptr, nullptr, depth));
    if (!parts.empty() && b.names.size() != parts[0].names.size()) {
      return SqlError(c.pos, "each UNION ALL query must return the same number of columns (" + std::to_string(parts[0].names.size()) +
                                 " and " + std::to_string(b.names.size()) + ")");
    }
    parts.push_back(std::move(b));
  }
  std::vector<Type> types = parts[0].plan->types;
  for (size_t p = 1; p < parts.size(); ++p) {
    for (size_t c = 0; c < types.size(); ++c) {
      if (!Unify(types[c], parts[p].plan->types[c], &types[c])) {
        return SqlError(q.cores[p].pos, "UNION ALL column " + std::to_string(c + 1) + " has types " + TypeName(types[c]) + " and " +
                                            TypeName(parts[p].plan->types[c]));
      }
    }
  }
  auto u = std::make_shared<PlanNode>();
  u->kind = PlanNode::Kind::kUnionAll;
  for (BoundQuery& b : parts) {
    PlanPtr child = b.plan;
    bool cast = false;
    for (size_t c = 0; c < types.size(); ++c) cast = cast || (child->types[c] != types[c] && child->types[c] != Type::kNull);
    if (cast) {
      PlanPtr p = MakeNode(PlanNode::Kind::kProject, {child});
      p->slots.clear();
      p->types.clear();
      for (size_t c = 0; c < types.size(); ++c) {
        BExprPtr e = SlotRef(child->slots[c], child->types[c]);
        if (child->types[c] != Type::kNull) e = CastTo(e, types[c]);
        p->exprs.push_back(e);
        p->slots.push_back(NewSlot());
        p->types.push_back(e->type);
      }
      child = p;
    }
    u->est_rows += child->est_rows;
    u->children.push_back(child);
  }
  for (Type t : types) {
    u->slots.push_back(NewSlot());
    u->types.push_back(t);
  }
  PlanPtr out = u;
  const std::vector<std::string>& names = parts[0].names;
  int64_t limit = -1, offset = 0;
  if (q.limit) {
    SLAF_ASSIGN_OR_RETURN(limit, ConstInt(*q.limit, "LIMIT"));
    if (limit < 0) return SqlError(q.limit->pos, "LIMIT must not be negative");
  }
  if (q.offset) {
    SLAF_ASSIGN_OR_RETURN(offset, ConstInt(*q.offset, "OFFSET"));
    if (offset < 0) return SqlError(q.offset->pos, "OFFSET must not be negative");
  }
  if (!q.order_by.empty()) {
    PlanPtr s = MakeNode(PlanNode::Kind::kSort, {out});
    for (const OrderItem& o : q.order_by) {
      int idx = -1;
      if (o.expr->kind == ExprKind::kLiteral && std::holds_alternative<int64_t>(o.expr->literal)) {
        idx = static_cast<int>(std::get<int64_t>(o.expr->literal)) - 1;
        if (idx < 0 || idx >= static_cast<int>(names.size())) return SqlError(o.expr->pos, "ORDER BY position is not in the select list");
      } else if (o.expr->kind == ExprKind::kColumn && o.expr->qualifier.empty()) {
        for (size_t k = 0; k < names.size() && idx < 0; ++k) if (names[k] == o.expr->name) idx = static_cast<int>(k);
      }
      if (idx < 0) return SqlError(o.expr->pos, "ORDER BY of a UNION ALL must name an output column or position");
      const bool first = o.nulls == OrderItem::Nulls::kDefault ? !o.desc : o.nulls == OrderItem::Nulls::kFirst;
      s->order.push_back(SortKey{SlotRef(out->slots[static_cast<size_t>(idx)], out->types[static_cast<size_t>(idx)]), o.desc, first});
    }
    s->limit = limit;
    s->offset = offset;
    out = s;
  } else if (q.limit || q.offset) {
    PlanPtr l = MakeNode(PlanNode::Kind::kLimit, {out});
    l->limit = limit;
    l->offset = offset;
    out = l;
  }
  return BoundQuery{out, names};
}

}  // namespace

Result<PlanPtr> BindStatement(const Statement& stmt, const Dataset& ds, std::vector<std::string>* names) {
  Binder b(ds);
  SLAF_ASSIGN_OR_RETURN(BoundQuery q, b.BindQuery(*stmt.query, 0));
  *names = q.names;
  return q.plan;
}

void InheritColumns(PlanNode* n) { Inherit(n); }

}  // namespace slaf::sql
