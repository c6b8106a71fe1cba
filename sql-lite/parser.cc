// Recursive-descent parser for the SQL subset of ast.h.
//
// Grammar (keywords reserved; see tokenizer.cc for the list):
//   statement  := [EXPLAIN] query [';'] EOF
//   query      := [WITH name AS '(' query ')' {',' ...}] operand {UNION ALL operand}
//                 [ORDER BY order_item {',' order_item}] [LIMIT expr [OFFSET expr]]
//   operand    := core | '(' query ')'
//   core       := SELECT [DISTINCT|ALL] item {',' item}
//                 [FROM table_ref {',' table_ref} {[INNER] JOIN table_ref ON expr}]
//                 [WHERE expr] [GROUP BY expr {',' expr}] [HAVING expr]
//   table_ref  := name [[AS] alias] | '(' query ')' [AS] alias
//   item       := '*' | name '.' '*' | expr [[AS] alias]
//   order_item := expr [ASC|DESC] [NULLS (FIRST|LAST)]
// Expressions, loosest first: OR; AND; NOT; comparison (= <> < <= > >=,
// IS [NOT] NULL, [NOT] IN, [NOT] BETWEEN, [NOT] LIKE; left-associative);
// ||; + -; * / %; unary - +; primary.
//
// A parenthesized operand of UNION ALL must be a plain union of cores (no
// WITH, ORDER BY or LIMIT) and is flattened into the outer query. A query
// that is a single parenthesized query is the inner query itself, with the
// outer WITH prepended and the outer ORDER BY / LIMIT moved in when that
// keeps the meaning.
//
// Limits, so that neither parsing nor any later recursion over the tree can
// overflow the stack: at most kMaxDepth nested constructs (parentheses,
// subqueries, CASE, CAST, function calls, IN lists, NOT and unary chains),
// and syntax trees at most kMaxHeight nodes high (long operator chains such
// as a OR b OR c ... build deep left-leaning trees without nesting; 1000 is
// SQLite's default SQLITE_MAX_EXPR_DEPTH). Measured: 200 nested levels of
// any kind take at most 256 KiB of stack in an -O2 build (about 1 MiB with
// clang ASan, 4 MiB with GCC ASan).
//
// IN ( followed by any number of '(' and then SELECT or WITH is a subquery;
// otherwise it is a list of expressions.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sql-lite/ast.h"
#include "sql-lite/tokenizer.h"

namespace slaf::sql {
namespace {

constexpr int kMaxDepth = 200;
constexpr int kMaxHeight = 1000;

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// True if a and b differ by exactly one insertion, deletion, substitution or
// swap of adjacent characters.
bool OneEditApart(std::string_view a, std::string_view b) {
  if (a == b) return false;
  if (a.size() > b.size()) std::swap(a, b);
  if (b.size() - a.size() > 1) return false;
  size_t i = 0;
  while (i < a.size() && a[i] == b[i]) ++i;
  if (a.size() < b.size()) return a.substr(i) == b.substr(i + 1);
  if (a.substr(i + 1) == b.substr(i + 1)) return true;
  return i + 1 < a.size() && a[i] == b[i + 1] && a[i + 1] == b[i] && a.substr(i + 2) == b.substr(i + 2);
}

// The clause keyword an unquoted identifier is probably a misspelling of
// ("FORM" -> "FROM"), or empty.
std::string_view MisspelledKeyword(const Token& t) {
  static constexpr std::string_view kClauses[] = {
      "SELECT", "FROM",     "WHERE",   "GROUP",     "HAVING", "ORDER", "LIMIT", "OFFSET",
      "UNION",  "DISTINCT", "BETWEEN", "PARTITION", "JOIN",   "INNER"};
  if (t.kind != TokenKind::kIdentifier || t.quoted || t.text.size() < 3) return {};
  const std::string upper = Upper(t.text);
  for (std::string_view k : kClauses) {
    if (OneEditApart(upper, k)) return k;
  }
  return {};
}

std::string PosText(SourcePos p) { return std::to_string(p.line) + ":" + std::to_string(p.column); }

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  Result<Statement> ParseStatement() {
    Statement st;
    if (AcceptKw("EXPLAIN")) st.explain = true;
    if (!StartsQuery()) return Unexpected("SELECT");
    SLAF_ASSIGN_OR_RETURN(st.query, ParseQuery());
    const bool semicolon = AcceptOp(";");
    if (Cur().kind != TokenKind::kEnd) {
      if (IsOp(")")) return SqlError(Cur().pos, "unbalanced parenthesis: ')' without a matching '('");
      if (semicolon && (IsKw("SELECT") || IsKw("WITH") || IsKw("EXPLAIN"))) {
        return SqlError(Cur().pos, "only one statement is allowed, found a second one after ';'");
      }
      if (IsKw("OFFSET")) return SqlError(Cur().pos, "OFFSET must follow LIMIT (LIMIT n OFFSET m)");
      return Unexpected("end of input");
    }
    return st;
  }

 private:
  // ---- Token access ----------------------------------------------------

