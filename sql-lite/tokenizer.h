// The SQL tokenizer: turns the text of one statement into tokens with their
// source positions (byte offset, 1-based line and column, columns counted in
// bytes).
//
// Lexical rules:
//  - Identifiers: [A-Za-z_][A-Za-z0-9_$]* (bytes >= 0x80 also count as
//    letters, so UTF-8 names work), lower-cased (ASCII only); or "quoted",
//    case kept, "" inside for a quote. An empty "" is an error.
//  - Keywords: the reserved words below, matched case-insensitively and
//    returned upper-case. Other words (COUNT, FIRST, VALUE, INTEGER...) are
//    identifiers; the parser recognises the few it needs by their text.
//    A quoted identifier is never a keyword.
//  - Numbers: digits -> kInteger (value in `integer`; `integer_overflow` when
//    it does not fit in uint64); digits with '.' and/or an exponent
//    (1.5, .5, 1., 1e-3, 2E+4) -> kFloat. A number running into a letter
//    (12abc, 1e) is an error.
//  - Strings: 'it''s' -> kString with text "it's"; may span lines.
//  - Operators: + - * / % || = == <> != < <= > >= ( ) , . ;  ("==" and "!="
//    keep their spelling here; the parser maps them to "=" and "<>").
//  - Comments: -- to end of line, /* ... */ (not nested).
// An unterminated string, quoted identifier or block comment is an error at
// its first character; any other unexpected byte is an error naming it.
// Every error is SqlError(pos, ...), i.e. "SQL error at L:C: ...".
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sql-lite/ast.h"
#include "slaf/status.h"

namespace slaf::sql {

enum class TokenKind : uint8_t {
  kIdentifier,
  kKeyword,
  kInteger,
  kFloat,
  kString,
  kOperator,
  kEnd,  // always the last token; its position is just past the input
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  // kIdentifier: the name (lower-cased unless quoted); kKeyword: upper-case;
  // kString: the value with '' unescaped; kOperator: as written;
  // kInteger, kFloat: the digits as written.
  std::string text;
  // The token exactly as written (quotes included); a view into the input.
  std::string_view raw;
  SourcePos pos;
  bool quoted = false;             // kIdentifier written as "..."
  uint64_t integer = 0;            // kInteger, when !integer_overflow
  bool integer_overflow = false;   // kInteger larger than UINT64_MAX
  double real = 0;                 // kFloat; kInteger too (its value as double)
};

// True if `upper` (already upper-case) is a reserved keyword.
bool IsReservedKeyword(std::string_view upper);

// Tokenizes all of `sql`; the result ends with one kEnd token.
// Inputs of 4 GiB or more are rejected (positions are 32-bit).
Result<std::vector<Token>> Tokenize(std::string_view sql);

// How a token is named in "found ..." parts of messages: 'FORM', string
// 'abc', end of input. Long tokens are cut to 40 bytes plus "...".
std::string DescribeToken(const Token& t);

}  // namespace slaf::sql
