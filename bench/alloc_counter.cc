// Replaces the global operator new/delete of the benchmark binary to count allocations. The
// counter is thread-local: no contention, and the cost is one increment per allocation, so it
// does not change what the benchmarks measure.

#include "alloc_counter.h"

#include <cstdlib>
#include <new>

// Our operator new is malloc and our operator delete is free; GCC cannot see that they pair up
// once it inlines std::string's allocations into this file.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {
thread_local std::uint64_t g_allocations = 0;

void* counted_malloc(std::size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) {
    return p;
  }
  throw std::bad_alloc();
}
}  // namespace

namespace ghostgate::bench {
std::uint64_t allocations() { return g_allocations; }
}  // namespace ghostgate::bench

void* operator new(std::size_t size) { return counted_malloc(size); }
void* operator new[](std::size_t size) { return counted_malloc(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  ++g_allocations;
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  ++g_allocations;
  return std::malloc(size == 0 ? 1 : size);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
