// The HTTP API as a function (node/http/api.h): routes, roles, sessions,
// CSRF and origin checks, errors and hostile bodies — without sockets. The
// server around it is in http_server_test.cpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <nlohmann/json.hpp>

#include "media/sample_photo.h"
#include "node/http/accounts.h"
#include "node/http/api.h"
#include "node/messages.h"
#include "node/node_dir.h"
#include "tests/support/store_fixture.h"
#include "tests/support/temp_dir.h"
#include <set>
#include <thread>

namespace ncen::node {
namespace {

using json = nlohmann::ordered_json;

class TestClock final : public Clock {
 public:
  int64_t NowMs() const override { return now; }
  int64_t now = 1'796'000'000'000;
};

// A node with three accounts, its API, and a browser's cookie jar per user.
struct ApiFixture {
  ApiFixture() : node(InitNode(dir.path(), "post1", "post", {}, NodeConfig{}).value()) {
    for (auto [name, role] : {std::pair{"amina", Role::kOfficer}, {"omar", Role::kAnalyst}, {"root", Role::kAdmin}}) {
      AddUser(name, role);
    }
    ApiOptions options;
    options.data_dir = dir.path();
    options.clock = &clock;
    api = std::make_unique<Api>(node, options);
  }

  void AddUser(const std::string& name, Role role) {
    REQUIRE(EditUsers(dir.path(), [&](std::vector<User>& users) {
              users.push_back(User{name, role, HashPassword(name + " password").value(), false, 1, 1});
              return Status::Ok();
            }).ok());
  }

  HttpResponse Send(const std::string& method, const std::string& target, const std::string& body = "",
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpRequest r;
    r.method = method;
    r.target = target;
    r.body = body;
    r.remote = "127.0.0.1";
    r.headers = std::move(headers);
    r.headers.emplace_back("host", "127.0.0.1:7480");
    if (!body.empty() && r.Header("content-type").empty()) r.headers.emplace_back("content-type", "application/json");
    return api->Handle(r);
  }

  struct Login {
    std::string cookie, csrf;
  };
  Login LogIn(const std::string& name) {
    auto r = Send("POST", "/api/login", json{{"name", name}, {"password", name + " password"}}.dump());
    REQUIRE(r.status == 200);
    Login l;
    for (auto& [k, v] : r.headers) {
      if (k == "Set-Cookie") l.cookie = v.substr(0, v.find(';'));
    }
    l.csrf = json::parse(r.body)["csrf_token"];
    return l;
  }
  HttpResponse As(const Login& l, const std::string& method, const std::string& target, const std::string& body = "",
                  std::vector<std::pair<std::string, std::string>> headers = {}) {
    headers.emplace_back("cookie", l.cookie);
    if (method != "GET") headers.emplace_back("x-csrf-token", l.csrf);
    return Send(method, target, body, std::move(headers));
  }

