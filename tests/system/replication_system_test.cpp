// Multi-process replication: real ncen-node daemons on loopback with
// ephemeral ports, driven with ncenctl like an administrator would. Each
// test has bounded waits and kills what it started.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "crypto/identity.h"
#include "replication/transport/channel.h"
#include "tests/support/node_proc.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace ncen::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

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

// ---- what strangers on the network may cost a node ----

// A field of /proc/PID/status in KiB ("VmRSS", "VmHWM").
int64_t ProcStatusKiB(pid_t pid, const std::string& field) {
  std::istringstream in(ReadWholeFile("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  }
  return -1;
}

size_t OpenFds(pid_t pid) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) ++n;
  return n;
}

// A TCP connection from the loopback address `source` (host order) that
// never says anything.
int IdleConnection(uint32_t source, const sockaddr_in& to) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  from.sin_addr.s_addr = htonl(source);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) == 0);
  REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0);
  return fd;
}

// How many of `fds` the other end has closed (EOF or reset).
size_t ClosedByPeer(const std::vector<int>& fds) {
  std::vector<pollfd> polls;
  for (int fd : fds) polls.push_back({fd, POLLIN | POLLRDHUP, 0});
  ::poll(polls.data(), polls.size(), 0);
  size_t n = 0;
  for (auto& p : polls) n += (p.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR)) != 0;
  return n;
}

size_t CountIn(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

uint64_t Entries(const std::string& dir) { return Status(dir)["entries"].get<uint64_t>(); }

void WaitForEntries(const NodeProc& node, uint64_t want) {
  uint64_t have = 0;
  for (int i = 0; i < 600 && have != want; ++i) {
    have = Entries(node.dir);
    if (have != want) std::this_thread::sleep_for(50ms);
  }
  INFO(node.name << " log:\n" << ReadWholeFile(node.log));
  REQUIRE(have == want);
}

TEST_CASE("2000 idle connections neither grow a node's memory nor stop it syncing", "[system]") {
  constexpr int kIdle = 2000;
  constexpr size_t kHandshakesMax = 64;  // limits::kInboundHandshakesMax
  rlimit files{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &files) == 0);
  if (files.rlim_max < kIdle + 200) {
    WARN("skipped: RLIMIT_NOFILE hard limit " << files.rlim_max << " is below " << kIdle + 200);
    return;
  }
  files.rlim_cur = std::max<rlim_t>(files.rlim_cur, kIdle + 200);
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &files) == 0);

  TempDir root;
  NodeProc hub(root, "hub", "hub", true);
  NodeProc post(root, "post", "post", false);
  CtlOk(hub.dir, {"peers", "add", "--name", "post", "--id", post.id});
  std::string address = hub.Start();
  CtlOk(post.dir, {"peers", "add", "--name", "hub", "--id", hub.id, "--address", address});
  post.Import(100);
  post.Start();
  WaitForEntries(hub, 100);
  pid_t pid = hub.daemon.pid();
  int64_t rss_before = ProcStatusKiB(pid, "VmRSS"), hwm_before = ProcStatusKiB(pid, "VmHWM");
  size_t fds_before = OpenFds(pid);

  // From 500 loopback addresses, 4 each: the per-address bound lets all in,
  // the total bound keeps 64.
  sockaddr_in to = Ipv4(address);
  std::vector<int> idle;
  for (int i = 0; i < kIdle; ++i) idle.push_back(IdleConnection(0x7f010001u + i / 4, to));
  size_t closed = 0;
  for (int i = 0; i < 3000 && closed < kIdle - kHandshakesMax; ++i) {
    closed = ClosedByPeer(idle);
    if (closed < kIdle - kHandshakesMax) std::this_thread::sleep_for(10ms);
  }
  int64_t rss_after = ProcStatusKiB(pid, "VmRSS"), hwm_after = ProcStatusKiB(pid, "VmHWM");
  size_t fds_after = OpenFds(pid);
  std::string log = ReadWholeFile(hub.log);
  INFO("hub RSS " << rss_before << " -> " << rss_after << " KiB (peak " << hwm_before << " -> "
                  << hwm_after << " KiB), descriptors " << fds_before << " -> " << fds_after << ", "
                  << closed << " connections closed at once, "
                  << CountIn(log, "closed at once") << " log line(s) about them");
  CHECK(closed == kIdle - kHandshakesMax);
  CHECK(fds_after <= fds_before + kHandshakesMax);
  CHECK(rss_after - rss_before < 20 * 1024);
  CHECK(hwm_after - hwm_before < 20 * 1024);
  CHECK(CountIn(log, "closed at once") >= 1);
  CHECK(CountIn(log, "closed at once") <= 3);

  // It still syncs: with the post, whose connection was open before ...
  post.Import(50);
  WaitForEntries(hub, 150);
  // ... and once the strangers hang up, with a new inbound connection.
  for (int fd : idle) ::close(fd);
  post.daemon.Stop(SIGTERM);
  post.Import(20);
  post.Start();
  WaitForEntries(hub, 170);
  CHECK(hub.daemon.running());
}