  const Token& Cur() const { return t_[i_]; }
  const Token& Ahead(size_t k) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
  void Advance() {
    if (i_ + 1 < t_.size()) ++i_;
  }
  static bool Is(const Token& t, TokenKind kind, std::string_view text) { return t.kind == kind && t.text == text; }
  bool IsKw(std::string_view kw, size_t k = 0) const { return Is(Ahead(k), TokenKind::kKeyword, kw); }
  bool IsOp(std::string_view op, size_t k = 0) const { return Is(Ahead(k), TokenKind::kOperator, op); }
  bool IsIdent(size_t k = 0) const { return Ahead(k).kind == TokenKind::kIdentifier; }
  // An unquoted non-reserved word such as FIRST (identifiers are lower-cased).
  bool IsWord(std::string_view lower, size_t k = 0) const {
    return Is(Ahead(k), TokenKind::kIdentifier, lower) && !Ahead(k).quoted;
  }
  bool AcceptKw(std::string_view kw) {
    if (!IsKw(kw)) return false;
    Advance();
    return true;
  }
  bool AcceptOp(std::string_view op) {
    if (!IsOp(op)) return false;
    Advance();
    return true;
  }
  bool StartsQuery(size_t k = 0) const { return IsKw("SELECT", k) || IsKw("WITH", k) || IsOp("(", k); }

  // "expected <what>, found <current token>" at the current token.
  [[gnu::noinline, gnu::cold]] Status Unexpected(std::string_view what) const {
    std::string msg = "expected ";
    msg += what;
    msg += ", found ";
    msg += DescribeToken(Cur());
    if (std::string_view k = MisspelledKeyword(Cur()); !k.empty() && k != what) {
      msg += " (did you mean ";
      msg += k;
      msg += "?)";
    }
    return SqlError(Cur().pos, msg);
  }
  Status ExpectKw(std::string_view kw) {
    if (AcceptKw(kw)) return Status::OK();
    return Unexpected(kw);
  }
  Status ExpectOp(std::string_view op) {
    if (AcceptOp(op)) return Status::OK();
    return Unexpected("'" + std::string(op) + "'");
  }
  // The ')' closing the '(' at `open`.
  [[gnu::noinline]] Status ExpectClose(const SourcePos& open) {
    if (AcceptOp(")")) return Status::OK();
    const std::string what = "')' to match the '(' at " + PosText(open);
    if (Cur().kind == TokenKind::kEnd) {
      return SqlError(Cur().pos, "unbalanced parenthesis: expected " + what + ", found end of input");
    }
    return Unexpected(what);
  }
  Result<std::string> ExpectIdent(std::string_view what) {
    if (!IsIdent()) return Unexpected(what);
    std::string name = Cur().text;
    Advance();
    return name;
  }

  // ---- Limits ----------------------------------------------------------

  // One level of nesting for as long as it lives; check too_deep() first.
  class Nest {
   public:
    explicit Nest(Parser* p) : p_(p) { ++p_->depth_; }
    ~Nest() { --p_->depth_; }
    Nest(const Nest&) = delete;
    Nest& operator=(const Nest&) = delete;
    bool too_deep() const { return p_->depth_ > kMaxDepth; }

   private:
    Parser* p_;
  };
  [[gnu::noinline, gnu::cold]] Status TooDeep() const {
    return SqlError(Cur().pos, "nesting deeper than " + std::to_string(kMaxDepth) +
                                   " levels (parentheses, subqueries, CASE, function calls, NOT or unary chains)");
  }

  int Height(const void* node) const {
    if (node == nullptr) return 0;
    auto it = height_.find(node);
    return it == height_.end() ? 1 : it->second;
  }
  int Height(const std::vector<ExprPtr>& v) const {
    int h = 0;
    for (const ExprPtr& e : v) h = std::max(h, Height(e.get()));
    return h;
  }
  int Height(const std::vector<OrderItem>& v) const {
    int h = 0;
    for (const OrderItem& o : v) h = std::max(h, Height(o.expr.get()));
    return h;
  }
  Status Record(const void* node, int children, SourcePos pos) {
    const int h = children + 1;
    if (h > kMaxHeight) {
      return SqlError(pos, "expression too deep: its syntax tree has more than " + std::to_string(kMaxHeight) +
                               " levels (for a long chain of ORs use IN (...))");
    }
    if (h > 1) height_[node] = h;
    return Status::OK();
  }
  // Records the height of a finished composite node (all children set).
  Result<ExprPtr> Seal(ExprPtr e) {
    int h = std::max({Height(e->args), Height(e->case_operand.get()), Height(e->else_expr.get()),
                      Height(e->subquery.get()), Height(e->partition_by), Height(e->window_order)});
    for (const auto& [w, t] : e->whens) h = std::max({h, Height(w.get()), Height(t.get())});
    SLAF_RETURN_IF_ERROR(Record(e.get(), h, e->pos));
    return e;
  }
  Status SealQuery(const Query& q) {
    int h = std::max({Height(q.order_by), Height(q.limit.get()), Height(q.offset.get())});
    for (const CommonTable& c : q.with) h = std::max(h, Height(c.query.get()));
    for (const SelectCore& c : q.cores) {
      for (const SelectItem& it : c.items) h = std::max(h, Height(it.expr.get()));
      for (const TableRef& r : c.from) h = std::max(h, Height(r.subquery.get()));
      for (const JoinClause& j : c.joins) h = std::max({h, Height(j.table.subquery.get()), Height(j.on.get())});
      h = std::max({h, Height(c.where.get()), Height(c.group_by), Height(c.having.get())});
    }
    return Record(&q, h, q.pos);
  }

