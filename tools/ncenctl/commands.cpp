#include "tools/ncenctl/commands.h"

#include <fmt/format.h>

#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <thread>

#include "base/log.h"
#include "node/node_dir.h"
#include "node/records.h"
#include "node/status_report.h"
#include "storage/codes.h"
#include "storage/peer_status.h"
#include "storage/record_json.h"
#include "tools/ncenctl/input.h"
#include "tools/ncenctl/output.h"

namespace ncen::ctl {

using storage::RecordType;

namespace {

Result<node::OpenNode> Open(const Globals& g) { return node::OpenNodeDir(g.data_dir); }

using log::IsoTime;

// What a table adds after a record's summary: whether it needs a person.
std::string ItemFlag(const storage::ListItem& item) {
  if (item.quarantined) return "  [QUARANTINED]";
  if (item.versions > 1) return fmt::format("  [CONFLICT: {} versions]", item.versions);
  return "";
}

void PrintTable(const std::vector<storage::ListItem>& items) {
  if (items.empty()) {
    std::cout << "(none)\n";
    return;
  }
  std::cout << fmt::format("{:<36}  {:<8}  {}\n", "ID", "TYPE", "SUMMARY");
  for (const auto& item : items) {
    // The summary is taken from a record's fields, which a peer may have written.
    std::cout << fmt::format("{:<36}  {:<8}  {}{}\n", storage::FormatRecordId(item.id),
                             storage::RecordTypeName(item.type), Shown(item.summary),
                             ItemFlag(item));
  }
}

}  // namespace

node::Actor LocalActor() {
  node::Actor actor;
  actor.via = "cli";
  uid_t uid = geteuid();
  std::vector<char> buffer(16384);
  struct passwd pw {};
  struct passwd* found = nullptr;
  if (getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found) == 0 && found && found->pw_name &&
      found->pw_name[0]) {
    actor.name = found->pw_name;
  } else if (const char* user = std::getenv("USER"); user && user[0]) {
    actor.name = user;
  } else {
    actor.name = "uid " + std::to_string(uid);
  }
  return actor;
}

Result<std::unique_ptr<node::AuditLog>> OpenAuditLog(const Globals& g) { return node::AuditLog::Open(g.data_dir); }

Status PrintItems(const Globals& g, const std::vector<storage::ListItem>& items) {
  if (g.json) PrintJson(node::ItemsJson(items));
  else PrintTable(items);
  return Status::Ok();
}

Result<RecordType> ParseType(const std::string& name) {
  auto t = storage::ParseRecordType(name);
  if (!t) return InvalidArgument("unknown record type '" + name + "' (seizure, suspect, company or seizure_report)");
  return *t;
}

namespace {

Status PrintWritten(const Globals& g, const storage::RecordId& id, RecordType type) {
  if (g.json) {
    PrintJson({{"id", storage::FormatRecordId(id)}, {"type", storage::RecordTypeName(type)}});
  } else {
    std::cout << storage::FormatRecordId(id) << "\n";
  }
  return Status::Ok();
}

}  // namespace

int ExitCodeFor(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk: return 0;
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kConflict:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kUnavailable: return 1;
    default: return 2;
  }
}

Status Init(const Globals& g, const std::string& name, const std::string& role,
            const std::string& listen, const std::string& network_id) {
  node::NodeConfig config;
  config.listen = listen;
  config.network_id = network_id;
  if (!listen.empty()) {
    NCEN_RETURN_IF_ERROR(node::ParseListenAddress(listen).status().WithContext("--listen"));
  }
  NCEN_RETURN_IF_ERROR(node::ValidateConfig(config));
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::InitNode(g.data_dir, name, role, {}, config));
  const auto& key = n.identity.public_key();
  if (g.json) {
    PrintJson({{"node_id", crypto::NodeIdHex(key)},
               {"fingerprint", crypto::Fingerprint(key)},
               {"name", name},
               {"role", role},
               {"data", g.data_dir}});
  } else {
    std::cout << crypto::NodeIdHex(key) << "\n";
    std::cerr << "created node '" << name << "' (" << role << ") in " << g.data_dir
              << ", fingerprint " << crypto::Fingerprint(key) << "\n";
  }
  return Status::Ok();
}

