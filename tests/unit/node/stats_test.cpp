// Statistics (node/stats.h) against a brute-force count over the same
// records' JSON, on generated data with many commodities, units, countries
// and months; the structured search filters; the export.
#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <set>
#include <sstream>

#include "node/records.h"
#include "node/releases.h"
#include "node/stats.h"
#include "storage/codes.h"
#include "storage/record_json.h"
#include "tests/support/store_fixture.h"

namespace ncen::node {
namespace {

using json = nlohmann::ordered_json;
using storage::RecordId;
using storage::RecordType;

const char* kCountries[] = {"PK", "AF", "IR", "TR", "AE", "KE", "NG", "IN"};
const char* kSuffixes[] = {"TKM", "KHI", "LHE"};
const char* kModes[] = {"road_truck", "sea_container", "air_cargo", "postal", "rail"};
const char* kDetections[] = {"nii_xray", "detector_dog", "risk_profiling", "intelligence"};
const char* kConcealments[] = {"inside_goods", "vehicle_built_compartment", "body_worn", "misdeclared_goods"};
struct Commodity {
  const char* category;
  const char* subtype;  // "" for none
};
const Commodity kCommodities[] = {{"drugs", "heroin"},      {"drugs", "cocaine"},  {"drugs", ""},
                                  {"revenue", "cigarettes"}, {"revenue", "alcohol"}, {"environment", "ivory_raw"},
                                  {"currency", "cash"},      {"ipr", "watches"},     {"medicines", "tramadol"}};
const char* kUnits[] = {"kg", "g", "stick", "l", "piece", "tablet"};
const char* kCurrencies[] = {"USD", "EUR", "PKR"};

template <typename T, size_t N>
const T& Pick(std::mt19937& rng, const T (&a)[N]) {
  return a[std::uniform_int_distribution<size_t>(0, N - 1)(rng)];
}

json Generate(std::mt19937& rng) {
  auto below = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  std::string country = Pick(rng, kCountries);
  char date[16];
  std::snprintf(date, sizeof date, "%d-%02d-%02d", 2025 + below(2), 1 + below(12), 1 + below(28));
  json s = {{"date", date}, {"country", country}, {"office", country + Pick(rng, kSuffixes)}};
  if (below(5)) s["transport_mode"] = Pick(rng, kModes);
  if (below(5)) s["detection_method"] = Pick(rng, kDetections);
  if (below(5)) s["concealment_method"] = Pick(rng, kConcealments);
  json route = json::array();
  for (int i = below(4); i > 0; --i) route.push_back({{"country", Pick(rng, kCountries)}});
  if (!route.empty()) s["route"] = route;
  json goods = json::array();
  for (int i = 1 + below(3); i > 0; --i) {
    const Commodity& c = Pick(rng, kCommodities);
    json g = {{"category", c.category}, {"quantity", 0.5 * (1 + below(400))}, {"unit", Pick(rng, kUnits)}};
    if (*c.subtype) g["subtype"] = c.subtype;
    if (below(3)) g["value"] = {{"amount", 10 * below(10000)}, {"currency", Pick(rng, kCurrencies)}};
    goods.push_back(g);
  }
  s["goods"] = goods;
  s["narrative"] = "generated";
  return s;
}

struct Cell {
  uint64_t records = 0;
  std::map<std::string, double> quantity, value;
};

// The values of a record in a record-level dimension.
std::vector<std::string> Values(const std::string& dim, const json& s) {
  std::string date = s["date"];
  if (dim == "country") return {s["country"]};
  if (dim == "office") return {s["office"]};
  if (dim == "mode") return {s.value("transport_mode", "(none)")};
  if (dim == "detection") return {s.value("detection_method", "(none)")};
  if (dim == "concealment") return {s.value("concealment_method", "(none)")};
  if (dim == "month") return {date.substr(0, 7)};
  if (dim == "year") return {date.substr(0, 4)};
  if (dim == "quarter") return {date.substr(0, 4) + "-Q" + std::to_string((std::stoi(date.substr(5, 2)) + 2) / 3)};
  if (dim == "route_country") {
    std::set<std::string> c;
    for (const json& p : s.value("route", json::array())) c.insert(p["country"].get<std::string>());
    if (c.empty()) return {"(none)"};
    return {c.begin(), c.end()};
  }
  return {};
}

std::string GoodsValue(const std::string& dim, const json& g) {
  std::string v = g["category"];
  if (dim == "commodity" && g.contains("subtype")) v += "/" + g["subtype"].get<std::string>();
  return v;
}

bool IsGoodsDim(const std::string& d) { return d == "commodity" || d == "category"; }

// Brute force: for each record, the set of cells it falls in; then, for
// each of those cells, the goods that belong to it.
std::map<std::vector<std::string>, Cell> BruteForce(const std::vector<json>& records,
                                                    const std::vector<std::string>& dims, const std::string& from,
                                                    const std::string& to) {
  std::map<std::vector<std::string>, Cell> out;
  for (const json& s : records) {
    std::string date = s["date"];
    if ((!from.empty() && date < from) || (!to.empty() && date > to)) continue;
    std::vector<std::vector<std::string>> choices;
    for (const auto& d : dims) {
      if (IsGoodsDim(d)) {
        std::set<std::string> v;
        for (const json& g : s["goods"]) v.insert(GoodsValue(d, g));
        choices.emplace_back(v.begin(), v.end());
      } else {
        choices.push_back(Values(d, s));
      }
    }
    std::vector<std::vector<std::string>> keys = {{}};
    if (dims.size() == 2 && IsGoodsDim(dims[0]) && IsGoodsDim(dims[1])) {
      // Two goods dimensions: each item's own pair.
      std::set<std::vector<std::string>> pairs;
      for (const json& g : s["goods"]) pairs.insert({GoodsValue(dims[0], g), GoodsValue(dims[1], g)});
      keys.assign(pairs.begin(), pairs.end());
      choices.clear();
    }
    for (const auto& c : choices) {
      std::vector<std::vector<std::string>> next;
      for (const auto& k : keys) {
        for (const auto& v : c) {
          auto nk = k;
          nk.push_back(v);
          next.push_back(nk);
        }
      }
      keys = next;
    }
    for (const auto& k : keys) {
      Cell& cell = out[k];
      ++cell.records;
      for (const json& g : s["goods"]) {
        bool belongs = true;
        for (size_t i = 0; i < dims.size(); ++i) {
          if (IsGoodsDim(dims[i]) && GoodsValue(dims[i], g) != k[i]) belongs = false;
        }
        if (!belongs) continue;
        cell.quantity[g["unit"]] += g["quantity"].get<double>();
        if (g.contains("value")) cell.value[g["value"]["currency"]] += g["value"]["amount"].get<double>();
      }
    }
  }
  return out;
}

void Compare(const StatsResult& got, const std::map<std::vector<std::string>, Cell>& want) {
  REQUIRE(got.cells.size() == want.size());
  for (const StatsCell& c : got.cells) {
    auto it = want.find(c.keys);
    REQUIRE(it != want.end());
    CHECK(c.records == it->second.records);
    REQUIRE(c.quantity.size() == it->second.quantity.size());
    for (const auto& [u, q] : c.quantity) CHECK(q == Approx(it->second.quantity.at(u)));
    REQUIRE(c.value.size() == it->second.value.size());
    for (const auto& [u, v] : c.value) CHECK(v == Approx(it->second.value.at(u)));
  }
}

const std::vector<std::string> kDims = {"commodity", "category", "country", "route_country", "mode", "detection",
                                        "concealment", "office", "month", "quarter", "year"};

void CheckAllPivots(storage::Store& store, RecordType type, const std::vector<json>& records) {
  for (size_t i = 0; i < kDims.size(); ++i) {
    for (size_t j = i; j < kDims.size(); ++j) {
      std::vector<std::string> dims = {kDims[i]};
      if (j != i) dims.push_back(kDims[j]);
      for (auto [from, to] : {std::pair<std::string, std::string>{"", ""}, {"2025-03-10", "2026-02-20"}}) {
        StatsRequest r;
        r.type = type;
        r.from = from;
        r.to = to;
        for (const auto& d : dims) r.by.push_back(*ParseDimension(d));
        auto got = ComputeStats(store, r);
        REQUIRE(got.ok());
        INFO(dims[0] << (dims.size() > 1 ? "," + dims[1] : "") << " " << from << ".." << to);
        Compare(*got, BruteForce(records, dims, from, to));
        uint64_t in_range = 0;
        for (const json& s : records) {
          std::string d = s["date"];
          if ((from.empty() || d >= from) && (to.empty() || d <= to)) ++in_range;
        }
        CHECK(got->total.records == in_range);
      }
    }
  }
}

struct Hub {
  Hub() : identity(testing::IdentityFromNumber(1)), t(identity, "hub"), records(*t.store, identity) {}
  crypto::Identity identity;
  testing::TestStore t;
  Records records;
};

}  // namespace

TEST_CASE("stats equal a brute-force count, for every pair of dimensions, over seizures and reports", "[stats]") {
  std::mt19937 rng(20261130);
  Hub h;
  std::vector<json> bodies;
  std::vector<NewRecord> batch;
  for (int i = 0; i < 1500; ++i) {
    bodies.push_back(Generate(rng));
    batch.push_back({RecordType::kSeizure, storage::RecordFromJson(RecordType::kSeizure, bodies.back()).value()});
  }
  std::vector<RecordId> ids = h.records.Import(std::move(batch)).value();
  CheckAllPivots(*h.t.store, RecordType::kSeizure, bodies);

  // Edits and deletes reach the facts: a third deleted, a third edited.
  std::vector<json> now;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i % 3 == 0) {
      REQUIRE(h.records.Delete(ids[i]).ok());
    } else if (i % 3 == 1) {
      json edited = Generate(rng);
      REQUIRE(h.records.Update(ids[i], edited, false).ok());
      now.push_back(edited);
    } else {
      now.push_back(bodies[i]);
    }
  }
  CheckAllPivots(*h.t.store, RecordType::kSeizure, now);

  // Released, the reports give the same statistics (every subtype generated
  // is in the code list, and the fields counted are releasable).
  Releases releases(*h.t.store, h.identity);
  std::vector<RecordId> live;
  for (size_t i = 0; i < ids.size(); ++i)
    if (i % 3 != 0) live.push_back(ids[i]);
  REQUIRE(releases.Release(live, storage::Scope::kRegional, false).ok());
  CheckAllPivots(*h.t.store, RecordType::kSeizureReport, now);
}

