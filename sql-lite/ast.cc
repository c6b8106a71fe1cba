#include "sql-lite/ast.h"

#include <charconv>
#include <cmath>
#include <string>

namespace slaf::sql {

Status SqlError(SourcePos pos, std::string_view message) {
  std::string msg = "SQL error at ";
  msg += std::to_string(pos.line);
  msg += ':';
  msg += std::to_string(pos.column);
  msg += ": ";
  msg += message;
  return Status::InvalidArgument(std::move(msg));
}

namespace {

// Binding strength when printing, mirroring the parser's precedence
// (parser.cc): a child binding more loosely than its context is wrapped in
// parentheses so the text parses back to the same tree.
enum Prec : int {
  kPrecOr = 1,
  kPrecAnd = 2,
  kPrecNot = 3,
  kPrecCompare = 4,
  kPrecConcat = 5,
  kPrecAdd = 6,
  kPrecMul = 7,
  kPrecUnary = 8,
  kPrecPrimary = 9,
};

int BinaryPrec(const std::string& op) {
  if (op == "OR") return kPrecOr;
  if (op == "AND") return kPrecAnd;
  if (op == "||") return kPrecConcat;
  if (op == "+" || op == "-") return kPrecAdd;
  if (op == "*" || op == "/" || op == "%") return kPrecMul;
  return kPrecCompare;
}

int PrecOf(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kBinary: return BinaryPrec(e.op);
    case ExprKind::kUnary: return e.op == "NOT" ? kPrecNot : kPrecUnary;
    case ExprKind::kInList:
    case ExprKind::kInSubquery:
    case ExprKind::kBetween:
    case ExprKind::kIsNull:
    case ExprKind::kLike: return kPrecCompare;
    case ExprKind::kLiteral: {
      // A negative number reads like a unary minus.
      if (const auto* i = std::get_if<int64_t>(&e.literal)) return *i < 0 ? kPrecUnary : kPrecPrimary;
      if (const auto* d = std::get_if<double>(&e.literal)) return std::signbit(*d) ? kPrecUnary : kPrecPrimary;
      return kPrecPrimary;
    }
    default: return kPrecPrimary;
  }
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string DoubleToString(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, d);
  std::string s(buf, ec == std::errc() ? ptr : buf);
  // Keep doubles recognisable: 2.0, not 2.
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

std::string LiteralToString(const Literal& lit) {
  if (std::holds_alternative<Null>(lit)) return "NULL";
  if (const auto* b = std::get_if<bool>(&lit)) return *b ? "TRUE" : "FALSE";
  if (const auto* i = std::get_if<int64_t>(&lit)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&lit)) return DoubleToString(*d);
  const std::string& s = std::get<std::string>(lit);
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  out += '\'';
  return out;
}

void Render(const Expr& e, int min_prec, std::string* out);

void RenderOrderItems(const std::vector<OrderItem>& items, std::string* out) {
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) *out += ", ";
    if (items[i].expr) Render(*items[i].expr, 0, out);
    if (items[i].desc) *out += " DESC";
    if (items[i].nulls == OrderItem::Nulls::kFirst) *out += " NULLS FIRST";
    if (items[i].nulls == OrderItem::Nulls::kLast) *out += " NULLS LAST";
  }
}

void RenderArg(const std::vector<ExprPtr>& args, size_t i, int min_prec, std::string* out) {
  if (i < args.size() && args[i]) {
    Render(*args[i], min_prec, out);
  } else {
    *out += "?";  // a malformed tree; print something rather than crash
  }
}

