#include <catch2/catch.hpp>

#include "tests/support/store_fixture.h"

using namespace ncen;
using namespace ncen::storage;
using json = nlohmann::ordered_json;

namespace {

Bytes Seizure(const std::string& date, const std::string& subtype) {
  json j = {{"date", date}, {"country", "PK"}, {"office", "PKTKM"},
            {"goods", {{{"category", "drugs"}, {"subtype", subtype}, {"quantity", 1}, {"unit", "kg"}}}}};
  return RecordFromJson(RecordType::kSeizure, j).value();
}

struct Fixture {
  crypto::Identity me = testing::IdentityFromNumber(1);
  testing::TestStore t{me};
  std::vector<RecordId> ids;

  RecordId Add(RecordType type, Bytes payload) {
    RecordId id = testing::FixedRecordId(static_cast<uint8_t>(ids.size() + 1));
    LocalChange c{id, type, Op::kPut, std::move(payload)};
    REQUIRE(t.store->AppendLocal(me, {&c, 1}).ok());
    ids.push_back(id);
    return id;
  }
  std::vector<RecordId> Find(SearchQuery q) {
    std::vector<RecordId> out;
    for (auto& item : t.store->Search(q).value()) out.push_back(item.id);
    return out;
  }
};

}  // namespace

TEST_CASE("a date range alone lists the latest seizure dates first, up to the limit", "[storage]") {
  Fixture f;
  for (int day = 1; day <= 9; ++day) f.Add(RecordType::kSeizure, Seizure("2026-01-0" + std::to_string(day), "heroin"));
  SearchQuery q;
  q.from_date = "2026-01-03";
  q.to_date = "2026-01-06";
  CHECK(f.Find(q) == std::vector<RecordId>{f.ids[5], f.ids[4], f.ids[3], f.ids[2]});
  q.limit = 2;
  CHECK(f.Find(q) == std::vector<RecordId>{f.ids[5], f.ids[4]});
  q = {};
  q.from_date = "2026-01-08";  // open end
  CHECK(f.Find(q) == std::vector<RecordId>{f.ids[8], f.ids[7]});
}

TEST_CASE("text and a date range together give the records matching both", "[storage]") {
  Fixture f;
  RecordId a = f.Add(RecordType::kSeizure, Seizure("2026-02-01", "heroin"));
  f.Add(RecordType::kSeizure, Seizure("2026-02-02", "cocaine"));
  f.Add(RecordType::kSeizure, Seizure("2026-03-01", "heroin"));
  SearchQuery q;
  q.text = "Heroin";
  q.from_date = "2026-02-01";
  q.to_date = "2026-02-28";
  CHECK(f.Find(q) == std::vector<RecordId>{a});
}

TEST_CASE("search folds names, matches identifiers exactly, filters by type and skips deleted records",
          "[storage]") {
  Fixture f;
  RecordId muller = f.Add(RecordType::kSuspect, RecordFromJson(RecordType::kSuspect, json::parse(
      R"({"surname":"Müller","forenames":"Jonas","documents":[{"type":"passport","number":"C01X-00T47"}]})")).value());
  RecordId seizure = f.Add(RecordType::kSeizure, Seizure("2026-02-01", "muller_test"));
  SearchQuery q;
  q.text = "MULL";
  CHECK(f.Find(q) == std::vector<RecordId>{muller});
  q.text = "c01x00t47";
  CHECK(f.Find(q) == std::vector<RecordId>{muller});
  q.text = "muller_test";
  q.type = RecordType::kSuspect;
  CHECK(f.Find(q).empty());
  q.type = RecordType::kSeizure;
  CHECK(f.Find(q) == std::vector<RecordId>{seizure});
  LocalChange del{muller, RecordType::kSuspect, Op::kDelete, {}};
  REQUIRE(f.t.store->AppendLocal(f.me, {&del, 1}).ok());
  q = {};
  q.text = "muller jonas";
  CHECK(f.Find(q).empty());
}

TEST_CASE("local writes are indexed after their commit, and a search catches up first", "[storage]") {
  Fixture f;
  RecordId first = f.Add(RecordType::kSeizure, Seizure("2026-02-01", "cocaine"));
  RecordId second = f.Add(RecordType::kSeizure, Seizure("2026-02-02", "cocaine"));
  CHECK(f.t.store->IndexBacklog().value() == 2);  // not in the writes' transactions
  SearchQuery q;
  q.text = "cocaine";
  CHECK(f.Find(q) == std::vector<RecordId>{second, first});
  CHECK(f.t.store->IndexBacklog().value() == 0);
  // An update replaces the record's terms once indexed.
  LocalChange change{first, RecordType::kSeizure, Op::kPut, Seizure("2026-02-01", "heroin")};
  REQUIRE(f.t.store->AppendLocal(f.me, {&change, 1}).ok());
  CHECK(f.t.store->IndexBacklog().value() == 1);
  CHECK(f.Find(q) == std::vector<RecordId>{second});
  q.text = "heroin";
  CHECK(f.Find(q) == std::vector<RecordId>{first});
}
