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

// Appends expressions to `out`. The recursion (Render -> RenderBody ->
// Render) is as deep as the tree (at most 1000 levels from the parser), so
// the frames on that path avoid string temporaries; the constructs that need
// them are in separate functions.
class Printer {
 public:
  explicit Printer(std::string* out) : out_(*out) {}

  void Render(const Expr* e, int min_prec) {
    if (e == nullptr) {
      out_ += '?';  // a malformed tree; print something rather than crash
      return;
    }
    const bool parens = PrecOf(*e) < min_prec;
    if (parens) out_ += '(';
    RenderBody(*e);
    if (parens) out_ += ')';
  }

 private:
  static bool IsNumber(const Expr* e) {
    return e != nullptr && e->kind == ExprKind::kLiteral &&
           (std::holds_alternative<int64_t>(e->literal) || std::holds_alternative<double>(e->literal));
  }
  void Arg(const Expr& e, size_t i, int min_prec) { Render(i < e.args.size() ? e.args[i].get() : nullptr, min_prec); }

  void RenderBody(const Expr& e) {
    switch (e.kind) {
      case ExprKind::kLiteral: return Literal(e);
      case ExprKind::kColumn:
      case ExprKind::kStar:
        if (!e.qualifier.empty()) {
          out_ += e.qualifier;
          out_ += '.';
        }
        if (e.kind == ExprKind::kStar) {
          out_ += '*';
        } else {
          out_ += e.name;
        }
        return;
      case ExprKind::kUnary:
        if (e.op == "NOT") {
          out_ += "NOT ";
          return Arg(e, 0, kPrecNot);
        }
        out_ += e.op;
        // -(5), not -5, which would read back as the literal -5.
        return Arg(e, 0, e.op == "-" && IsNumber(e.args.empty() ? nullptr : e.args[0].get()) ? kPrecPrimary + 1
                                                                                            : kPrecPrimary);
      case ExprKind::kBinary: {
        const int p = BinaryPrec(e.op);
        Arg(e, 0, p);
        out_ += ' ';
        out_ += e.op;
        out_ += ' ';
        return Arg(e, 1, p + 1);
      }
      case ExprKind::kFunction: return Function(e);
      case ExprKind::kCase: return Case(e);
      case ExprKind::kCast:
        out_ += "CAST(";
        Arg(e, 0, 0);
        out_ += " AS ";
        out_ += e.cast_type;
        out_ += ')';
        return;
      case ExprKind::kInList:
        Arg(e, 0, kPrecCompare);
        out_ += e.negated ? " NOT IN (" : " IN (";
        for (size_t i = 1; i < e.args.size(); ++i) {
          if (i > 1) out_ += ", ";
          Arg(e, i, 0);
        }
        out_ += ')';
        return;
      case ExprKind::kInSubquery:
        Arg(e, 0, kPrecCompare);
        out_ += e.negated ? " NOT IN (SELECT ...)" : " IN (SELECT ...)";
        return;
      case ExprKind::kBetween:
        Arg(e, 0, kPrecCompare);
        out_ += e.negated ? " NOT BETWEEN " : " BETWEEN ";
        Arg(e, 1, kPrecConcat);
        out_ += " AND ";
        return Arg(e, 2, kPrecConcat);
      case ExprKind::kIsNull:
        Arg(e, 0, kPrecCompare);
        out_ += e.negated ? " IS NOT NULL" : " IS NULL";
        return;
      case ExprKind::kLike:
        Arg(e, 0, kPrecCompare);
        out_ += e.negated ? " NOT LIKE " : " LIKE ";
        return Arg(e, 1, kPrecConcat);
    }
    out_ += '?';
  }

  [[gnu::noinline]] void Literal(const Expr& e) { out_ += LiteralToString(e.literal); }

  [[gnu::noinline]] void Function(const Expr& e) {
    out_ += Lower(e.name);
    out_ += '(';
    if (e.distinct) out_ += "DISTINCT ";
    if (e.star_arg) out_ += '*';
    for (size_t i = 0; i < e.args.size(); ++i) {
      if (i) out_ += ", ";
      Arg(e, i, 0);
    }
    out_ += ')';
    if (!e.over) return;
    out_ += " OVER (";
    if (!e.partition_by.empty()) {
      out_ += "PARTITION BY ";
      for (size_t i = 0; i < e.partition_by.size(); ++i) {
        if (i) out_ += ", ";
        Render(e.partition_by[i].get(), 0);
      }
    }
    if (!e.window_order.empty()) {
      if (!e.partition_by.empty()) out_ += ' ';
      out_ += "ORDER BY ";
      for (size_t i = 0; i < e.window_order.size(); ++i) {
        const OrderItem& o = e.window_order[i];
        if (i) out_ += ", ";
        Render(o.expr.get(), 0);
        if (o.desc) out_ += " DESC";
        if (o.nulls == OrderItem::Nulls::kFirst) out_ += " NULLS FIRST";
        if (o.nulls == OrderItem::Nulls::kLast) out_ += " NULLS LAST";
      }
    }
    out_ += ')';
  }

  [[gnu::noinline]] void Case(const Expr& e) {
    out_ += "CASE";
    if (e.case_operand) {
      out_ += ' ';
      Render(e.case_operand.get(), 0);
    }
    for (const auto& [when, then] : e.whens) {
      out_ += " WHEN ";
      Render(when.get(), 0);
      out_ += " THEN ";
      Render(then.get(), 0);
    }
    if (e.else_expr) {
      out_ += " ELSE ";
      Render(e.else_expr.get(), 0);
    }
    out_ += " END";
  }

  std::string& out_;
};

}  // namespace

std::string ExprToString(const Expr& e) {
  // A bare column is named without its qualifier (SELECT e.value -> "value"),
  // as in SQLite and DuckDB; inside larger expressions the qualifier stays.
  if (e.kind == ExprKind::kColumn) return e.name;
  std::string out;
  Printer(&out).Render(&e, 0);
  return out;
}

}  // namespace slaf::sql
