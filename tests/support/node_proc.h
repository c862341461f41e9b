// Multi-process tests' helpers: ncenctl run like an administrator would,
// and a node directory with its ncen-node daemon. Needs NCENCTL_PATH,
// NCEN_NODE_PATH and NCEN_BENCH_PATH (tests/CMakeLists.txt). Tests only.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace ncen::testing {

using namespace std::chrono_literals;

inline CommandResult Ctl(const std::string& dir, std::vector<std::string> args) {
  args.insert(args.begin(), {NCENCTL_PATH, "--data", dir});
  return RunCommand(args);
}

inline std::string CtlOk(const std::string& dir, std::vector<std::string> args) {
  auto r = Ctl(dir, args);
  INFO("ncenctl " << args[0] << ": " << r.err);
  REQUIRE(r.exit_code == 0);
  return r.out;
}

inline nlohmann::json Status(const std::string& dir) { return nlohmann::json::parse(CtlOk(dir, {"--json", "status"})); }

inline std::string Trim(std::string s) {
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
    std::filesystem::remove(AddressFile());
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

inline void WaitSynced(NodeProc& node, int seconds = 60) {
  auto r = Ctl(node.dir, {"status", "--wait-synced", "--timeout", std::to_string(seconds)});
  INFO(node.name << ": " << r.out << r.err << "\nlog:\n" << ReadWholeFile(node.log));
  REQUIRE(r.exit_code == 0);
}

// "127.0.0.1:PORT" (what ncen-node writes to its address file) as a
// socket address, for tests that dial a node by hand.
inline sockaddr_in Ipv4(const std::string& host_port) {
  size_t colon = host_port.rfind(':');
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(std::stoi(host_port.substr(colon + 1))));
  REQUIRE(::inet_pton(AF_INET, host_port.substr(0, colon).c_str(), &a.sin_addr) == 1);
  return a;
}

}  // namespace ncen::testing
