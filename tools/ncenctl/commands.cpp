#include "tools/ncenctl/commands.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "node/node_dir.h"
#include "storage/codes.h"
#include "storage/record_json.h"

namespace ncen::ctl {

using json = nlohmann::ordered_json;
using storage::RecordType;

namespace {

constexpr size_t kImportBatch = 1000;

Result<node::OpenNode> Open(const Globals& g) { return node::OpenNodeDir(g.data_dir); }

std::string IsoTime(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm;
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

// Reads FILE or standard input ("-").
Result<std::string> ReadInput(const std::string& file) {
  std::ostringstream out;
  if (file == "-") {
    out << std::cin.rdbuf();
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) return InvalidArgument(file + ": cannot open");
    out << in.rdbuf();
  }
  return out.str();
}

std::string InputName(const std::string& file) { return file == "-" ? "<stdin>" : file; }

// "line L, column C" of a byte offset.
std::string Position(const std::string& text, size_t offset) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') ++line, col = 1;
    else ++col;
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

constexpr int kJsonDepthMax = 32;

struct TooDeep {};

// Parses JSON with a nesting limit (deep nesting would exhaust the stack
// later) and turns every parser exception into kInvalidArgument.
Result<json> ParseJson(const std::string& text, const std::string& where) {
  auto limit = [](int depth, json::parse_event_t, json&) {
    if (depth > kJsonDepthMax) throw TooDeep{};
    return true;
  };
  try {
    return json::parse(text, limit);
  } catch (const TooDeep&) {
    return InvalidArgument(where + ": JSON nested deeper than " + std::to_string(kJsonDepthMax) + " levels");
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    size_t colon = what.rfind(": ");
    return InvalidArgument(where + ": not valid JSON at " + Position(text, e.byte ? e.byte - 1 : 0) +
                           (colon != std::string::npos ? " (" + what.substr(colon + 2) + ")" : ""));
  } catch (const json::exception& e) {
    return InvalidArgument(where + ": not usable JSON (" + e.what() + ")");
  }
}

Result<RecordType> ParseType(const std::string& name) {
  auto t = storage::ParseRecordType(name);
  if (!t) return InvalidArgument("unknown record type '" + name + "' (seizure, suspect or company)");
  return *t;
}

void PrintJson(const json& j) { std::cout << j.dump(2) << "\n"; }

void PrintTable(const std::vector<storage::ListItem>& items) {
  if (items.empty()) {
    std::cout << "(none)\n";
    return;
  }
  std::cout << fmt::format("{:<36}  {:<8}  {}\n", "ID", "TYPE", "SUMMARY");
  for (const auto& item : items) {
    std::string flag = item.versions > 1 ? fmt::format("  [CONFLICT: {} versions]", item.versions) : "";
    std::cout << fmt::format("{:<36}  {:<8}  {}{}\n", storage::FormatRecordId(item.id),
                             storage::RecordTypeName(item.type), item.summary, flag);
  }
}

json ItemsJson(const std::vector<storage::ListItem>& items) {
  json arr = json::array();
  for (const auto& item : items) {
    arr.push_back({{"id", storage::FormatRecordId(item.id)},
                   {"type", storage::RecordTypeName(item.type)},
                   {"versions", item.versions},
                   {"summary", item.summary}});
  }
  return arr;
}

// A list of records: the table, or a JSON array.
Status PrintItems(const Globals& g, const std::vector<storage::ListItem>& items) {
  if (g.json) PrintJson(ItemsJson(items));
  else PrintTable(items);
  return Status::Ok();
}

Status PrintWritten(const Globals& g, const storage::RecordId& id, RecordType type) {
  if (g.json) {
    PrintJson({{"id", storage::FormatRecordId(id)}, {"type", storage::RecordTypeName(type)}});
  } else {
    std::cout << storage::FormatRecordId(id) << "\n";
  }
  return Status::Ok();
}

// Validates one JSON object as a record of `type`, naming `where` on error.
Result<Bytes> Validate(RecordType type, const json& object, const std::string& where, bool allow_id) {
  auto payload = storage::RecordFromJson(type, object, allow_id);
  if (!payload.ok()) return payload.status().WithContext(where);
  return payload;
}

class Progress {
 public:
  explicit Progress(size_t total) : total_(total), tty_(::isatty(STDERR_FILENO)) {}
  void Update(size_t done) {
    if (!tty_ || total_ == 0) return;
    int width = 40, filled = static_cast<int>(width * done / total_);
    std::fprintf(stderr, "\r[%s%s] %zu/%zu", std::string(filled, '#').c_str(),
                 std::string(width - filled, ' ').c_str(), done, total_);
    if (done == total_) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  }

