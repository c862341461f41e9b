// The simulated network: links with latency and bandwidth, TCP-like
// connections (in order or not at all; orderly close, reset, half-open,
// stall), dialing with backoff and jitter, and the daemon's 100 ms tick.
#include <fmt/format.h>

#include <algorithm>

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

// The dialer tries again after its backoff (doubling, jittered to 75–125 %),
// as ncen-node does.
void World::ScheduleDial(int e) {
  Edge& edge = edges_[e];
  if (edge.dialing || edge.conn != 0 || !nodes_[edge.dialer]->up) return;
  edge.dialing = true;
  int64_t delay = edge.backoff_ms * int64_t(rng_.Between(75, 125)) / 100;
  edge.backoff_ms = std::min(edge.backoff_ms * 2, kBackoffMaxMs);
  Schedule(now_ + delay, EventKind::kDial, e);
}

void World::Dial(int e) {
  Edge& edge = edges_[e];
  edge.dialing = false;
  if (!nodes_[edge.dialer]->up || edge.conn != 0) return;
  if (!nodes_[edge.listener]->up || edge.cuts > 0) {
    Note(fmt::format("{} cannot reach {}", NameOf(edge.dialer), NameOf(edge.listener)));
    ScheduleDial(e);
    return;
  }
  edge.dialing = true;
  // TCP and the Noise XX handshake: about three one-way trips.
  Schedule(now_ + 3 * edge.latency_ms, EventKind::kConnect, e);
}

void World::Connect(int e) {
  Edge& edge = edges_[e];
  edge.dialing = false;
  if (!nodes_[edge.dialer]->up || edge.conn != 0) return;
  if (!nodes_[edge.listener]->up || edge.cuts > 0) {
    ScheduleDial(e);
    return;
  }
  // The listener keeps one session per peer: the newer connection replaces
  // a half-open old one.
  for (uint64_t id : ConnectionIds()) {
    Connection& old = connections_.at(id);
    if (old.edge == e && old.side[1].session) {
      CloseSide(old, 1, CloseKind::kFin, "replaced by a newer connection");
    }
  }
  uint64_t id = next_connection_++;
  Connection& c = connections_[id];
  c.id = id;
  c.edge = e;
  int ends[2] = {edge.dialer, edge.listener};
  for (int s = 0; s < 2; ++s) {
    Side& side = c.side[s];
    side.node = ends[s];
    side.peer = ends[1 - s];
    Node& self = *nodes_[side.node];
    Node& peer = *nodes_[side.peer];
    replication::PeerInfo info{peer.identity.public_key(), peer.name, edge.scopes};
    side.session = std::make_unique<replication::Session>(
        *self.store, self.identity.public_key(), self.name, RoleName(self.role), std::move(info),
        self.session_options);
    side.peer_restores = peer.restores;
  }
  edge.conn = id;
  edge.backoff_ms = kBackoffFirstMs;
  stats_.sessions += 2;
  Note(fmt::format("connection #{} {} -> {} open", id, NameOf(edge.dialer), NameOf(edge.listener)));
  for (int s = 0; s < 2; ++s) {
    if (c.side[s].session) c.side[s].session->Start(now_);
    Flush(c, s);
  }
}

// Sends what the session queued, notes what it logged, and closes this side
// of the connection when the session failed (the daemon's Flush).
void World::Flush(Connection& c, int s) {
  Side& side = c.side[s];
  if (!side.session) return;
  for (Bytes& m : side.session->TakeOutgoing()) {
    if (!Hostile(side.node)) {
      Enqueue(c, s, std::move(m));
      continue;
    }
    Node& self = *nodes_[side.node];
    for (Bytes& sent : mallory_->Mangle(std::move(m), *self.store, nodes_[side.peer]->identity.public_key(),
                                        edges_[c.edge].scopes, truth_, now_, phase_ == Phase::kChaos)) {
      Enqueue(c, s, std::move(sent));
    }
  }
  for (const std::string& line : side.session->TakeLog()) Note(NameOf(side.node) + ": " + line);
  if (side.session->failed()) {
    CloseSide(c, s, CloseKind::kFin, side.session->error().ToString());
  }
}

void World::Enqueue(Connection& c, int d, Bytes bytes) {
  MessageInfo info = DescribeMessage(bytes);
  ++stats_.messages;
  stats_.message_bytes += bytes.size();
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
    applying_node_ = dst.node;
    crash_requested_ = false;
    dst.session->OnMessage(m.bytes, now_);
    applying_node_ = -1;
    dirty_.insert(dst.node);
    Flush(c, r);
    if (crash_requested_) {
      // The mutant asked to die between its ack and its commit: the ack is
      // already in the socket.
      crash_requested_ = false;
      int n = dst.node;
      Crash(n, rng_.Percent(50), "crash between acknowledging and committing a batch");
      Schedule(now_ + int64_t(rng_.Between(200, 5000)), EventKind::kRestart, n, 0, nodes_[n]->life);
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
  side.session.reset();
  if (phase_ == Phase::kSettling && now_ >= converged_at_ + kSettleGraceMs && settled_.count(c.id)) {
    Fail(fmt::format("a session ended after convergence: {} closed its side of #{} ({})",
                     SideName(c, s), c.id, why.substr(0, 200)));
  }
  Edge& edge = edges_[c.edge];
  if (s == 0 && edge.conn == c.id) {
    edge.conn = 0;
    ScheduleDial(c.edge);
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
  for (uint64_t id : ConnectionIds()) {
    Connection& c = connections_.at(id);
    for (int s = 0; s < 2; ++s) {
      if (c.side[s].node != n || !c.side[s].session) continue;
      c.side[s].session->OnTick(now_);
      Flush(c, s);
    }
  }
  Schedule(now_ + kTickMs, EventKind::kTick, n, 0, life);
}

}  // namespace ncen::sim
