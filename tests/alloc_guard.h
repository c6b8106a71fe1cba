// Allocation guard for tests that feed untrusted bytes to readers: while
// g_alloc_guard is set, any single allocation above kAllocCap throws
// std::bad_alloc (caught by the test) instead of being attempted, and
// g_largest_alloc records the largest allocation asked for. Link
// tests/alloc_guard.cc into the test binary (it replaces operator new).
#pragma once

#include <atomic>
#include <cstddef>

inline constexpr size_t kAllocCap = 64u << 20;
extern std::atomic<bool> g_alloc_guard;
extern std::atomic<size_t> g_largest_alloc;
