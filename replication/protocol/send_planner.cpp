#include "replication/protocol/send_planner.h"

#include "storage/membership.h"

#include <algorithm>
#include <limits>
#include <queue>
#include <set>
#include <tuple>

#include "base/check.h"

namespace ncen::replication {

using storage::FeedId;

SendPlanner::SendPlanner(const storage::Store& store, size_t batch_bytes)
    : store_(store), batch_bytes_(std::max<size_t>(batch_bytes, 1)) {}

void SendPlanner::PeerHas(const FeedId& feed, uint64_t seq) {
  uint64_t& sent = sent_upto_[feed];
  sent = std::max(sent, seq);
}

uint64_t SendPlanner::sent_upto(const FeedId& feed) const {
  auto it = sent_upto_.find(feed);
  return it == sent_upto_.end() ? 0 : it->second;
}

void SendPlanner::Forget(const FeedId& feed) { DropLookahead(feed); }

void SendPlanner::DropLookahead(const FeedId& feed) {
  auto it = lookahead_.find(feed);
  if (it == lookahead_.end()) return;
  read_ahead_bytes_ -= it->second.blob.size();
  lookahead_.erase(it);
}

Result<const storage::RunEntry*> SendPlanner::NextOf(const FeedId& feed, uint64_t upto,
                                                     size_t read_bytes, bool force) {
  uint64_t sent = sent_upto(feed);
  auto it = lookahead_.find(feed);
  if (it != lookahead_.end()) {
    Lookahead& la = it->second;
    while (la.next < la.index.entries.size() && la.index.entries[la.next].seq <= sent) ++la.next;
    if (la.next < la.index.entries.size()) return &la.index.entries[la.next];
    DropLookahead(feed);
  }
  // Read-ahead is bounded in all (ReadFeedRun returns at least one entry,
  // which may be large): past the budget a feed waits for a later batch,
  // which only loosens the time order.
  if (sent >= upto || (!force && read_ahead_bytes_ >= 2 * batch_bytes_)) return nullptr;
  Lookahead& la = lookahead_[feed];  // new, empty
  auto run = store_.ReadFeedRun(feed, sent + 1, upto, read_bytes, la.blob, &la.index);
  read_ahead_bytes_ += la.blob.size();
  if (!run.ok() || run->entries == 0) {
    DropLookahead(feed);
    if (!run.ok()) return run.status();
    return nullptr;
  }
  return &la.index.entries[la.next];
}

Result<SendPlanner::Planned> SendPlanner::NextBatch(Frontier& ours, const MaySend& may_send,
                                                    Bytes& out, size_t limit_bytes) {
  out.clear();
  const size_t batch_limit = limit_bytes == 0 ? batch_bytes_ : std::min(limit_bytes, batch_bytes_);
  Planned planned;
  std::vector<std::pair<const FeedId*, uint64_t>> pending;  // feed, our seq
  for (const auto& [feed, head] : ours) {
    if (!may_send(feed) || head.seq <= sent_upto(feed)) {
      DropLookahead(feed);  // nothing more to send from it
      continue;
    }
    pending.emplace_back(&feed, head.seq);
  }
  if (pending.empty()) return planned;
  auto our_seq = [&](const FeedId& feed) -> uint64_t {
    auto it = ours.find(feed);
    return it == ours.end() ? 0 : it->second.seq;
  };
  // Read-ahead per feed: 64 KiB, less when many feeds are pending.
  size_t read_bytes = std::clamp<size_t>(batch_bytes_ / pending.size(), 1, limits::kReadAheadFeedBytesMax);

  // A heap of feeds by their next entry's key: (timestamp, rank, feed). A
  // feed that must go before another's entry is pushed with that entry's
  // timestamp and a negative rank, lower for each such push, so it comes
  // first; `token` marks the live item of each feed.
  struct Item {
    int backlog;  // 0: fresh (SetFreshSince), 1: older; fresh entries first
    int64_t timestamp_ms;
    int64_t rank;
    FeedId feed;
    uint64_t token;
    bool operator>(const Item& o) const {
      return std::tie(backlog, timestamp_ms, rank, feed) > std::tie(o.backlog, o.timestamp_ms, o.rank, o.feed);
    }
  };
  NCEN_ASSIGN_OR_RETURN(std::shared_ptr<const storage::Membership> membership, store_.GetMembership());
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> heap;
  std::map<FeedId, uint64_t> tokens;
  // Network entries (certificates, revocations) go before every record
  // entry, whatever the timestamps: a receiver refuses an entry whose
  // author's certificate it lacks, and takes no more of that feed in the
  // session (docs/membership.md §3 "Order").
  auto push = [&](const FeedId& feed, int64_t timestamp_ms, int64_t rank) {
    if (feed.scope == storage::Scope::kNetwork) timestamp_ms = std::numeric_limits<int64_t>::min();
    int backlog = timestamp_ms >= fresh_since_ms_ ? 0 : 1;
    if (feed.scope == storage::Scope::kNetwork) backlog = 0;
    heap.push({backlog, timestamp_ms, rank, feed, ++tokens[feed]});
  };
  // Feeds sent early for another's entry: up to which seq, and with what key.
  struct Boost {
    uint64_t upto;
    int64_t timestamp_ms;
    int64_t rank;
  };
  std::map<FeedId, Boost> boosts;
  // feed -> the feed its next entry waits for, and up to which seq; a wait
  // is over once that seq is planned (the waiting feed may not have been
  // popped again yet, so the entry stays here until then).
  std::map<FeedId, std::pair<FeedId, uint64_t>> waits_for;
  // Entries that go in this batch though it is full: when entries name one
  // another in a cycle (possible only around a node restored from an old
  // copy, which writes its lost seqs again), the receiver takes the cycle
  // only whole, from one batch. Feed -> up to which seq.
  std::map<FeedId, uint64_t> forced;
  // Feeds whose next entry did not fit while a cycle was being finished:
  // they go in the next batch, and so does every entry that waits for one of
  // them (else it would push that feed back, and itself, for ever).
  std::set<FeedId> next_batch;
  int64_t next_rank = 0;

  // A second pass when the first found nothing: stale read-ahead dropped
  // during the first may have been all that held the budget.
  for (int pass = 0; pass < 2 && heap.empty(); ++pass) {
    for (auto& [feed, seq] : pending) {
      // Network entries are read past the read-ahead budget too: they go
      // first (see push), and must not wait until other feeds drain.
      NCEN_ASSIGN_OR_RETURN(const storage::RunEntry* next,
                            NextOf(*feed, seq, read_bytes, feed->scope == storage::Scope::kNetwork));
      if (next) push(*feed, next->timestamp_ms, 0);
    }
  }
  std::map<FeedId, uint64_t> runs;
  while (!heap.empty()) {
    Item item = heap.top();
    heap.pop();
    if (item.token != tokens[item.feed]) continue;  // superseded
    const FeedId feed = item.feed;
    auto la_it = lookahead_.find(feed);
    NCEN_CHECK(la_it != lookahead_.end());  // a feed in the heap has its next entry read
    Lookahead& la = la_it->second;
    NCEN_CHECK(la.next < la.index.entries.size());
    const storage::RunEntry e = la.index.entries[la.next];

    // An entry waits for the entries of other feeds its context names that
    // the peer lacks and this node can send.
    bool waiting = false;
    for (uint32_t k = 0; k < e.deps_count && !waiting; ++k) {
      const storage::Dot& dep = la.index.deps[e.deps_at + k];
      FeedId other{dep.author, feed.scope};
      if (other == feed || sent_upto(other) >= dep.seq || !may_send(other)) continue;
      // Past a revocation's cut-off: never sent, and the receiver counts it
      // as held (docs/membership.md §5).
      if (membership && dep.seq > membership->CutoffOf(other)) continue;
      if (our_seq(other) < dep.seq) {
        // `ours` may predate the entry: the store holds what it names.
        storage::FeedId wanted[1] = {other};
        NCEN_ASSIGN_OR_RETURN(auto fresh, store_.FeedHeads(wanted));
        if (fresh[0].seq > our_seq(other)) ours[other] = {fresh[0].seq, fresh[0].head};
        if (our_seq(other) < dep.seq) continue;  // not held: the peer will refuse the entry
      }
      // Never wait in a circle (not possible for entries taken in causal
      // order, but the store may hold older ones).
      // Waits that are over are not followed: a chain through one is not a
      // circle (--blobs 1 --hostile 1 seed 6082, with new entries first:
      // a stale wait made a circle of a chain, an entry went before the
      // entry it names, and the peer refused its feed for the session).
      bool circle = false;
      size_t hops = 0;
      for (auto at = waits_for.find(other); at != waits_for.end(); at = waits_for.find(at->second.first)) {
        if (sent_upto(at->second.first) >= at->second.second) break;  // over
        if (at->second.first == feed || at->first == feed) {
          circle = true;
          break;
        }
        if (++hops > 4096) break;
      }
      if (circle) {
        uint64_t& upto = forced[other];
        upto = std::max(upto, dep.seq);
        continue;
      }
      if (next_batch.count(other)) {
        next_batch.insert(feed);
        waiting = true;
        break;
      }
      NCEN_ASSIGN_OR_RETURN(const storage::RunEntry* first, NextOf(other, our_seq(other), read_bytes, true));
      if (!first) continue;
      Boost boost{dep.seq, item.timestamp_ms, --next_rank};
      auto [at, fresh] = boosts.try_emplace(other, boost);
      if (!fresh) at->second = {std::max(at->second.upto, dep.seq), item.timestamp_ms, boost.rank};
      push(other, item.timestamp_ms, boost.rank);
      waits_for[feed] = {other, dep.seq};
      if (auto f = forced.find(feed); f != forced.end() && e.seq <= f->second) {
        uint64_t& upto = forced[other];  // what a forced entry waits for is forced too
        upto = std::max(upto, dep.seq);
      }
      push(feed, item.timestamp_ms, item.rank);
      waiting = true;
    }
    if (waiting) continue;
    if (next_batch.count(feed)) continue;
    waits_for.erase(feed);
    if (!out.empty() && out.size() + e.size > batch_limit) {
      auto f = forced.find(feed);
      bool needed = f != forced.end() && e.seq <= f->second && out.size() + e.size <= limits::kBatchBytesMax;
      if (!needed) {
        if (forced.empty()) break;
        next_batch.insert(feed);
        continue;  // room only for the rest of a cycle now; this feed waits for the next batch
      }
    }
    out.insert(out.end(), la.blob.begin() + static_cast<ptrdiff_t>(e.offset),
               la.blob.begin() + static_cast<ptrdiff_t>(e.offset + e.size));
    planned.entries++;
    planned.bytes += e.size;
    sent_upto_[feed] = e.seq;
    runs[feed] = e.seq;
    if (auto f = forced.find(feed); f != forced.end() && e.seq >= f->second) forced.erase(f);
    auto boost = boosts.find(feed);
    if (boost != boosts.end() && e.seq >= boost->second.upto) {
      boosts.erase(boost);
      boost = boosts.end();
    }
    NCEN_ASSIGN_OR_RETURN(const storage::RunEntry* next,
                          NextOf(feed, our_seq(feed), read_bytes,
                                 boost != boosts.end() || feed.scope == storage::Scope::kNetwork));
    if (!next) continue;
    if (boost != boosts.end()) {
      push(feed, boost->second.timestamp_ms, boost->second.rank);
    } else {
      push(feed, next->timestamp_ms, 0);
    }
  }
  planned.runs.assign(runs.begin(), runs.end());
  return planned;
}

}  // namespace ncen::replication
