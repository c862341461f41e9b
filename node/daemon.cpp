#include "node/daemon.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <map>
#include <set>

#include <unistd.h>

#include "base/log.h"
#include "base/log_limiter.h"
#include "crypto/random.h"
#include "node/durable_file.h"
#include "node/config.h"
#include "node/exception_boundary.h"
#include "node/http/api.h"
#include "node/http/server.h"
#include "node/node_dir.h"
#include "node/peer_manager.h"
#include "storage/membership.h"
#include "storage/peer_status.h"
#include "replication/protocol/session.h"
#include "replication/protocol/wire_codec.h"
#include "replication/transport/tcp.h"

namespace ncen::node {

namespace asio = boost::asio;
using asio::ip::tcp;
using transport::Connection;

class Daemon::Impl {
 public:
  // A peer's session and the connection it runs on (PeerManager decides
  // everything else about the peer).
  struct Live {
    std::string name;
    LinkId link = 0;
    bool dialed_by_us = false;
    std::shared_ptr<Connection> connection;
    std::unique_ptr<replication::Session> session;
    // The connection's wire form (docs/protocol.md §2a), one per direction.
    std::unique_ptr<replication::WireEncoder> encoder;
    std::unique_ptr<replication::WireDecoder> decoder;
  };

  Impl(DaemonOptions options, OpenNode node, NodeConfig config)
      : options_(std::move(options)),
        node_(std::move(node)),
        config_(std::move(config)),
        tick_(io_),
        signals_(io_),
        peers_(node_.identity.public_key(), PeerManagerOptions{}, crypto::RandomU64()),
        chunk_writer_(*node_.store, [this] { asio::post(io_, [this] { OnChunksStored(); }); }) {}

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
    NCEN_ASSIGN_OR_RETURN(network_root_, store().NetworkRoot());
    std::string network = "network '" + config_.network_id + "'";
    if (network_root_) {
      network = "network " + ToHex(storage::NetworkIdOf(*network_root_)).substr(0, 16) + "…";
      auto m = Membership();
      const storage::Member* me = m ? m->Find(node_.identity.public_key()) : nullptr;
      if (!me) {
        log::Line("WARNING: this node has no certificate in its network: peers will refuse it (ncenctl join)");
      } else if (me->revoked) {
        log::Line("WARNING: this node's certificate is revoked: peers will refuse it");
      }
      checked_ = m;
    }
    log::Line("node " + meta.name + " (" + meta.role + ", id " +
              crypto::Fingerprint(node_.identity.public_key()) + ") starting, " + network + ", " +
              std::to_string(config_.peers.size()) + " peer(s)");
    auto stale = store().StaleIdentity();
    if (stale.ok() && !stale.value().empty()) {
      log::Line("WARNING: stale identity: " + stale.value() +
                "; local writes are refused until an administrator acts");
    }
    auto rows = storage::PeerLedger(store()).All();
    peers_.Start(config_.peers, rows.ok() ? rows.value() : std::vector<storage::PeerStatus>{}, started_ms_);
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
    NCEN_RETURN_IF_ERROR(StartHttp());
    DialDue();
    ScheduleTick();
    return Status::Ok();
  }

  // The HTTP API on threads of its own (node/http/server.h), when configured.
  Status StartHttp() {
    HttpServerOptions http;
    http.listen = options_.http_listen_override.empty() ? config_.http_listen : options_.http_listen_override;
    if (http.listen.empty()) return Status::Ok();
    http.tls_cert_file = config_.http_tls_cert;
    http.tls_key_file = config_.http_tls_key;
    http.insecure = config_.http_insecure;
    http.threads = config_.http_threads;
    ApiOptions api;
    api.data_dir = options_.data_dir;
    api.static_dir = config_.http_static;
    api_ = std::make_unique<Api>(node_, api);
    auto server = HttpServer::Start(*api_, http);
    if (!server.ok()) return server.status().WithContext("http");
    http_ = std::move(server).value();
    std::string scheme = http_->tls() ? "https" : "http";
    log::Line("HTTP API on " + scheme + "://" + http_->address() + "/");
    auto hp = ParseListenAddress(http.listen);
    if (!http_->tls() && hp.ok() && !IsLoopbackHost(hp->host)) {
      log::Line("WARNING: http_insecure: the HTTP API is served WITHOUT TLS on " + http_->address() +
                ": passwords and records cross the network in the clear");
    }
    if (Status s = ReplaceFileAtomically(options_.data_dir, kHttpAddressFileName, http_->address() + "\n"); !s.ok()) {
      log::Line("cannot write " + options_.data_dir + "/" + kHttpAddressFileName + ": " + s.ToString());
    }
    return Status::Ok();
  }

