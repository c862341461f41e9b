// The field classification and the report (docs/sharing.md §2, §3): every
// field classified once and documented as in code; no nominal or sensitive
// value in a report, every releasable one there.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "storage/facts.h"
#include "storage/record_json.h"
#include "storage/sharing.h"

namespace ncen::storage {
namespace {

using json = nlohmann::ordered_json;

const char* kSurname = "Qarzhavinov";  // a suspect's name, also typed where it does not belong

// A seizure with every field set; each text a value of its own, the free
// texts carrying the suspect's name "by mistake".
json FullSeizure() {
  return json::parse(R"({
    "reference": "REF-CASE-77120",
    "date": "2026-10-15",
    "time": "04:35",
    "country": "PK",
    "office": "PKTKM",
    "place": "Lane 4 behind the truck of Qarzhavinov",
    "direction": "import",
    "transport_mode": "road_truck",
    "detection_method": "nii_xray",
    "concealment_method": "vehicle_built_compartment",
    "concealment_note": "Qarzhavinov showed the compartment under the bunk",
    "offences": ["smuggling", "prohibited_goods"],
    "route": [{"role": "origin", "country": "AF", "place": "Qarzhavinov farm near Kandahar"},
              {"role": "transit", "country": "IR", "place": "Zahedan"},
              {"role": "destination", "country": "TR"}],
    "conveyance": {"type": "vehicle", "make": "Kamazovka", "model": "Modelo-5490X",
                   "registration": "KBL-4471-QQ", "registration_country": "UZ",
                   "container_number": "MSKU1234565", "vessel_name": "Vesselina Qarz", "imo": "9876543",
                   "carrier": "Carrierson Logistics Qarzhavinov", "flight_number": "QR1342",
                   "waybill": "157-12345675", "tracking_number": "TRK-88991-QQ"},
    "goods": [{"category": "drugs", "subtype": "heroin", "hs_code": "293911",
               "description": "Packets marked Qarzhavinov", "quantity": 12.4, "unit": "kg",
               "value": {"amount": 310000, "currency": "USD", "basis": "street"}, "packages": 31,
               "brand": "Brandovia Qarzhavinov", "origin_country": "AF", "species": "Speciosa qarzhavinovi",
               "cites_appendix": "II"},
              {"category": "environment", "subtype": "qarzhavinov", "quantity": 3, "unit": "kg"}],
    "narrative": "Driver Qarzhavinov (passport P7788123) admitted the load.",
    "suspects": ["01a19c21-7200-7abc-8def-0123456789ab", "01a19c21-7200-7abc-8def-0123456789ac"],
    "companies": ["01a19c21-7200-7abc-8def-0123456789ad"],
    "photos": ["01a19c21-7200-7abc-8def-0123456789ae"],
    "officer": "Inspector Officerowska",
    "status": "under_investigation",
    "entered_by": {"name": "Officer Enteredbyowska", "node": "Nodenamia post", "via": "api"}
  })");
}

json FullSuspect() {
  return json::parse(R"({
    "surname": "Qarzhavinov", "forenames": "Temurbek Forenamov", "aliases": ["Aliasoglu"],
    "birth_date": "1990-03-02", "birth_place": "Birthplacestan", "gender": "m",
    "nationalities": ["UZ", "AF"],
    "documents": [{"type": "passport", "number": "P7788123", "country": "UZ", "issued": "2015-01-09",
                   "expires": "2025-01-08"}],
    "address": "12 Addressova street", "phones": ["+998 71 555 0199"], "occupation": "Occupationist",
    "flags": ["armed"], "notes": "Notes about Qarzhavinov's brother",
    "entered_by": {"name": "Officer Suspectentered", "node": "Nodenamia suspects", "via": "cli"}
  })");
}

json FullCompany() {
  return json::parse(R"({
    "name": "Companyname Trading", "trade_names": ["Tradenamia"], "registration_number": "REG-5566",
    "tax_id": "TAX-7788", "trader_id": "EORI-9900", "country": "AE", "address": "Addressia tower 9",
    "roles": ["consignee"], "phones": ["+971 4 555 0100"], "email": "mail@companyname.example",
    "notes": "Company notes naming Qarzhavinov",
    "entered_by": {"name": "Officer Companyentered", "node": "Nodenamia companies", "via": "api"}
  })");
}

