#include "node/http/api.h"

#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "base/log.h"
#include "base/text.h"
#include "crypto/identity.h"
#include "node/code_lists.h"
#include "node/config.h"
#include "node/audit.h"
#include "node/json_views.h"
#include "node/messages.h"
#include "node/photos.h"
#include "node/releases.h"
#include "node/stats.h"
#include "node/records.h"
#include "node/status_report.h"
#include "storage/record_json.h"

namespace ncen::node {

std::string_view HttpRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

namespace {

using storage::RecordId;
using storage::RecordType;

// ---- Requests ----

// %XX and '+' (in a query) decoded; false for a bad escape or a NUL.
bool PercentDecode(std::string_view in, bool plus_is_space, std::string& out) {
  auto hex = [](char h) -> int {
    if (h >= '0' && h <= '9') return h - '0';
    if (h >= 'a' && h <= 'f') return h - 'a' + 10;
    if (h >= 'A' && h <= 'F') return h - 'A' + 10;
    return -1;
  };
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (in.size() - i < 3) return false;
      int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    if (c == '\0') return false;
    out.push_back(c);
  }
  return true;
}

struct Target {
  std::string path;
  std::map<std::string, std::string> query;
};

bool ParseTarget(std::string_view target, Target& out) {
  size_t q = target.find('?');
  if (!PercentDecode(target.substr(0, q), false, out.path)) return false;
  if (q == std::string_view::npos) return true;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string key, value;
    if (!PercentDecode(pair.substr(0, eq), true, key)) return false;
    if (eq != std::string_view::npos && !PercentDecode(pair.substr(eq + 1), true, value)) return false;
    out.query[key] = value;  // the last one wins
  }
  return true;
}

// The value of cookie `name`; empty when absent.
std::string CookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    size_t semi = header.find(';');
    std::string_view part = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.size() > name.size() && part.substr(0, name.size()) == name && part[name.size()] == '=') {
      return std::string(part.substr(name.size() + 1));
    }
  }
  return {};
}

bool SameText(std::string_view a, std::string_view b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

// ---- Responses ----

HttpResponse JsonResponse(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = DumpJson(body, -1);
  r.body.push_back('\n');
  return r;
}

const char* CodeName(int status) {
  switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthenticated";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 409: return "conflict";
    case 413: return "too_large";
    case 415: return "unsupported_media_type";
    case 429: return "too_many_requests";
    case 503: return "unavailable";
    default: return status >= 500 ? "internal" : "error";
  }
}

// {"error": message, "code": ..., "field": the field it names or null}.
HttpResponse ErrorResponse(int status, const std::string& message, const std::string& field = "") {
  return JsonResponse(status, {{"error", message}, {"code", CodeName(status)}, {"field", TextOrNull(field)}});
}

int HttpStatusFor(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kConflict:
    case StatusCode::kFailedPrecondition: return 409;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kResourceExhausted: return 413;
    case StatusCode::kUnavailable: return 503;
    default: return 500;
  }
}

// 429 with Retry-After, `wait_ms` from the login limiter.
HttpResponse TooManyTries(const std::string& what, int64_t wait_ms) {
  std::string seconds = std::to_string((wait_ms + 999) / 1000);
  auto r = ErrorResponse(429, what + ": try again in " + seconds + " s");
  r.headers.emplace_back("Retry-After", seconds);
  return r;
}

HttpResponse StatusResponse(const Status& s) {
  // The record codec names the field: "field 'goods[0].quantity': must be ..."
  std::string field;
  const std::string& m = s.message();
  size_t at = m.find("field '");
  if (at != std::string::npos) {
    size_t end = m.find('\'', at + 7);
    if (end != std::string::npos) field = m.substr(at + 7, end - at - 7);
  }
  int status = HttpStatusFor(s);
  if (status == 500) log::Line(fmt::format("api: {}", s.ToString()));
  return ErrorResponse(status, status == 500 ? "internal error (see the node's log)" : m, field);
}

// ---- JSON bodies ----

// A Content-Type's media type, lower case, without parameters.
std::string MediaType(std::string_view header) {
  std::string out(header.substr(0, header.find(';')));
  while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
  size_t start = out.find_first_not_of(" \t");
  out = start == std::string::npos ? std::string() : out.substr(start);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

// The body as a JSON object: 415 unless sent as JSON; 400 for broken JSON,
// invalid UTF-8, nesting deeper than kJsonDepthMax.
std::optional<HttpResponse> ParseBody(const HttpRequest& req, json& out) {
  if (MediaType(req.Header("content-type")) != "application/json") {
    return ErrorResponse(415, "send the body as Content-Type: application/json");
  }
  // A NUL would end the text for nlohmann's parser, and a duplicate key
  // would be read as its last value: either way what is stored would not
  // be what a filter in front of the node saw. Both are refused.
  if (req.body.find('\0') != std::string::npos) return ErrorResponse(400, "the body holds a NUL byte");
  bool too_deep = false;
  std::string duplicate;
  std::vector<std::set<std::string>> keys;
  json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth > kJsonDepthMax) too_deep = true;
    if (event == json::parse_event_t::object_start) keys.emplace_back();
    if (event == json::parse_event_t::object_end && !keys.empty()) keys.pop_back();
    if (event == json::parse_event_t::key && !keys.empty() && parsed.is_string()) {
      if (!keys.back().insert(parsed.get<std::string>()).second && duplicate.empty()) duplicate = parsed.get<std::string>();
    }
    return !too_deep;
  };
  try {
    out = json::parse(req.body, cb, true);
  } catch (const json::exception& e) {
    if (too_deep) return ErrorResponse(400, "the body nests deeper than " + std::to_string(kJsonDepthMax) + " levels");
    std::string what = e.what();
    return ErrorResponse(400, "the body is not valid JSON: " + what.substr(what.find(']') + 2));
  }
  if (too_deep) return ErrorResponse(400, "the body nests deeper than " + std::to_string(kJsonDepthMax) + " levels");
  if (!duplicate.empty()) return ErrorResponse(400, "the key '" + SanitizeText(duplicate, 64) + "' appears twice in one object", duplicate.size() <= 64 ? duplicate : "");
  if (!out.is_object()) return ErrorResponse(400, "the body is not a JSON object");
  return std::nullopt;
}

std::optional<size_t> ParseSize(const std::string& text) {
  size_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return v;
}

// ---- Routes ----

struct Caller {
  std::string user;
  std::string address;
  Role role = Role::kOfficer;
  std::string token;
  SessionInfo session;
};

struct Call {
  const HttpRequest& req;
  const Target& target;
  std::vector<std::string> params;  // the {…} segments, in order
  Caller* caller = nullptr;          // null for routes that need no login
};

enum class Access { kPublic, kOfficer, kAnalyst, kAdmin };

struct Route {
  RouteInfo info;
  Access access = Access::kOfficer;
  std::function<HttpResponse(Api::Impl&, Call&)> handler;
};

bool MatchPattern(std::string_view pattern, std::string_view path, std::vector<std::string>* params) {
  while (!pattern.empty() || !path.empty()) {
    if (pattern.empty() || path.empty()) return false;
    if (pattern.front() != '/' || path.front() != '/') return false;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    size_t pe = pattern.find('/'), qe = path.find('/');
    std::string_view ps = pattern.substr(0, pe), qs = path.substr(0, qe);
    if (ps.size() >= 2 && ps.front() == '{' && ps.back() == '}') {
      if (qs.empty()) return false;
      if (params) params->emplace_back(qs);
    } else if (ps != qs) {
      return false;
    }
    pattern = pe == std::string_view::npos ? std::string_view{} : pattern.substr(pe);
    path = qe == std::string_view::npos ? std::string_view{} : path.substr(qe);
  }
  return true;
}