  void StopHttp() {
    if (!http_) return;
    http_->Stop();
    http_.reset();
    api_.reset();
    ::unlink((options_.data_dir + "/" + kHttpAddressFileName).c_str());
  }

  Live* LiveOf(const crypto::PublicKey& id) {
    auto it = live_.find(id);
    return it == live_.end() ? nullptr : &it->second;
  }

  transport::ChannelOptions ChannelOptions() const {
    transport::ChannelOptions options;
    // In a network, its id (from the root key) is the prologue: nodes of
    // two networks cannot complete a handshake (docs/membership.md §1).
    if (network_root_) {
      crypto::Hash256 id = storage::NetworkIdOf(*network_root_);
      options.network_id = Bytes(id.begin(), id.end());
    } else {
      options.network_id = Bytes(config_.network_id.begin(), config_.network_id.end());
    }
    options.max_message_bytes = limits::kMessageBytesMax;
    return options;
  }

  // The network as the store describes it now (null: a store of no network).
  std::shared_ptr<const storage::Membership> Membership() {
    auto m = store().GetMembership();
    if (!m.ok()) {
      log::Line("cannot read the network's membership: " + m.status().ToString());
      return membership_;
    }
    membership_ = m.value();
    return membership_;
  }

  // Why the network does not let `key` have a session with this node, or
  // nullopt when it does (docs/membership.md §3: members whose
  // certificates let the two exchange some scope).
  std::optional<std::string> NotAMember(const crypto::PublicKey& key) {
    auto m = Membership();
    if (!m) return std::nullopt;
    const storage::Member* member = m->Find(key);
    if (!member) return "node " + crypto::Fingerprint(key) + " has no certificate in this network";
    if (member->revoked) return "node " + crypto::Fingerprint(key) + " is revoked";
    if (!m->AnyExchange(node_.identity.public_key(), key)) {
      return "node " + crypto::Fingerprint(key) + " may exchange no scope with this node";
    }
    return std::nullopt;
  }

  // Inbound: anyone in the roster — configured peers, narrowed by the
  // network's rules, and in a network any member the rules allow.
  transport::PeerCheck RosterCheck() {
    return [this](const crypto::PublicKey& key) -> Result<std::string> {
      if (auto why = NotAMember(key)) return Unauthenticated(*why);
      if (const PeerConfig* pc = peers_.Find(key)) return pc->name;
      if (membership_) return MemberPeerName(key);
      return Unauthenticated("node " + crypto::Fingerprint(key) + " is not in the trust roster");
    };
  }

  static std::string MemberPeerName(const crypto::PublicKey& key) { return "member-" + crypto::Fingerprint(key); }

  // A member that is not in ncen.toml connected: it becomes a peer of this
  // run (no address: it dials us), with every scope the rules allow.
  const PeerConfig* AdmitMember(const crypto::PublicKey& key) {
    if (const PeerConfig* pc = peers_.Find(key)) return pc;
    if (!membership_ || NotAMember(key)) return nullptr;
    PeerConfig pc;
    pc.name = MemberPeerName(key);
    pc.id = key;
    members_[key] = pc;
    peers_.AddPeer(pc, Now());
    log::Line("member " + crypto::Fingerprint(key) + " (" + MemberName(key) + ") admitted by its certificate");
    return peers_.Find(key);
  }

  std::string MemberName(const crypto::PublicKey& key) const {
    const storage::Member* m = membership_ ? membership_->Find(key) : nullptr;
    if (!m) return "?";
    return m->root ? "root" : SanitizeName(m->cert.name);
  }
  static std::string SanitizeName(const std::string& name) {
    std::string out;
    for (char c : name) out += (static_cast<unsigned char>(c) < 0x20 ? '?' : c);
    return out;
  }

