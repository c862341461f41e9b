// docs/api.yaml against the server's routes (node::Api::Routes()): a route
// added without documenting it, or an operation documented that the server
// does not have, fails here and names the (method, path) pair.
//
// The file is read without a YAML library, by its layout (docs/api.yaml's
// opening comment): under `paths:`, a path at two spaces, a method at four,
// `responses:` at six, status codes at eight. Anything else at four spaces
// under a path that is not an operation's sibling (parameters, summary...)
// is an error, so a misspelt method cannot hide.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "node/http/api.h"

namespace ncen::node {
namespace {

struct Operation {
  std::set<int> statuses;
  int line = 0;
};

using OperationKey = std::pair<std::string, std::string>;  // ("GET", "/api/records/{id}")

struct Spec {
  std::map<OperationKey, Operation> operations;
  std::vector<std::string> errors;  // layout the parser does not understand
};

size_t Indent(const std::string& line) {
  size_t n = 0;
  while (n < line.size() && line[n] == ' ') ++n;
  return n;
}

// The key of a `key:` line (quotes removed), or empty when the line is not one.
std::string KeyOf(const std::string& line) {
  std::string text = line.substr(Indent(line));
  size_t hash = text.find(" #");
  if (hash != std::string::npos) text.resize(hash);
  while (!text.empty() && text.back() == ' ') text.pop_back();
  if (text.empty() || text.back() != ':') return {};
  text.pop_back();
  if (text.size() >= 2 && (text.front() == '"' || text.front() == '\'') && text.back() == text.front()) {
    text = text.substr(1, text.size() - 2);
  }
  return text;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

Spec ParseSpec(const std::string& text) {
  static const std::set<std::string> kMethods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"};
  static const std::set<std::string> kPathFields = {"summary", "description", "parameters", "servers", "$ref"};
  Spec spec;
  std::istringstream in(text);
  std::string line, path;
  Operation* op = nullptr;
  bool in_paths = false, in_responses = false;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find('\t') != std::string::npos) spec.errors.push_back("line " + std::to_string(number) + ": a tab");
    size_t indent = Indent(line);
    if (indent == line.size() || line[indent] == '#') continue;
    std::string key = KeyOf(line);
    if (indent == 0) {
      in_paths = key == "paths";
      op = nullptr;
      continue;
    }
    if (!in_paths) continue;
    if (indent == 2) {
      if (key.empty() || key.front() != '/') {
        spec.errors.push_back("line " + std::to_string(number) + ": expected a path at two spaces: " + line);
      }
      path = key;
      op = nullptr;
      in_responses = false;
    } else if (indent == 4) {
      in_responses = false;
      op = nullptr;
      if (kMethods.count(key)) {
        OperationKey k{Upper(key), path};
        if (spec.operations.count(k)) {
          spec.errors.push_back("line " + std::to_string(number) + ": " + k.first + " " + path + " twice");
        }
        op = &spec.operations[k];
        op->line = number;
      } else if (!kPathFields.count(key)) {
        spec.errors.push_back("line " + std::to_string(number) + ": '" + key + "' is not a method (under " + path + ")");
      }
    } else if (indent == 6 && op) {
      in_responses = key == "responses";
    } else if (indent == 8 && op && in_responses && !key.empty()) {
      try {
        size_t used = 0;
        int status = std::stoi(key, &used);
        if (used != key.size() || status < 100 || status > 599) throw std::invalid_argument(key);
        op->statuses.insert(status);
      } catch (const std::exception&) {
        if (key != "default") {
          spec.errors.push_back("line " + std::to_string(number) + ": '" + key + "' is not a status code");
        }
      }
    }
  }
  return spec;
}

std::string ReadSpecFile() {
  std::string file = std::string(NCEN_SOURCE_DIR) + "/docs/api.yaml";
  std::ifstream in(file);
  INFO("reading " << file);
  REQUIRE(in.good());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_CASE("the api.yaml reader finds operations and their status codes by their layout", "[node][http]") {
  Spec spec = ParseSpec(
      "openapi: 3.0.3\n"
      "paths:\n"
      "  /api/things/{id}:\n"
      "    parameters:\n"
      "      - name: id\n"
      "    get:\n"
      "      summary: a thing\n"
      "      responses:\n"
      "        \"200\":\n"
      "          description: ok\n"
      "        '404':\n"
      "          description: none\n"
      "    delete:\n"
      "      responses:\n"
      "        204:\n"
      "          description: gone\n"
      "components:\n"
      "  schemas:\n"
      "    get:\n");
  CHECK(spec.errors.empty());
  REQUIRE(spec.operations.size() == 2);
  CHECK(spec.operations.at({"GET", "/api/things/{id}"}).statuses == std::set<int>{200, 404});
  CHECK(spec.operations.at({"DELETE", "/api/things/{id}"}).statuses == std::set<int>{204});

  SECTION("a misspelt method is an error, not a missing operation") {
    Spec bad = ParseSpec("paths:\n  /api/x:\n    gett:\n      responses:\n        \"200\":\n");
    CHECK(bad.operations.empty());
    REQUIRE(bad.errors.size() == 1);
    CHECK(bad.errors[0].find("'gett' is not a method") != std::string::npos);
  }
  SECTION("an operation given twice is an error") {
    Spec bad = ParseSpec("paths:\n  /api/x:\n    get:\n    get:\n");
    CHECK(bad.errors.size() == 1);
  }
}

TEST_CASE("docs/api.yaml documents every route of the server, and only those", "[node][http]") {
  Spec spec = ParseSpec(ReadSpecFile());
  for (const auto& error : spec.errors) {
    INFO("docs/api.yaml " << error);
    CHECK(false);
  }
  std::vector<RouteInfo> routes = Api::Routes();
  REQUIRE(!routes.empty());
  std::set<OperationKey> served;
  for (const auto& r : routes) served.insert({r.method, r.pattern});

  SECTION("every route is documented") {
    for (const auto& r : routes) {
      INFO(r.method << " " << r.pattern << " is a route of node::Api but not an operation in docs/api.yaml");
      CHECK(spec.operations.count({r.method, r.pattern}) == 1);
    }
  }
  SECTION("every documented operation is a route") {
    for (const auto& [key, op] : spec.operations) {
      INFO(key.first << " " << key.second << " (docs/api.yaml line " << op.line
                     << ") is documented but node::Api has no such route");
      CHECK(served.count(key) == 1);
    }
  }
  SECTION("every operation documents a success and at least one error response") {
    for (const auto& [key, op] : spec.operations) {
      bool success = false, error = false;
      for (int status : op.statuses) {
        success = success || (status >= 200 && status < 300);
        error = error || status >= 400;
      }
      INFO(key.first << " " << key.second << " (docs/api.yaml line " << op.line << ")");
      {
        INFO("documents no success (2xx) response");
        CHECK(success);
      }
      {
        INFO("documents no error (4xx or 5xx) response");
        CHECK(error);
      }
    }
  }
}

}  // namespace
}  // namespace ncen::node
