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

#include "base/text.h"
#include "storage/chain_signer.h"
#include "storage/record_json.h"
#include "storage/store_internal.h"

namespace ncen::storage {

namespace {

// 2: record states keep `seen` and quarantine, fork reports carry evidence
// (docs/log-format.md §7). A format-1 store is upgraded when opened.
constexpr uint32_t kStoreFormatVersion = 2;

Bytes MetaU64(uint64_t v) {
  Bytes b;
  AppendU64BE(b, v);
  return b;
}

}  // namespace

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
  if (options.clock) store->clock_ = options.clock;
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
  if (options.clock) store->clock_ = options.clock;
  NCEN_ASSIGN_OR_RETURN(store->env_, lmdb::Env::Open(dir, options.map_size_bytes, options.durable));
  Status s = store->OpenDatabases(false);
  if (s.code() == StatusCode::kNotFound) return Corruption("store in " + dir + " is incomplete: " + s.message());
  NCEN_RETURN_IF_ERROR(s);
  {
    NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*store->env_, false));
    NCEN_ASSIGN_OR_RETURN(auto v, txn.Get(store->dbs_->meta, AsBytes("format_version")));
    uint64_t version = v && v->size() == 8 ? GetU64BE(v->data()) : 0;
    txn.Abort();
    if (version == 1) {
      NCEN_RETURN_IF_ERROR(store->UpgradeFromFormat1());
    } else if (version != kStoreFormatVersion) {
      return Corruption("store format version " + std::to_string(version) + " is not supported");
    }
  }
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*store->env_, false));
  auto get = [&](const char* key) -> Result<Bytes> {
    NCEN_ASSIGN_OR_RETURN(auto v, txn.Get(store->dbs_->meta, AsBytes(key)));
    if (!v) return Corruption(std::string("store meta has no ") + key);
    return Bytes(v->begin(), v->end());
  };
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

// Format 1 (milestone 1) kept no `seen` in record states and no evidence in
// fork reports. Both databases are rewritten in one transaction: record
// states take `seen` from what their versions say they have seen; fork
// reports keep their hashes and stay local (no evidence to show a peer).
Status Store::UpgradeFromFormat1() {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, true));
  auto rewrite = [&](MDB_dbi db, auto convert) -> Status {
    std::vector<std::pair<Bytes, Bytes>> rows;
    {
      NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, db));
      for (c.First(); c.Valid(); c.Next()) {
        NCEN_ASSIGN_OR_RETURN(Bytes value, convert(c.key(), c.value()));
        rows.emplace_back(Bytes(c.key().begin(), c.key().end()), std::move(value));
      }
      NCEN_RETURN_IF_ERROR(c.status());
    }
    for (auto& [key, value] : rows) NCEN_RETURN_IF_ERROR(txn.Put(db, key, value));
    return Status::Ok();
  };
  NCEN_RETURN_IF_ERROR(rewrite(dbs_->records, [](ByteView, ByteView v) -> Result<Bytes> {
    NCEN_ASSIGN_OR_RETURN(RecordState state, DecodeRecordState(v));
    return EncodeRecordState(state);
  }));
  NCEN_RETURN_IF_ERROR(rewrite(dbs_->forks, [](ByteView k, ByteView v) -> Result<Bytes> {
    NCEN_ASSIGN_OR_RETURN(ForkReport fork, format::ParseForkValueV1(k, v));
    return format::EncodeForkValue(fork);
  }));
  NCEN_RETURN_IF_ERROR(txn.Put(dbs_->meta, AsBytes("format_version"), MetaU64(kStoreFormatVersion)));
  return txn.Commit();
}

