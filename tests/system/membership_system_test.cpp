// Network membership over TCP (issue 13): real ncen-node daemons of two
// countries and a regional hub, every peer configured for every scope on
// purpose; the certificates alone keep national data in its country. And
// the nodes a network must refuse: uncertified, of another network, revoked.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>

#include "tests/support/network_proc.h"

namespace ncen::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

}  // namespace

TEST_CASE("national data stays in its country and off the regional hub, whatever the peers' scopes say",
          "[system][membership]") {
  TwoCountries w;
  NodeProc &regional = w.regional, &pk_hub = w.pk_hub, &af_hub = w.af_hub, &pk_post = w.pk_post,
           &af_post = w.af_post;

  AddSeizure(pk_post, "PK", "PKNATIONAL-4f1c9e");
  AddSeizure(pk_hub, "PK", "PKNATIONAL-hub-77ad02");
  AddSeizure(af_post, "AF", "AFNATIONAL-b20e5d");
  AddSeizure(af_hub, "AF", "AFNATIONAL-hub-c3a9f1");

  // Every link configured for every scope; and a misconfigured one: the
  // Afghan post also dials the Pakistani hub.
  w.Start([&](const std::string& pk_address, const std::string&) { AddPeer(af_post, pk_hub, pk_address); });
  std::vector<NodeProc*> all = w.all();

  // Each country's national entries reached its own nodes...
  auto pk_post_feeds = Feeds(pk_post), pk_hub_feeds = Feeds(pk_hub);
  CHECK(pk_hub_feeds.count({pk_post.id, "national"}));
  CHECK(pk_post_feeds.count({pk_hub.id, "national"}));
  CHECK(Feeds(af_hub).count({af_post.id, "national"}));
  // ... and no other node: by the frontiers,
  for (NodeProc* n : all) {
    INFO(n->name);
    auto feeds = Feeds(*n);
    bool pk_node = n == &pk_hub || n == &pk_post, af_node = n == &af_hub || n == &af_post;
    for (const auto& [author, scope] : feeds) {
      if (scope != "national") continue;
      bool pk_author = author == pk_hub.id || author == pk_post.id;
      bool af_author = author == af_hub.id || author == af_post.id;
      CHECK(!(pk_author && !pk_node));
      CHECK(!(af_author && !af_node));
    }
    if (n == &regional) CHECK(std::none_of(feeds.begin(), feeds.end(), [](auto& f) { return f.second == "national"; }));
  }
  // and by the bytes on disk.
  for (NodeProc* n : all) {
    INFO(n->name);
    std::string mdb = n->dir + "/store/data.mdb";
    bool pk_node = n == &pk_hub || n == &pk_post, af_node = n == &af_hub || n == &af_post;
    CHECK(FileHolds(mdb, "PKNATIONAL-4f1c9e") == pk_node);
    CHECK(FileHolds(mdb, "PKNATIONAL-hub-77ad02") == pk_node);
    CHECK(FileHolds(mdb, "AFNATIONAL-b20e5d") == af_node);
    CHECK(FileHolds(mdb, "AFNATIONAL-hub-c3a9f1") == af_node);
  }
  // The network entries reached everyone: each node knows all seven members
  // and the two authorities, the root.
  for (NodeProc* n : all) {
    json m = json::parse(CtlOk(n->dir, {"--json", "members"}));
    CHECK(m["members"].size() == 8);
  }
  // The Afghan post's link to the Pakistani hub carries no national entry
  // either way (both sides hold only what the rules allow).
  json pk_hub_status = Status(pk_hub.dir);
  CHECK(pk_hub_status["network"]["violations"].empty());
  for (NodeProc* n : all) CHECK(n->daemon.Stop(SIGTERM) == 0);
}

