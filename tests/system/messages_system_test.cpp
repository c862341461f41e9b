// Messages across real processes (issue 16; node/messages.h): real ncen-node
// daemons on loopback, driven with ncenctl. A message reaches its
// recipients through hubs that hold only its ciphertext; it waits for a
// link that is down; read state stays on the node that read; a revoked node
// is left out of what is sent after its revocation, and cannot open it even
// when given the entry.
//
// The countries are AT and BE (`certify` takes ISO 3166 codes only). Test
// names carry no ';': catch_discover_tests would split one into two tests.
#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "crypto/identity.h"
#include "storage/store.h"
#include "tests/support/network_proc.h"

namespace ncen::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// `msg send` with --json; returns {"id", "scope", "recipients"}.
json SendMessage(const NodeProc& from, std::vector<std::string> args) {
  args.insert(args.begin(), {"--json", "msg", "send"});
  return json::parse(CtlOk(from.dir, args));
}

json Inbox(const NodeProc& node, bool unread_only = false) {
  std::vector<std::string> args = {"--json", "msg", "inbox"};
  if (unread_only) args.push_back("--unread");
  return json::parse(CtlOk(node.dir, args));
}

std::vector<std::string> Ids(const json& items) {
  std::vector<std::string> ids;
  for (const auto& item : items) ids.push_back(item["id"]);
  return ids;
}

bool Lists(const json& items, const std::string& id) {
  auto ids = Ids(items);
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

json ReadMessage(const NodeProc& node, const std::string& id) {
  return json::parse(CtlOk(node.dir, {"--json", "msg", "read", id}));
}

// WaitUntil, showing `node`'s log as it is when the time is up.
void WaitShowingLog(const std::function<bool()>& done, const std::string& what,
                    const NodeProc& node, int seconds = 30) {
  for (int i = 0; i < seconds * 20; ++i) {
    if (done()) return;
    std::this_thread::sleep_for(50ms);
  }
  FAIL("timed out waiting for " << what << "; " << node.name << "'s log:\n"
                                << ReadWholeFile(node.log));
}

void WaitForMessage(const NodeProc& node, const std::string& id) {
  WaitShowingLog([&] { return Lists(Inbox(node), id); },
                 "message " + id + " in " + node.name + "'s inbox", node);
}

std::string DataFile(const NodeProc& node) { return node.dir + "/store/data.mdb"; }

// One country's authority, its national hub and `post_count` posts,
// certified (the hub first, so that each post's network file names it) and
// joined; the hub taught its authority's certificates, the posts' among
// them. No daemon runs until StartHub and each post's Start.
struct OneCountry {
  Network net;
  TempDir nodes;
  Authority* authority = nullptr;
  NodeProc hub{nodes, "hub-at", "hub", true};
  std::vector<std::unique_ptr<NodeProc>> posts;
  std::string hub_address;

  explicit OneCountry(int post_count) {
    authority = &net.AddCountry("AT");
    net.Certify(authority->dir, hub, "national-hub", "AT");
    for (int i = 1; i <= post_count; ++i) {
      posts.push_back(
          std::make_unique<NodeProc>(nodes, "post-at-" + std::to_string(i), "post", false));
      net.Certify(authority->dir, *posts.back(), "post", "AT");
      AddPeer(hub, *posts.back());
    }
    net.Teach(hub, authority->dir);
  }
  NodeProc& post(int i) { return *posts[i - 1]; }

  // Starts the hub; the first time, keeps its port for restarts and lets
  // each post dial it.
  void StartHub() {
    std::string address = hub.Start();
    if (!hub_address.empty()) {
      REQUIRE(address == hub_address);
      return;
    }
    hub_address = address;
    CtlOk(hub.dir, {"config", "set", "listen", hub_address});
    for (auto& p : posts) AddPeer(*p, hub, hub_address);
  }
  void RestartHub() {
    REQUIRE(hub.daemon.Stop(SIGTERM) == 0);
    StartHub();
  }
};

// Gives the node in `dir` the entries of `author`'s national feed that
// `source_dir` holds past its own head, through Store::ApplyBatch as a
// session would: bytes handed over whatever the network's rules say about
// the receiver. Returns how many it applied. No daemon may run on `dir`.
size_t GiveNationalFeed(const std::string& source_dir, const std::string& dir,
                        const std::string& author_hex) {
  auto author = crypto::ParseNodeId(author_hex);
  REQUIRE(author.ok());
  const storage::FeedId feed{*author, storage::Scope::kNational};
  auto source = storage::Store::Open(source_dir + "/store");
  auto target = storage::Store::Open(dir + "/store");
  INFO(source.status().message() << target.status().message());
  REQUIRE((source.ok() && target.ok()));
  auto from = (*target)->FeedHeads({&feed, 1});
  auto to = (*source)->FeedHeads({&feed, 1});
  REQUIRE((from.ok() && to.ok()));
  std::vector<storage::Entry> entries;
  for (uint64_t seq = (*from)[0].seq + 1; seq <= (*to)[0].seq; ++seq) {
    auto entry = (*source)->GetEntry(feed, seq);
    REQUIRE(entry.ok());
    entries.push_back(std::move(*entry));
  }
  storage::ApplyReport report = (*target)->ApplyBatch(entries, "test");
  INFO(report.status.message() << (report.refused.empty()
                                       ? ""
                                       : " (refused: " + report.refused[0].message + ")"));
  REQUIRE(report.status.ok());
  REQUIRE(report.refused.empty());
  return report.applied;
}

}  // namespace

