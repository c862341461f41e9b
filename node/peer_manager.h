// PeerManager: the daemon's decisions about its peers, with no I/O and no
// clock of its own — whom to dial and when (backoff with jitter), which of
// two connections with one peer to keep (the simultaneous-dial tie-break),
// what each peer's status row says and when rows are written, and refused
// attempts gathered for one write. node/daemon.cpp drives it with Asio and
// the wall clock; tests/sim drives the same class with the simulated network
// and its virtual clock, so the simulation runs the daemon's own rules
// (docs/design.md §7).
//
// The driver owns connections and sessions and names each connection with a
// LinkId of its choosing (never 0). It tells the manager what happened
// (a dial failed, a link opened or closed, a session's progress) and asks
// what to do (TakeDialsDue, Admit, StatusDue/TakeStatusRows, RefusedDue).
// Time is passed in, in the Unix milliseconds the status rows use.
//
// Thread-safety: none; the driver's thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/limits.h"
#include "base/rng.h"
#include "base/status.h"
#include "node/config.h"
#include "node/refused_aggregator.h"
#include "replication/protocol/session.h"
#include "storage/peer_status.h"

namespace ncen::node {

using LinkId = uint64_t;

struct PeerManagerOptions {
  // Redial after a failure: first, then doubling up to the most, each delay
  // jittered to 75–125 % so that nodes restarted together do not dial in
  // lockstep.
  int64_t redial_first_ms = limits::kRedialFirstMs;
  int64_t redial_max_ms = limits::kRedialMaxMs;
  // Status rows are written at least this often while the driver runs (the
  // heartbeat that `ncenctl status` reads), and at once when a session
  // starts or stops being caught up.
  int64_t status_interval_ms = limits::kStatusWriteIntervalMs;
  // A session that is catching up says how far it got this often.
  int64_t progress_log_interval_ms = limits::kProgressLogIntervalMs;
};

// A connection's byte counts.
struct Traffic {
  uint64_t bytes_in = 0, bytes_out = 0;
};

class PeerManager {
 public:
  PeerManager(const crypto::PublicKey& self, PeerManagerOptions options, uint64_t seed);

  // The configured peers at start, with the rows an earlier run wrote (their
  // byte counts and last sync carry on). Every peer with an address is due
  // to be dialed at once.
  void Start(const std::vector<PeerConfig>& peers, const std::vector<storage::PeerStatus>& rows,
             int64_t now_ms);

  // A new configuration. Added peers are dialed at once, as are configured
  // peers with no link (an administrator reloading expects a try now).
  // The driver closes the links of `removed` peers (they are forgotten here
  // already: their rows should be deleted) and ends the sessions of peers
  // whose scopes changed (reporting it with OnLinkClosed).
  struct Changes {
    std::vector<crypto::PublicKey> added, removed, scopes_changed;
  };
  Changes Reload(const std::vector<PeerConfig>& peers, int64_t now_ms);
  // One more peer, leaving the others as they are (their redial times, rows):
  // a member admitted by its certificate (docs/membership.md §6). False when
  // the id is known already.
  bool AddPeer(const PeerConfig& config, int64_t now_ms);

  const PeerConfig* Find(const crypto::PublicKey& id) const;
  std::vector<crypto::PublicKey> Ids() const;

  // --- Dialing

  // Peers to dial now: an address, no link, no dial under way, and their
  // redial time has come. Each is marked as being dialed until the driver
  // reports OnDialFailed or OnLinkOpen/OnLinkClosed for the dial's link.
  std::vector<PeerConfig> TakeDialsDue(int64_t now_ms);
  // When the next dial is due (none: nothing waits). A peer is due at start,
  // after a reload, after a failed dial, and after a link we dialed ended;
  // a link the peer dialed is the peer's to dial again.
  std::optional<int64_t> NextDialMs() const;
  // The dial (TCP connect or handshake, before a session) failed: redial
  // after the backoff. True for the first failure in a row (worth a line).
  bool OnDialFailed(const crypto::PublicKey& id, const std::string& error, int64_t now_ms);
  // Every peer with an address and no link is due now.
  void RedialAllNow(int64_t now_ms);
  // Shutting down: no more dials.
  void Stop() { stopped_ = true; }

