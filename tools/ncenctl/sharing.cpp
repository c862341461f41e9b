// ncenctl's sharing commands: release, releases, stats, export
// (docs/sharing.md). The rules live in node/releases.h and node/stats.h.
#include <fmt/format.h>

#include <iostream>
#include <set>
#include <sstream>

#include "node/config.h"
#include "node/node_dir.h"
#include "node/releases.h"
#include "node/stats.h"
#include "storage/membership.h"
#include "storage/blobs.h"
#include "storage/codes.h"
#include "storage/record_json.h"
#include "tools/ncenctl/commands.h"
#include "tools/ncenctl/input.h"
#include "tools/ncenctl/output.h"

namespace ncen::ctl {

namespace {

using storage::RecordId;
using storage::RecordType;
using storage::Scope;

Result<std::vector<RecordId>> SeizureIds(const ReleaseOptions& o) {
  std::vector<std::string> texts = o.ids;
  if (!o.ids_file.empty()) {
    // A million ids fit in 40 MB: nothing an office releases at once is larger.
    NCEN_ASSIGN_OR_RETURN(std::string text, ReadInput(o.ids_file, size_t{64} << 20));
    std::istringstream lines(text);
    std::string line;
    size_t n = 0;
    while (std::getline(lines, line)) {
      ++n;
      size_t b = line.find_first_not_of(" \t\r");
      if (b == std::string::npos || line[b] == '#') continue;
      size_t e = line.find_last_not_of(" \t\r");
      std::string id = line.substr(b, e - b + 1);
      if (!storage::ParseRecordId(id).ok()) {
        return InvalidArgument(InputName(o.ids_file) + ":" + std::to_string(n) + ": '" + Shown(id) +
                               "' is not a record id");
      }
      texts.push_back(id);
    }
  }
  if (texts.empty()) return InvalidArgument("name at least one seizure id (or --ids FILE)");
  std::vector<RecordId> ids;
  for (const std::string& t : texts) {
    auto id = storage::ParseRecordId(t);
    if (!id.ok()) return InvalidArgument("'" + Shown(t) + "' is not a record id");
    ids.push_back(*id);
  }
  return ids;
}

Result<storage::ReleasePolicy> PolicyOf(const Globals& g, const node::OpenNode& n) {
  NCEN_ASSIGN_OR_RETURN(node::NodeConfig config, node::LoadConfig(g.data_dir, n.identity.public_key()));
  return storage::ReleasePolicy{config.release_company_names};
}

using node::ReportJson;

// 12.4, 2320000: what a person reads.
std::string Amount(double v) { return fmt::format("{:.15g}", v); }

// "12.4 kg; 3000 stick"
std::string Sums(const std::map<std::string, double>& sums) {
  std::string out;
  for (const auto& [k, v] : sums) out += (out.empty() ? "" : "; ") + Amount(v) + " " + k;
  return out.empty() ? "-" : out;
}

}  // namespace

Status Release(const Globals& g, const ReleaseOptions& o) {
  if (o.withdraw && (o.dry_run || !o.to.empty())) {
    return InvalidArgument("--withdraw takes no --to or --dry-run: it withdraws every report of the seizure");
  }
  if (!o.withdraw && o.to.empty()) return InvalidArgument("release needs --to regional|global (or --withdraw)");
  Scope scope = Scope::kRegional;
  if (!o.withdraw) {
    auto s = storage::ParseScope(o.to);
    if (!s || *s == Scope::kNational) return InvalidArgument("--to is regional or global, not '" + Shown(o.to) + "'");
    scope = *s;
  }
  NCEN_ASSIGN_OR_RETURN(std::vector<RecordId> ids, SeizureIds(o));
  if (o.withdraw && !o.photos.empty()) return InvalidArgument("--withdraw takes no --photo");
  std::vector<crypto::Hash256> photos;
  for (const std::string& text : o.photos) {
    auto hash = storage::ParseBlobHash(text);
    if (!hash) return InvalidArgument("--photo '" + Shown(text) + "' is not a photo hash (64 lower-case hex digits)");
    photos.push_back(*hash);
  }
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::OpenNodeDir(g.data_dir));
  NCEN_ASSIGN_OR_RETURN(storage::ReleasePolicy policy, PolicyOf(g, n));
  node::Releases releases(*n.store, n.identity, policy);
  if (o.withdraw) {
    NCEN_ASSIGN_OR_RETURN(auto reports, releases.Withdraw(ids));
    json arr = json::array();
    for (const RecordId& r : reports) {
      arr.push_back(storage::FormatRecordId(r));
      if (!g.json) std::cout << "withdrew " << storage::FormatRecordId(r) << "\n";
    }
    if (g.json) PrintJson({{"withdrawn", arr}});
    return Status::Ok();
  }
  NCEN_ASSIGN_OR_RETURN(auto outcomes, releases.Release(ids, scope, o.dry_run, photos));
  for (const auto& out : outcomes) {
    for (const auto& w : out.withheld) {
      std::cerr << "ncenctl: note: " << storage::FormatRecordId(out.seizure) << ": " << Shown(w) << "\n";
    }
  }
  if (o.dry_run) {
    // Exactly what would leave the country, as `get --json` shows it there.
    if (outcomes.size() == 1) {
      PrintJson(ReportJson(outcomes[0].report, outcomes[0].body));
    } else {
      json arr = json::array();
      for (const auto& out : outcomes) arr.push_back(ReportJson(out.report, out.body));
      PrintJson(arr);
    }
    return Status::Ok();
  }
  size_t written = 0;
  json arr = json::array();
  for (const auto& out : outcomes) {
    written += out.written;
    arr.push_back(node::ReleaseOutcomeJson(out));
  }
  if (g.json) {
    PrintJson(arr);
  } else if (outcomes.size() <= 20) {
    for (const auto& out : outcomes) {
      std::cout << fmt::format("{} {} as {} to {}{}\n", out.written || out.moved ? "released" : "unchanged",
                               storage::FormatRecordId(out.seizure), storage::FormatRecordId(out.report),
                               storage::ScopeName(out.scope), out.moved ? " (withdrawn from the other scope)" : "");
    }
  } else {
    std::cout << fmt::format("released {} seizures to {} ({} written, {} unchanged)\n", outcomes.size(),
                             storage::ScopeName(scope), written, outcomes.size() - written);
  }
  return Status::Ok();
}