  testing::TempDir dir;
  TestClock clock;
  OpenNode node;  // after dir
  std::unique_ptr<Api> api;
};

json Body(const HttpResponse& r) { return json::parse(r.body); }

std::string Header(const HttpResponse& r, const std::string& name) {
  for (auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

json Seizure(const std::string& narrative = "found in the fuel tank") {
  return {{"type", "seizure"},
          {"date", "2026-11-02"},
          {"country", "PK"},
          {"office", "PKTKM"},
          {"goods", {{{"category", "drugs"}, {"subtype", "heroin"}, {"quantity", 2.5}, {"unit", "kg"}}}},
          {"narrative", narrative}};
}

json Suspect() {
  return {{"type", "suspect"},
          {"surname", "Khan"},
          {"forenames", "Imran"},
          {"documents", {{{"type", "passport"}, {"number", "AB1234567"}, {"country", "PK"}}}}};
}

}  // namespace

TEST_CASE("login: a session cookie and a CSRF token; wrong passwords are refused and then rate limited",
          "[api]") {
  ApiFixture f;
  auto bad = f.Send("POST", "/api/login", json{{"name", "amina"}, {"password", "wrong password!"}}.dump());
  CHECK(bad.status == 401);
  CHECK(Body(bad)["code"] == "unauthenticated");
  CHECK(Header(bad, "Set-Cookie").empty());
  // No such user: the same answer.
  CHECK(f.Send("POST", "/api/login", json{{"name", "nobody"}, {"password", "whatever it is"}}.dump()).status == 401);

  auto ok = f.Send("POST", "/api/login", json{{"name", "amina"}, {"password", "amina password"}}.dump());
  REQUIRE(ok.status == 200);
  std::string cookie = Header(ok, "Set-Cookie");
  CHECK(cookie.find("ncen_session=") == 0);
  CHECK(cookie.find("HttpOnly") != std::string::npos);
  CHECK(cookie.find("SameSite=Strict") != std::string::npos);
  CHECK(cookie.find("Secure") == std::string::npos);  // not over plain HTTP
  CHECK(Body(ok)["role"] == "officer");
  CHECK(Body(ok)["csrf_token"].get<std::string>().size() == 64);

  // Five failures for one account: the sixth try waits, even with the right password.
  for (int i = 0; i < 5; ++i) {
    CHECK(f.Send("POST", "/api/login", json{{"name", "omar"}, {"password", "wrong password!"}}.dump()).status == 401);
  }
  auto limited = f.Send("POST", "/api/login", json{{"name", "omar"}, {"password", "omar password"}}.dump());
  CHECK(limited.status == 429);
  CHECK(!Header(limited, "Retry-After").empty());
  f.clock.now += 16 * 60 * 1000;  // the window has passed
  CHECK(f.Send("POST", "/api/login", json{{"name", "omar"}, {"password", "omar password"}}.dump()).status == 200);
}

TEST_CASE("login: failures from one address are limited across accounts", "[api]") {
  ApiFixture f;
  for (int i = 0; i < 20; ++i) {
    auto name = "guess" + std::to_string(i);
    CHECK(f.Send("POST", "/api/login", json{{"name", name}, {"password", "wrong password!"}}.dump()).status == 401);
  }
  CHECK(f.Send("POST", "/api/login", json{{"name", "root"}, {"password", "root password"}}.dump()).status == 429);
}

TEST_CASE("sessions: required, expire when idle, end at logout, end when the account is disabled", "[api]") {
  ApiFixture f;
  CHECK(f.Send("GET", "/api/records").status == 401);
  auto a = f.LogIn("amina");
  CHECK(f.As(a, "GET", "/api/session").status == 200);
  CHECK(Body(f.As(a, "GET", "/api/session"))["user"] == "amina");

  f.clock.now += 31 * 60 * 1000;  // idle past 30 minutes
  CHECK(f.As(a, "GET", "/api/session").status == 401);

  auto b = f.LogIn("amina");
  CHECK(f.As(b, "POST", "/api/logout").status == 204);
  CHECK(f.As(b, "GET", "/api/session").status == 401);

  auto c = f.LogIn("amina");
  f.clock.now += 1000;
  REQUIRE(EditUsers(f.dir.path(), [&](std::vector<User>& users) {
            users[0].disabled = true;
            users[0].changed_ms = f.clock.now;
            return Status::Ok();
          }).ok());
  CHECK(f.As(c, "GET", "/api/session").status == 401);
  CHECK(f.Send("POST", "/api/login", json{{"name", "amina"}, {"password", "amina password"}}.dump()).status == 401);
}

TEST_CASE("state-changing requests need the CSRF token and the node's own origin", "[api]") {
  ApiFixture f;
  auto a = f.LogIn("amina");
  // No token.
  auto r = f.Send("POST", "/api/records", Seizure().dump(), {{"cookie", a.cookie}});
  CHECK(r.status == 403);
  // A wrong token.
  r = f.Send("POST", "/api/records", Seizure().dump(), {{"cookie", a.cookie}, {"x-csrf-token", std::string(64, '0')}});
  CHECK(r.status == 403);
  // Another origin, even with the token (a page elsewhere cannot read it, but be sure).
  r = f.As(a, "POST", "/api/records", Seizure().dump(), {{"origin", "https://evil.example"}});
  CHECK(r.status == 403);
  r = f.As(a, "POST", "/api/records", Seizure().dump(), {{"sec-fetch-site", "cross-site"}});
  CHECK(r.status == 403);
  // A login form posted from elsewhere.
  r = f.Send("POST", "/api/login", json{{"name", "amina"}, {"password", "amina password"}}.dump(),
             {{"origin", "http://evil.example"}});
  CHECK(r.status == 403);
  // A form's content type is not JSON: refused before it is read.
  r = f.As(a, "POST", "/api/records", "type=seizure", {{"content-type", "application/x-www-form-urlencoded"}});
  CHECK(r.status == 415);
  CHECK(f.node.store->Stats()->entries == 0);
  // The same origin: written.
  r = f.As(a, "POST", "/api/records", Seizure().dump(), {{"origin", "http://127.0.0.1:7480"}});
  CHECK(r.status == 201);
  CHECK(f.node.store->Stats()->entries == 1);
}

TEST_CASE("roles: officers write records, not users; admins manage users", "[api]") {
  ApiFixture f;
  auto officer = f.LogIn("amina");
  auto analyst = f.LogIn("omar");
  auto admin = f.LogIn("root");
  json user = {{"name", "zainab"}, {"role", "officer"}, {"password", "zainab password"}};
  CHECK(f.As(officer, "POST", "/api/users", user.dump()).status == 403);
  CHECK(f.As(analyst, "POST", "/api/users", user.dump()).status == 403);
  CHECK(f.As(officer, "GET", "/api/users").status == 403);
  CHECK(f.As(officer, "GET", "/api/peers").status == 403);
  auto added = f.As(admin, "POST", "/api/users", user.dump());
  CHECK(added.status == 201);
  CHECK(Body(added).contains("password") == false);
  CHECK(f.As(admin, "POST", "/api/users", user.dump()).status == 409);
  CHECK(f.As(admin, "GET", "/api/users").status == 200);
  CHECK(Body(f.As(admin, "GET", "/api/users")).size() == 4);
  // An officer may change their own password (knowing the current one), not another's.
  CHECK(f.As(officer, "PUT", "/api/users/omar/password", json{{"password", "another password"}}.dump()).status == 403);
  CHECK(f.As(officer, "PUT", "/api/users/amina/password",
             json{{"password", "a new password"}, {"current", "wrong"}}.dump())
            .status == 403);
  CHECK(f.As(officer, "PUT", "/api/users/amina/password",
             json{{"password", "a new password"}, {"current", "amina password"}}.dump())
            .status == 200);
  // Disabling ends the user's sessions.
  auto zainab = f.LogIn("zainab");
  CHECK(f.As(admin, "POST", "/api/users/zainab/disable").status == 200);
  CHECK(f.As(zainab, "GET", "/api/session").status == 401);
  CHECK(f.As(admin, "POST", "/api/users/root/disable").status == 400);
}

TEST_CASE("records: create, get with versions, update with If-Match, link, search, delete", "[api]") {
  ApiFixture f;
  auto a = f.LogIn("amina");
  auto created = f.As(a, "POST", "/api/records", Seizure().dump());
  REQUIRE(created.status == 201);
  std::string id = Body(created)["id"];
  CHECK(Header(created, "Location") == "/api/records/" + id);

  auto got = f.As(a, "GET", "/api/records/" + id);
  REQUIRE(got.status == 200);
  CHECK(Body(got)["narrative"] == "found in the fuel tank");
  CHECK(Body(got)["type"] == "seizure");
  std::string etag = Header(got, "ETag");
  CHECK(!etag.empty());

  json edit = Seizure("in the spare wheel");
  edit.erase("type");
  auto updated = f.As(a, "PUT", "/api/records/" + id, edit.dump(), {{"if-match", etag}});
  REQUIRE(updated.status == 200);
  CHECK(Body(updated)["narrative"] == "in the spare wheel");
  // The old ETag no longer matches: a 409 with the record as it is now.
  auto stale = f.As(a, "PUT", "/api/records/" + id, Seizure("lost edit").dump(), {{"if-match", etag}});
  CHECK(stale.status == 409);
  CHECK(Body(stale)["current"]["narrative"] == "in the spare wheel");

  auto suspect = f.As(a, "POST", "/api/records", Suspect().dump());
  REQUIRE(suspect.status == 201);
  std::string sid = Body(suspect)["id"];
  auto linked = f.As(a, "POST", "/api/records/" + id + "/links", json{{"suspect", sid}}.dump());
  CHECK(linked.status == 200);
  CHECK(Body(linked)["linked"] == true);
  auto seizures = Body(f.As(a, "GET", "/api/records/" + sid + "/seizures"));
  REQUIRE(seizures.size() == 1);
  CHECK(seizures[0]["id"] == id);
  CHECK(f.As(a, "GET", "/api/records/" + id + "/seizures").status == 400);  // a seizure has none

  auto found = f.As(a, "GET", "/api/search?q=khan");
  REQUIRE(found.status == 200);
  REQUIRE(Body(found).size() == 1);
  CHECK(Body(found)[0]["id"] == sid);
  CHECK(Body(f.As(a, "GET", "/api/search?q=spare+wheel")).size() == 0);  // narratives are not indexed by name
  CHECK(Body(f.As(a, "GET", "/api/records?type=suspect")).size() == 1);

  CHECK(f.As(a, "DELETE", "/api/records/" + id).status == 200);
  CHECK(f.As(a, "GET", "/api/records/" + id).status == 404);
  CHECK(f.As(a, "DELETE", "/api/records/" + id).status == 400);

  auto changes = Body(f.As(a, "GET", "/api/changes?since=0"));
  CHECK(changes["changes"].size() == 5);  // add, update, add, link, delete
  CHECK(changes["next"] == 5);
  auto none = f.As(a, "GET", "/api/changes?since=5&wait=10");
  CHECK(Body(none)["changes"].empty());
  CHECK(none.wait_ms == 10000);  // the server waits and asks again
}

TEST_CASE("errors: one JSON object naming the field, with the right status", "[api]") {
  ApiFixture f;
  auto a = f.LogIn("amina");
  json bad = Seizure();
  bad["goods"][0]["quantity"] = -1;
  auto r = f.As(a, "POST", "/api/records", bad.dump());
  CHECK(r.status == 400);
  CHECK(Body(r)["field"] == "goods[0].quantity");
  CHECK(Body(r)["code"] == "bad_request");

  CHECK(f.As(a, "GET", "/api/records/not-an-id").status == 400);
  CHECK(Body(f.As(a, "GET", "/api/records/not-an-id"))["field"] == "id");
  CHECK(f.As(a, "GET", "/api/records/01a22ee8-a2cf-7d9e-83bb-05335801ffa3").status == 404);
  CHECK(f.As(a, "GET", "/api/nothing").status == 404);
  CHECK(f.As(a, "PATCH", "/api/records").status == 405);
  CHECK(f.As(a, "GET", "/api/records?limit=0").status == 400);
  CHECK(f.As(a, "GET", "/api/records?limit=99999999999999999999").status == 400);
  CHECK(f.As(a, "GET", "/api/records?type=spaceship").status == 400);
  CHECK(f.As(a, "GET", "/api/search?from=2026-99-01").status == 400);
  CHECK(f.As(a, "GET", "/api/changes?since=-1").status == 400);
  CHECK(f.As(a, "GET", "/api/search?q=%zz").status == 400);
  CHECK(f.As(a, "GET", "/api/search?q=a%00b").status == 400);
  // A seizure report or a photo is not written by hand.
  json report = Seizure();
  report["type"] = "seizure_report";
  CHECK(f.As(a, "POST", "/api/records", report.dump()).status == 400);
  CHECK(f.node.store->Stats()->entries == 0);
}

TEST_CASE("hostile bodies: broken JSON, invalid UTF-8, deep nesting, not an object", "[api]") {
  ApiFixture f;
  auto a = f.LogIn("amina");
  for (std::string body : {std::string("{\"type\": \"seizure\""), std::string("{\"type\": \"\xff\xfe\"}"),
                           std::string(10000, '[') + std::string(10000, ']'), std::string("[1,2,3]"),
                           std::string("{\"type\":\"suspect\",\"surname\":") + std::string(5000, '{')}) {
    auto r = f.As(a, "POST", "/api/records", body);
    INFO(body.substr(0, 40));
    CHECK(r.status == 400);
    CHECK(Body(r).contains("error"));
  }
  CHECK(f.node.store->Stats()->entries == 0);
}

TEST_CASE("every response carries the security headers; API answers are not cached", "[api]") {
  ApiFixture f;
  auto r = f.Send("GET", "/api/status");
  CHECK(Header(r, "X-Content-Type-Options") == "nosniff");
  CHECK(Header(r, "X-Frame-Options") == "DENY");
  CHECK(Header(r, "Cache-Control") == "no-store");
  CHECK(Header(r, "Content-Security-Policy").find("default-src 'self'") != std::string::npos);
}

TEST_CASE("status has the fields of status --json", "[api]") {
  ApiFixture f;
  auto a = f.LogIn("amina");
  auto r = f.As(a, "GET", "/api/status");
  REQUIRE(r.status == 200);
  auto j = Body(r);
  for (const char* k : {"node_id", "fingerprint", "name", "role", "entries", "records", "conflicts", "messages",
                        "frontier", "frontier_digest", "forks", "peers", "refused", "network_id"}) {
    INFO(k);
    CHECK(j.contains(k));
  }
  CHECK(j["name"] == "post1");
}

TEST_CASE("static files: served from the UI directory, never from outside it", "[api]") {
  testing::TempDir ui;
  {
    std::ofstream(ui.Sub("index.html")) << "<!doctype html><title>ncen</title>";
    std::ofstream(ui.Sub("app.js")) << "export {};";
  }
  ApiFixture f;
  std::ofstream(f.dir.Sub("secret.txt")) << "identity";
  ApiOptions options;
  options.data_dir = f.dir.path();
  options.static_dir = ui.path();
  Api api(f.node, options);
  auto get = [&](const std::string& target) {
    HttpRequest r;
    r.method = "GET";
    r.target = target;
    r.remote = "127.0.0.1";
    return api.Handle(r);
  };
  CHECK(get("/").status == 200);
  CHECK(get("/").content_type.find("text/html") == 0);
  CHECK(get("/app.js").content_type.find("text/javascript") == 0);
  for (const char* evil : {"/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/a/../../secret.txt",
                           "/%2E%2E%2Fsecret.txt", "/..\\secret.txt", "//etc/passwd", "/app.js%00.html"}) {
    INFO(evil);
    auto r = get(evil);
    CHECK((r.status == 400 || r.status == 404));
    CHECK(r.body.find("identity") == std::string::npos);
  }
  CHECK(get("/missing.html").status == 404);
}

TEST_CASE("requests on several threads while a peer's batches are applied: every write lands once", "[api]") {
  ApiFixture f;
  // A peer's 200 seizures, applied in batches of 20 while officers work.
  auto peer_identity = testing::IdentityFromNumber(9);
  testing::TestStore peer(peer_identity);
  std::vector<storage::LocalChange> changes;
  for (int i = 0; i < 200; ++i) {
    changes.push_back({storage::NewRecordId(storage::UnixMillisNow()), storage::RecordType::kSeizure,
                       storage::Op::kPut, testing::SeizurePayload("peer " + std::to_string(i))});
  }
  REQUIRE(peer.store->AppendLocal(peer_identity, changes).ok());
  storage::FeedId feed{peer_identity.public_key(), storage::Scope::kNational};
  std::vector<ApiFixture::Login> logins;
  for (int t = 0; t < 4; ++t) logins.push_back(f.LogIn("amina"));
  std::atomic<int> failures{0};
  std::vector<std::thread> officers;
  for (int t = 0; t < 4; ++t) {
    officers.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        auto created = f.As(logins[t], "POST", "/api/records", Suspect().dump());
        if (created.status != 201) {
          ++failures;
          continue;
        }
        std::string id = Body(created)["id"];
        if (f.As(logins[t], "GET", "/api/records/" + id).status != 200) ++failures;
        if (f.As(logins[t], "GET", "/api/search?q=khan&limit=5").status != 200) ++failures;
        if (f.As(logins[t], "GET", "/api/status").status != 200) ++failures;
      }
    });
  }
  for (uint64_t first = 1; first <= 200; first += 20) {
    std::vector<storage::Entry> batch;
    for (uint64_t seq = first; seq < first + 20; ++seq) batch.push_back(peer.store->GetEntry(feed, seq).value());
    auto report = f.node.store->ApplyBatch(batch, "peer");
    REQUIRE(report.status.ok());
    CHECK(report.applied == 20);
  }
  for (auto& t : officers) t.join();
  CHECK(failures == 0);
  auto stats = f.node.store->Stats().value();
  CHECK(stats.entries == 300);
  CHECK(stats.records[static_cast<int>(storage::RecordType::kSuspect)] == 100);
  CHECK(f.node.store->VerifyLog().ok());
}

