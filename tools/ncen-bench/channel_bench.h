// ncen-bench channel (see channel_bench.cpp).
#pragma once

#include <chrono>
#include <cstdint>

namespace ncen::bench {

using Clock = std::chrono::steady_clock;
int ChannelBench(uint64_t handshakes, uint64_t bulk_mib, bool json);

}  // namespace ncen::bench
