// The HTTP server (node/http/server.h) over real loopback sockets: keep-alive,
// limits that hold against hostile clients (huge bodies refused before they
// are read, slow clients, floods of idle connections), long polls, TLS.
#include <utility>  // before Asio (../shared/TOOLCHAIN.md)

#include <catch2/catch.hpp>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <thread>

#include "node/http/accounts.h"
#include "node/http/api.h"
#include "node/http/server.h"
#include "node/records.h"
#include "node/node_dir.h"
#include "tests/support/temp_dir.h"

namespace ncen::node {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using json = nlohmann::ordered_json;
using namespace std::chrono_literals;

struct ServerFixture {
  explicit ServerFixture(HttpServerOptions options = Defaults())
      : node(InitNode(dir.path(), "post1", "post", {}, NodeConfig{}).value()) {
    REQUIRE(EditUsers(dir.path(), [&](std::vector<User>& users) {
              users.push_back(User{"amina", Role::kOfficer, HashPassword("amina password").value(), false, 1, 1});
              return Status::Ok();
            }).ok());
    ApiOptions api_options;
    api_options.data_dir = dir.path();
    api = std::make_unique<Api>(node, api_options);
    server = HttpServer::Start(*api, options).value();
    auto colon = server->address().rfind(':');
    port = static_cast<uint16_t>(std::stoi(server->address().substr(colon + 1)));
  }
  static HttpServerOptions Defaults() {
    HttpServerOptions o;
    o.listen = "127.0.0.1:0";
    o.header_timeout_ms = 800;
    o.idle_timeout_ms = 800;
    o.body_timeout_ms = 800;
    return o;
  }

  tcp::socket Connect() {
    tcp::socket s(io);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    return s;
  }

  testing::TempDir dir;
  OpenNode node;
  std::unique_ptr<Api> api;
  std::unique_ptr<HttpServer> server;
  uint16_t port = 0;
  asio::io_context io;
};

// Everything the server sends until it closes or `deadline` passes.
std::string ReadAll(tcp::socket& s, std::chrono::milliseconds deadline = 3000ms) {
  std::string out;
  s.non_blocking(true);
  auto end = std::chrono::steady_clock::now() + deadline;
  char buf[8192];
  while (std::chrono::steady_clock::now() < end) {
    boost::system::error_code ec;
    size_t n = s.read_some(asio::buffer(buf), ec);
    if (ec == asio::error::would_block) {
      std::this_thread::sleep_for(5ms);
      continue;
    }
    if (ec) break;
    out.append(buf, n);
  }
  return out;
}

// One response (head and Content-Length body) off a kept-alive connection.
std::string ReadResponse(tcp::socket& s) {
  asio::streambuf buf;
  asio::read_until(s, buf, "\r\n\r\n");
  std::string all(asio::buffers_begin(buf.data()), asio::buffers_end(buf.data()));
  size_t head_end = all.find("\r\n\r\n") + 4;
  size_t length = 0;
  auto at = all.find("Content-Length: ");
  if (at != std::string::npos && at < head_end) length = std::stoul(all.substr(at + 16));
  while (all.size() < head_end + length) {
    char c[4096];
    size_t n = s.read_some(asio::buffer(c, std::min(sizeof c, head_end + length - all.size())));
    all.append(c, n);
  }
  return all.substr(0, head_end + length);
}

void Send(tcp::socket& s, const std::string& text) { asio::write(s, asio::buffer(text)); }

std::string Get(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
}

}  // namespace

TEST_CASE("server: answers, keeps the connection alive, and answers again", "[http]") {
  ServerFixture f;
  auto s = f.Connect();
  Send(s, Get("/api/status"));
  std::string first = ReadResponse(s);
  CHECK(first.rfind("HTTP/1.1 401", 0) == 0);
  Send(s, Get("/api/nothing"));
  CHECK(ReadResponse(s).rfind("HTTP/1.1 404", 0) == 0);
}

