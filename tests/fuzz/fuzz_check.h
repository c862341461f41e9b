// FUZZ_CHECK: how a fuzz target states what the code under test promises
// (tests/fuzz/README.md). Shared by every target and by make_corpus.cpp's
// self-checks; no dependency beyond the C library.
#pragma once

#include <cstdio>
#include <cstdlib>

// Checks an invariant of the code under test. Unlike NCEN_CHECK it names
// the fuzz target's expectation; abort() is what libFuzzer reports as a crash.
#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s at %s:%d\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (false)
