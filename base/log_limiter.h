// RepeatLimiter: keeps log lines that strangers can cause (accept failures,
// connections over a bound, refused peers) from flooding the log. Per key,
// the first line is written and further lines within `interval_ms` of it are
// held back and counted; once the interval has passed, the next line of
// that key — or TakeDue(), for a key that went quiet — carries the count:
//
//   accept failed: Too many open files
//   accept failed: Too many open files (and 4 more like it in the last 5 s)
//
// Keys are a small fixed set chosen by the caller ("accept failed"), never
// text from a peer; past `keys_max` keys, new keys share one overflow key.
// Time is passed in (milliseconds of any monotonic clock), so tests need no
// sleeps.
//
// Thread-safety: none; one owner on one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/limits.h"

namespace ncen::log {

class RepeatLimiter {
 public:
  explicit RepeatLimiter(int64_t interval_ms = limits::kLogRepeatIntervalMs,
                         size_t keys_max = limits::kLogRepeatKeysMax);

  // The line to write now for one event of `key`, or nullopt when it is held
  // back (and counted).
  std::optional<std::string> Admit(std::string_view key, std::string_view line, int64_t now_ms);
  // One line for every key whose interval has passed with lines held back:
  // the latest of them, with the count of the others. Forgets quiet keys.
  std::vector<std::string> TakeDue(int64_t now_ms);
  // The same for every key with lines held back, due or not (at shutdown).
  std::vector<std::string> TakeAll(int64_t now_ms);
  // When TakeDue will next have a line to give, or nullopt when nothing is
  // held back.
  std::optional<int64_t> NextDueMs() const;

  // Admit / TakeDue, writing through log::Line.
  void Line(std::string_view key, std::string_view line, int64_t now_ms);
  void Flush(int64_t now_ms);

  // Lines held back since construction (for tests and statistics).
  uint64_t held_back_total() const { return held_back_total_; }
  size_t keys() const { return keys_.size(); }

 private:
  struct KeyState {
    int64_t last_written_ms = 0;
    uint64_t held_back = 0;     // since the last line written for this key
    std::string latest;         // the latest line held back
  };
  std::string Summary(KeyState& state, int64_t now_ms) const;
  KeyState& StateFor(std::string_view key, int64_t now_ms);
  void ForgetQuiet(int64_t now_ms);

  int64_t interval_ms_;
  size_t keys_max_;
  std::map<std::string, KeyState, std::less<>> keys_;
  uint64_t held_back_total_ = 0;
};

}  // namespace ncen::log
