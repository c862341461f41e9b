// Network membership (issue 13, docs/membership.md): certificate and
// revocation bodies, the scope rules, who may write network entries, and
// revocation and succession applied in any order.
#include <catch2/catch.hpp>

#include "storage/membership.h"
#include "storage/sharing.h"
#include "tests/support/network_fixture.h"

using namespace ncen;
using namespace ncen::storage;
using testing::TestNetwork;
using testing::TestNode;

namespace {

// Two countries, each with an authority, a post and a national hub, and a
// regional hub serving both; a third country's hub outside the region.
struct TwoCountries {
  TwoCountries() {
    TestNode& pk_auth = net.AddAuthority(10, "PK");
    TestNode& af_auth = net.AddAuthority(20, "AF");
    TestNode& ir_auth = net.AddAuthority(30, "IR");
    REQUIRE(net.Certify(pk_auth, net.Cert(MemberKind::kPost, pk_post.key(), "PK", "Torkham post")).ok());
    REQUIRE(net.Certify(pk_auth, net.Cert(MemberKind::kNationalHub, pk_hub.key(), "PK", "Islamabad hub")).ok());
    REQUIRE(net.Certify(af_auth, net.Cert(MemberKind::kPost, af_post.key(), "AF", "Spin Boldak post")).ok());
    REQUIRE(net.Certify(af_auth, net.Cert(MemberKind::kNationalHub, af_hub.key(), "AF", "Kabul hub")).ok());
    REQUIRE(net.Certify(ir_auth, net.Cert(MemberKind::kNationalHub, ir_hub.key(), "IR", "Tehran hub")).ok());
    Certificate region = net.Cert(MemberKind::kRegionalHub, regional.key(), "", "RILO Asia/Pacific");
    region.countries = {"AF", "PK"};
    REQUIRE(net.Certify(net.root, region).ok());
    for (TestNode* n : nodes()) net.Join(*n);
  }
  std::vector<TestNode*> nodes() { return {&pk_post, &pk_hub, &af_post, &af_hub, &ir_hub, &regional}; }

  TestNetwork net;
  TestNode pk_post{11, "pk-post"}, pk_hub{12, "pk-hub"}, af_post{21, "af-post"}, af_hub{22, "af-hub"},
      ir_hub{31, "ir-hub"}, regional{40, "regional"};
};

std::shared_ptr<const Membership> MembershipOf(Store& s) {
  auto m = s.GetMembership();
  REQUIRE(m.ok());
  REQUIRE(m.value());
  return m.value();
}

// An entry of `author`'s feed in `scope`, signed by hand (what a hostile
// member could sign whatever its certificate says).
Entry HandMade(TestNode& author, Scope scope, uint64_t seq, const Hash256& prev, const std::string& marker) {
  EntryHeader h;
  h.author = author.key();
  h.scope = scope;
  h.seq = seq;
  h.prev = prev;
  h.timestamp_ms = UnixMillisNow();
  h.record_id = NewRecordId(h.timestamp_ms);
  return MakeEntry(h, testing::SeizurePayload(marker), author.identity);
}

bool HoldsAnyOf(Store& s, const PublicKey& author, Scope scope) {
  auto heads = s.FeedHeads(std::vector<FeedId>{{author, scope}});
  REQUIRE(heads.ok());
  return heads.value()[0].seq > 0;
}

}  // namespace

TEST_CASE("certificates and revocations encode to exact bytes and refuse anything else", "[membership]") {
  Certificate c;
  c.kind = MemberKind::kRegionalHub;
  c.subject = testing::IdentityFromNumber(1).public_key();
  c.name = "RILO";
  c.countries = {"AF", "PK"};
  Bytes b = EncodeCertificate(c);
  REQUIRE(b.size() == 4 + 1 + 32 + 1 + 1 + 4 + 1 + 4 + 1);
  auto back = DecodeCertificate(b);
  REQUIRE(back.ok());
  CHECK(back.value() == c);

  SECTION("names with control or bidirectional characters") {
    for (std::string name : {std::string("P\xe2\x80\xaeX"), std::string("P\xe2\x81\xa6X"), std::string("a\tb"),
                             std::string("\xff")}) {
      Certificate bad = c;
      bad.name = name;
      CHECK(ValidateCertificate(bad).code() == StatusCode::kCorruption);
    }
  }
  SECTION("trailing or missing bytes") {
    Bytes longer = b;
    longer.push_back(0);
    CHECK(DecodeCertificate(longer).status().code() == StatusCode::kCorruption);
    CHECK(DecodeCertificate(ByteView(b).first(b.size() - 1)).status().code() == StatusCode::kCorruption);
  }
  SECTION("an unknown kind (role)") {
    Bytes bad = b;
    bad[4] = 9;
    CHECK_THAT(DecodeCertificate(bad).status().message(), Catch::Contains("unknown kind"));
  }
  SECTION("served countries unsorted, or a post without a country") {
    Certificate post;
    post.kind = MemberKind::kPost;
    post.subject = c.subject;
    post.country = "PK";
    post.name = "post";
    Bytes pb = EncodeCertificate(post);
    pb[4 + 1 + 32 + 1] = 'k';  // lower case
    CHECK(!DecodeCertificate(pb).ok());
    Bytes bad = b;
    std::swap(bad[4 + 1 + 32 + 1 + 1 + 4 + 1], bad[4 + 1 + 32 + 1 + 1 + 4 + 1 + 2]);
    CHECK(!DecodeCertificate(bad).ok());
  }
  Revocation r;
  r.subject = c.subject;
  r.cutoffs = {{Scope::kNational, 7}, {Scope::kGlobal, 2}};
  r.reason = "laptop stolen";
  Bytes rb = EncodeRevocation(r);
  REQUIRE(DecodeRevocation(rb).ok());
  CHECK(DecodeRevocation(rb).value() == r);
  Bytes unsorted = rb;
  std::swap(unsorted[4 + 32 + 1], unsorted[4 + 32 + 1 + 9]);
  CHECK(!DecodeRevocation(unsorted).ok());
  Bytes count_over = rb;
  count_over[4 + 32] = 200;
  CHECK(!DecodeRevocation(count_over).ok());
}

