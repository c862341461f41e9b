// Store: one node's LMDB environment — the signed change log of every feed it
// holds and the record state derived from it (docs/design.md §3–5). The byte
// layouts of every database are in docs/log-format.md.
//
// Threading: one Store object per process. Its methods may be called from
// several threads at once (the daemon's replication thread, its chunk
// writer, its HTTP threads): each call is its own LMDB transaction
// (MDB_NOTLS), LMDB serializes the write transactions as it does between
// processes, and the one piece of state kept between calls (the cached
// membership, derived before it is shared) is behind a mutex. ReplaceNodeId
// changes meta() and is for a process of its own (ncenctl rekey). Several
// processes may open the same directory at once (the daemon and ncenctl):
// LMDB serializes their write transactions, and readers never block. Every write method is one LMDB write transaction: a
// crash at any point leaves the store as before or after that call.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <array>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "crypto/identity.h"
#include "storage/blobs.h"
#include "storage/entry.h"
#include "storage/record_state.h"
#include "storage/types.h"

namespace ncen::storage {

namespace lmdb {
class Env;
class Txn;
}
class Membership;

struct StoreOptions {
  uint64_t map_size_bytes = uint64_t{64} << 30;  // address space, not disk
  bool durable = true;  // false: no fsync at commit (tests, simulation)
  // Where the store reads the time (entry timestamps, fork reports); it
  // must outlive the store. Null: the system clock.
  const Clock* clock = nullptr;
};

struct NodeMeta {
  PublicKey node_id{};
  std::string name;
  std::string role;  // "post", "hub" or "regional"
  int64_t created_ms = 0;
};

struct FeedHead {
  FeedId feed;
  uint64_t seq = 0;
  Hash256 head{};
  friend bool operator==(const FeedHead&, const FeedHead&) = default;
};

struct RecordView {
  RecordId id{};
  RecordState state;
  std::vector<Bytes> payloads;  // parallel to state.versions; empty for deletes
};

// The records a local write concerns, as its write transaction sees them
// (earlier changes of the same call included). Valid only inside a
// LocalChange::check.
class TxnRecords {
 public:
  virtual ~TxnRecords() = default;
  // kNotFound when the node holds no such record.
  virtual Result<RecordView> Get(const RecordId& id) = 0;
};

// One local edit. For kPut/kResolve `payload` is the record body; for
// kDelete it is empty.
struct LocalChange {
  RecordId id{};
  RecordType type = RecordType::kSeizure;
  Op op = Op::kPut;
  Bytes payload;
  Scope scope = Scope::kNational;
  // Optional: runs inside the write transaction, before the change is
  // signed, with the records as they are at that moment: checks what the
  // change requires of them (a record in conflict, a live one...) and may
  // replace the payload (`*payload`, initially the change's) with one
  // derived from them (a link). A non-OK Status aborts the whole call with
  // it; nothing is written. Rules checked here cannot race another writer.
  std::function<Status(TxnRecords& records, Bytes* payload)> check{};
};

// An entry ApplyBatch did not take, and with it the rest of its feed in that
// batch (a feed is a chain: nothing after a refused entry can be taken).
struct Refusal {
  FeedId feed;
  uint64_t seq = 0;        // the first entry of the feed that was not taken
  EntryError error = EntryError::kNone;
  std::string message;     // one line
  size_t index = 0;        // of that entry in the batch
};

// Outcome of ApplyBatch. When !status.ok() the store failed (an LMDB error)
// and nothing of the batch was applied. Otherwise every entry was taken
// except those of the refused feeds, from their refusal on.
struct ApplyReport {
  Status status;
  size_t applied = 0;          // new entries appended
  size_t duplicates = 0;       // entries already held, ignored
  size_t payloads_filled = 0;  // duplicates whose payload this node lacked, filled in
  bool marked_stale = false;   // the batch held this node's own feed beyond its head
  std::vector<Refusal> refused;  // at most one per feed, in batch order
};

struct ListItem {
  RecordId id{};
  RecordType type = RecordType::kSeizure;
  size_t versions = 1;
  bool deleted = false;
  bool quarantined = false;
  std::string summary;
};

// A fork: two validly signed entries at one (author, scope, seq). The
// evidence travels with every report (replication/protocol) and is checked
// before a report is stored.
struct ForkReport {
  FeedId feed;
  uint64_t seq = 0;
  Hash256 ours{};    // the entry this node holds at that seq, or evidence `a`
  Hash256 theirs{};  // the other one
  int64_t detected_ms = 0;
  std::string source;
  // Both headers, signed. Empty (header_bytes) only in reports kept from a
  // format-1 store, which had no evidence: those stay local.
  SignedHeader a, b;
  bool has_evidence() const { return !a.header_bytes.empty() && !b.header_bytes.empty(); }
};

// Why this node's identity is marked stale, and the proof: an entry of its
// own feed, signed with its key, beyond what it holds.
struct StaleMark {
  std::string reason;  // empty: not stale
  std::optional<SignedHeader> evidence;
};

// An entry refused because its author may not write its scope, or has no
// certificate, or this node may not hold its feed (docs/membership.md §3):
// the latest per feed, with the signed header as evidence. Node-local.
struct Violation {
  FeedId feed;
  uint64_t seq = 0;
  int64_t detected_ms = 0;
  std::string source;  // the peer that sent it
  std::string reason;  // one line
  SignedHeader evidence;
};

struct ChangeRef {
  uint64_t change_no = 0;
  FeedId feed;
  uint64_t seq = 0;
  RecordId record{};
};

// A message in this node's mailbox (docs/messages.md §5).
enum class MailState : uint8_t { kUnread = 0, kRead = 1, kArchived = 2 };
struct MailItem {
  RecordId id{};
  RecordId thread{};  // the thread's first message (the message itself when it starts one)
  PublicKey from{};
  int64_t sent_at_ms = 0;  // the author's clock (ordering)
  uint8_t priority = 0;    // MessagePriority
  bool sent = false;       // written here (else received)
  MailState state = MailState::kUnread;
  std::array<uint8_t, 32> key{};  // the content key, unwrapped once
};
struct MailCounts {
  uint64_t unread = 0, unread_alerts = 0, received = 0, sent = 0;
};

// What ReadFeedRun appended.
struct FeedRun {
  size_t entries = 0;
  uint64_t last_seq = 0;  // 0 when nothing
  size_t bytes = 0;
};

// One entry ReadFeedRun appended, when asked for the index.
struct RunEntry {
  size_t offset = 0;  // in `out`
  size_t size = 0;    // of its transfer form
  uint64_t seq = 0;
  int64_t timestamp_ms = 0;
  uint32_t deps_at = 0, deps_count = 0;  // its context's dots of other authors, in FeedRunIndex::deps
};

// Where ReadFeedRun put each entry, and what each one's context names (for
// senders that merge feeds by time and send an entry after what it depends on).
struct FeedRunIndex {
  std::vector<RunEntry> entries;
  std::vector<Dot> deps;
  void clear() {
    entries.clear();
    deps.clear();
  }
};

struct StoreStats {
  uint64_t entries = 0;
  uint64_t feeds = 0;
  uint64_t records[kRecordTypeCount] = {};  // live records by type
  uint64_t conflicts = 0;
};

struct FactView;

struct SearchQuery {
  std::string text;                  // may be empty when a date range or a filter is given
  std::optional<RecordType> type;
  std::string from_date, to_date;    // YYYY-MM-DD, inclusive; empty = open
  size_t limit = 100;
  // Structured filters (country, commodity, route...): when set, only
  // seizures and seizure reports whose fact (storage/facts.h) it accepts,
  // latest date first.
  std::function<bool(const FactView&)> fact_filter;
  bool catch_up_index = true;  // false: search the index as it is (a read transaction only)
};

// What ScanFacts calls for each fact: the record, its date (YYYYMMDD) and
// the decoded fact (valid during the call). Returns false to stop.
using FactVisitor = std::function<bool(const RecordId& id, std::string_view date, const FactView& fact)>;

struct VerifyReport {
  uint64_t feeds = 0;
  uint64_t entries = 0;
  uint64_t records = 0;
  uint64_t blobs = 0;        // held whole, every chunk hashed again
  uint64_t blob_chunks = 0;  // chunks checked (partial blobs' too)
};

class Store {
 public:
  // Creates a new store in `dir` (which must exist and hold no store).
  // kConflict when a store is already there.
  static Result<std::unique_ptr<Store>> Create(const std::string& dir, const NodeMeta& meta,
                                               StoreOptions options = {});
  // Opens an existing store. kNotFound when there is none; kCorruption when
  // its format is not understood.
  static Result<std::unique_ptr<Store>> Open(const std::string& dir, StoreOptions options = {});
  ~Store();