 private:
  size_t total_;
  bool tty_;
};

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

Status Init(const Globals& g, const std::string& name, const std::string& role) {
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::InitNode(g.data_dir, name, role));
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
    PrintJson({{"node_id", crypto::NodeIdHex(key)}, {"fingerprint", crypto::Fingerprint(key)},
               {"name", n.store->meta().name}});
  } else {
    std::cout << crypto::NodeIdHex(key) << "  " << crypto::Fingerprint(key) << "  "
              << n.store->meta().name << "\n";
  }
  return Status::Ok();
}

Status Add(const Globals& g, const std::string& type_name, const std::string& file) {
  NCEN_ASSIGN_OR_RETURN(RecordType type, ParseType(type_name));
  NCEN_ASSIGN_OR_RETURN(std::string text, ReadInput(file));
  NCEN_ASSIGN_OR_RETURN(json object, ParseJson(text, InputName(file)));
  NCEN_ASSIGN_OR_RETURN(Bytes payload, Validate(type, object, InputName(file), false));
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, Open(g));
  storage::LocalChange change{storage::NewRecordId(storage::UnixMillisNow()), type,
                              storage::Op::kPut, std::move(payload)};
  NCEN_RETURN_IF_ERROR(n.store->AppendLocal(n.identity, {&change, 1}).status());
  return PrintWritten(g, change.id, type);
}

Status Import(const Globals& g, const std::string& file) {
  NCEN_ASSIGN_OR_RETURN(std::string text, ReadInput(file));
  std::string where = InputName(file);
  // A JSON array, or newline-delimited JSON objects.
  std::vector<std::pair<json, std::string>> objects;  // object, "record N (line L)"
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '[') {
    NCEN_ASSIGN_OR_RETURN(json array, ParseJson(text, where));
    for (size_t i = 0; i < array.size(); ++i) {
      objects.emplace_back(array[i], "record " + std::to_string(i + 1) + " (index " + std::to_string(i) + ")");
    }
  } else {
    std::istringstream lines(text);
    std::string line;
    for (size_t number = 1; std::getline(lines, line); ++number) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      std::string at = where + ": line " + std::to_string(number);
      NCEN_ASSIGN_OR_RETURN(json object, ParseJson(line, at));
      objects.emplace_back(std::move(object), "line " + std::to_string(number));
    }
  }
  if (objects.empty()) return InvalidArgument(where + ": no records");

  std::vector<storage::LocalChange> changes;
  changes.reserve(objects.size());
  int64_t now = storage::UnixMillisNow();
  for (auto& [object, label] : objects) {
    std::string at = where + ": " + label;
    if (!object.is_object()) return InvalidArgument(at + ": a record must be a JSON object");
    auto type_it = object.find("type");
    if (type_it == object.end() || !type_it->is_string()) {
      return InvalidArgument(at + ": field 'type' is required (seizure, suspect or company)");
    }
    auto type = storage::ParseRecordType(type_it->get<std::string>());
    if (!type) {
      return InvalidArgument(at + ": field 'type': unknown record type '" +
                             type_it->get<std::string>() + "'");
    }
    NCEN_ASSIGN_OR_RETURN(Bytes payload, Validate(*type, object, at, false));
    changes.push_back({storage::NewRecordId(now), *type, storage::Op::kPut, std::move(payload)});
  }

  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, Open(g));
  Progress progress(changes.size());
  for (size_t at = 0; at < changes.size(); at += kImportBatch) {
    size_t count = std::min(kImportBatch, changes.size() - at);
    NCEN_RETURN_IF_ERROR(n.store->AppendLocal(n.identity, {changes.data() + at, count}).status());
    progress.Update(at + count);
  }
  if (g.json) {
    json ids = json::array();
    for (const auto& c : changes) ids.push_back(storage::FormatRecordId(c.id));
    PrintJson({{"count", changes.size()}, {"ids", ids}});
  } else {
    for (const auto& c : changes) std::cout << storage::FormatRecordId(c.id) << "\n";
    std::cerr << "imported " << changes.size() << " records\n";
  }
  return Status::Ok();
}

