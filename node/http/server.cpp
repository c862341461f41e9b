#include "node/http/server.h"

#include <utility>  // before Asio (../shared/TOOLCHAIN.md)

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>
#include <thread>
#include <vector>

#include "base/log.h"
#include "node/config.h"
#include "node/json_views.h"

namespace ncen::node {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Millis = std::chrono::milliseconds;

Status CheckHttpOptions(const HttpServerOptions& o) {
  NCEN_ASSIGN_OR_RETURN(HostPort hp, ParseListenAddress(o.listen));
  if (o.tls_cert_file.empty() != o.tls_key_file.empty()) {
    return InvalidArgument("http_tls_cert and http_tls_key go together: give both or neither");
  }
  bool tls = !o.tls_cert_file.empty();
  if (!IsLoopbackHost(hp.host) && !tls && !o.insecure) {
    return InvalidArgument("http_listen " + o.listen +
                           " is not a loopback address: give http_tls_cert and http_tls_key, or set "
                           "http_insecure = true to serve plain HTTP there on purpose");
  }
  if (o.threads < 1 || o.threads > 64) return InvalidArgument("http_threads is 1 to 64");
  return Status::Ok();
}

class HttpServer::Impl {
 public:
  Impl(Api& api, HttpServerOptions options)
      : api_(api),
        options_(std::move(options)),
        tls_context_(ssl::context::tls_server),
        acceptor_(io_),
        slow_work_(1),
        login_work_(1) {}

  Status Open();
  void Run();
  void Stop();

  void Accept();
  void Release(const std::string& remote) {
    {
      std::lock_guard<std::mutex> lock(per_address_mu_);
      auto it = per_address_.find(remote);
      if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
    }
    open_.fetch_sub(1);
  }

  Api& api_;
  HttpServerOptions options_;
  // What a connection's destructor touches (Release, live_) is declared
  // before io_, so it is destroyed after it: a connection whose handler was
  // still queued when the loop stopped (a handler that was slow to return
  // at shutdown) is destroyed by io_'s destructor, and must find these.
  std::atomic<size_t> open_{0};
  std::atomic<size_t> slow_queued_{0}, login_queued_{0};
  std::atomic<uint64_t> body_bytes_{0};  // reserved by the bodies being read
  // Open connections per client address.
  std::mutex per_address_mu_;
  std::map<std::string, size_t> per_address_;
  std::atomic<bool> stopping_{false};
  std::string address_;
  // Every live connection's closer, so Stop can end them.
  std::mutex live_mu_;
  std::map<uint64_t, std::function<void()>> live_;
  uint64_t next_id_ = 1;
  bool tls_ = false;
  ssl::context tls_context_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  // Password hashing (logins, new users): one at a time, off the I/O threads.
  asio::thread_pool slow_work_;   // photo decoding
  asio::thread_pool login_work_;  // password hashing
  std::vector<std::thread> threads_;
};

namespace {

constexpr size_t kSlowQueueMax = 32;

uint64_t MaxBodyLimit() {
  static const uint64_t max = [] {
    uint64_t m = 0;
    for (const auto& r : Api::Routes()) m = std::max<uint64_t>(m, r.body_limit);
    return m;
  }();
  return max;
}

// One connection: read a request, answer it, again while kept alive.
template <class Stream>
class Connection : public std::enable_shared_from_this<Connection<Stream>> {
 public:
  Connection(HttpServer::Impl& server, Stream stream, std::string remote)
      : server_(server), stream_(std::move(stream)), remote_(std::move(remote)) {}

  ~Connection() {
    ReleaseBudget();
    {
      std::lock_guard<std::mutex> lock(server_.live_mu_);
      server_.live_.erase(id_);
    }
    server_.Release(remote_);
  }

