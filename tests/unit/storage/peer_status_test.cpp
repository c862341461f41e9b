// The `peers` database (docs/log-format.md §7): peer status rows and refused
// attempts round-trip through the store, the newest 100 refused attempts are
// kept, the stale-identity mark stops local writes, and a damaged row is
// reported as corruption rather than misread.
#include <catch2/catch.hpp>

#include "storage/peer_status.h"
#include "storage/store_internal.h"
#include "tests/support/store_fixture.h"

namespace {

using ncen::Bytes;
using ncen::StatusCode;
using ncen::storage::FeedHead;
using ncen::storage::PeerLedger;
using ncen::storage::PeerStatus;
using ncen::storage::RefusedAttempt;
using ncen::storage::Scope;
using ncen::testing::IdentityFromNumber;
using ncen::testing::TestStore;

// A frontier of `feeds` feeds whose bytes all differ.
std::vector<FeedHead> Frontier(size_t feeds) {
  std::vector<FeedHead> out(feeds);
  for (size_t i = 0; i < feeds; ++i) {
    out[i].feed.author = IdentityFromNumber(static_cast<uint8_t>(i % 250)).public_key();
    out[i].feed.author[31] = static_cast<uint8_t>(i / 250);
    out[i].feed.scope = static_cast<Scope>(i % 3);
    out[i].seq = 1000 + i;
    out[i].head.fill(static_cast<uint8_t>(i));
  }
  return out;
}

PeerStatus SampleStatus(uint8_t n) {
  PeerStatus s;
  s.name = "peer-" + std::to_string(n);
  s.id = IdentityFromNumber(n).public_key();
  s.address = "10.0.0." + std::to_string(n) + ":7400";
  s.connected = n % 2 == 1;
  s.connected_since_ms = s.connected ? 1'793'620'800'000 + n : 0;
  s.last_sync_ms = 1'793'620'801'000 + n;
  s.updated_ms = 1'793'620'802'000 + n;
  s.behind = 7 + n;
  s.ahead = uint64_t{1} << 40;
  s.bytes_in = 123456789;
  s.bytes_out = 987654321;
  s.blobs_pending = 3 + n;
  s.blob_bytes_pending = 5'000'000 + n;
  s.blob_bytes_in_flight = 4u << 20;
  s.blob_bytes_received = 200'000'000;
  s.blob_bytes_sent = 1;
  s.last_error = n % 2 ? "" : "connection refused";
  s.peer_frontier = Frontier(n);
  return s;
}

RefusedAttempt Refused(uint8_t n, int64_t at_ms) {
  return {IdentityFromNumber(n).public_key(), "192.168.1." + std::to_string(n) + ":50000", at_ms,
          "not in the trust roster"};
}

}  // namespace

TEST_CASE("peer status rows round-trip keyed by peer id", "[storage]") {
  TestStore t(IdentityFromNumber(200));
  PeerLedger ledger(*t.store);
  CHECK(ledger.All().value().empty());

  PeerStatus a = SampleStatus(1), b = SampleStatus(150);  // b has a frontier of 150 feeds
  REQUIRE(ledger.Put(a).ok());
  REQUIRE(ledger.Put(b).ok());
  auto rows = ledger.All();
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 2);
  // By id: the order of the keys, not of the writes.
  bool a_first = a.id < b.id;
  CHECK((*rows)[a_first ? 0 : 1] == a);
  CHECK((*rows)[a_first ? 1 : 0] == b);

  SECTION("a second write for the same id replaces the row") {
    a.connected = false;
    a.connected_since_ms = 0;
    a.behind = 0;
    a.last_error = "handshake timed out";
    a.peer_frontier.clear();
    REQUIRE(ledger.Put(a).ok());
    rows = ledger.All();
    REQUIRE(rows->size() == 2);
    CHECK((*rows)[a_first ? 0 : 1] == a);
  }
  SECTION("PutPeerStatuses writes several rows, or none when one is invalid") {
    std::vector<PeerStatus> batch = {SampleStatus(2), SampleStatus(3), SampleStatus(4)};
    REQUIRE(ledger.Put(batch).ok());
    CHECK(ledger.All()->size() == 5);
    std::vector<PeerStatus> bad = {SampleStatus(5), SampleStatus(6)};
    bad[1].address = std::string(256, 'a');
    CHECK(ledger.Put(bad).code() == StatusCode::kInvalidArgument);
    CHECK(ledger.All()->size() == 5);
  }
  SECTION("DeletePeerStatus forgets one row") {
    REQUIRE(ledger.Delete(a.id).ok());
    REQUIRE(ledger.Delete(a.id).ok());  // absent: still fine
    rows = ledger.All();
    REQUIRE(rows->size() == 1);
    CHECK(rows->front() == b);
  }
}

