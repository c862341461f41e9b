// ncen-bench blobs (see blob_bench.cpp).
#pragma once

#include <cstdint>

namespace ncen::bench {

struct BlobBenchArgs {
  uint64_t mib = 1024;         // photos replicated in the throughput run
  uint64_t backlog_mib = 500;  // photos replicating while seizures are written
  int adds = 10;               // 5 MB JPEGs added, the median reported
  bool json = false;
};

int BlobBench(const BlobBenchArgs& args);

}  // namespace ncen::bench