Status Id(const Globals& g) {
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, Open(g));
  const auto& key = n.identity.public_key();
  if (g.json) {
    PrintJson({{"node_id", crypto::NodeIdHex(key)},
               {"fingerprint", crypto::Fingerprint(key)},
               {"name", n.store->meta().name}});
  } else {
    // Only the id on stdout, as init prints it: scripts take it as it is.
    std::cout << crypto::NodeIdHex(key) << "\n";
    std::cerr << "fingerprint " << crypto::Fingerprint(key) << ", node '" << n.store->meta().name
              << "'\n";
  }
  return Status::Ok();
}

Status Add(const Globals& g, const std::string& type_name, const std::string& file) {
  NCEN_ASSIGN_OR_RETURN(RecordType type, ParseType(type_name));
  NCEN_ASSIGN_OR_RETURN(std::string text, ReadInput(file));
  NCEN_ASSIGN_OR_RETURN(json object, ParseJson(text, InputName(file)));
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, Open(g));
  node::Records records(*n.store, n.identity, LocalActor());
  auto id = records.Add(type, object);
  if (!id.ok()) return id.status().WithContext(InputName(file));
  return PrintWritten(g, *id, type);
}

namespace {

void PrintRecordText(const storage::RecordView& view, const json& winner_body) {
  const auto& state = view.state;
  std::cout << storage::RecordTypeName(state.type) << " " << storage::FormatRecordId(view.id)
            << "\n";
  if (state.conflict()) {
    std::cout << "CONFLICT: " << state.versions.size()
              << " concurrent versions; showing the winner. Compare them with --json, settle with "
                 "'ncenctl resolve'.\n";
    size_t winner = state.WinnerIndex();
    for (size_t i = 0; i < state.versions.size(); ++i) {
      const auto& v = state.versions[i];
      std::cout << fmt::format("  {} version by {} seq {} at {} ({})\n", i == winner ? "*" : " ",
                               crypto::Fingerprint(v.dot.author), v.dot.seq,
                               IsoTime(v.timestamp_ms), storage::OpName(v.op));
    }
  }
  std::cout << DumpJson(winner_body) << "\n";
}

}  // namespace

// A quarantined record has no version to show. Text: an error (exit 1) that
// says why. JSON: a complete answer, exit 0, so a script can tell a
// quarantined record from a missing one without parsing an error line.
Status Get(const Globals& g, const std::string& id_text) {
  NCEN_ASSIGN_OR_RETURN(storage::RecordId id, storage::ParseRecordId(id_text));
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, Open(g));
  NCEN_ASSIGN_OR_RETURN(auto audit, OpenAuditLog(g));
  node::Records records(*n.store, n.identity, LocalActor(), audit.get());
  NCEN_ASSIGN_OR_RETURN(storage::RecordView view, records.GetAny(id));
  const auto& state = view.state;
  if (state.quarantined() && g.json) {
    NCEN_ASSIGN_OR_RETURN(json out, node::RecordJson(view));
    PrintJson(out);
    return Status::Ok();
  }
  NCEN_RETURN_IF_ERROR(node::QuarantineStatus(id, state));
  NCEN_ASSIGN_OR_RETURN(json out, node::RecordJson(view));  // kNotFound when deleted
  if (!g.json) {
    NCEN_ASSIGN_OR_RETURN(json body, node::VersionBody(view, state.WinnerIndex()));
    PrintRecordText(view, body);
    return Status::Ok();
  }
  PrintJson(out);
  return Status::Ok();
}

Status History(const Globals& g, const std::string& id_text, size_t limit) {
  NCEN_ASSIGN_OR_RETURN(storage::RecordId id, storage::ParseRecordId(id_text));
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, Open(g));
  NCEN_ASSIGN_OR_RETURN(auto audit, OpenAuditLog(g));
  node::Records records(*n.store, n.identity, LocalActor(), audit.get());
  NCEN_ASSIGN_OR_RETURN(node::History history, records.HistoryOf(id, limit));
  NCEN_ASSIGN_OR_RETURN(auto membership, n.store->GetMembership());
  json out = node::HistoryJson(id, history, membership.get(), n.identity.public_key(),
                               n.store->meta().name);
  if (g.json) {
    PrintJson(out);
    return Status::Ok();
  }
  std::cout << fmt::format("{:<24} {:<8} {:<24} {:<24} {}\n", "TIME", "OP", "BY", "NODE", "AUTHOR");
  for (const auto& e : out["entries"]) {
    std::string by = "-";
    if (e["entered_by"].is_object()) {
      by = Shown(e["entered_by"].value("name", "")) + " (" + Shown(e["entered_by"].value("via", "")) + ")";
    }
    std::string node_name = e["entered_by"].is_object() ? Shown(e["entered_by"].value("node", "")) : "-";
    std::string op = e["op"].get<std::string>() + (e["current"].get<bool>() ? "*" : "");
    std::cout << fmt::format("{:<24} {:<8} {:<24} {:<24} {}\n", e["time"].get<std::string>(), op, by, node_name,
                             Shown(e["author_name"].get<std::string>()));
  }
  std::cout << "*: a version the record has now" << (history.truncated ? "; older entries left out (--limit)" : "")
            << "\n";
  return Status::Ok();
}

