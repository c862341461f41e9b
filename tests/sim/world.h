// The simulated world behind RunSeed (sim.h): nodes with real stores, links
// and TCP-like connections carrying whole protocol messages between real
// Sessions, an agenda of timed events, the write workload, the faults, and
// the invariants. Internal to tests/sim; one thread.
//
// Files: world.cpp (set-up, the event loop, healing, the result),
// network.cpp (connections, delivery, dialing, ticks), faults.cpp (writes,
// crashes, restores, partitions, link faults), checks.cpp (safety after every
// step, convergence after healing).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include "base/limits.h"
#include "base/rng.h"
#include "node/peer_manager.h"
#include "replication/protocol/session.h"
#include "replication/protocol/wire_codec.h"
#include "storage/membership.h"
#include "storage/store.h"
#include "tests/sim/hostile.h"
#include "tests/sim/sim.h"
#include "tests/sim/trace.h"
#include "tests/sim/truth.h"
#include "tests/support/temp_dir.h"

namespace ncen::sim {

using storage::FeedHead;
using storage::Scope;

inline constexpr int64_t kTickMs = limits::kDaemonTickMs;  // the daemon's tick
inline constexpr int64_t kConvergeCheckMs = 1000;  // how often convergence is tested after healing
// Healed, not converged, and no message but pings for this long: it never will.
inline constexpr int64_t kQuietMs = 45000;
// After convergence the run goes on this long: sessions must neither end nor
// report anything but caught up.
inline constexpr int64_t kSettleMs = 30000;
// ... except in its first moments: a session that has not polled since its
// node learned of a fork ends once, by design, to tell its peer.
inline constexpr int64_t kSettleGraceMs = 2000;
// The daemon's peer logic runs as it is (node/peer_manager.h), except that
// redials back off to 10 s at most here rather than 30 s.
inline constexpr int64_t kRedialMaxMs = 10000;
inline constexpr int64_t kStartMs = 1767225600000;  // 2026-01-01: virtual time zero
// With photos (SimOptions::blob_window_fit): a session's blob window is what
// its link carries in this long, and links carry at least a chunk in it, so
// that a blob_data message arrives within the idle timeout even when it
// leaves just before a keep-alive was due (the last thing the receiver got).
inline constexpr int64_t kBlobWindowMs = 14000;
inline constexpr int64_t kBlobLinkBytesPerMsMin = 19;
inline constexpr int64_t kLatencyMaxMs = 600;
static_assert(int64_t{storage::kBlobChunkBytes} / kBlobLinkBytesPerMsMin <= kBlobWindowMs &&
                  kBlobWindowMs + limits::kKeepaliveMs + kLatencyMaxMs < limits::kIdleTimeoutMs,
              "a window's blob data crosses its link within the idle timeout");

enum class Role { kPost, kHub, kRegional };

// A version 7 record id at `now_ms`, its random bits from `rng` (faults.cpp).
storage::RecordId NewRecordId(int64_t now_ms, Rng& rng);

inline const char* RoleName(Role role) {
  switch (role) {
    case Role::kPost: return "post";
    case Role::kHub: return "hub";
    case Role::kRegional: return "regional";
  }
  return "?";
}

// A crash in the simulation is a process crash: committed transactions are
// in the page cache and survive, so no fsync is needed (and none is modelled).
inline storage::StoreOptions SimStoreOptions(const Clock* clock) {
  storage::StoreOptions options;
  options.durable = false;
  options.map_size_bytes = uint64_t{1} << 28;
  options.clock = clock;
  return options;
}

// A node's clock: the virtual time, off by the node's skew.
class NodeClock final : public Clock {
 public:
  NodeClock(const int64_t& now_ms, const int64_t& skew_ms) : now_ms_(now_ms), skew_ms_(skew_ms) {}
  int64_t NowMs() const override { return now_ms_ + skew_ms_; }

