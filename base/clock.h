// Clock: where "now" comes from, passed in wherever time is read (the
// store's entry timestamps, record ids, fork reports). The product uses
// SystemClock; the simulation gives each node a virtual clock of its own, so
// a seed replays exactly. Implementations are read from one thread at a
// time, like the objects that hold them.
#pragma once

#include <cstdint>

namespace ncen {

class Clock {
 public:
  virtual ~Clock() = default;
  // Unix time in milliseconds.
  virtual int64_t NowMs() const = 0;
};

// The machine's wall clock (UTC).
class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override;
};

}  // namespace ncen