TEST_CASE("the scope rules follow from the certificates", "[membership]") {
  TwoCountries w;
  auto m = MembershipOf(w.pk_post.store());
  auto may_hold = [&](TestNode& holder, TestNode& author, Scope s) {
    return m->MayAuthor({author.key(), s}) && m->MayHold(holder.key(), {author.key(), s});
  };
  // national: within a country only
  CHECK(may_hold(w.pk_hub, w.pk_post, Scope::kNational));
  CHECK(may_hold(w.pk_post, w.pk_hub, Scope::kNational));
  CHECK_FALSE(may_hold(w.af_hub, w.pk_post, Scope::kNational));
  CHECK_FALSE(may_hold(w.regional, w.pk_hub, Scope::kNational));
  // regional: the region's national hubs and its hub; posts never author it
  CHECK(may_hold(w.regional, w.pk_hub, Scope::kRegional));
  CHECK(may_hold(w.af_hub, w.pk_hub, Scope::kRegional));
  CHECK_FALSE(may_hold(w.ir_hub, w.pk_hub, Scope::kRegional));
  CHECK_FALSE(may_hold(w.pk_post, w.pk_hub, Scope::kRegional));
  CHECK_FALSE(m->MayAuthor({w.pk_post.key(), Scope::kRegional}));
  // global: every member
  CHECK(may_hold(w.ir_hub, w.pk_hub, Scope::kGlobal));
  CHECK(may_hold(w.pk_post, w.regional, Scope::kGlobal));
  // network: authorities only author it
  CHECK_FALSE(m->MayAuthor({w.pk_hub.key(), Scope::kNetwork}));
  CHECK(m->MayAuthor({w.net.root.key(), Scope::kNetwork}));
  // a key the network does not know
  TestNode stranger(90);
  CHECK_FALSE(m->MayHold(stranger.key(), {w.pk_hub.key(), Scope::kGlobal}));
  CHECK_FALSE(m->MayAuthor({stranger.key(), Scope::kNational}));
  // what `members` shows
  CHECK(m->MayExchange(w.pk_post.key(), w.pk_hub.key(), Scope::kNational));
  CHECK_FALSE(m->MayExchange(w.pk_post.key(), w.af_hub.key(), Scope::kNational));
  CHECK(m->MayExchange(w.pk_hub.key(), w.regional.key(), Scope::kRegional));
}

TEST_CASE("a node refuses and reports entries its network's rules forbid, and takes nothing of their feed",
          "[membership]") {
  TwoCountries w;
  REQUIRE(w.af_post.Write("afghan national 1").ok());
  REQUIRE(w.af_post.Write("afghan national 2").ok());
  SECTION("another country's national feed") {
    auto report = w.pk_post.store().ApplyBatch(testing::RecordEntries(w.af_post.store()));
    REQUIRE(report.status.ok());
    REQUIRE(report.refused.size() == 1);
    CHECK(report.refused[0].error == EntryError::kNotAuthorized);
    CHECK(report.refused[0].seq == 1);
    CHECK_FALSE(HoldsAnyOf(w.pk_post.store(), w.af_post.key(), Scope::kNational));
    auto violations = w.pk_post.store().Violations();
    REQUIRE(violations.ok());
    REQUIRE(violations->size() == 1);
    CHECK(violations->at(0).feed == FeedId{w.af_post.key(), Scope::kNational});
    CHECK(violations->at(0).evidence.SignatureValid());
    // the regional hub holds no national entry of anyone
    auto at_region = w.regional.store().ApplyBatch(testing::RecordEntries(w.af_post.store()));
    CHECK(at_region.refused.size() == 1);
    CHECK_FALSE(HoldsAnyOf(w.regional.store(), w.af_post.key(), Scope::kNational));
    REQUIRE(w.pk_post.store().ClearViolations(std::nullopt).ok());
    CHECK(w.pk_post.store().Violations()->empty());
  }
  SECTION("a certified post that authors a regional entry") {
    Entry bad = HandMade(w.pk_post, Scope::kRegional, 1, {}, "a post's regional entry");
    for (TestNode* n : {&w.pk_hub, &w.af_hub, &w.regional}) {
      auto report = n->store().ApplyBatch(std::vector<Entry>{bad});
      REQUIRE(report.refused.size() == 1);
      CHECK(report.refused[0].error == EntryError::kNotAuthorized);
      CHECK_FALSE(HoldsAnyOf(n->store(), w.pk_post.key(), Scope::kRegional));
      CHECK(n->store().Violations()->size() == 1);
    }
    // and it cannot write one itself
    CHECK(w.pk_post.Write("regional", Scope::kRegional).status().code() == StatusCode::kFailedPrecondition);
  }
  SECTION("an author with no certificate") {
    TestNode stranger(91);
    REQUIRE(stranger.Write("no certificate").ok());
    auto report = w.pk_hub.store().ApplyBatch(testing::RecordEntries(stranger.store()));
    REQUIRE(report.refused.size() == 1);
    CHECK(report.refused[0].error == EntryError::kNotAuthorized);
    CHECK_THAT(report.refused[0].message, Catch::Contains("no certificate"));
  }
  SECTION("entries of the same country are taken, with the other feeds of the batch") {
    REQUIRE(w.pk_post.Write("pakistani national").ok());
    std::vector<Entry> both = testing::RecordEntries(w.pk_post.store());
    for (auto& e : testing::RecordEntries(w.af_post.store())) both.push_back(e);
    auto report = w.pk_hub.store().ApplyBatch(both);
    CHECK(report.applied == 1);
    CHECK(report.refused.size() == 1);
  }
}

