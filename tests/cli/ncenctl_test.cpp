// CLI tests: every ncenctl command, run as the real binary (NCENCTL_PATH) in
// a fresh temporary directory, with stdout, stderr and the exit code checked.
// The records come from samples/ (NCEN_SAMPLES_DIR), so the samples the
// project ships are known to be accepted.
//
// Contract under test (issue 2, "ncenctl"): exit 0 on success; 1 on a user
// error with exactly one line on stderr naming what is wrong and where (file,
// field); 2 on corruption or an internal error. A rejected write leaves the
// node exactly as it was, which is checked by comparing `status --json`.
//
// Issue 4 adds ncen.toml (`init --listen/--network`, `peers`, `config`) and
// the peers part of `status`. The daemon's peer status rows are written here
// through the Store API, as ncen-node writes them.
#include <fcntl.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/text.h"
#include "storage/peer_status.h"
#include "storage/store.h"
#include "crypto/hash.h"
#include "media/image.h"
#include "media/sample_photo.h"
#include "tests/support/process.h"
#include "tests/support/store_fixture.h"
#include "tests/support/temp_dir.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
// Unordered objects: "same fields" comparisons must not depend on key order.
using json = nlohmann::json;

// ---- Running the binary ----

struct RunResult {
  int exit_code = -1;  // the exit status, or 128 + signal number when killed
  std::string out;
  std::string err;
};

struct Invocation {
  std::vector<std::string> args;
  std::string stdin_text;
  std::string cwd;                       // empty: a fresh temporary directory
  std::optional<std::string> ncen_data;  // $NCEN_DATA for the child; unset when empty
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  REQUIRE(out.good());
}

// The parent's environment without NCEN_DATA (so the machine running the
// tests cannot leak a data directory in), plus `ncen_data` when given.
std::vector<std::string> ChildEnvironment(const std::optional<std::string>& ncen_data) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "NCEN_DATA=", 10) != 0) env.emplace_back(*e);
  }
  if (ncen_data) env.push_back("NCEN_DATA=" + *ncen_data);
  return env;
}

std::vector<char*> PointersTo(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Runs ncenctl with standard input, output and error redirected to files, so
// no pipe can fill up and deadlock whatever the child writes.
RunResult Execute(const Invocation& inv) {
  ncen::testing::TempDir io;
  const std::string in_path = io.Sub("stdin"), out_path = io.Sub("stdout"),
                    err_path = io.Sub("stderr");
  WriteFile(in_path, inv.stdin_text);
  const std::string cwd = inv.cwd.empty() ? io.path() : inv.cwd;

  std::vector<std::string> argv_strings = {NCENCTL_PATH};
  argv_strings.insert(argv_strings.end(), inv.args.begin(), inv.args.end());
  std::vector<std::string> env_strings = ChildEnvironment(inv.ncen_data);
  std::vector<char*> argv = PointersTo(argv_strings), envp = PointersTo(env_strings);

  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int in = ::open(in_path.c_str(), O_RDONLY);
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0 || ::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 ||
        ::dup2(err, 2) < 0 || ::chdir(cwd.c_str()) != 0) {
      ::_exit(126);
    }
    ::execve(NCENCTL_PATH, argv.data(), envp.data());
    ::_exit(127);
  }
  int status = 0;
  pid_t waited;
  do {
    waited = ::waitpid(pid, &status, 0);
  } while (waited < 0 && errno == EINTR);
  REQUIRE(waited == pid);

  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = ReadFile(out_path);
  r.err = ReadFile(err_path);
  return r;
}

RunResult Run(const std::vector<std::string>& args, const std::string& stdin_text = "") {
  return Execute({args, stdin_text, "", std::nullopt});
}

// ---- Small helpers ----

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!Trim(line).empty()) lines.push_back(line);
  }
  return lines;
}

