// One replication session with one peer, sans-IO (docs/protocol.md): no
// sockets, no clock, no threads. The driver (ncen-node over the secure
// channel, or the simulator) feeds it whole protocol messages and the time,
// and sends what TakeOutgoing() returns, in order, over one connection.
// The session reads and writes the real store synchronously.
//
// Lifecycle: Start() queues Hello. Once the peer's Hello arrives each side
// streams what the other lacks (SendPlanner) in batches of at most
// batch_bytes with at most `window` unacknowledged; the receiver applies each
// batch in one transaction and acknowledges it, naming the feeds whose
// entries it refused (those are not sent again in this session). When both
// are caught up the session stays open: OnTick() polls the store's frontier
// and pushes new entries (local writes, other processes, other peers) and new
// heads.
//
// What the peer says is not believed without evidence (docs/protocol.md
// §6): a fork is recorded only from two validly signed headers, this node's
// identity is marked stale only from a validly signed entry of its own feed
// that it does not hold (the rules are Marks', marks.h). Heads, refusals and
// evidence outside the scopes exchanged with the peer are ignored, and none
// are sent.
//
// A protocol violation, a store failure, too many feeds announced, or the
// idle timeout fails the session: failed() turns true, an Error message for
// the peer is queued when it is our side's verdict, and the driver must close
// the connection after sending the queue. A new connection needs a new
// Session; it resumes from the store's frontier, so at most the window is
// sent twice.
//
// Thread-safety: one thread at a time; the store must not be used by
// another thread meanwhile.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <set>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/limits.h"
#include "base/status.h"
#include "replication/protocol/chunk_writer.h"
#include "replication/protocol/marks.h"
#include "replication/protocol/messages.h"
#include "replication/protocol/send_planner.h"
#include "storage/store.h"

namespace ncen::replication {

// Fault injection for the simulator's mutants (tests/sim/CMakeLists.txt)
// only; the product never sets it.
struct SessionTestHooks {
  // Asked by the NCEN_MUTANT_ACK_BEFORE_COMMIT build between queuing an ack
  // and committing its batch; true: the node dies there.
  std::function<bool()> die_before_commit;
};

// Which blobs this node fetches from a peer (docs/blobs.md §5): images and
// previews as soon as a record refers to them (a hub), previews only and
// images when an officer asks (a post on a thin link), or none at all.
enum class BlobPolicy : uint8_t { kFull = 0, kPreviews = 1, kNone = 2 };
const char* BlobPolicyName(BlobPolicy p);  // "full", "previews", "none"
std::optional<BlobPolicy> ParseBlobPolicy(std::string_view name);

// Which session of a node is fetching which blob, so that a blob is asked of
// one peer at a time (the same blob reachable by two paths comes once).
// Shared by the sessions of one node; one thread at a time, like them.
class BlobFetches {
 public:
  // True when `owner` may fetch it (nobody else is).
  bool Claim(const Hash256& hash, const void* owner);
  void Release(const Hash256& hash, const void* owner);
  void ReleaseAll(const void* owner);
  size_t size() const { return owner_.size(); }