TEST_CASE("only authorities write network entries, each within its own authority", "[membership]") {
  TwoCountries w;
  TestNode& pk_auth = *w.net.authorities[0];
  SECTION("a certificate signed by a non-authority") {
    // A post signs a certificate by hand, in a feed of its own.
    EntryHeader h;
    h.format_version = kNetworkEntryFormatVersion;
    h.author = w.pk_post.key();
    h.scope = Scope::kNetwork;
    h.seq = 1;
    h.timestamp_ms = UnixMillisNow();
    h.record_id = NewRecordId(h.timestamp_ms);
    h.record_type = RecordType::kCertificate;
    TestNode fake(92);
    Entry e = MakeEntry(h, EncodeCertificate(w.net.Cert(MemberKind::kPost, fake.key(), "PK", "fake")),
                        w.pk_post.identity);
    auto report = w.pk_hub.store().ApplyBatch(std::vector<Entry>{e});
    REQUIRE(report.refused.size() == 1);
    CHECK(report.refused[0].error == EntryError::kNotAuthorized);
    CHECK(MembershipOf(w.pk_hub.store())->Find(fake.key()) == nullptr);
    // nor can it append one with the store's own call
    CHECK(w.pk_post.store()
              .AppendNetworkEntry(w.pk_post.identity, RecordType::kCertificate,
                                  EncodeCertificate(w.net.Cert(MemberKind::kPost, fake.key(), "PK", "fake")))
              .status()
              .code() == StatusCode::kFailedPrecondition);
  }
  SECTION("a country authority certifying a node of another country, or a hub") {
    TestNode other(93);
    Status s = w.net.Certify(pk_auth, w.net.Cert(MemberKind::kPost, other.key(), "AF", "not ours"));
    CHECK(s.code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.message(), Catch::Contains("certifies a node of AF"));
    Certificate hub = w.net.Cert(MemberKind::kGlobalHub, other.key(), "", "global");
    CHECK(w.net.Certify(pk_auth, hub).code() == StatusCode::kInvalidArgument);
  }
  SECTION("a revocation by someone who did not certify the key") {
    TestNode& af_auth = *w.net.authorities[1];
    Revocation r{w.pk_post.key(), {}, "not mine"};
    CHECK(w.net.Revoke(af_auth, r).code() == StatusCode::kInvalidArgument);
    // signed by hand and sent: refused the same way
    auto m = MembershipOf(af_auth.store());
    const Member* me = m->Find(af_auth.key());
    REQUIRE(me);
    auto head = af_auth.store().FeedHeads(std::vector<FeedId>{{af_auth.key(), Scope::kNetwork}});
    EntryHeader h;
    h.format_version = kNetworkEntryFormatVersion;
    h.author = af_auth.key();
    h.scope = Scope::kNetwork;
    h.seq = head->at(0).seq + 1;
    h.prev = head->at(0).head;
    h.timestamp_ms = UnixMillisNow();
    h.record_id = NewRecordId(h.timestamp_ms);
    h.record_type = RecordType::kRevocation;
    h.context.dots.push_back(Dot{me->issuer, me->cert_seq});
    h.context.Add(Dot{af_auth.key(), h.seq - 1});
    Entry e = MakeEntry(h, EncodeRevocation(r), af_auth.identity);
    std::vector<Entry> batch = testing::NetworkEntries(af_auth.store());
    batch.push_back(e);
    auto report = w.pk_hub.store().ApplyBatch(batch);
    REQUIRE(report.refused.size() == 1);
    CHECK(report.refused[0].error == EntryError::kNotAuthorized);
    CHECK_FALSE(MembershipOf(w.pk_hub.store())->Find(w.pk_post.key())->revoked);
  }
  SECTION("a network entry at a store of no network") {
    TestNode loner(94);
    auto report = loner.store().ApplyBatch(w.net.AllNetworkEntries());
    CHECK(report.applied == 0);
    CHECK_FALSE(report.refused.empty());
  }
}

