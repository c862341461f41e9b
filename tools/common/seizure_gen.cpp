#include "tools/common/seizure_gen.h"

#include <array>
#include <cstdio>

namespace ncen::tools {

namespace {

struct Office {
  const char* code;
  const char* place;
  const char* mode;
};

// Ten countries × ten offices: real country codes, invented office codes.
constexpr std::array<const char*, 10> kCountries = {"PK", "AF", "KE", "TZ", "AE", "IN", "NG", "GH", "KZ", "UZ"};
constexpr std::array<const char*, 10> kOfficeSuffixes = {"BRA", "CRS", "DKP", "FTR", "GAT",
                                                         "HRB", "JNC", "LND", "PRT", "RWY"};
constexpr std::array<const char*, 10> kPlaces = {
    "border crossing, inbound lane 2", "container terminal, scanning bay", "international airport, cargo shed",
    "inland dry port, examination shed", "railway station, freight yard", "free trade zone gate",
    "postal sorting centre", "ferry terminal, vehicle deck", "international airport, arrivals hall",
    "land border, truck park"};
constexpr std::array<const char*, 10> kModes = {"road_truck", "sea_container", "air_cargo", "road_truck",
                                                "rail",       "road_car",      "postal",    "road_bus",
                                                "air_passenger", "road_truck"};
struct Goods {
  const char* category;
  const char* subtype;
  const char* hs;
  const char* unit;
  const char* description;
};
constexpr std::array<Goods, 10> kGoods = {{
    {"drugs", "heroin", "293911", "kg", "Brown powder in taped packets"},
    {"drugs", "methamphetamine", "293949", "kg", "Crystalline substance in tea packaging"},
    {"drugs", "cannabis_resin", "130190", "kg", "Resin slabs wrapped in cling film"},
    {"revenue", "cigarettes", "240220", "stick", "Cigarettes declared as paper products"},
    {"revenue", "alcohol", "220830", "l", "Whisky in unmarked bottles"},
    {"environment", "pangolin_scales", "050800", "kg", "Scales in sacks declared as fish maw"},
    {"ipr", "counterfeit_watches", "910211", "piece", "Watches bearing a protected brand"},
    {"precursors", "acetic_anhydride", "291524", "l", "Drums declared as industrial solvent"},
    {"currency", "cash", "490700", "currency_unit", "Undeclared banknotes in hand luggage"},
    {"medicines", "tramadol", "300490", "tablet", "Tablets in blister packs without licence"},
}};
constexpr std::array<const char*, 6> kDetections = {"risk_profiling", "nii_xray", "detector_dog",
                                                    "physical_examination", "intelligence", "random_selection"};
constexpr std::array<const char*, 6> kConcealments = {"misdeclared_goods", "inside_goods", "vehicle_built_compartment",
                                                      "luggage_false_bottom", "mixed_with_cargo", "body_worn"};

std::string OfficeCode(uint64_t n) {
  return std::string(kCountries[n / 10 % 10]) + kOfficeSuffixes[n % 10];
}

}  // namespace

std::string GeneratedReference(Rng& rng, uint64_t index) {
  std::string office = OfficeCode(rng.Below(100));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s-2026-%07llu", office.c_str(), static_cast<unsigned long long>(index));
  return buf;
}

nlohmann::ordered_json GenerateSeizure(Rng& rng, uint64_t index) {
  uint64_t office_n = rng.Below(100);
  std::string office = OfficeCode(office_n);
  std::string country = office.substr(0, 2);
  const Goods& g = kGoods[rng.Below(kGoods.size())];
  char date[16], time[8], ref[64];
  std::snprintf(date, sizeof date, "2026-%02llu-%02llu", static_cast<unsigned long long>(rng.Between(1, 11)),
                static_cast<unsigned long long>(rng.Between(1, 28)));
  std::snprintf(time, sizeof time, "%02llu:%02llu", static_cast<unsigned long long>(rng.Below(24)),
                static_cast<unsigned long long>(rng.Below(60)));
  std::snprintf(ref, sizeof ref, "%s-2026-%07llu", office.c_str(), static_cast<unsigned long long>(index));
  double quantity = static_cast<double>(rng.Between(1, 5000)) / 10.0;
  if (std::string(g.unit) == "stick") quantity = static_cast<double>(rng.Between(1, 500)) * 10000;
  nlohmann::ordered_json j = {
      {"type", "seizure"},
      {"reference", ref},
      {"date", date},
      {"time", time},
      {"country", country},
      {"office", office},
      {"place", std::string(kPlaces[office_n % 10])},
      {"direction", rng.Percent(70) ? "import" : "export"},
      {"transport_mode", kModes[office_n % 10]},
      {"detection_method", kDetections[rng.Below(kDetections.size())]},
      {"concealment_method", kConcealments[rng.Below(kConcealments.size())]},
      {"offences", {"smuggling"}},
      {"route",
       {{{"role", "origin"}, {"country", kCountries[rng.Below(10)]}},
        {{"role", "seizure"}, {"country", country}}}},
      {"goods",
       {{{"category", g.category},
         {"subtype", g.subtype},
         {"hs_code", g.hs},
         {"description", g.description},
         {"quantity", quantity},
         {"unit", g.unit},
         {"value", {{"amount", rng.Between(500, 900000)}, {"currency", "USD"}, {"basis", "customs"}}}}}},
      {"narrative", "Selected by " + std::string(kDetections[rng.Below(kDetections.size())]) +
                        "; goods found during examination and detained for laboratory analysis. "
                        "Case handed to the investigation unit of " + office + "."},
      {"officer", "Officer " + std::to_string(rng.Between(100, 999))}};
  return j;
}

}  // namespace ncen::tools
