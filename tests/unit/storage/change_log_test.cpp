// Byte surgery on the change log: every way an entry can be wrong is
// rejected with its own error, and the store is unchanged.
#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/support/store_fixture.h"

using namespace ncen;
using namespace ncen::storage;
using ncen::testing::TestStore;

namespace {

struct Fixture {
  crypto::Identity author = testing::IdentityFromNumber(1);
  TestStore source{author};
  TestStore target{testing::IdentityFromNumber(2)};
  std::vector<Entry> entries;

  Fixture() {
    for (uint8_t i = 0; i < 3; ++i) {
      LocalChange c{testing::FixedRecordId(i), RecordType::kSeizure, Op::kPut,
                    testing::SeizurePayload("entry " + std::to_string(i))};
      REQUIRE(source.store->AppendLocal(author, {&c, 1}).ok());
    }
    entries = testing::AllEntries(*source.store);
    REQUIRE(entries.size() == 3);
  }

  // Applies `batch` and checks that its feed was refused with `expected`,
  // after `taken` entries were taken (none: the target stayed exactly as it was).
  void ExpectRefused(const std::vector<Entry>& batch, EntryError expected, uint64_t taken = 0) {
    auto frontier_before = target.store->FrontierDigest().value();
    auto state_before = target.store->RecordStateDigest().value();
    uint64_t before = target.store->Stats()->entries;
    ApplyReport report = target.store->ApplyBatch(batch);
    INFO(report.status.ToString());
    REQUIRE(report.status.ok());
    REQUIRE(report.refused.size() == 1);
    INFO(report.refused[0].message);
    CHECK(report.refused[0].error == expected);
    CHECK(report.applied == taken);
    CHECK(target.store->Stats()->entries == before + taken);
    if (taken == 0) {
      CHECK(target.store->FrontierDigest().value() == frontier_before);
      CHECK(target.store->RecordStateDigest().value() == state_before);
    }
  }
};

Entry Reheader(const Entry& e, const std::function<void(EntryHeader&)>& edit) {
  Entry out = e;
  edit(out.header);
  out.header_bytes = EncodeHeader(out.header);
  return out;  // keeps the old signature
}

}  // namespace

TEST_CASE("change log accepts a valid run and treats an exact duplicate as a no-op", "[storage]") {
  Fixture f;
  ApplyReport first = f.target.store->ApplyBatch(f.entries);
  REQUIRE(first.status.ok());
  CHECK(first.applied == 3);
  ApplyReport again = f.target.store->ApplyBatch(f.entries);
  REQUIRE(again.status.ok());
  CHECK(again.applied == 0);
  CHECK(again.duplicates == 3);
  CHECK(f.target.store->FrontierDigest().value() == f.source.store->FrontierDigest().value());
  CHECK(f.target.store->RecordStateDigest().value() == f.source.store->RecordStateDigest().value());
}

TEST_CASE("change log rejects a payload whose bytes do not match the header's hash", "[storage]") {
  Fixture f;
  auto batch = f.entries;
  batch[2].payload[batch[2].payload.size() / 2] ^= 0x01;
  f.ExpectRefused(batch, EntryError::kPayloadMismatch, 2);  // the two before it are taken
}

TEST_CASE("change log rejects an entry whose signature has a flipped bit", "[storage]") {
  Fixture f;
  for (size_t bit : {0, 100, 511}) {
    auto batch = f.entries;
    batch[2].signature[bit / 8] ^= static_cast<uint8_t>(1 << (bit % 8));
    // The feed's last signature vouches for its entries in the batch: when
    // it fails, none of them is taken.
    f.ExpectRefused(batch, EntryError::kBadSignature);
  }
}

TEST_CASE("change log rejects a header with a flipped bit in a signed field", "[storage]") {
  Fixture f;
  auto batch = f.entries;
  batch[2] = Reheader(batch[2], [](EntryHeader& h) { h.timestamp_ms ^= 1; });
  f.ExpectRefused(batch, EntryError::kBadSignature);
  batch = f.entries;
  // Entry 3's prev no longer matches, and entry 2, the last one that would be
  // taken, has a bad signature: nothing of the feed is taken.
  batch[1] = Reheader(batch[1], [](EntryHeader& h) { h.record_id[3] ^= 0x80; });
  f.ExpectRefused(batch, EntryError::kBadSignature);
}

