#pragma once
// Counts the heap allocations of the program it is linked into, for the
// "steady state allocates nothing" tests and the allocs_per_* benchmark
// counters. allocation_counter.cpp replaces every global operator new (plain,
// array, nothrow, aligned) and the matching operator delete forms; link it
// (CMake target bto_allocation_counter) into the one executable that asks.

#include <cstdint>

// Set where the count is worth asserting on. Not under AddressSanitizer: that
// build is unoptimised (Debug) and is there for memory errors; the "allocates
// nothing" promise is about the optimised build.
#if !defined(__SANITIZE_ADDRESS__)
#define BTO_COUNTS_ALLOCATIONS 1
#endif

namespace bto::testing {

// Global operator new calls (any form) since the program started.
uint64_t allocations() noexcept;

}  // namespace bto::testing
