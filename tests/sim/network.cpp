// The simulated network: links with latency and bandwidth, TCP-like
// connections (in order or not at all; orderly close, reset, half-open,
// stall), and the daemon's 100 ms tick, in which each node's PeerManager
// (the daemon's own peer logic) decides whom to dial, and its status rows
// are written.
#include <fmt/format.h>

#include <algorithm>

#include "storage/peer_status.h"
#include "tests/sim/world.h"

namespace ncen::sim {

std::vector<uint64_t> World::ConnectionIds() const {
  std::vector<uint64_t> ids;
  ids.reserve(connections_.size());
  for (const auto& [id, c] : connections_) ids.push_back(id);
  return ids;
}

std::string World::SideName(const Connection& c, int s) const {
  return NameOf(c.side[s].node);
}

int World::EdgeBetween(int a, int b) const {
  for (size_t e = 0; e < edges_.size(); ++e) {
    const Edge& edge = edges_[e];
    if ((edge.dialer == a && edge.listener == b) || (edge.dialer == b && edge.listener == a)) {
      return static_cast<int>(e);
    }
  }
  NCEN_CHECK(false && "no link between the two nodes");
  return -1;
}

// The node (re)starts: a new process, so a new PeerManager, which reads the
// status rows its last life wrote and dials every peer with an address at
// its first tick, as ncen-node does.
void World::StartPeers(int n) {
  Node& node = *nodes_[n];
  node::PeerManagerOptions options;
  options.redial_max_ms = kRedialMaxMs;
  node.peers = std::make_unique<node::PeerManager>(node.identity.public_key(), options,
                                                   options_.seed ^ (uint64_t(n) << 40) ^ (node.life << 20));
  auto rows = storage::PeerLedger(*node.store).All();
  if (!rows.ok()) return Fail(node.name + ": its peer status rows do not read: " + rows.status().ToString());
  node.peers->Start(node.peer_configs, rows.value(), now_);
}

// The node's PeerManager said to dial `peer`: TCP and the Noise XX
// handshake take about three one-way trips, unless the peer is down or the
// link cut (then the dial fails at once, and the manager backs off).
void World::Dial(int n, const crypto::PublicKey& peer) {
  int p = index_of_.at(peer);
  int e = EdgeBetween(n, p);
  if (!nodes_[p]->up || edges_[e].cuts > 0) {
    Note(fmt::format("{} cannot reach {}", NameOf(n), NameOf(p)));
    nodes_[n]->peers->OnDialFailed(peer, "cannot reach the peer", now_);
    return;
  }
  Schedule(now_ + 3 * edges_[e].latency_ms, EventKind::kConnect, n, uint64_t(e), nodes_[n]->life);
}

// Node n's dial over edge e completes: both sides ask their PeerManager
// whether to keep the connection (a second one with the same peer is kept
// or refused by the daemon's tie-break) and start their sessions.
void World::Connect(int n, int e, uint64_t life) {
  Node& self = *nodes_[n];
  if (!self.up || life != self.life) return;  // that process is gone
  Edge& edge = edges_[e];
  int p = edge.dialer == n ? edge.listener : edge.dialer;
  const crypto::PublicKey& peer_id = nodes_[p]->identity.public_key();
  if (!nodes_[p]->up || edge.cuts > 0) {
    self.peers->OnDialFailed(peer_id, "the handshake did not complete", now_);
    return;
  }
  // In a network, each side admits the other only as a member its
  // membership knows and has not revoked (the daemon's NotAMember): the
  // refusing side hangs up after the handshake.
  if (network_) {
    for (auto [me, other] : {std::pair{n, p}, std::pair{p, n}}) {
      if (auto why = Refuses(me, other)) {
        ++stats_.sessions_refused;
        Note(fmt::format("{} refuses a session with {}: {}", NameOf(me), NameOf(other), *why), false);
        self.peers->OnDialFailed(peer_id, "refused: " + *why, now_);
        return;
      }
    }
  }
  uint64_t id = next_connection_++;
  Connection& c = connections_[id];
  c.id = id;
  c.edge = e;
  for (int d = 0; d < 2; ++d) {
    c.encoder[d] = std::make_unique<replication::WireEncoder>(getenv("SIMLEVEL") ? atoi(getenv("SIMLEVEL")) : 1);
    c.decoder[d] = std::make_unique<replication::WireDecoder>();
  }
  int ends[2] = {n, p};
  for (int s = 0; s < 2; ++s) {
    Side& side = c.side[s];
    side.node = ends[s];
    side.peer = ends[1 - s];
    Node& me = *nodes_[side.node];
    Node& other = *nodes_[side.peer];
    replication::PeerInfo info{other.identity.public_key(), other.name, edge.scopes};
    side.session = std::make_unique<replication::Session>(
        *me.store, me.identity.public_key(), me.name, RoleName(me.role), std::move(info),
        SessionOptionsFor(side.node, side.peer));
    side.peer_restores = other.restores;
  }
  stats_.sessions += 2;
  Note(fmt::format("connection #{} {} -> {} open", id, NameOf(n), NameOf(p)));
  for (int s = 0; s < 2; ++s) {
    Side& side = c.side[s];
    Node& me = *nodes_[side.node];
    const crypto::PublicKey& other = nodes_[side.peer]->identity.public_key();
    if (!me.peers->Admit(other, s == 0)) {
      CloseSide(c, s, CloseKind::kFin, "duplicate connection");
      continue;
    }
    if (node::LinkId old = me.peers->LinkOf(other)) {
      Connection& was = connections_.at(old);
      CloseSide(was, was.side[0].node == side.node ? 0 : 1, CloseKind::kFin, "replaced by a newer connection");
    }
    me.peers->OnLinkOpen(other, id, s == 0, "sim", now_);
  }
  for (int s = 0; s < 2; ++s) {
    if (c.side[s].session) c.side[s].session->Start(now_);
    Flush(c, s);
    NoteProgress(c, s);
  }
}

// Tells the side's PeerManager whether its session is caught up; a change
// is written to the status rows at once, as the daemon does.
void World::NoteProgress(Connection& c, int s) {
  Side& side = c.side[s];
  if (!side.session) return;
  Node& me = *nodes_[side.node];
  if (me.peers->NoteCaughtUp(nodes_[side.peer]->identity.public_key(), side.session->progress().caught_up)) {
    WriteStatus(side.node);
  }
}

// The daemon's WriteStatus: what each session learned and each connection's
// bytes, then every peer's row in one transaction.
void World::WriteStatus(int n) {
  Node& me = *nodes_[n];
  for (auto& [id, c] : connections_) {
    for (int s = 0; s < 2; ++s) {
      Side& side = c.side[s];
      if (side.node != n || !side.session) continue;
      const crypto::PublicKey& peer = nodes_[side.peer]->identity.public_key();
      if (me.peers->LinkOf(peer) != id) continue;
      me.peers->SaveProgress(peer, side.session->progress(), side.session->PeerFrontier());
      me.peers->SetTraffic(peer, {c.sent_bytes[1 - s], c.sent_bytes[s]});
    }
  }
  Status written = storage::PeerLedger(*me.store).Put(me.peers->TakeStatusRows(now_));
  if (!written.ok()) Fail(me.name + ": cannot write its peer status: " + written.ToString());
}

// Sends what the session queued, notes what it logged, and closes this side
// of the connection when the session failed (the daemon's Flush).
void World::Flush(Connection& c, int s) {
  Side& side = c.side[s];
  if (!side.session) return;
  std::vector<BlobTarget> targets;
  if (Hostile(side.node) && blobs_) targets = MalloryBlobTargets();
  for (Bytes& m : side.session->TakeOutgoing()) {
    if (!Hostile(side.node)) {
      Enqueue(c, s, std::move(m));
      continue;
    }
    Node& self = *nodes_[side.node];
    for (Bytes& sent : mallory_->Mangle(std::move(m), *self.store, nodes_[side.peer]->identity.public_key(),
                                        edges_[c.edge].scopes, truth_, now_, phase_ == Phase::kChaos, targets)) {
      Enqueue(c, s, std::move(sent));
    }
  }
  for (const std::string& line : side.session->TakeLog()) Note(NameOf(side.node) + ": " + line);
  if (side.session->failed()) {
    std::string error = side.session->error().ToString();
    if (blobs_) CheckBlobFailure(c, s, error);
    CloseSide(c, s, CloseKind::kFin, error);
  }
}

void World::Enqueue(Connection& c, int d, Bytes bytes) {
  MessageInfo info = DescribeMessage(bytes);
  // What crosses the link is the wire form; Mallory mangled the message
  // before (it speaks the wire codec honestly).
  if (Status encoded = c.encoder[d]->Encode(bytes); !encoded.ok()) {
    Fail(NameOf(c.side[d].node) + ": cannot encode a message: " + encoded.ToString());
    return;
  }
  ++stats_.messages;
  stats_.message_bytes += bytes.size();
  c.sent_bytes[d] += bytes.size();
  if (c.side[d].void_out) return;  // half-open: into the void
  const Edge& edge = edges_[c.edge];
  int64_t size = static_cast<int64_t>(bytes.size());
  int64_t start = std::max(now_, c.busy_until_ms[d]);
  c.busy_until_ms[d] = start + (size + edge.bytes_per_ms - 1) / edge.bytes_per_ms;
  bool was_empty = c.queue[d].empty();
  c.queue[d].push_back(InFlight{std::move(bytes), c.busy_until_ms[d] + edge.latency_ms, info});
  if (was_empty) ScheduleDelivery(c, d);
}

// One live delivery event per direction, for the message at the front; a
// new one (a new generation) replaces it when a stall or a cut changes.
void World::ScheduleDelivery(Connection& c, int d) {
  if (c.queue[d].empty() || edges_[c.edge].cuts > 0) return;
  int64_t at = std::max({c.queue[d].front().at_ms, c.stalled_until_ms[d], now_});
  Schedule(at, EventKind::kDeliver, d, c.id, ++c.gen[d]);
}

void World::Deliver(uint64_t id, int d, uint64_t gen) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  Connection& c = it->second;
  if (gen != c.gen[d] || c.queue[d].empty() || edges_[c.edge].cuts > 0) return;
  InFlight m = std::move(c.queue[d].front());
  c.queue[d].pop_front();
  int r = 1 - d;
  Side& dst = c.side[r];
  if (dst.session) {
    bool ping = m.info.kind == MessageKind::kPing;
    if (!ping || options_.trace) {
      Note(fmt::format("#{} {} -> {} {}", id, SideName(c, d), SideName(c, r),
                       MessageText(m.info, m.bytes.size())),
           !ping);
    }
    if (!ping) last_activity_ms_ = now_;
    bool blob_data = m.info.kind == MessageKind::kBlobData;
    Result<ByteView> message = c.decoder[d]->Decode(m.bytes);
    if (!message.ok()) {
      CloseSide(c, r, CloseKind::kFin, message.status().ToString());
      return;
    }
    if (blob_data) CheckBlobData(c, d, m, message.value());
    applying_node_ = dst.node;
    crash_requested_ = false;
    dst.session->OnMessage(message.value(), now_);
    applying_node_ = -1;
    dirty_.insert(dst.node);
    Flush(c, r);
    NoteProgress(c, r);
    bool blob_crash = blob_data && !failed_ && CheckBlobHeld(dst.node, m.info.blob, Hostile(c.side[d].node));
    if (crash_requested_) {
      // The mutant asked to die between its ack and its commit: the ack is
      // already in the socket.
      crash_requested_ = false;
      int n = dst.node;
      Crash(n, rng_.Percent(50), "crash between acknowledging and committing a batch");
      Schedule(now_ + int64_t(rng_.Between(200, 5000)), EventKind::kRestart, n, 0, nodes_[n]->life);
    } else if (blob_crash) {
      // A node dies with a blob half-fetched: its chunks so far committed.
      int n = dst.node;
      Crash(n, blob_rng_.Percent(50), "crash with a blob half-fetched");
      Schedule(now_ + int64_t(blob_rng_.Between(200, 8000)), EventKind::kRestart, n, 0, nodes_[n]->life);
    } else if (c.side[r].session) {
      CheckClaims(c, r);
    }
  } else if (nodes_[dst.node]->up && c.side[d].session && !c.reset_sent[d]) {
    // Data for a closed socket: the peer's kernel answers with RST.
    c.reset_sent[d] = true;
    Schedule(now_ + edges_[c.edge].latency_ms, EventKind::kReset, d, id);
  }
  if (!c.queue[d].empty()) {
    ScheduleDelivery(c, d);
  } else if (c.fin[d] && c.side[r].session) {
    CloseSide(c, r, CloseKind::kFin, "the peer closed the connection");
  }
}

