// Store: opening, local appends and the application of remote batches.
// Reads live in store_read.cpp.
#include "storage/store.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "storage/chain_signer.h"
#include "storage/record_json.h"
#include "storage/store_internal.h"

namespace ncen::storage {

namespace {

constexpr uint32_t kStoreFormatVersion = 1;

Bytes MetaU64(uint64_t v) {
  Bytes b;
  AppendU64BE(b, v);
  return b;
}

}  // namespace

Bytes EncodeLogValue(ByteView header_bytes, const Signature& signature, const ByteView* payload) {
  Bytes v;
  v.reserve(5 + header_bytes.size() + 64 + (payload ? payload->size() : 0));
  v.push_back(payload ? 1 : 0);
  AppendU32BE(v, static_cast<uint32_t>(header_bytes.size()));
  Append(v, header_bytes);
  Append(v, signature);
  if (payload) Append(v, *payload);
  return v;
}

std::optional<ByteView> LogValueHeader(ByteView v) {
  if (v.size() < 5) return std::nullopt;
  uint32_t len = GetU32BE(v.data() + 1);
  if (v.size() < 5 + size_t{len} + 64) return std::nullopt;
  return v.subspan(5, len);
}

Result<Entry> DecodeLogValue(ByteView v) {
  auto header = LogValueHeader(v);
  if (!header || v[0] > 1) return Corruption("log value does not decode");
  Entry e;
  e.has_payload = v[0] & 1;
  e.header_bytes.assign(header->begin(), header->end());
  size_t sig_at = 5 + header->size();
  std::memcpy(e.signature.data(), v.data() + sig_at, 64);
  e.payload.assign(v.begin() + sig_at + 64, v.end());
  if (!e.has_payload && !e.payload.empty()) return Corruption("log value has a withheld payload");
  NCEN_ASSIGN_OR_RETURN(e.header, DecodeHeader(e.header_bytes));
  return e;
}

// ---------------------------------------------------------------------------
// Opening

Store::~Store() = default;

Status Store::OpenDatabases(bool create) {
  dbs_ = std::make_unique<Dbs>();
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, create));
  unsigned flags = create ? MDB_CREATE : 0;
  struct Named {
    const char* name;
    MDB_dbi* dbi;
  } named[] = {{"meta", &dbs_->meta},
               {"feeds", &dbs_->feeds},
               {"feed_index", &dbs_->feed_index},
               {"log", &dbs_->log},
               {"records", &dbs_->records},
               {"conflicts", &dbs_->conflicts},
               {"index", &dbs_->index},
               {"record_terms", &dbs_->record_terms},
               {"changes", &dbs_->changes},
               {"forks", &dbs_->forks},
               {"peers", &dbs_->peers}};
  for (auto& n : named) {
    int rc = mdb_dbi_open(txn.get(), n.name, flags, n.dbi);
    if (rc == MDB_NOTFOUND) return NotFound(std::string("store has no '") + n.name + "' database");
    NCEN_RETURN_IF_ERROR(lmdb::FromRc(rc, std::string("open database ") + n.name));
  }
  return txn.Commit();
}

static std::string StoreFile(const std::string& dir) { return dir + "/data.mdb"; }