TEST_CASE("photos over HTTP: upload the file, list, download image and preview; non-images refused", "[api]") {
  ApiFixture f;
  auto a = f.LogIn("amina");
  auto seizure = f.As(a, "POST", "/api/records", Seizure().dump());
  REQUIRE(seizure.status == 201);
  std::string id = Body(seizure)["id"];
  Bytes jpeg = media::SamplePhotoJpeg(640, 480, 7);
  std::string file(jpeg.begin(), jpeg.end());
  auto added = f.As(a, "POST", "/api/records/" + id + "/photos?caption=fuel+tank", file, {{"content-type", "image/jpeg"}});
  REQUIRE(added.status == 201);
  std::string image = Body(added)["image"], preview = Body(added)["preview"];
  auto list = Body(f.As(a, "GET", "/api/records/" + id + "/photos"));
  REQUIRE(list.size() == 1);
  CHECK(list[0]["caption"] == "fuel tank");
  CHECK(list[0]["entered_by"] == "amina");
  CHECK(list[0]["image_held"] == true);
  auto got = f.As(a, "GET", "/api/photos/" + image);
  REQUIRE(got.status == 200);
  CHECK(got.content_type == "image/jpeg");
  CHECK(got.body.size() == Body(added)["image_size"].get<size_t>());
  auto small = f.As(a, "GET", "/api/photos/" + image + "?preview=1");
  REQUIRE(small.status == 200);
  CHECK(small.body.size() == Body(added)["preview_size"].get<size_t>());
  // Not images, or not sent as one: refused, nothing stored.
  uint64_t entries = f.node.store->Stats()->entries;
  CHECK(f.As(a, "POST", "/api/records/" + id + "/photos", "<svg onload=alert(1)>", {{"content-type", "image/svg+xml"}})
            .status == 400);
  CHECK(f.As(a, "POST", "/api/records/" + id + "/photos", file.substr(0, file.size() / 2), {{"content-type", "image/jpeg"}})
            .status == 400);
  CHECK(f.As(a, "POST", "/api/records/" + id + "/photos", file, {{"content-type", "application/json"}}).status == 415);
  CHECK(f.node.store->Stats()->entries == entries);
  CHECK(f.As(a, "GET", "/api/photos/" + std::string(64, 'a')).status == 404);
  CHECK(f.As(a, "GET", "/api/photos/nothex").status == 400);
}

