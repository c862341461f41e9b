// ncenctl: the officer's and administrator's command line for an ncen node.
// See README.md ("The CLI") for every command.
//
// main() is the one boundary for exceptions: CLI11's parse errors become one
// line and exit 1, and any other exception (a bug, or memory running out)
// becomes one line "ncenctl: internal error: ..." and exit 2, never an abort.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <optional>
#include <string>

#include "tools/ncenctl/commands.h"
#include "tools/ncenctl/output.h"

namespace {

namespace ctl = ncen::ctl;
using ncen::Status;

std::string DefaultDataDir() {
  const char* env = std::getenv("NCEN_DATA");
  return env && *env ? env : "./ncen-data";
}

// Every option's value: they must outlive app.parse, which runs the callbacks.
struct Args {
  ctl::Globals g;
  Status result;
  std::string name, role = "post", listen, network_id = "ncen";
  std::string file, id, type, suspect, company, query, from, to;
  size_t limit = 50, search_limit = 100;
  ctl::StatusOptions status_options;
  std::string peer_id, address, scopes;
  std::string blobs = "full";
  std::string rate = "off";
  ctl::PhotoAddOptions photo;
  ctl::MsgSendOptions msg;
  bool unread = false;
  std::string mark;
  bool preview = false;
  std::string setting, value;
  std::string author, scope;
  ctl::CertifyOptions certify;
  std::string cutoffs, reason, old_key, new_key, out;
  ncen::node::FactFilter filter;
  ctl::ReleaseOptions release;
  bool pending = false;
  ctl::StatsOptions stats;
  ctl::AuditOptions audit;
  std::string format;
  ctl::BundleCreateArgs bundle;
  std::vector<std::string> files;
  std::string user_role;

