// Offline bundles in the simulation (docs/bundles.md, docs/testing.md
// "Bundles"): while links are cut, a node writes a bundle for a peer across
// a cut link, as an administrator would for a courier, and the peer imports
// it later — unless it was lost; some are imported twice, some parts arrive
// damaged, parts come in any order. The bundle code is the product's
// (node/bundles.h) on the nodes' real stores; what it applies is held to
// every invariant of the run like what sessions apply.
//
// Choices come from streams of their own: a run without bundles is the run
// it was before them, choice for choice.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "node/bundles.h"
#include "node/config.h"
#include "tests/sim/world.h"

namespace ncen::sim {

namespace fs = std::filesystem;

void World::PlanBundles() {
  bundle_dir_ = std::make_unique<testing::TempDir>();
  uint64_t chaos = uint64_t(chaos_end_ - now_);
  int bundles = int(bundle_rng_.Between(3, 10));
  for (int i = 0; i < bundles; ++i) {
    Schedule(now_ + int64_t(bundle_rng_.Between(chaos / 10, chaos - 1)), EventKind::kBundle);
  }
}

// The node's ncen.toml as its peer_configs say (the simulator keeps them in
// memory): the bundle code reads who a peer is, and its scopes, from there.
void World::WriteSimConfig(int n) {
  Node& node = *nodes_[n];
  node::NodeConfig config;
  for (node::PeerConfig p : node.peer_configs) {
    p.address.clear();
    config.peers.push_back(std::move(p));
  }
  Status saved = node::SaveConfig(node.dir->path(), config);
  if (!saved.ok()) Fail(NameOf(n) + ": cannot write its ncen.toml: " + saved.ToString());
}

void World::MakeBundle() {
  // Across a cut link, both ends honest and up.
  std::vector<int> cut;
  for (size_t e = 0; e < edges_.size(); ++e) {
    const Edge& edge = edges_[e];
    if (edge.cuts == 0) continue;
    const Node& a = *nodes_[edge.dialer];
    const Node& b = *nodes_[edge.listener];
    if (a.hostile || b.hostile || !a.up || !b.up) continue;
    cut.push_back(int(e));
  }
  if (cut.empty()) return;
  const Edge& edge = edges_[cut[bundle_rng_.Below(cut.size())]];
  bool forward = bundle_rng_.Percent(50);
  int from = forward ? edge.dialer : edge.listener, to = forward ? edge.listener : edge.dialer;
  Node& node = *nodes_[from];
  WriteSimConfig(from);
  if (failed_) return;
  uint64_t id = next_courier_++;
  node::BundleCreateOptions o;
  o.peer = NameOf(to);
  o.out = bundle_dir_->Sub("b" + std::to_string(id));
  // A USB stick, or parts small enough that a bundle of a few entries splits.
  o.max_bytes = bundle_rng_.Percent(40) ? bundle_rng_.Between(4096, 16384) : 0;
  node::OpenNode open{node.identity, std::move(node.store)};
  auto written = node::CreateBundle(node.dir->path(), open, o);
  node.store = std::move(open.store);
  if (!written.ok()) {
    // A peer this node would not connect to either (no certificate here
    // yet, revoked): no bundle, as no session.
    if (written.status().code() == StatusCode::kUnauthenticated) {
      Note(fmt::format("bundle: {} writes none for {}: {}", NameOf(from), NameOf(to), written.status().message()));
      return;
    }
    return Fail(fmt::format("BUNDLE: {} cannot write a bundle for {}: {}", NameOf(from), NameOf(to),
                            written.status().ToString()));
  }
  ++stats_.bundles_made;
  Courier courier;
  courier.from = from;
  courier.to = to;
  courier.files = written->files;
  courier.entries = written->manifest.entries;
  uint64_t fate = bundle_rng_.Below(100);
  courier.lost = fate < 15;
  courier.tampered = fate >= 15 && fate < 27;
  courier.imports = !courier.lost && bundle_rng_.Percent(25) ? 2 : 1;
  for (size_t i = courier.files.size(); i > 1; --i) std::swap(courier.files[i - 1], courier.files[bundle_rng_.Below(i)]);
  Note(fmt::format("bundle #{}: {} writes {} entries for {} in {} part(s){}", id, NameOf(from), courier.entries,
                   NameOf(to), courier.files.size(),
                   courier.lost ? ", lost on the way" : courier.tampered ? ", damaged on the way" : ""));
  if (courier.tampered) {
    // One byte of one part, past its header: data or manifest.
    const std::string& victim = courier.files[bundle_rng_.Below(courier.files.size())];
    uint64_t size = fs::file_size(victim);
    if (size > 60) {
      std::fstream f(victim, std::ios::in | std::ios::out | std::ios::binary);
      f.seekg(std::streamoff(52 + bundle_rng_.Below(size - 52)));
      char c = 0;
      f.read(&c, 1);
      f.seekp(-1, std::ios::cur);
      c = char(c ^ 0x20);
      f.write(&c, 1);
    }
  }
  couriers_[id] = std::move(courier);
  Schedule(now_ + int64_t(bundle_rng_.Between(500, 20000)), EventKind::kBundleArrive, 0, id);
}

void World::ArriveBundle(uint64_t id) {
  auto it = couriers_.find(id);
  if (it == couriers_.end()) return;
  Courier& c = it->second;
  if (c.lost) {
    ++stats_.bundles_lost;
    couriers_.erase(it);
    return;
  }
  Node& node = *nodes_[c.to];
  if (!node.up) {
    // The post is down: the stick waits on the desk.
    Schedule(now_ + 2000, EventKind::kBundleArrive, 0, id);
    return;
  }
  WriteSimConfig(c.to);
  if (failed_) return;
  auto before = node.store->FrontierDigest();
  node::OpenNode open{node.identity, std::move(node.store)};
  auto imported = node::ImportBundle(node.dir->path(), open, c.files);
  node.store = std::move(open.store);
  dirty_.insert(c.to);
  ++stats_.bundle_imports;
  if (c.tampered) {
    if (imported.ok()) {
      return Fail(fmt::format("BUNDLE: {} imported bundle #{} from {} though a part was damaged", NameOf(c.to), id,
                              NameOf(c.from)));
    }
    auto after = node.store->FrontierDigest();
    if (!before.ok() || !after.ok() || before.value() != after.value()) {
      return Fail(fmt::format("BUNDLE: {} refused damaged bundle #{} but its store changed", NameOf(c.to), id));
    }
    ++stats_.bundles_refused;
    Note(fmt::format("bundle #{}: {} refuses it: {}", id, NameOf(c.to), imported.status().message()));
    couriers_.erase(it);
    return;
  }
  if (!imported.ok()) {
    // All or nothing: one refused entry (a feed forked here, an author
    // revoked here since) refuses the bundle; nothing else may.
    const std::string& why = imported.status().message();
    bool content = why.find(" is refused (") != std::string::npos || why.find("is not accepted") != std::string::npos;
    if (!content) {
      return Fail(fmt::format("BUNDLE: {} cannot import bundle #{} from {}: {}", NameOf(c.to), id, NameOf(c.from),
                              imported.status().ToString()));
    }
    auto after = node.store->FrontierDigest();
    if (!before.ok() || !after.ok() || before.value() != after.value()) {
      return Fail(fmt::format("BUNDLE: {} refused bundle #{} but its store changed", NameOf(c.to), id));
    }
    ++stats_.bundles_refused;
    Note(fmt::format("bundle #{}: {} refuses it: {}", id, NameOf(c.to), why));
  } else {
    stats_.bundle_entries_applied += imported->applied;
    Note(fmt::format("bundle #{}: {} imports {} new of {} entries from {}", id, NameOf(c.to), imported->applied,
                     c.entries, NameOf(c.from)));
  }
  if (--c.imports > 0) {
    Schedule(now_ + int64_t(bundle_rng_.Between(100, 10000)), EventKind::kBundleArrive, 0, id);
    return;
  }
  couriers_.erase(it);
}

}  // namespace ncen::sim