TEST_CASE("messages over HTTP: send to a peer by name, see it in the sent box, read it; an officer's name travels",
          "[api]") {
  ApiFixture f;
  NodeConfig config;
  config.peers = {{"hub", testing::IdentityFromNumber(7).public_key(), "", AllScopes()}};
  REQUIRE(SaveConfig(f.dir.path(), config).ok());
  auto a = f.LogIn("amina");
  json message = {{"to", {{"nodes", {"hub"}}}},
                  {"subject", "Pattern at Torkham"},
                  {"body", "<script>alert(1)</script> see the seizure"},
                  {"priority", "urgent"},
                  {"attachments", {{{"name", "note.txt"}, {"media_type", "text/plain"}, {"data", "aGVsbG8="}}}}};
  auto sent = f.As(a, "POST", "/api/messages", message.dump());
  REQUIRE(sent.status == 201);
  std::string id = Body(sent)["id"];
  CHECK(Body(sent)["recipients"] == 1);
  auto box = Body(f.As(a, "GET", "/api/messages?box=sent"));
  REQUIRE(box.size() == 1);
  CHECK(box[0]["subject"] == "Pattern at Torkham");
  CHECK(box[0]["sent_by"] == "amina");
  auto read = f.As(a, "GET", "/api/messages/" + id);
  REQUIRE(read.status == 200);
  CHECK(Body(read)["body"] == "<script>alert(1)</script> see the seizure");  // JSON text; the UI shows it as text
  auto attachment = f.As(a, "GET", "/api/messages/" + id + "/attachments/0");
  REQUIRE(attachment.status == 200);
  CHECK(attachment.body == "hello");
  CHECK(attachment.content_type == "application/octet-stream");
  CHECK(f.As(a, "GET", "/api/messages/" + id + "/attachments/1").status == 404);
  message["attachments"][0]["data"] = "not base64!";
  CHECK(f.As(a, "POST", "/api/messages", message.dump()).status == 400);
  message.erase("attachments");
  message["to"] = json{{"nodes", {"nobody"}}};
  CHECK(f.As(a, "POST", "/api/messages", message.dump()).status == 400);
  CHECK(f.As(a, "GET", "/api/messages?box=trash").status == 400);
}

