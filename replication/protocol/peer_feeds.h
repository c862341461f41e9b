// PeerFeeds: which feeds one peer may be given and may give, and this
// node's frontier as offered to any peer (docs/protocol.md §5,
// docs/membership.md §3). The one place these rules are written, for every
// sender that is not a live session: offline bundles (docs/bundles.md).
// Session (session.cpp: InScope, Allowed, MayReceive, and the cut-off in
// RefreshFrontier) applies the same rules and is meant to use this class.
//
// Plain value; one thread at a time.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <vector>

#include "base/status.h"
#include "crypto/identity.h"
#include "storage/membership.h"
#include "storage/store.h"

namespace ncen::replication {

class PeerFeeds {
 public:
  // `scopes`: what the peer may receive (its ncen.toml entry, or every
  // scope for a member admitted by its certificate); in a network
  // (`membership` not null) scope network is always exchanged. `forked`:
  // feeds with a fork report here (nothing of them is sent).
  PeerFeeds(const crypto::PublicKey& peer, const std::vector<storage::Scope>& scopes,
            std::shared_ptr<const storage::Membership> membership, std::set<storage::FeedId> forked = {});

  // A scope exchanged with this peer (configured, or network in a network).
  bool InScope(const storage::FeedId& feed) const;
  // The network's rules let the peer hold the feed: its author may write
  // its scope and the peer may hold it (true outside a network).
  bool Allowed(const storage::FeedId& feed) const;
  // In scope, allowed, and not forked here: what the peer is offered and
  // what is taken from it.
  bool MayReceive(const storage::FeedId& feed) const;

  const storage::Membership* membership() const { return membership_.get(); }

  // This node's feeds as any peer is offered them: a feed whose author is
  // revoked ends at its cut-off (the entry there is read for its hash); a
  // feed cut at 0 is left out. Errors are the store's.
  static Result<std::map<storage::FeedId, storage::FeedHead>> Offerable(const storage::Store& store,
                                                                       const storage::Membership* membership);

 private:
  crypto::PublicKey peer_;
  std::set<storage::Scope> scopes_;
  std::shared_ptr<const storage::Membership> membership_;
  std::set<storage::FeedId> forked_;
  mutable std::map<storage::FeedId, bool> allowed_;
};

}  // namespace ncen::replication
