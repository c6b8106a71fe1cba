// Vectorized evaluation of bound expressions over a batch: each node
// evaluates its children to whole vectors, then loops once over the rows.
// NULL handling follows SQL: operators on NULL give NULL, AND/OR use
// three-valued logic, division by zero gives NULL (as SQLite does).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <unordered_set>

#include "sql-lite/plan.h"

namespace slaf::sql {

namespace {

double Num(const Vector& v, size_t r) { return v.type == Type::kDouble ? v.d[r] : static_cast<double>(v.i[r]); }

// Key bytes of one value, for sets and hash tables: equal SQL values give
// equal keys (ints and integral doubles compare as numbers elsewhere, but
// here a column has one type, so the type tag is enough).
void AppendKey(const Vector& v, size_t r, std::string* key) {
  if (v.null(r)) {
    key->push_back('\0');
    return;
  }
  switch (v.type) {
    case Type::kBool:
    case Type::kInt64: {
      key->push_back('i');
      key->append(reinterpret_cast<const char*>(&v.i[r]), 8);
      break;
    }
    case Type::kDouble: {
      double x = v.d[r];
      if (x == 0) x = 0;  // -0.0 == 0.0
      // Integral doubles key like ints so 2 IN (2.0) matches.
      if (x == std::trunc(x) && std::fabs(x) < 9.2e18) {
        const int64_t iv = static_cast<int64_t>(x);
        key->push_back('i');
        key->append(reinterpret_cast<const char*>(&iv), 8);
      } else {
        key->push_back('d');
        key->append(reinterpret_cast<const char*>(&x), 8);
      }
      break;
    }
    case Type::kString: {
      key->push_back('s');
      const uint32_t n = static_cast<uint32_t>(v.s[r].size());
      key->append(reinterpret_cast<const char*>(&n), 4);
      key->append(v.s[r]);
      break;
    }
    case Type::kNull: key->push_back('\0'); break;
  }
}

// SQL LIKE with % and _, case-sensitive; _ matches one UTF-8 character.
bool Like(std::string_view s, std::string_view p) {
  size_t si = 0, pi = 0, star_p = std::string_view::npos, star_s = 0;
  auto char_len = [](std::string_view t, size_t i) -> size_t {
    const unsigned char c = static_cast<unsigned char>(t[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    return std::min(n, t.size() - i);
  };
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == '%') {
      star_p = pi++;
      star_s = si;
    } else if (pi < p.size() && p[pi] == '_') {
      si += char_len(s, si);
      ++pi;
    } else if (pi < p.size() && p[pi] == s[si]) {
      ++si;
      ++pi;
    } else if (star_p != std::string_view::npos) {
      pi = star_p + 1;
      star_s += char_len(s, star_s);
      si = star_s;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '%') ++pi;
  return pi == p.size();
}

// ROUND(x, n) as SQLite does it: half away from zero on the value's
// 15-significant-digit decimal form, so ROUND(2.675, 2) is 2.68 although the
// double 2.675 is slightly below it.
double RoundTo(double x, int64_t n) {
  if (!std::isfinite(x)) return x;
  if (n <= 0) return std::round(x);
  if (n > 30) return x;
  const double ax = std::fabs(x);
  const int mag = ax > 0 ? static_cast<int>(std::floor(std::log10(ax))) : 0;
  const int prec = std::clamp(14 - mag, static_cast<int>(n) + 1, 60);
  char buf[512];
  std::snprintf(buf, sizeof buf, "%.*f", prec, ax);
  std::string s(buf);
  const size_t dot = s.find('.');
  std::string digits = s.substr(0, dot) + s.substr(dot + 1, static_cast<size_t>(n));
  const bool up = s[dot + 1 + static_cast<size_t>(n)] >= '5';
  if (up) {
    int k = static_cast<int>(digits.size()) - 1;
    while (k >= 0 && digits[static_cast<size_t>(k)] == '9') digits[static_cast<size_t>(k--)] = '0';
    if (k < 0) digits.insert(digits.begin(), '1');
    else ++digits[static_cast<size_t>(k)];
  }
  const size_t int_len = digits.size() - static_cast<size_t>(n);
  const std::string text = digits.substr(0, int_len) + "." + digits.substr(int_len);
  const double r = std::strtod(text.c_str(), nullptr);
  return x < 0 ? -r : r;
}

bool ParseInt(std::string_view s, int64_t* out) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.empty()) return false;
  std::string t(s);
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(t.c_str(), &end, 10);
  if (errno == 0 && end == t.c_str() + t.size()) {
    *out = v;
    return true;
  }
  double d = 0;
  const char* p = t.c_str();
  d = std::strtod(p, &end);
  if (end != p + t.size() || !std::isfinite(d) || std::fabs(d) >= 9.2e18) return false;
  *out = static_cast<int64_t>(d);
  return true;
}

bool ParseDouble(std::string_view s, double* out) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.empty()) return false;
  std::string t(s);
  char* end = nullptr;
  *out = std::strtod(t.c_str(), &end);
  return end == t.c_str() + t.size();
}

}  // namespace

