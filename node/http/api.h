// The node's HTTP API as a function from a request to a response
// (docs/api.md, docs/api.yaml): routing, sessions, roles, anti-CSRF checks,
// JSON in and out. No sockets here: node/http/server.h reads requests off
// connections and writes the responses; the tests call Handle directly too.
//
// Every record operation goes through node::Records and the other node/
// libraries ncenctl uses; every JSON shape comes from node/json_views.h.
//
// Thread-safety: Handle may be called from several threads at once. It
// reads and writes the store like another process would (LMDB serializes
// the writers and never blocks the readers), so the daemon's replication on
// its own thread and the API never wait for each other except for the
// moment a write transaction commits.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "crypto/identity.h"
#include "node/http/accounts.h"
#include "node/http/sessions.h"
#include "node/node_dir.h"
#include "storage/store.h"

namespace ncen::node {

inline constexpr const char* kSessionCookie = "ncen_session";
inline constexpr const char* kCsrfHeader = "x-csrf-token";
inline constexpr size_t kJsonBodyBytesMax = size_t{1} << 20;  // 1 MiB: a record with its goods
inline constexpr int kJsonDepthMax = 32;
inline constexpr size_t kPhotoBodyBytesMax = size_t{50} << 20;     // media::ImagePolicy's limit
inline constexpr size_t kMessageBodyBytesMax = size_t{24} << 20;   // attachments in base64 within it

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: "/api/search?q=khan"
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
  std::string remote;  // the client's address, "127.0.0.1"
  bool tls = false;

  // The first header named `name` (lower case); empty when absent.
  std::string_view Header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Long poll (GET /api/changes?wait=S): nothing to send yet. The server
  // calls Handle again until there is, or this many ms have passed, and
  // then sends the last response.
  int64_t wait_ms = 0;
};

struct ApiOptions {
  std::string data_dir;       // DIR: users.json, the configuration, the access log
  const Clock* clock = nullptr;  // null: the system clock
  SessionLimits sessions;
  LoginLimits logins;
  // Files served for paths outside /api/ (the web UI); empty: none.
  std::string static_dir;
};

// A route of the API, for docs/api.yaml's check and the server's limits.
struct RouteInfo {
  std::string method;
  std::string pattern;  // "/api/records/{id}"
  bool slow = false;    // hashes a password or decodes a photo: run off the I/O threads
  bool needs_login = true;  // false: /api/login
  size_t body_limit = kJsonBodyBytesMax;
};

// The headers every response carries (also those the server makes itself:
// 413, 431, 408): nosniff, no framing, a content security policy, and for
// `api` answers no caching.
void AddSecurityHeaders(HttpResponse& r, bool api);

class Api {
 public:
  // `node` (its store and identity) must outlive the Api.
  Api(const OpenNode& node, ApiOptions options);
  ~Api();

  HttpResponse Handle(const HttpRequest& request);

  // Whether the Cookie header holds a live session (for the server, to
  // refuse a body from nobody before reading it); refreshes it, as the
  // request it comes with will.
  bool HasSession(std::string_view cookie_header);

  // The route `method` `target` goes to, or null (static files, 404, 405).
  static const RouteInfo* FindRoute(std::string_view method, std::string_view target);
  static std::vector<RouteInfo> Routes();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ncen::node