Result<std::unique_ptr<Store>> Store::Create(const std::string& dir, const NodeMeta& meta,
                                             StoreOptions options) {
  if (std::filesystem::exists(StoreFile(dir))) return ConflictError("a store already exists in " + dir);
  std::unique_ptr<Store> store(new Store);
  NCEN_ASSIGN_OR_RETURN(store->env_, lmdb::Env::Open(dir, options.map_size_bytes, options.durable));
  NCEN_RETURN_IF_ERROR(store->OpenDatabases(true));
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*store->env_, true));
  auto put = [&](const char* key, ByteView value) {
    return txn.Put(store->dbs_->meta, AsBytes(key), value);
  };
  NCEN_RETURN_IF_ERROR(put("format_version", MetaU64(kStoreFormatVersion)));
  NCEN_RETURN_IF_ERROR(put("node_id", meta.node_id));
  NCEN_RETURN_IF_ERROR(put("name", AsBytes(meta.name)));
  NCEN_RETURN_IF_ERROR(put("role", AsBytes(meta.role)));
  NCEN_RETURN_IF_ERROR(put("created_ms", MetaU64(static_cast<uint64_t>(meta.created_ms))));
  NCEN_RETURN_IF_ERROR(txn.Commit());
  store->meta_ = meta;
  return store;
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& dir, StoreOptions options) {
  if (!std::filesystem::exists(StoreFile(dir))) return NotFound("no store in " + dir);
  std::unique_ptr<Store> store(new Store);
  NCEN_ASSIGN_OR_RETURN(store->env_, lmdb::Env::Open(dir, options.map_size_bytes, options.durable));
  Status s = store->OpenDatabases(false);
  if (s.code() == StatusCode::kNotFound) return Corruption("store in " + dir + " is incomplete: " + s.message());
  NCEN_RETURN_IF_ERROR(s);
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*store->env_, false));
  auto get = [&](const char* key) -> Result<Bytes> {
    NCEN_ASSIGN_OR_RETURN(auto v, txn.Get(store->dbs_->meta, AsBytes(key)));
    if (!v) return Corruption(std::string("store meta has no ") + key);
    return Bytes(v->begin(), v->end());
  };
  NCEN_ASSIGN_OR_RETURN(Bytes version, get("format_version"));
  if (version.size() != 8 || GetU64BE(version.data()) != kStoreFormatVersion) {
    return Corruption("store format version is not supported");
  }
  NCEN_ASSIGN_OR_RETURN(Bytes id, get("node_id"));
  if (id.size() != 32) return Corruption("store meta node_id is not 32 bytes");
  std::memcpy(store->meta_.node_id.data(), id.data(), 32);
  NCEN_ASSIGN_OR_RETURN(Bytes name, get("name"));
  NCEN_ASSIGN_OR_RETURN(Bytes role, get("role"));
  NCEN_ASSIGN_OR_RETURN(Bytes created, get("created_ms"));
  store->meta_.name.assign(name.begin(), name.end());
  store->meta_.role.assign(role.begin(), role.end());
  if (created.size() == 8) store->meta_.created_ms = static_cast<int64_t>(GetU64BE(created.data()));
  return store;
}

// ---------------------------------------------------------------------------
// Writer: one write transaction with its caches of feed heads and counters.

class Store::Writer {
 public:
  Writer(const Dbs& dbs, lmdb::Txn txn) : dbs_(dbs), txn_(std::move(txn)) {}

  lmdb::Txn& txn() { return txn_; }

  struct Feed {
    FeedRecord record;
    bool dirty = false;
  };

  // The feed's cached head; creates the feed (seq 0) when it is new.
  Result<Feed*> GetFeed(const FeedId& id) {
    auto it = feeds_.find(id);
    if (it != feeds_.end()) return &it->second;
    Feed feed;
    NCEN_ASSIGN_OR_RETURN(auto v, txn_.Get(dbs_.feeds, keys::Feed(id)));
    if (v) {
      auto rec = FeedRecord::Decode(*v);
      if (!rec) return Corruption("feeds record does not decode");
      feed.record = *rec;
    } else {
      NCEN_ASSIGN_OR_RETURN(uint64_t next, MetaCounter("next_feed_index"));
      feed.record.index = static_cast<uint32_t>(next);
      counters_["next_feed_index"] = next + 1;
      NCEN_RETURN_IF_ERROR(txn_.Put(dbs_.feed_index, keys::U32(feed.record.index), keys::Feed(id)));
      feed.dirty = true;
    }
    return &feeds_.emplace(id, feed).first->second;
  }

  // The entry hash (header ‖ signature) stored at (feed, seq), or nullopt.
  Result<std::optional<Hash256>> StoredHash(uint32_t feed_index, uint64_t seq) {
    NCEN_ASSIGN_OR_RETURN(auto v, txn_.Get(dbs_.log, keys::Log(feed_index, seq)));
    if (!v) return std::optional<Hash256>();
    auto header = LogValueHeader(*v);
    if (!header) return Corruption("log value does not decode");
    Signature sig;
    std::memcpy(sig.data(), v->data() + 5 + header->size(), 64);
    return std::optional<Hash256>(EntryHash(*header, sig));
  }