  static ExprPtr Make(ExprKind kind, SourcePos pos) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->pos = pos;
    return e;
  }
  Result<ExprPtr> MakeBinary(std::string op, SourcePos pos, ExprPtr l, ExprPtr r) {
    ExprPtr e = Make(ExprKind::kBinary, pos);
    e->op = std::move(op);
    e->args.push_back(std::move(l));
    e->args.push_back(std::move(r));
    return Seal(std::move(e));
  }

  // ---- Queries ---------------------------------------------------------
  //
  // The functions on the recursion paths of nested queries (ParseQuery,
  // ParseOperands, ParseCore, ParseFrom, ParseTableRef) fill objects in
  // place instead of returning them in Results, and leave the clauses that
  // don't recurse to separate functions, to keep each level's stack small.

  Result<QueryPtr> ParseQuery() {
    Nest nest(this);
    if (nest.too_deep()) return TooDeep();
    auto q = std::make_unique<Query>();
    q->pos = Cur().pos;
    if (IsKw("WITH")) SLAF_RETURN_IF_ERROR(ParseWith(q.get()));
    QueryPtr lone;  // set when the query is a single parenthesized query
    SLAF_RETURN_IF_ERROR(ParseOperands(q.get(), &lone));
    SourcePos order_pos, limit_pos;
    SLAF_RETURN_IF_ERROR(ParseOrderLimit(q.get(), &order_pos, &limit_pos));
    if (lone) SLAF_RETURN_IF_ERROR(MergeLone(&q, std::move(lone), order_pos, limit_pos));
    SLAF_RETURN_IF_ERROR(SealQuery(*q));
    return q;
  }

  // REQUIRES: the current token is WITH.
  [[gnu::noinline]] Status ParseWith(Query* q) {
    Advance();
    if (IsWord("recursive") && IsIdent(1)) return SqlError(Cur().pos, "WITH RECURSIVE is not supported");
    do {
      CommonTable& ct = q->with.emplace_back();
      ct.pos = Cur().pos;
      SLAF_ASSIGN_OR_RETURN(ct.name, ExpectIdent("a name for the WITH query"));
      SLAF_RETURN_IF_ERROR(ExpectKw("AS"));
      const SourcePos open = Cur().pos;
      SLAF_RETURN_IF_ERROR(ExpectOp("("));
      if (!StartsQuery()) return Unexpected("SELECT");
      SLAF_ASSIGN_OR_RETURN(ct.query, ParseQuery());
      SLAF_RETURN_IF_ERROR(ExpectClose(open));
    } while (AcceptOp(","));
    return Status::OK();
  }

  // operand {UNION ALL operand}. A parenthesized first operand that is not
  // followed by UNION goes to *lone.
  [[gnu::noinline]] Status ParseOperands(Query* q, QueryPtr* lone) {
    while (true) {
      if (IsOp("(")) {
        SLAF_RETURN_IF_ERROR(ParseParenthesizedOperand(q, lone));
      } else if (IsKw("SELECT")) {
        SLAF_RETURN_IF_ERROR(ParseCore(&q->cores.emplace_back()));
      } else {
        return Unexpected("SELECT");
      }
      if (IsKw("UNION")) {
        const SourcePos pos = Cur().pos;
        Advance();
        if (!AcceptKw("ALL")) return SqlError(pos, "only UNION ALL is supported (UNION without ALL is not)");
        continue;
      }
      if (IsKw("INTERSECT") || IsKw("EXCEPT")) {
        return SqlError(Cur().pos, Cur().text + " is not supported; only UNION ALL is supported");
      }
      return Status::OK();
    }
  }

  // REQUIRES: the current token is '('.
  [[gnu::noinline]] Status ParseParenthesizedOperand(Query* q, QueryPtr* lone) {
    const SourcePos open = Cur().pos;
    Advance();
    if (!StartsQuery()) return Unexpected("SELECT");
    SLAF_ASSIGN_OR_RETURN(QueryPtr inner, ParseQuery());
    SLAF_RETURN_IF_ERROR(ExpectClose(open));
    if (q->cores.empty() && !IsKw("UNION")) {
      *lone = std::move(inner);
      return Status::OK();
    }
    if (!inner->with.empty() || !inner->order_by.empty() || inner->limit || inner->offset) {
      return SqlError(open, "a parenthesized query in UNION ALL can't have WITH, ORDER BY or LIMIT");
    }
    for (SelectCore& c : inner->cores) q->cores.push_back(std::move(c));
    return Status::OK();
  }

