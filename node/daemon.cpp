#include "node/daemon.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cmath>
#include <map>
#include <set>

#include "base/log.h"
#include "base/rng.h"
#include "crypto/random.h"
#include "node/durable_file.h"
#include "node/config.h"
#include "node/exception_boundary.h"
#include "node/node_dir.h"
#include "node/refused_aggregator.h"
#include "replication/protocol/session.h"
#include "replication/transport/tcp.h"

namespace ncen::node {

namespace asio = boost::asio;
using asio::ip::tcp;
using transport::Connection;

namespace {

constexpr int64_t kTickMs = 100;
constexpr int64_t kStatusEveryMs = 1000;
constexpr int64_t kProgressLogEveryMs = 5000;
constexpr int64_t kRetryBaseMs = 500;
constexpr int64_t kRetryCapMs = 30000;
constexpr int64_t kShutdownGraceMs = 3000;
constexpr size_t kIndexRecordsPerTick = 500;  // bounds a slice's dirty pages


}  // namespace

class Daemon::Impl {
 public:
  struct Peer {
    PeerConfig config;
    std::shared_ptr<Connection> connection;  // the session's connection
    bool dialed_by_us = false;
    std::unique_ptr<replication::Session> session;
    bool dialing = false;
    int failures = 0;
    std::unique_ptr<asio::steady_timer> retry;
    storage::PeerStatus status;
    uint64_t bytes_in_before = 0, bytes_out_before = 0;  // of earlier connections
    int64_t last_progress_log_ms = 0;
  };

  Impl(DaemonOptions options, OpenNode node, NodeConfig config)
      : options_(std::move(options)),
        node_(std::move(node)),
        config_(std::move(config)),
        tick_(io_),
        signals_(io_),
        rng_(crypto::RandomU64()) {}

  int64_t Now() const { return storage::UnixMillisNow(); }
  storage::Store& store() { return *node_.store; }

  Status Start() {
    started_ms_ = Now();
    if (options_.once &&
        std::none_of(config_.peers.begin(), config_.peers.end(),
                     [](const PeerConfig& p) { return !p.address.empty(); })) {
      return InvalidArgument("--once needs a peer with an address to dial (ncenctl peers add --address)");
    }
    const auto& meta = store().meta();
    log::Line("node " + meta.name + " (" + meta.role + ", id " +
              crypto::Fingerprint(node_.identity.public_key()) + ") starting, network '" +
              config_.network_id + "', " + std::to_string(config_.peers.size()) + " peer(s)");
    auto stale = store().StaleIdentity();
    if (stale.ok() && !stale.value().empty()) {
      log::Line("WARNING: stale identity: " + stale.value() +
                "; local writes are refused until an administrator acts");
    }
    auto rows = store().PeerStatuses();
    std::map<crypto::PublicKey, storage::PeerStatus> previous;
    if (rows.ok()) {
      for (auto& row : rows.value()) previous[row.id] = row;
    }
    for (const PeerConfig& pc : config_.peers) {
      Peer& peer = AddPeer(pc);
      if (auto it = previous.find(pc.id); it != previous.end()) {
        peer.status = it->second;
        peer.status.connected = false;
        peer.status.connected_since_ms = 0;
        peer.bytes_in_before = peer.status.bytes_in;
        peer.bytes_out_before = peer.status.bytes_out;
      }
    }
    std::string listen = options_.listen_override.empty() ? config_.listen : options_.listen_override;
    if (!listen.empty()) {
      auto listener = transport::Listener::Open(
          io_, listen, [this](tcp::socket socket, transport::HandshakeSlot slot) {
            Accept(std::move(socket), std::move(slot));
          });
      if (!listener.ok()) return listener.status();
      listener_ = std::move(listener).value();
      log::Line("listening on " + listener_->address());
      WriteAddressFile(listener_->address());
    }
    for (auto& [id, peer] : peers_) Dial(peer);
    ScheduleTick();
    return Status::Ok();
  }

  Peer& AddPeer(const PeerConfig& pc) {
    Peer& peer = peers_[pc.id];
    peer.config = pc;
    peer.status.name = pc.name;
    peer.status.id = pc.id;
    peer.status.address = pc.address;
    peer.retry = std::make_unique<asio::steady_timer>(io_);
    return peer;
  }