TEST_CASE("change log rejects a header whose raw bytes were damaged", "[storage]") {
  Fixture f;
  // Flip every bit of the header in turn: the result must never decode and
  // apply as something else.
  const Entry& e = f.entries[0];
  for (size_t bit = 0; bit < e.header_bytes.size() * 8; bit += 7) {
    Bytes damaged = e.header_bytes;
    damaged[bit / 8] ^= static_cast<uint8_t>(1 << (bit % 8));
    auto header = DecodeHeader(damaged);
    if (!header.ok()) continue;  // kMalformed: caught at decoding
    Entry bad = e;
    bad.header_bytes = damaged;
    bad.header = *header;
    ApplyReport r = f.target.store->ApplyBatch(std::vector<Entry>{bad});
    CHECK(r.refused.size() == 1);
  }
  CHECK(f.target.store->Stats()->entries == 0);
}

TEST_CASE("change log rejects an entry whose prev hash has a flipped bit", "[storage]") {
  Fixture f;
  auto batch = f.entries;
  batch[1] = Reheader(batch[1], [](EntryHeader& h) { h.prev[0] ^= 0x01; });
  f.ExpectRefused(batch, EntryError::kPrevMismatch, 1);
}

TEST_CASE("change log rejects a truncated entry at decoding", "[storage]") {
  Fixture f;
  Bytes encoded = EncodeEntry(f.entries[0]);
  for (size_t len : {size_t{0}, size_t{3}, size_t{20}, encoded.size() - 1}) {
    ByteView view(encoded.data(), len);
    auto decoded = DecodeEntry(view);
    CHECK_FALSE(decoded.ok());
    CHECK(decoded.status().code() == StatusCode::kCorruption);
  }
  ByteView whole(encoded);
  auto decoded = DecodeEntry(whole);
  REQUIRE(decoded.ok());
  CHECK(whole.empty());
  CHECK(decoded->header_bytes == f.entries[0].header_bytes);
}

TEST_CASE("change log rejects an entry claiming another author", "[storage]") {
  Fixture f;
  auto other = testing::IdentityFromNumber(3);
  auto batch = std::vector<Entry>{Reheader(f.entries[0], [&](EntryHeader& h) { h.author = other.public_key(); })};
  f.ExpectRefused(batch, EntryError::kBadSignature);
}

TEST_CASE("change log rejects a gap in a feed", "[storage]") {
  Fixture f;
  f.ExpectRefused({f.entries[1]}, EntryError::kGap);
  f.ExpectRefused({f.entries[0], f.entries[2]}, EntryError::kGap, 1);
}

TEST_CASE("change log rejects a fork, records a fork report and changes nothing else",
          "[storage]") {
  Fixture f;
  // The same author (a cloned node, a stolen key) signs a second, different seq 3.
  EntryHeader h = f.entries[2].header;
  h.timestamp_ms += 1;
  Entry forked = MakeEntry(h, testing::SeizurePayload("the other seq 3"), f.author);
  REQUIRE(f.target.store->ApplyBatch(f.entries).status.ok());
  auto frontier = f.target.store->FrontierDigest().value();
  auto state = f.target.store->RecordStateDigest().value();
  ApplyReport r = f.target.store->ApplyBatch(std::vector<Entry>{forked});
  REQUIRE(r.refused.size() == 1);
  CHECK(r.refused[0].error == EntryError::kFork);
  CHECK(f.target.store->FrontierDigest().value() == frontier);
  CHECK(f.target.store->RecordStateDigest().value() == state);
  auto forks = f.target.store->Forks().value();
  REQUIRE(forks.size() == 1);
  CHECK(forks[0].seq == 3);
  CHECK(forks[0].feed.author == f.author.public_key());
  CHECK(forks[0].ours == f.entries[2].hash());
  CHECK(forks[0].theirs == forked.hash());
  // The report carries both signed headers: evidence another node can check.
  REQUIRE(forks[0].has_evidence());
  CHECK(VerifyForkEvidence(forks[0].a, forks[0].b).ok());
  // Nothing more of a forked feed is taken until an administrator clears it.
  r = f.target.store->ApplyBatch(std::vector<Entry>{MakeEntry(
      [&] {
        EntryHeader next = f.entries[2].header;
        next.seq = 4;
        next.prev = f.entries[2].hash();
        return next;
      }(),
      testing::SeizurePayload("seq 4"), f.author)});
  REQUIRE(r.refused.size() == 1);
  CHECK(r.refused[0].error == EntryError::kForkedFeed);
  REQUIRE(f.target.store->ClearFork(f.entries[2].header.feed()).ok());
  CHECK(f.target.store->Forks()->empty());
  CHECK(f.target.store->ClearFork(f.entries[2].header.feed()).code() == StatusCode::kNotFound);
}

