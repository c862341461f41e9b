// The virtual clock the simulator runs the store on. Store::AppendLocal
// stamps entries with storage::UnixMillisNow(); simulator executables are
// linked with `--wrap` on that function (tests/sim/CMakeLists.txt), and the
// wrapper (virtual_clock.cpp) returns VirtualNowMs(). So timestamps, and with
// them entry hashes and digests, repeat exactly on every replay of a seed.
// One process-wide value: one simulation per process at a time.
#pragma once

#include <cstdint>

namespace ncen::sim {

void SetVirtualNowMs(int64_t now_ms);
int64_t VirtualNowMs();

}  // namespace ncen::sim
