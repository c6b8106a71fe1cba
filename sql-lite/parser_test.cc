// Tests of the tokenizer (tokenizer.h), the parser (ast.h Parse) and
// ExprToString. Trees are compared through Dump(), a compact S-expression
// form that shows every field the parser sets.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sql-lite/ast.h"
#include "sql-lite/tokenizer.h"

namespace slaf::sql {
namespace {

// ---- Helpers -------------------------------------------------------------

std::string Dump(const Expr& e);
std::string Dump(const Query& q);

std::string DumpLiteral(const Literal& lit) {
  if (std::holds_alternative<Null>(lit)) return "NULL";
  if (const auto* b = std::get_if<bool>(&lit)) return *b ? "TRUE" : "FALSE";
  if (const auto* i = std::get_if<int64_t>(&lit)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&lit)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17gd", *d);
    return buf;
  }
  return "'" + std::get<std::string>(lit) + "'";
}

std::string DumpOrder(const std::vector<OrderItem>& items) {
  std::string out;
  for (const OrderItem& o : items) {
    if (!out.empty()) out += " ";
    out += Dump(*o.expr);
    if (o.desc) out += ":desc";
    if (o.nulls == OrderItem::Nulls::kFirst) out += ":nullsfirst";
    if (o.nulls == OrderItem::Nulls::kLast) out += ":nullslast";
  }
  return out;
}

std::string Dump(const Expr& e) {
  std::string out;
  auto args = [&](size_t from) {
    for (size_t i = from; i < e.args.size(); ++i) out += " " + Dump(*e.args[i]);
  };
  switch (e.kind) {
    case ExprKind::kLiteral: return DumpLiteral(e.literal);
    case ExprKind::kColumn: return e.qualifier.empty() ? e.name : e.qualifier + "." + e.name;
    case ExprKind::kStar: return e.qualifier.empty() ? "*" : e.qualifier + ".*";
    case ExprKind::kUnary:
    case ExprKind::kBinary:
      out = "(" + e.op;
      args(0);
      return out + ")";
    case ExprKind::kFunction:
      out = e.name + "(";
      if (e.distinct) out += "DISTINCT";
      if (e.star_arg) out += "*";
      args(0);
      out += ")";
      if (e.over) {
        out += " OVER(";
        for (const ExprPtr& p : e.partition_by) out += "p:" + Dump(*p) + " ";
        out += "o:" + DumpOrder(e.window_order) + ")";
      }
      return out;
    case ExprKind::kCase:
      out = "(CASE";
      if (e.case_operand) out += " " + Dump(*e.case_operand);
      for (const auto& [w, t] : e.whens) out += " (" + Dump(*w) + " " + Dump(*t) + ")";
      if (e.else_expr) out += " (ELSE " + Dump(*e.else_expr) + ")";
      return out + ")";
    case ExprKind::kCast: return "(CAST " + Dump(*e.args[0]) + " " + e.cast_type + ")";
    case ExprKind::kInList:
      out = e.negated ? "(NOTIN" : "(IN";
      args(0);
      return out + ")";
    case ExprKind::kInSubquery: return std::string(e.negated ? "(NOTIN " : "(IN ") + Dump(*e.args[0]) + " {" + Dump(*e.subquery) + "})";
    case ExprKind::kBetween:
      out = e.negated ? "(NOTBETWEEN" : "(BETWEEN";
      args(0);
      return out + ")";
    case ExprKind::kIsNull: return std::string(e.negated ? "(ISNOTNULL " : "(ISNULL ") + Dump(*e.args[0]) + ")";
    case ExprKind::kLike:
      out = e.negated ? "(NOTLIKE" : "(LIKE";
      args(0);
      return out + ")";
  }
  return "?";
}

std::string DumpTable(const TableRef& r) {
  std::string out = r.subquery ? "{" + Dump(*r.subquery) + "}" : r.name;
  if (!r.alias.empty()) out += " AS " + r.alias;
  return out;
}

std::string Dump(const Query& q) {
  std::string out;
  for (const CommonTable& c : q.with) out += "WITH " + c.name + " {" + Dump(*c.query) + "} ";
  for (size_t i = 0; i < q.cores.size(); ++i) {
    const SelectCore& c = q.cores[i];
    if (i) out += " UNION ALL ";
    out += c.distinct ? "SELECT DISTINCT" : "SELECT";
    for (size_t j = 0; j < c.items.size(); ++j) {
      out += j ? ", " : " ";
      out += Dump(*c.items[j].expr);
      if (!c.items[j].alias.empty()) out += " AS " + c.items[j].alias;
    }
    for (size_t j = 0; j < c.from.size(); ++j) out += (j ? ", " : " FROM ") + DumpTable(c.from[j]);
    for (const JoinClause& j : c.joins) out += " JOIN " + DumpTable(j.table) + " ON " + Dump(*j.on);
    if (c.where) out += " WHERE " + Dump(*c.where);
    for (size_t j = 0; j < c.group_by.size(); ++j) out += (j ? ", " : " GROUP BY ") + Dump(*c.group_by[j]);
    if (c.having) out += " HAVING " + Dump(*c.having);
  }
  if (!q.order_by.empty()) out += " ORDER BY " + DumpOrder(q.order_by);
  if (q.limit) out += " LIMIT " + Dump(*q.limit);
  if (q.offset) out += " OFFSET " + Dump(*q.offset);
  return out;
}

// The whole statement as Dump text, or the error message.
std::string P(std::string_view sql) {
  Result<Statement> r = Parse(sql);
  if (!r.ok()) return "ERROR " + r.status().message();
  return (r->explain ? "EXPLAIN " : "") + Dump(*r->query);
}

// The first select item of `SELECT <expr>` as Dump text, or the error.
std::string E(std::string_view expr) {
  Result<Statement> r = Parse("SELECT " + std::string(expr));
  if (!r.ok()) return "ERROR " + r.status().message();
  if (r->query->cores.size() != 1 || r->query->cores[0].items.size() != 1) return "not one item";
  return Dump(*r->query->cores[0].items[0].expr);
}

// ExprToString of the first select item of `SELECT <expr>`.
std::string S(std::string_view expr) {
  Result<Statement> r = Parse("SELECT " + std::string(expr));
  if (!r.ok()) return "ERROR " + r.status().message();
  return ExprToString(*r->query->cores[0].items[0].expr);
}

// The error message of `sql` ("" if it parses).
std::string Err(std::string_view sql) {
  Result<Statement> r = Parse(sql);
  if (r.ok()) return "";
  EXPECT_TRUE(r.status().IsInvalidArgument());
  return r.status().message();
}

Literal Lit(std::string_view expr) {
  Result<Statement> r = Parse("SELECT " + std::string(expr));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return Null{};
  const Expr& e = *r->query->cores[0].items[0].expr;
  EXPECT_EQ(e.kind, ExprKind::kLiteral) << expr;
  return e.literal;
}

std::string Repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// ---- Tokenizer -----------------------------------------------------------

TEST(Tokenizer, KindsTextAndPositions) {
  auto r = Tokenize("SeLeCt Foo, \"Bar\"\n  FROM t1 -- comment\n/* block\n */ WHERE x>=1.5");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const std::vector<Token>& t = *r;
  ASSERT_EQ(t.size(), 11u);
  EXPECT_EQ(t[0].kind, TokenKind::kKeyword);
  EXPECT_EQ(t[0].text, "SELECT");
  EXPECT_EQ(t[0].raw, "SeLeCt");
  EXPECT_EQ(t[1].kind, TokenKind::kIdentifier);
  EXPECT_EQ(t[1].text, "foo");
  EXPECT_FALSE(t[1].quoted);
  EXPECT_EQ(t[1].pos.offset, 7u);
  EXPECT_EQ(t[1].pos.column, 8u);
  EXPECT_EQ(t[2].text, ",");
  EXPECT_EQ(t[3].text, "Bar");
  EXPECT_TRUE(t[3].quoted);
  EXPECT_EQ(t[3].raw, "\"Bar\"");
  EXPECT_EQ(t[4].text, "FROM");
  EXPECT_EQ(t[4].pos.line, 2u);
  EXPECT_EQ(t[4].pos.column, 3u);
  EXPECT_EQ(t[5].text, "t1");
  EXPECT_EQ(t[6].text, "WHERE");
  EXPECT_EQ(t[6].pos.line, 4u);
  EXPECT_EQ(t[6].pos.column, 5u);
  EXPECT_EQ(t[7].text, "x");
  EXPECT_EQ(t[8].kind, TokenKind::kOperator);
  EXPECT_EQ(t[8].text, ">=");
  EXPECT_EQ(t[9].kind, TokenKind::kFloat);
  EXPECT_DOUBLE_EQ(t[9].real, 1.5);
  EXPECT_EQ(t[10].kind, TokenKind::kEnd);
  EXPECT_EQ(t[10].pos.offset, 64u);
  EXPECT_EQ(t[10].pos.line, 4u);
  EXPECT_EQ(t[10].pos.column, 17u);
}

TEST(Tokenizer, AllOperators) {
  auto r = Tokenize("+ - * / % || = == <> != < <= > >= ( ) , . ;");
  ASSERT_TRUE(r.ok());
  std::vector<std::string> ops;
  for (const Token& t : *r) {
    if (t.kind == TokenKind::kOperator) ops.push_back(t.text);
  }
  EXPECT_EQ(ops, (std::vector<std::string>{"+", "-", "*", "/", "%", "||", "=", "==", "<>", "!=", "<", "<=", ">",
                                           ">=", "(", ")", ",", ".", ";"}));
  // Longest match without spaces.
  r = Tokenize("a<=b<>c||d");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[1].text, "<=");
  EXPECT_EQ((*r)[3].text, "<>");
  EXPECT_EQ((*r)[5].text, "||");
}

