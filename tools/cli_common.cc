// Argument parsing, error exits, progress and formatting shared by the
// commands of `slaf`.
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>

#include "tools/cli.h"

namespace slaf::cli {

int Fail(const Status& s) { return Fail(s.ToString()); }

int Fail(const std::string& message) {
  std::fprintf(stderr, "slaf: %s\n", message.c_str());
  return kExitFailure;
}

int UsageError(const char* usage, const std::string& message) {
  std::fprintf(stderr, "slaf: %s\n\n%s", message.c_str(), usage);
  return kExitUsage;
}

Status Args::Parse(const std::vector<std::string>& args, std::initializer_list<std::string_view> flags,
                   std::initializer_list<std::string_view> options) {
  auto is = [](std::initializer_list<std::string_view> list, std::string_view n) {
    for (std::string_view x : list) {
      if (x == n) return true;
    }
    return false;
  };
  bool options_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    if (options_done || a.size() < 2 || a[0] != '-') {
      positional_.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    if (a == "-h") a = "--help";
    if (a == "-q") a = "--quiet";
    std::optional<std::string> inline_value;
    if (const size_t eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      inline_value = a.substr(eq + 1);
      a.resize(eq);
    }
    if (a == "--help" || is(flags, a)) {
      if (inline_value) return Status::InvalidArgument(a + " takes no value");
      values_[a] = "";
    } else if (is(options, a)) {
      if (inline_value) {
        values_[a] = *inline_value;
      } else if (i + 1 < args.size()) {
        values_[a] = args[++i];
      } else {
        return Status::InvalidArgument(a + " needs a value");
      }
    } else {
      return Status::InvalidArgument("unknown option " + a);
    }
  }
  return Status::OK();
}

const std::string* Args::Get(std::string_view name) const {
  auto it = values_.find(std::string(name));
  return it == values_.end() ? nullptr : &it->second;
}

bool ParseU64(const std::string& s, uint64_t* v) {
  if (s.empty() || s[0] < '0' || s[0] > '9') return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), *v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool ParseDouble(const std::string& s, double* v) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  *v = std::strtod(s.c_str(), &end);
  return errno == 0 && *end == 0;
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  size_t b = 0;
  while (b <= s.size()) {
    size_t e = s.find(',', b);
    if (e == std::string::npos) e = s.size();
    if (e > b) out.push_back(s.substr(b, e - b));
    b = e + 1;
  }
  return out;
}

Result<std::unique_ptr<Dataset>> OpenDataset(const std::string& path, const Args& args, bool* usage_error) {
  *usage_error = false;
  OpenOptions o;
  if (const std::string* v = args.Get("--version")) {
    uint64_t n = 0;
    if (!ParseU64(*v, &n) || n == 0) {
      *usage_error = true;
      return Status::InvalidArgument("--version needs a version number (1, 2, ...)");
    }
    o.version = n;
  }
  return Dataset::Open(path, o);
}

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string HumanBytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string FormatDouble(double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

Progress::Progress(bool quiet, uint64_t total, const char* unit, double scale)
    : on_(!quiet && isatty(2)), total_(total), unit_(unit), scale_(scale), t0_(std::chrono::steady_clock::now()), last_(t0_) {}

void Progress::Update(uint64_t done) {
  if (!on_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && done < total_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  drawn_ = true;
  const double s = SecondsSince(t0_);
  const double rate = s > 0 ? done / s : 0;
  const double eta = rate > 0 && total_ > done ? (total_ - done) / rate : 0;
  std::fprintf(stderr, "\r  %.0f/%.0f %s (%.0f%%), %.0f %s/s, ETA %.0fs   ", done / scale_, total_ / scale_, unit_,
               total_ ? 100.0 * done / total_ : 100.0, rate / scale_, unit_, eta);
}

void Progress::Done() {
  if (on_ && drawn_) std::fprintf(stderr, "\r%80s\r", "");
  drawn_ = false;
}

Result<std::vector<uint64_t>> MatchingRows(const Dataset& d, const Predicate& p, bool genes) {
  if (!genes) return d.cells(p);
  SLAF_ASSIGN_OR_RETURN(std::vector<uint32_t> g, d.genes(p));
  return std::vector<uint64_t>(g.begin(), g.end());
}

}  // namespace slaf::cli