TEST_CASE("uncertified, foreign and revoked nodes get no session, and status lists each refusal",
          "[system][membership]") {
  Network net;
  TempDir nodes;
  NodeProc hub(nodes, "hub", "hub", true), post(nodes, "post", "post", false);
  NodeProc uncertified(nodes, "uncertified", "post", false), revoked(nodes, "revoked", "post", false);
  Authority& pk = net.AddCountry("PK");
  net.Certify(pk.dir, hub, "national-hub", "PK");
  net.Certify(pk.dir, post, "post", "PK");
  net.Certify(pk.dir, revoked, "post", "PK");
  // Joining needs a certificate in the file.
  auto no_cert = Ctl(uncertified.dir, {"join", net.File("post")});
  CHECK(no_cert.exit_code == 1);
  CHECK(no_cert.err.find("no certificate for this node") != std::string::npos);
  // A node of another network, with a certificate there.
  Network other;
  NodeProc foreign(nodes, "foreign", "post", false);
  Authority& other_pk = other.AddCountry("PK");
  other.Certify(other_pk.dir, foreign, "post", "PK");

  net.Teach(hub, pk.dir);
  std::string address = hub.Start();
  for (NodeProc* n : {&post, &uncertified, &revoked, &foreign}) {
    CtlOk(n->dir, {"peers", "add", "--name", "hub", "--id", hub.id, "--address", address});
  }
  AddSeizure(post, "PK", "from the post");
  AddSeizure(revoked, "PK", "from the revoked post, before");
  post.Start();
  revoked.Start();
  WaitSynced(post);
  WaitSynced(revoked);
  revoked.daemon.Stop(SIGTERM);
  uint64_t held = Status(hub.dir)["entries"];

  // The authority syncs with the hub (it sees the post's feed), revokes the
  // second post (cut-off: what it has seen), and brings the revocation.
  CtlOk(pk.dir, {"peers", "add", "--name", "hub", "--id", hub.id, "--address", address});
  auto once = RunCommand({NCEN_NODE_PATH, "--data", pk.dir, "--once"});
  REQUIRE(once.exit_code == 0);
  CtlOk(pk.dir, {"revoke", "--node", revoked.id, "--reason", "laptop stolen"});
  once = RunCommand({NCEN_NODE_PATH, "--data", pk.dir, "--once"});
  REQUIRE(once.exit_code == 0);
  // A node certified since, whose certificate has not reached the hub.
  net.Certify(pk.dir, uncertified, "post", "PK");
  AddSeizure(revoked, "PK", "from the revoked post, after");
  revoked.Start();
  uncertified.Start();
  foreign.Start();

  // Each is refused and listed.
  auto refusals = [&] {
    std::string reasons;
    json status = Status(hub.dir);
    for (const auto& r : status["refused"]) reasons += r["reason"].get<std::string>() + "\n";
    return reasons;
  };
  WaitUntil([&] {
    std::string r = refusals();
    return r.find("is revoked") != std::string::npos && r.find("has no certificate") != std::string::npos &&
           r.find("another network") != std::string::npos;
  }, "three refusals in the hub's status, not only:\n" + refusals() + "\nhub log:\n" + ReadWholeFile(hub.log) + "\nrevoked:\n" + ReadWholeFile(revoked.log) +
                "\nuncertified:\n" + ReadWholeFile(uncertified.log) + "\nforeign:\n" + ReadWholeFile(foreign.log));
  std::string log = ReadWholeFile(hub.log);
  CHECK(log.find("is revoked") != std::string::npos);
  CHECK(log.find("has no certificate") != std::string::npos);
  CHECK(log.find("another network") != std::string::npos);
  // Nothing of theirs arrived: the hub holds the entries it held, plus the
  // authority's revocation.
  CHECK(Status(hub.dir)["entries"] == held + 1);
  CHECK_FALSE(FileHolds(hub.dir + "/store/data.mdb", "from the revoked post, after"));
  CHECK(FileHolds(hub.dir + "/store/data.mdb", "from the revoked post, before"));
  json members = json::parse(CtlOk(hub.dir, {"--json", "members"}));
  bool listed_revoked = false;
  for (const auto& m : members["members"]) {
    if (m["id"] == revoked.id) listed_revoked = !m["revoked"].is_null() && m["revoked"]["national"] == 1;
  }
  CHECK(listed_revoked);
  for (NodeProc* n : {&hub, &post, &uncertified, &revoked, &foreign}) n->daemon.Stop(SIGTERM);
}

}  // namespace ncen::testing