Status Get(const Globals& g, const std::string& id_text) {
  NCEN_ASSIGN_OR_RETURN(storage::RecordId id, storage::ParseRecordId(id_text));
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, Open(g));
  NCEN_ASSIGN_OR_RETURN(storage::RecordView view, n.store->GetRecord(id));
  const auto& state = view.state;
  if (!state.live() && !state.conflict()) {
    return NotFound("record " + id_text + " was deleted");
  }
  auto version_json = [&](size_t i) -> Result<json> {
    json body = json::object();
    if (state.versions[i].live() && !view.payloads[i].empty()) {
      NCEN_ASSIGN_OR_RETURN(body, storage::RecordToJson(state.type, view.payloads[i]));
    }
    return body;
  };
  size_t winner = state.WinnerIndex();
  NCEN_ASSIGN_OR_RETURN(json body, version_json(winner));
  json out = {{"id", storage::FormatRecordId(id)}, {"type", storage::RecordTypeName(state.type)}};
  for (auto& [key, value] : body.items()) out[key] = value;
  if (state.conflict()) {
    json versions = json::array();
    for (size_t i = 0; i < state.versions.size(); ++i) {
      const auto& v = state.versions[i];
      NCEN_ASSIGN_OR_RETURN(json vj, version_json(i));
      vj["author"] = crypto::NodeIdHex(v.dot.author);
      vj["seq"] = v.dot.seq;
      vj["timestamp"] = IsoTime(v.timestamp_ms);
      vj["op"] = storage::OpName(v.op);
      vj["winner"] = i == winner;
      versions.push_back(std::move(vj));
    }
    out["versions"] = std::move(versions);
  }
  if (g.json) {
    PrintJson(out);
    return Status::Ok();
  }
  std::cout << storage::RecordTypeName(state.type) << " " << storage::FormatRecordId(id) << "\n";
  if (state.conflict()) {
    std::cout << "CONFLICT: " << state.versions.size()
              << " concurrent versions; showing the winner. Compare them with --json, settle with "
                 "'ncenctl resolve'.\n";
    for (size_t i = 0; i < state.versions.size(); ++i) {
      const auto& v = state.versions[i];
      std::cout << fmt::format("  {} version by {} seq {} at {} ({})\n", i == winner ? "*" : " ",
                               crypto::Fingerprint(v.dot.author), v.dot.seq, IsoTime(v.timestamp_ms),
                               storage::OpName(v.op));
    }
  }
  std::cout << body.dump(2) << "\n";
  return Status::Ok();
}

Status List(const Globals& g, const std::string& type_name, size_t limit) {
  std::optional<RecordType> type;
  if (!type_name.empty()) {
    NCEN_ASSIGN_OR_RETURN(type, ParseType(type_name));
  }
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, Open(g));
  NCEN_ASSIGN_OR_RETURN(auto items, n.store->List(type, limit));
  return PrintItems(g, items);
}