TEST(Tokenizer, Numbers) {
  auto r = Tokenize("0 42 18446744073709551615 18446744073709551616 1.5 .5 1. 1e-3 2E+4 7e2");
  ASSERT_TRUE(r.ok());
  const std::vector<Token>& t = *r;
  EXPECT_EQ(t[0].kind, TokenKind::kInteger);
  EXPECT_EQ(t[0].integer, 0u);
  EXPECT_EQ(t[1].integer, 42u);
  EXPECT_EQ(t[2].kind, TokenKind::kInteger);
  EXPECT_EQ(t[2].integer, UINT64_MAX);
  EXPECT_FALSE(t[2].integer_overflow);
  EXPECT_EQ(t[3].kind, TokenKind::kInteger);
  EXPECT_TRUE(t[3].integer_overflow);
  EXPECT_DOUBLE_EQ(t[3].real, 18446744073709551616.0);
  for (int i = 4; i <= 9; ++i) EXPECT_EQ(t[i].kind, TokenKind::kFloat) << i;
  EXPECT_DOUBLE_EQ(t[5].real, 0.5);
  EXPECT_DOUBLE_EQ(t[6].real, 1.0);
  EXPECT_DOUBLE_EQ(t[7].real, 0.001);
  EXPECT_DOUBLE_EQ(t[8].real, 20000.0);
  EXPECT_DOUBLE_EQ(t[9].real, 700.0);
}

TEST(Tokenizer, StringsAndQuotedIdentifiers) {
  auto r = Tokenize("'it''s' '' 'two\nlines' \"a\"\"b\" \"select\"");
  ASSERT_TRUE(r.ok());
  const std::vector<Token>& t = *r;
  EXPECT_EQ(t[0].kind, TokenKind::kString);
  EXPECT_EQ(t[0].text, "it's");
  EXPECT_EQ(t[0].raw, "'it''s'");
  EXPECT_EQ(t[1].text, "");
  EXPECT_EQ(t[2].text, "two\nlines");
  EXPECT_EQ(t[3].kind, TokenKind::kIdentifier);
  EXPECT_EQ(t[3].text, "a\"b");
  EXPECT_EQ(t[3].pos.line, 2u);
  EXPECT_EQ(t[3].pos.column, 8u);
  EXPECT_EQ(t[4].kind, TokenKind::kIdentifier);  // a quoted keyword is a name
  EXPECT_EQ(t[4].text, "select");
}

TEST(Tokenizer, Identifiers) {
  auto r = Tokenize("_x9 A$b gène count VALUE");
  ASSERT_TRUE(r.ok());
  const std::vector<Token>& t = *r;
  EXPECT_EQ(t[0].text, "_x9");
  EXPECT_EQ(t[1].text, "a$b");
  EXPECT_EQ(t[2].text, "gène");
  EXPECT_EQ(t[3].kind, TokenKind::kIdentifier);
  EXPECT_EQ(t[4].kind, TokenKind::kIdentifier);
  EXPECT_EQ(t[4].text, "value");
  EXPECT_TRUE(IsReservedKeyword("SELECT"));
  EXPECT_TRUE(IsReservedKeyword("PARTITION"));
  EXPECT_FALSE(IsReservedKeyword("COUNT"));
  EXPECT_FALSE(IsReservedKeyword("select"));
}

TEST(Tokenizer, CommentsOnly) {
  auto r = Tokenize("-- x\n/* y */  --");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].kind, TokenKind::kEnd);
  EXPECT_EQ((*r)[0].pos.line, 2u);
  EXPECT_EQ((*r)[0].pos.column, 12u);
  // "*/" right after "/*" does not close it.
  r = Tokenize("/*/ x");
  ASSERT_FALSE(r.ok());
}

