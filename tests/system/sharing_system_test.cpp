// Releases over TCP (issue 14): real ncen-node daemons of two countries and
// a regional hub. Posts record seizures with suspects; each national hub
// releases some; the regional hub holds every report and no nominal value of
// either country (searched in its data.mdb); a withdrawn report leaves its
// record state.
#include <catch2/catch.hpp>

#include "tests/support/network_proc.h"

namespace ncen::testing {
namespace {

using json = nlohmann::json;

struct Person {
  std::string surname, forenames, birth_date, document, phone, address;
};

// Writes a suspect and a seizure linked to it at `post`; returns the
// seizure's id. Every nominal value is distinctive, and the narrative, place
// and goods description name the suspect.
std::string RecordCase(NodeProc& post, const std::string& country, const Person& p, const std::string& plate,
                       const std::string& subtype, double kg) {
  TempDir tmp;
  std::string suspect_file = tmp.Sub("suspect.json"), seizure_file = tmp.Sub("seizure.json");
  std::ofstream(suspect_file) << json{{"surname", p.surname},
                                      {"forenames", p.forenames},
                                      {"birth_date", p.birth_date},
                                      {"gender", "m"},
                                      {"nationalities", {country}},
                                      {"documents", {{{"type", "passport"}, {"number", p.document}}}},
                                      {"phones", {p.phone}},
                                      {"address", p.address}}
                                     .dump();
  std::string suspect = Trim(CtlOk(post.dir, {"suspect", "add", "--json", suspect_file}));
  std::ofstream(seizure_file)
      << json{{"date", "2026-10-0" + std::to_string(1 + static_cast<int>(kg) % 9)},
              {"country", country},
              {"office", country + "TKM"},
              {"place", "Lane 3, truck of " + p.surname},
              {"transport_mode", "road_truck"},
              {"concealment_method", "vehicle_built_compartment"},
              {"concealment_note", p.forenames + " opened the compartment"},
              {"route", {{{"role", "origin"}, {"country", "AF"}}, {{"role", "destination"}, {"country", "TR"}}}},
              {"conveyance", {{"type", "vehicle"}, {"registration", plate}}},
              {"goods",
               {{{"category", "drugs"}, {"subtype", subtype}, {"quantity", kg}, {"unit", "kg"},
                 {"description", "Packets addressed to " + p.surname}}}},
              {"narrative", "Driver " + p.surname + " (" + p.document + ") admitted it."},
              {"officer", "Inspector Officerova-" + country}}
             .dump();
  std::string seizure = Trim(CtlOk(post.dir, {"seizure", "add", "--json", seizure_file}));
  CtlOk(post.dir, {"link", seizure, "--suspect", suspect});
  return seizure;
}

std::vector<std::string> NominalValues(const Person& p, const std::string& plate) {
  return {p.surname, p.forenames, p.birth_date, p.document, p.phone, p.address, plate};
}

size_t ReportCount(const NodeProc& n) {
  json items = json::parse(CtlOk(n.dir, {"--json", "list", "--type", "seizure_report", "--limit", "1000"}));
  return items.size();
}

}  // namespace

TEST_CASE("two countries release to their regional hub, which holds every report and no nominal value",
          "[system][sharing]") {
  TwoCountries w;
  NodeProc &regional = w.regional, &pk_hub = w.pk_hub, &af_hub = w.af_hub, &pk_post = w.pk_post,
           &af_post = w.af_post;

  const std::vector<Person> pk_people = {
      {"Qureshvandi", "Tahirjan", "1986-04-17", "PKPASS99871", "+92 300 555 0101", "House 7 Qureshvandi lane"},
      {"Baluchzadeh", "Rahimullah", "2009-01-05", "PKPASS99872", "+92 300 555 0102", "Flat 2 Baluchzadeh block"},
      {"Kasimovitch", "Omarkhel", "1961-12-30", "PKPASS99873", "+92 300 555 0103", "Kasimovitch farm road"}};
  const std::vector<Person> af_people = {
      {"Nurzadaqov", "Gulbuddinqa", "1992-07-21", "AFPASS55501", "+93 700 555 0201", "Nurzadaqov street 4"},
      {"Sherzadovka", "Mirwaisqa", "1999-02-11", "AFPASS55502", "+93 700 555 0202", "Sherzadovka compound"}};
  std::vector<std::string> pk_seizures, af_seizures, nominal;
  const char* subtypes[] = {"heroin", "methamphetamine", "opium"};
  for (size_t i = 0; i < pk_people.size(); ++i) {
    std::string plate = "PK-PLATE-" + std::to_string(4410 + i);
    pk_seizures.push_back(RecordCase(pk_post, "PK", pk_people[i], plate, subtypes[i], 10.0 + i));
    for (auto& v : NominalValues(pk_people[i], plate)) nominal.push_back(v);
  }
  for (size_t i = 0; i < af_people.size(); ++i) {
    std::string plate = "AF-PLATE-" + std::to_string(7720 + i);
    af_seizures.push_back(RecordCase(af_post, "AF", af_people[i], plate, subtypes[i], 20.0 + i));
    for (auto& v : NominalValues(af_people[i], plate)) nominal.push_back(v);
  }

  w.Start();
  std::vector<NodeProc*> all = w.all();

  // A post may not release; a national hub releases two of three (PK) and
  // one of two (AF), while its daemon runs.
  auto by_post = Ctl(pk_post.dir, {"release", pk_seizures[0], "--to", "regional"});
  CHECK(by_post.exit_code == 1);
  CHECK(by_post.err.find("only a national hub may release; this node is post") != std::string::npos);
  CtlOk(pk_hub.dir, {"release", pk_seizures[0], pk_seizures[1], "--to", "regional"});
  CtlOk(af_hub.dir, {"release", af_seizures[0], "--to", "regional"});
  WaitUntil([&] { return ReportCount(regional) == 3; }, "three reports at the regional hub");
  for (NodeProc* n : all) WaitSynced(*n, 90);

  // The regional hub holds every report, and the other country's hub too.
  CHECK(ReportCount(regional) == 3);
  CHECK(ReportCount(af_hub) == 3);
  CHECK(ReportCount(pk_post) == 0);  // a post holds no regional feed
  json stats = json::parse(CtlOk(regional.dir, {"--json", "stats", "--by", "commodity,country"}));
  CHECK(stats["type"] == "seizure_report");
  CHECK(stats["total"]["records"] == 3);
  CHECK(stats["cells"].size() == 3);
  // ... and no nominal value of either country: not in its data file, not
  // in what it shows.
  std::string mdb = ReadWholeFile(regional.dir + "/store/data.mdb");
  std::string shown = CtlOk(regional.dir, {"export", "--type", "seizure_report", "--format", "ndjson"});
  for (const std::string& v : nominal) {
    INFO(v);
    CHECK(mdb.find(v) == std::string::npos);
    CHECK(shown.find(v) == std::string::npos);
  }
  // The national hub does hold them (the search is meaningful).
  std::string pk_mdb = ReadWholeFile(pk_hub.dir + "/store/data.mdb");
  CHECK(pk_mdb.find(pk_people[0].surname) != std::string::npos);
  CHECK(pk_mdb.find(pk_people[0].document) != std::string::npos);

  // Withdrawn at the national hub: gone from the regional hub's record state.
  json released = json::parse(CtlOk(pk_hub.dir, {"--json", "releases"}));
  REQUIRE(released.size() == 2);
  std::string report;
  for (const auto& r : released) {
    if (r["seizure"] == pk_seizures[1]) report = r["report"];
  }
  REQUIRE(!report.empty());
  CtlOk(pk_hub.dir, {"release", pk_seizures[1], "--withdraw"});
  WaitUntil([&] { return ReportCount(regional) == 2; }, "the withdrawal at the regional hub");
  auto gone = Ctl(regional.dir, {"get", report});
  CHECK(gone.exit_code == 1);
  CHECK(gone.err.find("was deleted") != std::string::npos);
  json after = json::parse(CtlOk(regional.dir, {"--json", "stats", "--by", "country"}));
  CHECK(after["total"]["records"] == 2);
  for (NodeProc* n : all) CHECK(n->daemon.Stop(SIGTERM) == 0);
}

}  // namespace ncen::testing
