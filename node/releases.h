// Releases: the record operations of sharing (docs/sharing.md) — release a
// seizure as a seizure_report to regional or global, withdraw it, and list
// what this node released and what changed since. Shared by every front
// end, like Records.
//
// A report's id and its reference are keyed hashes of the seizure's id
// under this node's release key (Store::LocalSecret("release")): releasing
// again finds and updates the same report, and nobody without the key can
// link a report to a national record.
//
// Errors, one line each: kInvalidArgument (bad input, a record that may
// not be released as it is), kNotFound (no such record), kFailedPrecondition
// (this node may not release), the store's otherwise. Nothing is written
// unless every seizure of a call can be released.
//
// Thread-safety: like the Store it uses (one thread at a time).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "crypto/identity.h"
#include "storage/sharing.h"
#include "storage/store.h"

namespace ncen::node {

struct ReleaseOutcome {
  storage::RecordId seizure{};
  storage::RecordId report{};
  storage::Scope scope = storage::Scope::kRegional;
  nlohmann::ordered_json body;        // exactly the report's JSON body
  std::vector<std::string> withheld;  // values a code list kept back
  bool written = false;               // false: dry run, or the same report is out already
  bool moved = false;                 // a live report in the other scope was withdrawn
};

// One report this node released, as it stands.
struct ReleaseRow {
  storage::RecordId seizure{};
  storage::RecordId report{};
  storage::Scope scope = storage::Scope::kRegional;
  bool live = false;           // false: withdrawn
  std::string released_at;     // of the live version
  std::string seizure_state;   // "live", "deleted", "conflict", "absent"
  // Pending: the national record changed in a releasable field since the
  // release (or was deleted, or is in conflict). One line per change:
  // "goods[0].quantity: 12.4 -> 13".
  bool pending = false;
  std::vector<std::string> changes;
};

class Releases {
 public:
  Releases(storage::Store& store, const crypto::Identity& me, storage::ReleasePolicy policy = {})
      : store_(store), me_(me), policy_(policy) {}

  // Releases each seizure to `scope` (regional or global), all in one
  // write, or none: each must be a live seizure held here, not in conflict.
  // A report already out in the other scope is withdrawn in the same write
  // (a seizure has at most one live report). A report whose releasable
  // content is unchanged is not written again. With `dry_run` nothing is
  // written. In a network only a national hub releases, and only seizures
  // made in its country (kFailedPrecondition, kInvalidArgument).
  // `photos` names images (their hashes) of photos of those seizures that
  // go with the reports (docs/blobs.md §6): only those photos, and then
  // their blobs, reach the hubs of that scope. A photo released before stays
  // in the report while it is a live photo of the seizure. kInvalidArgument
  // for a hash that is not the image of a live photo of one of the
  // seizures, or of a photo that kept its GPS and camera data.
  Result<std::vector<ReleaseOutcome>> Release(std::span<const storage::RecordId> seizures, storage::Scope scope,
                                              bool dry_run, std::span<const crypto::Hash256> photos = {});
  // Withdraws every live report of each seizure (a delete, which travels
  // like any entry); an id may also be a report of this country's itself
  // (one whose seizure is not held here). kInvalidArgument when one has none.
  Result<std::vector<storage::RecordId>> Withdraw(std::span<const storage::RecordId> seizures);
  // This country's reports that this node holds (those of this node's
  // seizures, matched by their ids, and any other), with what is pending;
  // only pending ones with `pending_only`.
  Result<std::vector<ReleaseRow>> List(bool pending_only);

  // The report id of `seizure` in `scope`, and its reference.
  Result<storage::RecordId> ReportId(const storage::RecordId& seizure, storage::Scope scope);
  Result<std::string> Reference(const storage::RecordId& seizure);

 private:
  Result<const Bytes*> Key();
  Result<nlohmann::ordered_json> ReportPhotos(const storage::RecordId& seizure,
                                              std::span<const crypto::Hash256> named,
                                              const nlohmann::ordered_json* held_report,
                                              std::set<crypto::Hash256>& used);
  // This node's country as a releasing national hub; "" in a store of no
  // network. kFailedPrecondition when it may not release.
  Result<std::string> Country();
  // The report `seizure` would give now (and its payload), from the held
  // seizure and its links; errors say why it cannot be released.
  Result<storage::ReportDraft> Draft(const storage::RecordId& seizure, const storage::RecordView& view,
                                     const std::string& released_at);

  storage::Store& store_;
  const crypto::Identity& me_;
  storage::ReleasePolicy policy_;
  Bytes key_;
  std::optional<std::string> country_;
};

// Changed releasable fields between two report bodies, ignoring when and by
// whom they were released: "path: old -> new", in path order.
std::vector<std::string> ReportChanges(const nlohmann::ordered_json& before, const nlohmann::ordered_json& after);

}  // namespace ncen::node
