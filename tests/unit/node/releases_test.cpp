// Releases (node/releases.h): release, release again, pending, withdraw,
// and every refusal writing nothing.
#include <catch2/catch.hpp>

#include "node/records.h"
#include "node/releases.h"
#include "storage/record_json.h"
#include "tests/support/store_fixture.h"

namespace ncen::node {
namespace {

using json = nlohmann::ordered_json;
using storage::RecordId;
using storage::RecordType;
using storage::Scope;

json Seizure(double quantity, const std::string& narrative = "Found by the dog handler") {
  return {{"date", "2026-11-02"},
          {"country", "PK"},
          {"office", "PKTKM"},
          {"transport_mode", "road_truck"},
          {"goods", {{{"category", "drugs"}, {"subtype", "heroin"}, {"quantity", quantity}, {"unit", "kg"}}}},
          {"narrative", narrative}};
}

struct Hub {
  explicit Hub(uint8_t n = 1)
      : identity(testing::IdentityFromNumber(n)), t(identity, "PK hub"), records(*t.store, identity),
        releases(*t.store, identity) {}
  crypto::Identity identity;
  testing::TestStore t;
  Records records;
  Releases releases;
  uint64_t Entries() { return t.store->Stats()->entries; }
  json Report(const RecordId& id) {
    auto view = records.Get(id).value();
    return storage::RecordToJson(RecordType::kSeizureReport, view.payloads[view.state.WinnerIndex()]).value();
  }
};

}  // namespace

TEST_CASE("a release writes a report; the same content again writes nothing; an edit is pending", "[releases]") {
  Hub h;
  RecordId seizure = h.records.Add(RecordType::kSeizure, Seizure(12.4)).value();
  RecordId one[] = {seizure};

  auto dry = h.releases.Release(one, Scope::kRegional, true);
  REQUIRE(dry.ok());
  CHECK(h.Entries() == 1);  // a dry run writes nothing
  CHECK_FALSE((*dry)[0].written);
  CHECK((*dry)[0].body.dump().find("dog handler") == std::string::npos);

  auto out = h.releases.Release(one, Scope::kRegional, false);
  REQUIRE(out.ok());
  REQUIRE((*out)[0].written);
  RecordId report = (*out)[0].report;
  CHECK(report == (*dry)[0].report);  // the id is a function of the seizure
  CHECK(h.records.Get(report)->state.scope == Scope::kRegional);
  CHECK(h.Report(report)["goods"][0]["quantity"] == 12.4);
  CHECK(h.Report(report)["reference"] == h.releases.Reference(seizure).value());
  CHECK(h.Entries() == 2);

  // Nothing changed: nothing written, nothing pending.
  REQUIRE_FALSE(h.releases.Release(one, Scope::kRegional, false).value()[0].written);
  CHECK(h.Entries() == 2);
  auto rows = h.releases.List(false).value();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].seizure == seizure);
  CHECK(rows[0].live);
  CHECK_FALSE(rows[0].pending);
  CHECK(h.releases.List(true)->empty());

  // An edit of a nominal field only is not pending; of a releasable one, it is.
  REQUIRE(h.records.Update(seizure, Seizure(12.4, "another narrative"), false).ok());
  CHECK(h.releases.List(true)->empty());
  REQUIRE(h.records.Update(seizure, Seizure(13), false).ok());
  auto pending = h.releases.List(true).value();
  REQUIRE(pending.size() == 1);
  REQUIRE(pending[0].changes.size() == 1);
  CHECK(pending[0].changes[0] == "goods[0].quantity: 12.4 -> 13");

  // Releasing again updates the same report.
  REQUIRE(h.releases.Release(one, Scope::kRegional, false).value()[0].written);
  CHECK(h.Report(report)["goods"][0]["quantity"] == 13);
  CHECK(h.records.Get(report)->state.versions.size() == 1);
  CHECK(h.releases.List(true)->empty());
}

TEST_CASE("withdraw deletes the report; a deleted seizure is pending; global replaces regional", "[releases]") {
  Hub h;
  RecordId seizure = h.records.Add(RecordType::kSeizure, Seizure(1)).value();
  RecordId one[] = {seizure};
  RecordId regional = h.releases.Release(one, Scope::kRegional, false).value()[0].report;

  auto global = h.releases.Release(one, Scope::kGlobal, false).value();
  CHECK(global[0].moved);
  CHECK(global[0].report != regional);
  CHECK_FALSE(h.records.Get(regional)->state.live());
  CHECK(h.records.Get(global[0].report)->state.live());

  auto withdrawn = h.releases.Withdraw(one).value();
  REQUIRE(withdrawn.size() == 1);
  CHECK(withdrawn[0] == global[0].report);
  CHECK_FALSE(h.records.Get(global[0].report)->state.live());
  uint64_t entries = h.Entries();
  CHECK(h.releases.Withdraw(one).status().code() == StatusCode::kInvalidArgument);
  CHECK(h.Entries() == entries);
  auto rows = h.releases.List(false).value();
  REQUIRE(rows.size() == 2);
  CHECK_FALSE(rows[0].live);
  CHECK_FALSE(rows[1].live);

  // Released again after a withdrawal: live again.
  REQUIRE(h.releases.Release(one, Scope::kRegional, false).ok());
  CHECK(h.records.Get(regional)->state.live());
  // The seizure deleted: its live report is pending withdrawal.
  REQUIRE(h.records.Delete(seizure).ok());
  auto pending = h.releases.List(true).value();
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].seizure_state == "deleted");
  REQUIRE(h.releases.Withdraw(one).ok());
  CHECK(h.releases.List(true)->empty());
}