  Status PutLog(uint32_t feed_index, uint64_t seq, ByteView header_bytes, const Signature& signature,
                const ByteView* payload) {
    return PutOrdered(dbs_.log, keys::Log(feed_index, seq), EncodeLogValue(header_bytes, signature, payload));
  }

  // The stored state of a record, or nullopt when the node has none.
  Result<std::optional<RecordState>> LoadRecord(const RecordId& id) {
    // Records are never removed, so an id after the last one held is new:
    // no lookup (the usual case in a sync, ids being time-ordered).
    NCEN_ASSIGN_OR_RETURN(const Bytes* last, LastKey(dbs_.records));
    if (std::lexicographical_compare(last->begin(), last->end(), id.begin(), id.end())) {
      return std::optional<RecordState>();
    }
    NCEN_ASSIGN_OR_RETURN(auto stored, txn_.Get(dbs_.records, id));
    if (!stored) return std::optional<RecordState>();
    NCEN_ASSIGN_OR_RETURN(RecordState state, DecodeRecordState(*stored));
    return std::optional<RecordState>(std::move(state));
  }

  // Applies one entry (already appended to its feed) to the record state
  // `stored` (as LoadRecord returned it), the indexes, the conflicts table and
  // the changes feed.
  Status ApplyToRecord(const EntryHeader& h, std::optional<RecordState> stored, uint32_t feed_index,
                       ByteView payload, bool has_payload, EntryError* error) {
    bool existed = stored.has_value();
    RecordState state = existed ? std::move(*stored) : RecordState{h.record_type, h.scope, {}};
    if (state.type != h.record_type || state.scope != h.scope) {
      *error = EntryError::kTypeMismatch;
      return InvalidArgument("record " + FormatRecordId(h.record_id) + " is a " +
                             RecordTypeName(state.type) + " in scope " + ScopeName(state.scope) +
                             ", entry says " + RecordTypeName(h.record_type) + " in " +
                             ScopeName(h.scope));
    }
    NCEN_RETURN_IF_ERROR(AppendChange(feed_index, h.seq, h.record_id));
    bool was_live = existed && state.live();
    bool was_conflict = state.conflict();
    Version v{h.dot(), feed_index, h.timestamp_ms, h.op, h.context};
    if (ApplyVersion(state, std::move(v)) == ApplyResult::kObsolete) return Status::Ok();
    if (has_payload) pending_payloads_[h.dot()] = payload;
    auto key = ByteView(h.record_id);
    NCEN_RETURN_IF_ERROR(PutOrdered(dbs_.records, key, EncodeRecordState(state)));
    if (state.conflict()) {
      uint8_t n = static_cast<uint8_t>(std::min<size_t>(state.versions.size(), 255));
      NCEN_RETURN_IF_ERROR(txn_.Put(dbs_.conflicts, key, ByteView(&n, 1)));
    } else if (was_conflict) {
      NCEN_RETURN_IF_ERROR(txn_.Del(dbs_.conflicts, key));
    }
    if (was_live != state.live()) {
      live_delta_[static_cast<int>(state.type)] += state.live() ? 1 : -1;
    }
    if (defer_index_) return Status::Ok();  // CatchUpIndex will, from the changes feed
    return UpdateTerms(h.record_id, state);
  }