const std::vector<Route>& RouteTable();

}  // namespace

class Api::Impl {
 public:
  Impl(const OpenNode& node, ApiOptions options)
      : node_(node),
        options_(std::move(options)),
        clock_(options_.clock ? options_.clock : &system_clock_),
        users_(options_.data_dir),
        codes_(options_.data_dir),
        sessions_(*clock_, options_.sessions),
        logins_(*clock_, options_.logins) {
    auto audit = AuditLog::Open(options_.data_dir);
    if (audit.ok()) {
      audit_ = std::move(audit).value();
    } else {
      // Nothing is shown without the access log (Handle answers 503).
      audit_error_ = audit.status();
      log::Line("api: cannot open the access log: " + audit.status().ToString());
    }
  }

  HttpResponse Handle(const HttpRequest& req);

  // Handlers.
  HttpResponse Login(Call& c);
  HttpResponse Logout(Call& c);
  HttpResponse Session(Call& c);
  HttpResponse Status(Call& c);
  HttpResponse ListRecords(Call& c);
  HttpResponse CreateRecord(Call& c);
  HttpResponse GetRecord(Call& c);
  HttpResponse UpdateRecord(Call& c, bool resolve);
  HttpResponse DeleteRecord(Call& c);
  HttpResponse LinkRecord(Call& c);
  HttpResponse LinkedSeizures(Call& c);
  HttpResponse RecordHistory(Call& c);
  HttpResponse Codes(Call& c);
  HttpResponse Members(Call& c);
  HttpResponse Search(Call& c);
  HttpResponse Conflicts(Call& c);
  HttpResponse Changes(Call& c);
  HttpResponse ListUsers(Call& c);
  HttpResponse AddUser(Call& c);
  HttpResponse SetPassword(Call& c);
  HttpResponse DisableUser(Call& c, bool disabled);
  HttpResponse Peers(Call& c);
  HttpResponse AddPhoto(Call& c);
  HttpResponse ListPhotos(Call& c);
  HttpResponse GetPhoto(Call& c);
  HttpResponse ListMessages(Call& c);
  HttpResponse SendMessage(Call& c);
  HttpResponse ReadMessage(Call& c);
  HttpResponse MessageThread(Call& c);
  HttpResponse MessageAttachment(Call& c);
  HttpResponse Release(Call& c);
  HttpResponse ListReleases(Call& c);
  HttpResponse Stats(Call& c);

 private:
  friend class Api;
  Records RecordsFor(const Caller& caller);
  static Actor ActorOf(const Caller& caller);
  struct Mailbox {
    NodeConfig config;
    std::optional<Messages> messages;
  };
  Result<std::unique_ptr<Mailbox>> OpenMailbox(const Caller& caller);
  // The caller's session from the cookie, checked against the users file;
  // or the response refusing the request.
  std::optional<HttpResponse> Authenticate(const HttpRequest& req, Caller& caller);
  std::optional<HttpResponse> CheckOrigin(const HttpRequest& req);
  HttpResponse StaticFile(const HttpRequest& req, const Target& target);
  std::string Cookie(const std::string& token, int64_t max_age_s, bool tls) const;
  // Written so that a search right after finds it (the daemon's indexer
  // would, a tick later).
  void Indexed();

  const OpenNode& node_;
  ApiOptions options_;
  SystemClock system_clock_;
  const Clock* clock_;
  UserDirectory users_;
  CodeListCache codes_;  // DIR/code-lists/ (node/code_lists.h)
  SessionTable sessions_;
  LoginLimiter logins_;
  std::unique_ptr<AuditLog> audit_;  // DIR/audit.log; shared by the threads (Append is thread-safe)
  ncen::Status audit_error_;
};

namespace {

std::string NodeRecordId(const RecordId& id) { return storage::FormatRecordId(id); }

// `type` from a path or query: 400 when unknown.
std::optional<HttpResponse> ParseTypeParam(const std::string& text, std::optional<RecordType>& out) {
  auto t = storage::ParseRecordType(text);
  if (!t) return ErrorResponse(400, "unknown record type '" + text + "'", "type");
  out = *t;
  return std::nullopt;
}

// An ETag of a record's versions: it changes whenever a version is added.
std::string VersionsTag(const storage::RecordView& view) {
  crypto::Blake2bHasher h;
  for (const auto& v : view.state.versions) {
    h.Update(ByteView(v.dot.author.data(), v.dot.author.size()));
    uint8_t seq[8];
    for (int i = 0; i < 8; ++i) seq[i] = static_cast<uint8_t>(v.dot.seq >> (56 - 8 * i));
    h.Update(ByteView(seq, 8));
  }
  auto d = h.Final();
  return "\"" + ToHex(ByteView(d.data(), 16)) + "\"";
}

const std::vector<Route>& RouteTable() {
  using I = Api::Impl;
  static const std::vector<Route> routes = [] {
    std::vector<Route> r;
    auto add = [&](std::string method, std::string pattern, Access access,
                   std::function<HttpResponse(I&, Call&)> h, bool slow = false) {
      bool login = access != Access::kPublic;
      r.push_back(Route{RouteInfo{std::move(method), std::move(pattern), slow, login, kJsonBodyBytesMax}, access,
                        std::move(h)});
    };
    add("POST", "/api/login", Access::kPublic, [](I& a, Call& c) { return a.Login(c); }, true);
    add("POST", "/api/logout", Access::kOfficer, [](I& a, Call& c) { return a.Logout(c); });
    add("GET", "/api/session", Access::kOfficer, [](I& a, Call& c) { return a.Session(c); });
    add("GET", "/api/status", Access::kOfficer, [](I& a, Call& c) { return a.Status(c); });
    add("GET", "/api/records", Access::kOfficer, [](I& a, Call& c) { return a.ListRecords(c); });
    add("POST", "/api/records", Access::kOfficer, [](I& a, Call& c) { return a.CreateRecord(c); });
    add("GET", "/api/records/{id}", Access::kOfficer, [](I& a, Call& c) { return a.GetRecord(c); });
    add("PUT", "/api/records/{id}", Access::kOfficer, [](I& a, Call& c) { return a.UpdateRecord(c, false); });
    add("DELETE", "/api/records/{id}", Access::kOfficer, [](I& a, Call& c) { return a.DeleteRecord(c); });
    add("POST", "/api/records/{id}/resolve", Access::kOfficer, [](I& a, Call& c) { return a.UpdateRecord(c, true); });
    add("POST", "/api/records/{id}/links", Access::kOfficer, [](I& a, Call& c) { return a.LinkRecord(c); });
    add("GET", "/api/records/{id}/seizures", Access::kOfficer, [](I& a, Call& c) { return a.LinkedSeizures(c); });
    add("GET", "/api/records/{id}/history", Access::kOfficer, [](I& a, Call& c) { return a.RecordHistory(c); });
    add("GET", "/api/codes", Access::kOfficer, [](I& a, Call& c) { return a.Codes(c); });
    add("GET", "/api/search", Access::kOfficer, [](I& a, Call& c) { return a.Search(c); });
    add("GET", "/api/conflicts", Access::kOfficer, [](I& a, Call& c) { return a.Conflicts(c); });
    add("GET", "/api/changes", Access::kOfficer, [](I& a, Call& c) { return a.Changes(c); });
    add("GET", "/api/users", Access::kAdmin, [](I& a, Call& c) { return a.ListUsers(c); });
    add("POST", "/api/users", Access::kAdmin, [](I& a, Call& c) { return a.AddUser(c); }, true);
    add("PUT", "/api/users/{name}/password", Access::kOfficer, [](I& a, Call& c) { return a.SetPassword(c); }, true);
    add("POST", "/api/users/{name}/disable", Access::kAdmin, [](I& a, Call& c) { return a.DisableUser(c, true); });
    add("POST", "/api/users/{name}/enable", Access::kAdmin, [](I& a, Call& c) { return a.DisableUser(c, false); });
    add("GET", "/api/peers", Access::kAdmin, [](I& a, Call& c) { return a.Peers(c); });
    add("GET", "/api/members", Access::kAdmin, [](I& a, Call& c) { return a.Members(c); });
    add("POST", "/api/records/{id}/photos", Access::kOfficer, [](I& a, Call& c) { return a.AddPhoto(c); }, true);
    r.back().info.body_limit = kPhotoBodyBytesMax;
    add("GET", "/api/records/{id}/photos", Access::kOfficer, [](I& a, Call& c) { return a.ListPhotos(c); });
    add("GET", "/api/photos/{hash}", Access::kOfficer, [](I& a, Call& c) { return a.GetPhoto(c); });
    add("GET", "/api/messages", Access::kOfficer, [](I& a, Call& c) { return a.ListMessages(c); });
    add("POST", "/api/messages", Access::kOfficer, [](I& a, Call& c) { return a.SendMessage(c); });
    r.back().info.body_limit = kMessageBodyBytesMax;
    add("GET", "/api/messages/{id}", Access::kOfficer, [](I& a, Call& c) { return a.ReadMessage(c); });
    add("GET", "/api/messages/{id}/thread", Access::kOfficer, [](I& a, Call& c) { return a.MessageThread(c); });
    add("GET", "/api/messages/{id}/attachments/{n}", Access::kOfficer,
        [](I& a, Call& c) { return a.MessageAttachment(c); });
    add("POST", "/api/releases", Access::kAnalyst, [](I& a, Call& c) { return a.Release(c); });
    add("GET", "/api/releases", Access::kAnalyst, [](I& a, Call& c) { return a.ListReleases(c); });
    add("GET", "/api/stats", Access::kAnalyst, [](I& a, Call& c) { return a.Stats(c); });
    return r;
  }();
  return routes;
}

bool Allowed(Access access, Role role) {
  switch (access) {
    case Access::kPublic:
    case Access::kOfficer: return true;
    case Access::kAnalyst: return role >= Role::kAnalyst;
    case Access::kAdmin: return role == Role::kAdmin;
  }
  return false;
}

const char* AccessName(Access a) {
  switch (a) {
    case Access::kAnalyst: return "analyst";
    case Access::kAdmin: return "admin";
    default: return "officer";
  }
}

}  // namespace