TEST_CASE("releases and statistics are for analysts; an officer is refused", "[api]") {
  ApiFixture f;
  auto officer = f.LogIn("amina");
  auto analyst = f.LogIn("omar");
  auto seizure = f.As(officer, "POST", "/api/records", Seizure().dump());
  REQUIRE(seizure.status == 201);
  std::string id = Body(seizure)["id"];
  json release = {{"seizures", {id}}, {"to", "regional"}, {"dry_run", true}};
  CHECK(f.As(officer, "POST", "/api/releases", release.dump()).status == 403);
  CHECK(f.As(officer, "GET", "/api/releases").status == 403);
  CHECK(f.As(officer, "GET", "/api/stats?by=commodity").status == 403);
  // A dry run shows exactly the report that would leave, and writes nothing.
  uint64_t entries = f.node.store->Stats()->entries;
  auto dry = f.As(analyst, "POST", "/api/releases", release.dump());
  REQUIRE(dry.status == 200);
  CHECK(Body(dry)[0]["type"] == "seizure_report");
  CHECK(Body(dry)[0].contains("narrative") == false);  // free text never leaves
  CHECK(Body(dry)[0].contains("entered_by") == false);
  CHECK(f.node.store->Stats()->entries == entries);
  release["dry_run"] = false;
  auto done = f.As(analyst, "POST", "/api/releases", release.dump());
  REQUIRE(done.status == 200);
  CHECK(Body(done)[0]["written"] == true);
  CHECK(Body(f.As(analyst, "GET", "/api/releases")).size() == 1);
  release["to"] = "national";
  CHECK(f.As(analyst, "POST", "/api/releases", release.dump()).status == 400);
  auto stats = f.As(analyst, "GET", "/api/stats?by=commodity");
  REQUIRE(stats.status == 200);
  CHECK(Body(stats)["total"]["records"] == 1);
  CHECK(f.As(analyst, "GET", "/api/stats?by=shoe_size").status == 400);
}

