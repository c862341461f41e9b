// Convergence property: entries written concurrently by several authors to
// overlapping records, applied to fresh stores in many random orders with
// duplicates, give identical record state everywhere.
#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "tests/support/store_fixture.h"

using namespace ncen;
using namespace ncen::storage;
using ncen::testing::TestStore;

namespace {

constexpr int kAuthors = 3;
constexpr int kRecords = 4;

// Entries `to` lacks from `from`, feed by feed in order.
std::vector<Entry> Missing(const Store& from, const Store& to) {
  std::map<FeedId, uint64_t> have;
  for (const auto& f : to.Frontier().value()) have[f.feed] = f.seq;
  std::vector<Entry> out;
  for (const auto& f : from.Frontier().value()) {
    for (uint64_t s = have[f.feed] + 1; s <= f.seq; ++s) out.push_back(from.GetEntry(f.feed, s).value());
  }
  return out;
}

struct Outcome {
  Hash256 state_digest{};
  Hash256 frontier_digest{};
};

// Applies `all` (grouped by feed) to a fresh store in a random interleaving:
// random runs of each feed, random batch sizes, and duplicates re-sent.
Outcome Replay(const std::map<FeedId, std::vector<Entry>>& feeds, Rng& rng,
               const std::map<RecordId, int>& records, const std::vector<std::pair<RecordId, Dot>>& acked) {
  TestStore fresh(testing::IdentityFromNumber(200));
  std::vector<std::pair<const FeedId*, const std::vector<Entry>*>> order;
  for (const auto& [id, entries] : feeds) order.emplace_back(&id, &entries);
  // Until the store holds everything: an entry whose context names entries
  // it does not hold yet is refused and sent again later, as a sender would.
  for (int round = 0;; ++round) {
    std::map<FeedId, size_t> next;  // what the store holds of each feed
    for (const auto& f : fresh.store->Frontier().value()) next[f.feed] = f.seq;
    size_t remaining = 0;
    for (const auto& [id, entries] : feeds) remaining += entries.size() - next[id];
    if (remaining == 0) break;
    REQUIRE(round < 5000);
    std::vector<Entry> batch;
    size_t batch_runs = rng.Between(1, 3);
    std::set<const FeedId*> in_batch;  // a feed's entries increase in seq within a batch
    for (size_t r = 0; r < batch_runs; ++r) {
      auto& [feed, entries] = order[rng.Below(order.size())];
      size_t& at = next[*feed];
      // Sometimes re-send a few entries delivered by an earlier batch.
      size_t start = at;
      if (at > 0 && !in_batch.count(feed) && rng.Percent(30)) start = at - rng.Between(1, std::min<size_t>(at, 3));
      in_batch.insert(feed);
      size_t end = std::min(entries->size(), at + rng.Between(0, 4));
      for (size_t i = start; i < end; ++i) batch.push_back((*entries)[i]);
      at = end;
    }
    ApplyReport report = fresh.store->ApplyBatch(batch);
    REQUIRE(report.status.ok());
    for (const Refusal& refusal : report.refused) {
      INFO(refusal.message);
      CHECK(refusal.error == EntryError::kMissingDependency);
    }
  }
  // Safety: siblings never exceed the writers; nothing acknowledged is lost.
  for (const auto& [id, unused] : records) {
    auto view = fresh.store->GetRecord(id);
    if (!view.ok()) continue;
    CHECK(view->state.versions.size() <= static_cast<size_t>(kAuthors));
  }
  for (const auto& [id, dot] : acked) {
    auto view = fresh.store->GetRecord(id);
    REQUIRE(view.ok());
    CHECK(view->state.CausalContext().Covers(dot));
  }
  REQUIRE(fresh.store->VerifyLog().ok());
  return {fresh.store->RecordStateDigest().value(), fresh.store->FrontierDigest().value()};
}

}  // namespace