Status List(const Globals& g, const std::string& type_name, size_t limit) {
  std::optional<RecordType> type;
  if (!type_name.empty()) {
    NCEN_ASSIGN_OR_RETURN(type, ParseType(type_name));
  }
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, Open(g));
  NCEN_ASSIGN_OR_RETURN(auto audit, OpenAuditLog(g));
  NCEN_ASSIGN_OR_RETURN(auto items, node::Records(*n.store, n.identity, LocalActor(), audit.get()).List(type, limit));
  return PrintItems(g, items);
}

Status Update(const Globals& g, const std::string& id_text, const std::string& file, bool resolve) {
  NCEN_ASSIGN_OR_RETURN(storage::RecordId id, storage::ParseRecordId(id_text));
  NCEN_ASSIGN_OR_RETURN(std::string text, ReadInput(file));
  NCEN_ASSIGN_OR_RETURN(json object, ParseJson(text, InputName(file)));
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, Open(g));
  node::Records records(*n.store, n.identity, LocalActor());
  Status written = records.Update(id, object, resolve);
  // A field error names the file; a refusal because of the record's state
  // names the record already.
  if (written.code() == StatusCode::kInvalidArgument && written.message().rfind("field '", 0) == 0) {
    return written.WithContext(InputName(file));
  }
  NCEN_RETURN_IF_ERROR(written);
  NCEN_ASSIGN_OR_RETURN(storage::RecordView view, n.store->GetRecord(id));  // its type, to print
  return PrintWritten(g, id, view.state.type);
}

Status Delete(const Globals& g, const std::string& id_text) {
  NCEN_ASSIGN_OR_RETURN(storage::RecordId id, storage::ParseRecordId(id_text));
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, Open(g));
  node::Records records(*n.store, n.identity, LocalActor());
  NCEN_RETURN_IF_ERROR(records.Delete(id));
  NCEN_ASSIGN_OR_RETURN(storage::RecordView view, n.store->GetRecord(id));  // its type, to print
  return PrintWritten(g, id, view.state.type);
}

Status Link(const Globals& g, const std::string& seizure_text, const std::string& suspect,
            const std::string& company) {
  if (suspect.empty() == company.empty()) {
    return InvalidArgument("link needs exactly one of --suspect ID or --company ID");
  }
  NCEN_ASSIGN_OR_RETURN(storage::RecordId seizure_id, storage::ParseRecordId(seizure_text));
  bool is_company = !company.empty();
  NCEN_ASSIGN_OR_RETURN(storage::RecordId other_id,
                        storage::ParseRecordId(is_company ? company : suspect));
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, Open(g));
  auto linked = node::Records(*n.store, n.identity, LocalActor()).Link(seizure_id, other_id, is_company);
  if (!linked.ok() && linked.status().code() == StatusCode::kInvalidArgument &&
      linked.status().message().find(storage::FormatRecordId(other_id)) == 0) {
    return linked.status().WithContext(is_company ? "--company" : "--suspect");
  }
  NCEN_RETURN_IF_ERROR(linked.status());
  return PrintWritten(g, seizure_id, RecordType::kSeizure);
}

Status Search(const Globals& g, const std::string& query, const std::string& type_name,
              const std::string& from, const std::string& to, size_t limit, const node::FactFilter& filter) {
  node::SearchRequest request;
  request.filter = filter;
  request.text = query;
  request.from_date = from;
  request.to_date = to;
  request.limit = limit;
  if (!type_name.empty()) {
    NCEN_ASSIGN_OR_RETURN(request.type, ParseType(type_name));
  }
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, Open(g));
  NCEN_ASSIGN_OR_RETURN(auto audit, OpenAuditLog(g));
  NCEN_ASSIGN_OR_RETURN(auto items, node::Records(*n.store, n.identity, LocalActor(), audit.get()).Search(request));
  return PrintItems(g, items);
}

