// The invariants (docs/testing.md lists them with their reasons).
//
// Safety, after every step, on every node whose store may have changed:
//   S1 every feed head is an entry its author signed (so, through the hash
//      chain, every held entry is), and the node may hold that feed (scopes);
//   S2 a node's chain of a feed only grows: never shorter, never a different
//      entry at a seq it held — no forked entry is ever applied — except
//      across a restore from an old copy;
//   S3 no record holds two versions by one author (an author's own edits are
//      causally ordered), so siblings never exceed the concurrent writers;
//      every version is a dot some author signed;
//   S4 a session never believes its peer holds more of a feed than the
//      peer's store has committed (an ack or head promises durability);
//   S5 only a restored node is ever stale, and a fork is reported only for
//      a feed whose author really signed two entries at one seq; a stale
//      node's writes are refused, and a node never extends its own feed once
//      it holds a fork report for it (checked where it writes: faults.cpp).
// Liveness, after healing (Liveness): within the bound every unforked feed
// is identical on every node that may hold it, every acknowledged write not lost by a restore is on
// it, a restored node that others are ahead of is stale (and has its feed
// back), every node that may hold a forked feed has a fork report for it and
// its author is stale, and record states agree. Then (SettleCheck, world.cpp) 30 quiet seconds: no
// session ends, and every session between two non-stale nodes is caught up.
#include <fmt/format.h>

#include <algorithm>

#include "tests/sim/world.h"