// ---- Checks common to every request ----

std::string Api::Impl::Cookie(const std::string& token, int64_t max_age_s, bool tls) const {
  std::string c = std::string(kSessionCookie) + "=" + token + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                  std::to_string(max_age_s);
  if (tls) c += "; Secure";
  return c;
}

std::optional<HttpResponse> Api::Impl::CheckOrigin(const HttpRequest& req) {
  // A browser says where a request comes from; a page of another origin
  // may send a request (a form, fetch without CORS) but must not change anything.
  std::string_view site = req.Header("sec-fetch-site");
  if (!site.empty() && site != "same-origin" && site != "none") {
    return ErrorResponse(403, "a request from another site may not change anything here");
  }
  std::string_view origin = req.Header("origin");
  if (origin.empty()) return std::nullopt;
  std::string_view host = req.Header("host");
  std::string expected = std::string(req.tls ? "https://" : "http://") + std::string(host);
  if (origin != expected) return ErrorResponse(403, "a request from origin " + std::string(origin) + " may not change anything here");
  return std::nullopt;
}

std::optional<HttpResponse> Api::Impl::Authenticate(const HttpRequest& req, Caller& caller) {
  std::string token = CookieValue(req.Header("cookie"), kSessionCookie);
  if (token.empty()) return ErrorResponse(401, "log in first (POST /api/login)");
  auto session = sessions_.Touch(token);
  if (!session) return ErrorResponse(401, "the session expired or was ended: log in again");
  // The users file has the last word: disabled, or changed since login.
  auto user = users_.Find(session->user);
  if (!user.ok() || user->disabled || user->changed_ms > session->created_ms || user->role != session->role) {
    sessions_.RemoveUser(session->user);
    return ErrorResponse(401, "the account was disabled or changed since this session began: log in again");
  }
  caller.user = session->user;
  caller.address = req.remote;
  caller.role = session->role;
  caller.token = token;
  caller.session = *session;
  return std::nullopt;
}

HttpResponse Api::Impl::Handle(const HttpRequest& req) {
  Target target;
  if (!ParseTarget(req.target, target)) return ErrorResponse(400, "the request target has a bad %-escape or a NUL");
  if (target.path.rfind("/api/", 0) != 0 && target.path != "/api") {
    if (req.method != "GET" && req.method != "HEAD") return ErrorResponse(405, "only GET here");
    return StaticFile(req, target);
  }
  const Route* route = nullptr;
  bool path_known = false;
  std::string allow;
  std::vector<std::string> params;
  for (const auto& r : RouteTable()) {
    std::vector<std::string> p;
    if (!MatchPattern(r.info.pattern, target.path, &p)) continue;
    path_known = true;
    if (r.info.method != req.method) {
      allow += (allow.empty() ? "" : ", ") + r.info.method;
      continue;
    }
    route = &r;
    params = std::move(p);
    break;
  }
  if (!route) {
    if (!path_known) return ErrorResponse(404, "no such API path: " + target.path);
    auto r = ErrorResponse(405, SanitizeText(req.method, 20) + " is not allowed on " + target.path + " (" + allow + ")");
    r.headers.emplace_back("Allow", allow);
    return r;
  }
  bool changes = req.method != "GET" && req.method != "HEAD";
  if (changes) {
    if (auto refused = CheckOrigin(req)) return *refused;
  }
  Caller caller;
  Call call{req, target, std::move(params), nullptr};
  if (route->access != Access::kPublic) {
    if (auto refused = Authenticate(req, caller)) return *refused;
    if (changes && !SameText(req.Header(kCsrfHeader), caller.session.csrf_token)) {
      return ErrorResponse(403, "missing or wrong X-CSRF-Token header (GET /api/session gives it)");
    }
    if (!audit_error_.ok()) {
      return ErrorResponse(503, "the access log cannot be written (" + audit_error_.message() + "): nothing is shown");
    }
    if (!Allowed(route->access, caller.role)) {
      return ErrorResponse(403, std::string("this needs the ") + AccessName(route->access) + " role; " + caller.user +
                                    " is " + RoleName(caller.role));
    }
    call.caller = &caller;
  }
  try {
    return route->handler(*this, call);
  } catch (const std::exception& e) {
    log::Line(fmt::format("api: {} {}: {}", req.method, target.path, e.what()));
    return ErrorResponse(500, "internal error (see the node's log)");
  }
}

Actor Api::Impl::ActorOf(const Caller& caller) { return Actor{caller.user, "api", caller.address}; }

// Every record operation as the officer: their name goes into what they
// write (entered_by), and what they view of suspects and companies into the
// access log (node/audit.h).
Records Api::Impl::RecordsFor(const Caller& caller) {
  return Records(*node_.store, node_.identity, ActorOf(caller), audit_.get());
}

void Api::Impl::Indexed() {
  auto r = node_.store->CatchUpIndex(2000);
  if (!r.ok()) log::Line(fmt::format("api: indexing after a write: {}", r.status().ToString()));
}

// ---- Sessions ----

