// Network membership in the simulation (docs/membership.md; docs/testing.md
// "Network membership"): a root and one country authority per country, each
// a store of its own writing real signed network entries
// (Store::AppendNetworkEntry); every node's store is a member (SetNetworkRoot
// and the entries, applied with ApplyBatch). Some posts are certified only
// during the chaos phase; one post may be revoked (a stolen laptop: cut-off
// at the head its authority has seen, or earlier), and a late post may be
// certified as its successor. The authorities' entries reach the network
// when an authority visits a node (a random one, now and then, with some of
// the authorities' feeds: any order), and from there by replication. Sessions
// follow the daemon's rule (node/daemon.cpp NotAMember): none with a peer the
// node's membership does not know, or knows revoked; a session a new
// revocation forbids ends.
//
// Invariants here (called from checks.cpp):
//   M1 no node holds a record feed its own membership forbids: every feed in
//      its frontier is of scope network, or its author may write it and the
//      node may hold it (a node that is not an active member is exempt);
//   M2 no record state on any node holds a version past its author's
//      revocation cut-off, as that node's membership knows it;
//   M3 no node holds, outside scope national, a record that is not a
//      seizure report, nor a report with a version by anyone but a national
//      hub, or about another country than that hub's, as that node's
//      membership knows it (nor a report in national);
//   and after healing every active member holds every network entry, with
//   equal membership digests.
#include <fmt/format.h>

#include <algorithm>

#include "storage/record_json.h"
#include "storage/record_state.h"
#include "storage/sharing.h"
#include "tests/sim/world.h"
#include "tests/support/store_fixture.h"

