#include <catch2/catch.hpp>

#include "storage/codes.h"
#include "storage/record_json.h"
#include "storage/text_fold.h"

using namespace ncen;
using namespace ncen::storage;
using json = nlohmann::ordered_json;

namespace {
json MinimalSeizure() {
  return json::parse(R"({"date":"2026-11-02","country":"PK","office":"PKTKM",
    "goods":[{"category":"drugs","quantity":2,"unit":"kg"}]})");
}
std::string ErrorOf(const json& j, RecordType type = RecordType::kSeizure) {
  auto r = RecordFromJson(type, j);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  return r.status().message();
}
}  // namespace

TEST_CASE("a record round-trips from JSON to payload and back unchanged", "[storage]") {
  json in = MinimalSeizure();
  in["conveyance"] = {{"type", "container"}, {"container_number", "MSCU6639870"}};
  in["goods"][0]["value"] = {{"amount", 1250.5}, {"currency", "EUR"}};
  auto payload = RecordFromJson(RecordType::kSeizure, in);
  REQUIRE(payload.ok());
  auto out = RecordToJson(RecordType::kSeizure, *payload);
  REQUIRE(out.ok());
  CHECK(nlohmann::json::parse(out->dump()) == nlohmann::json::parse(in.dump()));  // key order aside
}

TEST_CASE("record validation names the field of each kind of bad input", "[storage]") {
  json j = MinimalSeizure();
  SECTION("unknown field") {
    j["colour"] = "red";
    CHECK(ErrorOf(j) == "field 'colour': unknown field");
  }
  SECTION("unknown enumeration value") {
    j["goods"][0]["unit"] = "bushel";
    CHECK(ErrorOf(j).find("field 'goods[0].unit': unknown value 'bushel'") == 0);
  }
  SECTION("impossible date") {
    j["date"] = "2026-02-30";
    CHECK(ErrorOf(j).find("field 'date'") == 0);
  }
  SECTION("malformed codes") {
    j["country"] = "XX";
    CHECK(ErrorOf(j).find("field 'country'") == 0);
    j["country"] = "PK";
    j["goods"][0]["hs_code"] = "2939";
    CHECK(ErrorOf(j).find("field 'goods[0].hs_code'") == 0);
  }
  SECTION("container number with a wrong check digit") {
    j["conveyance"] = {{"type", "container"}, {"container_number", "MSCU6639871"}};
    CHECK(ErrorOf(j).find("field 'conveyance.container_number'") == 0);
  }
  SECTION("negative quantity") {
    j["goods"][0]["quantity"] = -1;
    CHECK(ErrorOf(j) == "field 'goods[0].quantity': must be greater than 0");
  }
  SECTION("wrong JSON type") {
    j["goods"][0]["quantity"] = "12";
    CHECK(ErrorOf(j) == "field 'goods[0].quantity': must be a number, got a string");
  }
  SECTION("missing required field") {
    j.erase("office");
    CHECK(ErrorOf(j) == "field 'office': is required");
  }
  SECTION("goods must not be empty") {
    j["goods"] = json::array();
    CHECK(ErrorOf(j).find("field 'goods'") == 0);
  }
  SECTION("the absent marker is not a value") {
    j["direction"] = "unspecified";
    CHECK(ErrorOf(j).find("field 'direction': unknown value") == 0);
  }
}

TEST_CASE("suspects need a surname and companies a name and country", "[storage]") {
  CHECK(ErrorOf(json::parse(R"({"forenames":"A"})"), RecordType::kSuspect) == "field 'surname': is required");
  CHECK(ErrorOf(json::parse(R"({"name":"X Ltd"})"), RecordType::kCompany) == "field 'country': is required");
}

TEST_CASE("check digits of container, IMO and air waybill numbers are verified", "[storage]") {
  CHECK(IsContainerNumber("CSQU3054383"));  // the ISO 6346 worked example
  CHECK_FALSE(IsContainerNumber("CSQU3054384"));
  CHECK(IsImoNumber("9074729"));
  CHECK_FALSE(IsImoNumber("9074728"));
  CHECK(IsAirWaybill("157-12345675"));
  CHECK_FALSE(IsAirWaybill("157-12345676"));
  CHECK(IsDate("2024-02-29"));
  CHECK_FALSE(IsDate("2023-02-29"));
  CHECK(IsOfficeCode("PKKHI"));
  CHECK_FALSE(IsOfficeCode("QQKHI"));
}

TEST_CASE("names fold to lower case without diacritics for search", "[storage]") {
  CHECK(FoldText("Müller-Łukasz  ØSTERGÅRD") == "muller lukasz ostergard");
  CHECK(FoldText("Ağaoğlu") == "agaoglu");
  CHECK(FoldText("O'Brien") == "obrien");
  CHECK(FoldText("Е\xcc\x81LENA") == "е" "lena");  // Cyrillic Е + combining acute, Latin rest
  CHECK(NormalizeIdentifier("p-000 0001") == "P0000001");
}
