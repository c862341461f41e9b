// The access log (node/audit.h, docs/audit.md): what Records logs, the line
// format, damaged lines, concurrent appends.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "node/audit.h"
#include "node/records.h"
#include "storage/record_json.h"
#include "tests/support/store_fixture.h"

namespace ncen::node {
namespace {

using json = nlohmann::ordered_json;
using storage::RecordId;
using storage::RecordType;

json Seizure() {
  return {{"date", "2026-11-02"},
          {"country", "PK"},
          {"office", "PKTKM"},
          {"goods", {{{"category", "drugs"}, {"subtype", "heroin"}, {"quantity", 2.5}, {"unit", "kg"}}}}};
}

std::vector<std::string> FileLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

struct Office {
  Office()
      : identity(testing::IdentityFromNumber(1)),
        t(identity, "Torkham post"),
        audit(AuditLog::Open(t.dir.path()).value()),
        records(*t.store, identity, Actor{"a.khan", "api", "10.0.0.7"}, audit.get()) {}
  crypto::Identity identity;
  testing::TestStore t;
  std::unique_ptr<AuditLog> audit;
  Records records;
  std::vector<AuditEvent> Events() { return AuditLog::Read(t.dir.path(), {}).value().events; }
};

}  // namespace

TEST_CASE("viewing a suspect and searching write one line each; seizures alone write none", "[audit]") {
  Office o;
  RecordId seizure = o.records.Add(RecordType::kSeizure, Seizure()).value();
  RecordId suspect = o.records.Add(RecordType::kSuspect, json{{"surname", "Müller"}}).value();
  CHECK(o.Events().empty());  // writes are not accesses

  REQUIRE(o.records.Get(seizure).ok());
  REQUIRE(o.records.List(RecordType::kSeizure, 50).ok());
  SearchRequest seizures;
  seizures.type = RecordType::kSeizure;
  seizures.text = "heroin";
  REQUIRE(o.records.Search(seizures)->size() == 1);
  CHECK(o.Events().empty());

  REQUIRE(o.records.Get(suspect).ok());
  SearchRequest names;
  names.text = "muller";
  REQUIRE(o.records.Search(names)->size() == 1);
  REQUIRE(o.records.List(RecordType::kSuspect, 50).ok());

  auto events = o.Events();
  REQUIRE(events.size() == 3);
  CHECK(events[0].action == "view");
  CHECK(events[0].type == "suspect");
  CHECK(events[0].user == "a.khan");
  CHECK(events[0].via == "api");
  CHECK(events[0].address == "10.0.0.7");
  CHECK(events[0].records == std::vector<std::string>{storage::FormatRecordId(suspect)});
  CHECK(events[1].action == "search");
  CHECK(events[1].type == "any");
  CHECK(events[1].query["text"] == "muller");
  CHECK(events[1].records == std::vector<std::string>{storage::FormatRecordId(suspect)});
  CHECK(events[2].action == "list");
  CHECK(events[2].type == "suspect");

  // The file: mode 0600, one JSON object a line with the documented keys.
  struct stat st {};
  REQUIRE(::stat(AuditLog::PathIn(o.t.dir.path()).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto lines = FileLines(AuditLog::PathIn(o.t.dir.path()));
  REQUIRE(lines.size() == 3);
  json first = json::parse(lines[0]);
  CHECK(first["time"].get<std::string>().size() == 24);  // 2026-11-30T10:00:00.123Z
  std::vector<std::string> keys;
  for (auto& [k, v] : first.items()) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"time", "user", "via", "address", "action", "type", "records"});
}

TEST_CASE("without an actor or a log nothing is logged", "[audit]") {
  Office o;
  RecordId suspect = o.records.Add(RecordType::kSuspect, json{{"surname", "Doe"}}).value();
  Records no_log(*o.t.store, o.identity, Actor{"a.khan", "cli", ""});
  Records no_actor(*o.t.store, o.identity, Actor{}, o.audit.get());
  REQUIRE(no_log.Get(suspect).ok());
  REQUIRE(no_actor.Get(suspect).ok());
  CHECK(o.Events().empty());
}

TEST_CASE("the reads a write makes for itself are not logged as views", "[audit]") {
  Office o;
  RecordId suspect = o.records.Add(RecordType::kSuspect, json{{"surname", "Doe"}}).value();
  REQUIRE(o.records.Update(suspect, json{{"surname", "Doe"}, {"forenames", "John"}}, false).ok());
  REQUIRE(o.records.Delete(suspect).ok());
  CHECK(o.Events().empty());
}

TEST_CASE("read filters by user, time and count, newest kept", "[audit]") {
  testing::TempDir dir;
  auto log = AuditLog::Open(dir.path()).value();
  const int64_t day_ms = 86'400'000;
  for (int i = 0; i < 5; ++i) {
    AuditEvent e;
    e.time_ms = ParseAuditTime("2026-11-01").value() + i * day_ms;
    e.user = i % 2 ? "b" : "a";
    e.via = "cli";
    e.action = "view";
    e.type = "suspect";
    e.records = {std::to_string(i)};
    REQUIRE(log->Append(e).ok());
  }
  auto all = AuditLog::Read(dir.path(), {}).value();
  CHECK(all.events.size() == 5);
  CHECK(all.damaged.empty());
  auto a = AuditLog::Read(dir.path(), {"a", 0, 0}).value().events;
  CHECK(a.size() == 3);
  auto since = AuditLog::Read(dir.path(), {"", ParseAuditTime("2026-11-03").value(), 0}).value().events;
  REQUIRE(since.size() == 3);
  CHECK(since[0].records[0] == "2");
  auto last = AuditLog::Read(dir.path(), {"", 0, 2}).value().events;
  REQUIRE(last.size() == 2);
  CHECK(last[1].records[0] == "4");
  CHECK(AuditLog::Read(dir.path() + "/nowhere", {}).status().code() == StatusCode::kNotFound);
}

TEST_CASE("a damaged last line is reported and the next event starts a line of its own", "[audit]") {
  testing::TempDir dir;
  AuditEvent e;
  e.time_ms = 1'790'000'000'000;
  e.user = "a";
  e.via = "cli";
  e.action = "view";
  e.type = "company";
  {
    auto log = AuditLog::Open(dir.path()).value();
    REQUIRE(log->Append(e).ok());
    REQUIRE(log->Append(e).ok());
  }
  // A crash in the middle of the second write: its line cut short.
  std::string path = AuditLog::PathIn(dir.path());
  auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size - 10);
  auto torn = AuditLog::Read(dir.path(), {}).value();
  CHECK(torn.events.size() == 1);
  REQUIRE(torn.damaged.size() == 1);
  CHECK(torn.damaged[0].rfind("line 2: not JSON", 0) == 0);
  // Reopened (the next process): the torn line is ended, the new event is whole.
  auto log = AuditLog::Open(dir.path()).value();
  REQUIRE(log->Append(e).ok());
  auto after = AuditLog::Read(dir.path(), {}).value();
  CHECK(after.events.size() == 2);
  CHECK(after.damaged.size() == 1);
  // Other damage: a line that is JSON but not an event.
  std::ofstream(path, std::ios::app) << "[1,2]\n{\"time\":\"yesterday\",\"action\":\"view\"}\n";
  auto more = AuditLog::Read(dir.path(), {}).value();
  CHECK(more.events.size() == 2);
  REQUIRE(more.damaged.size() == 3);
  CHECK(more.damaged[1] == "line 4: not a JSON object");
  CHECK(more.damaged[2] == "line 5: no valid \"time\"");
}