Status LogVerify(const Globals& g) {
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, Open(g));
  auto report = n.store->VerifyLog();
  if (!report.ok()) {
    return Status(StatusCode::kCorruption, "log verify failed: " + report.status().message());
  }
  if (g.json) {
    PrintJson({{"ok", true}, {"feeds", report->feeds}, {"entries", report->entries},
               {"records", report->records}, {"blobs", report->blobs}, {"blob_chunks", report->blob_chunks}});
  } else {
    std::cout << fmt::format("log intact: {} feeds, {} entries, {} records, {} blobs ({} chunks) verified\n",
                             report->feeds, report->entries, report->records, report->blobs,
                             report->blob_chunks);
  }
  return Status::Ok();
}

Status Conflicts(const Globals& g) {
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, Open(g));
  NCEN_ASSIGN_OR_RETURN(auto audit, OpenAuditLog(g));
  NCEN_ASSIGN_OR_RETURN(auto items,
                        node::Records(*n.store, n.identity, LocalActor(), audit.get()).Conflicts(SIZE_MAX));
  return PrintItems(g, items);
}

namespace {

constexpr size_t kRefusedShown = 10;
constexpr auto kSyncPollInterval = std::chrono::milliseconds(200);

std::string ScopesText(const std::vector<storage::Scope>& scopes) {
  std::string out;
  for (auto scope : scopes) {
    out += (out.empty() ? "" : ",") + std::string(storage::ScopeName(scope));
  }
  return out.empty() ? "(none)" : out;
}

// What keeps the peers from being in sync, one clause per peer; empty when
// every peer is. A row counts only if the daemon wrote it at or after
// `since_ms`: one computed before a write we are waiting for says nothing.
std::string SyncGaps(const std::vector<node::PeerReport>& peers, int64_t since_ms) {
  std::string out;
  for (const auto& p : peers) {
    if (p.in_sync && p.row->updated_ms >= since_ms) continue;
    std::string what;
    if (p.in_sync) {
      what = "in sync as of " + IsoTime(p.row->updated_ms) + ", no newer status from ncen-node";
    } else if (!p.connected) {
      what = "not connected";
      what += p.known() ? " (last sync " + IsoTime(p.row->last_sync_ms) + ")" : " (never synced)";
      if (p.row && !p.row->last_error.empty()) what += ", last error: " + Shown(p.row->last_error);
    } else if (!p.known()) {
      what = "connected, frontiers not compared yet";
    } else {
      what = fmt::format("behind by {} and ahead by {} entries", p.row->behind, p.row->ahead);
    }
    out += (out.empty() ? "peer '" : "; peer '") + p.config.name + "' " + what;
  }
  return out;
}

void PrintStatusJson(const node::StatusReport& d) { PrintJson(node::StatusJson(d)); }

void PrintPeersTable(const node::StatusReport& d) {
  if (d.peers.empty()) {
    std::cout << "\npeers: none configured (add one with: ncenctl peers add)\n";
    return;
  }
  std::cout << fmt::format("\n{:<26} {:<9} {:<24} {:>8} {:>8}  {}\n", "PEER", "CONNECTED",
                           "LAST SYNC", "BEHIND", "AHEAD", "LAST ERROR");
  int64_t last_write_ms = 0;
  for (const auto& p : d.peers) {
    const auto* row = p.row ? &*p.row : nullptr;
    if (row) last_write_ms = std::max(last_write_ms, row->updated_ms);
    std::string count_behind = p.known() ? std::to_string(row->behind) : "?";
    std::string count_ahead = p.known() ? std::to_string(row->ahead) : "?";
    std::cout << fmt::format("{:<26} {:<9} {:<24} {:>8} {:>8}  {}\n", p.config.name,
                             p.connected ? "yes" : "no",
                             p.known() ? IsoTime(row->last_sync_ms) : "never", count_behind,
                             count_ahead,
                             row && !row->last_error.empty() ? Shown(row->last_error) : "-");
  }
  if (last_write_ms != 0 && d.now_ms - last_write_ms > storage::PeerStatus::kFreshMs) {
    std::cout << "(peer status last written " << IsoTime(last_write_ms)
              << ": is ncen-node running?)\n";
  }
}

void PrintStatusTable(const node::StatusReport& d) {
  const auto& meta = d.meta;
  std::cout << fmt::format("node      {} ({}, {})\n", meta.name, meta.role,
                           crypto::Fingerprint(meta.node_id));
  std::cout << fmt::format("node id   {}\n", crypto::NodeIdHex(meta.node_id));
  if (!d.stale.reason.empty()) {
    std::cout << "IDENTITY STALE: " << Shown(d.stale.reason)
              << ". Local writes are refused: this directory is probably an old copy of a node "
                 "whose feed went on elsewhere. See the evidence with 'ncenctl stale'. Either "
                 "create a new node (ncenctl init in a new directory), let it sync from the peers "
                 "and give the peers its id in place of this one, or, once no other copy of this "
                 "directory runs anywhere and this node holds its own feed again, clear the mark "
                 "with 'ncenctl stale clear'.\n";
  }
  std::cout << fmt::format("entries   {} in {} feeds\n", d.stats.entries, d.stats.feeds);
  std::cout << fmt::format("records   {} seizures, {} suspects, {} companies\n", d.stats.records[0],
                           d.stats.records[1], d.stats.records[2]);
  std::cout << fmt::format("conflicts {}\n", d.stats.conflicts);
  std::cout << fmt::format("messages  {} unread of {} received, {} sent\n", d.mail.unread, d.mail.received, d.mail.sent);
  if (d.mail.unread_alerts > 0) {
    std::cout << fmt::format("UNREAD ALERTS: {} (ncenctl msg inbox --unread)\n", d.mail.unread_alerts);
  }
  std::cout << fmt::format("frontier  {}\n", ToHex(d.frontier_digest));
  if (d.network) {
    const auto& n = *d.network;
    std::cout << fmt::format("listen    {}\n", d.config.listen.empty() ? "(not listening)" : d.config.listen);
    std::cout << fmt::format("network   {}… ({} members); this node: {}\n", n.id_hex.substr(0, 16), n.members,
                             !n.certified ? "NO CERTIFICATE (ncenctl join)"
                                          : n.role + (n.country.empty() ? "" : " of " + n.country) +
                                                (n.revoked ? ", REVOKED" : ""));
  } else {
    std::cout << fmt::format("listen    {} (network '{}')\n",
                             d.config.listen.empty() ? "(not listening)" : d.config.listen,
                             d.config.network_id);
  }
  if (!d.frontier.empty()) {
    std::cout << fmt::format("\n{:<21} {:<9} {:>10}  {}\n", "FEED", "SCOPE", "SEQ", "HEAD");
    for (const auto& f : d.frontier) {
      std::string who =
          crypto::Fingerprint(f.feed.author) + (f.feed.author == meta.node_id ? "*" : "");
      std::cout << fmt::format("{:<21} {:<9} {:>10}  {}\n", who, storage::ScopeName(f.feed.scope),
                               f.seq, ToHex(f.head).substr(0, 16));
    }
  }
  for (const auto& f : d.forks) {
    std::cout << fmt::format("FORK: feed {}/{} seq {} (from {}, {}); see 'ncenctl forks'\n",
                             crypto::Fingerprint(f.feed.author), storage::ScopeName(f.feed.scope),
                             f.seq, f.source.empty() ? "?" : Shown(f.source),
                             IsoTime(f.detected_ms));
  }
  if (d.network) {
    for (const auto& v : d.network->violations) {
      std::cout << fmt::format("VIOLATION: feed {}/{} seq {} (from {}, {}): {}; see 'ncenctl violations'\n",
                               crypto::Fingerprint(v.feed.author), storage::ScopeName(v.feed.scope), v.seq,
                               v.source.empty() ? "?" : Shown(v.source), IsoTime(v.detected_ms), Shown(v.reason));
    }
  }
  PrintPeersTable(d);
  if (!d.refused.empty()) {
    std::cout << (d.network ? "\nREFUSED (newest first)\n" : "\nREFUSED (not in ncen.toml; newest first)\n");
    for (const auto& r : d.refused) {
      bool no_key = std::all_of(r.id.begin(), r.id.end(), [](uint8_t b) { return b == 0; });
      std::cout << fmt::format("{}  {}  {}  {}\n", IsoTime(r.at_ms),
                               no_key ? std::string("(no key: the handshake failed)") : crypto::NodeIdHex(r.id),
                               r.address.empty() ? "?" : Shown(r.address), Shown(r.reason));
    }
  }
}

// Polls the configuration and the stored peer status until every configured
// peer is in sync according to a row the daemon wrote since the wait began
// (so not before a local write the caller just made). kUnavailable naming the
// peers that are not, at the timeout.
Status WaitSynced(const Globals& g, const node::OpenNode& n, double timeout_s) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(timeout_s));
  // A row counts when ncen-node wrote it after it looked at the store again
  // (it polls every kPollMs, on a kDaemonTickMs tick): a row written just
  // after this command started may predate entries written just before it.
  const int64_t since_ms = storage::UnixMillisNow() + limits::kPollMs + limits::kDaemonTickMs;
  while (true) {
    NCEN_ASSIGN_OR_RETURN(node::NodeConfig config,
                          node::LoadConfig(g.data_dir, n.identity.public_key()));
    NCEN_ASSIGN_OR_RETURN(auto rows, storage::PeerLedger(*n.store).All());
    std::string gaps = SyncGaps(node::JoinPeers(config, rows, storage::UnixMillisNow()), since_ms);
    if (gaps.empty()) return Status::Ok();
    auto now = Clock::now();
    if (now >= deadline) {
      return Unavailable(fmt::format("not in sync after {:g} s: {}", timeout_s, gaps));
    }
    std::this_thread::sleep_for(std::min<Clock::duration>(kSyncPollInterval, deadline - now));
  }
}

