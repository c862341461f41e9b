// ReplaceFileAtomically: a unique temporary name next to the file, fsync, rename.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "node/durable_file.h"
#include "tests/support/temp_dir.h"

namespace ncen::node {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> Names(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST_CASE("ReplaceFileAtomically writes and replaces a file and leaves no temporary file", "[node]") {
  TempDir dir;
  REQUIRE(ReplaceFileAtomically(dir.path(), "ncen-node.address", "127.0.0.1:1\n").ok());
  CHECK(ReadText(dir.Sub("ncen-node.address")) == "127.0.0.1:1\n");
  REQUIRE(ReplaceFileAtomically(dir.path(), "ncen-node.address", "127.0.0.1:2\n").ok());
  CHECK(ReadText(dir.Sub("ncen-node.address")) == "127.0.0.1:2\n");
  CHECK(Names(dir.path()) == std::vector<std::string>{"ncen-node.address"});
}

TEST_CASE("ReplaceFileAtomically never writes through a file or symlink left at a temporary name",
          "[node]") {
  TempDir dir, elsewhere;
  std::string victim = elsewhere.Sub("victim");
  std::ofstream(victim) << "precious\n";
  // The names a fixed-name writer would use.
  fs::create_symlink(victim, dir.Sub("ncen-node.address.tmp"));
  fs::create_symlink(victim, dir.Sub(".ncen-node.address.tmp"));
  REQUIRE(ReplaceFileAtomically(dir.path(), "ncen-node.address", "127.0.0.1:3\n").ok());
  CHECK(ReadText(victim) == "precious\n");
  CHECK(ReadText(dir.Sub("ncen-node.address")) == "127.0.0.1:3\n");
  CHECK_FALSE(fs::is_symlink(dir.Sub("ncen-node.address")));
  CHECK(Names(dir.path()).size() == 3);
}

TEST_CASE("ReplaceFileAtomically says what failed and leaves nothing behind", "[node]") {
  TempDir dir;
  auto missing = ReplaceFileAtomically(dir.Sub("no-such-dir"), "f", "x");
  CHECK(missing.code() == StatusCode::kIOError);
  CHECK(missing.message().find("cannot create a temporary file in") != std::string::npos);
  // The target is a directory: the rename fails and the temporary file goes.
  fs::create_directory(dir.Sub("f"));
  fs::create_directory(dir.Sub("f") + "/inside");
  auto onto_dir = ReplaceFileAtomically(dir.path(), "f", "x");
  CHECK(onto_dir.code() == StatusCode::kIOError);
  CHECK(onto_dir.message().find("cannot rename") != std::string::npos);
  CHECK(Names(dir.path()) == std::vector<std::string>{"f"});
}

}  // namespace
}  // namespace ncen::node
