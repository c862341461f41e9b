// Running the project's binaries from tests: a command to completion with
// its output captured through files (no pipe can fill up), or a daemon in
// the background with its stderr appended to a log file. Tests only.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/temp_dir.h"

namespace ncen::testing {

struct CommandResult {
  int exit_code = -1;  // exit status, or 128 + signal
  std::string out, err;
};

inline std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Starts argv[0] with stdin from /dev/null, stdout to `out_path` and stderr
// to `err_path` (appended). Returns the pid.
inline pid_t SpawnProcess(const std::vector<std::string>& args, const std::string& out_path,
                          const std::string& err_path) {
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  NCEN_CHECK(pid >= 0);
  if (pid == 0) {
    int in = ::open("/dev/null", O_RDONLY);
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (in < 0 || out < 0 || err < 0 || ::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) {
      ::_exit(126);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

// Waits for `pid`; returns its exit code (128 + signal when killed).
inline int WaitProcess(pid_t pid) {
  int status = 0;
  pid_t waited;
  do {
    waited = ::waitpid(pid, &status, 0);
  } while (waited < 0 && errno == EINTR);
  if (waited != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

inline CommandResult RunCommand(const std::vector<std::string>& args) {
  TempDir io;
  pid_t pid = SpawnProcess(args, io.Sub("out"), io.Sub("err"));
  CommandResult r;
  r.exit_code = WaitProcess(pid);
  r.out = ReadWholeFile(io.Sub("out"));
  r.err = ReadWholeFile(io.Sub("err"));
  return r;
}

// A background process, killed (SIGKILL) and reaped when destroyed if still running.
class BackgroundProcess {
 public:
  BackgroundProcess() = default;
  BackgroundProcess(const std::vector<std::string>& args, const std::string& log_path)
      : pid_(SpawnProcess(args, "/dev/null", log_path)) {}
  BackgroundProcess(BackgroundProcess&& o) noexcept : pid_(o.pid_) { o.pid_ = -1; }
  BackgroundProcess& operator=(BackgroundProcess&& o) noexcept {
    std::swap(pid_, o.pid_);
    return *this;
  }
  ~BackgroundProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      WaitProcess(pid_);
    }
  }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  void Signal(int signal) const {
    if (pid_ > 0) ::kill(pid_, signal);
  }
  // Sends `signal` and waits; returns the exit code.
  int Stop(int signal = SIGTERM) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, signal);
    int code = WaitProcess(pid_);
    pid_ = -1;
    return code;
  }

 private:
  pid_t pid_ = -1;
};

}  // namespace ncen::testing
