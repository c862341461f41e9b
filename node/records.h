// Records: the record operations of one node — add, import, get, update,
// resolve, delete, link, list, search, conflicts — shared by every front end.
// ncenctl calls these, and so will the HTTP API: a front end parses and
// prints, the rules live here (docs/design.md). Every write is one
// Store::AppendLocal call, and the rules that depend on the record as it is
// ("resolve only a record in conflict", "delete only a live record", "link
// only live records of the right types") are checked inside that call's
// write transaction (LocalChange::check), so they cannot race another
// writer: ncenctl in another process, or the daemon applying a peer's batch.
//
// Who did it: a Records made with an Actor writes `entered_by` = {the actor's
// name, this node's name, how (api/cli)} into every payload it writes (add,
// import, update, resolve, link), replacing whatever the caller's body said,
// so a client cannot claim to be someone else; with no actor (an empty name)
// it writes none and drops one found in the body. A delete has no payload and
// so records no officer (only the node, as the entry's author). With an
// AuditLog as well, each read of suspect or company data (get, search, list,
// conflicts) appends an event to the node's access log (node/audit.h,
// docs/audit.md); a read whose event cannot be written fails with the log's
// kIOError instead of showing the data.
//
// Errors, each with a one-line message: kInvalidArgument (bad input, or an
// operation the record's state does not allow), kNotFound (no such record),
// kFailedPrecondition (a quarantined record; a stale identity), the store's
// errors otherwise.
//
// Thread-safety: like the Store it uses (one thread at a time). The AuditLog
// may be shared by several Records on several threads.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "node/audit.h"
#include "crypto/identity.h"
#include "node/stats.h"
#include "storage/store.h"

namespace ncen::node {

// Who asks, for `entered_by` in what is written and for the access log.
struct Actor {
  std::string name;     // the officer (API) or the local system user (CLI); empty: none recorded
  std::string via;      // "api" or "cli"
  std::string address;  // API: the client's address, for the access log; CLI: empty
};

// Sets `entered_by` in a record body of `type` to {actor.name, node_name,
// actor.via} (node_name cut to the field's 100 bytes), or removes it when the
// actor has no name. Only seizure, suspect, company and photo bodies have the
// field; other bodies, and a body that is not an object, are left as they are.
void StampEnteredBy(storage::RecordType type, const Actor& actor, const std::string& node_name,
                    nlohmann::ordered_json& body);
// The same on a payload (storage::SetEnteredBy).
// kCorruption when the payload does not decode; kInvalidArgument when the
// actor's name breaks the field's rules (over 100 bytes, a control character).
Result<Bytes> StampEnteredBy(storage::RecordType type, const Actor& actor, const std::string& node_name,
                             ByteView payload);

// A new record, already validated: its type and its payload (RecordFromJson).
struct NewRecord {
  storage::RecordType type = storage::RecordType::kSeizure;
  Bytes payload;
};

// One entry of a record's history (Records::History).
struct HistoryItem {
  storage::Dot dot;
  int64_t timestamp_ms = 0;  // the author's clock
  storage::Op op = storage::Op::kPut;
  bool current = false;        // one of the record's versions now
  bool payload_held = false;   // false: withheld or purged here (no entered_by)
  nlohmann::ordered_json entered_by;  // {name, node, via} from the signed payload, or null
};

struct History {
  storage::RecordType type = storage::RecordType::kSeizure;  // the record's
  std::vector<HistoryItem> items;  // newest first
  bool truncated = false;          // more entries than the limit (or than the walk's bound)
};

// What a search asks; validated by Records::Search.
struct SearchRequest {
  std::string text;
  std::optional<storage::RecordType> type;
  std::string from_date, to_date;  // YYYY-MM-DD, inclusive; empty = open
  size_t limit = 100;
  FactFilter filter;  // structured filters over seizures and reports (node/stats.h)
  // Index what changed since the last search first (a write transaction).
  // False: search the index as it is (the HTTP API: a search never waits
  // for a sync's batch; the daemon's indexer keeps up).
  bool catch_up_index = true;
};

class Records {
 public:
  // `audit` (may be null: nothing logged) must outlive this object.
  Records(storage::Store& store, const crypto::Identity& me, Actor actor = {}, AuditLog* audit = nullptr)
      : store_(store), me_(me), actor_(std::move(actor)), audit_(audit) {}

  // Validates `body` (the JSON shape of docs/data-model.md) as a `type` and
  // stores it as a new record. kInvalidArgument naming the field.
  Result<storage::RecordId> Add(storage::RecordType type, const nlohmann::ordered_json& body);
  // All of them or none, in one transaction; their ids, in order.
  Result<std::vector<storage::RecordId>> Import(std::vector<NewRecord> records);

