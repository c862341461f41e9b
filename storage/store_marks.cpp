// Store: the two marks a node keeps about broken feeds, each with its
// evidence (docs/log-format.md §7, docs/protocol.md §6): fork reports (two
// validly signed entries at one seq) and the stale-identity mark (an entry of
// this node's own feed, signed with its key, beyond what it holds). Nothing
// is marked on a peer's word: the evidence is verified before it is stored,
// and an administrator clears a mark after looking at it.
#include <algorithm>
#include <cstring>

#include "base/log.h"
#include "base/text.h"
#include "storage/store.h"
#include "storage/store_internal.h"

namespace ncen::storage {

namespace {

constexpr uint8_t kForkValueVersion = 2;
constexpr size_t kSourceBytesMax = 1024;
constexpr const char* kStaleReasonKey = "stale_identity";
constexpr const char* kStaleEvidenceKey = "stale_evidence";

Result<FeedRecord> HeadOf(const lmdb::Txn& txn, const Store::Dbs& dbs, const FeedId& feed) {
  NCEN_ASSIGN_OR_RETURN(auto v, txn.Get(dbs.feeds, keys::Feed(feed)));
  if (!v) return FeedRecord{};
  auto rec = FeedRecord::Decode(*v);
  if (!rec) return Corruption("feeds record does not decode");
  return *rec;
}

}  // namespace

Bytes ForkKey(const FeedId& feed, uint64_t seq) {
  Bytes key = keys::Feed(feed);
  AppendU64BE(key, seq);
  return key;
}

void AppendSignedHeader(Bytes& out, const SignedHeader& h) {
  AppendU32BE(out, static_cast<uint32_t>(h.header_bytes.size()));
  if (h.header_bytes.empty()) return;
  Append(out, h.header_bytes);
  Append(out, h.signature);
}

Result<std::optional<SignedHeader>> ReadSignedHeader(ByteView& in) {
  auto corrupt = [] { return Corruption("signed header does not decode"); };
  if (in.size() < 4) return corrupt();
  uint32_t len = GetU32BE(in.data());
  if (len == 0) {
    in = in.subspan(4);
    return std::optional<SignedHeader>();
  }
  if (len > kHeaderBytesMax || in.size() < 4 + size_t{len} + 64) return corrupt();
  Signature sig;
  std::memcpy(sig.data(), in.data() + 4 + len, 64);
  NCEN_ASSIGN_OR_RETURN(SignedHeader h, MakeSignedHeader(in.subspan(4, len), sig));
  in = in.subspan(4 + len + 64);
  return std::optional<SignedHeader>(std::move(h));
}

Bytes EncodeForkValue(const ForkReport& f) {
  Bytes v{kForkValueVersion};
  Append(v, f.ours);
  Append(v, f.theirs);
  AppendU64BE(v, static_cast<uint64_t>(f.detected_ms));
  std::string source = SanitizeText(f.source, kSourceBytesMax);
  v.push_back(static_cast<uint8_t>(source.size() >> 8));
  v.push_back(static_cast<uint8_t>(source.size()));
  Append(v, AsBytes(source));
  AppendSignedHeader(v, f.a);
  AppendSignedHeader(v, f.b);
  return v;
}

static Status ReadForkKey(ByteView key, ForkReport& f) {
  if (key.size() != 41 || key[32] >= kScopeCount) return Corruption("fork report key does not decode");
  std::memcpy(f.feed.author.data(), key.data(), 32);
  f.feed.scope = static_cast<Scope>(key[32]);
  f.seq = GetU64BE(key.data() + 33);
  return Status::Ok();
}

Result<ForkReport> DecodeForkValue(ByteView key, ByteView v) {
  auto corrupt = [] { return Corruption("fork report does not decode"); };
  ForkReport f;
  NCEN_RETURN_IF_ERROR(ReadForkKey(key, f));
  if (v.size() < 1 + 64 + 8 + 2 || v[0] != kForkValueVersion) return corrupt();
  std::memcpy(f.ours.data(), v.data() + 1, 32);
  std::memcpy(f.theirs.data(), v.data() + 33, 32);
  f.detected_ms = static_cast<int64_t>(GetU64BE(v.data() + 65));
  size_t source_len = size_t{v[73]} << 8 | v[74];
  if (v.size() < 75 + source_len) return corrupt();
  f.source.assign(reinterpret_cast<const char*>(v.data() + 75), source_len);
  ByteView rest = v.subspan(75 + source_len);
  NCEN_ASSIGN_OR_RETURN(auto a, ReadSignedHeader(rest));
  NCEN_ASSIGN_OR_RETURN(auto b, ReadSignedHeader(rest));
  if (!rest.empty() || a.has_value() != b.has_value()) return corrupt();
  if (a) {
    f.a = std::move(*a);
    f.b = std::move(*b);
    if (f.a.header.feed() != f.feed || f.b.header.feed() != f.feed || f.a.header.seq != f.seq ||
        f.b.header.seq != f.seq) {
      return corrupt();
    }
  }
  return f;
}

Result<ForkReport> DecodeForkValueV1(ByteView key, ByteView v) {
  ForkReport f;
  NCEN_RETURN_IF_ERROR(ReadForkKey(key, f));
  if (v.size() < 72) return Corruption("fork report does not decode");
  std::memcpy(f.ours.data(), v.data(), 32);
  std::memcpy(f.theirs.data(), v.data() + 32, 32);
  f.detected_ms = static_cast<int64_t>(GetU64BE(v.data() + 64));
  f.source.assign(reinterpret_cast<const char*>(v.data() + 72), v.size() - 72);
  return f;
}

Status PutFork(lmdb::Txn& txn, const Store::Dbs& dbs, const ForkReport& fork, bool* newly) {
  *newly = false;
  NCEN_RETURN_IF_ERROR(VerifyForkEvidence(fork.a, fork.b));
  if (fork.a.header.feed() != fork.feed || fork.a.header.seq != fork.seq) {
    return Unauthenticated("fork evidence is for another feed or seq than the report");
  }
  Bytes key = ForkKey(fork.feed, fork.seq);
  NCEN_ASSIGN_OR_RETURN(auto held, txn.Get(dbs.forks, key));
  if (held) return Status::Ok();
  NCEN_RETURN_IF_ERROR(txn.Put(dbs.forks, key, EncodeForkValue(fork)));
  *newly = true;
  return Status::Ok();
}

Status PutStaleMark(lmdb::Txn& txn, const Store::Dbs& dbs, const PublicKey& node_id,
                    const SignedHeader& evidence, const std::string& source, bool* newly) {
  *newly = false;
  const EntryHeader& h = evidence.header;
  if (h.author != node_id) return Unauthenticated("stale evidence is not an entry of this node's feed");
  NCEN_ASSIGN_OR_RETURN(FeedRecord head, HeadOf(txn, dbs, h.feed()));
  bool beyond = h.seq > head.seq;
  if (!beyond) {
    // At a seq this node holds, only a different entry is evidence: this
    // node's key signed two entries at one seq.
    NCEN_ASSIGN_OR_RETURN(auto v, txn.Get(dbs.log, keys::Log(head.index, h.seq)));
    auto held = v ? LogValueHeader(*v) : std::nullopt;
    if (!held) return Corruption("log value does not decode");
    Signature sig;
    std::memcpy(sig.data(), v->data() + 5 + held->size(), 64);
    if (EntryHash(*held, sig) == evidence.hash()) {
      return Unauthenticated("stale evidence: seq " + std::to_string(h.seq) +
                             " is an entry this node holds, not beyond its head " + std::to_string(head.seq));
    }
  }
  if (!evidence.SignatureValid()) return Unauthenticated("stale evidence: the signature does not verify");
  NCEN_ASSIGN_OR_RETURN(auto held, txn.Get(dbs.meta, AsBytes(kStaleReasonKey)));
  if (held && !held->empty()) return Status::Ok();  // the first mark stays
  std::string reason = "an entry of this node's own feed (" + std::string(ScopeName(h.scope)) +
                       " seq " + std::to_string(h.seq) + ", signed " + log::IsoTime(h.timestamp_ms) +
                       (beyond ? ") exists beyond what it holds (seq " + std::to_string(head.seq) + ")"
                               : ") differs from the one it holds at that seq") +
                       ", shown by " + SanitizeText(source, 200) +
                       ": it was restored from an old copy, or its key is in use elsewhere";
  NCEN_RETURN_IF_ERROR(txn.Put(dbs.meta, AsBytes(kStaleReasonKey), AsBytes(reason)));
  Bytes encoded;
  AppendSignedHeader(encoded, evidence);
  NCEN_RETURN_IF_ERROR(txn.Put(dbs.meta, AsBytes(kStaleEvidenceKey), encoded));
  *newly = true;
  return Status::Ok();
}

Status Store::ReportFork(const ForkReport& fork, bool* newly) {
  bool wrote = false;
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, true));
  NCEN_RETURN_IF_ERROR(PutFork(txn, *dbs_, fork, &wrote));
  if (wrote) NCEN_RETURN_IF_ERROR(txn.Commit());
  if (newly) *newly = wrote;
  return Status::Ok();
}