// One handshake as a node outside the roster: true when the node completed
// it and then refused us with its encrypted CLOSE.
bool RefusedHandshake(const sockaddr_in& to, const crypto::Identity& me) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  transport::ChannelOptions options;
  options.network_id = Bytes{'t', 'e', 's', 't', '-', 'n', 'e', 't'};
  transport::SecureChannel channel(crypto::NoiseRole::kInitiator, me, options,
                                   [](const crypto::PublicKey&) -> Result<std::string> { return std::string("hub"); });
  bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0 && channel.Start().ok();
  uint8_t buffer[4096];
  while (ok && !channel.peer_closed()) {
    Bytes out = channel.TakeOutput();
    ok = out.empty() || ::send(fd, out.data(), out.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(out.size());
    ssize_t n = ok ? ::recv(fd, buffer, sizeof buffer, 0) : -1;
    ok = n > 0 && channel.Receive(ByteView(buffer, static_cast<size_t>(n))).ok();
  }
  ::close(fd);
  return ok && channel.peer_close_reason().rfind("refused: ", 0) == 0 &&
         channel.peer_close_reason().find("is not in the trust roster") != std::string::npos;
}

// The attempts a refused row stands for: "(N attempts since ...)", or one.
uint64_t AttemptsOf(const json& row) {
  std::smatch m;
  std::string reason = row["reason"];
  if (std::regex_search(reason, m, std::regex(R"(\((\d+) attempts since )"))) return std::stoull(m[1]);
  return 1;
}

TEST_CASE("a flood of refused handshakes is written every few seconds, not once per attempt",
          "[system]") {
  TempDir root;
  NodeProc hub(root, "hub", "hub", true);
  sockaddr_in to = Ipv4(hub.Start());
  crypto::Identity stranger = crypto::Identity::Generate();
  std::string stranger_id = crypto::NodeIdHex(stranger.public_key());
  // As many handshakes as fit in 5 s (at most 3,000), one after another.
  uint64_t attempts = 0, refused = 0;
  auto start = std::chrono::steady_clock::now();
  while (attempts < 3000 && std::chrono::steady_clock::now() - start < 5s) {
    ++attempts;
    refused += RefusedHandshake(to, stranger);
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  REQUIRE(refused == attempts);
  // Every attempt is accounted for in the rows, once they are written.
  uint64_t recorded = 0;
  size_t rows = 0;
  for (int i = 0; i < 300 && recorded != attempts; ++i) {
    recorded = 0;
    rows = 0;
    json status = Status(hub.dir);  // (a range-for over a temporary's member would dangle)
    for (const json& row : status["refused"]) {
      REQUIRE(row["id"] == stranger_id);
      recorded += AttemptsOf(row);
      ++rows;
    }
    if (recorded != attempts) std::this_thread::sleep_for(50ms);
  }
  std::string log = ReadWholeFile(hub.log);
  INFO(attempts << " refused handshakes in " << seconds << " s became " << rows
                << " refused row(s) and " << CountIn(log, "refused peer") << " log line(s); log:\n"
                << log);
  CHECK(recorded == attempts);
  // One write per 2 s at most, the first at once, plus the last.
  CHECK(rows <= static_cast<size_t>(seconds / 2) + 2);
  // One log line per 5 s at most, with counts.
  CHECK(CountIn(log, "refused peer") <= static_cast<size_t>(seconds / 5) + 2);
  CHECK(hub.daemon.Stop(SIGTERM) == 0);
}

}  // namespace
}  // namespace ncen::testing