 private:
  const int64_t& now_ms_;
  const int64_t& skew_ms_;
};

struct Node {
  Node(int i, crypto::Identity id, const int64_t& world_now_ms)
      : index(i), identity(std::move(id)), clock(world_now_ms, clock_skew_ms) {}
  int index;
  crypto::Identity identity;
  std::string name;
  Role role = Role::kPost;
  int country = 0;  // -1: the regional hub
  bool hostile = false;  // Mallory (tests/sim/hostile.h): not held to the invariants
  // The scopes it creates records in, one drawn per create (repeats weigh);
  // empty: it writes nothing (a regional hub in a network). In a network a
  // record outside national is a seizure report (membership.cpp MayWrite).
  std::vector<Scope> write_scopes;
  // How wrong the node's clock is: entries it writes carry now + skew. Senders
  // order batches by timestamp, so skewed clocks are what make entries arrive
  // out of causal order.
  int64_t clock_skew_ms = 0;
  NodeClock clock;  // what its store reads: the virtual time plus the skew
  replication::SessionOptions session_options;
  std::vector<node::PeerConfig> peer_configs;  // its ncen.toml's peers (the address: "sim")
  std::unique_ptr<node::PeerManager> peers;    // the daemon's peer logic; null while down
  std::unique_ptr<testing::TempDir> dir;
  std::unique_ptr<storage::Store> store;  // null while down
  bool up = true;
  uint64_t life = 0;  // bumped at every crash: cancels the old life's ticks and restarts
  std::unique_ptr<testing::TempDir> backup;  // a copy of data.mdb, or null
  int restores = 0;                          // times restored from the backup
  bool restored_pending = false;             // restored while down: reset tracking at restart

  // Tracked by the safety checks: the node's committed state when last checked.
  std::map<FeedId, FeedHead> heads;
  uint64_t change_cursor = 0;
  bool stale = false;
  std::set<FeedId> forked;  // feeds with a fork report here
  // The membership the node's store had when last looked at (membership.cpp):
  // a new one means the network changed, so its sessions and records are
  // checked against it.
  std::shared_ptr<const storage::Membership> membership;
  // The membership every record was last checked against (M2).
  std::shared_ptr<const storage::Membership> records_checked;

  // Blobs (blobs.cpp): what it fetches from each peer (by node index; kFull
  // when absent), and the registry its sessions share, as the daemon's do.
  std::map<int, replication::BlobPolicy> blob_policy;
  replication::BlobFetches blob_fetches;
  int64_t backup_at_ms = 0;  // when its backup was taken
};

// A blob a node stored with PutBlob for a photo (blobs.cpp): its true
// bytes, who made it, and which feeds hold an entry whose payload refers to
// it (the scope rules let a node hold the blob when it may hold one of them).
struct MadeBlob {
  Bytes bytes;
  std::set<int> makers;
  std::set<FeedId> feeds;
};

// The blobs a photo payload refers to.
struct PhotoRefs {
  Hash256 image{}, preview{};
  uint32_t image_size = 0, preview_size = 0;
};

// The root or a country authority (membership.cpp): an identity and a store
// of its own, which writes the network entries with AppendNetworkEntry. It
// is not a node: its entries reach the nodes when it "visits" one (its
// entries applied there with ApplyBatch, as `ncen-node --once` would).
struct Authority {
  crypto::Identity identity;
  int country = -1;  // -1: the root
  std::string name;
  std::unique_ptr<testing::TempDir> dir;
  std::unique_ptr<storage::Store> store;
};

// An authority's planned act during the chaos phase.
struct NetworkAct {
  enum Kind { kCertify, kRevoke, kSucceed } kind = kCertify;
  int node = 0;  // the node certified, or revoked
  int successor = -1;  // kSucceed: the node certified as the revoked one's successor
  bool done = false;
};

struct Edge {
  int dialer = 0, listener = 0;
  std::vector<Scope> scopes;  // what each side may receive from the other
  int64_t latency_ms = 10;
  int64_t bytes_per_ms = 1000;
  int cuts = 0;               // partitions cutting the link now
  // The listener has the dialer's address too: both dial, and the daemon's
  // tie-break decides which connection stays.
  bool both_dial = false;
};

struct InFlight {
  Bytes bytes;
  int64_t at_ms = 0;  // arrival time (when not stalled or cut)
  MessageInfo info;
};

struct Side {
  int node = 0, peer = 0;
  std::unique_ptr<replication::Session> session;  // null once this side closed
  int peer_restores = 0;   // the peer's restore count when the session started
  bool void_out = false;   // what this side sends vanishes (the peer's state is gone)
};

// One TCP-like connection: two in-order queues of whole messages. Messages
// sent by side d are delivered to side 1-d, in order, or not at all.
struct Connection {
  uint64_t id = 0;
  int edge = 0;
  Side side[2];  // 0: the node that dialed, 1: the other
  std::deque<InFlight> queue[2];
  uint64_t sent_bytes[2] = {0, 0};       // by each side
  int64_t busy_until_ms[2] = {0, 0};     // the sender's bandwidth is in use until then
  int64_t stalled_until_ms[2] = {0, 0};  // delivery paused until then
  uint64_t gen[2] = {0, 0};              // the live delivery event of each direction
  bool fin[2] = {false, false};          // side d closed: EOF follows its last message
  bool reset_sent[2] = {false, false};   // an RST toward side d is on its way
  bool blob_cut_counted = false;          // counted in SimStats::blob_transfers_cut
  // The wire form of each direction (docs/protocol.md §2a), as ncen-node's.
  std::unique_ptr<replication::WireEncoder> encoder[2];
  std::unique_ptr<replication::WireDecoder> decoder[2];
};

enum class EventKind {
  kDeliver, kEof, kReset, kTick, kWrite, kFault, kConnect, kRestart, kPartitionEnd,
  kHeal, kConvergeCheck, kNetworkAct, kAuthorityVisit, kPhoto, kDemand, kBundle, kBundleArrive
};

struct Event {
  int64_t at_ms = 0;
  uint64_t order = 0;  // ties: first scheduled, first run
  EventKind kind = EventKind::kTick;
  int a = 0;           // node, edge, direction or side
  uint64_t b = 0;      // connection or partition id
  uint64_t gen = 0;
  bool operator>(const Event& o) const {
    return at_ms != o.at_ms ? at_ms > o.at_ms : order > o.order;
  }
};

enum class CloseKind {
  kFin,     // orderly: what this side sent is still delivered, then EOF
  kReset,   // RST: in-flight data dropped both ways, the peer is reset too
  kSilent,  // this side's state vanished (host crash, half-open): the peer is not told
};

class World {
 public:
  explicit World(const SimOptions& options);
  ~World();
  SimResult Run();

