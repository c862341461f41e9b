// Store: network membership (docs/membership.md) — the network root, the
// membership derived from the network entries held, local network entries
// (an authority's certificates and revocations), records rebuilt when a
// revocation cuts entries already applied, and violation reports.
#include <algorithm>
#include <mutex>

#include "base/text.h"
#include "storage/membership.h"
#include "storage/store.h"
#include "storage/store_internal.h"
#include "storage/store_writer.h"

namespace ncen::storage {

namespace {

constexpr const char* kRootKey = "network_root";
constexpr const char* kGenerationKey = "network_generation";
constexpr const char* kSnapshotKey = "network_snapshot";  // generation u64 | Membership::EncodeSnapshot
constexpr uint8_t kViolationKind = 'v';

Bytes ViolationKey(const FeedId& feed) {
  Bytes k{kViolationKind};
  Append(k, feed.author);
  k.push_back(static_cast<uint8_t>(feed.scope));
  return k;
}

void AppendText16(Bytes& out, const std::string& text) {
  out.push_back(static_cast<uint8_t>(text.size() >> 8));
  out.push_back(static_cast<uint8_t>(text.size()));
  Append(out, AsBytes(text));
}

Bytes EncodeViolation(const Violation& v) {
  Bytes out{1};
  AppendU64BE(out, v.seq);
  AppendU64BE(out, static_cast<uint64_t>(v.detected_ms));
  AppendText16(out, v.source);
  AppendText16(out, v.reason);
  AppendU32BE(out, static_cast<uint32_t>(v.evidence.header_bytes.size()));
  Append(out, v.evidence.header_bytes);
  Append(out, v.evidence.signature);
  return out;
}

std::optional<Violation> DecodeViolation(ByteView key, ByteView value) {
  if (key.size() != 34 || key[0] != kViolationKind || key[33] >= kFeedScopeCount) return std::nullopt;
  Violation v;
  std::copy(key.begin() + 1, key.begin() + 33, v.feed.author.begin());
  v.feed.scope = Scope(key[33]);
  size_t pos = 0;
  auto need = [&](size_t n) { return n <= value.size() - pos; };
  if (!need(17) || value[0] != 1) return std::nullopt;
  v.seq = GetU64BE(value.data() + 1);
  v.detected_ms = static_cast<int64_t>(GetU64BE(value.data() + 9));
  pos = 17;
  for (std::string* text : {&v.source, &v.reason}) {
    if (!need(2)) return std::nullopt;
    size_t n = size_t{value[pos]} << 8 | value[pos + 1];
    pos += 2;
    if (!need(n)) return std::nullopt;
    text->assign(reinterpret_cast<const char*>(value.data() + pos), n);
    pos += n;
  }
  if (!need(4)) return std::nullopt;
  size_t n = GetU32BE(value.data() + pos);
  pos += 4;
  if (!need(n) || n > kHeaderBytesMax) return std::nullopt;
  Bytes header(value.begin() + pos, value.begin() + pos + n);
  pos += n;
  if (!need(64)) return std::nullopt;
  Signature sig{};
  std::copy(value.begin() + pos, value.begin() + pos + 64, sig.begin());
  pos += 64;
  if (pos != value.size()) return std::nullopt;
  auto signed_header = MakeSignedHeader(header, sig);
  if (!signed_header.ok()) return std::nullopt;
  v.evidence = std::move(signed_header).value();
  return v;
}

Result<std::optional<PublicKey>> ReadRoot(lmdb::Txn& txn, const Store::Dbs& dbs) {
  NCEN_ASSIGN_OR_RETURN(auto v, txn.Get(dbs.meta, AsBytes(kRootKey)));
  if (!v) return std::optional<PublicKey>();
  if (v->size() != 32) return Corruption("store meta network_root is not 32 bytes");
  PublicKey root{};
  std::copy(v->begin(), v->end(), root.begin());
  return std::optional<PublicKey>(root);
}

Result<uint64_t> ReadGeneration(lmdb::Txn& txn, const Store::Dbs& dbs) {
  NCEN_ASSIGN_OR_RETURN(auto v, txn.Get(dbs.meta, AsBytes(kGenerationKey)));
  if (!v) return uint64_t{0};
  if (v->size() != 8) return Corruption("store meta network_generation does not decode");
  return GetU64BE(v->data());
}

// Every network entry held, into a membership of `root`.
Result<std::shared_ptr<Membership>> LoadMembership(lmdb::Txn& txn, const Store::Dbs& dbs, const PublicKey& root) {
  auto m = std::make_shared<Membership>(root);
  NCEN_ASSIGN_OR_RETURN(lmdb::Cursor fc, lmdb::Cursor::Open(txn, dbs.feeds));
  for (fc.First(); fc.Valid(); fc.Next()) {
    auto feed = format::ParseFeedKey(fc.key());
    auto rec = format::ParseFeedValue(fc.value());
    if (!feed || !rec) return Corruption("feeds record does not decode");
    if (feed->scope != Scope::kNetwork) continue;
    NCEN_ASSIGN_OR_RETURN(lmdb::Cursor lc, lmdb::Cursor::Open(txn, dbs.log));
    auto prefix = format::U32Key(rec->index);
    for (lc.Seek(prefix); lc.Valid() && lc.key().size() > 4 && std::equal(prefix.begin(), prefix.end(), lc.key().begin());
         lc.Next()) {
      auto value = format::ParseLogValue(lc.value());
      auto key = format::ParseLogKey(lc.key());
      if (!value || !key) return Corruption("log value does not decode");
      // Taken entries were checked when they came: the payload's magic says
      // its type, and the header need not be decoded.
      if (!value->has_payload) continue;
      RecordType type = value->payload.size() >= 3 && value->payload[2] == 'R' ? RecordType::kRevocation
                                                                                : RecordType::kCertificate;
      m->Add(Dot{feed->author, key->seq}, type, value->payload);
    }
    NCEN_RETURN_IF_ERROR(lc.status());
  }
  NCEN_RETURN_IF_ERROR(fc.status());
  m->Rebuild();
  return m;
}

}  // namespace

Result<std::optional<PublicKey>> Store::NetworkRoot() const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  return ReadRoot(txn, *dbs_);
}