  [[gnu::noinline]] Status ParseOrderLimit(Query* q, SourcePos* order_pos, SourcePos* limit_pos) {
    if (IsKw("ORDER")) {
      *order_pos = Cur().pos;
      Advance();
      SLAF_RETURN_IF_ERROR(ExpectKw("BY"));
      SLAF_ASSIGN_OR_RETURN(q->order_by, ParseOrderItems());
    }
    if (IsKw("LIMIT")) {
      *limit_pos = Cur().pos;
      Advance();
      SLAF_ASSIGN_OR_RETURN(q->limit, ParseExpr());
      if (IsOp(",")) return SqlError(Cur().pos, "LIMIT a, b is not supported; use LIMIT n OFFSET m");
      if (AcceptKw("OFFSET")) {
        SLAF_ASSIGN_OR_RETURN(q->offset, ParseExpr());
      }
    }
    return Status::OK();
  }

  // (query) [ORDER BY ...] [LIMIT ...]: the inner query, with the outer
  // WITH, ORDER BY and LIMIT moved in when that keeps the meaning.
  [[gnu::noinline]] Status MergeLone(QueryPtr* outer, QueryPtr lone, SourcePos order_pos, SourcePos limit_pos) {
    Query& q = **outer;
    const bool inner_limited = lone->limit || lone->offset;
    if (!q.order_by.empty()) {
      if (!lone->order_by.empty() || inner_limited) {
        return SqlError(order_pos, "ORDER BY after a parenthesized query that has its own ORDER BY or LIMIT is not supported");
      }
      lone->order_by = std::move(q.order_by);
    }
    if (q.limit) {
      if (inner_limited) {
        return SqlError(limit_pos, "LIMIT after a parenthesized query that has its own LIMIT is not supported");
      }
      lone->limit = std::move(q.limit);
      lone->offset = std::move(q.offset);
    }
    if (!q.with.empty()) {
      for (CommonTable& c : lone->with) q.with.push_back(std::move(c));
      lone->with = std::move(q.with);
    }
    lone->pos = q.pos;
    *outer = std::move(lone);
    return Status::OK();
  }

  Result<std::vector<OrderItem>> ParseOrderItems() {
    std::vector<OrderItem> items;
    do {
      OrderItem& it = items.emplace_back();
      SLAF_ASSIGN_OR_RETURN(it.expr, ParseExpr());
      if (AcceptKw("DESC")) {
        it.desc = true;
      } else {
        AcceptKw("ASC");
      }
      if (AcceptKw("NULLS")) {
        if (IsWord("first")) {
          it.nulls = OrderItem::Nulls::kFirst;
        } else if (IsWord("last")) {
          it.nulls = OrderItem::Nulls::kLast;
        } else {
          return Unexpected("FIRST or LAST after NULLS");
        }
        Advance();
      }
    } while (AcceptOp(","));
    return items;
  }

  // After an item that may have taken an alias without AS: an identifier,
  // number or string here can't continue the query. If the alias looks like
  // a misspelled keyword ("FORM"), that is the error.
  [[gnu::noinline]] Status CheckAfterItem(const Token* implicit_alias, std::string_view expected) {
    const TokenKind k = Cur().kind;
    const bool stray_by = IsKw("BY");  // "ODRER BY": the alias was meant as ORDER
    if (k != TokenKind::kIdentifier && k != TokenKind::kInteger && k != TokenKind::kFloat &&
        k != TokenKind::kString && !stray_by) {
      return Status::OK();
    }
    if (std::string_view kw = MisspelledKeyword(Cur()); !kw.empty()) return Unexpected(kw);
    if (implicit_alias != nullptr) {
      if (std::string_view kw = MisspelledKeyword(*implicit_alias); !kw.empty()) {
        return SqlError(implicit_alias->pos,
                        "expected " + std::string(kw) + ", found " + DescribeToken(*implicit_alias));
      }
    }
    return Unexpected(expected);
  }

  // REQUIRES: the current token is SELECT.
  [[gnu::noinline]] Status ParseCore(SelectCore* c) {
    c->pos = Cur().pos;
    Advance();
    if (AcceptKw("DISTINCT")) {
      c->distinct = true;
    } else {
      AcceptKw("ALL");
    }
    const Token* alias = nullptr;
    do {
      alias = nullptr;
      SLAF_RETURN_IF_ERROR(ParseSelectItem(&c->items.emplace_back(), &alias));
    } while (AcceptOp(","));
    SLAF_RETURN_IF_ERROR(CheckAfterItem(alias, "',' or FROM"));
    if (AcceptKw("FROM")) SLAF_RETURN_IF_ERROR(ParseFrom(c));
    if (AcceptKw("WHERE")) {
      SLAF_ASSIGN_OR_RETURN(c->where, ParseExpr());
    }
    if (AcceptKw("GROUP")) {
      SLAF_RETURN_IF_ERROR(ExpectKw("BY"));
      do {
        SLAF_ASSIGN_OR_RETURN(c->group_by.emplace_back(), ParseExpr());
      } while (AcceptOp(","));
    }
    if (AcceptKw("HAVING")) {
      SLAF_ASSIGN_OR_RETURN(c->having, ParseExpr());
    }
    return Status::OK();
  }