TEST_CASE("a bad entry refuses its own feed in the batch and never another feed", "[storage]") {
  Fixture f;
  auto other_author = testing::IdentityFromNumber(3);
  TestStore other(other_author);
  LocalChange c{testing::FixedRecordId(30), RecordType::kSeizure, Op::kPut, testing::SeizurePayload("other")};
  REQUIRE(other.store->AppendLocal(other_author, {&c, 1}).ok());
  auto theirs = testing::AllEntries(*other.store);
  auto batch = std::vector<Entry>{f.entries[0], theirs[0], f.entries[1], f.entries[2]};
  batch[3].signature[0] ^= 1;
  ApplyReport r = f.target.store->ApplyBatch(batch);
  REQUIRE(r.status.ok());
  REQUIRE(r.refused.size() == 1);
  CHECK(r.refused[0].feed == f.entries[0].header.feed());
  CHECK(r.refused[0].error == EntryError::kBadSignature);
  CHECK(r.applied == 1);
  CHECK(f.target.store->GetRecord(testing::FixedRecordId(30)).ok());
  REQUIRE(f.target.store->ApplyBatch(std::vector<Entry>{f.entries[0]}).status.ok());
  CHECK(f.target.store->Stats()->entries == 2);
}

TEST_CASE("a damaged signature early in a run is caught although only the last one is verified",
          "[storage]") {
  Fixture f;
  auto batch = f.entries;
  batch[0].signature[5] ^= 0x10;  // the hash chain covers signatures
  f.ExpectRefused(batch, EntryError::kBadSignature);
  batch = {f.entries[0]};
  batch[0].signature[5] ^= 0x10;
  f.ExpectRefused(batch, EntryError::kBadSignature);
}

TEST_CASE("a forged entry is caught when a duplicate of its feed follows it in the batch",
          "[storage]") {
  // Only one signature per feed and batch is verified: it must be the one of
  // the entry that becomes the head, not merely the feed's last in the batch.
  Fixture f;
  REQUIRE(f.target.store->ApplyBatch(std::vector<Entry>{f.entries[0], f.entries[1]}).status.ok());
  Entry forged = Reheader(f.entries[2], [](EntryHeader& h) { h.timestamp_ms ^= 1; });
  ApplyReport r = f.target.store->ApplyBatch(std::vector<Entry>{forged, f.entries[0]});
  REQUIRE(r.refused.size() == 1);
  CHECK(r.refused[0].error == EntryError::kBadSignature);
  CHECK(f.target.store->Stats()->entries == 2);
  // Entries of one feed out of seq order are refused from the first that is;
  // what came before in order is taken.
  r = f.target.store->ApplyBatch(std::vector<Entry>{f.entries[2], f.entries[1]});
  REQUIRE(r.refused.size() == 1);
  CHECK(r.refused[0].error == EntryError::kOutOfOrder);
  CHECK(f.target.store->Stats()->entries == 3);
}

TEST_CASE("a batch may interleave feeds; each feed's entries stay in seq order", "[storage]") {
  Fixture f;
  auto other_author = testing::IdentityFromNumber(3);
  TestStore other(other_author);
  for (uint8_t i = 0; i < 3; ++i) {
    LocalChange c{testing::FixedRecordId(10 + i), RecordType::kSeizure, Op::kPut,
                  testing::SeizurePayload("other " + std::to_string(i))};
    REQUIRE(other.store->AppendLocal(other_author, {&c, 1}).ok());
  }
  auto theirs = testing::AllEntries(*other.store);
  std::vector<Entry> batch = {f.entries[0], theirs[0], f.entries[1], theirs[1], theirs[2], f.entries[2]};
  ApplyReport r = f.target.store->ApplyBatch(batch);
  REQUIRE(r.status.ok());
  CHECK(r.applied == 6);
  // A forged signature on a feed's last entry is still caught when the feeds interleave.
  TestStore fresh(testing::IdentityFromNumber(4));
  batch.back().signature[9] ^= 0x04;
  r = fresh.store->ApplyBatch(batch);
  REQUIRE(r.refused.size() == 1);
  CHECK(r.refused[0].error == EntryError::kBadSignature);
  CHECK(r.refused[0].feed == f.entries[0].header.feed());
  CHECK(fresh.store->Stats()->entries == 3);  // the other feed's three
}