  void Start(uint64_t id) {
    id_ = id;
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      beast::get_lowest_layer(stream_).expires_after(Millis(server_.options_.header_timeout_ms));
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return;  // a client that does not speak TLS
                                self->ReadHeader(true);
                              });
    } else {
      ReadHeader(true);
    }
  }

  // From Stop, on any thread: close the socket from the connection's strand.
  void Close() {
    asio::post(beast::get_lowest_layer(stream_).get_executor(),
               [self = this->shared_from_this()] { beast::get_lowest_layer(self->stream_).close(); });
  }

 private:
  void ReadHeader(bool first) {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_.options_.header_bytes_max));
    // The largest any route takes; the route's own limit is set once the head is read.
    parser_->body_limit(MaxBodyLimit());
    // A new connection and a kept-alive one both get so long for the head.
    beast::get_lowest_layer(stream_).expires_after(
        Millis(first ? server_.options_.header_timeout_ms : server_.options_.idle_timeout_ms));
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::error::eof) {
      return Shutdown();
    }
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) return Refuse(431, "the request head is larger than 16 KiB");
    if (ec == http::error::body_limit) return Refuse(413, "the body is larger than any route takes");
    if (ec) return Refuse(400, "a malformed request: " + ec.message());
    // The head has come; the rest (if any) must come soon too.
    beast::get_lowest_layer(stream_).expires_after(Millis(server_.options_.header_timeout_ms));
    auto& req = parser_->get();
    std::string method(req.method_string());
    std::string target(req.target());
    if (req.version() >= 11 && req.find(http::field::host) == req.end()) {
      return Refuse(400, "an HTTP/1.1 request needs a Host header");
    }
    // A Transfer-Encoding that does not end in chunked leaves the body's
    // end unknown (RFC 9112 §6.3): refused, or the body would be read as a
    // second request.
    if (req.find(http::field::transfer_encoding) != req.end() && !parser_->chunked()) {
      return Refuse(400, "a Transfer-Encoding other than chunked");
    }
    head_ = req.method() == http::verb::head;
    const RouteInfo* route = Api::FindRoute(method, target);
    slow_ = route && route->slow;
    login_ = route && route->pattern == "/api/login";
    // A path that is no route gets its 404 or 405 from the Api, after a body
    // of at most the JSON limit.
    size_t limit = route ? route->body_limit : kJsonBodyBytesMax;
    auto length = parser_->content_length();
    if (length && *length > limit) {
      return Refuse(413, fmt::format("the body is {} bytes; at most {} are taken here", *length, limit));
    }
    if (!parser_->is_done() && !length && !parser_->chunked()) {
      // Neither a length nor chunks: there is no body (HTTP/1.1 requests).
    }
    parser_->body_limit(limit);
    if (parser_->is_done()) return Dispatch();
    // A body is coming. Nobody's body is read for a route that needs a
    // session unless the cookie holds one: 401 from the head.
    if (route && route->needs_login && !server_.api_.HasSession(std::string(req[http::field::cookie]))) {
      return Refuse(401, "log in first (POST /api/login)");
    }
    // And all bodies being read at once stay within a budget.
    reserved_ = length ? *length : limit;
    if (server_.body_bytes_.fetch_add(reserved_) + reserved_ > server_.options_.body_bytes_budget) {
      server_.body_bytes_.fetch_sub(reserved_);
      reserved_ = 0;
      return Refuse(503, "busy: too many large requests at once; try again shortly");
    }
    if (req[http::field::expect] == "100-continue") {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, req.version());
      http::async_write(stream_, *cont, [self = this->shared_from_this(), cont](beast::error_code ec, size_t) {
        if (ec) return self->Shutdown();
        self->ReadBody();
      });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    beast::get_lowest_layer(stream_).expires_after(Millis(server_.options_.body_timeout_ms));
    http::async_read(stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec == http::error::body_limit) return self->Refuse(413, "the body is larger than this route takes");
      if (ec == beast::error::timeout || ec == asio::error::eof || ec == asio::error::connection_reset ||
          ec == http::error::partial_message || ec == asio::error::operation_aborted) {
        return self->Shutdown();
      }
      if (ec) return self->Refuse(400, "a malformed request body: " + ec.message());
      self->Dispatch();
    });
  }

  void Dispatch() {
    auto& req = parser_->get();
    request_ = HttpRequest{};
    request_.method = std::string(req.method_string());
    request_.target = std::string(req.target());
    for (const auto& f : req) {
      std::string name(f.name_string());
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      request_.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    request_.body = std::move(req.body());
    request_.remote = remote_;
    request_.tls = server_.tls_;
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    beast::get_lowest_layer(stream_).expires_never();
    if (slow_) {
      // Password hashing and image decoding, one at a time: a queue longer
      // than kSlowQueueMax is a flood, answered 503 at once.
      // Logins and uploads have a queue and a thread each, so uploads never
      // keep an officer from logging in.
      auto& queued = login_ ? server_.login_queued_ : server_.slow_queued_;
      auto& pool = login_ ? server_.login_work_ : server_.slow_work_;
      if (queued.fetch_add(1) >= kSlowQueueMax) {
        queued.fetch_sub(1);
        HttpResponse busy;
        busy.status = 503;
        busy.body = DumpJson(json{{"error", "busy: too many logins or uploads at once; try again shortly"},
                                  {"code", "unavailable"}, {"field", nullptr}}, -1) + "\n";
        busy.headers.emplace_back("Retry-After", "2");
        AddSecurityHeaders(busy, true);
        return Write(std::move(busy));
      }
      asio::post(pool, [self = this->shared_from_this(), &queued] {
        HttpResponse r = self->server_.api_.Handle(self->request_);
        queued.fetch_sub(1);
        asio::post(beast::get_lowest_layer(self->stream_).get_executor(),
                   [self, r = std::move(r)]() mutable { self->Write(std::move(r)); });
      });
      return;
    }
    Answer(std::chrono::steady_clock::now());
  }

  // Handle, and for a long poll again every 200 ms until there is something
  // or the wait is over.
  void Answer(std::chrono::steady_clock::time_point began) {
    HttpResponse r = server_.api_.Handle(request_);
    auto waited = std::chrono::steady_clock::now() - began;
    if (r.wait_ms > 0 && !server_.stopping_ && !gone_ && waited < Millis(r.wait_ms)) {
      if (!timer_) {
        timer_.emplace(beast::get_lowest_layer(stream_).get_executor());
        WatchForClose();
      }
      timer_->expires_after(Millis(200));
      timer_->async_wait([self = this->shared_from_this(), began](beast::error_code ec) {
        if (ec || self->gone_) return;
        self->Answer(began);
      });
      return;
    }
    if (gone_) return Shutdown();
    Write(std::move(r));
  }

  // During a long poll: a client that closes its end is gone; stop polling
  // for it (its slot would otherwise be held until the wait ends).
  void WatchForClose() {
    auto& sock = beast::get_lowest_layer(stream_).socket();
    sock.async_wait(tcp::socket::wait_read, [self = this->shared_from_this()](beast::error_code ec) {
      if (ec) return;
      beast::error_code avail_ec;
      size_t n = beast::get_lowest_layer(self->stream_).socket().available(avail_ec);
      if (avail_ec || n == 0) {  // end of stream (or an error): the client left
        self->gone_ = true;
        if (self->timer_) self->timer_->cancel();
        beast::get_lowest_layer(self->stream_).close();
      }
      // Bytes (a pipelined request): read after this answer, as usual.
    });
  }

  void Refuse(int status, const std::string& message) {
    refused_ = true;
    HttpResponse r;
    r.status = status;
    const char* code = status == 413   ? "too_large"
                       : status == 431 ? "head_too_large"
                       : status == 401 ? "unauthenticated"
                       : status == 503 ? "unavailable"
                                       : "bad_request";
    r.body = DumpJson(json{{"error", message}, {"code", code}, {"field", nullptr}}, -1) + "\n";
    AddSecurityHeaders(r, true);
    keep_alive_ = false;
    version_ = 11;
    Write(std::move(r));
  }

  void ReleaseBudget() {
    if (reserved_ == 0) return;
    server_.body_bytes_.fetch_sub(reserved_);
    reserved_ = 0;
  }

  void Write(HttpResponse r) {
    ReleaseBudget();
    request_.body.clear();
    request_.body.shrink_to_fit();
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(version_ ? version_ : 11);
    res->result(static_cast<unsigned>(r.status));
    res->set(http::field::server, "ncen-node");
    if (!r.content_type.empty()) res->set(http::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) res->insert(k, v);
    size_t length = r.body.size();
    if (!head_) res->body() = std::move(r.body);
    res->keep_alive(keep_alive_ && !server_.stopping_);
    res->prepare_payload();
    if (head_) res->content_length(length);  // the length a GET would have, and no body
    beast::get_lowest_layer(stream_).expires_after(Millis(server_.options_.write_timeout_ms));
    http::async_write(stream_, *res, [self = this->shared_from_this(), res](beast::error_code ec, size_t) {
      if (ec || !res->keep_alive()) return self->Shutdown();
      self->ReadHeader(false);
    });
  }

  void Shutdown() {
    auto& sock = beast::get_lowest_layer(stream_).socket();
    beast::error_code ec;
    sock.shutdown(tcp::socket::shutdown_send, ec);
    if (!refused_) return beast::get_lowest_layer(stream_).close();
    // A refused request's unread bytes would make close() send a reset,
    // and the client could lose our answer with it: read and drop what
    // still comes, for at most a second, then close.
    beast::get_lowest_layer(stream_).expires_after(Millis(1000));
    Drain();
  }

  void Drain() {
    auto buf = std::make_shared<std::array<char, 16384>>();
    beast::get_lowest_layer(stream_).async_read_some(
        asio::buffer(*buf), [self = this->shared_from_this(), buf](beast::error_code ec, size_t) {
          if (ec) return beast::get_lowest_layer(self->stream_).close();
          self->Drain();
        });
  }

  HttpServer::Impl& server_;
  Stream stream_;
  std::string remote_;
  uint64_t id_ = 0;
  // Unbounded here: the parser bounds the head (header_limit) and the body (body_limit).
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpRequest request_;
  bool slow_ = false;
  bool login_ = false;
  bool head_ = false;
  uint64_t reserved_ = 0;  // of the server's body budget
  bool refused_ = false;
  bool keep_alive_ = false;
  unsigned version_ = 11;
  std::optional<asio::steady_timer> timer_;
  bool gone_ = false;
};

}  // namespace