TEST_CASE("a revocation gives every node the same records whatever the arrival order", "[membership]") {
  TwoCountries w;
  TestNode& pk_auth = *w.net.authorities[0];
  // The post writes five records; the hub takes all five (and writes over
  // the fifth); the authority revokes the post after seq 3.
  std::vector<RecordId> ids;
  for (int i = 1; i <= 5; ++i) {
    auto id = w.pk_post.Write("record " + std::to_string(i));
    REQUIRE(id.ok());
    ids.push_back(id.value());
  }
  REQUIRE(w.pk_hub.store().ApplyBatch(testing::RecordEntries(w.pk_post.store())).refused.empty());
  {
    LocalChange edit{ids[4], RecordType::kSeizure, Op::kPut, testing::SeizurePayload("hub edit of 5"),
                     Scope::kNational};
    REQUIRE(w.pk_hub.store().AppendLocal(w.pk_hub.identity, {&edit, 1}).ok());
  }
  auto before_hub = w.pk_hub.store().RecordStateDigest();
  // Two more posts of the country, certified before the revocation.
  TestNode a(50, "a"), b(51, "b");
  REQUIRE(w.net.Certify(pk_auth, w.net.Cert(MemberKind::kPost, a.key(), "PK", "a")).ok());
  REQUIRE(w.net.Certify(pk_auth, w.net.Cert(MemberKind::kPost, b.key(), "PK", "b")).ok());
  // The authority revokes the post after seq 3.
  Revocation r{w.pk_post.key(), {{Scope::kNational, 3}}, "laptop stolen"};
  REQUIRE(w.net.Revoke(pk_auth, r).ok());
  // A gets the revocation before any record entry.
  w.net.Join(a);

  // B: record entries first (all of them, the hub's edit too), then the network.
  REQUIRE(b.store().SetNetworkRoot(w.net.root.key()).ok());
  std::vector<Entry> network = w.net.AllNetworkEntries();
  std::vector<Entry> without_revocation;
  for (auto& e : network) {
    if (e.header.record_type != RecordType::kRevocation) without_revocation.push_back(e);
  }
  REQUIRE(b.store().ApplyBatch(without_revocation).refused.empty());
  auto all_records = testing::RecordEntries(w.pk_hub.store());
  auto first = b.store().ApplyBatch(all_records);
  REQUIRE(first.refused.empty());
  CHECK(first.applied == 6);
  REQUIRE(b.store().ApplyBatch(network).status.ok());

  // A: the revocation first, then every record entry.
  auto second = a.store().ApplyBatch(all_records);
  REQUIRE(second.status.ok());
  // seq 4 and 5 of the post are refused; the hub's edit, which names 5, is taken
  REQUIRE(second.refused.size() == 1);
  CHECK(second.refused[0].error == EntryError::kRevoked);
  CHECK(second.refused[0].seq == 4);

  // The hub: had everything, then gets the revocation.
  REQUIRE(w.pk_hub.store().ApplyBatch(network).status.ok());
  CHECK(w.pk_hub.store().RecordStateDigest().value() != before_hub.value());

  auto da = a.store().RecordStateDigest(), db = b.store().RecordStateDigest(),
       dh = w.pk_hub.store().RecordStateDigest();
  CHECK(da.value() == db.value());
  CHECK(da.value() == dh.value());
  for (TestNode* n : {&a, &b, &w.pk_hub}) {
    // No revoked entry in any record's versions; record 4 is gone.
    for (const RecordId& id : ids) {
      auto view = n->store().GetRecord(id);
      if (!view.ok()) continue;
      for (const Version& v : view->state.versions) {
        CHECK_FALSE((v.dot.author == w.pk_post.key() && v.dot.seq > 3));
      }
    }
    CHECK(n->store().GetRecord(ids[3]).status().code() == StatusCode::kNotFound);
    CHECK(n->store().GetRecord(ids[2]).ok());
    auto five = n->store().GetRecord(ids[4]);
    REQUIRE(five.ok());
    CHECK(five->state.versions.size() == 1);
    CHECK(five->state.versions[0].dot.author == w.pk_hub.key());
    CHECK(n->store().VerifyLog().ok());
    CHECK(n->store().Stats()->records[0] == 4);
  }
  // The revoked post writes nothing more.
  REQUIRE(w.pk_post.store().ApplyBatch(network).status.ok());
  CHECK(w.pk_post.Write("after").status().code() == StatusCode::kFailedPrecondition);
}

TEST_CASE("succession: a new key names the old one; the old one's records stay", "[membership]") {
  TwoCountries w;
  TestNode& pk_auth = *w.net.authorities[0];
  auto id = w.pk_post.Write("before the restore");
  REQUIRE(id.ok());
  REQUIRE(pk_auth.store().ApplyBatch(testing::RecordEntries(w.pk_post.store())).status.ok());
  TestNode successor(60, "pk-post-2");
  Revocation r{w.pk_post.key(), {{Scope::kNational, 1}}, "succeeded"};
  REQUIRE(w.net.Revoke(pk_auth, r).ok());
  Certificate c = w.net.Cert(MemberKind::kPost, successor.key(), "PK", "Torkham post");
  c.predecessor = w.pk_post.key();
  REQUIRE(w.net.Certify(pk_auth, c).ok());
  REQUIRE(w.pk_hub.store().ApplyBatch(w.net.AllNetworkEntries()).status.ok());
  auto m = MembershipOf(w.pk_hub.store());
  REQUIRE(m->Find(w.pk_post.key())->successor == successor.key());
  CHECK(m->Find(successor.key())->cert.predecessor == w.pk_post.key());
  CHECK_FALSE(m->Active(w.pk_post.key()));
  CHECK(m->Active(successor.key()));
  REQUIRE(w.pk_hub.store().ApplyBatch(testing::RecordEntries(w.pk_post.store())).status.ok());
  CHECK(w.pk_hub.store().GetRecord(id.value()).ok());
}