 private:
  std::map<Hash256, const void*> owner_;
};

struct SessionOptions {
  size_t batch_bytes = limits::kBatchBytesDefault;  // entry bytes per batch (at least one entry)
  size_t window = limits::kWindowBatches;          // unacknowledged batches in flight
  // Batches sized to cross the link in about this long, from the acks
  // (docs/protocol.md §3); 0: every batch up to batch_bytes.
  int64_t batch_target_ms = limits::kBatchTargetMs;
  // Blob data is queued only while the transport holds fewer bytes than
  // this (queued_bytes); a rate-capped peer gets about a second of its link.
  size_t blob_queue_bytes = limits::kBlobWindowBytes;
  int64_t keepalive_ms = limits::kKeepaliveMs;     // ping when nothing was sent this long
  int64_t idle_timeout_ms = limits::kIdleTimeoutMs;  // fail when nothing arrived this long
  int64_t poll_ms = limits::kPollMs;               // how often OnTick looks for new entries
  const SessionTestHooks* test_hooks = nullptr;
  BlobPolicy blob_policy = BlobPolicy::kFull;  // what this node fetches from the peer
  BlobFetches* blob_fetches = nullptr;         // this node's; null: no coordination with other sessions
  size_t blob_window_bytes = limits::kBlobWindowBytes;  // asked for and not yet received
  // This node's; null: chunks are stored on the session's thread, in the
  // call that received them (the simulation, tests).
  ChunkWriter* chunk_writer = nullptr;
  // Bytes the transport holds that are not written yet; null: unknown (the
  // simulation, tests). With it, blob data is queued only while fewer than
  // blob_window_bytes wait, and OnDrained queues more: a peer that asks and
  // never reads costs a window of memory, not what it asked for, and a
  // record written meanwhile waits behind at most a window of photo bytes.
  std::function<size_t()> queued_bytes;
  // Bytes the transport has read from the peer so far; null: unknown. With
  // it, the peer is alive while bytes arrive, not only when whole messages
  // do: on a slow link one large batch or chunk message can take longer
  // than idle_timeout_ms to cross (docs/testing.md finding 16).
  std::function<uint64_t()> bytes_received;
};

struct PeerInfo {
  crypto::PublicKey id{};
  std::string name;
  std::vector<storage::Scope> scopes = {storage::Scope::kNational, storage::Scope::kRegional,
                                        storage::Scope::kGlobal};  // what the peer may receive
};

struct SessionProgress {
  bool hello_received = false;
  bool caught_up = false;        // nothing to send or receive, nothing in flight
  uint64_t behind = 0;           // entries we hold that the peer lacks (that it may receive)
  uint64_t ahead = 0;            // entries the peer holds (for us) that we lack
  uint64_t entries_sent = 0;     // acknowledged by the peer
  uint64_t entries_received = 0; // applied here (duplicates not counted)
  uint64_t duplicates_received = 0;
  uint64_t batches_sent = 0, batches_received = 0;
  uint64_t entry_bytes_sent = 0, entry_bytes_received = 0;
  uint64_t feeds_refused_here = 0;  // feeds whose entries this node refused in this session
  uint64_t feeds_refused_by_peer = 0;
  int64_t sync_started_ms = 0;   // when the current catch-up began
  int64_t last_sync_ms = 0;      // last time the session was caught up (0 = never)
  // Blobs (docs/blobs.md §5).
  uint64_t blobs_received = 0;          // completed here from this peer
  uint64_t blob_bytes_received = 0;     // chunk bytes new to this node
  uint64_t blob_bytes_sent = 0;
  uint64_t blob_bytes_pending = 0;      // still to fetch from this peer under its policy (as of the last look)
  uint64_t blobs_pending = 0;
  uint64_t blob_bytes_in_flight = 0;    // asked for, not yet arrived
};

class Session {
 public:
  Session(storage::Store& store, const crypto::PublicKey& self, std::string self_name,
          std::string self_role, PeerInfo peer, SessionOptions options = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void Start(int64_t now_ms);
  void OnMessage(ByteView message, int64_t now_ms);
  void OnTick(int64_t now_ms);

  // Messages to send, in order.
  std::vector<Bytes> TakeOutgoing();
  // The chunk writer finished a job (it may be this session's): takes its
  // result and asks for more. The daemon calls it on its notify.
  void OnChunksStored(int64_t now_ms);
  // The transport wrote everything it held (SessionOptions::queued_bytes):
  // more blob data may go.
  void OnDrained(int64_t now_ms);
  // Optional: gives back a message TakeOutgoing returned, once sent. Batches
  // (megabytes each) are then built in reused memory instead of fresh pages.
  void RecycleOutgoing(Bytes sent);
  bool HasOutgoing() const { return !outgoing_.empty(); }
  // One line per event worth logging (sync finished, fork, stale, refusals, errors).
  std::vector<std::string> TakeLog();

  // The connection is gone: stores the blob chunks that arrived and wait
  // for their commit (they are asked for again otherwise). Call once, last.
  void Finish();

  bool failed() const { return failed_; }
  // Why the session failed; kUnavailable when the peer said why (its Error).
  const Status& error() const { return error_; }
  const SessionProgress& progress() const { return progress_; }
  const PeerInfo& peer() const { return peer_; }
  // The peer's frontier as far as this session knows it, for the feeds this
  // node holds too (what status shows; the peer's word for the rest is not kept).
  std::vector<storage::FeedHead> PeerFrontier() const;
  // The peer's protocol-level identity, from its Hello.
  const std::string& peer_hello_name() const { return peer_name_; }
  const std::string& peer_role() const { return peer_role_; }
  // Entries read from the store ahead of batching (bounded: about twice
  // `batch_bytes`, plus at most one entry per feed).
  size_t read_ahead_bytes() const { return planner_.read_ahead_bytes(); }
  // Feeds this node refused entries of in this session, and feeds the peer refused.
  const std::set<storage::FeedId>& refused_here() const { return refused_here_; }
  const std::set<storage::FeedId>& refused_by_peer() const { return refused_by_peer_; }

 private:
  using Head = SendPlanner::Head;
  struct Inflight {
    uint64_t number = 0;
    size_t entries = 0;
    size_t bytes = 0;
    std::vector<std::pair<storage::FeedId, uint64_t>> runs;  // feed, last seq sent
    int64_t queued_ms = 0;
  };
  // The next batch's size limit, from how fast acks come back.
  void LearnLinkRate(const Inflight& acked, int64_t now_ms);

  using BufferedChunks = ReceivedChunks;
  struct BlobFetch {
    storage::WantedBlob want;
    uint32_t next_request = 0;   // the first chunk not yet asked for
    uint32_t next_expected = 0;  // the first chunk not yet received
    // The bytes received so far, hashed as they come, while every one of
    // them from chunk 0 was received here and stored as new: its digest goes
    // with the piece that ends the blob (ReceivedChunks::digest).
    std::shared_ptr<crypto::Blake2bHasher> hasher;
  };

  bool InScope(const storage::FeedId& feed) const;     // a scope exchanged with this peer
  bool MayReceive(const storage::FeedId& feed) const;  // the peer may hold this feed
  bool MaySend(const storage::FeedId& feed) const;     // ... and we send it entries
  bool Allowed(const storage::FeedId& feed) const;     // the network's rules let the peer hold it
  Status RefreshFrontier(int64_t now_ms);
  Status Dispatch(ByteView message, int64_t now_ms);
  Status OnHello(const HelloMsg& hello, int64_t now_ms);
  Status OnBatch(const BatchMsg& batch, int64_t now_ms);
  Status OnAck(const AckMsg& ack, int64_t now_ms);
  Status OnHeads(const HeadsMsg& heads, int64_t now_ms);
  Status OnEvidence(const EvidenceMsg& evidence, int64_t now_ms);
  Status LearnPeerHead(const FeedHeadMsg& head, int64_t now_ms);
  // Evidence from the peer: verified here, then recorded.
  Status AdoptForkEvidence(const ForkEvidenceMsg& fork, int64_t now_ms);
  Status CheckSignedHeader(const storage::SignedHeader& header, int64_t now_ms);
  // Our signed header at (feed, seq), queued for the peer once.
  Status OfferHeader(const storage::FeedId& feed, uint64_t seq, int64_t now_ms);
  void OfferForks(const std::vector<storage::ForkReport>& forks, int64_t now_ms);
  Status NoteFork(const storage::ForkReport& fork, bool newly);
  Status CheckForksFoundElsewhere(int64_t now_ms);
  Status Pump(int64_t now_ms);
  // Blobs: what to fetch (receiver) and what to serve (sender).
  Result<bool> IndexCaughtUp();
  Status RefreshWants(int64_t now_ms);
  Status RequestBlobs(int64_t now_ms);
  Status OnBlobWant(const BlobWantMsg& want, int64_t now_ms);
  Status OnBlobData(const BlobDataMsg& data, int64_t now_ms);
  Status OnBlobLack(const BlobLackMsg& lack, int64_t now_ms);
  // Takes the result of the commit in progress when it is done (waits for
  // it with `wait`), then stores what is buffered: handed to the chunk
  // writer, or here when there is none or with `wait`.
  Status CommitBlobChunks(bool wait = false);
  Status TakeWrites(const std::vector<BufferedChunks>& pieces, const std::vector<storage::ChunkWrite>& writes);
  Status ServeWants(int64_t now_ms);
  Status SendBlobData(int64_t now_ms);
  Result<bool> BlobMayGo(const Hash256& hash);
  void DropFetch(const Hash256& hash);
  bool Fetches(const storage::WantedBlob& w) const;  // under this peer's policy
  void SendHeads(int64_t now_ms);
  void UpdateProgress(int64_t now_ms);
  void Fail(Status status, bool tell_peer, int64_t now_ms);
  void Queue(const Message& message, int64_t now_ms);
  // A message buffer given back after sending (RecycleOutgoing), or a new one.
  Bytes SpareMessage();

  storage::Store& store_;
  crypto::PublicKey self_;
  std::string self_name_, self_role_;
  PeerInfo peer_;
  SessionOptions options_;
  std::set<storage::Scope> peer_scopes_;  // configured; network added in a network
  std::shared_ptr<const storage::Membership> membership_;  // null: a store of no network
  mutable std::map<storage::FeedId, bool> allowed_;        // Allowed(), per membership

  SendPlanner::Frontier ours_;        // our frontier (refreshed by polling)
  SendPlanner::Frontier peer_known_;  // what the peer holds, as far as we know
  SendPlanner planner_;
  Marks marks_;
  std::map<storage::FeedId, uint64_t> advertised_;  // seq last told to the peer
  std::set<storage::FeedId> forked_;                // feeds with a fork report here
  std::set<std::pair<storage::FeedId, uint64_t>> forks_known_;  // reports told to / heard from the peer
  std::set<std::pair<storage::FeedId, uint64_t>> offered_;      // headers offered to the peer
  std::set<storage::FeedId> refused_here_;
  std::set<storage::FeedId> refused_by_peer_;
  std::deque<Inflight> inflight_;
  size_t batch_limit_ = 0;    // the next batch's bytes (batch_target_ms)
  int64_t last_ack_ms_ = 0;
  std::deque<double> rate_samples_;  // entry bytes per ms, the last few acks
  uint64_t next_batch_ = 1;
  uint64_t expect_batch_ = 1;

  std::vector<Bytes> outgoing_;
  // Reused memory for batches: the entries being gathered, and sent messages
  // given back by RecycleOutgoing.
  Bytes batch_entries_;
  std::vector<Bytes> spare_messages_;
  std::vector<storage::Entry> received_;  // reused for each batch received
  Bytes filled_entries_;                  // a received batch with its left-out hashes filled in
  std::vector<std::string> log_;
  SessionProgress progress_;
  std::string peer_name_, peer_role_;
  bool started_ = false;
  bool failed_ = false;
  Status error_;
  int64_t last_received_ms_ = 0;
  uint64_t bytes_seen_ = 0;  // SessionOptions::bytes_received at the last tick
  int64_t last_sent_ms_ = 0;
  int64_t last_refresh_ms_ = -1;

  // Blobs, receiving.
  std::deque<storage::WantedBlob> want_queue_;
  std::map<Hash256, BlobFetch> fetching_;
  std::map<Hash256, int64_t> peer_lacks_;
  std::vector<BufferedChunks> buffered_;  // arrived, not yet stored (at most kBlobCommitBytes + a message)
  size_t buffered_bytes_ = 0;
  std::shared_ptr<ChunkJob> committing_;  // with the chunk writer
  int64_t wants_refreshed_ms_ = -1;
  bool wants_truncated_ = false;  // the last look found more than the queue holds
  uint64_t wants_seen_batches_ = UINT64_MAX;  // batches_received at the last refresh
  // Blobs, sending: wants received, checked and not yet answered in full.
  std::deque<BlobRangeMsg> wants_in_;
  std::deque<BlobRangeMsg> serving_;
  size_t serving_bytes_ = 0;
  std::set<Hash256> lacked_to_peer_;  // told "not held": told again when it is
  int64_t lacks_checked_ms_ = -1;
  // "Nothing more from you for now": an empty blob_want. Told after the
  // wants were looked at since the last batch arrived; heard from the peer
  // since our last batch. A session is caught up only then (ncen-node --once
  // stays until photos moved too).
  bool told_blobs_done_ = false;
  bool peer_blobs_done_ = false;
  void TellBlobsDone(int64_t now_ms);
};

}  // namespace ncen::replication
