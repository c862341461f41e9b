// The daemon in-process: its exception boundary (a session that throws
// loses only its own connection) with three real daemons on loopback, and
// the boundary function on its own.
#include <utility>  // before Asio (../shared/TOOLCHAIN.md)

#include <catch2/catch.hpp>

#include <boost/asio.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "base/log.h"
#include "node/config.h"
#include "node/daemon.h"
#include "node/audit.h"
#include "node/exception_boundary.h"
#include "node/http/accounts.h"
#include "storage/record_json.h"
#include "node/node_dir.h"
#include "tests/support/store_fixture.h"
#include "tools/common/http_exchange.h"

namespace ncen::node {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::TempDir;

TEST_CASE("the session exception boundary turns exceptions into a Status", "[node][daemon]") {
  bool ran = false;
  CHECK(CatchSessionExceptions([&] { ran = true; }).ok());
  CHECK(ran);
  Status oom = CatchSessionExceptions([] { throw std::bad_alloc(); });
  CHECK(oom.code() == StatusCode::kResourceExhausted);
  CHECK(oom.message().find("out of memory") != std::string::npos);
  Status other = CatchSessionExceptions([] { throw std::runtime_error("decoder bug"); });
  CHECK(other.code() == StatusCode::kUnavailable);
  CHECK(other.message() == "exception: decoder bug");
  // Only std::exception is caught: nothing ncen uses throws anything else.
  CHECK_THROWS_AS(CatchSessionExceptions([] { throw 42; }), int);
}

struct LogLines {
  std::mutex mutex;
  std::vector<std::string> lines;
  LogLines() {
    log::SetSink([this](std::string_view line) {
      std::lock_guard lock(mutex);
      lines.emplace_back(line);
    });
  }
  ~LogLines() { log::SetSink({}); }
  size_t Count(std::string_view text) {
    std::lock_guard lock(mutex);
    size_t n = 0;
    for (auto& l : lines) n += l.find(text) != std::string::npos;
    return n;
  }
  std::string All() {
    std::lock_guard lock(mutex);
    std::string out;
    for (auto& l : lines) out += l + "\n";
    return out;
  }
};

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

storage::StoreOptions Fast() {
  storage::StoreOptions options;
  options.durable = false;
  return options;
}

// A node directory holding `records` seizures of its own; returns its id.
crypto::PublicKey MakeNode(const std::string& dir, const std::string& name, const NodeConfig& config,
                           int records) {
  auto node = InitNode(dir, name, "post", Fast(), config);
  REQUIRE(node.ok());
  std::vector<storage::LocalChange> changes;
  for (int i = 0; i < records; ++i) {
    changes.push_back({storage::NewRecordId(storage::UnixMillisNow()), storage::RecordType::kSeizure,
                       storage::Op::kPut, testing::SeizurePayload(name + " " + std::to_string(i))});
  }
  REQUIRE(node->store->AppendLocal(node->identity, changes).ok());
  return node->identity.public_key();
}

// Runs a daemon on its own thread.
struct Running {
  std::unique_ptr<Daemon> daemon;
  std::thread thread;
  Status result;
  std::atomic<bool> done{false};