TEST_CASE("the membership is the same whatever order its entries are held in", "[membership]") {
  TwoCountries w;
  TestNode& pk_auth = *w.net.authorities[0];
  REQUIRE(w.net.Revoke(pk_auth, Revocation{w.pk_hub.key(), {{Scope::kNational, 0}}, ""}).ok());
  REQUIRE(w.net.Revoke(w.net.root, Revocation{w.net.authorities[1]->key(), {{Scope::kNetwork, 1}}, ""}).ok());
  auto entries = w.net.AllNetworkEntries();
  Membership forward(w.net.root.key()), backward(w.net.root.key());
  for (const auto& e : entries) forward.Add(e.header, e.payload);
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) backward.AddHeld(it->header, it->payload);
  backward.Rebuild();
  CHECK(forward.Digest() == backward.Digest());
  CHECK(forward.Find(w.pk_hub.key())->revoked);
  // AF's authority is cut after its first network entry: the AF hub it
  // certified at seq 2 is no member any more, its post (seq 1) still is.
  CHECK(forward.Find(w.af_post.key()) != nullptr);
  CHECK(forward.Find(w.af_hub.key()) == nullptr);
}

TEST_CASE("the bodies in docs/membership.md are these bytes", "[membership]") {
  PublicKey subject;
  subject.fill(0x11);
  Certificate c{MemberKind::kPost, subject, "PK", "Torkham post", {}, std::nullopt};
  CHECK(ToHex(EncodeCertificate(c)) ==
        "4e434301021111111111111111111111111111111111111111111111111111111111111111"
        "02504b0c546f726b68616d20706f73740000");
  Revocation r{subject, {{Scope::kNational, 57}, {Scope::kNetwork, 0}}, "laptop stolen"};
  CHECK(ToHex(EncodeRevocation(r)) ==
        "4e4352011111111111111111111111111111111111111111111111111111111111111111"
        "02000000000000000039030000000000000000000d6c6170746f702073746f6c656e");
  CHECK(NetworkIdOf(subject) != NetworkIdOf(testing::IdentityFromNumber(1).public_key()));
}

TEST_CASE("a node starts from the stored snapshot of its membership, and takes more entries after", "[membership]") {
  TwoCountries w;
  TestNode& pk_auth = *w.net.authorities[0];
  REQUIRE(w.net.Revoke(pk_auth, Revocation{w.pk_post.key(), {{Scope::kNational, 0}}, "gone"}).ok());
  Certificate c = w.net.Cert(MemberKind::kPost, testing::IdentityFromNumber(70).public_key(), "PK", "new post");
  c.predecessor = w.pk_post.key();
  REQUIRE(w.net.Certify(pk_auth, c).ok());
  REQUIRE(w.pk_hub.store().ApplyBatch(w.net.AllNetworkEntries()).refused.empty());
  auto derived = MembershipOf(w.pk_hub.store());
  REQUIRE(derived->complete());
  // Opened again: from the snapshot, the same answers.
  std::string dir = w.pk_hub.t.dir.path();
  w.pk_hub.t.store.reset();
  StoreOptions options;
  options.durable = false;
  options.map_size_bytes = uint64_t{1} << 30;
  auto reopened = Store::Open(dir, options);
  REQUIRE(reopened.ok());
  w.pk_hub.t.store = std::move(reopened).value();
  auto snapshot = MembershipOf(w.pk_hub.store());
  CHECK_FALSE(snapshot->complete());
  CHECK(snapshot->Digest() == derived->Digest());
  CHECK(snapshot->Find(w.pk_post.key())->revoked);
  CHECK(snapshot->Find(w.pk_post.key())->successor.has_value());
  CHECK(snapshot->MayHold(w.pk_hub.key(), {w.af_hub.key(), Scope::kGlobal}));
  // More network entries: the store loads them all to take them.
  TestNode later(71, "later");
  REQUIRE(w.net.Certify(pk_auth, w.net.Cert(MemberKind::kPost, later.key(), "PK", "later")).ok());
  auto report = w.pk_hub.store().ApplyBatch(w.net.AllNetworkEntries());
  REQUIRE(report.refused.empty());
  CHECK(report.applied == 1);
  CHECK(MembershipOf(w.pk_hub.store())->Find(later.key()) != nullptr);
  // A damaged snapshot does not decode.
  Bytes bytes = snapshot->EncodeSnapshot();
  CHECK(Membership::FromSnapshot(w.net.root.key(), bytes).ok());
  bytes.resize(bytes.size() - 1);
  CHECK(Membership::FromSnapshot(w.net.root.key(), bytes).status().code() == StatusCode::kCorruption);
}

