#include "node/peer_manager.h"

#include <algorithm>
#include <set>

#include "base/check.h"

namespace ncen::node {

PeerManager::PeerManager(const crypto::PublicKey& self, PeerManagerOptions options, uint64_t seed)
    : self_(self), options_(options), rng_(seed) {
  NCEN_CHECK(options_.redial_first_ms > 0 && options_.redial_first_ms <= options_.redial_max_ms);
  NCEN_CHECK(options_.status_interval_ms > 0);
}

PeerManager::Peer& PeerManager::Add(const PeerConfig& config, int64_t now_ms) {
  Peer& peer = peers_[config.id];
  peer.config = config;
  peer.status.name = config.name;
  peer.status.id = config.id;
  peer.status.address = config.address;
  peer.redial_at_ms = now_ms;
  return peer;
}

void PeerManager::Start(const std::vector<PeerConfig>& peers, const std::vector<storage::PeerStatus>& rows,
                        int64_t now_ms) {
  std::map<crypto::PublicKey, const storage::PeerStatus*> previous;
  for (const auto& row : rows) previous[row.id] = &row;
  for (const PeerConfig& config : peers) {
    Peer& peer = Add(config, now_ms);
    auto it = previous.find(config.id);
    if (it == previous.end()) continue;
    // An earlier run's row: its counters and last sync carry on; it was not
    // connected then as far as anyone can tell now.
    peer.status = *it->second;
    peer.status.name = config.name;
    if (!config.address.empty()) peer.status.address = config.address;
    peer.status.connected = false;
    peer.status.connected_since_ms = 0;
    peer.before = Traffic{peer.status.bytes_in, peer.status.bytes_out};
  }
  status_changed_ = true;
}

bool PeerManager::AddPeer(const PeerConfig& config, int64_t now_ms) {
  if (peers_.count(config.id)) return false;
  Add(config, now_ms);
  status_changed_ = true;
  return true;
}

PeerManager::Changes PeerManager::Reload(const std::vector<PeerConfig>& peers, int64_t now_ms) {
  Changes changes;
  std::set<crypto::PublicKey> keep;
  for (const PeerConfig& config : peers) {
    keep.insert(config.id);
    auto it = peers_.find(config.id);
    if (it == peers_.end()) {
      Add(config, now_ms);
      changes.added.push_back(config.id);
      continue;
    }
    Peer& peer = it->second;
    if (peer.config.scopes != config.scopes && peer.link != 0) changes.scopes_changed.push_back(config.id);
    peer.config = config;
    peer.status.name = config.name;
    if (peer.link == 0) peer.redial_at_ms = now_ms;
  }
  for (auto it = peers_.begin(); it != peers_.end();) {
    if (keep.count(it->first)) {
      ++it;
      continue;
    }
    changes.removed.push_back(it->first);
    it = peers_.erase(it);
  }
  status_changed_ = true;
  return changes;
}

const PeerConfig* PeerManager::Find(const crypto::PublicKey& id) const {
  auto it = peers_.find(id);
  return it == peers_.end() ? nullptr : &it->second.config;
}

std::vector<crypto::PublicKey> PeerManager::Ids() const {
  std::vector<crypto::PublicKey> ids;
  for (const auto& [id, peer] : peers_) ids.push_back(id);
  return ids;
}

// ---------------------------------------------------------------------------
// Dialing

std::vector<PeerConfig> PeerManager::TakeDialsDue(int64_t now_ms) {
  std::vector<PeerConfig> due;
  if (stopped_) return due;
  for (auto& [id, peer] : peers_) {
    if (peer.config.address.empty() || peer.link != 0 || peer.dialing) continue;
    if (!peer.redial_at_ms || *peer.redial_at_ms > now_ms) continue;
    peer.redial_at_ms.reset();
    peer.dialing = true;
    peer.status.address = peer.config.address;
    due.push_back(peer.config);
  }
  return due;
}

std::optional<int64_t> PeerManager::NextDialMs() const {
  std::optional<int64_t> next;
  if (stopped_) return next;
  for (const auto& [id, peer] : peers_) {
    if (peer.config.address.empty() || peer.link != 0 || peer.dialing || !peer.redial_at_ms) continue;
    if (!next || *peer.redial_at_ms < *next) next = peer.redial_at_ms;
  }
  return next;
}

int64_t PeerManager::RedialDelayMs(int failures) {
  int64_t delay = options_.redial_first_ms << std::clamp(failures, 0, 20);
  delay = std::min(delay, options_.redial_max_ms);
  return delay * static_cast<int64_t>(75 + rng_.Below(51)) / 100;
}

void PeerManager::ScheduleRedial(Peer& peer, int64_t now_ms) {
  peer.redial_at_ms = now_ms + RedialDelayMs(peer.failures);
  ++peer.failures;
}

bool PeerManager::OnDialFailed(const crypto::PublicKey& id, const std::string& error, int64_t now_ms) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return false;
  Peer& peer = it->second;
  peer.dialing = false;
  if (peer.link != 0) return false;  // the peer dialed us meanwhile
  peer.status.last_error = error;
  bool first = peer.failures == 0;
  ScheduleRedial(peer, now_ms);
  return first;
}

