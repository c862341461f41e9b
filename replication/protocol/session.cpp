#include "replication/protocol/session.h"

#include "replication/protocol/elide.h"

#include "storage/membership.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "base/text.h"

namespace ncen::replication {

using storage::FeedHead;
using storage::FeedId;
using storage::Scope;

namespace {

ForkEvidenceMsg EvidenceOf(const storage::ForkReport& fork) { return {fork.a, fork.b}; }

// Sent batch buffers kept for reuse (RecycleOutgoing).
constexpr size_t kSpareMessagesMax = 2;

// How often a node looks whether blobs it told the peer it lacked are here now.
constexpr int64_t kLacksCheckMs = 2000;

}  // namespace

Session::Session(storage::Store& store, const crypto::PublicKey& self, std::string self_name,
                 std::string self_role, PeerInfo peer, SessionOptions options)
    : store_(store),
      self_(self),
      self_name_(std::move(self_name)),
      self_role_(std::move(self_role)),
      peer_(std::move(peer)),
      options_(options),
      peer_scopes_(peer_.scopes.begin(), peer_.scopes.end()),
      planner_(store, options.batch_bytes),
      marks_(store, self, peer_.name) {
  if (options_.window == 0) options_.window = 1;
  batch_limit_ = options_.batch_target_ms > 0 ? std::min(options_.batch_bytes, limits::kBatchBytesFirst)
                                              : options_.batch_bytes;
  if (options_.blob_window_bytes < storage::kBlobChunkBytes) options_.blob_window_bytes = storage::kBlobChunkBytes;
}

Session::~Session() {
  if (options_.blob_fetches) options_.blob_fetches->ReleaseAll(this);
}

bool Session::InScope(const FeedId& feed) const { return peer_scopes_.count(feed.scope) > 0; }

bool Session::MayReceive(const FeedId& feed) const {
  return InScope(feed) && forked_.count(feed) == 0 && Allowed(feed);
}

// The network's scope rules (docs/membership.md §3): a feed goes to a peer
// only when its author may write it and the peer may hold it, whatever the
// peer's configured scopes say.
bool Session::Allowed(const FeedId& feed) const {
  if (!membership_) return true;
  auto [it, fresh] = allowed_.try_emplace(feed, false);
  if (fresh) it->second = membership_->MayAuthor(feed) && membership_->MayHold(peer_.id, feed);
  return it->second;
}

bool Session::MaySend(const FeedId& feed) const {
  // A peer's own feed too: a node holds its own entries, unless it was
  // restored from an old copy; then they show it that it is stale, and give
  // it back what it lost.
  return MayReceive(feed) && refused_by_peer_.count(feed) == 0;
}

std::vector<FeedHead> Session::PeerFrontier() const {
  std::vector<FeedHead> out;
  for (auto& [feed, known] : peer_known_) {
    if (ours_.count(feed)) out.push_back({feed, known.seq, known.head});
  }
  return out;
}

Bytes Session::SpareMessage() {
  Bytes bytes;
  if (!spare_messages_.empty()) {
    bytes = std::move(spare_messages_.back());
    spare_messages_.pop_back();
  }
  return bytes;
}

void Session::Queue(const Message& message, int64_t now_ms) {
  Bytes bytes = std::holds_alternative<BatchMsg>(message) ? SpareMessage() : Bytes();
  EncodeMessageInto(message, bytes);
  outgoing_.push_back(std::move(bytes));
  last_sent_ms_ = now_ms;
}

void Session::RecycleOutgoing(Bytes sent) {
  // Batch-sized buffers only, and not one that a rare huge batch grew.
  size_t capacity = sent.capacity();
  if (spare_messages_.size() < kSpareMessagesMax && capacity >= (64 << 10) &&
      capacity <= 2 * options_.batch_bytes + (1 << 20)) {
    spare_messages_.push_back(std::move(sent));
  }
  NCEN_CHECK(spare_messages_.size() <= kSpareMessagesMax);
}

std::vector<Bytes> Session::TakeOutgoing() {
  std::vector<Bytes> out;
  out.swap(outgoing_);
  return out;
}

std::vector<std::string> Session::TakeLog() {
  std::vector<std::string> out;
  out.swap(log_);
  return out;
}

void Session::Fail(Status status, bool tell_peer, int64_t now_ms) {
  if (failed_) return;
  failed_ = true;
  error_ = status;
  log_.push_back("session with " + peer_.name + " failed: " + status.ToString());
  if (tell_peer) Queue(ErrorMsg{status.ToString()}, now_ms);
}

Status Session::RefreshFrontier(int64_t now_ms) {
  NCEN_ASSIGN_OR_RETURN(auto frontier, store_.Frontier());
  if (frontier.size() > limits::kSessionFeedsMax) {
    return ResourceExhausted("this node holds " + std::to_string(frontier.size()) + " feeds, more than a session tracks (" +
                             std::to_string(limits::kSessionFeedsMax) + ")");
  }
  NCEN_ASSIGN_OR_RETURN(auto membership, store_.GetMembership());
  if (membership != membership_) {
    membership_ = std::move(membership);
    allowed_.clear();
    if (membership_) peer_scopes_.insert(storage::Scope::kNetwork);
  }
  for (const FeedHead& h : frontier) {
    uint64_t cut = membership_ ? membership_->CutoffOf(h.feed) : UINT64_MAX;
    if (h.seq <= cut) {
      ours_[h.feed] = {h.seq, h.head};
    } else if (cut == 0) {
      ours_.erase(h.feed);
    } else {
      // Entries past a revocation's cut-off are never offered: the feed
      // ends at the cut-off for every peer.
      NCEN_ASSIGN_OR_RETURN(storage::Entry last, store_.GetEntry(h.feed, cut));
      ours_[h.feed] = {cut, last.hash()};
    }
  }
  last_refresh_ms_ = now_ms;
  return Status::Ok();
}

void Session::Start(int64_t now_ms) {
  if (started_) return;
  started_ = true;
  last_received_ms_ = now_ms;
  progress_.sync_started_ms = now_ms;
  planner_.SetFreshSince(now_ms);
  if (Status s = RefreshFrontier(now_ms); !s.ok()) return Fail(s, true, now_ms);
  auto forks = store_.Forks();
  if (!forks.ok()) return Fail(forks.status(), true, now_ms);
  HelloMsg hello;
  hello.node_id = self_;
  hello.name = self_name_;
  hello.role = self_role_;
  for (const auto& f : forks.value()) {
    forked_.insert(f.feed);
    // Reports travel with their evidence, only in the scopes exchanged and
    // only to a peer that may hold the feed (its headers name its records).
    if (f.has_evidence() && InScope(f.feed) && Allowed(f.feed) && hello.forks.size() < limits::kEvidenceItemsMax) {
      hello.forks.push_back(EvidenceOf(f));
      forks_known_.insert({f.feed, f.seq});
    }
  }
  for (auto& [feed, known] : ours_) {
    if (!MayReceive(feed)) continue;
    hello.frontier.push_back({feed, known.seq, known.head});
    advertised_[feed] = known.seq;
  }
  Queue(hello, now_ms);
}

void Session::OnMessage(ByteView message, int64_t now_ms) {
  if (failed_) return;
  last_received_ms_ = now_ms;
  Status s = Dispatch(message, now_ms);
  if (!s.ok() && !failed_) Fail(s, true, now_ms);
  if (!failed_) UpdateProgress(now_ms);
}

Status Session::Dispatch(ByteView bytes, int64_t now_ms) {
  NCEN_ASSIGN_OR_RETURN(Message message, DecodeMessage(bytes));
  if (!progress_.hello_received && !std::holds_alternative<HelloMsg>(message) &&
      !std::holds_alternative<ErrorMsg>(message) && !std::holds_alternative<PingMsg>(message)) {
    return Corruption(std::string(MessageKindName(message)) + " before hello");
  }
  return std::visit(
      [&](const auto& m) -> Status {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, HelloMsg>) return OnHello(m, now_ms);
        if constexpr (std::is_same_v<T, BatchMsg>) return OnBatch(m, now_ms);
        if constexpr (std::is_same_v<T, AckMsg>) return OnAck(m, now_ms);
        if constexpr (std::is_same_v<T, HeadsMsg>) return OnHeads(m, now_ms);
        if constexpr (std::is_same_v<T, EvidenceMsg>) return OnEvidence(m, now_ms);
        if constexpr (std::is_same_v<T, BlobWantMsg>) return OnBlobWant(m, now_ms);
        if constexpr (std::is_same_v<T, BlobDataMsg>) return OnBlobData(m, now_ms);
        if constexpr (std::is_same_v<T, BlobLackMsg>) return OnBlobLack(m, now_ms);
        if constexpr (std::is_same_v<T, ErrorMsg>) {
          Fail(Unavailable("peer " + peer_.name + " ended the session: " + m.text), false, now_ms);
        }
        return Status::Ok();  // ping
      },
      message);
}