bool IsOneLine(const std::string& text) {
  return !text.empty() && text.back() == '\n' && std::count(text.begin(), text.end(), '\n') == 1;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

bool IsRecordId(const std::string& s) {
  static const std::regex kId(
      "^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  return std::regex_match(s, kId);
}

bool IsHex(const std::string& s, size_t digits) {
  return s.size() == digits && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

json ParseOut(const RunResult& r) {
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  json j;
  REQUIRE_NOTHROW(j = json::parse(r.out));
  return j;
}

// Ids of a `list --json` / `search --json` answer, in order.
std::vector<std::string> IdsOf(const json& items) {
  std::vector<std::string> ids;
  for (const auto& item : items) ids.push_back(item.at("id").get<std::string>());
  return ids;
}

// ---- Samples ----

std::string SamplePath(const std::string& name) {
  return std::string(NCEN_SAMPLES_DIR) + "/" + name;
}

json Sample(const std::string& name) { return json::parse(ReadFile(SamplePath(name))); }

// "seizure-cash-airport.json" → "seizure".
std::string SampleType(const std::string& name) { return name.substr(0, name.find('-')); }

std::vector<std::string> SampleNames() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(NCEN_SAMPLES_DIR)) {
    if (entry.path().extension() == ".json") names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// What `get --json` must print for a record added from `input`.
// The user ncenctl records as having entered what it writes (entered_by):
// this process's, as its children run as the same user.
std::string SystemUser() {
  struct passwd* pw = ::getpwuid(::geteuid());
  if (pw && pw->pw_name && pw->pw_name[0]) return pw->pw_name;
  const char* user = std::getenv("USER");
  return user && user[0] ? user : "uid " + std::to_string(::geteuid());
}

json EnteredBy(const std::string& node_name = "Test office") {
  return {{"name", SystemUser()}, {"node", node_name}, {"via", "cli"}};
}

// `input` as `get --json` shows it once ncenctl on the node `node_name` wrote it.
json WithId(json input, const std::string& id, const std::string& node_name = "Test office") {
  input["id"] = id;
  input["entered_by"] = EnteredBy(node_name);
  return input;
}

// ---- A node in a temporary directory ----

class Node {
 public:
  explicit Node(const std::string& name = "Test office", const std::string& role = "post") {
    RunResult r = Run({"--data", data_, "init", "--name", name, "--role", role});
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    node_id_ = Trim(r.out);
    REQUIRE(IsHex(node_id_, 64));
  }

  // ncenctl --data DIR ARGS...
  RunResult Ctl(std::vector<std::string> args, const std::string& stdin_text = "") const {
    args.insert(args.begin(), {"--data", data_});
    return Run(args, stdin_text);
  }

  // A file in the node's temporary directory (not inside the data dir).
  std::string Write(const std::string& name, const std::string& text) const {
    std::string path = dir_.Sub(name);
    WriteFile(path, text);
    return path;
  }

  std::string Add(const std::string& type, const std::string& file) const {
    RunResult r = Ctl({type, "add", "--json", file});
    INFO(type << " add " << file << "\nstderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    std::string id = Trim(r.out);
    REQUIRE(IsRecordId(id));
    return id;
  }
  std::string AddSample(const std::string& name) const {
    return Add(SampleType(name), SamplePath(name));
  }

  json Get(const std::string& id) const { return ParseOut(Ctl({"get", id, "--json"})); }
  json Status() const { return ParseOut(Ctl({"status", "--json"})); }
  std::vector<std::string> Search(std::vector<std::string> args) const {
    args.insert(args.begin(), "search");
    args.push_back("--json");
    return IdsOf(ParseOut(Ctl(args)));
  }

  const std::string& data() const { return data_; }
  const std::string& dir() const { return dir_.path(); }
  const std::string& node_id() const { return node_id_; }

 private:
  ncen::testing::TempDir dir_;
  std::string data_ = dir_.Sub("node");
  std::string node_id_;
};

// Every sample added to `node`; file name → record id.
std::map<std::string, std::string> AddAllSamples(const Node& node) {
  std::map<std::string, std::string> ids;
  for (const auto& name : SampleNames()) ids[name] = node.AddSample(name);
  return ids;
}

// A rejected write: exit 1, nothing on stdout, one line on stderr holding each
// of `needles`, and the node unchanged.
void CheckRejected(const Node& node, const json& status_before, const RunResult& r,
                   const std::vector<std::string>& needles) {
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(IsOneLine(r.err));
  for (const auto& needle : needles) CHECK(Contains(r.err, needle));
  CHECK(node.Status() == status_before);
}

}  // namespace

// ---- init and id ----

TEST_CASE("init creates a node and prints its id which id and status repeat", "[cli]") {
  ncen::testing::TempDir dir;
  std::string data = dir.Sub("hub-node");
  RunResult init = Run({"--data", data, "init", "--name", "Łódź regional hub", "--role", "hub"});
  INFO("stderr: " << init.err);
  REQUIRE(init.exit_code == 0);
  std::string node_id = Trim(init.out);
  CHECK(IsHex(node_id, 64));
  CHECK(fs::is_regular_file(data + "/identity.key"));

  RunResult id = Run({"--data", data, "id"});
  CHECK(id.exit_code == 0);
  CHECK(id.out.rfind(node_id, 0) == 0);

  json id_json = ParseOut(Run({"id", "--json", "--data", data}));
  CHECK(id_json["node_id"] == node_id);
  CHECK(id_json["name"] == "Łódź regional hub");

  json status = ParseOut(Run({"--data", data, "--json", "status"}));
  CHECK(status["node_id"] == node_id);
  CHECK(status["role"] == "hub");

  SECTION("the role defaults to post") {
    std::string other = dir.Sub("post-node");
    REQUIRE(Run({"--data", other, "init", "--name", "Border post"}).exit_code == 0);
    CHECK(ParseOut(Run({"--data", other, "status", "--json"}))["role"] == "post");
  }
}

TEST_CASE("init refuses a directory that already holds a node", "[cli]") {
  Node node;
  json before = node.Status();
  RunResult again = Run({"--data", node.data(), "init", "--name", "Another office"});
  CheckRejected(node, before, again, {node.data()});
  CHECK(Trim(node.Ctl({"id"}).out).rfind(node.node_id(), 0) == 0);
}

TEST_CASE("init rejects an unknown role or a missing name and creates nothing", "[cli]") {
  ncen::testing::TempDir dir;
  std::string data = dir.Sub("node");
  SECTION("unknown role") {
    RunResult r = Run({"--data", data, "init", "--name", "X", "--role", "headquarters"});
    CHECK(r.exit_code == 1);
    CHECK(IsOneLine(r.err));
    CHECK(Contains(r.err, "--role"));
  }
  SECTION("missing name") {
    RunResult r = Run({"--data", data, "init", "--role", "post"});
    CHECK(r.exit_code == 1);
    CHECK(IsOneLine(r.err));
    CHECK(Contains(r.err, "--name"));
  }
  CHECK_FALSE(fs::exists(data));
}

// ---- add ----

TEST_CASE("every sample record is accepted and get returns it unchanged plus id and type",
          "[cli]") {
  Node node;
  std::vector<std::string> names = SampleNames();
  std::map<std::string, int> per_type;
  for (const auto& name : names) ++per_type[SampleType(name)];
  REQUIRE(per_type["seizure"] >= 6);
  REQUIRE(per_type["suspect"] >= 3);
  REQUIRE(per_type["company"] >= 2);

  auto ids = AddAllSamples(node);
  for (const auto& [name, id] : ids) {
    INFO(name);
    CHECK(node.Get(id) == WithId(Sample(name), id));
  }
  json status = node.Status();
  CHECK(status["entries"] == names.size());
  for (const auto& [type, count] : per_type) CHECK(status["records"][type] == count);
  CHECK(node.Ctl({"log", "verify"}).exit_code == 0);
}

TEST_CASE("add reads standard input and prints the id as JSON with --json", "[cli]") {
  Node node;
  RunResult r = node.Ctl({"--json", "company", "add", "--json", "-"},
                         ReadFile(SamplePath("company-orvanta-freight.json")));
  json out = ParseOut(r);
  CHECK(out["type"] == "company");
  std::string id = out["id"].get<std::string>();
  REQUIRE(IsRecordId(id));
  CHECK(node.Get(id) == WithId(Sample("company-orvanta-freight.json"), id));
}

namespace {

struct BadRecord {
  const char* what;
  const char* base;  // sample file the record starts from
  std::function<void(json&)> spoil;
  const char* field;  // the field the error must name
};

const std::vector<BadRecord>& BadRecords() {
  static const std::vector<BadRecord> kCases = {
      {"unknown top-level field", "seizure-cigarettes-container.json",
       [](json& j) { j["colour"] = "red"; }, "colour"},
      {"unknown nested field", "seizure-cigarettes-container.json",
       [](json& j) { j["goods"][0]["colour"] = "red"; }, "goods[0].colour"},
      {"unknown enumeration value", "seizure-cigarettes-container.json",
       [](json& j) { j["transport_mode"] = "hovercraft"; }, "transport_mode"},
      {"unknown enumeration value in a list", "seizure-cigarettes-container.json",
       [](json& j) { j["offences"][1] = "jaywalking"; }, "offences[1]"},
      {"impossible date", "seizure-cigarettes-container.json",
       [](json& j) { j["date"] = "2026-02-30"; }, "date"},
      {"29 February of a common year", "seizure-cigarettes-container.json",
       [](json& j) { j["date"] = "2027-02-29"; }, "date"},
      {"date in another format", "seizure-cigarettes-container.json",
       [](json& j) { j["date"] = "21.05.2026"; }, "date"},
      {"time out of range", "seizure-cigarettes-container.json",
       [](json& j) { j["time"] = "24:10"; }, "time"},
      {"country name instead of code", "seizure-cigarettes-container.json",
       [](json& j) { j["country"] = "Romania"; }, "country"},
      {"lower-case country code in a route", "seizure-cigarettes-container.json",
       [](json& j) { j["route"][0]["country"] = "vn"; }, "route[0].country"},
      {"malformed office code", "seizure-cigarettes-container.json",
       [](json& j) { j["office"] = "RO-CND"; }, "office"},
      {"HS code with a dot", "seizure-cigarettes-container.json",
       [](json& j) { j["goods"][0]["hs_code"] = "2402.20"; }, "goods[0].hs_code"},
      {"HS code of 5 digits", "seizure-cigarettes-container.json",
       [](json& j) { j["goods"][0]["hs_code"] = "24022"; }, "goods[0].hs_code"},
      {"container number with a wrong check digit", "seizure-cigarettes-container.json",
       [](json& j) { j["conveyance"]["container_number"] = "XQNU4170322"; },
       "conveyance.container_number"},
      {"IMO number with a wrong check digit", "seizure-cigarettes-container.json",
       [](json& j) { j["conveyance"]["imo"] = "9517344"; }, "conveyance.imo"},
      {"air waybill with a wrong check digit", "seizure-pangolin-scales-air.json",
       [](json& j) { j["conveyance"]["waybill"] = "071-48302657"; }, "conveyance.waybill"},
      {"unknown currency", "seizure-cigarettes-container.json",
       [](json& j) { j["goods"][0]["value"]["currency"] = "EURO"; }, "goods[0].value.currency"},
      {"negative quantity", "seizure-cigarettes-container.json",
       [](json& j) { j["goods"][0]["quantity"] = -12; }, "goods[0].quantity"},
      {"zero quantity", "seizure-cigarettes-container.json",
       [](json& j) { j["goods"][0]["quantity"] = 0; }, "goods[0].quantity"},
      {"negative value", "seizure-cigarettes-container.json",
       [](json& j) { j["goods"][0]["value"]["amount"] = -1; }, "goods[0].value.amount"},
      {"fractional package count", "seizure-cigarettes-container.json",
       [](json& j) { j["goods"][0]["packages"] = 1.5; }, "goods[0].packages"},
      {"quantity as a string", "seizure-cigarettes-container.json",
       [](json& j) { j["goods"][0]["quantity"] = "8640000"; }, "goods[0].quantity"},
      {"list given as a string", "seizure-cigarettes-container.json",
       [](json& j) { j["offences"] = "smuggling"; }, "offences"},
      {"object given as an array", "seizure-cigarettes-container.json",
       [](json& j) { j["conveyance"] = json::array(); }, "conveyance"},
      {"subtype not a lower-case code", "seizure-cigarettes-container.json",
       [](json& j) { j["goods"][0]["subtype"] = "Cigarettes"; }, "goods[0].subtype"},
      {"missing office", "seizure-cigarettes-container.json", [](json& j) { j.erase("office"); },
       "office"},
      {"missing date", "seizure-cigarettes-container.json", [](json& j) { j.erase("date"); },
       "date"},
      {"missing goods", "seizure-cigarettes-container.json", [](json& j) { j.erase("goods"); },
       "goods"},
      {"empty goods", "seizure-cigarettes-container.json",
       [](json& j) { j["goods"] = json::array(); }, "goods"},
      {"goods item without a unit", "seizure-cigarettes-container.json",
       [](json& j) { j["goods"][0].erase("unit"); }, "goods[0].unit"},
      {"record of another type", "seizure-cigarettes-container.json",
       [](json& j) { j["type"] = "suspect"; }, "type"},
      {"missing surname", "suspect-muller.json", [](json& j) { j.erase("surname"); }, "surname"},
      {"blank surname", "suspect-muller.json", [](json& j) { j["surname"] = "  "; }, "surname"},
      {"unknown gender", "suspect-muller.json", [](json& j) { j["gender"] = "male"; }, "gender"},
      {"birth date in another format", "suspect-muller.json",
       [](json& j) { j["birth_date"] = "23.11.1979"; }, "birth_date"},
      {"three-letter nationality", "suspect-muller.json",
       [](json& j) { j["nationalities"] = json::array({"DEU"}); }, "nationalities[0]"},
      {"document without a number", "suspect-muller.json",
       [](json& j) { j["documents"][0].erase("number"); }, "documents[0].number"},
      {"unknown document type", "suspect-muller.json",
       [](json& j) { j["documents"][1]["type"] = "library_card"; }, "documents[1].type"},
      {"phone as a number", "suspect-muller.json",
       [](json& j) { j["phones"] = json::array({4915100000412}); }, "phones[0]"},
      {"company without a country", "company-orvanta-freight.json",
       [](json& j) { j.erase("country"); }, "country"},
      {"company without a name", "company-orvanta-freight.json", [](json& j) { j.erase("name"); },
       "name"},
      {"unknown company role", "company-orvanta-freight.json",
       [](json& j) { j["roles"][0] = "smuggler"; }, "roles[0]"},
      {"tax id as a number", "company-orvanta-freight.json",
       [](json& j) { j["tax_id"] = 41827365; }, "tax_id"},
      {"unknown company field", "company-orvanta-freight.json", [](json& j) { j["vat"] = "RO1"; },
       "vat"},
  };
  return kCases;
}

}  // namespace

TEST_CASE("add rejects a bad record naming the file and the field and writes nothing", "[cli]") {
  Node node;
  node.AddSample("suspect-agaoglu.json");  // so "nothing written" is checked on a non-empty node
  json before = node.Status();
  for (const auto& c : BadRecords()) {
    INFO(c.what);
    json record = Sample(c.base);
    c.spoil(record);
    std::string file = node.Write("bad-record.json", record.dump(2));
    RunResult r = node.Ctl({SampleType(c.base), "add", "--json", file});
    CheckRejected(node, before, r, {file, std::string("'") + c.field + "'"});
  }
}

TEST_CASE("add rejects text that is not a JSON object naming the file and writes nothing",
          "[cli]") {
  Node node;
  node.AddSample("suspect-agaoglu.json");
  json before = node.Status();
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"truncated", "{\"type\": \"suspect\", \"surname\": "},
      {"trailing comma", "{\"type\": \"suspect\", \"surname\": \"X\",}"},
      {"single quotes", "{'type': 'suspect', 'surname': 'X'}"},
      {"two objects", "{\"surname\": \"X\"} {\"surname\": \"Y\"}"},
      {"empty file", ""},
      {"an array", "[{\"surname\": \"X\"}]"},
      {"a string", "\"X\""},
  };
  for (const auto& [what, text] : cases) {
    INFO(what);
    std::string file = node.Write("bad.json", text);
    CheckRejected(node, before, node.Ctl({"suspect", "add", "--json", file}), {file});
  }
  SECTION("from standard input the error names <stdin>") {
    CheckRejected(node, before, node.Ctl({"suspect", "add", "--json", "-"}, "{\"surname\": "),
                  {"<stdin>"});
  }
  SECTION("a file that does not exist") {
    std::string missing = node.dir() + "/no-such-file.json";
    CheckRejected(node, before, node.Ctl({"suspect", "add", "--json", missing}), {missing});
  }
}

// A number beyond the range of a double is a user error like any other bad
// number; nlohmann's parser reports it with out_of_range, not parse_error.
TEST_CASE("add and import reject a number too large for a double without crashing", "[cli]") {
  Node node;
  json before = node.Status();
  std::string record = R"({"type": "suspect", "surname": "X", "aliases": [1e400]})";
  SECTION("add") {
    std::string file = node.Write("huge.json", record);
    CheckRejected(node, before, node.Ctl({"suspect", "add", "--json", file}), {file});
  }
  SECTION("import of a JSON array") {
    std::string file = node.Write("huge-array.json", "[" + record + "]");
    CheckRejected(node, before, node.Ctl({"import", "--json", file}), {file});
  }
  SECTION("import of NDJSON") {
    std::string file = node.Write("huge.ndjson", record + "\n");
    CheckRejected(node, before, node.Ctl({"import", "--json", file}), {file, "line 1"});
  }
}

// Input from a file must not be able to exhaust the stack: 100,000 nested
// arrays are 200 kB of text.
TEST_CASE("add and import reject deeply nested JSON without crashing", "[cli]") {
  Node node;
  json before = node.Status();
  const size_t depth = 100000;
  std::string record = R"({"type": "suspect", "surname": "X", "notes": )" +
                       std::string(depth, '[') + std::string(depth, ']') + "}";
  SECTION("add") {
    std::string file = node.Write("deep.json", record);
    CheckRejected(node, before, node.Ctl({"suspect", "add", "--json", file}), {file});
  }
  SECTION("import") {
    std::string file = node.Write("deep-array.json", "[" + record + "]");
    CheckRejected(node, before, node.Ctl({"import", "--json", file}), {file});
  }
}

// ---- import ----

namespace {

std::string NdJson(const std::vector<json>& records, const char* line_end = "\n") {
  std::string text;
  for (const auto& r : records) text += r.dump() + line_end;
  return text;
}

std::vector<json> AllSamples() {
  std::vector<json> records;
  for (const auto& name : SampleNames()) records.push_back(Sample(name));
  return records;
}

void CheckImported(const Node& node, const std::vector<json>& records,
                   const std::vector<std::string>& ids) {
  REQUIRE(ids.size() == records.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    INFO("record " << i);
    REQUIRE(IsRecordId(ids[i]));
    CHECK(node.Get(ids[i]) == WithId(records[i], ids[i]));
  }
  json status = node.Status();
  CHECK(status["entries"] == records.size());
  CHECK(status["records"]["seizure"].get<size_t>() + status["records"]["suspect"].get<size_t>() +
            status["records"]["company"].get<size_t>() ==
        records.size());
}

}  // namespace

TEST_CASE("import loads a JSON array of records of every type", "[cli]") {
  Node node;
  std::vector<json> records = AllSamples();
  std::string file = node.Write("all.json", json(records).dump(2));
  RunResult r = node.Ctl({"import", "--json", file});
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(Contains(r.err, std::to_string(records.size())));
  CheckImported(node, records, Lines(r.out));
}

TEST_CASE("import loads newline-delimited JSON from standard input", "[cli]") {
  Node node;
  std::vector<json> records = AllSamples();
  // Blank lines and CRLF line ends, as spreadsheet exports produce.
  std::string text = "\r\n" + NdJson(records, "\r\n") + "\n";
  json out = ParseOut(node.Ctl({"--json", "import", "--json", "-"}, text));
  CHECK(out["count"] == records.size());
  CheckImported(node, records, out["ids"].get<std::vector<std::string>>());
}

TEST_CASE("import rejects the whole file when one record is bad naming where and writes nothing",
          "[cli]") {
  Node node;
  node.AddSample("company-halvik-ticaret.json");
  json before = node.Status();
  std::vector<json> records = AllSamples();
  REQUIRE(records.size() > 5);

  SECTION("a JSON array names the index and the field") {
    records[4] = Sample("seizure-cash-airport.json");
    records[4]["goods"] = json::array();
    std::string file = node.Write("bad.json", json(records).dump(2));
    CheckRejected(node, before, node.Ctl({"import", "--json", file}), {file, "index 4", "'goods'"});
  }
  SECTION("NDJSON names the line and the field") {
    records[2] = Sample("suspect-lukasz.json");
    records[2]["gender"] = "male";
    std::string file = node.Write("bad.ndjson", NdJson(records));
    CheckRejected(node, before, node.Ctl({"import", "--json", file}), {file, "line 3", "'gender'"});
  }
  SECTION("NDJSON with a line that is not JSON") {
    std::string text = NdJson(records);
    text.insert(text.find('\n') + 1, "{\"type\": \"suspect\", \n");
    std::string file = node.Write("broken.ndjson", text);
    CheckRejected(node, before, node.Ctl({"import", "--json", file}), {file, "line 2"});
  }
  SECTION("a record without a type") {
    records.back().erase("type");
    std::string file = node.Write("untyped.json", json(records).dump());
    CheckRejected(node, before, node.Ctl({"import", "--json", file}),
                  {file, "index " + std::to_string(records.size() - 1), "'type'"});
  }
  SECTION("a record of an unknown type") {
    records[0]["type"] = "vessel";
    std::string file = node.Write("vessel.ndjson", NdJson(records));
    CheckRejected(node, before, node.Ctl({"import", "--json", file}), {file, "line 1", "'type'"});
  }
  SECTION("an array element that is not an object") {
    json array = records;
    array[1] = "seizure";
    std::string file = node.Write("scalar.json", array.dump());
    CheckRejected(node, before, node.Ctl({"import", "--json", file}), {file, "index 1"});
  }
  SECTION("an empty array") {
    std::string file = node.Write("empty.json", "[]");
    CheckRejected(node, before, node.Ctl({"import", "--json", file}), {file});
  }
  SECTION("a record carrying an id") {
    records[1]["id"] = "01a2241c-3466-72ae-88bb-938839b4a1a0";
    std::string file = node.Write("with-id.json", json(records).dump());
    CheckRejected(node, before, node.Ctl({"import", "--json", file}), {file, "index 1", "'id'"});
  }
}

TEST_CASE("import writes nothing when only the last record is bad", "[cli]") {
  Node node;
  node.AddSample("company-halvik-ticaret.json");
  json before = node.Status();
  std::vector<json> records = AllSamples();
  const size_t last = records.size() - 1;
  SECTION("a JSON array whose every record is valid but which is cut short") {
    std::string text = json(records).dump();
    text.pop_back();  // the closing bracket
    std::string file = node.Write("cut.json", text);
    CheckRejected(node, before, node.Ctl({"import", "--json", file}), {file, "not valid JSON"});
  }
  records.back()["type"] = "vessel";
  SECTION("a JSON array") {
    std::string file = node.Write("last-bad.json", json(records).dump(2));
    CheckRejected(node, before, node.Ctl({"import", "--json", file}),
                  {file, "index " + std::to_string(last), "'type'"});
  }
  SECTION("NDJSON") {
    std::string file = node.Write("last-bad.ndjson", NdJson(records));
    CheckRejected(node, before, node.Ctl({"import", "--json", file}),
                  {file, "line " + std::to_string(last + 1), "'type'"});
  }
}

// The array is read element by element after its leading white space has
// been skipped; a syntax error must still be placed in the whole file.
TEST_CASE("import names the line and column of a syntax error in a JSON array", "[cli]") {
  Node node;
  json before = node.Status();
  std::string record = Sample("suspect-muller.json").dump();
  std::string file = node.Write("broken.json", "\n\n  [" + record + ",\n   {\"type\": }\n]\n");
  RunResult r = node.Ctl({"import", "--json", file});
  CheckRejected(node, before, r, {file, "line 4, column 13"});
}

// ---- get ----

TEST_CASE("get accepts global options before or after the command", "[cli]") {
  Node node;
  std::string id = node.AddSample("seizure-captagon-truck.json");
  std::vector<std::vector<std::string>> forms = {
      {"--json", "--data", node.data(), "get", id},
      {"--data", node.data(), "get", id, "--json"},
      {"get", id, "--json", "--data", node.data()},
      {"get", "--data", node.data(), "--json", id},
  };
  for (const auto& args : forms) {
    RunResult r = Run(args);
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(json::parse(r.out) == WithId(Sample("seizure-captagon-truck.json"), id));
  }
  SECTION("without --json get prints the type and id then the record") {
    RunResult r = node.Ctl({"get", id});
    REQUIRE(r.exit_code == 0);
    CHECK(Lines(r.out).at(0) == "seizure " + id);
    CHECK(Contains(r.out, "BG-KAP-2026-004417"));
  }
  SECTION("--data after a nested command") {
    RunResult r =
        Run({"suspect", "add", "--json", SamplePath("suspect-muller.json"), "--data", node.data()});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(IsRecordId(Trim(r.out)));
  }
}

TEST_CASE("get fails for an unknown or malformed record id", "[cli]") {
  Node node;
  node.AddSample("suspect-muller.json");
  for (std::string id : {"01a2241c-0000-7000-8000-000000000000", "not-an-id", "01a2241c"}) {
    INFO(id);
    RunResult r = node.Ctl({"get", id});
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
    CHECK(IsOneLine(r.err));
    CHECK(Contains(r.err, id));
  }
}

// ---- list ----

TEST_CASE("list shows every record and filters by type and limit", "[cli]") {
  Node node;
  SECTION("an empty node") {
    CHECK(ParseOut(node.Ctl({"list", "--json"})) == json::array());
    CHECK(Trim(node.Ctl({"list"}).out) == "(none)");
  }
  SECTION("a node with the samples") {
    auto ids = AddAllSamples(node);
    std::vector<std::string> all;
    for (const auto& [name, id] : ids) all.push_back(id);
    std::sort(all.begin(), all.end());

    json items = ParseOut(node.Ctl({"list", "--json"}));
    std::vector<std::string> listed = IdsOf(items);
    std::sort(listed.begin(), listed.end());
    CHECK(listed == all);
    for (const auto& item : items) {
      CHECK(item["versions"] == 1);
      CHECK_FALSE(item["summary"].get<std::string>().empty());
    }

    json suspects = ParseOut(node.Ctl({"list", "--type", "suspect", "--json"}));
    CHECK(suspects.size() == 3);
    for (const auto& item : suspects) CHECK(item["type"] == "suspect");

    CHECK(ParseOut(node.Ctl({"list", "--limit", "2", "--json"})).size() == 2);
    json seizures = ParseOut(node.Ctl({"list", "--type", "seizure", "--limit", "4", "--json"}));
    CHECK(seizures.size() == 4);
    for (const auto& item : seizures) CHECK(item["type"] == "seizure");

    RunResult text = node.Ctl({"list", "--type", "company"});
    CHECK(text.exit_code == 0);
    CHECK(Lines(text.out).size() == 3);  // header and two companies
  }
  SECTION("an unknown type") {
    RunResult r = node.Ctl({"list", "--type", "vessel"});
    CHECK(r.exit_code == 1);
    CHECK(IsOneLine(r.err));
    CHECK(Contains(r.err, "vessel"));
  }
}

// ---- update and delete ----

TEST_CASE("history lists every entry of a record, newest first, with who wrote it", "[cli]") {
  Node node("Torkham post");
  std::string id = node.AddSample("suspect-lukasz.json");
  json replacement =
      json::parse(R"({"type": "suspect", "surname": "Zawadzki", "documents": [{"type": "passport", "number": "ES 1130477", "country": "PL"}]})");
  REQUIRE(node.Ctl({"update", id, "--json", node.Write("update.json", replacement.dump())}).exit_code == 0);
  json h = ParseOut(node.Ctl({"--json", "history", id}));
  REQUIRE(h["entries"].size() == 2);
  CHECK(h["type"] == "suspect");
  CHECK(h["entries"][0]["current"] == true);
  CHECK(h["entries"][1]["current"] == false);
  CHECK(h["entries"][0]["seq"].get<int>() > h["entries"][1]["seq"].get<int>());
  CHECK(h["entries"][0]["author_name"] == "Torkham post");
  CHECK(h["entries"][0]["entered_by"]["via"] == "cli");
  RunResult text = node.Ctl({"history", id});
  CHECK(text.exit_code == 0);
  CHECK(Contains(text.out, "put*"));
  CHECK(Contains(text.out, "(cli)"));
  RunResult one = node.Ctl({"--json", "history", id, "--limit", "1"});
  CHECK(ParseOut(one)["truncated"] == true);
  RunResult missing = node.Ctl({"history", "01a19c21-7200-7abc-8def-0123456789ab"});
  CHECK(missing.exit_code != 0);
  CHECK(IsOneLine(missing.err));
  RunResult bad = node.Ctl({"history", "nonsense"});
  CHECK(bad.exit_code != 0);
  CHECK(IsOneLine(bad.err));
}

TEST_CASE("update replaces the whole record", "[cli]") {
  Node node;
  std::string id = node.AddSample("suspect-lukasz.json");
  json replacement =
      json::parse(R"({"type": "suspect", "surname": "Zawadzki", "forenames": "Łukasz",
      "documents": [{"type": "passport", "number": "ES 1130477", "country": "PL"}]})");
  RunResult r = node.Ctl({"update", id, "--json", node.Write("update.json", replacement.dump())});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(Trim(r.out) == id);
  CHECK(node.Get(id) == WithId(replacement, id));  // fields left out are gone
  CHECK(node.Search({"ER7301946"}).empty());       // and so are their index entries
  CHECK(node.Search({"es1130477"}) == std::vector<std::string>{id});
  CHECK(node.Search({"kedra"}).empty());
  CHECK(node.Status()["entries"] == 2);
  CHECK(node.Status()["records"]["suspect"] == 1);

  SECTION("the output of get --json can be fed back through standard input") {
    json edited = node.Get(id);
    edited["birth_date"] = "1988-02-29";
    REQUIRE(node.Ctl({"update", id, "--json", "-"}, edited.dump()).exit_code == 0);
    CHECK(node.Get(id) == edited);
  }
  SECTION("bad input is rejected and nothing is written") {
    json before = node.Status();
    json bad = replacement;
    bad["gender"] = "male";
    std::string file = node.Write("bad.json", bad.dump());
    CheckRejected(node, before, node.Ctl({"update", id, "--json", file}), {file, "'gender'"});

    json other_id = WithId(replacement, "01a2241c-0000-7000-8000-000000000000");
    file = node.Write("other-id.json", other_id.dump());
    CheckRejected(node, before, node.Ctl({"update", id, "--json", file}), {file, "'id'"});

    file = node.Write("seizure.json", ReadFile(SamplePath("seizure-cash-airport.json")));
    CheckRejected(node, before, node.Ctl({"update", id, "--json", file}), {file, "'type'"});

    file = node.Write("good.json", replacement.dump());
    CheckRejected(node, before,
                  node.Ctl({"update", "01a2241c-0000-7000-8000-000000000000", "--json", file}),
                  {"01a2241c-0000-7000-8000-000000000000"});
  }
}