TEST(Tokenizer, Errors) {
  auto msg = [](std::string_view sql) {
    auto r = Tokenize(sql);
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_EQ(msg("SELECT 'abc"), "SQL error at 1:8: unterminated string literal (no closing ')");
  EXPECT_EQ(msg("SELECT\n  \"abc"), "SQL error at 2:3: unterminated quoted identifier (missing closing \")");
  EXPECT_EQ(msg("SELECT 1 /* x\n\n"), "SQL error at 1:10: unterminated block comment (missing '*/')");
  EXPECT_EQ(msg("SELECT a ? b"), "SQL error at 1:10: unexpected character '?'");
  EXPECT_EQ(msg("a\n b | c"), "SQL error at 2:4: unexpected character '|' (string concatenation is '||')");
  EXPECT_EQ(msg("a ! b"), "SQL error at 1:3: unexpected character '!' (not-equal is '<>' or '!=')");
  EXPECT_EQ(msg("`a`"), "SQL error at 1:1: unexpected character '`' (quote identifiers with \"...\")");
  EXPECT_EQ(msg(std::string("a \x01", 3)), "SQL error at 1:3: unexpected character 0x01");
  EXPECT_EQ(msg(std::string("a \0", 3)), "SQL error at 1:3: unexpected character 0x00");
  EXPECT_EQ(msg("SELECT 12abc"), "SQL error at 1:8: malformed number '12abc'");
  EXPECT_EQ(msg("SELECT 1e"), "SQL error at 1:8: malformed number '1e'");
  EXPECT_EQ(msg("SELECT 1e+"), "SQL error at 1:8: malformed number '1e'");
  EXPECT_EQ(msg("SELECT 1e999"), "SQL error at 1:8: number out of range: 1e999");
  EXPECT_EQ(msg("SELECT \"\""), "SQL error at 1:8: empty quoted identifier \"\"");
}

TEST(Tokenizer, DescribeToken) {
  const std::string sql = "form 'abc' " + std::string(50, 'x');  // tokens view into it
  auto r = Tokenize(sql);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(DescribeToken((*r)[0]), "'form'");
  EXPECT_EQ(DescribeToken((*r)[1]), "string 'abc'");
  EXPECT_EQ(DescribeToken((*r)[2]), "'" + std::string(40, 'x') + "...");
  EXPECT_EQ(DescribeToken((*r)[3]), "end of input");
}

// ---- Expressions: precedence and associativity ---------------------------

TEST(ParserExpr, Precedence) {
  EXPECT_EQ(E("1+2*3"), "(+ 1 (* 2 3))");
  EXPECT_EQ(E("1*2+3"), "(+ (* 1 2) 3)");
  EXPECT_EQ(E("(1+2)*3"), "(* (+ 1 2) 3)");
  EXPECT_EQ(E("1-2-3"), "(- (- 1 2) 3)");
  EXPECT_EQ(E("8/4/2"), "(/ (/ 8 4) 2)");
  EXPECT_EQ(E("a % b * c"), "(* (% a b) c)");
  EXPECT_EQ(E("NOT a = b AND c"), "(AND (NOT (= a b)) c)");
  EXPECT_EQ(E("a OR b AND c"), "(OR a (AND b c))");
  EXPECT_EQ(E("a AND b OR c AND d"), "(OR (AND a b) (AND c d))");
  EXPECT_EQ(E("a || b = c"), "(= (|| a b) c)");
  EXPECT_EQ(E("a || b + c"), "(|| a (+ b c))");
  EXPECT_EQ(E("a + b || c"), "(|| (+ a b) c)");
  EXPECT_EQ(E("-a * b"), "(* (- a) b)");
  EXPECT_EQ(E("- - a"), "(- (- a))");
  EXPECT_EQ(E("+a"), "(+ a)");
  EXPECT_EQ(E("NOT NOT a"), "(NOT (NOT a))");
  EXPECT_EQ(E("a < b = c"), "(= (< a b) c)");
  EXPECT_EQ(E("a = 1 OR NOT b IS NULL"), "(OR (= a 1) (NOT (ISNULL b)))");
  EXPECT_EQ(E("x BETWEEN 1 AND 2 AND y"), "(AND (BETWEEN x 1 2) y)");
  EXPECT_EQ(E("x BETWEEN a + 1 AND b * 2"), "(BETWEEN x (+ a 1) (* b 2))");
  EXPECT_EQ(E("a + 1 IN (1, 2)"), "(IN (+ a 1) 1 2)");
  EXPECT_EQ(E("a LIKE 'x' || '%'"), "(LIKE a (|| 'x' '%'))");
  EXPECT_EQ(E("a = b IS NOT NULL"), "(ISNOTNULL (= a b))");
  EXPECT_EQ(E("((a))"), "a");
}

TEST(ParserExpr, ComparisonOperators) {
  EXPECT_EQ(E("a = b"), "(= a b)");
  EXPECT_EQ(E("a == b"), "(= a b)");
  EXPECT_EQ(E("a <> b"), "(<> a b)");
  EXPECT_EQ(E("a != b"), "(<> a b)");
  EXPECT_EQ(E("a < b"), "(< a b)");
  EXPECT_EQ(E("a <= b"), "(<= a b)");
  EXPECT_EQ(E("a > b"), "(> a b)");
  EXPECT_EQ(E("a >= b"), "(>= a b)");
}

TEST(ParserExpr, Predicates) {
  EXPECT_EQ(E("a IS NULL"), "(ISNULL a)");
  EXPECT_EQ(E("a IS NOT NULL"), "(ISNOTNULL a)");
  EXPECT_EQ(E("a IN (1)"), "(IN a 1)");
  EXPECT_EQ(E("a NOT IN (1, 'x', NULL)"), "(NOTIN a 1 'x' NULL)");
  EXPECT_EQ(E("a BETWEEN 1 AND 2"), "(BETWEEN a 1 2)");
  EXPECT_EQ(E("a NOT BETWEEN 1 AND 2"), "(NOTBETWEEN a 1 2)");
  EXPECT_EQ(E("a LIKE 'M%'"), "(LIKE a 'M%')");
  EXPECT_EQ(E("a NOT LIKE 'M%'"), "(NOTLIKE a 'M%')");
  EXPECT_EQ(E("NOT a IN (1)"), "(NOT (IN a 1))");
  EXPECT_EQ(E("a IN (SELECT x FROM t)"), "(IN a {SELECT x FROM t})");
  EXPECT_EQ(E("a NOT IN (SELECT x FROM t WHERE y > 1)"), "(NOTIN a {SELECT x FROM t WHERE (> y 1)})");
  EXPECT_EQ(E("a IN (WITH c AS (SELECT 1 AS x) SELECT x FROM c)"), "(IN a {WITH c {SELECT 1 AS x} SELECT x FROM c})");
  EXPECT_EQ(E("a IN (1, 2) IN (TRUE)"), "(IN (IN a 1 2) TRUE)");
}

TEST(ParserExpr, Positions) {
  auto r = Parse("SELECT a +\n  b * c, f(x), t.y, -1, NOT z, x IN (1), CASE WHEN 1 THEN 2 END, CAST(a AS INT)");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& items = r->query->cores[0].items;
  const Expr& plus = *items[0].expr;
  EXPECT_EQ(plus.pos.line, 1u);  // kBinary: the operator
  EXPECT_EQ(plus.pos.column, 10u);
  EXPECT_EQ(plus.args[0]->pos.column, 8u);
  EXPECT_EQ(plus.args[1]->pos.line, 2u);
  EXPECT_EQ(plus.args[1]->pos.column, 5u);
  EXPECT_EQ(plus.args[1]->args[0]->pos.column, 3u);
  EXPECT_EQ(items[1].expr->pos.column, 10u);
  EXPECT_EQ(items[2].expr->pos.column, 16u);  // the qualifier
  EXPECT_EQ(items[3].expr->pos.column, 21u);  // the '-' of a folded literal
  EXPECT_EQ(items[4].expr->pos.column, 25u);
  EXPECT_EQ(items[5].expr->pos.column, 32u);  // first token: x
  EXPECT_EQ(items[6].expr->pos.column, 42u);
  EXPECT_EQ(items[7].expr->pos.column, 66u);
  EXPECT_EQ(r->query->cores[0].pos.column, 1u);
  EXPECT_EQ(r->query->pos.offset, 0u);
}

// ---- Literals ------------------------------------------------------------

TEST(ParserLiteral, Integers) {
  EXPECT_EQ(std::get<int64_t>(Lit("0")), 0);
  EXPECT_EQ(std::get<int64_t>(Lit("42")), 42);
  EXPECT_EQ(std::get<int64_t>(Lit("-42")), -42);
  EXPECT_EQ(std::get<int64_t>(Lit("- 42")), -42);
  EXPECT_EQ(std::get<int64_t>(Lit("007")), 7);
  EXPECT_EQ(std::get<int64_t>(Lit("9223372036854775807")), INT64_MAX);
  EXPECT_EQ(std::get<int64_t>(Lit("-9223372036854775807")), -INT64_MAX);
  EXPECT_EQ(std::get<int64_t>(Lit("-9223372036854775808")), INT64_MIN);
  EXPECT_EQ(std::get<int64_t>(Lit("-0009223372036854775808")), INT64_MIN);
  // Too large for int64: double.
  EXPECT_DOUBLE_EQ(std::get<double>(Lit("9223372036854775808")), 9223372036854775808.0);
  EXPECT_DOUBLE_EQ(std::get<double>(Lit("-9223372036854775809")), -9223372036854775809.0);
  EXPECT_DOUBLE_EQ(std::get<double>(Lit("18446744073709551616")), 18446744073709551616.0);
  EXPECT_DOUBLE_EQ(std::get<double>(Lit("123456789012345678901234567890")), 1.2345678901234568e29);
  EXPECT_DOUBLE_EQ(std::get<double>(Lit("-123456789012345678901234567890")), -1.2345678901234568e29);
}

TEST(ParserLiteral, Doubles) {
  EXPECT_DOUBLE_EQ(std::get<double>(Lit("1.5")), 1.5);
  EXPECT_DOUBLE_EQ(std::get<double>(Lit(".5")), 0.5);
  EXPECT_DOUBLE_EQ(std::get<double>(Lit("1.")), 1.0);
  EXPECT_DOUBLE_EQ(std::get<double>(Lit("1e-3")), 0.001);
  EXPECT_DOUBLE_EQ(std::get<double>(Lit("2E+4")), 20000.0);
  EXPECT_DOUBLE_EQ(std::get<double>(Lit("-2.5e2")), -250.0);
  EXPECT_EQ(std::get<double>(Lit("1e308")), 1e308);
  EXPECT_EQ(std::get<double>(Lit("-1e308")), -1e308);
  EXPECT_EQ(std::get<double>(Lit("1.7976931348623157e308")), std::numeric_limits<double>::max());
  EXPECT_EQ(std::get<double>(Lit("1e-400")), 0.0);  // underflow rounds to zero
  EXPECT_EQ(std::get<double>(Lit("4.9e-324")), std::numeric_limits<double>::denorm_min());
  EXPECT_TRUE(std::signbit(std::get<double>(Lit("-0.0"))));
  EXPECT_EQ(Err("SELECT 1e309"), "SQL error at 1:8: number out of range: 1e309");
  EXPECT_EQ(Err("SELECT " + std::string(400, '9')), "SQL error at 1:8: number out of range: " + std::string(40, '9') + "...");
}

TEST(ParserLiteral, OtherLiterals) {
  EXPECT_EQ(std::get<std::string>(Lit("'it''s'")), "it's");
  EXPECT_EQ(std::get<std::string>(Lit("''")), "");
  EXPECT_EQ(std::get<std::string>(Lit("''''")), "'");
  EXPECT_EQ(std::get<std::string>(Lit("'a\"b'")), "a\"b");
  EXPECT_EQ(std::get<std::string>(Lit("'-- not a comment /* */'")), "-- not a comment /* */");
  EXPECT_TRUE(std::holds_alternative<Null>(Lit("NULL")));
  EXPECT_TRUE(std::holds_alternative<Null>(Lit("null")));
  EXPECT_EQ(std::get<bool>(Lit("TRUE")), true);
  EXPECT_EQ(std::get<bool>(Lit("false")), false);
  EXPECT_EQ(E("-'a'"), "(- 'a')");
  EXPECT_EQ(E("-(3)"), "(- 3)");
  EXPECT_EQ(E("- -3"), "(- -3)");
  EXPECT_EQ(E("+3"), "(+ 3)");
  EXPECT_EQ(E("a - -3"), "(- a -3)");
  EXPECT_EQ(E("2 * -3"), "(* 2 -3)");
  EXPECT_EQ(E("-2 * 3"), "(* -2 3)");
}

// ---- Primaries -----------------------------------------------------------

TEST(ParserExpr, ColumnsAndIdentifiers) {
  EXPECT_EQ(E("Gene_ID"), "gene_id");
  EXPECT_EQ(E("\"Gene_ID\""), "Gene_ID");
  EXPECT_EQ(E("e.value"), "e.value");
  EXPECT_EQ(E("E.\"Value\""), "e.Value");
  EXPECT_EQ(E("\"My Table\".\"a\"\"b\""), "My Table.a\"b");
  EXPECT_EQ(E("\"select\""), "select");
  // Non-reserved words are names.
  EXPECT_EQ(P("SELECT value, first, last, count, rows, range, recursive, precision FROM expression"),
            "SELECT value, first, last, count, rows, range, recursive, precision FROM expression");
  EXPECT_EQ(P("SELECT count FROM count"), "SELECT count FROM count");
}

TEST(ParserExpr, Functions) {
  EXPECT_EQ(E("count(*)"), "COUNT(*)");
  EXPECT_EQ(E("COUNT(DISTINCT x)"), "COUNT(DISTINCT x)");
  EXPECT_EQ(E("sum(ALL x)"), "SUM( x)");
  EXPECT_EQ(E("Sum(DISTINCT e.value)"), "SUM(DISTINCT e.value)");
  EXPECT_EQ(E("coalesce(a, b, 0)"), "COALESCE( a b 0)");
  EXPECT_EQ(E("random()"), "RANDOM()");
  EXPECT_EQ(E("f(g(1), h(2 + 3))"), "F( G( 1) H( (+ 2 3)))");
  EXPECT_EQ(E("log(1 + value) * 2"), "(* LOG( (+ 1 value)) 2)");
  EXPECT_EQ(Err("SELECT sum(*)"), "SQL error at 1:12: only COUNT accepts '*' as its argument");
  EXPECT_EQ(Err("SELECT count(DISTINCT *)"), "SQL error at 1:23: expected an expression, found '*'");
  EXPECT_EQ(Err("SELECT count(t.*)"), "SQL error at 1:14: 't.*' is only allowed in the select list");
  EXPECT_EQ(Err("SELECT f(a b)"), "SQL error at 1:12: expected ')' to match the '(' at 1:9, found 'b'");
  EXPECT_EQ(Err("SELECT f(a,)"), "SQL error at 1:12: expected an expression, found ')'");
  EXPECT_EQ(Err("SELECT f(a"), "SQL error at 1:11: unbalanced parenthesis: expected ')' to match the '(' at 1:9, found end of input");
}

TEST(ParserExpr, WindowFunctions) {
  EXPECT_EQ(E("row_number() OVER ()"), "ROW_NUMBER() OVER(o:)");
  EXPECT_EQ(E("rank() OVER (PARTITION BY a, b ORDER BY c DESC NULLS LAST, d)"),
            "RANK() OVER(p:a p:b o:c:desc:nullslast d)");
  EXPECT_EQ(E("sum(value) OVER (ORDER BY x ASC NULLS FIRST)"), "SUM( value) OVER(o:x:nullsfirst)");
  EXPECT_EQ(E("avg(value) OVER (PARTITION BY cell_integer_id) / 2"), "(/ AVG( value) OVER(p:cell_integer_id o:) 2)");
  EXPECT_EQ(Err("SELECT rank() OVER w"), "SQL error at 1:20: expected '(' after OVER (named windows are not supported), found 'w'");
  EXPECT_EQ(Err("SELECT sum(x) OVER (ORDER BY y ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)"),
            "SQL error at 1:32: window frames (ROWS, RANGE, GROUPS) are not supported");
  EXPECT_EQ(Err("SELECT rank() OVER (PARTITION a)"), "SQL error at 1:31: expected BY, found 'a'");
  EXPECT_EQ(Err("SELECT rank() OVER (ORDER BY a NULLS LATER)"), "SQL error at 1:38: expected FIRST or LAST after NULLS, found 'LATER'");
}

TEST(ParserExpr, Case) {
  EXPECT_EQ(E("CASE WHEN a > 1 THEN 'big' WHEN a > 0 THEN 'small' ELSE 'none' END"),
            "(CASE ((> a 1) 'big') ((> a 0) 'small') (ELSE 'none'))");
  EXPECT_EQ(E("CASE x WHEN 1 THEN 'one' END"), "(CASE x (1 'one'))");
  EXPECT_EQ(E("CASE WHEN CASE WHEN a THEN b END THEN 1 END"), "(CASE ((CASE (a b)) 1))");
  EXPECT_EQ(Err("SELECT CASE END"), "SQL error at 1:13: expected an expression, found 'END'");
  EXPECT_EQ(Err("SELECT CASE x END"), "SQL error at 1:15: expected WHEN, found 'END'");
  EXPECT_EQ(Err("SELECT CASE WHEN a b END"), "SQL error at 1:20: expected THEN, found 'b'");
  EXPECT_EQ(Err("SELECT CASE WHEN a THEN b"), "SQL error at 1:26: expected END to close the CASE at 1:8, found end of input");
}

TEST(ParserExpr, Cast) {
  EXPECT_EQ(E("CAST(x AS integer)"), "(CAST x INTEGER)");
  EXPECT_EQ(E("CAST(x AS BIGINT)"), "(CAST x BIGINT)");
  EXPECT_EQ(E("cast(x as Double Precision)"), "(CAST x DOUBLE PRECISION)");
  EXPECT_EQ(E("CAST(x AS VARCHAR(20))"), "(CAST x VARCHAR)");
  EXPECT_EQ(E("CAST(x AS DECIMAL(10, 2))"), "(CAST x DECIMAL)");
  EXPECT_EQ(E("CAST(a + 1 AS TEXT) || 'x'"), "(|| (CAST (+ a 1) TEXT) 'x')");
  for (const char* type : {"INT", "REAL", "FLOAT", "STRING", "BOOLEAN", "BOOL", "DOUBLE"}) {
    EXPECT_EQ(E(std::string("CAST(1 AS ") + type + ")"), std::string("(CAST 1 ") + type + ")");
  }
  EXPECT_EQ(Err("SELECT CAST(x)"), "SQL error at 1:14: expected AS, found ')'");
  EXPECT_EQ(Err("SELECT CAST(x AS)"), "SQL error at 1:17: expected a type name such as INTEGER, DOUBLE or TEXT, found ')'");
  EXPECT_EQ(Err("SELECT CAST(x AS 5)"), "SQL error at 1:18: expected a type name such as INTEGER, DOUBLE or TEXT, found '5'");
  EXPECT_EQ(Err("SELECT CAST(x AS VARCHAR(n))"), "SQL error at 1:26: expected a length, found 'n'");
  EXPECT_EQ(Err("SELECT CAST x"), "SQL error at 1:13: expected '(' after CAST, found 'x'");
}

// ---- Queries -------------------------------------------------------------

TEST(ParserQuery, SelectList) {
  EXPECT_EQ(P("SELECT 1 + 2"), "SELECT (+ 1 2)");
  EXPECT_EQ(P("SELECT *, t.*, \"T\".* FROM t"), "SELECT *, t.*, T.* FROM t");
  EXPECT_EQ(P("SELECT DISTINCT a FROM t"), "SELECT DISTINCT a FROM t");
  EXPECT_EQ(P("SELECT ALL a FROM t"), "SELECT a FROM t");
  EXPECT_EQ(P("SELECT a AS x, b y, c \"Z z\", d AS \"from\" FROM t"), "SELECT a AS x, b AS y, c AS Z z, d AS from FROM t");
  EXPECT_EQ(P("SELECT count(*) n FROM t"), "SELECT COUNT(*) AS n FROM t");
  // Aliases without AS never swallow keywords.
  EXPECT_EQ(P("SELECT a FROM t WHERE b"), "SELECT a FROM t WHERE b");
  EXPECT_EQ(P("SELECT a FROM t ORDER BY a"), "SELECT a FROM t ORDER BY a");
  EXPECT_EQ(P("SELECT a FROM t LIMIT 1"), "SELECT a FROM t LIMIT 1");
  EXPECT_EQ(P("SELECT a FROM t JOIN u ON a = b"), "SELECT a FROM t JOIN u ON (= a b)");
  EXPECT_EQ(P("SELECT a FROM t GROUP BY a"), "SELECT a FROM t GROUP BY a");
  EXPECT_EQ(P("SELECT a UNION ALL SELECT b"), "SELECT a UNION ALL SELECT b");
  EXPECT_EQ(P("SELECT a x FROM t x WHERE x.a = 1"), "SELECT a AS x FROM t AS x WHERE (= x.a 1)");
}

TEST(ParserQuery, FromAndJoins) {
  EXPECT_EQ(P("SELECT * FROM cells"), "SELECT * FROM cells");
  EXPECT_EQ(P("SELECT * FROM cells c, genes AS g"), "SELECT * FROM cells AS c, genes AS g");
  EXPECT_EQ(P("SELECT * FROM expression e JOIN cells c ON e.cell_integer_id = c.cell_integer_id"),
            "SELECT * FROM expression AS e JOIN cells AS c ON (= e.cell_integer_id c.cell_integer_id)");
  EXPECT_EQ(P("SELECT * FROM a INNER JOIN b ON a.x = b.x JOIN c ON c.y = b.y AND c.z > 1"),
            "SELECT * FROM a JOIN b ON (= a.x b.x) JOIN c ON (AND (= c.y b.y) (> c.z 1))");
  EXPECT_EQ(P("SELECT * FROM a, b JOIN c ON TRUE"), "SELECT * FROM a, b JOIN c ON TRUE");
  EXPECT_EQ(P("SELECT * FROM (SELECT 1 AS x) AS s"), "SELECT * FROM {SELECT 1 AS x} AS s");
  EXPECT_EQ(P("SELECT * FROM (SELECT 1 AS x) s JOIN (SELECT 2 AS y) u ON s.x < u.y"),
            "SELECT * FROM {SELECT 1 AS x} AS s JOIN {SELECT 2 AS y} AS u ON (< s.x u.y)");
  EXPECT_EQ(P("SELECT * FROM ((SELECT 1 AS x)) AS s"), "SELECT * FROM {SELECT 1 AS x} AS s");

  auto r = Parse("SELECT *\nFROM a\n  JOIN b ON 1");
  ASSERT_TRUE(r.ok());
  const SelectCore& c = r->query->cores[0];
  EXPECT_EQ(c.from[0].pos.line, 2u);
  EXPECT_EQ(c.from[0].pos.column, 6u);
  EXPECT_EQ(c.joins[0].pos.line, 3u);
  EXPECT_EQ(c.joins[0].pos.column, 3u);
  EXPECT_EQ(c.joins[0].table.pos.column, 8u);
}

TEST(ParserQuery, UnsupportedJoins) {
  const std::string kInner = "only inner joins are supported";
  for (const char* j : {"LEFT JOIN", "LEFT OUTER JOIN", "RIGHT JOIN", "FULL JOIN", "FULL OUTER JOIN"}) {
    std::string err = Err(std::string("SELECT * FROM a ") + j + " b ON a.x = b.x");
    EXPECT_EQ(err.rfind("SQL error at 1:17: outer joins", 0), 0u) << err;
    EXPECT_NE(err.find(kInner), std::string::npos) << err;
  }
  EXPECT_EQ(Err("SELECT * FROM a OUTER JOIN b ON 1"),
            "SQL error at 1:17: outer joins (OUTER) are not supported; only inner joins are supported ([INNER] JOIN t ON ...)");
  EXPECT_EQ(Err("SELECT * FROM a CROSS JOIN b"),
            "SQL error at 1:17: CROSS JOIN is not supported; only inner joins are supported ([INNER] JOIN t ON ..., or "
            "tables separated by ',')");
  EXPECT_NE(Err("SELECT * FROM a NATURAL JOIN b").find("SQL error at 1:17: NATURAL JOIN is not supported; " + kInner),
            std::string::npos);
  EXPECT_EQ(Err("SELECT * FROM a JOIN b USING (x)"),
            "SQL error at 1:24: USING is not supported; only inner joins with ON are supported (JOIN t ON a.x = t.x)");
  EXPECT_EQ(Err("SELECT * FROM a JOIN b WHERE x"), "SQL error at 1:24: expected ON, found 'WHERE'");
  EXPECT_EQ(Err("SELECT * FROM a JOIN b"), "SQL error at 1:23: expected ON, found end of input");
  EXPECT_EQ(Err("SELECT * FROM a INNER b ON 1"), "SQL error at 1:23: expected JOIN, found 'b'");
  EXPECT_EQ(Err("SELECT * FROM a JOIN b ON 1, c"),
            "SQL error at 1:28: a table list with ',' must come before the JOINs; use JOIN ... ON here");
  EXPECT_EQ(Err("SELECT * FROM (a JOIN b ON 1)"),
            "SQL error at 1:16: expected SELECT (joins in parentheses are not supported), found 'a'");
}

TEST(ParserQuery, WhereGroupHaving) {
  EXPECT_EQ(P("SELECT gene_integer_id, SUM(value) FROM expression WHERE value > 0 GROUP BY 1 HAVING SUM(value) > 10"),
            "SELECT gene_integer_id, SUM( value) FROM expression WHERE (> value 0) GROUP BY 1 HAVING (> SUM( value) 10)");
  EXPECT_EQ(P("SELECT a, b, count(*) FROM t GROUP BY a, b"), "SELECT a, b, COUNT(*) FROM t GROUP BY a, b");
  EXPECT_EQ(P("SELECT count(*) FROM t HAVING count(*) > 1"), "SELECT COUNT(*) FROM t HAVING (> COUNT(*) 1)");
  EXPECT_EQ(P("SELECT 1 WHERE TRUE"), "SELECT 1 WHERE TRUE");
  EXPECT_EQ(Err("SELECT a FROM t GROUP a"), "SQL error at 1:23: expected BY, found 'a'");
  EXPECT_EQ(Err("SELECT a FROM t WHERE"), "SQL error at 1:22: expected an expression, found end of input");
  EXPECT_EQ(Err("SELECT a FROM t WHERE a = 1 WHERE b = 2"), "SQL error at 1:29: expected end of input, found 'WHERE'");
  EXPECT_EQ(Err("SELECT a FROM t HAVING x GROUP BY a"), "SQL error at 1:26: expected end of input, found 'GROUP'");
}

TEST(ParserQuery, OrderLimitOffset) {
  EXPECT_EQ(P("SELECT a FROM t ORDER BY a, b DESC, c ASC NULLS FIRST, d DESC NULLS LAST LIMIT 10 OFFSET 20"),
            "SELECT a FROM t ORDER BY a b:desc c:nullsfirst d:desc:nullslast LIMIT 10 OFFSET 20");
  EXPECT_EQ(P("SELECT a FROM t ORDER BY count(*) + 1 DESC"), "SELECT a FROM t ORDER BY (+ COUNT(*) 1):desc");
  EXPECT_EQ(P("SELECT a FROM t LIMIT 2 * 5"), "SELECT a FROM t LIMIT (* 2 5)");
  EXPECT_EQ(P("SELECT a FROM t ORDER BY \"first\" NULLS first"), "SELECT a FROM t ORDER BY first:nullsfirst");
  EXPECT_EQ(Err("SELECT a FROM t LIMIT 5, 10"), "SQL error at 1:24: LIMIT a, b is not supported; use LIMIT n OFFSET m");
  EXPECT_EQ(Err("SELECT a FROM t OFFSET 5"), "SQL error at 1:17: OFFSET must follow LIMIT (LIMIT n OFFSET m)");
  EXPECT_EQ(Err("SELECT a FROM t ORDER a"), "SQL error at 1:23: expected BY, found 'a'");
  EXPECT_EQ(Err("SELECT a FROM t ORDER BY a NULLS \"first\""),
            "SQL error at 1:34: expected FIRST or LAST after NULLS, found '\"first\"'");
  EXPECT_EQ(Err("SELECT a FROM t LIMIT"), "SQL error at 1:22: expected an expression, found end of input");
  EXPECT_EQ(Err("SELECT a FROM t LIMIT 1 ORDER BY a"), "SQL error at 1:25: expected end of input, found 'ORDER'");
}

TEST(ParserQuery, With) {
  EXPECT_EQ(P("WITH a AS (SELECT 1 AS x), \"B\" AS (SELECT x FROM a) SELECT * FROM \"B\""),
            "WITH a {SELECT 1 AS x} WITH B {SELECT x FROM a} SELECT * FROM B");
  EXPECT_EQ(P("WITH a AS (WITH b AS (SELECT 1 AS x) SELECT x FROM b) SELECT x FROM a"),
            "WITH a {WITH b {SELECT 1 AS x} SELECT x FROM b} SELECT x FROM a");
  EXPECT_EQ(P("SELECT * FROM (WITH a AS (SELECT 1) SELECT * FROM a) s"),
            "SELECT * FROM {WITH a {SELECT 1} SELECT * FROM a} AS s");
  EXPECT_EQ(P("WITH a AS (SELECT 1 AS x) SELECT x FROM a UNION ALL SELECT x FROM a ORDER BY 1"),
            "WITH a {SELECT 1 AS x} SELECT x FROM a UNION ALL SELECT x FROM a ORDER BY 1");
  auto r = Parse("WITH\n  top AS (SELECT 1)\nSELECT * FROM top");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->query->with[0].pos.line, 2u);
  EXPECT_EQ(r->query->with[0].pos.column, 3u);
  EXPECT_EQ(r->query->with[0].name, "top");
  EXPECT_EQ(Err("WITH a (SELECT 1) SELECT 1"), "SQL error at 1:8: expected AS, found '('");
  EXPECT_EQ(Err("WITH a AS SELECT 1"), "SQL error at 1:11: expected '(', found 'SELECT'");
  EXPECT_EQ(Err("WITH AS (SELECT 1) SELECT 1"), "SQL error at 1:6: expected a name for the WITH query, found 'AS'");
  EXPECT_EQ(Err("WITH a AS (SELECT 1)"), "SQL error at 1:21: expected SELECT, found end of input");
  EXPECT_EQ(Err("WITH a AS (SELECT 1), SELECT 1"), "SQL error at 1:23: expected a name for the WITH query, found 'SELECT'");
  EXPECT_EQ(Err("WITH RECURSIVE a AS (SELECT 1) SELECT 1"), "SQL error at 1:6: WITH RECURSIVE is not supported");
}