// The value at a rule's path in `body` (first list element for "[]"), as
// text; "" when absent.
std::string ValueAt(const json& body, const std::string& path) {
  const json* at = &body;
  std::string rest = path;
  while (!rest.empty()) {
    size_t dot = rest.find('.');
    std::string part = rest.substr(0, dot);
    rest = dot == std::string::npos ? "" : rest.substr(dot + 1);
    bool list = part.size() > 2 && part.substr(part.size() - 2) == "[]";
    if (list) part.resize(part.size() - 2);
    if (!at->is_object() || !at->contains(part)) return "";
    at = &(*at)[part];
    if (list) {
      if (!at->is_array() || at->empty()) return "";
      at = &(*at)[0];
    }
  }
  if (at->is_string()) return at->get<std::string>();
  if (at->is_array() && !at->empty() && (*at)[0].is_string()) return (*at)[0].get<std::string>();
  return at->dump();
}

ReportDraft Build(bool company_names = false) {
  std::vector<LinkedBody> suspects = {FullSuspect(), std::nullopt};
  std::vector<LinkedBody> companies = {FullCompany()};
  ReleaseStamp stamp{"a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6", "PK national hub", "2026-11-30T12:00:00.000Z"};
  auto draft = BuildReport(FullSeizure(), suspects, companies, ReleasePolicy{company_names}, stamp);
  REQUIRE(draft.ok());
  return *draft;
}

const json& SourceOf(RecordType type) {
  static const json seizure = FullSeizure(), suspect = FullSuspect(), company = FullCompany();
  return type == RecordType::kSeizure ? seizure : type == RecordType::kSuspect ? suspect : company;
}

TEST_CASE("every field of seizure, suspect and company is classified exactly once", "[sharing]") {
  for (RecordType type : {RecordType::kSeizure, RecordType::kSuspect, RecordType::kCompany}) {
    std::vector<std::string> paths = FieldPaths(type);
    std::multiset<std::string> ruled;
    for (const FieldRule& r : SharingRules()) {
      if (r.type == type) ruled.insert(r.path);
    }
    INFO(RecordTypeName(type));
    for (const auto& p : paths) {
      INFO(p);
      CHECK(ruled.count(p) == 1);
    }
    CHECK(ruled.size() == paths.size());
    // Free text is never releasable.
    for (const FieldRule& r : SharingRules()) {
      if (std::string(r.reason).rfind("free text", 0) == 0) CHECK(r.cls != FieldClass::kReleasable);
      if (r.cls != FieldClass::kReleasable) CHECK((r.how == ReleaseAs::kNever || r.how == ReleaseAs::kAgeBand));
    }
  }
}

TEST_CASE("docs/sharing.md prints the classification the code applies", "[sharing]") {
  std::ifstream in(std::string(NCEN_SOURCE_DIR) + "/docs/sharing.md");
  REQUIRE(in);
  std::set<std::string> documented, coded;
  std::string line;
  while (std::getline(in, line)) {
    for (const char* type : {"seizure", "suspect", "company"}) {
      std::string prefix = std::string("| ") + type + " | `";
      if (line.rfind(prefix, 0) == 0) documented.insert(line);
    }
  }
  for (const FieldRule& r : SharingRules()) {
    coded.insert(std::string("| ") + RecordTypeName(r.type) + " | `" + r.path + "` | " + FieldClassName(r.cls) +
                 " | " + ReleaseAsName(r.how) + " | " + r.reason + " |");
  }
  CHECK(documented == coded);
}

TEST_CASE("a report holds no nominal or sensitive value, and every releasable one", "[sharing]") {
  for (bool policy : {false, true}) {
    ReportDraft draft = Build(policy);
    const std::string text = draft.report.dump();
    auto payload = RecordFromJson(RecordType::kSeizureReport, draft.report);
    REQUIRE(payload.ok());
    const std::string bytes(payload->begin(), payload->end());
    INFO(text);
    // The name typed into free text, and the subtype that is not in the code list.
    CHECK(text.find(kSurname) == std::string::npos);
    CHECK(bytes.find(kSurname) == std::string::npos);
    CHECK(text.find("qarzhavinov") == std::string::npos);
    // Linked records go as counts: their ids stay.
    for (const char* id : {"0123456789ab", "0123456789ac", "0123456789ad", "0123456789ae"}) {
      CHECK(text.find(id) == std::string::npos);
    }
    REQUIRE(draft.withheld.size() == 1);
    CHECK(draft.withheld[0].find("goods[1].subtype") != std::string::npos);

    for (const FieldRule& r : SharingRules()) {
      std::string value = ValueAt(SourceOf(r.type), r.path);
      INFO(RecordTypeName(r.type) << "." << r.path << " = " << value);
      REQUIRE(!value.empty());  // the fixtures set every field
      bool releasable = r.cls == FieldClass::kReleasable && (r.how != ReleaseAs::kPolicy || policy);
      if (!releasable) {
        // Codes shared with releasable fields (a country, a category) may
        // appear through those; text values must not appear at all.
        bool distinctive = value.size() >= 6 && value.find_first_of("abcdefghijklmnopqrstuvwxyz") != std::string::npos;
        if (distinctive && r.how != ReleaseAs::kAgeBand) {
          CHECK(text.find(value) == std::string::npos);
          CHECK(bytes.find(value) == std::string::npos);
        }
        if (r.how == ReleaseAs::kAgeBand) CHECK(text.find(value) == std::string::npos);
        continue;
      }
      switch (r.how) {
        case ReleaseAs::kAsIs:
        case ReleaseAs::kCodeList:
        case ReleaseAs::kPolicy: CHECK(text.find(value) != std::string::npos); break;
        default: break;
      }
    }
  }
}

