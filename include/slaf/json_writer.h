// A minimal JSON writer for manifests and `--json` output: values are
// appended in order, commas and escaping handled here. Strings must be
// UTF-8; control characters are \u-escaped.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace slaf {

class JsonWriter {
 public:
  explicit JsonWriter(bool pretty = true) : pretty_(pretty) {}
  JsonWriter& BeginObject() { return Open('{'); }
  JsonWriter& EndObject() { return Close('}'); }
  JsonWriter& BeginArray() { return Open('['); }
  JsonWriter& EndArray() { return Close(']'); }
  JsonWriter& Key(std::string_view k);
  JsonWriter& String(std::string_view s);
  JsonWriter& Uint(uint64_t v);
  JsonWriter& Int(int64_t v);
  JsonWriter& Double(double v);  // shortest round-trip form; NaN/inf as null
  JsonWriter& Bool(bool v);
  JsonWriter& Null();
  // Inserts already-serialised JSON (e.g. user metadata) as one value.
  JsonWriter& Raw(std::string_view json);
  const std::string& str() const { return out_; }

 private:
  JsonWriter& Open(char c);
  JsonWriter& Close(char c);
  void BeforeValue();
  void Newline();
  bool pretty_;
  std::string out_;
  int depth_ = 0;
  bool first_ = true;      // no value yet at this level
  bool after_key_ = false;
};

void AppendJsonString(std::string* out, std::string_view s);

}  // namespace slaf
