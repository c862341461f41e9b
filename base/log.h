// One log line per event, to stderr by default: "2026-11-28T10:00:00.123Z
// ncen-node: message". A process may replace the sink (tests capture lines).
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace ncen::log {

using Sink = std::function<void(std::string_view line)>;

// UTC time with milliseconds, ISO 8601: "2026-11-28T10:00:00.123Z".
std::string IsoTime(int64_t unix_ms);

// Replaces the sink; an empty function restores stderr. Returns the old one.
Sink SetSink(Sink sink);
// Sets the program name printed after the timestamp.
void SetProgram(std::string name);
// Writes one line (a trailing newline is added; embedded newlines are
// replaced by spaces so each event stays one line).
void Line(std::string_view message);

}  // namespace ncen::log