// ---------------------------------------------------------------------------
// Heads and evidence: what the peer says, and what it can prove

Status Session::LearnPeerHead(const FeedHeadMsg& h, int64_t now_ms) {
  if (h.seq == 0 || !InScope(h.feed)) return Status::Ok();  // nothing, or not the peer's to tell
  auto mine = ours_.find(h.feed);
  if (mine == ours_.end() && peer_known_.count(h.feed) == 0 &&
      peer_known_.size() >= limits::kSessionFeedsMax) {
    return ResourceExhausted("peer " + peer_.name + " announces more than " +
                             std::to_string(limits::kSessionFeedsMax) + " feeds");
  }
  if (mine != ours_.end() && forked_.count(h.feed) == 0 && h.seq <= mine->second.seq) {
    Hash256 ours = mine->second.head;
    if (h.seq < mine->second.seq) {
      NCEN_ASSIGN_OR_RETURN(storage::Entry entry, store_.GetEntry(h.feed, h.seq));
      ours = entry.hash();
    }
    if (ours != h.head) {
      // A hash is a claim, not evidence: show the peer our signed entry at
      // that seq. If it holds a validly signed other one, it records the
      // fork and shows us both (found by tests/sim, seed 1215: the side
      // with the shorter copy must learn it too).
      NCEN_RETURN_IF_ERROR(OfferHeader(h.feed, h.seq, now_ms));
      planner_.PeerHas(h.feed, h.seq - 1);
      return Status::Ok();
    }
    if (h.feed.author == peer_.id && h.seq < mine->second.seq) {
      // The peer holds less of its own feed than we do: it was restored from
      // an old copy. Show it an entry of its own feed beyond its head (the
      // entries themselves follow).
      NCEN_RETURN_IF_ERROR(OfferHeader(h.feed, h.seq + 1, now_ms));
    }
  }
  // A head of our own feed beyond ours is counted as "ahead" but marks
  // nothing: "you are stale" is taken only from a signed entry (Evidence).
  Head& known = peer_known_[h.feed];
  if (h.seq > known.seq) known = {h.seq, h.head};
  planner_.PeerHas(h.feed, known.seq);
  NCEN_CHECK(peer_known_.size() <= limits::kSessionFeedsMax + ours_.size());
  return Status::Ok();
}

Status Session::OfferHeader(const FeedId& feed, uint64_t seq, int64_t now_ms) {
  // A peer that keeps announcing heads we disagree with gets each header
  // once, and at most so many in a session (it has a fork to look at by then).
  if (offered_.size() >= limits::kOfferedHeadersMax) return Status::Ok();
  if (!offered_.insert({feed, seq}).second) return Status::Ok();
  NCEN_ASSIGN_OR_RETURN(storage::Entry entry, store_.GetEntry(feed, seq));
  EvidenceMsg evidence;
  evidence.headers.push_back(storage::SignedHeaderOf(entry));
  Queue(evidence, now_ms);
  return Status::Ok();
}

void Session::OfferForks(const std::vector<storage::ForkReport>& forks, int64_t now_ms) {
  EvidenceMsg evidence;
  for (const auto& f : forks) {
    if (!f.has_evidence() || !InScope(f.feed) || !Allowed(f.feed) || !forks_known_.insert({f.feed, f.seq}).second) {
      continue;
    }
    evidence.forks.push_back(EvidenceOf(f));
    if (evidence.forks.size() == limits::kEvidenceItemsMax) {
      Queue(evidence, now_ms);
      evidence.forks.clear();
    }
  }
  if (!evidence.forks.empty()) Queue(evidence, now_ms);
}

// A fork report is held here (recorded now, or found): the feed stops
// syncing with this peer; what else it means is Marks' (marks.h).
Status Session::NoteFork(const storage::ForkReport& fork, bool newly) {
  forked_.insert(fork.feed);
  planner_.Forget(fork.feed);
  return marks_.OnForkHeld(fork, newly, log_);
}

Status Session::AdoptForkEvidence(const ForkEvidenceMsg& m, int64_t now_ms) {
  const FeedId feed = m.a.header.feed();
  if (!InScope(feed) || !Allowed(feed)) return Status::Ok();  // not the peer's to tell
  NCEN_ASSIGN_OR_RETURN(std::optional<HeldFork> fork, marks_.FromForkEvidence(m, now_ms, log_));
  if (!fork) return Status::Ok();
  forks_known_.insert({feed, fork->report.seq});
  return NoteFork(fork->report, fork->newly);
}