struct ExprEvaluator::Node {
  BExprPtr e;
  int col = -1;
  std::vector<std::shared_ptr<Node>> kids;
  std::vector<Vector> tmp;
  // kInSet: the subquery's values, materialized at first use.
  bool set_ready = false;
  bool set_has_null = false;
  std::unordered_set<std::string> set;
  ExecContext* ctx = nullptr;

  Status Eval(const Batch& in, Vector* out, StringArena* arena);
  Status EvalBinary(const Batch& in, Vector* out, StringArena* arena);
  Status EvalFunc(const Batch& in, Vector* out, StringArena* arena);
  Status EvalCast(const Vector& a, Vector* out, StringArena* arena);
  Status LoadSet();
};

Result<ExprEvaluator> ExprEvaluator::Make(const BExprPtr& e, const std::vector<int>& input_slots, ExecContext* ctx) {
  std::function<Result<std::shared_ptr<Node>>(const BExprPtr&)> build = [&](const BExprPtr& x) -> Result<std::shared_ptr<Node>> {
    auto n = std::make_shared<Node>();
    n->e = x;
    n->ctx = ctx;
    if (x->kind == BExpr::Kind::kSlot) {
      auto it = std::find(input_slots.begin(), input_slots.end(), x->slot);
      if (it == input_slots.end()) {
        return Status::InvalidArgument("internal error: column slot " + std::to_string(x->slot) + " not available");
      }
      n->col = static_cast<int>(it - input_slots.begin());
    }
    for (const BExprPtr& a : x->args) {
      SLAF_ASSIGN_OR_RETURN(std::shared_ptr<Node> k, build(a));
      n->kids.push_back(std::move(k));
    }
    n->tmp.resize(n->kids.size());
    return n;
  };
  ExprEvaluator ev;
  SLAF_ASSIGN_OR_RETURN(ev.root_, build(e));
  return ev;
}

Status ExprEvaluator::Eval(const Batch& in, Vector* out, StringArena* arena) { return root_->Eval(in, out, arena); }

Status ExprEvaluator::Node::LoadSet() {
  SLAF_ASSIGN_OR_RETURN(std::unique_ptr<Operator> op, BuildOperator(e->sub, ctx));
  SLAF_RETURN_IF_ERROR(op->Open());
  Batch b;
  std::string key;
  while (true) {
    SLAF_ASSIGN_OR_RETURN(bool more, op->Next(&b));
    if (!more) break;
    const Vector& v = b.cols[0];
    for (size_t r = 0; r < b.n; ++r) {
      if (v.null(r)) {
        set_has_null = true;
        continue;
      }
      key.clear();
      AppendKey(v, r, &key);
      set.insert(key);
    }
  }
  set_ready = true;
  return Status::OK();
}