  // After FROM: table_ref {',' table_ref} {[INNER] JOIN table_ref ON expr}.
  [[gnu::noinline]] Status ParseFrom(SelectCore* c) {
    const Token* table_alias = nullptr;
    do {
      SLAF_RETURN_IF_ERROR(ParseTableRef(&c->from.emplace_back(), &table_alias));
    } while (AcceptOp(","));
    while (true) {
      SLAF_RETURN_IF_ERROR(CheckAfterItem(table_alias, "JOIN, WHERE, GROUP BY, ORDER BY, LIMIT or end of query"));
      table_alias = nullptr;
      if (IsKw("JOIN") || IsKw("INNER")) {
        JoinClause& j = c->joins.emplace_back();
        j.pos = Cur().pos;
        if (AcceptKw("INNER")) {
          SLAF_RETURN_IF_ERROR(ExpectKw("JOIN"));
        } else {
          Advance();
        }
        SLAF_RETURN_IF_ERROR(ParseTableRef(&j.table, &table_alias));
        if (IsKw("USING")) {
          return SqlError(Cur().pos, "USING is not supported; only inner joins with ON are supported (JOIN t ON a.x = t.x)");
        }
        if (!IsKw("ON")) {
          SLAF_RETURN_IF_ERROR(CheckAfterItem(table_alias, "ON"));
          return Unexpected("ON");
        }
        Advance();
        SLAF_ASSIGN_OR_RETURN(j.on, ParseExpr());
        table_alias = nullptr;
      } else if (IsKw("LEFT") || IsKw("RIGHT") || IsKw("FULL") || IsKw("OUTER")) {
        return SqlError(Cur().pos, "outer joins (" + Cur().text +
                                       ") are not supported; only inner joins are supported ([INNER] JOIN t ON ...)");
      } else if (IsKw("CROSS") || IsKw("NATURAL")) {
        return SqlError(Cur().pos, Cur().text + " JOIN is not supported; only inner joins are supported "
                                                "([INNER] JOIN t ON ..., or tables separated by ',')");
      } else if (IsOp(",") && !c->joins.empty()) {
        return SqlError(Cur().pos, "a table list with ',' must come before the JOINs; use JOIN ... ON here");
      } else {
        return Status::OK();
      }
    }
  }

  // Sets *implicit_alias to the alias token when the alias had no AS.
  Status ParseSelectItem(SelectItem* it, const Token** implicit_alias) {
    if (IsOp("*")) {
      it->expr = Make(ExprKind::kStar, Cur().pos);
      Advance();
      return Status::OK();
    }
    if (IsIdent() && IsOp(".", 1) && IsOp("*", 2)) {
      it->expr = Make(ExprKind::kStar, Cur().pos);
      it->expr->qualifier = Cur().text;
      Advance();
      Advance();
      Advance();
      return Status::OK();
    }
    SLAF_ASSIGN_OR_RETURN(it->expr, ParseExpr());
    return ParseAlias(&it->alias, implicit_alias);
  }

  // [AS] alias; sets *implicit_alias when there was no AS.
  [[gnu::noinline]] Status ParseAlias(std::string* alias, const Token** implicit_alias) {
    if (AcceptKw("AS")) {
      SLAF_ASSIGN_OR_RETURN(*alias, ExpectIdent("an alias after AS"));
    } else if (IsIdent()) {
      *implicit_alias = &Cur();
      *alias = Cur().text;
      Advance();
    }
    return Status::OK();
  }

  [[gnu::noinline]] Status ParseTableRef(TableRef* r, const Token** implicit_alias) {
    r->pos = Cur().pos;
    *implicit_alias = nullptr;
    if (IsOp("(")) {
      const SourcePos open = Cur().pos;
      Advance();
      if (!StartsQuery()) return Unexpected("SELECT (joins in parentheses are not supported)");
      SLAF_ASSIGN_OR_RETURN(r->subquery, ParseQuery());
      SLAF_RETURN_IF_ERROR(ExpectClose(open));
    } else if (IsIdent()) {
      r->name = Cur().text;
      Advance();
      if (IsOp(".")) return SqlError(Cur().pos, "qualified table names (schema.table) are not supported");
      if (IsOp("(")) return SqlError(Cur().pos, "table functions are not supported");
    } else {
      return Unexpected("a table name or (SELECT ...)");
    }
    SLAF_RETURN_IF_ERROR(ParseAlias(&r->alias, implicit_alias));
    if (r->subquery && r->alias.empty()) {
      return SqlError(Cur().pos, "a subquery in FROM needs an alias: (SELECT ...) AS name; found " +
                                     DescribeToken(Cur()));
    }
    return Status::OK();
  }