Status Session::CheckSignedHeader(const storage::SignedHeader& h, int64_t now_ms) {
  if (!InScope(h.header.feed())) return Status::Ok();
  NCEN_ASSIGN_OR_RETURN(std::optional<HeldFork> fork, marks_.FromSignedHeader(h, now_ms, log_));
  if (!fork) return Status::Ok();
  NCEN_RETURN_IF_ERROR(NoteFork(fork->report, fork->newly));
  // The peer holds the other entry: show it both, so it records the fork too.
  OfferForks({fork->report}, now_ms);
  return Status::Ok();
}

Status Session::OnEvidence(const EvidenceMsg& evidence, int64_t now_ms) {
  for (const auto& fork : evidence.forks) NCEN_RETURN_IF_ERROR(AdoptForkEvidence(fork, now_ms));
  for (const auto& header : evidence.headers) NCEN_RETURN_IF_ERROR(CheckSignedHeader(header, now_ms));
  return Pump(now_ms);
}

// A fork report that another session (or ncenctl) recorded: stop syncing
// the feed, and show the peer the evidence if it may hold the feed.
Status Session::CheckForksFoundElsewhere(int64_t now_ms) {
  NCEN_ASSIGN_OR_RETURN(auto forks, store_.Forks());
  std::vector<storage::ForkReport> fresh;
  std::set<FeedId> reported;
  for (storage::ForkReport& f : forks) {
    reported.insert(f.feed);
    if (forked_.count(f.feed)) continue;
    NCEN_RETURN_IF_ERROR(NoteFork(f, false));
    fresh.push_back(std::move(f));
  }
  OfferForks(fresh, now_ms);
  // A report an administrator cleared: the feed syncs again.
  for (auto it = forked_.begin(); it != forked_.end();) {
    it = reported.count(*it) ? std::next(it) : forked_.erase(it);
  }
  return Status::Ok();
}

Status Session::OnHello(const HelloMsg& hello, int64_t now_ms) {
  if (progress_.hello_received) return Corruption("second hello");
  if (hello.protocol_version != kProtocolVersion) {
    return FailedPrecondition("peer speaks protocol version " + std::to_string(hello.protocol_version) +
                              ", this node " + std::to_string(kProtocolVersion));
  }
  if (hello.node_id != peer_.id) {
    return Unauthenticated("hello names node " + crypto::Fingerprint(hello.node_id) +
                           ", the channel authenticated " + crypto::Fingerprint(peer_.id));
  }
  if (hello.frontier.size() > limits::kSessionFeedsMax) {
    return ResourceExhausted("peer " + peer_.name + " announces " + std::to_string(hello.frontier.size()) +
                             " feeds, more than " + std::to_string(limits::kSessionFeedsMax));
  }
  progress_.hello_received = true;
  peer_name_ = hello.name;
  peer_role_ = hello.role;
  for (const auto& fork : hello.forks) NCEN_RETURN_IF_ERROR(AdoptForkEvidence(fork, now_ms));
  for (const FeedHeadMsg& h : hello.frontier) NCEN_RETURN_IF_ERROR(LearnPeerHead(h, now_ms));
  NCEN_RETURN_IF_ERROR(Pump(now_ms));
  // Photos to ask for, or "none" (an empty want), at once rather than at
  // the next tick: a no-op sync is then one exchange after the handshake.
  UpdateProgress(now_ms);
  return RefreshWants(now_ms);
}

Status Session::OnHeads(const HeadsMsg& heads, int64_t now_ms) {
  for (const FeedHeadMsg& h : heads.frontier) NCEN_RETURN_IF_ERROR(LearnPeerHead(h, now_ms));
  return Pump(now_ms);
}

// ---------------------------------------------------------------------------
// Batches and acknowledgements