  // A callback that runs `fn` and keeps its Status for main.
  template <typename Fn>
  std::function<void()> Run(Fn fn) {
    return [this, fn] { result = fn(); };
  }
};

void AddNodeCommands(CLI::App& app, Args& a) {
  auto* init =
      app.add_subcommand("init", "create a node: data directory, identity, store and ncen.toml");
  init->add_option("--name", a.name, "the office's name, e.g. 'Torkham border post'")->required();
  init->add_option("--role", a.role, "post, hub, regional, or authority (a country authority's directory)")
      ->check(CLI::IsMember({"post", "hub", "regional", "authority"}));
  init->add_option("--listen", a.listen,
                   "HOST:PORT to accept peers on; port 0: any free one (default: do not listen)");
  init->add_option("--network", a.network_id, "network id, the same on every node (default ncen)");
  init->callback(a.Run([&a] { return ctl::Init(a.g, a.name, a.role, a.listen, a.network_id); }));

  app.add_subcommand("id", "print this node's id (64 hex digits; fingerprint and name on stderr)")
      ->callback(a.Run([&a] { return ctl::Id(a.g); }));

  auto* log = app.add_subcommand("log", "the change log");
  log->require_subcommand(1);
  log->add_subcommand("verify", "re-verify every chain, signature and the derived state")
      ->callback(a.Run([&a] { return ctl::LogVerify(a.g); }));

  auto* status =
      app.add_subcommand("status", "this node: identity, entries, records, feeds, digests, peers");
  status->add_flag("--wait-synced", a.status_options.wait_synced,
                   "first wait until ncen-node reports every configured peer connected and in sync "
                   "(exit 1 at the timeout)");
  status->add_option("--timeout", a.status_options.timeout_s,
                     "seconds --wait-synced waits (default 60)");
  status->callback(a.Run([&a] { return ctl::StatusCommand(a.g, a.status_options); }));
}

void AddWriteCommands(CLI::App& app, Args& a) {
  for (const char* type : {"seizure", "suspect", "company"}) {
    auto* group = app.add_subcommand(type, std::string("work with ") + type + " records");
    group->require_subcommand(1);
    auto* add = group->add_subcommand("add", std::string("validate and store a new ") + type);
    add->add_option("--json", a.file, "JSON file, or - for standard input")->required();
    std::string t = type;
    add->callback(a.Run([&a, t] { return ctl::Add(a.g, t, a.file); }));
  }
  auto* photo = app.add_subcommand("photo", "photos of a seizure, suspect or company (docs/blobs.md)");
  photo->require_subcommand(1);
  auto* photo_add = photo->add_subcommand(
      "add", "check a JPEG, PNG, WebP or HEIC photo, remove its GPS and camera data, make a preview, store it");
  photo_add->add_option("RECORD_ID", a.photo.record, "the record it shows")->required();
  photo_add->add_option("FILE", a.photo.file, "the image file, or - for standard input")->required();
  photo_add->add_option("--caption", a.photo.caption, "what it shows (at most 500 bytes)");
  photo_add->add_option("--note", a.photo.note, "the photographer's note (at most 2000 bytes)");
  photo_add->add_flag("--keep-metadata", a.photo.keep_metadata,
                      "keep GPS position, camera serial and owner data (removed by default)");
  photo_add->callback(a.Run([&a] { return ctl::PhotoAdd(a.g, a.photo); }));
  auto* photo_list = photo->add_subcommand("list", "the photos of a record");
  photo_list->add_option("RECORD_ID", a.id, "the record")->required();
  photo_list->callback(a.Run([&a] { return ctl::PhotoList(a.g, a.id); }));
  auto* photo_get = photo->add_subcommand(
      "get", "write a photo (or its preview) to a file; one not here yet is asked for, and the error says where it is");
  photo_get->add_option("HASH", a.id, "the image's hash (photo list)")->required();
  photo_get->add_option("--out", a.out, "the file to write, or - for standard output")->required();
  photo_get->add_flag("--preview", a.preview, "the preview instead of the image");
  photo_get->callback(a.Run([&a] { return ctl::PhotoGet(a.g, a.id, a.out, a.preview); }));
  app.add_subcommand("blobs", "photos held, partly held and missing here, and per peer what is still to come")
      ->callback(a.Run([&a] { return ctl::Blobs(a.g); }));

  auto* msg = app.add_subcommand("msg", "messages between offices, sealed to their recipients (docs/messages.md)");
  msg->require_subcommand(1);
  auto* msg_send = msg->add_subcommand("send", "write a message; it leaves with the next sync");
  msg_send->add_option("--to", a.msg.to, "a recipient: node id, member name or peer name (repeat for more)");
  msg_send->add_option("--country", a.msg.country, "every office of this country (ISO code)");
  msg_send->add_option("--region", a.msg.region, "a regional hub, by name, and the national hubs it serves");
  msg_send->add_flag("--all", a.msg.all, "every member of the network");
  msg_send->add_option("--subject", a.msg.subject, "one line, at most 200 bytes")->required();
  msg_send->add_option("--body", a.msg.body, "the text");
  msg_send->add_option("--body-file", a.msg.body_file, "the text from a file, or - for standard input (at most 64 KiB)");
  msg_send->add_option("--priority", a.msg.priority, "normal (default), urgent or alert");
  msg_send->add_option("--link", a.msg.links, "a record the message is about (repeat for more)");
  msg_send->add_option("--reply-to", a.msg.reply_to, "the message this answers");
  msg_send->add_option("--attach", a.msg.attach, "a file sent with it, encrypted like the message (repeat for more; "
                                                 "at most 20, each at most 50 MB)");
  msg_send->callback(a.Run([&a] { return ctl::MsgSend(a.g, a.msg); }));
  auto* msg_inbox = msg->add_subcommand("inbox", "messages received: alerts first, then newest first");
  msg_inbox->add_flag("--unread", a.unread, "only unread ones");
  msg_inbox->add_option("--limit", a.limit, "at most this many (default 50)")->check(CLI::Range(1, 1000000));
  msg_inbox->callback(a.Run([&a] { return ctl::MsgInbox(a.g, a.unread, a.limit); }));
  auto* msg_read = msg->add_subcommand("read", "show a message and mark it read");
  msg_read->add_option("MSG_ID", a.id, "the message")->required();
  msg_read->add_option("--save", a.out, "write its attachments into this directory (never over a file)");
  msg_read->add_option("--mark", a.mark, "leave it marked: unread, or archived (out of the inbox)");
  msg_read->callback(a.Run([&a] { return ctl::MsgRead(a.g, a.id, a.out, a.mark); }));
  auto* msg_thread = msg->add_subcommand("thread", "a message's thread, oldest first");
  msg_thread->add_option("MSG_ID", a.id, "any message of the thread")->required();
  msg_thread->callback(a.Run([&a] { return ctl::MsgThread(a.g, a.id); }));
  auto* msg_sent = msg->add_subcommand("sent", "messages this node sent, newest first");
  msg_sent->add_option("--limit", a.limit, "at most this many (default 50)")->check(CLI::Range(1, 1000000));
  msg_sent->callback(a.Run([&a] { return ctl::MsgSent(a.g, a.limit); }));

  auto* import_cmd = app.add_subcommand(
      "import",
      "bulk-load records: a JSON array or one JSON object per line; every record is validated "
      "first, then all are written in one transaction (one bad record: nothing is written)");
  import_cmd->add_option("--json", a.file, "JSON file, or - for standard input")->required();
  import_cmd->callback(a.Run([&a] { return ctl::Import(a.g, a.file); }));

  for (bool resolve : {false, true}) {
    auto* cmd = app.add_subcommand(
        resolve ? "resolve" : "update",
        resolve ? "settle a conflict: write the version that replaces every sibling"
                : "replace a record with a new full version");
    cmd->add_option("ID", a.id, "record id")->required();
    cmd->add_option("--json", a.file, "JSON file, or - for standard input")->required();
    cmd->callback(a.Run([&a, resolve] { return ctl::Update(a.g, a.id, a.file, resolve); }));
  }
  auto* del = app.add_subcommand("delete", "delete a record (a tombstone version)");
  del->add_option("ID", a.id, "record id")->required();
  del->callback(a.Run([&a] { return ctl::Delete(a.g, a.id); }));

  auto* link = app.add_subcommand("link", "link a seizure to a suspect or a company");
  link->add_option("SEIZURE_ID", a.id, "seizure record id")->required();
  auto* s_opt = link->add_option("--suspect", a.suspect, "suspect record id");
  auto* c_opt = link->add_option("--company", a.company, "company record id");
  s_opt->excludes(c_opt);
  link->callback(a.Run([&a] { return ctl::Link(a.g, a.id, a.suspect, a.company); }));
}

void AddReadCommands(CLI::App& app, Args& a) {
  auto types = CLI::IsMember({"seizure", "suspect", "company", "seizure_report"});
  auto* get = app.add_subcommand(
      "get",
      "show a record (every version when in conflict); a quarantined record (entries of more "
      "than one type or scope under its id) is an error, or with --json "
      "{\"id\", \"quarantined\": true, \"classes\"} and exit 0");
  get->add_option("ID", a.id, "record id")->required();
  get->callback(a.Run([&a] { return ctl::Get(a.g, a.id); }));

  auto* history = app.add_subcommand(
      "history", "every entry of a record this node holds, newest first: who (the officer, the node), when, what");
  history->add_option("ID", a.id, "record id")->required();
  history->add_option("--limit", a.limit, "at most this many (default 50)")->check(CLI::Range(1, 1000));
  history->callback(a.Run([&a] { return ctl::History(a.g, a.id, a.limit); }));

  auto* list = app.add_subcommand("list", "list records, newest first");
  list->add_option("--type", a.type, "seizure, suspect, company or seizure_report")->check(types);
  list->add_option("--limit", a.limit, "at most this many (default 50)")->check(CLI::Range(1, 1000000));
  list->callback(a.Run([&a] { return ctl::List(a.g, a.type, a.limit); }));

  auto* search = app.add_subcommand(
      "search", "find records by document number, name, company id, commodity or date");
  search->add_option("QUERY", a.query, "what to look for (may be empty with --from/--to)");
  search->add_option("--type", a.type, "seizure, suspect, company or seizure_report")->check(types);
  search->add_option("--from", a.from, "seizures and reports on or after YYYY-MM-DD");
  search->add_option("--to", a.to, "seizures and reports on or before YYYY-MM-DD");
  search->add_option("--country", a.filter.country, "seizures and reports of this country (PK)");
  search->add_option("--commodity", a.filter.commodity,
                     "with goods of this category, subtype or category/subtype (drugs, heroin, drugs/heroin)");
  search->add_option("--route-country", a.filter.route_country, "whose route passes this country");
  search->add_option("--mode", a.filter.mode, "transport mode (road_truck, air_cargo...)");
  search->add_option("--detection", a.filter.detection, "detection method (nii_xray...)");
  search->add_option("--concealment", a.filter.concealment, "concealment method (vehicle_built_compartment...)");
  search->add_option("--limit", a.search_limit, "at most this many (default 100)")->check(CLI::Range(1, 1000000));
  search->callback(a.Run(
      [&a] { return ctl::Search(a.g, a.query, a.type, a.from, a.to, a.search_limit, a.filter); }));

  auto* stats = app.add_subcommand(
      "stats", "pivot tables over seizures (national hub) or seizure reports (regional hub): records, "
               "quantities per unit and values per currency by one or two dimensions");
  stats->add_option("--by", a.stats.by, "one or two of " + ctl::DimensionList() + ", comma-separated")
      ->required();
  stats->add_option("--type", a.stats.type, "seizure or seizure_report (default: by this node's role)");
  stats->add_option("--from", a.stats.from, "on or after YYYY-MM-DD");
  stats->add_option("--to", a.stats.to, "on or before YYYY-MM-DD");
  stats->add_option("--measure", a.stats.measure, "the table's cells: records (default), quantity or value");
  stats->add_option("--unit", a.stats.unit, "with --measure quantity: the unit summed (kg, stick...)");
  stats->add_option("--currency", a.stats.currency, "with --measure value: the currency summed (USD...)");
  stats->add_flag("--csv", a.stats.csv, "long-form CSV: dimensions, measure, unit, amount");
  stats->callback(a.Run([&a] { return ctl::Stats(a.g, a.stats); }));

  auto* export_cmd = app.add_subcommand(
      "export", "write the seizure reports this node holds for another tool (columns: docs/sharing.md)");
  export_cmd->add_option("--type", a.type, "seizure_report")->required();
  export_cmd->add_option("--format", a.format, "ndjson or csv")->required();
  export_cmd->add_option("--from", a.from, "reports dated on or after YYYY-MM-DD");
  export_cmd->add_option("--to", a.to, "reports dated on or before YYYY-MM-DD");
  export_cmd->callback(a.Run([&a] { return ctl::Export(a.g, a.type, a.format, a.from, a.to); }));

  app.add_subcommand("conflicts", "records with more than one version, and quarantined records")
      ->callback(a.Run([&a] { return ctl::Conflicts(a.g); }));

  auto* audit = app.add_subcommand(
      "audit", "the access log: who viewed, searched or listed suspects and companies, oldest first "
               "(docs/audit.md)");
  audit->add_option("--user", a.audit.user, "only this officer or system user");
  audit->add_option("--since", a.audit.since, "only from this date (YYYY-MM-DD) or UTC time (…T10:00Z)");
  audit->add_option("--limit", a.audit.limit, "only the newest this many (default: all)")
      ->check(CLI::Range(1, 1000000));
  audit->callback(a.Run([&a] { return ctl::Audit(a.g, a.audit); }));
}

void AddSharingCommands(CLI::App& app, Args& a) {
  auto* release = app.add_subcommand(
      "release", "release seizures as non-nominal seizure reports to regional or global (a person's decision; "
                 "docs/sharing.md), or withdraw them");
  release->add_option("SEIZURE_ID", a.release.ids, "seizure record ids");
  release->add_option("--ids", a.release.ids_file, "a file (or -) of more seizure ids, one per line");
  release->add_option("--to", a.release.to, "regional or global");
  release->add_flag("--dry-run", a.release.dry_run, "print exactly the report that would leave; write nothing");
  release->add_option("--photo", a.release.photos,
                      "the image hash of a photo of the seizure that goes with its report (repeat for more)");
  release->add_flag("--withdraw", a.release.withdraw, "withdraw the seizure's report everywhere");
  release->callback(a.Run([&a] { return ctl::Release(a.g, a.release); }));

  auto* releases = app.add_subcommand("releases", "the reports this node released, and which are pending");
  releases->add_flag("--pending", a.pending,
                     "only national records changed since their release (with what changed), deleted, or in conflict");
  releases->callback(a.Run([&a] { return ctl::ReleasesList(a.g, a.pending); }));
}

void AddMarkCommands(CLI::App& app, Args& a) {
  auto* forks = app.add_subcommand(
      "forks",
      "fork reports: feeds whose author signed two different entries at one seq, each with both "
      "signed headers as evidence. A forked feed is not synced until a person clears its report");
  auto* clear_fork = forks->add_subcommand(
      "clear",
      "forget the fork reports of one feed, which then syncs again. A person's decision, after "
      "looking at the evidence (ncenctl forks) and dealing with the feed's author");
  clear_fork->add_option("--author", a.author, "the feed's author: its node id, 64 hex digits")
      ->required();
  clear_fork->add_option("--scope", a.scope, "the feed's scope: national, regional, global or network")
      ->required()
      ->check(CLI::IsMember({"national", "regional", "global", "network"}));
  clear_fork->callback(a.Run([&a] { return ctl::ForksClear(a.g, a.author, a.scope); }));
  // A group's callback runs after its subcommand's: list only when alone.
  forks->callback([&a, clear_fork] {
    if (!clear_fork->parsed()) a.result = ctl::Forks(a.g);
  });

  auto* stale = app.add_subcommand(
      "stale",
      "the stale-identity mark: a peer showed an entry of this node's own feed, signed with its "
      "key, that this node did not hold (restored from an old copy, or the key runs elsewhere). "
      "While marked, local writes are refused");
  auto* clear_stale = stale->add_subcommand(
      "clear",
      "accept local writes again. A person's decision, after looking at the evidence (ncenctl "
      "stale): only when no other copy of this data directory runs anywhere. Refused until this "
      "node holds the entry the evidence shows (its next write would fork its own feed)");
  clear_stale->callback(a.Run([&a] { return ctl::StaleClear(a.g); }));
  stale->callback([&a, clear_stale] {
    if (!clear_stale->parsed()) a.result = ctl::Stale(a.g);
  });
}

void AddNetworkCommands(CLI::App& app, Args& a) {
  auto* network = app.add_subcommand("network", "the network this node belongs to (docs/membership.md)");
  network->require_subcommand(1);
  auto* create = network->add_subcommand(
      "create", "create a network's root authority in --data; prints the network id");
  create->add_option("--name", a.name, "the network's name, e.g. 'WCO nCEN Asia/Pacific'")->required();
  create->add_option("--listen", a.listen, "HOST:PORT to accept peers on (default: do not listen)");
  create->callback(a.Run([&a] { return ctl::NetworkCreate(a.g, a.name, a.listen); }));
  auto* export_cmd = network->add_subcommand("export", "write every network entry this node holds to a network file");
  export_cmd->add_option("--out", a.out, "the file to write")->required();
  export_cmd->callback(a.Run([&a] { return ctl::NetworkExport(a.g, a.out); }));
  auto* import_net = network->add_subcommand(
      "import", "take the certificates and revocations of a network file (another authority's export)");
  import_net->add_option("FILE", a.file, "the network file")->required();
  import_net->callback(a.Run([&a] { return ctl::NetworkImport(a.g, a.file); }));

  auto* certify = app.add_subcommand(
      "certify", "in an authority's data directory: certify a country authority (root only), a post or a "
                 "national hub (its country's authority), a regional or global hub (root only)");
  certify->add_option("--role", a.certify.role,
                      "country-authority, post, national-hub, regional-hub or global-hub")->required();
  certify->add_option("--node", a.certify.node, "the node's id (64 hex digits, `ncenctl id`)")->required();
  certify->add_option("--name", a.certify.name, "the member's name (1-64 bytes)")->required();
  certify->add_option("--country", a.certify.country, "ISO 3166 alpha-2, for a country authority, post or national hub");
  certify->add_option("--countries", a.certify.countries, "comma-separated ISO codes a regional hub serves");
  certify->add_option("--succeeds", a.certify.predecessor, "the key this one replaces (see succeed)");
  certify->add_option("--out", a.certify.out, "write a network file the node joins with");
  certify->callback(a.Run([&a] { return ctl::Certify(a.g, a.certify); }));

  auto* revoke = app.add_subcommand(
      "revoke", "in an authority's data directory: revoke a key it certified; its entries after the cut-offs "
                "are refused everywhere, and taken out where already applied");
  revoke->add_option("--node", a.id, "the revoked key (64 hex digits)")->required();
  auto* revoke_cutoff = revoke->add_option("--cutoff", a.cutoffs,
                     "SCOPE=SEQ,...: the last valid seq of each feed (default: the highest this authority holds)");
  revoke->add_option("--reason", a.reason, "one line, kept with the revocation");
  revoke->add_option("--out", a.out, "write a network file with the revocation");
  revoke->callback(a.Run([&a, revoke_cutoff] {
    return ctl::Revoke(a.g, a.id, revoke_cutoff->count() ? std::optional(a.cutoffs) : std::nullopt, a.reason, a.out);
  }));

  auto* succeed = app.add_subcommand(
      "succeed", "in an authority's data directory: revoke --old and certify --new in its place (an office "
                 "restored from a backup, a replaced machine); the office keeps its records");
  succeed->add_option("--old", a.old_key, "the old key (64 hex digits)")->required();
  succeed->add_option("--new", a.new_key, "the new key (`ncenctl rekey` on the node prints it)")->required();
  auto* succeed_cutoff = succeed->add_option("--cutoff", a.cutoffs, "as for revoke");
  succeed->add_option("--out", a.out, "write a network file the node joins with");
  succeed->callback(a.Run([&a, succeed_cutoff] {
    return ctl::Succeed(a.g, a.old_key, a.new_key, succeed_cutoff->count() ? std::optional(a.cutoffs) : std::nullopt,
                        a.out);
  }));

  auto* join = app.add_subcommand("join", "take a network file from this node's authority: the network's "
                                          "root and certificates, this node's among them");
  join->add_option("FILE", a.file, "the network file (certify --out)")->required();
  join->callback(a.Run([&a] { return ctl::JoinCommand(a.g, a.file); }));

  app.add_subcommand("rekey", "give this node a new identity key (succession); prints the new id")
      ->callback(a.Run([&a] { return ctl::Rekey(a.g); }));

  app.add_subcommand("members", "the network as this node knows it: members, roles, certifiers, revocations, "
                                "and the scopes this node may exchange with each")
      ->callback(a.Run([&a] { return ctl::Members(a.g); }));

  auto* violations = app.add_subcommand(
      "violations", "entries refused because the network's rules forbid them, with their signed headers");
  auto* vclear = violations->add_subcommand("clear", "forget the reports (all, or one author's)");
  vclear->add_option("--author", a.author, "only this author's (64 hex digits)");
  vclear->callback(a.Run([&a] { return ctl::ViolationsClear(a.g, a.author); }));
  violations->callback([&a, violations, vclear] {
    if (!vclear->parsed()) a.result = ctl::Violations(a.g);
    (void)violations;
  });
}

void AddConfigCommands(CLI::App& app, Args& a) {
  auto* peers = app.add_subcommand("peers", "the peers in ncen.toml");
  peers->require_subcommand(1);
  auto* add = peers->add_subcommand("add", "add a peer (it may then connect, and we may dial it)");
  add->add_option("--name", a.name, "a unique name: letters, digits, . _ -")->required();
  add->add_option("--id", a.peer_id, "its node id, 64 hex digits (its `ncenctl id`)")->required();
  add->add_option("--address", a.address, "HOST:PORT to dial it (default: it dials us)");
  auto* scopes_opt = add->add_option(
      "--scopes", a.scopes, "scopes it may receive, e.g. national,regional (default all three)");
  add->add_option("--blobs", a.blobs,
                  "photos to fetch from it: full (default), previews (images on demand: a thin link) or none");
  add->add_option("--rate", a.rate,
                  "send to it at most this fast, e.g. 256kbit, 2Mbit, 32kB (per second); default off");
  add->callback(a.Run([&a, scopes_opt] {
    return ctl::PeersAdd(a.g, a.name, a.peer_id, a.address,
                         scopes_opt->count() ? std::optional<std::string>(a.scopes) : std::nullopt, a.blobs,
                         a.rate);
  }));
  peers->add_subcommand("list", "list the configured peers")->callback(a.Run([&a] {
    return ctl::PeersList(a.g);
  }));
  auto* remove = peers->add_subcommand("remove", "remove a peer");
  remove->add_option("NAME", a.name, "the peer's name")->required();
  remove->callback(a.Run([&a] { return ctl::PeersRemove(a.g, a.name); }));

  auto* config = app.add_subcommand("config", "this node's settings in ncen.toml");
  config->require_subcommand(1);
  config->add_subcommand("show", "listen address and network id")->callback(a.Run([&a] {
    return ctl::ConfigShow(a.g);
  }));
  auto* set =
      config->add_subcommand("set", "set listen HOST:PORT (\"\" stops listening) or network ID");
  set->add_option("KEY", a.setting, "listen or network")->required();
  set->add_option("VALUE", a.value, "the new value")->required();
  set->callback(a.Run([&a] { return ctl::ConfigSet(a.g, a.setting, a.value); }));
}

void AddBundleCommands(CLI::App& app, Args& a) {
  auto* bundle = app.add_subcommand("bundle", "offline exchange by USB stick or courier (docs/bundles.md)");
  bundle->require_subcommand(1);
  auto* create = bundle->add_subcommand("create", "write what a peer lacks, from the frontier it last acknowledged, "
                                                  "to a signed, compressed bundle");
  create->add_option("--for", a.bundle.peer, "the peer: its name in ncen.toml or its node id")->required();
  create->add_option("--out", a.bundle.out, "the file; with several parts FILE.partK-of-N")->required();
  create->add_option("--max-bytes", a.bundle.max_bytes, "split into parts of at most this many bytes "
                                                       "(e.g. 4294967295 for FAT32, 25000000 for e-mail)")
      ->check(CLI::Range(int64_t{4096}, int64_t{1} << 50));
  create->add_option("--since", a.bundle.since, "what the peer holds, instead of its acknowledgements: a JSON "
                                               "frontier or a file with one (bundle inspect --json of its bundle)");
  create->add_flag("--full", a.bundle.full, "everything the peer may receive, whatever it acknowledged");
  create->callback(a.Run([&a] { return ctl::BundleCreate(a.g, a.bundle); }));
  auto* import_cmd = bundle->add_subcommand("import", "verify a bundle and apply it, all or nothing");
  import_cmd->add_option("FILES", a.files, "the bundle's file or all its parts, in any order")->required();
  import_cmd->callback(a.Run([&a] { return ctl::BundleImport(a.g, a.files); }));
  auto* inspect = bundle->add_subcommand("inspect", "show what a bundle holds and check its parts, applying nothing");
  inspect->add_option("FILES", a.files, "the bundle's file or its parts (the last one holds the manifest)")->required();
  inspect->callback(a.Run([&a] { return ctl::BundleInspect(a.g, a.files); }));
}

void AddUserCommands(CLI::App& app, Args& a) {
  auto* user = app.add_subcommand("user", "officer accounts of the HTTP API and web UI (docs/api.md)");
  user->require_subcommand(1);
  auto* add = user->add_subcommand("add", "add an account; the password is asked for (or read from stdin)");
  add->add_option("NAME", a.name, "letters, digits, . _ -")->required();
  add->add_option("--role", a.user_role, "officer, analyst or admin")->required();
  add->callback(a.Run([&a] { return ctl::UserAdd(a.g, a.name, a.user_role); }));
  user->add_subcommand("list", "the accounts, their roles and whether they are disabled")->callback(a.Run([&a] {
    return ctl::UserList(a.g);
  }));
  auto* passwd = user->add_subcommand("passwd", "set an account's password (ends its sessions)");
  passwd->add_option("NAME", a.name, "the account")->required();
  passwd->callback(a.Run([&a] { return ctl::UserPasswd(a.g, a.name); }));
  auto* disable = user->add_subcommand("disable", "refuse an account's logins and end its sessions");
  disable->add_option("NAME", a.name, "the account")->required();
  disable->callback(a.Run([&a] { return ctl::UserDisable(a.g, a.name, true); }));
  auto* enable = user->add_subcommand("enable", "let a disabled account log in again");
  enable->add_option("NAME", a.name, "the account")->required();
  enable->callback(a.Run([&a] { return ctl::UserDisable(a.g, a.name, false); }));
}

// One line for a command line CLI11 refused, naming a mistyped command
// instead of "A subcommand is required".
std::string DescribeParseError(CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  std::string what = e.what();
  CLI::App* at = &app;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--data") {
      ++i;
      continue;
    }
    if (arg.rfind("-", 0) == 0) continue;
    CLI::App* sub = nullptr;
    try {
      sub = at->get_subcommand(arg);
    } catch (const CLI::OptionNotFound&) {
    }
    if (!sub) {
      if (at->get_subcommands({}).empty()) break;  // a positional argument
      what = "unknown command '" + arg + "'";
      break;
    }
    at = sub;
  }
  if (what.rfind("A subcommand is required", 0) == 0) {
    std::string names;
    for (const CLI::App* sub : at->get_subcommands({})) {
      names += (names.empty() ? "" : ", ") + sub->get_name();
    }
    what = (at == &app ? std::string("a command is needed")
                       : "'" + at->get_name() + "' needs a command") +
           ": " + names;
  }
  return what.empty() ? "invalid command line" : what;
}