  // Entries from peers leave the search index to CatchUpIndex: random-key
  // index puts cost more than everything else in a sync (docs/performance.md).
  void set_defer_index(bool defer) { defer_index_ = defer; }

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
      for (c.Seek(keys::U64(done + 1)); c.Valid(); c.Next()) {
        if (c.key().size() != 8 || c.value().size() != 28) return Corruption("changes record does not decode");
        RecordId id;
        std::memcpy(id.data(), c.value().data() + 12, 16);
        if (ids.size() >= max_records && !ids.count(id)) break;
        ids.insert(id);
        upto = GetU64BE(c.key().data());
      }
      NCEN_RETURN_IF_ERROR(c.status());
    }
    for (const RecordId& id : ids) {
      NCEN_ASSIGN_OR_RETURN(auto state, LoadRecord(id));
      if (!state) return Corruption("changes feed names record " + FormatRecordId(id) + " which is missing");
      NCEN_RETURN_IF_ERROR(UpdateTerms(id, *state));
    }
    counters_["indexed_change"] = upto;
    return last - upto;
  }

  Status Finish() {
    for (auto& [id, feed] : feeds_) {
      if (feed.dirty) NCEN_RETURN_IF_ERROR(txn_.Put(dbs_.feeds, keys::Feed(id), feed.record.Encode()));
    }
    for (int t = 0; t < kRecordTypeCount; ++t) {
      if (live_delta_[t] == 0) continue;
      std::string key = std::string("live/") + RecordTypeName(RecordType(t));
      NCEN_ASSIGN_OR_RETURN(uint64_t n, MetaCounter(key));
      counters_[key] = static_cast<uint64_t>(static_cast<int64_t>(n) + live_delta_[t]);
    }
    for (auto& [key, value] : counters_) {
      NCEN_RETURN_IF_ERROR(txn_.Put(dbs_.meta, AsBytes(key), MetaU64(value)));
    }
    return txn_.Commit();
  }

  Result<uint64_t> MetaCounter(const std::string& key) {
    auto it = counters_.find(key);
    if (it != counters_.end()) return it->second;
    NCEN_ASSIGN_OR_RETURN(auto v, txn_.Get(dbs_.meta, AsBytes(key)));
    if (!v) return uint64_t{0};
    if (v->size() != 8) return Corruption("meta counter " + key + " does not decode");
    return GetU64BE(v->data());
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

  Status AppendChange(uint32_t feed_index, uint64_t seq, const RecordId& id) {
    NCEN_ASSIGN_OR_RETURN(uint64_t next, MetaCounter("next_change"));
    counters_["next_change"] = next + 1;
    Bytes value;
    AppendU32BE(value, feed_index);
    AppendU64BE(value, seq);
    Append(value, id);
    return txn_.Append(dbs_.changes, keys::U64(next + 1), value);
  }

  // The payload of a version: from this batch, or from the log. The view is
  // valid until the next write to the log in this transaction.
  Result<std::optional<ByteView>> PayloadOf(const Version& v) {
    auto it = pending_payloads_.find(v.dot);
    if (it != pending_payloads_.end()) return std::optional<ByteView>(it->second);
    NCEN_ASSIGN_OR_RETURN(auto value, txn_.Get(dbs_.log, keys::Log(v.feed_index, v.dot.seq)));
    if (!value) return std::optional<ByteView>();
    auto header = LogValueHeader(*value);
    if (!header || (*value)[0] != 1) return std::optional<ByteView>();
    return std::optional<ByteView>(value->subspan(5 + header->size() + 64));
  }

  // Keeps the search index equal to the union of the live versions' terms.
  Status UpdateTerms(const RecordId& id, const RecordState& state) {
    std::vector<std::string> terms;
    for (const Version& v : state.versions) {
      if (!v.live()) continue;
      NCEN_ASSIGN_OR_RETURN(auto payload, PayloadOf(v));
      if (!payload) continue;
      for (auto& t : RecordTerms(state.type, *payload)) terms.push_back(std::move(t));
    }
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
    if (old_terms == terms) return Status::Ok();
    for (const auto& t : old_terms) {
      if (!std::binary_search(terms.begin(), terms.end(), t)) {
        NCEN_RETURN_IF_ERROR(txn_.Del(dbs_.index, keys::Index(t, id)));
      }
    }
    Bytes encoded;
    for (const auto& t : terms) {
      if (!std::binary_search(old_terms.begin(), old_terms.end(), t)) {
        NCEN_RETURN_IF_ERROR(txn_.Put(dbs_.index, keys::Index(t, id), {}));
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
  bool defer_index_ = false;
  std::map<FeedId, Feed> feeds_;
  std::map<MDB_dbi, Bytes> last_keys_;  // for PutOrdered
  std::map<std::string, uint64_t> counters_;
  // Payloads of this batch's entries, which are not in the log yet. Views into
  // the caller's changes or entries, alive for the whole batch.
  std::map<Dot, ByteView> pending_payloads_;
  int64_t live_delta_[kRecordTypeCount] = {};
};

// ---------------------------------------------------------------------------
// Local appends

Result<std::vector<Dot>> Store::AppendLocal(const crypto::Identity& me,
                                            std::span<const LocalChange> changes) {
  NCEN_CHECK(me.public_key() == meta_.node_id);
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, true));
  Writer w(*dbs_, std::move(txn));
  // Indexed after the commit, like entries from peers: ~10 random-key index
  // puts per record would dirty as many pages in each durable commit.
  w.set_defer_index(true);
  NCEN_ASSIGN_OR_RETURN(auto stale, w.txn().Get(dbs_->meta, AsBytes("stale_identity")));
  if (stale) {
    return FailedPrecondition("this node's identity is stale (" + std::string(AsChars(*stale)) +
                              "); local writes are refused until an administrator acts");
  }
  for (const LocalChange& c : changes) {
    if (c.op == Op::kPurge) return InvalidArgument("op purge is reserved and not written in format version 1");
  }
  std::vector<ChainSigner::Slot> slots(changes.size());
  std::vector<uint32_t> feed_indexes(changes.size());
  std::map<Scope, size_t> last_slot;  // per feed of this author
  ChainSigner signer(me, slots);
  int64_t now = UnixMillisNow();
  for (size_t i = 0; i < changes.size(); ++i) {
    const LocalChange& c = changes[i];
    NCEN_ASSIGN_OR_RETURN(std::optional<RecordState> state, w.LoadRecord(c.id));
    if (state && state->type != c.type) {
      return InvalidArgument("record " + FormatRecordId(c.id) + " is a " +
                             RecordTypeName(state->type) + ", not a " + RecordTypeName(c.type));
    }
    if (state && state->scope != c.scope) {
      return InvalidArgument("record " + FormatRecordId(c.id) + " lives in scope " +
                             ScopeName(state->scope));
    }
    if (!state && c.op != Op::kPut) return NotFound("no record " + FormatRecordId(c.id));
    NCEN_ASSIGN_OR_RETURN(Writer::Feed * feed, w.GetFeed({me.public_key(), c.scope}));
    ChainSigner::Slot& slot = slots[i];
    EntryHeader& h = slot.header;
    h.author = me.public_key();
    h.scope = c.scope;
    h.seq = ++feed->record.seq;
    h.timestamp_ms = now;
    h.record_id = c.id;
    h.record_type = c.type;
    h.op = c.op;
    h.context = state ? state->CausalContext() : VersionVector{};
    h.payload_hash = crypto::Blake2b256(c.payload);
    h.payload_size = static_cast<uint32_t>(c.payload.size());
    auto [last, first_of_feed] = last_slot.try_emplace(c.scope, i);
    if (first_of_feed) {
      h.prev = feed->record.head;
    } else {
      slot.prev_slot = last->second;
      last->second = i;
    }
    feed->dirty = true;
    feed_indexes[i] = feed->record.index;
    EntryError ignored;
    NCEN_RETURN_IF_ERROR(
        w.ApplyToRecord(h, std::move(state), feed->record.index, c.payload, true, &ignored));
    signer.Publish(i);
  }
  signer.Finish();

  std::vector<Dot> dots;
  dots.reserve(changes.size());
  for (size_t i = 0; i < changes.size(); ++i) {
    const ChainSigner::Slot& slot = slots[i];
    ByteView payload(changes[i].payload);
    NCEN_RETURN_IF_ERROR(w.PutLog(feed_indexes[i], slot.header.seq, slot.header_bytes, slot.signature, &payload));
    dots.push_back(slot.header.dot());
  }
  for (const auto& [scope, i] : last_slot) {
    NCEN_ASSIGN_OR_RETURN(Writer::Feed * feed, w.GetFeed({me.public_key(), scope}));
    feed->record.head = slots[i].hash;
  }
  NCEN_RETURN_IF_ERROR(w.Finish());
  return dots;
}

// ---------------------------------------------------------------------------
// Remote batches

ApplyReport Store::ApplyBatch(std::span<const Entry> entries, const std::string& source) {
  std::optional<ForkReport> fork;
  std::string stale_reason;
  ApplyReport report = ApplyInTxn(entries, source, &fork, &stale_reason);
  // The batch's transaction is over; evidence is kept in transactions of its own.
  if (fork) {
    if (Status s = RecordFork(*fork); !s.ok()) report.status = s;
  }
  if (!stale_reason.empty()) {
    if (Status s = MarkStaleIdentity(stale_reason); !s.ok()) report.status = s;
  }
  return report;
}

Status Store::RecordFork(const ForkReport& f) {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, true));
  Bytes key = keys::Feed(f.feed);
  AppendU64BE(key, f.seq);
  Bytes value;
  Append(value, f.ours);
  Append(value, f.theirs);
  AppendU64BE(value, static_cast<uint64_t>(f.detected_ms));
  Append(value, AsBytes(f.source));
  NCEN_RETURN_IF_ERROR(txn.Put(dbs_->forks, key, value));
  return txn.Commit();
}