  transport::ChannelOptions ChannelOptions() const {
    transport::ChannelOptions options;
    options.network_id = Bytes(config_.network_id.begin(), config_.network_id.end());
    options.max_message_bytes = limits::kMessageBytesMax;
    return options;
  }

  // Inbound: anyone in the roster.
  transport::PeerCheck RosterCheck() {
    return [this](const crypto::PublicKey& key) -> Result<std::string> {
      if (const PeerConfig* pc = config_.FindById(key)) return pc->name;
      return Unauthenticated("node " + crypto::Fingerprint(key) + " is not in the trust roster");
    };
  }

  // `dialed`: the peer we dialed, or nullopt for an inbound connection.
  Connection::Handler Handler(std::optional<crypto::PublicKey> dialed) {
    Connection::Handler handler;
    handler.on_open = [this, dialed](Connection& c) { OnOpen(c, dialed.has_value()); };
    handler.on_message = [this](Connection& c, Bytes& m) { OnMessage(c, m); };
    handler.on_close = [this, dialed](Connection& c, const Status& error) { OnClose(c, error, dialed); };
    return handler;
  }

  void Accept(tcp::socket socket, transport::HandshakeSlot slot) {
    if (stopping_) return;
    auto c = Connection::Start(std::move(socket), crypto::NoiseRole::kResponder, node_.identity,
                               ChannelOptions(), RosterCheck(), limits_, Handler(std::nullopt),
                               std::move(slot));
    pending_.insert(c);
  }

  void Dial(Peer& peer) {
    if (stopping_ || peer.config.address.empty() || peer.connection || peer.dialing) return;
    peer.dialing = true;
    crypto::PublicKey id = peer.config.id;
    std::string address = peer.config.address;
    transport::Dial(io_, address, std::chrono::milliseconds(5000),
                    [this, id, address](Result<tcp::socket> socket) {
                      auto it = peers_.find(id);
                      if (it == peers_.end()) return;
                      Peer& peer = it->second;
                      peer.dialing = false;
                      if (stopping_) return;
                      if (!socket.ok()) {
                        peer.status.last_error = socket.status().message();
                        if (peer.failures == 0) {
                          log::Line("cannot reach " + peer.config.name + ": " + socket.status().message());
                        }
                        return ScheduleRetry(peer);
                      }
                      // Only the peer we dialed may answer.
                      transport::PeerCheck check = [this, id](const crypto::PublicKey& key) -> Result<std::string> {
                        const PeerConfig* pc = config_.FindById(key);
                        if (key == id && pc) return pc->name;
                        return Unauthenticated("the node at this address is " + crypto::Fingerprint(key) +
                                               ", not the configured peer " + crypto::Fingerprint(id));
                      };
                      peer.dialing = true;  // until the handshake ends
                      auto c = Connection::Start(std::move(socket).value(), crypto::NoiseRole::kInitiator,
                                                 node_.identity, ChannelOptions(), check, limits_,
                                                 Handler(id));
                      pending_.insert(c);
                    });
  }

  void ScheduleRetry(Peer& peer) {
    if (stopping_ || peer.config.address.empty()) return;
    int64_t delay = kRetryBaseMs << std::min(peer.failures, 10);
    delay = std::min(delay, kRetryCapMs);
    // Jitter: 75%..125%, so nodes restarted together do not dial in lockstep.
    delay = delay * static_cast<int64_t>(75 + rng_.Below(51)) / 100;
    ++peer.failures;
    crypto::PublicKey id = peer.config.id;
    peer.retry->expires_after(std::chrono::milliseconds(delay));
    peer.retry->async_wait([this, id](const boost::system::error_code& e) {
      if (e) return;
      auto it = peers_.find(id);
      if (it != peers_.end()) Dial(it->second);
    });
  }

  Peer* PeerOf(const Connection& c) {
    for (auto& [id, peer] : peers_) {
      if (peer.connection.get() == &c) return &peer;
    }
    return nullptr;
  }

