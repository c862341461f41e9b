// The JSON shapes of a node's values, one definition for every front end:
// `ncenctl --json` prints them and the HTTP API (node/http/) serves them, so a
// script can move from one to the other without changing its parsing
// (docs/api.md). Plain functions of plain values; safe from any thread.
//
// Text that a store holds may have come from a peer and may not be valid
// UTF-8: DumpJson replaces invalid bytes with U+FFFD rather than throwing.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/status.h"
#include "node/config.h"
#include "node/messages.h"
#include "node/photos.h"
#include "node/records.h"
#include "node/releases.h"
#include "node/stats.h"
#include "node/status_report.h"
#include "storage/entry.h"
#include "storage/membership.h"
#include "storage/store.h"

namespace ncen::node {

using json = nlohmann::ordered_json;

// `j` as text, indented by `indent` (-1: one line); never throws on invalid UTF-8.
std::string DumpJson(const json& j, int indent = 2);

json TimeOrNull(int64_t ms);               // ISO time, or null for 0
json TextOrNull(const std::string& text);  // null when empty

// `list --json`, `search --json`, `conflicts --json`.
json ItemsJson(const std::vector<storage::ListItem>& items);

// The body of version `i` of a record (an empty object for a delete or a
// withheld payload).
Result<json> VersionBody(const storage::RecordView& view, size_t i);
// `get --json`: the winner's body with id and type, and when in conflict a
// `versions` array holding every version with who wrote it. A quarantined
// record is {"id", "quarantined": true, "classes"}. kNotFound for a record
// that was deleted (and is not in conflict).
Result<json> RecordJson(const storage::RecordView& view);

// A signed header given as evidence: its entry hash, author, feed, seq,
// timestamp, record and op.
json SignedHeaderJson(const storage::SignedHeader& h);
// A fork report, as `forks --json` and `status --json` show it; `evidence`
// is null for a report kept from a format-1 store.
json ForkJson(const storage::ForkReport& f);

// `ncenctl history --json` and GET /api/records/{id}/history: the record's
// entries newest first, each author named as the network knows it (the
// member's name; this node's own name; else its fingerprint).
json HistoryJson(const storage::RecordId& id, const History& history,
                 const storage::Membership* membership, const crypto::PublicKey& self, const std::string& self_name);

// A member's name ("root" for the root; a fingerprint for a key the
// network does not know) and role ("root", "post", "national-hub", ...).
std::string MemberName(const storage::Membership& m, const crypto::PublicKey& key);
std::string MemberRole(const storage::Member& m);

// `ncenctl members --json` and GET /api/members: the network as this node
// knows it; {"network_id": null, "members": []} for a node in no network.
json MembersJson(const storage::Membership* membership, const crypto::PublicKey& self);

json ScopesJson(const std::vector<storage::Scope>& scopes);
json PeerConfigJson(const PeerConfig& p);
// A peer in `status --json`: its configuration and what the daemon reported.
json PeerJson(const PeerReport& p);
json NetworkJson(const StatusReport& d);
// `status --json`.
json StatusJson(const StatusReport& d);

// `photo add --json` and `photo list --json`.
json AddedPhotoJson(const AddedPhoto& added, const storage::RecordId& subject);
json PhotoItemJson(const PhotoItem& p);

// A message in `msg inbox/sent --json` (without its body) and `msg read/thread
// --json` (with it).
json MessageItemJson(const MessageItem& m, bool with_body);
json SentMessageJson(const SentMessage& sent);

// A seizure report as `get --json` shows it where it arrives (release --dry-run).
json ReportJson(const storage::RecordId& report, const json& body);
json ReleaseOutcomeJson(const ReleaseOutcome& out);
json ReleaseRowJson(const ReleaseRow& r);

// `stats --json`.
json StatsJson(const StatsResult& result, storage::RecordType type, const std::string& from, const std::string& to);

}  // namespace ncen::node
