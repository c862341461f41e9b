// Multi-process replication: real ncen-node daemons on loopback with
// ephemeral ports, driven with ncenctl like an administrator would. Each
// test has bounded waits and kills what it started.
#include <catch2/catch.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace ncen::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

CommandResult Ctl(const std::string& dir, std::vector<std::string> args) {
  args.insert(args.begin(), {NCENCTL_PATH, "--data", dir});
  return RunCommand(args);
}

std::string CtlOk(const std::string& dir, std::vector<std::string> args) {
  auto r = Ctl(dir, args);
  INFO("ncenctl " << args[0] << ": " << r.err);
  REQUIRE(r.exit_code == 0);
  return r.out;
}

json Status(const std::string& dir) { return json::parse(CtlOk(dir, {"--json", "status"})); }

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// A node directory and, while running, its daemon.
struct NodeProc {
  std::string dir, name, id, log;
  BackgroundProcess daemon;
  bool listens = false;

  NodeProc(const TempDir& root, const std::string& node_name, const std::string& role, bool listen)
      : dir(root.Sub(node_name)), name(node_name), log(root.Sub(node_name + ".log")), listens(listen) {
    std::vector<std::string> args = {"init", "--name", node_name, "--role", role, "--network", "test-net"};
    if (listen) args.insert(args.end(), {"--listen", "127.0.0.1:0"});
    CtlOk(dir, args);
    id = Trim(CtlOk(dir, {"id"}));
  }
  std::string AddressFile() const { return dir + "/ncen-node.address"; }
  // Starts the daemon; returns the address it listens on (or "").
  std::string Start() {
    fs::remove(AddressFile());
    daemon = BackgroundProcess({NCEN_NODE_PATH, "--data", dir}, log);
    if (!listens) return "";
    for (int i = 0; i < 400; ++i) {
      std::string address = Trim(ReadWholeFile(AddressFile()));
      if (!address.empty()) return address;
      std::this_thread::sleep_for(25ms);
    }
    FAIL("ncen-node " << name << " did not start listening; log:\n" << ReadWholeFile(log));
    return "";
  }
  void Import(size_t n) {
    TempDir tmp;
    auto gen = RunCommand({NCEN_BENCH_PATH, "generate", std::to_string(n)});
    REQUIRE(gen.exit_code == 0);
    std::string path = tmp.Sub("records.ndjson");
    std::ofstream(path) << gen.out;
    CtlOk(dir, {"import", "--json", path});
  }
};

// post <-> national <-> regional, as in the demo.
struct ThreeOffices {
  TempDir root;
  NodeProc post{root, "post", "post", false};
  NodeProc national{root, "national", "hub", true};
  NodeProc regional{root, "regional", "regional", true};
  std::string national_address, regional_address;

  void Wire() {
    regional_address = regional.Start();
    CtlOk(national.dir, {"peers", "add", "--name", "regional", "--id", regional.id, "--address", regional_address});
    CtlOk(national.dir, {"peers", "add", "--name", "post", "--id", post.id});
    CtlOk(regional.dir, {"peers", "add", "--name", "national", "--id", national.id});
    national_address = national.Start();
    // Keep this port across restarts (peers dial it).
    CtlOk(national.dir, {"config", "set", "listen", national_address});
    CtlOk(post.dir, {"peers", "add", "--name", "national", "--id", national.id, "--address", national_address});
    regional.daemon.Signal(SIGHUP);  // it learns the national hub's key
    post.Start();
  }
  std::vector<NodeProc*> all() { return {&post, &national, &regional}; }
};

void WaitSynced(NodeProc& node, int seconds = 60) {
  auto r = Ctl(node.dir, {"status", "--wait-synced", "--timeout", std::to_string(seconds)});
  INFO(node.name << ": " << r.out << r.err << "\nlog:\n" << ReadWholeFile(node.log));
  REQUIRE(r.exit_code == 0);
}

void RequireConverged(std::vector<NodeProc*> nodes) {
  json first = Status(nodes[0]->dir);
  for (NodeProc* n : nodes) {
    json s = Status(n->dir);
    INFO(n->name);
    CHECK(s["entries"] == first["entries"]);
    CHECK(s["frontier_digest"] == first["frontier_digest"]);
    CHECK(s["record_state_digest"] == first["record_state_digest"]);
    CHECK(Ctl(n->dir, {"log", "verify"}).exit_code == 0);
  }
}

