// Predicate builders and the small filter language of the CLI:
//   expr    := and ('or' and)*
//   and     := unary ('and' unary)*
//   unary   := 'not' unary | '(' expr ')' | column rest
//   rest    := op literal | 'in' '(' literal (',' literal)* ')' | 'is' ['not'] 'null'
//   op      := = == != <> < <= > >=
//   literal := number | 'text' | "text" | true | false
// Keywords are case-insensitive. Errors give the 1-based character position.
#include <cctype>
#include <charconv>
#include <cstring>

#include "slaf/dataset.h"

namespace slaf {

Predicate Predicate::Compare(std::string column, Op op, Value v) {
  Predicate p;
  p.op = op;
  p.column = std::move(column);
  p.values.push_back(std::move(v));
  return p;
}
Predicate Predicate::In(std::string column, std::vector<Value> values) {
  Predicate p;
  p.op = Op::kIn;
  p.column = std::move(column);
  p.values = std::move(values);
  return p;
}
Predicate Predicate::IsNull(std::string column, bool null) {
  Predicate p;
  p.op = null ? Op::kIsNull : Op::kIsNotNull;
  p.column = std::move(column);
  return p;
}
Predicate Predicate::And(std::vector<Predicate> children) {
  Predicate p;
  p.op = Op::kAnd;
  p.children = std::move(children);
  return p;
}
Predicate Predicate::Or(std::vector<Predicate> children) {
  Predicate p;
  p.op = Op::kOr;
  p.children = std::move(children);
  return p;
}
Predicate Predicate::Not(Predicate child) {
  Predicate p;
  p.op = Op::kNot;
  p.children.push_back(std::move(child));
  return p;
}

namespace {

class FilterParser {
 public:
  explicit FilterParser(std::string_view text) : s_(text) {}

  Result<Predicate> ParseAll() {
    SLAF_ASSIGN_OR_RETURN(Predicate p, Expr(0));
    Skip();
    if (i_ != s_.size()) return Error("unexpected text");
    return p;
  }

