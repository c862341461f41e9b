// RefusedAggregator: peers that completed the handshake but are not in the
// trust roster, gathered in memory so that a flood of them costs the daemon
// one durable commit every few seconds instead of one per attempt
// (docs/protocol.md §8). Each write has one row per node id: its latest
// attempt, whose reason says how many attempts the row stands for. At most
// `ids_max` ids are kept between writes; attempts of further ids are only
// counted. Time (Unix milliseconds, as in the rows) is passed in.
//
// Thread-safety: none; the daemon's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "base/limits.h"
#include "storage/peer_status.h"

namespace ncen::node {

class RefusedAggregator {
 public:
  explicit RefusedAggregator(int64_t interval_ms = limits::kRefusedWriteIntervalMs,
                             size_t ids_max = limits::kRefusedIdsPerWriteMax);

  void Add(const storage::RefusedAttempt& attempt);

  // True when attempts wait and `interval_ms` has passed since the last
  // Take() (or the clock went back).
  bool Due(int64_t now_ms) const;

  struct Batch {
    std::vector<storage::RefusedAttempt> rows;  // one per id, oldest latest-attempt first
    uint64_t attempts = 0;                      // attempts the rows stand for
    uint64_t unrecorded = 0;                    // attempts of ids beyond ids_max
  };
  // Everything waiting, due or not (at shutdown the daemon writes it all).
  Batch Take(int64_t now_ms);

 private:
  struct Pending {
    storage::RefusedAttempt latest;
    int64_t first_ms = 0;
    uint64_t count = 0;
  };
  int64_t interval_ms_;
  size_t ids_max_;
  std::map<crypto::PublicKey, Pending> pending_;
  uint64_t unrecorded_ = 0;
  int64_t last_take_ms_ = 0;
  bool taken_ = false;
};

}  // namespace ncen::node
