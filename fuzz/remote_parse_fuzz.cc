// What remote servers send that slaf parses: Content-Range headers and S3
// ListObjectsV2 XML. The first byte picks the parser; no input may crash,
// and accepted values must satisfy the parsers' contracts.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "io/http_client.h"
#include "io/s3_list.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] & 1) {
    uint64_t a = 0, b = 0, total = 0;
    if (slaf::io::ParseContentRange(text, &a, &b, &total) && !(a <= b && b < total)) std::abort();
  } else {
    auto page = slaf::io::ParseListObjectsV2(text, (data[0] & 2) ? "pre/fix" : "", "fuzz");
    if (page.ok()) {
      for (const auto& e : page->entries) {
        if (!slaf::io::CheckKey(e.key).ok()) std::abort();
      }
      if (page->truncated && page->next_token.empty()) std::abort();
    }
  }
  return 0;
}