HttpResponse Api::Impl::Login(Call& c) {
  json body;
  if (auto bad = ParseBody(c.req, body)) return *bad;
  if (!body.contains("name") || !body["name"].is_string()) return ErrorResponse(400, "name is missing", "name");
  if (!body.contains("password") || !body["password"].is_string()) {
    return ErrorResponse(400, "password is missing", "password");
  }
  std::string name = body["name"];
  std::string password = body["password"];
  if (!ValidateUserName(name).ok() || password.size() > kPasswordBytesMax) {
    // No account can have this name: count the failure against the address
    // only, so the limiter never keeps a name of the caller's choosing.
    logins_.Failed("", c.req.remote);
    return ErrorResponse(401, "wrong name or password, or the account is disabled");
  }
  int64_t wait = logins_.RetryAfterMs(name, c.req.remote);
  if (wait > 0) return TooManyTries("too many failed logins", wait);
  auto user = users_.Find(name);
  if (!user.ok() && user.status().code() != StatusCode::kNotFound) return StatusResponse(user.status());
  // The same work whether or not the name exists, so the time does not tell.
  static const std::string dummy = [] {
    auto h = HashPassword("not a password of anyone");
    return h.ok() ? *h : std::string();
  }();
  bool good = CheckPassword(user.ok() ? user->password_hash : dummy, password) && user.ok() && !user->disabled;
  if (!good) {
    logins_.Failed(name, c.req.remote);
    log::Line(fmt::format("api: failed login for '{}' from {}", SanitizeText(name, 64), c.req.remote));
    return ErrorResponse(401, "wrong name or password, or the account is disabled");
  }
  logins_.Succeeded(name);
  SessionInfo info;
  std::string token = sessions_.Create(user->name, user->role, &info);
  auto r = JsonResponse(200, {{"user", user->name},
                              {"role", RoleName(user->role)},
                              {"node", node_.store->meta().name},
                              {"csrf_token", info.csrf_token},
                              {"expires", TimeOrNull(info.expires_ms)}});
  r.headers.emplace_back("Set-Cookie", Cookie(token, options_.sessions.max_ms / 1000, c.req.tls));
  return r;
}

HttpResponse Api::Impl::Logout(Call& c) {
  sessions_.Remove(c.caller->token);
  HttpResponse r;
  r.status = 204;
  r.content_type.clear();
  r.headers.emplace_back("Set-Cookie", Cookie("", 0, c.req.tls));
  return r;
}

HttpResponse Api::Impl::Session(Call& c) {
  return JsonResponse(200, {{"user", c.caller->user},
                            {"role", RoleName(c.caller->role)},
                            {"node", node_.store->meta().name},
                            {"node_id", crypto::NodeIdHex(node_.identity.public_key())},
                            {"csrf_token", c.caller->session.csrf_token},
                            {"expires", TimeOrNull(c.caller->session.expires_ms)}});
}

// ---- Records ----

HttpResponse Api::Impl::Status(Call&) {
  auto report = GatherStatusReport(node_, options_.data_dir, false);
  if (!report.ok()) return StatusResponse(report.status());
  return JsonResponse(200, StatusJson(*report));
}

namespace {

std::optional<HttpResponse> LimitParam(const Target& t, size_t& limit, size_t max) {
  auto it = t.query.find("limit");
  if (it == t.query.end()) return std::nullopt;
  auto v = ParseSize(it->second);
  if (!v || *v == 0 || *v > max) {
    return ErrorResponse(400, "limit is a number from 1 to " + std::to_string(max), "limit");
  }
  limit = *v;
  return std::nullopt;
}

std::optional<HttpResponse> IdParam(const std::string& text, RecordId& out) {
  if (text.size() > 64) return ErrorResponse(400, "not a record id (longer than 64 characters)", "id");
  auto id = storage::ParseRecordId(text);
  if (!id.ok()) return ErrorResponse(400, id.status().message(), "id");
  out = *id;
  return std::nullopt;
}

}  // namespace

HttpResponse Api::Impl::ListRecords(Call& c) {
  std::optional<RecordType> type;
  size_t limit = 100;
  auto t = c.target.query.find("type");
  if (t != c.target.query.end()) {
    if (auto bad = ParseTypeParam(t->second, type)) return *bad;
  }
  if (auto bad = LimitParam(c.target, limit, 10000)) return *bad;
  auto items = RecordsFor(*c.caller).List(type, limit);
  if (!items.ok()) return StatusResponse(items.status());
  return JsonResponse(200, ItemsJson(*items));
}

HttpResponse Api::Impl::CreateRecord(Call& c) {
  json body;
  if (auto bad = ParseBody(c.req, body)) return *bad;
  if (!body.contains("type") || !body["type"].is_string()) {
    return ErrorResponse(400, "type is missing (seizure, suspect or company)", "type");
  }
  std::optional<RecordType> type;
  if (auto bad = ParseTypeParam(body["type"], type)) return *bad;
  if (*type != RecordType::kSeizure && *type != RecordType::kSuspect && *type != RecordType::kCompany) {
    return ErrorResponse(400, "only seizures, suspects and companies are written here", "type");
  }
  body.erase("type");
  auto id = RecordsFor(*c.caller).Add(*type, body);
  if (!id.ok()) return StatusResponse(id.status());
  Indexed();
  auto r = JsonResponse(201, {{"id", NodeRecordId(*id)}, {"type", storage::RecordTypeName(*type)}});
  r.headers.emplace_back("Location", "/api/records/" + NodeRecordId(*id));
  return r;
}

HttpResponse Api::Impl::GetRecord(Call& c) {
  RecordId id;
  if (auto bad = IdParam(c.params[0], id)) return *bad;
  auto view = RecordsFor(*c.caller).GetAny(id);
  if (!view.ok()) return StatusResponse(view.status());
  auto out = RecordJson(*view);
  if (!out.ok()) return StatusResponse(out.status());
  auto r = JsonResponse(200, *out);
  r.headers.emplace_back("ETag", VersionsTag(*view));
  return r;
}

namespace {

// The 409 of If-Match: the record as it is now, and its ETag.
HttpResponse ChangedResponse(const storage::RecordView& view) {
  auto current = RecordJson(view);
  json extra = current.ok() ? *current : json(nullptr);
  auto r = JsonResponse(409, {{"error", "the record changed since you read it: compare with the current version"},
                              {"code", "conflict"},
                              {"field", nullptr},
                              {"current", extra}});
  r.headers.emplace_back("ETag", VersionsTag(view));
  return r;
}

// If-Match: the versions the officer read. A tag of other versions is a 409
// at once; a matching one gives the versions' dots, which the write checks
// again inside its transaction (a version that arrives in between, from a
// peer or another officer, is a 409 too, never superseded unseen).
std::optional<HttpResponse> IfMatch(const HttpRequest& req, Records& records, const RecordId& id,
                                    std::optional<std::vector<storage::Dot>>& expected) {
  std::string_view if_match = req.Header("if-match");
  if (if_match.empty() || if_match == "*") return std::nullopt;
  auto view = records.GetAny(id);
  if (!view.ok()) return StatusResponse(view.status());
  if (if_match != VersionsTag(*view)) return ChangedResponse(*view);
  expected = VersionDots(view->state);
  return std::nullopt;
}

// The answer to a write that failed: a 409 with the current record when its
// versions changed under the If-Match.
HttpResponse WriteFailed(const Status& s, Records& records, const RecordId& id, bool if_match) {
  if (if_match && s.code() == StatusCode::kConflict) {
    auto view = records.GetAny(id);
    if (view.ok()) return ChangedResponse(*view);
  }
  return StatusResponse(s);
}

}  // namespace

HttpResponse Api::Impl::UpdateRecord(Call& c, bool resolve) {
  RecordId id;
  if (auto bad = IdParam(c.params[0], id)) return *bad;
  json body;
  if (auto bad = ParseBody(c.req, body)) return *bad;
  Records records = RecordsFor(*c.caller);
  std::optional<std::vector<storage::Dot>> expected;
  if (auto changed = IfMatch(c.req, records, id, expected)) return *changed;
  auto s = records.Update(id, body, resolve, expected ? &*expected : nullptr);
  if (!s.ok()) return WriteFailed(s, records, id, expected.has_value());
  Indexed();
  auto view = records.GetAny(id);
  if (!view.ok()) return StatusResponse(view.status());
  auto out = RecordJson(*view);
  if (!out.ok()) return StatusResponse(out.status());
  auto r = JsonResponse(200, *out);
  r.headers.emplace_back("ETag", VersionsTag(*view));
  return r;
}

