// NCEN_CHECK: assertions for programming errors. They stay on in release
// builds. Never use them on input from a peer, a file or a user — that is a
// Status (docs/design.md §10).
#pragma once

namespace ncen::internal {
[[noreturn]] void CheckFailed(const char* expr, const char* file, int line);
}

#define NCEN_CHECK(cond) \
  ((cond) ? (void)0 : ::ncen::internal::CheckFailed(#cond, __FILE__, __LINE__))