TEST_CASE("succession after a stale restore: the office continues under a new key, its records stay, "
          "the old key is refused",
          "[membership]") {
  TwoCountries w;
  TestNode& pk_auth = *w.net.authorities[0];
  // The post writes three records; the hub and the authority hold them.
  std::vector<RecordId> ids;
  for (int i = 1; i <= 3; ++i) ids.push_back(w.pk_post.Write("before the backup " + std::to_string(i)).value());
  REQUIRE(w.pk_hub.store().ApplyBatch(testing::RecordEntries(w.pk_post.store())).refused.empty());
  REQUIRE(pk_auth.store().ApplyBatch(testing::RecordEntries(w.pk_post.store())).refused.empty());
  // The office is restored from a backup holding only its first entry: a
  // store with the same key and the network, and seq 1.
  TestNode restored(11, "pk-post-restored");  // the same seed: the same key
  REQUIRE(restored.key() == w.pk_post.key());
  w.net.Join(restored);
  auto first = w.pk_post.store().GetEntry({w.pk_post.key(), Scope::kNational}, 1);
  REQUIRE(restored.store().ApplyBatch(std::vector<Entry>{first.value()}).refused.empty());
  REQUIRE(restored.store().ClearStaleIdentity().ok());  // it wrote seq 1 itself, before the backup
  // Its peer shows it its own later entries: stale, writes refused, the entries taken back.
  auto report = restored.store().ApplyBatch(testing::RecordEntries(w.pk_hub.store()));
  REQUIRE(report.status.ok());
  CHECK(report.marked_stale);
  CHECK(restored.Write("refused").status().code() == StatusCode::kFailedPrecondition);
  // Succession: a new key for the office; the authority revokes the old one
  // at the head it holds (3) and certifies the new one naming it.
  crypto::Identity fresh = testing::IdentityFromNumber(80);
  REQUIRE(restored.store().ReplaceNodeId(fresh.public_key()).ok());
  CHECK(restored.store().StaleIdentity().value().empty());
  REQUIRE(w.net.Revoke(pk_auth, Revocation{w.pk_post.key(), {{Scope::kNational, 3}}, "restored from a backup"}).ok());
  Certificate c = w.net.Cert(MemberKind::kPost, fresh.public_key(), "PK", "Torkham post");
  c.predecessor = w.pk_post.key();
  REQUIRE(w.net.Certify(pk_auth, c).ok());
  for (TestNode* n : {&restored, &w.pk_hub}) REQUIRE(n->store().ApplyBatch(w.net.AllNetworkEntries()).refused.empty());
  // The office writes under its new key, on top of its old records.
  LocalChange edit{ids[0], RecordType::kSeizure, Op::kPut, testing::SeizurePayload("after the restore"),
                   Scope::kNational};
  REQUIRE(restored.store().AppendLocal(fresh, {&edit, 1}).ok());
  for (const RecordId& id : ids) CHECK(restored.store().GetRecord(id).ok());
  REQUIRE(w.pk_hub.store().ApplyBatch(testing::RecordEntries(restored.store())).refused.empty());
  auto edited = w.pk_hub.store().GetRecord(ids[0]);
  REQUIRE(edited.ok());
  REQUIRE(edited->state.versions.size() == 1);
  CHECK(edited->state.versions[0].dot.author == fresh.public_key());
  // The old key: refused as a peer, and its entries past the cut-off everywhere.
  auto m = MembershipOf(w.pk_hub.store());
  CHECK_FALSE(m->Active(w.pk_post.key()));
  CHECK(m->Active(fresh.public_key()));
  // The old copy, not told yet, writes seq 4: refused everywhere.
  REQUIRE(w.pk_post.Write("the old laptop writes again").ok());
  auto late = w.pk_hub.store().ApplyBatch(testing::RecordEntries(w.pk_post.store()));
  REQUIRE(late.refused.size() == 1);
  CHECK(late.refused[0].error == EntryError::kRevoked);
  CHECK(late.refused[0].seq == 4);
}

TEST_CASE("one country authority can neither take over nor revoke another's nodes or the root's hubs",
          "[membership]") {
  TwoCountries w;
  TestNode& pk_auth = *w.net.authorities[0];
  // PK's authority certifies AF's post and the regional hub as PK posts...
  REQUIRE(w.net.Certify(pk_auth, w.net.Cert(MemberKind::kPost, w.af_post.key(), "PK", "mine now")).ok());
  REQUIRE(w.net.Certify(pk_auth, w.net.Cert(MemberKind::kPost, w.regional.key(), "PK", "mine too")).ok());
  // ... and revokes them at 0.
  REQUIRE(w.net.Revoke(pk_auth, Revocation{w.af_post.key(), {}, "taken"}).ok());
  REQUIRE(w.net.Revoke(pk_auth, Revocation{w.regional.key(), {}, "taken"}).ok());
  REQUIRE(w.af_hub.store().ApplyBatch(w.net.AllNetworkEntries()).refused.empty());
  auto m = MembershipOf(w.af_hub.store());
  // The root's certificate wins, and a revocation counts only from the issuer.
  REQUIRE(m->Find(w.regional.key()));
  CHECK(m->Find(w.regional.key())->cert.kind == MemberKind::kRegionalHub);
  CHECK_FALSE(m->Find(w.regional.key())->revoked);
  // A key two authorities certify is contested: no member, taken over by neither.
  CHECK(m->Find(w.af_post.key()) == nullptr);
  CHECK_FALSE(m->MayHold(w.af_post.key(), {w.pk_hub.key(), Scope::kNational}));
}