  const NodeMeta& meta() const { return meta_; }
  // The store's clock (StoreOptions::clock): Unix milliseconds.
  int64_t NowMs() const { return clock_->NowMs(); }

  // Appends local changes as new entries of `me`'s feeds, in one transaction,
  // and applies them. Each change's context is the versions this node holds
  // at that moment. Returns the dots written. kFailedPrecondition when the
  // node's identity is stale; kInvalidArgument when a change contradicts the
  // record's type or scope, or its payload is not a valid record body of its
  // type (ValidateRecordPayload; a delete's is empty) — peers would refuse
  // it; kNotFound when it deletes a record that does not exist.
  Result<std::vector<Dot>> AppendLocal(const crypto::Identity& me,
                                       std::span<const LocalChange> changes);

  // Verifies and applies entries that came from elsewhere, in one
  // transaction. Each entry is taken or refused on its own (docs/log-format.md
  // §6); a refused entry stops its feed for the rest of the batch and never
  // any other feed. Exact duplicates are no-ops (a duplicate carrying the
  // payload this node lacks fills it in). A fork is recorded as a fork
  // report with both entries as evidence. A validly signed entry of this
  // node's own feed beyond its head marks the identity stale, and is taken:
  // a node restored from an old copy gets its feed back, but writes nothing
  // until an administrator clears the mark. `source` names the peer.
  ApplyReport ApplyBatch(std::span<const Entry> entries, const std::string& source = "");

