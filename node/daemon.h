// The ncen-node daemon: one node's replication with its configured peers
// over the secure channel (docs/protocol.md, docs/handshake.md). One thread
// runs everything: the Asio loop, the sessions, the store. Built as a
// library so that tests and ncen-bench can run a daemon in-process too.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace ncen::node {

// Written in the data directory while the daemon listens: the address it
// listens on, one line ("127.0.0.1:40123"), e.g. after --listen 127.0.0.1:0.
inline constexpr const char* kAddressFileName = "ncen-node.address";
// The same for the HTTP API (docs/api.md), while it is served.
inline constexpr const char* kHttpAddressFileName = "ncen-node.http-address";

struct DaemonOptions {
  std::string data_dir;
  std::string listen_override;  // --listen; empty = the configuration's
  std::string http_listen_override;  // --http-listen; empty = the configuration's http_listen
  bool durable = true;          // fsync at commit
  // --once: dial the peers that have an address, sync, and stop as soon as
  // every one of them is in sync (a post on an intermittent link, scripts,
  // ncen-bench). Run() then returns kUnavailable if `once_timeout_ms` passed first.
  bool once = false;
  int64_t once_timeout_ms = 0;  // 0: no limit
  // zstd level of what this node sends (docs/protocol.md §2a); 0: sent
  // uncompressed (what it receives is read either way). --compress-level.
  int compress_level = 1;
  // TEST ONLY: called inside the daemon's exception boundary before each
  // call into a peer's session, with the peer's configured name and the
  // call ("start", "message", "tick", "flush", "recycle", "progress"). A
  // test throws from it to check that the daemon survives a session that
  // throws. Empty in ncen-node.
  std::function<void(const std::string& peer, std::string_view call)> session_call_hook_for_testing;
};

class Daemon {
 public:
  // Opens the node and its configuration; does not listen yet.
  static Result<std::unique_ptr<Daemon>> Create(const DaemonOptions& options);
  ~Daemon();

  // Listens, dials, replicates until RequestStop() (or SIGINT/SIGTERM when
  // HandleSignals() was called); SIGHUP reloads the peers. Returns when
  // every session is closed and the status rows are written.
  Status Run();
  void HandleSignals();
  // Thread-safe.
  void RequestStop();
  // The address actually listened on (after Run() began), e.g. for port 0.
  std::string listen_address() const;
  // The HTTP API's address (after Run() began); empty when not served.
  std::string http_address() const;
  // With `once`: milliseconds from Run() to every dialed peer in sync.
  int64_t once_synced_ms() const;

  class Impl;

 private:
  explicit Daemon(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ncen::node