TEST_CASE("peer status limits: long names are refused and long errors are cut", "[storage]") {
  TestStore t(IdentityFromNumber(200));
  PeerLedger ledger(*t.store);
  PeerStatus s = SampleStatus(1);
  s.name = std::string(256, 'n');
  CHECK(ledger.Put(s).code() == StatusCode::kInvalidArgument);
  s.name = std::string(255, 'n');
  // 1023 ASCII bytes, then a 2-byte character across the 1024-byte limit.
  s.last_error = std::string(1023, 'e') + "\xc3\xa9" + "tail";
  REQUIRE(ledger.Put(s).ok());
  auto rows = ledger.All();
  REQUIRE(rows->size() == 1);
  CHECK(rows->front().name == s.name);
  CHECK(rows->front().last_error == std::string(1023, 'e'));  // not half a character
}

TEST_CASE("a peer is connected only while its row is fresh", "[storage]") {
  PeerStatus s = SampleStatus(1);
  REQUIRE(s.connected);
  CHECK(s.IsConnectedAt(s.updated_ms));
  CHECK(s.IsConnectedAt(s.updated_ms + PeerStatus::kFreshMs));
  CHECK_FALSE(s.IsConnectedAt(s.updated_ms + PeerStatus::kFreshMs + 1));
  s.connected = false;
  CHECK_FALSE(s.IsConnectedAt(s.updated_ms));

  s.behind = s.ahead = 0;
  CHECK_FALSE(s.InSync());  // photos still to come (the sample has some pending)
  s.blob_bytes_pending = s.blob_bytes_in_flight = 0;
  CHECK(s.InSync());
  s.blob_bytes_in_flight = 1;
  CHECK_FALSE(s.InSync());
  s.blob_bytes_in_flight = 0;
  s.last_sync_ms = 0;  // never compared: zeros mean nothing
  CHECK_FALSE(s.InSync());
  s.last_sync_ms = 1;
  s.ahead = 1;
  CHECK_FALSE(s.InSync());
}

TEST_CASE("refused attempts are listed newest first and only the latest 100 are kept",
          "[storage]") {
  TestStore t(IdentityFromNumber(200));
  PeerLedger ledger(*t.store);
  CHECK(ledger.Refused(10).value().empty());
  REQUIRE(ledger.Put(SampleStatus(1)).ok());  // rows of the other kind stay apart
  for (int i = 0; i < 130; ++i) {
    // Timestamps that go backwards: the order is the order of recording.
    REQUIRE(ledger.RecordRefused(Refused(static_cast<uint8_t>(i), 5000 - i)).ok());
  }
  auto all = ledger.Refused(1000);
  REQUIRE(all.ok());
  REQUIRE(all->size() == PeerLedger::kRefusedKept);
  for (size_t k = 0; k < all->size(); ++k) {
    INFO(k);
    CHECK((*all)[k] == Refused(static_cast<uint8_t>(129 - k), 5000 - (129 - static_cast<int>(k))));
  }
  auto three = ledger.Refused(3);
  REQUIRE(three->size() == 3);
  CHECK((*three)[0] == Refused(129, 5000 - 129));
  CHECK(ledger.All()->size() == 1);

  RefusedAttempt long_address = Refused(1, 1);
  long_address.address = std::string(256, '1');
  CHECK(ledger.RecordRefused(long_address).code() == StatusCode::kInvalidArgument);
}