  // All or nothing (bundles, docs/bundles.md): applies every batch `next`
  // gives, in order, in ONE write transaction, with the same checks as
  // ApplyBatch, and commits only when no entry of any batch was refused.
  // `next` replaces `batch` with the next batch and returns false when there
  // are no more; an error from it aborts. Memory is bounded by one batch (the
  // transaction's caches are written out between batches). Returns the
  // report: `status` not OK (the store's or `next`'s error) or `refused` not
  // empty (the first refusal; its `index` counts entries from the first
  // batch) means nothing was applied. Fork reports and violations a refused
  // entry would have recorded are not recorded either.
  using BatchSource = std::function<Result<bool>(std::vector<Entry>& batch)>;
  ApplyReport ApplyAllOrNothing(const BatchSource& next, const std::string& source = "");

  // Reads. Each is one read transaction; the results are copies.
  Result<RecordView> GetRecord(const RecordId& id) const;  // kNotFound
  Result<Entry> GetEntry(const FeedId& feed, uint64_t seq) const;  // kNotFound
  Result<std::vector<FeedHead>> Frontier() const;
  // The heads of the given feeds (seq 0 for a feed this node does not hold),
  // in one read transaction.
  Result<std::vector<FeedHead>> FeedHeads(std::span<const FeedId> feeds) const;
  // Equal on two nodes exactly when they hold the same entries.
  Result<Hash256> FrontierDigest() const;
  // Equal on two nodes exactly when every record has the same versions.
  Result<Hash256> RecordStateDigest() const;
  Result<StoreStats> Stats() const;
  // Live records, newest first.
  Result<std::vector<ListItem>> List(std::optional<RecordType> type, size_t limit) const;
  Result<std::vector<ListItem>> Conflicts(size_t limit) const;
  // Text matches newest record first; a date range alone lists the latest
  // seizure dates first. At most query.limit items. Brings the search index
  // up to date first (CatchUpIndex), so it never misses an applied record.
  Result<std::vector<ListItem>> Search(const SearchQuery& query);