Result<std::vector<ForkReport>> Store::Forks() const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, dbs_->forks));
  std::vector<ForkReport> out;
  for (c.First(); c.Valid(); c.Next()) {
    NCEN_ASSIGN_OR_RETURN(ForkReport f, DecodeForkValue(c.key(), c.value()));
    out.push_back(std::move(f));
  }
  NCEN_RETURN_IF_ERROR(c.status());
  return out;
}

Status Store::ClearFork(const FeedId& feed) {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, true));
  Bytes prefix = keys::Feed(feed);
  std::vector<Bytes> found;
  {
    NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, dbs_->forks));
    for (c.Seek(prefix); c.Valid() && c.key().size() == 41 &&
                         std::equal(prefix.begin(), prefix.end(), c.key().begin());
         c.Next()) {
      found.emplace_back(c.key().begin(), c.key().end());
    }
    NCEN_RETURN_IF_ERROR(c.status());
  }
  if (found.empty()) {
    return NotFound("no fork report for feed " + crypto::Fingerprint(feed.author) + "/" +
                    ScopeName(feed.scope));
  }
  for (const Bytes& key : found) NCEN_RETURN_IF_ERROR(txn.Del(dbs_->forks, key));
  return txn.Commit();
}

Result<std::string> Store::StaleIdentity() const {
  NCEN_ASSIGN_OR_RETURN(StaleMark mark, StaleIdentityMark());
  return mark.reason;
}

