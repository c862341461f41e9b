// DIR/ncen.toml (node/config.h): the round trip through SaveConfig and
// LoadConfig, the defaults, and every rejection — each with the file, the
// line and what is wrong, in one line.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "node/config.h"
#include "tests/support/store_fixture.h"

namespace {

using ncen::Status;
using ncen::crypto::NodeIdHex;
using ncen::node::LoadConfig;
using ncen::node::NodeConfig;
using ncen::node::PeerConfig;
using ncen::storage::Scope;
using ncen::testing::IdentityFromNumber;
using ncen::testing::TempDir;

std::string PeerHex(uint8_t n) { return NodeIdHex(IdentityFromNumber(n).public_key()); }

PeerConfig Peer(const std::string& name, uint8_t n, const std::string& address = "",
                std::vector<Scope> scopes = ncen::node::AllScopes()) {
  return PeerConfig{name, IdentityFromNumber(n).public_key(), address, std::move(scopes)};
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  REQUIRE(out.good());
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A file with one valid peer (lines 1–6) and `extra` from line 7 on.
std::string WithPeer(const std::string& extra) {
  return "listen = \"0.0.0.0:7400\"\n"      // 1
         "network_id = \"ncen\"\n"          // 2
         "\n"                               // 3
         "[[peers]]\n"                      // 4
         "name = \"hub\"\n"                 // 5
         "id = \"" + PeerHex(1) + "\"\n" +  // 6
         extra;
}

}  // namespace

TEST_CASE("a node without ncen.toml has the default configuration", "[node]") {
  TempDir dir;
  auto config = LoadConfig(dir.path());
  REQUIRE(config.ok());
  CHECK(config->listen.empty());
  CHECK(config->network_id == "ncen");
  CHECK(config->peers.empty());
  CHECK(*config == NodeConfig{});
}

TEST_CASE("SaveConfig writes what LoadConfig reads back", "[node]") {
  TempDir dir;
  NodeConfig config;
  config.listen = "[::]:0";
  config.network_id = "ncen-test/2026";
  config.peers = {Peer("kabul-hub", 1, "10.0.0.2:7400"),
                  Peer("post.7_b", 2, "", {Scope::kGlobal, Scope::kNational}),
                  Peer("quiet", 3, "localhost:65535", {}),
                  Peer("v6", 4, "[fe80::1]:1", {Scope::kRegional})};
  config.peers[0].rate = 32000;  // 256kbit
  config.peers[1].rate = 1500;   // 12kbit
  REQUIRE(ncen::node::SaveConfig(dir.path(), config).ok());
  auto loaded = LoadConfig(dir.path(), IdentityFromNumber(9).public_key());
  INFO(ReadText(dir.Sub("ncen.toml")));
  REQUIRE(loaded.ok());
  CHECK(*loaded == config);
  // Atomic replacement leaves no temporary file behind.
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    CHECK(e.path().filename() == "ncen.toml");
    ++files;
  }
  CHECK(files == 1);

  SECTION("saving again replaces the file") {
    config.peers.erase(config.peers.begin());
    config.listen.clear();
    REQUIRE(ncen::node::SaveConfig(dir.path(), config).ok());
    auto again = LoadConfig(dir.path());
    REQUIRE(again.ok());
    CHECK(*again == config);
  }
}

TEST_CASE("a rate cap is read in bits or bytes per second and written back the same", "[node][rate]") {
  using ncen::node::ParseRate;
  using ncen::node::RateText;
  CHECK(ParseRate("256kbit").value() == 32000);
  CHECK(ParseRate("256kbit/s").value() == 32000);
  CHECK(ParseRate("2Mbit").value() == 250000);
  CHECK(ParseRate("1.5Mbit").value() == 187500);
  CHECK(ParseRate("32kB").value() == 32000);
  CHECK(ParseRate("1MB").value() == 1000000);
  CHECK(ParseRate("off").value() == 0);
  CHECK(ParseRate("0").value() == 0);
  for (const char* bad : {"", "fast", "256", "256 kbit", "kbit", "1.2.3kbit", "-5kbit", "256kbits", "4kbit", "1Tbit",
                          "99999999999999999999kbit"}) {
    INFO(bad);
    auto r = ParseRate(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("rate") != std::string::npos);
  }
  for (uint64_t rate : {1000u, 8000u, 32000u, 187500u, 250000u, 1000000u, 12345u}) {
    INFO(RateText(rate));
    CHECK(ParseRate(RateText(rate)).value() == rate);
  }
  CHECK(RateText(32000) == "256kbit");
  CHECK(RateText(250000) == "2Mbit");
  CHECK(RateText(0) == "off");
}