  // ---- Expressions -----------------------------------------------------
  //
  // Precedence climbing: ParseExpr(min) parses an operand, then every binary
  // or comparison operator binding at least as tightly as `min`. A nested
  // parenthesis costs two stack frames (ParseExpr, ParsePrimary) instead of
  // one per precedence level, and the rarely used constructs live in
  // separate, not inlined functions so that these two frames stay small.

  enum Prec : int {
    kPrecOr = 1,
    kPrecAnd = 2,
    kPrecNot = 3,
    kPrecCompare = 4,
    kPrecConcat = 5,
    kPrecAdd = 6,
    kPrecMul = 7,
    kPrecUnary = 8,
  };

  // The binary operator at the current token and its precedence, or 0.
  int BinaryPrec() const {
    const Token& t = Cur();
    if (t.kind == TokenKind::kKeyword) {
      if (t.text == "OR") return kPrecOr;
      if (t.text == "AND") return kPrecAnd;
      if (t.text == "IS" || t.text == "IN" || t.text == "BETWEEN" || t.text == "LIKE") return kPrecCompare;
      if (t.text == "NOT" && (IsKw("IN", 1) || IsKw("BETWEEN", 1) || IsKw("LIKE", 1))) return kPrecCompare;
      return 0;
    }
    if (t.kind != TokenKind::kOperator) return 0;
    const std::string& s = t.text;
    if (s == "=" || s == "==" || s == "<>" || s == "!=" || s == "<" || s == "<=" || s == ">" || s == ">=") {
      return kPrecCompare;
    }
    if (s == "||") return kPrecConcat;
    if (s == "+" || s == "-") return kPrecAdd;
    if (s == "*" || s == "/" || s == "%") return kPrecMul;
    return 0;
  }

  Result<ExprPtr> ParseExpr(int min_prec = kPrecOr) {
    ExprPtr left;
    if (min_prec <= kPrecNot && IsKw("NOT")) {
      SLAF_ASSIGN_OR_RETURN(left, ParsePrefix(kPrecNot));
    } else if (IsOp("-") || IsOp("+")) {
      SLAF_ASSIGN_OR_RETURN(left, ParsePrefix(kPrecUnary));
    } else {
      SLAF_ASSIGN_OR_RETURN(left, ParsePrimary());
    }
    while (true) {
      const int p = BinaryPrec();
      if (p == 0 || p < min_prec) return left;
      // Comparisons, IS, IN, BETWEEN and LIKE are left-associative, like the
      // arithmetic operators: a = b = c is (a = b) = c.
      SLAF_ASSIGN_OR_RETURN(left, ParseInfix(std::move(left), p));
    }
  }

  // NOT x or -x / +x: the operand binds at `prec` (NOT a = b is NOT (a = b);
  // -a * b is (-a) * b). -<number> folds to a negative literal, which is how
  // INT64_MIN is written.
  [[gnu::noinline]] Result<ExprPtr> ParsePrefix(int prec) {
    Nest nest(this);
    if (nest.too_deep()) return TooDeep();
    const Token& op = Cur();
    Advance();
    if (op.text == "-" && (Cur().kind == TokenKind::kInteger || Cur().kind == TokenKind::kFloat)) {
      ExprPtr e = NumberLiteral(Cur(), /*negate=*/true, op.pos);
      Advance();
      return e;
    }
    ExprPtr e = Make(ExprKind::kUnary, op.pos);
    e->op = op.text;
    SLAF_ASSIGN_OR_RETURN(ExprPtr arg, ParseExpr(prec));
    e->args.push_back(std::move(arg));
    return Seal(std::move(e));
  }

  // The operator at the current token (of precedence `prec`) and its right
  // side, applied to `left`.
  [[gnu::noinline]] Result<ExprPtr> ParseInfix(ExprPtr left, int prec) {
    const Token& op = Cur();
    if (prec != kPrecCompare || op.kind == TokenKind::kOperator) {
      std::string name = op.text;
      if (name == "==") name = "=";
      if (name == "!=") name = "<>";
      Advance();
      SLAF_ASSIGN_OR_RETURN(ExprPtr right, ParseExpr(prec + 1));
      return MakeBinary(std::move(name), op.pos, std::move(left), std::move(right));
    }
    if (AcceptKw("IS")) {
      ExprPtr e = Make(ExprKind::kIsNull, left->pos);
      e->negated = AcceptKw("NOT");
      if (!AcceptKw("NULL")) return Unexpected(e->negated ? "NULL after IS NOT" : "NULL or NOT NULL after IS");
      e->args.push_back(std::move(left));
      return Seal(std::move(e));
    }
    const bool negated = AcceptKw("NOT");
    if (IsKw("IN")) return ParseIn(std::move(left), negated);
    ExprPtr e = Make(IsKw("LIKE") ? ExprKind::kLike : ExprKind::kBetween, left->pos);
    Advance();
    e->negated = negated;
    e->args.push_back(std::move(left));
    // The operands bind tighter than comparisons: x BETWEEN 1 AND 2 AND y
    // is (x BETWEEN 1 AND 2) AND y.
    SLAF_ASSIGN_OR_RETURN(ExprPtr arg, ParseExpr(kPrecConcat));
    e->args.push_back(std::move(arg));
    if (e->kind == ExprKind::kBetween) {
      SLAF_RETURN_IF_ERROR(ExpectKw("AND"));
      SLAF_ASSIGN_OR_RETURN(ExprPtr hi, ParseExpr(kPrecConcat));
      e->args.push_back(std::move(hi));
    }
    return Seal(std::move(e));
  }

