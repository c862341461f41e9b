// The workload (creates, updates, deletes, resolves; concurrent edits of a
// few hot records; edits of records a node holds only partly) and the faults
// (resets, half-open and stalled connections, partitions, link changes,
// crashes, backups and restores from them).
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "storage/sharing.h"
#include "tests/sim/world.h"

namespace ncen::sim {

namespace {

constexpr size_t kHotRecords = 3;  // the first records created get most of the edits

}  // namespace

storage::RecordId NewRecordId(int64_t now_ms, Rng& rng) {
  storage::RecordId id;
  for (size_t i = 6; i < id.size(); i += 8) {
    uint64_t r = rng.Next();
    for (size_t k = 0; k < 8 && i + k < id.size(); ++k) id[i + k] = uint8_t(r >> (8 * k));
  }
  uint64_t ms = static_cast<uint64_t>(now_ms) & 0xffffffffffffULL;
  for (int i = 5; i >= 0; --i, ms >>= 8) id[size_t(i)] = uint8_t(ms);
  id[6] = uint8_t(0x70 | (id[6] & 0x0f));
  id[8] = uint8_t(0x80 | (id[8] & 0x3f));
  return id;
}

// ---------------------------------------------------------------------------
// Workload

void World::Write(int only_node) {
  if (phase_ != Phase::kChaos) return;
  std::vector<int> up;
  if (only_node >= 0) {
    if (nodes_[only_node]->up) up.push_back(only_node);
  } else {
    if (writes_left_ <= 0) return;
    --writes_left_;
    Schedule(now_ + int64_t(rng_.Between(1, uint64_t(2 * write_gap_ms_))), EventKind::kWrite);
    for (auto& node : nodes_) {
      if (node->up && !node->hostile && !node->write_scopes.empty()) up.push_back(node->index);
    }
  }
  if (up.empty()) return;
  Node& node = *nodes_[up[rng_.Below(up.size())]];
  size_t count = rng_.Percent(12) ? rng_.Between(2, 5) : 1;
  std::vector<storage::LocalChange> changes;
  for (size_t i = 0; i < count; ++i) {
    if (auto change = PlanChange(node)) changes.push_back(std::move(*change));
  }
  if (changes.empty()) return;
  Append(node, changes);
}

// AppendLocal of a write the simulator planned, with what it must do: a
// stale node is refused, and so is a node its membership does not know as
// an active member; any other refusal fails the run.
void World::Append(Node& node, const std::vector<storage::LocalChange>& changes) {
  // What the node knows before it writes: a stale node must be refused, and
  // a node must not extend a feed of its own that it knows is forked.
  auto stale = node.store->StaleIdentity();
  auto forks = node.store->Forks();
  if (!stale.ok() || !forks.ok()) return Fail(NameOf(node.index) + ": cannot read its own state");
  std::string own_fork;
  for (const auto& f : *forks) {
    for (const auto& c : changes) {
      if (f.feed.author == node.identity.public_key() && f.feed.scope == c.scope) {
        own_fork = FeedName(f.feed);
      }
    }
  }
  auto dots = node.store->AppendLocal(node.identity, changes);
  ++stats_.writes;
  if (!dots.ok() && network_ && dots.status().code() == StatusCode::kFailedPrecondition) {
    // A node its own membership does not know as an active member (not yet
    // certified, or revoked) may not write.
    auto m = node.store->GetMembership();
    if (m.ok() && *m && !(*m)->Active(node.identity.public_key())) {
      ++stats_.writes_unauthorized;
      Note(fmt::format("{} may not write: {}", node.name, dots.status().message().substr(0, 120)));
      return;
    }
  }
  if (!dots.ok()) {
    if (dots.status().code() == StatusCode::kFailedPrecondition && !stale->empty()) {
      ++stats_.writes_refused;
      Note(fmt::format("{} refuses to write: {}", node.name, dots.status().message().substr(0, 120)));
      return;
    }
    return Fail(fmt::format("{}: AppendLocal failed: {}", node.name, dots.status().ToString()));
  }
  if (!stale->empty()) {
    return Fail(fmt::format("{} wrote although its identity is stale ({})", node.name, *stale));
  }
  if (!own_fork.empty()) {
    return Fail(fmt::format(
        "{} wrote to its own feed {} although it holds a fork report for it: a node that sees its "
        "own feed forked was restored from an old copy and must stop writing (stale identity)",
        node.name, own_fork));
  }
  RecordWrite(node, changes, *dots);
  dirty_.insert(node.index);
}

std::optional<storage::LocalChange> World::PlanChange(Node& node) {
  storage::LocalChange change;
  uint64_t r = rng_.Below(100);
  const auto& order = truth_.record_order();
  if (r >= 35 && !order.empty()) {
    size_t pick = rng_.Percent(45) ? rng_.Below(std::min(kHotRecords, order.size()))
                                   : rng_.Below(order.size());
    storage::RecordId id = order[pick];
    auto view = node.store->GetRecord(id);
    // A record Mallory quarantined takes no more writes: a new record instead.
    // So is one the node may not write (in a network: a post and a hub's
    // seizure report, a hub and another country's report).
    // And one of a type the run draws payloads for: Mallory's suspects are
    // not (seed 7201 edited one with a seizure's payload).
    const bool drawable = view.ok() && (view->state.type == storage::RecordType::kSeizure ||
                                        view->state.type == storage::RecordType::kSeizureReport ||
                                        view->state.type == storage::RecordType::kPhoto);
    if (view.ok() && drawable && !view->state.quarantined() &&
        MayWrite(node, view->state.type, view->state.scope, truth_.Record(id)->country)) {
      change.id = id;
      change.type = view->state.type;  // an edit keeps the record's type, and its payload is of it
      change.scope = view->state.scope;
      change.op = r < 80 ? storage::Op::kPut : r < 95 ? storage::Op::kDelete : storage::Op::kResolve;
      if (change.op != storage::Op::kDelete) change.payload = DrawPayload(change.type, node.country);
      // An edit of a record some of whose versions are still elsewhere.
      storage::VersionVector seen = view->state.CausalContext();
      for (const Hash256& h : truth_.Record(id)->writes) {
        const Written* w = truth_.Find(h);
        if (!seen.Covers({w->feed.author, w->seq})) {
          ++stats_.partial_edits;
          break;
        }
      }
      return change;
    }
    if (!view.ok() && view.status().code() != StatusCode::kNotFound) {
      Fail(node.name + ": GetRecord failed: " + view.status().ToString());
      return std::nullopt;
    }
  }
  if (node.write_scopes.empty()) return std::nullopt;
  change.id = NewRecordId(now_ + node.clock_skew_ms, rng_);
  change.scope = node.write_scopes[rng_.Below(node.write_scopes.size())];
  // In a network what leaves the country is a seizure report (about the
  // hub's own country); a store of no network takes a seizure in any scope.
  change.type = network_ && change.scope != Scope::kNational ? storage::RecordType::kSeizureReport
                                                              : storage::RecordType::kSeizure;
  change.op = storage::Op::kPut;
  change.payload = DrawPayload(change.type, node.country);
  if (change.type == storage::RecordType::kSeizureReport) {
    // A report's id carries its country's tag (docs/sharing.md §4).
    storage::SetReportCountryTag(change.id, countries_.at(size_t(std::max(0, node.country))));
  }
  return change;
}

// A payload of `type` (a seizure, or a report about country `country`),
// drawn from the run's pools.
Bytes World::DrawPayload(storage::RecordType type, int country) {
  if (type == storage::RecordType::kPhoto) return DrawPhotoPayload();
  if (type != storage::RecordType::kSeizureReport) return payloads_[rng_.Below(payloads_.size())];
  const std::vector<Bytes>& pool = report_payloads_.at(size_t(std::max(0, country)));
  return pool[rng_.Below(pool.size())];
}

void World::RecordWrite(Node& node, const std::vector<storage::LocalChange>& changes,
                        const std::vector<storage::Dot>& dots) {
  std::string text = node.name + " writes";
  for (size_t i = 0; i < changes.size() && i < dots.size(); ++i) {
    FeedId feed{node.identity.public_key(), changes[i].scope};
    auto entry = node.store->GetEntry(feed, dots[i].seq);
    if (!entry.ok()) return Fail(node.name + ": cannot read back its own write");
    if (!clock_verified_) {
      // The store must run on the virtual clock, or nothing replays.
      NCEN_CHECK(entry->header.timestamp_ms == now_ + node.clock_skew_ms);
      clock_verified_ = true;
    }
    Written w = Written::Of(*entry, node.index);
    if (victim_revoked_ && node.index == victim_ && w.seq > victim_cutoff_) {
      w.revoked = true;
      ++stats_.revoked_entries_written;
    }
    truth_.Add(w);
    ++stats_.entries_written;
    if (changes[i].type == storage::RecordType::kPhoto) NotePhotoFeeds(feed, changes[i].payload);
    text += fmt::format(" {}#{} {} {}", storage::ScopeName(feed.scope), w.seq,
                        storage::OpName(changes[i].op), storage::FormatRecordId(w.record).substr(24));
  }
  Note(text);
}

// ---------------------------------------------------------------------------
// Faults

void World::Fault() {
  if (phase_ != Phase::kChaos) return;
  Schedule(now_ + int64_t(rng_.Between(uint64_t(fault_gap_ms_ / 2), uint64_t(fault_gap_ms_ * 3 / 2))),
           EventKind::kFault);
  uint64_t r = rng_.Below(100);
  if (r < 18) return ResetConnection();
  if (r < 28) return HalfOpen();
  if (r < 43) return Stall();
  if (r < 58) return Partition();
  if (r < 78) {
    std::vector<int> up;
    for (auto& node : nodes_) {
      if (node->up) up.push_back(node->index);
    }
    if (up.empty()) return;
    if (blobs_) up = PreferBlobReceivers(std::move(up));
    int n = up[rng_.Below(up.size())];
    bool host = rng_.Percent(50);
    Crash(n, host, host ? "host crash" : "process crash");
    int64_t down_ms = rng_.Percent(80) ? int64_t(rng_.Between(200, 8000)) : int64_t(rng_.Between(10000, 40000));
    Schedule(now_ + down_ms, EventKind::kRestart, n, 0, nodes_[n]->life);
    return;
  }
  if (r < 85) return ChangeLink();
  if (!restores_enabled_) return r < 92 ? ResetConnection() : Stall();
  if (r < 92) {
    int n = int(rng_.Below(nodes_.size()));
    if (nodes_[n]->up && !nodes_[n]->hostile) TakeBackup(n);
    return;
  }
  std::vector<int> backed_up;
  for (auto& node : nodes_) {
    if (node->backup) backed_up.push_back(node->index);
  }
  if (!backed_up.empty()) Restore(backed_up[rng_.Below(backed_up.size())]);
}

// The node dies: its sessions are gone, its store is closed. A process crash
// closes its sockets (RST when unread data was waiting, else FIN after what
// it had sent); a host crash tells nobody.
void World::Crash(int n, bool host, const std::string& why) {
  Node& node = *nodes_[n];
  if (!node.up) return;
  ++stats_.crashes;
  Note(fmt::format("{} crashes ({})", node.name, why));
  if (blobs_) NoteCrashWithBlobs(n);
  node.up = false;
  ++node.life;
  for (uint64_t id : ConnectionIds()) {
    Connection& c = connections_.at(id);
    for (int s = 0; s < 2; ++s) {
      if (c.side[s].node != n || !c.side[s].session) continue;
      CloseKind kind = host ? CloseKind::kSilent
                            : !c.queue[1 - s].empty() ? CloseKind::kReset : CloseKind::kFin;
      CloseSide(c, s, kind, why);
    }
  }
  node.peers.reset();
  node.store.reset();
}

void World::Restart(int n, uint64_t life) {
  Node& node = *nodes_[n];
  if (node.up || life != node.life) return;
  auto store = storage::Store::Open(node.dir->path(), SimStoreOptions(&node.clock));
  if (!store.ok()) return Fail(node.name + ": the store does not reopen: " + store.status().ToString());
  node.store = std::move(store).value();
  node.up = true;
  Note(fmt::format("{} restarts", node.name));
  // The old process's sessions are gone, and with them their claims.
  NCEN_CHECK(node.blob_fetches.size() == 0);
  if (node.restored_pending) {
    // Its frontier went back to the copy's: start tracking afresh.
    node.restored_pending = false;
    node.heads.clear();
    node.change_cursor = 0;
    node.forked.clear();
    CheckNode(n);
    MarkLostWrites();
    // Often it writes before any peer can tell it that it is stale: a fork.
    if (rng_.Percent(60)) {
      Schedule(now_ + int64_t(rng_.Between(0, 3000)), EventKind::kWrite, n + 1);
    }
  } else {
    dirty_.insert(n);
  }
  StartPeers(n);
  Schedule(now_ + int64_t(rng_.Between(1, kTickMs)), EventKind::kTick, n, 0, node.life);
}

// An operator's copy of the store, taken while no transaction runs (the one
// thread is here): data.mdb holds every committed transaction.
void World::TakeBackup(int n) {
  Node& node = *nodes_[n];
  node.backup = std::make_unique<testing::TempDir>();
  std::filesystem::copy_file(node.dir->Sub("data.mdb"), node.backup->Sub("data.mdb"));
  node.backup_at_ms = now_;
  ++stats_.backups;
  Note(fmt::format("{}: backup taken", node.name));
}

// The node is stopped and its directory replaced by the old copy; it comes
// back with an older frontier and does not know it.
void World::Restore(int n) {
  Node& node = *nodes_[n];
  bool was_up = node.up;
  Crash(n, true, "stopped to be restored from an old copy");
  std::filesystem::copy_file(node.backup->Sub("data.mdb"), node.dir->Sub("data.mdb"),
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::remove(node.dir->Sub("lock.mdb"));
  ++node.restores;
  node.restored_pending = true;
  // An officer's demand made after the copy was taken went with it.
  std::erase_if(demanded_[n], [&](const auto& kv) { return kv.second > node.backup_at_ms; });
  ++stats_.restores;
  Note(fmt::format("{}: restored from its backup", node.name));
  if (was_up) {
    Schedule(now_ + int64_t(rng_.Between(200, 5000)), EventKind::kRestart, n, 0, node.life);
  }
}

// After a restore, writes that no node holds any more are lost by the
// restore itself (the operator's doing, not replication's).
void World::MarkLostWrites() {
  for (const auto& [feed, hashes] : truth_.feeds()) {
    std::vector<std::set<Hash256>> chains;
    for (auto& node : nodes_) chains.push_back(ChainOf(node->index, feed));
    for (const Hash256& h : hashes) {
      Written* w = truth_.Mutable(h);
      if (w->lost_by_restore) continue;
      bool held = std::any_of(chains.begin(), chains.end(), [&](const auto& c) { return c.count(h); });
      if (!held) {
        w->lost_by_restore = true;
        ++stats_.lost_by_restore;
      }
    }
  }
}

void World::Partition() {
  std::vector<int> cut;
  std::string what;
  int64_t duration_ms = 0;
  uint64_t kind = rng_.Below(3);
  if (kind < 2) {
    // One node cut off: a hub for a while, or a post for a long time.
    std::vector<int> candidates;
    for (auto& node : nodes_) {
      if ((node->role != Role::kPost) == (kind == 0)) candidates.push_back(node->index);
    }
    if (candidates.empty()) return;
    int n = candidates[rng_.Below(candidates.size())];
    for (size_t e = 0; e < edges_.size(); ++e) {
      if (edges_[e].dialer == n || edges_[e].listener == n) cut.push_back(int(e));
    }
    what = NameOf(n) + " cut off";
    duration_ms = kind == 0 ? int64_t(rng_.Between(3000, 30000)) : int64_t(rng_.Between(20000, 90000));
  } else {
    // The network split in two.
    std::vector<bool> left(nodes_.size());
    for (size_t i = 0; i < left.size(); ++i) left[i] = rng_.Percent(50);
    for (size_t e = 0; e < edges_.size(); ++e) {
      if (left[size_t(edges_[e].dialer)] != left[size_t(edges_[e].listener)]) cut.push_back(int(e));
    }
    what = "network split";
    duration_ms = int64_t(rng_.Between(5000, 40000));
  }
  if (cut.empty()) return;
  CutEdges(cut, duration_ms, what);
}

// A cut link drops packets: a connection over it neither delivers nor
// breaks by itself (its sessions time out); dials fail until it heals.
void World::CutEdges(const std::vector<int>& cut, int64_t duration_ms, const std::string& what) {
  uint64_t id = next_partition_++;
  partitions_[id] = cut;
  for (int e : cut) ++edges_[e].cuts;
  ++stats_.partitions;
  Note(fmt::format("partition #{}: {} ({} links) for {} ms", id, what, cut.size(), duration_ms));
  Schedule(now_ + duration_ms, EventKind::kPartitionEnd, 0, id);
}

void World::EndPartition(uint64_t id) {
  auto it = partitions_.find(id);
  if (it == partitions_.end()) return;
  for (int e : it->second) {
    if (--edges_[e].cuts > 0) continue;
    for (uint64_t cid : ConnectionIds()) {
      Connection& c = connections_.at(cid);
      if (c.edge != e) continue;
      ScheduleDelivery(c, 0);
      ScheduleDelivery(c, 1);
    }
  }
  partitions_.erase(it);
  Note(fmt::format("partition #{} heals", id));
}

Connection* World::PickConnection() {
  std::vector<Connection*> open;
  for (auto& [id, c] : connections_) {
    if (c.side[0].session && c.side[1].session) open.push_back(&c);
  }
  if (blobs_) open = PreferBlobCarriers(std::move(open));
  if (open.empty()) return nullptr;
  return open[rng_.Below(open.size())];
}

// Reset mid-stream: everything in flight is lost, both sessions end.
void World::ResetConnection() {
  Connection* c = PickConnection();
  if (!c) return;
  ++stats_.resets;
  if (blobs_) NoteBlobsCut(*c);
  c->queue[0].clear();
  c->queue[1].clear();
  CloseSide(*c, 0, CloseKind::kSilent, "connection reset");
  CloseSide(*c, 1, CloseKind::kSilent, "connection reset");
}

// One side's state vanishes (a NAT or firewall forgot the flow, a laptop
// slept): the other side keeps sending into the void until its idle timeout.
void World::HalfOpen() {
  Connection* c = PickConnection();
  if (!c) return;
  ++stats_.half_opens;
  if (blobs_) NoteBlobsCut(*c);
  int s = int(rng_.Below(2));
  c->queue[0].clear();
  c->queue[1].clear();
  c->side[1 - s].void_out = true;
  CloseSide(*c, s, CloseKind::kSilent, "half-open: this side lost the connection");
}

// Delivery pauses in one or both directions; what was sent arrives later,
// in order (or the sessions time out first).
void World::Stall() {
  Connection* c = PickConnection();
  if (!c) return;
  ++stats_.stalls;
  uint64_t which = rng_.Below(3);
  int64_t until = now_ + int64_t(rng_.Between(500, 30000));
  for (int d = 0; d < 2; ++d) {
    if (which != 2 && uint64_t(d) != which) continue;
    c->stalled_until_ms[d] = std::max(c->stalled_until_ms[d], until);
    ScheduleDelivery(*c, d);
  }
  Note(fmt::format("#{} stalls ({}) until t={}", c->id, which == 2 ? "both ways" : "one way",
                   (until - kStartMs) / 1000));
}

void World::ChangeLink() {
  Edge& e = edges_[rng_.Below(edges_.size())];
  e.latency_ms = rng_.Percent(20) ? int64_t(rng_.Between(150, 600)) : int64_t(rng_.Between(1, 80));
  e.bytes_per_ms = rng_.Percent(25) ? int64_t(rng_.Between(10, 60)) : int64_t(rng_.Between(200, 5000));
  if (blobs_ && options_.blob_window_fit) e.bytes_per_ms = std::max(e.bytes_per_ms, kBlobLinkBytesPerMsMin);
  Note(fmt::format("link {}-{} now {} ms, {} kB/s", NameOf(e.dialer), NameOf(e.listener),
                   e.latency_ms, e.bytes_per_ms));
}

bool World::MutantCrashBeforeCommit() {
  if (phase_ != Phase::kChaos || applying_node_ < 0) return false;
  if (!rng_.Percent(10)) return false;
  crash_requested_ = true;
  return true;
}

}  // namespace ncen::sim