Status Session::OnBatch(const BatchMsg& batch, int64_t now_ms) {
  if (batch.number != expect_batch_) {
    return Corruption("batch " + std::to_string(batch.number) + " arrived where " +
                      std::to_string(expect_batch_) + " was due");
  }
  ++expect_batch_;
  told_blobs_done_ = false;  // the entries may refer to blobs: look again before saying done
  peer_lacks_.clear();       // ... and the peer may hold more now
  // DecodeMessage checked that the count fits the bytes.
  received_.clear();
  received_.reserve(batch.count);
  ByteView rest = batch.entries;
  if (HasElidedHashes(batch.entries)) {
    // Hashes left out on a slow link: filled in from the payloads and
    // from what this node holds (elide.h).
    auto held = [this](const FeedId& feed, uint64_t seq) -> std::optional<Hash256> {
      storage::FeedId wanted[1] = {feed};
      auto heads = store_.FeedHeads(wanted);
      if (heads.ok() && !heads->empty() && (*heads)[0].seq == seq) return (*heads)[0].head;
      auto entry = store_.GetEntry(feed, seq);
      if (!entry.ok()) return std::nullopt;
      return entry->hash();
    };
    NCEN_RETURN_IF_ERROR(FillHashes(batch.entries, held, filled_entries_));
    rest = filled_entries_;
  }
  while (!rest.empty()) {
    if (received_.size() == batch.count) return Corruption("batch holds more entries than its count");
    NCEN_ASSIGN_OR_RETURN(storage::Entry e, storage::DecodeEntry(rest));
    received_.push_back(std::move(e));
  }
  if (received_.size() != batch.count) return Corruption("batch holds fewer entries than its count");
  // Entries of scopes not exchanged with this peer are not taken.
  std::vector<storage::Refusal> out_of_scope;
  if (std::any_of(received_.begin(), received_.end(), [&](const auto& e) { return !InScope(e.header.feed()); })) {
    std::set<FeedId> seen;
    for (size_t i = 0; i < received_.size(); ++i) {
      FeedId feed = received_[i].header.feed();
      if (!InScope(feed) && seen.insert(feed).second) {
        out_of_scope.push_back({feed, received_[i].header.seq, storage::EntryError::kNone,
                                std::string("scope ") + storage::ScopeName(feed.scope) +
                                    " is not exchanged with this peer",
                                i});
      }
    }
    std::erase_if(received_, [&](const auto& e) { return !InScope(e.header.feed()); });
  }
#ifdef NCEN_MUTANT_ACK_BEFORE_COMMIT
  // Mutant for tests/sim only, never built into the product: acknowledge the
  // batch before committing it; the simulator may crash the node in between.
  Queue(AckMsg{batch.number, {}}, now_ms);
  if (options_.test_hooks && options_.test_hooks->die_before_commit &&
      options_.test_hooks->die_before_commit()) {
    return Status::Ok();
  }
#endif
  storage::ApplyReport report = store_.ApplyBatch(received_, peer_.name);
  if (!report.status.ok()) {
    return report.status.WithContext("batch " + std::to_string(batch.number) + " could not be applied");
  }
  progress_.batches_received++;
  progress_.entries_received += report.applied;
  progress_.duplicates_received += report.duplicates;
  progress_.entry_bytes_received += batch.entries.size();
  if (report.marked_stale) {
    log_.push_back("STALE IDENTITY: " + peer_.name + " sent entries of this node's own feed beyond what it "
                   "holds; they are taken, and local writes are refused until an administrator acts");
  }

  // The peer holds at least the highest entry it sent of each feed; this
  // node holds what its store says now.
  std::map<FeedId, size_t> highest;  // feed -> index of its highest entry in the batch
  for (size_t i = 0; i < received_.size(); ++i) {
    auto [it, fresh] = highest.try_emplace(received_[i].header.feed(), i);
    if (!fresh && received_[i].header.seq > received_[it->second].header.seq) it->second = i;
  }
  std::vector<FeedId> feeds;
  for (const auto& [feed, i] : highest) {
    feeds.push_back(feed);
    const storage::Entry& e = received_[i];
    Head& theirs = peer_known_[feed];
    if (e.header.seq > theirs.seq) theirs = {e.header.seq, e.hash()};
  }
  NCEN_ASSIGN_OR_RETURN(auto heads, store_.FeedHeads(feeds));
  for (const FeedHead& h : heads) {
    if (h.seq == 0) continue;
    ours_[h.feed] = {h.seq, h.head};
    planner_.PeerHas(h.feed, peer_known_[h.feed].seq);
    uint64_t& adv = advertised_[h.feed];
    adv = std::max(adv, std::min(h.seq, peer_known_[h.feed].seq));
  }
  AckMsg ack{batch.number, {}};
  bool forks_found = false;
  report.refused.insert(report.refused.end(), out_of_scope.begin(), out_of_scope.end());
  for (const storage::Refusal& r : report.refused) {
    uint64_t held = 0;
    for (const FeedHead& h : heads) {
      if (h.feed == r.feed) held = h.seq;
    }
    if (refused_here_.insert(r.feed).second) {
      ++progress_.feeds_refused_here;
      log_.push_back("refused entries of feed " + FeedText(r.feed) + " from " + peer_.name + " at seq " +
                     std::to_string(r.seq) + " (" + storage::EntryErrorName(r.error) + "): " + r.message);
    }
    if (r.error == storage::EntryError::kFork) forks_found = true;
    ack.refused.push_back({r.feed, held, std::string(storage::EntryErrorName(r.error)) + ": " + r.message});
  }
#ifndef NCEN_MUTANT_ACK_BEFORE_COMMIT
  Queue(ack, now_ms);
#endif
  // A fork or stale mark the batch revealed: the evidence goes to the peer
  // at once (it may hold the other entry), and this session stops the feed.
  if (forks_found) NCEN_RETURN_IF_ERROR(CheckForksFoundElsewhere(now_ms));
  return Pump(now_ms);
}

Status Session::OnAck(const AckMsg& ack, int64_t now_ms) {
  if (inflight_.empty() || inflight_.front().number != ack.number) {
    return Corruption("ack for batch " + std::to_string(ack.number) + " which is not the oldest in flight");
  }
  Inflight done = std::move(inflight_.front());
  inflight_.pop_front();
  LearnLinkRate(done, now_ms);
  progress_.entries_sent += done.entries;
  progress_.entry_bytes_sent += done.bytes;
  std::set<FeedId> refused;
  for (const FeedRefusalMsg& r : ack.refused) {
    if (!InScope(r.feed)) continue;
    refused.insert(r.feed);
    // The peer says how much of the feed it holds; it takes no more of it
    // in this session.
    peer_known_[r.feed].seq = r.held;
    planner_.Forget(r.feed);
    if (refused_by_peer_.insert(r.feed).second) {
      ++progress_.feeds_refused_by_peer;
      log_.push_back("peer " + peer_.name + " refused feed " + FeedText(r.feed) + " after seq " +
                     std::to_string(r.held) + ": " + r.reason);
    }
  }
  for (auto& [feed, seq] : done.runs) {
    if (refused.count(feed) || refused_by_peer_.count(feed)) continue;
    Head& theirs = peer_known_[feed];
    if (seq > theirs.seq) {
      theirs.seq = seq;
      auto it = ours_.find(feed);
      // The head hash is only needed for fork checks at equal seq; ours is theirs.
      if (it != ours_.end() && it->second.seq == seq) theirs.head = it->second.head;
    }
    uint64_t& adv = advertised_[feed];
    adv = std::max(adv, seq);
  }
  return Pump(now_ms);
}

// A batch is acknowledged once it crossed the link and was applied: its
// bytes over the time since it was queued, or since the previous ack when
// it waited behind other batches, is what the link and the peer carry. The
// largest of the last few such rates (an idle spell between batches makes
// one look slow) times batch_target_ms is the next batch's size: seconds of
// a 64 kbit/s link, the full batch_bytes on a LAN.
void Session::LearnLinkRate(const Inflight& acked, int64_t now_ms) {
  const int64_t since = std::max(acked.queued_ms, last_ack_ms_);
  last_ack_ms_ = now_ms;
  if (options_.batch_target_ms <= 0) return;
  const double took = static_cast<double>(std::max<int64_t>(now_ms - since, 1));
  rate_samples_.push_back(static_cast<double>(acked.bytes) / took);
  if (rate_samples_.size() > 4) rate_samples_.pop_front();
  const double rate = *std::max_element(rate_samples_.begin(), rate_samples_.end());
  const double target = rate * static_cast<double>(options_.batch_target_ms);
  const size_t low = std::min(options_.batch_bytes, limits::kBatchBytesMin);
  batch_limit_ = target >= static_cast<double>(options_.batch_bytes)
                     ? options_.batch_bytes
                     : std::max(low, static_cast<size_t>(target));
}

