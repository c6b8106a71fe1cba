// Columnar batches: what the executor's operators pass to each other.
//
// A Vector is one column of a batch, typed; a Batch is up to kBatchRows
// rows of several vectors. String vectors hold views whose bytes live in
// the batch's `keep` owners (a table loaded in memory, or a StringArena
// filled by an operator), so copying a string column is copying views.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace slaf::sql {

// SQL types. kNull is the type of the NULL literal only.
enum class Type : uint8_t { kNull, kBool, kInt64, kDouble, kString };
const char* TypeName(Type t);  // "NULL", "BOOLEAN", "BIGINT", "DOUBLE", "VARCHAR"

inline constexpr size_t kBatchRows = 2048;

// Owns string bytes for views handed out by Add(); never moves them.
class StringArena {
 public:
  std::string_view Add(std::string_view s);
  size_t bytes() const { return used_total_; }

 private:
  std::vector<std::unique_ptr<char[]>> blocks_;
  size_t left_ = 0;
  char* next_ = nullptr;
  size_t used_total_ = 0;
};

struct Vector {
  Type type = Type::kNull;
  size_t size = 0;
  std::vector<uint8_t> valid;            // empty = no nulls, else 1 = valid
  std::vector<int64_t> i;                // kBool (0/1), kInt64
  std::vector<double> d;                 // kDouble
  std::vector<std::string_view> s;       // kString

  bool null(size_t r) const { return type == Type::kNull || (!valid.empty() && !valid[r]); }
  bool has_nulls() const { return type == Type::kNull || !valid.empty(); }
  // Empty vector of `t` with room for n rows, no nulls yet.
  void Reset(Type t, size_t n);
  // Marks row r null (allocating the validity array on first use).
  void SetNull(size_t r);
  // Appends row r of `src` (same type, or src kNull).
  void AppendFrom(const Vector& src, size_t r);
  void AppendNull();
  // Keeps the rows whose sel[k] index is listed, in that order.
  void Gather(const Vector& src, const uint32_t* sel, size_t n);
};

struct Batch {
  size_t n = 0;
  std::vector<Vector> cols;
  std::vector<std::shared_ptr<const void>> keep;  // owners of string bytes

  void KeepFrom(const Batch& other) { keep.insert(keep.end(), other.keep.begin(), other.keep.end()); }
};

// One scalar: literals, group keys, aggregate results.
struct Value {
  Type type = Type::kNull;
  int64_t i = 0;  // kBool, kInt64
  double d = 0;
  std::string s;
  bool is_null() const { return type == Type::kNull; }
  static Value Int(int64_t v) { Value x; x.type = Type::kInt64; x.i = v; return x; }
  static Value Double(double v) { Value x; x.type = Type::kDouble; x.d = v; return x; }
  static Value Bool(bool v) { Value x; x.type = Type::kBool; x.i = v; return x; }
  static Value String(std::string v) { Value x; x.type = Type::kString; x.s = std::move(v); return x; }
};

// Row r of v as a Value (strings copied).
Value GetValue(const Vector& v, size_t r);
// Appends `x` (of v's type or NULL) to v; string bytes go to `arena`.
void AppendValue(Vector* v, const Value& x, StringArena* arena);

// SQL text of a double the way SQLite prints one in text contexts ("2.0",
// "0.1", "1.0e+20"): 15 significant digits, ".0" added to integral values.
std::string DoubleToText(double v);

}  // namespace slaf::sql
