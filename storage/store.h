// Store: one node's LMDB environment — the signed change log of every feed it
// holds and the record state derived from it (DESIGN.md §3–5). The byte
// layouts of every database are in docs/log-format.md.
//
// Threading: one Store object per process, used by one thread at a time (the
// caller serializes). Several processes may open the same directory at once
// (the daemon and ncenctl): LMDB serializes their write transactions, and
// readers never block. Every write method is one LMDB write transaction: a
// crash at any point leaves the store as before or after that call.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "crypto/identity.h"
#include "storage/entry.h"
#include "storage/record_state.h"
#include "storage/types.h"

namespace ncen::storage {

namespace lmdb {
class Env;
}

struct StoreOptions {
  uint64_t map_size_bytes = uint64_t{64} << 30;  // address space, not disk
  bool durable = true;  // false: no fsync at commit (tests, simulation)
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
};

// One local edit. For kPut/kResolve `payload` is the record body; for
// kDelete it is empty.
struct LocalChange {
  RecordId id{};
  RecordType type = RecordType::kSeizure;
  Op op = Op::kPut;
  Bytes payload;
  Scope scope = Scope::kNational;
};

// Outcome of ApplyBatch. When !status.ok(), nothing of the batch was applied
// and `error`/`error_index` say which entry was rejected and why.
struct ApplyReport {
  Status status;
  EntryError error = EntryError::kNone;
  size_t error_index = 0;
  size_t applied = 0;     // new entries appended
  size_t duplicates = 0;  // entries already held, ignored
};

struct RecordView {
  RecordId id{};
  RecordState state;
  std::vector<Bytes> payloads;  // parallel to state.versions; empty for deletes
};

struct ListItem {
  RecordId id{};
  RecordType type = RecordType::kSeizure;
  size_t versions = 1;
  bool deleted = false;
  std::string summary;
};

struct ForkReport {
  FeedId feed;
  uint64_t seq = 0;
  Hash256 ours{};
  Hash256 theirs{};
  int64_t detected_ms = 0;
  std::string source;
};

struct ChangeRef {
  uint64_t change_no = 0;
  FeedId feed;
  uint64_t seq = 0;
  RecordId record{};
};

struct StoreStats {
  uint64_t entries = 0;
  uint64_t feeds = 0;
  uint64_t records[kRecordTypeCount] = {};  // live records by type
  uint64_t conflicts = 0;
};

struct SearchQuery {
  std::string text;                  // may be empty when a date range is given
  std::optional<RecordType> type;
  std::string from_date, to_date;    // YYYY-MM-DD, inclusive; empty = open
  size_t limit = 100;
};

struct VerifyReport {
  uint64_t feeds = 0;
  uint64_t entries = 0;
  uint64_t records = 0;
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

  // Appends local changes as new entries of `me`'s feeds, in one transaction,
  // and applies them. Each change's context is the versions this node holds
  // at that moment. Returns the dots written. kFailedPrecondition when the
  // node's identity is stale; kInvalidArgument when a change contradicts the
  // record's type or scope; kNotFound when it deletes a record that does not exist.
  Result<std::vector<Dot>> AppendLocal(const crypto::Identity& me,
                                       std::span<const LocalChange> changes);

  // Verifies and applies entries that came from elsewhere, all or nothing.
  // Exact duplicates are no-ops. A fork is recorded as a fork report; an entry
  // of this node's own feed beyond its head marks the identity stale. Both
  // still reject the batch.
  ApplyReport ApplyBatch(std::span<const Entry> entries, const std::string& source = "");

  // Reads. Each is one read transaction; the results are copies.
  Result<RecordView> GetRecord(const RecordId& id) const;  // kNotFound
  Result<Entry> GetEntry(const FeedId& feed, uint64_t seq) const;  // kNotFound
  Result<std::vector<FeedHead>> Frontier() const;
  // Equal on two nodes exactly when they hold the same entries.
  Result<Hash256> FrontierDigest() const;
  // Equal on two nodes exactly when every record has the same versions.
  Result<Hash256> RecordStateDigest() const;
  Result<StoreStats> Stats() const;
  // Live records, newest first.
  Result<std::vector<ListItem>> List(std::optional<RecordType> type, size_t limit) const;
  Result<std::vector<ListItem>> Conflicts(size_t limit) const;
  // Text matches newest record first; a date range alone lists the latest
  // seizure dates first. At most query.limit items.
  Result<std::vector<ListItem>> Search(const SearchQuery& query) const;
  Result<std::vector<ChangeRef>> ChangesSince(uint64_t after, size_t limit) const;
  Result<std::vector<ForkReport>> Forks() const;
  // Empty when the identity is fine, else why it is stale.
  Result<std::string> StaleIdentity() const;

  // Re-verifies every feed's chain, signatures and payload hashes, then
  // replays the log and compares the derived record state with the stored
  // one. kCorruption naming the first bad entry or record.
  Result<VerifyReport> VerifyLog() const;

 private:
  class Writer;
  Store() = default;
  Status OpenDatabases(bool create);
  ApplyReport ApplyInTxn(std::span<const Entry> entries, const std::string& source,
                         std::optional<ForkReport>* fork, std::string* stale_reason);
  Status RecordFork(const ForkReport& fork);
  Status MarkStale(const std::string& reason);

  std::unique_ptr<lmdb::Env> env_;
  NodeMeta meta_;
  struct Dbs;
  std::unique_ptr<Dbs> dbs_;
};

}  // namespace ncen::storage
