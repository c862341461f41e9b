// Helpers for system tests of a network (membership, sharing): the root and
// country authorities as data directories driven by the real ncenctl, nodes
// certified by them, and checks on what reached a node. Tests only.
#pragma once

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>

#include "tests/support/node_proc.h"

namespace ncen::testing {

// An authority's data directory (the root, or a country authority).
struct Authority {
  std::string dir, id;
};

struct Network {
  TempDir root_dir;
  Authority root;
  std::map<std::string, Authority> countries;

  Network() {
    root.dir = root_dir.Sub("root");
    CtlOk(root.dir, {"network", "create", "--name", "test network"});
    root.id = Trim(CtlOk(root.dir, {"id"}));
  }
  std::string File(const std::string& name) const { return root_dir.Sub(name + ".net"); }

  // The root certifies a country authority, which joins.
  Authority& AddCountry(const std::string& cc) {
    Authority a{root_dir.Sub("authority-" + cc), ""};
    CtlOk(a.dir, {"init", "--name", "Customs " + cc, "--role", "authority"});
    a.id = Trim(CtlOk(a.dir, {"id"}));
    CtlOk(root.dir, {"certify", "--role", "country-authority", "--node", a.id, "--name", "Customs " + cc,
                     "--country", cc, "--out", File("auth-" + cc)});
    CtlOk(a.dir, {"join", File("auth-" + cc)});
    return countries[cc] = a;
  }
  // `issuer` certifies the node, which joins with the file.
  void Certify(const std::string& issuer_dir, NodeProc& node, const std::string& role, const std::string& country,
               const std::string& countries_served = "") {
    std::vector<std::string> args = {"certify", "--role", role, "--node", node.id, "--name", node.name, "--out",
                                     File(node.name)};
    if (!country.empty()) args.insert(args.end(), {"--country", country});
    if (!countries_served.empty()) args.insert(args.end(), {"--countries", countries_served});
    CtlOk(issuer_dir, args);
    CtlOk(node.dir, {"join", File(node.name)});
  }
  // A hub learns another authority's certificates (it would from that
  // authority's next sync; here from its export).
  void Teach(NodeProc& hub, const std::string& authority_dir) {
    std::string file = File("export-" + std::filesystem::path(authority_dir).filename().string());
    CtlOk(authority_dir, {"network", "export", "--out", file});
    CtlOk(hub.dir, {"network", "import", file});
  }
};

inline void AddPeer(NodeProc& node, const NodeProc& peer, const std::string& address = "") {
  std::vector<std::string> args = {"peers", "add", "--name", peer.name, "--id", peer.id,
                                   "--scopes", "national,regional,global"};
  if (!address.empty()) args.insert(args.end(), {"--address", address});
  CtlOk(node.dir, args);
}

// A national seizure whose narrative carries `marker`.
inline void AddSeizure(NodeProc& node, const std::string& country, const std::string& marker) {
  TempDir tmp;
  std::string path = tmp.Sub("s.json");
  std::ofstream(path) << nlohmann::json{{"date", "2026-11-02"},
                              {"country", country},
                              {"office", country + "TKM"},
                              {"goods", {{{"category", "drugs"}, {"subtype", "heroin"}, {"quantity", 2.5}, {"unit", "kg"}}}},
                              {"narrative", marker}}
                             .dump();
  CtlOk(node.dir, {"seizure", "add", "--json", path});
}

inline bool FileHolds(const std::string& path, const std::string& needle) {
  return ReadWholeFile(path).find(needle) != std::string::npos;
}

inline std::set<std::pair<std::string, std::string>> Feeds(const NodeProc& node) {
  std::set<std::pair<std::string, std::string>> out;
  nlohmann::json status = Status(node.dir);  // kept: a range-for over a temporary's member dangles
  for (const auto& f : status["frontier"]) {
    out.emplace(f["author"].get<std::string>(), f["scope"].get<std::string>());
  }
  return out;
}

inline void WaitUntil(const std::function<bool()>& done, const std::string& what, int seconds = 60) {
  for (int i = 0; i < seconds * 20; ++i) {
    if (done()) return;
    std::this_thread::sleep_for(50ms);
  }
  FAIL("timed out waiting for " << what);
}

// Two countries (PK, AF), each with an authority, a national hub and a
// post, and a regional hub serving both: certified and joined, the regional
// hub and each national hub taught the other authority's certificates. No
// daemon runs until Start.
struct TwoCountries {
  Network net;
  TempDir nodes;
  NodeProc regional{nodes, "regional", "regional", true};
  NodeProc pk_hub{nodes, "pk-hub", "hub", true}, af_hub{nodes, "af-hub", "hub", true};
  NodeProc pk_post{nodes, "pk-post", "post", false}, af_post{nodes, "af-post", "post", false};
  Authority *pk = nullptr, *af = nullptr;

  TwoCountries() {
    net.Certify(net.root.dir, regional, "regional-hub", "", "AF,PK");
    pk = &net.AddCountry("PK");
    af = &net.AddCountry("AF");
    net.Certify(pk->dir, pk_hub, "national-hub", "PK");
    net.Certify(pk->dir, pk_post, "post", "PK");
    net.Certify(af->dir, af_hub, "national-hub", "AF");
    net.Certify(af->dir, af_post, "post", "AF");
    net.Teach(regional, pk->dir);
    net.Teach(regional, af->dir);
    net.Teach(pk_hub, af->dir);
    net.Teach(af_hub, pk->dir);
  }
  std::vector<NodeProc*> all() { return {&regional, &pk_hub, &af_hub, &pk_post, &af_post}; }

  // Starts every daemon, each link configured for every scope: the hubs and
  // the regional hub know each other, each post dials its hub; `more_links`
  // may add peers once the hubs listen (given their addresses), before the
  // posts start. Then waits until every node is in sync.
  void Start(const std::function<void(const std::string& pk_address, const std::string& af_address)>& more_links = {}) {
    std::string regional_address = regional.Start();
    AddPeer(pk_hub, regional, regional_address);
    AddPeer(af_hub, regional, regional_address);
    AddPeer(regional, pk_hub);
    AddPeer(regional, af_hub);
    AddPeer(pk_hub, pk_post);
    AddPeer(af_hub, af_post);
    regional.daemon.Signal(SIGHUP);
    std::string pk_address = pk_hub.Start(), af_address = af_hub.Start();
    AddPeer(pk_post, pk_hub, pk_address);
    AddPeer(af_post, af_hub, af_address);
    if (more_links) more_links(pk_address, af_address);
    pk_post.Start();
    af_post.Start();
    for (NodeProc* n : all()) WaitSynced(*n, 90);
  }
};

}  // namespace ncen::testing
