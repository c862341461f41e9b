// Store: remote batches (ApplyBatch, docs/log-format.md §6). What one batch
// may do is decided entry by entry: the batch-order check, then hashes,
// payloads and signatures verified on two threads, then the apply loop.
#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "base/text.h"
#include "storage/membership.h"
#include "storage/record_json.h"
#include "storage/store.h"
#include "storage/store_internal.h"
#include "storage/store_writer.h"

namespace ncen::storage {

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

// A message entry that edits or deletes one: every message is written once
// (docs/messages.md §1). DecodeHeader refuses it too, for entries that come
// as bytes.
bool IsEditedMessage(const EntryHeader& h) {
  return h.record_type == RecordType::kMessage && (h.op != Op::kPut || !h.context.dots.empty());
}

// What an entry's payload is worth, checked on the hashing threads.
EntryError PayloadError(const Entry& e) {
  if (!e.has_payload) return EntryError::kWithheldPayload;
  if (!CheckPayload(e).ok()) return EntryError::kPayloadMismatch;
  if (e.header.scope == Scope::kNetwork) {
    return ValidateNetworkPayload(e.header.record_type, e.payload).ok() ? EntryError::kNone
                                                                         : EntryError::kMalformedPayload;
  }
  if (IsEditedMessage(e.header)) return EntryError::kMalformedPayload;
  if (e.header.op == Op::kDelete) return e.payload.empty() ? EntryError::kNone : EntryError::kMalformedPayload;
  if (!ValidateRecordPayload(e.header.record_type, e.payload).ok()) return EntryError::kMalformedPayload;
  return EntryError::kNone;
}

std::string PayloadMessage(const Entry& e, EntryError error) {
  switch (error) {
    case EntryError::kWithheldPayload: return "the payload is withheld";
    case EntryError::kPayloadMismatch: return CheckPayload(e).message();
    case EntryError::kMalformedPayload:
      if (e.header.scope == Scope::kNetwork) return ValidateNetworkPayload(e.header.record_type, e.payload).message();
      if (IsEditedMessage(e.header)) return "a message is written once (op put, no context); this one edits or deletes one";
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

// ---------------------------------------------------------------------------
// The apply loop

// One attempt at a batch, inside one write transaction: each entry is taken
// (appended and applied to its record), refused with the rest of its feed,
// or deferred until an entry its context names has been taken (the feed is
// tried again after the batch's other feeds). Errors are the store's; what a
// peer did wrong is a Refusal in the report.
class Store::BatchApplier {
 public:
  BatchApplier(Store& store, Writer& w, std::span<const Entry> entries, const BatchPlan& plan,
               BatchVerifier& verifier, const std::string& source, const BatchExclusions& excluded,
               std::shared_ptr<const Membership> membership)
      : store_(store), w_(w), entries_(entries), plan_(plan), verifier_(verifier), source_(source),
        excluded_(excluded), membership_(std::move(membership)) {}

  // The membership as this transaction changed it, when it took network
  // entries; else null.
  std::shared_ptr<const Membership> changed_membership() const { return changed_; }
  const Membership* membership_before() const { return membership_.get(); }

  // In batch order first: a sender orders entries by time, and time-ordered
  // record ids make the record writes appends. Network entries (few) before
  // all others: a certificate may be what lets a record entry in.
  Status TakeInBatchOrder() {
    bool any_network = std::any_of(entries_.begin(), entries_.end(),
                                   [](const Entry& e) { return e.header.scope == Scope::kNetwork; });
    if (any_network) {
      NCEN_RETURN_IF_ERROR(TakeInBatchOrderPass(true));
      // A certificate whose root certificate came later in the batch: taken
      // now, before the record entries it lets in.
      NCEN_RETURN_IF_ERROR(TakeDeferredPass());
    }
    return TakeInBatchOrderPass(false);
  }

 private:
  Status TakeInBatchOrderPass(bool network_pass) {
    const FeedId* prev_feed = nullptr;
    FeedProgress* prev_progress = nullptr;
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (network_pass != (entries_[i].header.scope == Scope::kNetwork)) continue;
      const FeedId feed = entries_[i].header.feed();
      FeedProgress* fp = prev_feed && *prev_feed == feed ? prev_progress : nullptr;
      if (!fp) {
        auto it = progress_.try_emplace(feed).first;
        prev_feed = &it->first;
        fp = prev_progress = &it->second;
      }
      if (fp->refused || fp->deferred) continue;
      if (!plan_.in_order[i]) {
        RefuseOutOfOrder(feed, *fp);
        continue;
      }
      NCEN_RETURN_IF_ERROR(Take(i, *fp));
      if (!fp->refused && !fp->deferred) ++fp->next;
    }
    return Status::Ok();
  }

 public:
  // Then the feeds that waited for an entry of another feed, as long as one
  // of them gets further; what still waits is refused.
  Status TakeDeferred() {
    NCEN_RETURN_IF_ERROR(TakeDeferredPass());
    // Still waiting: perhaps for each other. Entries whose contexts name one
    // another cannot exist if each was written after what it names — but a
    // node restored from an old copy writes its lost seqs again, and an
    // entry that named the lost one now names the new one, which may name
    // it back. Such a cycle can only be taken whole, from one batch: once
    // more, a dot that a waiting feed's own entries in this batch bring
    // counts as held. CheckBatchDeps confirms before the commit that every
    // dot so counted was taken after all.
    if (std::any_of(progress_.begin(), progress_.end(), [](const auto& kv) { return kv.second.deferred; })) {
      batch_deps_ = true;
      NCEN_RETURN_IF_ERROR(TakeDeferredPass());
      batch_deps_ = false;
    }
    for (auto& [feed, fp] : progress_) {
      if (!fp.deferred) continue;
      size_t i = plan_.feeds.at(feed).entries[fp.next];
      report_.refused.push_back(Refusal{feed, entries_[i].header.seq, EntryError::kMissingDependency,
                                        SanitizeText(fp.deferred_message, 300), i});
    }
    std::sort(report_.refused.begin(), report_.refused.end(),
              [](const Refusal& a, const Refusal& b) { return a.index < b.index; });
    return Status::Ok();
  }

  // Feeds that took an entry on the strength of a dot this batch was to
  // bring but did not (an entry of the cycle refused for another reason):
  // the batch must not commit them (call after TakeDeferred).
  Result<std::set<FeedId>> CheckBatchDeps() {
    std::set<FeedId> unmet;
    for (const auto& [feed, dep] : batch_dep_uses_) {
      NCEN_ASSIGN_OR_RETURN(uint64_t held, w_.HeadSeq(dep.first));
      if (held < dep.second) unmet.insert(feed);
    }
    return unmet;
  }

 private:
  Status TakeDeferredPass() {
    for (bool moved = true; moved;) {
      moved = false;
      for (auto& [feed, fp] : progress_) {
        if (!fp.deferred) continue;
        fp.deferred = false;
        const auto& plan_feed = plan_.feeds.at(feed);
        size_t before = fp.next;
        while (fp.next < plan_feed.entries.size() && !fp.refused && !fp.deferred) {
          NCEN_RETURN_IF_ERROR(Take(plan_feed.entries[fp.next], fp));
          if (!fp.refused && !fp.deferred) ++fp.next;
        }
        if (fp.next > before) moved = true;
        if (!fp.refused && !fp.deferred && plan_feed.out_of_order != SIZE_MAX) RefuseOutOfOrder(feed, fp);
      }
    }
    return Status::Ok();
  }

 public:

  // The signature of each feed's last taken entry vouches for the feed's
  // entries in this batch. It is usually the run end, which the verifier
  // checked already (call after BatchVerifier::Finish).
  void CheckRunSignatures(std::set<FeedId>* bad_signatures) const {
    for (const auto& [feed, fp] : progress_) {
      if (fp.last_taken == SIZE_MAX) continue;
      bool valid = fp.last_taken == plan_.run_end(feed) ? verifier_.run_end_valid(fp.last_taken)
                                                        : CheckSignature(entries_[fp.last_taken]);
      if (!valid) bad_signatures->insert(feed);
    }
  }

  ApplyReport& report() { return report_; }

 private:
  struct FeedProgress {
    size_t next = 0;  // position in the feed's in-order entries (BatchPlan::feeds)
    bool refused = false;
    bool deferred = false;  // waits for an entry its context names
    std::string deferred_message;
    bool own_feed_checked = false;  // this node's own feed: the stale mark is set
    size_t last_taken = SIZE_MAX;
    bool member_ok = false;  // a record feed the network's rules let in (CheckMembership) ...
    uint64_t cutoff = 0;     // ... up to this seq
    MemberKind author_kind{};  // ... written by a member of this kind
    std::string author_country;  // ... of this country
  };

  // Refuses entry i, and with it the rest of its feed in this batch.
  void Refuse(size_t i, FeedProgress& fp, EntryError error, const std::string& message) {
    fp.refused = true;
    const EntryHeader& h = entries_[i].header;
    report_.refused.push_back(Refusal{h.feed(), h.seq, error, SanitizeText(message, 300), i});
  }

  void RefuseOutOfOrder(const FeedId& feed, FeedProgress& fp) {
    size_t i = plan_.feeds.at(feed).out_of_order;
    fp.refused = true;
    report_.refused.push_back(Refusal{feed, entries_[i].header.seq, EntryError::kOutOfOrder,
                                      "seq " + std::to_string(entries_[i].header.seq) + " of feed " +
                                          FeedText(feed) + " comes after a higher seq in the batch",
                                      i});
  }

  // Takes entry i, or refuses or defers it.
  Status Take(size_t i, FeedProgress& fp) {
    const Entry& e = entries_[i];
    const EntryHeader& h = e.header;
    const FeedId feed = h.feed();
    verifier_.WaitFor(i);
    NCEN_ASSIGN_OR_RETURN(Writer::Feed * f, w_.FindFeed(feed));
    uint64_t head = f ? f->record.seq : 0;
    if (h.seq <= head) return TakeHeld(i, *f, fp);

    NCEN_ASSIGN_OR_RETURN(bool forked, w_.FeedForked(feed));
    if (forked) {
      Refuse(i, fp, EntryError::kForkedFeed, "feed " + FeedText(feed) + " has a fork report; it is not synced "
                                             "until an administrator clears it");
      return Status::Ok();
    }
    if (h.author == store_.meta_.node_id && !fp.own_feed_checked) {
      // Our own feed, beyond what we hold, signed with our key: we were
      // restored from an old copy (or the key is used elsewhere). The mark
      // stops local writes; the entries themselves are taken, so that the
      // node gets back what it lost and relays it (and entries that name
      // them) until an administrator decides (docs/protocol.md §6).
      if (!CheckSignature(e)) {
        Refuse(i, fp, EntryError::kBadSignature, "signature does not verify against the header's author");
        return Status::Ok();
      }
      bool newly = false;
      NCEN_RETURN_IF_ERROR(
          PutStaleMark(w_.txn(), *store_.dbs_, store_.meta_.node_id, SignedHeaderOf(e), source_, &newly));
      fp.own_feed_checked = true;
      report_.marked_stale = report_.marked_stale || newly;
    }
    if (excluded_.bad_signature.count(feed)) {
      Refuse(i, fp, EntryError::kBadSignature, "signature does not verify against the header's author");
      return Status::Ok();
    }
    if (excluded_.unmet_deps.count(feed)) {
      Refuse(i, fp, EntryError::kMissingDependency,
             "its context names entries this node does not hold, which the batch did not bring");
      return Status::Ok();
    }
    if (h.seq > head + 1) {
      Refuse(i, fp, EntryError::kGap, "gap: seq " + std::to_string(h.seq) + " after head " + std::to_string(head));
      return Status::Ok();
    }
    if (h.prev != (f ? f->record.head : Hash256{})) {
      Refuse(i, fp, EntryError::kPrevMismatch,
             "prev hash of seq " + std::to_string(h.seq) + " does not match the feed's head");
      return Status::Ok();
    }
    if (EntryError error = verifier_.payload_error(i); error != EntryError::kNone) {
      Refuse(i, fp, error, PayloadMessage(e, error));
      return Status::Ok();
    }
    NCEN_ASSIGN_OR_RETURN(bool member_ok, CheckMembership(i, fp));
    if (!member_ok) return Status::Ok();
    NCEN_ASSIGN_OR_RETURN(bool context_held, CheckContext(i, fp));
    if (!context_held) return Status::Ok();
    if (h.scope == Scope::kNetwork) return TakeNetwork(i, f, fp);
    NCEN_ASSIGN_OR_RETURN(Writer::Record * record, w_.GetRecord(h.record_id));
    const RecordState& state = record->state;
    if (uint64_t previous = state.seen.SeqOf(h.author); h.context.SeqOf(h.author) < previous) {
      Refuse(i, fp, EntryError::kBadContext,
             "the context does not cover its author's previous entry of record " + FormatRecordId(h.record_id) +
                 " (seq " + std::to_string(previous) + ")");
      return Status::Ok();
    }
    bool same_class = state.exists() && !state.quarantined() && state.type == h.record_type &&
                      state.scope == h.scope;
    if (same_class && VersionsAfter(state, h.dot(), h.context) > limits::kRecordVersionsMax) {
      Refuse(i, fp, EntryError::kTooManyVersions,
             "record " + FormatRecordId(h.record_id) + " would have more than " +
                 std::to_string(limits::kRecordVersionsMax) + " versions");
      return Status::Ok();
    }
    if (!f) {
      NCEN_ASSIGN_OR_RETURN(f, w_.GetFeed(feed));
    }
    ByteView payload(e.payload);
    NCEN_RETURN_IF_ERROR(w_.PutLog(f->record.index, h.seq, e.header_bytes, e.signature, &payload));
    f->record.seq = h.seq;
    f->record.head = verifier_.hash(i);
    f->dirty = true;
    NCEN_RETURN_IF_ERROR(w_.Apply(*record, h, f->record.index).status());
    fp.last_taken = i;
    ++report_.applied;
    return Status::Ok();
  }

  const Membership* current() const { return changed_ ? changed_.get() : membership_.get(); }

  // The network's rules for entry i (docs/membership.md §3–5): not past a
  // revocation's cut-off; a record entry's author certified for its scope
  // and this node allowed to hold its feed (else refused and reported). A
  // store of no network takes no network entry. False when refused.
  Result<bool> CheckMembership(size_t i, FeedProgress& fp) {
    const Entry& e = entries_[i];
    const EntryHeader& h = e.header;
    const Membership* m = current();
    if (!m) {
      if (h.scope != Scope::kNetwork) return true;
      Refuse(i, fp, EntryError::kNotAuthorized, "a network entry, and this node belongs to no network");
      return false;
    }
    const FeedId feed = h.feed();
    if (h.scope == Scope::kNetwork) {
      // Who may write it is CheckEntry's, once its context is held.
      if (uint64_t cut = m->CutoffOf(feed); h.seq > cut) {
        RefuseRevoked(i, fp, cut);
        return false;
      }
      return true;
    }
    // A record feed passes once per batch (the hot path: map lookups per
    // entry would cost a sync of millions of entries a few percent); the
    // type rule is checked per entry, from what the feed check kept.
    if (fp.member_ok && h.seq <= fp.cutoff) return CheckRecordRule(i, fp);
    std::string why;
#ifdef NCEN_MUTANT_SKIP_SCOPE_CHECK  // tests/sim: a mutant that takes any record feed
    if (false) {
#else
    if (!m->MayAuthor(feed, &why) || !m->MayHold(store_.meta_.node_id, feed, &why)) {
#endif
      NCEN_RETURN_IF_ERROR(Report(i, why));
      Refuse(i, fp, EntryError::kNotAuthorized, why);
      return false;
    }
    uint64_t cut = m->CutoffOf(feed);
#ifdef NCEN_MUTANT_SKIP_REVOCATION  // tests/sim: a mutant that ignores revocations
    cut = UINT64_MAX;
#endif
    if (h.seq > cut) {
      RefuseRevoked(i, fp, cut);
      return false;
    }
    fp.member_ok = true;
    fp.cutoff = cut;
    const Member* author = m->Find(feed.author);
    fp.author_kind = author->cert.kind;
    fp.author_country = author->cert.country;
    return CheckRecordRule(i, fp);
  }

  // Which record types the author's role may write, in which scope, and a
  // seizure report only about its own country (docs/sharing.md §2).
  Result<bool> CheckRecordRule(size_t i, FeedProgress& fp) {
    const Entry& e = entries_[i];
    std::string why = RecordRuleProblem(fp.author_kind, fp.author_country, e.header, e.payload);
#ifdef NCEN_MUTANT_SKIP_SCOPE_CHECK
    why.clear();
#endif
    if (why.empty()) return true;
    NCEN_RETURN_IF_ERROR(Report(i, why));
    Refuse(i, fp, EntryError::kNotAuthorized, why);
    return false;
  }

  void RefuseRevoked(size_t i, FeedProgress& fp, uint64_t cut) {
    const EntryHeader& h = entries_[i].header;
    Refuse(i, fp, EntryError::kRevoked,
           "seq " + std::to_string(h.seq) + " of feed " + FeedText(h.feed()) + " is past its author's revocation "
           "(the last valid seq is " + std::to_string(cut) + ")");
  }

  // A violation report, with the signed header as evidence: only for an
  // entry whose signature verifies (a report must prove its author signed
  // it), and at most kViolationsKept rows (fresh keys cost nothing to make).
  Status Report(size_t i, const std::string& why) {
    const Entry& e = entries_[i];
    if (!CheckSignature(e)) return Status::Ok();
    if (violations_room_ < 0) {
      NCEN_ASSIGN_OR_RETURN(size_t held, CountViolations(w_.txn(), *store_.dbs_));
      violations_room_ = static_cast<int64_t>(limits::kViolationsKept) - static_cast<int64_t>(held);
    }
    if (violations_room_ <= 0) return Status::Ok();
    --violations_room_;
    Violation v{e.header.feed(), e.header.seq, store_.NowMs(), SanitizeText(source_, 255), SanitizeText(why, 1024),
                SignedHeaderOf(e)};
    return PutViolation(w_.txn(), *store_.dbs_, v);
  }

  // A certificate or revocation whose context is held: the author must be
  // allowed to write it (Membership::CheckEntry); then it goes into the log
  // and the membership this transaction sees, not into any record.
  Status TakeNetwork(size_t i, Writer::Feed* f, FeedProgress& fp) {
    const Entry& e = entries_[i];
    const EntryHeader& h = e.header;
    if (Status allowed = current()->CheckEntry(h, e.payload); !allowed.ok()) {
      NCEN_RETURN_IF_ERROR(Report(i, allowed.message()));
      Refuse(i, fp, EntryError::kNotAuthorized, allowed.message());
      return Status::Ok();
    }
    if (!f) {
      NCEN_ASSIGN_OR_RETURN(f, w_.GetFeed(h.feed()));
    }
    ByteView payload(e.payload);
    NCEN_RETURN_IF_ERROR(w_.PutLog(f->record.index, h.seq, e.header_bytes, e.signature, &payload));
    f->record.seq = h.seq;
    f->record.head = verifier_.hash(i);
    f->dirty = true;
    if (!changed_) changed_ = std::make_shared<Membership>(*membership_);
    changed_->Add(h, e.payload);
    fp.last_taken = i;
    ++report_.applied;
    return Status::Ok();
  }

  // An entry at a seq this node holds already: the same entry (a duplicate,
  // which may bring a payload the held copy lacks), or another one signed
  // by the author (a fork, recorded with both as evidence).
  Status TakeHeld(size_t i, Writer::Feed& f, FeedProgress& fp) {
    const Entry& e = entries_[i];
    const EntryHeader& h = e.header;
    const FeedId feed = h.feed();
    const Hash256& hash = verifier_.hash(i);
    NCEN_ASSIGN_OR_RETURN(std::optional<format::LogValue> stored, w_.StoredLogValue(f.record.index, h.seq));
    if (!stored) return Corruption("log of feed " + FeedText(feed) + " has a hole at seq " + std::to_string(h.seq));
    const format::LogValue& held = *stored;
    Hash256 held_hash = held.EntryHash();
    if (held_hash == hash) {
      ++report_.duplicates;
      if (!held.has_payload && verifier_.payload_error(i) == EntryError::kNone) {
        NCEN_RETURN_IF_ERROR(w_.FillPayload(f.record.index, e));
        // The record's index terms come from payloads: index it again.
        NCEN_RETURN_IF_ERROR(w_.AppendChange(f.record.index, h.seq, h.record_id, Writer::RefersToBlobs(h.record_type)));
        ++report_.payloads_filled;
      }
      return Status::Ok();
    }
    if (!CheckSignature(e)) {
      Refuse(i, fp, EntryError::kBadSignature, "signature does not verify against the header's author");
      return Status::Ok();
    }
    NCEN_ASSIGN_OR_RETURN(SignedHeader ours, MakeSignedHeader(held.header, held.signature));
    ForkReport fork{feed, h.seq, held_hash, hash, store_.NowMs(), source_, std::move(ours), SignedHeaderOf(e)};
    bool newly = false;
    Status recorded = PutFork(w_.txn(), *store_.dbs_, fork, &newly);
    if (!recorded.ok() && recorded.code() != StatusCode::kUnauthenticated) return recorded;
    w_.MarkForked(feed);
    Refuse(i, fp, EntryError::kFork,
           "fork: a different entry is already held at seq " + std::to_string(h.seq) + " of feed " + FeedText(feed));
    return Status::Ok();
  }

  // The context: its author's own dot names an earlier entry, and every
  // other dot an entry this node holds (an entry is applied after what its
  // author had seen: causal order, docs/log-format.md §6). False when the
  // entry was refused or deferred.
  Result<bool> CheckContext(size_t i, FeedProgress& fp) {
    const EntryHeader& h = entries_[i].header;
    for (const Dot& d : h.context.dots) {
      if (d.author == h.author) {
        if (d.seq >= h.seq) {
          Refuse(i, fp, EntryError::kBadContext,
                 "the context names seq " + std::to_string(d.seq) + " of its own author, at seq " +
                     std::to_string(h.seq));
          return false;
        }
        continue;
      }
      NCEN_ASSIGN_OR_RETURN(uint64_t held, w_.HeadSeq({d.author, h.scope}));
      if (held >= d.seq) continue;
      // A forked feed is frozen here: nothing more of it will arrive, so
      // naming its later entries covers nothing that could, and waiting for
      // them would stall this feed for good.
      NCEN_ASSIGN_OR_RETURN(bool frozen, w_.FeedForked({d.author, h.scope}));
      if (frozen) continue;
      // Likewise past a revocation's cut-off: those entries are refused
      // everywhere, and naming them covers nothing any node holds.
      if (const Membership* m = current(); m && d.seq > m->CutoffOf({d.author, h.scope})) continue;
      // And a feed this node may not hold (another country's, another
      // region's): it will never arrive here, so naming it covers nothing
      // this node could hold, and waiting would stall the feed for good.
      if (const Membership* m = current();
          m && h.scope != Scope::kNetwork && !m->MayHold(store_.meta_.node_id, {d.author, h.scope})) {
        continue;
      }
      if (batch_deps_ && BatchBrings({d.author, h.scope}, d.seq)) {
        batch_dep_uses_.emplace_back(h.feed(), std::pair<FeedId, uint64_t>{{d.author, h.scope}, d.seq});
        continue;
      }
      // Perhaps a later entry of this batch brings it: tried again then.
      fp.deferred = true;
      fp.deferred_message = "the context names seq " + std::to_string(d.seq) + " of feed " +
                            FeedText({d.author, h.scope}) + ", which this node holds up to " + std::to_string(held);
      return false;
    }
    return true;
  }

  // Whether entry `seq` of `feed` is among the feed's in-order entries of
  // this batch that it has not refused (taken already, or still waiting).
  bool BatchBrings(const FeedId& feed, uint64_t seq) const {
    auto plan_it = plan_.feeds.find(feed);
    if (plan_it == plan_.feeds.end() || excluded_.bad_signature.count(feed) || excluded_.unmet_deps.count(feed)) {
      return false;
    }
    auto progress_it = progress_.find(feed);
    if (progress_it != progress_.end() && progress_it->second.refused) return false;
    const std::vector<size_t>& in_order = plan_it->second.entries;
    auto at = std::lower_bound(in_order.begin(), in_order.end(), seq,
                               [&](size_t i, uint64_t s) { return entries_[i].header.seq < s; });
    return at != in_order.end() && entries_[*at].header.seq == seq;
  }

  Store& store_;
  Writer& w_;
  std::span<const Entry> entries_;
  const BatchPlan& plan_;
  BatchVerifier& verifier_;
  const std::string& source_;
  const BatchExclusions& excluded_;
  std::shared_ptr<const Membership> membership_;  // null: a store of no network
  std::shared_ptr<Membership> changed_;           // once a network entry is taken
  int64_t violations_room_ = -1;                  // reports this transaction may still write; -1: not counted
  std::map<FeedId, FeedProgress> progress_;
  ApplyReport report_;
  bool batch_deps_ = false;  // the second pass of TakeDeferred
  // Entries taken on a dot the batch was to bring: (their feed, (the dot's feed, seq)).
  std::vector<std::pair<FeedId, std::pair<FeedId, uint64_t>>> batch_dep_uses_;
};

ApplyReport Store::ApplyBatch(std::span<const Entry> entries, const std::string& source) {
  // Signatures are checked once per feed and batch, while the entries are
  // applied. When one fails, the feeds whose signatures failed are taken out
  // and the batch is applied again from the start, so nothing an unverified
  // entry touched is committed; the same for feeds that took an entry on a
  // dot the batch was to bring and did not (a cycle, TakeDeferred). Each
  // round takes out at least one feed.
  BatchExclusions excluded;
  for (;;) {
    BatchExclusions next;
    ApplyReport report = ApplyInTxn(entries, source, excluded, &next);
    if (!report.status.ok() || (next.bad_signature.empty() && next.unmet_deps.empty())) return report;
    excluded.bad_signature.insert(next.bad_signature.begin(), next.bad_signature.end());
    excluded.unmet_deps.insert(next.unmet_deps.begin(), next.unmet_deps.end());
  }
}

// Three steps: the batch-order check (PlanBatch), the verification of
// hashes, payloads and signatures on two threads (BatchVerifier), and the
// apply loop (BatchApplier). Commits only when every feed's signatures held
// and every dot a cycle counted on was taken.
namespace {
ApplyReport FailedReport(Status s) {
  ApplyReport r;
  r.status = std::move(s);
  return r;
}
}  // namespace

ApplyReport Store::ApplyInTxn(std::span<const Entry> entries, const std::string& source,
                              const BatchExclusions& excluded, BatchExclusions* exclude_next) {
  auto failed = [](Status s) { return FailedReport(std::move(s)); };
  auto txn = lmdb::Txn::Begin(*env_, true);
  if (!txn.ok()) return failed(txn.status());
  Writer w(*dbs_, std::move(txn).value());
  // Taking network entries needs them all (a snapshot answers the rest).
  bool network = std::any_of(entries.begin(), entries.end(),
                             [](const Entry& e) { return e.header.scope == Scope::kNetwork; });
  auto membership = MembershipIn(w.txn(), network);
  if (!membership.ok()) return failed(membership.status());
  const BatchPlan plan = PlanBatch(entries);
  BatchVerifier verifier(entries, plan.run_ends);
  BatchApplier applier(*this, w, entries, plan, verifier, source, excluded, membership.value());
  if (Status s = applier.TakeInBatchOrder(); !s.ok()) return failed(s);
  if (Status s = applier.TakeDeferred(); !s.ok()) return failed(s);
  verifier.Finish();
  applier.CheckRunSignatures(&exclude_next->bad_signature);
  auto unmet = applier.CheckBatchDeps();
  if (!unmet.ok()) return failed(unmet.status());
  exclude_next->unmet_deps = std::move(unmet).value();
  // Abandoned (ApplyBatch applies the batch again without those feeds).
  if (!exclude_next->bad_signature.empty() || !exclude_next->unmet_deps.empty()) return applier.report();
  uint64_t generation = 0;
  auto changed = applier.changed_membership();
  if (changed) {
    if (Status s = NetworkChanged(w, *applier.membership_before(), changed, &generation); !s.ok()) return failed(s);
  }
  if (Status s = w.Finish(); !s.ok()) return failed(s);
  if (changed) CacheMembership(changed, generation);
  return applier.report();
}

ApplyReport Store::ApplyAllOrNothing(const BatchSource& next, const std::string& source) {
  auto failed = [](Status s) { return FailedReport(std::move(s)); };
  auto txn = lmdb::Txn::Begin(*env_, true);
  if (!txn.ok()) return failed(txn.status());
  Writer w(*dbs_, std::move(txn).value());
  // Complete: any batch may carry network entries.
  auto membership = MembershipIn(w.txn(), true);
  if (!membership.ok()) return failed(membership.status());
  const std::shared_ptr<const Membership> before = membership.value();
  std::shared_ptr<const Membership> current = before;
  ApplyReport total;
  std::vector<Entry> batch;
  size_t offset = 0;  // entries in earlier batches
  const BatchExclusions none;
  for (;;) {
    auto more = next(batch);
    if (!more.ok()) return failed(more.status());
    if (!*more) break;
    const BatchPlan plan = PlanBatch(batch);
    BatchVerifier verifier(batch, plan.run_ends);
    BatchApplier applier(*this, w, batch, plan, verifier, source, none, current);
    if (Status s = applier.TakeInBatchOrder(); !s.ok()) return failed(s);
    if (Status s = applier.TakeDeferred(); !s.ok()) return failed(s);
    verifier.Finish();
    std::set<FeedId> bad_signature;
    applier.CheckRunSignatures(&bad_signature);
    auto unmet = applier.CheckBatchDeps();
    if (!unmet.ok()) return failed(unmet.status());
    ApplyReport& report = applier.report();
    for (const FeedId& feed : bad_signature) {
      report.refused.push_back(Refusal{feed, 0, EntryError::kBadSignature,
                                       "a signature of feed " + FeedText(feed) + " does not verify", 0});
    }
    for (const FeedId& feed : unmet.value()) {
      report.refused.push_back(Refusal{feed, 0, EntryError::kMissingDependency,
                                       "feed " + FeedText(feed) + " names entries the bundle does not bring", 0});
    }
    if (!report.refused.empty()) {
      // The transaction is aborted when `w` goes out of scope.
      ApplyReport out;
      out.refused.push_back(report.refused.front());
      out.refused.front().index += offset;
      return out;
    }
    total.applied += report.applied;
    total.duplicates += report.duplicates;
    total.payloads_filled += report.payloads_filled;
    total.marked_stale = total.marked_stale || report.marked_stale;
    if (auto changed = applier.changed_membership()) current = changed;
    offset += batch.size();
    if (Status s = w.Flush(); !s.ok()) return failed(s);
  }
  uint64_t generation = 0;
  bool changed = current != before;
  if (changed) {
    if (Status s = NetworkChanged(w, *before, current, &generation); !s.ok()) {
      return failed(s);
    }
  }
  if (Status s = w.Finish(); !s.ok()) return failed(s);
  if (changed) CacheMembership(current, generation);
  return total;
}

}  // namespace ncen::storage
