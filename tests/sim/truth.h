// What the simulated authors really signed: every entry a node wrote with
// AppendLocal (acknowledged to its writer), by hash, by feed and by record.
// The safety checks compare every node's store against it: a node may only
// hold chains of entries that their authors signed. A feed has two branches
// only when its author was restored from an old copy and wrote again before
// it learned that it was stale. Internal to tests/sim; one thread.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <vector>

#include "storage/record_json.h"
#include "storage/store.h"

namespace ncen::sim {

using crypto::Hash256;
using storage::FeedId;
using storage::RecordId;

struct Written {
  FeedId feed;
  uint64_t seq = 0;
  Hash256 hash{};
  Hash256 prev{};
  RecordId record{};
  storage::RecordType type = storage::RecordType::kSeizure;
  std::string country;          // a seizure report's: the country its payload is about
  int author = 0;               // node index
  bool lost_by_restore = false; // its author was restored before anyone else held it
  bool revoked = false;         // past its author's revocation cut-off (membership.cpp)

  // What the truth records of an entry written by node `author`.
  static Written Of(const storage::Entry& e, int author) {
    Written w;
    w.feed = e.header.feed();
    w.seq = e.header.seq;
    w.hash = e.hash();
    w.prev = e.header.prev;
    w.record = e.header.record_id;
    w.type = e.header.record_type;
    if (w.type == storage::RecordType::kSeizureReport && e.has_payload) w.country = storage::ReportCountry(e.payload);
    w.author = author;
    return w;
  }
};

struct RecordInfo {
  storage::RecordType type = storage::RecordType::kSeizure;
  storage::Scope scope = storage::Scope::kNational;
  std::string country;           // a seizure report's, as its first entry says
  std::set<int> writers;         // node indexes (a hostile node's puppets count as it)
  std::set<crypto::PublicKey> authors;  // the keys that wrote it
  std::vector<Hash256> writes;   // in the order written
};

class Truth {
 public:
  void Add(const Written& w);
  const Written* Find(const Hash256& hash) const;
  // The entry at `seq` on the chain that ends at `head` (which must be known).
  std::optional<Hash256> AtSeq(const Hash256& head, uint64_t seq) const;
  // True when the chain ending at (head, head_seq) passes through `at` at `seq`
  // (seq 0 always; seq beyond head_seq never).
  bool OnChain(const Hash256& head, uint64_t head_seq, uint64_t seq, const Hash256& at) const;
  // Its author signed two different entries at one seq.
  bool Branched(const FeedId& feed) const { return branched_.count(feed) > 0; }

  const std::map<FeedId, std::vector<Hash256>>& feeds() const { return by_feed_; }
  const std::map<RecordId, RecordInfo>& records() const { return records_; }
  const std::vector<RecordId>& record_order() const { return record_order_; }
  const RecordInfo* Record(const RecordId& id) const;
  Written* Mutable(const Hash256& hash);
  // Whether the dot (author, seq) of a record in `scope` was ever signed.
  bool HasDot(const FeedId& feed, uint64_t seq) const;

 private:
  std::map<Hash256, Written> by_hash_;
  std::map<FeedId, std::vector<Hash256>> by_feed_;  // in the order written
  std::map<std::pair<FeedId, uint64_t>, Hash256> first_at_;
  std::set<FeedId> branched_;
  std::map<RecordId, RecordInfo> records_;
  std::vector<RecordId> record_order_;
};

}  // namespace ncen::sim
