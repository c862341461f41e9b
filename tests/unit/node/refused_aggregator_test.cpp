// RefusedAggregator: refused attempts gathered per node id and handed out at
// most once per interval; time is passed in.
#include <catch2/catch.hpp>

#include "node/refused_aggregator.h"
#include "tests/support/store_fixture.h"

namespace ncen::node {
namespace {

using testing::IdentityFromNumber;

storage::RefusedAttempt Attempt(uint8_t who, int64_t at_ms, int port = 50000) {
  return {IdentityFromNumber(who).public_key(), "10.0.0." + std::to_string(who) + ":" + std::to_string(port),
          at_ms, "node is not in the trust roster"};
}

constexpr int64_t kT = 1'793'620'800'000;  // 2026-11-02T12:00:00Z

TEST_CASE("refused attempts of one id become one row saying how many", "[node]") {
  RefusedAggregator aggregator(2000, 10);
  CHECK_FALSE(aggregator.Due(kT));
  for (int i = 0; i < 50; ++i) aggregator.Add(Attempt(1, kT + i * 10, 50000 + i));
  aggregator.Add(Attempt(2, kT + 5));
  // Nothing written yet: the first write is due at once.
  REQUIRE(aggregator.Due(kT + 500));
  auto batch = aggregator.Take(kT + 500);
  CHECK(batch.attempts == 51);
  CHECK(batch.unrecorded == 0);
  REQUIRE(batch.rows.size() == 2);
  // Oldest latest-attempt first: the store lists the newest first.
  CHECK(batch.rows[0] == Attempt(2, kT + 5));
  CHECK(batch.rows[1].id == IdentityFromNumber(1).public_key());
  CHECK(batch.rows[1].at_ms == kT + 490);
  CHECK(batch.rows[1].address == "10.0.0.1:50049");
  CHECK(batch.rows[1].reason ==
        "node is not in the trust roster (50 attempts since 2026-11-02T12:00:00.000Z)");
  CHECK_FALSE(aggregator.Due(kT + 10000));
}

TEST_CASE("refused attempts are handed out at most once per interval", "[node]") {
  RefusedAggregator aggregator(2000, 10);
  aggregator.Add(Attempt(1, kT));
  REQUIRE(aggregator.Take(kT).rows.size() == 1);
  aggregator.Add(Attempt(1, kT + 100));
  CHECK_FALSE(aggregator.Due(kT + 1999));
  CHECK(aggregator.Due(kT + 2000));
  // A wall clock set back does not hold them for long.
  CHECK(aggregator.Due(kT - 60000));
  // At shutdown everything is taken, due or not.
  aggregator.Add(Attempt(3, kT + 200));
  auto batch = aggregator.Take(kT + 300);
  CHECK(batch.rows.size() == 2);
  CHECK(batch.attempts == 2);
}

TEST_CASE("refused attempts of ids beyond the bound are only counted", "[node]") {
  RefusedAggregator aggregator(2000, 3);
  for (uint8_t who = 1; who <= 5; ++who) {
    aggregator.Add(Attempt(who, kT + who));
    aggregator.Add(Attempt(who, kT + 100 + who));
  }
  auto batch = aggregator.Take(kT + 500);
  CHECK(batch.rows.size() == 3);
  CHECK(batch.attempts == 6);
  CHECK(batch.unrecorded == 4);
  // The count starts over.
  aggregator.Add(Attempt(9, kT + 3000));
  batch = aggregator.Take(kT + 3000);
  CHECK(batch.unrecorded == 0);
  CHECK(batch.rows.size() == 1);
}

}  // namespace
}  // namespace ncen::node