  // After the network changed (a revocation arrived): sessions with peers
  // the rules no longer allow end.
  void CheckMembers() {
    auto m = Membership();
    // The store loads a new Membership whenever the network entries change
    // (in this process or another): a new object is a new network.
    if (!m || m.get() == checked_.get()) return;
    checked_ = m;
    std::vector<crypto::PublicKey> ids;
    for (const auto& [id, live] : live_) ids.push_back(id);
    for (const crypto::PublicKey& id : ids) {
      auto why = NotAMember(id);
      if (!why) continue;
      log::Line("ending the session with " + LiveOf(id)->name + ": " + *why);
      auto c = LiveOf(id)->connection;
      EndSession(id, Unauthenticated(*why));
      if (c) c->Close(*why);
      members_.erase(id);
    }
  }

  // `dialed`: the peer we dialed, or nullopt for an inbound connection.
  Connection::Handler Handler(std::optional<crypto::PublicKey> dialed, LinkId link) {
    Connection::Handler handler;
    handler.on_open = [this, dialed, link](Connection& c) { OnOpen(c, dialed.has_value(), link); };
    handler.on_message = [this, link](Connection&, Bytes& m) { OnMessage(link, m); };
    handler.on_drained = [this, link](Connection&) { OnDrained(link); };
    handler.on_close = [this, dialed, link](Connection& c, const Status& error) {
      OnClose(c, error, dialed, link);
    };
    return handler;
  }

  void Accept(tcp::socket socket, transport::HandshakeSlot slot) {
    if (stopping_) return;
    auto c = Connection::Start(std::move(socket), crypto::NoiseRole::kResponder, node_.identity,
                               ChannelOptions(), RosterCheck(), limits_, Handler(std::nullopt, next_link_++),
                               std::move(slot));
    pending_.insert(c);
  }

  void DialDue() {
    if (stopping_) return;
    for (const PeerConfig& pc : peers_.TakeDialsDue(Now())) Dial(pc);
  }

  void Dial(const PeerConfig& pc) {
    crypto::PublicKey id = pc.id;
    std::string name = pc.name;
    transport::Dial(io_, pc.address, std::chrono::milliseconds(limits::kDialTimeoutMs),
                    [this, id, name](Result<tcp::socket> socket) {
                      if (stopping_) return;
                      if (!socket.ok()) {
                        if (peers_.OnDialFailed(id, socket.status().message(), Now())) {
                          log::Line("cannot reach " + name + ": " + socket.status().message());
                        }
                        return;
                      }
                      if (!peers_.Find(id)) return;  // removed from the configuration meanwhile
                      // Only the peer we dialed may answer.
                      transport::PeerCheck check = [this, id](const crypto::PublicKey& key) -> Result<std::string> {
                        if (auto why = NotAMember(key)) return Unauthenticated(*why);
                        const PeerConfig* pc = peers_.Find(key);
                        if (key == id && pc) return pc->name;
                        return Unauthenticated("the node at this address is " + crypto::Fingerprint(key) +
                                               ", not the configured peer " + crypto::Fingerprint(id));
                      };
                      auto c = Connection::Start(std::move(socket).value(), crypto::NoiseRole::kInitiator,
                                                 node_.identity, ChannelOptions(), check, limits_,
                                                 Handler(id, next_link_++));
                      pending_.insert(c);
                    });
  }

