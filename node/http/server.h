// The HTTP server of ncen-node (Boost.Beast, HTTP/1.1, optional TLS through
// OpenSSL): reads requests off connections, has node::Api answer them,
// writes the responses (docs/api.md "Limits").
//
// It runs on threads of its own (`threads`, its own io_context), never on the
// daemon's replication thread: a slow request cannot hold up a sync, and a
// sync's batch cannot hold up a request (the store lets both in at once,
// node/http/api.h). Logins, which hash a password for about 0.1 s, run on a
// further thread so they hold up nobody.
//
// Hostile clients: every request head must arrive within `header_timeout_ms`
// and be at most `header_bytes_max`; a body longer than its route allows is
// answered 413 from its Content-Length, before it is read; a body must
// arrive within `body_timeout_ms`; an idle keep-alive connection is closed
// after `idle_timeout_ms`; at most `max_connections` are open at once, and
// `max_connections_per_address` from one address (more are closed as soon as
// they are accepted). A body for a route that needs a session is read only
// when the request's cookie holds one (401 from the head otherwise), and all
// bodies being read share `body_bytes_budget`. A long poll whose client
// closes its end is dropped at once.
//
// Thread-safety: Start, address and Stop from one thread.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "node/http/api.h"

namespace ncen::node {

struct HttpServerOptions {
  std::string listen = "127.0.0.1:7480";  // HOST:PORT; port 0: any free port
  std::string tls_cert_file, tls_key_file;  // PEM; both or neither
  bool insecure = false;  // plain HTTP on an address other than loopback, on purpose
  int threads = 2;
  size_t max_connections = 1024;
  size_t max_connections_per_address = 256;
  // Bytes of request bodies being read at once, all connections together;
  // past it a request with a body is answered 503 from its head.
  uint64_t body_bytes_budget = uint64_t{256} << 20;
  int64_t header_timeout_ms = 10'000;
  int64_t body_timeout_ms = 120'000;
  int64_t idle_timeout_ms = 30'000;
  int64_t write_timeout_ms = 60'000;
  size_t header_bytes_max = 16 * 1024;
};

// kInvalidArgument when `listen` is not loopback and there is neither TLS nor
// `insecure`, or when only one of the TLS files is given.
Status CheckHttpOptions(const HttpServerOptions& options);

class HttpServer {
 public:
  // Binds, loads the TLS files and starts the threads. `api` must outlive
  // the server.
  static Result<std::unique_ptr<HttpServer>> Start(Api& api, const HttpServerOptions& options);
  ~HttpServer();  // Stop()

  // The address listened on ("127.0.0.1:40123"), with the real port.
  std::string address() const;
  bool tls() const;
  size_t open_connections() const;
  // Closes the listener and every connection; joins the threads.
  void Stop();

  class Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ncen::node