void World::CloseSide(Connection& c, int s, CloseKind kind, const std::string& why) {
  Side& side = c.side[s];
  if (!side.session) return;
  Note(fmt::format("#{} {} closes its side ({}): {}", c.id, SideName(c, s),
                   kind == CloseKind::kFin ? "FIN" : kind == CloseKind::kReset ? "RST" : "silently",
                   why.substr(0, 200)));
  if (blobs_) NoteBlobsCut(c);
  side.session.reset();
  if (phase_ == Phase::kSettling && now_ >= converged_at_ + kSettleGraceMs && settled_.count(c.id)) {
    Fail(fmt::format("a session ended after convergence: {} closed its side of #{} ({})",
                     SideName(c, s), c.id, why.substr(0, 200)));
  }
  Edge& edge = edges_[c.edge];
  Node& me = *nodes_[side.node];
  if (me.peers) {
    me.peers->OnLinkClosed(nodes_[side.peer]->identity.public_key(), c.id, /*dialed_by_us=*/s == 0,
                           Unavailable(why), {c.sent_bytes[1 - s], c.sent_bytes[s]}, now_);
  }
  switch (kind) {
    case CloseKind::kFin:
      c.fin[s] = true;
      if (c.queue[s].empty()) Schedule(now_ + edge.latency_ms, EventKind::kEof, s, c.id);
      break;
    case CloseKind::kReset:
      c.queue[s].clear();
      if (c.side[1 - s].session && !c.reset_sent[1 - s]) {
        c.reset_sent[1 - s] = true;
        Schedule(now_ + edge.latency_ms, EventKind::kReset, 1 - s, c.id);
      }
      break;
    case CloseKind::kSilent:
      break;
  }
}