// Changes DIR/ncen.toml under its lock (node::EditConfig), so two commands
// run at once never lose one's change.
Result<node::NodeConfig> EditConfig(const Globals& g, const node::OpenNode& n,
                                    const std::function<Status(node::NodeConfig&)>& edit) {
  return node::EditConfig(g.data_dir, n.identity.public_key(), edit);
}

}  // namespace

Status StatusCommand(const Globals& g, const StatusOptions& options) {
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, Open(g));
  if (options.wait_synced) {
    if (!(options.timeout_s >= 0)) return InvalidArgument("--timeout must be 0 or more seconds");
    NCEN_RETURN_IF_ERROR(WaitSynced(g, n, options.timeout_s));
  }
  // --json also compares nodes record by record (docs/log-format.md §10):
  // ~250 ms per million records, so only for scripts.
  NCEN_ASSIGN_OR_RETURN(node::StatusReport d, node::GatherStatusReport(n, g.data_dir, g.json, kRefusedShown));
  if (g.json)
    PrintStatusJson(d);
  else
    PrintStatusTable(d);
  return Status::Ok();
}

Status PeersAdd(const Globals& g, const std::string& name, const std::string& id_hex,
                const std::string& address, const std::optional<std::string>& scopes,
                const std::string& blobs, const std::string& rate) {
  node::PeerConfig peer;
  peer.name = name;
  NCEN_RETURN_IF_ERROR(node::CheckBlobPolicy(blobs).WithContext("--blobs"));
  peer.blobs = blobs;
  auto cap = node::ParseRate(rate);
  if (!cap.ok()) return cap.status().WithContext("--rate");
  peer.rate = *cap;
  NCEN_RETURN_IF_ERROR(node::ValidatePeerName(name).WithContext("--name"));
  auto id = node::ParsePeerId(id_hex);
  if (!id.ok()) return id.status().WithContext("--id");
  peer.id = *id;
  peer.address = address;
  if (!address.empty())
    NCEN_RETURN_IF_ERROR(node::ParseAddress(address).status().WithContext("--address"));
  if (scopes) {
    auto parsed = node::ParseScopeList(*scopes);
    if (!parsed.ok()) return parsed.status().WithContext("--scopes");
    peer.scopes = *parsed;
  }
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, Open(g));
  if (peer.id == n.identity.public_key()) return InvalidArgument("--id is this node's own id");
  auto add = [&](node::NodeConfig& config) {
    if (config.FindByName(name)) {
      return ConflictError("a peer named '" + name + "' already exists (see ncenctl peers list)");
    }
    if (const node::PeerConfig* same = config.FindById(peer.id)) {
      return ConflictError("peer '" + same->name + "' already has id " +
                           crypto::NodeIdHex(peer.id));
    }
    config.peers.push_back(peer);
    return Status::Ok();
  };
  NCEN_RETURN_IF_ERROR(EditConfig(g, n, add).status());
  if (g.json) {
    PrintJson(node::PeerConfigJson(peer));
  } else {
    std::cout << fmt::format(
        "added peer '{}' ({}), {}, scopes {}\n", name, crypto::Fingerprint(peer.id),
        address.empty() ? "inbound only" : "dials " + address, ScopesText(peer.scopes));
  }
  return Status::Ok();
}