HttpResponse Api::Impl::DeleteRecord(Call& c) {
  RecordId id;
  if (auto bad = IdParam(c.params[0], id)) return *bad;
  Records records = RecordsFor(*c.caller);
  std::optional<std::vector<storage::Dot>> expected;
  if (auto changed = IfMatch(c.req, records, id, expected)) return *changed;
  auto s = records.Delete(id, expected ? &*expected : nullptr);
  if (!s.ok()) return WriteFailed(s, records, id, expected.has_value());
  Indexed();
  return JsonResponse(200, {{"id", NodeRecordId(id)}, {"deleted", true}});
}

HttpResponse Api::Impl::LinkRecord(Call& c) {
  RecordId id;
  if (auto bad = IdParam(c.params[0], id)) return *bad;
  json body;
  if (auto bad = ParseBody(c.req, body)) return *bad;
  bool has_suspect = body.contains("suspect"), has_company = body.contains("company");
  if (has_suspect == has_company) return ErrorResponse(400, "give one of suspect or company", "suspect");
  const char* field = has_suspect ? "suspect" : "company";
  if (!body[field].is_string()) return ErrorResponse(400, std::string(field) + " is a record id", field);
  RecordId other;
  auto parsed = storage::ParseRecordId(body[field].get<std::string>());
  if (!parsed.ok()) return ErrorResponse(400, parsed.status().message(), field);
  other = *parsed;
  auto linked = RecordsFor(*c.caller).Link(id, other, has_company);
  if (!linked.ok()) return StatusResponse(linked.status());
  Indexed();
  return JsonResponse(200, {{"seizure", NodeRecordId(id)}, {field, NodeRecordId(other)}, {"linked", *linked}});
}

HttpResponse Api::Impl::LinkedSeizures(Call& c) {
  RecordId id;
  if (auto bad = IdParam(c.params[0], id)) return *bad;
  auto items = RecordsFor(*c.caller).LinkedSeizures(id);
  if (!items.ok()) return StatusResponse(items.status());
  return JsonResponse(200, ItemsJson(*items));
}

HttpResponse Api::Impl::RecordHistory(Call& c) {
  RecordId id;
  if (auto bad = IdParam(c.params[0], id)) return *bad;
  size_t limit = 200;
  if (auto bad = LimitParam(c.target, limit, 1000)) return *bad;
  auto history = RecordsFor(*c.caller).HistoryOf(id, limit);
  if (!history.ok()) return StatusResponse(history.status());
  auto membership = node_.store->GetMembership();
  if (!membership.ok()) return StatusResponse(membership.status());
  return JsonResponse(200, HistoryJson(id, *history, membership->get(),
                                       node_.identity.public_key(), node_.store->meta().name));
}

HttpResponse Api::Impl::Codes(Call&) {
  json out = json::object();
  json subtypes = json::object();
  for (const auto& [category, list] : storage::ListedSubtypes()) subtypes[category] = list;
  out["subtypes"] = subtypes;
  json problems = json::array();
  for (auto [kind, key] : {std::pair{CodeListKind::kOffices, "offices"}, std::pair{CodeListKind::kHsCodes, "hs_codes"}}) {
    auto list = codes_.Get(kind);
    json entries = json::array();
    for (const auto& e : list->entries) entries.push_back({{"code", e.code}, {"label", e.label}});
    out[key] = std::move(entries);
    for (const auto& p : list->problems) problems.push_back(p);
  }
  out["problems"] = std::move(problems);
  return JsonResponse(200, out);
}

HttpResponse Api::Impl::Search(Call& c) {
  SearchRequest r;
  const auto& q = c.target.query;
  auto get = [&](const char* k) { auto it = q.find(k); return it == q.end() ? std::string() : it->second; };
  r.text = get("q");
  if (r.text.size() > 500) return ErrorResponse(400, "the search text is longer than 500 bytes", "q");
  if (q.count("type")) {
    if (auto bad = ParseTypeParam(get("type"), r.type)) return *bad;
  }
  r.from_date = get("from");
  r.to_date = get("to");
  r.filter.country = get("country");
  r.filter.commodity = get("commodity");
  r.filter.route_country = get("route_country");
  r.filter.mode = get("mode");
  r.filter.detection = get("detection");
  r.filter.concealment = get("concealment");
  if (auto bad = LimitParam(c.target, r.limit, 10000)) return *bad;
  r.catch_up_index = false;  // the daemon's indexer keeps up; a search never waits for a sync
  auto items = RecordsFor(*c.caller).Search(r);
  if (!items.ok()) {
    const std::string& m = items.status().message();
    for (const char* field : {"from", "to", "country", "commodity", "route_country", "mode", "detection", "concealment"}) {
      if (m.rfind(std::string(field) + " ", 0) == 0 || m.rfind(std::string(field) + " '", 0) == 0) {
        return ErrorResponse(400, m, field);
      }
    }
    return StatusResponse(items.status());
  }
  auto resp = JsonResponse(200, ItemsJson(*items));
  auto backlog = node_.store->IndexBacklog();
  if (backlog.ok() && *backlog > 0) resp.headers.emplace_back("X-Ncen-Index-Behind", std::to_string(*backlog));
  return resp;
}

HttpResponse Api::Impl::Conflicts(Call& c) {
  size_t limit = 1000;
  if (auto bad = LimitParam(c.target, limit, 100000)) return *bad;
  auto items = RecordsFor(*c.caller).Conflicts(limit);
  if (!items.ok()) return StatusResponse(items.status());
  return JsonResponse(200, ItemsJson(*items));
}

HttpResponse Api::Impl::Changes(Call& c) {
  const auto& q = c.target.query;
  uint64_t since = 0;
  if (q.count("since")) {
    auto v = ParseSize(q.at("since"));
    if (!v) return ErrorResponse(400, "since is a change number (0 for the first)", "since");
    since = *v;
  }
  size_t limit = 1000;
  if (auto bad = LimitParam(c.target, limit, 10000)) return *bad;
  int64_t wait_s = 0;
  if (q.count("wait")) {
    auto v = ParseSize(q.at("wait"));
    if (!v || *v > 60) return ErrorResponse(400, "wait is 0 to 60 seconds", "wait");
    wait_s = static_cast<int64_t>(*v);
  }
  auto changes = node_.store->ChangesSince(since, limit);
  if (!changes.ok()) return StatusResponse(changes.status());
  json arr = json::array();
  uint64_t next = since;
  for (const auto& ch : *changes) {
    arr.push_back({{"change", ch.change_no},
                   {"record", NodeRecordId(ch.record)},
                   {"author", crypto::NodeIdHex(ch.feed.author)},
                   {"scope", storage::ScopeName(ch.feed.scope)},
                   {"seq", ch.seq}});
    next = std::max(next, ch.change_no);
  }
  auto r = JsonResponse(200, {{"changes", arr}, {"next", next}});
  if (arr.empty()) r.wait_ms = wait_s * 1000;
  return r;
}

// ---- Users and peers (admins) ----

namespace {

json UserJson(const User& u) {
  return {{"name", u.name},
          {"role", RoleName(u.role)},
          {"disabled", u.disabled},
          {"created", TimeOrNull(u.created_ms)},
          {"changed", TimeOrNull(u.changed_ms)}};
}

}  // namespace