TEST_CASE("hostile inputs found by review: duplicate keys, NUL, guessing one's own password, odd spellings", "[api]") {
  ApiFixture f;
  auto a = f.LogIn("amina");
  std::string dup = R"({"type":"seizure","date":"2026-02-30","date":"2026-01-01","country":"PK","office":"PKTKM",)"
                    R"("goods":[{"category":"drugs","quantity":1,"unit":"kg"}]})";
  auto r = f.As(a, "POST", "/api/records", dup);
  CHECK(r.status == 400);
  CHECK(Body(r)["field"] == "date");
  CHECK(f.As(a, "POST", "/api/records", Seizure().dump() + std::string(1, '\0') + "garbage").status == 400);
  CHECK(f.node.store->Stats()->entries == 0);
  // Guesses at one's own current password are limited like logins.
  int limited = 0;
  for (int i = 0; i < 8; ++i) {
    auto guess = f.As(a, "PUT", "/api/users/amina/password",
                      json{{"password", "a new password"}, {"current", "guess " + std::to_string(i)}}.dump());
    limited += guess.status == 429;
  }
  CHECK(limited >= 3);
  auto right = f.As(a, "PUT", "/api/users/amina/password",
                    json{{"password", "a new password"}, {"current", "amina password"}}.dump());
  CHECK(right.status == 429);  // even the right one waits now
  // The end of the numbering, and a spelling of /api that routes the same, are handled too.
  auto end = f.As(a, "GET", "/api/changes?since=18446744073709551615");
  CHECK(Body(end)["changes"].empty());
  auto odd = f.As(a, "GET", "/%61pi/session");
  CHECK(odd.status == 200);
  CHECK(Header(odd, "Cache-Control") == "no-store");
  // A name no account can have is not remembered by the limiter, and says nothing more.
  CHECK(f.Send("POST", "/api/login", json{{"name", std::string(100000, 'N')}, {"password", "whatever it is"}}.dump())
            .status == 401);
  CHECK(f.As(a, "GET", "/api/records/" + std::string(5000, 'a')).body.size() < 400);
}

TEST_CASE("conflicts over HTTP: listed, shown side by side, resolved with If-Match; threads; peers; enable", "[api]") {
  ApiFixture f;
  auto a = f.LogIn("amina");
  auto created = f.As(a, "POST", "/api/records", Seizure("ours").dump());
  REQUIRE(created.status == 201);
  std::string id = Body(created)["id"];
  // A peer wrote the same record while apart (its version does not know ours).
  auto peer_identity = testing::IdentityFromNumber(9);
  testing::TestStore peer(peer_identity);
  storage::LocalChange theirs{storage::ParseRecordId(id).value(), storage::RecordType::kSeizure, storage::Op::kPut,
                              testing::SeizurePayload("theirs")};
  REQUIRE(peer.store->AppendLocal(peer_identity, {&theirs, 1}).ok());
  storage::FeedId feed{peer_identity.public_key(), storage::Scope::kNational};
  std::vector<storage::Entry> batch{peer.store->GetEntry(feed, 1).value()};
  REQUIRE(f.node.store->ApplyBatch(batch, "peer").applied == 1);

  auto conflicts = Body(f.As(a, "GET", "/api/conflicts"));
  REQUIRE(conflicts.size() == 1);
  CHECK(conflicts[0]["id"] == id);
  CHECK(conflicts[0]["versions"] == 2);
  auto both = f.As(a, "GET", "/api/records/" + id);
  REQUIRE(Body(both)["versions"].size() == 2);
  std::string etag = Header(both, "ETag");
  json merged = Seizure("ours and theirs, checked");
  merged.erase("type");
  auto resolved = f.As(a, "POST", "/api/records/" + id + "/resolve", merged.dump(), {{"if-match", etag}});
  REQUIRE(resolved.status == 200);
  CHECK(Body(resolved)["narrative"] == "ours and theirs, checked");
  CHECK(Body(resolved).contains("versions") == false);
  CHECK(Body(f.As(a, "GET", "/api/conflicts")).empty());
  CHECK(f.As(a, "POST", "/api/records/" + id + "/resolve", merged.dump()).status == 400);  // not in conflict now

  // A reply joins its thread.
  NodeConfig config;
  config.peers = {{"hub", testing::IdentityFromNumber(7).public_key(), "", AllScopes()}};
  REQUIRE(SaveConfig(f.dir.path(), config).ok());
  auto first = f.As(a, "POST", "/api/messages", json{{"to", {{"nodes", {"hub"}}}}, {"subject", "one"}, {"body", "a"}}.dump());
  REQUIRE(first.status == 201);
  std::string first_id = Body(first)["id"];
  auto second = f.As(a, "POST", "/api/messages",
                     json{{"to", {{"nodes", {"hub"}}}}, {"subject", "two"}, {"body", "b"}, {"reply_to", first_id}}.dump());
  REQUIRE(second.status == 201);
  auto thread = Body(f.As(a, "GET", "/api/messages/" + std::string(Body(second)["id"]) + "/thread"));
  REQUIRE(thread.size() == 2);
  // Oldest first by the author's clock; two sent in one millisecond may come either way.
  std::set<std::string> subjects{thread[0]["subject"], thread[1]["subject"]};
  CHECK(subjects == std::set<std::string>{"one", "two"});

  auto admin = f.LogIn("root");
  auto peers = Body(f.As(admin, "GET", "/api/peers"));
  REQUIRE(peers.size() == 1);
  CHECK(peers[0]["name"] == "hub");
  CHECK(f.As(admin, "POST", "/api/users/omar/disable").status == 200);
  CHECK(f.Send("POST", "/api/login", json{{"name", "omar"}, {"password", "omar password"}}.dump()).status == 401);
  CHECK(f.As(admin, "POST", "/api/users/omar/enable").status == 200);
  CHECK(f.Send("POST", "/api/login", json{{"name", "omar"}, {"password", "omar password"}}.dump()).status == 200);
  CHECK(f.As(admin, "POST", "/api/users/nobody/enable").status == 404);
}