TEST_CASE("a large batch is hashed on two threads and still names its first bad entry", "[storage]") {
  // Over 512 entries, ApplyBatch hashes payloads and entries ahead in chunks
  // on both threads; errors must still come back for the first bad entry.
  std::vector<Entry> batch;
  for (uint8_t n = 20; n < 22; ++n) {
    auto author = testing::IdentityFromNumber(n);
    TestStore source(author);
    std::vector<LocalChange> changes;
    for (int i = 0; i < 700; ++i) {
      changes.push_back({NewRecordId(1700000000000 + i), RecordType::kSeizure, Op::kPut,
                         testing::SeizurePayload("bulk " + std::to_string(i))});
    }
    REQUIRE(source.store->AppendLocal(author, changes).ok());
    auto entries = testing::AllEntries(*source.store);
    batch.insert(batch.end(), entries.begin(), entries.end());
  }
  REQUIRE(batch.size() == 1400);
  for (size_t bad : {size_t{3}, size_t{700}, size_t{1200}}) {
    auto damaged = batch;
    damaged[bad].payload[10] ^= 0x01;
    damaged[bad + 50].payload[10] ^= 0x01;  // a later one is not the one named
    TestStore target(testing::IdentityFromNumber(30));
    ApplyReport r = target.store->ApplyBatch(damaged);
    REQUIRE(r.refused.size() == 1);
    CHECK(r.refused[0].error == EntryError::kPayloadMismatch);
    CHECK(r.refused[0].index == bad);
    // The other feed whole, and this one up to the bad entry.
    CHECK(target.store->Stats()->entries == 1400 - (700 - bad % 700));
  }
  TestStore target(testing::IdentityFromNumber(30));
  ApplyReport r = target.store->ApplyBatch(batch);
  REQUIRE(r.status.ok());
  CHECK(r.applied == 1400);
  CHECK(target.store->VerifyLog().ok());
}

TEST_CASE("an entry of the node's own feed beyond its head marks the identity stale and is taken back", "[storage]") {
  auto me = testing::IdentityFromNumber(1);
  TestStore now(me);
  testing::TempDir old_copy;
  LocalChange c{testing::FixedRecordId(1), RecordType::kSeizure, Op::kPut, testing::SeizurePayload("a")};
  REQUIRE(now.store->AppendLocal(me, {&c, 1}).ok());
  std::filesystem::copy(now.dir.path(), old_copy.path(), std::filesystem::copy_options::recursive |
                                                             std::filesystem::copy_options::overwrite_existing);
  c.id = testing::FixedRecordId(2);
  REQUIRE(now.store->AppendLocal(me, {&c, 1}).ok());
  auto entries = testing::AllEntries(*now.store);

  auto restored = Store::Open(old_copy.path(), {uint64_t{1} << 30, false}).value();
  ApplyReport r = restored->ApplyBatch(std::vector<Entry>{entries[1]});
  CHECK(r.refused.empty());
  CHECK(r.marked_stale);
  CHECK_FALSE(restored->StaleIdentity().value().empty());
  // The restored node takes back the entry it lost (and can relay it).
  CHECK(restored->Stats()->entries == 2);
  // The mark keeps its evidence, and an administrator can clear it.
  auto mark = restored->StaleIdentityMark().value();
  REQUIRE(mark.evidence.has_value());
  CHECK(mark.evidence->hash() == entries[1].hash());
  auto refused = restored->AppendLocal(me, {&c, 1});
  CHECK(refused.status().code() == StatusCode::kFailedPrecondition);
}

TEST_CASE("log verify passes on a good store and names a damaged entry", "[storage]") {
  Fixture f;
  auto report = f.source.store->VerifyLog();
  REQUIRE(report.ok());
  CHECK(report->entries == 3);
  CHECK(report->records == 3);
}