HttpResponse Api::Impl::ListUsers(Call&) {
  auto users = LoadUsers(options_.data_dir);
  if (!users.ok()) return StatusResponse(users.status());
  json arr = json::array();
  for (const auto& u : *users) arr.push_back(UserJson(u));
  return JsonResponse(200, arr);
}

HttpResponse Api::Impl::AddUser(Call& c) {
  json body;
  if (auto bad = ParseBody(c.req, body)) return *bad;
  for (const char* k : {"name", "role", "password"}) {
    if (!body.contains(k) || !body[k].is_string()) return ErrorResponse(400, std::string(k) + " is missing", k);
  }
  std::string name = body["name"], password = body["password"];
  if (auto s = ValidateUserName(name); !s.ok()) return ErrorResponse(400, s.message(), "name");
  auto role = ParseRole(body["role"].get<std::string>());
  if (!role) return ErrorResponse(400, "role is officer, analyst or admin", "role");
  if (auto s = ValidatePassword(password); !s.ok()) return ErrorResponse(400, s.message(), "password");
  auto hash = HashPassword(password);
  if (!hash.ok()) return StatusResponse(hash.status());
  User added;
  auto s = EditUsers(options_.data_dir, [&](std::vector<User>& users) -> ncen::Status {
    for (const auto& u : users) {
      if (u.name == name) return ConflictError("user '" + name + "' exists already");
    }
    added.name = name;
    added.role = *role;
    added.password_hash = *hash;
    added.created_ms = added.changed_ms = clock_->NowMs();
    users.push_back(added);
    return ncen::Status::Ok();
  });
  if (!s.ok()) return StatusResponse(s);
  log::Line(fmt::format("api: {} added user '{}' ({})", c.caller->user, name, RoleName(*role)));
  return JsonResponse(201, UserJson(added));
}

HttpResponse Api::Impl::SetPassword(Call& c) {
  const std::string& name = c.params[0];
  if (name != c.caller->user && c.caller->role != Role::kAdmin) {
    return ErrorResponse(403, "only an admin changes another user's password");
  }
  json body;
  if (auto bad = ParseBody(c.req, body)) return *bad;
  if (!body.contains("password") || !body["password"].is_string()) {
    return ErrorResponse(400, "password is missing", "password");
  }
  std::string password = body["password"];
  if (name == c.caller->user) {
    // One's own: the current password too, so a borrowed session cannot take
    // the account, and guesses at it count as failed logins (and are limited so).
    int64_t wait = logins_.RetryAfterMs(name, c.req.remote);
    if (wait > 0) return TooManyTries("too many wrong passwords", wait);
    if (!body.contains("current") || !body["current"].is_string()) {
      return ErrorResponse(400, "current (your password now) is missing", "current");
    }
    auto me = users_.Find(name);
    if (!me.ok()) return StatusResponse(me.status());
    if (!CheckPassword(me->password_hash, body["current"].get<std::string>())) {
      logins_.Failed(name, c.req.remote);
      return ErrorResponse(403, "the current password is wrong", "current");
    }
  }
  if (auto s = ValidatePassword(password); !s.ok()) return ErrorResponse(400, s.message(), "password");
  auto hash = HashPassword(password);
  if (!hash.ok()) return StatusResponse(hash.status());
  auto s = EditUsers(options_.data_dir, [&](std::vector<User>& users) -> ncen::Status {
    for (auto& u : users) {
      if (u.name != name) continue;
      u.password_hash = *hash;
      u.changed_ms = clock_->NowMs();
      return ncen::Status::Ok();
    }
    return NotFound("no user '" + name + "'");
  });
  if (!s.ok()) return StatusResponse(s);
  sessions_.RemoveUser(name);
  HttpResponse r = JsonResponse(200, {{"name", name}, {"changed", true}});
  if (name == c.caller->user) r.headers.emplace_back("Set-Cookie", Cookie("", 0, c.req.tls));
  return r;
}

HttpResponse Api::Impl::DisableUser(Call& c, bool disabled) {
  const std::string& name = c.params[0];
  if (disabled && name == c.caller->user) return ErrorResponse(400, "an admin does not disable their own account", "name");
  User changed;
  auto s = EditUsers(options_.data_dir, [&](std::vector<User>& users) -> ncen::Status {
    for (auto& u : users) {
      if (u.name != name) continue;
      u.disabled = disabled;
      u.changed_ms = clock_->NowMs();
      changed = u;
      return ncen::Status::Ok();
    }
    return NotFound("no user '" + name + "'");
  });
  if (!s.ok()) return StatusResponse(s);
  if (disabled) sessions_.RemoveUser(name);
  log::Line(fmt::format("api: {} {} user '{}'", c.caller->user, disabled ? "disabled" : "enabled", name));
  return JsonResponse(200, UserJson(changed));
}

HttpResponse Api::Impl::Peers(Call&) {
  auto config = LoadConfig(options_.data_dir);
  if (!config.ok()) return StatusResponse(config.status());
  json arr = json::array();
  for (const auto& p : config->peers) arr.push_back(PeerConfigJson(p));
  return JsonResponse(200, arr);
}

HttpResponse Api::Impl::Members(Call&) {
  auto membership = node_.store->GetMembership();
  if (!membership.ok()) return StatusResponse(membership.status());
  return JsonResponse(200, MembersJson(membership->get(), node_.identity.public_key()));
}

// ---- Photos ----