TEST_CASE("a revocation that stops counting puts the entries back, the same on every node", "[membership]") {
  TwoCountries w;
  TestNode& pk_auth = *w.net.authorities[0];
  std::vector<RecordId> ids;
  for (int i = 1; i <= 4; ++i) ids.push_back(w.pk_post.Write("record " + std::to_string(i)).value());
  auto records = testing::RecordEntries(w.pk_post.store());
  // X: all four applied, then PK's authority revokes the post at 2.
  TestNode& x = w.pk_hub;
  REQUIRE(x.store().ApplyBatch(records).refused.empty());
  REQUIRE(w.net.Revoke(pk_auth, Revocation{w.pk_post.key(), {{Scope::kNational, 2}}, "stolen"}).ok());
  REQUIRE(x.store().ApplyBatch(w.net.AllNetworkEntries()).refused.empty());
  CHECK(x.store().GetRecord(ids[3]).status().code() == StatusCode::kNotFound);
  uint64_t authority_head = 0;
  for (const auto& e : testing::NetworkEntries(pk_auth.store())) {
    if (e.header.author == pk_auth.key()) authority_head = std::max(authority_head, e.header.seq);
  }
  SECTION("the root cuts the authority before its revocation: the revocation no longer counts") {
    REQUIRE(w.net.Revoke(w.net.root, Revocation{pk_auth.key(), {{Scope::kNetwork, authority_head - 1}}, ""}).ok());
  }
  SECTION("the root cuts the authority before it certified the post: the post's certificate falls") {
    REQUIRE(w.net.Revoke(w.net.root, Revocation{pk_auth.key(), {{Scope::kNetwork, 0}}, ""}).ok());
  }
  REQUIRE(x.store().ApplyBatch(w.net.AllNetworkEntries()).status.ok());
  // Y: the network first, then the records.
  TestNode y(52, "y");
  REQUIRE(w.net.Certify(w.net.root, w.net.Cert(MemberKind::kNationalHub, y.key(), "PK", "y")).ok());
  w.net.Join(y);
  REQUIRE(x.store().ApplyBatch(w.net.AllNetworkEntries()).status.ok());
  REQUIRE(y.store().ApplyBatch(records).status.ok());
  CHECK(x.store().RecordStateDigest().value() == y.store().RecordStateDigest().value());
  CHECK(x.store().VerifyLog().ok());
  CHECK(y.store().VerifyLog().ok());
  auto m = MembershipOf(x.store());
  bool certified = m->Find(w.pk_post.key()) != nullptr;
  CHECK(x.store().GetRecord(ids[3]).ok() == certified);
  CHECK(x.store().GetRecord(ids[0]).ok() == certified);
}

TEST_CASE("a violation report needs a valid signature, and a revoked version leaves the search index",
          "[membership]") {
  TwoCountries w;
  SECTION("forged evidence is refused and not reported") {
    Entry forged = HandMade(w.af_post, Scope::kNational, 1, {}, "forged");
    forged.signature[0] ^= 1;
    auto report = w.pk_hub.store().ApplyBatch(std::vector<Entry>{forged});
    CHECK(report.refused.size() == 1);
    CHECK(w.pk_hub.store().Violations()->empty());
  }
  SECTION("search") {
    TestNode& pk_auth = *w.net.authorities[0];
    nlohmann::ordered_json j = {{"date", "2026-11-02"}, {"country", "PK"}, {"office", "PKTKM"},
                                {"reference", "HUB-REF-1"},
                                {"goods", {{{"category", "drugs"}, {"quantity", 1}, {"unit", "kg"}}}}};
    LocalChange create{NewRecordId(UnixMillisNow()), RecordType::kSeizure, Op::kPut,
                       RecordFromJson(RecordType::kSeizure, j).value(), Scope::kNational};
    REQUIRE(w.pk_hub.store().AppendLocal(w.pk_hub.identity, {&create, 1}).ok());
    REQUIRE(w.pk_post.store().ApplyBatch(testing::RecordEntries(w.pk_hub.store())).refused.empty());
    j["reference"] = "STOLEN-REF-9";
    LocalChange edit{create.id, RecordType::kSeizure, Op::kPut, RecordFromJson(RecordType::kSeizure, j).value(),
                     Scope::kNational};
    REQUIRE(w.pk_post.store().AppendLocal(w.pk_post.identity, {&edit, 1}).ok());
    REQUIRE(w.pk_hub.store().ApplyBatch(testing::RecordEntries(w.pk_post.store())).refused.empty());
    SearchQuery q{"STOLEN-REF-9", std::nullopt, "", "", 10};
    REQUIRE(w.pk_hub.store().Search(q).value().size() == 1);
    REQUIRE(w.net.Revoke(pk_auth, Revocation{w.pk_post.key(), {{Scope::kNational, 0}}, "stolen"}).ok());
    REQUIRE(w.pk_hub.store().ApplyBatch(w.net.AllNetworkEntries()).status.ok());
    CHECK(w.pk_hub.store().Search(q).value().empty());
    SearchQuery back{"HUB-REF-1", std::nullopt, "", "", 10};
    CHECK(w.pk_hub.store().Search(back).value().size() == 1);
  }
}

