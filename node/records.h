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
// Errors, each with a one-line message: kInvalidArgument (bad input, or an
// operation the record's state does not allow), kNotFound (no such record),
// kFailedPrecondition (a quarantined record; a stale identity), the store's
// errors otherwise.
//
// Thread-safety: like the Store it uses (one thread at a time).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "crypto/identity.h"
#include "node/stats.h"
#include "storage/store.h"

namespace ncen::node {

// A new record, already validated: its type and its payload (RecordFromJson).
struct NewRecord {
  storage::RecordType type = storage::RecordType::kSeizure;
  Bytes payload;
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
  Records(storage::Store& store, const crypto::Identity& me) : store_(store), me_(me) {}

  // Validates `body` (the JSON shape of docs/data-model.md) as a `type` and
  // stores it as a new record. kInvalidArgument naming the field.
  Result<storage::RecordId> Add(storage::RecordType type, const nlohmann::ordered_json& body);
  // All of them or none, in one transaction; their ids, in order.
  Result<std::vector<storage::RecordId>> Import(std::vector<NewRecord> records);

  // The record with every version. kFailedPrecondition when quarantined
  // (QuarantineStatus says why); kNotFound when absent. A deleted record is
  // returned (its winner is a delete).
  Result<storage::RecordView> Get(const storage::RecordId& id);
  // The record even when quarantined (for front ends that show why).
  Result<storage::RecordView> GetAny(const storage::RecordId& id);

  // Replaces the record with `body`, a full new version of its type: its
  // context is every version this node holds, so it settles a conflict.
  // With `resolve` only a record in conflict may be written (kInvalidArgument
  // otherwise). `body` may carry "id" (it must be this record's), "type",
  // "versions" and "conflict" as `get --json` prints them.
  Status Update(const storage::RecordId& id, const nlohmann::ordered_json& body, bool resolve);
  // Only a live record (kInvalidArgument when already deleted).
  Status Delete(const storage::RecordId& id);
  // Links a live seizure to a live suspect (or company). Returns false when
  // it was linked already (nothing written, unless the seizure is in
  // conflict: then the link settles it).
  Result<bool> Link(const storage::RecordId& seizure, const storage::RecordId& other, bool company);

  Result<std::vector<storage::ListItem>> List(std::optional<storage::RecordType> type, size_t limit);
  // kInvalidArgument for a bad date, from after to, or nothing to search for.
  Result<std::vector<storage::ListItem>> Search(const SearchRequest& request);
  Result<std::vector<storage::ListItem>> Conflicts(size_t limit);

 private:
  Status WriteOne(storage::LocalChange change);

  storage::Store& store_;
  const crypto::Identity& me_;
};

// "seizure/national", ...: the classes of a quarantined record's entries.
std::vector<std::string> QuarantineClasses(const storage::RecordState& state);
// kFailedPrecondition naming the record and why it is quarantined; Ok when not.
Status QuarantineStatus(const storage::RecordId& id, const storage::RecordState& state);

}  // namespace ncen::node
