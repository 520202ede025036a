#pragma once
// Heap allocations made by the calling thread since it started, counted by the global
// operator new that alloc_counter.cc installs in ghostgate_bench. Read it before and after a
// benchmark loop: the difference divided by the iterations is allocations per operation.

#include <cstdint>

namespace ghostgate::bench {

std::uint64_t allocations();

}  // namespace ghostgate::bench