  void OnOpen(Connection& c, bool dialed_by_us, LinkId link) {
    auto self = c.shared_from_this();
    pending_.erase(self);
    crypto::PublicKey id = *c.peer_id();
    // The network may have changed since the handshake's check.
    if (auto why = NotAMember(id)) return c.Close(*why);
    const PeerConfig* pc = peers_.Find(id);
    if (!pc && !stopping_) pc = AdmitMember(id);
    if (!pc || stopping_) return c.Close("not available");
    // Two connections with one peer (both dialed at once, or a redial over
    // a half-open one): PeerManager::Admit says which stays, on both sides.
    if (!peers_.Admit(id, dialed_by_us)) return c.Close("duplicate connection");
    if (Live* old = LiveOf(id)) {
      auto connection = old->connection;
      EndSession(id, Status::Ok());
      connection->Close("replaced by a newer connection");
    }
    int64_t now = Now();
    peers_.OnLinkOpen(id, link, dialed_by_us, c.remote_address(), now);
    Live& live = live_[id];
    live.name = pc->name;
    live.link = link;
    live.dialed_by_us = dialed_by_us;
    live.connection = self;
    log::Line("connected to " + live.name + " (" + c.remote_address() + ", " +
              (dialed_by_us ? "outbound" : "inbound") + ")");
    replication::PeerInfo info{pc->id, pc->name, pc->scopes};
    const auto& meta = store().meta();
    replication::SessionOptions session_options;
    session_options.blob_policy = replication::ParseBlobPolicy(pc->blobs).value_or(replication::BlobPolicy::kFull);
    session_options.blob_fetches = &blob_fetches_;
    if (pc->rate > 0) {
      // The peer's rate cap (ncen.toml): the connection paces its writes,
      // and photo bytes wait in it for about a second of the link, not a
      // 4 MiB window a new record would queue behind.
      c.SetRateLimit(pc->rate);
      session_options.blob_queue_bytes = std::max<size_t>(pc->rate, 16 << 10);
    }
    session_options.chunk_writer = &chunk_writer_;
    std::weak_ptr<Connection> weak = self;
    session_options.queued_bytes = [weak] {
      auto c = weak.lock();
      return c ? c->queued_bytes() : size_t{0};
    };
    session_options.bytes_received = [weak] {
      auto c = weak.lock();
      return c ? c->stats().bytes_in : uint64_t{0};
    };
    live.encoder = std::make_unique<replication::WireEncoder>(options_.compress_level);
    live.decoder = std::make_unique<replication::WireDecoder>();
    bool started = Drive(id, "start", [&] {
      live.session = std::make_unique<replication::Session>(store(), node_.identity.public_key(),
                                                            meta.name, meta.role, info, session_options);
      live.session->Start(now);
    });
    if (started) Flush(id);
  }

  // The one boundary between the daemon and exceptions from a session: every
  // call into a Session that does work goes through here (its const
  // accessors that return a reference, such as progress(), cannot throw and
  // are read directly). Also calls the test hook, inside the boundary.
  Status CallGuarded(const Live& live, std::string_view call, const std::function<void()>& fn) {
    return CatchSessionExceptions([&] {
      if (options_.session_call_hook_for_testing) {
        options_.session_call_hook_for_testing(live.name, call);
      }
      fn();
    });
  }

  // Calls into the peer's session. When the call throws, the session is
  // ended and its connection closed, with a log line, and false returned
  // (the peer's Live is gone then): the daemon goes on serving the others.
  bool Drive(const crypto::PublicKey& id, std::string_view call, const std::function<void()>& fn) {
    Live* live = LiveOf(id);
    if (!live) return false;
    Status error = CallGuarded(*live, call, fn);
    if (error.ok()) return true;
    log::Line("session with " + live->name + " failed in " + std::string(call) + ": " + error.ToString() +
              "; closing its connection");
    auto c = live->connection;
    EndSession(id, error, /*save_progress=*/false);
    if (c) c->Close("internal error");
    return false;
  }

  // After the session ran: tells the manager whether it is caught up; true
  // when that changed.
  bool NoteProgress(const crypto::PublicKey& id) {
    Live* live = LiveOf(id);
    return live && live->session && peers_.NoteCaughtUp(id, live->session->progress().caught_up);
  }

  void OnMessage(LinkId link, const Bytes& message) {
    auto id = peers_.PeerOfLink(link);
    Live* live = id ? LiveOf(*id) : nullptr;
    if (!live || !live->session) return;
    Result<ByteView> decoded = live->decoder->Decode(message);
    if (!decoded.ok()) {
      Status error = decoded.status().WithContext("message from " + live->name);
      log::Line("session with " + live->name + " failed: " + error.ToString());
      auto c = live->connection;
      EndSession(*id, error);
      c->Close(error.message().substr(0, 150));
      return;
    }
    if (!Drive(*id, "message", [&] { live->session->OnMessage(decoded.value(), Now()); })) return;
    Flush(*id);
    AfterProgress(*id);
  }

