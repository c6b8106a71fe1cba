#include "sql-lite/tokenizer.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace slaf::sql {
namespace {

// Kept sorted for binary search. Besides the keywords the grammar uses, the
// unsupported set operations and join forms (INTERSECT, EXCEPT, NATURAL,
// USING) are reserved so that they are reported as unsupported rather than
// being taken as aliases.
constexpr std::array<std::string_view, 48> kReserved = {
    "ALL",     "AND",       "AS",      "ASC",      "BETWEEN", "BY",      "CASE",    "CAST",
    "CROSS",   "DESC",      "DISTINCT", "ELSE",    "END",     "EXCEPT",  "EXPLAIN", "FALSE",
    "FROM",    "FULL",      "GROUP",   "HAVING",   "IN",      "INNER",   "INTERSECT", "IS",
    "JOIN",    "LEFT",      "LIKE",    "LIMIT",    "NATURAL", "NOT",     "NULL",    "NULLS",
    "OFFSET",  "ON",        "OR",      "ORDER",    "OUTER",   "OVER",    "PARTITION", "RIGHT",
    "SELECT",  "THEN",      "TRUE",    "UNION",    "USING",   "WHEN",    "WHERE",   "WITH",
};
static_assert(std::is_sorted(kReserved.begin(), kReserved.end()));

bool IsIdentStart(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}
bool IsIdentChar(unsigned char c) { return IsIdentStart(c) || (c >= '0' && c <= '9') || c == '$'; }
bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}
std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Parses a decimal number (digits, optional fraction and exponent) as a
// double; false if it overflows to infinity. Underflow gives 0 or a
// subnormal, as strtod does.
bool ToDouble(std::string_view digits, double* out) {
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), *out);
  if (ec == std::errc() && ptr == digits.data() + digits.size()) return std::isfinite(*out);
  // from_chars reports both overflow and underflow as out of range; strtod
  // tells them apart.
  std::string copy(digits);
  errno = 0;
  *out = std::strtod(copy.c_str(), nullptr);
  return std::isfinite(*out);
}

class Lexer {
 public:
  explicit Lexer(std::string_view sql) : sql_(sql) {}

  Result<std::vector<Token>> Run() {
    std::vector<Token> tokens;
    while (true) {
      SLAF_RETURN_IF_ERROR(SkipSpaceAndComments());
      if (at_ >= sql_.size()) break;
      Token t;
      SLAF_RETURN_IF_ERROR(Next(&t));
      tokens.push_back(std::move(t));
    }
    Token end;
    end.kind = TokenKind::kEnd;
    end.pos = Pos();
    end.raw = sql_.substr(sql_.size());
    tokens.push_back(std::move(end));
    return tokens;
  }

 private:
  SourcePos Pos() const {
    return SourcePos{static_cast<uint32_t>(at_), line_, static_cast<uint32_t>(at_ - line_start_ + 1)};
  }
  unsigned char Peek(size_t ahead = 0) const {
    return at_ + ahead < sql_.size() ? static_cast<unsigned char>(sql_[at_ + ahead]) : 0;
  }
  bool HasAt(size_t ahead) const { return at_ + ahead < sql_.size(); }
  void Advance() {
    if (sql_[at_] == '\n') {
      ++line_;
      line_start_ = at_ + 1;
    }
    ++at_;
  }