namespace ncen::storage {
namespace {

Bytes ReportPayload(const std::string& country) {
  nlohmann::ordered_json r = {{"reference", "0123456789abcdef0123456789abcdef"},
                              {"date", "2026-11-02"},
                              {"country", country},
                              {"goods", {{{"category", "drugs"}, {"quantity", 2}, {"unit", "kg"}}}}};
  return RecordFromJson(RecordType::kSeizureReport, r).value();
}

// A record id; for a report, with the tag of `country` (sharing.md §4).
RecordId IdFor(RecordType type, const std::string& country) {
  RecordId id = NewRecordId(UnixMillisNow());
  if (type == RecordType::kSeizureReport) SetReportCountryTag(id, country);
  return id;
}

// A record entry signed by hand (whatever the author's certificate says).
Entry HandMadeRecord(TestNode& author, Scope scope, RecordType type, Bytes payload, const std::string& id_country,
                     Op op = Op::kPut) {
  EntryHeader h;
  h.author = author.key();
  h.scope = scope;
  h.seq = 1;
  h.timestamp_ms = UnixMillisNow();
  h.record_id = IdFor(type, id_country);
  h.record_type = type;
  h.op = op;
  return MakeEntry(h, op == Op::kDelete ? Bytes() : std::move(payload), author.identity);
}

Status WriteLocal(TestNode& n, Scope scope, RecordType type, Bytes payload, const std::string& id_country = "PK") {
  LocalChange c{IdFor(type, id_country), type, Op::kPut, std::move(payload), scope};
  return n.store().AppendLocal(n.identity, {&c, 1}).status();
}

}  // namespace

TEST_CASE("only a national hub releases, about its own country; nominal records stay national", "[membership][sharing]") {
  TwoCountries w;
  // The national hub's report goes to the regional hub and the region's other hub.
  REQUIRE(WriteLocal(w.pk_hub, Scope::kRegional, RecordType::kSeizureReport, ReportPayload("PK")).ok());
  for (TestNode* to : {&w.regional, &w.af_hub}) {
    auto report = to->store().ApplyBatch(testing::RecordEntries(w.pk_hub.store()));
    REQUIRE(report.status.ok());
    CHECK(report.refused.empty());
    CHECK(report.applied == 1);
  }

  // Refused where they are written...
  CHECK(WriteLocal(w.pk_post, Scope::kRegional, RecordType::kSeizureReport, ReportPayload("PK")).code() ==
        StatusCode::kFailedPrecondition);
  CHECK(WriteLocal(w.pk_hub, Scope::kRegional, RecordType::kSeizureReport, ReportPayload("AF")).code() ==
        StatusCode::kFailedPrecondition);
  CHECK(WriteLocal(w.pk_hub, Scope::kRegional, RecordType::kSeizureReport, ReportPayload("PK"), "AF").code() ==
        StatusCode::kFailedPrecondition);
  CHECK(WriteLocal(w.regional, Scope::kRegional, RecordType::kSeizureReport, ReportPayload("PK")).code() ==
        StatusCode::kFailedPrecondition);
  CHECK(WriteLocal(w.pk_hub, Scope::kRegional, RecordType::kSeizure, testing::SeizurePayload("nominal")).code() ==
        StatusCode::kFailedPrecondition);
  CHECK(WriteLocal(w.pk_hub, Scope::kNational, RecordType::kSeizureReport, ReportPayload("PK")).code() ==
        StatusCode::kInvalidArgument);

  // ... and everywhere they arrive, signed by hand.
  struct Case {
    TestNode* author;
    Scope scope;
    RecordType type;
    Bytes payload;
    const char* why;
    std::string id_country = "PK";
    Op op = Op::kPut;
  };
  std::vector<Case> cases = {
      {&w.pk_post, Scope::kRegional, RecordType::kSeizureReport, ReportPayload("PK"), "may not write scope regional"},
      {&w.pk_post, Scope::kGlobal, RecordType::kSeizureReport, ReportPayload("PK"), "may not"},
      {&w.af_hub, Scope::kRegional, RecordType::kSeizureReport, ReportPayload("PK"), "released a seizure_report about PK",
       "AF"},
      // Another country's report: overwritten, withdrawn (a delete names no
      // country but its id does), or quarantined from another scope.
      {&w.af_hub, Scope::kRegional, RecordType::kSeizureReport, ReportPayload("AF"), "whose id is not of AF"},
      {&w.af_hub, Scope::kRegional, RecordType::kSeizureReport, {}, "whose id is not of AF", "PK", Op::kDelete},
      {&w.af_hub, Scope::kGlobal, RecordType::kSeizureReport, ReportPayload("AF"), "whose id is not of AF"},
      {&w.regional, Scope::kRegional, RecordType::kSeizureReport, ReportPayload("PK"), "only a national hub may"},
      {&w.pk_hub, Scope::kGlobal, RecordType::kSeizure, testing::SeizurePayload("nominal"), "nominal records stay national"},
      {&w.ir_hub, Scope::kGlobal, RecordType::kSuspect,
       RecordFromJson(RecordType::kSuspect, nlohmann::ordered_json{{"surname", "Nominalov"}}).value(),
       "nominal records stay national"},
  };
  for (Case& c : cases) {
    Entry e = HandMadeRecord(*c.author, c.scope, c.type, c.payload, c.id_country, c.op);
    for (TestNode* to : {&w.regional, &w.ir_hub}) {
      INFO(c.why << " at " << to->store().meta().name);
      auto report = to->store().ApplyBatch({&e, 1});
      REQUIRE(report.status.ok());
      REQUIRE(report.refused.size() == 1);
      CHECK(report.refused[0].error == EntryError::kNotAuthorized);
      // Outside the region the feed is refused before its type is looked at.
      if (to == &w.regional) CHECK(report.refused[0].message.find(c.why) != std::string::npos);
      CHECK_FALSE(HoldsAnyOf(to->store(), c.author->key(), c.scope));
    }
  }
  // A report in scope national is no entry at all.
  Entry national = HandMadeRecord(w.pk_post, Scope::kNational, RecordType::kSeizureReport, ReportPayload("PK"), "PK");
  CHECK(DecodeHeader(national.header_bytes).status().code() == StatusCode::kCorruption);
}

}  // namespace ncen::storage