Status Store::MarkStaleIdentity(const std::string& reason, bool* newly) {
  // An empty value would read back as "not stale" (StaleIdentity).
  if (reason.empty()) return InvalidArgument("a stale identity needs a reason");
  if (newly) *newly = false;
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, true));
  NCEN_ASSIGN_OR_RETURN(auto held, txn.Get(dbs_->meta, AsBytes("stale_identity")));
  if (held && !held->empty()) return Status::Ok();  // the first reason stays
  NCEN_RETURN_IF_ERROR(txn.Put(dbs_->meta, AsBytes("stale_identity"), AsBytes(reason)));
  NCEN_RETURN_IF_ERROR(txn.Commit());
  if (newly) *newly = true;
  return Status::Ok();
}

Result<uint64_t> Store::CatchUpIndex(size_t max_records) {
  // A read transaction first: searches must not pay for a write (and an
  // fsync) when the index is current.
  NCEN_ASSIGN_OR_RETURN(uint64_t backlog, IndexBacklog());
  if (backlog == 0) return uint64_t{0};
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, true));
  Writer w(*dbs_, std::move(txn));
  NCEN_ASSIGN_OR_RETURN(uint64_t remaining, w.CatchUpIndex(max_records));
  NCEN_RETURN_IF_ERROR(w.Finish());
  return remaining;
}

