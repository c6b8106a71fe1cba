// Shared pieces of the `slaf` command-line tool: argument parsing, error
// exits, progress and value formatting. Presentation only; the work is done
// by the library (include/slaf/). One command per cli_*.cc file.
//
// Exit statuses of every command: 0 success, 1 failure ("slaf: <error>" on
// stderr), 2 usage error (message and the command's usage on stderr).
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "slaf/dataset.h"
#include "slaf/status.h"

namespace slaf::cli {

inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Commands: each takes the arguments after its name.
int Generate(const std::vector<std::string>& args);
int Info(const std::vector<std::string>& args);
int Versions(const std::vector<std::string>& args);
int Verify(const std::vector<std::string>& args);
int Append(const std::vector<std::string>& args);
int Vacuum(const std::vector<std::string>& args);
int Cells(const std::vector<std::string>& args);
int Filter(const std::vector<std::string>& args);
int Scan(const std::vector<std::string>& args);
int Convert(const std::vector<std::string>& args);
int Export(const std::vector<std::string>& args);
int Stats(const std::vector<std::string>& args);
int Index(const std::vector<std::string>& args);
int Genes(const std::vector<std::string>& args);
int Query(const std::vector<std::string>& args);

// Prints "slaf: <message>" to stderr and returns kExitFailure.
int Fail(const Status& s);
int Fail(const std::string& message);
// Prints "slaf: <message>", a blank line and `usage` to stderr; returns kExitUsage.
int UsageError(const char* usage, const std::string& message);

// One command's arguments: options (--name VALUE, --name=VALUE), flags
// (--name) and positionals, in any order; "--" ends the options. -h is
// --help and -q is --quiet. Every command accepts --help.
class Args {
 public:
  // Returns InvalidArgument naming an unknown option or a missing value.
  Status Parse(const std::vector<std::string>& args, std::initializer_list<std::string_view> flags,
               std::initializer_list<std::string_view> options);
  bool Has(std::string_view name) const { return values_.count(std::string(name)) > 0; }
  // The value of an option, or nullptr if absent.
  const std::string* Get(std::string_view name) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

// Parses the whole string as an unsigned decimal number.
bool ParseU64(const std::string& s, uint64_t* v);
bool ParseDouble(const std::string& s, double* v);
// Splits "a,b,c" at commas; empty items are dropped.
std::vector<std::string> SplitList(const std::string& s);

// --version N of info, verify, cells, filter and scan: Dataset::Open at that
// version (newest when absent). A bad value is a usage error: *usage_error set.
Result<std::unique_ptr<Dataset>> OpenDataset(const std::string& path, const Args& args, bool* usage_error);

// Rows of obs (cells) or, with genes, of var matching a predicate, as row ids.
Result<std::vector<uint64_t>> MatchingRows(const Dataset& d, const Predicate& p, bool genes);

double SecondsSince(std::chrono::steady_clock::time_point t0);

// "12.3 MiB" style size for people; exact byte counts are printed beside it.
std::string HumanBytes(uint64_t bytes);
// Shortest text that reads back as the same double (std::to_chars).
std::string FormatDouble(double v);

// Progress on stderr, only when stderr is a terminal and not --quiet;
// redraws at most 10 times a second. `scale` divides the numbers shown
// (1e6 with unit "MB" for byte counts).
class Progress {
 public:
  Progress(bool quiet, uint64_t total, const char* unit, double scale = 1.0);
  ~Progress() { Done(); }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  void Update(uint64_t done);
  // Clears the line; idempotent.
  void Done();

 private:
  bool on_;
  bool drawn_ = false;
  uint64_t total_;
  const char* unit_;
  double scale_;
  std::chrono::steady_clock::time_point t0_, last_;
};

}  // namespace slaf::cli
