// Parsing S3 ListObjectsV2 responses (XML from the network: untrusted; fuzzed
// by fuzz/remote_parse_fuzz.cc).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "slaf/status.h"
#include "slaf/store.h"

namespace slaf::io {

struct ListPage {
  std::vector<ObjectEntry> entries;  // keys relative to the store's prefix
  bool truncated = false;
  std::string next_token;  // set when truncated
};

// One page of a ListObjectsV2 answer. Keys outside `prefix` + "/" (when the
// prefix is not empty) and keys no dataset can hold (CheckKey) are skipped;
// a truncated page without a continuation token, an unclosed <Contents> or
// a size that is not a number is an error naming `where`.
Result<ListPage> ParseListObjectsV2(std::string_view xml, const std::string& prefix, const std::string& where);

}  // namespace slaf::io