  // The search index is built after entries are applied (local writes and
  // entries from peers alike), from the changes feed, in large transactions.
  // Indexes the records of at most `max_records` pending changes in one
  // write transaction; returns how many changes still wait.
  Result<uint64_t> CatchUpIndex(size_t max_records);
  // Calls CatchUpIndex until nothing waits.
  Status CatchUpIndexAll();
  // Changes applied but not yet indexed.
  Result<uint64_t> IndexBacklog() const;
  // True when every change of a record that may name blobs (a photo, a
  // message) is indexed: WantedBlobs is then complete, whatever other
  // records wait (a cold sync of 100,000 seizures need not be indexed
  // before its session is in sync).
  Result<bool> BlobIndexCurrent() const;
  // The facts of the live records of `type` (seizure or seizure_report)
  // dated within [from, to] (YYYY-MM-DD, inclusive, empty = open), in date
  // order (latest first with `newest_first`). Brings the index up to date
  // first, unless told not to. One read transaction; returns how many were visited.
  Result<uint64_t> ScanFacts(RecordType type, const std::string& from, const std::string& to, bool newest_first,
                             const FactVisitor& visit, bool catch_up_index = true);
  // A 32-byte secret of this node, made at random the first time it is asked
  // for and kept in its store (meta `secret/<name>`); it never leaves the
  // node. The release key (docs/sharing.md §4).
  Result<Bytes> LocalSecret(const std::string& name);
  // The ids of every record of `type` (deleted ones included, quarantined
  // ones not), in id order.
  Result<std::vector<RecordId>> RecordIdsOfType(RecordType type) const;
  // The ids of the records `feed`'s entries wrote, in id order.
  Result<std::vector<RecordId>> RecordIdsOfFeed(const FeedId& feed) const;
  // The list items of these records, in this order; absent ones are left out.
  Result<std::vector<ListItem>> Items(std::span<const RecordId> ids) const;
  Result<std::vector<ChangeRef>> ChangesSince(uint64_t after, size_t limit) const;

  // Replication: appends the transfer form (docs/log-format.md) of entries
  // from_seq..to_seq of `feed` to `out`, stopping before max_bytes would be
  // exceeded (but always at least one entry). One read transaction.
  // kNotFound for an unknown feed. With `index`, also appends where each
  // entry is, its timestamp and its context (for senders that merge feeds
  // by time in causal order).
  Result<FeedRun> ReadFeedRun(const FeedId& feed, uint64_t from_seq, uint64_t to_seq,
                              size_t max_bytes, Bytes& out, FeedRunIndex* index = nullptr) const;
  // Records a fork whose evidence verifies (VerifyForkEvidence), unless one
  // is already recorded at that (feed, seq). kUnauthenticated when the
  // evidence does not hold (nothing written). `newly`, when given, says
  // whether this call recorded it. One write transaction.
  Status ReportFork(const ForkReport& fork, bool* newly = nullptr);
  Result<std::vector<ForkReport>> Forks() const;
  // An administrator's decision, after looking at the evidence: forgets
  // every fork report of `feed`, which then syncs again. kNotFound when
  // there is none.
  Status ClearFork(const FeedId& feed);
  // Empty when the identity is fine, else why it is stale.
  Result<std::string> StaleIdentity() const;
  Result<StaleMark> StaleIdentityMark() const;
  // Marks this node's identity stale, from then on AppendLocal refuses every
  // local write with kFailedPrecondition, when `evidence` proves it: an
  // entry of this node's own feed, validly signed, at a seq beyond the
  // feed's head here or different from the entry held at that seq
  // (kUnauthenticated otherwise, nothing written). The first mark stays;
  // `newly`, when given, says whether this call marked it.
  Status MarkStaleIdentity(const SignedHeader& evidence, const std::string& source,
                           bool* newly = nullptr);
  // An administrator's decision: local writes are accepted again. kNotFound
  // when the identity is not marked.
  Status ClearStaleIdentity();