Status Store::SetNetworkRoot(const PublicKey& root) {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, true));
  NCEN_ASSIGN_OR_RETURN(auto held, ReadRoot(txn, *dbs_));
  if (held) {
    if (*held == root) return Status::Ok();
    return ConflictError("this node belongs to the network of root " + crypto::Fingerprint(*held) +
                         ", not " + crypto::Fingerprint(root));
  }
  NCEN_RETURN_IF_ERROR(txn.Put(dbs_->meta, AsBytes(kRootKey), root));
  NCEN_ASSIGN_OR_RETURN(uint64_t gen, ReadGeneration(txn, *dbs_));
  NCEN_RETURN_IF_ERROR(txn.Put(dbs_->meta, AsBytes(kGenerationKey), MetaU64(gen + 1)));
  NCEN_ASSIGN_OR_RETURN(auto m, LoadMembership(txn, *dbs_, root));
  NCEN_RETURN_IF_ERROR(PutNetworkGeneration(txn, *m, gen + 1));
  return txn.Commit();
}

Result<std::shared_ptr<const Membership>> Store::MembershipIn(lmdb::Txn& txn, bool complete) const {
  NCEN_ASSIGN_OR_RETURN(uint64_t gen, ReadGeneration(txn, *dbs_));
  {
    std::lock_guard<std::mutex> lock(membership_mu_);
    if (membership_loaded_ && membership_generation_ == gen &&
        (!complete || !membership_ || membership_->complete())) {
      return membership_;
    }
  }
  NCEN_ASSIGN_OR_RETURN(auto root, ReadRoot(txn, *dbs_));
  std::shared_ptr<const Membership> m;
  if (root) {
    // A snapshot of this generation saves deriving it all again (a node's
    // start); taking more network entries needs them all.
    NCEN_ASSIGN_OR_RETURN(auto snapshot, txn.Get(dbs_->meta, AsBytes(kSnapshotKey)));
    std::shared_ptr<Membership> from_snapshot;
    if (!complete && snapshot && snapshot->size() >= 8 && GetU64BE(snapshot->data()) == gen) {
      // Only a cache: one that does not decode is derived again.
      auto decoded = Membership::FromSnapshot(*root, snapshot->subspan(8));
      if (decoded.ok()) from_snapshot = std::move(decoded).value();
    }
    if (from_snapshot) {
      m = std::move(from_snapshot);
    } else {
      NCEN_ASSIGN_OR_RETURN(auto loaded, LoadMembership(txn, *dbs_, *root));
      m = std::move(loaded);
    }
  }
  std::lock_guard<std::mutex> lock(membership_mu_);
  membership_ = m;
  membership_generation_ = gen;
  membership_loaded_ = true;
  return m;
}