TEST_CASE("delete removes a record from get list and search", "[cli]") {
  Node node;
  std::string keep = node.AddSample("company-halvik-ticaret.json");
  std::string gone = node.AddSample("company-orvanta-freight.json");
  REQUIRE(node.Search({"orvanta"}) == std::vector<std::string>{gone});

  RunResult r = node.Ctl({"delete", gone});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(Trim(r.out) == gone);

  RunResult get = node.Ctl({"get", gone});
  CHECK(get.exit_code == 1);
  CHECK(IsOneLine(get.err));
  CHECK(get.out.empty());
  CHECK(IdsOf(ParseOut(node.Ctl({"list", "--json"}))) == std::vector<std::string>{keep});
  CHECK(node.Search({"orvanta"}).empty());
  CHECK(node.Search({"RO41827365"}).empty());
  json status = node.Status();
  CHECK(status["records"]["company"] == 1);
  CHECK(status["entries"] == 3);

  SECTION("deleting it again is an error and writes nothing") {
    CheckRejected(node, status, node.Ctl({"delete", gone}), {gone});
  }
  SECTION("deleting an unknown id is an error") {
    CheckRejected(node, status, node.Ctl({"delete", "01a2241c-0000-7000-8000-000000000000"}),
                  {"01a2241c-0000-7000-8000-000000000000"});
  }
}

// ---- link ----

TEST_CASE("link adds a suspect or a company to a seizure", "[cli]") {
  Node node;
  std::string seizure = node.AddSample("seizure-cash-airport.json");
  std::string suspect = node.AddSample("suspect-lukasz.json");
  std::string company = node.AddSample("company-orvanta-freight.json");

  RunResult r = node.Ctl({"link", seizure, "--suspect", suspect});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(node.Ctl({"link", seizure, "--company", company}).exit_code == 0);
  json expected = WithId(Sample("seizure-cash-airport.json"), seizure);
  expected["suspects"] = json::array({suspect});
  expected["companies"] = json::array({company});
  CHECK(node.Get(seizure) == expected);

  SECTION("linking the same record twice keeps one link") {
    REQUIRE(node.Ctl({"link", seizure, "--suspect", suspect}).exit_code == 0);
    CHECK(node.Get(seizure)["suspects"] == json::array({suspect}));
  }
  SECTION("a link to a record that is missing or of the wrong type fails and writes nothing") {
    json before = node.Status();
    const std::string missing = "01a2241c-0000-7000-8000-000000000000";
    CheckRejected(node, before, node.Ctl({"link", seizure, "--suspect", missing}), {missing});
    CheckRejected(node, before, node.Ctl({"link", seizure, "--company", missing}), {missing});
    CheckRejected(node, before, node.Ctl({"link", seizure, "--suspect", company}), {company});
    CheckRejected(node, before, node.Ctl({"link", suspect, "--company", company}), {suspect});
    CheckRejected(node, before, node.Ctl({"link", missing, "--suspect", suspect}), {missing});
    CheckRejected(node, before, node.Ctl({"link", seizure}), {"--suspect"});
    CheckRejected(node, before,
                  node.Ctl({"link", seizure, "--suspect", suspect, "--company", company}),
                  {"--company"});
  }
}

// ---- search ----

namespace {

// A node holding every sample, with the ids by file name.
struct SampleNode {
  Node node;
  std::map<std::string, std::string> ids = AddAllSamples(node);
  std::vector<std::string> Ids(std::initializer_list<const char*> names) const {
    std::vector<std::string> out;
    for (const char* n : names) out.push_back(ids.at(n));
    std::sort(out.begin(), out.end());
    return out;
  }
  std::vector<std::string> Search(std::vector<std::string> args) const {
    auto found = node.Search(std::move(args));
    std::sort(found.begin(), found.end());
    return found;
  }
};

}  // namespace

TEST_CASE("search finds a suspect by identity document number in any case or format", "[cli]") {
  SampleNode s;
  for (const char* q : {"C01X0T47R", "c01x0t47r", "c01-x0t-47r", "l7m2k9p41"}) {
    INFO(q);
    CHECK(s.Search({q}) == s.Ids({"suspect-muller.json"}));
  }
  for (const char* q : {"ER 7301946", "er7301946", "ER-730-1946", "zkw482613"}) {
    INFO(q);
    CHECK(s.Search({q}) == s.Ids({"suspect-lukasz.json"}));
  }
  CHECK(s.Search({"u 2846 3017"}) == s.Ids({"suspect-agaoglu.json"}));
  CHECK(s.Search({"U28463018"}).empty());
  CHECK(s.Search({"U2846301"}).empty());  // identifiers match whole, not by prefix
}

TEST_CASE("search matches names by prefix ignoring case and diacritics", "[cli]") {
  SampleNode s;
  for (const char* q : {"muller", "Müller", "MÜLLER", "mul", "jonas mul", "mueller"}) {
    INFO(q);
    CHECK(s.Search({q}) == s.Ids({"suspect-muller.json"}));
  }
  for (const char* q : {"lukasz", "ŁUKASZ", "kedra", "zawadzki kedra", "pawel"}) {
    INFO(q);
    CHECK(s.Search({q}) == s.Ids({"suspect-lukasz.json"}));
  }
  for (const char* q : {"agaoglu", "AĞAOĞLU", "aga", "selin"}) {
    INFO(q);
    CHECK(s.Search({q}) == s.Ids({"suspect-agaoglu.json"}));
  }
  CHECK(s.Search({"halvik dis"}) == s.Ids({"company-halvik-ticaret.json"}));
  CHECK(s.Search({"Orvanta Cargo"}) == s.Ids({"company-orvanta-freight.json"}));
  CHECK(s.Search({"mullerx"}).empty());
  CHECK(s.Search({"jonas kedra"}).empty());  // every word must match the same record
  CHECK(s.Search({"muller", "--type", "company"}).empty());

  RunResult text = s.node.Ctl({"search", "muller"});
  CHECK(text.exit_code == 0);
  CHECK(Contains(text.out, "Müller, Jonas Friedrich"));
}

TEST_CASE("search finds a company by registration number tax id and trader id", "[cli]") {
  SampleNode s;
  for (const char* q : {"J13/2841/2019", "j13 2841 2019", "ro41827365", "RO41827365EORI"}) {
    INFO(q);
    CHECK(s.Search({q}) == s.Ids({"company-orvanta-freight.json"}));
  }
  for (const char* q : {"4830265917", "MRS 0483026591700015"}) {
    INFO(q);
    CHECK(s.Search({q}) == s.Ids({"company-halvik-ticaret.json"}));
  }
}

TEST_CASE("search finds seizures by commodity category and subtype", "[cli]") {
  SampleNode s;
  CHECK(s.Search({"captagon"}) == s.Ids({"seizure-captagon-truck.json"}));
  CHECK(s.Search({"pangolin_scales"}) == s.Ids({"seizure-pangolin-scales-air.json"}));
  CHECK(s.Search({"pangolin scales"}) == s.Ids({"seizure-pangolin-scales-air.json"}));
  CHECK(s.Search({"Acetic_Anhydride"}) == s.Ids({"seizure-acetic-anhydride-rail.json"}));
  CHECK(s.Search({"precursors"}) == s.Ids({"seizure-acetic-anhydride-rail.json"}));
  CHECK(s.Search({"ipr"}) == s.Ids({"seizure-counterfeit-watches-courier.json"}));
  CHECK(s.Search({"environment", "--type", "seizure"}) ==
        s.Ids({"seizure-pangolin-scales-air.json"}));
  // The captagon truck's cover load is a second goods item in "revenue".
  CHECK(s.Search({"revenue"}) ==
        s.Ids({"seizure-captagon-truck.json", "seizure-cigarettes-container.json"}));
  CHECK(s.Search({"XQNU4170321"}) == s.Ids({"seizure-cigarettes-container.json"}));
}

TEST_CASE("search restricts seizures to a date range", "[cli]") {
  SampleNode s;
  // Sample dates: pangolin 01-08, cash 02-27, captagon 03-14, rail 04-09,
  // cigarettes 05-21, watches 07-02 (all 2026).
  CHECK(s.Search({"--from", "2026-02-27", "--to", "2026-04-09"}) ==
        s.Ids({"seizure-cash-airport.json", "seizure-captagon-truck.json",
               "seizure-acetic-anhydride-rail.json"}));
  CHECK(s.Search({"--from", "2026-05-21"}) ==
        s.Ids({"seizure-cigarettes-container.json", "seizure-counterfeit-watches-courier.json"}));
  CHECK(s.Search({"--to", "2026-01-08"}) == s.Ids({"seizure-pangolin-scales-air.json"}));
  CHECK(s.Search({"--from", "2025-01-01", "--to", "2025-12-31"}).empty());
  CHECK(s.Search({"revenue", "--from", "2026-04-01"}) ==
        s.Ids({"seizure-cigarettes-container.json"}));
  CHECK(s.Search({"--from", "2026-01-01", "--type", "suspect"}).empty());

  for (std::vector<std::string> bad : std::vector<std::vector<std::string>>{
           {"search", "--from", "2026-13-01"},
           {"search", "--to", "14/03/2026"},
           {"search", "--from", "2026-05-01", "--to", "2026-01-01"},
           {"search"},
           {"search", "muller", "--type", "vessel"}}) {
    RunResult r = s.node.Ctl(bad);
    INFO(r.err);
    CHECK(r.exit_code == 1);
    CHECK(IsOneLine(r.err));
  }
}

// ---- conflicts, status, log verify ----

TEST_CASE("conflicts lists nothing on a single node", "[cli]") {
  SampleNode s;
  REQUIRE(s.node
              .Ctl({"update", s.ids.at("suspect-muller.json"), "--json",
                    SamplePath("suspect-muller.json")})
              .exit_code == 0);
  CHECK(ParseOut(s.node.Ctl({"conflicts", "--json"})) == json::array());
  CHECK(Trim(s.node.Ctl({"conflicts"}).out) == "(none)");
  CHECK(s.node.Status()["conflicts"] == 0);
}

// Needs two nodes that exchange entries; ncenctl cannot do that until the
// replication issue adds sync or bundles. Then: write the same record on both
// nodes, exchange, and expect `conflicts` to list it, `get --json` to carry a
// `versions` array with both, and `resolve` to settle it.
TEST_CASE("a record edited concurrently on two nodes shows up in conflicts", "[cli][.not-yet]") {
  WARN("skipped: needs two nodes that exchange entries, which ncenctl cannot do yet");
}

TEST_CASE("status --json reports identity counts feeds and the frontier digest", "[cli]") {
  Node node("Constanța Sud", "regional");
  json empty = node.Status();
  CHECK(empty["node_id"] == node.node_id());
  CHECK(empty["name"] == "Constanța Sud");
  CHECK(empty["role"] == "regional");
  CHECK(empty["entries"] == 0);
  CHECK(empty["records"] == json({{"seizure", 0}, {"suspect", 0}, {"company", 0}, {"seizure_report", 0}, {"photo", 0}, {"message", 0}}));
  CHECK(empty["conflicts"] == 0);
  CHECK(empty["frontier"].is_array());
  REQUIRE(empty["frontier_digest"].is_string());
  CHECK(IsHex(empty["frontier_digest"].get<std::string>(), 64));

  node.AddSample("seizure-cigarettes-container.json");
  node.AddSample("company-orvanta-freight.json");
  std::string suspect = node.AddSample("suspect-agaoglu.json");
  REQUIRE(node.Ctl({"delete", suspect}).exit_code == 0);
  json status = node.Status();
  CHECK(status["entries"] == 4);
  CHECK(status["records"] == json({{"seizure", 1}, {"suspect", 0}, {"company", 1}, {"seizure_report", 0}, {"photo", 0}, {"message", 0}}));
  REQUIRE(status["frontier"].size() == 1);
  const json& feed = status["frontier"][0];
  CHECK(feed["author"] == node.node_id());
  CHECK(feed["scope"] == "national");
  CHECK(feed["seq"] == 4);
  REQUIRE(feed["head"].is_string());
  CHECK(IsHex(feed["head"].get<std::string>(), 64));
  CHECK(IsHex(status["frontier_digest"].get<std::string>(), 64));
  CHECK(status["frontier_digest"] != empty["frontier_digest"]);
  REQUIRE(status["record_state_digest"].is_string());
  CHECK(IsHex(status["record_state_digest"].get<std::string>(), 64));
  CHECK(status["record_state_digest"] != empty["record_state_digest"]);

  RunResult text = node.Ctl({"status"});
  CHECK(text.exit_code == 0);
  CHECK(Contains(text.out, "Constanța Sud"));
  CHECK(Contains(text.out, status["frontier_digest"].get<std::string>()));
}

TEST_CASE("log verify passes on a node with records", "[cli]") {
  Node node;
  SECTION("empty") { CHECK(node.Ctl({"log", "verify"}).exit_code == 0); }
  SECTION("after adds updates links and deletes") {
    auto ids = AddAllSamples(node);
    std::string seizure = ids.at("seizure-cash-airport.json");
    REQUIRE(node.Ctl({"link", seizure, "--suspect", ids.at("suspect-lukasz.json")}).exit_code == 0);
    REQUIRE(node.Ctl({"delete", ids.at("company-halvik-ticaret.json")}).exit_code == 0);
    RunResult r = node.Ctl({"log", "verify"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(Lines(r.out).size() == 1);
    json j = ParseOut(node.Ctl({"log", "verify", "--json"}));
    CHECK(j["ok"] == true);
    CHECK(j["entries"] == ids.size() + 2);
  }
}

// ---- the command line itself ----

TEST_CASE("every command prints help and exits 0", "[cli]") {
  ncen::testing::TempDir dir;  // no node anywhere: help must not need one
  const std::vector<std::vector<std::string>> commands = {{},
                                                          {"init"},
                                                          {"id"},
                                                          {"seizure"},
                                                          {"seizure", "add"},
                                                          {"suspect", "add"},
                                                          {"company", "add"},
                                                          {"import"},
                                                          {"get"},
                                                          {"list"},
                                                          {"update"},
                                                          {"resolve"},
                                                          {"delete"},
                                                          {"link"},
                                                          {"search"},
                                                          {"log"},
                                                          {"log", "verify"},
                                                          {"conflicts"},
                                                          {"status"},
                                                          {"peers"},
                                                          {"peers", "add"},
                                                          {"peers", "list"},
                                                          {"peers", "remove"},
                                                          {"config"},
                                                          {"config", "show"},
                                                          {"config", "set"},
                                                          {"forks"},
                                                          {"forks", "clear"},
                                                          {"stale"},
                                                          {"stale", "clear"}};
  for (auto args : commands) {
    args.push_back("--help");
    INFO(args.front());
    RunResult r = Execute({args, "", dir.path(), std::nullopt});
    CHECK(r.exit_code == 0);
    CHECK(Contains(r.out, "Usage"));
    CHECK(r.err.empty());
  }
  CHECK(fs::is_empty(dir.path()));
}

TEST_CASE("an unknown command or option exits 1 with one line naming it", "[cli]") {
  Node node;
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"frobnicate"}, "frobnicate"},
      {{"seizure", "frobnicate"}, "frobnicate"},
      {{"log", "frobnicate"}, "frobnicate"},
      {{"list", "--bogus"}, "--bogus"},
      {{"--bogus", "status"}, "--bogus"},
      {{"status", "extra"}, "extra"},
      {{"get"}, "ID"},
      {{"seizure", "add"}, "--json"},
      {{"list", "--limit", "many"}, "many"},
      {{"log"}, "verify"},  // a group without its command names what it takes
      {{"seizure"}, "add"},
  };
  for (const auto& [args, named] : cases) {
    INFO(args.front() << " → " << named);
    RunResult r = node.Ctl(args);
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
    CHECK(IsOneLine(r.err));
    CHECK(Contains(r.err, named));
  }
  RunResult none = Run({});
  CHECK(none.exit_code == 1);
  CHECK(IsOneLine(none.err));
  CHECK(Contains(none.err, "init"));
}