namespace ncen::sim {

namespace {

using storage::Certificate;
using storage::MemberKind;

constexpr uint8_t kRootNumber = 240;  // identities: nodes 1..13, Mallory's puppets 200..202

std::vector<storage::Entry> NetworkFeed(const storage::Store& store, const crypto::PublicKey& author) {
  std::vector<storage::Entry> out;
  for (uint64_t seq = 1;; ++seq) {
    auto e = store.GetEntry({author, Scope::kNetwork}, seq);
    if (!e.ok()) break;
    out.push_back(std::move(e).value());
  }
  return out;
}

}  // namespace

Authority World::MakeAuthority(int country, uint8_t number, const std::string& name) {
  Authority a{testing::IdentityFromNumber(number), country, name, std::make_unique<testing::TempDir>(), nullptr};
  storage::NodeMeta meta{a.identity.public_key(), name, country < 0 ? "root" : "authority", 0};
  auto store = storage::Store::Create(a.dir->path(), meta, SimStoreOptions(&authority_clock_));
  NCEN_CHECK(store.ok());
  a.store = std::move(store).value();
  return a;
}

void World::AppendNetwork(Authority& a, storage::RecordType type, const Bytes& payload) {
  auto dot = a.store->AppendNetworkEntry(a.identity, type, payload);
  if (!dot.ok()) return Fail(a.name + ": AppendNetworkEntry failed: " + dot.status().ToString());
  auto e = a.store->GetEntry({a.identity.public_key(), Scope::kNetwork}, dot->seq);
  NCEN_CHECK(e.ok());
  network_hashes_.insert(e->hash());
  ++stats_.network_entries;
  if (type == storage::RecordType::kCertificate) certified_->Add(e->header, e->payload);
}

Certificate World::CertOf(int n) const {
  const Node& node = *nodes_[n];
  Certificate c;
  c.subject = node.identity.public_key();
  c.name = node.name;
  if (node.role == Role::kRegional) {
    c.kind = MemberKind::kRegionalHub;
    c.countries = countries_;
  } else {
    c.kind = node.role == Role::kHub ? MemberKind::kNationalHub : MemberKind::kPost;
    c.country = countries_[size_t(std::max(0, node.country))];
  }
  return c;
}

void World::Certify(Authority& issuer, const Certificate& cert) {
  AppendNetwork(issuer, storage::RecordType::kCertificate, storage::EncodeCertificate(cert));
}

// The root's entries first, then each authority's own feed: which = indexes
// into authorities_.
std::vector<storage::Entry> World::AuthorityEntries(const std::vector<int>& which) const {
  std::vector<storage::Entry> out;
  for (int i : which) {
    const Authority& a = authorities_[size_t(i)];
    for (auto& e : NetworkFeed(*a.store, a.identity.public_key())) out.push_back(std::move(e));
  }
  return out;
}

// Sometimes two posts of different countries have each other in their
// ncen.toml with every scope (a misconfiguration): the scope rules must keep
// each country's national data from the other (on send, Session::Allowed;
// on receipt, CheckMembership), and what they may share still flows.
void World::MisconfiguredLink() {
  std::map<int, std::vector<int>> posts;
  for (auto& node : nodes_) {
    if (node->role == Role::kPost && !node->hostile) posts[node->country].push_back(node->index);
  }
  if (posts.size() < 2 || !net_rng_.Percent(50)) return;
  const std::vector<int>& a = posts.begin()->second;
  const std::vector<int>& b = std::next(posts.begin())->second;
  int from = b[net_rng_.Below(b.size())], to = a[net_rng_.Below(a.size())];
  AddEdge(from, to, {Scope::kNational, Scope::kRegional, Scope::kGlobal});
  topology_ += fmt::format(", {} and {} linked across countries", NameOf(from), NameOf(to));
}

void World::BuildNetwork() {
  network_ = true;
  int countries = 1;
  for (auto& node : nodes_) countries = std::max(countries, node->country + 1);
  static const char* kCodes[] = {"AF", "IR", "PK"};
  for (int c = 0; c < countries; ++c) countries_.push_back(kCodes[c]);
  authorities_.push_back(MakeAuthority(-1, kRootNumber, "root"));
  const crypto::PublicKey root = authorities_[0].identity.public_key();
  certified_ = std::make_unique<storage::Membership>(root);
  NCEN_CHECK(authorities_[0].store->SetNetworkRoot(root).ok());
  for (int c = 0; c < countries; ++c) {
    authorities_.push_back(MakeAuthority(c, uint8_t(kRootNumber + 1 + c), "authority-" + countries_[size_t(c)]));
    Certificate cert;
    cert.kind = MemberKind::kCountryAuthority;
    cert.subject = authorities_.back().identity.public_key();
    cert.country = countries_[size_t(c)];
    cert.name = "Customs " + cert.country;
    Certify(authorities_[0], cert);
    Authority& a = authorities_.back();
    NCEN_CHECK(a.store->SetNetworkRoot(root).ok());
    NCEN_CHECK(a.store->ApplyBatch(AuthorityEntries({0})).status.ok());
  }
  auto authority_of = [&](int n) -> Authority& {
    return nodes_[n]->role == Role::kRegional ? authorities_[0]
                                              : authorities_[size_t(1 + std::max(0, nodes_[n]->country))];
  };
  // Who is certified late (during the chaos phase), and who is revoked: a
  // post whose absence leaves the other honest nodes connected.
  std::vector<int> posts;
  for (auto& node : nodes_) {
    if (node->role == Role::kPost && !node->hostile) posts.push_back(node->index);
  }
  auto connected_without = [&](int gone) {
    std::vector<int> honest;
    for (auto& node : nodes_) {
      if (!node->hostile && node->index != gone) honest.push_back(node->index);
    }
    std::set<int> seen = {honest[0]};
    std::vector<int> pending = {honest[0]};
    while (!pending.empty()) {
      int n = pending.back();
      pending.pop_back();
      for (const Edge& e : edges_) {
        int other = e.dialer == n ? e.listener : e.listener == n ? e.dialer : -1;
        if (other < 0 || other == gone || nodes_[other]->hostile) continue;
        if (seen.insert(other).second) pending.push_back(other);
      }
    }
    return seen.size() == honest.size();
  };
  std::vector<int> victims;
  for (int p : posts) {
    if (net_rng_.Percent(20)) {
      late_.insert(p);
    } else if (connected_without(p)) {
      victims.push_back(p);
    }
  }
  if (!victims.empty() && net_rng_.Percent(60)) victim_ = victims[net_rng_.Below(victims.size())];
  for (auto& node : nodes_) {
    if (late_.count(node->index)) continue;
    Certify(authority_of(node->index), CertOf(node->index));
  }
  if (mallory_) {
    // Two puppets are certified posts of its country: one writes national
    // entries (allowed), the other regional ones, which a post may not
    // write — every honest node must refuse them on receipt (M1). The third
    // is certified as a national hub of that country and releases in
    // global: reports about its country (allowed), and what the release
    // rule refuses on receipt (M3).
    const std::string& country = countries_[size_t(nodes_[mallory_->index()]->country)];
    mallory_->JoinNetwork(country, country == "AF" ? "IR" : "AF");
    for (const crypto::PublicKey& key : mallory_->PuppetKeys()) {
      Certificate c = CertOf(mallory_->index());
      c.subject = key;
      c.name = mallory_->PuppetName(key);
      if (mallory_->PuppetIsHub(key)) c.kind = MemberKind::kNationalHub;
      Certify(authority_of(mallory_->index()), c);
    }
  }
  // Every node joins: the root, and what the authorities have written so far
  // (a late post holds every certificate but its own).
  std::vector<int> all;
  for (size_t i = 0; i < authorities_.size(); ++i) all.push_back(int(i));
  std::vector<storage::Entry> entries = AuthorityEntries(all);
  for (auto& node : nodes_) {
    NCEN_CHECK(node->store->SetNetworkRoot(root).ok());
    auto report = node->store->ApplyBatch(entries, "network file");
    NCEN_CHECK(report.status.ok() && report.refused.empty());
    // What each may write (docs/membership.md §3 and the release rule,
    // storage/membership.h RecordRuleProblem): posts seizures in national
    // only; a national hub seizures in national and reports on its country
    // in regional and global, as before; a regional hub nothing of its own.
    if (node->role == Role::kPost) node->write_scopes = {Scope::kNational};
    if (node->role == Role::kRegional) node->write_scopes.clear();
  }
  for (auto& node : nodes_) CheckNode(node->index);  // what each holds now
  // The acts of the chaos phase, at times drawn in the World's constructor.
  for (int p : late_) acts_.push_back(NetworkAct{NetworkAct::kCertify, p, -1});
  if (victim_ >= 0) {
    int successor = -1;
    for (int p : late_) {
      if (successor < 0 && nodes_[p]->country == nodes_[victim_]->country && net_rng_.Percent(60)) successor = p;
    }
    if (successor >= 0) {
      std::erase_if(acts_, [&](const NetworkAct& a) { return a.node == successor; });
      acts_.push_back(NetworkAct{NetworkAct::kSucceed, victim_, successor});
    } else {
      acts_.push_back(NetworkAct{NetworkAct::kRevoke, victim_, -1});
    }
  }
  std::string successor;
  for (const NetworkAct& a : acts_) {
    if (a.kind == NetworkAct::kSucceed) successor = " and succeeded by " + NameOf(a.successor);
  }
  topology_ += fmt::format(", a network of {} countr{}{}{}", countries, countries == 1 ? "y" : "ies",
                           late_.empty() ? "" : fmt::format(", {} certified late", late_.size()),
                           victim_ < 0 ? "" : ", " + NameOf(victim_) + " revoked" + successor);
}

// An authority acts: certifies a late post, revokes the victim (its cut-off
// at the head of the victim's feed at the node it visits for it, or earlier),
// or revokes it and certifies a late post as its successor. It then visits
// that node with its entries.
void World::DoNetworkAct(int index) {
  if (acts_[size_t(index)].done) return;
  const NetworkAct act = acts_[size_t(index)];
  Authority& auth = authorities_[size_t(1 + std::max(0, nodes_[act.node]->country))];
  std::vector<int> up;
  for (auto& node : nodes_) {
    if (node->up && !node->hostile && node->index != victim_ && !late_.count(node->index) &&
        nodes_[act.node]->country == node->country) {
      up.push_back(node->index);
    }
  }
  if (up.empty()) {
    // Nobody to visit: the authority tries again a little later (at the
    // latest when everything heals).
    Schedule(now_ + 2000, EventKind::kNetworkAct, index);
    return;
  }
  acts_[size_t(index)].done = true;
  int visited = up[net_rng_.Below(up.size())];
  if (act.kind == NetworkAct::kCertify) {
    Certify(auth, CertOf(act.node));
    Note(fmt::format("{} certifies {}", auth.name, NameOf(act.node)));
  } else {
    FeedId feed{nodes_[act.node]->identity.public_key(), Scope::kNational};
    auto heads = nodes_[visited]->store->FeedHeads(std::vector<FeedId>{feed});
    if (!heads.ok()) return Fail(NameOf(visited) + ": FeedHeads failed");
    uint64_t seen = heads->front().seq;
    // Sometimes the theft is known to be earlier than what was seen.
    uint64_t cut = net_rng_.Percent(40) ? seen / 2 : seen;
    storage::Revocation r;
    r.subject = feed.author;
    r.cutoffs = {{Scope::kNational, cut}};
    r.reason = "laptop stolen";
    AppendNetwork(auth, storage::RecordType::kRevocation, storage::EncodeRevocation(r));
    victim_revoked_ = true;
    victim_cutoff_ = cut;
    MarkRevokedWrites();
    Note(fmt::format("{} revokes {} after national seq {} (it saw {} at {})", auth.name, NameOf(act.node), cut,
                     seen, NameOf(visited)));
    if (act.kind == NetworkAct::kSucceed) {
      Certificate c = CertOf(act.successor);
      c.predecessor = feed.author;
      Certify(auth, c);
      Note(fmt::format("{} certifies {} as the successor of {}", auth.name, NameOf(act.successor), NameOf(act.node)));
    }
  }
  if (failed_) return;
  ComputeReach();
  AuthorityVisit(visited, {0, 1 + std::max(0, nodes_[act.node]->country)}, "after its act");
  // The new member joins with the network file its authority wrote (a node
  // without its own certificate admits nobody, daemon.cpp NotAMember, so it
  // cannot learn it by replication): a while later, or at healing.
  int joiner = act.kind == NetworkAct::kCertify ? act.node : act.kind == NetworkAct::kSucceed ? act.successor : -1;
  if (joiner >= 0 && phase_ == Phase::kChaos) {
    Schedule(now_ + int64_t(net_rng_.Between(0, 10000)), EventKind::kAuthorityVisit, joiner + 1);
  }
}

// The authorities `which` (indexes into authorities_) give node n every
// entry they hold of their own feeds.
void World::AuthorityVisit(int n, const std::vector<int>& which, const std::string& why) {
  Node& node = *nodes_[n];
  if (!node.up) return;
  auto report = node.store->ApplyBatch(AuthorityEntries(which), "authority");
  if (!report.status.ok()) return Fail(node.name + ": ApplyBatch of network entries failed: " + report.status.ToString());
  ++stats_.authority_visits;
  std::string names;
  for (int i : which) names += (names.empty() ? "" : "+") + authorities_[size_t(i)].name;
  Note(fmt::format("{} visit{} {} ({}): {} applied, {} refused", names, which.size() == 1 ? "s" : "", node.name, why,
                   report.applied, report.refused.size()));
  dirty_.insert(n);
}

// Now and then one or more authorities visit a random node: their feeds
// reach the network in any order (an authority's entries before the root's
// certificate of it are refused there, and come again later).
void World::RandomAuthorityVisit(int joiner) {
  if (phase_ != Phase::kChaos) return;
  if (joiner >= 0) {
    std::vector<int> all;
    for (size_t i = 0; i < authorities_.size(); ++i) all.push_back(int(i));
    if (nodes_[joiner]->up) return AuthorityVisit(joiner, all, "join");
    Schedule(now_ + 2000, EventKind::kAuthorityVisit, joiner + 1);
    return;
  }
  Schedule(now_ + int64_t(net_rng_.Between(2000, 9000)), EventKind::kAuthorityVisit);
  std::vector<int> up;
  for (auto& node : nodes_) {
    if (node->up && !node->hostile && !Revoked(node->index)) up.push_back(node->index);
  }
  if (up.empty()) return;
  std::vector<int> which;
  for (size_t i = 0; i < authorities_.size(); ++i) {
    if (net_rng_.Percent(50)) which.push_back(int(i));
  }
  if (which.empty()) which.push_back(int(net_rng_.Below(authorities_.size())));
  if (net_rng_.Percent(50)) std::reverse(which.begin(), which.end());
  AuthorityVisit(up[net_rng_.Below(up.size())], which, "now and then");
}

// The daemon's rule (node/daemon.cpp NotAMember): why node n gives `peer` no
// session, or nullopt.
std::optional<std::string> World::Refuses(int n, int peer) const {
  auto m = nodes_[n]->store->GetMembership();
  if (!m.ok()) return "membership unreadable: " + m.status().ToString();
  if (!*m) return std::nullopt;
  const crypto::PublicKey& key = nodes_[peer]->identity.public_key();
  const storage::Member* member = (*m)->Find(key);
  if (!member) return NameOf(peer) + " has no certificate in this network";
  if (member->revoked) return NameOf(peer) + " is revoked";
  if (!(*m)->AnyExchange(nodes_[n]->identity.public_key(), key)) return NameOf(peer) + " may exchange no scope";
  return std::nullopt;
}

// The daemon's CheckMembers: after the network changed, sessions with peers
// the rules no longer allow end.
void World::CheckSessionsAllowed(int n) {
  Node& node = *nodes_[n];
  auto m = node.store->GetMembership();
  if (!m.ok() || *m == node.membership) return;
  node.membership = *m;
  if (!*m) return;
  for (uint64_t id : ConnectionIds()) {
    Connection& c = connections_.at(id);
    for (int s = 0; s < 2; ++s) {
      if (c.side[s].node != n || !c.side[s].session) continue;
      if (auto why = Refuses(n, c.side[s].peer)) {
        ++stats_.sessions_ended_by_rules;
        CloseSide(c, s, CloseKind::kFin, "ending the session: " + *why);
      }
    }
  }
}

// M1 and M2 on node n, by its own membership.
void World::CheckMembershipOf(int n, const storage::Membership& m) {
  Node& node = *nodes_[n];
  const crypto::PublicKey& self = node.identity.public_key();
  if (m.Active(self)) {
    for (const auto& [feed, head] : node.heads) {
      if (feed.scope == Scope::kNetwork) continue;
      std::string why;
      if (!m.MayAuthor(feed, &why) || !m.MayHold(self, feed, &why)) {
        return Fail(fmt::format("M1: {} holds {} up to seq {}, which its certificates forbid: {}", node.name,
                                FeedName(feed), head.seq, why));
      }
    }
  }
}

// M3 on one record node n holds, by n's own membership: outside national
// only seizure reports (a quarantined record's every class counts), never a
// report in national, and every version of a report outside national by a
// national hub of the country its id names, a live one about that hub's own country (the rule of
// storage/membership.h RecordRuleProblem, checked where the record is held
// rather than where its entries arrived).
void World::CheckReleases(int n, const storage::RecordView& view, const storage::Membership& m) {
  const storage::RecordState& s = view.state;
  std::string name = storage::FormatRecordId(view.id).substr(24);
  for (storage::RecordType type : storage::kRecordTypes) {
    for (Scope scope : {Scope::kNational, Scope::kRegional, Scope::kGlobal}) {
      bool has = s.quarantined() ? (s.clash_classes & storage::ClassBit(type, scope)) != 0
                                 : s.type == type && s.scope == scope;
      bool report = type == storage::RecordType::kSeizureReport;
      // A message is sealed: any scope its author may write (docs/messages.md).
      if (type == storage::RecordType::kMessage) continue;
      if (has && report == (scope == Scope::kNational)) {
        return Fail(fmt::format("M3: {} holds record {} as a {} in scope {}{}: outside national only seizure "
                                "reports, and never one in national",
                                NameOf(n), name, storage::RecordTypeName(type), storage::ScopeName(scope),
                                s.quarantined() ? " (quarantined)" : ""));
      }
    }
  }
  if (s.quarantined() || s.scope == Scope::kNational) return;
  for (size_t i = 0; i < s.versions.size(); ++i) {
    const storage::Version& v = s.versions[i];
    std::string version = fmt::format("{}#{}", FeedName({v.dot.author, s.scope}), v.dot.seq);
    const storage::Member* author = m.Find(v.dot.author);
    if (!author || author->authority() || author->cert.kind != MemberKind::kNationalHub) {
      return Fail(fmt::format("M3: report {} at {} has a version {} whose author is {}: only a national hub "
                              "releases",
                              name, NameOf(n), version,
                              !author                ? std::string("not in the network")
                              : author->authority() ? std::string("an authority")
                                                     : storage::MemberKindName(author->cert.kind)));
    }
    // Every version, a withdrawal too, of the author's own country's report.
    if (!storage::HasReportCountryTag(view.id, author->cert.country)) {
      return Fail(fmt::format("M3: report {} at {} has a version {} by the national hub of {}, whose id is of "
                              "another country",
                              name, NameOf(n), version, author->cert.country));
    }
    if (!v.live()) continue;  // a withdrawal carries no payload
    std::string about = i < view.payloads.size() ? storage::ReportCountry(view.payloads[i]) : "";
    if (about != author->cert.country) {
      return Fail(fmt::format("M3: report {} at {} has a version {} about {} by the national hub of {}", name,
                              NameOf(n), version, about.empty() ? "no country" : about, author->cert.country));
    }
  }
}

// Whether node n's role lets it write a record of `type` in `scope` (for a
// seizure report, about `country`): the simulator's own reckoning of the
// rules, so that a write the product refuses fails the run. Outside a
// network anything goes. In a network: seizures (and suspects, companies)
// only in national, by posts and national hubs; a seizure report only by a
// national hub, about its own country. A node its membership does not know
// as active may try: its write is refused (faults.cpp Write).
bool World::MayWrite(const Node& node, storage::RecordType type, Scope scope, const std::string& country) const {
  if (!network_) return true;
  if (type != storage::RecordType::kSeizureReport) return scope == Scope::kNational && node.role != Role::kRegional;
  return node.role == Role::kHub && scope != Scope::kNational && country == countries_[size_t(node.country)];
}

// Every written entry past the victim's cut-off is void: promised to nobody.
void World::MarkRevokedWrites() {
  if (!victim_revoked_) return;
  FeedId feed{nodes_[victim_]->identity.public_key(), Scope::kNational};
  auto it = truth_.feeds().find(feed);
  if (it == truth_.feeds().end()) return;
  for (const Hash256& h : it->second) {
    Written* w = truth_.Mutable(h);
    if (w->seq > victim_cutoff_ && !w->revoked) {
      w->revoked = true;
      ++stats_.revoked_entries_written;
    }
  }
}

// The victim's feed after healing: every node that may hold it holds it up
// to the cut-off, or as far as any of them got (the victim gets no session,
// and entries past the cut-off some took before they learned of it stay in
// their logs, outside their records). True when the feed was handled here.
bool World::RevokedFeedLive(const FeedId& feed, std::vector<std::string>& problems) {
  if (!victim_revoked_ || NodeOf(feed.author) != victim_) return false;
  // Revoked and forked too (the victim, restored from a copy, wrote its
  // seqs again): the feed stops syncing where the fork is known, and only
  // the revoked node could tell the others, so neither the heads nor the
  // fork reports can be expected to agree (--blobs 1 seed 3469).
  if (std::any_of(nodes_.begin(), nodes_.end(), [&](const auto& node) { return node->forked.count(feed) > 0; })) {
    return true;
  }
  uint64_t best = 0;
  for (int n : ReachOf(feed)) {
    if (!Hostile(n) && n != victim_) best = std::max(best, std::min(HeadOf(n, feed).seq, victim_cutoff_));
  }
  for (int n : ReachOf(feed)) {
    if (Hostile(n) || n == victim_) continue;
    if (HeadOf(n, feed).seq < best) {
      std::string heads;
      for (int k : ReachOf(feed)) heads += fmt::format(" {} {}", NameOf(k), HeadOf(k, feed).seq);
      problems.push_back(fmt::format("{} (revoked after seq {}): {} holds seq {}, another node {} (held up to:{})",
                                     FeedName(feed), victim_cutoff_, NameOf(n), HeadOf(n, feed).seq, best, heads));
      return true;
    }
  }
  return true;
}

// After healing: every active member holds every network entry the
// authorities wrote, and all have the same membership.
void World::LivenessOfNetwork(std::vector<std::string>& problems) {
  if (!network_) return;
  std::vector<int> all;
  for (size_t i = 0; i < authorities_.size(); ++i) all.push_back(int(i));
  storage::Membership full(authorities_[0].identity.public_key());
  std::map<FeedId, uint64_t> want;
  for (const storage::Entry& e : AuthorityEntries(all)) {
    full.Add(e.header, e.payload);
    want[e.header.feed()] = e.header.seq;
  }
  crypto::Hash256 digest = full.Digest();
  for (auto& node : nodes_) {
    if (node->hostile || Revoked(node->index)) continue;
    for (const auto& [feed, seq] : want) {
      if (HeadOf(node->index, feed).seq != seq) {
        problems.push_back(fmt::format("{} holds seq {} of {}'s network feed, which has {}", node->name,
                                       HeadOf(node->index, feed).seq, FeedName(feed), seq));
        return;
      }
    }
    auto m = node->store->GetMembership();
    if (!m.ok() || !*m || (*m)->Digest() != digest) {
      problems.push_back(node->name + "'s membership digest differs from the network's");
      return;
    }
  }
}

}  // namespace ncen::sim
