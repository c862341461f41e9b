// RepeatLimiter: one line per key per interval, with counts of the lines
// held back; time is passed in, so no sleeps.
#include <catch2/catch.hpp>

#include <mutex>

#include "base/log.h"
#include "base/log_limiter.h"

namespace ncen::log {
namespace {

TEST_CASE("repeat limiter writes the first line of a key and holds back repeats", "[base][log]") {
  RepeatLimiter limiter(5000, 8);
  CHECK(limiter.Admit("accept", "accept failed: a", 1000) == "accept failed: a");
  for (int i = 0; i < 10; ++i) CHECK_FALSE(limiter.Admit("accept", "accept failed: b", 1001 + i));
  CHECK(limiter.held_back_total() == 10);
  // Other keys are independent.
  CHECK(limiter.Admit("refused", "refused peer x", 1500) == "refused peer x");
  // Nothing is due before the interval has passed since the key's last line.
  CHECK(limiter.TakeDue(5999).empty());
  CHECK(limiter.NextDueMs() == 6000);
}

TEST_CASE("repeat limiter reports the lines held back once the interval has passed",
          "[base][log]") {
  RepeatLimiter limiter(5000, 8);
  REQUIRE(limiter.Admit("accept", "accept failed: first", 0));
  for (int i = 1; i <= 4; ++i) {
    REQUIRE_FALSE(limiter.Admit("accept", "accept failed: " + std::to_string(i), i * 100));
  }
  SECTION("a quiet key gets one summary: its latest line and the count of the others") {
    auto due = limiter.TakeDue(5000);
    REQUIRE(due.size() == 1);
    CHECK(due[0] == "accept failed: 4 (and 3 more like it in the last 5 s)");
    CHECK_FALSE(limiter.NextDueMs());
    // The summary counts as the key's line: the next repeat within the
    // interval is held back again.
    CHECK_FALSE(limiter.Admit("accept", "accept failed: 5", 6000));
    CHECK(limiter.TakeDue(10000) == std::vector<std::string>{"accept failed: 5"});
  }
  SECTION("the next line of a busy key carries the count") {
    CHECK(limiter.Admit("accept", "accept failed: 5", 7000) ==
          "accept failed: 5 (and 4 more like it in the last 7 s)");
    CHECK(limiter.TakeDue(20000).empty());
  }
  SECTION("at shutdown everything held back is reported") {
    auto all = limiter.TakeAll(1000);
    REQUIRE(all.size() == 1);
    CHECK(all[0] == "accept failed: 4 (and 3 more like it in the last 1 s)");
    CHECK(limiter.keys() == 0);
  }
}

TEST_CASE("repeat limiter writes one line per interval under a steady flood", "[base][log]") {
  RepeatLimiter limiter(5000, 8);
  size_t written = 0;
  // One event per millisecond for 60 s: 60,000 events.
  for (int64_t t = 0; t < 60000; ++t) {
    if (limiter.Admit("over", "connection closed at once", t)) ++written;
    written += limiter.TakeDue(t).size();
  }
  // A line at 0, then one every 5 s carrying the count of the 4,999 before it.
  CHECK(written == 12);
  CHECK(limiter.held_back_total() == 60000 - 12);
}

TEST_CASE("repeat limiter forgets quiet keys and bounds the keys it tracks", "[base][log]") {
  RepeatLimiter limiter(1000, 3);
  for (int k = 0; k < 3; ++k) REQUIRE(limiter.Admit("key" + std::to_string(k), "line", 0));
  CHECK(limiter.keys() == 3);
  // A fourth key while the three are recent shares the overflow key.
  CHECK(limiter.Admit("key3", "line 3", 10) == "line 3");
  CHECK_FALSE(limiter.Admit("key4", "line 4", 20));  // held back under the shared key
  CHECK(limiter.keys() == 4);
  // Once the keys are quiet they are forgotten; the map never grows past keys_max + 1.
  for (int k = 0; k < 100; ++k) (void)limiter.Admit("k" + std::to_string(k), "x", 5000 + k * 1000);
  CHECK(limiter.keys() <= 4);
}

TEST_CASE("repeat limiter Line and Flush write through the log sink", "[base][log]") {
  std::mutex mutex;
  std::vector<std::string> lines;
  SetSink([&](std::string_view line) {
    std::lock_guard lock(mutex);
    lines.emplace_back(line);
  });
  RepeatLimiter limiter(100, 8);
  for (int i = 0; i < 50; ++i) limiter.Line("k", "same thing", i);
  limiter.Flush(99);
  limiter.Flush(100);
  SetSink({});
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].ends_with(": same thing"));
  CHECK(lines[1].ends_with(": same thing (and 48 more like it in the last 1 s)"));
}

}  // namespace
}  // namespace ncen::log
