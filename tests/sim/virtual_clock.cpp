// The link-time seam for the store's clock (see virtual_clock.h). Compiled
// into each simulator executable, whose link options wrap the symbol.
#include "tests/sim/virtual_clock.h"

namespace ncen::sim {
namespace {
int64_t g_now_ms = 0;
}  // namespace

void SetVirtualNowMs(int64_t now_ms) { g_now_ms = now_ms; }
int64_t VirtualNowMs() { return g_now_ms; }

}  // namespace ncen::sim

// Every call of ncen::storage::UnixMillisNow() from another object file lands
// here (ld --wrap=_ZN4ncen7storage13UnixMillisNowEv).
extern "C" int64_t __wrap__ZN4ncen7storage13UnixMillisNowEv() { return ncen::sim::VirtualNowMs(); }