TEST_CASE("refused attempts written as a batch are one transaction, in order, with the same cap",
          "[storage]") {
  TestStore t(IdentityFromNumber(200));
  PeerLedger ledger(*t.store);
  REQUIRE(ledger.RecordRefused(Refused(0, 10)).ok());
  std::vector<RefusedAttempt> batch;
  for (int i = 1; i <= 120; ++i) batch.push_back(Refused(static_cast<uint8_t>(i), 10 + i));
  REQUIRE(ledger.RecordRefused(batch).ok());
  auto all = ledger.Refused(1000);
  REQUIRE(all.ok());
  REQUIRE(all->size() == PeerLedger::kRefusedKept);
  CHECK(all->front() == Refused(120, 130));
  CHECK(all->back() == Refused(21, 31));
  CHECK(ledger.RecordRefused(std::span<const RefusedAttempt>{}).ok());

  SECTION("one bad attempt writes none of the batch") {
    batch = {Refused(201, 1), Refused(202, 2)};
    batch[1].address = std::string(256, '1');
    CHECK(ledger.RecordRefused(batch).code() == StatusCode::kInvalidArgument);
    CHECK(ledger.Refused(1).value().front() == Refused(120, 130));
  }
}

TEST_CASE("MarkStaleIdentity needs signed evidence, then refuses local writes until cleared", "[storage]") {
  auto me = IdentityFromNumber(200);
  TestStore t(me);
  ncen::storage::LocalChange change{ncen::testing::FixedRecordId(1),
                                    ncen::storage::RecordType::kSeizure, ncen::storage::Op::kPut,
                                    ncen::testing::SeizurePayload("before")};
  REQUIRE(t.store->AppendLocal(me, {&change, 1}).ok());
  CHECK(t.store->StaleIdentity().value().empty());

  // Nothing is marked on a claim: the evidence must be a validly signed
  // entry of this node's own feed that it does not hold.
  auto other = IdentityFromNumber(201);
  bool newly = false;
  auto forged = ncen::testing::SignedEntryAt(me, 9);
  forged.signature[3] ^= 1;
  CHECK(t.store->MarkStaleIdentity(forged, "peer x").code() == StatusCode::kUnauthenticated);
  CHECK(t.store->MarkStaleIdentity(ncen::testing::SignedEntryAt(other, 9), "peer x").code() ==
        StatusCode::kUnauthenticated);
  auto held = ncen::testing::AllEntries(*t.store)[0];
  CHECK(t.store->MarkStaleIdentity(ncen::storage::SignedHeaderOf(held), "peer x").code() ==
        StatusCode::kUnauthenticated);
  CHECK(t.store->StaleIdentity().value().empty());

  REQUIRE(t.store->MarkStaleIdentity(ncen::testing::SignedEntryAt(me, 9), "peer hub", &newly).ok());
  CHECK(newly);
  std::string reason = t.store->StaleIdentity().value();
  CHECK(reason.find("seq 9") != std::string::npos);
  CHECK(reason.find("peer hub") != std::string::npos);
  // A second verdict keeps the first reason.
  REQUIRE(t.store->MarkStaleIdentity(ncen::testing::SignedEntryAt(me, 12), "peer post", &newly).ok());
  CHECK_FALSE(newly);
  CHECK(t.store->StaleIdentity().value() == reason);
  change.id = ncen::testing::FixedRecordId(2);
  auto refused = t.store->AppendLocal(me, {&change, 1});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == StatusCode::kFailedPrecondition);
  CHECK(refused.status().message().find("restored from an old copy") != std::string::npos);
  CHECK(t.store->Stats()->entries == 1);
  // An administrator clears the mark after looking at the evidence.
  REQUIRE(t.store->StaleIdentityMark()->evidence.has_value());
  REQUIRE(t.store->ClearStaleIdentity().ok());
  CHECK(t.store->StaleIdentity().value().empty());
  CHECK(t.store->AppendLocal(me, {&change, 1}).ok());
  CHECK(t.store->ClearStaleIdentity().code() == StatusCode::kNotFound);
}