TEST_CASE("a command without a node exits 1 and says how to create one", "[cli]") {
  ncen::testing::TempDir dir;
  std::string missing = dir.Sub("nowhere");
  std::string import_file = dir.Sub("import.json");
  WriteFile(import_file, "[" + ReadFile(SamplePath("suspect-muller.json")) + "]");
  const std::vector<std::vector<std::string>> commands = {
      {"id"},
      {"status"},
      {"list"},
      {"conflicts"},
      {"log", "verify"},
      {"search", "muller"},
      {"get", "01a2241c-0000-7000-8000-000000000000"},
      {"peers", "list"},
      {"config", "show"},
      {"seizure", "add", "--json", SamplePath("seizure-cash-airport.json")},
      {"import", "--json", import_file}};
  for (auto args : commands) {
    INFO(args.front());
    args.insert(args.begin(), {"--data", missing});
    RunResult r = Run(args);
    CHECK(r.exit_code == 1);
    CHECK(IsOneLine(r.err));
    CHECK(Contains(r.err, missing));
    CHECK(Contains(r.err, "init"));
  }
  CHECK_FALSE(fs::exists(missing));
  fs::remove(import_file);

  SECTION("the default is ./ncen-data") {
    RunResult r = Execute({{"status"}, "", dir.path(), std::nullopt});
    CHECK(r.exit_code == 1);
    CHECK(Contains(r.err, "ncen-data"));
    CHECK(Contains(r.err, "init"));
    REQUIRE(Execute({{"init", "--name", "Here"}, "", dir.path(), std::nullopt}).exit_code == 0);
    CHECK(fs::is_directory(dir.Sub("ncen-data")));
    CHECK(Execute({{"status"}, "", dir.path(), std::nullopt}).exit_code == 0);
  }
  SECTION("$NCEN_DATA names the directory when --data is absent") {
    Node node;
    RunResult r = Execute({{"id"}, "", dir.path(), node.data()});
    CHECK(r.exit_code == 0);
    CHECK(r.out.rfind(node.node_id(), 0) == 0);
    RunResult unset = Execute({{"id"}, "", dir.path(), std::string()});
    CHECK(unset.exit_code == 1);  // empty $NCEN_DATA falls back to ./ncen-data
  }
}

// ---- ncen.toml: init options, id, peers, config ----

namespace {

std::string ConfigText(const Node& node) { return ReadFile(node.data() + "/ncen.toml"); }

// A fresh node's id, to use as a peer's.
std::string OtherNodeId() { return Node("Other office").node_id(); }

// A user error: exit 1, nothing on stdout, one line on stderr holding each of
// `needles`, and ncen.toml as it was.
void CheckConfigUnchanged(const Node& node, const std::string& before, const RunResult& r,
                          const std::vector<std::string>& needles) {
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(IsOneLine(r.err));
  for (const auto& needle : needles) CHECK(Contains(r.err, needle));
  CHECK(ConfigText(node) == before);
}

}  // namespace

TEST_CASE("id prints only the node id on stdout so scripts can take it", "[cli]") {
  Node node;
  RunResult r = node.Ctl({"id"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == node.node_id() + "\n");
  CHECK(Contains(r.err, "Test office"));
}

TEST_CASE("init writes ncen.toml with --listen and --network", "[cli]") {
  ncen::testing::TempDir dir;
  std::string data = dir.Sub("node");
  SECTION("given") {
    RunResult r = Run({"--data", data, "init", "--name", "Hub", "--listen", "[::1]:7400", "--network",
                       "ncen-demo"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(fs::is_regular_file(data + "/ncen.toml"));
    json config = ParseOut(Run({"--data", data, "config", "show", "--json"}));
    CHECK(config == json({{"listen", "[::1]:7400"}, {"network_id", "ncen-demo"}, {"peers", 0}, {"release_company_names", false}}));
    json status = ParseOut(Run({"--data", data, "status", "--json"}));
    CHECK(status["listen"] == "[::1]:7400");
    CHECK(status["network_id"] == "ncen-demo");
    CHECK(status["peers"] == json::array());
  }
  SECTION("defaults: no listening, network ncen") {
    REQUIRE(Run({"--data", data, "init", "--name", "Post"}).exit_code == 0);
    json config = ParseOut(Run({"--data", data, "config", "show", "--json"}));
    CHECK(config == json({{"listen", nullptr}, {"network_id", "ncen"}, {"peers", 0}, {"release_company_names", false}}));
  }
  SECTION("a bad --listen or --network creates nothing") {
    for (auto [args, needle] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"--listen", "example.org:7400"}, "--listen"},
             {{"--listen", "10.0.0.1:65536"}, "--listen"},
             {{"--network", "two words"}, "network_id"}}) {
      args.insert(args.begin(), {"--data", data, "init", "--name", "X"});
      RunResult r = Run(args);
      INFO(r.err);
      CHECK(r.exit_code == 1);
      CHECK(IsOneLine(r.err));
      CHECK(Contains(r.err, needle));
      CHECK_FALSE(fs::exists(data));
    }
  }
}

TEST_CASE("peers add list and remove edit ncen.toml", "[cli]") {
  Node node;
  std::string hub = OtherNodeId(), post = OtherNodeId();
  RunResult add = node.Ctl({"peers", "add", "--name", "kabul-hub", "--id", hub, "--address",
                            "10.0.0.2:7400"});
  INFO(add.err);
  REQUIRE(add.exit_code == 0);
  CHECK(Contains(add.out, "kabul-hub"));
  json added = ParseOut(node.Ctl({"peers", "add", "--name", "post.7", "--id", post, "--scopes",
                                  "global,national", "--rate", "256kbit", "--json"}));
  CHECK(added["name"] == "post.7");
  CHECK(added["rate"] == "256kbit");
  CHECK(Contains(ConfigText(node), "rate = \"256kbit\""));

  json list = ParseOut(node.Ctl({"peers", "list", "--json"}));
  REQUIRE(list.size() == 2);
  CHECK(list[0]["name"] == "kabul-hub");
  CHECK(list[0]["id"] == hub);
  CHECK(list[0]["address"] == "10.0.0.2:7400");
  CHECK(list[0]["scopes"] == json({"national", "regional", "global"}));
  CHECK(list[1]["name"] == "post.7");
  CHECK(list[1]["id"] == post);
  CHECK(list[1]["address"].is_null());
  CHECK(list[1]["scopes"] == json({"global", "national"}));
  CHECK(Contains(ConfigText(node), hub));

  RunResult table = node.Ctl({"peers", "list"});
  CHECK(table.exit_code == 0);
  CHECK(Lines(table.out).size() == 3);
  CHECK(Contains(table.out, "kabul-hub"));
  CHECK(Contains(table.out, "(inbound)"));

  RunResult remove = node.Ctl({"peers", "remove", "kabul-hub"});
  INFO(remove.err);
  REQUIRE(remove.exit_code == 0);
  list = ParseOut(node.Ctl({"peers", "list", "--json"}));
  REQUIRE(list.size() == 1);
  CHECK(list[0]["name"] == "post.7");
  CHECK_FALSE(Contains(ConfigText(node), hub));

  REQUIRE(node.Ctl({"peers", "remove", "post.7"}).exit_code == 0);
  CHECK(ParseOut(node.Ctl({"peers", "list", "--json"})) == json::array());
  CHECK(Trim(node.Ctl({"peers", "list"}).out) == "(none)");
}

TEST_CASE("peers add and remove reject bad input in one line and leave ncen.toml unchanged",
          "[cli]") {
  Node node;
  std::string hub = OtherNodeId(), other = OtherNodeId();
  REQUIRE(node.Ctl({"peers", "add", "--name", "hub", "--id", hub}).exit_code == 0);
  const std::string before = ConfigText(node);
  const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> cases = {
      {{"add", "--name", "hub", "--id", other}, {"'hub' already exists"}},
      {{"add", "--name", "hub2", "--id", hub}, {"'hub' already has id", hub}},
      {{"add", "--name", "me", "--id", node.node_id()}, {"own id"}},
      {{"add", "--name", "x", "--id", "abc123"}, {"--id", "64 hex digits"}},
      {{"add", "--name", "x", "--id", other, "--rate", "fast"}, {"--rate", "256kbit"}},
      {{"add", "--name", "x", "--id", other, "--rate", "1kbit"}, {"--rate", "under 8kbit"}},
      {{"add", "--name", "x", "--id", std::string(64, 'g')}, {"--id", "64 hex digits"}},
      {{"add", "--name", "x", "--id", std::string(64, '0')}, {"--id", "not a valid Ed25519"}},
      {{"add", "--name", "two words", "--id", other}, {"--name", "'two words'"}},
      {{"add", "--name", "x", "--id", other, "--address", "hub.example:7400"}, {"--address"}},
      {{"add", "--name", "x", "--id", other, "--address", "10.0.0.1:70000"}, {"--address", "65535"}},
      {{"add", "--name", "x", "--id", other, "--scopes", "national,local"}, {"--scopes", "'local'"}},
      {{"add", "--name", "x", "--id", other, "--scopes", "global,global"}, {"--scopes", "twice"}},
      {{"add", "--name", "x"}, {"--id"}},
      {{"remove", "nobody"}, {"no peer named 'nobody'"}},
      {{"remove"}, {"NAME"}},
  };
  for (auto [args, needles] : cases) {
    args.insert(args.begin(), "peers");
    INFO(args[1] << " " << (args.size() > 3 ? args[3] : ""));
    CheckConfigUnchanged(node, before, node.Ctl(args), needles);
  }
}

TEST_CASE("config set changes the listen address and network id", "[cli]") {
  Node node;
  REQUIRE(node.Ctl({"config", "set", "listen", "0.0.0.0:7401"}).exit_code == 0);
  REQUIRE(node.Ctl({"config", "set", "network", "border-net"}).exit_code == 0);
  CHECK(ParseOut(node.Ctl({"config", "show", "--json"})) ==
        json({{"listen", "0.0.0.0:7401"}, {"network_id", "border-net"}, {"peers", 0}, {"release_company_names", false}}));
  const std::string before = ConfigText(node);
  CheckConfigUnchanged(node, before, node.Ctl({"config", "set", "listen", "7401"}), {"listen"});
  CheckConfigUnchanged(node, before, node.Ctl({"config", "set", "network", ""}), {"network_id"});
  CheckConfigUnchanged(node, before, node.Ctl({"config", "set", "colour", "red"}), {"'colour'"});
  REQUIRE(node.Ctl({"config", "set", "listen", ""}).exit_code == 0);
  CHECK(ParseOut(node.Ctl({"config", "show", "--json"}))["listen"].is_null());
}

// Each `peers add` reads ncen.toml, adds one peer and writes it back; without
// the lock on DIR/ncen.toml.lock most of 20 concurrent ones lost their peer.
TEST_CASE("twenty concurrent peers add keep every peer", "[cli]") {
  Node node;
  ncen::testing::TempDir io;
  std::vector<std::string> ids;
  std::vector<pid_t> pids;
  for (int i = 0; i < 20; ++i) {
    ids.push_back(ncen::crypto::NodeIdHex(ncen::testing::IdentityFromNumber(uint8_t(100 + i)).public_key()));
    pids.push_back(ncen::testing::SpawnProcess(
        {NCENCTL_PATH, "--data", node.data(), "peers", "add", "--name", "p" + std::to_string(i),
         "--id", ids.back()},
        io.Sub("out"), io.Sub("err")));
  }
  for (pid_t pid : pids) CHECK(ncen::testing::WaitProcess(pid) == 0);
  INFO("stderr: " << ReadFile(io.Sub("err")));
  json list = ParseOut(node.Ctl({"peers", "list", "--json"}));
  std::vector<std::string> listed;
  for (const auto& p : list) listed.push_back(p["id"].get<std::string>());
  std::sort(listed.begin(), listed.end());
  std::sort(ids.begin(), ids.end());
  CHECK(listed == ids);
  for (const auto& entry : fs::directory_iterator(node.data())) {
    INFO(entry.path());  // no temporary file is left behind
    CHECK(entry.path().filename().string().rfind(".ncen.toml.", 0) != 0);
  }
}

TEST_CASE("a malformed ncen.toml is reported with its file and line", "[cli]") {
  Node node;
  WriteFile(node.data() + "/ncen.toml", "listen = \"0.0.0.0:7400\"\nlisten_port = 7400\n");
  for (std::vector<std::string> args : {std::vector<std::string>{"status"}, {"peers", "list"},
                                        {"config", "show"}, {"status", "--wait-synced"}}) {
    RunResult r = node.Ctl(args);
    INFO(args.front() << ": " << r.err);
    CHECK(r.exit_code == 1);
    CHECK(IsOneLine(r.err));
    CHECK(Contains(r.err, node.data() + "/ncen.toml:2: unknown key 'listen_port'"));
  }
}

// ---- status: peers, refused attempts, stale identity ----

namespace {

constexpr int64_t kSyncedAtMs = 1793620800000;  // 2026-11-02T12:00:00.000Z

// Runs `fn` on the node's store, opened as ncen-node opens it.
void WithStore(const Node& node, const std::function<void(ncen::storage::Store&)>& fn) {
  auto store = ncen::storage::Store::Open(node.data() + "/store");
  REQUIRE(store.ok());
  fn(**store);
}

ncen::storage::PeerStatus Row(const std::string& name, const std::string& id_hex, bool connected,
                              int64_t updated_ms, uint64_t behind, uint64_t ahead) {
  ncen::storage::PeerStatus s;
  s.name = name;
  s.id = ncen::crypto::ParseNodeId(id_hex).value();
  s.address = "10.9.9.9:40000";
  s.connected = connected;
  s.connected_since_ms = connected ? kSyncedAtMs - 60000 : 0;
  s.last_sync_ms = kSyncedAtMs;
  s.updated_ms = updated_ms;
  s.behind = behind;
  s.ahead = ahead;
  s.bytes_in = 1000;
  s.bytes_out = 2000;
  return s;
}

void PutRows(const Node& node, const std::vector<ncen::storage::PeerStatus>& rows) {
  WithStore(node, [&](ncen::storage::Store& store) { REQUIRE(ncen::storage::PeerLedger(store).Put(rows).ok()); });
}

// A node with peers hub, post and far configured (hub dials 10.0.0.2:7400).
struct PeeredNode {
  PeeredNode() {
    for (const auto& [name, id] : {std::pair{"hub", &hub}, {"post", &post}, {"far", &far}}) {
      *id = OtherNodeId();
      std::vector<std::string> args = {"peers", "add", "--name", name, "--id", *id};
      if (std::string(name) == "hub") args.insert(args.end(), {"--address", "10.0.0.2:7400"});
      REQUIRE(node.Ctl(args).exit_code == 0);
    }
  }
  Node node;
  std::string hub, post, far;
};

// Plays ncen-node's part for the status rows: rewrites them every 100 ms
// with a fresh heartbeat until destroyed. Rows can be swapped meanwhile.
// While it runs it holds the node's store open, so the test must not use
// WithStore.
class FakeDaemon {
 public:
  FakeDaemon(const Node& node, std::vector<ncen::storage::PeerStatus> rows) : rows_(std::move(rows)) {
    auto store = ncen::storage::Store::Open(node.data() + "/store");
    REQUIRE(store.ok());
    store_ = std::move(store).value();
    thread_ = std::thread([this] { Run(); });
  }
  ~FakeDaemon() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  void Set(std::vector<ncen::storage::PeerStatus> rows) {
    std::lock_guard lock(mu_);
    rows_ = std::move(rows);
  }

 private:
  void Run() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      int64_t now = ncen::storage::UnixMillisNow();
      for (auto& row : rows_) row.updated_ms = now;
      NCEN_CHECK(ncen::storage::PeerLedger(*store_).Put(rows_).ok());
      wake_.wait_for(lock, std::chrono::milliseconds(100));
    }
  }
  std::unique_ptr<ncen::storage::Store> store_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::vector<ncen::storage::PeerStatus> rows_;
  std::thread thread_;
};

}  // namespace