namespace {

std::optional<HttpResponse> HashParam(const std::string& text, crypto::Hash256& out) {
  auto h = storage::ParseBlobHash(text);
  if (!h) return ErrorResponse(400, "a photo hash is 64 lower-case hex digits", "hash");
  out = *h;
  return std::nullopt;
}

bool Flag(const Target& t, const char* name) {
  auto it = t.query.find(name);
  return it != t.query.end() && it->second != "0" && it->second != "false";
}

std::string QueryText(const Target& t, const char* name) {
  auto it = t.query.find(name);
  return it == t.query.end() ? std::string() : it->second;
}

// The media type of a blob from its first bytes (what the photo record says
// is checked at add time; this only labels the download).
const char* SniffImage(const Bytes& b) {
  if (b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return "image/jpeg";
  if (b.size() >= 8 && b[0] == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') return "image/png";
  if (b.size() >= 12 && std::memcmp(b.data(), "RIFF", 4) == 0 && std::memcmp(b.data() + 8, "WEBP", 4) == 0) {
    return "image/webp";
  }
  if (b.size() >= 12 && std::memcmp(b.data() + 4, "ftyp", 4) == 0) return "image/heic";
  return "application/octet-stream";
}

}  // namespace

HttpResponse Api::Impl::AddPhoto(Call& c) {
  RecordId subject;
  if (auto bad = IdParam(c.params[0], subject)) return *bad;
  if (MediaType(c.req.Header("content-type")).rfind("image/", 0) != 0) {
    return ErrorResponse(415, "send the photo's bytes as the body, with its image/… Content-Type");
  }
  if (c.req.body.empty()) return ErrorResponse(400, "the body is empty: send the photo's bytes");
  PhotoAddOptions options;
  options.caption = QueryText(c.target, "caption");
  options.note = QueryText(c.target, "note");
  options.keep_metadata = Flag(c.target, "keep_metadata");
  Photos photos(*node_.store, node_.identity, ActorOf(*c.caller));
  auto added = photos.Add(subject, ByteView(reinterpret_cast<const uint8_t*>(c.req.body.data()), c.req.body.size()),
                          options);
  if (!added.ok()) return StatusResponse(added.status());
  Indexed();
  return JsonResponse(201, AddedPhotoJson(*added, subject));
}

HttpResponse Api::Impl::ListPhotos(Call& c) {
  RecordId subject;
  if (auto bad = IdParam(c.params[0], subject)) return *bad;
  Photos photos(*node_.store, node_.identity, ActorOf(*c.caller));
  photos.set_catch_up_index(false);
  auto items = photos.List(subject);
  if (!items.ok()) return StatusResponse(items.status());
  json arr = json::array();
  for (const auto& p : *items) arr.push_back(PhotoItemJson(p));
  return JsonResponse(200, arr);
}

HttpResponse Api::Impl::GetPhoto(Call& c) {
  crypto::Hash256 hash;
  if (auto bad = HashParam(c.params[0], hash)) return *bad;
  auto config = LoadConfig(options_.data_dir);
  if (!config.ok()) return StatusResponse(config.status());
  BlobWhere where = BlobWhere::kNotHere;
  Photos photos(*node_.store, node_.identity, ActorOf(*c.caller));
  photos.set_catch_up_index(false);
  auto bytes = photos.Get(hash, Flag(c.target, "preview"), Photos::EagerFor(*config), &where);
  if (!bytes.ok()) {
    // On its way or asked for on demand: 503 with the reason and a retry hint.
    if (bytes.status().code() == StatusCode::kUnavailable) {
      auto r = ErrorResponse(503, bytes.status().message());
      r.headers.emplace_back("Retry-After", "30");
      return r;
    }
    return StatusResponse(bytes.status());
  }
  HttpResponse r;
  r.status = 200;
  r.content_type = SniffImage(*bytes);
  r.body.assign(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  // Content-addressed: the same hash is always the same bytes.
  r.headers.emplace_back("Cache-Control", "private, max-age=31536000, immutable");
  r.headers.emplace_back("Content-Disposition", "inline");
  return r;
}

// ---- Messages ----

namespace {

}  // namespace

// The mailbox as the caller: messages need the configuration (peer names),
// which must outlive them.
Result<std::unique_ptr<Api::Impl::Mailbox>> Api::Impl::OpenMailbox(const Caller& caller) {
  NCEN_ASSIGN_OR_RETURN(NodeConfig config, LoadConfig(options_.data_dir));
  auto box = std::make_unique<Mailbox>();
  box->config = std::move(config);
  box->messages.emplace(*node_.store, node_.identity, &box->config, ActorOf(caller));
  return box;
}

HttpResponse Api::Impl::ListMessages(Call& c) {
  auto box = OpenMailbox(*c.caller);
  if (!box.ok()) return StatusResponse(box.status());
  Messages& messages = *(*box)->messages;
  size_t limit = 100;
  if (auto bad = LimitParam(c.target, limit, 10000)) return *bad;
  std::string which = QueryText(c.target, "box");
  if (which.empty()) which = "inbox";
  if (which != "inbox" && which != "sent") return ErrorResponse(400, "box is inbox or sent", "box");
  auto items = which == "sent" ? messages.Sent(limit) : messages.Inbox(Flag(c.target, "unread"), limit);
  if (!items.ok()) return StatusResponse(items.status());
  json arr = json::array();
  for (const auto& m : *items) arr.push_back(MessageItemJson(m, false));
  return JsonResponse(200, arr);
}

HttpResponse Api::Impl::SendMessage(Call& c) {
  json body;
  if (auto bad = ParseBody(c.req, body)) return *bad;
  MessageDraft draft;
  try {
    if (!body.contains("to") || !body["to"].is_object()) {
      return ErrorResponse(400, "to is missing: {\"nodes\": [...]}, {\"country\": \"PK\"}, {\"region\": ...} or {\"all\": true}", "to");
    }
    const json& to = body["to"];
    if (to.contains("nodes")) draft.to.nodes = to["nodes"].get<std::vector<std::string>>();
    draft.to.country = to.value("country", "");
    draft.to.region = to.value("region", "");
    draft.to.all = to.value("all", false);
    draft.subject = body.value("subject", "");
    draft.body = body.value("body", "");
    std::string priority = body.value("priority", "normal");
    if (priority == "normal") draft.priority = storage::MessagePriority::kNormal;
    else if (priority == "urgent") draft.priority = storage::MessagePriority::kUrgent;
    else if (priority == "alert") draft.priority = storage::MessagePriority::kAlert;
    else return ErrorResponse(400, "priority is normal, urgent or alert", "priority");
    if (body.contains("links")) draft.links = body["links"].get<std::vector<std::string>>();
    draft.reply_to = body.value("reply_to", "");
    if (body.contains("attachments")) {
      if (!body["attachments"].is_array()) return ErrorResponse(400, "attachments is an array", "attachments");
      for (const auto& a : body["attachments"]) {
        DraftAttachment d;
        d.name = a.at("name").get<std::string>();
        d.media_type = a.value("media_type", "application/octet-stream");
        std::string b64 = a.at("data").get<std::string>();
        d.data.resize(b64.size() / 4 * 3 + 3);
        size_t len = 0;
        if (sodium_base642bin(d.data.data(), d.data.size(), b64.data(), b64.size(), nullptr, &len, nullptr,
                              sodium_base64_VARIANT_ORIGINAL) != 0) {
          return ErrorResponse(400, "an attachment's data is not base64", "attachments");
        }
        d.data.resize(len);
        draft.attachments.push_back(std::move(d));
      }
    }
  } catch (const json::exception&) {
    return ErrorResponse(400, "a message is {to, subject, body, priority, links, reply_to, attachments: [{name, media_type, data (base64)}]}");
  }
  auto box = OpenMailbox(*c.caller);
  if (!box.ok()) return StatusResponse(box.status());
  Messages& messages = *(*box)->messages;
  auto sent = messages.Send(draft);
  if (!sent.ok()) return StatusResponse(sent.status());
  return JsonResponse(201, SentMessageJson(*sent));
}

HttpResponse Api::Impl::ReadMessage(Call& c) {
  RecordId id;
  if (auto bad = IdParam(c.params[0], id)) return *bad;
  auto box = OpenMailbox(*c.caller);
  if (!box.ok()) return StatusResponse(box.status());
  Messages& messages = *(*box)->messages;
  auto item = messages.Read(id, !Flag(c.target, "peek"));
  if (!item.ok()) return StatusResponse(item.status());
  json j = MessageItemJson(*item, true);
  for (size_t i = 0; i < item->content.attachments.size(); ++i) {
    auto held = messages.AttachmentHeld(*item, i);
    j["attachments"][i]["held"] = held.ok() && *held;
  }
  return JsonResponse(200, j);
}

HttpResponse Api::Impl::MessageThread(Call& c) {
  RecordId id;
  if (auto bad = IdParam(c.params[0], id)) return *bad;
  auto box = OpenMailbox(*c.caller);
  if (!box.ok()) return StatusResponse(box.status());
  Messages& messages = *(*box)->messages;
  auto items = messages.Thread(id);
  if (!items.ok()) return StatusResponse(items.status());
  json arr = json::array();
  for (const auto& m : *items) arr.push_back(MessageItemJson(m, true));
  return JsonResponse(200, arr);
}

HttpResponse Api::Impl::MessageAttachment(Call& c) {
  RecordId id;
  if (auto bad = IdParam(c.params[0], id)) return *bad;
  auto n = ParseSize(c.params[1]);
  if (!n) return ErrorResponse(400, "an attachment is numbered from 0", "n");
  auto box = OpenMailbox(*c.caller);
  if (!box.ok()) return StatusResponse(box.status());
  Messages& messages = *(*box)->messages;
  auto item = messages.Read(id, false);
  if (!item.ok()) return StatusResponse(item.status());
  if (*n >= item->content.attachments.size()) return ErrorResponse(404, "the message has no attachment " + c.params[1]);
  auto bytes = messages.AttachmentFile(*item, *n);
  if (!bytes.ok()) {
    if (bytes.status().code() == StatusCode::kUnavailable) return ErrorResponse(503, bytes.status().message());
    return StatusResponse(bytes.status());
  }
  HttpResponse r;
  r.status = 200;
  // Whatever the sender said it is, it is downloaded, never shown in the page.
  r.content_type = "application/octet-stream";
  r.body.assign(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  r.headers.emplace_back("Content-Disposition", "attachment");
  return r;
}

// ---- Releases and statistics (analysts) ----

HttpResponse Api::Impl::Release(Call& c) {
  json body;
  if (auto bad = ParseBody(c.req, body)) return *bad;
  if (!body.contains("seizures") || !body["seizures"].is_array() || body["seizures"].empty()) {
    return ErrorResponse(400, "seizures is a non-empty array of seizure ids", "seizures");
  }
  std::vector<RecordId> ids;
  for (const auto& v : body["seizures"]) {
    if (!v.is_string()) return ErrorResponse(400, "seizures holds record ids", "seizures");
    auto id = storage::ParseRecordId(v.get<std::string>());
    if (!id.ok()) return ErrorResponse(400, id.status().message(), "seizures");
    ids.push_back(*id);
  }
  if (ids.size() > 10000) return ErrorResponse(400, "at most 10000 seizures at once", "seizures");
  auto config = LoadConfig(options_.data_dir);
  if (!config.ok()) return StatusResponse(config.status());
  Releases releases(*node_.store, node_.identity, storage::ReleasePolicy{config->release_company_names});
  if (body.value("withdraw", false)) {
    auto reports = releases.Withdraw(ids);
    if (!reports.ok()) return StatusResponse(reports.status());
    json arr = json::array();
    for (const auto& r : *reports) arr.push_back(storage::FormatRecordId(r));
    return JsonResponse(200, {{"withdrawn", arr}});
  }
  std::string to = body.value("to", "");
  auto scope = storage::ParseScope(to);
  if (!scope || *scope == storage::Scope::kNational) return ErrorResponse(400, "to is regional or global", "to");
  std::vector<crypto::Hash256> photos;
  if (body.contains("photos")) {
    if (!body["photos"].is_array()) return ErrorResponse(400, "photos is an array of image hashes", "photos");
    for (const auto& p : body["photos"]) {
      auto h = p.is_string() ? storage::ParseBlobHash(p.get<std::string>()) : std::nullopt;
      if (!h) return ErrorResponse(400, "photos holds image hashes (64 lower-case hex digits)", "photos");
      photos.push_back(*h);
    }
  }
  bool dry_run = body.value("dry_run", false);
  auto outcomes = releases.Release(ids, *scope, dry_run, photos);
  if (!outcomes.ok()) return StatusResponse(outcomes.status());
  json arr = json::array();
  for (const auto& out : *outcomes) {
    // Dry run: exactly what would leave the country, as it arrives there.
    json j = dry_run ? ReportJson(out.report, out.body) : ReleaseOutcomeJson(out);
    if (dry_run) j["withheld"] = out.withheld;
    arr.push_back(std::move(j));
  }
  return JsonResponse(200, arr);
}

HttpResponse Api::Impl::ListReleases(Call& c) {
  auto config = LoadConfig(options_.data_dir);
  if (!config.ok()) return StatusResponse(config.status());
  Releases releases(*node_.store, node_.identity, storage::ReleasePolicy{config->release_company_names});
  auto rows = releases.List(Flag(c.target, "pending"));
  if (!rows.ok()) return StatusResponse(rows.status());
  json arr = json::array();
  for (const auto& r : *rows) arr.push_back(ReleaseRowJson(r));
  return JsonResponse(200, arr);
}

HttpResponse Api::Impl::Stats(Call& c) {
  std::string from = QueryText(c.target, "from"), to = QueryText(c.target, "to");
  auto request = ParseStatsRequest(*node_.store, node_.identity.public_key(), QueryText(c.target, "by"),
                                   QueryText(c.target, "type"), from, to);
  if (!request.ok()) return ErrorResponse(400, request.status().message(), "by");
  auto result = ComputeStats(*node_.store, *request);
  if (!result.ok()) return StatusResponse(result.status());
  return JsonResponse(200, StatsJson(*result, request->type, from, to));
}

// ---- Static files (the web UI) ----

namespace {

const char* MediaTypeOf(std::string_view path) {
  auto ends = [&](std::string_view s) { return path.size() >= s.size() && path.substr(path.size() - s.size()) == s; };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".json")) return "application/json";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".woff2")) return "font/woff2";
  if (ends(".ico")) return "image/x-icon";
  return "application/octet-stream";
}

}  // namespace