// The generation changes in the transaction that changes the network
// entries, and the snapshot with it.
Status Store::PutNetworkGeneration(lmdb::Txn& txn, const Membership& m, uint64_t gen) {
  Bytes value;
  AppendU64BE(value, gen);
  Append(value, m.EncodeSnapshot());
  return txn.Put(dbs_->meta, AsBytes(kSnapshotKey), value);
}

Result<std::shared_ptr<const Membership>> Store::GetMembership() const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  return MembershipIn(txn);
}

void Store::CacheMembership(std::shared_ptr<const Membership> m, uint64_t generation) const {
  if (m) (void)m->members();  // derived before it is shared
  std::lock_guard<std::mutex> lock(membership_mu_);
  membership_ = std::move(m);
  membership_generation_ = generation;
  membership_loaded_ = true;
}

Result<Dot> Store::AppendNetworkEntry(const crypto::Identity& me, RecordType type, const Bytes& payload) {
  NCEN_CHECK(me.public_key() == meta_.node_id);
  if (type != RecordType::kCertificate && type != RecordType::kRevocation) {
    return InvalidArgument("a network entry is a certificate or a revocation");
  }
  if (Status s = ValidateNetworkPayload(type, payload); !s.ok()) return InvalidArgument(s.message());
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, true));
  Writer w(*dbs_, std::move(txn));
  NCEN_ASSIGN_OR_RETURN(auto stale, w.txn().Get(dbs_->meta, AsBytes("stale_identity")));
  if (stale) return FailedPrecondition("this node's identity is stale; local writes are refused");
  NCEN_ASSIGN_OR_RETURN(auto current, MembershipIn(w.txn(), /*complete=*/true));
  if (!current) return FailedPrecondition("this data directory belongs to no network (ncenctl network create, or join)");
  const Member* self = current->Find(me.public_key());
  if (!self || !self->authority()) {
    return FailedPrecondition("this node is not an authority of the network: it cannot certify or revoke");
  }
  if (self->revoked) return FailedPrecondition("this authority is revoked");
  NCEN_ASSIGN_OR_RETURN(Writer::Feed * feed, w.GetFeed({me.public_key(), Scope::kNetwork}));
  EntryHeader h;
  h.format_version = kNetworkEntryFormatVersion;
  h.author = me.public_key();
  h.scope = Scope::kNetwork;
  h.seq = feed->record.seq + 1;
  h.prev = feed->record.head;
  h.timestamp_ms = NowMs();
  {
    // Nothing reads a network entry's record id; it is derived from what
    // the entry is (no random bytes: the simulation replays it exactly).
    crypto::Blake2bHasher id;
    id.Update(AsBytes("ncen network entry id v1"));
    id.Update(h.author);
    Bytes seq;
    AppendU64BE(seq, h.seq);
    id.Update(seq);
    id.Update(payload);
    crypto::Hash256 digest = id.Final();
    std::copy_n(digest.begin(), 16, h.record_id.begin());
  }
  h.record_type = type;
  h.op = Op::kPut;
  // A country authority's entry names the root's certificate of it: the
  // entry is taken only where that is held (docs/membership.md §4).
  if (!self->root) h.context.dots.push_back(Dot{self->issuer, self->cert_seq});
  if (h.seq > 1) h.context.Add(Dot{h.author, h.seq - 1});
  if (Status s = current->CheckEntry(h, payload); !s.ok()) return InvalidArgument(s.message());
  Entry e = MakeEntry(h, payload, me);
  ByteView body(e.payload);
  NCEN_RETURN_IF_ERROR(w.PutLog(feed->record.index, e.header.seq, e.header_bytes, e.signature, &body));
  feed->record.seq = e.header.seq;
  feed->record.head = e.hash();
  feed->dirty = true;
  auto next = std::make_shared<Membership>(*current);
  next->Add(e.header, e.payload);
  NCEN_RETURN_IF_ERROR(RebuildRevokedRecords(w, *current, *next));
  NCEN_ASSIGN_OR_RETURN(uint64_t gen, w.MetaCounter(kGenerationKey));
  w.SetCounter(kGenerationKey, gen + 1);
  NCEN_RETURN_IF_ERROR(PutNetworkGeneration(w.txn(), *next, gen + 1));
  NCEN_RETURN_IF_ERROR(w.Finish());
  CacheMembership(next, gen + 1);
  return e.header.dot();
}