TEST_CASE("status --json joins the configured peers with the daemon's status rows", "[cli]") {
  PeeredNode p;
  int64_t now = ncen::storage::UnixMillisNow();
  auto hub = Row("hub", p.hub, true, now, 0, 0);
  auto post = Row("post", p.post, false, now, 4, 2);
  post.last_error = "connection refused";
  auto stranger = Row("stranger", OtherNodeId(), true, now, 0, 0);  // not configured: not shown
  PutRows(p.node, {hub, post, stranger});

  json status = p.node.Status();
  CHECK(status["stale_identity"] == false);
  REQUIRE(status["peers"].size() == 3);
  const json& h = status["peers"][0];
  CHECK(h["name"] == "hub");
  CHECK(h["id"] == p.hub);
  CHECK(h["address"] == "10.0.0.2:7400");  // the configured one
  CHECK(h["connected"] == true);
  CHECK(h["last_sync"] == "2026-11-02T12:00:00.000Z");
  CHECK(h["behind"] == 0);
  CHECK(h["ahead"] == 0);
  CHECK(h["in_sync"] == true);
  CHECK(h["last_error"].is_null());
  CHECK(h["bytes_in"] == 1000);
  CHECK(h["bytes_out"] == 2000);

  const json& q = status["peers"][1];
  CHECK(q["name"] == "post");
  CHECK(q["address"] == "10.9.9.9:40000");  // none configured: the one the daemon saw
  CHECK(q["connected"] == false);
  CHECK(q["behind"] == 4);
  CHECK(q["ahead"] == 2);
  CHECK(q["in_sync"] == false);
  CHECK(q["last_error"] == "connection refused");

  const json& f = status["peers"][2];  // configured, never written by the daemon
  CHECK(f["name"] == "far");
  CHECK(f["address"].is_null());
  CHECK(f["connected"] == false);
  CHECK(f["last_sync"].is_null());
  CHECK(f["behind"].is_null());
  CHECK(f["ahead"].is_null());
  CHECK(f["last_error"].is_null());
  CHECK(f["bytes_in"] == 0);

  RunResult table = p.node.Ctl({"status"});
  REQUIRE(table.exit_code == 0);
  CHECK(Contains(table.out, "LAST SYNC"));
  CHECK(Contains(table.out, "connection refused"));
  CHECK(Contains(table.out, "never"));
  CHECK_FALSE(Contains(table.out, "stranger"));

  SECTION("a removed peer's row goes with it") {
    REQUIRE(p.node.Ctl({"peers", "remove", "hub"}).exit_code == 0);
    WithStore(p.node, [&](ncen::storage::Store& store) {
      for (const auto& row : ncen::storage::PeerLedger(store).All().value()) CHECK(row.name != "hub");
    });
  }
}

TEST_CASE("status shows a peer as connected only while the daemon keeps its row fresh", "[cli]") {
  PeeredNode p;
  int64_t now = ncen::storage::UnixMillisNow();
  // hub: written just now; post: says connected but was last written 10 s ago
  // (the daemon was killed).
  PutRows(p.node, {Row("hub", p.hub, true, now, 0, 0), Row("post", p.post, true, now - 10000, 0, 0)});
  json peers = p.node.Status()["peers"];
  CHECK(peers[0]["connected"] == true);
  CHECK(peers[1]["connected"] == false);
  CHECK(peers[1]["in_sync"] == false);
  RunResult table = p.node.Ctl({"status"});
  CHECK(Contains(table.out, "is ncen-node running?") == false);  // hub's row is fresh

  PutRows(p.node, {Row("hub", p.hub, true, now - 10000, 0, 0)});
  CHECK(p.node.Status()["peers"][0]["connected"] == false);
  CHECK(Contains(p.node.Ctl({"status"}).out, "is ncen-node running?"));
}