TEST_CASE("a report aggregates the linked suspects and companies", "[sharing]") {
  ReportDraft d = Build(false);
  const json& r = d.report;
  CHECK(r["suspect_count"] == 2);
  CHECK(r["suspect_nationalities"] == json::parse(R"([{"country":"AF","count":1},{"country":"UZ","count":1}])"));
  CHECK(r["suspect_genders"] == json::parse(R"([{"gender":"m","count":1}])"));
  // 1990-03-02 at 2026-10-15: 36; the suspect not held here: unknown.
  CHECK(r["suspect_age_bands"] == json::parse(R"([{"band":"35_44","count":1},{"band":"unknown","count":1}])"));
  CHECK(r["company_count"] == 1);
  CHECK(r["company_countries"] == json::parse(R"([{"country":"AE","count":1}])"));
  CHECK_FALSE(r.contains("company_names"));
  CHECK(Build(true).report["company_names"] == json::parse(R"(["Companyname Trading"])"));
  CHECK(r["concealment_description"] == "Purpose-built compartment in a vehicle");
  CHECK(r["route"] == json::parse(
                          R"([{"role":"origin","country":"AF"},{"role":"transit","country":"IR"},{"role":"destination","country":"TR"}])"));
  // The payload round-trips through the validator every peer runs.
  auto payload = RecordFromJson(RecordType::kSeizureReport, r);
  REQUIRE(payload.ok());
  CHECK(ValidateRecordPayload(RecordType::kSeizureReport, *payload).ok());
  auto back = RecordToJson(RecordType::kSeizureReport, *payload);
  REQUIRE(back.ok());
  CHECK(*back == r);
}

TEST_CASE("age bands are the age at the seizure date", "[sharing]") {
  CHECK(AgeBand("2008-10-16", "2026-10-15") == "under_18");  // 17, a day before 18
  CHECK(AgeBand("2008-10-15", "2026-10-15") == "18_24");
  CHECK(AgeBand("2001-10-16", "2026-10-15") == "18_24");
  CHECK(AgeBand("2001-10-15", "2026-10-15") == "25_34");
  CHECK(AgeBand("1961-01-01", "2026-10-15") == "65_plus");
  CHECK(AgeBand("1962-01-01", "2026-10-15") == "55_64");
  CHECK(AgeBand("", "2026-10-15") == "unknown");
  CHECK(AgeBand("2027-01-01", "2026-10-15") == "unknown");  // born after the seizure
  CHECK(AgeBand("1990-02-30", "2026-10-15") == "unknown");
}

TEST_CASE("a seizure without goods has no report; unknown subtypes are withheld", "[sharing]") {
  json s = FullSeizure();
  s.erase("goods");
  ReleaseStamp stamp{"a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6", "hub", "2026-11-30T12:00:00.000Z"};
  CHECK(BuildReport(s, {}, {}, {}, stamp).status().code() == StatusCode::kInvalidArgument);
  CHECK(IsListedSubtype("drugs", "heroin"));
  CHECK_FALSE(IsListedSubtype("drugs", "ivory_raw"));
  CHECK_FALSE(IsListedSubtype("nonsense", "other"));
  CHECK(ConcealmentDescription("no_such_method").empty());
}

}  // namespace
}  // namespace ncen::storage

