// Entries a hostile member can sign and relay (issue 11): each is refused,
// or quarantines what it touches the same way on every node, and none of
// them blocks another feed, poisons a record for its owner, or breaks a
// store. Each test names the scenario it covers.
#include <lmdb.h>

#include <catch2/catch.hpp>

#include "crypto/seal.h"
#include "storage/message_format.h"
#include "storage/record_state.h"
#include <filesystem>

#include "storage/record_json.h"
#include "tests/support/store_fixture.h"

using namespace ncen;
using namespace ncen::storage;
using ncen::testing::TestStore;

namespace {

// A node: an identity and its store.
struct Office {
  explicit Office(uint8_t n) : identity(testing::IdentityFromNumber(n)), t(identity) {}
  crypto::Identity identity;
  TestStore t;
  Store& store() { return *t.store; }

  RecordId Create(const std::string& marker, Scope scope = Scope::kNational) {
    LocalChange c{NewRecordId(UnixMillisNow()), RecordType::kSeizure, Op::kPut,
                  testing::SeizurePayload(marker), scope};
    REQUIRE(store().AppendLocal(identity, {&c, 1}).ok());
    return c.id;
  }
  Status Update(const RecordId& id, const std::string& marker, Op op = Op::kPut) {
    auto view = store().GetRecord(id);
    if (!view.ok()) return view.status();
    LocalChange c{id, view->state.type, op, op == Op::kDelete ? Bytes{} : testing::SeizurePayload(marker),
                  view->state.scope};
    return store().AppendLocal(identity, {&c, 1}).status();
  }
  // Everything `other` holds that this one does not, in one batch.
  ApplyReport SyncFrom(Office& other) { return store().ApplyBatch(testing::AllEntries(other.store())); }
};

// An entry of `author`'s feed in `scope` continuing what `holder` holds of it.
Entry NextEntry(const crypto::Identity& author, Store& holder, EntryHeader h, Bytes payload,
                Scope scope = Scope::kNational) {
  h.author = author.public_key();
  h.scope = scope;
  h.seq = 1;
  h.prev = {};
  for (const auto& head : holder.Frontier().value()) {
    if (head.feed == FeedId{author.public_key(), scope}) {
      h.seq = head.seq + 1;
      h.prev = head.head;
    }
  }
  h.timestamp_ms = UnixMillisNow();
  return MakeEntry(h, std::move(payload), author);
}

const Refusal* RefusalOf(const ApplyReport& r, const crypto::Identity& author) {
  for (const auto& refusal : r.refused) {
    if (refusal.feed.author == author.public_key()) return &refusal;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("scenario 3: a context naming a dot nobody wrote is refused, and the owner keeps editing",
          "[storage][hostile]") {
  Office owner(1), hub(2);
  auto mallory = testing::IdentityFromNumber(66);
  RecordId id = owner.Create("the owner's seizure");
  REQUIRE(hub.SyncFrom(owner).refused.empty());

  // Mallory claims to have seen every edit the owner will ever make.
  EntryHeader h;
  h.record_id = id;
  h.context = hub.store().GetRecord(id)->state.CausalContext();
  h.context.Add({owner.identity.public_key(), ~uint64_t{0}});
  Entry poisoned = NextEntry(mallory, hub.store(), h, testing::SeizurePayload("mallory's version"));
  ApplyReport r = hub.store().ApplyBatch(std::vector<Entry>{poisoned});
  REQUIRE(r.status.ok());
  REQUIRE(r.refused.size() == 1);
  CHECK(r.refused[0].error == EntryError::kMissingDependency);
  CHECK(hub.store().GetRecord(id)->state.versions.size() == 1);

  // The owner's next edit reaches the hub and changes the record there.
  REQUIRE(owner.Update(id, "the owner's second version").ok());
  REQUIRE(hub.SyncFrom(owner).refused.empty());
  auto view = hub.store().GetRecord(id).value();
  REQUIRE(view.state.versions.size() == 1);
  CHECK(view.state.versions[0].dot.author == owner.identity.public_key());
  CHECK(view.state.versions[0].dot.seq == 2);
  CHECK(hub.store().VerifyLog().ok());
}

TEST_CASE("scenario 3: a context must cover its author's previous entry and not its future",
          "[storage][hostile]") {
  Office owner(1), hub(2);
  auto mallory = testing::IdentityFromNumber(66);
  RecordId id = owner.Create("x");
  REQUIRE(hub.SyncFrom(owner).refused.empty());
  EntryHeader h;
  h.record_id = id;
  h.context = hub.store().GetRecord(id)->state.CausalContext();

  SECTION("its own future") {
    EntryHeader future = h;
    future.context.Add({mallory.public_key(), 5});
    ApplyReport r = hub.store().ApplyBatch(
        std::vector<Entry>{NextEntry(mallory, hub.store(), future, testing::SeizurePayload("m"))});
    REQUIRE(r.refused.size() == 1);
    CHECK(r.refused[0].error == EntryError::kBadContext);
  }
  SECTION("skipping its previous version: one key adds at most one version") {
    Entry first = NextEntry(mallory, hub.store(), h, testing::SeizurePayload("m1"));
    REQUIRE(hub.store().ApplyBatch(std::vector<Entry>{first}).refused.empty());
    // A second version that does not cover the first: a sibling of itself.
    EntryHeader again = h;
    again.record_id = id;
    Entry second = NextEntry(mallory, hub.store(), again, testing::SeizurePayload("m2"));
    ApplyReport r = hub.store().ApplyBatch(std::vector<Entry>{second});
    REQUIRE(r.refused.size() == 1);
    CHECK(r.refused[0].error == EntryError::kBadContext);
    CHECK(hub.store().GetRecord(id)->state.versions.size() == 1);
  }
}

TEST_CASE("scenario 3: an edit arriving before the entry its context names waits for it in the batch",
          "[storage]") {
  Office a(1), b(2), target(3);
  RecordId id = a.Create("a's");
  REQUIRE(b.SyncFrom(a).refused.empty());
  REQUIRE(b.Update(id, "b edits a's").ok());
  // b's edit first, then a's entry it names: taken in one batch.
  std::vector<Entry> batch = testing::AllEntries(b.store());
  std::reverse(batch.begin(), batch.end());
  ApplyReport r = target.store().ApplyBatch(batch);
  REQUIRE(r.refused.empty());
  CHECK(r.applied == 2);
  // Alone, it waits for a later batch: refused for now, taken then.
  Office later(4);
  r = later.store().ApplyBatch(std::vector<Entry>{testing::AllEntries(b.store())[1]});
  REQUIRE(r.refused.size() == 1);
  CHECK(r.refused[0].error == EntryError::kMissingDependency);
  REQUIRE(later.SyncFrom(b).refused.empty());
  CHECK(later.store().RecordStateDigest().value() == b.store().RecordStateDigest().value());
}

TEST_CASE("scenario 4: one id under two types quarantines the record the same way on every node, "
          "and every other feed keeps syncing",
          "[storage][hostile]") {
  Office owner(1), first(2), second(3), bystander(4);
  auto mallory = testing::IdentityFromNumber(66);
  RecordId id = owner.Create("a real seizure");
  bystander.Create("someone else's record");
  // Mallory signs a suspect under the same id.
  EntryHeader h;
  h.record_id = id;
  h.record_type = RecordType::kSuspect;
  auto suspect = RecordFromJson(RecordType::kSuspect, nlohmann::ordered_json{{"surname", "Mallory"}});
  REQUIRE(suspect.ok());
  Entry clash = NextEntry(mallory, first.store(), h, *suspect);

  // One node gets the seizure first, the other Mallory's suspect first.
  auto owners = testing::AllEntries(owner.store());
  auto others = testing::AllEntries(bystander.store());
  std::vector<Entry> batch1 = owners;
  batch1.push_back(clash);
  batch1.insert(batch1.end(), others.begin(), others.end());
  std::vector<Entry> batch2 = {clash};
  batch2.insert(batch2.end(), others.begin(), others.end());
  batch2.insert(batch2.end(), owners.begin(), owners.end());
  for (auto* node : {&first, &second}) {
    ApplyReport r = node->store().ApplyBatch(node == &first ? batch1 : batch2);
    REQUIRE(r.status.ok());
    CHECK(r.refused.empty());
    CHECK(r.applied == 3);
  }
  CHECK(first.store().RecordStateDigest().value() == second.store().RecordStateDigest().value());
  auto view = first.store().GetRecord(id).value();
  CHECK(view.state.quarantined());
  CHECK(view.state.versions.empty());
  CHECK(first.store().Conflicts(10)->size() == 1);
  CHECK(first.store().Conflicts(10)->front().quarantined);
  CHECK(first.store().VerifyLog().ok());
  // Nobody writes to it any more, and that is said.
  LocalChange c{id, RecordType::kSeizure, Op::kPut, testing::SeizurePayload("edit"), Scope::kNational};
  auto write = first.store().AppendLocal(first.identity, {&c, 1});
  CHECK(write.status().code() == StatusCode::kFailedPrecondition);
  CHECK(write.status().message().find("quarantined") != std::string::npos);
}

TEST_CASE("a message under a seizure's id in another scope quarantines the record; its state round-trips",
          "[storage][hostile][messages]") {
  // Seizure (national) and message (global): classes 0 and 17, past the
  // 16 bits of a version-2 record state (docs/log-format.md, marker 0xfd).
  Office owner(1), first(2), second(3);
  auto mallory = testing::IdentityFromNumber(66);
  RecordId id = owner.Create("a real seizure");
  crypto::ContentKey key = crypto::NewContentKey();
  crypto::PublicKey to[1] = {first.identity.public_key()};
  SealedMessage sealed;
  sealed.keys = crypto::SealKey(key, to).value();
  sealed.content = crypto::SealContent(key, AsBytes(std::string("not a real message")), {});
  EntryHeader h;
  h.record_id = id;
  h.record_type = RecordType::kMessage;
  Entry clash = NextEntry(mallory, first.store(), h, EncodeSealedMessage(sealed), Scope::kGlobal);
  auto owners = testing::AllEntries(owner.store());
  std::vector<Entry> batch1 = owners, batch2 = {clash};
  batch1.push_back(clash);
  batch2.insert(batch2.end(), owners.begin(), owners.end());
  REQUIRE(first.store().ApplyBatch(batch1).applied == 2);
  REQUIRE(second.store().ApplyBatch(batch2).applied == 2);
  CHECK(first.store().RecordStateDigest().value() == second.store().RecordStateDigest().value());
  auto view = first.store().GetRecord(id).value();
  CHECK(view.state.quarantined());
  CHECK(view.state.clash_classes == ((1u << 0) | (1u << 17)));
  CHECK(view.state.type == RecordType::kSeizure);
  auto encoded = EncodeRecordState(view.state);
  CHECK(encoded[0] == 0xfd);
  auto decoded = DecodeRecordState(encoded);
  REQUIRE(decoded.ok());
  CHECK(decoded->clash_classes == view.state.clash_classes);
  // One encoding per state: the wide marker with a value that fits is refused.
  RecordState narrow;
  narrow.type = RecordType::kSeizure;
  narrow.clash_classes = (1u << 0) | (1u << 3);
  auto two = EncodeRecordState(narrow);
  CHECK(two[0] == 0xfe);
  Bytes forged = {0xfd, two[1], two[2], 0, 0};
  forged.insert(forged.end(), two.begin() + 3, two.end());
  CHECK_FALSE(DecodeRecordState(forged).ok());
  CHECK(first.store().VerifyLog().ok());
}

TEST_CASE("scenario 5: a withheld payload is refused; a later copy with the payload fills in a missing one",
          "[storage][hostile]") {
  Office owner(1), hub(2);
  RecordId id = owner.Create("searchable heroin");
  Entry withheld = testing::AllEntries(owner.store())[0];
  withheld.has_payload = false;
  withheld.payload.clear();
  ApplyReport r = hub.store().ApplyBatch(std::vector<Entry>{withheld});
  REQUIRE(r.refused.size() == 1);
  CHECK(r.refused[0].error == EntryError::kWithheldPayload);
  CHECK(hub.store().Stats()->entries == 0);

  // A store from milestone 1 could hold it without its payload: strip it
  // on disk (byte surgery on the log value: flags 0, payload gone).
  REQUIRE(hub.SyncFrom(owner).refused.empty());
  hub.t.store.reset();
  {
    MDB_env* env = nullptr;
    REQUIRE(mdb_env_create(&env) == 0);
    mdb_env_set_maxdbs(env, 32);
    REQUIRE(mdb_env_open(env, hub.t.dir.path().c_str(), 0, 0600) == 0);
    MDB_txn* txn = nullptr;
    REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
    MDB_dbi log;
    REQUIRE(mdb_dbi_open(txn, "log", 0, &log) == 0);
    MDB_cursor* cursor = nullptr;
    REQUIRE(mdb_cursor_open(txn, log, &cursor) == 0);
    MDB_val key, value;
    REQUIRE(mdb_cursor_get(cursor, &key, &value, MDB_FIRST) == 0);
    Bytes v(static_cast<uint8_t*>(value.mv_data), static_cast<uint8_t*>(value.mv_data) + value.mv_size);
    uint32_t header_len = GetU32BE(v.data() + 1);
    v.resize(5 + header_len + 64);
    v[0] = 0;
    MDB_val stripped{v.size(), v.data()};
    REQUIRE(mdb_cursor_put(cursor, &key, &stripped, MDB_CURRENT) == 0);
    mdb_cursor_close(cursor);
    REQUIRE(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
  }
  hub.t.store = Store::Open(hub.t.dir.path(), {uint64_t{1} << 30, false}).value();
  CHECK(hub.store().GetRecord(id)->payloads[0].empty());

  r = hub.SyncFrom(owner);
  REQUIRE(r.status.ok());
  CHECK(r.duplicates == 1);
  CHECK(r.payloads_filled == 1);
  CHECK_FALSE(hub.store().GetRecord(id)->payloads[0].empty());
  SearchQuery q;
  q.text = "heroin";
  CHECK(hub.store().Search(q)->size() == 1);
  CHECK(hub.store().VerifyLog().ok());
}

TEST_CASE("scenario 6: thousands of versions of one record are refused without slowing the batch down",
          "[storage][hostile]") {
  Office owner(1), hub(2);
  RecordId id = owner.Create("target");
  REQUIRE(hub.SyncFrom(owner).refused.empty());
  SECTION("one key: its second version must cover its first") {
    auto mallory = testing::IdentityFromNumber(66);
    EntryHeader h;
    h.record_id = id;
    h.context = hub.store().GetRecord(id)->state.CausalContext();
    // 12,000 entries of one feed, each a version of the record that does
    // not cover the one before it (in milestone 1: 37 s of apply, then a
    // record that no longer decoded).
    std::vector<Entry> batch;
    Hash256 prev{};
    for (uint64_t seq = 1; seq <= 12000; ++seq) {
      EntryHeader e = h;
      e.author = mallory.public_key();
      e.seq = seq;
      e.prev = prev;
      e.timestamp_ms = 1767225600000 + static_cast<int64_t>(seq);
      Entry entry = MakeEntry(e, testing::SeizurePayload("v"), mallory);
      prev = entry.hash();
      batch.push_back(std::move(entry));
    }
    ApplyReport r = hub.store().ApplyBatch(batch);
    REQUIRE(r.status.ok());
    REQUIRE(r.refused.size() == 1);
    CHECK(r.refused[0].error == EntryError::kBadContext);
    CHECK(r.refused[0].seq == 2);
    CHECK(r.applied == 1);
    auto versions = hub.store().GetRecord(id)->state.versions;
    REQUIRE(versions.size() == 1);  // its first replaced the owner's, whose dot it named
    CHECK(versions[0].dot.author == mallory.public_key());
  }
  SECTION("many keys: at most 1,024 versions, the rest refused, the record still decodes") {
    std::vector<Entry> batch;
    EntryHeader h;
    h.record_id = id;
    h.context = {};  // concurrent with the owner's version: siblings
    for (int k = 0; k < 1100; ++k) {
      std::array<uint8_t, 32> seed{};
      seed[0] = static_cast<uint8_t>(k);
      seed[1] = static_cast<uint8_t>(k >> 8);
      seed[2] = 0x99;
      auto key = crypto::Identity::FromSeed(seed);
      EntryHeader e = h;
      e.author = key.public_key();
      e.seq = 1;
      e.timestamp_ms = 1767225600000 + k;
      batch.push_back(MakeEntry(e, testing::SeizurePayload("k"), key));
    }
    ApplyReport r = hub.store().ApplyBatch(batch);
    REQUIRE(r.status.ok());
    CHECK(r.applied == limits::kRecordVersionsMax - 1);
    CHECK(r.refused.size() == 1100 - (limits::kRecordVersionsMax - 1));
    for (const auto& refusal : r.refused) CHECK(refusal.error == EntryError::kTooManyVersions);
    auto view = hub.store().GetRecord(id);
    REQUIRE(view.ok());
    CHECK(view->state.versions.size() == limits::kRecordVersionsMax);
    CHECK(hub.store().VerifyLog().ok());
    // A resolve names every sibling: within the 1,024 dots a context may hold.
    LocalChange c{id, RecordType::kSeizure, Op::kResolve, testing::SeizurePayload("settled")};
    REQUIRE(hub.store().AppendLocal(hub.identity, {&c, 1}).ok());
    CHECK(hub.store().GetRecord(id)->state.versions.size() == 1);
  }
}

TEST_CASE("scenario 8: a record written by 40 nodes gets a one-segment header that decodes everywhere",
          "[storage][hostile]") {
  Office hub(1), post(2);
  RecordId id = hub.Create("a popular company record, in seizure form");
  for (uint8_t n = 100; n < 140; ++n) {
    Office editor(n);
    REQUIRE(editor.SyncFrom(hub).refused.empty());
    REQUIRE(editor.Update(id, "edit by office " + std::to_string(n)).ok());
    REQUIRE(hub.SyncFrom(editor).refused.empty());
  }
  REQUIRE(hub.Update(id, "the hub's edit").ok());
  auto entries = testing::AllEntries(hub.store());
  const Entry* last = nullptr;
  for (const auto& e : entries) {
    if (e.header.author == hub.identity.public_key() && (!last || e.header.seq > last->header.seq)) last = &e;
  }
  REQUIRE(last);
  CHECK(last->header.context.dots.size() >= 40);
  CHECK(GetU32BE(last->header_bytes.data()) == 0);  // segment count - 1
  CHECK(DecodeHeader(last->header_bytes).ok());
  CHECK(hub.store().VerifyLog().ok());
  ApplyReport r = post.SyncFrom(hub);
  REQUIRE(r.status.ok());
  CHECK(r.refused.empty());
  CHECK(post.store().RecordStateDigest().value() == hub.store().RecordStateDigest().value());
}

TEST_CASE("scenario 9: every field at its largest fits, reads back, is indexed and replicates",
          "[storage][hostile]") {
  Office a(1), b(2);
  std::string longest(limits::kRecordTextBytesMax, 'x');
  for (size_t i = 0; i < longest.size(); i += 100) longest[i] = ' ';
  nlohmann::ordered_json goods = nlohmann::ordered_json::array();
  for (int i = 0; i < 1000; ++i) {
    goods.push_back({{"category", "drugs"}, {"subtype", "heroin"}, {"quantity", 1.5}, {"unit", "kg"},
                     {"description", std::string(400, 'd')}});
  }
  nlohmann::ordered_json j = {{"date", "2026-11-02"},
                              {"country", "PK"},
                              {"office", "PKTKM"},
                              {"reference", std::string(64, 'R')},
                              {"goods", goods},
                              {"narrative", longest},
                              {"concealment_note", std::string(2000, 'c')}};
  auto payload = RecordFromJson(RecordType::kSeizure, j);
  INFO(payload.status().ToString());
  REQUIRE(payload.ok());
  CHECK(payload->size() > 400000);
  CHECK(GetU32BE(payload->data()) == 0);  // one segment
  LocalChange c{NewRecordId(UnixMillisNow()), RecordType::kSeizure, Op::kPut, *payload};
  REQUIRE(a.store().AppendLocal(a.identity, {&c, 1}).ok());
  auto view = a.store().GetRecord(c.id).value();
  auto back = RecordToJson(RecordType::kSeizure, view.payloads[0]);
  REQUIRE(back.ok());
  CHECK((*back)["narrative"] == longest);
  SearchQuery q;
  q.text = std::string(64, 'R');
  CHECK(a.store().Search(q)->size() == 1);
  ApplyReport r = b.SyncFrom(a);
  REQUIRE(r.refused.empty());
  CHECK(b.store().GetRecord(c.id).ok());
}

TEST_CASE("scenario 10: received text that is not valid UTF-8 is refused at ingest", "[storage][hostile]") {
  Office a(1), hub(2);
  auto mallory = testing::IdentityFromNumber(66);
  Bytes p = testing::SeizurePayload("MARKER-TEXT");
  std::string marker = "MARKER-TEXT";
  auto at = std::search(p.begin(), p.end(), marker.begin(), marker.end());
  REQUIRE(at != p.end());
  at[3] = 0xff;
  EntryHeader h;
  h.record_id = NewRecordId(UnixMillisNow());
  Entry bad = NextEntry(mallory, hub.store(), h, p);
  a.Create("honest");
  std::vector<Entry> batch = {bad};
  auto honest = testing::AllEntries(a.store());
  batch.insert(batch.end(), honest.begin(), honest.end());
  ApplyReport r = hub.store().ApplyBatch(batch);
  REQUIRE(r.refused.size() == 1);
  CHECK(r.refused[0].error == EntryError::kMalformedPayload);
  CHECK(r.refused[0].message.find("UTF-8") != std::string::npos);
  CHECK(r.applied == 1);
  // And a payload that is no record at all, or a delete carrying one.
  CHECK(ValidateRecordPayload(RecordType::kSeizure, Bytes(64, 0x41)).code() == StatusCode::kCorruption);
  CHECK_FALSE(RefusalOf(r, a.identity));
}

namespace {

// Entry 1 of `author`'s national feed: a new seizure whose context names
// seq 1 of `named`'s feed (a cycle when `named`'s entry 1 names it back, as
// around a node restored from an old copy that writes a lost seq again).
Entry FirstNaming(const crypto::Identity& author, const crypto::Identity& named, const std::string& marker,
                  uint8_t record) {
  EntryHeader h;
  h.author = author.public_key();
  h.scope = Scope::kNational;
  h.seq = 1;
  h.timestamp_ms = 1767225600000 + record;
  h.record_id = testing::FixedRecordId(record);
  h.record_type = RecordType::kSeizure;
  h.op = Op::kPut;
  h.context.dots.push_back(Dot{named.public_key(), 1});
  return MakeEntry(h, testing::SeizurePayload(marker), author);
}

}  // namespace

TEST_CASE("entries naming each other are taken whole from one batch, and never in part", "[storage]") {
  auto a = testing::IdentityFromNumber(1), b = testing::IdentityFromNumber(2);
  Entry a1 = FirstNaming(a, b, "a names b", 1);
  Entry b1 = FirstNaming(b, a, "b names a", 2);

  SECTION("both in one batch: both taken") {
    Office target(3);
    ApplyReport r = target.store().ApplyBatch(std::vector<Entry>{a1, b1});
    REQUIRE(r.status.ok());
    CHECK(r.refused.empty());
    CHECK(r.applied == 2);
    CHECK(target.store().GetRecord(testing::FixedRecordId(1)).ok());
    CHECK(target.store().GetRecord(testing::FixedRecordId(2)).ok());
    CHECK(target.store().VerifyLog().ok());
  }
  SECTION("one at a time: each waits for the other, and neither is taken") {
    Office target(3);
    for (const Entry& e : {a1, b1}) {
      ApplyReport r = target.store().ApplyBatch(std::vector<Entry>{e});
      REQUIRE(r.refused.size() == 1);
      CHECK(r.refused[0].error == EntryError::kMissingDependency);
    }
    CHECK(target.store().Stats()->entries == 0);
  }
  SECTION("one side of the cycle invalid: neither is taken") {
    Office target(3);
    Entry bad = b1;
    bad.payload = Bytes{1, 2, 3};  // not a record body, and not the hashed payload
    ApplyReport r = target.store().ApplyBatch(std::vector<Entry>{a1, bad});
    REQUIRE(r.refused.size() == 2);
    CHECK(RefusalOf(r, a)->error == EntryError::kMissingDependency);
    CHECK(target.store().Stats()->entries == 0);
  }
  SECTION("one side's signature fails: the batch is applied again without it, and neither is taken") {
    Office target(3);
    Entry forged = b1;
    forged.signature[0] ^= 1;
    ApplyReport r = target.store().ApplyBatch(std::vector<Entry>{a1, forged});
    REQUIRE(r.status.ok());
    REQUIRE(r.refused.size() == 2);
    CHECK(RefusalOf(r, b)->error == EntryError::kBadSignature);
    CHECK(RefusalOf(r, a)->error == EntryError::kMissingDependency);
    CHECK(target.store().Stats()->entries == 0);
    CHECK(target.store().VerifyLog().ok());
  }
  SECTION("a third feed waiting on the cycle is taken with it") {
    Office target(3);
    auto c = testing::IdentityFromNumber(4);
    Entry c1 = FirstNaming(c, a, "c names a", 3);
    ApplyReport r = target.store().ApplyBatch(std::vector<Entry>{c1, a1, b1});
    CHECK(r.refused.empty());
    CHECK(r.applied == 3);
  }
}