Status Update(const Globals& g, const std::string& id_text, const std::string& file, bool resolve) {
  NCEN_ASSIGN_OR_RETURN(storage::RecordId id, storage::ParseRecordId(id_text));
  NCEN_ASSIGN_OR_RETURN(std::string text, ReadInput(file));
  NCEN_ASSIGN_OR_RETURN(json object, ParseJson(text, InputName(file)));
  if (object.is_object() && object.contains("id") &&
      (!object["id"].is_string() || object["id"].get<std::string>() != storage::FormatRecordId(id))) {
    return InvalidArgument(InputName(file) + ": field 'id' does not match " + id_text);
  }
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, Open(g));
  NCEN_ASSIGN_OR_RETURN(storage::RecordView view, n.store->GetRecord(id));
  if (resolve && !view.state.conflict()) {
    return InvalidArgument("record " + id_text + " has no conflict to resolve; use 'update'");
  }
  NCEN_ASSIGN_OR_RETURN(Bytes payload, Validate(view.state.type, object, InputName(file), true));
  storage::LocalChange change{id, view.state.type, resolve ? storage::Op::kResolve : storage::Op::kPut,
                              std::move(payload), view.state.scope};
  NCEN_RETURN_IF_ERROR(n.store->AppendLocal(n.identity, {&change, 1}).status());
  return PrintWritten(g, id, view.state.type);
}

Status Delete(const Globals& g, const std::string& id_text) {
  NCEN_ASSIGN_OR_RETURN(storage::RecordId id, storage::ParseRecordId(id_text));
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, Open(g));
  NCEN_ASSIGN_OR_RETURN(storage::RecordView view, n.store->GetRecord(id));
  if (!view.state.live()) return InvalidArgument("record " + id_text + " is already deleted");
  storage::LocalChange change{id, view.state.type, storage::Op::kDelete, {}, view.state.scope};
  NCEN_RETURN_IF_ERROR(n.store->AppendLocal(n.identity, {&change, 1}).status());
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
  NCEN_ASSIGN_OR_RETURN(storage::RecordView seizure, n.store->GetRecord(seizure_id));
  if (seizure.state.type != RecordType::kSeizure || !seizure.state.live()) {
    return InvalidArgument(seizure_text + " is not a seizure");
  }
  auto other = n.store->GetRecord(other_id);
  RecordType want = is_company ? RecordType::kCompany : RecordType::kSuspect;
  if (!other.ok() || other->state.type != want || !other->state.live()) {
    return InvalidArgument(std::string(is_company ? "--company " : "--suspect ") +
                           (is_company ? company : suspect) + " is not a " +
                           storage::RecordTypeName(want) + " on this node");
  }
  const Bytes& current = seizure.payloads[seizure.state.WinnerIndex()];
  NCEN_ASSIGN_OR_RETURN(Bytes payload,
                        storage::AddSeizureLink(current, is_company, storage::FormatRecordId(other_id)));
  if (payload == current && !seizure.state.conflict()) return PrintWritten(g, seizure_id, RecordType::kSeizure);
  storage::LocalChange change{seizure_id, RecordType::kSeizure, storage::Op::kPut, std::move(payload),
                              seizure.state.scope};
  NCEN_RETURN_IF_ERROR(n.store->AppendLocal(n.identity, {&change, 1}).status());
  return PrintWritten(g, seizure_id, RecordType::kSeizure);
}

Status Search(const Globals& g, const std::string& query, const std::string& type_name,
              const std::string& from, const std::string& to, size_t limit) {
  storage::SearchQuery q;
  q.text = query;
  q.limit = limit;
  if (!type_name.empty()) {
    NCEN_ASSIGN_OR_RETURN(q.type, ParseType(type_name));
  }
  if (!from.empty() && !storage::IsDate(from)) return InvalidArgument("--from '" + from + "' is not a date (YYYY-MM-DD)");
  if (!to.empty() && !storage::IsDate(to)) return InvalidArgument("--to '" + to + "' is not a date (YYYY-MM-DD)");
  if (!from.empty() && !to.empty() && from > to) return InvalidArgument("--from is after --to");
  q.from_date = from;
  q.to_date = to;
  if (query.empty() && from.empty() && to.empty()) {
    return InvalidArgument("search needs a QUERY, --from or --to");
  }
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, Open(g));
  NCEN_ASSIGN_OR_RETURN(auto items, n.store->Search(q));
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
               {"records", report->records}});
  } else {
    std::cout << fmt::format("log intact: {} feeds, {} entries, {} records verified\n",
                             report->feeds, report->entries, report->records);
  }
  return Status::Ok();
}