TEST_CASE(
    "a message from a post reaches its national hub, and one from a national hub reaches another "
    "country's hub through the regional hub: relays hold no byte of it",
    "[system][messages]") {
  Network net;
  TempDir nodes;
  NodeProc regional(nodes, "regional", "regional", true);
  NodeProc hub_at(nodes, "hub-at", "hub", true), hub_be(nodes, "hub-be", "hub", true);
  NodeProc post_at(nodes, "post-at", "post", false);
  net.Certify(net.root.dir, regional, "regional-hub", "", "AT,BE");
  Authority& at = net.AddCountry("AT");
  Authority& be = net.AddCountry("BE");
  net.Certify(at.dir, hub_at, "national-hub", "AT");
  net.Certify(at.dir, post_at, "post", "AT");
  net.Certify(be.dir, hub_be, "national-hub", "BE");
  // Each hub taught the certificates it did not join with: its own
  // country's post, the other country's hub.
  net.Teach(regional, at.dir);
  net.Teach(regional, be.dir);
  net.Teach(hub_at, at.dir);
  net.Teach(hub_at, be.dir);
  net.Teach(hub_be, at.dir);
  // A national record with a marker: the search of a data file finds what
  // is there in plaintext (checked below), so not finding a message means
  // something.
  AddSeizure(post_at, "AT", "SEIZURE-MARKER-plain-5e0b1d");

  // Links: post-at <-> hub-at <-> regional <-> hub-be.
  std::string regional_address = regional.Start();
  AddPeer(hub_at, regional, regional_address);
  AddPeer(hub_be, regional, regional_address);
  AddPeer(regional, hub_at);
  AddPeer(regional, hub_be);
  AddPeer(hub_at, post_at);
  regional.daemon.Signal(SIGHUP);
  std::string hub_at_address = hub_at.Start();
  hub_be.Start();
  AddPeer(post_at, hub_at, hub_at_address);
  post_at.Start();
  std::vector<NodeProc*> all = {&regional, &hub_at, &hub_be, &post_at};
  for (NodeProc* n : all) WaitSynced(*n);

  const std::string subject1 = "SUBJ1-manifest-of-ferry-Qx7r2v",
                    body1 = "BODY1-two-trucks-from-Kx9w4m-border";
  const std::string subject2 = "SUBJ2-heroin-route-Zp3k8n",
                    body2 = "BODY2-courier-seen-at-Vt6j1q-crossing";
  json sent1 = SendMessage(post_at, {"--to", "hub-at", "--subject", subject1, "--body", body1});
  CHECK(sent1["scope"] == "national");
  CHECK(sent1["recipients"] == 1);
  json sent2 = SendMessage(hub_at, {"--to", "hub-be", "--subject", subject2, "--body", body2});
  CHECK(sent2["scope"] == "regional");  // hub-be may not hold AT's national feeds
  CHECK(sent2["recipients"] == 1);
  const std::string id1 = sent1["id"], id2 = sent2["id"];

  WaitForMessage(hub_at, id1);
  WaitForMessage(hub_be, id2);
  json read1 = ReadMessage(hub_at, id1);
  CHECK(read1["subject"] == subject1);
  CHECK(read1["body"] == body1);
  CHECK(read1["from_id"] == post_at.id);
  json read2 = ReadMessage(hub_be, id2);
  CHECK(read2["subject"] == subject2);
  CHECK(read2["body"] == body2);
  CHECK(read2["from_id"] == hub_at.id);

  // The regional hub relayed message 2 (hub-be has no other link to hub-at),
  // so it holds the entry, and cannot open it.
  auto relayed = Ctl(regional.dir, {"msg", "read", id2});
  CHECK(relayed.exit_code == 1);
  CHECK(relayed.err == "ncenctl: message " + id2 + " is not addressed to this node\n");
  CHECK(Inbox(regional).empty());

  // No node holds either message in plaintext: not the relay, not the
  // recipients, not the senders (a message is sealed in the log, and the
  // mailbox keeps only its key), not a post of the sending country.
  REQUIRE(FileHolds(DataFile(post_at), "SEIZURE-MARKER-plain-5e0b1d"));
  REQUIRE(FileHolds(DataFile(hub_at), "SEIZURE-MARKER-plain-5e0b1d"));
  for (NodeProc* n : all) {
    INFO(n->name);
    for (const std::string& text : {subject1, body1, subject2, body2}) {
      INFO(text);
      CHECK_FALSE(FileHolds(DataFile(*n), text));
    }
  }
  for (NodeProc* n : all) CHECK(n->daemon.Stop(SIGTERM) == 0);
}