  // The ack-before-commit mutant's hook (SessionTestHooks): true when the
  // node now applying a batch should crash before it commits.
  bool MutantCrashBeforeCommit();

 private:
  enum class Phase { kChaos, kHealing, kSettling, kDone };

  // world.cpp
  void BuildTopology();
  void BuildMeshTopology(int n);
  void BuildHierarchy(int n);
  void AddEdge(int dialer, int listener, std::vector<Scope> scopes);
  void BuildNodes();
  void ComputeReach();
  std::set<int> Reachable(int from, Scope scope, const std::function<bool(int)>& may_pass = {}) const;
  void Schedule(int64_t at_ms, EventKind kind, int a = 0, uint64_t b = 0, uint64_t gen = 0);
  void Dispatch(const Event& e);
  void Heal();
  void ConvergeCheck();
  void SettleCheck();
  void Fail(const std::string& what);
  void Note(const std::string& text, bool keep = true) { trace_.Add(now_ - kStartMs, text, keep); }
  void Finish(SimResult& result);
  const std::string& NameOf(int n) const { return nodes_[n]->name; }
  std::string FeedName(const FeedId& feed) const;
  int NodeOf(const crypto::PublicKey& author) const;  // a puppet's key: Mallory's index
  bool Hostile(int n) const { return nodes_[n]->hostile; }
  void AddMallory();
  bool MayHold(int n, const FeedId& feed) const;
  const std::set<int>& ReachOf(const FeedId& feed) const;  // the nodes `feed` may reach

  // network.cpp
  int EdgeBetween(int a, int b) const;
  void StartPeers(int n);
  void Dial(int n, const crypto::PublicKey& peer);
  void Connect(int n, int edge, uint64_t life);
  void NoteProgress(Connection& c, int s);
  void WriteStatus(int n);
  void Flush(Connection& c, int s);
  void Enqueue(Connection& c, int d, Bytes bytes);
  void ScheduleDelivery(Connection& c, int d);
  void Deliver(uint64_t id, int d, uint64_t gen);
  void CloseSide(Connection& c, int s, CloseKind kind, const std::string& why);
  void OnEof(uint64_t id, int s);
  void OnReset(uint64_t id, int s);
  void TickNode(int n, uint64_t life);
  void EraseIfDone(uint64_t id);
  std::vector<uint64_t> ConnectionIds() const;
  std::string SideName(const Connection& c, int s) const;