TEST(ParserQuery, UnionAll) {
  EXPECT_EQ(P("SELECT a FROM t UNION ALL SELECT b FROM u UNION ALL SELECT c FROM v ORDER BY 1 DESC LIMIT 3 OFFSET 1"),
            "SELECT a FROM t UNION ALL SELECT b FROM u UNION ALL SELECT c FROM v ORDER BY 1:desc LIMIT 3 OFFSET 1");
  EXPECT_EQ(P("(SELECT a FROM t) UNION ALL (SELECT b FROM u) ORDER BY 1"),
            "SELECT a FROM t UNION ALL SELECT b FROM u ORDER BY 1");
  EXPECT_EQ(P("SELECT 1 UNION ALL (SELECT 2 UNION ALL SELECT 3)"), "SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3");
  EXPECT_EQ(P("SELECT DISTINCT a FROM t UNION ALL SELECT a FROM u"), "SELECT DISTINCT a FROM t UNION ALL SELECT a FROM u");
  EXPECT_EQ(Err("SELECT a FROM t UNION SELECT b FROM u"), "SQL error at 1:17: only UNION ALL is supported (UNION without ALL is not)");
  EXPECT_EQ(Err("SELECT 1 UNION DISTINCT SELECT 2"), "SQL error at 1:10: only UNION ALL is supported (UNION without ALL is not)");
  EXPECT_EQ(Err("SELECT 1 INTERSECT SELECT 2"), "SQL error at 1:10: INTERSECT is not supported; only UNION ALL is supported");
  EXPECT_EQ(Err("SELECT 1 EXCEPT SELECT 2"), "SQL error at 1:10: EXCEPT is not supported; only UNION ALL is supported");
  EXPECT_EQ(Err("(SELECT 1) EXCEPT SELECT 2"), "SQL error at 1:12: EXCEPT is not supported; only UNION ALL is supported");
  EXPECT_EQ(Err("SELECT 1 UNION ALL (SELECT 2 ORDER BY 1)"),
            "SQL error at 1:20: a parenthesized query in UNION ALL can't have WITH, ORDER BY or LIMIT");
  EXPECT_EQ(Err("(SELECT 2 LIMIT 1) UNION ALL SELECT 1"),
            "SQL error at 1:1: a parenthesized query in UNION ALL can't have WITH, ORDER BY or LIMIT");
  EXPECT_EQ(Err("SELECT 1 UNION ALL"), "SQL error at 1:19: expected SELECT, found end of input");
  EXPECT_EQ(Err("SELECT 1 ORDER BY 1 UNION ALL SELECT 2"), "SQL error at 1:21: expected end of input, found 'UNION'");
}