TEST_CASE("a damaged peer status value is corruption, never a misread row", "[storage]") {
  const PeerStatus s = SampleStatus(3);
  const Bytes good = ncen::storage::EncodePeerStatus(s);
  REQUIRE(ncen::storage::DecodePeerStatus(s.id, good).value() == s);

  auto rejects = [&](const Bytes& bytes) {
    auto r = ncen::storage::DecodePeerStatus(s.id, bytes);
    return !r.ok() && r.status().code() == StatusCode::kCorruption;
  };
  SECTION("every truncation") {
    for (size_t n = 0; n < good.size(); ++n) {
      INFO(n);
      CHECK(rejects(Bytes(good.begin(), good.begin() + n)));
    }
  }
  SECTION("a trailing byte") {
    Bytes b = good;
    b.push_back(0);
    CHECK(rejects(b));
  }
  SECTION("another version") {
    Bytes b = good;
    b[0] = 3;
    CHECK(rejects(b));
  }
  SECTION("a version-1 row, before the blob counters, reads them as 0") {
    Bytes b = good;
    b[0] = 1;
    b.erase(b.begin() + 58, b.begin() + 58 + 5 * 8);
    PeerStatus old = ncen::storage::DecodePeerStatus(s.id, b).value();
    CHECK(old.blob_bytes_pending == 0);
    CHECK(old.name == s.name);
    CHECK(old.peer_frontier == s.peer_frontier);
  }
  SECTION("unknown flag bits") {
    Bytes b = good;
    b[1] |= 0x02;
    CHECK(rejects(b));
  }
  SECTION("a frontier count that does not fit the value") {
    // 2 + 12×8 bytes, then name, address and error with their lengths.
    size_t at = 98 + 1 + s.name.size() + 1 + s.address.size() + 2 + s.last_error.size();
    Bytes b = good;
    REQUIRE(ncen::GetU32BE(b.data() + at) == 3);
    ncen::PutU32BE(b.data() + at, 4);
    CHECK(rejects(b));
    ncen::PutU32BE(b.data() + at, 0xffffffff);
    CHECK(rejects(b));
  }
  SECTION("a scope out of range") {
    Bytes b = good;
    size_t first_scope = good.size() - 3 * 73 + 32;
    REQUIRE(b[first_scope] == 0);
    b[first_scope] = 4;  // 3 is network (peer frontiers may hold it)
    CHECK(rejects(b));
  }
  SECTION("an error length over the limit") {
    size_t at = 98 + 1 + s.name.size() + 1 + s.address.size();
    Bytes b = good;
    b[at] = 0x05;  // 1280 + the real length: over the 1024-byte limit
    CHECK(rejects(b));
  }
}

TEST_CASE("a damaged refused attempt is corruption", "[storage]") {
  const RefusedAttempt a = Refused(4, 1234);
  const Bytes good = ncen::storage::EncodeRefused(a);
  REQUIRE(ncen::storage::DecodeRefused(good).value() == a);
  for (size_t n = 0; n < good.size(); ++n) {
    INFO(n);
    CHECK(ncen::storage::DecodeRefused(Bytes(good.begin(), good.begin() + n)).status().code() ==
          StatusCode::kCorruption);
  }
  Bytes longer = good;
  longer.push_back(1);
  CHECK_FALSE(ncen::storage::DecodeRefused(longer).ok());
  Bytes version = good;
  version[0] = 9;
  CHECK_FALSE(ncen::storage::DecodeRefused(version).ok());
}
