// `ncenctl audit`: the node's access log (node/audit.h, docs/audit.md).
#include <fmt/format.h>

#include <iostream>

#include "base/log.h"
#include "node/audit.h"
#include "tools/ncenctl/commands.h"
#include "tools/ncenctl/output.h"

namespace ncen::ctl {

namespace {

json EventJson(const node::AuditEvent& e) {
  json j = {{"time", log::IsoTime(e.time_ms)}, {"user", e.user},     {"via", e.via},
            {"address", e.address},          {"action", e.action}, {"type", e.type},
            {"records", e.records}};
  if (!e.query.is_null()) j["query"] = e.query;
  if (e.truncated) {
    j["truncated"] = true;
    j["records_total"] = e.records_total;
  }
  return j;
}

// What a table shows of the records: the id when one, else how many.
std::string RecordsText(const node::AuditEvent& e) {
  size_t total = e.truncated ? e.records_total : e.records.size();
  if (total == 1 && e.records.size() == 1) return e.records[0];
  return fmt::format("{} record{}", total, total == 1 ? "" : "s");
}

}  // namespace

Status Audit(const Globals& g, const AuditOptions& options) {
  node::AuditFilter filter;
  filter.user = options.user;
  filter.limit = options.limit;
  if (!options.since.empty()) {
    auto since = node::ParseAuditTime(options.since);
    if (!since.ok()) return since.status().WithContext("--since");
    filter.since_ms = *since;
  }
  auto read = node::AuditLog::Read(g.data_dir, filter);
  node::AuditLines lines;
  if (read.ok()) {
    lines = std::move(*read);
  } else if (read.status().code() != StatusCode::kNotFound) {
    return read.status();
  }
  // Damaged lines (a write cut short by a crash) are reported, the rest shown.
  for (const auto& d : lines.damaged) std::cerr << "ncenctl: audit.log " << d << "\n";
  if (g.json) {
    json out = json::array();
    for (const auto& e : lines.events) out.push_back(EventJson(e));
    PrintJson(out);
    return Status::Ok();
  }
  if (lines.events.empty()) {
    std::cout << "(none)\n";
    return Status::Ok();
  }
  std::cout << fmt::format("{:<24}  {:<16}  {:<4}  {:<15}  {:<6}  {:<8}  {}\n", "TIME", "USER", "VIA", "ADDRESS",
                           "ACTION", "TYPE", "RECORDS");
  for (const auto& e : lines.events) {
    std::string records = RecordsText(e);
    if (e.action == "search" && e.query.is_object() && e.query.contains("text")) {
      records += " for " + e.query["text"].dump(-1, ' ', false, json::error_handler_t::replace);
    }
    if (e.truncated) records += " (line cut)";
    std::cout << fmt::format("{:<24}  {:<16}  {:<4}  {:<15}  {:<6}  {:<8}  {}\n", log::IsoTime(e.time_ms),
                             Shown(e.user), Shown(e.via), Shown(e.address.empty() ? "-" : e.address),
                             Shown(e.action), Shown(e.type), Shown(records));
  }
  return Status::Ok();
}

}  // namespace ncen::ctl
