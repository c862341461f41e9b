#include "tests/sim/truth.h"

namespace ncen::sim {

void Truth::Add(const Written& w) {
  by_hash_[w.hash] = w;
  by_feed_[w.feed].push_back(w.hash);
  auto [it, fresh] = first_at_.try_emplace({w.feed, w.seq}, w.hash);
  if (!fresh && it->second != w.hash) branched_.insert(w.feed);
  auto [rec, created] = records_.try_emplace(w.record);
  if (created) {
    rec->second.type = w.type;
    rec->second.scope = w.feed.scope;
    rec->second.country = w.country;
    record_order_.push_back(w.record);
  }
  rec->second.writers.insert(w.author);
  rec->second.authors.insert(w.feed.author);
  rec->second.writes.push_back(w.hash);
}

const Written* Truth::Find(const Hash256& hash) const {
  auto it = by_hash_.find(hash);
  return it == by_hash_.end() ? nullptr : &it->second;
}

Written* Truth::Mutable(const Hash256& hash) {
  auto it = by_hash_.find(hash);
  return it == by_hash_.end() ? nullptr : &it->second;
}

std::optional<Hash256> Truth::AtSeq(const Hash256& head, uint64_t seq) const {
  const Written* w = Find(head);
  while (w && w->seq > seq) w = Find(w->prev);
  if (!w || w->seq != seq) return std::nullopt;
  return w->hash;
}

bool Truth::OnChain(const Hash256& head, uint64_t head_seq, uint64_t seq,
                    const Hash256& at) const {
  if (seq == 0) return true;
  if (seq > head_seq) return false;
  auto found = AtSeq(head, seq);
  return found && *found == at;
}

const RecordInfo* Truth::Record(const RecordId& id) const {
  auto it = records_.find(id);
  return it == records_.end() ? nullptr : &it->second;
}

bool Truth::HasDot(const FeedId& feed, uint64_t seq) const {
  return first_at_.count({feed, seq}) > 0;
}

}  // namespace ncen::sim
