// The syntax tree of one SQL statement, as the parser builds it (no names
// resolved, no types). The binder (binder.cc) turns it into a logical plan.
//
// Identifiers: unquoted ones are lower-cased by the tokenizer; "quoted"
// ones keep their case. Keywords and function names are upper-cased.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "slaf/status.h"

namespace slaf::sql {

// A place in the SQL text: byte offset and 1-based line and column.
struct SourcePos {
  uint32_t offset = 0;
  uint32_t line = 1;
  uint32_t column = 1;
};

// "SQL error at 3:14: <message>" as InvalidArgument: every syntax, name and
// type error goes through here so messages look alike.
Status SqlError(SourcePos pos, std::string_view message);

struct Query;
struct Expr;
using ExprPtr = std::unique_ptr<Expr>;
using QueryPtr = std::unique_ptr<Query>;

struct Null {};
// NULL, TRUE/FALSE, integer (fits int64; larger integers become double),
// double (has '.' or exponent), string ('it''s' -> it's).
using Literal = std::variant<Null, bool, int64_t, double, std::string>;

struct OrderItem {
  ExprPtr expr;
  bool desc = false;
  enum class Nulls : uint8_t { kDefault, kFirst, kLast } nulls = Nulls::kDefault;
};

enum class ExprKind : uint8_t {
  kLiteral,     // literal
  kColumn,      // [qualifier.]name
  kStar,        // * or qualifier.* (only as a select item or COUNT(*) arg, see below)
  kUnary,       // op in {"-", "+", "NOT"}; args[0]
  kBinary,      // op in {"+","-","*","/","%","||","=","<>","<","<=",">",">=","AND","OR"}; args[0], args[1]
                // ("!=" is returned as "<>", "==" as "=")
  kFunction,    // name (upper-case) + args; distinct for COUNT(DISTINCT x); star_arg for COUNT(*);
                // window functions have over = true
  kCase,        // CASE [case_operand] WHEN whens[i].first THEN whens[i].second ... [ELSE else_expr] END
  kCast,        // CAST(args[0] AS cast_type), cast_type upper-case, e.g. "INTEGER", "DOUBLE", "TEXT"
  kInList,      // args[0] [NOT] IN (args[1], args[2], ...)
  kInSubquery,  // args[0] [NOT] IN (subquery)
  kBetween,     // args[0] [NOT] BETWEEN args[1] AND args[2]
  kIsNull,      // args[0] IS [NOT] NULL
  kLike,        // args[0] [NOT] LIKE args[1]
};

struct Expr {
  ExprKind kind = ExprKind::kLiteral;
  SourcePos pos;  // first token of the expression (operator token for kBinary)

  Literal literal;        // kLiteral
  std::string qualifier;  // kColumn, kStar: table name or alias before '.', else empty
  std::string name;       // kColumn: column name; kFunction: upper-case function name
  std::string op;         // kUnary, kBinary
  std::vector<ExprPtr> args;
  bool negated = false;   // NOT IN, NOT BETWEEN, IS NOT NULL, NOT LIKE
  bool distinct = false;  // kFunction: COUNT(DISTINCT x), SUM(DISTINCT x)
  bool star_arg = false;  // kFunction: COUNT(*) (args empty)

  // kCase
  ExprPtr case_operand;  // may be null (searched CASE)
  std::vector<std::pair<ExprPtr, ExprPtr>> whens;
  ExprPtr else_expr;  // may be null

  std::string cast_type;  // kCast
  QueryPtr subquery;      // kInSubquery

  // Window functions: name(args) OVER ([PARTITION BY ...] [ORDER BY ...]).
  bool over = false;
  std::vector<ExprPtr> partition_by;
  std::vector<OrderItem> window_order;
};

struct SelectItem {
  ExprPtr expr;       // kStar for * or t.*
  std::string alias;  // [AS] alias, else empty
};

// A FROM item: a table (base table or CTE) or a parenthesized subquery.
struct TableRef {
  std::string name;   // empty for a subquery
  QueryPtr subquery;  // (SELECT ...) [AS] alias
  std::string alias;  // empty = none (required by the binder for subqueries)
  SourcePos pos;
};

// [INNER] JOIN table ON condition (the only join the language has; LEFT,
// RIGHT, FULL, CROSS and USING are parse errors naming the position).
struct JoinClause {
  TableRef table;
  ExprPtr on;
  SourcePos pos;  // the JOIN keyword
};

struct SelectCore {
  SourcePos pos;  // the SELECT keyword
  bool distinct = false;
  std::vector<SelectItem> items;
  // FROM a, b JOIN c ON ... : from = {a, b}, joins = {c}. Joins attach after
  // the comma list; both forms are inner joins. FROM may be absent
  // (SELECT 1 + 2).
  std::vector<TableRef> from;
  std::vector<JoinClause> joins;
  ExprPtr where;  // may be null
  std::vector<ExprPtr> group_by;
  ExprPtr having;  // may be null
};

struct CommonTable {
  std::string name;
  QueryPtr query;
  SourcePos pos;
};

// [WITH name AS (query), ...] core [UNION ALL core ...] [ORDER BY ...]
// [LIMIT n [OFFSET m]]. ORDER BY / LIMIT / OFFSET apply to the whole union.
// A parenthesized query may appear wherever a query may (FROM, IN, WITH).
struct Query {
  SourcePos pos;
  std::vector<CommonTable> with;
  std::vector<SelectCore> cores;  // at least one; more = UNION ALL
  std::vector<OrderItem> order_by;
  ExprPtr limit;   // may be null; an expression the binder folds to an integer
  ExprPtr offset;  // may be null
};

struct Statement {
  bool explain = false;  // EXPLAIN prefix
  QueryPtr query;
};

// Parses exactly one statement (a trailing ';' and comments allowed).
// Syntax errors come from SqlError with the position of the offending token
// and what was expected, e.g. "SQL error at 1:22: expected FROM, found 'FORM'".
// Nesting deeper than 200 levels is an error, not a stack overflow.
Result<Statement> Parse(std::string_view sql);

// For messages: the expression as SQL-ish text (e.g. "sum(e.value)"); also
// the default name of an unaliased result column.
std::string ExprToString(const Expr& e);

}  // namespace slaf::sql
