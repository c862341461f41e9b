// The daemon's one boundary for exceptions from a replication session
// (docs/protocol.md §8). A session returns Status for everything it expects
// from a peer; what it throws is an allocation that failed (std::bad_alloc)
// or a bug in it or in a dependency. Either way only that session is lost:
// the daemon closes that peer's connection and serves the others.
// Plain function, any thread.
#pragma once

#include <functional>

#include "base/status.h"

namespace ncen::node {

// Runs `call`. Returns Ok when it returns; when it throws a std::exception,
// that exception as a Status: kResourceExhausted for std::bad_alloc,
// kUnavailable (drop the connection, the peer may reconnect) for any other,
// with what() in the message. Exceptions not derived from std::exception
// are not caught: nothing ncen uses throws them.
Status CatchSessionExceptions(const std::function<void()>& call);

}  // namespace ncen::node