// ---------------------------------------------------------------------------
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
    RecordState state;
    bool was_live = false;     // before this transaction
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
        rec.was_flagged = rec.state.needs_decision();
      }
    }
    return &records_.emplace(id, std::move(rec)).first->second;
  }

  // Applies an entry just appended to its feed: to the `changes` feed and to
  // its record.
  Result<ApplyResult> Apply(Record& record, const EntryHeader& h, uint32_t feed_index) {
    NCEN_RETURN_IF_ERROR(AppendChange(feed_index, h.seq, h.record_id));
    record.dirty = true;
    return ApplyVersion(record.state, h.record_type, h.scope,
                        Version{h.dot(), feed_index, h.timestamp_ms, h.op, h.context});
  }

  Status AppendChange(uint32_t feed_index, uint64_t seq, const RecordId& id) {
    NCEN_ASSIGN_OR_RETURN(uint64_t next, MetaCounter("next_change"));
    counters_["next_change"] = next + 1;
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
      if (!record->state.exists()) {
        return Corruption("changes feed names record " + FormatRecordId(id) + " which is missing");
      }
      NCEN_RETURN_IF_ERROR(UpdateTerms(id, record->state));
    }
    counters_["indexed_change"] = upto;
    return last - upto;
  }

  Status Finish() {
    for (auto& [id, feed] : feeds_) {
      if (feed.dirty) NCEN_RETURN_IF_ERROR(txn_.Put(dbs_.feeds, format::FeedKey(id), format::EncodeFeedValue(feed.record)));
    }
    int64_t live_delta[kRecordTypeCount] = {};
    for (auto& [id, record] : records_) {  // id order: new ids are appended
      if (!record.dirty) continue;
      const RecordState& state = record.state;
      ByteView key(id);
      NCEN_RETURN_IF_ERROR(PutOrdered(dbs_.records, key, EncodeRecordState(state)));
      if (state.needs_decision()) {
        // The version count, capped; 0 for a quarantined record.
        uint8_t n = static_cast<uint8_t>(std::min<size_t>(state.versions.size(), 255));
        NCEN_RETURN_IF_ERROR(txn_.Put(dbs_.conflicts, key, ByteView(&n, 1)));
      } else if (record.was_flagged) {
        NCEN_RETURN_IF_ERROR(txn_.Del(dbs_.conflicts, key));
      }
      // A record keeps its type unless quarantined, and then it is not live.
      if (record.was_live && !state.live()) --live_delta[static_cast<int>(state.type)];
      if (!record.was_live && state.live()) ++live_delta[static_cast<int>(state.type)];
    }
    for (int t = 0; t < kRecordTypeCount; ++t) {
      if (live_delta[t] == 0) continue;
      std::string key = std::string("live/") + RecordTypeName(RecordType(t));
      NCEN_ASSIGN_OR_RETURN(uint64_t n, MetaCounter(key));
      counters_[key] = static_cast<uint64_t>(static_cast<int64_t>(n) + live_delta[t]);
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
    for (const Version& v : state.versions) {
      if (!v.live()) continue;
      NCEN_ASSIGN_OR_RETURN(auto payload, VersionPayload(v));
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
        NCEN_RETURN_IF_ERROR(txn_.Del(dbs_.index, format::IndexKey(t, id)));
      }
    }
    Bytes encoded;
    for (const auto& t : terms) {
      if (!std::binary_search(old_terms.begin(), old_terms.end(), t)) {
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

// ---------------------------------------------------------------------------
// Local appends

namespace {

// What a local change may not do to the record as it is (the rules of the
// store; the front ends' rules run in LocalChange::check).
Status CheckLocalChange(const LocalChange& c, const RecordState& state) {
  if (c.op == Op::kPurge) return InvalidArgument("op purge is reserved and not written in format version 1");
  if (state.quarantined()) {
    return FailedPrecondition("record " + FormatRecordId(c.id) +
                              " is quarantined: it has entries of more than one type or scope");
  }
  if (state.exists() && state.type != c.type) {
    return InvalidArgument("record " + FormatRecordId(c.id) + " is a " + RecordTypeName(state.type) +
                           ", not a " + RecordTypeName(c.type));
  }
  if (state.exists() && state.scope != c.scope) {
    return InvalidArgument("record " + FormatRecordId(c.id) + " lives in scope " + ScopeName(state.scope));
  }
  if (!state.exists() && c.op != Op::kPut) return NotFound("no record " + FormatRecordId(c.id));
  return Status::Ok();
}

}  // namespace

// The records of one AppendLocal call's transaction, for LocalChange::check:
// the Writer's record states, and payloads from the log or from the
// call's earlier changes (not in the log until they are signed).
class Store::LocalRecords : public TxnRecords {
 public:
  explicit LocalRecords(Writer& w) : w_(w) {}
  void AddPending(const Dot& dot, ByteView payload) { pending_[dot] = payload; }

  Result<RecordView> Get(const RecordId& id) override {
    NCEN_ASSIGN_OR_RETURN(Writer::Record * record, w_.GetRecord(id));
    if (!record->state.exists()) return NotFound("no record " + FormatRecordId(id));
    RecordView view{id, record->state, {}};
    for (const Version& v : view.state.versions) {
      auto pending = pending_.find(v.dot);
      if (pending != pending_.end()) {
        view.payloads.emplace_back(pending->second.begin(), pending->second.end());
        continue;
      }
      NCEN_ASSIGN_OR_RETURN(auto payload, w_.VersionPayload(v));
      view.payloads.emplace_back(payload ? Bytes(payload->begin(), payload->end()) : Bytes());
    }
    return view;
  }

 private:
  Writer& w_;
  std::map<Dot, ByteView> pending_;
};

Result<std::vector<Dot>> Store::AppendLocal(const crypto::Identity& me,
                                            std::span<const LocalChange> changes) {
  NCEN_CHECK(me.public_key() == meta_.node_id);
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, true));
  Writer w(*dbs_, std::move(txn));
  NCEN_ASSIGN_OR_RETURN(auto stale, w.txn().Get(dbs_->meta, AsBytes("stale_identity")));
  if (stale) {
    return FailedPrecondition("this node's identity is stale (" + std::string(AsChars(*stale)) +
                              "); local writes are refused until an administrator acts");
  }
  std::vector<ChainSigner::Slot> slots(changes.size());
  std::vector<uint32_t> feed_indexes(changes.size());
  std::vector<std::optional<Bytes>> checked_payloads(changes.size());  // set by a check
  auto payload_of = [&](size_t i) -> const Bytes& {
    return checked_payloads[i] ? *checked_payloads[i] : changes[i].payload;
  };
  std::map<Scope, size_t> last_slot;  // per feed of this author
  LocalRecords records(w);
  ChainSigner signer(me, slots);
  int64_t now = NowMs();
  for (size_t i = 0; i < changes.size(); ++i) {
    const LocalChange& c = changes[i];
    if (c.check) {
      Bytes payload = c.payload;
      NCEN_RETURN_IF_ERROR(c.check(records, &payload));
      checked_payloads[i] = std::move(payload);
    }
    NCEN_ASSIGN_OR_RETURN(Writer::Record * record, w.GetRecord(c.id));
    NCEN_RETURN_IF_ERROR(CheckLocalChange(c, record->state));
    VersionVector context = record->state.exists() ? record->state.CausalContext() : VersionVector{};
    if (context.dots.size() > kContextDotsMax) {
      return ResourceExhausted("record " + FormatRecordId(c.id) + " has been written by " +
                               std::to_string(context.dots.size()) + " nodes; an entry can name at most " +
                               std::to_string(kContextDotsMax));
    }
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
    h.context = std::move(context);
    h.payload_hash = crypto::Blake2b256(payload_of(i));
    h.payload_size = static_cast<uint32_t>(payload_of(i).size());
    auto [last, first_of_feed] = last_slot.try_emplace(c.scope, i);
    if (first_of_feed) {
      h.prev = feed->record.head;
    } else {
      slot.prev_slot = last->second;
      last->second = i;
    }
    feed->dirty = true;
    feed_indexes[i] = feed->record.index;
    NCEN_ASSIGN_OR_RETURN(ApplyResult applied, w.Apply(*record, h, feed->record.index));
    if (applied != ApplyResult::kAdded) {
      // A version held here has seen this node's next entry already: the
      // node's own feed went on elsewhere. Never a silent no-op.
      return FailedPrecondition("record " + FormatRecordId(c.id) + " already holds a version that has seen seq " +
                                std::to_string(h.seq) + " of this node's own feed: this node's feed went on "
                                "elsewhere (restored from an old copy?); nothing was written");
    }
    records.AddPending(h.dot(), payload_of(i));
    signer.Publish(i);
  }
  signer.Finish();

  std::vector<Dot> dots;
  dots.reserve(changes.size());
  for (size_t i = 0; i < changes.size(); ++i) {
    const ChainSigner::Slot& slot = slots[i];
    ByteView payload(payload_of(i));
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

namespace {

std::string FeedText(const FeedId& feed) {
  return crypto::Fingerprint(feed.author) + "/" + ScopeName(feed.scope);
}

// Which entries of a batch are in order: each feed's entries must come in
// strictly increasing seq; from the first that does not, the feed is refused
// for the rest of the batch (feeds may interleave in any way).
struct BatchPlan {
  struct Feed {
    std::vector<size_t> entries;    // its in-order entries, by index
    size_t out_of_order = SIZE_MAX;  // its first entry out of order, if any
  };
  std::vector<uint8_t> in_order;  // per entry
  std::map<FeedId, Feed> feeds;
  std::vector<size_t> run_ends;   // each feed's last in-order entry, sorted, for the verifier
  size_t run_end(const FeedId& feed) const { return feeds.at(feed).entries.back(); }
};

BatchPlan PlanBatch(std::span<const Entry> entries) {
  BatchPlan plan;
  plan.in_order.assign(entries.size(), 0);
  const FeedId* prev_feed = nullptr;
  BatchPlan::Feed* prev = nullptr;
  for (size_t i = 0; i < entries.size(); ++i) {
    const EntryHeader& h = entries[i].header;
    FeedId feed = h.feed();
    BatchPlan::Feed* f = prev_feed && *prev_feed == feed ? prev : nullptr;
    if (!f) {
      auto it = plan.feeds.try_emplace(feed).first;
      prev_feed = &it->first;
      f = prev = &it->second;
    }
    if (f->out_of_order != SIZE_MAX) continue;
    if (!f->entries.empty() && h.seq <= entries[f->entries.back()].header.seq) {
      f->out_of_order = i;
      continue;
    }
    f->entries.push_back(i);
    plan.in_order[i] = 1;
  }
  for (auto& [feed, f] : plan.feeds) plan.run_ends.push_back(f.entries.back());
  std::sort(plan.run_ends.begin(), plan.run_ends.end());
  return plan;
}

// What an entry's payload is worth, checked on the hashing threads.
EntryError PayloadError(const Entry& e) {
  if (!e.has_payload) return EntryError::kWithheldPayload;
  if (!CheckPayload(e).ok()) return EntryError::kPayloadMismatch;
  if (e.header.op == Op::kDelete) return e.payload.empty() ? EntryError::kNone : EntryError::kMalformedPayload;
  if (!ValidateRecordPayload(e.header.record_type, e.payload).ok()) return EntryError::kMalformedPayload;
  return EntryError::kNone;
}

std::string PayloadMessage(const Entry& e, EntryError error) {
  switch (error) {
    case EntryError::kWithheldPayload: return "the payload is withheld";
    case EntryError::kPayloadMismatch: return CheckPayload(e).message();
    case EntryError::kMalformedPayload:
      if (e.header.op == Op::kDelete) return "a delete carries a payload";
      return ValidateRecordPayload(e.header.record_type, e.payload).message();
    default: return EntryErrorName(error);
  }
}

// The CPU-heavy part of each entry, computed ahead in chunks by both threads
// for a large batch: its entry hash and payload checks, then the signature
// of each feed's run end (the hash links vouch for the entries before it,
// docs/design.md §3). The apply loop waits for an entry's chunk (or computes a
// chunk itself) before using it; nothing commits before both threads agree.
class BatchVerifier {
 public:
  static constexpr size_t kChunk = 128;
  static constexpr size_t kThreadedRuns = 8;
  static constexpr size_t kThreadedEntries = 4 * kChunk;

  BatchVerifier(std::span<const Entry> entries, const std::vector<size_t>& run_ends)
      : entries_(entries),
        run_ends_(run_ends),
        chunks_((entries.size() + kChunk - 1) / kChunk),
        hashes_(entries.size()),
        payload_errors_(entries.size()),
        chunk_done_(new std::atomic<bool>[chunks_]),
        signature_ok_(run_ends.size(), 0) {
    for (size_t c = 0; c < chunks_; ++c) chunk_done_[c].store(false, std::memory_order_relaxed);
    if (run_ends_.size() >= kThreadedRuns || entries_.size() >= kThreadedEntries) {
      helper_ = std::thread([this] {
        for (size_t c; !stop_.load(std::memory_order_relaxed) && (c = next_chunk_.fetch_add(1)) < chunks_;) {
          HashChunk(c);
        }
        VerifyRuns();
      });
    }
  }
  ~BatchVerifier() {
    stop_.store(true);
    if (helper_.joinable()) helper_.join();
  }

  // Waits until entry i's hash and payload verdict are known.
  void WaitFor(size_t i) {
    size_t c = i / kChunk;
    while (!chunk_done_[c].load(std::memory_order_acquire)) {
      size_t k = next_chunk_.fetch_add(1);
      if (k < chunks_) {
        HashChunk(k);
      } else {
        std::this_thread::yield();  // the helper is on it
      }
    }
  }
  const Hash256& hash(size_t i) const { return hashes_[i]; }
  EntryError payload_error(size_t i) const { return payload_errors_[i]; }

  // Finishes the signatures of the run ends; then run_end_valid may be asked.
  void Finish() {
    VerifyRuns();
    if (helper_.joinable()) helper_.join();
  }
  bool run_end_valid(size_t index) const {
    auto at = std::lower_bound(run_ends_.begin(), run_ends_.end(), index);
    NCEN_CHECK(at != run_ends_.end() && *at == index);
    return signature_ok_[static_cast<size_t>(at - run_ends_.begin())] == 1;
  }

 private:
  void HashChunk(size_t c) {
    size_t end = std::min(entries_.size(), (c + 1) * kChunk);
    for (size_t i = c * kChunk; i < end; ++i) {
      payload_errors_[i] = PayloadError(entries_[i]);
      hashes_[i] = entries_[i].hash();
    }
    chunk_done_[c].store(true, std::memory_order_release);
  }
  void VerifyRuns() {
    for (size_t k; !stop_.load(std::memory_order_relaxed) && (k = next_run_.fetch_add(1)) < run_ends_.size();) {
      signature_ok_[k] = CheckSignature(entries_[run_ends_[k]]) ? 1 : 2;
    }
  }

  std::span<const Entry> entries_;
  const std::vector<size_t>& run_ends_;
  const size_t chunks_;
  std::vector<Hash256> hashes_;
  std::vector<EntryError> payload_errors_;
  std::unique_ptr<std::atomic<bool>[]> chunk_done_;
  std::vector<uint8_t> signature_ok_;  // 1 good, 2 bad
  std::atomic<size_t> next_chunk_{0};
  std::atomic<size_t> next_run_{0};
  std::atomic<bool> stop_{false};
  std::thread helper_;
};

}  // namespace

ApplyReport Store::ApplyBatch(std::span<const Entry> entries, const std::string& source) {
  // Signatures are checked once per feed and batch, while the entries are
  // applied. When one fails, the feeds whose signatures failed are taken out
  // and the batch is applied again from the start, so nothing an unverified
  // entry touched is committed. Each round takes out at least one feed.
  std::set<FeedId> excluded;
  for (;;) {
    std::set<FeedId> bad_signatures;
    ApplyReport report = ApplyInTxn(entries, source, excluded, &bad_signatures);
    if (!report.status.ok() || bad_signatures.empty()) return report;
    excluded.insert(bad_signatures.begin(), bad_signatures.end());
  }
}

ApplyReport Store::ApplyInTxn(std::span<const Entry> entries, const std::string& source,
                              const std::set<FeedId>& excluded, std::set<FeedId>* bad_signatures) {
  ApplyReport report;
  auto failed = [&](Status s) {
    ApplyReport r;
    r.status = std::move(s);
    return r;
  };
  auto txn = lmdb::Txn::Begin(*env_, true);
  if (!txn.ok()) return failed(txn.status());
  Writer w(*dbs_, std::move(txn).value());
  const BatchPlan plan = PlanBatch(entries);
  BatchVerifier verifier(entries, plan.run_ends);

  struct FeedProgress {
    size_t next = 0;  // position in the feed's in-order entries (BatchPlan::feeds)
    bool refused = false;
    bool deferred = false;  // waits for an entry its context names
    std::string deferred_message;
    bool own_feed_checked = false;  // this node's own feed: the stale mark is set
    size_t last_taken = SIZE_MAX;
  };
  std::map<FeedId, FeedProgress> progress;
  enum class Take { kDone, kDeferred };

  // Takes entry i of a feed, or refuses it (and with it the rest of the feed
  // in this batch), or defers it. Errors are the store's.
  auto take = [&](size_t i, FeedProgress& fp) -> Result<Take> {
    const Entry& e = entries[i];
    const EntryHeader& h = e.header;
    const FeedId feed = h.feed();
    auto refuse = [&](EntryError error, std::string message) {
      fp.refused = true;
      report.refused.push_back(Refusal{feed, h.seq, error, SanitizeText(message, 300), i});
    };
    verifier.WaitFor(i);
    const Hash256& hash = verifier.hash(i);
    auto feed_or = w.FindFeed(feed);
    if (!feed_or.ok()) return feed_or.status();
    Writer::Feed* f = *feed_or;
    uint64_t head = f ? f->record.seq : 0;

    if (h.seq <= head) {
      auto stored = w.StoredLogValue(f->record.index, h.seq);
      if (!stored.ok()) return stored.status();
      if (!*stored) return Corruption("log of feed " + FeedText(feed) + " has a hole at seq " + std::to_string(h.seq));
      const format::LogValue& held = **stored;
      Hash256 held_hash = held.EntryHash();
      if (held_hash == hash) {
        ++report.duplicates;
        if (!held.has_payload && verifier.payload_error(i) == EntryError::kNone) {
          if (Status s = w.FillPayload(f->record.index, e); !s.ok()) return s;
          // The record's index terms come from payloads: index it again.
          if (Status s = w.AppendChange(f->record.index, h.seq, h.record_id); !s.ok()) return s;
          ++report.payloads_filled;
        }
        return Take::kDone;
      }
      if (!CheckSignature(e)) {
        refuse(EntryError::kBadSignature, "signature does not verify against the header's author");
        return Take::kDone;
      }
      auto ours = MakeSignedHeader(held.header, held.signature);
      if (!ours.ok()) return ours.status();
      ForkReport fork{feed, h.seq, held_hash, hash, NowMs(), source, std::move(ours).value(),
                      SignedHeaderOf(e)};
      bool newly = false;
      Status recorded = PutFork(w.txn(), *dbs_, fork, &newly);
      if (!recorded.ok() && recorded.code() != StatusCode::kUnauthenticated) return recorded;
      w.MarkForked(feed);
      refuse(EntryError::kFork, "fork: a different entry is already held at seq " + std::to_string(h.seq) +
                                    " of feed " + FeedText(feed));
      return Take::kDone;
    }
    auto forked = w.FeedForked(feed);
    if (!forked.ok()) return forked.status();
    if (*forked) {
      refuse(EntryError::kForkedFeed, "feed " + FeedText(feed) + " has a fork report; it is not synced "
                                                                 "until an administrator clears it");
      return Take::kDone;
    }
    if (h.author == meta_.node_id && !fp.own_feed_checked) {
      // Our own feed, beyond what we hold, signed with our key: we were
      // restored from an old copy (or the key is used elsewhere). The mark
      // stops local writes; the entries themselves are taken, so that the
      // node gets back what it lost and relays it (and entries that name
      // them) until an administrator decides (docs/protocol.md §6).
      if (!CheckSignature(e)) {
        refuse(EntryError::kBadSignature, "signature does not verify against the header's author");
        return Take::kDone;
      }
      bool newly = false;
      Status marked = PutStaleMark(w.txn(), *dbs_, meta_.node_id, SignedHeaderOf(e), source, &newly);
      if (!marked.ok()) return marked;
      fp.own_feed_checked = true;
      report.marked_stale = report.marked_stale || newly;
    }
    if (excluded.count(feed)) {
      refuse(EntryError::kBadSignature, "signature does not verify against the header's author");
      return Take::kDone;
    }
    if (h.seq > head + 1) {
      refuse(EntryError::kGap, "gap: seq " + std::to_string(h.seq) + " after head " + std::to_string(head));
      return Take::kDone;
    }
    if (h.prev != (f ? f->record.head : Hash256{})) {
      refuse(EntryError::kPrevMismatch, "prev hash of seq " + std::to_string(h.seq) + " does not match the feed's head");
      return Take::kDone;
    }
    if (EntryError error = verifier.payload_error(i); error != EntryError::kNone) {
      refuse(error, PayloadMessage(e, error));
      return Take::kDone;
    }
    // The context: its author's own dot names an earlier entry, and every
    // other dot an entry this node holds (an entry is applied after what its
    // author had seen: causal order, docs/log-format.md §6).
    bool context_ok = true;
    for (const Dot& d : h.context.dots) {
      if (d.author == h.author) {
        if (d.seq >= h.seq) {
          refuse(EntryError::kBadContext, "the context names seq " + std::to_string(d.seq) +
                                              " of its own author, at seq " + std::to_string(h.seq));
          context_ok = false;
          break;
        }
        continue;
      }
      auto held = w.HeadSeq({d.author, h.scope});
      if (!held.ok()) return held.status();
      if (*held < d.seq) {
        // A forked feed is frozen here: nothing more of it will arrive, so
        // naming its later entries covers nothing that could, and waiting
        // for them would stall this feed for good.
        auto frozen = w.FeedForked({d.author, h.scope});
        if (!frozen.ok()) return frozen.status();
        if (*frozen) continue;
        // Perhaps a later entry of this batch brings it: tried again then.
        fp.deferred = true;
        fp.deferred_message = "the context names seq " + std::to_string(d.seq) + " of feed " +
                              FeedText({d.author, h.scope}) + ", which this node holds up to " +
                              std::to_string(*held);
        return Take::kDeferred;
      }
    }
    if (!context_ok) return Take::kDone;
    auto record_or = w.GetRecord(h.record_id);
    if (!record_or.ok()) return record_or.status();
    Writer::Record& record = **record_or;
    const RecordState& state = record.state;
    if (uint64_t previous = state.seen.SeqOf(h.author); h.context.SeqOf(h.author) < previous) {
      refuse(EntryError::kBadContext, "the context does not cover its author's previous entry of record " +
                                          FormatRecordId(h.record_id) + " (seq " + std::to_string(previous) + ")");
      return Take::kDone;
    }
    bool same_class = state.exists() && !state.quarantined() && state.type == h.record_type &&
                      state.scope == h.scope;
    if (same_class && VersionsAfter(state, h.dot(), h.context) > limits::kRecordVersionsMax) {
      refuse(EntryError::kTooManyVersions, "record " + FormatRecordId(h.record_id) + " would have more than " +
                                               std::to_string(limits::kRecordVersionsMax) + " versions");
      return Take::kDone;
    }
    if (!f) {
      auto created = w.GetFeed(feed);
      if (!created.ok()) return created.status();
      f = *created;
    }
    ByteView payload(e.payload);
    if (Status s = w.PutLog(f->record.index, h.seq, e.header_bytes, e.signature, &payload); !s.ok()) {
      return s;
    }
    f->record.seq = h.seq;
    f->record.head = hash;
    f->dirty = true;
    if (auto applied = w.Apply(record, h, f->record.index); !applied.ok()) return applied.status();

    fp.last_taken = i;
    ++report.applied;
    return Take::kDone;
  };
  auto refuse_out_of_order = [&](const FeedId& feed, FeedProgress& fp) {
    size_t i = plan.feeds.at(feed).out_of_order;
    fp.refused = true;
    report.refused.push_back(Refusal{feed, entries[i].header.seq, EntryError::kOutOfOrder,
                                     "seq " + std::to_string(entries[i].header.seq) + " of feed " +
                                         FeedText(feed) + " comes after a higher seq in the batch",
                                     i});
  };

  // In batch order first: a sender orders entries by time, and time-ordered
  // record ids make the record writes appends.
  const FeedId* prev_feed = nullptr;
  FeedProgress* prev_progress = nullptr;
  for (size_t i = 0; i < entries.size(); ++i) {
    const FeedId feed = entries[i].header.feed();
    FeedProgress* fp = prev_feed && *prev_feed == feed ? prev_progress : nullptr;
    if (!fp) {
      auto it = progress.try_emplace(feed).first;
      prev_feed = &it->first;
      fp = prev_progress = &it->second;
    }
    if (fp->refused || fp->deferred) continue;
    if (!plan.in_order[i]) {
      refuse_out_of_order(feed, *fp);
      continue;
    }
    auto taken = take(i, *fp);
    if (!taken.ok()) return failed(taken.status());
    if (!fp->refused && !fp->deferred) ++fp->next;
  }
  // Then the feeds that waited for an entry of another feed, as long as one
  // of them gets further; what still waits is refused.
  for (bool moved = true; moved;) {
    moved = false;
    for (auto& [feed, fp] : progress) {
      if (!fp.deferred) continue;
      fp.deferred = false;
      const auto& plan_feed = plan.feeds.at(feed);
      size_t before = fp.next;
      while (fp.next < plan_feed.entries.size() && !fp.refused && !fp.deferred) {
        auto taken = take(plan_feed.entries[fp.next], fp);
        if (!taken.ok()) return failed(taken.status());
        if (!fp.refused && !fp.deferred) ++fp.next;
      }
      if (fp.next > before) moved = true;
      if (!fp.refused && !fp.deferred && plan_feed.out_of_order != SIZE_MAX) refuse_out_of_order(feed, fp);
    }
  }
  for (auto& [feed, fp] : progress) {
    if (!fp.deferred) continue;
    size_t i = plan.feeds.at(feed).entries[fp.next];
    report.refused.push_back(Refusal{feed, entries[i].header.seq, EntryError::kMissingDependency,
                                     SanitizeText(fp.deferred_message, 300), i});
  }
  std::sort(report.refused.begin(), report.refused.end(),
            [](const Refusal& a, const Refusal& b) { return a.index < b.index; });

  // The signature of each feed's last taken entry vouches for the feed's
  // entries in this batch. It is usually the run end, already verified.
  verifier.Finish();
  for (const auto& [feed, fp] : progress) {
    if (fp.last_taken == SIZE_MAX) continue;
    bool valid = fp.last_taken == plan.run_end(feed) ? verifier.run_end_valid(fp.last_taken)
                                                     : CheckSignature(entries[fp.last_taken]);
    if (!valid) bad_signatures->insert(feed);
  }
  if (!bad_signatures->empty()) return report;  // the transaction is abandoned; ApplyBatch retries
  if (Status s = w.Finish(); !s.ok()) return failed(s);
  return report;
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

}  // namespace ncen::storage