TEST_CASE("a message that arrives by sync is in the inbox at the next request", "[api]") {
  ApiFixture f;
  auto a = f.LogIn("amina");
  CHECK(Body(f.As(a, "GET", "/api/messages")).empty());
  // Another office writes to this one; its entry arrives as a sync would bring it.
  auto peer_identity = testing::IdentityFromNumber(9);
  testing::TestStore peer(peer_identity);
  NodeConfig peer_config;
  peer_config.peers = {{"post1", f.node.identity.public_key(), "", AllScopes()}};
  Messages peer_box(*peer.store, peer_identity, &peer_config);
  MessageDraft draft;
  draft.to.nodes = {"post1"};
  draft.subject = "Convoy tonight";
  draft.body = "Check the fuel tanks.";
  auto sent = peer_box.Send(draft);
  REQUIRE(sent.ok());
  storage::FeedId feed{peer_identity.public_key(), sent->scope};
  std::vector<storage::Entry> batch{peer.store->GetEntry(feed, 1).value()};
  REQUIRE(f.node.store->ApplyBatch(batch, "peer").applied == 1);
  auto inbox = Body(f.As(a, "GET", "/api/messages"));
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0]["subject"] == "Convoy tonight");
  CHECK(inbox[0]["state"] == "unread");
}


TEST_CASE("history over HTTP: who, when and which node, newest first, and a suspect's history is logged", "[api]") {
  ApiFixture f;
  auto a = f.LogIn("amina");
  std::string id = Body(f.As(a, "POST", "/api/records", Seizure("first").dump()))["id"];
  json edit = Seizure("second");
  edit.erase("type");
  REQUIRE(f.As(a, "PUT", "/api/records/" + id, edit.dump()).status == 200);
  auto history = f.As(a, "GET", "/api/records/" + id + "/history");
  REQUIRE(history.status == 200);
  auto h = Body(history);
  CHECK(h["id"] == id);
  CHECK(h["type"] == "seizure");
  CHECK(h["truncated"] == false);
  REQUIRE(h["entries"].size() == 2);
  CHECK(h["entries"][0]["seq"] == 2);
  CHECK(h["entries"][0]["current"] == true);
  CHECK(h["entries"][1]["current"] == false);
  CHECK(h["entries"][1]["op"] == "put");
  CHECK(h["entries"][1]["entered_by"]["name"] == "amina");
  CHECK(h["entries"][1]["entered_by"]["node"] == "post1");
  CHECK(h["entries"][1]["author_name"] == "post1");
  CHECK(h["entries"][1]["author"] == crypto::NodeIdHex(f.node.identity.public_key()));
  CHECK(h["entries"][1]["time"].get<std::string>().size() == 24);
  auto one = Body(f.As(a, "GET", "/api/records/" + id + "/history?limit=1"));
  CHECK(one["entries"].size() == 1);
  CHECK(one["truncated"] == true);
  CHECK(f.As(a, "GET", "/api/records/" + id + "/history?limit=0").status == 400);
  CHECK(f.As(a, "GET", "/api/records/not-an-id/history").status == 400);
  CHECK(f.As(a, "GET", "/api/records/01a19c21-7200-7abc-8def-0123456789ab/history").status == 404);
  CHECK(f.Send("GET", "/api/records/" + id + "/history").status == 401);

  std::string suspect = Body(f.As(a, "POST", "/api/records", Suspect().dump()))["id"];
  REQUIRE(f.As(a, "GET", "/api/records/" + suspect + "/history").status == 200);
  std::ifstream log(f.dir.path() + "/audit.log");
  std::string line, last;
  while (std::getline(log, line)) last = line;
  auto event = json::parse(last);
  CHECK(event["action"] == "view");
  CHECK(event["records"][0] == suspect);
  CHECK(event["query"]["history"] == true);
}

TEST_CASE("DELETE honours If-Match: a stale tag is a 409 with the current record, and nothing is deleted", "[api]") {
  ApiFixture f;
  auto a = f.LogIn("amina");
  std::string id = Body(f.As(a, "POST", "/api/records", Seizure("first").dump()))["id"];
  std::string first_tag = Header(f.As(a, "GET", "/api/records/" + id), "ETag");
  json edit = Seizure("second");
  edit.erase("type");
  REQUIRE(f.As(a, "PUT", "/api/records/" + id, edit.dump(), {{"if-match", first_tag}}).status == 200);
  auto stale = f.As(a, "DELETE", "/api/records/" + id, "", {{"if-match", first_tag}});
  CHECK(stale.status == 409);
  CHECK(Body(stale)["current"]["narrative"] == "second");
  CHECK(f.As(a, "GET", "/api/records/" + id).status == 200);
  std::string now_tag = Header(stale, "ETag");
  CHECK(f.As(a, "DELETE", "/api/records/" + id, "", {{"if-match", now_tag}}).status == 200);
  CHECK(f.As(a, "GET", "/api/records/" + id).status == 404);
}