  // REQUIRES: the current token is IN.
  [[gnu::noinline]] Result<ExprPtr> ParseIn(ExprPtr left, bool negated) {
    Advance();
    Nest nest(this);
    if (nest.too_deep()) return TooDeep();
    const SourcePos open = Cur().pos;
    if (!AcceptOp("(")) return Unexpected("'(' after IN");
    ExprPtr e = Make(ExprKind::kInList, left->pos);
    e->negated = negated;
    e->args.push_back(std::move(left));
    // IN (SELECT ...), IN ((SELECT ...) UNION ALL ...): a query. A scalar
    // subquery inside an IN list is not supported either way.
    size_t k = 0;
    while (IsOp("(", k)) ++k;
    if (IsKw("SELECT", k) || IsKw("WITH", k)) {
      e->kind = ExprKind::kInSubquery;
      SLAF_ASSIGN_OR_RETURN(e->subquery, ParseQuery());
    } else {
      do {
        SLAF_ASSIGN_OR_RETURN(ExprPtr item, ParseExpr());
        e->args.push_back(std::move(item));
      } while (AcceptOp(","));
    }
    SLAF_RETURN_IF_ERROR(ExpectClose(open));
    return Seal(std::move(e));
  }

  static ExprPtr NumberLiteral(const Token& t, bool negate, SourcePos pos) {
    ExprPtr e = Make(ExprKind::kLiteral, pos);
    constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    if (t.kind == TokenKind::kInteger && !t.integer_overflow && t.integer <= kMax + (negate ? 1 : 0)) {
      if (!negate) {
        e->literal = static_cast<int64_t>(t.integer);
      } else if (t.integer == kMax + 1) {
        e->literal = std::numeric_limits<int64_t>::min();
      } else {
        e->literal = -static_cast<int64_t>(t.integer);
      }
    } else {
      e->literal = negate ? -t.real : t.real;
    }
    return e;
  }

  Result<ExprPtr> ParsePrimary() {
    const Token& t = Cur();
    switch (t.kind) {
      case TokenKind::kInteger:
      case TokenKind::kFloat: {
        ExprPtr e = NumberLiteral(t, /*negate=*/false, t.pos);
        Advance();
        return e;
      }
      case TokenKind::kString: {
        ExprPtr e = Make(ExprKind::kLiteral, t.pos);
        e->literal = t.text;
        Advance();
        return e;
      }
      case TokenKind::kKeyword:
        if (t.text == "NULL" || t.text == "TRUE" || t.text == "FALSE") {
          ExprPtr e = Make(ExprKind::kLiteral, t.pos);
          if (t.text == "NULL") {
            e->literal = Null{};
          } else {
            e->literal = t.text == "TRUE";
          }
          Advance();
          return e;
        }
        if (t.text == "CASE") return ParseCase();
        if (t.text == "CAST") return ParseCast();
        break;
      case TokenKind::kIdentifier:
        if (IsOp("(", 1)) return ParseFunction();
        return ParseColumn();
      case TokenKind::kOperator:
        if (t.text == "(") return ParseParenthesized();
        break;
      case TokenKind::kEnd: break;
    }
    return Unexpected("an expression");
  }

  [[gnu::noinline]] Result<ExprPtr> ParseColumn() {
    const Token& t = Cur();
    ExprPtr e = Make(ExprKind::kColumn, t.pos);
    if (IsOp(".", 1)) {
      if (IsOp("*", 2)) return SqlError(t.pos, "'" + t.text + ".*' is only allowed in the select list");
      e->qualifier = t.text;
      Advance();
      Advance();
      if (!IsIdent()) return Unexpected("a column name after '" + e->qualifier + ".'");
    }
    e->name = Cur().text;
    Advance();
    return e;
  }

  [[gnu::noinline]] Result<ExprPtr> ParseParenthesized() {
    Nest nest(this);
    if (nest.too_deep()) return TooDeep();
    const SourcePos open = Cur().pos;
    Advance();
    if (IsKw("SELECT") || IsKw("WITH")) {
      return SqlError(open, "scalar subqueries are not supported; use IN (SELECT ...) or a join");
    }
    SLAF_ASSIGN_OR_RETURN(ExprPtr e, ParseExpr());
    SLAF_RETURN_IF_ERROR(ExpectClose(open));
    return e;
  }