  void OnOpen(Connection& c, bool dialed_by_us) {
    auto self = c.shared_from_this();
    pending_.erase(self);
    auto it = peers_.find(*c.peer_id());
    if (it == peers_.end() || stopping_) return c.Close("not available");
    Peer& peer = it->second;
    if (dialed_by_us) peer.dialing = false;
    if (peer.connection) {
      // Two connections with one peer (both dialed at once): both sides keep
      // the one dialed by the node with the smaller id.
      const auto& me = node_.identity.public_key();
      auto initiator = [&](bool by_us) { return by_us ? me : peer.config.id; };
      bool keep_new = initiator(dialed_by_us) < initiator(peer.dialed_by_us) ||
                      initiator(dialed_by_us) == initiator(peer.dialed_by_us);
      if (!keep_new) return c.Close("duplicate connection");
      auto old = peer.connection;
      EndSession(peer, Status::Ok());
      old->Close("replaced by a newer connection");
    }
    peer.connection = self;
    peer.dialed_by_us = dialed_by_us;
    peer.failures = 0;
    int64_t now = Now();
    peer.status.connected = true;
    peer.status.connected_since_ms = now;
    peer.status.address = c.remote_address();
    peer.status.last_error.clear();
    log::Line("connected to " + peer.config.name + " (" + c.remote_address() + ", " +
              (dialed_by_us ? "outbound" : "inbound") + ")");
    replication::PeerInfo info{peer.config.id, peer.config.name, peer.config.scopes};
    const auto& meta = store().meta();
    bool started = Drive(peer, "start", [&] {
      peer.session = std::make_unique<replication::Session>(store(), node_.identity.public_key(),
                                                            meta.name, meta.role, info);
      peer.session->Start(now);
    });
    if (started) Flush(peer);
  }

  // The one boundary between the daemon and exceptions from a session: every
  // call into a Session that does work goes through here (its const
  // accessors that return a reference, such as progress(), cannot throw and
  // are read directly). Also calls the test hook, inside the boundary.
  Status CallGuarded(Peer& peer, std::string_view call, const std::function<void()>& fn) {
    return CatchSessionExceptions([&] {
      if (options_.session_call_hook_for_testing) {
        options_.session_call_hook_for_testing(peer.config.name, call);
      }
      fn();
    });
  }

  // Calls into the peer's session. When the call throws, the session is
  // ended and its connection closed, with a log line, and false returned:
  // the daemon goes on serving the others.
  bool Drive(Peer& peer, std::string_view call, const std::function<void()>& fn) {
    Status error = CallGuarded(peer, call, fn);
    if (error.ok()) return true;
    log::Line("session with " + peer.config.name + " failed in " + std::string(call) + ": " +
              error.ToString() + "; closing its connection");
    auto c = peer.connection;
    EndSession(peer, error, /*save_progress=*/false);
    if (c) c->Close("internal error");
    return false;
  }

  void OnMessage(Connection& c, const Bytes& message) {
    Peer* peer = PeerOf(c);
    if (!peer || !peer->session) return;
    bool was_caught_up = peer->session->progress().caught_up;
    if (!Drive(*peer, "message", [&] { peer->session->OnMessage(message, Now()); })) return;
    bool changed = peer->session->progress().caught_up != was_caught_up;
    Flush(*peer);
    if (changed) WriteStatus();
    if (changed && options_.once && !stopping_) CheckOnce(Now());
  }

  // Sends what the session queued, logs what it said, and closes when it failed.
  void Flush(Peer& peer) {
    if (!peer.session) return;
    std::vector<Bytes> outgoing;
    std::vector<std::string> lines;
    if (!Drive(peer, "flush", [&] {
          outgoing = peer.session->TakeOutgoing();
          lines = peer.session->TakeLog();
        })) {
      return;
    }
    for (const std::string& line : lines) log::Line(line);
    for (Bytes& m : outgoing) {
      // A failed Send aborts the connection, and its close handler ends the
      // session.
      if (!peer.connection->Send(m).ok()) break;
      if (!Drive(peer, "recycle", [&] { peer.session->RecycleOutgoing(std::move(m)); })) break;
    }
    if (peer.session && peer.session->failed()) {
      Status error = peer.session->error();
      auto c = peer.connection;
      EndSession(peer, error);
      c->Close(error.message().substr(0, 150));
    }
  }