TEST_CASE("a line is cut to the size limit and says so", "[audit]") {
  AuditEvent e;
  e.time_ms = 1'790'000'000'000;
  e.user = std::string(500, 'u');
  e.via = "api";
  e.action = "search";
  e.type = "any";
  for (int i = 0; i < 500; ++i) e.records.push_back(storage::FormatRecordId(testing::FixedRecordId(i % 200)));
  e.query = {{"text", "short"}};
  std::string line = AuditLog::Line(e);
  CHECK(line.size() < kAuditLineBytesMax);
  CHECK(line.size() > kAuditLineBytesMax - 100);  // as many ids as fit
  json j = json::parse(line);
  CHECK(j["truncated"] == true);
  CHECK(j["records_total"] == 500);
  CHECK(j["user"].get<std::string>().size() == kAuditFieldBytesMax);
  CHECK(j["query"]["text"] == "short");

  SECTION("a query too long for any line is kept as the start of its text") {
    e.records.clear();
    e.query = {{"text", std::string(10000, 'q')}};
    std::string cut = AuditLog::Line(e);
    CHECK(cut.size() < kAuditLineBytesMax);
    json k = json::parse(cut);
    CHECK(k["truncated"] == true);
    CHECK(k["query"].get<std::string>().rfind("{\"text\":\"qqq", 0) == 0);
  }
  SECTION("a short event is not marked") {
    e.records.resize(3);
    e.user = "a";
    CHECK_FALSE(json::parse(AuditLog::Line(e)).contains("truncated"));
  }
}

TEST_CASE("four threads appending at once leave whole lines only", "[audit]") {
  testing::TempDir dir;
  auto log = AuditLog::Open(dir.path()).value();
  constexpr int kThreads = 4, kEach = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      AuditEvent e;
      e.time_ms = 1'790'000'000'000;
      e.user = "thread" + std::to_string(t);
      e.via = "api";
      e.action = "search";
      e.type = "any";
      // Long lines (near the cap) make a torn or interleaved write likelier to show.
      e.query = {{"text", std::string(3000, static_cast<char>('a' + t))}};
      for (int i = 0; i < kEach; ++i) {
        e.records = {std::to_string(i)};
        NCEN_CHECK(log->Append(e).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  auto read = AuditLog::Read(dir.path(), {}).value();
  CHECK(read.damaged.empty());
  REQUIRE(read.events.size() == kThreads * kEach);
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& e : read.events) {
    char c = static_cast<char>('a' + (e.user.back() - '0'));
    CHECK(e.query["text"] == std::string(3000, c));  // each line is one thread's, whole
    seen.insert({e.user, e.records[0]});
  }
  CHECK(seen.size() == kThreads * kEach);
}

TEST_CASE("audit times parse as dates or UTC times, and nothing else", "[audit]") {
  CHECK(ParseAuditTime("1970-01-02").value() == 86'400'000);
  CHECK(ParseAuditTime("2026-11-30T10:00Z").value() == ParseAuditTime("2026-11-30").value() + 36'000'000);
  CHECK(ParseAuditTime("2026-11-30T10:00:01.250Z").value() ==
        ParseAuditTime("2026-11-30T10:00Z").value() + 1250);
  for (const char* bad : {"", "2026-11-31", "2026-11-30T25:00Z", "2026-11-30T10:00", "30/11/2026", "2026-11-30 "}) {
    INFO(bad);
    CHECK(ParseAuditTime(bad).status().code() == StatusCode::kInvalidArgument);
  }
}

}  // namespace ncen::node