Status HttpServer::Impl::Open() {
  NCEN_RETURN_IF_ERROR(CheckHttpOptions(options_));
  NCEN_ASSIGN_OR_RETURN(HostPort hp, ParseListenAddress(options_.listen));
  if (!options_.tls_cert_file.empty()) {
    boost::system::error_code ec;
    tls_context_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                             ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    tls_context_.use_certificate_chain_file(options_.tls_cert_file, ec);
    if (ec) return InvalidArgument("http_tls_cert " + options_.tls_cert_file + ": " + ec.message());
    tls_context_.use_private_key_file(options_.tls_key_file, ssl::context::pem, ec);
    if (ec) return InvalidArgument("http_tls_key " + options_.tls_key_file + ": " + ec.message());
    tls_ = true;
  }
  std::string host = hp.host == "localhost" ? "127.0.0.1" : hp.host;
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return InvalidArgument("http_listen " + options_.listen + ": " + ec.message());
  tcp::endpoint ep(addr, hp.port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return IOError("cannot listen for HTTP on " + options_.listen + ": " + ec.message());
  auto local = acceptor_.local_endpoint();
  address_ = local.address().is_v6() ? "[" + local.address().to_string() + "]:" + std::to_string(local.port())
                                     : local.address().to_string() + ":" + std::to_string(local.port());
  return Status::Ok();
}

void HttpServer::Impl::Accept() {
  acceptor_.async_accept(asio::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
    if (stopping_) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      // EMFILE and the like: try again shortly rather than spin.
      auto timer = std::make_shared<asio::steady_timer>(io_, Millis(100));
      timer->async_wait([this, timer](beast::error_code) {
        if (!stopping_) Accept();
      });
      return;
    }
    if (open_.fetch_add(1) >= options_.max_connections) {
      open_.fetch_sub(1);
      beast::error_code ignored;
      socket.close(ignored);
      Accept();
      return;
    }
    beast::error_code rec;
    auto ep = socket.remote_endpoint(rec);
    std::string remote = rec ? std::string("?") : ep.address().to_string();
    {
      std::lock_guard<std::mutex> lock(per_address_mu_);
      size_t& n = per_address_[remote];
      if (n >= options_.max_connections_per_address) {
        if (n == 0) per_address_.erase(remote);
        open_.fetch_sub(1);
        beast::error_code ignored;
        socket.close(ignored);
        Accept();
        return;
      }
      ++n;
    }
    uint64_t id;
    std::shared_ptr<void> keep;
    std::function<void()> closer;
    if (tls_) {
      auto c = std::make_shared<Connection<beast::ssl_stream<beast::tcp_stream>>>(
          *this, beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), tls_context_), remote);
      closer = [w = std::weak_ptr(c)] { if (auto s = w.lock()) s->Close(); };
      {
        std::lock_guard<std::mutex> lock(live_mu_);
        id = next_id_++;
        live_[id] = closer;
      }
      c->Start(id);
    } else {
      auto c = std::make_shared<Connection<beast::tcp_stream>>(*this, beast::tcp_stream(std::move(socket)), remote);
      closer = [w = std::weak_ptr(c)] { if (auto s = w.lock()) s->Close(); };
      {
        std::lock_guard<std::mutex> lock(live_mu_);
        id = next_id_++;
        live_[id] = closer;
      }
      c->Start(id);
    }
    Accept();
  });
}

