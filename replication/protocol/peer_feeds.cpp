#include "replication/protocol/peer_feeds.h"

namespace ncen::replication {

using storage::FeedHead;
using storage::FeedId;

PeerFeeds::PeerFeeds(const crypto::PublicKey& peer, const std::vector<storage::Scope>& scopes,
                     std::shared_ptr<const storage::Membership> membership, std::set<FeedId> forked)
    : peer_(peer), scopes_(scopes.begin(), scopes.end()), membership_(std::move(membership)), forked_(std::move(forked)) {
  if (membership_) scopes_.insert(storage::Scope::kNetwork);
}

bool PeerFeeds::InScope(const FeedId& feed) const { return scopes_.count(feed.scope) > 0; }

bool PeerFeeds::Allowed(const FeedId& feed) const {
  if (!membership_) return true;
  auto [it, fresh] = allowed_.try_emplace(feed, false);
  if (fresh) it->second = membership_->MayAuthor(feed) && membership_->MayHold(peer_, feed);
  return it->second;
}

bool PeerFeeds::MayReceive(const FeedId& feed) const {
  return InScope(feed) && forked_.count(feed) == 0 && Allowed(feed);
}

Result<std::map<FeedId, FeedHead>> PeerFeeds::Offerable(const storage::Store& store,
                                                      const storage::Membership* membership) {
  NCEN_ASSIGN_OR_RETURN(auto frontier, store.Frontier());
  std::map<FeedId, FeedHead> out;
  for (const FeedHead& h : frontier) {
    uint64_t cut = membership ? membership->CutoffOf(h.feed) : UINT64_MAX;
    if (h.seq <= cut) {
      out[h.feed] = h;
    } else if (cut != 0) {
      // Entries past a revocation's cut-off are never offered.
      NCEN_ASSIGN_OR_RETURN(storage::Entry last, store.GetEntry(h.feed, cut));
      out[h.feed] = FeedHead{h.feed, cut, last.hash()};
    }
  }
  return out;
}

}  // namespace ncen::replication