TEST_CASE(
    "written offline, delivered when the link comes up, and written while the recipient is "
    "offline, delivered when it returns",
    "[system][messages]") {
  OneCountry w(1);
  NodeProc &hub = w.hub, &post = w.post(1);

  // Neither daemon has ever run: the post knows its hub from the network
  // file it joined with.
  json question = SendMessage(post, {"--to", "hub-at", "--subject", "Container MSKU at gate 4?",
                                     "--body", "Written offline.\nSecond line."});
  CHECK(question["scope"] == "national");
  const std::string question_id = question["id"];
  CHECK(Lists(json::parse(CtlOk(post.dir, {"--json", "msg", "sent"})), question_id));

  w.StartHub();
  post.Start();
  WaitForMessage(hub, question_id);
  json at_hub = ReadMessage(hub, question_id);
  CHECK(at_hub["subject"] == "Container MSKU at gate 4?");
  CHECK(at_hub["body"] == "Written offline.\nSecond line.");

  // The post goes offline; the hub answers; the post comes back.
  REQUIRE(post.daemon.Stop(SIGTERM) == 0);
  json answer =
      SendMessage(hub, {"--to", "post-at-1", "--reply-to", question_id, "--subject",
                        "Re: container", "--body", "Written while the post was offline."});
  const std::string answer_id = answer["id"];
  CHECK_FALSE(Lists(Inbox(post), answer_id));
  post.Start();
  WaitForMessage(post, answer_id);

  json thread = json::parse(CtlOk(post.dir, {"--json", "msg", "thread", answer_id}));
  REQUIRE(thread.size() == 2);
  CHECK(thread[0]["id"] == question_id);
  CHECK(thread[0]["body"] == "Written offline.\nSecond line.");
  CHECK(thread[1]["id"] == answer_id);
  CHECK(thread[1]["subject"] == "Re: container");
  CHECK(thread[1]["body"] == "Written while the post was offline.");
  CHECK(thread[1]["reply_to"] == question_id);
  CHECK(thread[0]["thread"] == thread[1]["thread"]);
  // The same thread from its first message.
  CHECK(Ids(json::parse(CtlOk(post.dir, {"--json", "msg", "thread", question_id}))) ==
        std::vector<std::string>{question_id, answer_id});
  CHECK(hub.daemon.Stop(SIGTERM) == 0);
  CHECK(post.daemon.Stop(SIGTERM) == 0);
}

TEST_CASE("read state is local and survives restarts", "[system][messages]") {
  OneCountry w(1);
  NodeProc &hub = w.hub, &post = w.post(1);
  w.StartHub();
  post.Start();
  WaitSynced(post);
  WaitSynced(hub);

  const std::string first =
      SendMessage(post, {"--to", "hub-at", "--subject", "first", "--body", "one"})["id"];
  const std::string second =
      SendMessage(post, {"--to", "hub-at", "--subject", "second", "--body", "two"})["id"];
  WaitForMessage(hub, first);
  WaitForMessage(hub, second);
  json before = Status(hub.dir);
  CHECK(before["messages"]["unread"] == 2);
  CHECK(before["messages"]["received"] == 2);
  const uint64_t hub_entries = before["entries"];
  const uint64_t post_entries = Status(post.dir)["entries"];
  const json post_sent = json::parse(CtlOk(post.dir, {"--json", "msg", "sent"}));

  CHECK(ReadMessage(hub, first)["state"] == "read");
  CHECK(Ids(Inbox(hub, true)) == std::vector<std::string>{second});
  w.RestartHub();

  // Still read after the restart, and counted so.
  CHECK(Ids(Inbox(hub, true)) == std::vector<std::string>{second});
  CHECK(Ids(Inbox(hub)).size() == 2);
  json after = Status(hub.dir);
  CHECK(after["messages"]["unread"] == 1);
  CHECK(after["messages"]["received"] == 2);
  // Reading wrote no entry at the hub...
  CHECK(after["entries"] == hub_entries);
  // ... and nothing reached the post but what the hub sent after it: once
  // the hub's next message is there, the post holds exactly one more entry,
  // and its view of what it sent has not changed.
  const std::string later =
      SendMessage(hub, {"--to", "post-at-1", "--subject", "later", "--body", "three"})["id"];
  WaitForMessage(post, later);
  CHECK(Status(post.dir)["entries"] == post_entries + 1);
  CHECK(json::parse(CtlOk(post.dir, {"--json", "msg", "sent"})) == post_sent);
  CHECK(hub.daemon.Stop(SIGTERM) == 0);
  CHECK(post.daemon.Stop(SIGTERM) == 0);
}

