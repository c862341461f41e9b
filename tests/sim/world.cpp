// Set-up (topology, nodes, the seed's choices), the event loop, healing and
// the result of one run.
#include "tests/sim/world.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>

#include "crypto/hash.h"
#include "storage/peer_status.h"
#include "tests/support/store_fixture.h"

namespace ncen::sim {

namespace {

const std::vector<Scope> kAllScopes = {Scope::kNational, Scope::kRegional, Scope::kGlobal};
constexpr uint64_t kEventsMax = 20'000'000;  // a run that needs more is a livelock

}  // namespace

World::World(const SimOptions& options)
    : options_(options), rng_(options.seed), trace_(options.trace) {
  session_hooks_.die_before_commit = [this] { return MutantCrashBeforeCommit(); };
  // Photos, from streams of their own: a run without them is the run it was
  // before them, choice for choice (blobs.cpp).
  Rng photos(options_.seed ^ 0x626c6f6273ull);
  blobs_ = options_.blobs > 0 || (options_.blobs == 0 && photos.Percent(50));
  if (blobs_) blob_rng_ = Rng(options_.seed ^ 0x70686f746f73ull);
  // Bundles too (bundles.cpp).
  Rng bundles(options_.seed ^ 0x62756e646c6573ull);
  bundles_ = options_.bundles > 0 || (options_.bundles == 0 && bundles.Below(3) == 0);
  if (bundles_) bundle_rng_ = Rng(options_.seed ^ 0x636f7572696572ull);
  BuildTopology();
  // Membership, from streams of its own: a run without it is the run it was
  // before issue 13, choice for choice.
  Rng network(options_.seed ^ 0x6d656d62657273ull);
  bool with_network = options_.membership > 0 || (options_.membership == 0 && network.Below(3) < 2);
  if (with_network) {
    net_rng_ = Rng(options_.seed ^ 0x6e6574776f726bull);
    MisconfiguredLink();
  }
  BuildNodes();
  if (with_network) BuildNetwork();
  ComputeReach();

  int64_t chaos_ms = options_.chaos_ms > 0 ? options_.chaos_ms : int64_t(rng_.Between(15000, 60000));
  chaos_end_ = now_ + chaos_ms;
  writes_left_ = options_.writes > 0 ? options_.writes : int(rng_.Between(20, 120));
  write_gap_ms_ = std::max<int64_t>(1, chaos_ms / writes_left_);
  uint64_t weather = rng_.Below(10);
  fault_gap_ms_ = weather < 2 ? 0 : weather < 6 ? int64_t(rng_.Between(2000, 6000))
                                                : int64_t(rng_.Between(400, 2000));
  restores_enabled_ = rng_.Percent(40);
  for (int i = 0; i < 8; ++i) {
    payloads_.push_back(testing::SeizurePayload("seized at office " + std::to_string(i), 0.5 + i));
  }
  for (const std::string& country : countries_) {
    report_payloads_.emplace_back();
    for (int i = 0; i < 8; ++i) report_payloads_.back().push_back(testing::ReportPayload(country, 0.5 + i));
  }
  topology_ += fmt::format(", chaos {} s, {} writes, faults every {}, restores {}", chaos_ms / 1000,
                           writes_left_, fault_gap_ms_ ? fmt::format("~{} ms", fault_gap_ms_) : "never",
                           restores_enabled_ ? "on" : "off");

  for (auto& node : nodes_) {
    Schedule(now_ + int64_t(rng_.Below(kTickMs)), EventKind::kTick, node->index, 0, node->life);
  }
  for (auto& node : nodes_) StartPeers(node->index);
  Schedule(now_ + int64_t(rng_.Below(uint64_t(write_gap_ms_))), EventKind::kWrite);
  if (fault_gap_ms_ > 0) Schedule(now_ + fault_gap_ms_, EventKind::kFault);
  Schedule(chaos_end_, EventKind::kHeal);
  if (network_) {
    for (size_t i = 0; i < acts_.size(); ++i) {
      Schedule(now_ + int64_t(net_rng_.Between(uint64_t(chaos_ms) / 20, uint64_t(chaos_ms) * 4 / 5)),
               EventKind::kNetworkAct, int(i));
    }
    Schedule(now_ + int64_t(net_rng_.Between(500, 5000)), EventKind::kAuthorityVisit);
  }
  if (blobs_) SetUpBlobs();
  if (bundles_) PlanBundles();
}

World::~World() {
  connections_.clear();  // sessions first: they hold references to the stores
}

// ---------------------------------------------------------------------------
// Topology

void World::BuildTopology() {
  int n = options_.nodes > 0 ? std::clamp(options_.nodes, 3, 12) : int(rng_.Between(3, 12));
  for (int i = 0; i < n; ++i) {
    nodes_.push_back(std::make_unique<Node>(i, testing::IdentityFromNumber(uint8_t(i + 1)), now_));
  }
  if (n >= 5 && rng_.Percent(60)) {
    BuildHierarchy(n);
  } else {
    BuildMeshTopology(n);
  }
  // A hostile member, from a stream of its own (so the other choices of a
  // seed stay what they were): an extra node hanging off one or two honest
  // ones, never the only path between two of them.
  Rng hostile(options_.seed ^ 0x686f7374696c65ull);
  if (options_.hostile > 0 || (options_.hostile == 0 && hostile.Percent(35))) AddMallory();
}

void World::AddMallory() {
  int index = static_cast<int>(nodes_.size());
  nodes_.push_back(std::make_unique<Node>(index, testing::IdentityFromNumber(uint8_t(index + 1)), now_));
  Node& mallory = *nodes_.back();
  mallory.name = "mallory";
  mallory.role = Role::kPost;
  mallory.hostile = true;
  mallory_ = std::make_unique<Mallory>(options_.seed, index);
  // Mallory's links carry only scopes its neighbour already exchanges with
  // an honest node, and a second link only joins nodes already joined in
  // those scopes: removing Mallory leaves every honest path as it was.
  auto scopes_of = [&](int n) {
    std::set<Scope> out;
    for (const Edge& e : edges_) {
      if (e.dialer == n || e.listener == n) out.insert(e.scopes.begin(), e.scopes.end());
    }
    return std::vector<Scope>(out.begin(), out.end());
  };
  auto joined = [&](int a, int b, Scope scope) { return Reachable(a, scope).count(b) > 0; };
  int first = int(rng_.Below(uint64_t(index)));
  std::vector<Scope> scopes = scopes_of(first);
  mallory.country = std::max(0, nodes_[first]->country);
  // With photos, Mallory is sometimes where it may not hold national
  // records (and so their blobs): see MalloryScopes.
  std::vector<Scope> link_scopes = blobs_ ? MalloryScopes(first, scopes) : scopes;
  AddEdge(index, first, link_scopes);
  if (index > 2 && rng_.Percent(50)) {
    int second = int(rng_.Below(uint64_t(index)));
    bool same_part = second != first && scopes_of(second) == scopes &&
                     std::all_of(scopes.begin(), scopes.end(), [&](Scope s) { return joined(first, second, s); });
    if (same_part) AddEdge(index, second, link_scopes);
  }
  topology_ += ", with a hostile member";
}

void World::BuildMeshTopology(int n) {
  for (int i = 0; i < n; ++i) {
    Node& node = *nodes_[i];
    node.name = fmt::format("office{}", i);
    node.role = i == 0 ? Role::kHub : Role::kPost;
  }
  // A random spanning tree, then a few more links: several paths, so the
  // same entries arrive from several peers.
  for (int i = 1; i < n; ++i) AddEdge(i, int(rng_.Below(uint64_t(i))), kAllScopes);
  int extra = int(rng_.Below(uint64_t(n / 2 + 2)));
  for (int k = 0; k < extra; ++k) {
    int a = int(rng_.Below(uint64_t(n))), b = int(rng_.Below(uint64_t(n)));
    bool exists = std::any_of(edges_.begin(), edges_.end(), [&](const Edge& e) {
      return (e.dialer == a && e.listener == b) || (e.dialer == b && e.listener == a);
    });
    if (a != b && !exists) AddEdge(std::max(a, b), std::min(a, b), kAllScopes);
  }
  topology_ = fmt::format("mesh of {} offices, {} links", n, edges_.size());
}

void World::BuildHierarchy(int n) {
  int countries = std::min(int(rng_.Between(1, 3)), (n - 1) / 2);
  Node& regional = *nodes_[0];
  regional.name = "regional";
  regional.role = Role::kRegional;
  regional.country = -1;
  for (int c = 0; c < countries; ++c) {
    Node& hub = *nodes_[1 + c];
    hub.name = fmt::format("hub{}", c);
    hub.role = Role::kHub;
    hub.country = c;
    // Personal data never leaves the country: a national hub gives the
    // regional hub only its regional and global feeds.
    AddEdge(1 + c, 0, {Scope::kRegional, Scope::kGlobal});
  }
  std::vector<std::vector<int>> posts(countries);
  for (int i = 1 + countries; i < n; ++i) {
    int c = (i - 1 - countries) % countries;
    Node& post = *nodes_[i];
    post.name = fmt::format("post{}.{}", c, posts[c].size());
    post.role = Role::kPost;
    post.country = c;
    AddEdge(i, 1 + c, kAllScopes);
    posts[c].push_back(i);
  }
  // Some posts also talk to a neighbouring post of their country.
  for (int c = 0; c < countries; ++c) {
    for (size_t k = 1; k < posts[c].size(); ++k) {
      if (rng_.Percent(30)) AddEdge(posts[c][k], posts[c][rng_.Below(k)], kAllScopes);
    }
  }
  // And sometimes a post reports straight to the regional hub.
  if (rng_.Percent(30)) {
    int c = int(rng_.Below(uint64_t(countries)));
    if (!posts[c].empty()) {
      AddEdge(posts[c][rng_.Below(posts[c].size())], 0, {Scope::kRegional, Scope::kGlobal});
    }
  }
  topology_ = fmt::format("hierarchy of {} nodes: regional hub, {} national hubs, {} links", n,
                          countries, edges_.size());
}

void World::AddEdge(int dialer, int listener, std::vector<Scope> scopes) {
  Edge e;
  e.dialer = dialer;
  e.listener = listener;
  e.scopes = std::move(scopes);
  e.latency_ms = rng_.Percent(20) ? int64_t(rng_.Between(150, 600)) : int64_t(rng_.Between(1, 80));
  e.bytes_per_ms = rng_.Percent(25) ? int64_t(rng_.Between(10, 60)) : int64_t(rng_.Between(200, 5000));
  if (blobs_ && options_.blob_window_fit) e.bytes_per_ms = std::max(e.bytes_per_ms, kBlobLinkBytesPerMsMin);
  edges_.push_back(std::move(e));
}

void World::BuildNodes() {
  static const size_t kBatchBytes[] = {700, 3000, 16000, size_t{1} << 20};
  // Clocks come from a stream of their own, so adding them left every other
  // choice of a seed as it was.
  Rng clocks(options_.seed ^ 0xc10c5c10c5ull);
  for (auto& ptr : nodes_) {
    if (clocks.Percent(50)) {
      ptr->clock_skew_ms = int64_t(clocks.Between(1, 600000)) * (clocks.Percent(50) ? 1 : -1);
    }
  }
  // Each node's ncen.toml: a peer per link, with an address where it dials
  // (both ends on some links, from a stream of their own).
  Rng dials(options_.seed ^ 0xd1a15d1a15ull);
  for (Edge& edge : edges_) {
    edge.both_dial = dials.Percent(30);
    for (int end = 0; end < 2; ++end) {
      Node& me = *nodes_[end == 0 ? edge.dialer : edge.listener];
      const Node& other = *nodes_[end == 0 ? edge.listener : edge.dialer];
      bool dials_it = end == 0 || edge.both_dial;
      NCEN_CHECK(std::none_of(me.peer_configs.begin(), me.peer_configs.end(),
                              [&](const node::PeerConfig& pc) { return pc.name == other.name; }));
      me.peer_configs.push_back(
          node::PeerConfig{other.name, other.identity.public_key(), dials_it ? "sim" : "", edge.scopes});
    }
  }
  for (auto& ptr : nodes_) {
    Node& node = *ptr;
    if (node.role == Role::kRegional) {
      node.write_scopes = {Scope::kRegional, Scope::kRegional, Scope::kGlobal};
    } else {
      node.write_scopes = {Scope::kNational, Scope::kNational, Scope::kNational, Scope::kNational,
                           Scope::kNational, Scope::kNational, Scope::kNational, Scope::kRegional,
                           Scope::kRegional, Scope::kGlobal};
    }
    node.session_options.batch_bytes = kBatchBytes[rng_.Below(4)];
    node.session_options.window = rng_.Between(1, 4);
    node.session_options.test_hooks = &session_hooks_;
    node.dir = std::make_unique<testing::TempDir>();
    storage::NodeMeta meta{node.identity.public_key(), node.name, RoleName(node.role), 0};
    auto store = storage::Store::Create(node.dir->path(), meta, SimStoreOptions(&node.clock));
    NCEN_CHECK(store.ok());
    node.store = std::move(store).value();
  }
}

// The nodes `from` reaches over links that carry `scope` (itself included),
// through nodes `may_pass` lets in (all when empty).
std::set<int> World::Reachable(int from, Scope scope, const std::function<bool(int)>& may_pass) const {
  std::set<int> seen = {from};
  std::vector<int> pending = {from};
  while (!pending.empty()) {
    int n = pending.back();
    pending.pop_back();
    for (const Edge& e : edges_) {
      if (std::find(e.scopes.begin(), e.scopes.end(), scope) == e.scopes.end()) continue;
      int other = e.dialer == n ? e.listener : e.listener == n ? e.dialer : -1;
      if (other < 0 || (may_pass && !may_pass(other))) continue;
      if (seen.insert(other).second) pending.push_back(other);
    }
  }
  return seen;
}

// In a network, a feed goes only to nodes the scope rules let hold it, and
// only they relay it: the nodes reached over links that carry the scope
// through nodes that may hold it, by every certificate issued so far
// (revocations aside: a revoked node is left out of the checks instead).
// Mallory's puppets' feeds start from Mallory, under their own
// certificates (one may be a national hub).
void World::ComputeReach() {
  std::vector<std::pair<crypto::PublicKey, int>> authors;  // a key, and the node its feeds start from
  for (const auto& node : nodes_) {
    index_of_[node->identity.public_key()] = node->index;
    authors.emplace_back(node->identity.public_key(), node->index);
  }
  if (mallory_) {
    for (const crypto::PublicKey& key : mallory_->PuppetKeys()) authors.emplace_back(key, mallory_->index());
  }
  for (const auto& [key, from] : authors) {
    for (Scope scope : kAllScopes) {
      FeedId feed{key, scope};
      if (!network_) {
        reach_[feed] = Reachable(from, scope);
      } else if (!certified_->MayAuthor(feed)) {
        reach_[feed] = {from};
      } else {
        reach_[feed] = Reachable(from, scope, [&](int other) {
          return certified_->MayHold(nodes_[other]->identity.public_key(), feed);
        });
      }
    }
  }
}

const std::set<int>& World::ReachOf(const FeedId& feed) const { return reach_.at(feed); }

int World::NodeOf(const crypto::PublicKey& author) const {
  auto it = index_of_.find(author);
  if (it != index_of_.end()) return it->second;
  if (mallory_ && mallory_->IsPuppet(author)) return mallory_->index();
  return -1;
}

bool World::MayHold(int n, const FeedId& feed) const {
  auto it = reach_.find(feed);
  return it != reach_.end() && it->second.count(n) > 0;
}

std::string World::FeedName(const FeedId& feed) const {
  for (const Authority& a : authorities_) {
    if (a.identity.public_key() == feed.author) return fmt::format("{}/{}", a.name, storage::ScopeName(feed.scope));
  }
  int author = NodeOf(feed.author);
  std::string who = author < 0 ? "stranger"
                    : mallory_ && mallory_->IsPuppet(feed.author) ? mallory_->PuppetName(feed.author)
                                                                  : NameOf(author);
  return fmt::format("{}/{}", who, storage::ScopeName(feed.scope));
}

// ---------------------------------------------------------------------------
// The event loop

void World::Schedule(int64_t at_ms, EventKind kind, int a, uint64_t b, uint64_t gen) {
  agenda_.push(Event{std::max(at_ms, now_), next_order_++, kind, a, b, gen});
}

SimResult World::Run() {
  while (!agenda_.empty() && !failed_ && phase_ != Phase::kDone) {
    Event e = agenda_.top();
    agenda_.pop();
    now_ = e.at_ms;
    if (++stats_.events > kEventsMax) {
      Fail("more than " + std::to_string(kEventsMax) + " events: a livelock");
      break;
    }
    Dispatch(e);
    for (int n : dirty_) {
      if (!failed_ && nodes_[n]->up) CheckNode(n);
    }
    dirty_.clear();
    std::erase_if(connections_, [](const auto& kv) {
      const Connection& c = kv.second;
      return !c.side[0].session && !c.side[1].session && c.queue[0].empty() && c.queue[1].empty();
    });
  }
  if (!failed_ && phase_ != Phase::kDone) Fail("the agenda ran dry before convergence");
  if (!failed_) FinalChecks();
  SimResult result;
  Finish(result);
  return result;
}

void World::Dispatch(const Event& e) {
  switch (e.kind) {
    case EventKind::kDeliver: return Deliver(e.b, e.a, e.gen);
    case EventKind::kEof: return OnEof(e.b, e.a);
    case EventKind::kReset: return OnReset(e.b, e.a);
    case EventKind::kTick: return TickNode(e.a, e.gen);
    case EventKind::kWrite: return Write(e.a - 1);
    case EventKind::kFault: return Fault();
    case EventKind::kConnect: return Connect(e.a, int(e.b), e.gen);
    case EventKind::kRestart: return Restart(e.a, e.gen);
    case EventKind::kPartitionEnd: return EndPartition(e.b);
    case EventKind::kHeal: return Heal();
    case EventKind::kConvergeCheck: return ConvergeCheck();
    case EventKind::kNetworkAct: return DoNetworkAct(e.a);
    case EventKind::kAuthorityVisit: return RandomAuthorityVisit(e.a - 1);
    case EventKind::kPhoto: return AddPhoto();
    case EventKind::kDemand: return Demand();
    case EventKind::kBundle: return MakeBundle();
    case EventKind::kBundleArrive: return ArriveBundle(e.b);
  }
}

void World::Fail(const std::string& what) {
  if (failed_) return;
  failed_ = true;
  failure_ = what;
  Note("FAILED: " + what);
}

// Everything heals at once: partitions end, stalls end, every node is up,
// every link redials promptly; no more writes or faults.
void World::Heal() {
  phase_ = Phase::kHealing;
  healed_at_ = now_;
  Note("heal: partitions and stalls end, every node restarts, links redial");
  partitions_.clear();
  for (Edge& edge : edges_) edge.cuts = 0;
  for (uint64_t id : ConnectionIds()) {
    Connection& c = connections_.at(id);
    for (int d = 0; d < 2; ++d) {
      c.stalled_until_ms[d] = 0;
      ScheduleDelivery(c, d);
    }
  }
  for (auto& node : nodes_) {
    if (!node->up) Restart(node->index, node->life);
    node->peers->RedialAllNow(now_);
  }
  if (network_) {
    // What the authorities did not get to do, they do now; then one of
    // them visits a node with everything they hold.
    for (size_t i = 0; i < acts_.size(); ++i) DoNetworkAct(int(i));
    std::vector<int> members, all;
    for (auto& node : nodes_) {
      if (!node->hostile && !Revoked(node->index)) members.push_back(node->index);
    }
    for (size_t i = 0; i < authorities_.size(); ++i) all.push_back(int(i));
    AuthorityVisit(members[net_rng_.Below(members.size())], all, "at healing");
    // A node certified late joins; and its peers learn its certificate from
    // the authority too (a node refuses a peer whose certificate it lacks,
    // so a post whose only link is to a new node would never learn it by
    // replication: docs/membership.md §6, "a hub learns a new node's
    // certificate from its authority").
    for (int n : late_) {
      AuthorityVisit(n, all, "join, at healing");
      for (const Edge& e : edges_) {
        int other = e.dialer == n ? e.listener : e.listener == n ? e.dialer : -1;
        if (other >= 0 && !Hostile(other) && !Revoked(other)) AuthorityVisit(other, all, "a new member's peer");
      }
    }
  }
  Schedule(now_ + kConvergeCheckMs, EventKind::kConvergeCheck);
}

void World::ConvergeCheck() {
  if (phase_ == Phase::kSettling) return SettleCheck();
  std::vector<std::string> problems = Liveness();
  if (failed_) return;
  if (problems.empty()) {
    stats_.converged_after_ms = now_ - healed_at_;
    converged_at_ = now_;
    phase_ = Phase::kSettling;
    for (const auto& [id, c] : connections_) {
      // Mallory's sessions end whenever it sends garbage.
      if (c.side[0].session && c.side[1].session && !Hostile(c.side[0].node) && !Hostile(c.side[1].node)) {
        settled_.insert(id);
      }
    }
    Note(fmt::format("converged {} ms after healing; {} connections must now stay up for {} s",
                     stats_.converged_after_ms, settled_.size(), kSettleMs / 1000));
    Schedule(now_ + kSettleMs, EventKind::kConvergeCheck);
    return;
  }
  bool quiet = now_ - last_activity_ms_ >= kQuietMs && now_ - healed_at_ >= kQuietMs;
  // Photos cross links as slow as 19 kB/s, often through a relay that
  // fetches them first: the time allowed grows with the bytes made, once
  // over the slowest link a photo may take (seed 322 took 3 hops). A stall
  // is still caught at once by `quiet`.
  int64_t budget_ms = options_.converge_ms;
  if (blobs_) {
    uint64_t made = 0;
    for (const auto& [hash, blob] : blobs_made_) made += blob.bytes.size();
    budget_ms += static_cast<int64_t>(made) / kBlobLinkBytesPerMsMin;
  }
  if (quiet || now_ - healed_at_ >= budget_ms) {
    std::string text =
        quiet ? fmt::format("not converged {} s after healing, and nothing but pings for {} s:",
                            (now_ - healed_at_) / 1000, kQuietMs / 1000)
              : fmt::format("no convergence within {} s of healing:", budget_ms / 1000);
    for (size_t i = 0; i < problems.size() && i < 6; ++i) text += "\n    " + problems[i];
    if (problems.size() > 6) text += fmt::format("\n    ... and {} more", problems.size() - 6);
    Fail(text);
    return;
  }
  Schedule(now_ + kConvergeCheckMs, EventKind::kConvergeCheck);
}

// After convergence and a quiet spell: nothing diverged, and every session
// between two nodes that are not stale says it is caught up (the daemon
// reports that as "in sync").
void World::SettleCheck() {
  std::vector<std::string> problems = Liveness();
  if (!problems.empty()) return Fail("diverged again after converging: " + problems[0]);
  for (const auto& [id, c] : connections_) {
    for (int s = 0; s < 2; ++s) {
      const Side& side = c.side[s];
      if (!side.session || nodes_[side.node]->stale || nodes_[side.peer]->stale) continue;
      if (Hostile(side.node) || Hostile(side.peer)) continue;
      const replication::SessionProgress& p = side.session->progress();
      if (!p.caught_up) {
        return Fail(fmt::format("{}'s session with {} is not caught up {} s after convergence "
                                "(behind {}, ahead {})",
                                NameOf(side.node), NameOf(side.peer), kSettleMs / 1000, p.behind,
                                p.ahead));
      }
    }
  }
  // What `ncenctl status` would show: every honest node's row for the peer
  // of each settled session says connected and in sync (the daemon's status
  // rows, written by the PeerManager's schedule).
  for (uint64_t id : settled_) {
    auto it = connections_.find(id);
    if (it == connections_.end()) continue;
    for (const Side& side : it->second.side) {
      if (!side.session || nodes_[side.node]->stale || nodes_[side.peer]->stale) continue;
      auto rows = storage::PeerLedger(*nodes_[side.node]->store).All();
      if (!rows.ok()) return Fail(NameOf(side.node) + ": peer status rows unreadable: " + rows.status().ToString());
      const crypto::PublicKey& peer = nodes_[side.peer]->identity.public_key();
      auto row = std::find_if(rows->begin(), rows->end(), [&](const auto& r) { return r.id == peer; });
      if (row == rows->end() || !row->IsConnectedAt(now_) || !row->InSync()) {
        return Fail(fmt::format("{}'s status row for {} does not say connected and in sync {} s after "
                                "convergence", NameOf(side.node), NameOf(side.peer), kSettleMs / 1000));
      }
    }
  }
  phase_ = Phase::kDone;
}

void World::Finish(SimResult& result) {
  result.ok = !failed_;
  result.failure = failure_;
  result.trace = trace_.Tail();
  crypto::Blake2bHasher run;
  for (auto& node : nodes_) {
    if (!node->store) {
      result.digests.push_back(fmt::format("node {} {}: down, no digest", node->index, node->name));
      continue;
    }
    auto frontier = node->store->FrontierDigest();
    auto records = node->store->RecordStateDigest();
    auto stats = node->store->Stats();
    auto forks = node->store->Forks();
    if (!frontier.ok() || !records.ok() || !stats.ok() || !forks.ok()) {
      result.digests.push_back(fmt::format("node {} {}: digest unreadable", node->index, node->name));
      continue;
    }
    run.Update(*frontier);
    run.Update(*records);
    std::string membership;
    if (network_) {
      auto m = node->store->GetMembership();
      if (m.ok() && *m) {
        crypto::Hash256 d = (*m)->Digest();
        run.Update(d);
        membership = " membership digest " + ToHex(ByteView(d.data(), 8));
        if (Revoked(node->index)) membership += ", revoked";
        auto violations = node->store->Violations();
        if (violations.ok() && !violations->empty()) {
          membership += fmt::format(", {} violation reports", violations->size());
          if (failed_) {
            for (const auto& v : *violations) {
              membership += fmt::format("\n      violation: {}#{} from {}: {}", FeedName(v.feed), v.seq, v.source,
                                        v.reason.substr(0, 160));
            }
          }
        }
      }
    }
    if (node->stale) ++stats_.stale_nodes;
    result.digests.push_back(fmt::format(
        "node {:2} {:9} frontier digest {} record-state digest {}{} ({} entries, {} records{}{})",
        node->index, node->name, ToHex(*frontier), ToHex(*records), membership, stats->entries,
        stats->records[0] + stats->records[1] + stats->records[2],
        node->stale ? ", stale identity" : "",
        forks->empty() ? "" : fmt::format(", {} fork reports", forks->size())));
  }
  std::set<FeedId> forked;
  for (auto& node : nodes_) forked.insert(node->forked.begin(), node->forked.end());
  stats_.forked_feeds = forked.size();
  stats_.virtual_ms = now_ - kStartMs;
  result.run_digest = ToHex(run.Final());
  result.stats = stats_;
  result.summary = fmt::format(
      "{}; {} events, {} messages, {} writes ({} entries, {} refused, {} partial edits), {} sessions, "
      "{} resets, {} half-open, {} stalls, {} partitions, {} crashes, {} backups, {} restores "
      "({} writes lost by restore), {} forked feeds, {} stale nodes, converged {} ms after healing",
      topology_, stats_.events, stats_.messages, stats_.writes, stats_.entries_written,
      stats_.writes_refused, stats_.partial_edits, stats_.sessions, stats_.resets,
      stats_.half_opens, stats_.stalls, stats_.partitions, stats_.crashes, stats_.backups,
      stats_.restores, stats_.lost_by_restore, stats_.forked_feeds, stats_.stale_nodes,
      stats_.converged_after_ms);
  if (network_) {
    result.summary += fmt::format(
        "; network: {} entries, {} authority visits, {} sessions refused, {} ended by the rules, {} writes "
        "refused as unauthorized, {} revoked entries written",
        stats_.network_entries, stats_.authority_visits, stats_.sessions_refused, stats_.sessions_ended_by_rules,
        stats_.writes_unauthorized, stats_.revoked_entries_written);
  }
  if (blobs_) {
    result.summary += fmt::format(
        "; blobs: {} photos, {} blobs made ({} kB), {} demands, {} blob data messages delivered ({} kB), {} "
        "connections cut with blob data in flight, {} crashes holding part of a blob, {} honest sessions failed "
        "on a blob after Mallory's chunks",
        stats_.photos, stats_.blobs_made, stats_.blob_bytes_made / 1000, stats_.demands, stats_.blob_data_messages,
        stats_.blob_data_bytes / 1000, stats_.blob_transfers_cut, stats_.crashes_with_partial_blobs,
        blob_failures_after_mallory_);
  }
  if (bundles_) {
    result.summary += fmt::format(
        "; bundles: {} written, {} lost, {} imports ({} refused, as damaged or all-or-nothing), {} entries applied",
        stats_.bundles_made, stats_.bundles_lost, stats_.bundle_imports, stats_.bundles_refused,
        stats_.bundle_entries_applied);
  }
  if (mallory_) {
    const MalloryStats& m = mallory_->stats();
    stats_.hostile_entries = m.entries_crafted;
    stats_.hostile_claims = m.claims + m.bad_evidence + m.fake_refusals;
    stats_.hostile_garbage = m.garbage;
    stats_.hostile_forks = m.forks;
    result.stats = stats_;
    result.summary += fmt::format(
        "; mallory crafted {} entries ({} sent in {} batches, {} forks), {} claims, {} false evidence, "
        "{} false refusals, {} garbage",
        m.entries_crafted, m.entries_sent, m.batches_padded, m.forks, m.claims, m.bad_evidence,
        m.fake_refusals, m.garbage);
    if (blobs_) {
      stats_.blob_attacks = m.blob_unasked + m.blob_forged + m.blob_forbidden_wants + m.blob_greedy_wants;
      result.stats = stats_;
      result.summary += fmt::format(
          ", blob attacks: {} unasked data, {} forged data, {} wants of blobs it may not hold, {} greedy wants",
          m.blob_unasked, m.blob_forged, m.blob_forbidden_wants, m.blob_greedy_wants);
    }
  }
}

SimResult RunSeed(const SimOptions& options) {
  World world(options);
  return world.Run();
}

}  // namespace ncen::sim