Status Session::Pump(int64_t now_ms) {
  if (failed_ || !progress_.hello_received) return Status::Ok();
  while (inflight_.size() < options_.window) {
    NCEN_ASSIGN_OR_RETURN(SendPlanner::Planned planned,
                          planner_.NextBatch(ours_, [this](const FeedId& f) { return MaySend(f); },
                                             batch_entries_, batch_limit_));
    if (planned.entries == 0) break;
    NCEN_CHECK(planner_.read_ahead_bytes() <= limits::ReadAheadBytesMax(options_.batch_bytes));
    NCEN_CHECK(planned.bytes <= limits::kBatchBytesMax);
    Inflight batch;
    batch.number = next_batch_++;
    batch.entries = planned.entries;
    batch.bytes = planned.bytes;
    batch.runs = std::move(planned.runs);
    batch.queued_ms = now_ms;
    // On a link slower than the batches (sized below batch_bytes), leave
    // out the two hashes the peer computes (elide.h): a third of the bytes.
    if (batch_limit_ < options_.batch_bytes) ElideHashes(batch_entries_);
    Queue(BatchMsg{batch.number, static_cast<uint32_t>(batch.entries), batch_entries_}, now_ms);
    progress_.batches_sent++;
    peer_blobs_done_ = false;  // the entries may refer to blobs the peer will ask for
    inflight_.push_back(std::move(batch));
  }
  NCEN_CHECK(inflight_.size() <= options_.window);
  // Blob chunks only when no entry waits for the window: a photo never
  // delays a record (docs/blobs.md §5).
  if (inflight_.size() < options_.window) NCEN_RETURN_IF_ERROR(SendBlobData(now_ms));
  return Status::Ok();
}

void Session::SendHeads(int64_t now_ms) {
  HeadsMsg heads;
  for (auto& [feed, known] : ours_) {
    if (!MayReceive(feed)) continue;
    // Also when the peer holds as much: it may be sending us these entries
    // (over a slow link) while they reached us by another path — tell it to
    // stop (found by tests/sim, seed 414).
    uint64_t& adv = advertised_[feed];
    if (known.seq > adv) {
      heads.frontier.push_back({feed, known.seq, known.head});
      adv = known.seq;
    }
  }
  if (!heads.frontier.empty()) Queue(heads, now_ms);
}

void Session::OnTick(int64_t now_ms) {
  if (failed_ || !started_) return;
  if (options_.bytes_received) {
    // Bytes of a message still arriving count as life.
    uint64_t seen = options_.bytes_received();
    if (seen != bytes_seen_) {
      bytes_seen_ = seen;
      last_received_ms_ = std::max(last_received_ms_, now_ms);
    }
  }
  if (now_ms - last_received_ms_ > options_.idle_timeout_ms) {
    return Fail(Unavailable("nothing received from " + peer_.name + " for " +
                            std::to_string(options_.idle_timeout_ms) + " ms"),
                true, now_ms);
  }
  if (progress_.hello_received && now_ms - last_refresh_ms_ >= options_.poll_ms) {
    if (Status s = RefreshFrontier(now_ms); !s.ok()) return Fail(s, true, now_ms);
    if (Status s = CheckForksFoundElsewhere(now_ms); !s.ok()) return Fail(s, true, now_ms);
    SendHeads(now_ms);
    if (Status s = Pump(now_ms); !s.ok()) return Fail(s, true, now_ms);
  }
  if (progress_.hello_received && !lacked_to_peer_.empty() && now_ms - lacks_checked_ms_ >= kLacksCheckMs) {
    lacks_checked_ms_ = now_ms;
    BlobLackMsg have;
    auto indexed = IndexCaughtUp();
    if (!indexed.ok()) return Fail(indexed.status(), true, now_ms);
    for (auto it = lacked_to_peer_.begin(); *indexed && it != lacked_to_peer_.end();) {
      auto info = store_.GetBlobInfo(*it);
      if (!info.ok()) return Fail(info.status(), true, now_ms);
      auto may = BlobMayGo(*it);
      if (!may.ok()) return Fail(may.status(), true, now_ms);
      if (*info && (*info)->complete && *may) {
        have.items.push_back({*it, BlobLackReason::kNowHeld});
        it = lacked_to_peer_.erase(it);
      } else {
        ++it;
      }
    }
    if (!have.items.empty()) Queue(have, now_ms);
  }
  if (progress_.hello_received) {
    if (Status s = CommitBlobChunks(); !s.ok()) return Fail(s, true, now_ms);
    if (Status s = ServeWants(now_ms); !s.ok()) return Fail(s, true, now_ms);
    if (Status s = RefreshWants(now_ms); !s.ok()) return Fail(s, true, now_ms);
  }
  if (now_ms - last_sent_ms_ >= options_.keepalive_ms) Queue(PingMsg{}, now_ms);
  UpdateProgress(now_ms);
}

void Session::UpdateProgress(int64_t now_ms) {
  if (!progress_.hello_received) return;
  uint64_t behind = 0, ahead = 0;
  for (auto& [feed, known] : ours_) {
    if (!MaySend(feed)) continue;
    auto it = peer_known_.find(feed);
    uint64_t theirs = it == peer_known_.end() ? 0 : it->second.seq;
    if (known.seq > theirs) behind += known.seq - theirs;
  }
  for (auto& [feed, theirs] : peer_known_) {
    // Not what we refused, nor a forked feed.
    if (!MayReceive(feed) || refused_here_.count(feed)) continue;
    auto it = ours_.find(feed);
    uint64_t mine = it == ours_.end() ? 0 : it->second.seq;
    // Nor entries past a revocation's cut-off, which this node never takes
    // (the peer may have announced them before it learned of it).
    uint64_t valid = std::min(theirs.seq, membership_ ? membership_->CutoffOf(feed) : UINT64_MAX);
    if (valid > mine) ahead += valid - mine;
  }
  progress_.behind = behind;
  progress_.ahead = ahead;
  bool caught_up = behind == 0 && ahead == 0 && inflight_.empty() && told_blobs_done_ && peer_blobs_done_ &&
                   fetching_.empty() && serving_.empty() && wants_in_.empty();
  if (caught_up) {
    if (!progress_.caught_up) {
      double seconds = static_cast<double>(now_ms - progress_.sync_started_ms) / 1000.0;
      char text[64];
      std::snprintf(text, sizeof text, "%.2f", seconds);
      log_.push_back("in sync with " + peer_.name + ": sent " + std::to_string(progress_.entries_sent) +
                     ", received " + std::to_string(progress_.entries_received) + " entries in " +
                     text + " s");
    }
    progress_.last_sync_ms = now_ms;
  } else if (progress_.caught_up) {
    progress_.sync_started_ms = now_ms;
  }
  progress_.caught_up = caught_up;
}

// ---------------------------------------------------------------------------
// Blobs (docs/blobs.md §4–5). The receiver asks for what it lacks, at most a
// window of bytes ahead of what arrived, previews first; the sender checks
// that the peer may hold a record that refers to the blob, and sends chunks
// when no entry waits.

const char* BlobPolicyName(BlobPolicy p) {
  switch (p) {
    case BlobPolicy::kFull: return "full";
    case BlobPolicy::kPreviews: return "previews";
    case BlobPolicy::kNone: return "none";
  }
  return "?";
}