  // Detaches the session from its connection and keeps what it learned
  // (unless the session has just thrown: then nothing it says is trusted).
  void EndSession(Peer& peer, const Status& error, bool save_progress = true) {
    if (peer.session && save_progress) {
      Status saved = CallGuarded(peer, "progress", [&] { SaveProgress(peer); });
      if (!saved.ok()) log::Line("progress with " + peer.config.name + " not kept: " + saved.ToString());
    }
    if (!error.ok()) peer.status.last_error = error.ToString();
    if (peer.connection) {
      peer.bytes_in_before += peer.connection->stats().bytes_in;
      peer.bytes_out_before += peer.connection->stats().bytes_out;
    }
    peer.status.bytes_in = peer.bytes_in_before;
    peer.status.bytes_out = peer.bytes_out_before;
    peer.status.connected = false;
    peer.status.connected_since_ms = 0;
    peer.session.reset();
    peer.connection.reset();
  }

  void SaveProgress(Peer& peer) {
    const auto& p = peer.session->progress();
    if (!p.hello_received) return;
    peer.status.behind = p.behind;
    peer.status.ahead = p.ahead;
    if (p.last_sync_ms) peer.status.last_sync_ms = p.last_sync_ms;
    peer.status.peer_frontier = peer.session->PeerFrontier();
  }

  void OnClose(Connection& c, const Status& error, std::optional<crypto::PublicKey> dialed) {
    auto self = c.shared_from_this();
    pending_.erase(self);
    // Stopping: finish as soon as the last connection is gone rather than at
    // the next tick (--once runs end ~100 ms sooner).
    if (stopping_) {
      asio::post(io_, [this] {
        if (!finished_ && !AnyConnection()) Finish();
      });
    }
    if (c.refused_peer()) {
      // Written with others at the next tick that is due: a flood of refused
      // handshakes must not cost a durable commit each.
      storage::RefusedAttempt attempt;
      attempt.id = *c.refused_peer();
      attempt.address = c.remote_address();
      attempt.at_ms = Now();
      attempt.reason = error.message();
      refused_.Add(attempt);
    }
    if (Peer* peer = PeerOf(c)) {
      log::Line("disconnected from " + peer->config.name +
                (error.ok() ? "" : ": " + error.message()));
      EndSession(*peer, error);
      WriteStatus();
      if (dialed) ScheduleRetry(*peer);
      return;
    }
    if (!dialed) return;
    // A dial of ours that never became the peer's session (the handshake
    // failed, or a duplicate was closed): try again later if still needed.
    auto it = peers_.find(*dialed);
    if (it == peers_.end()) return;
    Peer& peer = it->second;
    peer.dialing = false;
    if (peer.connection) return;
    if (!error.ok()) peer.status.last_error = error.ToString();
    ScheduleRetry(peer);
  }

  void ScheduleTick() {
    tick_.expires_after(std::chrono::milliseconds(kTickMs));
    tick_.async_wait([this](const boost::system::error_code& e) {
      if (!e) OnTick();
    });
  }

  void OnTick() {
    int64_t now = Now();
    bool changed = false;
    for (auto& [id, peer] : peers_) {
      if (!peer.session) continue;
      bool was_caught_up = peer.session->progress().caught_up;
      if (!Drive(peer, "tick", [&] { peer.session->OnTick(now); })) continue;
      Flush(peer);
      // Status readers (ncenctl status --wait-synced) learn at once.
      if (peer.session && peer.session->progress().caught_up != was_caught_up) changed = true;
      if (peer.session && peer.session->progress().hello_received &&
          !peer.session->progress().caught_up && now - peer.last_progress_log_ms >= kProgressLogEveryMs) {
        if (peer.last_progress_log_ms != 0) {
          const auto& p = peer.session->progress();
          log::Line("syncing with " + peer.config.name + ": " + std::to_string(p.behind) +
                    " entries to send, " + std::to_string(p.ahead) + " to receive (" +
                    std::to_string(p.entries_sent) + " sent, " + std::to_string(p.entries_received) +
                    " received so far)");
        }
        peer.last_progress_log_ms = now;
      }
      if (peer.session && peer.session->progress().caught_up) peer.last_progress_log_ms = 0;
    }
    if (changed || now - last_status_ms_ >= kStatusEveryMs) WriteStatus();
    if (refused_.Due(now)) WriteRefused(now);
    IndexWhenIdle();
    if (options_.once && !stopping_) CheckOnce(now);
    if (stopping_ && (!AnyConnection() || now - stop_started_ms_ > kShutdownGraceMs)) return Finish();
    ScheduleTick();
  }

