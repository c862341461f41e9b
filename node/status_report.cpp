#include "node/status_report.h"

#include "node/messages.h"

#include "node/network.h"
#include "storage/membership.h"

namespace ncen::node {

std::vector<PeerReport> JoinPeers(const NodeConfig& config, const std::vector<storage::PeerStatus>& rows,
                                  int64_t now_ms) {
  std::vector<PeerReport> out;
  for (const auto& peer : config.peers) {
    PeerReport report;
    report.config = peer;
    for (const auto& row : rows) {
      if (row.id == peer.id) report.row = row;
    }
    report.connected = report.row && report.row->IsConnectedAt(now_ms);
    report.in_sync = report.connected && report.row->InSync();
    out.push_back(std::move(report));
  }
  return out;
}

Result<StatusReport> GatherStatusReport(const OpenNode& node, const std::string& data_dir,
                                        bool record_state_digest, size_t refused_shown) {
  const storage::Store& store = *node.store;
  StatusReport r;
  r.meta = store.meta();
  if (record_state_digest) {
    NCEN_ASSIGN_OR_RETURN(r.record_state_digest, store.RecordStateDigest());
  }
  NCEN_ASSIGN_OR_RETURN(r.stats, store.Stats());
  {
    // Messages that arrived since the last look are counted too.
    // A mailbox that cannot catch up (a store error there) leaves the
    // counts as they were: status reports replication whatever happens to
    // messages, and `msg inbox` says what failed.
    Messages messages(*node.store, node.identity);
    (void)messages.CatchUp();
    NCEN_ASSIGN_OR_RETURN(r.mail, store.CountMail());
  }
  NCEN_ASSIGN_OR_RETURN(r.frontier, store.Frontier());
  NCEN_ASSIGN_OR_RETURN(r.frontier_digest, store.FrontierDigest());
  NCEN_ASSIGN_OR_RETURN(r.forks, store.Forks());
  NCEN_ASSIGN_OR_RETURN(r.stale, store.StaleIdentityMark());
  NCEN_ASSIGN_OR_RETURN(r.config, LoadConfig(data_dir, r.meta.node_id));
  NCEN_ASSIGN_OR_RETURN(auto rows, storage::PeerLedger(*node.store).All());
  r.now_ms = storage::UnixMillisNow();
  r.peers = JoinPeers(r.config, rows, r.now_ms);
  NCEN_ASSIGN_OR_RETURN(auto membership, store.GetMembership());
  if (membership) {
    NetworkReport net;
    net.id_hex = NetworkIdHex(membership->root());
    net.members = membership->members().size();
    if (const storage::Member* me = membership->Find(r.meta.node_id)) {
      net.certified = true;
      net.role = me->root ? "root" : storage::MemberKindName(me->cert.kind);
      net.country = me->cert.country;
      net.revoked = me->revoked;
    }
    NCEN_ASSIGN_OR_RETURN(net.violations, store.Violations());
    r.network = std::move(net);
    // Members admitted by their certificates (not in ncen.toml) have rows too.
    for (const auto& row : rows) {
      if (r.config.FindById(row.id)) continue;
      PeerReport report;
      report.config.name = row.name.empty() ? crypto::Fingerprint(row.id) : row.name;
      report.config.id = row.id;
      report.row = row;
      report.connected = row.IsConnectedAt(r.now_ms);
      report.in_sync = report.connected && row.InSync();
      report.member = true;
      r.peers.push_back(std::move(report));
    }
  }
  NCEN_ASSIGN_OR_RETURN(r.refused, storage::PeerLedger(*node.store).Refused(refused_shown));
  return r;
}

}  // namespace ncen::node