  // Status readers (ncenctl status --wait-synced) and --once learn at once
  // when a session became caught up (or stopped being).
  void AfterProgress(const crypto::PublicKey& id) {
    if (!NoteProgress(id)) return;
    WriteStatus();
    if (options_.once && !stopping_) CheckOnce(Now());
  }

  // The connection wrote all it held: its session may queue more photo bytes.
  void OnDrained(LinkId link) {
    auto id = peers_.PeerOfLink(link);
    Live* live = id ? LiveOf(*id) : nullptr;
    if (!live || !live->session) return;
    if (Drive(*id, "drained", [&] { live->session->OnDrained(Now()); })) Flush(*id);
  }

  // The chunk writer stored a session's chunks: that session asks for more.
  void OnChunksStored() {
    std::vector<crypto::PublicKey> ids;
    for (const auto& [id, live] : live_) ids.push_back(id);
    for (const crypto::PublicKey& id : ids) {
      Live* live = LiveOf(id);
      if (!live || !live->session) continue;
      if (!Drive(id, "stored", [&] { live->session->OnChunksStored(Now()); })) continue;
      Flush(id);
      // The last photo chunks stored may be what the session waited for.
      AfterProgress(id);
    }
  }

  // Sends what the session queued, logs what it said, and closes when it failed.
  void Flush(const crypto::PublicKey& id) {
    Live* live = LiveOf(id);
    if (!live || !live->session) return;
    std::vector<Bytes> outgoing;
    std::vector<std::string> lines;
    if (!Drive(id, "flush", [&] {
          outgoing = live->session->TakeOutgoing();
          lines = live->session->TakeLog();
        })) {
      return;
    }
    for (const std::string& line : lines) log::Line(line);
    for (Bytes& m : outgoing) {
      // A failed Send aborts the connection, and its close handler ends the
      // session.
      Result<ByteView> prefix = live->encoder->EncodeInPlace(m);
      if (!prefix.ok()) {
        log::Line("session with " + live->name + " cannot encode a message: " + prefix.status().ToString());
        auto c = live->connection;
        EndSession(id, prefix.status());
        c->Close("internal error");
        return;
      }
      if (!live->connection->Send(*prefix, m).ok()) break;
      if (!Drive(id, "recycle", [&] { live->session->RecycleOutgoing(std::move(m)); })) return;
    }
    live = LiveOf(id);
    if (live && live->session && live->session->failed()) {
      Status error = live->session->error();
      auto c = live->connection;
      EndSession(id, error);
      c->Close(error.message().substr(0, 150));
    }
  }

  // Detaches the session from its connection and keeps what it learned
  // (unless the session has just thrown: then nothing it says is trusted).
  void EndSession(const crypto::PublicKey& id, const Status& error, bool save_progress = true) {
    auto it = live_.find(id);
    if (it == live_.end()) return;
    Live& live = it->second;
    if (live.session && save_progress) {
      // Photo chunks that arrived are stored, not fetched again.
      Status finished = CallGuarded(live, "finish", [&] { live.session->Finish(); });
      if (!finished.ok()) log::Line("session with " + live.name + " did not finish: " + finished.ToString());
      Status saved = CallGuarded(live, "progress", [&] { SaveProgress(id, live); });
      if (!saved.ok()) log::Line("progress with " + live.name + " not kept: " + saved.ToString());
    }
    Traffic traffic;
    if (live.connection) traffic = {live.connection->stats().bytes_in, live.connection->stats().bytes_out};
    peers_.OnLinkClosed(id, live.link, live.dialed_by_us, error, traffic, Now());
    live_.erase(it);
  }

  void SaveProgress(const crypto::PublicKey& id, Live& live) {
    peers_.SaveProgress(id, live.session->progress(), live.session->PeerFrontier());
  }

