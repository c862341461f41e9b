#include "replication/protocol/marks.h"

namespace ncen::replication {

std::string FeedText(const storage::FeedId& feed) {
  return crypto::Fingerprint(feed.author) + "/" + storage::ScopeName(feed.scope);
}

Marks::Marks(storage::Store& store, const crypto::PublicKey& self, std::string source)
    : store_(store), self_(self), source_(std::move(source)) {}

Result<HeldFork> Marks::Record(const storage::SignedHeader& a, const storage::SignedHeader& b, int64_t now_ms,
                               std::string source) {
  HeldFork held;
  storage::ForkReport& fork = held.report;
  fork.feed = a.header.feed();
  fork.seq = a.header.seq;
  fork.a = a;
  fork.b = b;
  fork.ours = a.hash();
  fork.theirs = b.hash();
  fork.detected_ms = now_ms;
  fork.source = std::move(source);
  NCEN_RETURN_IF_ERROR(store_.ReportFork(fork, &held.newly));
  return held;
}

Result<std::optional<HeldFork>> Marks::FromForkEvidence(const ForkEvidenceMsg& m, int64_t now_ms,
                                                        std::vector<std::string>& log) {
  if (Status s = storage::VerifyForkEvidence(m.a, m.b); !s.ok()) {
    log.push_back("ignored fork evidence from " + source_ + " for feed " + FeedText(m.a.header.feed()) + ": " +
                  s.message());
    return std::optional<HeldFork>();
  }
  NCEN_ASSIGN_OR_RETURN(HeldFork held, Record(m.a, m.b, now_ms, source_ + " (evidence from the peer)"));
  return std::optional<HeldFork>(std::move(held));
}

Result<std::optional<HeldFork>> Marks::FromSignedHeader(const storage::SignedHeader& h, int64_t now_ms,
                                                        std::vector<std::string>& log) {
  const storage::FeedId feed = h.header.feed();
  auto held = store_.GetEntry(feed, h.header.seq);
  if (!held.ok() && held.status().code() != StatusCode::kNotFound) return held.status();
  if (feed.author == self_ && !held.ok()) {
    // An entry of our own feed beyond what we hold: the store checks the
    // signature and the seq before it marks anything.
    bool newly = false;
    Status marked = store_.MarkStaleIdentity(h, source_, &newly);
    if (!marked.ok() && marked.code() != StatusCode::kUnauthenticated) return marked;
    if (!marked.ok()) {
      log.push_back("ignored stale evidence from " + source_ + ": " + marked.message());
    } else if (newly) {
      log.push_back("STALE IDENTITY: " + source_ + " showed an entry of this node's own feed " + FeedText(feed) +
                    " at seq " + std::to_string(h.header.seq) +
                    " beyond what it holds; local writes are refused until an administrator acts");
    }
    return std::optional<HeldFork>();
  }
  if (!held.ok() || held->hash() == h.hash()) return std::optional<HeldFork>();  // nothing to compare, or the same
  storage::SignedHeader ours = storage::SignedHeaderOf(*held);
  if (Status s = storage::VerifyForkEvidence(ours, h); !s.ok()) {
    log.push_back("ignored evidence from " + source_ + " for feed " + FeedText(feed) + ": " + s.message());
    return std::optional<HeldFork>();
  }
  NCEN_ASSIGN_OR_RETURN(HeldFork fork, Record(ours, h, now_ms, source_));
  return std::optional<HeldFork>(std::move(fork));
}

Status Marks::OnForkHeld(const storage::ForkReport& fork, bool newly, std::vector<std::string>& log) {
  if (newly) {
    log.push_back("FORK in feed " + FeedText(fork.feed) + " at seq " + std::to_string(fork.seq) + " (" +
                  fork.source + "); the feed stops syncing until an administrator clears it "
                  "(ncenctl forks)");
  }
  if (fork.feed.author != self_) return Status::Ok();
  // Of the two entries, the one this node does not hold is the evidence.
  auto held = store_.GetEntry(fork.feed, fork.seq);
  const storage::SignedHeader* other = &fork.a;
  if (held.ok() && held->hash() == fork.a.hash()) other = &fork.b;
  bool stale_newly = false;
  Status marked = store_.MarkStaleIdentity(*other, source_, &stale_newly);
  if (!marked.ok() && marked.code() != StatusCode::kUnauthenticated) return marked;
  if (stale_newly) {
    log.push_back("STALE IDENTITY: this node's own feed " + FeedText(fork.feed) + " is forked at seq " +
                  std::to_string(fork.seq) + "; local writes are refused until an administrator acts");
  }
  return Status::Ok();
}

}  // namespace ncen::replication
