// ncen-bench link-sync / link-noop / wire-bytes: replication between two
// ncen-node processes through a LinkEmulator (tools/common/link_emulator.h),
// a thin link of a given rate, round-trip time and cuts (see link_bench.cpp).
#pragma once

#include <cstdint>
#include <string>

namespace ncen::bench {

struct LinkBenchArgs {
  std::string mode;          // "link-sync", "link-noop", "wire-bytes"
  uint64_t n = 0;            // entries (0: the mode's default)
  std::string rate;          // "256kbit", "unlimited"... ("": the mode's default)
  int64_t rtt_ms = -1;       // round-trip time; -1: the mode's default
  uint32_t cut_s = 0;        // close the link every cut_s seconds; 0: never
  uint64_t pushes = 200;     // wire-bytes: single live pushes measured
  double timeout_s = 600;    // the sync gives up (and the scenario fails) after this
  bool json = false;
};

// Returns the process exit code: 0, or 1 when the scenario failed or timed out.
int LinkBench(const LinkBenchArgs& args);

}  // namespace ncen::bench
