#include "storage/sharing.h"

#include <algorithm>
#include <map>

#include "crypto/hash.h"
#include "storage/codes.h"

namespace ncen::storage {

using json = nlohmann::ordered_json;

namespace {

using C = FieldClass;
using R = ReleaseAs;
constexpr RecordType kS = RecordType::kSeizure, kP = RecordType::kSuspect, kC = RecordType::kCompany;

constexpr const char* kFreeText = "free text: an officer may write anything in it, names included";

// The classification (docs/sharing.md §2 prints the same table).
constexpr FieldRule kRules[] = {
    {kS, "reference", C::kSensitive, R::kNever, "the office's case number: it points into national case files"},
    {kS, "date", C::kReleasable, R::kAsIs, "when: the base of every trend"},
    {kS, "time", C::kSensitive, R::kNever, "with the date and office it singles out one crossing and the officers on duty"},
    {kS, "country", C::kReleasable, R::kAsIs, "where: the releasing country"},
    {kS, "office", C::kReleasable, R::kAsIs, "a location code (UN/LOCODE style), not a person"},
    {kS, "place", C::kNominal, R::kNever, kFreeText},
    {kS, "direction", C::kReleasable, R::kAsIs, "a code"},
    {kS, "transport_mode", C::kReleasable, R::kAsIs, "a code"},
    {kS, "detection_method", C::kReleasable, R::kAsIs, "a code: what works, shared between administrations"},
    {kS, "concealment_method", C::kReleasable, R::kAsIs, "a code, with its description from the code list"},
    {kS, "concealment_note", C::kNominal, R::kNever, kFreeText},
    {kS, "offences", C::kReleasable, R::kAsIs, "codes"},
    {kS, "route[].role", C::kReleasable, R::kAsIs, "a code"},
    {kS, "route[].country", C::kReleasable, R::kAsIs, "the routes analysts follow"},
    {kS, "route[].place", C::kNominal, R::kNever, kFreeText},
    {kS, "conveyance.type", C::kReleasable, R::kAsIs, "a code"},
    {kS, "conveyance.make", C::kSensitive, R::kNever, "with the other conveyance fields it narrows to one vehicle"},
    {kS, "conveyance.model", C::kSensitive, R::kNever, "with the other conveyance fields it narrows to one vehicle"},
    {kS, "conveyance.registration", C::kNominal, R::kNever, "a registration plate identifies the vehicle's keeper"},
    {kS, "conveyance.registration_country", C::kSensitive, R::kNever, "with make and model it narrows to few vehicles"},
    {kS, "conveyance.container_number", C::kSensitive, R::kNever, "identifies one shipment, and so its trader"},
    {kS, "conveyance.vessel_name", C::kSensitive, R::kNever, "identifies a vessel and its owner"},
    {kS, "conveyance.imo", C::kSensitive, R::kNever, "identifies a vessel and its owner"},
    {kS, "conveyance.carrier", C::kSensitive, R::kNever, "a company's name (company policy is for linked companies)"},
    {kS, "conveyance.flight_number", C::kSensitive, R::kNever, "with the date it singles out the passengers of one flight"},
    {kS, "conveyance.waybill", C::kNominal, R::kNever, "identifies a consignment and so its sender and consignee"},
    {kS, "conveyance.tracking_number", C::kNominal, R::kNever, "identifies a parcel and so its sender and addressee"},
    {kS, "goods[].category", C::kReleasable, R::kAsIs, "the commodity: what analysis is about"},
    {kS, "goods[].subtype", C::kReleasable, R::kCodeList, "the commodity, when it is in the code list (a typed code could hold a name)"},
    {kS, "goods[].hs_code", C::kReleasable, R::kAsIs, "a tariff code"},
    {kS, "goods[].description", C::kNominal, R::kNever, kFreeText},
    {kS, "goods[].quantity", C::kReleasable, R::kAsIs, "a number"},
    {kS, "goods[].unit", C::kReleasable, R::kAsIs, "a code"},
    {kS, "goods[].value.amount", C::kReleasable, R::kAsIs, "a number"},
    {kS, "goods[].value.currency", C::kReleasable, R::kAsIs, "a code"},
    {kS, "goods[].value.basis", C::kReleasable, R::kAsIs, "a code: which valuation the amount is"},
    {kS, "goods[].packages", C::kReleasable, R::kAsIs, "a number"},
    {kS, "goods[].brand", C::kSensitive, R::kNever, "free text naming a right holder, a company"},
    {kS, "goods[].origin_country", C::kReleasable, R::kAsIs, "a country code: declared against true origin"},
    {kS, "goods[].species", C::kSensitive, R::kNever, "free text (a scientific name is expected; the subtype carries the commodity)"},
    {kS, "goods[].cites_appendix", C::kReleasable, R::kAsIs, "a code"},
    {kS, "narrative", C::kNominal, R::kNever, kFreeText},
    {kS, "suspects", C::kReleasable, R::kCount, "how many people: the ids stay"},
    {kS, "companies", C::kReleasable, R::kCount, "how many companies: the ids stay"},
    {kS, "photos", C::kSensitive, R::kNever, "photos go only when the person releasing picks them (not yet possible)"},
    {kS, "officer", C::kNominal, R::kNever, "names an officer"},
    {kS, "status", C::kSensitive, R::kNever, "the state of a national case and its prosecution"},
    {kS, "entered_by.name", C::kNominal, R::kNever, "names the officer who wrote the version"},
    {kS, "entered_by.node", C::kSensitive, R::kNever, "names the office's node (the report says who releases)"},
    {kS, "entered_by.via", C::kSensitive, R::kNever, "how the officer worked: of no use outside"},

    {kP, "surname", C::kNominal, R::kNever, "a name"},
    {kP, "forenames", C::kNominal, R::kNever, "a name"},
    {kP, "aliases", C::kNominal, R::kNever, "names"},
    {kP, "birth_date", C::kNominal, R::kAgeBand, "identifies with a name or a place; only an age band at the seizure date leaves"},
    {kP, "birth_place", C::kNominal, R::kNever, "identifies with a birth date"},
    {kP, "gender", C::kReleasable, R::kAggregate, "counted over the seizure's suspects, never per person"},
    {kP, "nationalities", C::kReleasable, R::kAggregate, "counted over the seizure's suspects, never per person"},
    {kP, "documents[].type", C::kNominal, R::kNever, "part of an identity document"},
    {kP, "documents[].number", C::kNominal, R::kNever, "identifies a person"},
    {kP, "documents[].country", C::kNominal, R::kNever, "part of an identity document"},
    {kP, "documents[].issued", C::kNominal, R::kNever, "part of an identity document"},
    {kP, "documents[].expires", C::kNominal, R::kNever, "part of an identity document"},
    {kP, "address", C::kNominal, R::kNever, "where a person lives"},
    {kP, "phones", C::kNominal, R::kNever, "reaches a person"},
    {kP, "occupation", C::kNominal, R::kNever, kFreeText},
    {kP, "flags", C::kSensitive, R::kNever, "risk assessments about a person"},
    {kP, "notes", C::kNominal, R::kNever, kFreeText},
    {kP, "entered_by.name", C::kNominal, R::kNever, "names the officer who wrote the version"},
    {kP, "entered_by.node", C::kSensitive, R::kNever, "names the office's node (the report says who releases)"},
    {kP, "entered_by.via", C::kSensitive, R::kNever, "how the officer worked: of no use outside"},

    {kC, "name", C::kReleasable, R::kPolicy, "a trader's name: shared only where the national policy says so"},
    {kC, "trade_names", C::kSensitive, R::kNever, "names the policy setting does not cover"},
    {kC, "registration_number", C::kSensitive, R::kNever, "identifies the trader in national registers"},
    {kC, "tax_id", C::kSensitive, R::kNever, "identifies the trader in national registers"},
    {kC, "trader_id", C::kSensitive, R::kNever, "identifies the trader in national registers"},
    {kC, "country", C::kReleasable, R::kAggregate, "counted over the seizure's companies"},
    {kC, "address", C::kNominal, R::kNever, "often a person's address (small traders, shell companies)"},
    {kC, "roles", C::kSensitive, R::kNever, "with the country it narrows to one trader"},
    {kC, "phones", C::kNominal, R::kNever, "reaches a person"},
    {kC, "email", C::kNominal, R::kNever, "reaches a person"},
    {kC, "notes", C::kNominal, R::kNever, kFreeText},
    {kC, "entered_by.name", C::kNominal, R::kNever, "names the officer who wrote the version"},
    {kC, "entered_by.node", C::kSensitive, R::kNever, "names the office's node (the report says who releases)"},
    {kC, "entered_by.via", C::kSensitive, R::kNever, "how the officer worked: of no use outside"},
};

struct Concealment {
  const char* method;
  const char* description;
};
constexpr Concealment kConcealments[] = {
    {"not_concealed", "Not concealed"},
    {"misdeclared_goods", "Goods misdeclared on the documents"},
    {"inside_goods", "Hidden inside other goods"},
    {"mixed_with_cargo", "Mixed with legitimate cargo"},
    {"vehicle_built_compartment", "Purpose-built compartment in a vehicle"},
    {"vehicle_natural_void", "Natural void of a vehicle (tank, panel, tyre)"},
    {"container_structure", "In the structure of a container (floor, walls, frame)"},
    {"luggage_false_bottom", "False bottom or lining of luggage"},
    {"luggage", "In luggage"},
    {"body_worn", "Worn on the body"},
    {"internal_body", "Swallowed or inserted in the body"},
    {"postal_item", "In a postal or courier item"},
    {"clothing", "In clothing or shoes"},
    {"other", "Other method"},
};

struct Subtypes {
  const char* category;
  std::initializer_list<const char*> subtypes;
};
// The commodity code list, by category (docs/sharing.md §3).
const Subtypes kSubtypes[] = {
    {"drugs", {"heroin", "cocaine", "cocaine_base", "cannabis_herbal", "cannabis_resin", "cannabis_oil",
               "methamphetamine", "amphetamine", "captagon", "mdma", "fentanyl", "opium", "morphine", "khat",
               "ketamine", "lsd", "synthetic_cannabinoids", "new_psychoactive_substances", "other"}},
    {"precursors", {"acetic_anhydride", "ephedrine", "pseudoephedrine", "potassium_permanganate", "safrole",
                    "pmk", "bmk", "other"}},
    {"revenue", {"cigarettes", "cigars", "tobacco_raw", "tobacco_water_pipe", "alcohol", "beer", "wine", "spirits",
                 "fuel", "sugar", "foodstuffs", "dried_apricots", "textiles", "electronics", "vehicles", "other"}},
    {"environment", {"ivory_raw", "ivory_worked", "pangolin_scales", "pangolins_live", "rhino_horn", "timber",
                     "rosewood", "birds_live", "reptiles_live", "reptile_skins", "shark_fins", "sea_cucumbers",
                     "corals", "turtle_shells", "ozone_depleting_substances", "hazardous_waste", "e_waste", "other"}},
    {"ipr", {"watches", "counterfeit_watches", "handbags", "clothing", "footwear", "cosmetics", "perfume",
             "pharmaceuticals", "electronics", "spare_parts", "toys", "other"}},
    {"weapons", {"firearms", "firearm_parts", "ammunition", "explosives", "other"}},
    {"cultural", {"antiquities", "artworks", "manuscripts", "coins", "other"}},
    {"currency", {"cash", "banknotes", "gold", "precious_stones", "bearer_instruments", "other"}},
    {"nuclear", {"radioactive_sources", "nuclear_material", "dual_use", "other"}},
    {"medicines", {"tramadol", "falsified_medicines", "antibiotics", "anabolic_steroids", "pharmaceuticals", "other"}},
    {"other", {"other"}},
};

// The value at `key` when it is a non-empty string, else "".
std::string Text(const json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : "";
}

void CopyIf(json& to, const json& from, const char* key) {
  auto it = from.find(key);
  if (it != from.end() && !it->is_null()) to[key] = *it;
}

// [{"country": "PK", "count": 2}, ...] sorted by key.
json Counts(const std::map<std::string, uint32_t>& counts, const char* key) {
  json out = json::array();
  for (const auto& [k, n] : counts) out.push_back({{key, k}, {"count", n}});
  return out;
}

}  // namespace

const char* FieldClassName(FieldClass c) {
  switch (c) {
    case FieldClass::kNominal: return "nominal";
    case FieldClass::kSensitive: return "sensitive";
    case FieldClass::kReleasable: return "releasable";
  }
  return "?";
}

const char* ReleaseAsName(ReleaseAs r) {
  switch (r) {
    case ReleaseAs::kNever: return "never";
    case ReleaseAs::kAsIs: return "as is";
    case ReleaseAs::kCodeList: return "code list";
    case ReleaseAs::kCount: return "count";
    case ReleaseAs::kAggregate: return "counts per value";
    case ReleaseAs::kAgeBand: return "age band";
    case ReleaseAs::kPolicy: return "national policy";
  }
  return "?";
}

std::span<const FieldRule> SharingRules() { return kRules; }

std::string ConcealmentDescription(std::string_view method) {
  for (const auto& c : kConcealments)
    if (method == c.method) return c.description;
  return "";
}

std::vector<std::pair<std::string, std::vector<std::string>>> ListedSubtypes() {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  for (const auto& s : kSubtypes) out.emplace_back(s.category, std::vector<std::string>(s.subtypes.begin(), s.subtypes.end()));
  return out;
}

bool IsListedSubtype(std::string_view category, std::string_view subtype) {
  for (const auto& s : kSubtypes) {
    if (category != s.category) continue;
    return std::any_of(s.subtypes.begin(), s.subtypes.end(), [&](const char* t) { return subtype == t; });
  }
  return false;
}

namespace {
crypto::Hash256 CountryTag(std::string_view country) {
  std::string msg = "ncen report country v1";
  msg += country;
  return crypto::Blake2b256(AsBytes(msg));
}
}  // namespace

void SetReportCountryTag(RecordId& id, std::string_view country) {
  crypto::Hash256 tag = CountryTag(country);
  std::copy_n(tag.begin(), 8, id.begin());
  id[6] = static_cast<uint8_t>((id[6] & 0x0f) | 0x80);
}

bool HasReportCountryTag(const RecordId& id, std::string_view country) {
  RecordId want = id;
  SetReportCountryTag(want, country);
  return std::equal(want.begin(), want.begin() + 8, id.begin());
}

std::string AgeBand(std::string_view birth, std::string_view on) {
  if (!IsDate(birth) || !IsDate(on) || birth > on) return "unknown";
  auto num = [](std::string_view s) { return std::stoi(std::string(s)); };
  int years = num(on.substr(0, 4)) - num(birth.substr(0, 4));
  if (on.substr(5) < birth.substr(5)) --years;  // birthday not reached yet that year
  if (years < 18) return "under_18";
  if (years < 25) return "18_24";
  if (years < 35) return "25_34";
  if (years < 45) return "35_44";
  if (years < 55) return "45_54";
  if (years < 65) return "55_64";
  return "65_plus";
}

Result<ReportDraft> BuildReport(const json& seizure, std::span<const LinkedBody> suspects,
                                std::span<const LinkedBody> companies, const ReleasePolicy& policy,
                                const ReleaseStamp& stamp) {
  ReportDraft draft;
  json& r = draft.report;
  r = json::object();
  r["reference"] = stamp.reference;
  const std::string date = Text(seizure, "date");
  r["date"] = date;
  CopyIf(r, seizure, "country");
  CopyIf(r, seizure, "office");
  CopyIf(r, seizure, "direction");
  if (auto it = seizure.find("route"); it != seizure.end() && it->is_array()) {
    json route = json::array();
    for (const json& p : *it) {
      json point = json::object();
      CopyIf(point, p, "role");
      CopyIf(point, p, "country");
      route.push_back(std::move(point));
    }
    if (!route.empty()) r["route"] = std::move(route);
  }
  if (auto it = seizure.find("conveyance"); it != seizure.end() && it->is_object() && it->contains("type")) {
    r["conveyance_type"] = (*it)["type"];
  }
  CopyIf(r, seizure, "transport_mode");
  CopyIf(r, seizure, "detection_method");
  if (std::string method = Text(seizure, "concealment_method"); !method.empty()) {
    r["concealment_method"] = method;
    if (std::string d = ConcealmentDescription(method); !d.empty()) r["concealment_description"] = d;
  }
  CopyIf(r, seizure, "offences");
  json goods = json::array();
  if (auto it = seizure.find("goods"); it != seizure.end() && it->is_array()) {
    size_t i = 0;
    for (const json& g : *it) {
      json item = json::object();
      CopyIf(item, g, "category");
      if (std::string sub = Text(g, "subtype"); !sub.empty()) {
        if (IsListedSubtype(Text(g, "category"), sub)) {
          item["subtype"] = sub;
        } else {
          draft.withheld.push_back("goods[" + std::to_string(i) + "].subtype '" + sub +
                                   "' is not in the commodity code list: released without it");
        }
      }
      CopyIf(item, g, "hs_code");
      CopyIf(item, g, "quantity");
      CopyIf(item, g, "unit");
      if (auto v = g.find("value"); v != g.end() && v->is_object()) {
        json value = json::object();
        CopyIf(value, *v, "amount");
        CopyIf(value, *v, "currency");
        CopyIf(value, *v, "basis");
        item["value"] = std::move(value);
      }
      CopyIf(item, g, "packages");
      CopyIf(item, g, "origin_country");
      CopyIf(item, g, "cites_appendix");
      goods.push_back(std::move(item));
      ++i;
    }
  }
  if (goods.empty()) return InvalidArgument("the seizure has no goods to report");
  r["goods"] = std::move(goods);

  if (!suspects.empty()) {
    std::map<std::string, uint32_t> nationalities, genders, bands;
    for (const LinkedBody& s : suspects) {
      if (!s) {
        ++bands["unknown"];
        continue;
      }
      if (auto it = s->find("nationalities"); it != s->end() && it->is_array()) {
        for (const json& n : *it)
          if (n.is_string()) ++nationalities[n.get<std::string>()];
      }
      if (std::string g = Text(*s, "gender"); !g.empty()) ++genders[g];
      ++bands[AgeBand(Text(*s, "birth_date"), date)];
    }
    r["suspect_count"] = suspects.size();
    if (!nationalities.empty()) r["suspect_nationalities"] = Counts(nationalities, "country");
    if (!genders.empty()) r["suspect_genders"] = Counts(genders, "gender");
    r["suspect_age_bands"] = Counts(bands, "band");
  }
  if (!companies.empty()) {
    std::map<std::string, uint32_t> countries;
    std::vector<std::string> names;
    for (const LinkedBody& c : companies) {
      if (!c) continue;
      if (std::string country = Text(*c, "country"); !country.empty()) ++countries[country];
      if (policy.company_names) {
        if (std::string name = Text(*c, "name"); !name.empty()) names.push_back(name);
      }
    }
    r["company_count"] = companies.size();
    if (!countries.empty()) r["company_countries"] = Counts(countries, "country");
    if (!names.empty()) {
      std::sort(names.begin(), names.end());
      r["company_names"] = names;
    }
  }
  if (!stamp.released_by.empty()) r["released_by"] = stamp.released_by;
  r["released_at"] = stamp.released_at;
  return draft;
}

}  // namespace ncen::storage