TEST_CASE("release refuses what is not a live seizure out of conflict, and writes nothing", "[releases]") {
  Hub h, other(2);
  RecordId seizure = h.records.Add(RecordType::kSeizure, Seizure(1)).value();
  RecordId suspect = h.records.Add(RecordType::kSuspect, json{{"surname", "Müller"}}).value();
  RecordId company = h.records.Add(RecordType::kCompany, json{{"name", "Halvik"}, {"country", "TR"}}).value();
  RecordId deleted = h.records.Add(RecordType::kSeizure, Seizure(2)).value();
  REQUIRE(h.records.Delete(deleted).ok());
  // A conflict: another office edits the same seizure concurrently.
  RecordId shared = h.records.Add(RecordType::kSeizure, Seizure(3)).value();
  REQUIRE(other.t.store->ApplyBatch(testing::AllEntries(*h.t.store)).refused.empty());
  REQUIRE(h.records.Update(shared, Seizure(4), false).ok());
  REQUIRE(other.records.Update(shared, Seizure(5), false).ok());
  REQUIRE(h.t.store->ApplyBatch(testing::AllEntries(*other.t.store)).refused.empty());
  REQUIRE(h.records.Get(shared)->state.conflict());

  const uint64_t entries = h.Entries();
  auto refuse = [&](RecordId bad, StatusCode code, const std::string& words) {
    RecordId ids[] = {seizure, bad};  // a good one first: nothing of the call is written
    auto r = h.releases.Release(ids, Scope::kRegional, false);
    INFO(r.status().ToString());
    CHECK(r.status().code() == code);
    CHECK(r.status().message().find(words) != std::string::npos);
    CHECK(h.Entries() == entries);
  };
  refuse(suspect, StatusCode::kInvalidArgument, "is a suspect, not a seizure");
  refuse(company, StatusCode::kInvalidArgument, "is a company, not a seizure");
  refuse(testing::FixedRecordId(99), StatusCode::kNotFound, "no record");
  refuse(deleted, StatusCode::kInvalidArgument, "is deleted");
  refuse(shared, StatusCode::kInvalidArgument, "in conflict");
  refuse(seizure, StatusCode::kInvalidArgument, "named twice");
  RecordId one[] = {seizure};
  CHECK(h.releases.Release(one, Scope::kNational, false).status().code() == StatusCode::kInvalidArgument);
  CHECK(h.releases.Withdraw(std::span<const RecordId>(&suspect, 1)).status().code() == StatusCode::kInvalidArgument);
  CHECK(h.Entries() == entries);
  // After the conflict is resolved, it may go.
  REQUIRE(h.records.Update(shared, Seizure(6), true).ok());
  RecordId now[] = {shared};
  CHECK(h.releases.Release(now, Scope::kRegional, false).ok());
}

TEST_CASE("a report's id and reference depend on the node's release key alone", "[releases]") {
  Hub a(1), b(2);
  RecordId id = testing::FixedRecordId(5);
  CHECK(a.releases.ReportId(id, Scope::kRegional).value() == a.releases.ReportId(id, Scope::kRegional).value());
  CHECK(a.releases.ReportId(id, Scope::kRegional).value() != a.releases.ReportId(id, Scope::kGlobal).value());
  CHECK(a.releases.ReportId(id, Scope::kRegional).value() != b.releases.ReportId(id, Scope::kRegional).value());
  CHECK(a.releases.Reference(id).value() != b.releases.Reference(id).value());
  // The key is kept: another Releases on the same store derives the same.
  Releases again(*a.t.store, a.identity);
  CHECK(again.Reference(id).value() == a.releases.Reference(id).value());
  std::string ref = a.releases.Reference(id).value();
  CHECK(ref.size() == 32);
  CHECK(ref.find(storage::FormatRecordId(id).substr(0, 8)) == std::string::npos);
}

}  // namespace ncen::node

#include "storage/sharing.h"
#include "tests/support/network_fixture.h"