TEST_CASE("stats refuse bad requests", "[stats]") {
  Hub h;
  StatsRequest r;
  r.by = {Dimension::kCountry};
  r.from = "2026-05-01";
  r.to = "2026-04-01";
  CHECK(ComputeStats(*h.t.store, r).status().code() == StatusCode::kInvalidArgument);
  r.from = "2026-02-30";
  r.to = "";
  CHECK(ComputeStats(*h.t.store, r).status().code() == StatusCode::kInvalidArgument);
  r.from = "";
  r.by = {Dimension::kCountry, Dimension::kCountry};
  CHECK(ComputeStats(*h.t.store, r).status().code() == StatusCode::kInvalidArgument);
  r.by = {};
  CHECK(ComputeStats(*h.t.store, r).status().code() == StatusCode::kInvalidArgument);
  r.by = {Dimension::kCountry};
  r.type = RecordType::kSuspect;
  CHECK(ComputeStats(*h.t.store, r).status().code() == StatusCode::kInvalidArgument);
  CHECK_FALSE(ParseDimension("colour"));
}

TEST_CASE("search filters select seizures and reports by country, commodity, route, mode, concealment", "[stats]") {
  std::mt19937 rng(7);
  Hub h;
  std::vector<json> bodies;
  std::vector<RecordId> ids;
  for (int i = 0; i < 300; ++i) {
    bodies.push_back(Generate(rng));
    ids.push_back(h.records.Add(RecordType::kSeizure, bodies.back()).value());
  }
  auto count = [&](const FactFilter& f, const std::string& from = "") {
    SearchRequest r;
    r.filter = f;
    r.from_date = from;
    r.limit = 10000;
    auto items = h.records.Search(r);
    REQUIRE(items.ok());
    return items->size();
  };
  auto brute = [&](auto pred) { return static_cast<size_t>(std::count_if(bodies.begin(), bodies.end(), pred)); };
  CHECK(count({.country = "PK"}) == brute([](const json& s) { return s["country"] == "PK"; }));
  CHECK(count({.commodity = "drugs"}) == brute([](const json& s) {
          for (const json& g : s["goods"]) if (g["category"] == "drugs") return true;
          return false;
        }));
  CHECK(count({.commodity = "heroin"}) == brute([](const json& s) {
          for (const json& g : s["goods"]) if (g.value("subtype", "") == "heroin") return true;
          return false;
        }));
  CHECK(count({.commodity = "revenue/cigarettes", .mode = "road_truck"}) == brute([](const json& s) {
          if (s.value("transport_mode", "") != "road_truck") return false;
          for (const json& g : s["goods"])
            if (g["category"] == "revenue" && g.value("subtype", "") == "cigarettes") return true;
          return false;
        }));
  CHECK(count({.route_country = "IR"}) == brute([](const json& s) {
          for (const json& p : s.value("route", json::array())) if (p["country"] == "IR") return true;
          return false;
        }));
  CHECK(count({.concealment = "body_worn"}, "2026-01-01") == brute([](const json& s) {
          return s.value("concealment_method", "") == "body_worn" && s["date"] >= "2026-01-01";
        }));
  // Latest first, and the limit holds.
  SearchRequest r;
  r.filter.country = "AF";
  r.limit = 5;
  auto items = h.records.Search(r).value();
  CHECK(items.size() == 5);
  // Bad filter values are one-line errors.
  SearchRequest bad;
  bad.filter.mode = "hovercraft";
  CHECK(h.records.Search(bad).status().code() == StatusCode::kInvalidArgument);
  bad.filter = {.country = "XX"};
  CHECK(h.records.Search(bad).status().code() == StatusCode::kInvalidArgument);
  bad.filter = {.commodity = "Heroin!"};
  CHECK(h.records.Search(bad).status().code() == StatusCode::kInvalidArgument);
  bad.filter = {.country = "PK"};
  bad.type = RecordType::kSuspect;
  CHECK(h.records.Search(bad).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("export writes every live report, as NDJSON or one CSV row per goods item", "[stats]") {
  std::mt19937 rng(11);
  Hub h;
  std::vector<RecordId> ids;
  size_t goods = 0;
  for (int i = 0; i < 50; ++i) {
    json s = Generate(rng);
    goods += s["goods"].size();
    ids.push_back(h.records.Add(RecordType::kSeizure, s).value());
  }
  Releases releases(*h.t.store, h.identity);
  REQUIRE(releases.Release(ids, storage::Scope::kRegional, false).ok());
  std::ostringstream nd, csv;
  CHECK(ExportReports(*h.t.store, "", "", ExportFormat::kNdjson, nd).value() == 50);
  CHECK(ExportReports(*h.t.store, "", "", ExportFormat::kCsv, csv).value() == 50);
  std::istringstream lines(nd.str());
  std::string line, last_date;
  size_t n = 0;
  while (std::getline(lines, line)) {
    json j = json::parse(line);
    CHECK(j["type"] == "seizure_report");
    CHECK(j["date"].get<std::string>() >= last_date);  // date order
    last_date = j["date"];
    ++n;
  }
  CHECK(n == 50);
  std::istringstream rows(csv.str());
  std::getline(rows, line);
  CHECK(line.rfind("id,reference,date,country,", 0) == 0);
  n = 0;
  while (std::getline(rows, line)) ++n;
  CHECK(n == goods);
  // A withdrawn report is not exported.
  REQUIRE(releases.Withdraw(std::span<const RecordId>(ids.data(), 1)).ok());
  std::ostringstream after;
  CHECK(ExportReports(*h.t.store, "", "", ExportFormat::kNdjson, after).value() == 49);
  CHECK(ExportReports(*h.t.store, "2026-05-01", "2026-04-01", ExportFormat::kCsv, after).status().code() ==
        StatusCode::kInvalidArgument);
}

}  // namespace ncen::node

namespace ncen::node {

TEST_CASE("a pivot past 100,000 cells is refused, quickly, instead of eating the machine", "[stats]") {
  // Hostile records: 600 goods of distinct subtypes and 200 route countries
  // each are 120,000 commodity x route-country cells in one record.
  Hub h;
  const char* letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  json route = json::array();
  for (int i = 0; i < 26 * 26 && route.size() < 200; ++i) {
    std::string cc = {letters[i / 26], letters[i % 26]};
    if (storage::IsCountryCode(cc)) route.push_back({{"country", cc}});
  }
  REQUIRE(route.size() == 200);
  json goods = json::array();
  for (int i = 0; i < 600; ++i) {
    goods.push_back({{"category", "drugs"}, {"subtype", "s" + std::to_string(i)}, {"quantity", 1}, {"unit", "kg"}});
  }
  json s = {{"date", "2026-03-01"}, {"country", "PK"}, {"office", "PKTKM"}, {"route", route}, {"goods", goods}};
  REQUIRE(h.records.Add(RecordType::kSeizure, s).ok());
  StatsRequest r;
  r.by = {Dimension::kCommodity, Dimension::kRouteCountry};
  auto refused = ComputeStats(*h.t.store, r);
  CHECK(refused.status().code() == StatusCode::kInvalidArgument);
  CHECK(refused.status().message().find("more than 100000 cells") != std::string::npos);
  r.by = {Dimension::kCommodity};
  CHECK(ComputeStats(*h.t.store, r)->cells.size() == 600);
}

}  // namespace ncen::node