Status PeersList(const Globals& g) {
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, Open(g));
  NCEN_ASSIGN_OR_RETURN(node::NodeConfig config,
                        node::LoadConfig(g.data_dir, n.identity.public_key()));
  if (g.json) {
    json out = json::array();
    for (const auto& p : config.peers) out.push_back(node::PeerConfigJson(p));
    PrintJson(out);
    return Status::Ok();
  }
  if (config.peers.empty()) {
    std::cout << "(none)\n";
    return Status::Ok();
  }
  std::cout << fmt::format("{:<20} {:<64}  {:<24}  {:<26}  {:<8}  {}\n", "NAME", "ID", "ADDRESS", "SCOPES", "PHOTOS",
                           "RATE");
  for (const auto& p : config.peers) {
    std::cout << fmt::format("{:<20} {:<64}  {:<24}  {:<26}  {:<8}  {}\n", p.name, crypto::NodeIdHex(p.id),
                             p.address.empty() ? "(inbound)" : p.address, ScopesText(p.scopes), p.blobs,
                             node::RateText(p.rate));
  }
  return Status::Ok();
}

Status PeersRemove(const Globals& g, const std::string& name) {
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, Open(g));
  crypto::PublicKey id{};
  auto remove = [&](node::NodeConfig& config) {
    const node::PeerConfig* peer = config.FindByName(name);
    if (!peer) return NotFound("no peer named '" + name + "' (see ncenctl peers list)");
    id = peer->id;
    std::erase_if(config.peers, [&](const node::PeerConfig& p) { return p.name == name; });
    return Status::Ok();
  };
  NCEN_RETURN_IF_ERROR(EditConfig(g, n, remove).status());
  NCEN_RETURN_IF_ERROR(storage::PeerLedger(*n.store).Delete(id));
  if (g.json)
    PrintJson({{"removed", name}, {"id", crypto::NodeIdHex(id)}});
  else
    std::cout << "removed peer '" << name << "' (" << crypto::Fingerprint(id) << ")\n";
  return Status::Ok();
}