Status ExprEvaluator::Node::Eval(const Batch& in, Vector* out, StringArena* arena) {
  const size_t n = in.n;
  const BExpr& x = *e;
  switch (x.kind) {
    case BExpr::Kind::kConst: {
      out->Reset(x.type, n);
      out->size = n;
      if (x.value.is_null() || x.type == Type::kNull) {
        if (x.type != Type::kNull) {
          out->valid.assign(n, 0);
          if (x.type == Type::kDouble) out->d.assign(n, 0);
          else if (x.type == Type::kString) out->s.assign(n, {});
          else out->i.assign(n, 0);
        }
        return Status::OK();
      }
      switch (x.type) {
        case Type::kBool:
        case Type::kInt64: out->i.assign(n, x.value.type == Type::kDouble ? static_cast<int64_t>(x.value.d) : x.value.i); break;
        case Type::kDouble: out->d.assign(n, x.value.type == Type::kDouble ? x.value.d : static_cast<double>(x.value.i)); break;
        case Type::kString: out->s.assign(n, std::string_view(x.value.s)); break;
        case Type::kNull: break;
      }
      return Status::OK();
    }
    case BExpr::Kind::kSlot: {
      const Vector& src = in.cols[static_cast<size_t>(col)];
      *out = src;
      return Status::OK();
    }
    case BExpr::Kind::kNeg: {
      Vector& a = tmp[0];
      SLAF_RETURN_IF_ERROR(kids[0]->Eval(in, &a, arena));
      out->Reset(x.type, n);
      out->size = n;
      out->valid = a.valid;
      if (x.type == Type::kDouble) {
        out->d.resize(n);
        for (size_t r = 0; r < n; ++r) out->d[r] = -Num(a, r);
      } else if (x.type == Type::kInt64) {
        out->i.resize(n);
        for (size_t r = 0; r < n; ++r) {
          if (a.null(r)) continue;
          if (a.i[r] == INT64_MIN) return Status::InvalidArgument("integer overflow in negation");
          out->i[r] = -a.i[r];
        }
      }
      if (a.type == Type::kNull) out->valid.assign(n, 0);
      return Status::OK();
    }
    case BExpr::Kind::kNot: {
      Vector& a = tmp[0];
      SLAF_RETURN_IF_ERROR(kids[0]->Eval(in, &a, arena));
      out->Reset(Type::kBool, n);
      out->size = n;
      out->i.resize(n);
      if (a.type == Type::kNull) {
        out->valid.assign(n, 0);
        return Status::OK();
      }
      out->valid = a.valid;
      for (size_t r = 0; r < n; ++r) out->i[r] = a.type == Type::kDouble ? (a.d[r] == 0) : (a.i[r] == 0);
      return Status::OK();
    }
    case BExpr::Kind::kBinary: return EvalBinary(in, out, arena);
    case BExpr::Kind::kFunc: return EvalFunc(in, out, arena);
    case BExpr::Kind::kCase: {
      const size_t pairs = (kids.size() - (x.has_else ? 1 : 0)) / 2;
      for (size_t k = 0; k < kids.size(); ++k) SLAF_RETURN_IF_ERROR(kids[k]->Eval(in, &tmp[k], arena));
      out->Reset(x.type, n);
      for (size_t r = 0; r < n; ++r) {
        int pick = -1;
        for (size_t p = 0; p < pairs; ++p) {
          const Vector& w = tmp[2 * p];
          if (!w.null(r) && (w.type == Type::kDouble ? w.d[r] != 0 : w.i[r] != 0)) {
            pick = static_cast<int>(2 * p + 1);
            break;
          }
        }
        if (pick < 0 && x.has_else) pick = static_cast<int>(kids.size() - 1);
        if (pick < 0) out->AppendNull();
        else out->AppendFrom(tmp[static_cast<size_t>(pick)], r);
      }
      return Status::OK();
    }
    case BExpr::Kind::kCast: {
      Vector& a = tmp[0];
      SLAF_RETURN_IF_ERROR(kids[0]->Eval(in, &a, arena));
      return EvalCast(a, out, arena);
    }
    case BExpr::Kind::kIsNull: {
      Vector& a = tmp[0];
      SLAF_RETURN_IF_ERROR(kids[0]->Eval(in, &a, arena));
      out->Reset(Type::kBool, n);
      out->size = n;
      out->i.resize(n);
      for (size_t r = 0; r < n; ++r) out->i[r] = a.null(r) != x.negated;
      return Status::OK();
    }
    case BExpr::Kind::kLike: {
      for (size_t k = 0; k < 2; ++k) SLAF_RETURN_IF_ERROR(kids[k]->Eval(in, &tmp[k], arena));
      const Vector& a = tmp[0];
      const Vector& p = tmp[1];
      out->Reset(Type::kBool, n);
      out->size = n;
      out->i.resize(n);
      for (size_t r = 0; r < n; ++r) {
        if (a.null(r) || p.null(r)) {
          out->SetNull(r);
          continue;
        }
        out->i[r] = Like(a.s[r], p.s[r]) != x.negated;
      }
      return Status::OK();
    }
    case BExpr::Kind::kInList: {
      for (size_t k = 0; k < kids.size(); ++k) SLAF_RETURN_IF_ERROR(kids[k]->Eval(in, &tmp[k], arena));
      const Vector& a = tmp[0];
      out->Reset(Type::kBool, n);
      out->size = n;
      out->i.resize(n);
      for (size_t r = 0; r < n; ++r) {
        if (a.null(r)) {
          out->SetNull(r);
          continue;
        }
        bool found = false, saw_null = false;
        for (size_t k = 1; k < kids.size() && !found; ++k) {
          const Vector& b = tmp[k];
          if (b.null(r)) {
            saw_null = true;
          } else if (a.type == Type::kString) {
            found = a.s[r] == b.s[r];
          } else if (a.type == Type::kDouble || b.type == Type::kDouble) {
            found = Num(a, r) == Num(b, r);
          } else {
            found = a.i[r] == b.i[r];
          }
        }
        if (found) out->i[r] = !x.negated;
        else if (saw_null) out->SetNull(r);
        else out->i[r] = x.negated;
      }
      return Status::OK();
    }
    case BExpr::Kind::kInSet: {
      if (!set_ready) SLAF_RETURN_IF_ERROR(LoadSet());
      Vector& a = tmp[0];
      SLAF_RETURN_IF_ERROR(kids[0]->Eval(in, &a, arena));
      out->Reset(Type::kBool, n);
      out->size = n;
      out->i.resize(n);
      std::string key;
      const bool empty = set.empty() && !set_has_null;  // x IN (no rows) is FALSE even for a NULL x
      for (size_t r = 0; r < n; ++r) {
        if (empty) {
          out->i[r] = x.negated;
          continue;
        }
        if (a.null(r)) {
          out->SetNull(r);
          continue;
        }
        key.clear();
        AppendKey(a, r, &key);
        if (set.count(key)) out->i[r] = !x.negated;
        else if (set_has_null) out->SetNull(r);
        else out->i[r] = x.negated;
      }
      return Status::OK();
    }
  }
  return Status::InvalidArgument("internal error: unknown expression kind");
}

