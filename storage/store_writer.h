// Store::Writer, internal to storage/: one write transaction with its caches
// of feed heads, record states and counters, shared by local appends
// (store.cpp) and remote batches (store_apply.cpp). Not for use outside
// storage/.
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "storage/facts.h"
#include "storage/record_json.h"
#include "storage/store_internal.h"

namespace ncen::storage {

// A meta counter's value: u64 big-endian.
inline Bytes MetaU64(uint64_t v) {
  Bytes b;
  AppendU64BE(b, v);
  return b;
}

// Writer: one write transaction with its caches of feed heads, record states
// and counters. Record states are decoded once per transaction and encoded
// once at Finish, so applying a batch is linear in the batch however many of
// its entries touch one record.

class Store::Writer {
 public:
  Writer(const Dbs& dbs, lmdb::Txn txn) : dbs_(dbs), txn_(std::move(txn)) {}

  lmdb::Txn& txn() { return txn_; }

  struct Feed {
    format::FeedValue record;
    bool dirty = false;
  };

  // The feed's cached head, or nullptr when this node holds none of it.
  Result<Feed*> FindFeed(const FeedId& id) {
    auto it = feeds_.find(id);
    if (it != feeds_.end()) return &it->second;
    NCEN_ASSIGN_OR_RETURN(auto v, txn_.Get(dbs_.feeds, format::FeedKey(id)));
    if (!v) return static_cast<Feed*>(nullptr);
    auto rec = format::ParseFeedValue(*v);
    if (!rec) return Corruption("feeds record does not decode");
    return &feeds_.emplace(id, Feed{*rec, false}).first->second;
  }

  // The feed's cached head; creates the feed (seq 0) when it is new.
  Result<Feed*> GetFeed(const FeedId& id) {
    NCEN_ASSIGN_OR_RETURN(Feed * found, FindFeed(id));
    if (found) return found;
    Feed feed;
    NCEN_ASSIGN_OR_RETURN(uint64_t next, MetaCounter("next_feed_index"));
    feed.record.index = static_cast<uint32_t>(next);
    counters_["next_feed_index"] = next + 1;
    NCEN_RETURN_IF_ERROR(txn_.Put(dbs_.feed_index, format::U32Key(feed.record.index), format::FeedKey(id)));
    feed.dirty = true;
    return &feeds_.emplace(id, feed).first->second;
  }

  Result<uint64_t> HeadSeq(const FeedId& id) {
    NCEN_ASSIGN_OR_RETURN(Feed * feed, FindFeed(id));
    return feed ? feed->record.seq : 0;
  }

