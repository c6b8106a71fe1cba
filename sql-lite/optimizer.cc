// The optimizer's plan-wide pass, after binding: projection pushdown.
// (Predicate pushdown, join order and the aggregate-kernel rewrite are
// decided while binding, where each relation's conjuncts and kind are at
// hand; see docs/design-notes.md.) Every table scan keeps only the columns
// some expression above it reads, and every expression scan decodes only
// the streams (gene ids, values) that are read.
#include <functional>
#include <set>

#include "sql-lite/plan.h"

namespace slaf::sql {

namespace {

void CollectSlots(const BExprPtr& e, std::set<int>* out) {
  if (e->kind == BExpr::Kind::kSlot) out->insert(e->slot);
  for (const BExprPtr& a : e->args) CollectSlots(a, out);
}

// Removes the table columns and expression streams no expression uses
// (projection pushdown), then recomputes pass-through nodes' outputs.
void Prune(const PlanPtr& n, const std::set<int>& used) {
  for (const PlanPtr& c : n->children) Prune(c, used);
  for (const PlanNode::Restriction& r : n->restrictions) Prune(r.plan, used);
  std::function<void(const BExprPtr&)> subs = [&](const BExprPtr& x) {
    if (!x) return;
    if (x->sub) Prune(x->sub, used);
    for (const BExprPtr& a : x->args) subs(a);
  };
  subs(n->predicate);
  for (const auto* list : {&n->exprs, &n->probe_keys, &n->build_keys, &n->group_by, &n->partition_by, &n->scan_filters}) {
    for (const BExprPtr& e : *list) subs(e);
  }
  for (const AggSpec& a : n->aggs) subs(a.arg);
  for (const SortKey& k : n->order) subs(k.expr);
  switch (n->kind) {
    case PlanNode::Kind::kTableScan: {
      std::vector<std::string> cols;
      std::vector<int> slots;
      std::vector<Type> types;
      for (size_t k = 0; k < n->slots.size(); ++k) {
        if (!used.count(n->slots[k])) continue;
        cols.push_back(n->columns[k]);
        slots.push_back(n->slots[k]);
        types.push_back(n->types[k]);
      }
      n->columns = cols;
      n->slots = slots;
      n->types = types;
      break;
    }
    case PlanNode::Kind::kExprScan: {
      std::vector<int> cols, slots;
      std::vector<Type> types;
      for (size_t k = 0; k < n->slots.size(); ++k) {
        if (!used.count(n->slots[k])) continue;
        cols.push_back(n->scan_cols[k]);
        slots.push_back(n->slots[k]);
        types.push_back(n->types[k]);
      }
      n->scan_cols = cols;
      n->slots = slots;
      n->types = types;
      n->scan.need_gene_ids = std::count(cols.begin(), cols.end(), 1) > 0;
      n->scan.need_values = std::count(cols.begin(), cols.end(), 2) > 0;
      break;
    }
    case PlanNode::Kind::kFilter:
    case PlanNode::Kind::kHashJoin:
    case PlanNode::Kind::kCrossJoin:
    case PlanNode::Kind::kLimit:
    case PlanNode::Kind::kSort:
    case PlanNode::Kind::kDistinct: InheritColumns(n.get()); break;
    case PlanNode::Kind::kWindow: {
      const int w = n->slots.back();
      InheritColumns(n.get());
      n->slots.push_back(w);
      n->types.push_back(Type::kInt64);
      break;
    }
    default: break;
  }
}

void CollectUsed(const PlanPtr& n, std::set<int>* used) {
  auto add = [&](const BExprPtr& e) {
    if (!e) return;
    CollectSlots(e, used);
    std::function<void(const BExprPtr&)> subs = [&](const BExprPtr& x) {
      if (x->sub) CollectUsed(x->sub, used);
      for (const BExprPtr& a : x->args) subs(a);
    };
    subs(e);
  };
  add(n->predicate);
  for (const BExprPtr& e : n->exprs) add(e);
  for (const BExprPtr& e : n->probe_keys) add(e);
  for (const BExprPtr& e : n->build_keys) add(e);
  for (const BExprPtr& e : n->group_by) add(e);
  for (const AggSpec& a : n->aggs) {
    add(a.arg);
    for (int s : {a.cnt_slot, a.sum_slot, a.min_slot, a.max_slot, a.sumsq_slot}) if (s >= 0) used->insert(s);
  }
  for (const BExprPtr& e : n->partition_by) add(e);
  for (const SortKey& k : n->order) add(k.expr);
  for (const BExprPtr& e : n->scan_filters) add(e);
  for (const PlanNode::Restriction& r : n->restrictions) CollectUsed(r.plan, used);
  // Union children, derived tables and aggregate inputs keep what their
  // parents' slots name: a union keeps every column of its children.
  if (n->kind == PlanNode::Kind::kUnionAll) {
    for (const PlanPtr& c : n->children) used->insert(c->slots.begin(), c->slots.end());
  }
  for (const PlanPtr& c : n->children) CollectUsed(c, used);
}

}  // namespace

void Optimize(const PlanPtr& plan) {
  std::set<int> used(plan->slots.begin(), plan->slots.end());
  CollectUsed(plan, &used);
  Prune(plan, used);
}

}  // namespace slaf::sql
