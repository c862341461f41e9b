// The fork and stale-identity rules of replication, in one place: what a
// peer's evidence proves, and what this node records because of it
// (docs/protocol.md §6, §9). A peer's word changes nothing. Two validly
// signed headers at one seq of one feed are a fork; a validly signed entry
// of this node's own feed that it does not hold means this node was
// restored from an old copy (a stale identity); a fork of this node's own
// feed means the same. The store verifies signatures again before it writes
// any mark (storage/store_marks.cpp).
//
// Used by Session, which decides what travels (scopes, what was offered
// already) and stops syncing a forked feed; these functions decide what a
// piece of evidence means and record it. Lines worth an administrator's eye
// are appended to `log`. Same thread as the session's store.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "replication/protocol/messages.h"
#include "storage/store.h"

namespace ncen::replication {

// "fingerprint/scope", as logs name a feed.
std::string FeedText(const storage::FeedId& feed);

// A fork report held here, and whether this call recorded it.
struct HeldFork {
  storage::ForkReport report;
  bool newly = false;
};

class Marks {
 public:
  // `source`: the peer the evidence comes from, as reports and logs name it.
  Marks(storage::Store& store, const crypto::PublicKey& self, std::string source);

  // Fork evidence the peer sent (in its hello, or an evidence message):
  // recorded when it verifies; none when it does not (logged, ignored).
  Result<std::optional<HeldFork>> FromForkEvidence(const ForkEvidenceMsg& evidence, int64_t now_ms,
                                                   std::vector<std::string>& log);
  // A signed header the peer showed (it compares with ours). Of our own feed
  // at a seq we do not hold: marks this node's identity stale (returns
  // none). Different from the entry we hold at that seq: a fork, recorded —
  // the peer holds the other entry, so the caller shows it both. Otherwise
  // none.
  Result<std::optional<HeldFork>> FromSignedHeader(const storage::SignedHeader& header, int64_t now_ms,
                                                   std::vector<std::string>& log);
  // A fork report is held here (recorded now, or found in the store): logs
  // it when `newly`, and when it forks this node's own feed marks the
  // identity stale (it was restored and wrote again, or its key is in use
  // elsewhere), with the entry this node does not hold as the evidence.
  Status OnForkHeld(const storage::ForkReport& fork, bool newly, std::vector<std::string>& log);

 private:
  Result<HeldFork> Record(const storage::SignedHeader& a, const storage::SignedHeader& b, int64_t now_ms,
                          std::string source);

  storage::Store& store_;
  crypto::PublicKey self_;
  std::string source_;
};

}  // namespace ncen::replication