Status ReleasesList(const Globals& g, bool pending) {
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::OpenNodeDir(g.data_dir));
  NCEN_ASSIGN_OR_RETURN(storage::ReleasePolicy policy, PolicyOf(g, n));
  node::Releases releases(*n.store, n.identity, policy);
  NCEN_ASSIGN_OR_RETURN(auto rows, releases.List(pending));
  if (g.json) {
    json arr = json::array();
    for (const auto& r : rows) {
      arr.push_back(node::ReleaseRowJson(r));
    }
    PrintJson(arr);
    return Status::Ok();
  }
  if (rows.empty()) {
    std::cout << (pending ? "(nothing pending)\n" : "(nothing released)\n");
    return Status::Ok();
  }
  std::cout << fmt::format("{:<36}  {:<36}  {:<8}  {:<9}  {:<24}  {}\n", "SEIZURE", "REPORT", "SCOPE", "STATE",
                           "RELEASED AT", "PENDING");
  for (const auto& r : rows) {
    std::cout << fmt::format("{:<36}  {:<36}  {:<8}  {:<9}  {:<24}  {}\n",
                             r.seizure_state == "absent" ? "(not held)" : storage::FormatRecordId(r.seizure),
                             storage::FormatRecordId(r.report), storage::ScopeName(r.scope),
                             r.live ? "released" : "withdrawn", r.released_at.empty() ? "-" : r.released_at,
                             r.pending ? "yes" : "");
    for (const auto& c : r.changes) std::cout << "    " << Shown(c) << "\n";
  }
  return Status::Ok();
}