Status ConfigShow(const Globals& g) {
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, Open(g));
  NCEN_ASSIGN_OR_RETURN(node::NodeConfig config,
                        node::LoadConfig(g.data_dir, n.identity.public_key()));
  if (g.json) {
    PrintJson({{"listen", TextOrNull(config.listen)},
               {"network_id", config.network_id},
               {"peers", config.peers.size()},
               {"release_company_names", config.release_company_names}});
  } else {
    std::cout << "listen      " << (config.listen.empty() ? "(not listening)" : config.listen)
              << "\n"
              << "network_id  " << config.network_id << "\n"
              << "peers       " << config.peers.size() << " (see ncenctl peers list)\n"
              << "release_company_names  " << (config.release_company_names ? "true" : "false") << "\n";
  }
  return Status::Ok();
}

Status ConfigSet(const Globals& g, const std::string& key, const std::string& value) {
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, Open(g));
  if (key == "listen" && !value.empty()) {
    NCEN_RETURN_IF_ERROR(node::ParseListenAddress(value).status().WithContext("listen"));
  }
  auto set = [&](node::NodeConfig& config) {
    if (key == "listen") {
      config.listen = value;
    } else if (key == "network" || key == "network_id") {
      config.network_id = value;
    } else if (key == "release_company_names") {
      if (value != "true" && value != "false") return InvalidArgument("release_company_names is true or false");
      config.release_company_names = value == "true";
    } else {
      return InvalidArgument("unknown setting '" + key + "' (listen, network or release_company_names)");
    }
    return Status::Ok();
  };
  NCEN_RETURN_IF_ERROR(EditConfig(g, n, set).status());
  return ConfigShow(g);
}

}  // namespace ncen::ctl