void PeerManager::RedialAllNow(int64_t now_ms) {
  for (auto& [id, peer] : peers_) {
    if (peer.link == 0) peer.redial_at_ms = now_ms;
  }
}

// ---------------------------------------------------------------------------
// Links

bool PeerManager::Admit(const crypto::PublicKey& id, bool dialed_by_us) const {
  auto it = peers_.find(id);
  if (it == peers_.end()) return false;
  const Peer& peer = it->second;
  if (peer.link == 0) return true;
  auto initiator = [&](bool by_us) { return by_us ? self_ : id; };
  return initiator(dialed_by_us) <= initiator(peer.link_dialed_by_us);
}

void PeerManager::OnLinkOpen(const crypto::PublicKey& id, LinkId link, bool dialed_by_us,
                             const std::string& remote_address, int64_t now_ms) {
  NCEN_CHECK(link != 0);
  auto it = peers_.find(id);
  NCEN_CHECK(it != peers_.end());
  Peer& peer = it->second;
  NCEN_CHECK(peer.link == 0);  // the driver ended the old link first
  if (dialed_by_us) peer.dialing = false;
  peer.link = link;
  peer.link_dialed_by_us = dialed_by_us;
  peer.redial_at_ms.reset();
  peer.failures = 0;
  peer.caught_up = false;
  peer.last_progress_log_ms = 0;
  peer.status.connected = true;
  peer.status.connected_since_ms = now_ms;
  peer.status.address = remote_address;
  peer.status.last_error.clear();
  status_changed_ = true;
}

void PeerManager::OnLinkClosed(const crypto::PublicKey& id, LinkId link, bool dialed_by_us,
                               const Status& error, Traffic traffic, int64_t now_ms) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return;
  Peer& peer = it->second;
  if (link != 0 && link == peer.link) {
    peer.before.bytes_in += traffic.bytes_in;
    peer.before.bytes_out += traffic.bytes_out;
    peer.status.bytes_in = peer.before.bytes_in;
    peer.status.bytes_out = peer.before.bytes_out;
    peer.status.connected = false;
    peer.status.connected_since_ms = 0;
    if (!error.ok()) peer.status.last_error = error.ToString();
    peer.link = 0;
    peer.caught_up = false;
    status_changed_ = true;
    if (peer.link_dialed_by_us) ScheduleRedial(peer, now_ms);
    return;
  }
  // A link of ours that never became the session: its handshake failed, or
  // it lost the tie-break. Try again later if there is still no link.
  if (!dialed_by_us) return;
  peer.dialing = false;
  if (peer.link != 0) return;
  if (!error.ok()) peer.status.last_error = error.ToString();
  ScheduleRedial(peer, now_ms);
}

LinkId PeerManager::LinkOf(const crypto::PublicKey& id) const {
  auto it = peers_.find(id);
  return it == peers_.end() ? 0 : it->second.link;
}

std::optional<crypto::PublicKey> PeerManager::PeerOfLink(LinkId link) const {
  if (link == 0) return std::nullopt;
  for (const auto& [id, peer] : peers_) {
    if (peer.link == link) return id;
  }
  return std::nullopt;
}