  Status SkipSpaceAndComments() {
    while (at_ < sql_.size()) {
      const unsigned char c = Peek();
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
        Advance();
      } else if (c == '-' && Peek(1) == '-') {
        while (at_ < sql_.size() && sql_[at_] != '\n') Advance();
      } else if (c == '/' && Peek(1) == '*') {
        const SourcePos start = Pos();
        Advance();
        Advance();
        while (true) {
          if (at_ >= sql_.size()) return SqlError(start, "unterminated block comment (missing '*/')");
          if (sql_[at_] == '*' && Peek(1) == '/') {
            Advance();
            Advance();
            break;
          }
          Advance();
        }
      } else {
        break;
      }
    }
    return Status::OK();
  }

  Status Next(Token* t) {
    t->pos = Pos();
    const size_t start = at_;
    const unsigned char c = Peek();
    if (IsIdentStart(c)) {
      while (at_ < sql_.size() && IsIdentChar(Peek())) Advance();
      t->raw = sql_.substr(start, at_ - start);
      std::string upper = Upper(t->raw);
      if (IsReservedKeyword(upper)) {
        t->kind = TokenKind::kKeyword;
        t->text = std::move(upper);
      } else {
        t->kind = TokenKind::kIdentifier;
        t->text = Lower(t->raw);
      }
      return Status::OK();
    }
    if (IsDigit(c) || (c == '.' && IsDigit(Peek(1)))) return Number(t);
    if (c == '\'') return Quoted(t, '\'');
    if (c == '"') return Quoted(t, '"');
    // Operators, longest match first.
    static constexpr std::array<std::string_view, 20> kOps = {
        "||", "==", "<>", "!=", "<=", ">=", "+", "-", "*", "/",
        "%",  "=",  "<",  ">",  "(",  ")",  ",", ".", ";", ""};
    for (std::string_view op : kOps) {
      if (op.empty()) break;
      if (sql_.substr(at_, op.size()) == op) {
        for (size_t i = 0; i < op.size(); ++i) Advance();
        t->kind = TokenKind::kOperator;
        t->text = std::string(op);
        t->raw = sql_.substr(start, op.size());
        return Status::OK();
      }
    }
    char buf[64];
    if (c >= 0x21 && c < 0x7f) {
      std::snprintf(buf, sizeof buf, "unexpected character '%c'", c);
    } else {
      std::snprintf(buf, sizeof buf, "unexpected character 0x%02X", c);
    }
    std::string msg = buf;
    if (c == '|') msg += " (string concatenation is '||')";
    if (c == '!') msg += " (not-equal is '<>' or '!=')";
    if (c == '`' || c == '[') msg += " (quote identifiers with \"...\")";
    return SqlError(t->pos, msg);
  }

  Status Number(Token* t) {
    const size_t start = at_;
    bool is_float = false;
    while (IsDigit(Peek()) && HasAt(0)) Advance();
    if (HasAt(0) && Peek() == '.') {
      is_float = true;
      Advance();
      while (HasAt(0) && IsDigit(Peek())) Advance();
    }
    if (HasAt(0) && (Peek() == 'e' || Peek() == 'E')) {
      size_t n = 1;
      if (Peek(n) == '+' || Peek(n) == '-') ++n;
      if (HasAt(n) && IsDigit(Peek(n))) {
        is_float = true;
        for (size_t i = 0; i < n; ++i) Advance();
        while (HasAt(0) && IsDigit(Peek())) Advance();
      }
    }
    if (HasAt(0) && IsIdentChar(Peek())) {
      while (HasAt(0) && IsIdentChar(Peek())) Advance();
      std::string shown(sql_.substr(start, std::min<size_t>(at_ - start, 40)));
      return SqlError(t->pos, "malformed number '" + shown + "'");
    }
    t->raw = sql_.substr(start, at_ - start);
    t->text = std::string(t->raw);
    if (!ToDouble(t->raw, &t->real)) {
      std::string shown(t->raw.substr(0, 40));
      if (t->raw.size() > 40) shown += "...";
      return SqlError(t->pos, "number out of range: " + shown);
    }
    if (is_float) {
      t->kind = TokenKind::kFloat;
      return Status::OK();
    }
    t->kind = TokenKind::kInteger;
    auto [ptr, ec] = std::from_chars(t->raw.data(), t->raw.data() + t->raw.size(), t->integer);
    t->integer_overflow = ec != std::errc() || ptr != t->raw.data() + t->raw.size();
    if (t->integer_overflow) t->integer = 0;
    return Status::OK();
  }

  // 'string' or "identifier"; the quote doubled stands for itself.
  Status Quoted(Token* t, char quote) {
    const size_t start = at_;
    Advance();
    std::string value;
    while (true) {
      if (at_ >= sql_.size()) {
        return SqlError(t->pos, quote == '\'' ? "unterminated string literal (no closing ')"
                                              : "unterminated quoted identifier (missing closing \")");
      }
      const char c = sql_[at_];
      if (c == quote) {
        if (Peek(1) == static_cast<unsigned char>(quote) && HasAt(1)) {
          value.push_back(quote);
          Advance();
          Advance();
          continue;
        }
        Advance();
        break;
      }
      value.push_back(c);
      Advance();
    }
    t->raw = sql_.substr(start, at_ - start);
    if (quote == '\'') {
      t->kind = TokenKind::kString;
    } else {
      if (value.empty()) return SqlError(t->pos, "empty quoted identifier \"\"");
      t->kind = TokenKind::kIdentifier;
      t->quoted = true;
    }
    t->text = std::move(value);
    return Status::OK();
  }

  std::string_view sql_;
  size_t at_ = 0;
  uint32_t line_ = 1;
  size_t line_start_ = 0;
};

}  // namespace

bool IsReservedKeyword(std::string_view upper) {
  return std::binary_search(kReserved.begin(), kReserved.end(), upper);
}

Result<std::vector<Token>> Tokenize(std::string_view sql) {
  if (sql.size() >= std::numeric_limits<uint32_t>::max()) {
    return SqlError(SourcePos{}, "statement too long (" + std::to_string(sql.size()) + " bytes; the limit is 4 GiB)");
  }
  return Lexer(sql).Run();
}

std::string DescribeToken(const Token& t) {
  if (t.kind == TokenKind::kEnd) return "end of input";
  std::string_view shown = t.raw.substr(0, 40);
  const bool cut = t.raw.size() > 40;
  std::string out;
  if (t.kind == TokenKind::kString) {
    out = "string ";
    out += shown;
  } else {
    out = "'";
    out += shown;
    if (!cut) out += "'";
  }
  if (cut) out += "...";
  return out;
}

}  // namespace slaf::sql