TEST_CASE("server: a body larger than the route takes is refused from its length, before it is read", "[http]") {
  ServerFixture f;
  auto s = f.Connect();
  Send(s, "POST /api/records HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
          "Content-Length: 104857600\r\n\r\n{");
  std::string r = ReadAll(s, 2000ms);
  CHECK(r.rfind("HTTP/1.1 413", 0) == 0);
  CHECK(r.find("\"code\":\"too_large\"") != std::string::npos);
  // Chunked, with no length: stopped when it passes the limit.
  auto c = f.Connect();
  Send(c, "POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
          "Transfer-Encoding: chunked\r\n\r\n");
  std::string chunk(64 * 1024, 'x');
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
  boost::system::error_code ec;
  for (int i = 0; i < 40 && !ec; ++i) asio::write(c, asio::buffer(std::string(size) + chunk + "\r\n"), ec);
  std::string rc = ReadAll(c, 2000ms);
  CHECK(rc.rfind("HTTP/1.1 413", 0) == 0);
}

TEST_CASE("server: a request head over 16 KiB is refused", "[http]") {
  ServerFixture f;
  auto s = f.Connect();
  Send(s, "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
  CHECK(ReadAll(s, 2000ms).rfind("HTTP/1.1 431", 0) == 0);
}

TEST_CASE("server: slow clients are cut off and do not hold up others", "[http]") {
  ServerFixture f;
  std::vector<tcp::socket> slow;
  for (int i = 0; i < 50; ++i) {
    slow.push_back(f.Connect());
    Send(slow.back(), "GET /api/status HTTP/1.1\r\nHost: 12");  // and then nothing
  }
  auto began = std::chrono::steady_clock::now();
  auto s = f.Connect();
  Send(s, Get("/api/status"));
  CHECK(ReadResponse(s).rfind("HTTP/1.1 401", 0) == 0);
  CHECK(std::chrono::steady_clock::now() - began < 700ms);  // not after the slow ones' 0.8 s timeout
  // After the head timeout (0.8 s here) the slow ones are closed.
  std::this_thread::sleep_for(1000ms);
  for (int i = 0; i < 100 && f.server->open_connections() > 1; ++i) std::this_thread::sleep_for(50ms);
  CHECK(ReadAll(slow[0], 200ms).empty());  // closed without an answer
  CHECK(f.server->open_connections() <= 1);
}

TEST_CASE("server: idle connections are bounded and closed; the server keeps serving", "[http]") {
  auto options = ServerFixture::Defaults();
  options.max_connections = 100;
  ServerFixture f(options);
  std::vector<tcp::socket> idle;
  for (int i = 0; i < 300; ++i) idle.push_back(f.Connect());
  std::this_thread::sleep_for(200ms);
  CHECK(f.server->open_connections() <= 100);
  // Once the idle ones time out, a new client is served.
  std::this_thread::sleep_for(1200ms);
  auto s = f.Connect();
  Send(s, Get("/api/status"));
  CHECK(ReadResponse(s).rfind("HTTP/1.1 401", 0) == 0);
}

TEST_CASE("server: a long poll on /api/changes answers as soon as something changes", "[http]") {
  ServerFixture f;
  auto s = f.Connect();
  std::string body = "{\"name\":\"amina\",\"password\":\"amina password\"}";
  Send(s, "POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\n\r\n" + body);
  std::string login = ReadResponse(s);
  REQUIRE(login.rfind("HTTP/1.1 200", 0) == 0);
  auto at = login.find("ncen_session=");
  std::string cookie = login.substr(at, login.find(';', at) - at);
  Send(s, Get("/api/changes?since=0&wait=20", "Cookie: " + cookie + "\r\n"));
  auto began = std::chrono::steady_clock::now();
  std::thread writer([&] {
    std::this_thread::sleep_for(300ms);
    json suspect = {{"surname", "Khan"}};
    REQUIRE(Records(*f.node.store, f.node.identity).Add(storage::RecordType::kSuspect, suspect).ok());
  });
  std::string r = ReadResponse(s);
  writer.join();
  auto took = std::chrono::steady_clock::now() - began;
  CHECK(r.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(r.find("\"change\":1") != std::string::npos);
  CHECK(took >= 250ms);
  CHECK(took < 5000ms);  // answered on the change, long before the 20 s wait
}

TEST_CASE("http config: a non-loopback address needs TLS or an explicit insecure setting", "[http]") {
  HttpServerOptions o;
  o.listen = "127.0.0.1:7480";
  CHECK(CheckHttpOptions(o).ok());
  o.listen = "[::1]:7480";
  CHECK(CheckHttpOptions(o).ok());
  o.listen = "0.0.0.0:7480";
  CHECK(CheckHttpOptions(o).code() == StatusCode::kInvalidArgument);
  o.insecure = true;
  CHECK(CheckHttpOptions(o).ok());
  o.insecure = false;
  o.tls_cert_file = "cert.pem";
  CHECK(CheckHttpOptions(o).code() == StatusCode::kInvalidArgument);  // the key too
  o.tls_key_file = "key.pem";
  CHECK(CheckHttpOptions(o).ok());
}

TEST_CASE("server: a body for a route that needs a session is refused from the head without one", "[http]") {
  ServerFixture f;
  auto s = f.Connect();
  Send(s, "POST /api/records/01a22ee8-a2cf-7d9e-83bb-05335801ffa3/photos HTTP/1.1\r\nHost: 127.0.0.1\r\n"
          "Content-Type: image/jpeg\r\nContent-Length: 52428800\r\n\r\n");
  auto began = std::chrono::steady_clock::now();
  std::string r = ReadAll(s, 2000ms);
  CHECK(r.rfind("HTTP/1.1 401", 0) == 0);
}

TEST_CASE("server: a Transfer-Encoding that is not chunked, or no Host, is a bad request", "[http]") {
  ServerFixture f;
  for (const char* te : {"xchunked", "chunked, identity", "identity", "gzip"}) {
    INFO(te);
    auto s = f.Connect();
    Send(s, std::string("POST /api/nothing HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: ") + te +
                "\r\nContent-Type: application/json\r\n\r\nGET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    std::string r = ReadAll(s, 1500ms);
    CHECK(r.rfind("HTTP/1.1 400", 0) == 0);
    CHECK(r.find("HTTP/1.1", 5) == std::string::npos);  // one answer: the second request was never read as one
  }
  auto s = f.Connect();
  Send(s, "GET /api/status HTTP/1.1\r\n\r\n");
  CHECK(ReadAll(s, 1500ms).rfind("HTTP/1.1 400", 0) == 0);
}

TEST_CASE("server: bodies being read at once share a budget", "[http]") {
  auto options = ServerFixture::Defaults();
  options.body_bytes_budget = 1 << 20;
  options.body_timeout_ms = 3000;
  ServerFixture f(options);
  std::string body = "{\"name\":\"amina\",\"password\":\"amina password\"}";
  // Two logins (no session needed) announcing 700 kB each, bodies not sent yet.
  auto a = f.Connect();
  Send(a, "POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 700000\r\n\r\n{");
  std::this_thread::sleep_for(200ms);
  auto b = f.Connect();
  Send(b, "POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 700000\r\n\r\n{");
  CHECK(ReadAll(b, 1500ms).rfind("HTTP/1.1 503", 0) == 0);
}

TEST_CASE("server: connections from one address are bounded", "[http]") {
  auto options = ServerFixture::Defaults();
  options.max_connections_per_address = 10;
  ServerFixture f(options);
  std::vector<tcp::socket> held;
  for (int i = 0; i < 30; ++i) held.push_back(f.Connect());
  std::this_thread::sleep_for(300ms);
  CHECK(f.server->open_connections() <= 10);
}

TEST_CASE("server: a long poll whose client went away frees its connection at once", "[http]") {
  ServerFixture f;
  std::string body = "{\"name\":\"amina\",\"password\":\"amina password\"}";
  auto s = f.Connect();
  Send(s, "POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\n\r\n" + body);
  std::string login = ReadResponse(s);
  auto at = login.find("ncen_session=");
  std::string cookie = login.substr(at, login.find(';', at) - at);
  std::vector<tcp::socket> polls;
  for (int i = 0; i < 20; ++i) {
    polls.push_back(f.Connect());
    Send(polls.back(), Get("/api/changes?since=999999&wait=60", "Cookie: " + cookie + "\r\n"));
  }
  std::this_thread::sleep_for(500ms);
  CHECK(f.server->open_connections() >= 20);
  for (auto& p : polls) p.close();
  // Well before their 60 s wait is over (a busy machine may take a moment).
  for (int i = 0; i < 100 && f.server->open_connections() > 2; ++i) std::this_thread::sleep_for(50ms);
  CHECK(f.server->open_connections() <= 2);
}

TEST_CASE("server: HEAD of a page has its length and no body", "[http]") {
  testing::TempDir ui;
  std::ofstream(ui.Sub("index.html")) << "<html>ui</html>\n";
  testing::TempDir dir;
  auto node = InitNode(dir.path(), "post1", "post", {}, NodeConfig{}).value();
  ApiOptions api_options;
  api_options.data_dir = dir.path();
  api_options.static_dir = ui.path();
  Api api(node, api_options);
  auto server = HttpServer::Start(api, ServerFixture::Defaults()).value();
  asio::io_context io;
  tcp::socket s(io);
  auto colon = server->address().rfind(':');
  s.connect({asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(std::stoi(server->address().substr(colon + 1)))});
  Send(s, "HEAD /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  std::string r = ReadAll(s, 1500ms);
  CHECK(r.find("Content-Length: 16") != std::string::npos);
  auto second = r.find("HTTP/1.1 200", 5);
  REQUIRE(second != std::string::npos);
  CHECK(r.substr(r.find("\r\n\r\n") + 4, 8) == "HTTP/1.1");  // the HEAD's answer ends with its head
  CHECK(r.substr(second).find("<html>ui</html>") != std::string::npos);
}

namespace {

// A throwaway self-signed certificate for 127.0.0.1, written as PEM files.
void MakeCertificate(const std::string& cert_path, const std::string& key_path) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  REQUIRE(key);
  X509* x = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  REQUIRE(X509_sign(x, key, EVP_sha256()) > 0);
  FILE* c = std::fopen(cert_path.c_str(), "w");
  PEM_write_X509(c, x);
  std::fclose(c);
  FILE* k = std::fopen(key_path.c_str(), "w");
  PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(k);
  X509_free(x);
  EVP_PKEY_free(key);
}

}  // namespace

TEST_CASE("server: TLS when configured; the cookie is then Secure; plain HTTP gets nothing", "[http]") {
  testing::TempDir keys;
  MakeCertificate(keys.Sub("cert.pem"), keys.Sub("key.pem"));
  auto options = ServerFixture::Defaults();
  options.tls_cert_file = keys.Sub("cert.pem");
  options.tls_key_file = keys.Sub("key.pem");
  ServerFixture f(options);
  CHECK(f.server->tls());

  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_verify_mode(asio::ssl::verify_none);  // self-signed, for the test
  asio::ssl::stream<tcp::socket> tls(f.io, ctx);
  tls.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), f.port));
  tls.handshake(asio::ssl::stream_base::client);
  std::string body = "{\"name\":\"amina\",\"password\":\"amina password\"}";
  std::string req = "POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  asio::write(tls, asio::buffer(req));
  std::string resp;
  boost::system::error_code ec;
  char buf[4096];
  for (;;) {
    size_t n = tls.read_some(asio::buffer(buf), ec);
    if (ec) break;
    resp.append(buf, n);
  }
  CHECK(resp.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(resp.find("; Secure") != std::string::npos);

  auto plain = f.Connect();
  Send(plain, Get("/api/status"));
  CHECK(ReadAll(plain, 1500ms).find("HTTP/1.1") == std::string::npos);
}

}  // namespace ncen::node
