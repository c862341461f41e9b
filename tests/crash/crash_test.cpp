// Crash test: a child process adding records is killed with SIGKILL at
// random moments; after each kill the store opens, verifies, and holds every
// record whose add had returned success.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "base/rng.h"
#include "node/node_dir.h"
#include "tests/support/temp_dir.h"

using namespace ncen;

namespace {

// Starts the writer; returns its pid and the read end of its stdout.
std::pair<pid_t, int> StartWriter(const std::string& dir) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execl(NCEN_CRASH_WRITER, NCEN_CRASH_WRITER, dir.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  return {pid, fds[0]};
}

// Reads whole lines from `fd` into `lines` until `want` lines arrived or EOF.
void ReadLines(int fd, std::string& buffer, std::vector<std::string>& lines, size_t want) {
  char chunk[4096];
  while (lines.size() < want) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n <= 0) return;
    buffer.append(chunk, static_cast<size_t>(n));
    size_t nl;
    while ((nl = buffer.find('\n')) != std::string::npos) {
      lines.push_back(buffer.substr(0, nl));
      buffer.erase(0, nl + 1);
    }
  }
}

}  // namespace

TEST_CASE("a writer killed with SIGKILL at random moments never loses an acknowledged record",
          "[crash]") {
  testing::TempDir tmp;
  std::string dir = tmp.Sub("node");
  REQUIRE(node::InitNode(dir, "crash test", "post").ok());
  Rng rng(20261128);
  std::vector<std::string> acknowledged;
  for (int round = 0; round < 20; ++round) {
    INFO("round " << round);
    auto [pid, fd] = StartWriter(dir);
    std::string buffer;
    std::vector<std::string> lines;
    ReadLines(fd, buffer, lines, rng.Between(1, 25));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ReadLines(fd, buffer, lines, SIZE_MAX);  // whatever it printed before dying
    ::close(fd);
    CHECK(WIFSIGNALED(status));
    acknowledged.insert(acknowledged.end(), lines.begin(), lines.end());

    auto node = node::OpenNodeDir(dir);
    REQUIRE(node.ok());
    auto verified = node->store->VerifyLog();
    INFO(verified.status().ToString());
    REQUIRE(verified.ok());
    for (const auto& id_text : acknowledged) {
      auto id = storage::ParseRecordId(id_text);
      REQUIRE(id.ok());
      CHECK(node->store->GetRecord(*id).ok());
    }
  }
  CHECK(acknowledged.size() >= 20);
}
