// ListObjectsV2 responses: a flat scan for the few elements slaf needs
// (Key, Size, LastModified, IsTruncated, NextContinuationToken); no general
// XML parser is needed for S3's fixed, unnested answer.
#include "io/s3_list.h"

#include <cstring>
#include <ctime>

namespace slaf::io {

namespace {

// XML's predefined entities, in one pass (linear in the text: a hostile
// listing cannot make it quadratic). Other references are kept verbatim.
std::string XmlUnescape(std::string_view s) {
  static const std::pair<std::string_view, char> kEntities[] = {{"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}, {"&#39;", '\''}, {"&amp;", '&'}};
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    bool replaced = false;
    if (s[i] == '&') {
      for (const auto& [from, to] : kEntities) {
        if (s.compare(i, from.size(), from) == 0) {
          out += to;
          i += from.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += s[i++];
  }
  return out;
}

// The text of the first <tag>...</tag> in [begin, end), or "". Searches
// only that span, so parsing a listing stays linear in its size.
std::string XmlField(std::string_view xml, size_t begin, size_t end, const std::string& tag) {
  const std::string_view in = xml.substr(begin, end - begin);
  const std::string open = "<" + tag + ">", close = "</" + tag + ">";
  const size_t b = in.find(open);
  if (b == std::string_view::npos) return "";
  const size_t e = in.find(close, b + open.size());
  if (e == std::string_view::npos) return "";
  return XmlUnescape(in.substr(b + open.size(), e - b - open.size()));
}

// "2024-05-01T12:34:56.789Z" as ms since the epoch (0 if malformed).
int64_t ParseIsoTime(const std::string& s) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) < 6) return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

}  // namespace

Result<ListPage> ParseListObjectsV2(std::string_view xml, const std::string& prefix, const std::string& where) {
  ListPage page;
  for (size_t b = xml.find("<Contents>"); b != std::string_view::npos; b = xml.find("<Contents>", b + 1)) {
    const size_t e = xml.find("</Contents>", b);
    if (e == std::string_view::npos) return Status::IOError(where + ": malformed ListObjectsV2 response (unclosed <Contents>)");
    std::string key = XmlField(xml, b, e, "Key");
    if (!prefix.empty()) {
      if (key.size() <= prefix.size() + 1 || key.compare(0, prefix.size(), prefix) != 0 || key[prefix.size()] != '/') continue;
      key = key.substr(prefix.size() + 1);
    }
    if (!CheckKey(key).ok()) continue;  // not an object a dataset can hold
    const std::string size = XmlField(xml, b, e, "Size");
    char* end = nullptr;
    const unsigned long long n = std::strtoull(size.c_str(), &end, 10);
    if (size.empty() || *end != '\0' || size[0] == '-') return Status::IOError(where + ": ListObjectsV2 gives \"" + size + "\" as the size of " + key);
    ObjectEntry entry;
    entry.key = std::move(key);
    entry.size = n;
    entry.mtime_ms = ParseIsoTime(XmlField(xml, b, e, "LastModified"));
    page.entries.push_back(std::move(entry));
  }
  page.truncated = XmlField(xml, 0, xml.size(), "IsTruncated") == "true";
  if (page.truncated) {
    page.next_token = XmlField(xml, 0, xml.size(), "NextContinuationToken");
    if (page.next_token.empty()) return Status::IOError(where + ": ListObjectsV2 truncated without a continuation token");
  }
  return page;
}

}  // namespace slaf::io