TEST_CASE("LoadConfig reads a hand-written file with comments and defaults", "[node]") {
  TempDir dir;
  WriteText(dir.Sub("ncen.toml"),
            "# the border post\n"
            "listen = 'localhost:7400'  # literal strings work too\n"
            "[[peers]]\n"
            "name = \"hub\"\n"
            "id = \"" + PeerHex(1) + "\"\n"
            "[[peers]]\n"
            "name = \"regional\"\n"
            "id = \"" + PeerHex(2) + "\"\n"
            "address = \"192.168.10.1:7400\"\n"
            "scopes = [\"global\"]\n");
  auto config = LoadConfig(dir.path());
  REQUIRE(config.ok());
  CHECK(config->listen == "localhost:7400");
  CHECK(config->network_id == "ncen");
  REQUIRE(config->peers.size() == 2);
  CHECK(config->peers[0] == Peer("hub", 1));  // no address, every scope
  CHECK(config->peers[1] == Peer("regional", 2, "192.168.10.1:7400", {Scope::kGlobal}));
  CHECK(config->FindByName("regional") == &config->peers[1]);
  CHECK(config->FindById(IdentityFromNumber(1).public_key()) == &config->peers[0]);
  CHECK(config->FindByName("nobody") == nullptr);
  CHECK(config->FindById(IdentityFromNumber(3).public_key()) == nullptr);
}

TEST_CASE("LoadConfig rejects a bad file naming the file, the line and what is wrong", "[node]") {
  struct Case {
    const char* what;
    std::string text;
    int line;
    const char* needle;
  };
  const std::string other = PeerHex(2);
  const std::vector<Case> cases = {
      {"not TOML", "listen = \n", 1, "not valid TOML"},
      {"a key given twice", "listen = \"1.2.3.4:5\"\nlisten = \"1.2.3.4:6\"\n", 2, "not valid TOML"},
      {"unknown top-level key", "network_id = \"x\"\nlisen = \"1.2.3.4:5\"\n", 2, "unknown key 'lisen'"},
      {"listen not a string", "listen = 7400\n", 1, "listen must be a string"},
      {"listen without a port", "listen = \"10.0.0.1\"\n", 1, "expected HOST:PORT"},
      {"listen on a host name", "listen = \"example.org:7400\"\n", 1, "numeric IPv4"},
      {"peer port 0", WithPeer("address = \"10.0.0.2:0\"\n"), 7, "1 to 65535"},
      {"port 65536", "listen = \"10.0.0.1:65536\"\n", 1, "0 to 65535"},
      {"port not a number", "listen = \"10.0.0.1:http\"\n", 1, "0 to 65535"},
      {"port with a sign", "listen = \"10.0.0.1:+80\"\n", 1, "0 to 65535"},
      {"IPv4 part over 255", "listen = \"10.0.256.1:80\"\n", 1, "numeric IPv4"},
      {"IPv4 with five parts", "listen = \"10.0.0.1.1:80\"\n", 1, "numeric IPv4"},
      {"IPv4 with a leading zero", "listen = \"10.0.01.1:80\"\n", 1, "numeric IPv4"},
      {"IPv6 without brackets", "listen = \"::1:80\"\n", 1, "needs brackets"},
      {"IPv6 not an address", "listen = \"[::g]:80\"\n", 1, "not an IPv6 address"},
      {"IPv6 without a colon before the port", "listen = \"[::1]80\"\n", 1, "[IPV6]:PORT"},
      {"empty network_id", "network_id = \"\"\n", 1, "network_id must be 1 to 128"},
      {"network_id with a space", "\nnetwork_id = \"my net\"\n", 2, "printable ASCII"},
      {"peers as a table", "[peers]\nname = \"x\"\n", 1, "[[peers]]"},
      {"unknown peer key", WithPeer("adress = \"10.0.0.2:7400\"\n"), 7, "unknown key 'adress'"},
      {"a node setting after [[peers]]", WithPeer("http_static = \"/srv/ncen/ui\"\n"), 7,
       "'http_static' is a setting of the node: put it above the first [[peers]]"},
      {"peer without a name", "[[peers]]\nid = \"" + other + "\"\n", 1, "needs a name"},
      {"peer without an id", "\n[[peers]]\nname = \"hub\"\n", 2, "'hub' needs an id"},
      {"peer id not hex", WithPeer("[[peers]]\nname = \"b\"\nid = \"" + std::string(64, 'z') + "\"\n"),
       9, "64 hex digits"},
      {"peer id too short", WithPeer("[[peers]]\nname = \"b\"\nid = \"abcd\"\n"), 9, "64 hex digits"},
      {"peer id not an Ed25519 key",
       WithPeer("[[peers]]\nname = \"b\"\nid = \"" + std::string(64, '0') + "\"\n"), 9,
       "not a valid Ed25519 public key"},
      {"peer id not a string", WithPeer("[[peers]]\nname = \"b\"\nid = 5\n"), 9, "id must be a string"},
      {"peer name with a space", "[[peers]]\nname = \"kabul hub\"\nid = \"" + other + "\"\n", 2,
       "must be 1 to 64"},
      {"peer name too long",
       "[[peers]]\nname = \"" + std::string(65, 'a') + "\"\nid = \"" + other + "\"\n", 2,
       "must be 1 to 64"},
      {"peer address bad", WithPeer("address = \"10.0.0.2:99999\"\n"), 7, "1 to 65535"},
      {"unknown scope", WithPeer("scopes = [\"national\", \"local\"]\n"), 7, "unknown scope 'local'"},
      {"scope listed twice", WithPeer("scopes = [\"global\", \"global\"]\n"), 7, "listed twice"},
      {"scopes not a list", WithPeer("scopes = \"global\"\n"), 7, "must be a list"},
      {"scope not a string", WithPeer("scopes = [1]\n"), 7, "must be a string"},
      {"duplicate peer name", WithPeer("[[peers]]\nname = \"hub\"\nid = \"" + other + "\"\n"), 7,
       "'hub' is used twice (also at"},
      {"duplicate peer id", WithPeer("\n[[peers]]\nname = \"hub2\"\nid = \"" + PeerHex(1) + "\"\n"), 8,
       "same id as peer 'hub'"},
  };
  for (const Case& c : cases) {
    TempDir dir;
    std::string path = dir.Sub("ncen.toml");
    WriteText(path, c.text);
    auto config = LoadConfig(dir.path());
    INFO(c.what << "\n" << c.text);
    REQUIRE_FALSE(config.ok());
    const Status& s = config.status();
    INFO(s.message());
    CHECK(s.code() == ncen::StatusCode::kInvalidArgument);
    CHECK(s.message().rfind(path + ":" + std::to_string(c.line) + ": ", 0) == 0);
    CHECK(s.message().find(c.needle) != std::string::npos);
    CHECK(s.message().find('\n') == std::string::npos);
  }
}

