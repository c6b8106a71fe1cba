// libFuzzer target: the SQL tokenizer and parser (sql-lite/tokenizer.h,
// sql-lite/ast.h Parse) must accept or reject any bytes without crashing,
// leaking or overflowing the stack, and every rejection must be a
// "SQL error at L:C: ..." InvalidArgument. For statements that parse, the
// select items go through ExprToString, and the printed text must parse back
// to an expression that prints the same (the printer adds exactly the
// parentheses the tree needs).
#include <cstdint>
#include <string>
#include <string_view>

#include "sql-lite/ast.h"
#include "sql-lite/tokenizer.h"

namespace {

using slaf::sql::Expr;
using slaf::sql::ExprKind;
using slaf::sql::Query;

bool HasSubquery(const Expr& e) {
  if (e.subquery) return true;
  for (const auto& a : e.args) {
    if (a && HasSubquery(*a)) return true;
  }
  for (const auto& p : e.partition_by) {
    if (p && HasSubquery(*p)) return true;
  }
  for (const auto& o : e.window_order) {
    if (o.expr && HasSubquery(*o.expr)) return true;
  }
  for (const auto& [w, t] : e.whens) {
    if ((w && HasSubquery(*w)) || (t && HasSubquery(*t))) return true;
  }
  return (e.case_operand && HasSubquery(*e.case_operand)) || (e.else_expr && HasSubquery(*e.else_expr));
}

void CheckRoundTrip(const Expr& e) {
  if (HasSubquery(e)) return;  // printed as "(SELECT ...)"
  const std::string once = slaf::sql::ExprToString(e);
  auto again = slaf::sql::Parse("SELECT " + once);
  if (!again.ok()) {
    // Reprinting may add parentheses (- -3 prints as -(-3)), so a tree near
    // the nesting limit may not parse back; anything else is a printer bug.
    const std::string& m = again.status().message();
    if (m.find("nesting deeper than") != std::string::npos || m.find("expression too deep") != std::string::npos) return;
    __builtin_trap();
  }
  const auto& items = again->query->cores[0].items;
  if (items.size() != 1 || slaf::sql::ExprToString(*items[0].expr) != once) __builtin_trap();
}

void Walk(const Query& q, bool round_trip) {
  for (const auto& c : q.with) Walk(*c.query, round_trip);
  for (const auto& core : q.cores) {
    for (const auto& item : core.items) {
      (void)slaf::sql::ExprToString(*item.expr);
      if (round_trip) CheckRoundTrip(*item.expr);
    }
    for (const auto& t : core.from) {
      if (t.subquery) Walk(*t.subquery, round_trip);
    }
    for (const auto& j : core.joins) {
      if (j.table.subquery) Walk(*j.table.subquery, round_trip);
      (void)slaf::sql::ExprToString(*j.on);
    }
    if (core.where) (void)slaf::sql::ExprToString(*core.where);
    for (const auto& g : core.group_by) (void)slaf::sql::ExprToString(*g);
    if (core.having) (void)slaf::sql::ExprToString(*core.having);
  }
  for (const auto& o : q.order_by) (void)slaf::sql::ExprToString(*o.expr);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view sql(reinterpret_cast<const char*>(data), size);
  auto tokens = slaf::sql::Tokenize(sql);
  auto st = slaf::sql::Parse(sql);
  if (!st.ok()) {
    if (!st.status().IsInvalidArgument() || st.status().message().rfind("SQL error at ", 0) != 0) __builtin_trap();
    return 0;
  }
  if (!tokens.ok() || !st->query || st->query->cores.empty()) __builtin_trap();
  // Quoted identifiers print without quotes, so they need not parse back.
  bool quoted = false;
  for (const auto& t : *tokens) quoted = quoted || t.quoted;
  Walk(*st->query, !quoted);
  return 0;
}