 private:
  Status Error(const std::string& what) const {
    std::string near(s_.substr(i_, 20));
    return Status::InvalidArgument("filter, position " + std::to_string(i_ + 1) + ": " + what +
                                   (near.empty() ? " at the end" : " near \"" + near + "\""));
  }
  void Skip() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  // Consumes keyword `kw` (case-insensitive, whole word) if it is next.
  bool Keyword(std::string_view kw) {
    Skip();
    if (s_.size() - i_ < kw.size()) return false;
    for (size_t k = 0; k < kw.size(); ++k) {
      if (std::tolower(static_cast<unsigned char>(s_[i_ + k])) != kw[k]) return false;
    }
    const size_t end = i_ + kw.size();
    if (end < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[end])) || s_[end] == '_')) return false;
    i_ = end;
    return true;
  }
  bool Punct(std::string_view p) {
    Skip();
    if (s_.substr(i_, p.size()) != p) return false;
    i_ += p.size();
    return true;
  }

  Result<Predicate> Expr(int depth) {
    if (depth > 64) return Error("conditions nested too deeply");
    std::vector<Predicate> terms;
    SLAF_ASSIGN_OR_RETURN(Predicate first, AndExpr(depth));
    terms.push_back(std::move(first));
    while (Keyword("or")) {
      SLAF_ASSIGN_OR_RETURN(Predicate next, AndExpr(depth));
      terms.push_back(std::move(next));
    }
    return terms.size() == 1 ? std::move(terms[0]) : Predicate::Or(std::move(terms));
  }
  Result<Predicate> AndExpr(int depth) {
    std::vector<Predicate> terms;
    SLAF_ASSIGN_OR_RETURN(Predicate first, Unary(depth));
    terms.push_back(std::move(first));
    while (Keyword("and")) {
      SLAF_ASSIGN_OR_RETURN(Predicate next, Unary(depth));
      terms.push_back(std::move(next));
    }
    return terms.size() == 1 ? std::move(terms[0]) : Predicate::And(std::move(terms));
  }
  Result<Predicate> Unary(int depth) {
    if (depth > 64) return Error("conditions nested too deeply");
    if (Keyword("not")) {
      SLAF_ASSIGN_OR_RETURN(Predicate inner, Unary(depth + 1));
      return Predicate::Not(std::move(inner));
    }
    if (Punct("(")) {
      SLAF_ASSIGN_OR_RETURN(Predicate inner, Expr(depth + 1));
      if (!Punct(")")) return Error("expected ')'");
      return inner;
    }
    SLAF_ASSIGN_OR_RETURN(std::string column, Identifier());
    if (Keyword("in")) {
      if (!Punct("(")) return Error("expected '(' after IN");
      std::vector<Predicate::Value> values;
      do {
        SLAF_ASSIGN_OR_RETURN(Predicate::Value v, Literal());
        values.push_back(std::move(v));
      } while (Punct(","));
      if (!Punct(")")) return Error("expected ',' or ')' in the IN list");
      return Predicate::In(std::move(column), std::move(values));
    }
    if (Keyword("is")) {
      const bool negated = Keyword("not");
      if (!Keyword("null")) return Error("expected NULL after IS");
      return Predicate::IsNull(std::move(column), !negated);
    }
    using Op = Predicate::Op;
    Op op;
    if (Punct("==") || Punct("=")) op = Op::kEq;
    else if (Punct("!=") || Punct("<>")) op = Op::kNe;
    else if (Punct("<=")) op = Op::kLe;
    else if (Punct(">=")) op = Op::kGe;
    else if (Punct("<")) op = Op::kLt;
    else if (Punct(">")) op = Op::kGt;
    else return Error("expected a comparison (=, !=, <, <=, >, >=), IN or IS after column \"" + column + "\"");
    SLAF_ASSIGN_OR_RETURN(Predicate::Value v, Literal());
    return Predicate::Compare(std::move(column), op, std::move(v));
  }
  Result<std::string> Identifier() {
    Skip();
    if (i_ < s_.size() && s_[i_] == '"') {  // quoted column name
      SLAF_ASSIGN_OR_RETURN(std::string q, Quoted('"'));
      return q;
    }
    const size_t b = i_;
    while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_' || s_[i_] == '.')) ++i_;
    if (i_ == b) return Error("expected a column name");
    return std::string(s_.substr(b, i_ - b));
  }
  Result<std::string> Quoted(char q) {
    const size_t start = i_;
    ++i_;
    std::string out;
    while (i_ < s_.size()) {
      if (s_[i_] == q) {
        if (i_ + 1 < s_.size() && s_[i_ + 1] == q) {  // doubled quote
          out.push_back(q);
          i_ += 2;
          continue;
        }
        ++i_;
        return out;
      }
      out.push_back(s_[i_++]);
    }
    i_ = start;
    return Error("unterminated quoted text");
  }
  Result<Predicate::Value> Literal() {
    Skip();
    if (i_ < s_.size() && (s_[i_] == '\'' || s_[i_] == '"')) {
      SLAF_ASSIGN_OR_RETURN(std::string q, Quoted(s_[i_]));
      return Predicate::Value(std::move(q));
    }
    if (Keyword("true")) return Predicate::Value(true);
    if (Keyword("false")) return Predicate::Value(false);
    const size_t b = i_;
    while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || std::strchr("+-.eE", s_[i_]))) ++i_;
    const std::string_view num = s_.substr(b, i_ - b);
    if (num.empty()) return Error("expected a value (number, 'text', true or false)");
    int64_t iv;
    auto r = std::from_chars(num.data(), num.data() + num.size(), iv);
    if (r.ec == std::errc() && r.ptr == num.data() + num.size()) return Predicate::Value(iv);
    double dv;
    auto rd = std::from_chars(num.data(), num.data() + num.size(), dv);
    if (rd.ec == std::errc() && rd.ptr == num.data() + num.size()) return Predicate::Value(dv);
    i_ = b;
    return Error("malformed number");
  }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

Result<Predicate> Predicate::Parse(std::string_view text) { return FilterParser(text).ParseAll(); }

}  // namespace slaf