std::optional<BlobPolicy> ParseBlobPolicy(std::string_view name) {
  for (BlobPolicy p : {BlobPolicy::kFull, BlobPolicy::kPreviews, BlobPolicy::kNone}) {
    if (name == BlobPolicyName(p)) return p;
  }
  return std::nullopt;
}

bool BlobFetches::Claim(const Hash256& hash, const void* owner) {
  auto [it, fresh] = owner_.try_emplace(hash, owner);
  return fresh || it->second == owner;
}

void BlobFetches::Release(const Hash256& hash, const void* owner) {
  auto it = owner_.find(hash);
  if (it != owner_.end() && it->second == owner) owner_.erase(it);
}

void BlobFetches::ReleaseAll(const void* owner) {
  std::erase_if(owner_, [&](const auto& kv) { return kv.second == owner; });
}

namespace {

uint64_t ChunkBytes(uint32_t size, uint32_t first, uint32_t count) {
  uint64_t n = 0;
  for (uint32_t i = first; i < first + count; ++i) n += storage::BlobChunkSize(size, i);
  return n;
}

// How often the wanted blobs are looked for when nothing new arrived
// (demands, and lacks that expired).
constexpr int64_t kWantsRefreshMs = 2000;
constexpr size_t kWantQueueMax = 256;

}  // namespace

bool Session::Fetches(const storage::WantedBlob& w) const {
  switch (options_.blob_policy) {
    case BlobPolicy::kFull: return true;
    case BlobPolicy::kPreviews: return w.preview || w.demanded;
    case BlobPolicy::kNone: return false;
  }
  return false;
}

// The index says which blobs records refer to; it is built after entries
// are applied. A slice per call, so a large backlog never stalls the session.
// The blob index is complete once every photo and message change is
// indexed; other records may wait (the daemon indexes them when idle). Until
// then a larger slice per call: this is on a sync's path.
Result<bool> Session::IndexCaughtUp() {
  NCEN_ASSIGN_OR_RETURN(bool current, store_.BlobIndexCurrent());
  if (current) return true;
  NCEN_ASSIGN_OR_RETURN(uint64_t backlog, store_.CatchUpIndex(limits::kIndexRecordsPerSyncSlice));
  if (backlog == 0) return true;
  return store_.BlobIndexCurrent();
}

Status Session::RefreshWants(int64_t now_ms) {
  // Entries first: blobs are asked for once the peer has nothing more for us.
  if (progress_.ahead > 0 || !progress_.hello_received) return Status::Ok();
  if (options_.blob_policy == BlobPolicy::kNone) {
    TellBlobsDone(now_ms);
    return Status::Ok();
  }
  bool fresh_entries = wants_seen_batches_ != progress_.batches_received;
  // The list was cut at kWantQueueMax: look again before it runs dry.
  bool due = now_ms - wants_refreshed_ms_ >= kWantsRefreshMs || (wants_truncated_ && want_queue_.size() < 32);
  // Nothing new to look for: go on with the queue (and say done when all
  // arrived and is stored).
  if (!fresh_entries && !due) return RequestBlobs(now_ms);
  NCEN_ASSIGN_OR_RETURN(bool indexed, IndexCaughtUp());
  if (!indexed) return Status::Ok();
  wants_refreshed_ms_ = now_ms;
  wants_seen_batches_ = progress_.batches_received;
  std::set<Hash256> skip;
  for (const auto& [hash, when] : peer_lacks_) skip.insert(hash);
  const size_t limit = kWantQueueMax + fetching_.size();
  NCEN_ASSIGN_OR_RETURN(auto wanted, store_.WantedBlobs(limit, &skip));
  wants_truncated_ = wanted.size() >= limit;
  want_queue_.clear();
  uint64_t pending = 0, blobs = 0;
  for (const storage::WantedBlob& w : wanted) {
    if (!Fetches(w)) continue;
    storage::BlobInfo info;
    info.size = w.size;
    info.chunks = storage::BlobChunkCount(w.size);
    info.chunks_held = w.chunks_held;
    pending += w.size - info.bytes_held();
    ++blobs;
    if (!fetching_.count(w.hash)) want_queue_.push_back(w);
  }
  progress_.blob_bytes_pending = pending;
  progress_.blobs_pending = blobs;
  return RequestBlobs(now_ms);
}

Status Session::RequestBlobs(int64_t now_ms) {
  BlobWantMsg want;
  for (;;) {
    if (progress_.blob_bytes_in_flight >= options_.blob_window_bytes || want.ranges.size() >= limits::kBlobRangesMax) {
      break;
    }
    // The disk is behind: a commit runs and the next one's worth waits.
    // Asked for again when the commit is done (OnChunksStored).
    if (committing_ && buffered_bytes_ >= limits::kBlobCommitBytes) break;
    // Go on with a blob being fetched, else start the next one.
    BlobFetch* fetch = nullptr;
    for (auto& [hash, f] : fetching_) {
      if (f.next_request < storage::BlobChunkCount(f.want.size)) {
        fetch = &f;
        break;
      }
    }
    if (!fetch) {
      while (!want_queue_.empty()) {
        storage::WantedBlob w = want_queue_.front();
        want_queue_.pop_front();
        if (fetching_.count(w.hash)) continue;
        if (options_.blob_fetches && !options_.blob_fetches->Claim(w.hash, this)) continue;  // another peer brings it
        BlobFetch f{w, w.chunks_held, w.chunks_held, nullptr};
        if (w.chunks_held == 0) f.hasher = std::make_shared<crypto::Blake2bHasher>();
        fetch = &fetching_.emplace(w.hash, f).first->second;
        break;
      }
    }
    if (!fetch) break;
    const uint32_t chunks = storage::BlobChunkCount(fetch->want.size);
    uint32_t count = 0;
    uint64_t bytes = 0;
    while (fetch->next_request + count < chunks) {
      uint64_t n = storage::BlobChunkSize(fetch->want.size, fetch->next_request + count);
      if (count > 0 && progress_.blob_bytes_in_flight + bytes + n > options_.blob_window_bytes) break;
      bytes += n;
      ++count;
    }
    want.ranges.push_back({fetch->want.hash, fetch->next_request, count});
    fetch->next_request += count;
    progress_.blob_bytes_in_flight += bytes;
  }
  if (!want.ranges.empty()) {
    Queue(want, now_ms);
    told_blobs_done_ = false;  // the peer takes a want as "not done"
  }
  if (fetching_.empty() && want_queue_.empty() && !wants_truncated_ &&
      wants_seen_batches_ == progress_.batches_received) {
    TellBlobsDone(now_ms);
  }
  return Status::Ok();
}