  // Whether the feed has a fork report (then nothing more of it is taken).
  Result<bool> FeedForked(const FeedId& id) {
    auto [it, fresh] = forked_.try_emplace(id, false);
    if (fresh) {
      Bytes prefix = format::FeedKey(id);
      NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn_, dbs_.forks));
      c.Seek(prefix);
      NCEN_RETURN_IF_ERROR(c.status());
      it->second = c.Valid() && c.key().size() > prefix.size() &&
                   std::equal(prefix.begin(), prefix.end(), c.key().begin());
    }
    return it->second;
  }
  void MarkForked(const FeedId& id) { forked_[id] = true; }

  // The log value stored at (feed, seq), or nullopt; kCorruption when it
  // does not parse. Views are valid until the next write to the log.
  Result<std::optional<format::LogValue>> StoredLogValue(uint32_t feed_index, uint64_t seq) {
    NCEN_ASSIGN_OR_RETURN(auto v, txn_.Get(dbs_.log, format::LogKey(feed_index, seq)));
    if (!v) return std::optional<format::LogValue>();
    auto value = format::ParseLogValue(*v);
    if (!value) return Corruption("log value of seq " + std::to_string(seq) + " does not decode");
    return value;
  }

  Status PutLog(uint32_t feed_index, uint64_t seq, ByteView header_bytes, const Signature& signature,
                const ByteView* payload) {
    return PutOrdered(dbs_.log, format::LogKey(feed_index, seq),
                      format::EncodeLogValue(header_bytes, signature, payload));
  }
  // Replaces a stored entry's log value with the same entry carrying its payload.
  Status FillPayload(uint32_t feed_index, const Entry& e) {
    ByteView payload(e.payload);
    return txn_.Put(dbs_.log, format::LogKey(feed_index, e.header.seq),
                    format::EncodeLogValue(e.header_bytes, e.signature, &payload));
  }

  struct Record {
    RecordState state;  // exists() false: to be removed (or never stored)
    bool was_live = false;     // before this transaction (or its last Flush)
    RecordType was_type = RecordType::kSeizure;  // ... and its type then (a quarantine may change it)
    bool was_flagged = false;  // in `conflicts` before this transaction
    bool dirty = false;
  };

  // The record's state as this transaction sees it (empty when new).
  Result<Record*> GetRecord(const RecordId& id) {
    auto it = records_.find(id);
    if (it != records_.end()) return &it->second;
    Record rec;
    // Records are never removed, so an id after the last one stored is new:
    // no lookup (the usual case in a sync, ids being time-ordered).
    NCEN_ASSIGN_OR_RETURN(const Bytes* last, LastKey(dbs_.records));
    if (!std::lexicographical_compare(last->begin(), last->end(), id.begin(), id.end())) {
      NCEN_ASSIGN_OR_RETURN(auto stored, txn_.Get(dbs_.records, id));
      if (stored) {
        NCEN_ASSIGN_OR_RETURN(rec.state, DecodeRecordState(*stored));
        rec.was_live = rec.state.live();
        rec.was_type = rec.state.type;
        rec.was_flagged = rec.state.needs_decision();
      }
    }
    return &records_.emplace(id, std::move(rec)).first->second;
  }

  // Applies an entry just appended to its feed: to the `changes` feed and to
  // its record.
  Result<ApplyResult> Apply(Record& record, const EntryHeader& h, uint32_t feed_index) {
    NCEN_RETURN_IF_ERROR(AppendChange(feed_index, h.seq, h.record_id, RefersToBlobs(h.record_type)));
    record.dirty = true;
    return ApplyVersion(record.state, h.record_type, h.scope,
                        Version{h.dot(), feed_index, h.timestamp_ms, h.op, h.context});
  }

  // Records of these types name blobs: until their changes are indexed, the
  // blob index may lack what a node should fetch (Store::BlobIndexCurrent).
  static bool RefersToBlobs(RecordType type) { return type == RecordType::kPhoto || type == RecordType::kMessage; }

  // `blobs`: the change is of a record that may name blobs (when unsure, true).
  Status AppendChange(uint32_t feed_index, uint64_t seq, const RecordId& id, bool blobs = true) {
    NCEN_ASSIGN_OR_RETURN(uint64_t next, MetaCounter("next_change"));
    counters_["next_change"] = next + 1;
    if (blobs) counters_["blob_change"] = next + 1;
    return txn_.Append(dbs_.changes, format::U64Key(next + 1), format::EncodeChangeValue({feed_index, seq, id}));
  }

  // Brings the index up to date with changes after the "indexed_change"
  // counter, for at most `max_records` distinct records. Returns the number
  // of changes still waiting after this call.
  Result<uint64_t> CatchUpIndex(size_t max_records) {
    NCEN_ASSIGN_OR_RETURN(uint64_t done, MetaCounter("indexed_change"));
    NCEN_ASSIGN_OR_RETURN(uint64_t last, MetaCounter("next_change"));
    if (done >= last) return uint64_t{0};
    std::set<RecordId> ids;
    uint64_t upto = done;
    {
      NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn_, dbs_.changes));
      for (c.Seek(format::U64Key(done + 1)); c.Valid(); c.Next()) {
        auto change = format::ParseChangeValue(c.value());
        if (c.key().size() != format::kU64Bytes || !change) return Corruption("changes record does not decode");
        const RecordId& id = change->record;
        if (ids.size() >= max_records && !ids.count(id)) break;
        ids.insert(id);
        upto = GetU64BE(c.key().data());
      }
      NCEN_RETURN_IF_ERROR(c.status());
    }
    for (const RecordId& id : ids) {
      NCEN_ASSIGN_OR_RETURN(Record * record, GetRecord(id));
      // A record that is missing had only revoked entries: it has no terms.
      NCEN_RETURN_IF_ERROR(UpdateTerms(id, record->state));
    }
    counters_["indexed_change"] = upto;
    return last - upto;
  }

  // Writes what the caches hold and commits.
  Status Finish() {
    NCEN_RETURN_IF_ERROR(Flush());
    return txn_.Commit();
  }

  // Writes the cached feed heads, record states and counters into the
  // transaction without committing, and forgets the record states, so that
  // one transaction can take many batches (a bundle, docs/bundles.md) with
  // memory bounded by one batch. Pointers from GetRecord are invalid after.
  Status Flush() {
    for (auto& [id, feed] : feeds_) {
      if (feed.dirty) NCEN_RETURN_IF_ERROR(txn_.Put(dbs_.feeds, format::FeedKey(id), format::EncodeFeedValue(feed.record)));
      feed.dirty = false;
    }
    int64_t live_delta[kRecordTypeCount] = {};
    for (auto& [id, record] : records_) {  // id order: new ids are appended
      if (!record.dirty) continue;
      const RecordState& state = record.state;
      ByteView key(id);
      if (!state.exists()) {
        // Every entry it had was revoked (RebuildRevokedRecords): as if
        // this node had never received them.
        NCEN_RETURN_IF_ERROR(txn_.Del(dbs_.records, key));
        if (record.was_flagged) NCEN_RETURN_IF_ERROR(txn_.Del(dbs_.conflicts, key));
        NCEN_RETURN_IF_ERROR(UpdateTerms(id, state));
        if (record.was_live) --live_delta[RecordTypeIndex(record.was_type)];
        continue;
      }
      NCEN_RETURN_IF_ERROR(PutOrdered(dbs_.records, key, EncodeRecordState(state)));
      if (state.needs_decision()) {
        // The version count, capped; 0 for a quarantined record.
        uint8_t n = static_cast<uint8_t>(std::min<size_t>(state.versions.size(), 255));
        NCEN_RETURN_IF_ERROR(txn_.Put(dbs_.conflicts, key, ByteView(&n, 1)));
      } else if (record.was_flagged) {
        NCEN_RETURN_IF_ERROR(txn_.Del(dbs_.conflicts, key));
      }
      // A record keeps its type unless quarantined, and then it is not live.
      if (record.was_live && !state.live()) --live_delta[RecordTypeIndex(record.was_type)];
      if (!record.was_live && state.live()) ++live_delta[RecordTypeIndex(state.type)];
    }
    for (int t = 0; t < kRecordTypeCount; ++t) {
      if (live_delta[t] == 0) continue;
      std::string key = std::string("live/") + RecordTypeName(kRecordTypes[t]);
      NCEN_ASSIGN_OR_RETURN(uint64_t n, MetaCounter(key));
      counters_[key] = static_cast<uint64_t>(static_cast<int64_t>(n) + live_delta[t]);
    }
    for (auto& [key, value] : counters_) {
      NCEN_RETURN_IF_ERROR(txn_.Put(dbs_.meta, AsBytes(key), MetaU64(value)));
    }
    records_.clear();
    return Status::Ok();
  }

  void SetCounter(const std::string& key, uint64_t value) { counters_[key] = value; }

  Result<uint64_t> MetaCounter(const std::string& key) {
    auto it = counters_.find(key);
    if (it != counters_.end()) return it->second;
    NCEN_ASSIGN_OR_RETURN(auto v, txn_.Get(dbs_.meta, AsBytes(key)));
    if (!v) return uint64_t{0};
    if (v->size() != 8) return Corruption("meta counter " + key + " does not decode");
    return GetU64BE(v->data());
  }

  // The payload of a version from the log. The view is valid until the next
  // write to the log in this transaction.
  Result<std::optional<ByteView>> VersionPayload(const Version& v) {
    NCEN_ASSIGN_OR_RETURN(auto value, StoredLogValue(v.feed_index, v.dot.seq));
    if (!value || !value->has_payload) return std::optional<ByteView>();
    return std::optional<ByteView>(value->payload);
  }

 private:
  // Puts with MDB_APPEND when the key sorts after every key of the database:
  // LMDB then fills pages instead of splitting them in half, which matters
  // because log keys and (time-ordered) record ids mostly grow. Half-full
  // pages would be written, and fsynced, twice as often.
  Status PutOrdered(MDB_dbi db, ByteView key, ByteView value) {
    NCEN_ASSIGN_OR_RETURN(const Bytes* last, LastKey(db));
    bool append = std::lexicographical_compare(last->begin(), last->end(), key.begin(), key.end());
    NCEN_RETURN_IF_ERROR(append ? txn_.Append(db, key, value) : txn_.Put(db, key, value));
    if (append) last_keys_[db].assign(key.begin(), key.end());
    return Status::Ok();
  }

  // The greatest key of `db` when first asked (empty when it has none), then
  // raised by PutOrdered. For a database written through PutOrdered alone it
  // is never below the greatest key (a delete can leave it above, which is
  // harmless: PutOrdered then puts instead of appending).
  Result<const Bytes*> LastKey(MDB_dbi db) {
    auto [last, fresh] = last_keys_.try_emplace(db);
    if (fresh) {
      NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn_, db));
      c.Last();
      NCEN_RETURN_IF_ERROR(c.status());
      if (c.Valid()) last->second.assign(c.key().begin(), c.key().end());
    }
    return &last->second;
  }


  // Keeps the search index equal to the union of the live versions' terms.
  Status UpdateTerms(const RecordId& id, const RecordState& state) {
    std::vector<std::string> terms;
    // The fact of the winning version (one per record: statistics count a
    // record once, whatever its siblings), keyed by its date; read from the
    // payload the terms read.
    std::optional<EncodedFact> fact;
    std::string fact_term;
    const Version* winner = state.live() && !state.quarantined() ? &state.Winner() : nullptr;
    for (const Version& v : state.versions) {
      if (!v.live()) continue;
      NCEN_ASSIGN_OR_RETURN(auto payload, VersionPayload(v));
      if (!payload) continue;
      for (auto& t : RecordTerms(state.type, *payload)) terms.push_back(std::move(t));
      if (&v == winner) fact = MakeFact(state.type, *payload);
    }
    if (fact) fact_term = FactTerm(state.type, fact->date);
    if (!fact_term.empty()) terms.push_back(fact_term);
    std::sort(terms.begin(), terms.end());
    terms.erase(std::unique(terms.begin(), terms.end()), terms.end());

    std::vector<std::string> old_terms;
    NCEN_ASSIGN_OR_RETURN(auto stored, txn_.Get(dbs_.record_terms, id));
    if (stored) {
      size_t pos = 0;
      while (pos + 2 <= stored->size()) {
        size_t len = size_t{(*stored)[pos]} << 8 | (*stored)[pos + 1];
        if (pos + 2 + len > stored->size()) return Corruption("record_terms value does not decode");
        old_terms.emplace_back(reinterpret_cast<const char*>(stored->data() + pos + 2), len);
        pos += 2 + len;
      }
    }
    if (!fact_term.empty()) {
      // The value changes with the record even when the key does not; a
      // new key is put without looking (the usual case: a new record).
      Bytes key = format::IndexKey(fact_term, id);
      bool had = std::binary_search(old_terms.begin(), old_terms.end(), fact_term);
      std::optional<ByteView> held;
      if (had) {
        NCEN_ASSIGN_OR_RETURN(held, txn_.Get(dbs_.index, key));
      }
      if (!held || !std::equal(held->begin(), held->end(), fact->bytes.begin(), fact->bytes.end())) {
        NCEN_RETURN_IF_ERROR(txn_.Put(dbs_.index, key, fact->bytes));
      }
    }
    if (old_terms == terms) return Status::Ok();
    for (const auto& t : old_terms) {
      if (!std::binary_search(terms.begin(), terms.end(), t)) {
        NCEN_RETURN_IF_ERROR(txn_.Del(dbs_.index, format::IndexKey(t, id)));
      }
    }
    Bytes encoded;
    for (const auto& t : terms) {
      if (!std::binary_search(old_terms.begin(), old_terms.end(), t) && t != fact_term) {
        NCEN_RETURN_IF_ERROR(txn_.Put(dbs_.index, format::IndexKey(t, id), {}));
      }
      encoded.push_back(static_cast<uint8_t>(t.size() >> 8));
      encoded.push_back(static_cast<uint8_t>(t.size()));
      Append(encoded, AsBytes(t));
    }
    if (terms.empty()) return txn_.Del(dbs_.record_terms, id);
    return PutOrdered(dbs_.record_terms, id, encoded);
  }

  const Dbs& dbs_;
  lmdb::Txn txn_;
  std::map<FeedId, Feed> feeds_;
  std::map<FeedId, bool> forked_;
  std::map<RecordId, Record> records_;
  std::map<MDB_dbi, Bytes> last_keys_;  // for PutOrdered
  std::map<std::string, uint64_t> counters_;
};


}  // namespace ncen::storage