  // Entries from peers are indexed for search after they are applied: a
  // slice per tick while no session is catching up (a search catches up the
  // rest by itself).
  void IndexWhenIdle() {
    // --once exits as soon as it is in sync; the next search indexes.
    if (stopping_ || options_.once) return;
    for (auto& [id, peer] : peers_) {
      if (peer.session && !peer.session->progress().caught_up) return;
    }
    auto remaining = store().CatchUpIndex(kIndexRecordsPerTick);
    if (!remaining.ok()) log::Line("search index: " + remaining.status().ToString());
  }

  // --once: stop when every peer we dial is in sync, or at the timeout.
  void CheckOnce(int64_t now) {
    bool all = true, any = false;
    for (auto& [id, peer] : peers_) {
      if (peer.config.address.empty()) continue;
      any = true;
      all = all && peer.session && peer.session->progress().caught_up;
    }
    if (any && all) {
      once_synced_ms_ = now - started_ms_;
      log::Line("in sync with every peer " + std::to_string(once_synced_ms_) +
                " ms after start (--once), stopping");
      return Stop();
    }
    if (options_.once_timeout_ms > 0 && now - started_ms_ > options_.once_timeout_ms) {
      once_failed_ = true;
      log::Line("not in sync after " + std::to_string(options_.once_timeout_ms) + " ms (--once), stopping");
      Stop();
    }
  }

  void WriteStatus() {
    int64_t now = Now();
    last_status_ms_ = now;
    std::vector<storage::PeerStatus> rows;
    for (auto& [id, peer] : peers_) {
      if (peer.session) (void)Drive(peer, "progress", [&] { SaveProgress(peer); });
      if (peer.connection) {
        peer.status.bytes_in = peer.bytes_in_before + peer.connection->stats().bytes_in;
        peer.status.bytes_out = peer.bytes_out_before + peer.connection->stats().bytes_out;
      }
      peer.status.updated_ms = now;
      rows.push_back(peer.status);
    }
    if (rows.empty()) return;
    if (Status s = store().PutPeerStatuses(rows); !s.ok()) {
      log::Line("cannot write peer status: " + s.ToString());
    }
  }

  // One transaction for the refused attempts gathered since the last.
  void WriteRefused(int64_t now) {
    RefusedAggregator::Batch batch = refused_.Take(now);
    if (!batch.rows.empty()) {
      if (Status s = store().RecordRefusedAttempts(batch.rows); !s.ok()) {
        log::Line("cannot record " + std::to_string(batch.attempts) + " refused attempt(s): " +
                  s.ToString());
      }
    }
    if (batch.unrecorded > 0) {
      log::Line("refused " + std::to_string(batch.unrecorded) +
                " more attempt(s) by node ids beyond the first " +
                std::to_string(limits::kRefusedIdsPerWriteMax) + " since the last write (not recorded)");
    }
  }

  void Reload() {
    auto config = LoadConfig(options_.data_dir, node_.identity.public_key());
    if (!config.ok()) {
      log::Line("reload failed, keeping the old configuration: " + config.status().ToString());
      return;
    }
    config_ = std::move(config).value();
    std::set<crypto::PublicKey> keep;
    for (const PeerConfig& pc : config_.peers) {
      keep.insert(pc.id);
      auto it = peers_.find(pc.id);
      if (it == peers_.end()) {
        Peer& peer = AddPeer(pc);
        log::Line("peer " + pc.name + " added");
        Dial(peer);
      } else {
        bool scopes_changed = it->second.config.scopes != pc.scopes;
        it->second.config = pc;
        it->second.status.name = pc.name;
        if (scopes_changed && it->second.connection) {
          auto c = it->second.connection;
          EndSession(it->second, Status::Ok());
          c->Close("scopes changed");
        }
        Dial(it->second);
      }
    }
    for (auto it = peers_.begin(); it != peers_.end();) {
      if (keep.count(it->first)) {
        ++it;
        continue;
      }
      log::Line("peer " + it->second.config.name + " removed");
      if (it->second.connection) {
        auto c = it->second.connection;
        EndSession(it->second, Status::Ok());
        c->Close("removed from the configuration");
      }
      (void)store().DeletePeerStatus(it->first);
      it = peers_.erase(it);
    }
    log::Line("configuration reloaded: " + std::to_string(peers_.size()) + " peer(s)");
  }