namespace ncen::node {

TEST_CASE("in a network only a national hub releases, only its country's seizures, under its country's tag",
          "[releases]") {
  testing::TestNetwork net;
  testing::TestNode& pk = net.AddAuthority(10, "PK");
  testing::TestNode hub(12, "pk-hub"), post(11, "pk-post");
  REQUIRE(net.Certify(pk, net.Cert(storage::MemberKind::kNationalHub, hub.key(), "PK", "Islamabad hub")).ok());
  REQUIRE(net.Certify(pk, net.Cert(storage::MemberKind::kPost, post.key(), "PK", "Torkham post")).ok());
  net.Join(hub);
  net.Join(post);
  Records at_post(post.store(), post.identity), at_hub(hub.store(), hub.identity);
  json kz = Seizure(1);
  kz["country"] = "KZ";
  kz["office"] = "KZDKP";
  RecordId pk_seizure = at_post.Add(RecordType::kSeizure, Seizure(2)).value();
  RecordId kz_seizure = at_post.Add(RecordType::kSeizure, kz).value();
  REQUIRE(hub.store().ApplyBatch(testing::RecordEntries(post.store())).refused.empty());

  Releases by_post(post.store(), post.identity);
  RecordId one[] = {pk_seizure};
  auto refused = by_post.Release(one, Scope::kRegional, true);
  CHECK(refused.status().code() == StatusCode::kFailedPrecondition);
  CHECK(refused.status().message().find("only a national hub may release; this node is post") != std::string::npos);

  Releases releases(hub.store(), hub.identity);
  RecordId other[] = {kz_seizure};
  auto foreign = releases.Release(other, Scope::kRegional, false);
  CHECK(foreign.status().code() == StatusCode::kInvalidArgument);
  CHECK(foreign.status().message().find("was made in KZ; this hub releases for PK") != std::string::npos);

  auto out = releases.Release(one, Scope::kRegional, false);
  REQUIRE(out.ok());
  RecordId report = (*out)[0].report;
  CHECK(storage::HasReportCountryTag(report, "PK"));
  CHECK_FALSE(storage::HasReportCountryTag(report, "AF"));
  // Listed, and withdrawn by the report's own id too.
  REQUIRE(releases.List(false)->size() == 1);
  RecordId by_id[] = {report};
  REQUIRE(releases.Withdraw(by_id).ok());
  CHECK_FALSE(at_hub.Get(report)->state.live());
  CHECK(releases.Withdraw(by_id).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("live counts follow the type a record had when a quarantine changes it", "[releases]") {
  // A suspect, then a seizure under the same id from another author: the
  // record is quarantined as a seizure (the lowest class); the suspect it
  // was is what stops being live.
  Hub a(1), b(2), c(3);
  RecordId id = testing::FixedRecordId(42);
  storage::LocalChange suspect{id, RecordType::kSuspect, storage::Op::kPut,
                               storage::RecordFromJson(RecordType::kSuspect, json{{"surname", "Doe"}}).value()};
  storage::LocalChange seizure{id, RecordType::kSeizure, storage::Op::kPut,
                               storage::RecordFromJson(RecordType::kSeizure, Seizure(1)).value()};
  REQUIRE(a.t.store->AppendLocal(a.identity, {&suspect, 1}).ok());
  REQUIRE(b.t.store->AppendLocal(b.identity, {&seizure, 1}).ok());
  REQUIRE(c.t.store->ApplyBatch(testing::AllEntries(*a.t.store)).refused.empty());
  CHECK(c.t.store->Stats()->records[1] == 1);
  REQUIRE(c.t.store->ApplyBatch(testing::AllEntries(*b.t.store)).refused.empty());
  REQUIRE(c.records.GetAny(id)->state.quarantined());
  auto stats = c.t.store->Stats().value();
  CHECK(stats.records[0] == 0);  // seizures: was 2^64 - 1 when the decrement hit the new type
  CHECK(stats.records[1] == 0);
}

}  // namespace ncen::node

namespace ncen::node {

TEST_CASE("a report changes only by release: update and delete of it are refused", "[releases]") {
  Hub h;
  RecordId seizure = h.records.Add(RecordType::kSeizure, Seizure(1)).value();
  RecordId one[] = {seizure};
  RecordId report = h.releases.Release(one, Scope::kRegional, false).value()[0].report;
  const uint64_t entries = h.Entries();
  json edited = h.Report(report);
  edited["released_by"] = "Officer Imran Qureshi";
  Status update = h.records.Update(report, edited, false);
  CHECK(update.code() == StatusCode::kInvalidArgument);
  CHECK(update.message().find("changes only by `ncenctl release`") != std::string::npos);
  CHECK(h.records.Delete(report).code() == StatusCode::kInvalidArgument);
  CHECK(h.Entries() == entries);
}

TEST_CASE("a node name cut for released_by stays valid UTF-8", "[releases]") {
  crypto::Identity id = testing::IdentityFromNumber(7);
  testing::TestStore t(id, std::string(99, 'a') + "\xc3\xa9" + std::string(20, 'b'));
  Records records(*t.store, id);
  Releases releases(*t.store, id);
  RecordId one[] = {records.Add(RecordType::kSeizure, Seizure(1)).value()};
  auto out = releases.Release(one, Scope::kRegional, true);
  REQUIRE(out.ok());
  CHECK((*out)[0].body["released_by"] == std::string(99, 'a'));
}

}  // namespace ncen::node
