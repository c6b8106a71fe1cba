// Writes format-spec/golden/<case>.seg and <case>.json for every golden case.
// Run through format-spec/golden/generate.sh; golden_test fails if the
// committed files drift from what this writes.
#include <cstdio>
#include <fstream>

#include "tests/golden_cases.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: slaf-golden-gen OUT_DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  for (const auto& c : slaf::golden::AllCases()) {
    const auto bytes = slaf::golden::Encode(c);
    if (bytes.empty()) {
      std::fprintf(stderr, "failed to encode %s\n", c.name.c_str());
      return 1;
    }
    std::ofstream(dir + "/" + c.name + ".seg", std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    std::ofstream(dir + "/" + c.name + ".json") << slaf::golden::ExpectedJson(c);
    std::printf("%-20s %6zu bytes  %s\n", c.name.c_str(), bytes.size(), c.what.c_str());
  }
  const std::string inv = dir + "/invalid";
  for (const auto& c : slaf::golden::InvalidCases()) {
    std::ofstream(inv + "/" + c.name + ".seg", std::ios::binary).write(reinterpret_cast<const char*>(c.bytes.data()), static_cast<std::streamsize>(c.bytes.size()));
    std::ofstream(inv + "/" + c.name + ".txt") << "defect: " << c.defect << "\nexpected error contains: " << c.expected_error << "\n";
    std::printf("invalid/%-20s %s\n", c.name.c_str(), c.defect.c_str());
  }
  return 0;
}