  void WaitSignal() {
    signals_.async_wait([this](const boost::system::error_code& e, int signal) {
      if (e) return;
      if (signal == SIGHUP) {
        Reload();
        WaitSignal();
        return;
      }
      log::Line(std::string("received ") + (signal == SIGINT ? "SIGINT" : "SIGTERM") + ", shutting down");
      Stop();
    });
  }

  void Stop() {
    if (stopping_) return;
    stopping_ = true;
    stop_started_ms_ = Now();
    if (listener_) listener_->Stop();
    for (auto& [id, peer] : peers_) {
      peer.retry->cancel();
      if (peer.connection) peer.connection->Close("node shutting down");
    }
    for (auto& c : std::vector(pending_.begin(), pending_.end())) c->Abort(Unavailable("node shutting down"));
  }

  // DIR/ncen-node.address holds the address actually listened on (useful
  // with port 0) while the daemon runs.
  std::string AddressFile() const { return options_.data_dir + "/" + kAddressFileName; }
  void WriteAddressFile(const std::string& address) {
    if (Status s = ReplaceFileAtomically(options_.data_dir, kAddressFileName, address + "\n"); !s.ok()) {
      log::Line("cannot write " + AddressFile() + ": " + s.ToString());
    }
  }

  bool AnyConnection() const {
    if (!pending_.empty()) return true;
    for (const auto& [id, peer] : peers_) {
      if (peer.connection) return true;
    }
    return false;
  }

  void Finish() {
    if (finished_) return;
    finished_ = true;
    std::remove(AddressFile().c_str());
    for (auto& [id, peer] : peers_) {
      if (peer.connection) {
        auto c = peer.connection;
        EndSession(peer, Status::Ok());
        c->Abort(Unavailable("node shutting down"));
      }
    }
    WriteStatus();
    WriteRefused(Now());
    signals_.cancel();
    tick_.cancel();
    io_.stop();
    log::Line("stopped");
  }

  DaemonOptions options_;
  OpenNode node_;
  NodeConfig config_;
  asio::io_context io_;
  asio::steady_timer tick_;
  asio::signal_set signals_;
  Rng rng_;
  transport::TcpLimits limits_;
  std::unique_ptr<transport::Listener> listener_;
  std::map<crypto::PublicKey, Peer> peers_;
  std::set<std::shared_ptr<Connection>> pending_;
  RefusedAggregator refused_;
  bool stopping_ = false;
  bool finished_ = false;
  int64_t stop_started_ms_ = 0;
  int64_t last_status_ms_ = 0;
  int64_t started_ms_ = 0;
  int64_t once_synced_ms_ = -1;
  bool once_failed_ = false;
};

Daemon::Daemon(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Daemon::~Daemon() = default;

Result<std::unique_ptr<Daemon>> Daemon::Create(const DaemonOptions& options) {
  storage::StoreOptions store_options;
  store_options.durable = options.durable;
  NCEN_ASSIGN_OR_RETURN(OpenNode node, OpenNodeDir(options.data_dir, store_options));
  NCEN_ASSIGN_OR_RETURN(NodeConfig config, LoadConfig(options.data_dir, node.identity.public_key()));
  return std::unique_ptr<Daemon>(new Daemon(std::make_unique<Impl>(options, std::move(node), std::move(config))));
}

void Daemon::HandleSignals() {
  impl_->signals_.add(SIGINT);
  impl_->signals_.add(SIGTERM);
  impl_->signals_.add(SIGHUP);
  impl_->WaitSignal();
}

void Daemon::RequestStop() {
  asio::post(impl_->io_, [impl = impl_.get()] { impl->Stop(); });
}

std::string Daemon::listen_address() const {
  return impl_->listener_ ? impl_->listener_->address() : "";
}

int64_t Daemon::once_synced_ms() const { return impl_->once_synced_ms_; }

Status Daemon::Run() {
  NCEN_RETURN_IF_ERROR(impl_->Start());
  impl_->io_.run();
  if (impl_->once_failed_) return Unavailable("not in sync with every peer before the --once timeout");
  return Status::Ok();
}

}  // namespace ncen::node