Result<StaleMark> Store::StaleIdentityMark() const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  StaleMark mark;
  NCEN_ASSIGN_OR_RETURN(auto reason, txn.Get(dbs_->meta, AsBytes(kStaleReasonKey)));
  if (!reason) return mark;
  mark.reason.assign(AsChars(*reason));
  NCEN_ASSIGN_OR_RETURN(auto evidence, txn.Get(dbs_->meta, AsBytes(kStaleEvidenceKey)));
  if (evidence) {
    ByteView in = *evidence;
    NCEN_ASSIGN_OR_RETURN(mark.evidence, ReadSignedHeader(in));
  }
  return mark;
}

Status Store::MarkStaleIdentity(const SignedHeader& evidence, const std::string& source,
                                bool* newly) {
  bool wrote = false;
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, true));
  NCEN_RETURN_IF_ERROR(PutStaleMark(txn, *dbs_, meta_.node_id, evidence, source, &wrote));
  if (wrote) NCEN_RETURN_IF_ERROR(txn.Commit());
  if (newly) *newly = wrote;
  return Status::Ok();
}

Status Store::ClearStaleIdentity() {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, true));
  NCEN_ASSIGN_OR_RETURN(auto held, txn.Get(dbs_->meta, AsBytes(kStaleReasonKey)));
  if (!held) return NotFound("this node's identity is not marked stale");
  NCEN_RETURN_IF_ERROR(txn.Del(dbs_->meta, AsBytes(kStaleReasonKey)));
  NCEN_RETURN_IF_ERROR(txn.Del(dbs_->meta, AsBytes(kStaleEvidenceKey)));
  return txn.Commit();
}

}  // namespace ncen::storage