Status Store::CatchUpIndexAll() {
  for (;;) {
    NCEN_ASSIGN_OR_RETURN(uint64_t remaining, CatchUpIndex(20000));
    if (remaining == 0) return Status::Ok();
  }
}

Result<uint64_t> Store::IndexBacklog() const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  auto counter = [&](const char* key) -> Result<uint64_t> {
    NCEN_ASSIGN_OR_RETURN(auto v, txn.Get(dbs_->meta, AsBytes(key)));
    if (!v) return uint64_t{0};
    if (v->size() != 8) return Corruption(std::string("meta counter ") + key + " does not decode");
    return GetU64BE(v->data());
  };
  NCEN_ASSIGN_OR_RETURN(uint64_t done, counter("indexed_change"));
  NCEN_ASSIGN_OR_RETURN(uint64_t last, counter("next_change"));
  return last > done ? last - done : 0;
}

ApplyReport Store::ApplyInTxn(std::span<const Entry> entries, const std::string& source,
                              std::optional<ForkReport>* fork, std::string* stale_reason) {
  ApplyReport report;
  auto fail = [&](size_t i, EntryError e, Status s) {
    report.status = s.WithContext("entry " + std::to_string(i));
    report.error = e;
    report.error_index = i;
    report.applied = 0;
    return report;
  };
  auto txn = lmdb::Txn::Begin(*env_, true);
  if (!txn.ok()) return fail(0, EntryError::kNone, txn.status());
  Writer w(*dbs_, std::move(txn).value());
  w.set_defer_index(true);

  // Feeds may interleave in a batch (a sender orders entries by time), but
  // each feed's entries must come in increasing seq order. The signature of
  // each feed's last entry in the batch is then the only one checked: the
  // hash links vouch for the entries before it (DESIGN.md §3), and since
  // duplicates (seq <= head) can only come first, that last entry is the
  // feed's new head whenever the batch adds to the feed. With many feeds (an
  // incremental or cold sync touching many) a second thread verifies them
  // while this one applies; nothing commits before both agree.
  std::vector<size_t> run_ends;
  {
    struct Last {
      uint64_t seq;
      size_t index;
    };
    std::map<FeedId, Last> last;
    const FeedId* prev_feed = nullptr;
    Last* prev_last = nullptr;
    for (size_t i = 0; i < entries.size(); ++i) {
      const EntryHeader& h = entries[i].header;
      FeedId feed = h.feed();
      Last* slot = prev_feed && *prev_feed == feed ? prev_last : nullptr;
      if (!slot) {
        auto it = last.try_emplace(feed, Last{0, i}).first;
        slot = &it->second;
        prev_feed = &it->first;
      }
      if (h.seq <= slot->seq) {
        return fail(i, EntryError::kOutOfOrder,
                    Corruption("seq " + std::to_string(h.seq) + " of feed " +
                               crypto::Fingerprint(h.author) + "/" + ScopeName(h.scope) +
                               " comes after seq " + std::to_string(slot->seq) + " in the batch"));
      }
      slot->seq = h.seq;
      slot->index = i;
      prev_last = slot;
    }
    for (auto& [feed, l] : last) run_ends.push_back(l.index);
    std::sort(run_ends.begin(), run_ends.end());
  }
  // The CPU-heavy part of each entry, its payload hash and its entry hash, is
  // computed ahead in chunks by both threads for a large batch; then the
  // helper verifies the feeds' last signatures. The apply loop below waits
  // for an entry's chunk (or computes a chunk itself) before using it.
  constexpr size_t kChunk = 128;
  const size_t chunks = (entries.size() + kChunk - 1) / kChunk;
  std::vector<Hash256> hashes(entries.size());
  std::vector<uint8_t> payload_ok(entries.size(), 0);
  std::unique_ptr<std::atomic<bool>[]> chunk_done(new std::atomic<bool>[chunks]);
  for (size_t c = 0; c < chunks; ++c) chunk_done[c].store(false, std::memory_order_relaxed);
  std::atomic<size_t> next_chunk{0};
  std::atomic<bool> stop{false};
  auto hash_chunk = [&](size_t c) {
    size_t end = std::min(entries.size(), (c + 1) * kChunk);
    for (size_t i = c * kChunk; i < end; ++i) {
      payload_ok[i] = CheckPayload(entries[i]).ok() ? 1 : 0;
      hashes[i] = entries[i].hash();
    }
    chunk_done[c].store(true, std::memory_order_release);
  };
  auto wait_for = [&](size_t i) {
    size_t c = i / kChunk;
    while (!chunk_done[c].load(std::memory_order_acquire)) {
      size_t k = next_chunk.fetch_add(1);
      if (k < chunks) {
        hash_chunk(k);
      } else {
        std::this_thread::yield();  // the helper is on it
      }
    }
  };
  std::vector<uint8_t> signature_ok(run_ends.size(), 0);  // 1 good, 2 bad
  std::atomic<size_t> next_run{0};
  auto verify_runs = [&] {
    for (size_t k; !stop.load(std::memory_order_relaxed) && (k = next_run.fetch_add(1)) < run_ends.size();) {
      signature_ok[k] = CheckSignature(entries[run_ends[k]]) ? 1 : 2;
    }
  };
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread thread;
    ~Joiner() {
      stop.store(true);
      if (thread.joinable()) thread.join();
    }
  } helper{stop, {}};
  constexpr size_t kThreadedVerifyRuns = 8;
  constexpr size_t kThreadedEntries = 4 * kChunk;
  if (run_ends.size() >= kThreadedVerifyRuns || entries.size() >= kThreadedEntries) {
    helper.thread = std::thread([&] {
      for (size_t c; !stop.load(std::memory_order_relaxed) && (c = next_chunk.fetch_add(1)) < chunks;) {
        hash_chunk(c);
      }
      verify_runs();
    });
  }

  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    const EntryHeader& h = e.header;
    wait_for(i);
    const Hash256& hash = hashes[i];
    if (!payload_ok[i]) return fail(i, EntryError::kPayloadMismatch, CheckPayload(e));
    auto feed_or = w.GetFeed(h.feed());
    if (!feed_or.ok()) return fail(i, EntryError::kNone, feed_or.status());
    Writer::Feed* feed = *feed_or;
    if (h.seq <= feed->record.seq) {
      auto stored = w.StoredHash(feed->record.index, h.seq);
      if (!stored.ok()) return fail(i, EntryError::kNone, stored.status());
      if (*stored && **stored == hash) {
        ++report.duplicates;
        continue;
      }
      if (!CheckSignature(e)) {
        return fail(i, EntryError::kBadSignature,
                    Unauthenticated("signature does not verify against the header's author"));
      }
      *fork = ForkReport{h.feed(), h.seq, *stored ? **stored : Hash256{}, hash, UnixMillisNow(),
                        source};
      return fail(i, EntryError::kFork,
                  Corruption("fork: a different entry is already held at seq " +
                             std::to_string(h.seq) + " of feed " + crypto::Fingerprint(h.author) +
                             "/" + ScopeName(h.scope)));
    }
    if (h.author == meta_.node_id) {
      // Our own feed, beyond what we hold: we were restored from an old copy.
      bool stale = CheckSignature(e);
      if (stale) {
        *stale_reason = "a peer holds seq " + std::to_string(h.seq) +
                        " of this node's own feed, which has only " +
                        std::to_string(feed->record.seq);
      }
      return fail(i, stale ? EntryError::kStaleIdentity : EntryError::kBadSignature,
                  stale ? FailedPrecondition("entry of this node's own feed beyond its head: the node was restored from an old copy")
                        : Unauthenticated("signature does not verify against the header's author"));
    }
    if (h.seq > feed->record.seq + 1) {
      return fail(i, EntryError::kGap,
                  Corruption("gap: seq " + std::to_string(h.seq) + " after head " +
                             std::to_string(feed->record.seq)));
    }
    if (h.prev != feed->record.head) {
      return fail(i, EntryError::kPrevMismatch,
                  Corruption("prev hash of seq " + std::to_string(h.seq) +
                             " does not match the feed's head"));
    }
    ByteView payload(e.payload);
    if (Status s = w.PutLog(feed->record.index, h.seq, e.header_bytes, e.signature,
                            e.has_payload ? &payload : nullptr);
        !s.ok()) {
      return fail(i, EntryError::kNone, s);
    }
    feed->record.seq = h.seq;
    feed->record.head = hash;
    feed->dirty = true;
    EntryError error = EntryError::kNone;
    auto state = w.LoadRecord(h.record_id);
    if (!state.ok()) return fail(i, EntryError::kNone, state.status());
    if (Status s = w.ApplyToRecord(h, std::move(state).value(), feed->record.index, e.payload,
                                   e.has_payload, &error);
        !s.ok()) {
      return fail(i, error, s);
    }
    ++report.applied;
  }
  verify_runs();
  if (helper.thread.joinable()) helper.thread.join();
  for (size_t k = 0; k < run_ends.size(); ++k) {
    if (signature_ok[k] != 1) {
      return fail(run_ends[k], EntryError::kBadSignature,
                  Unauthenticated("signature does not verify against the header's author"));
    }
  }
  size_t applied = report.applied;
  if (Status s = w.Finish(); !s.ok()) return fail(entries.size(), EntryError::kNone, s);
  report.applied = applied;
  return report;
}

}  // namespace ncen::storage