  // faults.cpp
  void Write(int only_node);  // only_node < 0: any node that is up
  void Append(Node& node, const std::vector<storage::LocalChange>& changes);
  std::optional<storage::LocalChange> PlanChange(Node& node);
  Bytes DrawPayload(storage::RecordType type, int country);
  void RecordWrite(Node& node, const std::vector<storage::LocalChange>& changes,
                   const std::vector<storage::Dot>& dots);
  void Fault();
  void Crash(int n, bool host, const std::string& why);
  void Restart(int n, uint64_t life);
  void TakeBackup(int n);
  void Restore(int n);
  void Partition();
  void CutEdges(const std::vector<int>& edges, int64_t duration_ms, const std::string& what);
  void EndPartition(uint64_t id);
  void ResetConnection();
  void HalfOpen();
  void Stall();
  void ChangeLink();
  Connection* PickConnection();
  void MarkLostWrites();

  // membership.cpp
  void MisconfiguredLink();
  void BuildNetwork();
  Authority MakeAuthority(int country, uint8_t number, const std::string& name);
  storage::Certificate CertOf(int n) const;
  void Certify(Authority& issuer, const storage::Certificate& cert);
  void AppendNetwork(Authority& a, storage::RecordType type, const Bytes& payload);
  std::vector<storage::Entry> AuthorityEntries(const std::vector<int>& which) const;
  void DoNetworkAct(int act);
  void AuthorityVisit(int n, const std::vector<int>& which, const std::string& why);
  void RandomAuthorityVisit(int joiner);  // joiner >= 0: that node joins
  std::optional<std::string> Refuses(int n, int peer) const;
  void CheckSessionsAllowed(int n);
  void CheckMembershipOf(int n, const storage::Membership& m);
  bool MayWrite(const Node& node, storage::RecordType type, Scope scope, const std::string& country) const;
  void CheckReleases(int n, const storage::RecordView& view, const storage::Membership& m);
  void MarkRevokedWrites();
  bool Revoked(int n) const { return n == victim_ && victim_revoked_; }
  void LivenessOfNetwork(std::vector<std::string>& problems);
  bool RevokedFeedLive(const FeedId& feed, std::vector<std::string>& problems);

  // blobs.cpp
  void SetUpBlobs();
  std::vector<Scope> MalloryScopes(int neighbour, std::vector<Scope> scopes);
  replication::SessionOptions SessionOptionsFor(int n, int peer);
  void AddPhoto();
  void Demand();
  // Offline bundles (bundles.cpp).
  struct Courier {
    int from = 0, to = 0;
    std::vector<std::string> files;  // the parts, in the order they are handed over
    uint64_t entries = 0;
    bool lost = false, tampered = false;
    int imports = 1;  // 2: imported again later
  };
  void PlanBundles();
  void WriteSimConfig(int n);
  void MakeBundle();
  void ArriveBundle(uint64_t id);
  bool bundles_ = false;
  Rng bundle_rng_{0};
  std::unique_ptr<testing::TempDir> bundle_dir_;
  std::map<uint64_t, Courier> couriers_;
  uint64_t next_courier_ = 1;
  Bytes DrawPhotoPayload();
  Bytes PhotoPayload(const storage::RecordId& subject, const Hash256& image, const Hash256& preview,
                     const std::string& caption);
  Hash256 MakeBlob(size_t size);
  void NotePhotoFeeds(const FeedId& feed, const Bytes& payload);
  std::optional<PhotoRefs> RefsOf(ByteView payload) const;
  bool MayHoldBlob(int n, const Hash256& hash) const;
  void CheckBlobData(const Connection& c, int d, const InFlight& m, ByteView message);
  bool CheckBlobHeld(int n, const Hash256& hash, bool from_mallory);
  void CheckBlobFailure(const Connection& c, int s, const std::string& error);
  void NoteBlobsCut(Connection& c);
  void NoteCrashWithBlobs(int n);
  // Half the time, only those of the candidates with blob data in flight
  // (toward them), when there are any: faults land in chunk streams.
  std::vector<Connection*> PreferBlobCarriers(std::vector<Connection*> open);
  std::vector<int> PreferBlobReceivers(std::vector<int> nodes);
  void LivenessOfBlobs(std::vector<std::string>& problems);
  void FinalBlobChecks();
  std::vector<BlobTarget> MalloryBlobTargets() const;