Status ExprEvaluator::Node::EvalBinary(const Batch& in, Vector* out, StringArena* arena) {
  const size_t n = in.n;
  const BExpr& x = *e;
  SLAF_RETURN_IF_ERROR(kids[0]->Eval(in, &tmp[0], arena));
  const BinOp op = x.op;
  // AND/OR: three-valued; the right side is evaluated for every row (no
  // short circuit across a vector), which is safe: no expression traps.
  SLAF_RETURN_IF_ERROR(kids[1]->Eval(in, &tmp[1], arena));
  const Vector& a = tmp[0];
  const Vector& b = tmp[1];
  out->Reset(x.type, n);
  out->size = n;
  auto truth = [](const Vector& v, size_t r) -> int {  // -1 null, 0 false, 1 true
    if (v.null(r)) return -1;
    return (v.type == Type::kDouble ? v.d[r] != 0 : v.i[r] != 0) ? 1 : 0;
  };
  if (op == BinOp::kAnd || op == BinOp::kOr) {
    out->i.resize(n);
    for (size_t r = 0; r < n; ++r) {
      const int l = truth(a, r), rr = truth(b, r);
      int v;
      if (op == BinOp::kAnd) v = (l == 0 || rr == 0) ? 0 : (l == 1 && rr == 1) ? 1 : -1;
      else v = (l == 1 || rr == 1) ? 1 : (l == 0 && rr == 0) ? 0 : -1;
      if (v < 0) out->SetNull(r);
      else out->i[r] = v;
    }
    return Status::OK();
  }
  auto any_null = [&](size_t r) { return a.null(r) || b.null(r); };
  if (op >= BinOp::kEq && op <= BinOp::kGe) {
    out->i.resize(n);
    auto cmp_result = [op](int c) -> int64_t {
      switch (op) {
        case BinOp::kEq: return c == 0;
        case BinOp::kNe: return c != 0;
        case BinOp::kLt: return c < 0;
        case BinOp::kLe: return c <= 0;
        case BinOp::kGt: return c > 0;
        case BinOp::kGe: return c >= 0;
        default: return 0;
      }
    };
    const bool strings = a.type == Type::kString || b.type == Type::kString;
    const bool doubles = a.type == Type::kDouble || b.type == Type::kDouble;
    for (size_t r = 0; r < n; ++r) {
      if (any_null(r)) {
        out->SetNull(r);
        continue;
      }
      int c;
      if (strings) {
        const int k = a.s[r].compare(b.s[r]);
        c = k < 0 ? -1 : k > 0;
      } else if (doubles) {
        const double l = Num(a, r), rr = Num(b, r);
        c = l < rr ? -1 : l > rr;
      } else {
        c = a.i[r] < b.i[r] ? -1 : a.i[r] > b.i[r];
      }
      out->i[r] = cmp_result(c);
    }
    return Status::OK();
  }
  if (op == BinOp::kConcat) {
    auto text = [&](const Vector& v, size_t r, std::string* buf) -> std::string_view {
      switch (v.type) {
        case Type::kString: return v.s[r];
        case Type::kInt64: *buf = std::to_string(v.i[r]); return *buf;
        case Type::kBool: *buf = v.i[r] ? "1" : "0"; return *buf;
        case Type::kDouble: *buf = DoubleToText(v.d[r]); return *buf;
        case Type::kNull: break;
      }
      return {};
    };
    out->s.resize(n);
    std::string ba, bb, joined;
    for (size_t r = 0; r < n; ++r) {
      if (any_null(r)) {
        out->SetNull(r);
        continue;
      }
      joined.assign(text(a, r, &ba));
      joined.append(text(b, r, &bb));
      out->s[r] = arena->Add(joined);
    }
    return Status::OK();
  }
  // Arithmetic.
  if (x.type == Type::kNull) return Status::OK();
  if (x.type == Type::kDouble) {
    out->d.resize(n);
    for (size_t r = 0; r < n; ++r) {
      if (any_null(r)) {
        out->SetNull(r);
        continue;
      }
      const double l = Num(a, r), rr = Num(b, r);
      double v = 0;
      switch (op) {
        case BinOp::kAdd: v = l + rr; break;
        case BinOp::kSub: v = l - rr; break;
        case BinOp::kMul: v = l * rr; break;
        case BinOp::kDiv:
          if (rr == 0) {
            out->SetNull(r);
            continue;
          }
          v = l / rr;
          break;
        case BinOp::kMod:
          if (rr == 0) {
            out->SetNull(r);
            continue;
          }
          v = std::fmod(l, rr);
          break;
        default: break;
      }
      out->d[r] = v;
    }
    return Status::OK();
  }
  out->i.resize(n);
  for (size_t r = 0; r < n; ++r) {
    if (any_null(r)) {
      out->SetNull(r);
      continue;
    }
    const int64_t l = a.i[r], rr = b.i[r];
    int64_t v = 0;
    bool overflow = false;
    switch (op) {
      case BinOp::kAdd: overflow = __builtin_add_overflow(l, rr, &v); break;
      case BinOp::kSub: overflow = __builtin_sub_overflow(l, rr, &v); break;
      case BinOp::kMul: overflow = __builtin_mul_overflow(l, rr, &v); break;
      case BinOp::kDiv:
      case BinOp::kMod:
        if (rr == 0 || (l == INT64_MIN && rr == -1)) {
          out->SetNull(r);
          continue;
        }
        v = op == BinOp::kDiv ? l / rr : l % rr;
        break;
      default: break;
    }
    if (overflow) return Status::InvalidArgument("integer overflow in arithmetic");
    out->i[r] = v;
  }
  return Status::OK();
}