  // The record with every version. kFailedPrecondition when quarantined
  // (QuarantineStatus says why); kNotFound when absent. A deleted record is
  // returned (its winner is a delete). A suspect or company is logged as
  // a "view" (with an AuditLog).
  Result<storage::RecordView> Get(const storage::RecordId& id);
  // The record even when quarantined (for front ends that show why).
  Result<storage::RecordView> GetAny(const storage::RecordId& id);

  // Replaces the record with `body`, a full new version of its type: its
  // context is every version this node holds, so it settles a conflict.
  // With `resolve` only a record in conflict may be written (kInvalidArgument
  // otherwise). `body` may carry "id" (it must be this record's), "type",
  // "versions" and "conflict" as `get --json` prints them.
  // With `expected` (the dots of the versions the writer read), kConflict
  // when the record's versions are others by the time of the write: checked
  // inside the write transaction, so a version that arrived meanwhile (from
  // a peer, another officer) is never superseded unseen (HTTP If-Match).
  Status Update(const storage::RecordId& id, const nlohmann::ordered_json& body, bool resolve,
                const std::vector<storage::Dot>* expected = nullptr);
  // Only a live record or one in conflict (kInvalidArgument when already
  // deleted): a conflict of deletes is settled by one more; `expected` as
  // for Update.
  Status Delete(const storage::RecordId& id, const std::vector<storage::Dot>* expected = nullptr);
  // Links a live seizure to a live suspect (or company). Returns false when
  // it was linked already (nothing written, unless the seizure is in
  // conflict: then the link settles it).
  Result<bool> Link(const storage::RecordId& seizure, const storage::RecordId& other, bool company);

  // Logged as a "list" when `type` is suspect or company, or the items hold any.
  Result<std::vector<storage::ListItem>> List(std::optional<storage::RecordType> type, size_t limit);
  // kInvalidArgument for a bad date, from after to, or nothing to search for.
  // Logged as a "search" (the request, and the ids of the suspects and
  // companies found) when it could find suspects or companies (no type, or
  // one of those) or found any.
  Result<std::vector<storage::ListItem>> Search(const SearchRequest& request);
  // Logged as a "list" when the items hold suspects or companies.
  Result<std::vector<storage::ListItem>> Conflicts(size_t limit);
  // The seizures whose live versions link `record` (a suspect or company),
  // newest first, from the index as it is (the daemon keeps it current).
  // kNotFound when the node holds no such record; kInvalidArgument when it
  // is not a suspect or company. Logged as a "view" of the record.
  Result<std::vector<storage::ListItem>> LinkedSeizures(const storage::RecordId& record);

  // Every entry of the record this node holds, newest first, at most
  // `limit` (every version the record has now is kept whatever the limit;
  // the walk reads newest first, so the cut ones are the oldest): who (the entry's author, and `entered_by` of its payload),
  // when, and what (put, resolve, delete). Found by following the causal
  // contexts back from the versions and what each author wrote last (an
  // edit's context names the entries it saw: docs/design.md §4), so it costs
  // one read per entry, whatever the size of the log. A dot that names no
  // entry of this record (a hostile context) is skipped. kNotFound when
  // absent; kFailedPrecondition when quarantined. Logged as a "view" for a
  // suspect or company.
  Result<History> HistoryOf(const storage::RecordId& id, size_t limit);

  const Actor& actor() const { return actor_; }

 private:
  Status WriteOne(storage::LocalChange change);
  // The record, live or not, checked not quarantined; not logged (for the
  // writes' own reads).
  Result<storage::RecordView> Read(const storage::RecordId& id);
  // A body or payload with this node's entered_by.
  void Stamp(storage::RecordType type, nlohmann::ordered_json& body) const;
  Result<Bytes> Stamp(storage::RecordType type, ByteView payload) const;
  // Appends an event to the access log (when there is one).
  Status Log(const char* action, std::string type, std::vector<std::string> records,
             nlohmann::ordered_json query = nullptr);
  // Logs a list or search whose items hold suspects or companies (or always,
  // with `always`): the ids of those.
  Status LogItems(const char* action, std::string type, const std::vector<storage::ListItem>& items, bool always,
                  nlohmann::ordered_json query = nullptr);

  storage::Store& store_;
  const crypto::Identity& me_;
  Actor actor_;
  AuditLog* audit_;
};

// The dots of a record's versions, in order (what Update's `expected` takes).
std::vector<storage::Dot> VersionDots(const storage::RecordState& state);

// "seizure/national", ...: the classes of a quarantined record's entries.
std::vector<std::string> QuarantineClasses(const storage::RecordState& state);
// kFailedPrecondition naming the record and why it is quarantined; Ok when not.
Status QuarantineStatus(const storage::RecordId& id, const storage::RecordState& state);

}  // namespace ncen::node
