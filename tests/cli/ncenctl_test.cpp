// CLI tests: every ncenctl command, run as the real binary (NCENCTL_PATH) in
// a fresh temporary directory, with stdout, stderr and the exit code checked.
// The records come from samples/ (NCEN_SAMPLES_DIR), so the samples the
// project ships are known to be accepted.
//
// Contract under test (issue 2, "ncenctl"): exit 0 on success; 1 on a user
// error with exactly one line on stderr naming what is wrong and where (file,
// field); 2 on corruption or an internal error. A rejected write leaves the
// node exactly as it was, which is checked by comparing `status --json`.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

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
json WithId(json input, const std::string& id) {
  input["id"] = id;
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
  CHECK(empty["records"] == json({{"seizure", 0}, {"suspect", 0}, {"company", 0}}));
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
  CHECK(status["records"] == json({{"seizure", 1}, {"suspect", 0}, {"company", 1}}));
  REQUIRE(status["frontier"].size() == 1);
  const json& feed = status["frontier"][0];
  CHECK(feed["author"] == node.node_id());
  CHECK(feed["scope"] == "national");
  CHECK(feed["seq"] == 4);
  REQUIRE(feed["head"].is_string());
  CHECK(IsHex(feed["head"].get<std::string>(), 64));
  CHECK(IsHex(status["frontier_digest"].get<std::string>(), 64));
  CHECK(status["frontier_digest"] != empty["frontier_digest"]);

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
                                                          {"status"}};
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