namespace ncen::sim {

namespace {

std::string Short(const Hash256& h) { return ToHex(ByteView(h.data(), 4)); }

}  // namespace

std::set<Hash256> World::ChainOf(int n, const FeedId& feed) const {
  std::set<Hash256> out;
  const auto& heads = nodes_[n]->heads;
  auto it = heads.find(feed);
  if (it == heads.end()) return out;
  const Written* w = truth_.Find(it->second.head);
  while (w) {
    out.insert(w->hash);
    w = w->seq > 1 ? truth_.Find(w->prev) : nullptr;
  }
  return out;
}

void World::CheckNode(int n) {
  Node& node = *nodes_[n];
  if (node.hostile) return;  // Mallory is held to nothing
  storage::Store& store = *node.store;
  auto frontier = store.Frontier();
  if (!frontier.ok()) return Fail(node.name + ": Frontier failed: " + frontier.status().ToString());
  std::shared_ptr<const storage::Membership> membership;
  if (network_) {
    auto m = store.GetMembership();
    if (!m.ok()) return Fail(node.name + ": GetMembership failed: " + m.status().ToString());
    membership = *m;
  }
  bool active = membership && membership->Active(node.identity.public_key());
  std::map<FeedId, FeedHead> heads;
  for (const FeedHead& h : *frontier) {
    if (h.feed.scope == Scope::kNetwork) {
      // Network entries: signed by the root or an authority, and only more.
      if (!network_hashes_.count(h.head)) {
        return Fail(fmt::format("S1: {} holds {} up to seq {}, which no authority signed", node.name,
                                FeedName(h.feed), h.seq));
      }
      auto old = node.heads.find(h.feed);
      if (old != node.heads.end() && h.seq < old->second.seq) {
        return Fail(fmt::format("S2: {}'s frontier of {} went back from seq {} to {}", node.name,
                                FeedName(h.feed), old->second.seq, h.seq));
      }
      heads[h.feed] = h;
      continue;
    }
    // M1: what the node's own certificates let it hold (checked before the
    // simulator's own reckoning of the scopes, S1, to name the rule).
    if (active && h.feed.author != node.identity.public_key()) {
      // (A node's own feed is exempt: a national hub that no regional hub
      // serves may write regional entries that by MayHold nobody, itself
      // included, may hold.)
      std::string why;
      if (!membership->MayAuthor(h.feed, &why) || !membership->MayHold(node.identity.public_key(), h.feed, &why)) {
        return Fail(fmt::format("M1: {} holds {} up to seq {}, which its certificates forbid: {}", node.name,
                                FeedName(h.feed), h.seq, why));
      }
    }
    const Written* w = truth_.Find(h.head);
    if (!w || w->feed != h.feed || w->seq != h.seq) {
      return Fail(fmt::format("S1: {} holds {} up to seq {} ending in {}, which its author never signed",
                              node.name, FeedName(h.feed), h.seq, Short(h.head)));
    }
    if (!MayHold(n, h.feed)) {
      return Fail(fmt::format("S1: {} holds {}, which its scope keeps from it", node.name,
                              FeedName(h.feed)));
    }
    auto old = node.heads.find(h.feed);
    if (old != node.heads.end()) {
      if (h.seq < old->second.seq) {
        return Fail(fmt::format("S2: {}'s frontier of {} went back from seq {} to {}", node.name,
                                FeedName(h.feed), old->second.seq, h.seq));
      }
      if (!truth_.OnChain(h.head, h.seq, old->second.seq, old->second.head)) {
        return Fail(fmt::format("S2: {} replaced its entry at seq {} of {}: a forked entry was applied",
                                node.name, old->second.seq, FeedName(h.feed)));
      }
    }
    heads[h.feed] = h;
  }
  for (const auto& [feed, old] : node.heads) {
    if (!heads.count(feed)) {
      return Fail(fmt::format("S2: {} lost feed {} (it held seq {})", node.name, FeedName(feed), old.seq));
    }
  }
  node.heads = std::move(heads);

  auto changes = store.ChangesSince(node.change_cursor, SIZE_MAX);
  if (!changes.ok()) return Fail(node.name + ": ChangesSince failed: " + changes.status().ToString());
  std::set<storage::RecordId> touched;
  for (const auto& ref : *changes) {
    touched.insert(ref.record);
    node.change_cursor = ref.change_no;
  }
  // M2: when the network changed (a revocation may have arrived), every
  // record is checked against it; otherwise the records just touched.
  if (membership && membership != node.records_checked) {
    node.records_checked = membership;
    for (const auto& id : truth_.record_order()) touched.insert(id);
  }
  for (const auto& id : touched) {
    auto view = store.GetRecord(id);
    if (!view.ok() && view.status().code() == StatusCode::kNotFound && membership) continue;
    if (!view.ok()) return Fail(node.name + ": GetRecord failed: " + view.status().ToString());
    CheckRecord(n, *view, membership.get());
    if (failed_) return;
  }

  auto stale = store.StaleIdentity();
  auto forks = store.Forks();
  if (!stale.ok() || !forks.ok()) return Fail(node.name + ": cannot read stale identity or forks");
  if (!stale->empty() && node.restores == 0) {
    return Fail(fmt::format("S5: {} marked its identity stale but was never restored from a copy: {}",
                            node.name, *stale));
  }
  node.stale = !stale->empty();
  for (const auto& f : *forks) {
    if (!truth_.Branched(f.feed)) {
      return Fail(fmt::format("S5: {} reports a fork of {} at seq {} (from {}), but its author never "
                              "signed two entries at one seq",
                              node.name, FeedName(f.feed), f.seq, f.source));
    }
    node.forked.insert(f.feed);
  }
}

void World::CheckRecord(int n, const storage::RecordView& view, const storage::Membership* m) {
  const RecordInfo* info = truth_.Record(view.id);
  std::string name = storage::FormatRecordId(view.id).substr(24);
  if (!info) return Fail(fmt::format("S3: {} holds record {} that nobody wrote", NameOf(n), name));
  std::set<crypto::PublicKey> authors;
  for (const storage::Version& v : view.state.versions) {
    // M2: no version past its author's revocation, as this node knows it.
    if (uint64_t cut = m ? m->CutoffOf({v.dot.author, view.state.scope}) : UINT64_MAX; v.dot.seq > cut) {
      return Fail(fmt::format("M2: record {} at {} has a version {}#{}, past its author's revocation (the last "
                              "valid seq is {})",
                              name, NameOf(n), FeedName({v.dot.author, view.state.scope}), v.dot.seq, cut));
    }
    if (!truth_.HasDot({v.dot.author, view.state.scope}, v.dot.seq)) {
      return Fail(fmt::format("S3: record {} at {} has a version {}#{} nobody signed", name, NameOf(n),
                              FeedName({v.dot.author, view.state.scope}), v.dot.seq));
    }
    // S6: a context names only entries that were written (a context that
    // claims more would hide later edits for good) — except entries that
    // can never arrive at this node, which the store lets a context name
    // (NeverArrives).
    for (const storage::Dot& d : v.context.dots) {
      FeedId named{d.author, view.state.scope};
      if (!truth_.HasDot(named, d.seq) && !NeverArrives(n, named, d.seq)) {
        return Fail(fmt::format("S6: record {} at {} has a version {}#{} whose context names {}#{}, "
                                "which nobody wrote",
                                name, NameOf(n), FeedName({v.dot.author, view.state.scope}), v.dot.seq,
                                FeedName({d.author, view.state.scope}), d.seq));
      }
    }
    if (!authors.insert(v.dot.author).second) {
      return Fail(fmt::format(
          "S3: record {} at {} holds two versions by {} ({} versions, {} writers): siblings exceed "
          "the concurrent writers",
          name, NameOf(n), FeedName({v.dot.author, view.state.scope}), view.state.versions.size(),
          info->writers.size()));
    }
  }
  if (m) CheckReleases(n, view, *m);  // M3 (membership.cpp)
  if (failed_) return;
  if (view.state.versions.size() > info->authors.size()) {
    return Fail(fmt::format("S3: record {} at {} has {} versions but only {} writers", name, NameOf(n),
                            view.state.versions.size(), info->authors.size()));
  }
}

// Entry `seq` of `feed` can never arrive at node n, so the store lets a
// context name it (store_apply.cpp CheckContext; finding 7 of
// docs/testing.md): the feed is forked there (frozen), or `seq` is past its
// author's revocation cut-off, or n may not hold the feed. Mallory's puppets
// name such entries once a restored node forked or a node was revoked.
bool World::NeverArrives(int n, const FeedId& feed, uint64_t seq) const {
  const storage::Store& store = *nodes_[n]->store;
  auto forks = store.Forks();
  if (forks.ok() && std::any_of(forks->begin(), forks->end(), [&](const auto& f) { return f.feed == feed; })) {
    return true;
  }
  auto m = store.GetMembership();
  return m.ok() && *m &&
         (seq > (*m)->CutoffOf(feed) || !(*m)->MayHold(nodes_[n]->identity.public_key(), feed));
}

void World::CheckClaims(const Connection& c, int s) {
  const Side& side = c.side[s];
  const Node& peer = *nodes_[side.peer];
  if (peer.hostile) return;  // Mallory sends entries it never stored
  if (peer.restores != side.peer_restores) return;  // the peer went back to a copy since
  for (const FeedHead& h : side.session->PeerFrontier()) {
    auto it = peer.heads.find(h.feed);
    uint64_t held = it == peer.heads.end() ? 0 : it->second.seq;
    if (h.seq > held) {
      return Fail(fmt::format(
          "S4: {}'s session believes {} holds {} up to seq {}, but {} has committed only {}: an "
          "acknowledgement or head got ahead of the peer's store",
          NameOf(side.node), peer.name, FeedName(h.feed), h.seq, peer.name, held));
    }
  }
}

// ---------------------------------------------------------------------------
// Liveness

std::vector<std::string> World::Liveness() {
  std::vector<std::string> problems;
  std::set<FeedId> feeds;
  for (auto& node : nodes_) {
    if (node->hostile) continue;
    if (!node->up) problems.push_back(node->name + " is down");
    for (const auto& [feed, head] : node->heads) feeds.insert(feed);
  }
  for (const auto& [feed, hashes] : truth_.feeds()) feeds.insert(feed);
  if (!problems.empty()) return problems;
  LivenessOfNetwork(problems);
  if (!problems.empty()) return problems;
  for (const FeedId& feed : feeds) {
    if (feed.scope == Scope::kNetwork || RevokedFeedLive(feed, problems)) continue;
    LivenessOfFeed(feed, problems);
  }
  if (problems.empty()) LivenessOfRecords(problems);
  if (problems.empty()) LivenessOfBlobs(problems);  // blobs.cpp
  return problems;
}

FeedHead World::HeadOf(int n, const FeedId& feed) const {
  auto it = nodes_[n]->heads.find(feed);
  return it == nodes_[n]->heads.end() ? FeedHead{feed, 0, {}} : it->second;
}

void World::LivenessOfFeed(const FeedId& feed, std::vector<std::string>& problems) {
  int author = NodeOf(feed.author);
  const Node& writer = *nodes_[author];
  bool forked = std::any_of(nodes_.begin(), nodes_.end(),
                            [&](const auto& node) { return node->forked.count(feed) > 0; });
  if (forked) {
    // A forked feed stops syncing by design; every node that may hold it
    // must know, and its author must have stopped writing (a puppet of
    // Mallory's is not a node: nobody can stop it).
    if (!writer.stale && !writer.hostile) {
      problems.push_back(fmt::format("{} is forked but its author {} is not stale", FeedName(feed),
                                     writer.name));
    }
    for (int n : ReachOf(feed)) {
      if (Hostile(n) || Revoked(n)) continue;
      if (!nodes_[n]->forked.count(feed)) {
        problems.push_back(fmt::format("{} is forked but {} has no fork report for it",
                                       FeedName(feed), NameOf(n)));
        break;
      }
    }
    return;
  }
  // The author holds its whole feed; every node that may hold it must too.
  // A stale author (restored from an old copy) gets back what it lost: then
  // the longest copy is the feed.
  // Mallory's puppets end their chains with entries every honest node
  // refuses: the longest prefix an honest node took is the feed.
  FeedHead best = HeadOf(author, feed);
  if (writer.stale || writer.hostile) {
    if (writer.hostile) best = FeedHead{feed, 0, {}};
    for (int n : ReachOf(feed)) {
      if (!Hostile(n) && !Revoked(n) && HeadOf(n, feed).seq > best.seq) best = HeadOf(n, feed);
    }
  }
  for (int n : ReachOf(feed)) {
    if (Hostile(n) || Revoked(n)) continue;
    FeedHead h = HeadOf(n, feed);
    if (h.seq == best.seq && h.head == best.head) continue;
    std::string why = writer.restores > 0 && h.seq > best.seq
                          ? fmt::format(": {} was restored from a copy, others are ahead, and it "
                                        "is not stale", writer.name)
                          : "";
    problems.push_back(fmt::format("{}: {} holds seq {} ({}), its author {} seq {} ({}){}",
                                   FeedName(feed), NameOf(n), h.seq, Short(h.head), writer.name,
                                   best.seq, Short(best.head), why));
    return;
  }
  auto written = truth_.feeds().find(feed);
  if (written == truth_.feeds().end() || writer.hostile) return;  // nothing was promised to Mallory
  for (const Hash256& hash : written->second) {
    const Written* w = truth_.Find(hash);
    if (w->lost_by_restore || w->revoked) continue;
    if (!truth_.OnChain(best.head, best.seq, w->seq, hash)) {
      // Lost with the revoked node: its author was restored from an old
      // copy, and the only other copy was on the node nobody talks to now.
      bool elsewhere = false;
      for (auto& node : nodes_) {
        if (!node->hostile && !Revoked(node->index) && ChainOf(node->index, feed).count(hash)) elsewhere = true;
      }
      if (victim_revoked_ && writer.restores > 0 && !elsewhere) continue;
      problems.push_back(fmt::format("acknowledged write {}#{} ({}) is not on its author's chain",
                                     FeedName(feed), w->seq, Short(hash)));
      return;
    }
  }
}

// Record states: with no fork, every group of nodes that may hold the same
// feeds must have equal digests. Otherwise record by record, leaving out the
// records that a forked feed touched (their copies legitimately differ).
void World::LivenessOfRecords(std::vector<std::string>& problems) {
  bool exceptions = std::any_of(nodes_.begin(), nodes_.end(),
                                [](const auto& node) { return !node->forked.empty(); });
  if (!exceptions) {
    std::map<std::vector<bool>, std::vector<int>> groups;
    for (auto& node : nodes_) {
      if (node->hostile || Revoked(node->index)) continue;
      std::vector<bool> holds;
      for (const auto& [key, reached] : reach_) holds.push_back(reached.count(node->index) > 0);
      groups[holds].push_back(node->index);
    }
    for (const auto& [holds, members] : groups) {
      auto f0 = nodes_[members[0]]->store->FrontierDigest();
      auto r0 = nodes_[members[0]]->store->RecordStateDigest();
      for (int n : members) {
        auto f = nodes_[n]->store->FrontierDigest();
        auto r = nodes_[n]->store->RecordStateDigest();
        if (!f.ok() || !r.ok() || !f0.ok() || !r0.ok()) {
          problems.push_back(NameOf(n) + ": digest unreadable");
        } else if (*f != *f0 && !victim_revoked_) {
          // (A revoked feed's entries past the cut-off stay in the logs of
          // the nodes that took them before they learned of it.)
          problems.push_back(fmt::format("frontier digest of {} differs from {}'s", NameOf(n),
                                         NameOf(members[0])));
        } else if (*r != *r0) {
          problems.push_back(fmt::format("record-state digest of {} differs from {}'s (same entries)",
                                         NameOf(n), NameOf(members[0])));
        }
      }
    }
    return;
  }
  std::set<FeedId> forked;
  for (auto& node : nodes_) forked.insert(node->forked.begin(), node->forked.end());
  for (const auto& [id, info] : truth_.records()) {
    bool excluded = false, any_kept = false;
    std::set<int> compare;
    for (size_t n = 0; n < nodes_.size(); ++n) {
      if (!Hostile(int(n)) && !Revoked(int(n))) compare.insert(int(n));
    }
    for (const Hash256& h : info.writes) {
      const Written* w = truth_.Find(h);
      if (forked.count(w->feed)) excluded = true;
      const std::set<int>& reach = ReachOf(w->feed);
      std::erase_if(compare, [&](int n) { return !reach.count(n); });
    }
    for (const Hash256& h : info.writes) {
      any_kept = any_kept || (!truth_.Find(h)->lost_by_restore && !truth_.Find(h)->revoked);
    }
    if (excluded || !any_kept || compare.empty()) continue;
    // A record only Mallory wrote may exist nowhere (its entries refused, or
    // never sent); otherwise every node that may hold its writers' feeds
    // holds it.
    bool only_hostile = std::all_of(info.writes.begin(), info.writes.end(),
                                    [&](const Hash256& h) { return Hostile(truth_.Find(h)->author); });
    std::optional<storage::RecordView> first;
    int first_node = -1;
    int absent_at = -1;  // the first node in `compare` that lacks it
    for (int n : compare) {
      auto view = nodes_[n]->store->GetRecord(id);
      bool lacks = !view.ok() && view.status().code() == StatusCode::kNotFound;
      if (lacks && !first) {
        if (absent_at < 0) absent_at = n;
        continue;
      }
      if (!view.ok() || absent_at >= 0) {
        int missing = view.ok() ? absent_at : n;
        // Where it was written, and how much of each such feed the node
        // that lacks it holds.
        std::string written;
        for (const Hash256& h : info.writes) {
          const Written* w = truth_.Find(h);
          std::string heads;
          for (int k : compare) heads += fmt::format(" {} {}", NameOf(k), HeadOf(k, w->feed).seq);
          written += fmt::format("{}{}#{} (held up to:{})", written.empty() ? "" : ", ", FeedName(w->feed), w->seq,
                                 heads);
        }
        // And the versions a node that has it holds.
        std::string held;
        for (int k : compare) {
          auto other = nodes_[k]->store->GetRecord(id);
          if (!other.ok()) continue;
          held += fmt::format(" {}:", NameOf(k));
          for (const auto& v : other->state.versions) {
            held += fmt::format(" {}#{}", FeedName({v.dot.author, other->state.scope}), v.dot.seq);
          }
          break;
        }
        problems.push_back(fmt::format("record {} is missing at {}; written as {}; versions at{}",
                                       storage::FormatRecordId(id), NameOf(missing), written, held));
        return;
      }
      if (!first) {
        first = std::move(view).value();
        first_node = n;
        continue;
      }
      bool same = view->state.versions.size() == first->state.versions.size() &&
                  view->state.clash_classes == first->state.clash_classes;
      for (size_t i = 0; same && i < first->state.versions.size(); ++i) {
        same = view->state.versions[i].dot == first->state.versions[i].dot &&
               view->state.versions[i].op == first->state.versions[i].op;
      }
      if (!same) {
        problems.push_back(fmt::format("record {} has {} versions at {} and {} at {}",
                                       storage::FormatRecordId(id), view->state.versions.size(),
                                       NameOf(n), first->state.versions.size(), NameOf(first_node)));
        return;
      }
    }
    if (!first && !only_hostile) {
      problems.push_back(fmt::format("record {} is held by no node, though an honest node wrote it",
                                     storage::FormatRecordId(id)));
      return;
    }
  }
}

// At the end: a full re-verification of every node's log and record state.
void World::FinalChecks() {
  for (auto& node : nodes_) {
    auto report = node->store->VerifyLog();
    if (!report.ok()) {
      return Fail(fmt::format("{}: VerifyLog: {}", node->name, report.status().ToString()));
    }
  }
  FinalBlobChecks();  // blobs.cpp
}

}  // namespace ncen::sim
