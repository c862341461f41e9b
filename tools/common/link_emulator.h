// LinkEmulator: a TCP relay on 127.0.0.1 that makes a loopback connection
// look like a thin link (a modem, a VSAT hop) for benchmarks and system
// tests. Not for production: nothing here is hardened against a hostile
// peer beyond staying bounded.
//
// It listens on an ephemeral port; each accepted connection is paired with a
// new connection to `target`, and bytes are forwarded both ways through an
// emulated link:
//
//   - rate: each direction is a serial line of `rate_bits_per_s` shared by
//     every connection through the emulator. A chunk read from one side
//     starts "transmitting" when the line is free and is done after
//     size * 8 / rate seconds. At most `buffer_bytes` per direction may be
//     waiting for the line (the modem's buffer); past that the relay stops
//     reading, so the sender feels TCP backpressure, not an unbounded queue.
//   - delay: a chunk is delivered no earlier than its transmission end +
//     `one_way_delay_ms` (RTT / 2 each way). Bytes "on the wire" (at most
//     rate * delay, the bandwidth-delay product) are held by the relay.
//   - cuts: with `cut_interval_ms` > 0, every interval all current
//     connections are closed on both sides (like a link that drops); new
//     connections are accepted afterwards.
//
// With rate 0 (unlimited) a chunk is transmitted at once and the delay line
// holds at most `unlimited_in_flight_bytes` per direction and connection.
//
// Threads: the relay runs on one thread of its own. Start, Stop, address()
// and counters() may be called from any one controlling thread; counters()
// from any thread. Stop() is bounded: it closes every socket and joins.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"

namespace ncen::tools {

struct LinkOptions {
  uint64_t rate_bits_per_s = 0;      // per direction; 0: unlimited
  uint32_t one_way_delay_ms = 0;     // each direction (RTT / 2)
  uint32_t cut_interval_ms = 0;      // close every connection this often; 0: never
  uint32_t buffer_bytes = 4096;      // per direction: bytes waiting for the line
  uint32_t unlimited_in_flight_bytes = 1 << 20;  // rate 0 with a delay: per direction and connection
};

struct LinkCounters {
  uint64_t bytes_to_target = 0;    // delivered from accepted connections to the target
  uint64_t bytes_from_target = 0;  // delivered from the target back to accepted connections
  uint64_t connections_accepted = 0;
  uint64_t connections_closed = 0;  // pairs fully closed (by either side, a cut, or Stop)
  uint64_t cuts = 0;
  // Microseconds since Start of the latest accept and the latest delivery
  // toward the accepting side (the client); 0 before any.
  uint64_t last_accept_us = 0;
  uint64_t last_delivery_to_client_us = 0;
  uint64_t bytes() const { return bytes_to_target + bytes_from_target; }
};

// "6 kbit", "256kbit", "2mbit", "64000" (bit/s), "0" or "unlimited".
// Returns kInvalidArgument for anything else.
Result<uint64_t> ParseBitRate(const std::string& text);

class LinkEmulator {
 public:
  // Listens on 127.0.0.1:0 and relays to `target` ("127.0.0.1:PORT"; IPv4
  // literal only). kInvalidArgument for a bad target or options,
  // kIOError when the listener cannot be opened. The target is dialed per
  // accepted connection; when that dial fails the accepted one is closed.
  static Result<std::unique_ptr<LinkEmulator>> Start(const std::string& target, const LinkOptions& options);
  ~LinkEmulator();  // Stop()
  LinkEmulator(const LinkEmulator&) = delete;
  LinkEmulator& operator=(const LinkEmulator&) = delete;

  // "127.0.0.1:PORT", what clients dial.
  std::string address() const;
  LinkCounters counters() const;
  // Closes every connection at once (counted as a cut); the listener stays.
  void CutNow();
  // Closes the listener and every connection and joins the thread. Idempotent.
  void Stop();

 private:
  struct Impl;
  explicit LinkEmulator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ncen::tools