  void OnClose(Connection& c, const Status& error, std::optional<crypto::PublicKey> dialed, LinkId link) {
    auto self = c.shared_from_this();
    pending_.erase(self);
    // Stopping: finish as soon as the last connection is gone rather than at
    // the next tick (--once runs end ~100 ms sooner).
    if (stopping_) {
      asio::post(io_, [this] {
        if (!finished_ && !AnyConnection()) Finish();
      });
    }
    if (!dialed && !c.peer_id() && !c.refused_peer() && network_root_ && !error.ok() &&
        error.code() != StatusCode::kResourceExhausted) {
      // A handshake that did not complete: in a network, most likely a node
      // of another network (its prologue differs, so it cannot read our
      // second message and hangs up), or not ncen at all. No key to name.
      storage::RefusedAttempt attempt;
      attempt.address = c.remote_address();
      attempt.at_ms = Now();
      attempt.reason = "handshake failed (a node of another network?): " + error.message();
      // Anyone who can reach the port can cause it: rate-limited.
      handshake_failures_.Line("handshake failed", "refused " + c.remote_address() + ": " + attempt.reason, Now());
      peers_.OnRefused(attempt);
    }
    if (c.refused_peer()) {
      // Written with others when due: a flood of refused handshakes must
      // not cost a durable commit each.
      storage::RefusedAttempt attempt;
      attempt.id = *c.refused_peer();
      attempt.address = c.remote_address();
      attempt.at_ms = Now();
      attempt.reason = error.message();
      peers_.OnRefused(attempt);
    }
    if (auto id = peers_.PeerOfLink(link)) {
      if (Live* live = LiveOf(*id)) {
        log::Line("disconnected from " + live->name + (error.ok() ? "" : ": " + error.message()));
      }
      EndSession(*id, error);
      WriteStatus();
      return;
    }
    // A dial of ours that never became the peer's session (the handshake
    // failed, or a duplicate was closed): the manager redials if needed.
    if (dialed) peers_.OnLinkClosed(*dialed, link, /*dialed_by_us=*/true, error, {}, Now());
  }

  void ScheduleTick() {
    tick_.expires_after(std::chrono::milliseconds(limits::kDaemonTickMs));
    tick_.async_wait([this](const boost::system::error_code& e) {
      if (!e) OnTick();
    });
  }

  void OnTick() {
    int64_t now = Now();
    CheckMembers();
    handshake_failures_.Flush(now);
    NCEN_CHECK(live_.size() <= peers_.Ids().size());  // one session per configured peer
    std::vector<crypto::PublicKey> ids;
    for (const auto& [id, live] : live_) ids.push_back(id);
    for (const crypto::PublicKey& id : ids) {
      Live* live = LiveOf(id);
      if (!live || !live->session) continue;
      if (!Drive(id, "tick", [&] { live->session->OnTick(now); })) continue;
      Flush(id);
      NoteProgress(id);
      live = LiveOf(id);
      if (!live || !live->session) continue;
      if (auto line = peers_.ProgressLine(id, live->session->progress(), now)) log::Line(*line);
    }
    if (peers_.StatusDue(now)) WriteStatus();
    if (peers_.RefusedDue(now)) WriteRefused(now);
    DialDue();
    IndexWhenIdle();
    if (options_.once && !stopping_) CheckOnce(now);
    if (stopping_ && (!AnyConnection() || now - stop_started_ms_ > limits::kShutdownGraceMs)) return Finish();
    ScheduleTick();
  }

  // Entries from peers are indexed for search after they are applied: a
  // slice per tick while no session is catching up (a search catches up the
  // rest by itself).
  void IndexWhenIdle() {
    // --once exits as soon as it is in sync; the next search indexes.
    if (stopping_ || options_.once || !peers_.AllIdle()) return;
    auto remaining = store().CatchUpIndex(limits::kIndexRecordsPerTick);
    if (!remaining.ok()) log::Line("search index: " + remaining.status().ToString());
  }