void Session::TellBlobsDone(int64_t now_ms) {
  if (told_blobs_done_) return;
  told_blobs_done_ = true;
  Queue(BlobWantMsg{}, now_ms);
}

void Session::DropFetch(const Hash256& hash) {
  auto it = fetching_.find(hash);
  if (it == fetching_.end()) return;
  const BlobFetch& f = it->second;
  uint64_t asked = ChunkBytes(f.want.size, f.next_expected, f.next_request - f.next_expected);
  progress_.blob_bytes_in_flight -= std::min(progress_.blob_bytes_in_flight, asked);
  fetching_.erase(it);
  if (options_.blob_fetches) options_.blob_fetches->Release(hash, this);
}

Status Session::OnBlobData(const BlobDataMsg& m, int64_t now_ms) {
  auto it = fetching_.find(m.hash);
  if (it == fetching_.end()) {
    // Asked for, then dropped here (the peer holds it at another size): the
    // rest of what was asked may still come, and is ignored. Anything else
    // was never asked for.
    if (peer_lacks_.count(m.hash)) return Status::Ok();
    return Corruption("blob data for " + storage::BlobHashText(m.hash) + ", which this node did not ask for");
  }
  BlobFetch& f = it->second;
  if (m.size != f.want.size) {
    // The reference here names another size than the blob the peer holds:
    // the bytes cannot match the hash. Asked elsewhere later.
    log_.push_back("peer " + peer_.name + " holds blob " + storage::BlobHashText(m.hash) + " as " +
                   std::to_string(m.size) + " bytes; the reference here says " + std::to_string(f.want.size));
    peer_lacks_[m.hash] = now_ms;
    DropFetch(m.hash);
    return RequestBlobs(now_ms);
  }
  if (m.first != f.next_expected) {
    return Corruption("blob data for " + storage::BlobHashText(m.hash) + " starts at chunk " +
                      std::to_string(m.first) + " where " + std::to_string(f.next_expected) + " was due");
  }
  // Whole chunks, within what was asked for.
  uint32_t count = 0;
  size_t at = 0;
  while (at < m.data.size()) {
    size_t n = storage::BlobChunkSize(f.want.size, m.first + count);
    if (n == 0 || m.data.size() - at < n) return Corruption("blob data does not hold whole chunks");
    at += n;
    ++count;
  }
  if (count == 0 || m.first + count > f.next_request) {
    return Corruption("blob data for " + storage::BlobHashText(m.hash) + " holds chunks not asked for");
  }
  // Kept until a few megabytes are here (one commit, one fsync, for all of
  // them), then stored; more is asked for at once.
  f.next_expected += count;
  progress_.blob_bytes_in_flight -= std::min<uint64_t>(progress_.blob_bytes_in_flight, m.data.size());
  BufferedChunks piece{m.hash, f.want.size, m.first, Bytes(m.data.begin(), m.data.end()), std::nullopt};
  // Hashed here, as they arrive, rather than by the chunk writer: measured
  // faster (docs/performance.md, "Photos").
  if (f.hasher) {
    f.hasher->Update(m.data);
    if (f.next_expected == storage::BlobChunkCount(f.want.size)) piece.digest = f.hasher->Final();
  }
  buffered_bytes_ += piece.data.size();
  buffered_.push_back(std::move(piece));
  if (buffered_bytes_ >= limits::kBlobCommitBytes) NCEN_RETURN_IF_ERROR(CommitBlobChunks());
  return RequestBlobs(now_ms);
}

Status Session::CommitBlobChunks(bool wait) {
  if (committing_) {
    if (!committing_->Done()) {
      if (!wait) return Status::Ok();
      committing_->Wait();
    }
    std::shared_ptr<ChunkJob> job = std::move(committing_);
    committing_.reset();
    NCEN_RETURN_IF_ERROR(job->result().status());
    NCEN_RETURN_IF_ERROR(TakeWrites(job->pieces(), *job->result()));
  }
  if (buffered_.empty()) return Status::Ok();
  std::vector<BufferedChunks> pieces;
  pieces.swap(buffered_);
  buffered_bytes_ = 0;
  if (options_.chunk_writer && !wait) {
    committing_ = std::make_shared<ChunkJob>(std::move(pieces));
    options_.chunk_writer->Submit(committing_);
    return Status::Ok();
  }
  NCEN_ASSIGN_OR_RETURN(auto writes, store_.PutBlobChunks(PieceViews(pieces)));
  return TakeWrites(pieces, writes);
}

Status Session::TakeWrites(const std::vector<BufferedChunks>& done, const std::vector<storage::ChunkWrite>& writes) {
  NCEN_CHECK(writes.size() == done.size());
  for (size_t i = 0; i < done.size(); ++i) {
    const storage::ChunkWrite& w = writes[i];
    const Hash256& hash = done[i].hash;
    if (w.mismatch) {
      DropFetch(hash);
      return Corruption("the bytes received for blob " + storage::BlobHashText(hash) +
                        " do not match its hash; dropped");
    }
    progress_.blob_bytes_received += w.bytes_new;
    progress_.blob_bytes_pending -= std::min(progress_.blob_bytes_pending, w.bytes_new);
    auto it = fetching_.find(hash);
    if (w.bytes_new != done[i].data.size()) {
      // Some chunk held was not stored from these bytes: the digest of what
      // arrived here does not name what the store holds.
      if (it != fetching_.end()) it->second.hasher.reset();
      for (BufferedChunks& b : buffered_) {
        if (b.hash == hash) b.digest.reset();
      }
    }
    if (w.completed) {
      ++progress_.blobs_received;
      if (progress_.blobs_pending > 0) --progress_.blobs_pending;
      DropFetch(hash);
    } else if (it != fetching_.end() && it->second.next_expected >= storage::BlobChunkCount(it->second.want.size)) {
      // Every chunk came and none was new: held already (another session
      // finished it). Nothing more to ask.
      bool later = false;
      for (size_t j = i + 1; j < done.size(); ++j) later = later || done[j].hash == hash;
      for (const BufferedChunks& b : buffered_) later = later || b.hash == hash;
      if (!later) DropFetch(hash);
    }
  }
  return Status::Ok();
}

void Session::OnChunksStored(int64_t now_ms) {
  if (failed_ || !started_ || !committing_ || !committing_->Done()) return;
  if (Status s = CommitBlobChunks(); !s.ok()) return Fail(s, true, now_ms);
  if (Status s = RequestBlobs(now_ms); !s.ok()) return Fail(s, true, now_ms);
  UpdateProgress(now_ms);
}

void Session::Finish() {
  // What arrived is kept; a store failure now only means it is fetched again.
  (void)CommitBlobChunks(/*wait=*/true);
  (void)CommitBlobChunks(/*wait=*/true);
}