TEST_CASE("a revoked node receives no new message addressed to its country", "[system][messages]") {
  OneCountry w(2);
  NodeProc &hub = w.hub, &post1 = w.post(1), &post2 = w.post(2);
  w.StartHub();
  post1.Start();
  post2.Start();
  for (NodeProc* n : {&hub, &post1, &post2}) WaitSynced(*n);

  // Before the revocation, the country is both posts.
  json before =
      SendMessage(hub, {"--country", "AT", "--subject", "to all AT offices", "--body", "before"});
  CHECK(before["recipients"] == 2);
  WaitForMessage(post2, before["id"]);
  REQUIRE(post2.daemon.Stop(SIGTERM) == 0);

  // The authority syncs with the hub, revokes post-at-2 and brings the
  // revocation (as an administrator would: docs/membership.md §7).
  CtlOk(w.authority->dir,
        {"peers", "add", "--name", "hub-at", "--id", hub.id, "--address", w.hub_address});
  REQUIRE(RunCommand({NCEN_NODE_PATH, "--data", w.authority->dir, "--once", "--timeout", "20"})
              .exit_code == 0);
  CtlOk(w.authority->dir, {"revoke", "--node", post2.id, "--reason", "laptop stolen"});
  REQUIRE(RunCommand({NCEN_NODE_PATH, "--data", w.authority->dir, "--once", "--timeout", "20"})
              .exit_code == 0);
  json members = json::parse(CtlOk(hub.dir, {"--json", "members"}));
  bool revoked_at_hub = false;
  for (const auto& m : members["members"]) {
    if (m["id"] == post2.id) revoked_at_hub = !m["revoked"].is_null();
  }
  REQUIRE(revoked_at_hub);

  json after = SendMessage(
      hub, {"--country", "AT", "--subject", "AFTER-REVOCATION-Hw4q", "--body", "after"});
  CHECK(after["recipients"] == 1);  // post-at-1 only
  const std::string after_id = after["id"];
  WaitForMessage(post1, after_id);

  // Given the bytes: a copy of post-at-2 (with its key) that holds the
  // entry cannot open it.
  TempDir copies;
  const std::string copy = copies.Sub("post-at-2-copy");
  fs::copy(post2.dir, copy, fs::copy_options::recursive);
  fs::remove(copy + "/store/lock.mdb");
  REQUIRE(GiveNationalFeed(hub.dir, copy, hub.id) >= 1);
  auto opened = Ctl(copy, {"msg", "read", after_id});
  CHECK(opened.exit_code == 1);
  CHECK(opened.err == "ncenctl: message " + after_id + " is not addressed to this node\n");
  json copy_inbox = json::parse(CtlOk(copy, {"--json", "msg", "inbox"}));
  CHECK(Lists(copy_inbox, before["id"]));
  CHECK_FALSE(Lists(copy_inbox, after_id));

  // Over the network it does not even get the entry: the hub refuses the
  // revoked key a session (docs/membership.md §5), so its inbox stays
  // without the message.
  post2.Start();
  auto refused_revoked = [&] {
    json status = Status(hub.dir);
    for (const auto& r : status["refused"]) {
      if (r["reason"].get<std::string>().find("is revoked") != std::string::npos) return true;
    }
    return false;
  };
  WaitShowingLog(refused_revoked, "the hub refusing post-at-2", hub);
  json inbox = Inbox(post2);
  CHECK(Lists(inbox, before["id"]));
  CHECK_FALSE(Lists(inbox, after_id));
  auto not_held = Ctl(post2.dir, {"msg", "read", after_id});
  CHECK(not_held.exit_code == 1);
  CHECK(not_held.err == "ncenctl: no message " + after_id + " here\n");
  for (NodeProc* n : {&hub, &post1, &post2}) CHECK(n->daemon.Stop(SIGTERM) == 0);
}

}  // namespace ncen::testing