TEST_CASE("stores converge to one state whatever order and duplication entries arrive in",
          "[storage][convergence]") {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    INFO("seed=" << seed);
    Rng rng(seed);
    std::vector<crypto::Identity> ids;
    std::vector<std::unique_ptr<TestStore>> stores;
    for (int a = 0; a < kAuthors; ++a) {
      ids.push_back(testing::IdentityFromNumber(static_cast<uint8_t>(a + 1)));
      stores.push_back(std::make_unique<TestStore>(ids.back()));
    }
    std::map<RecordId, int> records;
    for (int r = 0; r < kRecords; ++r) records[testing::FixedRecordId(static_cast<uint8_t>(r))] = r;
    std::vector<std::pair<RecordId, Dot>> acked;

    for (int step = 0; step < 60; ++step) {
      int a = static_cast<int>(rng.Below(kAuthors));
      Store& mine = *stores[a]->store;
      if (rng.Percent(35)) {
        int b = static_cast<int>(rng.Below(kAuthors));
        if (b == a) continue;
        auto missing = Missing(*stores[b]->store, mine);
        REQUIRE(mine.ApplyBatch(missing).status.ok());
        continue;
      }
      RecordId id = testing::FixedRecordId(static_cast<uint8_t>(rng.Below(kRecords)));
      auto held = mine.GetRecord(id);
      LocalChange change{id, RecordType::kSeizure, Op::kPut,
                         testing::SeizurePayload("step " + std::to_string(step), 1.0 + step)};
      if (held.ok() && held->state.live() && rng.Percent(15)) {
        change.op = Op::kDelete;
        change.payload.clear();
      }
      auto dots = mine.AppendLocal(ids[a], {&change, 1});
      REQUIRE(dots.ok());
      acked.emplace_back(id, dots->front());
    }

    std::map<FeedId, std::vector<Entry>> feeds;
    for (auto& s : stores) {
      for (auto& e : testing::AllEntries(*s->store)) {
        auto& list = feeds[e.header.feed()];
        if (list.size() < e.header.seq) list.push_back(std::move(e));
      }
    }
    Outcome first = Replay(feeds, rng, records, acked);
    for (int trial = 0; trial < 4; ++trial) {
      Outcome other = Replay(feeds, rng, records, acked);
      REQUIRE(other.state_digest == first.state_digest);
      REQUIRE(other.frontier_digest == first.frontier_digest);
    }
  }
}

TEST_CASE("a concurrent edit on two nodes is kept as two versions until a resolve covers both",
          "[storage]") {
  auto a_id = testing::IdentityFromNumber(1), b_id = testing::IdentityFromNumber(2);
  TestStore a(a_id), b(b_id);
  RecordId id = testing::FixedRecordId(7);
  LocalChange create{id, RecordType::kSeizure, Op::kPut, testing::SeizurePayload("original")};
  REQUIRE(a.store->AppendLocal(a_id, {&create, 1}).ok());
  REQUIRE(b.store->ApplyBatch(testing::AllEntries(*a.store)).status.ok());

  LocalChange edit_a{id, RecordType::kSeizure, Op::kPut, testing::SeizurePayload("edit at A", 2)};
  LocalChange edit_b{id, RecordType::kSeizure, Op::kPut, testing::SeizurePayload("edit at B", 3)};
  REQUIRE(a.store->AppendLocal(a_id, {&edit_a, 1}).ok());
  REQUIRE(b.store->AppendLocal(b_id, {&edit_b, 1}).ok());
  REQUIRE(a.store->ApplyBatch(Missing(*b.store, *a.store)).status.ok());
  REQUIRE(b.store->ApplyBatch(Missing(*a.store, *b.store)).status.ok());

  for (Store* s : {a.store.get(), b.store.get()}) {
    auto view = s->GetRecord(id).value();
    CHECK(view.state.versions.size() == 2);
    CHECK(s->Stats()->conflicts == 1);
    CHECK(s->Conflicts(10)->size() == 1);
  }
  CHECK(a.store->GetRecord(id)->state.WinnerIndex() == b.store->GetRecord(id)->state.WinnerIndex());

  LocalChange resolve{id, RecordType::kSeizure, Op::kResolve, testing::SeizurePayload("resolved", 4)};
  REQUIRE(a.store->AppendLocal(a_id, {&resolve, 1}).ok());
  REQUIRE(b.store->ApplyBatch(Missing(*a.store, *b.store)).status.ok());
  for (Store* s : {a.store.get(), b.store.get()}) {
    CHECK(s->GetRecord(id)->state.versions.size() == 1);
    CHECK(s->Stats()->conflicts == 0);
  }
  CHECK(a.store->RecordStateDigest().value() == b.store->RecordStateDigest().value());
}

TEST_CASE("a delete concurrent with an edit keeps both, and the live edit wins reads", "[storage]") {
  auto a_id = testing::IdentityFromNumber(1), b_id = testing::IdentityFromNumber(2);
  TestStore a(a_id), b(b_id);
  RecordId id = testing::FixedRecordId(9);
  LocalChange create{id, RecordType::kSeizure, Op::kPut, testing::SeizurePayload("x")};
  REQUIRE(a.store->AppendLocal(a_id, {&create, 1}).ok());
  REQUIRE(b.store->ApplyBatch(testing::AllEntries(*a.store)).status.ok());
  LocalChange del{id, RecordType::kSeizure, Op::kDelete, {}};
  LocalChange edit{id, RecordType::kSeizure, Op::kPut, testing::SeizurePayload("y")};
  REQUIRE(a.store->AppendLocal(a_id, {&del, 1}).ok());
  REQUIRE(b.store->AppendLocal(b_id, {&edit, 1}).ok());
  REQUIRE(a.store->ApplyBatch(Missing(*b.store, *a.store)).status.ok());
  auto view = a.store->GetRecord(id).value();
  REQUIRE(view.state.versions.size() == 2);
  CHECK(view.state.Winner().op == Op::kPut);
  CHECK(view.state.live());
}