  // REQUIRES: identifier followed by '('.
  [[gnu::noinline]] Result<ExprPtr> ParseFunction() {
    Nest nest(this);
    if (nest.too_deep()) return TooDeep();
    ExprPtr e = Make(ExprKind::kFunction, Cur().pos);
    e->name = Upper(Cur().text);
    Advance();
    const SourcePos open = Cur().pos;
    Advance();  // '('
    if (e->name == "EXISTS" && (IsKw("SELECT") || IsKw("WITH"))) {
      return SqlError(e->pos, "EXISTS is not supported; use IN (SELECT ...) or a join");
    }
    if (IsOp("*")) {
      if (e->name != "COUNT") return SqlError(Cur().pos, "only COUNT accepts '*' as its argument");
      e->star_arg = true;
      Advance();
      SLAF_RETURN_IF_ERROR(ExpectClose(open));
    } else if (!AcceptOp(")")) {
      if (AcceptKw("DISTINCT")) {
        e->distinct = true;
      } else {
        AcceptKw("ALL");
      }
      do {
        SLAF_ASSIGN_OR_RETURN(ExprPtr arg, ParseExpr());
        e->args.push_back(std::move(arg));
      } while (AcceptOp(","));
      SLAF_RETURN_IF_ERROR(ExpectClose(open));
    }
    if (AcceptKw("OVER")) {
      const SourcePos wopen = Cur().pos;
      if (!AcceptOp("(")) return Unexpected("'(' after OVER (named windows are not supported)");
      e->over = true;
      if (AcceptKw("PARTITION")) {
        SLAF_RETURN_IF_ERROR(ExpectKw("BY"));
        do {
          SLAF_ASSIGN_OR_RETURN(ExprPtr p, ParseExpr());
          e->partition_by.push_back(std::move(p));
        } while (AcceptOp(","));
      }
      if (AcceptKw("ORDER")) {
        SLAF_RETURN_IF_ERROR(ExpectKw("BY"));
        SLAF_ASSIGN_OR_RETURN(e->window_order, ParseOrderItems());
      }
      if (IsWord("rows") || IsWord("range") || IsWord("groups")) {
        return SqlError(Cur().pos, "window frames (ROWS, RANGE, GROUPS) are not supported");
      }
      SLAF_RETURN_IF_ERROR(ExpectClose(wopen));
    }
    return Seal(std::move(e));
  }

  [[gnu::noinline]] Result<ExprPtr> ParseCase() {
    Nest nest(this);
    if (nest.too_deep()) return TooDeep();
    ExprPtr e = Make(ExprKind::kCase, Cur().pos);
    Advance();
    if (!IsKw("WHEN")) {
      SLAF_ASSIGN_OR_RETURN(e->case_operand, ParseExpr());
      if (!IsKw("WHEN")) return Unexpected("WHEN");
    }
    while (AcceptKw("WHEN")) {
      SLAF_ASSIGN_OR_RETURN(ExprPtr when, ParseExpr());
      SLAF_RETURN_IF_ERROR(ExpectKw("THEN"));
      SLAF_ASSIGN_OR_RETURN(ExprPtr then, ParseExpr());
      e->whens.emplace_back(std::move(when), std::move(then));
    }
    if (AcceptKw("ELSE")) {
      SLAF_ASSIGN_OR_RETURN(e->else_expr, ParseExpr());
    }
    if (!AcceptKw("END")) return Unexpected("END to close the CASE at " + PosText(e->pos));
    return Seal(std::move(e));
  }

  [[gnu::noinline]] Result<ExprPtr> ParseCast() {
    Nest nest(this);
    if (nest.too_deep()) return TooDeep();
    ExprPtr e = Make(ExprKind::kCast, Cur().pos);
    Advance();
    const SourcePos open = Cur().pos;
    if (!AcceptOp("(")) return Unexpected("'(' after CAST");
    SLAF_ASSIGN_OR_RETURN(ExprPtr arg, ParseExpr());
    e->args.push_back(std::move(arg));
    SLAF_RETURN_IF_ERROR(ExpectKw("AS"));
    if (!IsIdent() || Cur().quoted) return Unexpected("a type name such as INTEGER, DOUBLE or TEXT");
    e->cast_type = Upper(Cur().text);
    Advance();
    if (IsIdent() && !Cur().quoted) {  // DOUBLE PRECISION
      e->cast_type += " " + Upper(Cur().text);
      Advance();
    }
    if (IsOp("(")) {  // VARCHAR(20), DECIMAL(10, 2): the length is dropped
      const SourcePos len_open = Cur().pos;
      Advance();
      if (Cur().kind != TokenKind::kInteger) return Unexpected("a length");
      Advance();
      if (AcceptOp(",")) {
        if (Cur().kind != TokenKind::kInteger) return Unexpected("a scale");
        Advance();
      }
      SLAF_RETURN_IF_ERROR(ExpectClose(len_open));
    }
    SLAF_RETURN_IF_ERROR(ExpectClose(open));
    return Seal(std::move(e));
  }

  std::vector<Token> t_;
  size_t i_ = 0;
  int depth_ = -1;  // the statement's own query is level 0, not nesting
  std::unordered_map<const void*, int> height_;
};

}  // namespace

Result<Statement> Parse(std::string_view sql) {
  SLAF_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(sql));
  Parser parser(std::move(tokens));
  return parser.ParseStatement();
}

}  // namespace slaf::sql
