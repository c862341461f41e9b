// Store: opening, upgrading, local appends and index catch-up. Reads live in
// store_read.cpp, remote batches in store_apply.cpp, the write transaction's
// caches in store_writer.h.
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
#include "storage/membership.h"
#include "storage/record_json.h"
#include "storage/store_internal.h"
#include "storage/store_writer.h"

namespace ncen::storage {

namespace {

// 2: record states keep `seen` and quarantine, fork reports carry evidence
// (docs/log-format.md §7). A format-1 store is upgraded when opened.
constexpr uint32_t kStoreFormatVersion = 2;
// The index's layout: 2 added facts (docs/log-format.md §7).
// 3 added blob references and photos of a record (docs/blobs.md §3).
constexpr uint64_t kIndexFormatVersion = 4;  // 4: `l` terms (the suspects and companies a seizure links)

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
  NCEN_RETURN_IF_ERROR(txn.Commit());
  // The blob databases came with photos, the mail ones with messages: a
  // store made before them gets them (empty) when first opened.
  for (bool write : {false, true}) {
    NCEN_ASSIGN_OR_RETURN(lmdb::Txn blob_txn, lmdb::Txn::Begin(*env_, write));
    bool missing = false;
    for (auto [name, dbi] : {std::pair{"blobs", &dbs_->blobs}, std::pair{"blob_chunks", &dbs_->blob_chunks},
                             std::pair{"mail", &dbs_->mail}, std::pair{"mail_index", &dbs_->mail_index}}) {
      int rc = mdb_dbi_open(blob_txn.get(), name, write ? MDB_CREATE : 0, dbi);
      if (rc == MDB_NOTFOUND && !write) {
        missing = true;
        break;
      }
      NCEN_RETURN_IF_ERROR(lmdb::FromRc(rc, std::string("open database ") + name));
    }
    if (!missing) return blob_txn.Commit();
  }
  return IOError("blob and mail databases could not be opened");
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
  NCEN_RETURN_IF_ERROR(put("index_format", MetaU64(kIndexFormatVersion)));
  NCEN_RETURN_IF_ERROR(txn.Commit());
  store->meta_ = meta;
  // The release key (docs/sharing.md §4), made now so that nothing that
  // only reads (a dry run, a listing) ever has to write it.
  NCEN_RETURN_IF_ERROR(store->LocalSecret("release").status());
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
  NCEN_RETURN_IF_ERROR(store->UpgradeIndex());
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
// The index is derived: a store whose index is of an older layout (before
// facts, docs/log-format.md §7) has it rebuilt by the next CatchUpIndex,
// record by record, as if every change were new.
Status Store::UpgradeIndex() {
  {
    NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
    NCEN_ASSIGN_OR_RETURN(auto v, txn.Get(dbs_->meta, AsBytes("index_format")));
    if (v && v->size() == 8 && GetU64BE(v->data()) == kIndexFormatVersion) return Status::Ok();
  }
  NCEN_RETURN_IF_ERROR(LocalSecret("release").status());
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, true));
  // Again inside the write: another process may have upgraded it meanwhile
  // (and its index may be partly rebuilt already).
  NCEN_ASSIGN_OR_RETURN(auto v, txn.Get(dbs_->meta, AsBytes("index_format")));
  if (v && v->size() == 8 && GetU64BE(v->data()) == kIndexFormatVersion) return Status::Ok();
  NCEN_RETURN_IF_ERROR(txn.Put(dbs_->meta, AsBytes("indexed_change"), MetaU64(0)));
  NCEN_RETURN_IF_ERROR(txn.Put(dbs_->meta, AsBytes("index_format"), MetaU64(kIndexFormatVersion)));
  return txn.Commit();
}

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
  if (c.type == RecordType::kMessage && (state.exists() || c.op != Op::kPut)) {
    return InvalidArgument("record " + FormatRecordId(c.id) + ": a message is written once, never edited or deleted");
  }
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
  // In a network, a node writes only the scopes its certificate allows
  // (peers would refuse the rest), and nothing once revoked.
  NCEN_ASSIGN_OR_RETURN(auto membership, MembershipIn(w.txn()));
  if (membership) {
    const Member* self = membership->Find(me.public_key());
    if (!self) return FailedPrecondition("this node has no certificate in its network yet (ncenctl join)");
    if (self->revoked) return FailedPrecondition("this node's certificate is revoked; local writes are refused");
    for (const LocalChange& c : changes) {
      std::string why;
      if (c.scope == Scope::kNetwork || !membership->MayAuthor({me.public_key(), c.scope}, &why)) {
        return FailedPrecondition(why.empty() ? "records are not written in scope network" : why);
      }
      EntryHeader h;
      h.author = me.public_key();
      h.scope = c.scope;
      h.record_type = c.type;
      h.record_id = c.id;
      h.op = c.op;
      why = RecordRuleProblem(self->cert.kind, self->cert.country, h, c.payload);
      if (!why.empty()) return FailedPrecondition(why);
    }
  }
  for (const LocalChange& c : changes) {
    if (c.scope == Scope::kNetwork || !IsRecordType(c.type) || !TypeAllowedInScope(c.type, c.scope)) {
      return InvalidArgument(std::string("a ") + RecordTypeName(c.type) + " is not written in scope " +
                             ScopeName(c.scope));
    }
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
    // What every peer would refuse is never signed: the author's feed would
    // stop at that entry on all of them (the same rules as ApplyBatch's).
    if (c.op == Op::kDelete) {
      if (!payload_of(i).empty()) return InvalidArgument("a delete carries no payload");
    } else if (Status valid = ValidateRecordPayload(c.type, payload_of(i)); !valid.ok()) {
      return InvalidArgument("record " + FormatRecordId(c.id) + ": " + valid.message());
    }
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

namespace {

// A u64 counter of `meta` (0 when absent), read in `txn`.
Result<uint64_t> MetaCounterIn(const lmdb::Txn& txn, MDB_dbi meta, const char* key) {
  NCEN_ASSIGN_OR_RETURN(auto v, txn.Get(meta, AsBytes(key)));
  if (!v) return uint64_t{0};
  if (v->size() != 8) return Corruption(std::string("meta counter ") + key + " does not decode");
  return GetU64BE(v->data());
}

}  // namespace

Result<bool> Store::BlobIndexCurrent() const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  auto counter = [&](const char* key) { return MetaCounterIn(txn, dbs_->meta, key); };
  NCEN_ASSIGN_OR_RETURN(uint64_t done, counter("indexed_change"));
  NCEN_ASSIGN_OR_RETURN(uint64_t blobs, counter("blob_change"));
  return done >= blobs;
}

Result<uint64_t> Store::IndexBacklog() const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  auto counter = [&](const char* key) { return MetaCounterIn(txn, dbs_->meta, key); };
  NCEN_ASSIGN_OR_RETURN(uint64_t done, counter("indexed_change"));
  NCEN_ASSIGN_OR_RETURN(uint64_t last, counter("next_change"));
  return last > done ? last - done : 0;
}

}  // namespace ncen::storage
