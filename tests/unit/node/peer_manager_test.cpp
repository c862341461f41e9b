// PeerManager: the daemon's decisions about its peers — whom to dial and
// when, the simultaneous-dial tie-break, status rows and their schedule —
// driven here by hand with a made-up clock (the daemon drives it with Asio,
// the simulator with its virtual network).
#include <algorithm>
#include <catch2/catch.hpp>

#include "node/peer_manager.h"
#include "tests/support/store_fixture.h"

namespace ncen::node {
namespace {

using testing::IdentityFromNumber;

constexpr int64_t kT = 1'793'620'800'000;  // 2026-11-02T12:00:00Z

crypto::PublicKey Key(uint8_t n) { return IdentityFromNumber(n).public_key(); }

PeerConfig Peer(uint8_t n, std::string address = "") {
  return PeerConfig{"peer" + std::to_string(n), Key(n), std::move(address), AllScopes()};
}

// Ids in the order given by `peers`, sorted (the manager keeps peers by id).
std::vector<crypto::PublicKey> Ids(const std::vector<PeerConfig>& peers) {
  std::vector<crypto::PublicKey> ids;
  for (const auto& p : peers) ids.push_back(p.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}
std::vector<crypto::PublicKey> Sorted(std::vector<crypto::PublicKey> ids) {
  std::sort(ids.begin(), ids.end());
  return ids;
}

const storage::PeerStatus& RowOf(const std::vector<storage::PeerStatus>& rows, const crypto::PublicKey& id) {
  auto it = std::find_if(rows.begin(), rows.end(), [&](const auto& r) { return r.id == id; });
  NCEN_CHECK(it != rows.end());
  return *it;
}

replication::SessionProgress Progress(bool caught_up, uint64_t behind = 0, uint64_t ahead = 0) {
  replication::SessionProgress p;
  p.hello_received = true;
  p.caught_up = caught_up;
  p.behind = behind;
  p.ahead = ahead;
  p.last_sync_ms = caught_up ? kT : 0;
  return p;
}

TEST_CASE("peers with an address are dialed at start, once, and the others wait to be dialed", "[node]") {
  PeerManager m(Key(1), {}, 7);
  m.Start({Peer(2, "10.0.0.2:7400"), Peer(3), Peer(4, "10.0.0.4:7400")}, {}, kT);
  CHECK(Ids(m.TakeDialsDue(kT)) == Sorted({Key(2), Key(4)}));
  // Under way: not again until it fails or opens.
  CHECK(m.TakeDialsDue(kT + 60'000).empty());
  CHECK_FALSE(m.NextDialMs().has_value());
  m.Stop();
  CHECK(m.OnDialFailed(Key(2), "refused", kT + 10) == true);
  CHECK(m.TakeDialsDue(kT + 60'000).empty());  // stopped: no more dials
}

TEST_CASE("failed dials back off, doubling with jitter up to the most, and reset once a link opens",
          "[node]") {
  PeerManagerOptions options;
  options.redial_first_ms = 500;
  options.redial_max_ms = 30'000;
  PeerManager m(Key(1), options, 42);
  m.Start({Peer(2, "10.0.0.2:7400")}, {}, kT);
  int64_t now = kT;
  REQUIRE(m.TakeDialsDue(now).size() == 1);
  std::vector<int64_t> delays;
  for (int failure = 0; failure < 10; ++failure) {
    bool first = m.OnDialFailed(Key(2), "connection refused", now);
    CHECK(first == (failure == 0));  // only the first of a run is worth a log line
    int64_t at = *m.NextDialMs();
    delays.push_back(at - now);
    CHECK(m.TakeDialsDue(at - 1).empty());
    REQUIRE(m.TakeDialsDue(at).size() == 1);
    now = at;
  }
  for (size_t i = 0; i < delays.size(); ++i) {
    int64_t base = std::min<int64_t>(int64_t{500} << i, 30'000);
    CHECK(delays[i] >= base * 75 / 100);
    CHECK(delays[i] <= base * 125 / 100);
  }
  // The status row says why.
  auto rows = m.TakeStatusRows(now);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].last_error == "connection refused");
  CHECK_FALSE(rows[0].connected);

  m.OnLinkOpen(Key(2), 11, true, "10.0.0.2:7400", now);
  CHECK(m.LinkOf(Key(2)) == 11);
  CHECK(m.PeerOfLink(11) == Key(2));
  m.OnLinkClosed(Key(2), 11, true, Unavailable("reset"), {}, now);
  CHECK(m.LinkOf(Key(2)) == 0);
  int64_t again = *m.NextDialMs() - now;
  CHECK(again >= 375);  // back to the first delay
  CHECK(again <= 625);
}

TEST_CASE("jitter is the seed's: two managers with one seed wait alike, other seeds differ", "[node]") {
  auto delays = [](uint64_t seed) {
    PeerManager m(Key(1), {}, seed);
    std::vector<int64_t> out;
    for (int i = 0; i < 8; ++i) out.push_back(m.RedialDelayMs(i));
    return out;
  };
  CHECK(delays(5) == delays(5));
  CHECK(delays(5) != delays(6));
}

TEST_CASE("two links with one peer: both sides keep the one dialed by the smaller id", "[node]") {
  crypto::PublicKey a = Key(1), b = Key(2);
  crypto::PublicKey small = std::min(a, b), large = std::max(a, b);
  PeerManager at_small(small, {}, 1), at_large(large, {}, 2);
  at_small.Start({PeerConfig{"large", large, "10.0.0.2:1", AllScopes()}}, {}, kT);
  at_large.Start({PeerConfig{"small", small, "10.0.0.1:1", AllScopes()}}, {}, kT);
  REQUIRE(at_small.TakeDialsDue(kT).size() == 1);
  REQUIRE(at_large.TakeDialsDue(kT).size() == 1);

  // Link 1, dialed by `small`, opens first on both sides.
  REQUIRE(at_small.Admit(large, /*dialed_by_us=*/true));
  at_small.OnLinkOpen(large, 1, true, "x", kT);
  REQUIRE(at_large.Admit(small, false));
  at_large.OnLinkOpen(small, 1, false, "x", kT);
  // Link 2, dialed by `large`, opens next: refused on both sides.
  CHECK_FALSE(at_large.Admit(small, true));
  CHECK_FALSE(at_small.Admit(large, false));
  at_large.OnLinkClosed(small, 2, true, Unavailable("duplicate connection"), {}, kT);
  CHECK(at_large.LinkOf(small) == 1);
  CHECK_FALSE(at_large.NextDialMs().has_value());  // no redial: it has a link

  // The other order: link 2 first, then link 1 replaces it on both sides.
  PeerManager s2(small, {}, 3), l2(large, {}, 4);
  s2.Start({PeerConfig{"large", large, "10.0.0.2:1", AllScopes()}}, {}, kT);
  l2.Start({PeerConfig{"small", small, "10.0.0.1:1", AllScopes()}}, {}, kT);
  s2.OnLinkOpen(large, 2, false, "x", kT);
  l2.OnLinkOpen(small, 2, true, "x", kT);
  CHECK(s2.Admit(large, true));
  CHECK(l2.Admit(small, false));
}

TEST_CASE("a peer that redials over a half-open link replaces it", "[node]") {
  PeerManager m(Key(1), {}, 1);
  m.Start({Peer(2)}, {}, kT);  // no address: it dials us
  m.OnLinkOpen(Key(2), 1, false, "10.0.0.2:5000", kT);
  // Our side of link 1 still looks open; the peer lost it and dials again.
  CHECK(m.Admit(Key(2), false));
  m.OnLinkClosed(Key(2), 1, false, Status::Ok(), {100, 200}, kT + 5);
  m.OnLinkOpen(Key(2), 2, false, "10.0.0.2:5001", kT + 5);
  CHECK(m.LinkOf(Key(2)) == 2);
  // An inbound-only peer is never dialed.
  m.OnLinkClosed(Key(2), 2, false, Unavailable("reset"), {1, 2}, kT + 6);
  CHECK_FALSE(m.NextDialMs().has_value());
  CHECK(m.TakeDialsDue(kT + 600'000).empty());
}

TEST_CASE("only a link we dialed is redialed when it ends", "[node]") {
  PeerManager m(Key(1), {}, 1);
  m.Start({Peer(2, "10.0.0.2:7400")}, {}, kT);
  REQUIRE(m.TakeDialsDue(kT).size() == 1);
  // The peer's own dial won (our dial is still under way, then refused).
  m.OnLinkOpen(Key(2), 5, false, "10.0.0.2:6000", kT);
  m.OnLinkClosed(Key(2), 6, true, Unavailable("duplicate connection"), {}, kT);
  m.OnLinkClosed(Key(2), 5, false, Unavailable("reset"), {}, kT + 100);
  // The link was the peer's: the peer redials; we do not.
  CHECK_FALSE(m.NextDialMs().has_value());
  // A reload asks for a try now.
  m.Reload({Peer(2, "10.0.0.2:7400")}, kT + 200);
  CHECK(m.TakeDialsDue(kT + 200).size() == 1);
}

TEST_CASE("status rows: due at once, then each interval or when caught-up changes", "[node]") {
  PeerManagerOptions options;
  options.status_interval_ms = 1000;
  PeerManager m(Key(1), options, 1);
  storage::PeerStatus earlier;
  earlier.name = "old name";
  earlier.id = Key(2);
  earlier.bytes_in = 1000;
  earlier.bytes_out = 2000;
  earlier.connected = true;  // the last run died while connected
  earlier.last_sync_ms = kT - 50'000;
  m.Start({Peer(2, "10.0.0.2:7400"), Peer(3)}, {earlier}, kT);
  REQUIRE(m.StatusDue(kT));
  auto rows = m.TakeStatusRows(kT);
  REQUIRE(rows.size() == 2);
  CHECK(RowOf(rows, Key(2)).name == "peer2");
  CHECK_FALSE(RowOf(rows, Key(2)).connected);
  CHECK(RowOf(rows, Key(2)).bytes_in == 1000);
  CHECK(RowOf(rows, Key(2)).last_sync_ms == kT - 50'000);
  CHECK(RowOf(rows, Key(2)).updated_ms == kT);
  CHECK(RowOf(rows, Key(3)).bytes_in == 0);
  CHECK_FALSE(m.StatusDue(kT + 999));
  CHECK(m.StatusDue(kT + 1000));
  CHECK(m.StatusDue(kT - 1));  // the clock went back

  (void)m.TakeDialsDue(kT);
  m.OnLinkOpen(Key(2), 1, true, "10.0.0.2:7400", kT + 10);
  CHECK(m.StatusDue(kT + 10));  // connected: at once
  (void)m.TakeStatusRows(kT + 10);
  CHECK_FALSE(m.NoteCaughtUp(Key(2), false));  // no change
  CHECK_FALSE(m.StatusDue(kT + 20));
  CHECK(m.NoteCaughtUp(Key(2), true));
  CHECK(m.StatusDue(kT + 20));
  CHECK(m.AllIdle());

  m.SaveProgress(Key(2), Progress(true), {});
  m.SetTraffic(Key(2), {10, 20});
  rows = m.TakeStatusRows(kT + 20);
  CHECK(RowOf(rows, Key(2)).connected);
  CHECK(RowOf(rows, Key(2)).connected_since_ms == kT + 10);
  CHECK(RowOf(rows, Key(2)).InSync());
  CHECK(RowOf(rows, Key(2)).bytes_in == 1010);
  CHECK(RowOf(rows, Key(2)).bytes_out == 2020);

  // The link ends: its final counts stay in the row; the next link adds on.
  m.OnLinkClosed(Key(2), 1, true, Unavailable("peer went away"), {50, 60}, kT + 30);
  rows = m.TakeStatusRows(kT + 30);
  CHECK_FALSE(RowOf(rows, Key(2)).connected);
  CHECK(RowOf(rows, Key(2)).bytes_in == 1050);
  CHECK(RowOf(rows, Key(2)).last_error == "UNAVAILABLE: peer went away");
  // A session that never said hello changes nothing it would not know.
  replication::SessionProgress silent;
  m.SaveProgress(Key(2), silent, {});
  CHECK(RowOf(m.TakeStatusRows(kT + 40), Key(2)).last_sync_ms == kT);
}

TEST_CASE("once mode is done when every peer we dial has a caught-up session", "[node]") {
  PeerManager m(Key(1), {}, 1);
  m.Start({Peer(2, "a:1"), Peer(3, "b:1"), Peer(4)}, {}, kT);
  CHECK(m.AnyToDial());
  CHECK_FALSE(m.AllDialedInSync());
  m.OnLinkOpen(Key(2), 1, true, "a:1", kT);
  m.OnLinkOpen(Key(3), 2, true, "b:1", kT);
  m.NoteCaughtUp(Key(2), true);
  CHECK_FALSE(m.AllDialedInSync());
  CHECK_FALSE(m.AllIdle());
  m.NoteCaughtUp(Key(3), true);
  CHECK(m.AllDialedInSync());  // peer 4 has no address: not waited for
  m.OnLinkClosed(Key(3), 2, true, Status::Ok(), {}, kT);
  CHECK_FALSE(m.AllDialedInSync());

  PeerManager none(Key(1), {}, 1);
  none.Start({Peer(4)}, {}, kT);
  CHECK_FALSE(none.AnyToDial());
  CHECK_FALSE(none.AllDialedInSync());
}

TEST_CASE("a reload adds, removes and re-scopes peers", "[node]") {
  PeerManager m(Key(1), {}, 1);
  m.Start({Peer(2, "a:1"), Peer(3), Peer(4)}, {}, kT);
  m.OnLinkOpen(Key(3), 1, false, "x", kT);
  m.OnLinkOpen(Key(4), 2, false, "y", kT);
  PeerConfig narrower = Peer(4);
  narrower.scopes = {storage::Scope::kGlobal};
  PeerConfig renamed = Peer(3);
  renamed.name = "renamed";
  auto changes = m.Reload({renamed, narrower, Peer(5, "e:1")}, kT + 1);
  CHECK(changes.added == std::vector{Key(5)});
  CHECK(changes.removed == std::vector{Key(2)});
  CHECK(changes.scopes_changed == std::vector{Key(4)});
  CHECK(m.Find(Key(2)) == nullptr);
  CHECK(m.Find(Key(3))->name == "renamed");
  CHECK(m.Find(Key(4))->scopes == std::vector{storage::Scope::kGlobal});
  CHECK(Ids(m.TakeDialsDue(kT + 1)) == std::vector{Key(5)});
  auto rows = m.TakeStatusRows(kT + 1);
  REQUIRE(rows.size() == 3);
  CHECK(RowOf(rows, Key(3)).name == "renamed");
  // Reports about a forgotten peer are ignored.
  CHECK_FALSE(m.OnDialFailed(Key(2), "x", kT + 2));
  m.OnLinkClosed(Key(2), 9, true, Status::Ok(), {}, kT + 2);
  CHECK(m.TakeStatusRows(kT + 2).size() == 3);
}

TEST_CASE("a catching-up session says how far it got once per interval", "[node]") {
  PeerManagerOptions options;
  options.progress_log_interval_ms = 5000;
  PeerManager m(Key(1), options, 1);
  m.Start({Peer(2)}, {}, kT);
  m.OnLinkOpen(Key(2), 1, false, "x", kT);
  CHECK_FALSE(m.ProgressLine(Key(2), Progress(false, 10, 3), kT));  // the interval starts
  CHECK_FALSE(m.ProgressLine(Key(2), Progress(false, 10, 3), kT + 4999));
  auto line = m.ProgressLine(Key(2), Progress(false, 10, 3), kT + 5000);
  REQUIRE(line);
  CHECK(*line == "syncing with peer2: 10 entries to send, 3 to receive (0 sent, 0 received so far)");
  CHECK_FALSE(m.ProgressLine(Key(2), Progress(true), kT + 20000));  // caught up: quiet
  CHECK_FALSE(m.ProgressLine(Key(2), Progress(false, 1, 0), kT + 20001));  // starts over
}


TEST_CASE("a member admitted by its certificate is added alone: the others keep their backoff", "[node]") {
  PeerManager m(Key(1), {}, 7);
  m.Start({Peer(2, "10.0.0.2:7400")}, {}, kT);
  REQUIRE(m.TakeDialsDue(kT).size() == 1);
  m.OnDialFailed(Key(2), "refused", kT);
  int64_t next = *m.NextDialMs();
  REQUIRE(next > kT);
  CHECK(m.AddPeer(Peer(5), kT + 1));
  CHECK_FALSE(m.AddPeer(Peer(5), kT + 2));
  REQUIRE(m.Find(Key(5)));
  CHECK(*m.NextDialMs() == next);         // peer 2 still backs off
  CHECK(m.TakeDialsDue(kT + 1).empty());  // and the member, with no address, is not dialed
}
}  // namespace
}  // namespace ncen::node
