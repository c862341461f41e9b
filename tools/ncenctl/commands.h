// ncenctl's commands. Each returns a Status; main() turns it into one line on
// stderr and the exit code (1 for a user error, 2 for corruption or an
// internal error). Output goes to stdout: a readable table, or JSON with
// --json.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "node/audit.h"
#include "node/records.h"
#include "node/stats.h"
#include "storage/store.h"

namespace ncen::ctl {

struct Globals {
  std::string data_dir;
  bool json = false;
};

// Who runs ncenctl, for entered_by and the access log: the local system user
// (getpwuid(geteuid()), else $USER, else "uid N"), via "cli".
node::Actor LocalActor();
// The node's access log (node/audit.h), for commands that show suspect or
// company data.
Result<std::unique_ptr<node::AuditLog>> OpenAuditLog(const Globals& g);

// `ncenctl audit` (docs/audit.md): the access log, oldest first; `since` a
// date or UTC time; limit 0: all.
struct AuditOptions {
  std::string user, since;
  size_t limit = 0;
};
Status Audit(const Globals& g, const AuditOptions& options);

// `listen` empty: the node does not listen. Both go to DIR/ncen.toml.
Status Init(const Globals& g, const std::string& name, const std::string& role,
            const std::string& listen, const std::string& network_id);
Status Id(const Globals& g);
Status Add(const Globals& g, const std::string& type, const std::string& file);
// Validates every record first (one bad record: nothing written), then
// writes them all in one transaction (tools/ncenctl/import.cpp).
Status Import(const Globals& g, const std::string& file);
Status Get(const Globals& g, const std::string& id);
Status History(const Globals& g, const std::string& id, size_t limit);
Status List(const Globals& g, const std::string& type, size_t limit);
Status Update(const Globals& g, const std::string& id, const std::string& file, bool resolve);
Status Delete(const Globals& g, const std::string& id);
Status Link(const Globals& g, const std::string& seizure, const std::string& suspect,
            const std::string& company);
Status Search(const Globals& g, const std::string& query, const std::string& type,
              const std::string& from, const std::string& to, size_t limit, const node::FactFilter& filter);

// Sharing (tools/ncenctl/sharing.cpp, docs/sharing.md). `ids` are seizure
// ids; `ids_file` names a file (or -) of more, one per line.
struct ReleaseOptions {
  std::vector<std::string> ids;
  std::string ids_file;
  std::string to;  // regional or global
  bool dry_run = false;
  bool withdraw = false;
  std::vector<std::string> photos;  // image hashes of photos that go with the reports
};
Status Release(const Globals& g, const ReleaseOptions& options);
Status ReleasesList(const Globals& g, bool pending);
struct StatsOptions {
  std::string by;    // "commodity,country"
  std::string type;  // seizure or seizure_report; empty: by this node's role
  std::string from, to;
  bool csv = false;
  std::string measure = "records";  // records, quantity or value (the table's cells)
  std::string unit, currency;
};
Status Stats(const Globals& g, const StatsOptions& options);
inline std::string DimensionList() { return node::DimensionNames(); }
Status Export(const Globals& g, const std::string& type, const std::string& format, const std::string& from,
              const std::string& to);

// Photos (tools/ncenctl/photos.cpp, docs/blobs.md).
struct PhotoAddOptions {
  std::string record, file, caption, note;
  bool keep_metadata = false;
};
Status PhotoAdd(const Globals& g, const PhotoAddOptions& options);
Status PhotoList(const Globals& g, const std::string& record);
// `out` "-": standard output.
Status PhotoGet(const Globals& g, const std::string& hash, const std::string& out, bool preview);
Status Blobs(const Globals& g);

// Messages (tools/ncenctl/messages.cpp, docs/messages.md).
struct MsgSendOptions {
  std::vector<std::string> to;  // node ids, member or peer names
  std::string country, region;
  bool all = false;
  std::string subject, body, body_file, priority = "normal", reply_to;
  std::vector<std::string> links;
  std::vector<std::string> attach;  // files
};
Status MsgSend(const Globals& g, const MsgSendOptions& options);
Status MsgInbox(const Globals& g, bool unread_only, size_t limit);
// `save_dir` non-empty: also writes each attachment there (never over a file).
// `state`: "" (mark read), "unread" (leave it or make it unread again) or
// "archived" (out of the inbox; still readable).
Status MsgRead(const Globals& g, const std::string& id, const std::string& save_dir, const std::string& state);
Status MsgThread(const Globals& g, const std::string& id);
Status MsgSent(const Globals& g, size_t limit);

// Shared by the command files.
Status PrintItems(const Globals& g, const std::vector<storage::ListItem>& items);
Result<storage::RecordType> ParseType(const std::string& name);
Status LogVerify(const Globals& g);
Status Conflicts(const Globals& g);

struct StatusOptions {
  bool wait_synced = false;  // first wait until every configured peer is in sync
  double timeout_s = 60;     // ... for at most this long (then kUnavailable)
};
Status StatusCommand(const Globals& g, const StatusOptions& options);

// Peers in DIR/ncen.toml. `scopes` is a comma-separated list; nullopt = all.
Status PeersAdd(const Globals& g, const std::string& name, const std::string& id,
                const std::string& address, const std::optional<std::string>& scopes,
                const std::string& blobs = "full", const std::string& rate = "off");
Status PeersList(const Globals& g);
Status PeersRemove(const Globals& g, const std::string& name);

// `key` is listen or network (network_id); an empty listen value stops listening.
Status ConfigShow(const Globals& g);
Status ConfigSet(const Globals& g, const std::string& key, const std::string& value);

// The marks a node keeps about broken feeds (tools/ncenctl/marks.cpp), each
// with its signed evidence. Clearing one is an administrator's decision.
// Fork reports: every one, and forgetting those of one feed (kNotFound when
// it has none), which then syncs again.
Status Forks(const Globals& g);
Status ForksClear(const Globals& g, const std::string& author_hex, const std::string& scope);
// The stale-identity mark and its evidence, and clearing it: kNotFound when
// not marked; kFailedPrecondition when this node does not hold the entry the
// evidence shows (its next write would fork its own feed).
Status Stale(const Globals& g);
Status StaleClear(const Globals& g);

// Network membership (tools/ncenctl/network.cpp, docs/membership.md).
// `network create`: a root authority's data directory; prints the network id.
Status NetworkCreate(const Globals& g, const std::string& name, const std::string& listen);
// Writes every network entry this node holds to a network file.
Status NetworkExport(const Globals& g, const std::string& out);
// Takes the entries of a network file from another authority (or member):
// certificates a hub must know before their nodes can connect.
Status NetworkImport(const Globals& g, const std::string& file);
struct CertifyOptions {
  std::string role;         // country-authority, post, national-hub, regional-hub, global-hub
  std::string node;         // the subject's id, 64 hex
  std::string name;
  std::string country;      // ISO alpha-2, for a country authority, post, national hub
  std::string countries;    // comma-separated, for a regional hub
  std::string predecessor;  // succession: the old key, 64 hex
  std::string out;          // a network file for the subject to join with; empty: none
};
Status Certify(const Globals& g, const CertifyOptions& options);
// `cutoffs` "national=12,global=3": the last valid seq per scope; scopes
// not given (all, when nullopt) default to the head this authority holds.
Status Revoke(const Globals& g, const std::string& node, const std::optional<std::string>& cutoffs,
              const std::string& reason, const std::string& out);
// Revokes `old_key` (as Revoke) and certifies `new_key` in its place, naming it.
Status Succeed(const Globals& g, const std::string& old_key, const std::string& new_key,
               const std::optional<std::string>& cutoffs, const std::string& out);
Status JoinCommand(const Globals& g, const std::string& file);
Status Rekey(const Globals& g);
Status Members(const Globals& g);
Status Violations(const Globals& g);
Status ViolationsClear(const Globals& g, const std::string& author);

// Offline bundles (tools/ncenctl/bundles.cpp, docs/bundles.md).
struct BundleCreateArgs {
  std::string peer, out;
  int64_t max_bytes = 0;  // signed: a negative value is refused, not read as a huge one
  std::string since;  // a JSON frontier, or a file holding one
  bool full = false;  // everything, whatever the peer acknowledged
};
Status BundleCreate(const Globals& g, const BundleCreateArgs& a);
Status BundleImport(const Globals& g, const std::vector<std::string>& files);
Status BundleInspect(const Globals& g, const std::vector<std::string>& files);

// Officer accounts of the HTTP API (tools/ncenctl/users.cpp, docs/api.md).
// The password comes from the terminal (asked twice, not echoed) or from
// one line of standard input, never from an argument.
Status UserAdd(const Globals& g, const std::string& name, const std::string& role);
Status UserList(const Globals& g);
Status UserPasswd(const Globals& g, const std::string& name);
Status UserDisable(const Globals& g, const std::string& name, bool disabled);

// 1 for errors the user can fix, 2 for corruption and internal errors.
int ExitCodeFor(const Status& s);

}  // namespace ncen::ctl