bool PeerManager::AnyLink() const {
  return std::any_of(peers_.begin(), peers_.end(), [](const auto& kv) { return kv.second.link != 0; });
}

// ---------------------------------------------------------------------------
// What sessions report

bool PeerManager::NoteCaughtUp(const crypto::PublicKey& id, bool caught_up) {
  auto it = peers_.find(id);
  if (it == peers_.end() || it->second.link == 0 || it->second.caught_up == caught_up) return false;
  it->second.caught_up = caught_up;
  status_changed_ = true;
  return true;
}

void PeerManager::SaveProgress(const crypto::PublicKey& id, const replication::SessionProgress& progress,
                               std::vector<storage::FeedHead> peer_frontier) {
  auto it = peers_.find(id);
  if (it == peers_.end() || !progress.hello_received) return;
  storage::PeerStatus& status = it->second.status;
  status.behind = progress.behind;
  status.ahead = progress.ahead;
  status.blobs_pending = progress.blobs_pending;
  status.blob_bytes_pending = progress.blob_bytes_pending;
  status.blob_bytes_in_flight = progress.blob_bytes_in_flight;
  status.blob_bytes_received = progress.blob_bytes_received;
  status.blob_bytes_sent = progress.blob_bytes_sent;
  if (progress.last_sync_ms) status.last_sync_ms = progress.last_sync_ms;
  status.peer_frontier = std::move(peer_frontier);
}

void PeerManager::SetTraffic(const crypto::PublicKey& id, Traffic traffic) {
  auto it = peers_.find(id);
  if (it == peers_.end() || it->second.link == 0) return;
  Peer& peer = it->second;
  peer.status.bytes_in = peer.before.bytes_in + traffic.bytes_in;
  peer.status.bytes_out = peer.before.bytes_out + traffic.bytes_out;
}

std::optional<std::string> PeerManager::ProgressLine(const crypto::PublicKey& id,
                                                     const replication::SessionProgress& p, int64_t now_ms) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return std::nullopt;
  Peer& peer = it->second;
  if (p.caught_up || !p.hello_received) {
    if (p.caught_up) peer.last_progress_log_ms = 0;
    return std::nullopt;
  }
  if (now_ms - peer.last_progress_log_ms < options_.progress_log_interval_ms) return std::nullopt;
  // The first interval starts now; a line only after a whole interval.
  bool first = peer.last_progress_log_ms == 0;
  peer.last_progress_log_ms = now_ms;
  if (first) return std::nullopt;
  return "syncing with " + peer.config.name + ": " + std::to_string(p.behind) + " entries to send, " +
         std::to_string(p.ahead) + " to receive (" + std::to_string(p.entries_sent) + " sent, " +
         std::to_string(p.entries_received) + " received so far)";
}

bool PeerManager::AllDialedInSync() const {
  bool any = false;
  for (const auto& [id, peer] : peers_) {
    if (peer.config.address.empty()) continue;
    any = true;
    if (peer.link == 0 || !peer.caught_up) return false;
  }
  return any;
}

bool PeerManager::AnyToDial() const {
  return std::any_of(peers_.begin(), peers_.end(),
                     [](const auto& kv) { return !kv.second.config.address.empty(); });
}

bool PeerManager::AllIdle() const {
  return std::all_of(peers_.begin(), peers_.end(),
                     [](const auto& kv) { return kv.second.link == 0 || kv.second.caught_up; });
}

// ---------------------------------------------------------------------------
// Status rows

bool PeerManager::StatusDue(int64_t now_ms) const {
  return status_changed_ || now_ms - last_status_ms_ >= options_.status_interval_ms ||
         now_ms < last_status_ms_;
}

std::vector<storage::PeerStatus> PeerManager::TakeStatusRows(int64_t now_ms) {
  status_changed_ = false;
  last_status_ms_ = now_ms;
  std::vector<storage::PeerStatus> rows;
  rows.reserve(peers_.size());
  for (auto& [id, peer] : peers_) {
    peer.status.updated_ms = now_ms;
    rows.push_back(peer.status);
  }
  return rows;
}

}  // namespace ncen::node