void RenderBody(const Expr& e, std::string* out) {
  switch (e.kind) {
    case ExprKind::kLiteral:
      *out += LiteralToString(e.literal);
      return;
    case ExprKind::kColumn:
      if (!e.qualifier.empty()) *out += e.qualifier + ".";
      *out += e.name;
      return;
    case ExprKind::kStar:
      if (!e.qualifier.empty()) *out += e.qualifier + ".";
      *out += "*";
      return;
    case ExprKind::kUnary:
      if (e.op == "NOT") {
        *out += "NOT ";
        RenderArg(e.args, 0, kPrecNot, out);
      } else {
        *out += e.op;
        RenderArg(e.args, 0, kPrecPrimary, out);
      }
      return;
    case ExprKind::kBinary: {
      const int p = BinaryPrec(e.op);
      RenderArg(e.args, 0, p, out);
      *out += " " + e.op + " ";
      RenderArg(e.args, 1, p + 1, out);
      return;
    }
    case ExprKind::kFunction:
      *out += Lower(e.name);
      *out += "(";
      if (e.distinct) *out += "DISTINCT ";
      if (e.star_arg) *out += "*";
      for (size_t i = 0; i < e.args.size(); ++i) {
        if (i) *out += ", ";
        RenderArg(e.args, i, 0, out);
      }
      *out += ")";
      if (e.over) {
        *out += " OVER (";
        if (!e.partition_by.empty()) {
          *out += "PARTITION BY ";
          for (size_t i = 0; i < e.partition_by.size(); ++i) {
            if (i) *out += ", ";
            RenderArg(e.partition_by, i, 0, out);
          }
        }
        if (!e.window_order.empty()) {
          if (!e.partition_by.empty()) *out += " ";
          *out += "ORDER BY ";
          RenderOrderItems(e.window_order, out);
        }
        *out += ")";
      }
      return;
    case ExprKind::kCase:
      *out += "CASE";
      if (e.case_operand) {
        *out += " ";
        Render(*e.case_operand, 0, out);
      }
      for (const auto& [when, then] : e.whens) {
        *out += " WHEN ";
        if (when) Render(*when, 0, out);
        *out += " THEN ";
        if (then) Render(*then, 0, out);
      }
      if (e.else_expr) {
        *out += " ELSE ";
        Render(*e.else_expr, 0, out);
      }
      *out += " END";
      return;
    case ExprKind::kCast:
      *out += "CAST(";
      RenderArg(e.args, 0, 0, out);
      *out += " AS " + e.cast_type + ")";
      return;
    case ExprKind::kInList:
      RenderArg(e.args, 0, kPrecCompare, out);
      *out += e.negated ? " NOT IN (" : " IN (";
      for (size_t i = 1; i < e.args.size(); ++i) {
        if (i > 1) *out += ", ";
        RenderArg(e.args, i, 0, out);
      }
      *out += ")";
      return;
    case ExprKind::kInSubquery:
      RenderArg(e.args, 0, kPrecCompare, out);
      *out += e.negated ? " NOT IN (SELECT ...)" : " IN (SELECT ...)";
      return;
    case ExprKind::kBetween:
      RenderArg(e.args, 0, kPrecCompare, out);
      *out += e.negated ? " NOT BETWEEN " : " BETWEEN ";
      RenderArg(e.args, 1, kPrecConcat, out);
      *out += " AND ";
      RenderArg(e.args, 2, kPrecConcat, out);
      return;
    case ExprKind::kIsNull:
      RenderArg(e.args, 0, kPrecCompare, out);
      *out += e.negated ? " IS NOT NULL" : " IS NULL";
      return;
    case ExprKind::kLike:
      RenderArg(e.args, 0, kPrecCompare, out);
      *out += e.negated ? " NOT LIKE " : " LIKE ";
      RenderArg(e.args, 1, kPrecConcat, out);
      return;
  }
  *out += "?";
}

void Render(const Expr& e, int min_prec, std::string* out) {
  const bool parens = PrecOf(e) < min_prec;
  if (parens) *out += "(";
  RenderBody(e, out);
  if (parens) *out += ")";
}

}  // namespace

std::string ExprToString(const Expr& e) {
  // A bare column is named without its qualifier (SELECT e.value -> "value"),
  // as in SQLite and DuckDB; inside larger expressions the qualifier stays.
  if (e.kind == ExprKind::kColumn) return e.name;
  std::string out;
  Render(e, 0, &out);
  return out;
}

}  // namespace slaf::sql
