// node/durable_file.h: atomic replacement of a file and the exclusive lock
// on a lock file. The lock is checked with a non-blocking flock from another
// open file description, so nothing here waits.
#include "node/durable_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/temp_dir.h"

namespace {

using ncen::testing::TempDir;

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

size_t FilesIn(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

// Whether another open file description could take the lock on `path` now.
bool LockIsFree(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  REQUIRE(fd >= 0);
  bool free = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  ::close(fd);
  return free;
}

}  // namespace

TEST_CASE("ReplaceFileAtomically creates and replaces a file leaving no temporary file", "[node]") {
  TempDir dir;
  REQUIRE(ncen::node::ReplaceFileAtomically(dir.path(), "a.txt", "first").ok());
  CHECK(ReadText(dir.Sub("a.txt")) == "first");
  REQUIRE(ncen::node::ReplaceFileAtomically(dir.path(), "a.txt", "second, longer").ok());
  CHECK(ReadText(dir.Sub("a.txt")) == "second, longer");
  CHECK(FilesIn(dir.path()) == 1);
  CHECK((std::filesystem::status(dir.Sub("a.txt")).permissions() &
         std::filesystem::perms::others_read) == std::filesystem::perms::none);
}

TEST_CASE("ReplaceFileAtomically and SyncDir report a directory that does not exist", "[node]") {
  TempDir dir;
  ncen::Status s = ncen::node::ReplaceFileAtomically(dir.Sub("missing"), "a.txt", "x");
  CHECK(s.code() == ncen::StatusCode::kIOError);
  CHECK(s.message().find(dir.Sub("missing")) != std::string::npos);
  CHECK(ncen::node::SyncDir(dir.Sub("missing")).code() == ncen::StatusCode::kIOError);
  CHECK(ncen::node::SyncDir(dir.path()).ok());
}

TEST_CASE("FileLock excludes other holders until it is destroyed", "[node]") {
  TempDir dir;
  const std::string path = dir.Sub("x.lock");
  {
    auto lock = ncen::node::FileLock::Acquire(path);
    REQUIRE(lock.ok());
    CHECK_FALSE(LockIsFree(path));
    ncen::node::FileLock moved = std::move(lock).value();
    CHECK_FALSE(LockIsFree(path));
  }
  CHECK(LockIsFree(path));
  CHECK(std::filesystem::exists(path));  // kept: see node/durable_file.h
  CHECK(ncen::node::FileLock::Acquire(dir.Sub("missing/x.lock")).status().code() ==
        ncen::StatusCode::kIOError);
}