TEST(ParserQuery, ParenthesizedQuery) {
  EXPECT_EQ(P("(SELECT 1)"), "SELECT 1");
  EXPECT_EQ(P("((SELECT a FROM t ORDER BY a))"), "SELECT a FROM t ORDER BY a");
  EXPECT_EQ(P("(SELECT a FROM t) ORDER BY a LIMIT 2"), "SELECT a FROM t ORDER BY a LIMIT 2");
  EXPECT_EQ(P("(SELECT a FROM t ORDER BY a) LIMIT 2 OFFSET 1"), "SELECT a FROM t ORDER BY a LIMIT 2 OFFSET 1");
  EXPECT_EQ(P("WITH c AS (SELECT 1 AS a) (WITH d AS (SELECT 2) SELECT a FROM c)"),
            "WITH c {SELECT 1 AS a} WITH d {SELECT 2} SELECT a FROM c");
  EXPECT_EQ(P("SELECT a FROM t WHERE a IN ((SELECT 1) UNION ALL SELECT 2)"),
            "SELECT a FROM t WHERE (IN a {SELECT 1 UNION ALL SELECT 2})");
  EXPECT_EQ(P("SELECT a FROM t WHERE a IN (((SELECT 1)))"), "SELECT a FROM t WHERE (IN a {SELECT 1})");
  EXPECT_EQ(Err("SELECT a FROM t WHERE a IN ((SELECT 1) + 1)"),
            "SQL error at 1:40: expected ')' to match the '(' at 1:28, found '+'");
  EXPECT_EQ(Err("(SELECT a FROM t LIMIT 1) ORDER BY a"),
            "SQL error at 1:27: ORDER BY after a parenthesized query that has its own ORDER BY or LIMIT is not supported");
  EXPECT_EQ(Err("(SELECT a FROM t ORDER BY a) ORDER BY a"),
            "SQL error at 1:30: ORDER BY after a parenthesized query that has its own ORDER BY or LIMIT is not supported");
  EXPECT_EQ(Err("(SELECT a FROM t LIMIT 1) LIMIT 2"),
            "SQL error at 1:27: LIMIT after a parenthesized query that has its own LIMIT is not supported");
  EXPECT_EQ(Err("(1)"), "SQL error at 1:2: expected SELECT, found '1'");
}

