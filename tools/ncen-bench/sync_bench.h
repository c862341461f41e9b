// ncen-bench sync-cold / sync-noop / sync-incr / conflicts (see sync_bench.cpp).
#pragma once

#include <cstdint>
#include <string>

namespace ncen::bench {

struct SyncBenchArgs {
  std::string mode;   // "sync-cold", "sync-noop", "sync-incr", "conflicts"
  uint64_t n = 100000;  // entries both nodes share (the source holds, for cold)
  uint64_t m = 1000;    // new entries (incr) or records edited on both sides (conflicts)
  int runs = 1;         // measured runs; the median is reported
  // sync-cold, sync-noop: > 0 runs each step twice per run, alternating: on
  // stores of no network, and on members of a network of this many certified
  // nodes (docs/membership.md), to measure what the certificate checks cost.
  uint64_t members = 0;
  // sync-cold: runs each step twice per run, alternating, with compression
  // off and on (ncen-node --compress-level 0 and 1): what zstd costs.
  bool compare_compression = false;
  bool json = false;
};

int SyncBench(const SyncBenchArgs& args);
// ncen-bench bundle N: bundle create and import of N entries (docs/bundles.md).
int BundleBench(uint64_t n, bool json);

}  // namespace ncen::bench
