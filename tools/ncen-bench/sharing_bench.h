// ncen-bench sharing (see sharing_bench.cpp).
#pragma once

#include <cstdint>

namespace ncen::bench {

struct SharingBenchArgs {
  uint64_t records = 1000000;  // seizures at the national hub, reports at the regional hub
  uint64_t release = 10000;    // seizures released in one call
  int runs = 5;                // measured runs of each pivot; the median is reported
  bool json = false;
};

int SharingBench(const SharingBenchArgs& args);

}  // namespace ncen::bench
