// One replication session with one peer, sans-IO (docs/protocol.md): no
// sockets, no clock, no threads. The driver (ncen-node over the secure
// channel, or the simulator) feeds it whole protocol messages and the time,
// and sends what TakeOutgoing() returns, in order, over one connection.
// The session reads and writes the real store synchronously.
//
// Lifecycle: Start() queues Hello. Once the peer's Hello arrives each side
// streams what the other lacks, feed by feed, in batches of at most
// batch_bytes with at most `window` unacknowledged; the receiver applies each
// batch in one transaction and acknowledges it. When both are caught up the
// session stays open: OnTick() polls the store's frontier and pushes new
// entries (local writes, other processes, other peers) and new heads.
// Any protocol violation, a rejected batch, or the idle timeout fails the
// session: failed() turns true, an Error message for the peer is queued when
// it is our side's verdict, and the driver must close the connection after
// sending the queue. A new connection needs a new Session; it resumes from
// the store's frontier, so at most the window is sent twice.
//
// Thread-safety: one thread at a time; the store must not be used by
// another thread meanwhile.
#pragma once

#include <capnp/common.h>
#include <kj/array.h>

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "storage/store.h"

namespace ncen::replication {

using crypto::Hash256;

inline constexpr uint32_t kProtocolVersion = 1;
// Largest protocol message a node accepts (the transport's reassembly bound).
inline constexpr size_t kMessageBytesMax = size_t{16} << 20;

struct SessionOptions {
  size_t batch_bytes = size_t{4} << 20;  // entry bytes per batch (at least one entry)
  size_t window = 4;                      // unacknowledged batches in flight
  int64_t keepalive_ms = 5000;            // ping when nothing was sent this long
  int64_t idle_timeout_ms = 20000;        // fail when nothing arrived this long
  int64_t poll_ms = 200;                  // how often OnTick looks for new entries
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
  int64_t sync_started_ms = 0;   // when the current catch-up began
  int64_t last_sync_ms = 0;      // last time the session was caught up (0 = never)
};

class Session {
 public:
  // Decoded wire messages; defined in session.cpp.
  struct HelloData;
  struct HeadData;

  Session(storage::Store& store, const crypto::PublicKey& self, std::string self_name,
          std::string self_role, PeerInfo peer, SessionOptions options = {});

  void Start(int64_t now_ms);
  void OnMessage(ByteView message, int64_t now_ms);
  void OnTick(int64_t now_ms);

  // Messages to send, in order.
  std::vector<Bytes> TakeOutgoing();
  // Optional: gives back a message TakeOutgoing returned, once sent. Batches
  // (megabytes each) are then built in reused memory instead of fresh pages.
  void RecycleOutgoing(Bytes sent);
  bool HasOutgoing() const { return !outgoing_.empty(); }
  // One line per event worth logging (sync finished, fork, stale, errors).
  std::vector<std::string> TakeLog();

  bool failed() const { return failed_; }
  // Why the session failed; kUnavailable when the peer said why (its Error).
  const Status& error() const { return error_; }
  const SessionProgress& progress() const { return progress_; }
  const PeerInfo& peer() const { return peer_; }
  // The peer's frontier as far as this session knows it.
  std::vector<storage::FeedHead> PeerFrontier() const;
  // The peer's protocol-level identity, from its Hello.
  const std::string& peer_hello_name() const { return peer_name_; }
  const std::string& peer_role() const { return peer_role_; }
  // Entries read from the store ahead of batching (bounded: about twice
  // `batch_bytes`, plus at most one entry).
  size_t read_ahead_bytes() const { return lookahead_bytes_; }

 private:
  struct Known {
    uint64_t seq = 0;
    Hash256 head{};
  };
  struct Inflight {
    uint64_t number = 0;
    size_t entries = 0;
    size_t bytes = 0;
    std::vector<std::pair<storage::FeedId, uint64_t>> runs;  // feed, last seq sent
  };

  bool MayReceive(const storage::FeedId& feed) const;  // the peer may hold this feed
  bool MaySend(const storage::FeedId& feed) const;     // ... and we send it entries
  Status RefreshFrontier(int64_t now_ms);
  Status Dispatch(ByteView message, int64_t now_ms);
  Status OnHello(const HelloData& hello, int64_t now_ms);
  Status OnBatch(uint64_t number, uint32_t count, ByteView entries, int64_t now_ms);
  Status OnAck(uint64_t number, int64_t now_ms);
  Status OnHeads(const std::vector<HeadData>& heads, int64_t now_ms);
  Status LearnPeerHead(const storage::FeedId& feed, uint64_t seq, const Hash256& head,
                       int64_t now_ms);
  Status Pump(int64_t now_ms);
  void SendHeads(int64_t now_ms);
  void UpdateProgress(int64_t now_ms);
  void Fail(Status status, bool tell_peer, int64_t now_ms);
  void Queue(Bytes message, int64_t now_ms);

  storage::Store& store_;
  crypto::PublicKey self_;
  std::string self_name_, self_role_;
  PeerInfo peer_;
  SessionOptions options_;
  std::set<storage::Scope> peer_scopes_;

  std::map<storage::FeedId, Known> ours_;        // our frontier (refreshed by polling)
  std::map<storage::FeedId, Known> peer_known_;  // what the peer holds, as far as we know
  std::map<storage::FeedId, uint64_t> sent_upto_;
  // Entries read ahead from the store, not yet put in a batch, per feed: a
  // batch takes entries from every feed in timestamp order (Pump).
  struct Lookahead {
    Bytes blob;
    std::vector<storage::RunEntry> list;
    size_t next = 0;  // first entry of `list` not yet taken
  };
  std::map<storage::FeedId, Lookahead> lookahead_;
  size_t lookahead_bytes_ = 0;
  void DropLookahead(const storage::FeedId& feed);
  // The next entry of `feed` after `sent` up to `upto` (refilled from the
  // store when needed), or nullptr when there is none.
  Result<const storage::RunEntry*> NextToSend(const storage::FeedId& feed, uint64_t sent,
                                              uint64_t upto, size_t read_bytes);
  std::map<storage::FeedId, uint64_t> advertised_;  // seq last told to the peer
  std::set<storage::FeedId> forked_;
  std::deque<Inflight> inflight_;
  uint64_t next_batch_ = 1;
  uint64_t expect_batch_ = 1;

  std::vector<Bytes> outgoing_;
  // Reused memory for batches: the entries being gathered, the first segment
  // of the Cap'n Proto message (zero whenever no builder uses it), and sent
  // messages given back by RecycleOutgoing.
  Bytes batch_entries_;
  kj::Array<capnp::word> batch_segment_;
  std::vector<Bytes> spare_messages_;
  std::vector<std::string> log_;
  SessionProgress progress_;
  std::string peer_name_, peer_role_;
  bool started_ = false;
  bool failed_ = false;
  Status error_;
  int64_t last_received_ms_ = 0;
  int64_t last_sent_ms_ = 0;
  int64_t last_refresh_ms_ = -1;
};

}  // namespace ncen::replication
