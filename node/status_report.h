// What a node's status is made of, read once: identity, counts, frontier and
// digests, fork reports and the stale mark, its configuration, each
// configured peer joined with the row the daemon last wrote about it, and
// the latest refused connection attempts. `ncenctl status` prints it; the
// HTTP API will serve it. Plain values; GatherStatusReport reads the store
// (read transactions only) and DIR/ncen.toml.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "node/config.h"
#include "node/node_dir.h"
#include "storage/peer_status.h"
#include "storage/store.h"

namespace ncen::node {

// A configured peer and what the daemon last wrote about it.
struct PeerReport {
  PeerConfig config;
  std::optional<storage::PeerStatus> row;  // none: the daemon never wrote one
  bool connected = false;                  // the row says so and is fresh
  bool in_sync = false;                    // connected, behind = ahead = 0 and known
  bool member = false;                     // admitted by its certificate, not in ncen.toml

  // The configured address, else the one the daemon saw.
  std::string address() const { return !config.address.empty() ? config.address : row ? row->address : ""; }
  // behind/ahead were computed at least once.
  bool known() const { return row && row->last_sync_ms != 0; }
};

// Joins the configuration with the daemon's rows, as of `now_ms`.
std::vector<PeerReport> JoinPeers(const NodeConfig& config, const std::vector<storage::PeerStatus>& rows,
                                  int64_t now_ms);

// The network this node belongs to (docs/membership.md).
struct NetworkReport {
  std::string id_hex;
  size_t members = 0;
  bool certified = false;  // this node has a certificate
  std::string role, country;
  bool revoked = false;
  std::vector<storage::Violation> violations;
};

struct StatusReport {
  storage::NodeMeta meta;
  storage::StoreStats stats;
  std::vector<storage::FeedHead> frontier;
  storage::Hash256 frontier_digest{};
  std::optional<storage::Hash256> record_state_digest;  // only when asked: a scan of every record
  std::vector<storage::ForkReport> forks;
  storage::StaleMark stale;
  NodeConfig config;
  std::vector<PeerReport> peers;
  std::vector<storage::RefusedAttempt> refused;  // newest first
  std::optional<NetworkReport> network;          // none: a node of no network
  storage::MailCounts mail;                      // the mailbox, brought up to date (node/messages.h)
  int64_t now_ms = 0;
};

// `record_state_digest`: also the record-state digest (~250 ms per million
// records). `refused_shown`: at most this many refused attempts.
Result<StatusReport> GatherStatusReport(const OpenNode& node, const std::string& data_dir,
                                        bool record_state_digest, size_t refused_shown = 10);

}  // namespace ncen::node
