// The record-operations library (node/records.h): the rules every front end
// shares, checked inside the write transaction that appends.
#include <catch2/catch.hpp>

#include "node/records.h"
#include "storage/record_json.h"
#include "tests/support/store_fixture.h"

namespace ncen::node {
namespace {

using json = nlohmann::ordered_json;
using storage::RecordType;

json Seizure(const std::string& narrative) {
  return {{"date", "2026-11-02"},
          {"country", "PK"},
          {"office", "PKTKM"},
          {"goods", {{{"category", "drugs"}, {"subtype", "heroin"}, {"quantity", 2.5}, {"unit", "kg"}}}},
          {"narrative", narrative}};
}

struct Office {
  explicit Office(uint8_t n) : identity(testing::IdentityFromNumber(n)), t(identity), records(*t.store, identity) {}
  crypto::Identity identity;
  testing::TestStore t;
  Records records;
  uint64_t Entries() { return t.store->Stats()->entries; }
};

std::string Narrative(Office& o, const storage::RecordId& id) {
  auto view = o.records.Get(id).value();
  auto body = storage::RecordToJson(RecordType::kSeizure, view.payloads[view.state.WinnerIndex()]).value();
  return body.value("narrative", "");
}

}  // namespace

TEST_CASE("add validates and stores; update replaces; the body's id must be the record's", "[records]") {
  Office o(1);
  CHECK(o.records.Add(RecordType::kSeizure, json{{"date", "2026-13-01"}}).status().code() ==
        StatusCode::kInvalidArgument);
  CHECK(o.Entries() == 0);
  auto id = o.records.Add(RecordType::kSeizure, Seizure("first"));
  REQUIRE(id.ok());
  REQUIRE(o.records.Update(*id, Seizure("second"), false).ok());
  CHECK(Narrative(o, *id) == "second");
  json other = Seizure("third");
  other["id"] = storage::FormatRecordId(testing::FixedRecordId(9));
  CHECK(o.records.Update(*id, other, false).code() == StatusCode::kInvalidArgument);
  CHECK(o.Entries() == 2);
}

TEST_CASE("resolve only a record in conflict, delete only a live one", "[records]") {
  Office a(1), b(2);
  auto id = a.records.Add(RecordType::kSeizure, Seizure("a")).value();
  CHECK(a.records.Update(id, Seizure("not in conflict"), true).code() == StatusCode::kInvalidArgument);
  REQUIRE(a.records.Delete(id).ok());
  Status again = a.records.Delete(id);
  CHECK(again.code() == StatusCode::kInvalidArgument);
  CHECK(again.message().find("already deleted") != std::string::npos);
  CHECK(a.records.Delete(testing::FixedRecordId(7)).code() == StatusCode::kNotFound);
  // A conflict: a and b edit the same record concurrently.
  auto shared = a.records.Add(RecordType::kSeizure, Seizure("shared")).value();
  REQUIRE(b.t.store->ApplyBatch(testing::AllEntries(*a.t.store)).refused.empty());
  REQUIRE(a.records.Update(shared, Seizure("a's edit"), false).ok());
  REQUIRE(b.records.Update(shared, Seizure("b's edit"), false).ok());
  REQUIRE(a.t.store->ApplyBatch(testing::AllEntries(*b.t.store)).refused.empty());
  REQUIRE(a.records.Get(shared)->state.conflict());
  REQUIRE(a.records.Update(shared, Seizure("settled"), true).ok());
  CHECK_FALSE(a.records.Get(shared)->state.conflict());
  CHECK(Narrative(a, shared) == "settled");
}

TEST_CASE("link only live records of the right types; a second link writes nothing", "[records]") {
  Office o(1);
  auto seizure = o.records.Add(RecordType::kSeizure, Seizure("s")).value();
  auto suspect = o.records.Add(RecordType::kSuspect, json{{"surname", "Müller"}}).value();
  auto company = o.records.Add(RecordType::kCompany, json{{"name", "Halvik Ticaret"}, {"country", "TR"}}).value();
  CHECK(o.records.Link(seizure, company, false).status().code() == StatusCode::kInvalidArgument);
  CHECK(o.records.Link(suspect, suspect, false).status().code() == StatusCode::kInvalidArgument);
  REQUIRE(o.records.Link(seizure, suspect, false).value());
  uint64_t entries = o.Entries();
  CHECK_FALSE(o.records.Link(seizure, suspect, false).value());
  CHECK(o.Entries() == entries);
  REQUIRE(o.records.Link(seizure, company, true).value());
  auto body = storage::RecordToJson(RecordType::kSeizure, o.records.Get(seizure)->payloads[0]).value();
  CHECK(body["suspects"].size() == 1);
  CHECK(body["companies"].size() == 1);
  CHECK(body["narrative"] == "s");  // the other fields are the seizure's as it was when linked
  REQUIRE(o.records.Delete(suspect).ok());
  auto another = o.records.Add(RecordType::kSeizure, Seizure("t")).value();
  CHECK(o.records.Link(another, suspect, false).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("a rule is checked in the write's own transaction, against what earlier changes did", "[records]") {
  // Two changes in one AppendLocal: the first deletes a record, the
  // second requires it live. The second's check sees the first: nothing of
  // the call is written.
  Office o(1);
  auto id = o.records.Add(RecordType::kSeizure, Seizure("x")).value();
  uint64_t entries = o.Entries();
  storage::LocalChange del{id, RecordType::kSeizure, storage::Op::kDelete, {}};
  storage::LocalChange edit{id, RecordType::kSeizure, storage::Op::kPut, testing::SeizurePayload("y")};
  edit.check = [id](storage::TxnRecords& records, Bytes*) -> Status {
    auto now = records.Get(id);
    if (!now.ok()) return now.status();
    return now->state.live() ? Status::Ok() : InvalidArgument("deleted meanwhile");
  };
  std::vector<storage::LocalChange> both = {del, edit};
  auto r = o.t.store->AppendLocal(o.identity, both);
  CHECK(r.status().message() == "deleted meanwhile");
  CHECK(o.Entries() == entries);
  // And a check may derive the payload from the record as it is in the
  // transaction (how a link keeps an edit that landed meanwhile).
  storage::LocalChange derived{id, RecordType::kSeizure, storage::Op::kPut, {}};
  derived.check = [id](storage::TxnRecords& records, Bytes* payload) -> Status {
    NCEN_ASSIGN_OR_RETURN(auto now, records.Get(id));
    *payload = now.payloads[now.state.WinnerIndex()];
    return Status::Ok();
  };
  std::vector<storage::LocalChange> edit_then_derive = {
      {id, RecordType::kSeizure, storage::Op::kPut, testing::SeizurePayload("the edit")}, derived};
  REQUIRE(o.t.store->AppendLocal(o.identity, edit_then_derive).ok());
  CHECK(Narrative(o, id) == "the edit");
}

TEST_CASE("search validates its request", "[records]") {
  Office o(1);
  o.records.Add(RecordType::kSeizure, Seizure("x")).value();
  SearchRequest r;
  CHECK(o.records.Search(r).status().code() == StatusCode::kInvalidArgument);
  r.from_date = "2026-13-01";
  CHECK(o.records.Search(r).status().code() == StatusCode::kInvalidArgument);
  r.from_date = "2026-12-01";
  r.to_date = "2026-01-01";
  CHECK(o.records.Search(r).status().code() == StatusCode::kInvalidArgument);
  r.from_date = "2026-11-01";
  r.to_date = "2026-11-30";
  CHECK(o.records.Search(r)->size() == 1);
}

TEST_CASE("a quarantined record is named as such by every operation", "[records]") {
  Office o(1);
  auto id = o.records.Add(RecordType::kSeizure, Seizure("x")).value();
  auto mallory = testing::IdentityFromNumber(66);
  storage::EntryHeader h;
  h.author = mallory.public_key();
  h.seq = 1;
  h.record_id = id;
  h.record_type = RecordType::kSuspect;
  auto suspect = storage::RecordFromJson(RecordType::kSuspect, json{{"surname", "M"}}).value();
  REQUIRE(o.t.store->ApplyBatch(std::vector{storage::MakeEntry(h, suspect, mallory)}).refused.empty());
  for (Status s : {o.records.Get(id).status(), o.records.Update(id, Seizure("y"), false), o.records.Delete(id)}) {
    CHECK(s.code() == StatusCode::kFailedPrecondition);
    CHECK(s.message().find("quarantined") != std::string::npos);
  }
  CHECK(QuarantineClasses(o.records.GetAny(id)->state) ==
        std::vector<std::string>{"seizure/national", "suspect/national"});
}

}  // namespace ncen::node

namespace ncen::node {

// What a sync would bring: `from`'s national entries first..last, applied at `to`.
void Deliver(Office& from, Office& to, uint64_t first, uint64_t last) {
  storage::FeedId feed{from.identity.public_key(), storage::Scope::kNational};
  std::vector<storage::Entry> batch;
  for (uint64_t seq = first; seq <= last; ++seq) batch.push_back(from.t.store->GetEntry(feed, seq).value());
  REQUIRE(to.t.store->ApplyBatch(batch, "peer").applied == batch.size());
}

TEST_CASE("history: every entry of a record, newest first, found through the contexts, others' entries skipped",
          "[records]") {
  Office a(1), b(2);
  Actor amina{"amina", "api", "127.0.0.1"};
  Records as_amina(*a.t.store, a.identity, amina);
  auto id = as_amina.Add(RecordType::kSeizure, Seizure("first")).value();
  auto other = as_amina.Add(RecordType::kSeizure, Seizure("another record")).value();
  REQUIRE(as_amina.Update(id, Seizure("second"), false).ok());
  REQUIRE(as_amina.Update(other, Seizure("another, edited"), false).ok());
  REQUIRE(as_amina.Update(id, Seizure("third"), false).ok());

  auto h = as_amina.HistoryOf(id, 50).value();
  REQUIRE(h.items.size() == 3);
  CHECK_FALSE(h.truncated);
  CHECK(h.items[0].dot.seq == 5);  // newest first
  CHECK(h.items[1].dot.seq == 3);
  CHECK(h.items[2].dot.seq == 1);
  CHECK(h.items[0].current);
  CHECK_FALSE(h.items[1].current);
  CHECK(h.items[2].entered_by["name"] == "amina");
  CHECK(h.items[2].entered_by["via"] == "api");

  // A peer's concurrent version, and then a delete here that settles both.
  auto theirs = storage::LocalChange{id, RecordType::kSeizure, storage::Op::kPut, testing::SeizurePayload("theirs")};
  REQUIRE(b.t.store->AppendLocal(b.identity, {&theirs, 1}).ok());
  Deliver(b, a, 1, 1);
  h = as_amina.HistoryOf(id, 50).value();
  REQUIRE(h.items.size() == 4);
  int current = 0;
  for (const auto& item : h.items) current += item.current ? 1 : 0;
  CHECK(current == 2);
  REQUIRE(as_amina.Delete(id).ok());
  h = as_amina.HistoryOf(id, 50).value();
  REQUIRE(h.items.size() == 5);
  CHECK(h.items[0].op == storage::Op::kDelete);
  CHECK(h.items[0].current);
  CHECK(h.items[0].entered_by.is_null());

  auto two = as_amina.HistoryOf(id, 2).value();
  CHECK(two.items.size() == 2);
  CHECK(two.truncated);

  // A hostile author's entry whose context names an entry of another record:
  // the walk reads it and leaves it out.
  Office c(3);
  storage::EntryHeader header;
  header.author = c.identity.public_key();
  header.seq = 1;
  header.timestamp_ms = a.t.store->NowMs() + 1000;
  header.record_id = id;
  header.op = storage::Op::kPut;
  header.context.dots = {storage::Dot{a.identity.public_key(), 2}};  // seq 2 is `other`'s
  std::vector<storage::Entry> hostile{storage::MakeEntry(header, testing::SeizurePayload("hostile"), c.identity)};
  REQUIRE(a.t.store->ApplyBatch(hostile, "c").applied == 1);
  h = as_amina.HistoryOf(id, 50).value();
  CHECK(h.items.size() == 6);
  for (const auto& item : h.items) CHECK(item.dot != (storage::Dot{a.identity.public_key(), 2}));

  // A context can only name entries the node holds (the store refuses
  // others), so a dot the walk follows is always one read.
  CHECK(as_amina.HistoryOf(testing::FixedRecordId(0x55), 50).status().code() == StatusCode::kNotFound);
}

TEST_CASE("an update or delete against versions read before is refused inside the write when they changed",
          "[records]") {
  Office a(1), b(2);
  auto id = a.records.Add(RecordType::kSeizure, Seizure("ours")).value();
  auto read = VersionDots(a.records.Get(id).value().state);
  // A peer's concurrent version arrives after the officer read the record.
  auto theirs = storage::LocalChange{id, RecordType::kSeizure, storage::Op::kPut, testing::SeizurePayload("theirs")};
  REQUIRE(b.t.store->AppendLocal(b.identity, {&theirs, 1}).ok());
  Deliver(b, a, 1, 1);
  uint64_t before = a.Entries();
  CHECK(a.records.Update(id, Seizure("edited"), false, &read).code() == StatusCode::kConflict);
  CHECK(a.records.Delete(id, &read).code() == StatusCode::kConflict);
  CHECK(a.Entries() == before);
  auto now = VersionDots(a.records.Get(id).value().state);
  CHECK(now.size() == 2);
  CHECK(a.records.Update(id, Seizure("both seen"), false, &now).ok());
  CHECK(a.records.Get(id).value().state.versions.size() == 1);
}

TEST_CASE("history with a limit keeps the newest of every branch and every current version", "[records]") {
  Office a(1), b(2);
  auto id = a.records.Add(RecordType::kSeizure, Seizure("first")).value();
  Deliver(a, b, 1, 1);
  // Apart, each edits the record many times.
  for (int i = 0; i < 60; ++i) {
    REQUIRE(a.records.Update(id, Seizure("a " + std::to_string(i)), false).ok());
    REQUIRE(b.records.Update(id, Seizure("b " + std::to_string(i)), false).ok());
  }
  Deliver(b, a, 1, 60);
  REQUIRE(a.records.Get(id).value().state.versions.size() == 2);

  auto h = a.records.HistoryOf(id, 10).value();
  CHECK(h.truncated);
  REQUIRE(h.items.size() == 10);
  int currents = 0, of_a = 0, of_b = 0;
  for (const auto& item : h.items) {
    currents += item.current ? 1 : 0;
    (item.dot.author == a.identity.public_key() ? of_a : of_b) += 1;
  }
  CHECK(currents == 2);
  CHECK(of_a >= 1);
  CHECK(of_b >= 1);
  // The newest: the ten of the whole history that the cut keeps (its two
  // versions, then the newest others), found by a walk of 84 reads of 121 entries.
  auto full = a.records.HistoryOf(id, 200).value();
  REQUIRE(full.items.size() == 121);
  std::vector<storage::Dot> expected;
  for (const auto& item : full.items) {
    if (item.current) expected.push_back(item.dot);
  }
  for (const auto& item : full.items) {
    if (!item.current && expected.size() < 10) expected.push_back(item.dot);
  }
  std::vector<storage::Dot> got;
  for (const auto& item : h.items) got.push_back(item.dot);
  std::sort(expected.begin(), expected.end());
  std::sort(got.begin(), got.end());
  CHECK(got == expected);
  // A limit below the number of versions still shows them all.
  auto one = a.records.HistoryOf(id, 1).value();
  CHECK(one.items.size() == 2);
  CHECK(one.items[0].current);
  CHECK(one.items[1].current);
}

TEST_CASE("a conflict of two deletes made apart is settled by one more delete", "[records]") {
  Office a(1), b(2);
  auto id = a.records.Add(RecordType::kSeizure, Seizure("first")).value();
  Deliver(a, b, 1, 1);
  REQUIRE(a.records.Delete(id).ok());
  REQUIRE(b.records.Delete(id).ok());
  Deliver(b, a, 1, 1);
  auto state = a.records.Get(id).value().state;
  REQUIRE(state.conflict());
  CHECK_FALSE(state.live());
  REQUIRE(a.records.Delete(id).ok());
  state = a.records.Get(id).value().state;
  CHECK_FALSE(state.conflict());
  CHECK_FALSE(state.live());
  CHECK(a.records.Delete(id).code() == StatusCode::kInvalidArgument);  // now simply deleted
}

}  // namespace ncen::node