TEST_CASE("a large local batch over two feeds is chained and signed correctly on the signing thread",
          "[storage]") {
  auto me = testing::IdentityFromNumber(1);
  TestStore local(me), remote(testing::IdentityFromNumber(2));
  std::vector<LocalChange> changes;
  for (int i = 0; i < 300; ++i) {
    RecordId id = testing::FixedRecordId(static_cast<uint8_t>(i % 200));
    id[1] = static_cast<uint8_t>(i / 200);  // some records are written twice in the batch
    if (i >= 200) id[1] = 0;
    changes.push_back({id, RecordType::kSeizure, Op::kPut, testing::SeizurePayload(std::to_string(i)),
                       (i % 200) % 3 == 0 ? Scope::kRegional : Scope::kNational});
  }
  auto dots = local.store->AppendLocal(me, changes);
  REQUIRE(dots.ok());
  CHECK(dots->size() == 300);
  REQUIRE(local.store->VerifyLog().ok());
  CHECK(local.store->Frontier()->size() == 2);
  ApplyReport r = remote.store->ApplyBatch(testing::AllEntries(*local.store));
  REQUIRE(r.status.ok());
  CHECK(r.applied == 300);
  CHECK(remote.store->RecordStateDigest().value() == local.store->RecordStateDigest().value());
  // The second write of a record in the same batch saw the first one.
  CHECK(local.store->GetRecord(testing::FixedRecordId(5))->state.versions.size() == 1);
}

TEST_CASE("a large local batch that fails half-way writes nothing", "[storage]") {
  auto me = testing::IdentityFromNumber(1);
  TestStore local(me);
  std::vector<LocalChange> changes;
  for (uint8_t i = 0; i < 150; ++i) {
    changes.push_back({testing::FixedRecordId(i), RecordType::kSeizure, Op::kPut,
                       testing::SeizurePayload("x")});
  }
  RecordId missing = testing::FixedRecordId(250);
  changes[100] = {missing, RecordType::kSeizure, Op::kDelete, {}};
  auto r = local.store->AppendLocal(me, changes);
  CHECK(r.status().code() == StatusCode::kNotFound);
  CHECK(local.store->Stats()->entries == 0);
  CHECK(local.store->Frontier()->empty());
}

TEST_CASE("AppendLocal signs nothing a peer would refuse: an invalid record body, a delete with a payload",
          "[storage]") {
  auto me = testing::IdentityFromNumber(1);
  TestStore t(me);
  Bytes bad_text = testing::SeizurePayload("NARRATIVE");
  auto at = std::search(bad_text.begin(), bad_text.end(), std::begin("NARRATIVE"), std::end("NARRATIVE") - 1);
  REQUIRE(at != bad_text.end());
  *at = 0xff;  // not UTF-8
  LocalChange good{testing::FixedRecordId(1), RecordType::kSeizure, Op::kPut, testing::SeizurePayload("ok")};
  LocalChange invalid{testing::FixedRecordId(2), RecordType::kSeizure, Op::kPut, bad_text};
  LocalChange garbage{testing::FixedRecordId(3), RecordType::kSuspect, Op::kPut, Bytes{1, 2, 3}};
  LocalChange wrong_type{testing::FixedRecordId(4), RecordType::kCompany, Op::kPut,
                         testing::SeizurePayload("a seizure body")};
  for (const LocalChange* c : {&invalid, &garbage, &wrong_type}) {
    // In one call with a valid change: the whole call is refused.
    std::vector<LocalChange> both = {good, *c};
    auto dots = t.store->AppendLocal(me, both);
    INFO(dots.status().ToString());
    CHECK(dots.status().code() == StatusCode::kInvalidArgument);
    CHECK(t.store->Stats()->entries == 0);
  }
  REQUIRE(t.store->AppendLocal(me, {&good, 1}).ok());
  LocalChange del{good.id, RecordType::kSeizure, Op::kDelete, Bytes{0}};
  CHECK(t.store->AppendLocal(me, {&del, 1}).status().code() == StatusCode::kInvalidArgument);
  del.payload.clear();
  CHECK(t.store->AppendLocal(me, {&del, 1}).ok());
  CHECK(t.store->Stats()->entries == 2);
  CHECK(t.store->VerifyLog().ok());
}
