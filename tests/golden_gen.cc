// Writes format-spec/golden/<case>.seg (.tbl, .dense) and <case>.json for
// every golden case, and the invalid vectors with their .txt.
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
  auto write = [&](const std::string& path, const std::vector<uint8_t>& bytes) {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  };
  for (const auto& c : slaf::golden::AllTableCases()) {
    const auto bytes = slaf::golden::EncodeTable(c);
    if (bytes.empty()) {
      std::fprintf(stderr, "failed to encode %s\n", c.name.c_str());
      return 1;
    }
    write(dir + "/" + c.name + ".tbl", bytes);
    std::ofstream(dir + "/" + c.name + ".json") << slaf::golden::ExpectedTableJson(c);
    std::printf("%-24s %6zu bytes  %s\n", c.name.c_str(), bytes.size(), c.what.c_str());
  }
  for (const auto& c : slaf::golden::AllDenseCases()) {
    const auto bytes = slaf::golden::EncodeDense(c);
    if (bytes.empty()) {
      std::fprintf(stderr, "failed to encode %s\n", c.name.c_str());
      return 1;
    }
    write(dir + "/" + c.name + ".dense", bytes);
    std::ofstream(dir + "/" + c.name + ".json") << slaf::golden::ExpectedDenseJson(c);
    std::printf("%-24s %6zu bytes  %s\n", c.name.c_str(), bytes.size(), c.what.c_str());
  }
  const std::string inv = dir + "/invalid";
  auto invalid = slaf::golden::InvalidCases();
  for (auto& c : slaf::golden::InvalidTableAndDenseCases()) invalid.push_back(std::move(c));
  for (const auto& c : invalid) {
    write(inv + "/" + c.name + c.ext, c.bytes);
    std::ofstream txt(inv + "/" + c.name + ".txt");
    txt << "defect: " << c.defect << "\nexpected error contains: " << c.expected_error << "\n";
    if (!c.kind.empty()) txt << "expected error kind: " << c.kind << "\n";
    std::printf("invalid/%-20s %s\n", c.name.c_str(), c.defect.c_str());
  }
  return 0;
}