  // --- Links (authenticated connections)

  // Whether to keep a newly opened link with `id`. With no link yet, yes.
  // With one already (both sides dialed at once, or the peer redialed over
  // a half-open link), both sides keep the link dialed by the node with the
  // smaller id; of two dialed by the same node, the newer. When this says
  // yes and a link exists, the driver ends the old one (OnLinkClosed) before
  // OnLinkOpen.
  bool Admit(const crypto::PublicKey& id, bool dialed_by_us) const;
  // A link is now the peer's session link.
  void OnLinkOpen(const crypto::PublicKey& id, LinkId link, bool dialed_by_us,
                  const std::string& remote_address, int64_t now_ms);
  // A link closed (or its session ended). For the session's link: `traffic`
  // is its final byte counts, `error` the reason (ok: an orderly end), and
  // a link we dialed is redialed after the first backoff. For a link of
  // ours that never became the session: a failed dial.
  void OnLinkClosed(const crypto::PublicKey& id, LinkId link, bool dialed_by_us, const Status& error,
                    Traffic traffic, int64_t now_ms);
  // The peer's session link, or 0.
  LinkId LinkOf(const crypto::PublicKey& id) const;
  // The peer whose session link this is.
  std::optional<crypto::PublicKey> PeerOfLink(LinkId link) const;
  bool AnyLink() const;

  // --- What sessions report

  // Whether the session is caught up; true when that changed (a status
  // write is then due at once).
  bool NoteCaughtUp(const crypto::PublicKey& id, bool caught_up);
  // What the session learned, kept in the peer's row: behind, ahead, last
  // sync and the peer's frontier (from its hello on).
  void SaveProgress(const crypto::PublicKey& id, const replication::SessionProgress& progress,
                    std::vector<storage::FeedHead> peer_frontier);
  // The link's byte counts so far (added to those of earlier links).
  void SetTraffic(const crypto::PublicKey& id, Traffic traffic);
  // "syncing with …" when a session has been catching up for another
  // interval; none otherwise.
  std::optional<std::string> ProgressLine(const crypto::PublicKey& id,
                                          const replication::SessionProgress& progress, int64_t now_ms);
  // Every peer with an address has a caught-up session (and there is one).
  bool AllDialedInSync() const;
  bool AnyToDial() const;
  // No session is catching up (background work may run).
  bool AllIdle() const;

  // --- Status rows

  bool StatusDue(int64_t now_ms) const;
  // One row per configured peer, stamped `now_ms`.
  std::vector<storage::PeerStatus> TakeStatusRows(int64_t now_ms);

  // --- Refused attempts (authenticated, not in the roster)

  void OnRefused(const storage::RefusedAttempt& attempt) { refused_.Add(attempt); }
  bool RefusedDue(int64_t now_ms) const { return refused_.Due(now_ms); }
  RefusedAggregator::Batch TakeRefused(int64_t now_ms) { return refused_.Take(now_ms); }

  // The backoff before redial number `failures` (0: the first), jittered.
  int64_t RedialDelayMs(int failures);

 private:
  struct Peer {
    PeerConfig config;
    LinkId link = 0;
    bool link_dialed_by_us = false;
    bool dialing = false;
    int failures = 0;
    std::optional<int64_t> redial_at_ms;  // none: not to be dialed until told
    bool caught_up = false;
    storage::PeerStatus status;
    Traffic before;  // of earlier links
    int64_t last_progress_log_ms = 0;
  };
  Peer& Add(const PeerConfig& config, int64_t now_ms);
  void ScheduleRedial(Peer& peer, int64_t now_ms);

  crypto::PublicKey self_;
  PeerManagerOptions options_;
  Rng rng_;
  std::map<crypto::PublicKey, Peer> peers_;
  RefusedAggregator refused_;
  bool stopped_ = false;
  bool status_changed_ = true;  // the first rows are written at once
  int64_t last_status_ms_ = 0;
};

}  // namespace ncen::node