TEST(ParserQuery, SubqueriesInFrom) {
  EXPECT_EQ(Err("SELECT x FROM (SELECT 1 AS x)"),
            "SQL error at 1:30: a subquery in FROM needs an alias: (SELECT ...) AS name; found end of input");
  EXPECT_EQ(Err("SELECT x FROM (SELECT 1 AS x) WHERE x = 1"),
            "SQL error at 1:31: a subquery in FROM needs an alias: (SELECT ...) AS name; found 'WHERE'");
  EXPECT_EQ(Err("SELECT x FROM (SELECT 1 AS x) AS"),
            "SQL error at 1:33: expected an alias after AS, found end of input");
  EXPECT_EQ(Err("SELECT x FROM (SELECT 1 AS x"),
            "SQL error at 1:29: unbalanced parenthesis: expected ')' to match the '(' at 1:15, found end of input");
  EXPECT_EQ(Err("SELECT * FROM s.t"), "SQL error at 1:16: qualified table names (schema.table) are not supported");
  EXPECT_EQ(Err("SELECT * FROM f(1)"), "SQL error at 1:16: table functions are not supported");
  EXPECT_EQ(Err("SELECT * FROM 1"), "SQL error at 1:15: expected a table name or (SELECT ...), found '1'");
  EXPECT_EQ(Err("SELECT * FROM"), "SQL error at 1:14: expected a table name or (SELECT ...), found end of input");
}

TEST(ParserQuery, UnsupportedSubqueries) {
  const std::string kScalar = "scalar subqueries are not supported; use IN (SELECT ...) or a join";
  EXPECT_EQ(Err("SELECT (SELECT 1)"), "SQL error at 1:8: " + kScalar);
  EXPECT_EQ(Err("SELECT a FROM t WHERE a = (SELECT max(a) FROM t)"), "SQL error at 1:27: " + kScalar);
  EXPECT_EQ(Err("SELECT 1 + ((WITH x AS (SELECT 1) SELECT 2))"), "SQL error at 1:13: " + kScalar);
  EXPECT_EQ(Err("SELECT a FROM t WHERE EXISTS (SELECT 1)"),
            "SQL error at 1:23: EXISTS is not supported; use IN (SELECT ...) or a join");
  EXPECT_EQ(Err("SELECT a IN (1, (SELECT 1))"), "SQL error at 1:17: " + kScalar);
  EXPECT_EQ(Err("SELECT ((SELECT 1))"), "SQL error at 1:9: " + kScalar);
}