  // Network membership (docs/membership.md). The root of the network this
  // store belongs to; nullopt for a store of no network (then entries are
  // checked as in milestone 1 and network entries are refused).
  Result<std::optional<PublicKey>> NetworkRoot() const;
  // Makes the store a member of the network of `root`. kConflict when it
  // belongs to another network already.
  Status SetNetworkRoot(const PublicKey& root);
  // The membership the held network entries describe; null for a store of
  // no network. Cached, and loaded again when another process (or call)
  // changed the network entries. The pointer stays valid after later calls.
  Result<std::shared_ptr<const Membership>> GetMembership() const;
  // Appends a certificate or revocation written by this node, which must be
  // the root or an unrevoked country authority (kFailedPrecondition), after
  // the apply-time rule (Membership::CheckEntry; kInvalidArgument saying
  // why not). A revocation below entries held rebuilds their records.
  Result<Dot> AppendNetworkEntry(const crypto::Identity& me, RecordType type, const Bytes& payload);
  // Succession (docs/membership.md §7): the node's id becomes `key`, and
  // its stale mark is cleared. The data directory's identity changes with it.
  Status ReplaceNodeId(const PublicKey& key);
  // Violation reports, latest per feed; and an administrator's clearing of
  // them (all, or one author's). kNotFound when there is none to clear.
  Result<std::vector<Violation>> Violations() const;
  Status ClearViolations(const std::optional<PublicKey>& author);

  // Re-verifies every feed's chain, signatures and payload hashes, then
  // replays the log and compares the derived record state with the stored
  // one, then hashes every blob held whole again and checks every chunk's
  // size. kCorruption naming the first bad entry, record or blob.
  Result<VerifyReport> VerifyLog() const;

  // ---- Blobs (storage/blobs.h, docs/blobs.md). Each call is one transaction.
  // Stores `bytes` as a blob; one already held whole is not written again.
  // kInvalidArgument when empty or over kBlobBytesMax.
  Result<BlobInfo> PutBlob(ByteView bytes);
  // nullopt when this node holds nothing of the blob (and nobody asked for it).
  Result<std::optional<BlobInfo>> GetBlobInfo(const Hash256& hash) const;
  // The whole blob. kNotFound unless held whole.
  Result<Bytes> ReadBlob(const Hash256& hash) const;
  // Copies chunks `first`, ..., `first + count - 1` of a blob held whole
  // into `out`, which holds exactly their bytes (a message being written:
  // replication/protocol/messages.h StartBlobDataInto). kNotFound unless held
  // whole; kInvalidArgument when a chunk is past its end or `out` has
  // another size.
  Status ReadBlobChunks(const Hash256& hash, uint32_t first, uint32_t count, std::span<uint8_t> out) const;
  // Stores chunks `first`... of the blob `hash` of `size` bytes (`data`:
  // whole consecutive chunks, each kBlobChunkBytes but the blob's last).
  // Chunks are kept in order: those already held are skipped, and data that
  // starts past the first missing chunk is ignored (bytes_new 0). When the
  // last chunk is stored the whole blob is hashed: kCorruption when the bytes
  // do not match the hash, and every chunk of it is dropped. kInvalidArgument
  // when `data` does not have the shape of those chunks, or the size is not
  // the size already recorded for the blob.
  Result<ChunkWrite> PutBlobChunks(const Hash256& hash, uint32_t size, uint32_t first, ByteView data);
  // Many pieces, in order, in one write transaction (one commit for
  // megabytes of chunks). A piece that completes a blob whose bytes do not
  // match says so (`mismatch`) instead of failing the call: the others stay.
  Result<std::vector<ChunkWrite>> PutBlobChunks(std::span<const ChunkPiece> pieces);
  // An officer asked for the blob: it is fetched from the next peer that
  // holds it, whatever the peer's blob policy. No-op when held whole.
  Status DemandBlob(const Hash256& hash, uint32_t size);
  // The live records here that refer to the blob, from the search index
  // (CatchUpIndex first for the latest).
  Result<std::vector<BlobUse>> BlobUses(const Hash256& hash) const;
  // Blobs that live records here refer to and this node does not hold
  // whole: previews first, then images; at most `limit`. From the index.
  // Blobs in `skip` are left out.
  Result<std::vector<WantedBlob>> WantedBlobs(size_t limit, const std::set<Hash256>* skip = nullptr) const;
  Result<BlobTotals> BlobStats() const;
  // The photo records of `subject` (live ones, from the index), in id order.
  Result<std::vector<RecordId>> PhotosOf(const RecordId& subject) const;
  // The records (seizures) whose live versions link `record` (a suspect or
  // company), as the index says now; oldest id first.
  Result<std::vector<RecordId>> LinkedTo(const RecordId& record) const;

