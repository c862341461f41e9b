// The `peers` database of a node's store: what the replication daemon knows
// about each peer (written at least once a second while it runs, read by
// `ncenctl status`), and the latest refused connection attempts. Not part of
// the replicated state: local bookkeeping beside it, in the store's LMDB
// environment so that every writer shares one file and one lock. Bytes in
// docs/log-format.md §7.
//
// Threading: as Store (one thread at a time per object; any number of
// processes). Each write method is one LMDB write transaction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/limits.h"
#include "base/status.h"
#include "crypto/identity.h"
#include "storage/store.h"

namespace ncen::storage {

// What the replication daemon knows about one peer, kept in the `peers`
// database so that `ncenctl status` can show it while ncen-node runs. The
// daemon rewrites the row of every peer it has a session with (or tries to)
// at least once a second; a reader trusts `connected` only while the row is
// fresh (IsConnectedAt). Bytes: docs/log-format.md §7.
struct PeerStatus {
  std::string name;                 // the configured name (≤ 255 bytes)
  crypto::PublicKey id{};           // the key: one row per peer id
  std::string address;              // the session's remote address, or the last dialed (≤ 255 bytes)
  bool connected = false;
  int64_t connected_since_ms = 0;   // 0 when not connected
  // When `behind` and `ahead` were last computed from the peer's frontier
  // (at the frontier exchange, then as batches are acknowledged); 0 = never,
  // and then behind/ahead mean nothing.
  int64_t last_sync_ms = 0;
  int64_t updated_ms = 0;           // when the daemon last wrote this row (heartbeat)
  uint64_t behind = 0;              // entries we hold that the peer lacks (and may receive)
  uint64_t ahead = 0;               // entries the peer holds that we lack
  uint64_t bytes_in = 0, bytes_out = 0;
  // Blobs (docs/blobs.md §5), from the session: what this node still
  // fetches from the peer under its policy, what it asked for and awaits, and
  // the chunk bytes received and sent since the daemon started. Value version
  // 2 (a version-1 row reads them as 0).
  uint64_t blobs_pending = 0, blob_bytes_pending = 0, blob_bytes_in_flight = 0;
  uint64_t blob_bytes_received = 0, blob_bytes_sent = 0;
  std::string last_error;           // empty = none; stored cut to 1024 bytes
  std::vector<FeedHead> peer_frontier;  // the peer's last known frontier (may be empty)

  // A row older than this says nothing about the present: its writer died.
  static constexpr int64_t kFreshMs = limits::kStatusFreshMs;
  // True when the row says connected and was written within kFreshMs of now.
  bool IsConnectedAt(int64_t now_ms) const {
    return connected && now_ms - updated_ms <= kFreshMs;
  }
  // behind and ahead are known (a frontier was compared) and both 0, and no
  // photo is still to come from the peer under this node's policy.
  bool InSync() const {
    return last_sync_ms != 0 && behind == 0 && ahead == 0 && blob_bytes_pending == 0 && blob_bytes_in_flight == 0;
  }
  friend bool operator==(const PeerStatus&, const PeerStatus&) = default;
};

// A peer that completed the handshake but is not in the trust roster.
struct RefusedAttempt {
  crypto::PublicKey id{};
  std::string address;   // ≤ 255 bytes
  int64_t at_ms = 0;
  std::string reason;    // stored cut to 1024 bytes
  friend bool operator==(const RefusedAttempt&, const RefusedAttempt&) = default;
};

// The codec of the `peers` values (docs/log-format.md §7). Encode assumes the limits that
// PeerLedger::Put and RecordRefused check; Decode returns kCorruption
// for anything that is not exactly one version-1 value.
Bytes EncodePeerStatus(const PeerStatus& status);  // the id is in the key
Result<PeerStatus> DecodePeerStatus(const PublicKey& id, ByteView value);
Bytes EncodeRefused(const RefusedAttempt& attempt);
Result<RefusedAttempt> DecodeRefused(ByteView value);

// The rows, read and written in the store's environment. Holds a reference:
// the store must outlive it.
class PeerLedger {
 public:
  explicit PeerLedger(Store& store) : store_(store) {}

  // Replaces the row of status.id. kInvalidArgument when name or address is
  // over 255 bytes or the frontier over kFrontierFeedsMax feeds (nothing
  // written); last_error is cut to 1024 bytes. The daemon writes all its
  // peers at once (one transaction, all or none).
  Status Put(const PeerStatus& status);
  Status Put(std::span<const PeerStatus> statuses);
  // Forgets the row of `id` (a peer removed from the configuration). Ok when
  // there is none.
  Status Delete(const PublicKey& id);
  // Every stored row, by id. kCorruption when a row does not decode.
  Result<std::vector<PeerStatus>> All() const;

  // Appends refused attempts, in order, in one write transaction (all or
  // none), and drops the oldest beyond the latest kRefusedKept: the daemon
  // gathers them and writes them every few seconds. kInvalidArgument when an
  // address is over 255 bytes.
  Status RecordRefused(std::span<const RefusedAttempt> attempts);
  Status RecordRefused(const RefusedAttempt& attempt) { return RecordRefused({&attempt, 1}); }
  // At most `limit` refused attempts, newest (last recorded) first.
  Result<std::vector<RefusedAttempt>> Refused(size_t limit) const;

  static constexpr size_t kFrontierFeedsMax = size_t{1} << 20;
  static constexpr size_t kRefusedKept = 100;

 private:
  Store& store_;
};

}  // namespace ncen::storage
