// ncen-bench http (see http_bench.cpp).
#pragma once

#include <cstdint>

namespace ncen::bench {

struct HttpBenchArgs {
  uint64_t records = 1000000;  // seizures the node holds
  uint64_t sync = 100000;      // entries the measured syncs bring
  int clients = 64;            // keep-alive connections
  double seconds = 10;         // of each load phase
  bool json = false;
};

int HttpBench(const HttpBenchArgs& args);

}  // namespace ncen::bench