 // Database handles: opaque outside storage/ (store_internal.h).
  // The mailbox (docs/messages.md §5): what this node knows of the messages
  // it can open — local, never replicated, like peer status. Written by
  // node::Messages, which opens messages; the store only keeps the lists.
  // Each call is one transaction.
  Status PutMail(std::span<const MailItem> items, std::optional<uint64_t> cursor);
  Result<std::optional<MailItem>> GetMail(const RecordId& id) const;
  // Received messages not archived (`unread_only`: unread ones), alerts
  // first, then newest first; at most `limit`.
  Result<std::vector<MailItem>> Inbox(bool unread_only, size_t limit) const;
  Result<std::vector<MailItem>> Sent(size_t limit) const;  // newest first
  Result<std::vector<MailItem>> Thread(const RecordId& thread) const;  // oldest first
  // kNotFound when the message is not in the mailbox.
  Status SetMailState(const RecordId& id, MailState state);
  Result<MailCounts> CountMail() const;
  // The change number up to which messages were looked at (ChangesSince).
  Result<uint64_t> MailCursor() const;
  // The message entries (puts with a payload) among the changes after
  // `after`, looking at no more than `limit` changes and returning no more
  // than `max_bytes` of payload (at least one entry); `*last` is set to the
  // last change looked at (`after` when none). One read transaction.
  Result<std::vector<Entry>> MessagesSince(uint64_t after, size_t limit, size_t max_bytes, uint64_t* last) const;

  struct Dbs;

 private:
  class Writer;
  class LocalRecords;
  class BatchApplier;
  friend class PeerLedger;  // the `peers` database (peer_status.h)
  Store() = default;
  Status OpenDatabases(bool create);
  Status UpgradeFromFormat1();
  Status UpgradeIndex();
  // Feeds a new attempt at a batch refuses at once: their signature failed,
  // or a cycle they took part in did not close (store_apply.cpp).
  struct BatchExclusions {
    std::set<FeedId> bad_signature, unmet_deps;
  };
  ApplyReport ApplyInTxn(std::span<const Entry> entries, const std::string& source,
                         const BatchExclusions& excluded, BatchExclusions* exclude_next);
  // Membership (store_network.cpp).
  // `complete`: with the network entries (to take more), not only a snapshot.
  Result<std::shared_ptr<const Membership>> MembershipIn(lmdb::Txn& txn, bool complete = false) const;
  Status PutNetworkGeneration(lmdb::Txn& txn, const Membership& m, uint64_t generation);
  void CacheMembership(std::shared_ptr<const Membership> m, uint64_t generation) const;
  Status NetworkChanged(Writer& w, const Membership& before, std::shared_ptr<const Membership> after,
                        uint64_t* generation);
  Status RebuildRevokedRecords(Writer& w, const Membership& before, const Membership& after);

  std::unique_ptr<lmdb::Env> env_;
  NodeMeta meta_;
  std::unique_ptr<Dbs> dbs_;
  SystemClock system_clock_;
  mutable std::mutex membership_mu_;
  mutable std::shared_ptr<const Membership> membership_;
  mutable uint64_t membership_generation_ = 0;
  mutable bool membership_loaded_ = false;
  const Clock* clock_ = &system_clock_;
};

}  // namespace ncen::storage