// Side s finished sending and closed: the other side reads EOF.
void World::OnEof(uint64_t id, int s) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  Connection& c = it->second;
  if (edges_[c.edge].cuts > 0) {  // the FIN is retransmitted until the link heals
    Schedule(now_ + 1000, EventKind::kEof, s, id);
    return;
  }
  if (c.side[1 - s].session) CloseSide(c, 1 - s, CloseKind::kFin, "the peer closed the connection");
}

// Side s receives an RST: what it had not sent yet is dropped.
void World::OnReset(uint64_t id, int s) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  Connection& c = it->second;
  if (!c.side[s].session) return;
  c.queue[s].clear();
  CloseSide(c, s, CloseKind::kSilent, "connection reset by peer");
}

void World::TickNode(int n, uint64_t life) {
  Node& node = *nodes_[n];
  if (!node.up || life != node.life) return;
  if (network_) CheckSessionsAllowed(n);
  for (uint64_t id : ConnectionIds()) {
    Connection& c = connections_.at(id);
    for (int s = 0; s < 2; ++s) {
      if (c.side[s].node != n || !c.side[s].session) continue;
      c.side[s].session->OnTick(now_);
      Flush(c, s);
      NoteProgress(c, s);
      if (!c.side[s].session) continue;
      const crypto::PublicKey& peer = nodes_[c.side[s].peer]->identity.public_key();
      if (auto line = node.peers->ProgressLine(peer, c.side[s].session->progress(), now_)) {
        Note(node.name + ": " + *line, false);
      }
    }
  }
  if (failed_) return;
  if (node.peers->StatusDue(now_)) WriteStatus(n);
  for (const node::PeerConfig& peer : node.peers->TakeDialsDue(now_)) Dial(n, peer.id);
  Schedule(now_ + kTickMs, EventKind::kTick, n, 0, life);
}

}  // namespace ncen::sim