Status Conflicts(const Globals& g) {
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, Open(g));
  NCEN_ASSIGN_OR_RETURN(auto items, n.store->Conflicts(SIZE_MAX));
  return PrintItems(g, items);
}

Status StatusCommand(const Globals& g) {
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, Open(g));
  const auto& meta = n.store->meta();
  NCEN_ASSIGN_OR_RETURN(storage::StoreStats stats, n.store->Stats());
  NCEN_ASSIGN_OR_RETURN(auto frontier, n.store->Frontier());
  NCEN_ASSIGN_OR_RETURN(auto digest, n.store->FrontierDigest());
  NCEN_ASSIGN_OR_RETURN(auto forks, n.store->Forks());
  NCEN_ASSIGN_OR_RETURN(std::string stale, n.store->StaleIdentity());
  if (g.json) {
    json records = json::object();
    for (int t = 0; t < storage::kRecordTypeCount; ++t) {
      records[storage::RecordTypeName(RecordType(t))] = stats.records[t];
    }
    json feeds = json::array();
    for (const auto& f : frontier) {
      feeds.push_back({{"author", crypto::NodeIdHex(f.feed.author)},
                       {"scope", storage::ScopeName(f.feed.scope)},
                       {"seq", f.seq},
                       {"head", ToHex(f.head)}});
    }
    json fork_list = json::array();
    for (const auto& f : forks) {
      fork_list.push_back({{"author", crypto::NodeIdHex(f.feed.author)},
                           {"scope", storage::ScopeName(f.feed.scope)},
                           {"seq", f.seq},
                           {"ours", ToHex(f.ours)},
                           {"theirs", ToHex(f.theirs)},
                           {"detected", IsoTime(f.detected_ms)},
                           {"source", f.source}});
    }
    PrintJson({{"node_id", crypto::NodeIdHex(meta.node_id)},
               {"fingerprint", crypto::Fingerprint(meta.node_id)},
               {"name", meta.name},
               {"role", meta.role},
               {"entries", stats.entries},
               {"records", records},
               {"conflicts", stats.conflicts},
               {"frontier", feeds},
               {"frontier_digest", ToHex(digest)},
               {"forks", fork_list},
               {"stale_identity", !stale.empty()}});
    return Status::Ok();
  }
  std::cout << fmt::format("node      {} ({}, {})\n", meta.name, meta.role, crypto::Fingerprint(meta.node_id));
  std::cout << fmt::format("node id   {}\n", crypto::NodeIdHex(meta.node_id));
  if (!stale.empty()) std::cout << "IDENTITY STALE: " << stale << " — local writes are refused\n";
  std::cout << fmt::format("entries   {} in {} feeds\n", stats.entries, stats.feeds);
  std::cout << fmt::format("records   {} seizures, {} suspects, {} companies\n", stats.records[0],
                           stats.records[1], stats.records[2]);
  std::cout << fmt::format("conflicts {}\n", stats.conflicts);
  std::cout << fmt::format("frontier  {}\n", ToHex(digest));
  if (!frontier.empty()) {
    std::cout << fmt::format("\n{:<21} {:<9} {:>10}  {}\n", "FEED", "SCOPE", "SEQ", "HEAD");
    for (const auto& f : frontier) {
      std::string who = crypto::Fingerprint(f.feed.author) + (f.feed.author == meta.node_id ? "*" : "");
      std::cout << fmt::format("{:<21} {:<9} {:>10}  {}\n", who, storage::ScopeName(f.feed.scope),
                               f.seq, ToHex(f.head).substr(0, 16));
    }
  }
  for (const auto& f : forks) {
    std::cout << fmt::format("FORK: feed {}/{} seq {} (from {}, {})\n", crypto::Fingerprint(f.feed.author),
                             storage::ScopeName(f.feed.scope), f.seq, f.source.empty() ? "?" : f.source,
                             IsoTime(f.detected_ms));
  }
  return Status::Ok();
}

}  // namespace ncen::ctl