Status Store::NetworkChanged(Writer& w, const Membership& before, std::shared_ptr<const Membership> after,
                             uint64_t* generation) {
  NCEN_RETURN_IF_ERROR(RebuildRevokedRecords(w, before, *after));
  NCEN_ASSIGN_OR_RETURN(uint64_t gen, w.MetaCounter(kGenerationKey));
  w.SetCounter(kGenerationKey, gen + 1);
  NCEN_RETURN_IF_ERROR(PutNetworkGeneration(w.txn(), *after, gen + 1));
  *generation = gen + 1;
  return Status::Ok();
}

// A revocation whose cut-off is below entries this node applied already:
// the records those entries touched are derived again from the log without
// every entry past a cut-off — the same state as on a node that never
// received them (docs/membership.md §5).
Status Store::RebuildRevokedRecords(Writer& w, const Membership& before, const Membership& after) {
#ifdef NCEN_MUTANT_SKIP_REVOCATION  // tests/sim: a mutant that ignores revocations
  return Status::Ok();
#endif
  // Every key whose cut-off moved, either way: a new revocation, a lower
  // one, a certificate that fell (its issuer revoked before it: cut 0), or
  // one that stopped counting (cut back up) — the entries between the two
  // cut-offs change sides.
  std::set<PublicKey> keys;
  for (const Membership* m : {&before, &after}) {
    for (const auto& [key, member] : m->members()) keys.insert(key);
    for (const auto& [key, cut] : m->revoked_unknown()) keys.insert(key);
  }
  std::set<RecordId> affected;
  for (const PublicKey& key : keys) {
    for (int s = 0; s < kScopeCount; ++s) {
      FeedId feed{key, Scope(s)};
      uint64_t cut_now = after.CutoffOf(feed), cut_before = before.CutoffOf(feed);
      if (cut_now == cut_before) continue;
      NCEN_ASSIGN_OR_RETURN(Writer::Feed * f, w.FindFeed(feed));
      uint64_t low = std::min(cut_now, cut_before), high = std::min(std::max(cut_now, cut_before), f ? f->record.seq : 0);
      for (uint64_t seq = low + 1; seq <= high; ++seq) {
        NCEN_ASSIGN_OR_RETURN(auto value, w.StoredLogValue(f->record.index, seq));
        if (!value) return Corruption("log of a revoked feed has a hole");
        NCEN_ASSIGN_OR_RETURN(EntryHeader h, DecodeHeader(value->header));
        affected.insert(h.record_id);
      }
    }
  }
  if (affected.empty()) return Status::Ok();
  // Replay every change of those records, in the order applied, skipping
  // what the cut-offs revoke.
  std::map<uint32_t, FeedId> feeds;
  std::map<RecordId, RecordState> rebuilt;
  std::set<std::pair<uint32_t, uint64_t>> seen_entries;
  NCEN_ASSIGN_OR_RETURN(lmdb::Cursor cc, lmdb::Cursor::Open(w.txn(), dbs_->changes));
  for (cc.First(); cc.Valid(); cc.Next()) {
    auto change = format::ParseChangeValue(cc.value());
    if (!change) return Corruption("changes record does not decode");
    if (!affected.count(change->record)) continue;
    auto fi = feeds.find(change->feed_index);
    if (fi == feeds.end()) {
      NCEN_ASSIGN_OR_RETURN(auto fk, w.txn().Get(dbs_->feed_index, format::U32Key(change->feed_index)));
      auto feed = fk ? format::ParseFeedKey(*fk) : std::nullopt;
      if (!feed) return Corruption("feed_index record does not decode");
      fi = feeds.emplace(change->feed_index, *feed).first;
    }
    if (change->seq > after.CutoffOf(fi->second)) continue;
    if (!seen_entries.insert({change->feed_index, change->seq}).second) continue;  // a payload filled in
    NCEN_ASSIGN_OR_RETURN(auto value, w.StoredLogValue(change->feed_index, change->seq));
    if (!value) return Corruption("changes feed names an entry missing from the log");
    NCEN_ASSIGN_OR_RETURN(EntryHeader h, DecodeHeader(value->header));
    ApplyVersion(rebuilt[h.record_id], h.record_type, h.scope,
                 Version{h.dot(), change->feed_index, h.timestamp_ms, h.op, h.context});
  }
  NCEN_RETURN_IF_ERROR(cc.status());
  for (const RecordId& id : affected) {
    NCEN_ASSIGN_OR_RETURN(Writer::Record * record, w.GetRecord(id));
    RecordState state = rebuilt.count(id) ? std::move(rebuilt[id]) : RecordState{};
    if (!state.exists()) state.type = record->state.type;  // for the live counters
    record->state = std::move(state);
    record->dirty = true;
    // The search index follows the changes feed: name the record there
    // again (one of its versions; replaying a held entry changes nothing),
    // so its terms are those of the versions left. A record left with none
    // loses its terms when it is removed (Writer::Finish).
    if (!record->state.versions.empty()) {
      const Version& v = record->state.versions.front();
      NCEN_RETURN_IF_ERROR(w.AppendChange(v.feed_index, v.dot.seq, id));
    }
  }
  return Status::Ok();
}

