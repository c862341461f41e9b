// "Who did it" inside the signed payload (node/records.h, entered_by): set by
// every write from the actor, never from the body, carried by replication,
// absent from old payloads and from released reports.
#include <catch2/catch.hpp>

#include "media/sample_photo.h"
#include "node/photos.h"
#include "node/records.h"
#include "node/releases.h"
#include "storage/record_json.h"
#include "tests/support/store_fixture.h"

namespace ncen::node {
namespace {

using json = nlohmann::ordered_json;
using storage::RecordId;
using storage::RecordType;

json Seizure(const std::string& narrative) {
  return {{"date", "2026-11-02"},
          {"country", "PK"},
          {"office", "PKTKM"},
          {"goods", {{{"category", "drugs"}, {"subtype", "heroin"}, {"quantity", 2.5}, {"unit", "kg"}}}},
          {"narrative", narrative}};
}

const Actor kOfficer{"Officer Amina Yusufzai", "api", "10.0.0.7"};

struct Office {
  explicit Office(uint8_t n, const std::string& name, Actor actor = kOfficer)
      : identity(testing::IdentityFromNumber(n)), t(identity, name), records(*t.store, identity, std::move(actor)) {}
  crypto::Identity identity;
  testing::TestStore t;
  Records records;

  json Body(const RecordId& id) {
    auto view = t.store->GetRecord(id).value();
    return storage::RecordToJson(view.state.type, view.payloads[view.state.WinnerIndex()]).value();
  }
};

json Expected(const Actor& actor, const std::string& node) {
  return {{"name", actor.name}, {"node", node}, {"via", actor.via}};
}

}  // namespace

TEST_CASE("add, update, resolve, link and import write the actor and the node into entered_by", "[records][entered_by]") {
  Office o(1, "Torkham post");
  const json who = Expected(kOfficer, "Torkham post");
  RecordId seizure = o.records.Add(RecordType::kSeizure, Seizure("first")).value();
  CHECK(o.Body(seizure)["entered_by"] == who);
  RecordId suspect = o.records.Add(RecordType::kSuspect, json{{"surname", "Müller"}}).value();
  CHECK(o.Body(suspect)["entered_by"] == who);

  SECTION("update, by another officer") {
    Records other(*o.t.store, o.identity, Actor{"Officer Bilal Khan", "cli", ""});
    REQUIRE(other.Update(seizure, Seizure("second"), false).ok());
    CHECK(o.Body(seizure)["entered_by"] == Expected(Actor{"Officer Bilal Khan", "cli", ""}, "Torkham post"));
  }
  SECTION("link: the new version is the linking officer's") {
    Records other(*o.t.store, o.identity, Actor{"Officer Bilal Khan", "api", ""});
    REQUIRE(other.Link(seizure, suspect, false).value());
    json body = o.Body(seizure);
    CHECK(body["suspects"].size() == 1);
    CHECK(body["entered_by"]["name"] == "Officer Bilal Khan");
  }
  SECTION("import") {
    std::vector<NewRecord> records;
    records.push_back({RecordType::kCompany,
                       storage::RecordFromJson(RecordType::kCompany, json{{"name", "Halvik"}, {"country", "TR"}}).value()});
    auto ids = o.records.Import(std::move(records)).value();
    CHECK(o.Body(ids[0])["entered_by"] == who);
  }
  SECTION("no actor: none recorded, and one found in the body is dropped") {
    Records anonymous(*o.t.store, o.identity);
    json claimed = Seizure("third");
    claimed["entered_by"] = Expected(kOfficer, "Torkham post");
    REQUIRE(anonymous.Update(seizure, claimed, false).ok());
    CHECK_FALSE(o.Body(seizure).contains("entered_by"));
  }
}

TEST_CASE("a body that claims another entered_by is overridden", "[records][entered_by]") {
  Office o(1, "Torkham post");
  json claimed = Seizure("claimed");
  claimed["entered_by"] = {{"name", "Director General"}, {"node", "HQ"}, {"via", "cli"}};
  RecordId id = o.records.Add(RecordType::kSeizure, claimed).value();
  CHECK(o.Body(id)["entered_by"] == Expected(kOfficer, "Torkham post"));
  // Also on update, with the body `get --json` prints (id, type and all).
  json edited = o.Body(id);
  edited["id"] = storage::FormatRecordId(id);
  edited["type"] = "seizure";
  edited["entered_by"]["name"] = "Director General";
  Records other(*o.t.store, o.identity, Actor{"Officer Bilal Khan", "api", ""});
  REQUIRE(other.Update(id, edited, false).ok());
  CHECK(o.Body(id)["entered_by"]["name"] == "Officer Bilal Khan");
  // The override comes before validation: a malformed claim is replaced, not refused.
  edited["entered_by"] = "not an object";
  CHECK(other.Update(id, edited, false).ok());
}

TEST_CASE("resolve records the officer who settled the conflict", "[records][entered_by]") {
  Office a(1, "Torkham post"), b(2, "Peshawar hub", Actor{"Officer Bilal Khan", "api", ""});
  RecordId id = a.records.Add(RecordType::kSeizure, Seizure("shared")).value();
  REQUIRE(b.t.store->ApplyBatch(testing::AllEntries(*a.t.store)).refused.empty());
  REQUIRE(a.records.Update(id, Seizure("a's edit"), false).ok());
  REQUIRE(b.records.Update(id, Seizure("b's edit"), false).ok());
  REQUIRE(a.t.store->ApplyBatch(testing::AllEntries(*b.t.store)).refused.empty());
  REQUIRE(a.t.store->GetRecord(id)->state.conflict());
  Records settler(*a.t.store, a.identity, Actor{"Officer Sana Malik", "api", ""});
  REQUIRE(settler.Update(id, Seizure("settled"), true).ok());
  CHECK(a.Body(id)["entered_by"] == Expected(Actor{"Officer Sana Malik", "api", ""}, "Torkham post"));
}

TEST_CASE("entered_by travels with the record: the receiving node shows the author's officer", "[records][entered_by]") {
  Office post(1, "Torkham post"), hub(2, "Islamabad hub", Actor{"Officer Bilal Khan", "api", ""});
  RecordId id = post.records.Add(RecordType::kSuspect, json{{"surname", "Doe"}}).value();
  REQUIRE(hub.t.store->ApplyBatch(testing::AllEntries(*post.t.store)).refused.empty());
  CHECK(hub.Body(id)["entered_by"] == Expected(kOfficer, "Torkham post"));
  // The payload as signed is what the hub holds, byte for byte.
  CHECK(hub.t.store->GetRecord(id)->payloads[0] == post.t.store->GetRecord(id)->payloads[0]);
}

TEST_CASE("a payload written before entered_by existed still reads, validates and updates", "[records][entered_by]") {
  Office o(1, "Torkham post");
  // A seizure payload as an older build wrote it: no field 21.
  Bytes old = testing::SeizurePayload("old");
  REQUIRE(storage::ValidateRecordPayload(RecordType::kSeizure, old).ok());
  storage::LocalChange change{testing::FixedRecordId(3), RecordType::kSeizure, storage::Op::kPut, old};
  REQUIRE(o.t.store->AppendLocal(o.identity, {&change, 1}).ok());
  json body = o.Body(change.id);
  CHECK_FALSE(body.contains("entered_by"));
  CHECK(body["narrative"] == "old");
  REQUIRE(o.records.Update(change.id, body, false).ok());
  CHECK(o.Body(change.id)["entered_by"]["name"] == kOfficer.name);
}

TEST_CASE("entered_by is validated like any field", "[records][entered_by]") {
  json s = Seizure("x");
  s["entered_by"] = {{"node", "Torkham post"}};
  CHECK(storage::RecordFromJson(RecordType::kSeizure, s).status().message() == "field 'entered_by.name': is required");
  s["entered_by"] = {{"name", std::string(101, 'a')}};
  CHECK(storage::RecordFromJson(RecordType::kSeizure, s).status().code() == StatusCode::kInvalidArgument);
  s["entered_by"] = {{"name", "a"}, {"via", "API"}};
  CHECK(storage::RecordFromJson(RecordType::kSeizure, s).status().message().find("entered_by.via") != std::string::npos);
  s["entered_by"] = {{"name", "a"}, {"node", "x"}, {"via", "api"}};
  auto payload = storage::RecordFromJson(RecordType::kSeizure, s);
  REQUIRE(payload.ok());
  CHECK(storage::RecordToJson(RecordType::kSeizure, *payload).value()["entered_by"] == s["entered_by"]);
  // An officer name the field refuses fails the write with the field named.
  Office o(1, "Torkham post", Actor{std::string(101, 'a'), "api", ""});
  CHECK(o.records.Add(RecordType::kSeizure, Seizure("y")).status().message().find("entered_by.name") !=
        std::string::npos);
  // A node name longer than the field is cut on a character boundary.
  Office long_name(2, std::string(99, 'n') + "\xc3\xa9" + "more");
  RecordId id = long_name.records.Add(RecordType::kSeizure, Seizure("z")).value();
  CHECK(long_name.Body(id)["entered_by"]["node"] == std::string(99, 'n'));
}

TEST_CASE("a photo added by an officer carries entered_by", "[records][entered_by]") {
  Office o(1, "Torkham post");
  RecordId seizure = o.records.Add(RecordType::kSeizure, Seizure("s")).value();
  Photos photos(*o.t.store, o.identity, kOfficer);
  Bytes jpeg = media::SamplePhotoJpeg(64, 48, 1);
  auto added = photos.Add(seizure, jpeg, PhotoAddOptions{});
  REQUIRE(added.ok());
  CHECK(o.Body(added->id)["entered_by"] == Expected(kOfficer, "Torkham post"));
}

TEST_CASE("a seizure report never carries the officer's name", "[records][entered_by][releases]") {
  Office o(1, "PK hub");
  json seizure = Seizure("x");
  RecordId id = o.records.Add(RecordType::kSeizure, seizure).value();
  RecordId suspect = o.records.Add(RecordType::kSuspect, json{{"surname", "Doe"}, {"nationalities", {"AF"}}}).value();
  REQUIRE(o.records.Link(id, suspect, false).value());
  Releases releases(*o.t.store, o.identity);
  RecordId one[] = {id};
  auto out = releases.Release(one, storage::Scope::kRegional, false);
  REQUIRE(out.ok());
  REQUIRE((*out)[0].written);
  const std::string text = (*out)[0].body.dump();
  CHECK(text.find("Yusufzai") == std::string::npos);
  CHECK(text.find("entered_by") == std::string::npos);
  auto view = o.t.store->GetRecord((*out)[0].report).value();
  const Bytes& payload = view.payloads[view.state.WinnerIndex()];
  CHECK(std::string(payload.begin(), payload.end()).find("Yusufzai") == std::string::npos);
  // The seizure it came from does carry it.
  CHECK(o.Body(id)["entered_by"]["name"] == kOfficer.name);
}

}  // namespace ncen::node

