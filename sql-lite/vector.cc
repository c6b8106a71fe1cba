#include "sql-lite/vector.h"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace slaf::sql {

const char* TypeName(Type t) {
  switch (t) {
    case Type::kNull: return "NULL";
    case Type::kBool: return "BOOLEAN";
    case Type::kInt64: return "BIGINT";
    case Type::kDouble: return "DOUBLE";
    case Type::kString: return "VARCHAR";
  }
  return "?";
}

std::string_view StringArena::Add(std::string_view s) {
  if (s.empty()) return {};
  if (s.size() > left_) {
    const size_t block = std::max<size_t>(64 * 1024, s.size());
    blocks_.push_back(std::make_unique<char[]>(block));
    next_ = blocks_.back().get();
    left_ = block;
  }
  std::memcpy(next_, s.data(), s.size());
  std::string_view out(next_, s.size());
  next_ += s.size();
  left_ -= s.size();
  used_total_ += s.size();
  return out;
}

void Vector::Reset(Type t, size_t n) {
  type = t;
  size = 0;
  valid.clear();
  i.clear();
  d.clear();
  s.clear();
  switch (t) {
    case Type::kBool:
    case Type::kInt64: i.reserve(n); break;
    case Type::kDouble: d.reserve(n); break;
    case Type::kString: s.reserve(n); break;
    case Type::kNull: break;
  }
}

void Vector::SetNull(size_t r) {
  if (type == Type::kNull) return;
  if (valid.empty()) valid.assign(size, 1);
  valid[r] = 0;
}

void Vector::AppendNull() {
  switch (type) {
    case Type::kBool:
    case Type::kInt64: i.push_back(0); break;
    case Type::kDouble: d.push_back(0); break;
    case Type::kString: s.emplace_back(); break;
    case Type::kNull: ++size; return;
  }
  if (valid.empty()) valid.assign(size, 1);
  valid.push_back(0);
  ++size;
}

void Vector::AppendFrom(const Vector& src, size_t r) {
  if (src.null(r)) {
    AppendNull();
    return;
  }
  switch (type) {
    case Type::kBool:
    case Type::kInt64: i.push_back(src.i[r]); break;
    case Type::kDouble: d.push_back(src.type == Type::kDouble ? src.d[r] : static_cast<double>(src.i[r])); break;
    case Type::kString: s.push_back(src.s[r]); break;
    case Type::kNull: break;
  }
  if (!valid.empty()) valid.push_back(1);
  ++size;
}

void Vector::Gather(const Vector& src, const uint32_t* sel, size_t n) {
  type = src.type;
  size = n;
  valid.clear();
  i.clear();
  d.clear();
  s.clear();
  switch (type) {
    case Type::kBool:
    case Type::kInt64:
      i.resize(n);
      for (size_t k = 0; k < n; ++k) i[k] = src.i[sel[k]];
      break;
    case Type::kDouble:
      d.resize(n);
      for (size_t k = 0; k < n; ++k) d[k] = src.d[sel[k]];
      break;
    case Type::kString:
      s.resize(n);
      for (size_t k = 0; k < n; ++k) s[k] = src.s[sel[k]];
      break;
    case Type::kNull: return;
  }
  if (!src.valid.empty()) {
    valid.resize(n);
    for (size_t k = 0; k < n; ++k) valid[k] = src.valid[sel[k]];
  }
}

Value GetValue(const Vector& v, size_t r) {
  if (v.null(r)) return Value();
  switch (v.type) {
    case Type::kBool: return Value::Bool(v.i[r] != 0);
    case Type::kInt64: return Value::Int(v.i[r]);
    case Type::kDouble: return Value::Double(v.d[r]);
    case Type::kString: return Value::String(std::string(v.s[r]));
    case Type::kNull: break;
  }
  return Value();
}

void AppendValue(Vector* v, const Value& x, StringArena* arena) {
  if (x.is_null()) {
    v->AppendNull();
    return;
  }
  switch (v->type) {
    case Type::kBool:
    case Type::kInt64: v->i.push_back(x.type == Type::kDouble ? static_cast<int64_t>(x.d) : x.i); break;
    case Type::kDouble: v->d.push_back(x.type == Type::kDouble ? x.d : static_cast<double>(x.i)); break;
    case Type::kString: v->s.push_back(arena->Add(x.s)); break;
    case Type::kNull: ++v->size; return;
  }
  if (!v->valid.empty()) v->valid.push_back(1);
  ++v->size;
}

std::string DoubleToText(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  std::string out(buf);
  if (out.find_first_of(".e") == std::string::npos) {
    out += ".0";
  } else if (const size_t e = out.find('e'); e != std::string::npos && out.find('.') == std::string::npos) {
    out.insert(e, ".0");  // SQLite prints 1e+20 as 1.0e+20
  }
  return out;
}

}  // namespace slaf::sql