int Main(int argc, char** argv) {
  Args a;
  a.g.data_dir = DefaultDataDir();
  CLI::App app{"ncenctl — records and replication status of an ncen node", "ncenctl"};
  app.fallthrough();  // global options may follow the command too
  app.require_subcommand(1);
  app.add_option("--data", a.g.data_dir,
                 "node data directory (default $NCEN_DATA, else ./ncen-data)");
  app.add_flag("--json", a.g.json, "machine-readable JSON on stdout");
  AddNodeCommands(app, a);
  AddWriteCommands(app, a);
  AddReadCommands(app, a);
  AddSharingCommands(app, a);
  AddMarkCommands(app, a);
  AddConfigCommands(app, a);
  AddNetworkCommands(app, a);
  AddBundleCommands(app, a);
  AddUserCommands(app, a);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "ncenctl: %s (see ncenctl --help)\n",
                 ctl::Shown(DescribeParseError(app, e, argc, argv)).c_str());
    return 1;
  }
  if (!a.result.ok()) {
    // Messages may quote a file, a record or a peer: always one clean line.
    std::fprintf(stderr, "ncenctl: %s\n", ctl::Shown(a.result.message()).c_str());
    return ctl::ExitCodeFor(a.result);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "ncenctl: internal error: %s\n", ncen::ctl::Shown(e.what()).c_str());
    return 2;
  }
}