namespace ncen::storage {

TEST_CASE("a fact has the layout docs/log-format.md §7 shows", "[sharing][facts]") {
  nlohmann::ordered_json s = {{"date", "2026-11-02"},       {"country", "PK"},          {"office", "PKTKM"},
                              {"transport_mode", "road_truck"}, {"detection_method", "nii_xray"},
                              {"direction", "import"},      {"route", {{{"role", "origin"}, {"country", "AF"}}}},
                              {"goods",
                               {{{"category", "drugs"},
                                 {"subtype", "heroin"},
                                 {"quantity", 12.5},
                                 {"unit", "kg"},
                                 {"value", {{"amount", 4000}, {"currency", "USD"}}}}}}};
  Bytes payload = RecordFromJson(RecordType::kSeizure, s).value();
  auto fact = MakeFact(RecordType::kSeizure, payload);
  REQUIRE(fact);
  CHECK(fact->date == "20261102");
  CHECK(ToHex(fact->bytes) ==
        "01504b504b544b4d010200010141460001010106686572"
        "6f696e4029000000000000555344"
        "40af400000000000");
  FactView v;
  REQUIRE(DecodeFact(fact->bytes, v).ok());
  CHECK(v.country == "PK");
  CHECK(v.office == "PKTKM");
  CHECK(v.route_countries == std::vector<std::string_view>{"AF"});
  REQUIRE(v.goods.size() == 1);
  CHECK(v.goods[0].subtype == "heroin");
  CHECK(v.goods[0].quantity == 12.5);
  CHECK(v.goods[0].currency == "USD");
  CHECK(v.goods[0].value == 4000);
  // Truncated or extended: refused.
  Bytes cut(fact->bytes.begin(), fact->bytes.end() - 1);
  CHECK_FALSE(DecodeFact(cut, v).ok());
  Bytes longer = fact->bytes;
  longer.push_back(0);
  CHECK_FALSE(DecodeFact(longer, v).ok());
  CHECK_FALSE(MakeFact(RecordType::kSuspect, payload));
}

}  // namespace ncen::storage

namespace ncen::storage {

TEST_CASE("a report id's country tag is the one docs/sharing.md §4 shows", "[sharing]") {
  RecordId id{};
  id.fill(0xab);
  SetReportCountryTag(id, "");
  CHECK(FormatRecordId(id).substr(0, 19) == "07bd30b1-04a3-8df3-");
  CHECK(HasReportCountryTag(id, ""));
  CHECK_FALSE(HasReportCountryTag(id, "PK"));
  CHECK(id[8] == 0xab);  // the rest is the caller's
  std::ifstream in(std::string(NCEN_SOURCE_DIR) + "/docs/sharing.md");
  std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const char* country : {"PK", "AF"}) {
    SetReportCountryTag(id, country);
    INFO(country);
    CHECK(doc.find(std::string("`") + country + "` `" + FormatRecordId(id).substr(0, 18) + "…`") != std::string::npos);
  }
}

}  // namespace ncen::storage

#include "storage/capnp_message.h"
#include "storage/schema/record.capnp.h"

namespace ncen::storage {

TEST_CASE("a report's code-list texts are checked wherever it is written or received", "[sharing]") {
  // An edited report with typed text where a code list belongs: refused by
  // the JSON path and, as bytes from a peer, by the validator.
  nlohmann::ordered_json good = {{"reference", "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"},
                                 {"date", "2026-11-02"},
                                 {"country", "PK"},
                                 {"concealment_method", "luggage"},
                                 {"concealment_description", "In luggage"},
                                 {"goods", {{{"category", "drugs"}, {"subtype", "heroin"}, {"quantity", 2}, {"unit", "kg"}}}}};
  REQUIRE(RecordFromJson(RecordType::kSeizureReport, good).ok());
  auto bad_description = good;
  bad_description["concealment_description"] = "Hidden by suspect Gul Ahmad Durranizai";
  auto bad_subtype = good;
  bad_subtype["goods"][0]["subtype"] = "ahmed_khan";
  CHECK(RecordFromJson(RecordType::kSeizureReport, bad_description).status().message().find(
            "concealment_description") != std::string::npos);
  CHECK(RecordFromJson(RecordType::kSeizureReport, bad_subtype).status().message().find("goods[0].subtype") !=
        std::string::npos);

  for (bool description : {true, false}) {
    capnp::MallocMessageBuilder message;
    auto r = message.initRoot<schema::SeizureReport>();
    r.setReference("a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6");
    r.setDate("2026-11-02");
    r.setCountry("PK");
    r.setConcealmentMethod(schema::ConcealmentMethod::LUGGAGE);
    r.setConcealmentDescription(description ? "Hidden by suspect Gul Ahmad Durranizai" : "In luggage");
    auto g = r.initGoods(1)[0];
    g.setCategory(schema::GoodsCategory::DRUGS);
    g.setSubtype(description ? "heroin" : "ahmed_khan");
    g.setQuantity(2);
    g.setUnit(schema::Unit::KG);
    Status s = ValidateRecordPayload(RecordType::kSeizureReport, MessageBytes(message));
    INFO(s.ToString());
    CHECK(s.code() == StatusCode::kCorruption);
    CHECK(s.message().find(description ? "concealment_description" : "goods[0].subtype") != std::string::npos);
  }
}

}  // namespace ncen::storage