  // checks.cpp
  void CheckNode(int n);
  void CheckRecord(int n, const storage::RecordView& view, const storage::Membership* m = nullptr);
  void CheckClaims(const Connection& c, int s);
  bool NeverArrives(int n, const FeedId& feed, uint64_t seq) const;
  std::vector<std::string> Liveness();
  void LivenessOfFeed(const FeedId& feed, std::vector<std::string>& problems);
  FeedHead HeadOf(int n, const FeedId& feed) const;
  void LivenessOfRecords(std::vector<std::string>& problems);
  void FinalChecks();
  // The set of entry hashes on node n's chain of `feed`.
  std::set<Hash256> ChainOf(int n, const FeedId& feed) const;

  SimOptions options_;
  Rng rng_;
  Trace trace_;
  int64_t now_ = kStartMs;
  Phase phase_ = Phase::kChaos;
  int64_t chaos_end_ = 0, healed_at_ = 0;
  int64_t last_activity_ms_ = 0;  // last delivery of anything but a ping
  std::set<uint64_t> settled_;    // connections open at convergence: they must stay open
  int64_t converged_at_ = 0;
  bool failed_ = false;
  std::string failure_;
  SimStats stats_;
  std::string topology_;

  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<Edge> edges_;
  std::map<FeedId, std::set<int>> reach_;  // a node's or puppet's feed -> the nodes it may reach
  std::map<crypto::PublicKey, int> index_of_;             // node id -> index
  std::map<uint64_t, Connection> connections_;
  uint64_t next_connection_ = 1;
  std::map<uint64_t, std::vector<int>> partitions_;  // id -> edges cut
  uint64_t next_partition_ = 1;

  std::unique_ptr<Mallory> mallory_;  // the hostile member, or null

  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> agenda_;
  uint64_t next_order_ = 0;
  std::set<int> dirty_;  // nodes whose store may have changed during this event

  // Workload and faults, chosen by the seed.
  int writes_left_ = 0;
  int64_t write_gap_ms_ = 1000;
  int64_t fault_gap_ms_ = 0;  // 0: a calm run
  bool restores_enabled_ = false;
  Truth truth_;
  std::vector<Bytes> payloads_;                     // seizures
  std::vector<std::vector<Bytes>> report_payloads_;  // in a network: seizure reports about each country
  bool clock_verified_ = false;

  // The node now inside Session::OnMessage (for the mutant hook), and
  // whether it asked to crash.
  int applying_node_ = -1;
  bool crash_requested_ = false;

  replication::SessionTestHooks session_hooks_;

  // Network membership (membership.cpp); network_ false: the model before it.
  bool network_ = false;
  int64_t authority_skew_ms_ = 0;
  NodeClock authority_clock_{now_, authority_skew_ms_};
  std::vector<Authority> authorities_;  // [0] the root, then one per country
  std::vector<std::string> countries_;  // ISO codes of countries 0, 1, 2
  // Every certificate issued so far (no revocation): what the scope rules
  // let each node hold in the end, for reach_ and S1.
  std::unique_ptr<storage::Membership> certified_;
  std::set<Hash256> network_hashes_;  // every network entry the authorities signed
  std::vector<NetworkAct> acts_;
  std::set<int> late_;            // certified only during the chaos phase
  int victim_ = -1;               // the node whose key is revoked (a stolen laptop), or -1
  bool victim_revoked_ = false;
  uint64_t victim_cutoff_ = 0;    // its national feed's last valid seq
  Rng net_rng_{0};

  // Blobs (blobs.cpp); blobs_ false: the model before them, choice for choice.
  bool blobs_ = false;
  bool album_ = false;  // many small photos
  Rng blob_rng_{0};
  std::map<Hash256, MadeBlob> blobs_made_;
  std::vector<Hash256> images_;                   // in the order made (for reuse)
  std::map<Hash256, Hash256> preview_of_;         // image -> the preview first made with it
  std::map<Hash256, PhotoRefs> photo_payloads_;   // by the payload's hash
  std::vector<Bytes> photo_pool_;                 // payloads written so far (edits draw from it)
  std::map<int, std::map<Hash256, int64_t>> demanded_;  // node -> image -> when an officer asked
  // (node, blob): a chunk of it arrived from Mallory since the node last held
  // none of it. A forged chunk ahead of honest ones makes the whole blob fail
  // its hash when an honest peer completes it.
  std::set<std::pair<int, Hash256>> mallory_chunks_;
  uint64_t blob_failures_after_mallory_ = 0;
};

}  // namespace ncen::sim