TEST_CASE("a suspect is not shown when its view cannot be logged: 503, and a seizure still is", "[api]") {
  ApiFixture f;
  auto a = f.LogIn("amina");
  std::string suspect = Body(f.As(a, "POST", "/api/records", Suspect().dump()))["id"];
  std::string seizure = Body(f.As(a, "POST", "/api/records", Seizure().dump()))["id"];
  // The access log on a full disk: every write fails.
  std::filesystem::remove(f.dir.path() + "/audit.log");
  std::filesystem::create_symlink("/dev/full", f.dir.path() + "/audit.log");
  ApiOptions options;
  options.data_dir = f.dir.path();
  options.clock = &f.clock;
  f.api = std::make_unique<Api>(f.node, options);
  a = f.LogIn("amina");
  for (const std::string& path : {"/api/records/" + suspect, "/api/records/" + suspect + "/history",
                                  "/api/records/" + suspect + "/seizures", std::string("/api/search?q=khan")}) {
    auto r = f.As(a, "GET", path);
    INFO(path << ": " << r.body);
    CHECK(r.status == 503);
    CHECK(r.body.find("Khan") == std::string::npos);
  }
  CHECK(f.As(a, "GET", "/api/records/" + seizure).status == 200);
}

TEST_CASE("code lists: built-in subtypes, the node's offices and HS codes, bad lines named", "[api]") {
  ApiFixture f;
  auto a = f.LogIn("amina");
  auto empty = Body(f.As(a, "GET", "/api/codes"));
  CHECK(empty["offices"].empty());
  CHECK(empty["hs_codes"].empty());
  CHECK(empty["problems"].empty());
  auto drugs = empty["subtypes"]["drugs"];
  CHECK(std::find(drugs.begin(), drugs.end(), "heroin") != drugs.end());

  std::filesystem::create_directories(f.dir.path() + "/code-lists");
  {
    std::ofstream offices(f.dir.path() + "/code-lists/offices.tsv");
    offices << "# the offices of this administration\n"
               "PKKHI\tKarachi port\r\n"
               "PKTKM\tTorkham border post\n"
               "\n"
               "PKK\tshort\n"
               "PKLHE no tab\n"
               "PKKHI\tKarachi again\n"
               "PKISB\t\n";
    std::ofstream hs(f.dir.path() + "/code-lists/hs.tsv");
    hs << "240220\tCigarettes containing tobacco\n24.02\tdotted\n";
  }
  auto lists = Body(f.As(a, "GET", "/api/codes"));
  REQUIRE(lists["offices"].size() == 2);
  CHECK(lists["offices"][0] == json{{"code", "PKKHI"}, {"label", "Karachi port"}});
  CHECK(lists["offices"][1]["code"] == "PKTKM");
  REQUIRE(lists["hs_codes"].size() == 1);
  CHECK(lists["hs_codes"][0]["code"] == "240220");
  auto problems = lists["problems"];
  REQUIRE(problems.size() == 5);
  CHECK(problems[0] == "offices.tsv:5: 'PKK' is not an office code (a country code, then 3 of A-Z or 2-9)");
  CHECK(problems[1] == "offices.tsv:6: no tab between the code and its label");
  CHECK(problems[2] == "offices.tsv:7: PKKHI is listed twice (the first is kept)");
  CHECK(problems[3].get<std::string>().rfind("offices.tsv:8: the label of PKISB", 0) == 0);
  CHECK(problems[4] == "hs.tsv:2: '24.02' is not an HS code (6, 8 or 10 digits)");

  // A changed file is read again.
  {
    std::ofstream offices(f.dir.path() + "/code-lists/offices.tsv");
    offices << "AFKBL\tKabul airport, a longer line so the size changes\n";
  }
  auto again = Body(f.As(a, "GET", "/api/codes"));
  REQUIRE(again["offices"].size() == 1);
  CHECK(again["offices"][0]["code"] == "AFKBL");
  CHECK(f.Send("GET", "/api/codes").status == 401);

  // A byte-order mark is skipped; a bidirectional control or a C1 control in
  // a label is a problem; a FIFO is refused at once, never waited on.
  {
    std::ofstream offices(f.dir.path() + "/code-lists/offices.tsv");
    offices << "\xEF\xBB\xBFPKKHI\tKarachi port\nPKTKM\tTorkham \xE2\x80\xAE post\nPKLHE\tLahore \xC2\x85 dry port\n"
               "PKPSH\tPeshawar \xD8\x9C dry port\n";
  }
  std::filesystem::remove(f.dir.path() + "/code-lists/hs.tsv");
  REQUIRE(::mkfifo((f.dir.path() + "/code-lists/hs.tsv").c_str(), 0600) == 0);
  auto odd = Body(f.As(a, "GET", "/api/codes"));
  REQUIRE(odd["offices"].size() == 1);
  CHECK(odd["offices"][0]["code"] == "PKKHI");
  CHECK(odd["hs_codes"].empty());
  REQUIRE(odd["problems"].size() == 4);
  CHECK(odd["problems"][0].get<std::string>().rfind("offices.tsv:2: the label of PKTKM", 0) == 0);
  CHECK(odd["problems"][1].get<std::string>().rfind("offices.tsv:3: the label of PKLHE", 0) == 0);
  CHECK(odd["problems"][2].get<std::string>().rfind("offices.tsv:4: the label of PKPSH", 0) == 0);  // U+061C
  CHECK(odd["problems"][3] == "hs.tsv: not a regular file: not loaded");
}

TEST_CASE("members: admins only, and a node in no network has none", "[api]") {
  ApiFixture f;
  auto a = f.LogIn("amina");
  CHECK(f.As(a, "GET", "/api/members").status == 403);
  auto admin = f.LogIn("root");
  auto members = f.As(admin, "GET", "/api/members");
  REQUIRE(members.status == 200);
  CHECK(Body(members) == json{{"network_id", nullptr}, {"members", json::array()}});
}

}  // namespace ncen::node
