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
#include "crypto/random.h"
#include "storage/store.h"
#include "storage/store_internal.h"

namespace ncen::storage {

namespace {

constexpr const char* kStaleReasonKey = "stale_identity";
constexpr const char* kStaleEvidenceKey = "stale_evidence";

Result<format::FeedValue> HeadOf(const lmdb::Txn& txn, const Store::Dbs& dbs, const FeedId& feed) {
  NCEN_ASSIGN_OR_RETURN(auto v, txn.Get(dbs.feeds, format::FeedKey(feed)));
  if (!v) return format::FeedValue{};
  auto rec = format::ParseFeedValue(*v);
  if (!rec) return Corruption("feeds record does not decode");
  return *rec;
}

}  // namespace

Status PutFork(lmdb::Txn& txn, const Store::Dbs& dbs, const ForkReport& fork, bool* newly) {
  *newly = false;
  NCEN_RETURN_IF_ERROR(VerifyForkEvidence(fork.a, fork.b));
  if (fork.a.header.feed() != fork.feed || fork.a.header.seq != fork.seq) {
    return Unauthenticated("fork evidence is for another feed or seq than the report");
  }
  Bytes key = format::ForkKey(fork.feed, fork.seq);
  NCEN_ASSIGN_OR_RETURN(auto held, txn.Get(dbs.forks, key));
  if (held) return Status::Ok();
  NCEN_RETURN_IF_ERROR(txn.Put(dbs.forks, key, format::EncodeForkValue(fork)));
  *newly = true;
  return Status::Ok();
}

Status PutStaleMark(lmdb::Txn& txn, const Store::Dbs& dbs, const PublicKey& node_id,
                    const SignedHeader& evidence, const std::string& source, bool* newly) {
  *newly = false;
  const EntryHeader& h = evidence.header;
  if (h.author != node_id) return Unauthenticated("stale evidence is not an entry of this node's feed");
  NCEN_ASSIGN_OR_RETURN(format::FeedValue head, HeadOf(txn, dbs, h.feed()));
  bool beyond = h.seq > head.seq;
  if (!beyond) {
    // At a seq this node holds, only a different entry is evidence: this
    // node's key signed two entries at one seq.
    NCEN_ASSIGN_OR_RETURN(auto v, txn.Get(dbs.log, format::LogKey(head.index, h.seq)));
    auto held = v ? format::ParseLogValue(*v) : std::nullopt;
    if (!held) return Corruption("log value does not decode");
    if (held->EntryHash() == evidence.hash()) {
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
  format::AppendSignedHeader(encoded, evidence);
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
    NCEN_ASSIGN_OR_RETURN(ForkReport f, format::ParseForkValue(c.key(), c.value()));
    out.push_back(std::move(f));
  }
  NCEN_RETURN_IF_ERROR(c.status());
  return out;
}

Status Store::ClearFork(const FeedId& feed) {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, true));
  Bytes prefix = format::FeedKey(feed);
  std::vector<Bytes> found;
  {
    NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, dbs_->forks));
    for (c.Seek(prefix); c.Valid() && c.key().size() == format::kForkKeyBytes &&
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
    NCEN_ASSIGN_OR_RETURN(mark.evidence, format::ReadSignedHeader(in));
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

namespace ncen::storage {

Result<Bytes> Store::LocalSecret(const std::string& name) {
  const std::string key = "secret/" + name;
  {
    NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
    NCEN_ASSIGN_OR_RETURN(auto v, txn.Get(dbs_->meta, AsBytes(key)));
    if (v && v->size() == 32) return Bytes(v->begin(), v->end());
    if (v) return Corruption("meta " + key + " is not 32 bytes");
  }
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, true));
  // Another process may have made it meanwhile: writers are serialized.
  NCEN_ASSIGN_OR_RETURN(auto v, txn.Get(dbs_->meta, AsBytes(key)));
  if (v && v->size() == 32) return Bytes(v->begin(), v->end());
  Bytes secret(32);
  crypto::RandomFill(secret.data(), secret.size());
  NCEN_RETURN_IF_ERROR(txn.Put(dbs_->meta, AsBytes(key), secret));
  NCEN_RETURN_IF_ERROR(txn.Commit());
  return secret;
}

}  // namespace ncen::storage