  explicit Running(DaemonOptions options) {
    auto d = Daemon::Create(options);
    REQUIRE(d.ok());
    daemon = std::move(d).value();
    thread = std::thread([this] {
      result = daemon->Run();
      done = true;
    });
  }
  ~Running() {
    if (thread.joinable()) {
      daemon->RequestStop();
      thread.join();
    }
  }
  void Join() { thread.join(); }
};

TEST_CASE("a session that throws loses its connection and the daemon serves the other peers",
          "[node][daemon]") {
  std::string call = GENERATE("start", "message", "tick", "flush");
  INFO("the hub's session with b throws once, in " << call);
  LogLines log;
  TempDir root;
  std::string hub_dir = root.Sub("hub"), b_dir = root.Sub("b"), c_dir = root.Sub("c");
  crypto::PublicKey b = MakeNode(b_dir, "b", {}, 20);
  crypto::PublicKey c = MakeNode(c_dir, "c", {}, 30);
  NodeConfig hub_config;
  hub_config.listen = "127.0.0.1:0";
  hub_config.peers = {{"b", b, "", AllScopes()}, {"c", c, "", AllScopes()}};
  crypto::PublicKey hub = MakeNode(hub_dir, "hub", hub_config, 0);
  // Someone left a symlink at the name a fixed-name writer would use for
  // the address file: writing the address must not go through it.
  std::string victim = root.Sub("victim");
  std::ofstream(victim) << "precious\n";
  fs::create_symlink(victim, hub_dir + "/ncen-node.address.tmp");

  DaemonOptions hub_options;
  hub_options.data_dir = hub_dir;
  hub_options.durable = false;
  std::atomic<int> thrown{0};
  hub_options.session_call_hook_for_testing = [&](const std::string& peer, std::string_view at) {
    if (peer == "b" && at == call && thrown.exchange(1) == 0) throw std::bad_alloc();
  };
  Running hub_daemon(hub_options);
  std::string address;
  for (int i = 0; i < 400 && address.empty(); ++i) {
    address = ReadText(hub_dir + "/" + kAddressFileName);
    if (address.empty()) std::this_thread::sleep_for(10ms);
  }
  REQUIRE(!address.empty());
  address.pop_back();  // the newline
  CHECK(ReadText(victim) == "precious\n");
  CHECK_FALSE(fs::is_symlink(hub_dir + "/" + kAddressFileName));

  auto peer_options = [&](const std::string& dir, bool once) {
    NodeConfig config;
    config.peers = {{"hub", hub, address, AllScopes()}};
    REQUIRE(SaveConfig(dir, config).ok());
    DaemonOptions options;
    options.data_dir = dir;
    options.durable = false;
    options.once = once;
    options.once_timeout_ms = 30000;
    return options;
  };
  // b dials the hub and stays; its first session at the hub ends in the
  // exception, and b's next connection is served.
  Running b_daemon(peer_options(b_dir, false));
  bool reconnected = false;
  for (int i = 0; i < 2000 && !reconnected; ++i) {
    reconnected = thrown == 1 && log.Count("connected to b (") >= 2 && log.Count("in sync with b") >= 1;
    if (!reconnected) std::this_thread::sleep_for(10ms);
  }
  INFO(log.All());
  REQUIRE(reconnected);
  CHECK(log.Count("session with b failed in " + call + ": RESOURCE_EXHAUSTED: out of memory") == 1);
  // The hub goes on serving: c syncs with it.
  Running c_daemon(peer_options(c_dir, true));
  c_daemon.Join();
  CHECK(c_daemon.result.ok());
  CHECK(log.Count("session with c failed") == 0);
  CHECK(log.Count("session with b failed") == 1);
  CHECK_FALSE(hub_daemon.done);
  b_daemon.daemon->RequestStop();
  b_daemon.Join();
  hub_daemon.daemon->RequestStop();
  hub_daemon.Join();
  CHECK(b_daemon.result.ok());
  CHECK(hub_daemon.result.ok());
  auto opened = OpenNodeDir(hub_dir, Fast());
  REQUIRE(opened.ok());
  CHECK(opened->store->Stats()->entries == 50);
}

using tools::HttpExchange;

std::string Post(const std::string& address, const std::string& path, const std::string& body,
                 const std::string& headers = "") {
  return HttpExchange(address, "POST " + path + " HTTP/1.1\r\nHost: " + address +
                                   "\r\nContent-Type: application/json\r\nConnection: close\r\n" + headers +
                                   "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
}

std::string BodyOf(const std::string& response) { return response.substr(response.find("\r\n\r\n") + 4); }

TEST_CASE("a record written over HTTP carries the officer and replicates like any other; views are logged",
          "[node][daemon][http]") {
  using json = nlohmann::json;
  TempDir root;
  std::string hub_dir = root.Sub("hub"), post_dir = root.Sub("post");
  crypto::PublicKey post = MakeNode(post_dir, "post", {}, 0);
  NodeConfig hub_config;
  hub_config.listen = "127.0.0.1:0";
  hub_config.peers = {{"post", post, "", AllScopes()}};
  crypto::PublicKey hub = MakeNode(hub_dir, "hub", hub_config, 0);
  REQUIRE(EditUsers(hub_dir, [](std::vector<User>& users) {
            users.push_back(User{"amina", Role::kOfficer, HashPassword("amina password").value(), false, 1, 1});
            return Status::Ok();
          }).ok());
  DaemonOptions hub_options;
  hub_options.data_dir = hub_dir;
  hub_options.durable = false;
  hub_options.http_listen_override = "127.0.0.1:0";
  Running hub_daemon(hub_options);
  std::string address, http;
  for (int i = 0; i < 400 && (address.empty() || http.empty()); ++i) {
    address = ReadText(hub_dir + "/" + kAddressFileName);
    http = ReadText(hub_dir + "/" + kHttpAddressFileName);
    if (address.empty() || http.empty()) std::this_thread::sleep_for(10ms);
  }
  REQUIRE(!http.empty());
  address.pop_back();
  http.pop_back();

  std::string login = Post(http, "/api/login", R"({"name":"amina","password":"amina password"})");
  REQUIRE(login.rfind("HTTP/1.1 200", 0) == 0);
  auto at = login.find("ncen_session=");
  std::string cookie = login.substr(at, login.find(';', at) - at);
  std::string csrf = json::parse(BodyOf(login))["csrf_token"];
  std::string auth = "Cookie: " + cookie + "\r\nX-CSRF-Token: " + csrf + "\r\n";
  // The body claims someone else wrote it: the server says who did.
  std::string created = Post(http, "/api/records",
                             R"({"type":"suspect","surname":"Haidari","entered_by":{"name":"someone else"}})", auth);
  REQUIRE(created.rfind("HTTP/1.1 201", 0) == 0);
  std::string id = json::parse(BodyOf(created))["id"];
  std::string viewed = HttpExchange(http, "GET /api/records/" + id + " HTTP/1.1\r\nHost: " + http +
                                              "\r\nConnection: close\r\n" + "Cookie: " + cookie + "\r\n\r\n");
  REQUIRE(viewed.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(json::parse(BodyOf(viewed))["entered_by"]["name"] == "amina");
  std::string searched = HttpExchange(http, "GET /api/search?q=haidari HTTP/1.1\r\nHost: " + http +
                                                "\r\nConnection: close\r\n" + "Cookie: " + cookie + "\r\n\r\n");
  REQUIRE(searched.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(json::parse(BodyOf(searched)).size() == 1);

  // The post syncs once with the hub and holds the record, officer and all.
  NodeConfig post_config;
  post_config.peers = {{"hub", hub, address, AllScopes()}};
  REQUIRE(SaveConfig(post_dir, post_config).ok());
  DaemonOptions post_options;
  post_options.data_dir = post_dir;
  post_options.durable = false;
  post_options.once = true;
  post_options.once_timeout_ms = 30000;
  Running post_daemon(post_options);
  post_daemon.Join();
  REQUIRE(post_daemon.result.ok());
  auto opened = OpenNodeDir(post_dir, Fast());
  REQUIRE(opened.ok());
  auto view = opened->store->GetRecord(storage::ParseRecordId(id).value());
  REQUIRE(view.ok());
  auto body = storage::RecordToJson(storage::RecordType::kSuspect, view->payloads[0]).value();
  CHECK(body["entered_by"]["name"] == "amina");
  CHECK(body["entered_by"]["node"] == "hub");
  CHECK(body["entered_by"]["via"] == "api");

  // The hub's access log names amina for the view and the search.
  auto lines = AuditLog::Read(hub_dir, AuditFilter{});
  REQUIRE(lines.ok());
  int views = 0, searches = 0;
  for (const auto& e : lines->events) {
    if (e.user != "amina" || e.via != "api") continue;
    views += e.action == "view";
    searches += e.action == "search";
  }
  CHECK(views >= 1);
  CHECK(searches == 1);
  hub_daemon.daemon->RequestStop();
  hub_daemon.Join();
  CHECK(hub_daemon.result.ok());
  CHECK_FALSE(fs::exists(hub_dir + "/" + kHttpAddressFileName));
}

}  // namespace
}  // namespace ncen::node
