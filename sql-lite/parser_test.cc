#include "sql-lite/ast.h"

#include <gtest/gtest.h>

namespace slaf::sql {
namespace {
TEST(Parser, Smoke) {
  auto r = Parse("SELECT 1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}
}  // namespace
}  // namespace slaf::sql