TEST_CASE("status --wait-synced exits 0 once ncen-node reports every configured peer in sync",
          "[cli]") {
  SECTION("no peers configured: at once") {
    Node node;
    RunResult r = node.Ctl({"status", "--wait-synced", "--timeout", "0"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(Contains(r.out, "node id"));
  }
  SECTION("every peer connected with nothing behind or ahead") {
    PeeredNode p;
    int64_t now = ncen::storage::UnixMillisNow();
    FakeDaemon daemon(p.node, {Row("hub", p.hub, true, now, 0, 0), Row("post", p.post, true, now, 0, 0),
                               Row("far", p.far, true, now, 0, 0)});
    RunResult r = p.node.Ctl({"status", "--wait-synced", "--timeout", "30", "--json"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(json::parse(r.out)["peers"].size() == 3);
  }
  SECTION("the last peer catches up while ncenctl waits") {
    PeeredNode p;
    int64_t now = ncen::storage::UnixMillisNow();
    FakeDaemon daemon(p.node, {Row("hub", p.hub, true, now, 0, 0), Row("post", p.post, true, now, 0, 0),
                               Row("far", p.far, true, now, 5, 0)});
    std::thread later([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(400));
      daemon.Set({Row("hub", p.hub, true, now, 0, 0), Row("post", p.post, true, now, 0, 0),
                  Row("far", p.far, true, now, 0, 0)});
    });
    RunResult r = p.node.Ctl({"status", "--wait-synced", "--timeout", "30"});
    later.join();
    INFO(r.err);
    CHECK(r.exit_code == 0);
  }
}

TEST_CASE("status --wait-synced times out with one line naming the peers not in sync", "[cli]") {
  PeeredNode p;
  int64_t now = ncen::storage::UnixMillisNow();
  // hub is behind, post's row is stale, far has no row; only "connected and
  // 0/0" counts.
  PutRows(p.node, {Row("hub", p.hub, true, now, 3, 1), Row("post", p.post, true, now - 60000, 0, 0)});
  RunResult r = p.node.Ctl({"status", "--wait-synced", "--timeout", "1"});
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(IsOneLine(r.err));
  CHECK(Contains(r.err, "after 1 s"));
  CHECK(Contains(r.err, "peer 'hub' behind by 3 and ahead by 1"));
  CHECK(Contains(r.err, "peer 'post' not connected"));
  CHECK(Contains(r.err, "peer 'far' not connected (never synced)"));

  SECTION("a connected peer whose frontier was never compared is not in sync") {
    auto fresh = Row("hub", p.hub, true, now, 0, 0);
    fresh.last_sync_ms = 0;
    PutRows(p.node, {fresh});
    RunResult again = p.node.Ctl({"status", "--wait-synced", "--timeout", "0"});
    CHECK(again.exit_code == 1);
    CHECK(Contains(again.err, "peer 'hub' connected, frontiers not compared yet"));
  }
  SECTION("rows in sync but written before the wait began are not enough") {
    // E.g. written before a record the caller just added: the daemon must
    // speak again.
    PutRows(p.node, {Row("hub", p.hub, true, now, 0, 0), Row("post", p.post, true, now, 0, 0),
                     Row("far", p.far, true, now, 0, 0)});
    RunResult again = p.node.Ctl({"status", "--wait-synced", "--timeout", "1"});
    CHECK(again.exit_code == 1);
    CHECK(IsOneLine(again.err));
    CHECK(Contains(again.err, "peer 'hub' in sync as of"));
    CHECK(Contains(again.err, "no newer status from ncen-node"));
  }
}

TEST_CASE("status lists refused connection attempts newest first", "[cli]") {
  Node node;
  std::string first = OtherNodeId(), second = OtherNodeId();
  WithStore(node, [&](ncen::storage::Store& store) {
    ncen::storage::RefusedAttempt a{ncen::crypto::ParseNodeId(first).value(), "10.1.1.1:5000",
                                    kSyncedAtMs, "not in the trust roster"};
    ncen::storage::RefusedAttempt b{ncen::crypto::ParseNodeId(second).value(), "[::1]:6000",
                                    kSyncedAtMs + 1000, "not in the trust roster"};
    REQUIRE(ncen::storage::PeerLedger(store).RecordRefused(a).ok());
    REQUIRE(ncen::storage::PeerLedger(store).RecordRefused(b).ok());
  });
  json refused = node.Status()["refused"];
  REQUIRE(refused.size() == 2);
  CHECK(refused[0]["id"] == second);
  CHECK(refused[0]["address"] == "[::1]:6000");
  CHECK(refused[0]["at"] == "2026-11-02T12:00:01.000Z");
  CHECK(refused[0]["reason"] == "not in the trust roster");
  REQUIRE(refused[0]["fingerprint"].is_string());
  CHECK(refused[0]["fingerprint"].get<std::string>().size() == 19);
  CHECK(refused[1]["id"] == first);
  RunResult table = node.Ctl({"status"});
  CHECK(Contains(table.out, "REFUSED"));
  CHECK(Contains(table.out, second));
  CHECK(table.out.find(second) < table.out.find(first));
}

TEST_CASE("a stale identity shows in status and local writes are refused", "[cli]") {
  Node node;
  node.AddSample("suspect-muller.json");
  CHECK(node.Status()["stale_identity"] == false);
  auto identity = ncen::crypto::Identity::Load(node.data() + "/identity.key").value();
  WithStore(node, [&](ncen::storage::Store& store) {
    REQUIRE(store.MarkStaleIdentity(ncen::testing::SignedEntryAt(identity, 9), "peer hub").ok());
  });
  json before = node.Status();
  CHECK(before["stale_identity"] == true);
  CHECK(Contains(before["stale_identity_reason"].get<std::string>(), "seq 9"));

  RunResult add = node.Ctl({"seizure", "add", "--json", SamplePath("seizure-cash-airport.json")});
  CheckRejected(node, before, add, {"stale", "seq 9"});

  RunResult table = node.Ctl({"status"});
  CHECK(Contains(table.out, "IDENTITY STALE"));
  CHECK(Contains(table.out, "ncenctl init"));  // says what to do
}

// ---- hostile data (issue 11): text that is not UTF-8, quarantined records,
// fork reports and the stale-identity mark, each with its evidence ----

namespace {

namespace storage = ncen::storage;

const std::string kReplacement = "\xef\xbf\xbd";  // U+FFFD

ncen::crypto::Identity NodeIdentity(const Node& node) {
  return ncen::crypto::Identity::Load(node.data() + "/identity.key").value();
}

// Output a person or a script reads: valid UTF-8 whatever the store holds.
void CheckCleanText(const RunResult& r) {
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.exit_code == 0);
  CHECK(ncen::IsValidUtf8(r.out));
  CHECK(r.err.empty());
}

// An entry of `author`'s national feed at `seq` (prev zero: seq 1).
storage::Entry EntryOf(const ncen::crypto::Identity& author, uint64_t seq,
                       const storage::RecordId& record, storage::RecordType type,
                       ncen::Bytes payload, const ncen::storage::Hash256& prev = {}) {
  storage::EntryHeader h;
  h.author = author.public_key();
  h.seq = seq;
  h.prev = prev;
  h.timestamp_ms = kSyncedAtMs;
  h.record_id = record;
  h.record_type = type;
  return storage::MakeEntry(h, std::move(payload), author);
}

ncen::Bytes SuspectPayload() {
  auto object = nlohmann::ordered_json::parse(ReadFile(SamplePath("suspect-muller.json")));
  return storage::RecordFromJson(storage::RecordType::kSuspect, object).value();
}

}  // namespace

TEST_CASE("status shows peer text that is not UTF-8 without aborting", "[cli]") {
  PeeredNode p;
  int64_t now = ncen::storage::UnixMillisNow();
  auto post = Row("post", p.post, false, now, 4, 2);  // no configured address: the row's is shown
  post.address = "10.9.9.9:\xff\xfe";
  post.last_error = "peer said \xff\xc0 and closed";
  PutRows(p.node, {post});
  WithStore(p.node, [&](ncen::storage::Store& store) {
    ncen::storage::RefusedAttempt a{ncen::crypto::ParseNodeId(OtherNodeId()).value(),
                                    "10.1.1.1:\xff", kSyncedAtMs, "not in the trust roster"};
    REQUIRE(ncen::storage::PeerLedger(store).RecordRefused(a).ok());
  });

  RunResult r = p.node.Ctl({"status", "--json"});
  CheckCleanText(r);  // before: SIGABRT (nlohmann type_error 316 escaped main)
  json status = json::parse(r.out);
  CHECK(status["peers"][1]["address"] == "10.9.9.9:" + kReplacement + kReplacement);
  CHECK(ncen::IsValidUtf8(status["peers"][1]["last_error"].get<std::string>()));
  CHECK(status["refused"][0]["address"] == "10.1.1.1:" + kReplacement);

  RunResult table = p.node.Ctl({"status"});
  CheckCleanText(table);
  CHECK(Contains(table.out, "10.1.1.1:?"));
  CHECK(Contains(table.out, "and closed"));
}

TEST_CASE("get list and search show a record whose text is not UTF-8 without aborting", "[cli]") {
  Node node;
  auto identity = NodeIdentity(node);
  // Neither AppendLocal nor ApplyBatch takes such a payload any more, but a
  // store written before payloads were validated may hold one: the stored
  // bytes are spoiled in place (LMDB keeps no checksums).
  storage::LocalChange change{storage::NewRecordId(storage::UnixMillisNow()),
                              storage::RecordType::kSeizure, storage::Op::kPut,
                              ncen::testing::SeizurePayload("NARRATIVE")};
  WithStore(node, [&](ncen::storage::Store& store) {
    REQUIRE(store.AppendLocal(identity, {&change, 1}).ok());
    REQUIRE(store.CatchUpIndexAll().ok());
  });
  {
    std::string path = node.data() + "/store/data.mdb";
    std::string bytes = ReadFile(path);
    ncen::Bytes file(bytes.begin(), bytes.end());
    int spoiled = 0;
    for (const std::string marker : {"NARRATIVE", "PKTKM"}) {
      for (auto at = file.begin();
           (at = std::search(at, file.end(), marker.begin(), marker.end())) != file.end(); ++at) {
        *at = 0xff;
        ++spoiled;
      }
    }
    REQUIRE(spoiled >= 2);
    WriteFile(path, std::string(file.begin(), file.end()));
  }
  std::string id = storage::FormatRecordId(change.id);

  RunResult get_json = node.Ctl({"get", id, "--json"});
  CheckCleanText(get_json);  // before: SIGABRT
  json record = json::parse(get_json.out);
  CHECK(record["narrative"] == kReplacement + "ARRATIVE");
  CHECK(record["office"] == kReplacement + "KTKM");
  RunResult get_text = node.Ctl({"get", id});
  CheckCleanText(get_text);
  CHECK(Contains(get_text.out, "ARRATIVE"));

  RunResult list_json = node.Ctl({"list", "--json"});
  CheckCleanText(list_json);
  CHECK(IdsOf(json::parse(list_json.out)) == std::vector<std::string>{id});
  RunResult list_text = node.Ctl({"list"});
  CheckCleanText(list_text);
  CHECK(Contains(list_text.out, "?KTKM"));
  CheckCleanText(node.Ctl({"search", "heroin", "--json"}));
}

TEST_CASE("a record written with two types under one id is shown as quarantined", "[cli]") {
  Node node;
  const storage::RecordId record = ncen::testing::FixedRecordId(7);
  const std::string id = storage::FormatRecordId(record);
  auto a = ncen::testing::IdentityFromNumber(1), b = ncen::testing::IdentityFromNumber(2);
  std::vector<storage::Entry> entries = {
      EntryOf(a, 1, record, storage::RecordType::kSeizure, ncen::testing::SeizurePayload("a")),
      EntryOf(b, 1, record, storage::RecordType::kSuspect, SuspectPayload())};
  WithStore(node, [&](ncen::storage::Store& store) {
    auto report = store.ApplyBatch(entries, "peer hub");
    REQUIRE(report.status.ok());
    REQUIRE(report.applied == 2);
    REQUIRE(store.GetRecord(record).value().state.quarantined());
  });
  json before = node.Status();

  RunResult get = node.Ctl({"get", id});
  INFO("stderr: " << get.err);
  CHECK(get.exit_code == 1);
  CHECK(get.out.empty());
  CHECK(IsOneLine(get.err));
  CHECK(Contains(get.err, id));
  CHECK(Contains(get.err, "quarantined"));
  CHECK(Contains(get.err, "more than one type or scope"));
  CHECK(Contains(get.err, "kept in the log"));

  CHECK(ParseOut(node.Ctl({"get", id, "--json"})) ==
        json({{"id", id}, {"quarantined", true}, {"classes", {"seizure/national", "suspect/national"}}}));

  json conflicts = ParseOut(node.Ctl({"conflicts", "--json"}));
  REQUIRE(conflicts.size() == 1);
  CHECK(conflicts[0]["id"] == id);
  CHECK(conflicts[0]["quarantined"] == true);
  RunResult table = node.Ctl({"conflicts"});
  CHECK(Contains(table.out, id));
  CHECK(Contains(table.out, "[QUARANTINED]"));

  std::string file = node.Write("seizure.json", ReadFile(SamplePath("seizure-cash-airport.json")));
  for (std::vector<std::string> args : {std::vector<std::string>{"update", id, "--json", file},
                                        {"delete", id}}) {
    INFO(args.front());
    CheckRejected(node, before, node.Ctl(args), {id, "quarantined"});
  }
}

namespace {

// Two entries of `author`'s national feed at seq 1: a fork, reported to
// `node`'s store as a peer would show it.
std::pair<storage::Entry, storage::Entry> ReportFork(const Node& node,
                                                     const ncen::crypto::Identity& author) {
  auto record = ncen::testing::FixedRecordId(9);
  auto a = EntryOf(author, 1, record, storage::RecordType::kSeizure, ncen::testing::SeizurePayload("a"));
  auto b = EntryOf(author, 1, record, storage::RecordType::kSeizure, ncen::testing::SeizurePayload("b"));
  WithStore(node, [&](ncen::storage::Store& store) {
    storage::ForkReport f;
    f.feed = a.header.feed();
    f.seq = 1;
    f.ours = a.hash();
    f.theirs = b.hash();
    f.detected_ms = kSyncedAtMs;
    f.source = "peer \xffhub";
    f.a = storage::SignedHeaderOf(a);
    f.b = storage::SignedHeaderOf(b);
    bool newly = false;
    REQUIRE(store.ReportFork(f, &newly).ok());
    REQUIRE(newly);
  });
  return {a, b};
}

}  // namespace

TEST_CASE("forks lists each fork report with both signed headers and forks clear forgets it",
          "[cli]") {
  Node node;
  CHECK(ParseOut(node.Ctl({"forks", "--json"})) == json::array());
  CHECK(Trim(node.Ctl({"forks"}).out) == "no fork reports");

  auto author = ncen::testing::IdentityFromNumber(3);
  const std::string author_hex = ncen::crypto::NodeIdHex(author.public_key());
  auto [a, b] = ReportFork(node, author);

  json forks = ParseOut(node.Ctl({"forks", "--json"}));
  REQUIRE(forks.size() == 1);
  const json& f = forks[0];
  CHECK(f["author"] == author_hex);
  CHECK(f["fingerprint"] == ncen::crypto::Fingerprint(author.public_key()));
  CHECK(f["scope"] == "national");
  CHECK(f["seq"] == 1);
  CHECK(f["detected"] == "2026-11-02T12:00:00.000Z");
  CHECK(ncen::IsValidUtf8(f["source"].get<std::string>()));
  REQUIRE(f["evidence"].size() == 2);
  const std::string record_id = storage::FormatRecordId(ncen::testing::FixedRecordId(9));
  for (size_t i = 0; i < 2; ++i) {
    const storage::Entry& e = i == 0 ? a : b;
    const json& h = f["evidence"][i];
    CHECK(h["hash"] == ncen::ToHex(e.hash()));
    CHECK(h["seq"] == 1);
    CHECK(h["timestamp"] == "2026-11-02T12:00:00.000Z");
    CHECK(h["record_id"] == record_id);
    CHECK(h["op"] == "put");
  }
  CHECK(node.Status()["forks"] == forks);

  RunResult text = node.Ctl({"forks"});
  CheckCleanText(text);
  CHECK(Contains(text.out, author_hex));
  CHECK(Contains(text.out, ncen::ToHex(a.hash())));
  CHECK(Contains(text.out, ncen::ToHex(b.hash())));
  CHECK(Contains(text.out, record_id));
  CHECK(Contains(text.out, "ncenctl forks clear"));
  CHECK(Contains(node.Ctl({"status"}).out, "see 'ncenctl forks'"));

  RunResult wrong_scope = node.Ctl({"forks", "clear", "--author", author_hex, "--scope", "global"});
  CHECK(wrong_scope.exit_code == 1);
  CHECK(IsOneLine(wrong_scope.err));
  CHECK(Contains(wrong_scope.err, "no fork report"));
  CHECK(node.Status()["forks"].size() == 1);

  RunResult clear = node.Ctl({"forks", "clear", "--author", author_hex, "--scope", "national"});
  INFO("stderr: " << clear.err);
  CHECK(clear.exit_code == 0);
  CHECK(Contains(clear.out, "cleared"));
  CHECK(ParseOut(node.Ctl({"forks", "--json"})) == json::array());

  RunResult again = node.Ctl({"forks", "clear", "--author", author_hex, "--scope", "national"});
  CHECK(again.exit_code == 1);
  CHECK(again.out.empty());
  CHECK(IsOneLine(again.err));
  CHECK(Contains(again.err, "no fork report"));
  CHECK(Contains(again.err, "ncenctl forks"));

  RunResult bad_author = node.Ctl({"forks", "clear", "--author", "abc", "--scope", "national"});
  CHECK(bad_author.exit_code == 1);
  CHECK(IsOneLine(bad_author.err));
  CHECK(Contains(bad_author.err, "--author"));
}

TEST_CASE("stale shows the mark's evidence and stale clear needs this node to hold it", "[cli]") {
  Node node;
  node.AddSample("suspect-muller.json");  // seq 1 of this node's national feed
  CHECK(Trim(node.Ctl({"stale"}).out) == "not stale: local writes are accepted");
  CHECK(ParseOut(node.Ctl({"stale", "--json"})) ==
        json({{"stale", false}, {"reason", nullptr}, {"evidence", nullptr}}));
  RunResult not_marked = node.Ctl({"stale", "clear"});
  CHECK(not_marked.exit_code == 1);
  CHECK(IsOneLine(not_marked.err));
  CHECK(Contains(not_marked.err, "not marked stale"));

  auto identity = NodeIdentity(node);
  SECTION("evidence beyond the feed this node holds: not cleared") {
    auto evidence = ncen::testing::SignedEntryAt(identity, 9);
    WithStore(node, [&](ncen::storage::Store& store) {
      REQUIRE(store.MarkStaleIdentity(evidence, "peer hub").ok());
    });
    json stale = ParseOut(node.Ctl({"stale", "--json"}));
    CHECK(stale["stale"] == true);
    CHECK(Contains(stale["reason"].get<std::string>(), "seq 9"));
    CHECK(stale["evidence"]["seq"] == 9);
    CHECK(stale["evidence"]["scope"] == "national");
    CHECK(stale["evidence"]["timestamp"] == "2026-01-01T00:00:00.000Z");
    CHECK(stale["evidence"]["hash"] == ncen::ToHex(evidence.hash()));
    RunResult text = node.Ctl({"stale"});
    CheckCleanText(text);
    CHECK(Contains(text.out, ncen::ToHex(evidence.hash())));
    CHECK(Contains(text.out, "seq 9"));
    CHECK(Contains(node.Ctl({"status"}).out, "ncenctl stale clear"));

    json before = node.Status();
    RunResult clear = node.Ctl({"stale", "clear"});
    CheckRejected(node, before, clear, {"seq 9", "fork"});
  }
  SECTION("this node took its feed back up to the evidence: cleared, writes accepted") {
    WithStore(node, [&](ncen::storage::Store& store) {
      auto first = store.GetEntry({identity.public_key(), storage::Scope::kNational}, 1).value();
      auto lost = EntryOf(identity, 2, ncen::testing::FixedRecordId(5),
                          storage::RecordType::kSeizure, ncen::testing::SeizurePayload("lost"),
                          first.hash());
      auto report = store.ApplyBatch({&lost, 1}, "peer hub");
      REQUIRE(report.status.ok());
      REQUIRE(report.marked_stale);
    });
    RunResult refused = node.Ctl({"seizure", "add", "--json", SamplePath("seizure-cash-airport.json")});
    CHECK(refused.exit_code == 1);
    CHECK(ParseOut(node.Ctl({"stale", "--json"}))["evidence"]["seq"] == 2);

    RunResult clear = node.Ctl({"stale", "clear"});
    INFO("stderr: " << clear.err);
    CHECK(clear.exit_code == 0);
    CHECK(Contains(clear.out, "cleared"));
    CHECK(node.Status()["stale_identity"] == false);
    node.AddSample("seizure-cash-airport.json");
    CHECK(node.Status()["frontier"][0]["seq"] == 3);
    CHECK(node.Ctl({"log", "verify"}).exit_code == 0);
  }
}

// ---- Network membership (issue 13) ----

// A root made with `network create`: an authority's data directory.
struct RootDir {
  ncen::testing::TempDir dir;
  std::string data = dir.Sub("root");
  std::string network_id;
  RootDir() {
    RunResult r = Run({"--data", data, "network", "create", "--name", "test network"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    network_id = Trim(r.out);
    REQUIRE(IsHex(network_id, 64));
  }
  RunResult Ctl(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--data", data});
    return Run(args);
  }
  // Certifies `authority` as PK's country authority, which joins; the file it joined with.
  std::string CertifyAuthority(const Node& authority, const std::string& name = "PK") const {
    std::string file = dir.Sub("auth.net");
    RunResult certified = Ctl({"certify", "--role", "country-authority", "--node", authority.node_id(), "--name",
                               name, "--country", "PK", "--out", file});
    INFO(certified.err);
    REQUIRE(certified.exit_code == 0);
    REQUIRE(authority.Ctl({"join", file}).exit_code == 0);
    return file;
  }
};

TEST_CASE("a node joins in two commands: init, then join with its authority's file", "[cli][membership]") {
  RootDir root;
  Node authority("PK authority", "authority");
  root.CertifyAuthority(authority, "Pakistan Customs");
  Node post("Torkham post");
  std::string post_file = root.dir.Sub("post.net");
  REQUIRE(authority.Ctl({"certify", "--role", "post", "--node", post.node_id(), "--name", "Torkham post", "--country",
                         "PK", "--out", post_file})
              .exit_code == 0);
  RunResult joined = post.Ctl({"join", post_file, "--json"});
  INFO(joined.err);
  REQUIRE(joined.exit_code == 0);
  json j = ParseOut(joined);
  CHECK(j["network_id"] == root.network_id);
  CHECK(j["role"] == "post");
  CHECK(j["country"] == "PK");
  json members = ParseOut(post.Ctl({"members", "--json"}));
  REQUIRE(members["members"].size() == 3);
  for (const auto& m : members["members"]) {
    if (m["id"] == post.node_id()) {
      CHECK(m["self"] == true);
      CHECK(m["certified_by_name"] == "Pakistan Customs");
    }
    if (m["role"] == "root") CHECK(m["exchange"]["national"] == false);
  }
  CHECK(post.Status()["network"]["role"] == "post");
  CHECK(post.Status()["network_id"] == root.network_id);
  // Joined: the post writes national records, and not regional ones.
  post.AddSample("seizure-cash-airport.json");
}

TEST_CASE("membership commands refuse bad input with one line and write nothing", "[cli][membership]") {
  RootDir root;
  Node authority("PK authority", "authority");
  std::string auth_file = root.CertifyAuthority(authority);
  Node post("post");
  json before = authority.Status();
  auto refused = [&](const RunResult& r, const std::string& says) {
    INFO(r.err);
    CHECK(r.exit_code == 1);
    CHECK(IsOneLine(r.err));
    CHECK(Contains(r.err, says));
  };
  std::vector<std::string> base = {"certify", "--node", post.node_id(), "--name", "post"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return authority.Ctl(args);
  };
  refused(with({"--role", "customs-officer", "--country", "PK"}), "--role must be");
  refused(with({"--role", "post", "--country", "pk"}), "country");
  refused(with({"--role", "post", "--country", "XX"}), "country");
  refused(with({"--role", "post"}), "country");
  refused(with({"--role", "post", "--country", "AF"}), "certifies a node of AF");
  refused(with({"--role", "global-hub"}), "not a global-hub");
  refused(authority.Ctl({"certify", "--role", "post", "--node", "abc", "--name", "x", "--country", "PK"}), "--node");
  refused(authority.Ctl({"revoke", "--node", post.node_id()}), "did not certify");
  refused(authority.Ctl({"revoke", "--node", post.node_id(), "--cutoff", "national=x"}), "--cutoff");
  refused(authority.Ctl({"revoke", "--node", post.node_id(), "--cutoff", "personal=3"}), "--cutoff");
  refused(authority.Ctl({"certify", "--role", "post", "--node", std::string(64, 'f'), "--name", "x", "--country", "PK"}),
          "--node");  // 64 hex digits, not an Ed25519 key
  refused(authority.Ctl({"revoke", "--node", post.node_id(), "--cutoff", ""}), "--cutoff: empty");
  refused(authority.Ctl({"revoke", "--node", post.node_id(), "--cutoff", "national=18446744073709551616"}),
          "from 0 to 18446744073709551615");
  refused(with({"--role", "post", "--country", "PK", "--out", post.dir() + "/no-such-dir/p.net"}), "--out");
  refused(with({"--role", "post", "--country", "PK", "--out", post.dir()}), "--out");
  refused(authority.Ctl({"certify", "--role", "post", "--node", post.node_id(), "--name", "P\u202eX", "--country", "PK"}),
          "name");
  // A post is no authority.
  refused(post.Ctl({"certify", "--role", "post", "--node", authority.node_id(), "--name", "x", "--country", "PK"}),
          "no network");
  CHECK(authority.Status()["entries"] == before["entries"]);

  // Files: garbage, truncated, no certificate for the node, another network.
  std::string garbage = post.Write("garbage.net", "not a network file");
  refused(post.Ctl({"join", garbage}), "not an ncen network file");
  refused(post.Ctl({"join", post.dir() + "/no-such.net"}), "cannot open");
  refused(post.Ctl({"join", post.dir()}), "is a directory");
  refused(post.Ctl({"join", post.Write("empty.net", "")}), "not an ncen network file");
  std::string whole = ReadFile(auth_file);
  std::string cut = post.Write("cut.net", whole.substr(0, whole.size() - 10));
  RunResult truncated = post.Ctl({"join", cut});
  CHECK(truncated.exit_code != 0);
  CHECK(IsOneLine(truncated.err));
  std::string overclaim = whole;
  overclaim[8 + 32] = '\x7f';  // count: far more entries than bytes
  refused(post.Ctl({"join", post.Write("over.net", overclaim)}), "more than its");
  refused(post.Ctl({"join", auth_file}), "no certificate for this node");
  {
    // A file whose first entry's signature is damaged: refused whole.
    std::string post_file = root.dir.Sub("post-bad.net");
    REQUIRE(authority.Ctl({"certify", "--role", "post", "--node", post.node_id(), "--name", "post", "--country", "PK",
                           "--out", post_file})
                .exit_code == 0);
    std::string bytes = ReadFile(post_file);
    size_t first_header_len = (uint8_t(bytes[44]) << 24) | (uint8_t(bytes[45]) << 16) | (uint8_t(bytes[46]) << 8) |
                              uint8_t(bytes[47]);
    bytes[48 + first_header_len] ^= 1;  // the first signature byte
    refused(post.Ctl({"join", post.Write("bad-sig.net", bytes)}), "nothing was taken");
    CHECK(post.Status()["entries"] == 0);
    CHECK(post.Status()["network"].is_null());
    before = authority.Status();
  }
  CHECK(post.Status()["network"].is_null());
  RootDir other;
  std::string other_file = other.dir.Sub("other.net");
  REQUIRE(other.Ctl({"certify", "--role", "post", "--node", post.node_id(), "--name", "p", "--country", "PK", "--out",
                     other_file})
              .exit_code == 0);
  REQUIRE(post.Ctl({"join", other_file}).exit_code == 0);
  refused(post.Ctl({"network", "import", auth_file}), "another network");
}

TEST_CASE("revoke defaults its cut-offs to the heads the authority holds; succeed names the old key",
          "[cli][membership]") {
  RootDir root;
  Node authority("PK authority", "authority");
  root.CertifyAuthority(authority);
  Node post("post");
  std::string post_file = root.dir.Sub("post.net");
  REQUIRE(authority.Ctl({"certify", "--role", "post", "--node", post.node_id(), "--name", "Torkham", "--country", "PK",
                         "--out", post_file})
              .exit_code == 0);
  REQUIRE(post.Ctl({"join", post_file}).exit_code == 0);
  RunResult revoked = authority.Ctl({"revoke", "--node", post.node_id(), "--cutoff", "national=4", "--json"});
  INFO(revoked.err);
  REQUIRE(revoked.exit_code == 0);
  json r = ParseOut(revoked);
  CHECK(r["last_valid_seq"]["national"] == 4);
  CHECK(r["last_valid_seq"]["global"] == 0);  // this authority holds none of it
  // A succession that cannot finish does not start: the old key stays unrevoked further.
  RunResult bad_new = authority.Ctl({"succeed", "--old", post.node_id(), "--new", authority.node_id()});
  CHECK(bad_new.exit_code == 1);
  CHECK(IsOneLine(bad_new.err));
  // Succession: rekey on the node, succeed on the authority, join again.
  RunResult rekey = post.Ctl({"rekey"});
  REQUIRE(rekey.exit_code == 0);
  std::string new_id = Trim(rekey.out);
  REQUIRE(IsHex(new_id, 64));
  CHECK(new_id != post.node_id());
  CHECK(fs::exists(post.data() + "/identity.key"));
  std::string succ_file = root.dir.Sub("succ.net");
  RunResult succeeded =
      authority.Ctl({"succeed", "--old", post.node_id(), "--new", new_id, "--out", succ_file});
  INFO(succeeded.err);
  REQUIRE(succeeded.exit_code == 0);
  REQUIRE(post.Ctl({"join", succ_file}).exit_code == 0);
  json members = ParseOut(post.Ctl({"members", "--json"}));
  bool linked = false;
  for (const auto& m : members["members"]) {
    if (m["id"] == new_id) linked = m["predecessor"] == post.node_id() && m["name"] == "Torkham";
    if (m["id"] == post.node_id()) CHECK(m["successor"] == new_id);
  }
  CHECK(linked);
  CHECK(Trim(post.Ctl({"id"}).out) == new_id);
  post.AddSample("seizure-cash-airport.json");  // the new key writes
}

// ---- Releases, stats and export (issue 14) ----

TEST_CASE("release prints the report with --dry-run, writes it without, and lists it", "[cli][sharing]") {
  Node hub("PK hub", "hub");
  auto ids = AddAllSamples(hub);
  std::string seizure = ids.at("seizure-captagon-truck.json");
  std::string suspect = ids.at("suspect-agaoglu.json");
  REQUIRE(hub.Ctl({"link", seizure, "--suspect", suspect}).exit_code == 0);
  json before = hub.Status();

  RunResult dry = hub.Ctl({"release", seizure, "--to", "regional", "--dry-run"});
  REQUIRE(dry.exit_code == 0);
  CHECK(hub.Status() == before);  // nothing written
  json report = json::parse(dry.out);
  CHECK(report["type"] == "seizure_report");
  CHECK(report["suspect_count"] == 1);
  CHECK_FALSE(Contains(dry.out, Sample("suspect-agaoglu.json")["surname"].get<std::string>()));
  CHECK_FALSE(Contains(dry.out, Sample("seizure-captagon-truck.json")["narrative"].get<std::string>()));

  RunResult out = hub.Ctl({"release", seizure, "--to", "regional"});
  REQUIRE(out.exit_code == 0);
  CHECK(Contains(out.out, "released " + seizure));
  json held = hub.Get(report["id"]);
  held.erase("released_at");
  report.erase("released_at");
  CHECK(held == report);  // what the dry run printed is what was written
  CHECK(Contains(hub.Ctl({"release", seizure, "--to", "regional"}).out, "unchanged"));

  json listed = ParseOut(hub.Ctl({"--json", "releases"}));
  REQUIRE(listed.size() == 1);
  CHECK(listed[0]["seizure"] == seizure);
  CHECK(listed[0]["pending"] == false);
  CHECK(ParseOut(hub.Ctl({"--json", "releases", "--pending"})).empty());
  CHECK(hub.Search({"--type", "seizure_report", "--country", "BG"}).size() == 1);

  RunResult withdraw = hub.Ctl({"release", seizure, "--withdraw"});
  REQUIRE(withdraw.exit_code == 0);
  CHECK(Contains(withdraw.out, "withdrew " + report["id"].get<std::string>()));
  CHECK(ParseOut(hub.Ctl({"--json", "list", "--type", "seizure_report"})).empty());
}

TEST_CASE("release, stats and export refuse bad input with one line, exit 1, and write nothing", "[cli][sharing]") {
  Node hub("PK hub", "hub");
  auto ids = AddAllSamples(hub);
  std::string seizure = ids.at("seizure-cash-airport.json");
  std::string deleted = ids.at("seizure-pangolin-scales-air.json");
  REQUIRE(hub.Ctl({"delete", deleted}).exit_code == 0);
  json before = hub.Status();
  auto rejected = [&](std::vector<std::string> args, std::vector<std::string> says) {
    CheckRejected(hub, before, hub.Ctl(args), says);
  };
  rejected({"release", ids.at("suspect-muller.json"), "--to", "regional"}, {"is a suspect, not a seizure"});
  rejected({"release", ids.at("company-orvanta-freight.json"), "--to", "regional"}, {"is a company, not a seizure"});
  rejected({"release", "01a19c21-7200-7abc-8def-0123456789ab", "--to", "regional"}, {"no record"});
  rejected({"release", deleted, "--to", "regional"}, {"is deleted"});
  rejected({"release", seizure, deleted, "--to", "global"}, {"is deleted"});  // all or nothing
  rejected({"release", "not-an-id", "--to", "regional"}, {"not a record id"});
  rejected({"release", seizure}, {"--to"});
  rejected({"release", seizure, "--to", "national"}, {"regional or global"});
  rejected({"release", seizure, "--to", "regional", "--withdraw"}, {"--withdraw"});
  rejected({"release", seizure, "--withdraw"}, {"no live release"});
  rejected({"release", "--to", "regional"}, {"at least one seizure"});
  rejected({"release", "--to", "regional", "--ids", hub.Write("ids.txt", seizure + "\nnonsense\n")}, {"ids.txt:2"});
  rejected({"stats", "--by", "colour"}, {"unknown dimension 'colour'"});
  rejected({"stats", "--by", "country,country"}, {"the same"});
  rejected({"stats", "--by", "country,mode,office"}, {"one or two"});
  rejected({"stats", "--by", "country", "--from", "2026-05-01", "--to", "2026-04-01"}, {"after the to date"});
  rejected({"stats", "--by", "country", "--from", "2026-02-30"}, {"not a date"});
  rejected({"stats", "--by", "country", "--measure", "quantity"}, {"--unit"});
  rejected({"stats", "--by", "country", "--type", "suspect"}, {"seizures or seizure reports"});
  rejected({"export", "--type", "seizure", "--format", "csv"}, {"seizure_report"});
  rejected({"export", "--type", "seizure_report", "--format", "xml"}, {"ndjson or csv"});
  rejected({"export", "--type", "seizure_report", "--format", "csv", "--from", "2026-05-01", "--to", "2026-01-01"},
           {"after the to date"});
  rejected({"stats", "--by", "country", "--measure", "quantity", "--unit", "bogus"}, {"unit 'bogus'"});
  rejected({"stats", "--by", "country", "--measure", "value", "--currency", "usd"}, {"currency 'usd'"});
  rejected({"stats", "--by", "country", "--unit", "kg"}, {"--unit goes with --measure quantity"});
  rejected({"stats", "--by", "month,"}, {"empty dimension"});
  rejected({"stats", "--by", ",month"}, {"empty dimension"});
  rejected({"search", "--commodity", "drugs/"}, {"subtype"});
  rejected({"search", "--commodity", "drugs/HEROIN"}, {"subtype"});
  rejected({"search", "--mode", "hovercraft"}, {"mode 'hovercraft'"});
  rejected({"search", "--country", "pk"}, {"country"});
}

TEST_CASE("stats prints a pivot, JSON and long-form CSV over the node's seizures", "[cli][sharing]") {
  Node hub("PK hub", "hub");
  AddAllSamples(hub);
  json stats = ParseOut(hub.Ctl({"--json", "stats", "--by", "category,year"}));
  CHECK(stats["type"] == "seizure");
  CHECK(stats["total"]["records"] == 6);
  RunResult table = hub.Ctl({"stats", "--by", "category,country"});
  REQUIRE(table.exit_code == 0);
  CHECK(Contains(table.out, "category \\ country"));
  RunResult csv = hub.Ctl({"stats", "--by", "category", "--csv"});
  REQUIRE(csv.exit_code == 0);
  CHECK(Lines(csv.out)[0] == "category,measure,unit,amount");
  CHECK(Contains(csv.out, "drugs,records,,"));
}

TEST_CASE("release --ids refuses a directory and input past 64 MiB, with one line", "[cli][sharing]") {
  Node hub("PK hub", "hub");
  json before = hub.Status();
  CheckRejected(hub, before, hub.Ctl({"release", "--to", "regional", "--ids", hub.dir()}), {"is a directory"});
  std::string huge((size_t{64} << 20) + 2, '\n');
  CheckRejected(hub, before, hub.Ctl({"release", "--to", "regional", "--ids", "-"}, huge), {"more than 67108864 bytes"});
}

// ---- photos (docs/blobs.md) ----

namespace {

std::string AsText(const ncen::Bytes& b) { return std::string(b.begin(), b.end()); }

}  // namespace

TEST_CASE("photo add strips GPS, makes a preview, and photo list and get give them back", "[cli][photos]") {
  Node post("PK post", "post");
  auto ids = AddAllSamples(post);
  std::string seizure = ids.at("seizure-captagon-truck.json");
  // A phone photo: GPS position, camera serial and owner in its EXIF, turned (orientation 6).
  ncen::Bytes jpeg = ncen::media::WithCameraExif(ncen::media::SamplePhotoJpeg(64, 48, 1), 6);
  std::string file = post.Write("phone.jpg", AsText(jpeg));
  json before = post.Status();
  json added = ParseOut(post.Ctl({"--json", "photo", "add", seizure, file, "--caption", "fuel tank"}));
  CHECK(added["type"] == "photo");
  CHECK(added["width"] == 48);  // orientation applied: 64x48 turned upright
  CHECK(added["height"] == 64);
  CHECK(added["metadata_kept"] == false);
  CHECK(post.Status()["records"]["photo"] == 1);

  json listed = ParseOut(post.Ctl({"--json", "photo", "list", seizure}));
  REQUIRE(listed.size() == 1);
  CHECK(listed[0]["caption"] == "fuel tank");
  CHECK(listed[0]["image_held"] == true);
  std::string hash = listed[0]["image"];
  REQUIRE(hash == added["image"]);

  std::string out = post.dir() + "/out.jpg", preview = post.dir() + "/preview.jpg";
  RunResult got = post.Ctl({"photo", "get", hash, "--out", out});
  INFO(got.err);
  REQUIRE(got.exit_code == 0);
  std::string stored = ReadFile(out);
  for (std::string_view leak : {ncen::media::kSampleSerial, ncen::media::kSampleOwner, ncen::media::kSampleMake,
                                std::string_view("Exif")}) {
    CHECK_FALSE(Contains(stored, std::string(leak)));
  }
  auto info = ncen::media::InspectImage(ncen::AsBytes(stored)).value();
  CHECK_FALSE(info.has_gps);
  CHECK(info.orientation == 1);
  REQUIRE(post.Ctl({"photo", "get", hash, "--out", preview, "--preview"}).exit_code == 0);
  CHECK(ncen::media::InspectImage(ncen::AsBytes(ReadFile(preview))).value().format == "jpeg");
  // Its hash is the hash of what get wrote.
  CHECK(ncen::ToHex(ncen::crypto::Blake2b256(ncen::AsBytes(stored))) == hash);

  // The same photo on another record: one blob.
  std::string other = ids.at("seizure-pangolin-scales-air.json");
  REQUIRE(post.Ctl({"photo", "add", other, file}).exit_code == 0);
  json blobs = ParseOut(post.Ctl({"--json", "blobs"}));
  CHECK(blobs["held"]["blobs"] == 2);  // the image and its preview, once
  CHECK(blobs["missing"]["blobs"] == 0);
  CHECK(Contains(post.Ctl({"log", "verify"}).out, "2 blobs"));

  // --keep-metadata keeps the phone's bytes as they were.
  json kept = ParseOut(post.Ctl({"--json", "photo", "add", other, file, "--keep-metadata"}));
  CHECK(kept["metadata_kept"] == true);
  REQUIRE(post.Ctl({"photo", "get", kept["image"], "--out", out}).exit_code == 0);
  CHECK(ReadFile(out) == AsText(jpeg));
  (void)before;
}

TEST_CASE("photo add refuses what is not a whole photo of a live record, with one line, storing nothing",
          "[cli][photos]") {
  Node post("PK post", "post");
  auto ids = AddAllSamples(post);
  std::string seizure = ids.at("seizure-captagon-truck.json");
  ncen::Bytes jpeg = ncen::media::SamplePhotoJpeg(200, 150, 2);
  ncen::Bytes half(jpeg.begin(), jpeg.begin() + jpeg.size() / 2);
  std::string pdf = post.Write("doc.pdf", "%PDF-1.7\n1 0 obj\n<<>>\nendobj\n");
  std::string cut = post.Write("cut.jpg", AsText(half));
  std::string good = post.Write("good.jpg", AsText(jpeg));
  std::string empty = post.Write("empty.jpg", "");
  std::string big = post.Write("big.jpg", std::string(53 * 1000 * 1000, 'x'));
  json before = post.Status();
  json blobs_before = ParseOut(post.Ctl({"--json", "blobs"}));
  struct Case {
    std::vector<std::string> args;
    std::string needle;
  };
  std::vector<Case> cases = {
      {{"photo", "add", seizure, pdf}, "PDF"},
      {{"photo", "add", seizure, cut}, "truncated"},
      {{"photo", "add", seizure, empty}, "empty"},
      {{"photo", "add", seizure, big}, "limit"},
      {{"photo", "add", seizure, post.dir() + "/missing.jpg"}, "missing.jpg"},
      {{"photo", "add", "01a22d18-9d57-74aa-b970-fae9a853c4cf", good}, "no record"},
      {{"photo", "add", "not-an-id", good}, "not-an-id"},
      {{"photo", "add", seizure, good, "--caption", std::string(600, 'c')}, "caption"},
      {{"photo", "get", "abc", "--out", post.dir() + "/x"}, "not a photo hash"},
  };
  for (const Case& c : cases) {
    RunResult r = post.Ctl(c.args);
    INFO(c.args[2] << " " << c.needle);
    CheckRejected(post, before, r, {});
    CHECK_THAT(r.err, Catch::Contains(c.needle, Catch::CaseSensitive::No));
  }
  CHECK(ParseOut(post.Ctl({"--json", "blobs"})) == blobs_before);
  // A photo of a photo, or of a deleted record: refused.
  std::string photo = ParseOut(post.Ctl({"--json", "photo", "add", seizure, good}))["id"];
  CheckRejected(post, post.Status(), post.Ctl({"photo", "add", photo, good}), {"not a live seizure"});
  // A photo record is never edited by hand, nor imported.
  RunResult edit = post.Ctl({"update", photo, "--json", "-"}, "{}");
  CHECK(edit.exit_code == 1);
  CHECK(Contains(edit.err, "photo add"));
}

TEST_CASE("photo get of a photo not held says where it is", "[cli][photos]") {
  Node post("PK post", "post");
  CHECK(Contains(post.Ctl({"photo", "get", std::string(64, 'a'), "--out", post.dir() + "/x"}).err,
                 "not this node's to have"));
}

TEST_CASE("release --photo puts only the named photos in the report, never one that kept its metadata",
          "[cli][photos][sharing]") {
  Node hub("PK hub", "hub");
  auto ids = AddAllSamples(hub);
  std::string seizure = ids.at("seizure-captagon-truck.json");
  std::string other = ids.at("seizure-pangolin-scales-air.json");
  std::string a = hub.Write("a.jpg", AsText(ncen::media::SamplePhotoJpeg(64, 48, 3)));
  std::string b = hub.Write("b.jpg", AsText(ncen::media::WithCameraExif(ncen::media::SamplePhotoJpeg(64, 48, 4))));
  std::string named = ParseOut(hub.Ctl({"--json", "photo", "add", seizure, a}))["image"];
  std::string kept = ParseOut(hub.Ctl({"--json", "photo", "add", seizure, b, "--keep-metadata"}))["image"];
  std::string elsewhere = ParseOut(hub.Ctl({"--json", "photo", "add", other, a, "--caption", "x"}))["image"];
  REQUIRE(elsewhere == named);  // the same image on another seizure: one blob

  json report = ParseOut(hub.Ctl({"release", seizure, "--to", "regional", "--dry-run", "--photo", named}));
  REQUIRE(report["photos"].size() == 1);
  CHECK(report["photos"][0]["image"]["hash"] == named);
  CHECK_FALSE(Contains(report.dump(), "caption"));
  json before = hub.Status();
  CheckRejected(hub, before, hub.Ctl({"release", seizure, "--to", "regional", "--photo", kept}), {"GPS"});
  CheckRejected(hub, before, hub.Ctl({"release", other, "--to", "regional", "--photo", std::string(64, 'b')}),
                {"not the image of a live photo"});
  // Released with its photo, then again without naming it: the photo stays.
  REQUIRE(hub.Ctl({"release", seizure, "--to", "regional", "--photo", named}).exit_code == 0);
  json again = ParseOut(hub.Ctl({"release", seizure, "--to", "regional", "--dry-run"}));
  CHECK(again["photos"].size() == 1);
  CHECK(ParseOut(hub.Ctl({"--json", "releases", "--pending"})).empty());
}

// ---- messages (docs/messages.md) ----

TEST_CASE("msg send refuses bad input in one line and writes nothing", "[cli][messages]") {
  Node post("PK post", "post");
  Node hub("PK hub", "hub");
  REQUIRE(post.Ctl({"peers", "add", "--name", "pk-hub", "--id", hub.node_id()}).exit_code == 0);
  std::string big = post.Write("big.txt", std::string(64 * 1024 + 1, 'b'));
  std::string unknown_id = "01a22d18-9d57-74aa-b970-fae9a853c4cf";
  json before = post.Status();
  struct Case {
    std::vector<std::string> args;
    std::string needle;
  };
  std::vector<Case> cases = {
      {{"msg", "send", "--to", "nobody", "--subject", "s"}, "unknown recipient 'nobody'"},
      {{"msg", "send", "--to", "pk-hub", "--subject", ""}, "subject is empty"},
      {{"msg", "send", "--to", "pk-hub", "--subject", "s", "--body-file", big}, "64 KiB"},
      {{"msg", "send", "--to", "pk-hub", "--subject", "s", "--body", std::string(64 * 1024 + 1, 'b')}, "at most 65536"},
      {{"msg", "send", "--to", "pk-hub", "--subject", "s", "--reply-to", unknown_id}, "no such message"},
      {{"msg", "send", "--to", "pk-hub", "--subject", "s", "--reply-to", "xyz"}, "xyz"},
      {{"msg", "send", "--to", "pk-hub", "--subject", "s", "--priority", "high"}, "--priority"},
      {{"msg", "send", "--to", "pk-hub", "--all", "--subject", "s"}, "exactly one of"},
      {{"msg", "send", "--country", "PK", "--subject", "s"}, "network"},
      {{"msg", "send", "--to", "pk-hub", "--subject", "s", "--body", "b", "--body-file", big}, "not both"},
      {{"msg", "send", "--to", "pk-hub", "--subject", "s", "--link", "nope"}, "not a record id"},
      {{"msg", "send", "--to", "pk-hub", "--subject", "s", "--attach", post.dir() + "/missing.pdf"}, "missing.pdf"},
      {{"msg", "send", "--to", "pk-hub", "--subject", "s", "--attach", "-"}, "not standard input"},
      {{"msg", "send", "--to", "pk-hub", "--subject", "s", "--attach", post.Write("empty.pdf", "")}, "empty"},
  };
  for (const Case& c : cases) {
    RunResult r = post.Ctl(c.args);
    INFO(c.needle);
    CheckRejected(post, before, r, {c.needle});
  }
  // A limit that is not a count.
  for (std::vector<std::string> args : {std::vector<std::string>{"msg", "inbox", "--limit", "-3"},
                                        std::vector<std::string>{"list", "--limit", "0"}}) {
    RunResult bad = post.Ctl(args);
    CHECK(bad.exit_code == 1);
    CHECK(IsOneLine(bad.err));
    CHECK(Contains(bad.err, "--limit"));
  }
  // Reading: not a message id, an unknown message.
  RunResult r = post.Ctl({"msg", "read", unknown_id});
  CHECK(r.exit_code == 1);
  CHECK(IsOneLine(r.err));
  CHECK(post.Status() == before);
}

TEST_CASE("msg send, sent, read and thread at the sender; status counts what was sent", "[cli][messages]") {
  Node post("PK post", "post");
  Node hub("PK hub", "hub");
  REQUIRE(post.Ctl({"peers", "add", "--name", "pk-hub", "--id", hub.node_id()}).exit_code == 0);
  REQUIRE(hub.Ctl({"peers", "add", "--name", "pk-post", "--id", post.node_id()}).exit_code == 0);
  std::string body = post.Write("body.txt", "Line one.\nLine two.\n");
  std::string lading = post.Write("lading.pdf", "%PDF-1.7 bill of lading 4471");
  json sent = ParseOut(post.Ctl({"--json", "msg", "send", "--to", "pk-hub", "--subject", "Check ACME",
                                 "--body-file", body, "--priority", "alert", "--attach", lading}));
  REQUIRE(IsRecordId(sent["id"]));
  CHECK(sent["scope"] == "national");
  CHECK(sent["recipients"] == 1);
  // Between nodes: tests/system/messages_system_test.cpp runs the daemons.
  json listed = ParseOut(post.Ctl({"--json", "msg", "sent"}));
  REQUIRE(listed.size() == 1);
  CHECK(listed[0]["subject"] == "Check ACME");
  CHECK(listed[0]["priority"] == "alert");
  // The post's own inbox does not hold what it sent.
  CHECK(ParseOut(post.Ctl({"--json", "msg", "inbox"})).empty());
  CHECK(post.Status()["messages"]["sent"] == 1);
  // Reading it as the sender works (sealed to the sender too), thread too.
  json read = ParseOut(post.Ctl({"--json", "msg", "read", sent["id"]}));
  CHECK(read["body"] == "Line one.\nLine two.\n");
  REQUIRE(read["attachments"].size() == 1);
  CHECK(read["attachments"][0]["name"] == "lading.pdf");
  CHECK(read["attachments"][0]["media_type"] == "application/pdf");
  CHECK(read["attachments"][0]["held"] == true);
  // --save writes the attachment, decrypted; never over an existing file.
  std::string out = post.dir() + "/saved";
  std::filesystem::create_directory(out);
  RunResult saved = post.Ctl({"msg", "read", sent["id"], "--save", out});
  REQUIRE(saved.exit_code == 0);
  CHECK(ReadFile(out + "/lading.pdf") == "%PDF-1.7 bill of lading 4471");
  RunResult again = post.Ctl({"msg", "read", sent["id"], "--save", out});
  CHECK(again.exit_code == 1);
  CHECK(Contains(again.err, "not overwritten"));
  // In a table the body is indented, so it cannot pass for another message's header.
  RunResult text = post.Ctl({"msg", "read", sent["id"]});
  CHECK(Contains(text.out, "\n    Line one.\n    Line two.\n"));
  RunResult badmark = post.Ctl({"msg", "read", sent["id"], "--mark", "gone"});
  CHECK(badmark.exit_code == 1);
  CHECK(Contains(badmark.err, "--mark"));
  RunResult sentmark = post.Ctl({"msg", "read", sent["id"], "--mark", "archived"});
  CHECK(sentmark.exit_code == 1);
  CHECK(Contains(sentmark.err, "sent from here"));
  RunResult nodir = post.Ctl({"msg", "read", sent["id"], "--save", out + "/nope"});
  CHECK(nodir.exit_code == 1);
  CHECK(Contains(nodir.err, "no such directory"));
  json thread = ParseOut(post.Ctl({"--json", "msg", "thread", sent["id"]}));
  CHECK(thread.size() == 1);
  // Messages are not edited or deleted through the record commands.
  RunResult del = post.Ctl({"delete", sent["id"]});
  CHECK(del.exit_code == 1);
  CHECK(Contains(del.err, "message"));
}

// ---- Offline bundles (docs/bundles.md) ----

namespace {

// A post and a hub that know each other, and the post's samples.
struct BundlePair {
  Node post{"Torkham post", "post"};
  Node hub{"Islamabad hub", "hub"};
  BundlePair() {
    REQUIRE(post.Ctl({"peers", "add", "--name", "hub", "--id", hub.node_id()}).exit_code == 0);
    REQUIRE(hub.Ctl({"peers", "add", "--name", "torkham", "--id", post.node_id()}).exit_code == 0);
    AddAllSamples(post);
  }
  static std::string Digest(const Node& n) { return n.Status()["frontier_digest"].get<std::string>(); }
};

}  // namespace

TEST_CASE("bundle create, inspect and import carry a post's records to its hub, once", "[cli][bundles]") {
  BundlePair p;
  std::string file = p.post.dir() + "/to-hub.ncb";
  RunResult created = p.post.Ctl({"bundle", "create", "--for", "hub", "--out", file, "--max-bytes", "4096"});
  INFO(created.err);
  REQUIRE(created.exit_code == 0);
  std::vector<std::string> parts;
  for (const auto& e : fs::directory_iterator(p.post.dir())) {
    if (e.path().filename().string().rfind("to-hub.ncb.part", 0) == 0) parts.push_back(e.path().string());
  }
  REQUIRE(parts.size() >= 2);
  std::sort(parts.rbegin(), parts.rend());  // last part first

  std::vector<std::string> inspect = {"bundle", "inspect", "--json"};
  inspect.insert(inspect.end(), parts.begin(), parts.end());
  json info = ParseOut(p.hub.Ctl(inspect));
  CHECK(info["author"] == p.post.node_id());
  CHECK(info["for"] == p.hub.node_id());
  CHECK(info["entries"].get<uint64_t>() == SampleNames().size());
  CHECK(info["parts"].size() == parts.size());
  CHECK(info["problem"].is_null());
  CHECK(p.hub.Status()["entries"] == 0);  // inspect applies nothing

  std::vector<std::string> import = {"bundle", "import"};
  import.insert(import.end(), parts.begin(), parts.end());
  RunResult first = p.hub.Ctl(import);
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(Contains(first.out, "applied " + std::to_string(SampleNames().size()) + " entries from torkham"));
  CHECK(BundlePair::Digest(p.hub) == BundlePair::Digest(p.post));
  RunResult again = p.hub.Ctl(import);
  REQUIRE(again.exit_code == 0);
  CHECK(Contains(again.out, "nothing new"));
  CHECK(Contains(again.out, "nothing changed"));
}

TEST_CASE("bundle import refuses a missing or tampered part in one line and applies nothing", "[cli][bundles]") {
  BundlePair p;
  std::string file = p.post.dir() + "/b.ncb";
  REQUIRE(p.post.Ctl({"bundle", "create", "--for", "hub", "--out", file, "--max-bytes", "4096"}).exit_code == 0);
  std::vector<std::string> parts;
  for (const auto& e : fs::directory_iterator(p.post.dir())) {
    if (e.path().filename().string().rfind("b.ncb.part", 0) == 0) parts.push_back(e.path().string());
  }
  std::sort(parts.begin(), parts.end());
  REQUIRE(parts.size() >= 2);

  SECTION("missing") {
    RunResult r = p.hub.Ctl({"bundle", "import", parts.back()});
    CHECK(r.exit_code == 1);
    CHECK(IsOneLine(r.err));
    CHECK(Contains(r.err, "part(s) 1"));
  }
  SECTION("tampered") {
    std::string bytes = ReadFile(parts.front());
    bytes[100] ^= 0x01;
    WriteFile(parts.front(), bytes);
    std::vector<std::string> args = {"bundle", "import"};
    args.insert(args.end(), parts.begin(), parts.end());
    RunResult r = p.hub.Ctl(args);
    CHECK(r.exit_code == 2);
    CHECK(IsOneLine(r.err));
    CHECK(Contains(r.err, "part 1 of"));
    CHECK(Contains(r.err, "damaged"));
  }
  SECTION("a directory") {
    RunResult r = p.hub.Ctl({"bundle", "import", p.post.dir()});
    CHECK(r.exit_code != 0);
    CHECK(IsOneLine(r.err));
    CHECK(Contains(r.err, "is not a file"));
  }
  SECTION("not a bundle") {
    std::string junk = p.hub.Write("junk.ncb", "this is not a bundle at all, but long enough to hold a header.....");
    RunResult r = p.hub.Ctl({"bundle", "import", junk});
    CHECK(r.exit_code == 2);
    CHECK(IsOneLine(r.err));
    CHECK(Contains(r.err, "not an ncen bundle"));
  }
  CHECK(p.hub.Status()["entries"] == 0);
}

TEST_CASE("bundle create refuses a part size that is not a count in one line and writes nothing", "[cli][bundles]") {
  BundlePair p;
  // A negative size was read as a huge unsigned one, and the bundle written.
  for (const char* size : {"-5", "0", "100", "abc", "99999999999999999999999"}) {
    INFO(size);
    std::string file = p.post.dir() + "/bad" + size + ".ncb";
    RunResult r = p.post.Ctl({"bundle", "create", "--for", "hub", "--out", file, "--max-bytes", size});
    CHECK(r.exit_code != 0);
    CHECK(IsOneLine(r.err));
    CHECK(Contains(r.err, "--max-bytes"));
    CHECK_FALSE(fs::exists(file));
  }
}

// ---- who did it, and the access log (docs/audit.md) ----

TEST_CASE("ncenctl writes the system user into entered_by and logs who viewed a suspect", "[cli][audit]") {
  Node node;
  std::string seizure = node.AddSample("seizure-captagon-truck.json");
  std::string suspect = node.AddSample("suspect-muller.json");
  CHECK(node.Get(seizure)["entered_by"] == EnteredBy());
  // A body that claims someone else is overridden.
  json claimed = Sample("suspect-muller.json");
  claimed["entered_by"] = {{"name", "Director General"}, {"via", "api"}};
  std::string other = node.Add("suspect", node.Write("claimed.json", claimed.dump()));
  CHECK(node.Get(other)["entered_by"] == EnteredBy());

  // Writes and seizure reads are not logged; a suspect's get, a search and a list are.
  std::string audit_path = node.data() + "/audit.log";
  REQUIRE(Run({"--data", node.data(), "list", "--type", "seizure"}).exit_code == 0);
  json before = ParseOut(node.Ctl({"audit", "--json"}));
  REQUIRE(before.size() == 1);  // the Get of the second suspect above
  CHECK(before[0]["action"] == "view");
  CHECK(before[0]["type"] == "suspect");
  CHECK(before[0]["records"] == json::array({other}));
  CHECK(before[0]["user"] == SystemUser());
  CHECK(before[0]["via"] == "cli");
  CHECK(before[0]["address"] == "");

  REQUIRE(node.Ctl({"get", suspect}).exit_code == 0);
  REQUIRE(node.Ctl({"search", "muller"}).exit_code == 0);
  json events = ParseOut(node.Ctl({"audit", "--json"}));
  REQUIRE(events.size() == 3);
  CHECK(events[1]["action"] == "view");
  CHECK(events[1]["records"] == json::array({suspect}));
  CHECK(events[2]["action"] == "search");
  CHECK(events[2]["query"]["text"] == "muller");
  CHECK(events[2]["records"].size() == 2);
  CHECK((fs::status(audit_path).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));

  SECTION("the table, newest last, and the filters") {
    RunResult table = node.Ctl({"audit"});
    REQUIRE(table.exit_code == 0);
    auto lines = Lines(table.out);
    REQUIRE(lines.size() == 4);
    CHECK(lines[0].rfind("TIME", 0) == 0);
    CHECK(Contains(lines[3], "search"));
    CHECK(Contains(lines[3], "\"muller\""));
    CHECK(ParseOut(node.Ctl({"audit", "--json", "--limit", "1"}))[0]["action"] == "search");
    CHECK(ParseOut(node.Ctl({"audit", "--json", "--user", "nobody-else"})).empty());
    CHECK(ParseOut(node.Ctl({"audit", "--json", "--user", SystemUser()})).size() == 3);
    CHECK(ParseOut(node.Ctl({"audit", "--json", "--since", "2999-01-01"})).empty());
    CHECK(ParseOut(node.Ctl({"audit", "--json", "--since", "2020-01-01T00:00Z"})).size() == 3);
  }
  SECTION("bad input: one line, non-zero exit") {
    for (std::vector<std::string> args : {std::vector<std::string>{"audit", "--since", "yesterday"},
                                          {"audit", "--limit", "0"}, {"audit", "--limit", "x"}}) {
      RunResult r = node.Ctl(args);
      INFO(args[1] << " " << args[2] << ": " << r.err);
      CHECK(r.exit_code != 0);
      CHECK(r.out.empty());
      CHECK(Lines(r.err).size() == 1);
    }
  }
  SECTION("a damaged last line is reported on stderr, the rest still shown") {
    auto size = fs::file_size(audit_path);
    fs::resize_file(audit_path, size - 5);
    RunResult r = node.Ctl({"audit", "--json"});
    CHECK(r.exit_code == 0);
    CHECK(json::parse(r.out).size() == 2);
    CHECK(Contains(r.err, "line 3: not JSON"));
    // The next get starts a new line: both it and the report of the torn one remain.
    REQUIRE(node.Ctl({"get", suspect}).exit_code == 0);
    RunResult again = node.Ctl({"audit", "--json"});
    CHECK(json::parse(again.out).size() == 3);
    CHECK(Contains(again.err, "line 3: not JSON"));
  }
}

TEST_CASE("ncenctl audit on a node that logged nothing shows nothing", "[cli][audit]") {
  Node node;
  RunResult r = node.Ctl({"audit"});
  CHECK(r.exit_code == 0);
  CHECK(Trim(r.out) == "(none)");
  CHECK(ParseOut(node.Ctl({"audit", "--json"})) == json::array());
}
