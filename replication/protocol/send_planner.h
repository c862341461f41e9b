// SendPlanner: what a peer lacks, and in what order it is sent
// (docs/protocol.md §3). Used by the replication session; bundles and blob
// priorities are meant to reuse it.
//
// Order: entries written since the session began first (SetFreshSince),
// then entries of every feed the peer lacks merged by timestamp (a cut
// sync leaves the receiver with everyone's records up to some time, and
// time-ordered record ids make the receiver's writes appends), except that
// an entry always goes after the entries of other feeds that its context
// names: a receiver takes an entry only when it holds what the entry's
// author had seen (docs/log-format.md §6), and clocks are wrong.
//
// Memory: entries are read ahead from the store per feed, at most twice
// `batch_bytes` in all plus one entry per feed read for a dependency.
//
// Not thread-safe: one session's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "storage/store.h"

namespace ncen::replication {

class SendPlanner {
 public:
  // A feed's head as one side knows it.
  struct Head {
    uint64_t seq = 0;
    crypto::Hash256 head{};
  };
  using Frontier = std::map<storage::FeedId, Head>;
  using MaySend = std::function<bool(const storage::FeedId&)>;

  // What NextBatch put in a batch.
  struct Planned {
    size_t entries = 0;
    size_t bytes = 0;
    std::vector<std::pair<storage::FeedId, uint64_t>> runs;  // feed, last seq planned
  };

  SendPlanner(const storage::Store& store, size_t batch_bytes);

  // The peer holds `feed` up to `seq`, or was sent it: nothing at or below
  // is planned again.
  void PeerHas(const storage::FeedId& feed, uint64_t seq);
  uint64_t sent_upto(const storage::FeedId& feed) const;
  // Stops planning `feed` (refused by the peer, forked) and drops its read-ahead.
  void Forget(const storage::FeedId& feed);

  // The next batch: the transfer forms of entries the peer lacks, of feeds
  // in `ours` for which `may_send` holds, appended to `out` (cleared first),
  // within batch_bytes (at least one entry). Planned::entries is 0 when
  // there is nothing to send. When an entry names an entry beyond what
  // `ours` says of another feed, that feed's head is read from the store
  // (`ours` may be older than the entry) and raised in `ours`. Errors are
  // the store's.
  // `limit_bytes` (0: batch_bytes) caps this batch below batch_bytes: the
  // session sizes batches to the link (docs/protocol.md §3, "Batches").
  Result<Planned> NextBatch(Frontier& ours, const MaySend& may_send, Bytes& out, size_t limit_bytes = 0);

  // Entries stamped at or after `ms` (written since the session began) go
  // before every older entry the peer lacks, in time order among
  // themselves: a record written during a long transfer is sent next, not
  // after the backlog (within the bounds of its own feed's chain and what
  // its context names). INT64_MAX (the default): plain time order.
  void SetFreshSince(int64_t ms) { fresh_since_ms_ = ms; }

  size_t read_ahead_bytes() const { return read_ahead_bytes_; }

 private:
  struct Lookahead {
    Bytes blob;
    storage::FeedRunIndex index;
    size_t next = 0;  // first entry of `index` not yet taken
  };
  // The next entry of `feed` after `sent` up to `upto`, read from the store
  // when needed; nullptr when there is none or the read-ahead budget is
  // spent (unless `force`: a dependency is always read).
  Result<const storage::RunEntry*> NextOf(const storage::FeedId& feed, uint64_t upto, size_t read_bytes,
                                          bool force);
  void DropLookahead(const storage::FeedId& feed);

  const storage::Store& store_;
  size_t batch_bytes_;
  int64_t fresh_since_ms_ = INT64_MAX;
  std::map<storage::FeedId, uint64_t> sent_upto_;
  std::map<storage::FeedId, Lookahead> lookahead_;
  size_t read_ahead_bytes_ = 0;
};

}  // namespace ncen::replication