TEST(ParserQuery, ExplainAndStatementEnd) {
  EXPECT_EQ(P("EXPLAIN SELECT 1"), "EXPLAIN SELECT 1");
  EXPECT_EQ(P("explain select 1;"), "EXPLAIN SELECT 1");
  EXPECT_EQ(P("SELECT 1;"), "SELECT 1");
  EXPECT_EQ(P("SELECT 1 ;  -- done\n"), "SELECT 1");
  EXPECT_EQ(P("  /* hi */ SELECT 1 /* x */ ; /* y */"), "SELECT 1");
  EXPECT_EQ(P("EXPLAIN WITH a AS (SELECT 1) SELECT * FROM a"), "EXPLAIN WITH a {SELECT 1} SELECT * FROM a");
  EXPECT_EQ(P("EXPLAIN (SELECT 1)"), "EXPLAIN SELECT 1");
  EXPECT_EQ(Err("SELECT 1;;"), "SQL error at 1:10: expected end of input, found ';'");
  EXPECT_EQ(Err("SELECT 1; SELECT 2"), "SQL error at 1:11: only one statement is allowed, found a second one after ';'");
  EXPECT_EQ(Err("SELECT 1 garbage stuff"), "SQL error at 1:18: expected ',' or FROM, found 'stuff'");
  EXPECT_EQ(Err("SELECT 1 FROM t 5"), "SQL error at 1:17: expected JOIN, WHERE, GROUP BY, ORDER BY, LIMIT or end of query, found '5'");
  EXPECT_EQ(Err("SELECT 1 )"), "SQL error at 1:10: unbalanced parenthesis: ')' without a matching '('");
  EXPECT_EQ(Err("SELECT 1 ."), "SQL error at 1:10: expected end of input, found '.'");
  EXPECT_EQ(Err("EXPLAIN"), "SQL error at 1:8: expected SELECT, found end of input");
  EXPECT_EQ(Err("EXPLAIN EXPLAIN SELECT 1"), "SQL error at 1:9: expected SELECT, found 'EXPLAIN'");
  EXPECT_EQ(Err(""), "SQL error at 1:1: expected SELECT, found end of input");
  EXPECT_EQ(Err("  -- nothing\n"), "SQL error at 2:1: expected SELECT, found end of input");
  EXPECT_EQ(Err(";"), "SQL error at 1:1: expected SELECT, found ';'");
  EXPECT_EQ(Err("INSERT INTO t VALUES (1)"), "SQL error at 1:1: expected SELECT, found 'INSERT'");
  EXPECT_EQ(Err("SELEC 1"), "SQL error at 1:1: expected SELECT, found 'SELEC'");
}

// ---- Errors: positions and messages ---------------------------------------

TEST(ParserError, MisspelledKeywords) {
  EXPECT_EQ(Err("SELECT gene_id, value FORM expression"), "SQL error at 1:23: expected FROM, found 'FORM'");
  EXPECT_EQ(Err("SELECT * FORM expression"), "SQL error at 1:10: expected FROM, found 'FORM'");
  EXPECT_EQ(Err("SELECT a FROM t WHRE a = 1"), "SQL error at 1:17: expected WHERE, found 'WHRE'");
  EXPECT_EQ(Err("SELECT a FROM t WHERE a = 1 GROPU BY a"),
            "SQL error at 1:29: expected end of input, found 'GROPU' (did you mean GROUP?)");
  EXPECT_EQ(Err("SELECT a FROM t ODRER BY a"), "SQL error at 1:17: expected ORDER, found 'ODRER'");
  EXPECT_EQ(Err("SELECT a FROM t JOIN u ON 1 LIMT 5"), "SQL error at 1:29: expected LIMIT, found 'LIMT'");
  EXPECT_EQ(Err("SELECT a FROM t ORDER BY a LIMT 5"), "SQL error at 1:28: expected end of input, found 'LIMT' (did you mean LIMIT?)");
  // A plain alias followed by garbage.
  EXPECT_EQ(Err("SELECT a b c FROM t"), "SQL error at 1:12: expected ',' or FROM, found 'c'");
  EXPECT_EQ(Err("SELECT a FROM t x y"), "SQL error at 1:19: expected JOIN, WHERE, GROUP BY, ORDER BY, LIMIT or end of query, found 'y'");
  EXPECT_EQ(Err("SELECT a AS FROM t"), "SQL error at 1:13: expected an alias after AS, found 'FROM'");
  EXPECT_EQ(Err("SELECT a AS 'x'"), "SQL error at 1:13: expected an alias after AS, found string 'x'");
}

TEST(ParserError, MultiLinePositions) {
  EXPECT_EQ(Err("SELECT a,\n       b\n  FROM t\n WHERE a = = 1"), "SQL error at 4:12: expected an expression, found '='");
  EXPECT_EQ(Err("SELECT a\nFROM t\nWHERE (a = 1\n  AND b = 2\n"),
            "SQL error at 5:1: unbalanced parenthesis: expected ')' to match the '(' at 3:7, found end of input");
  EXPECT_EQ(Err("SELECT 'multi\nline' ||\n  \"unterminated"), "SQL error at 3:3: unterminated quoted identifier (missing closing \")");
  EXPECT_EQ(Err("SELECT 1 /* a\ncomment */ +\n\t$"), "SQL error at 3:2: unexpected character '$'");
  EXPECT_EQ(Err("SELECT\r\n  a\r\n  FROM"), "SQL error at 3:7: expected a table name or (SELECT ...), found end of input");
  EXPECT_EQ(Err("SELECT x -- comment\nFROM t WHERE\n"), "SQL error at 3:1: expected an expression, found end of input");
}

TEST(ParserError, ExpectedAndFound) {
  EXPECT_EQ(Err("SELECT FROM t"), "SQL error at 1:8: expected an expression, found 'FROM'");
  EXPECT_EQ(Err("SELECT a, FROM t"), "SQL error at 1:11: expected an expression, found 'FROM'");
  EXPECT_EQ(Err("SELECT 1 +"), "SQL error at 1:11: expected an expression, found end of input");
  EXPECT_EQ(Err("SELECT a IS 1"), "SQL error at 1:13: expected NULL or NOT NULL after IS, found '1'");
  EXPECT_EQ(Err("SELECT a IS NOT 1"), "SQL error at 1:17: expected NULL after IS NOT, found '1'");
  EXPECT_EQ(Err("SELECT a IN 1"), "SQL error at 1:13: expected '(' after IN, found '1'");
  EXPECT_EQ(Err("SELECT a IN ()"), "SQL error at 1:14: expected an expression, found ')'");
  EXPECT_EQ(Err("SELECT a BETWEEN 1"), "SQL error at 1:19: expected AND, found end of input");
  EXPECT_EQ(Err("SELECT t."), "SQL error at 1:10: expected a column name after 't.', found end of input");
  EXPECT_EQ(Err("SELECT t.* + 1"), "SQL error at 1:12: expected end of input, found '+'");
  EXPECT_EQ(Err("SELECT 1 + t.*"), "SQL error at 1:12: 't.*' is only allowed in the select list");
  EXPECT_EQ(Err("SELECT * + 1"), "SQL error at 1:10: expected end of input, found '+'");
  EXPECT_EQ(Err("SELECT (1 2)"), "SQL error at 1:11: expected ')' to match the '(' at 1:8, found '2'");
  EXPECT_EQ(Err("SELECT 'abc"), "SQL error at 1:8: unterminated string literal (no closing ')");
  EXPECT_EQ(Err("SELECT LEFT(a, 2)"), "SQL error at 1:8: expected an expression, found 'LEFT'");
  std::string long_name(100, 'q');
  EXPECT_EQ(Err("SELECT 1 " + long_name + " " + long_name),
            "SQL error at 1:111: expected ',' or FROM, found '" + std::string(40, 'q') + "...");
}

TEST(ParserError, NotNullAlone) {
  // NOT after an operand is only the start of NOT IN / NOT BETWEEN / NOT LIKE.
  std::string err = Err("SELECT a NOT NULL");
  EXPECT_EQ(err, "SQL error at 1:10: expected end of input, found 'NOT'");
}

// ---- Limits --------------------------------------------------------------

TEST(ParserLimits, ParenthesesDepth) {
  EXPECT_EQ(E(Repeat("(", 200) + "1" + Repeat(")", 200)), "1");
  std::string err = Err("SELECT " + Repeat("(", 201) + "1" + Repeat(")", 201));
  EXPECT_EQ(err.rfind("SQL error at 1:208: nesting deeper than 200 levels", 0), 0u) << err;
  err = Err("SELECT " + Repeat("(", 100000));
  EXPECT_NE(err.find("nesting deeper than 200 levels"), std::string::npos) << err;
  err = Err(Repeat("(", 100000));
  EXPECT_NE(err.find("nesting deeper than 200 levels"), std::string::npos) << err;
  err = Err("SELECT * FROM " + Repeat("(", 100000));
  EXPECT_NE(err.find("nesting deeper than 200 levels"), std::string::npos) << err;
}

TEST(ParserLimits, OtherNesting) {
  for (const char* prefix : {"NOT ", "- ", "+", "+ ", "f(", "CAST(", "CASE WHEN ", "a IN (", "count(DISTINCT "}) {
    std::string err = Err("SELECT " + Repeat(prefix, 100000) + "1");
    EXPECT_NE(err.find("nesting deeper than 200 levels"), std::string::npos) << prefix << ": " << err;
  }
  EXPECT_EQ(E(Repeat("NOT ", 200) + "a").substr(0, 9), "(NOT (NOT");
  EXPECT_NE(Err("SELECT " + Repeat("NOT ", 201) + "a").find("nesting deeper"), std::string::npos);
  EXPECT_EQ(E(Repeat("- ", 199) + "a").substr(0, 6), "(- (- ");
  std::string sub = "SELECT 1";
  for (int i = 0; i < 300; ++i) sub = "SELECT * FROM (" + sub + ") AS s" + std::to_string(i);
  EXPECT_NE(Err(sub).find("nesting deeper than 200 levels"), std::string::npos);
  sub = "SELECT 1";
  for (int i = 0; i < 150; ++i) sub = "SELECT * FROM (" + sub + ") AS s";
  EXPECT_EQ(Err(sub), "");
  std::string in = "1";
  for (int i = 0; i < 300; ++i) in = "SELECT a FROM t WHERE a IN (" + in + ")";
  EXPECT_NE(Err(in).find("nesting deeper than 200 levels"), std::string::npos);
  std::string with = "SELECT 1";
  for (int i = 0; i < 300; ++i) with = "WITH a AS (" + with + ") SELECT * FROM a";
  EXPECT_NE(Err(with).find("nesting deeper than 200 levels"), std::string::npos);
  // A long UNION ALL or IN list is flat.
  std::string u = "SELECT 0";
  for (int i = 1; i < 5000; ++i) u += " UNION ALL SELECT " + std::to_string(i);
  auto r = Parse(u);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->query->cores.size(), 5000u);
  std::string list = "SELECT a IN (0";
  for (int i = 1; i < 100000; ++i) list += ", " + std::to_string(i);
  r = Parse(list + ")");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->query->cores[0].items[0].expr->args.size(), 100001u);  // a, then the list
}