TEST_CASE("LoadConfig refuses a file over 1 MiB before parsing it", "[node]") {
  TempDir dir;
  std::string comment = "# " + std::string(1021, 'x') + "\n";  // 1 KiB
  std::string text;
  for (int i = 0; i < 1024; ++i) text += comment;
  WriteText(dir.Sub("ncen.toml"), text);
  CHECK(LoadConfig(dir.path()).ok());  // exactly 1 MiB
  WriteText(dir.Sub("ncen.toml"), text + "\n");
  auto config = LoadConfig(dir.path());
  REQUIRE_FALSE(config.ok());
  CHECK(config.status().message() == dir.Sub("ncen.toml") + ": over 1048576 bytes");
}

TEST_CASE("LoadConfig given this node's id rejects a peer with that id", "[node]") {
  TempDir dir;
  WriteText(dir.Sub("ncen.toml"), WithPeer(""));
  CHECK(LoadConfig(dir.path(), IdentityFromNumber(2).public_key()).ok());
  auto config = LoadConfig(dir.path(), IdentityFromNumber(1).public_key());
  REQUIRE_FALSE(config.ok());
  CHECK(config.status().message() == dir.Sub("ncen.toml") + ":4: peer 'hub' has this node's own id");
}

TEST_CASE("SaveConfig refuses an invalid configuration and leaves the file as it was", "[node]") {
  TempDir dir;
  NodeConfig good;
  good.peers = {Peer("hub", 1)};
  REQUIRE(ncen::node::SaveConfig(dir.path(), good).ok());
  const std::string before = ReadText(dir.Sub("ncen.toml"));

  struct Case {
    const char* what;
    std::function<void(NodeConfig&)> spoil;
    const char* needle;
  };
  const std::vector<Case> cases = {
      {"bad listen", [](NodeConfig& c) { c.listen = "localhost"; }, "listen"},
      {"bad network id", [](NodeConfig& c) { c.network_id = std::string(129, 'n'); }, "network_id"},
      {"bad name", [](NodeConfig& c) { c.peers[0].name = ""; }, "peer name ''"},
      {"bad address", [](NodeConfig& c) { c.peers[0].address = "hub.example:7400"; }, "hub.example"},
      {"repeated scope", [](NodeConfig& c) { c.peers[0].scopes = {Scope::kGlobal, Scope::kGlobal}; },
       "listed twice"},
      {"id not a key", [](NodeConfig& c) { c.peers[0].id = {}; }, "not a valid Ed25519"},
      {"duplicate name", [](NodeConfig& c) { c.peers.push_back(Peer("hub", 2)); }, "used twice"},
      {"duplicate id", [](NodeConfig& c) { c.peers.push_back(Peer("other", 1)); }, "same id"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    NodeConfig config = good;
    c.spoil(config);
    Status s = ncen::node::SaveConfig(dir.path(), config);
    INFO(s.message());
    CHECK(s.code() == ncen::StatusCode::kInvalidArgument);
    CHECK(s.message().find(c.needle) != std::string::npos);
    CHECK(ReadText(dir.Sub("ncen.toml")) == before);
  }
  CHECK_FALSE(ncen::node::ValidateConfig(good, IdentityFromNumber(1).public_key()).ok());
  CHECK(ncen::node::ValidateConfig(good, IdentityFromNumber(2).public_key()).ok());
}

TEST_CASE("ParseAddress takes numeric IPv4, bracketed IPv6 and localhost", "[node]") {
  struct Case {
    const char* text;
    const char* host;
    uint16_t port;
  };
  for (const Case& c : std::vector<Case>{{"127.0.0.1:1", "127.0.0.1", 1},
                                         {"0.0.0.0:65535", "0.0.0.0", 65535},
                                         {"255.255.255.255:7400", "255.255.255.255", 7400},
                                         {"[::1]:7400", "::1", 7400},
                                         {"[::]:80", "::", 80},
                                         {"[2001:db8::7]:443", "2001:db8::7", 443},
                                         {"localhost:9", "localhost", 9}}) {
    INFO(c.text);
    auto hp = ncen::node::ParseAddress(c.text);
    REQUIRE(hp.ok());
    CHECK(hp->host == c.host);
    CHECK(hp->port == c.port);
  }
  for (const char* bad : {"", ":80", "localhost", "localhost:", "[::1]", "[::1:80", "1.2.3.4:080x",
                          "1.2.3:80", "a.b.c.d:80", "LOCALHOST:80", "[1.2.3.4]:80", "1.2.3.4:65536"}) {
    INFO(bad);
    CHECK(ncen::node::ParseAddress(bad).status().code() == ncen::StatusCode::kInvalidArgument);
    CHECK(ncen::node::ParseListenAddress(bad).status().code() == ncen::StatusCode::kInvalidArgument);
  }
  // Port 0 means "any free port": for listening only, never to dial.
  CHECK(ncen::node::ParseAddress("127.0.0.1:0").status().code() == ncen::StatusCode::kInvalidArgument);
  auto any = ncen::node::ParseListenAddress("127.0.0.1:0");
  REQUIRE(any.ok());
  CHECK(any->port == 0);
}

TEST_CASE("ParseScopeList reads a comma-separated list of scope names", "[node]") {
  using ncen::node::ParseScopeList;
  CHECK(ParseScopeList("").value().empty());
  CHECK(ParseScopeList("national").value() == std::vector<Scope>{Scope::kNational});
  CHECK(ParseScopeList("global,national").value() ==
        std::vector<Scope>{Scope::kGlobal, Scope::kNational});
  for (const char* bad : {"nat", "national,", ",national", "national,,global", "national,national",
                          "National", "national, global"}) {
    INFO(bad);
    CHECK(ParseScopeList(bad).status().code() == ncen::StatusCode::kInvalidArgument);
  }
}

TEST_CASE("EditConfig saves what the edit made and nothing when the edit or the result is bad",
          "[node]") {
  TempDir dir;
  const auto self = IdentityFromNumber(9).public_key();
  NodeConfig start;
  start.peers = {Peer("hub", 1)};
  REQUIRE(ncen::node::SaveConfig(dir.path(), start).ok());

  auto edited = ncen::node::EditConfig(dir.path(), self, [](NodeConfig& c) {
    c.peers.push_back(Peer("post", 2));
    return Status::Ok();
  });
  REQUIRE(edited.ok());
  CHECK(edited->peers.size() == 2);
  CHECK(LoadConfig(dir.path()).value() == *edited);
  const std::string before = ReadText(dir.path() + "/ncen.toml");

  SECTION("the edit's error is returned") {
    auto refused = ncen::node::EditConfig(dir.path(), self, [](NodeConfig& c) {
      c.peers.clear();
      return ncen::ConflictError("no");
    });
    CHECK(refused.status().code() == ncen::StatusCode::kConflict);
  }
  SECTION("a result with this node's own id is refused") {
    auto refused = ncen::node::EditConfig(dir.path(), self, [](NodeConfig& c) {
      c.peers.push_back(Peer("me", 9));
      return Status::Ok();
    });
    CHECK(refused.status().code() == ncen::StatusCode::kInvalidArgument);
  }
  CHECK(ReadText(dir.path() + "/ncen.toml") == before);
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    std::string name = entry.path().filename().string();
    INFO(name);  // ncen.toml and its lock file, no temporary file
    CHECK((name == "ncen.toml" || name == "ncen.toml.lock"));
  }
}