Status Session::OnBlobLack(const BlobLackMsg& m, int64_t now_ms) {
  for (const auto& [hash, reason] : m.items) {
    if (reason == BlobLackReason::kNowHeld) {
      // Ask again at the next look.
      if (peer_lacks_.erase(hash)) wants_seen_batches_ = UINT64_MAX;
      continue;
    }
    if (!fetching_.count(hash)) continue;
    peer_lacks_[hash] = now_ms;
    DropFetch(hash);
  }
  return RequestBlobs(now_ms);
}

Result<bool> Session::BlobMayGo(const Hash256& hash) {
#ifdef NCEN_MUTANT_SKIP_BLOB_SCOPE  // tests/sim: a mutant that serves any blob it holds to any peer
  return true;
#endif
  NCEN_ASSIGN_OR_RETURN(auto uses, store_.BlobUses(hash));
  for (const storage::BlobUse& use : uses) {
    if (MayReceive(FeedId{use.author, use.scope})) return true;
  }
  return false;
}

Status Session::OnBlobWant(const BlobWantMsg& m, int64_t now_ms) {
  peer_blobs_done_ = m.ranges.empty();
  for (const BlobRangeMsg& r : m.ranges) {
    if (r.count == 0 || r.count > storage::BlobChunkCount(storage::kBlobBytesMax)) {
      return Corruption("blob want of " + std::to_string(r.count) + " chunks");
    }
    wants_in_.push_back(r);
  }
  // Checked and counted in bytes when served; until then only their number
  // is bounded.
  if (wants_in_.size() > 4 * limits::kBlobRangesMax) {
    return ResourceExhausted("peer " + peer_.name + " asks for more blob ranges than a window");
  }
  return ServeWants(now_ms);
}

// Checks each want received: the blob held whole here, and a record the
// peer may hold refers to it. Waits while the index is behind.
Status Session::ServeWants(int64_t now_ms) {
  if (wants_in_.empty()) return Status::Ok();
  NCEN_ASSIGN_OR_RETURN(bool indexed, IndexCaughtUp());
  if (!indexed) return Status::Ok();
  BlobLackMsg lack;
  std::map<Hash256, std::optional<BlobLackReason>> verdicts;
  while (!wants_in_.empty()) {
    BlobRangeMsg r = wants_in_.front();
    wants_in_.pop_front();
    auto [v, fresh] = verdicts.try_emplace(r.hash);
    if (fresh) {
      NCEN_ASSIGN_OR_RETURN(bool may, BlobMayGo(r.hash));
      NCEN_ASSIGN_OR_RETURN(auto info, store_.GetBlobInfo(r.hash));
      if (!may) {
        v->second = BlobLackReason::kNotAllowed;
      } else if (!info || !info->complete) {
        v->second = BlobLackReason::kNotHeld;
      }
      if (v->second) {
        lack.items.push_back({r.hash, *v->second});
        if (lacked_to_peer_.size() < 4 * limits::kBlobRangesMax) {
          lacked_to_peer_.insert(r.hash);
        }
      }
    }
    if (v->second) continue;
    NCEN_ASSIGN_OR_RETURN(auto info, store_.GetBlobInfo(r.hash));
    uint32_t size = static_cast<uint32_t>(info->size);
    uint32_t chunks = storage::BlobChunkCount(size);
    if (r.first >= chunks) {
      lack.items.push_back({r.hash, BlobLackReason::kNotHeld});
      continue;
    }
    r.count = std::min(r.count, chunks - r.first);
    serving_bytes_ += ChunkBytes(size, r.first, r.count);
    serving_.push_back(r);
    // An honest receiver asks for at most its window ahead of what arrived.
    if (serving_bytes_ > 2 * limits::kBlobWindowBytes) {
      return ResourceExhausted("peer " + peer_.name + " asks for more blob bytes than a window");
    }
  }
  if (!lack.items.empty()) Queue(lack, now_ms);
  if (inflight_.size() < options_.window) return SendBlobData(now_ms);
  return Status::Ok();
}

void Session::OnDrained(int64_t now_ms) {
  if (failed_ || !started_ || serving_.empty() || inflight_.size() >= options_.window) return;
  if (Status s = SendBlobData(now_ms); !s.ok()) return Fail(s, true, now_ms);
  UpdateProgress(now_ms);
}

Status Session::SendBlobData(int64_t now_ms) {
  // Paced by what the transport still holds (SessionOptions::queued_bytes).
  size_t queued = options_.queued_bytes ? options_.queued_bytes() : 0;
  while (!serving_.empty()) {
    if (options_.queued_bytes && queued >= options_.blob_queue_bytes) break;  // OnDrained goes on
    BlobRangeMsg& r = serving_.front();
    NCEN_ASSIGN_OR_RETURN(auto info, store_.GetBlobInfo(r.hash));
    if (!info || !info->complete || r.first >= info->chunks) {
      // Asked past its end (or gone): a lack, not an error of ours.
      BlobLackMsg lack;
      lack.items.push_back({r.hash, BlobLackReason::kNotHeld});
      Queue(lack, now_ms);
      serving_.pop_front();
      continue;
    }
    uint32_t last = std::min(r.first + r.count, info->chunks);
    // No more than the queue has room for (one chunk at least): a capped
    // peer gets one chunk per message, not four.
    size_t room = options_.queued_bytes && options_.blob_queue_bytes > queued ? options_.blob_queue_bytes - queued : 0;
    size_t max_bytes = std::clamp<size_t>(room, storage::kBlobChunkBytes, limits::kBlobDataBytesMax);
    const uint32_t size = static_cast<uint32_t>(info->size);
    uint32_t n = 1;
    while (r.first + n < last && ChunkBytes(size, r.first, n + 1) <= max_bytes) ++n;
    size_t bytes = ChunkBytes(size, r.first, n);
    // The chunks go from the store straight into the message.
    Bytes message = SpareMessage();
    NCEN_RETURN_IF_ERROR(store_.ReadBlobChunks(r.hash, r.first, n, StartBlobDataInto(r.hash, size, r.first, bytes, message)));
    outgoing_.push_back(std::move(message));
    last_sent_ms_ = now_ms;
    progress_.blob_bytes_sent += bytes;
    queued += bytes;
    serving_bytes_ -= std::min<size_t>(serving_bytes_, bytes);
    r.first += n;
    r.count -= std::min(r.count, n);
    if (r.count == 0 || r.first >= last) serving_.pop_front();
  }
  // Asked for and not yet queued: counted across wants, so a peer that asks
  // for a window again and again before reading is ended (ServeWants).
  if (serving_.empty()) serving_bytes_ = 0;
  return Status::Ok();
}

}  // namespace ncen::replication