TEST(ParserLimits, LongOperatorChains) {
  // Chains build deep trees without nesting; they are capped at 1000 levels
  // so that later recursive passes can't overflow the stack.
  EXPECT_EQ(Err("SELECT 1" + Repeat(" + 1", 900)), "");
  EXPECT_EQ(Err("SELECT a = 1" + Repeat(" OR a = 1", 900)), "");
  std::string err = Err("SELECT 1" + Repeat(" + 1", 100000));
  EXPECT_NE(err.find("expression too deep: its syntax tree has more than 1000 levels"), std::string::npos) << err;
  err = Err("SELECT 1 FROM t WHERE a = 1" + Repeat(" OR a = 1", 100000));
  EXPECT_NE(err.find("more than 1000 levels (for a long chain of ORs use IN (...))"), std::string::npos) << err;
  err = Err("SELECT a" + Repeat(" IS NULL", 5000));
  EXPECT_NE(err.find("expression too deep"), std::string::npos) << err;
  // Heights add up across subqueries too.
  std::string q = "SELECT 1";
  for (int i = 0; i < 50; ++i) q = "SELECT a FROM t WHERE (a IN (" + q + "))" + Repeat(" + a", 20) + " = 1";
  err = Err(q);
  EXPECT_NE(err.find("expression too deep"), std::string::npos) << err;
}

// ---- ExprToString --------------------------------------------------------

TEST(ExprToString, DefaultColumnNames) {
  EXPECT_EQ(S("value"), "value");
  EXPECT_EQ(S("e.value"), "value");  // no qualifier for a bare column
  EXPECT_EQ(S("\"Gene Name\""), "Gene Name");
  EXPECT_EQ(S("count(*)"), "count(*)");
  EXPECT_EQ(S("COUNT(DISTINCT x)"), "count(DISTINCT x)");
  EXPECT_EQ(S("SUM(value)"), "sum(value)");
  EXPECT_EQ(S("sum(e.value)"), "sum(e.value)");
  EXPECT_EQ(S("t.*"), "t.*");
  EXPECT_EQ(S("*"), "*");
  EXPECT_EQ(S("a+b"), "a + b");
  EXPECT_EQ(S("1+2*3"), "1 + 2 * 3");
  EXPECT_EQ(S("(1+2)*3"), "(1 + 2) * 3");
  EXPECT_EQ(S("1-(2-3)"), "1 - (2 - 3)");
  EXPECT_EQ(S("(1-2)-3"), "1 - 2 - 3");
  EXPECT_EQ(S("a || (b || c)"), "a || (b || c)");
  EXPECT_EQ(S("'it''s'"), "'it''s'");
  EXPECT_EQ(S("NULL"), "NULL");
  EXPECT_EQ(S("TRUE"), "TRUE");
  EXPECT_EQ(S("false"), "FALSE");
  EXPECT_EQ(S("42"), "42");
  EXPECT_EQ(S("-9223372036854775808"), "-9223372036854775808");
  EXPECT_EQ(S("1.5"), "1.5");
  EXPECT_EQ(S("2.0"), "2.0");
  EXPECT_EQ(S("1e308"), "1e+308");
  EXPECT_EQ(S("0.1"), "0.1");
  EXPECT_EQ(S("-x"), "-x");
  EXPECT_EQ(S("- -3"), "-(-3)");
  EXPECT_EQ(S("-(a + b)"), "-(a + b)");
  EXPECT_EQ(S("-(5)"), "-(5)");  // not -5: that is the literal
  EXPECT_EQ(S("- -0"), "-(0)");
  EXPECT_EQ(S("+5"), "+5");
  EXPECT_EQ(S("2 - -3"), "2 - -3");
  EXPECT_EQ(S("NOT a AND b"), "NOT a AND b");
  EXPECT_EQ(S("NOT (a AND b)"), "NOT (a AND b)");
  EXPECT_EQ(S("(a OR b) AND c"), "(a OR b) AND c");
  EXPECT_EQ(S("a = b"), "a = b");
  EXPECT_EQ(S("a != b"), "a <> b");
  EXPECT_EQ(S("x IS NOT NULL"), "x IS NOT NULL");
  EXPECT_EQ(S("x NOT IN (1, 2)"), "x NOT IN (1, 2)");
  EXPECT_EQ(S("x IN (SELECT y FROM t)"), "x IN (SELECT ...)");
  EXPECT_EQ(S("x NOT BETWEEN 1 AND 2"), "x NOT BETWEEN 1 AND 2");
  EXPECT_EQ(S("x LIKE 'a%'"), "x LIKE 'a%'");
  EXPECT_EQ(S("CASE WHEN a THEN 1 ELSE 2 END"), "CASE WHEN a THEN 1 ELSE 2 END");
  EXPECT_EQ(S("case x when 1 then 'a' end"), "CASE x WHEN 1 THEN 'a' END");
  EXPECT_EQ(S("cast(x as double precision)"), "CAST(x AS DOUBLE PRECISION)");
  EXPECT_EQ(S("row_number() over (partition by a order by b desc nulls first)"),
            "row_number() OVER (PARTITION BY a ORDER BY b DESC NULLS FIRST)");
  EXPECT_EQ(S("log1p(value) / 2"), "log1p(value) / 2");
}

TEST(ExprToString, RoundTrips) {
  // Printing then parsing again gives the same text: the parentheses the
  // printer adds are exactly the ones the tree needs.
  for (const char* expr :
       {"(a + b) * (c - d) / e % f", "a - (b + c)", "a || b || c", "(a = b) = c", "a = (b = c)", "NOT NOT a",
        "NOT (a OR b) AND NOT c", "a BETWEEN (b OR c) AND d", "(a BETWEEN b AND c) BETWEEN d AND e",
        "a IN (1, 2) IS NULL", "-(-(-1))", "-(1 + 2) * -3", "x LIKE ('a' || 'b')", "(x LIKE 'a') = TRUE",
        "CASE WHEN a OR b THEN -1 ELSE c || 'x' END || 'y'", "sum(DISTINCT a * 2) OVER (PARTITION BY b, c ORDER BY d)",
        "CAST(a + 1 AS BIGINT) * 2", "(a IS NULL) IS NOT NULL", "1.5e-7 + 123456789012345678901234567890",
        "'a''b' || ''''", "- -0 - -100000000000 - 000 - - 0", "-(1.5)", "-(-0.0)", "- - 5"}) {
    const std::string once = S(expr);
    const std::string twice = S(once);
    EXPECT_EQ(once, twice) << expr;
    EXPECT_EQ(E(once), E(expr)) << expr;
  }
}

TEST(ExprToString, HandBuiltTrees) {
  // The binder builds trees too; any tree prints without crashing.
  Expr e;
  e.kind = ExprKind::kBinary;
  e.op = "+";
  EXPECT_EQ(ExprToString(e), "? + ?");
  Expr n;
  n.kind = ExprKind::kUnary;
  n.op = "NOT";
  n.args.push_back(std::make_unique<Expr>());
  n.args[0]->kind = ExprKind::kBinary;
  n.args[0]->op = "AND";
  auto lit = [](Literal l) {
    auto p = std::make_unique<Expr>();
    p->literal = std::move(l);
    return p;
  };
  n.args[0]->args.push_back(lit(true));
  n.args[0]->args.push_back(lit(std::string("x")));
  EXPECT_EQ(ExprToString(n), "NOT (TRUE AND 'x')");
  Expr d;
  d.literal = std::numeric_limits<double>::infinity();
  EXPECT_EQ(ExprToString(d), "Infinity");
}

TEST(SqlError, Format) {
  Status s = SqlError(SourcePos{10, 3, 14}, "expected FROM, found 'FORM'");
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(s.message(), "SQL error at 3:14: expected FROM, found 'FORM'");
}

}  // namespace
}  // namespace slaf::sql