Status Store::ReplaceNodeId(const PublicKey& key) {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, true));
  NCEN_RETURN_IF_ERROR(txn.Put(dbs_->meta, AsBytes("node_id"), key));
  NCEN_RETURN_IF_ERROR(txn.Del(dbs_->meta, AsBytes("stale_identity")));
  NCEN_RETURN_IF_ERROR(txn.Del(dbs_->meta, AsBytes("stale_evidence")));
  NCEN_RETURN_IF_ERROR(txn.Commit());
  meta_.node_id = key;
  return Status::Ok();
}

Status PutViolation(lmdb::Txn& txn, const Store::Dbs& dbs, const Violation& v) {
  return txn.Put(dbs.peers, ViolationKey(v.feed), EncodeViolation(v));
}

Result<size_t> CountViolations(lmdb::Txn& txn, const Store::Dbs& dbs) {
  NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, dbs.peers));
  size_t n = 0;
  Bytes prefix{kViolationKind};
  for (c.Seek(prefix); c.Valid() && !c.key().empty() && c.key()[0] == kViolationKind; c.Next()) ++n;
  NCEN_RETURN_IF_ERROR(c.status());
  return n;
}

Result<std::vector<Violation>> Store::Violations() const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, dbs_->peers));
  std::vector<Violation> out;
  Bytes prefix{kViolationKind};
  for (c.Seek(prefix); c.Valid() && !c.key().empty() && c.key()[0] == kViolationKind; c.Next()) {
    auto v = DecodeViolation(c.key(), c.value());
    if (!v) return Corruption("violation report does not decode");
    out.push_back(std::move(*v));
  }
  NCEN_RETURN_IF_ERROR(c.status());
  return out;
}

Status Store::ClearViolations(const std::optional<PublicKey>& author) {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, true));
  std::vector<Bytes> keys;
  {
    NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, dbs_->peers));
    Bytes prefix{kViolationKind};
    if (author) Append(prefix, *author);
    for (c.Seek(prefix); c.Valid() && c.key().size() >= prefix.size() &&
                         std::equal(prefix.begin(), prefix.end(), c.key().begin());
         c.Next()) {
      keys.emplace_back(c.key().begin(), c.key().end());
    }
    NCEN_RETURN_IF_ERROR(c.status());
  }
  if (keys.empty()) return NotFound("no violation report to clear");
  for (const Bytes& k : keys) NCEN_RETURN_IF_ERROR(txn.Del(dbs_->peers, k));
  return txn.Commit();
}

}  // namespace ncen::storage