namespace ncen::node {

TEST_CASE("stamping a payload keeps every other field and matches stamping its JSON", "[records][entered_by]") {
  json full = json::parse(R"({
    "reference": "REF-1", "date": "2026-10-15", "time": "04:35", "country": "PK", "office": "PKTKM",
    "place": "Lane 4", "direction": "import", "transport_mode": "road_truck", "offences": ["smuggling"],
    "route": [{"role": "origin", "country": "AF", "place": "Kandahar"}],
    "conveyance": {"type": "vehicle", "registration": "KBL-4471"},
    "goods": [{"category": "drugs", "subtype": "heroin", "quantity": 12.4, "unit": "kg",
               "value": {"amount": 0, "currency": "USD"}, "packages": 31}],
    "narrative": "n", "suspects": ["01a19c21-7200-7abc-8def-0123456789ab"], "officer": "o",
    "status": "open", "entered_by": {"name": "Someone Else", "via": "cli"}
  })");
  Bytes payload = storage::RecordFromJson(RecordType::kSeizure, full).value();
  for (const Actor& actor : {kOfficer, Actor{}}) {
    json by_json = full;
    StampEnteredBy(RecordType::kSeizure, actor, "Torkham post", by_json);
    Bytes stamped = StampEnteredBy(RecordType::kSeizure, actor, "Torkham post", payload).value();
    REQUIRE(storage::ValidateRecordPayload(RecordType::kSeizure, stamped).ok());
    CHECK(storage::RecordToJson(RecordType::kSeizure, stamped).value() == by_json);
  }
  // Types without the field are left as they are.
  Bytes report = testing::ReportPayload("PK");
  CHECK(StampEnteredBy(RecordType::kSeizureReport, kOfficer, "x", report).value() == report);
  // A payload that does not decode.
  CHECK(StampEnteredBy(RecordType::kSeizure, kOfficer, "x", Bytes(7, 1)).status().code() == StatusCode::kCorruption);
}

}  // namespace ncen::node
