// libFuzzer target: a dataset manifest from untrusted bytes (format-spec
// §9.2, §9.3). Any input must give a manifest or an error Status: never a
// crash, hang or huge allocation. A manifest that parses must serialise to
// JSON that parses again to the same JSON (ToJson is a fixed point after one
// round), so what a writer derives from a manifest it read stays readable.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "slaf/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  slaf::Result<slaf::Manifest> m = slaf::Manifest::Parse({data, size}, "fuzz.json");
  if (!m.ok()) return 0;
  (void)m->x.nnz();
  (void)m->Files();
  const std::string first = m->ToJson();
  slaf::Result<slaf::Manifest> again = slaf::Manifest::Parse(
      {reinterpret_cast<const uint8_t*>(first.data()), first.size()}, "fuzz-reserialised.json");
  if (!again.ok()) {
    std::fprintf(stderr, "re-serialised manifest does not parse: %s\n%s\n", again.status().ToString().c_str(), first.c_str());
    std::abort();
  }
  const std::string second = again->ToJson();
  if (second != first) {
    std::fprintf(stderr, "ToJson is not stable:\n%s\n----\n%s\n", first.c_str(), second.c_str());
    std::abort();
  }
  return 0;
}