Status Stats(const Globals& g, const StatsOptions& o) {
  if (o.measure != "records" && o.measure != "quantity" && o.measure != "value") {
    return InvalidArgument("--measure is records, quantity or value");
  }
  if (o.measure == "quantity" && o.unit.empty()) return InvalidArgument("--measure quantity needs --unit (kg, stick...)");
  if (o.measure == "value" && o.currency.empty()) return InvalidArgument("--measure value needs --currency (USD...)");
  if (!o.unit.empty() && o.measure != "quantity") return InvalidArgument("--unit goes with --measure quantity");
  if (!o.currency.empty() && o.measure != "value") return InvalidArgument("--currency goes with --measure value");
  if (!o.unit.empty() && storage::CodeOrdinal(storage::CodeEnum::kUnit, o.unit) < 0) {
    return InvalidArgument("unit '" + Shown(o.unit) + "' is not a known unit (kg, g, t, l, stick, piece...)");
  }
  if (!o.currency.empty() && !storage::IsCurrencyCode(o.currency)) {
    return InvalidArgument("currency '" + Shown(o.currency) + "' is not an ISO 4217 code (USD)");
  }
  if (o.csv && g.json) return InvalidArgument("--csv and --json: pick one");
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::OpenNodeDir(g.data_dir));
  auto parsed = node::ParseStatsRequest(*n.store, n.identity.public_key(), o.by, o.type, o.from, o.to);
  if (!parsed.ok()) return InvalidArgument("--" + parsed.status().message());
  node::StatsRequest request = std::move(parsed).value();
  NCEN_ASSIGN_OR_RETURN(node::StatsResult result, node::ComputeStats(*n.store, request));
  std::vector<std::string> dims;
  for (auto d : result.by) dims.push_back(node::DimensionName(d));

  if (g.json) {
    PrintJson(node::StatsJson(result, request.type, o.from, o.to));
    return Status::Ok();
  }
  if (o.csv) {
    // Long form: one row per cell and measure, for pivoting elsewhere.
    for (const auto& d : dims) std::cout << d << ",";
    std::cout << "measure,unit,amount\n";
    auto field = [](const std::string& s) {
      if (s.find_first_of(",\"\n") == std::string::npos) return s;
      std::string q = "\"";
      for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
      return q + "\"";
    };
    for (const auto& c : result.cells) {
      std::string keys;
      for (const auto& k : c.keys) keys += field(k) + ",";
      std::cout << keys << "records,," << c.records << "\n";
      for (const auto& [u, v] : c.quantity) std::cout << keys << "quantity," << u << "," << Amount(v) << "\n";
      for (const auto& [u, v] : c.value) std::cout << keys << "value," << u << "," << Amount(v) << "\n";
    }
    return Status::Ok();
  }
  std::cout << fmt::format("{} {} from {} to {}: {} records\n", storage::RecordTypeName(request.type),
                           o.by, o.from.empty() ? "the start" : o.from, o.to.empty() ? "the end" : o.to,
                           result.total.records);
  auto measure = [&](const node::StatsCell& c) -> std::string {
    if (o.measure == "quantity") {
      auto it = c.quantity.find(o.unit);
      return it == c.quantity.end() ? "" : Amount(it->second);
    }
    if (o.measure == "value") {
      auto it = c.value.find(o.currency);
      return it == c.value.end() ? "" : Amount(it->second);
    }
    return std::to_string(c.records);
  };
  if (dims.size() == 1) {
    std::cout << fmt::format("{:<32}  {:>8}  {:<40}  {}\n", dims[0], "RECORDS", "QUANTITY", "VALUE");
    for (const auto& c : result.cells) {
      std::cout << fmt::format("{:<32}  {:>8}  {:<40}  {}\n", Shown(c.keys[0]), c.records, Sums(c.quantity),
                               Sums(c.value));
    }
    return Status::Ok();
  }
  // A matrix: rows are the first dimension, columns the second.
  std::vector<std::string> rows, cols;
  std::map<std::pair<std::string, std::string>, const node::StatsCell*> at;
  for (const auto& c : result.cells) {
    rows.push_back(c.keys[0]);
    cols.push_back(c.keys[1]);
    at[{c.keys[0], c.keys[1]}] = &c;
  }
  auto uniq = [](std::vector<std::string>& v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
  };
  uniq(rows);
  uniq(cols);
  std::string label = dims[0] + " \\ " + dims[1];
  if (o.measure != "records") label += " (" + o.measure + " " + (o.measure == "quantity" ? o.unit : o.currency) + ")";
  size_t w0 = label.size();
  for (const auto& r : rows) w0 = std::max(w0, r.size());
  std::cout << fmt::format("{:<{}}", label, w0);
  for (const auto& c : cols) std::cout << fmt::format("  {:>{}}", Shown(c), std::max<size_t>(c.size(), 6));
  std::cout << "\n";
  for (const auto& r : rows) {
    std::cout << fmt::format("{:<{}}", Shown(r), w0);
    for (const auto& c : cols) {
      auto it = at.find({r, c});
      std::string v = it == at.end() ? "" : measure(*it->second);
      std::cout << fmt::format("  {:>{}}", v.empty() ? "." : v, std::max<size_t>(c.size(), 6));
    }
    std::cout << "\n";
  }
  return Status::Ok();
}

Status Export(const Globals& g, const std::string& type, const std::string& format, const std::string& from,
              const std::string& to) {
  if (type != "seizure_report") {
    return InvalidArgument("export --type takes seizure_report (national records are not exported)");
  }
  node::ExportFormat f;
  if (format == "ndjson") f = node::ExportFormat::kNdjson;
  else if (format == "csv") f = node::ExportFormat::kCsv;
  else return InvalidArgument("--format is ndjson or csv");
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::OpenNodeDir(g.data_dir));
  // Streamed (a million reports is a gigabyte of CSV): the arguments are
  // checked before the first line, so only a failing store stops it midway
  // (exit 2).
  NCEN_ASSIGN_OR_RETURN(uint64_t count, node::ExportReports(*n.store, from, to, f, std::cout));
  std::cout.flush();
  std::cerr << "ncenctl: exported " << count << " seizure reports\n";
  return Status::Ok();
}

}  // namespace ncen::ctl
