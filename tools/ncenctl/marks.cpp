// ncenctl forks and ncenctl stale: the two marks a node keeps about broken
// feeds, with the signed evidence behind each, and the administrator's way
// to clear them. Clearing is a person's decision after looking at the
// evidence: nothing here clears a mark on its own.
#include <fmt/format.h>

#include <iostream>

#include "base/log.h"
#include "node/node_dir.h"
#include "tools/ncenctl/commands.h"
#include "tools/ncenctl/output.h"

namespace ncen::ctl {

namespace {

using log::IsoTime;

void PrintForkText(const storage::ForkReport& f) {
  std::cout << fmt::format("FORK feed {}/{} seq {}, detected {}, from {}\n",
                           crypto::Fingerprint(f.feed.author), storage::ScopeName(f.feed.scope),
                           f.seq, IsoTime(f.detected_ms), f.source.empty() ? "?" : Shown(f.source));
  std::cout << "  author " << crypto::NodeIdHex(f.feed.author) << "\n";
  if (!f.has_evidence()) {
    std::cout << fmt::format(
        "  entries {} and {} (no signed evidence: kept from a format-1 store)\n", ToHex(f.ours),
        ToHex(f.theirs));
    return;
  }
  std::cout << "  a: " << SignedHeaderLine(f.a) << "\n";
  std::cout << "  b: " << SignedHeaderLine(f.b) << "\n";
}

// The entry hash this node holds at the evidence's (feed, seq), if any.
Result<std::optional<storage::Hash256>> HeldHash(const storage::Store& store,
                                                 const storage::SignedHeader& h) {
  auto held = store.GetEntry(h.header.feed(), h.header.seq);
  if (!held.ok() && held.status().code() == StatusCode::kNotFound)
    return std::optional<storage::Hash256>();
  if (!held.ok()) return held.status();
  return std::optional<storage::Hash256>(held->hash());
}

// Clearing the mark is safe only once this node holds its own feed up to the
// evidence, the entry the evidence shows included: otherwise its next write
// would take a seq that is already used elsewhere, and fork its own feed.
Status CheckStaleClearable(const storage::Store& store, const storage::StaleMark& mark) {
  if (!mark.evidence) return Status::Ok();  // a format-1 mark: there is nothing to compare
  const storage::SignedHeader& e = *mark.evidence;
  NCEN_ASSIGN_OR_RETURN(auto held, HeldHash(store, e));
  if (!held) {
    return FailedPrecondition(fmt::format(
        "not cleared: this node does not hold seq {} of its own {} feed yet, so its next write "
        "would fork its feed; let ncen-node sync it back from the peers (or create a new node)",
        e.header.seq, storage::ScopeName(e.header.scope)));
  }
  if (*held != e.hash()) {
    return FailedPrecondition(fmt::format(
        "not cleared: this node's key signed two different entries at seq {} of its {} feed, so "
        "its feed is forked; create a new node (ncenctl init in a new directory)",
        e.header.seq, storage::ScopeName(e.header.scope)));
  }
  return Status::Ok();
}

}  // namespace

Status Forks(const Globals& g) {
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::OpenNodeDir(g.data_dir));
  NCEN_ASSIGN_OR_RETURN(auto forks, n.store->Forks());
  if (g.json) {
    json out = json::array();
    for (const auto& f : forks) out.push_back(ForkJson(f));
    PrintJson(out);
    return Status::Ok();
  }
  if (forks.empty()) {
    std::cout << "no fork reports\n";
    return Status::Ok();
  }
  for (const auto& f : forks) PrintForkText(f);
  std::cout << "A forked feed is not synced. After dealing with its author, clear the report with: "
               "ncenctl forks clear --author ID --scope SCOPE\n";
  return Status::Ok();
}

Status ForksClear(const Globals& g, const std::string& author_hex, const std::string& scope_name) {
  auto author = crypto::ParseNodeId(author_hex);
  if (!author.ok())
    return InvalidArgument("--author must be 64 hex digits, got '" + author_hex + "'");
  auto scope = storage::ParseFeedScope(scope_name);
  if (!scope) return InvalidArgument("--scope must be national, regional or global");
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::OpenNodeDir(g.data_dir));
  storage::FeedId feed{*author, *scope};
  Status cleared = n.store->ClearFork(feed);
  if (cleared.code() == StatusCode::kNotFound) {
    return NotFound(cleared.message() + " (see ncenctl forks)");
  }
  NCEN_RETURN_IF_ERROR(cleared);
  if (g.json) {
    PrintJson({{"cleared", true},
               {"author", crypto::NodeIdHex(feed.author)},
               {"scope", storage::ScopeName(feed.scope)}});
  } else {
    std::cout << fmt::format("cleared the fork reports of feed {}/{}: it syncs again\n",
                             crypto::Fingerprint(feed.author), storage::ScopeName(feed.scope));
  }
  return Status::Ok();
}

Status Stale(const Globals& g) {
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::OpenNodeDir(g.data_dir));
  NCEN_ASSIGN_OR_RETURN(storage::StaleMark mark, n.store->StaleIdentityMark());
  if (g.json) {
    PrintJson({{"stale", !mark.reason.empty()},
               {"reason", TextOrNull(mark.reason)},
               {"evidence", mark.evidence ? SignedHeaderJson(*mark.evidence) : json(nullptr)}});
    return Status::Ok();
  }
  if (mark.reason.empty()) {
    std::cout << "not stale: local writes are accepted\n";
    return Status::Ok();
  }
  std::cout << "IDENTITY STALE: " << Shown(mark.reason) << "\n";
  if (mark.evidence) {
    std::cout << fmt::format("evidence: {} feed, {}\n",
                             storage::ScopeName(mark.evidence->header.scope),
                             SignedHeaderLine(*mark.evidence));
  }
  std::cout << "Local writes are refused. If no other copy of this data directory runs anywhere "
               "and this node holds its own feed again, clear the mark with 'ncenctl stale "
               "clear'; otherwise create a new node.\n";
  return Status::Ok();
}

Status StaleClear(const Globals& g) {
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::OpenNodeDir(g.data_dir));
  NCEN_ASSIGN_OR_RETURN(storage::StaleMark mark, n.store->StaleIdentityMark());
  if (mark.reason.empty()) return NotFound("this node's identity is not marked stale");
  NCEN_RETURN_IF_ERROR(CheckStaleClearable(*n.store, mark));
  NCEN_RETURN_IF_ERROR(n.store->ClearStaleIdentity());
  if (g.json) {
    PrintJson({{"cleared", true}});
  } else {
    std::cout << "cleared the stale-identity mark: local writes are accepted again\n";
  }
  return Status::Ok();
}

}  // namespace ncen::ctl
