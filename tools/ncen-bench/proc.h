// Running ncen-node from a benchmark: spawning it, and sampling its memory.
// Benchmarks only.
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/check.h"

namespace ncen::bench {

inline std::string NodeBinary() {
  if (const char* env = std::getenv("NCEN_NODE")) return env;
  return NCEN_NODE_PATH;
}

struct ProcStats {
  double peak_rss_mib = 0;
  double anon_rss_mib = 0;  // the largest RssAnon seen
};

inline void SampleProc(pid_t pid, ProcStats& stats) {
  // Between fork and exec the child is a copy of this process (and its
  // memory): count only ncen-node itself.
  std::string comm;
  std::getline(std::ifstream("/proc/" + std::to_string(pid) + "/comm"), comm);
  if (comm != "ncen-node") return;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    auto value = [&] { return std::strtod(line.c_str() + line.find(':') + 1, nullptr) / 1024.0; };
    if (line.rfind("VmHWM:", 0) == 0) stats.peak_rss_mib = std::max(stats.peak_rss_mib, value());
    if (line.rfind("RssAnon:", 0) == 0) stats.anon_rss_mib = std::max(stats.anon_rss_mib, value());
  }
}

inline pid_t Spawn(const std::vector<std::string>& args, const std::string& log_path) {
  pid_t pid = ::fork();
  NCEN_CHECK(pid >= 0);
  if (pid == 0) {
    // The nodes end with the benchmark, even when it dies on a failed check.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    FILE* log = std::fopen(log_path.c_str(), "a");
    if (!log) ::_exit(126);
    ::dup2(fileno(log), 2);
    std::vector<char*> argv;
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace ncen::bench