HttpResponse Api::Impl::StaticFile(const HttpRequest&, const Target& target) {
  if (options_.static_dir.empty()) return ErrorResponse(404, "no such page: " + target.path);
  std::string rel = target.path == "/" ? "/index.html" : target.path;
  // Only plain names under the directory: no "..", no "." segments, no
  // backslashes or control characters (the path is already %-decoded).
  for (char ch : rel) {
    if (static_cast<unsigned char>(ch) < 0x20 || ch == '\\') return ErrorResponse(400, "a bad character in the path");
  }
  for (size_t at = 0; at < rel.size();) {
    size_t next = rel.find('/', at + 1);
    std::string_view seg = std::string_view(rel).substr(at + 1, next == std::string::npos ? std::string::npos : next - at - 1);
    if (seg == ".." || seg == "." || (seg.empty() && next != std::string::npos)) {
      return ErrorResponse(400, "a path segment '..', '.' or empty");
    }
    if (next == std::string::npos) break;
    at = next;
  }
  std::string file = options_.static_dir + rel;
  // A symbolic link may not lead out of the directory.
  std::error_code ec;
  auto real = std::filesystem::canonical(file, ec);
  auto root = std::filesystem::canonical(options_.static_dir, ec);
  if (ec || real.string().rfind(root.string() + "/", 0) != 0) return ErrorResponse(404, "no such page: " + target.path);
  file = real.string();
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (64 << 20)) {
    return ErrorResponse(404, "no such page: " + target.path);
  }
  std::ifstream in(file, std::ios::binary);
  std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  HttpResponse r;
  r.status = 200;
  r.content_type = MediaTypeOf(rel);
  r.body = std::move(body);
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

// ---- Api ----

Api::Api(const OpenNode& node, ApiOptions options) : impl_(std::make_unique<Impl>(node, std::move(options))) {}
Api::~Api() = default;

HttpResponse Api::Handle(const HttpRequest& request) {
  HttpResponse r = impl_->Handle(request);
  AddSecurityHeaders(r, true);
  return r;
}

void AddSecurityHeaders(HttpResponse& r, bool api) {
  // Every response: no sniffing, no framing by another site, not cached
  // (it holds records), and what a page may load (the UI's own files only).
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; frame-ancestors 'none'; "
                         "form-action 'self'; base-uri 'none'");
  // Unless the answer chose its caching (a UI file, a content-addressed
  // photo), it is not stored anywhere: whatever its path's spelling.
  bool cached = false;
  for (const auto& [k, v] : r.headers) cached = cached || k == "Cache-Control";
  if (api && !cached) r.headers.emplace_back("Cache-Control", "no-store");
}

bool Api::HasSession(std::string_view cookie_header) {
  std::string token = CookieValue(cookie_header, kSessionCookie);
  return !token.empty() && impl_->sessions_.Touch(token).has_value();
}

const RouteInfo* Api::FindRoute(std::string_view method, std::string_view target) {
  Target t;
  if (!ParseTarget(target, t)) return nullptr;
  for (const auto& r : RouteTable()) {
    if (r.info.method == method && MatchPattern(r.info.pattern, t.path, nullptr)) return &r.info;
  }
  return nullptr;
}

std::vector<RouteInfo> Api::Routes() {
  std::vector<RouteInfo> out;
  for (const auto& r : RouteTable()) out.push_back(r.info);
  return out;
}

}  // namespace ncen::node