TEST_CASE("three offices with concurrent writes converge", "[system]") {
  ThreeOffices net;
  net.post.Import(300);
  net.Wire();
  // Concurrent writes on all three while the daemons run.
  for (NodeProc* n : net.all()) {
    for (auto f : {"seizure-captagon-truck.json", "seizure-cash-airport.json"}) {
      CtlOk(n->dir, {"seizure", "add", "--json", std::string(NCEN_SAMPLES_DIR) + "/" + f});
    }
  }
  for (NodeProc* n : net.all()) WaitSynced(*n);
  RequireConverged(net.all());
  json s = Status(net.regional.dir);
  CHECK(s["entries"] == 306);
  // Status shows each peer with the fields administrators rely on.
  json national = Status(net.national.dir);
  REQUIRE(national["peers"].size() == 2);
  for (auto& p : national["peers"]) {
    CHECK(p["connected"] == true);
    CHECK(p["behind"] == 0);
    CHECK(p["ahead"] == 0);
    CHECK(p["last_sync"].is_string());
  }
  CHECK(national["stale_identity"] == false);
  // Clean shutdown.
  for (NodeProc* n : net.all()) CHECK(n->daemon.Stop(SIGTERM) == 0);
  json after = Status(net.national.dir);
  for (auto& p : after["peers"]) CHECK(p["connected"] == false);
}

TEST_CASE("killing the hub in the middle of a large sync loses nothing", "[system]") {
  ThreeOffices net;
  net.post.Import(25000);
  net.Wire();
  // Wait until the national hub has part of it, then kill -9.
  bool partial = false;
  for (int i = 0; i < 400 && !partial; ++i) {
    uint64_t have = Status(net.national.dir)["entries"];
    partial = have > 0;
    if (!partial) std::this_thread::sleep_for(10ms);
  }
  REQUIRE(partial);
  net.national.daemon.Stop(SIGKILL);
  uint64_t held = Status(net.national.dir)["entries"];
  INFO("the hub held " << held << " entries when killed");
  CHECK(held < 25000);
  CHECK(Ctl(net.national.dir, {"log", "verify"}).exit_code == 0);
  // Restart on the same port (peers dial that address).
  std::string again = net.national.Start();
  (void)again;
  for (NodeProc* n : net.all()) WaitSynced(*n, 120);
  RequireConverged(net.all());
  CHECK(Status(net.regional.dir)["entries"] == 25000);
}

TEST_CASE("a node started on an old copy of its data directory is detected as stale", "[system]") {
  ThreeOffices net;
  net.post.Import(10);
  net.Wire();
  WaitSynced(net.post);
  // Back up the post's directory (daemon stopped), then it writes more.
  net.post.daemon.Stop(SIGTERM);
  TempDir backup;
  fs::copy(net.post.dir, backup.Sub("post"), fs::copy_options::recursive);
  net.post.Start();
  net.post.Import(5);
  WaitSynced(net.post);
  REQUIRE(Status(net.national.dir)["entries"] == 15);
  net.post.daemon.Stop(SIGTERM);
  // Restore the old copy and start it.
  fs::remove_all(net.post.dir);
  fs::copy(backup.Sub("post"), net.post.dir, fs::copy_options::recursive);
  net.post.Start();
  bool stale = false;
  for (int i = 0; i < 200 && !stale; ++i) {
    stale = Status(net.post.dir)["stale_identity"] == true;
    if (!stale) std::this_thread::sleep_for(50ms);
  }
  CHECK(stale);
  auto add = Ctl(net.post.dir, {"seizure", "add", "--json", std::string(NCEN_SAMPLES_DIR) + "/seizure-cash-airport.json"});
  CHECK(add.exit_code != 0);
  CHECK(add.err.find("stale") != std::string::npos);
  // The hub did not fork the post's feed.
  CHECK(Status(net.national.dir)["forks"].empty());
  CHECK(ReadWholeFile(net.post.log).find("STALE IDENTITY") != std::string::npos);
}

TEST_CASE("an unknown node is refused and shows up in status", "[system]") {
  ThreeOffices net;
  net.Wire();
  TempDir other;
  NodeProc stranger(other, "stranger", "post", false);
  CtlOk(stranger.dir, {"peers", "add", "--name", "national", "--id", net.national.id, "--address", net.national_address});
  stranger.Start();
  bool refused = false;
  for (int i = 0; i < 200 && !refused; ++i) {
    refused = !Status(net.national.dir)["refused"].empty();
    if (!refused) std::this_thread::sleep_for(50ms);
  }
  CHECK(refused);
  CHECK(ReadWholeFile(net.national.log).find("refused peer") != std::string::npos);
  CHECK(Status(stranger.dir)["entries"] == 0);
}

}  // namespace
}  // namespace ncen::testing
