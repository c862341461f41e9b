// ncen-bench channel (see channel_bench.cpp).
#pragma once

#include <chrono>
#include <cstdint>

namespace ncen::bench {

using Clock = std::chrono::steady_clock;
int ChannelBench(uint64_t handshakes, uint64_t bulk_mib, bool json);
// Payload MB/s (10^6 bytes) of `total_mib` MiB over the encrypted loopback channel.
double ChannelBulkMBps(uint64_t total_mib);

}  // namespace ncen::bench
