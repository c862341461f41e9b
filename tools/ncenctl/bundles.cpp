// ncenctl bundle create / import / inspect (node/bundles.h, docs/bundles.md).
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "node/bundles.h"
#include "node/node_dir.h"
#include "tools/ncenctl/commands.h"
#include "tools/ncenctl/output.h"

namespace ncen::ctl {

namespace {

json HeadsJson(const std::vector<storage::FeedHead>& heads) {
  json out = json::array();
  for (const auto& h : heads) {
    out.push_back({{"author", crypto::NodeIdHex(h.feed.author)},
                   {"scope", storage::ScopeName(h.feed.scope)},
                   {"seq", h.seq},
                   {"head", ToHex(h.head)}});
  }
  return out;
}

json ManifestJson(const replication::bundle::Manifest& m) {
  json runs = json::array();
  for (const auto& r : m.runs) {
    runs.push_back({{"author", crypto::NodeIdHex(r.feed.author)},
                    {"scope", storage::ScopeName(r.feed.scope)},
                    {"first_seq", r.first_seq},
                    {"last_seq", r.last_seq},
                    {"entries", r.last_seq - r.first_seq + 1}});
  }
  return {{"bundle_id", ToHex(m.bundle_id)},
          {"author", crypto::NodeIdHex(m.author)},
          {"author_fingerprint", crypto::Fingerprint(m.author)},
          {"for", crypto::NodeIdHex(m.recipient)},
          {"for_fingerprint", crypto::Fingerprint(m.recipient)},
          {"created", TimeOrNull(m.created_ms)},
          {"entries", m.entries},
          {"entry_bytes", m.raw_bytes},
          {"data_bytes", m.data_bytes()},
          {"blocks", m.blocks},
          {"feeds", runs},
          {"frontier", HeadsJson(m.frontier)},
          {"since", HeadsJson(m.since)}};
}

void PrintRuns(const replication::bundle::Manifest& m) {
  std::cout << fmt::format("{} entries ({} bytes uncompressed, {} compressed) in {} feed(s):\n", m.entries,
                           m.raw_bytes, m.data_bytes(), m.runs.size());
  for (const auto& r : m.runs) {
    std::cout << fmt::format("  {}/{:<8} seq {}..{} ({} entries)\n", crypto::Fingerprint(r.feed.author),
                             storage::ScopeName(r.feed.scope), r.first_seq, r.last_seq, r.last_seq - r.first_seq + 1);
  }
}

}  // namespace

Status BundleCreate(const Globals& g, const BundleCreateArgs& a) {
  node::BundleCreateOptions o;
  o.peer = a.peer;
  o.out = a.out;
  o.max_bytes = static_cast<uint64_t>(a.max_bytes);
  if (a.full && !a.since.empty()) return InvalidArgument("--full and --since exclude each other");
  if (a.full) o.since = std::vector<storage::FeedHead>{};
  if (!a.since.empty()) {
    std::string text = a.since;
    if (text.find_first_of("[{") != 0) {
      std::ifstream in(a.since, std::ios::binary);
      if (!in) return InvalidArgument("--since: cannot read " + a.since);
      std::ostringstream ss;
      ss << in.rdbuf();
      text = ss.str();
    }
    NCEN_ASSIGN_OR_RETURN(o.since, node::ParseFrontierJson(text));
  }
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::OpenNodeDir(g.data_dir));
  NCEN_ASSIGN_OR_RETURN(node::BundleWritten w, node::CreateBundle(g.data_dir, n, o));
  if (g.json) {
    json files = json::array();
    for (const auto& f : w.files) files.push_back(f);
    json j = ManifestJson(w.manifest);
    j["files"] = files;
    j["file_bytes"] = w.file_bytes;
    PrintJson(j);
    return Status::Ok();
  }
  PrintRuns(w.manifest);
  std::cout << fmt::format("wrote {} file(s), {} bytes, for {}:\n", w.files.size(), w.file_bytes,
                           crypto::Fingerprint(w.manifest.recipient));
  for (const auto& f : w.files) std::cout << "  " << f << "\n";
  return Status::Ok();
}

Status BundleImport(const Globals& g, const std::vector<std::string>& files) {
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::OpenNodeDir(g.data_dir));
  NCEN_ASSIGN_OR_RETURN(node::BundleImported r, node::ImportBundle(g.data_dir, n, files));
  if (g.json) {
    PrintJson({{"author", crypto::NodeIdHex(r.manifest.author)},
               {"author_name", r.author_name},
               {"entries", r.manifest.entries},
               {"applied", r.applied},
               {"held_already", r.duplicates},
               {"acknowledgement_advanced", r.acknowledgement_advanced},
               {"marked_stale", r.marked_stale},
               {"changed", r.applied > 0 || r.acknowledgement_advanced}});
    return Status::Ok();
  }
  if (r.marked_stale) {
    std::cerr << "ncenctl: STALE IDENTITY: the bundle holds entries of this node's own feed beyond what it holds; "
                 "local writes are refused until an administrator acts (ncenctl stale)\n";
  }
  if (r.applied == 0) {
    std::cout << fmt::format("nothing new from {}: all {} entries held already{}\n", r.author_name, r.manifest.entries,
                             r.acknowledgement_advanced ? " (its acknowledgement is recorded)" : "; nothing changed");
  } else {
    std::cout << fmt::format("applied {} entries from {} ({} held already)\n", r.applied, r.author_name, r.duplicates);
  }
  return Status::Ok();
}

Status BundleInspect(const Globals& g, const std::vector<std::string>& files) {
  NCEN_ASSIGN_OR_RETURN(node::BundleInspection b, node::InspectBundle(files));
  const auto& m = b.manifest;
  if (g.json) {
    json parts = json::array();
    for (const auto& p : b.parts) {
      parts.push_back({{"part", p.part_no},
                       {"file", TextOrNull(p.file)},
                       {"file_bytes", p.file_bytes},
                       {"data_bytes", m.parts[p.part_no - 1].data_len},
                       {"intact", !p.file.empty() && p.hash_ok}});
    }
    json j = ManifestJson(m);
    j["signature"] = "valid";
    j["parts"] = parts;
    j["problem"] = TextOrNull(b.problem);
    PrintJson(j);
  } else {
    std::cout << fmt::format("bundle {} (format version {}), signature valid\n", ToHex(m.bundle_id),
                             replication::bundle::kFormatVersion);
    std::cout << fmt::format("from   {} ({})\n", crypto::Fingerprint(m.author), crypto::NodeIdHex(m.author));
    std::cout << fmt::format("for    {} ({})\n", crypto::Fingerprint(m.recipient), crypto::NodeIdHex(m.recipient));
    std::cout << "created " << TimeOrNull(m.created_ms).dump() << "\n";
    PrintRuns(m);
    std::cout << fmt::format("frontier carried: {} feed(s)\n", m.frontier.size());
    for (const auto& h : m.frontier) {
      std::cout << fmt::format("  {}/{:<8} seq {}\n", crypto::Fingerprint(h.feed.author), storage::ScopeName(h.feed.scope), h.seq);
    }
    std::cout << fmt::format("{} part(s):\n", b.parts.size());
    for (const auto& p : b.parts) {
      std::cout << fmt::format("  part {}: {}\n", p.part_no,
                               p.file.empty() ? std::string("MISSING")
                                              : Shown(p.file) + fmt::format(" ({} bytes) ", p.file_bytes) +
                                                    (p.hash_ok ? "intact" : "DAMAGED"));
    }
  }
  if (!b.problem.empty()) return Corruption(b.problem);
  return Status::Ok();
}

}  // namespace ncen::ctl