  // --once: stop when every peer we dial is in sync, or at the timeout.
  void CheckOnce(int64_t now) {
    if (peers_.AllDialedInSync()) {
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
    std::vector<crypto::PublicKey> ids;
    for (const auto& [id, live] : live_) ids.push_back(id);
    for (const crypto::PublicKey& id : ids) {
      Live* live = LiveOf(id);
      if (live && live->session) (void)Drive(id, "progress", [&] { SaveProgress(id, *live); });
      live = LiveOf(id);
      if (live && live->connection) {
        peers_.SetTraffic(id, {live->connection->stats().bytes_in, live->connection->stats().bytes_out});
      }
    }
    std::vector<storage::PeerStatus> rows = peers_.TakeStatusRows(now);
    if (rows.empty()) return;
    if (Status s = storage::PeerLedger(store()).Put(rows); !s.ok()) {
      log::Line("cannot write peer status: " + s.ToString());
    }
  }

  // One transaction for the refused attempts gathered since the last.
  void WriteRefused(int64_t now) {
    RefusedAggregator::Batch batch = peers_.TakeRefused(now);
    if (!batch.rows.empty()) {
      if (Status s = storage::PeerLedger(store()).RecordRefused(batch.rows); !s.ok()) {
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
    std::map<crypto::PublicKey, std::string> old_names;
    for (const PeerConfig& pc : config_.peers) old_names[pc.id] = pc.name;
    config_ = std::move(config).value();
    std::vector<PeerConfig> all = config_.peers;
    for (const auto& [key, pc] : members_) {
      if (!config_.FindById(key)) all.push_back(pc);
    }
    PeerManager::Changes changes = peers_.Reload(all, Now());
    for (const crypto::PublicKey& id : changes.added) log::Line("peer " + peers_.Find(id)->name + " added");
    for (const crypto::PublicKey& id : changes.scopes_changed) {
      if (Live* live = LiveOf(id)) {
        auto c = live->connection;
        EndSession(id, Status::Ok());
        c->Close("scopes changed");
      }
    }
    for (const crypto::PublicKey& id : changes.removed) {
      log::Line("peer " + old_names[id] + " removed");
      if (Live* live = LiveOf(id)) {
        auto c = live->connection;
        EndSession(id, Status::Ok());
        c->Close("removed from the configuration");
      }
      (void)storage::PeerLedger(store()).Delete(id);
    }
    for (auto& [id, live] : live_) live.name = peers_.Find(id)->name;
    log::Line("configuration reloaded: " + std::to_string(config_.peers.size()) + " peer(s)");
    DialDue();
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
    peers_.Stop();
    stop_started_ms_ = Now();
    if (listener_) listener_->Stop();
    for (auto& [id, live] : live_) {
      if (live.connection) live.connection->Close("node shutting down");
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

  bool AnyConnection() const { return !pending_.empty() || !live_.empty(); }

  void Finish() {
    if (finished_) return;
    finished_ = true;
    std::remove(AddressFile().c_str());
    std::vector<crypto::PublicKey> ids;
    for (const auto& [id, live] : live_) ids.push_back(id);
    for (const crypto::PublicKey& id : ids) {
      auto c = live_.at(id).connection;
      EndSession(id, Status::Ok());
      if (c) c->Abort(Unavailable("node shutting down"));
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
  // The HTTP API (StartHttp); stopped in Run() before anything below goes.
  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpServer> http_;
  std::optional<crypto::PublicKey> network_root_;  // the store's network, if any
  std::shared_ptr<const storage::Membership> membership_;
  std::shared_ptr<const storage::Membership> checked_;  // what CheckMembers last checked
  std::map<crypto::PublicKey, PeerConfig> members_;  // members admitted by certificate, not in ncen.toml
  log::RepeatLimiter handshake_failures_;
  asio::io_context io_;
  asio::steady_timer tick_;
  asio::signal_set signals_;
  transport::TcpLimits limits_;
  std::unique_ptr<transport::Listener> listener_;
  // Which session fetches which blob; outlives the sessions in live_.
  replication::BlobFetches blob_fetches_;
  PeerManager peers_;
  std::map<crypto::PublicKey, Live> live_;  // peers with a session
  std::set<std::shared_ptr<Connection>> pending_;
  // Stores the chunks sessions receive, beside the network thread. Last, so
  // it is joined first (its jobs use the store; its notify posts to io_).
  replication::ChunkWriter chunk_writer_;
  LinkId next_link_ = 1;
  bool stopping_ = false;
  bool finished_ = false;
  int64_t stop_started_ms_ = 0;
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

std::string Daemon::http_address() const { return impl_->http_ ? impl_->http_->address() : ""; }

Status Daemon::Run() {
  Status started = impl_->Start();
  if (!started.ok()) {
    impl_->StopHttp();
    return started;
  }
  impl_->io_.run();
  impl_->StopHttp();
  if (impl_->once_failed_) return Unavailable("not in sync with every peer before the --once timeout");
  return Status::Ok();
}

}  // namespace ncen::node