void HttpServer::Impl::Run() {
  Accept();
  for (int i = 0; i < options_.threads; ++i) {
    threads_.emplace_back([this] {
      auto guard = asio::make_work_guard(io_);
      for (;;) {
        try {
          io_.run();
          return;
        } catch (const std::exception& e) {
          log::Line(std::string("http: a handler threw: ") + e.what());
        }
      }
    });
  }
}

void HttpServer::Impl::Stop() {
  if (stopping_.exchange(true)) return;
  asio::post(io_, [this] {
    beast::error_code ec;
    acceptor_.close(ec);
  });
  std::vector<std::function<void()>> closers;
  {
    std::lock_guard<std::mutex> lock(live_mu_);
    for (auto& [id, c] : live_) closers.push_back(c);
  }
  for (auto& c : closers) c();
  slow_work_.join();
  login_work_.join();
  // Give the connections a moment to finish closing, then stop the loop.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (open_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(Millis(10));
  }
  io_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() { Stop(); }

Result<std::unique_ptr<HttpServer>> HttpServer::Start(Api& api, const HttpServerOptions& options) {
  auto impl = std::make_unique<Impl>(api, options);
  NCEN_RETURN_IF_ERROR(impl->Open());
  impl->Run();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

std::string HttpServer::address() const { return impl_->address_; }
bool HttpServer::tls() const { return impl_->tls_; }
size_t HttpServer::open_connections() const { return impl_->open_.load(); }
void HttpServer::Stop() {
  if (impl_) impl_->Stop();
}

}  // namespace ncen::node