Status ExprEvaluator::Node::EvalFunc(const Batch& in, Vector* out, StringArena* arena) {
  const size_t n = in.n;
  const BExpr& x = *e;
  for (size_t k = 0; k < kids.size(); ++k) SLAF_RETURN_IF_ERROR(kids[k]->Eval(in, &tmp[k], arena));
  out->Reset(x.type, n);
  switch (x.func) {
    case Func::kCoalesce: {
      for (size_t r = 0; r < n; ++r) {
        size_t k = 0;
        while (k < tmp.size() && tmp[k].null(r)) ++k;
        if (k == tmp.size()) out->AppendNull();
        else out->AppendFrom(tmp[k], r);
      }
      return Status::OK();
    }
    case Func::kNullIf: {
      const Vector& a = tmp[0];
      const Vector& b = tmp[1];
      for (size_t r = 0; r < n; ++r) {
        bool eq = false;
        if (!a.null(r) && !b.null(r)) {
          if (a.type == Type::kString) eq = a.s[r] == b.s[r];
          else eq = Num(a, r) == Num(b, r);
        }
        if (eq || a.null(r)) out->AppendNull();
        else out->AppendFrom(a, r);
      }
      return Status::OK();
    }
    case Func::kLower:
    case Func::kUpper: {
      const Vector& a = tmp[0];
      std::string buf;
      out->s.resize(n);
      out->size = n;
      for (size_t r = 0; r < n; ++r) {
        if (a.null(r)) {
          out->SetNull(r);
          continue;
        }
        buf.assign(a.s[r]);
        for (char& c : buf) {
          if (x.func == Func::kLower && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
          if (x.func == Func::kUpper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        }
        out->s[r] = arena->Add(buf);
      }
      return Status::OK();
    }
    case Func::kLength: {
      const Vector& a = tmp[0];
      out->i.resize(n);
      out->size = n;
      for (size_t r = 0; r < n; ++r) {
        if (a.null(r)) {
          out->SetNull(r);
          continue;
        }
        int64_t chars = 0;  // UTF-8 characters, as SQLite counts
        for (unsigned char c : a.s[r]) chars += (c & 0xC0) != 0x80;
        out->i[r] = chars;
      }
      return Status::OK();
    }
    case Func::kAbs: {
      const Vector& a = tmp[0];
      out->size = n;
      if (x.type == Type::kInt64) {
        out->i.resize(n);
        for (size_t r = 0; r < n; ++r) {
          if (a.null(r)) {
            out->SetNull(r);
            continue;
          }
          if (a.i[r] == INT64_MIN) return Status::InvalidArgument("integer overflow in ABS");
          out->i[r] = a.i[r] < 0 ? -a.i[r] : a.i[r];
        }
      } else {
        out->d.resize(n);
        for (size_t r = 0; r < n; ++r) {
          if (a.null(r)) out->SetNull(r);
          else out->d[r] = std::fabs(Num(a, r));
        }
      }
      return Status::OK();
    }
    default: break;
  }
  // Numeric functions returning DOUBLE; domain errors give NULL.
  out->d.resize(n);
  out->size = n;
  for (size_t r = 0; r < n; ++r) {
    bool null = false;
    for (const Vector& v : tmp) null = null || v.null(r);
    if (null) {
      out->SetNull(r);
      continue;
    }
    const double a = Num(tmp[0], r);
    double v = 0;
    bool ok = true;
    switch (x.func) {
      case Func::kLn: ok = a > 0; v = std::log(a); break;
      case Func::kLog:
        if (tmp.size() == 2) {  // LOG(base, x)
          const double xv = Num(tmp[1], r);
          ok = a > 0 && a != 1 && xv > 0;
          v = std::log(xv) / std::log(a);
        } else {
          ok = a > 0;
          v = std::log10(a);
        }
        break;
      case Func::kExp: v = std::exp(a); break;
      case Func::kSqrt: ok = a >= 0; v = std::sqrt(a); break;
      case Func::kPower: v = std::pow(a, Num(tmp[1], r)); ok = !std::isnan(v); break;
      case Func::kFloor: v = std::floor(a); break;
      case Func::kCeil: v = std::ceil(a); break;
      case Func::kRound: {
        const int64_t digits = tmp.size() == 2 ? (tmp[1].type == Type::kDouble ? static_cast<int64_t>(tmp[1].d[r]) : tmp[1].i[r]) : 0;
        v = RoundTo(a, digits);
        break;
      }
      default: ok = false; break;
    }
    if (!ok) out->SetNull(r);
    else out->d[r] = v;
  }
  return Status::OK();
}

Status ExprEvaluator::Node::EvalCast(const Vector& a, Vector* out, StringArena* arena) {
  const size_t n = a.size;
  const Type to = e->type;
  out->Reset(to, n);
  out->size = n;
  if (a.type == Type::kNull) {
    if (to != Type::kNull) {
      out->valid.assign(n, 0);
      if (to == Type::kDouble) out->d.assign(n, 0);
      else if (to == Type::kString) out->s.assign(n, {});
      else out->i.assign(n, 0);
    }
    return Status::OK();
  }
  switch (to) {
    case Type::kInt64:
    case Type::kBool:
      out->i.resize(n);
      for (size_t r = 0; r < n; ++r) {
        if (a.null(r)) {
          out->SetNull(r);
          continue;
        }
        int64_t v = 0;
        bool ok = true;
        if (a.type == Type::kDouble && to == Type::kBool) {
          v = a.d[r] != 0;  // 0.5 is true: no truncation on the way
        } else if (a.type == Type::kDouble) {
          ok = std::isfinite(a.d[r]) && std::fabs(a.d[r]) < 9.2e18;
          v = ok ? static_cast<int64_t>(a.d[r]) : 0;
        } else if (a.type == Type::kString) {
          if (to == Type::kBool) {
            std::string t(a.s[r]);
            for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            if (t == "true" || t == "t" || t == "1") v = 1;
            else if (t == "false" || t == "f" || t == "0") v = 0;
            else ok = false;
          } else {
            ok = ParseInt(a.s[r], &v);
          }
        } else {
          v = a.i[r];
        }
        if (to == Type::kBool) v = v != 0;
        if (!ok) out->SetNull(r);
        else out->i[r] = v;
      }
      return Status::OK();
    case Type::kDouble:
      out->d.resize(n);
      for (size_t r = 0; r < n; ++r) {
        if (a.null(r)) {
          out->SetNull(r);
          continue;
        }
        double v = 0;
        if (a.type == Type::kString) {
          if (!ParseDouble(a.s[r], &v)) {
            out->SetNull(r);
            continue;
          }
        } else {
          v = Num(a, r);
        }
        out->d[r] = v;
      }
      return Status::OK();
    case Type::kString:
      out->s.resize(n);
      for (size_t r = 0; r < n; ++r) {
        if (a.null(r)) {
          out->SetNull(r);
          continue;
        }
        switch (a.type) {
          case Type::kString: out->s[r] = a.s[r]; break;
          case Type::kInt64: out->s[r] = arena->Add(std::to_string(a.i[r])); break;
          case Type::kBool: out->s[r] = a.i[r] ? "true" : "false"; break;
          case Type::kDouble: out->s[r] = arena->Add(DoubleToText(a.d[r])); break;
          case Type::kNull: break;
        }
      }
      return Status::OK();
    case Type::kNull: return Status::OK();
  }
  return Status::OK();
}

// Exposed for operators.cc (hash keys) without a separate header.
void AppendValueKey(const Vector& v, size_t r, std::string* key) { AppendKey(v, r, key); }

}  // namespace slaf::sql
