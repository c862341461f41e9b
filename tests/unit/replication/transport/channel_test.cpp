// SecureChannel and framing over in-memory pipes: the handshake, identity
// binding, the trust roster, splitting and reassembly, rekeying, close, and
// every kind of bad input the issue names (garbage, truncated frames,
// oversized lengths, flipped bits, replays).
#include <catch2/catch.hpp>

#include <cstring>

#include "replication/transport/channel.h"
#include "replication/transport/frame.h"

namespace ncen::transport {
namespace {

using crypto::Identity;
using crypto::NoiseRole;

Identity Seeded(uint8_t n) {
  std::array<uint8_t, 32> seed{};
  seed.fill(n);
  return Identity::FromSeed(seed);
}

PeerCheck Allow(const Identity& who, std::string name) {
  return [key = who.public_key(), name](const crypto::PublicKey& peer) -> Result<std::string> {
    if (peer == key) return name;
    return Unauthenticated("peer " + crypto::Fingerprint(peer) + " is not in the trust roster");
  };
}

ChannelOptions Options(std::string network = "test-net") {
  ChannelOptions options;
  options.network_id = Bytes(network.begin(), network.end());
  return options;
}

// Two channels joined by in-memory pipes. Pump() moves bytes both ways until
// nothing moves; errors are kept per side.
struct Pair {
  Identity alice = Seeded(1), bob = Seeded(2);
  SecureChannel initiator;
  SecureChannel responder;
  Status initiator_error, responder_error;

  explicit Pair(ChannelOptions a = Options(), ChannelOptions b = Options())
      : initiator(NoiseRole::kInitiator, alice, std::move(a), Allow(bob, "bob")),
        responder(NoiseRole::kResponder, bob, std::move(b), Allow(alice, "alice")) {}

  void Pump() {
    for (int round = 0; round < 100; ++round) {
      bool moved = false;
      if (initiator.HasOutput()) {
        Bytes bytes = initiator.TakeOutput();
        if (responder_error.ok()) responder_error = responder.Receive(bytes);
        moved = true;
      }
      if (responder.HasOutput()) {
        Bytes bytes = responder.TakeOutput();
        if (initiator_error.ok()) initiator_error = initiator.Receive(bytes);
        moved = true;
      }
      if (!moved) return;
    }
  }
  void Open() {
    REQUIRE(initiator.Start().ok());
    Pump();
    REQUIRE(initiator_error.ok());
    REQUIRE(responder_error.ok());
    REQUIRE(initiator.is_open());
    REQUIRE(responder.is_open());
  }
};

Bytes Message(size_t n, uint8_t salt = 0) {
  Bytes m(n);
  for (size_t i = 0; i < n; ++i) m[i] = static_cast<uint8_t>(i * 31 + salt);
  return m;
}

// Splits a stream of frames into the frames (header included).
std::vector<Bytes> Frames(const Bytes& stream) {
  std::vector<Bytes> out;
  size_t at = 0;
  while (at + 2 <= stream.size()) {
    size_t n = (size_t{stream[at]} << 8) | stream[at + 1];
    out.emplace_back(stream.begin() + at, stream.begin() + at + 2 + n);
    at += 2 + n;
  }
  REQUIRE(at == stream.size());
  return out;
}

TEST_CASE("handshake authenticates both nodes and opens the channel", "[transport]") {
  Pair pair;
  pair.Open();
  CHECK(pair.initiator.peer_name() == "bob");
  CHECK(*pair.initiator.peer_id() == pair.bob.public_key());
  CHECK(pair.responder.peer_name() == "alice");
  CHECK(*pair.responder.peer_id() == pair.alice.public_key());
  CHECK(pair.initiator.handshake_hash() == pair.responder.handshake_hash());
}

TEST_CASE("messages of every size are split and reassembled in order", "[transport]") {
  Pair pair;
  pair.Open();
  std::vector<size_t> sizes = {0, 1, kFragmentDataBytesMax - 1, kFragmentDataBytesMax,
                               kFragmentDataBytesMax + 1, 3 * kFragmentDataBytesMax + 7, 1 << 20};
  for (size_t i = 0; i < sizes.size(); ++i) {
    REQUIRE(pair.initiator.Send(Message(sizes[i], static_cast<uint8_t>(i))).ok());
    REQUIRE(pair.responder.Send(Message(sizes[i], static_cast<uint8_t>(i + 100))).ok());
  }
  pair.Pump();
  for (size_t i = 0; i < sizes.size(); ++i) {
    auto at_responder = pair.responder.NextMessage();
    auto at_initiator = pair.initiator.NextMessage();
    REQUIRE(at_responder);
    REQUIRE(at_initiator);
    CHECK(*at_responder == Message(sizes[i], static_cast<uint8_t>(i)));
    CHECK(*at_initiator == Message(sizes[i], static_cast<uint8_t>(i + 100)));
  }
  CHECK_FALSE(pair.responder.NextMessage());
}

TEST_CASE("a message sent in two pieces arrives as one, whatever fragment the cut falls in", "[transport]") {
  Pair pair;
  pair.Open();
  std::vector<std::pair<size_t, size_t>> sizes = {{0, 0},
                                                  {1, 0},
                                                  {1, 5},
                                                  {1, kFragmentDataBytesMax - 1},
                                                  {1, kFragmentDataBytesMax},
                                                  {1, 1 << 20},
                                                  {kFragmentDataBytesMax, 3},
                                                  {kFragmentDataBytesMax + 2, kFragmentDataBytesMax * 2}};
  for (size_t i = 0; i < sizes.size(); ++i) {
    Bytes prefix = Message(sizes[i].first, static_cast<uint8_t>(i));
    Bytes body = Message(sizes[i].second, static_cast<uint8_t>(i + 50));
    REQUIRE(pair.initiator.Send(prefix, body).ok());
  }
  pair.Pump();
  for (size_t i = 0; i < sizes.size(); ++i) {
    Bytes whole = Message(sizes[i].first, static_cast<uint8_t>(i));
    Append(whole, Message(sizes[i].second, static_cast<uint8_t>(i + 50)));
    auto got = pair.responder.NextMessage();
    REQUIRE(got);
    INFO("prefix " << sizes[i].first << ", message " << sizes[i].second);
    CHECK(*got == whole);
  }
  CHECK_FALSE(pair.responder.NextMessage());
}

TEST_CASE("bytes arriving one at a time still make whole messages", "[transport]") {
  Pair pair;
  REQUIRE(pair.initiator.Start().ok());
  // Handshake and a message, delivered byte by byte both ways.
  for (int round = 0; round < 10; ++round) {
    for (auto [from, to] : {std::pair{&pair.initiator, &pair.responder},
                            std::pair{&pair.responder, &pair.initiator}}) {
      Bytes bytes = from->TakeOutput();
      for (uint8_t b : bytes) REQUIRE(to->Receive(ByteView(&b, 1)).ok());
    }
  }
  REQUIRE(pair.initiator.is_open());
  REQUIRE(pair.responder.is_open());
  REQUIRE(pair.initiator.Send(Message(70000)).ok());
  Bytes bytes = pair.initiator.TakeOutput();
  for (uint8_t b : bytes) REQUIRE(pair.responder.Receive(ByteView(&b, 1)).ok());
  auto m = pair.responder.NextMessage();
  REQUIRE(m);
  CHECK(*m == Message(70000));
}

TEST_CASE("a peer outside the trust roster gets no session", "[transport]") {
  Identity mallory = Seeded(9);
  Identity bob = Seeded(2);
  SECTION("unknown initiator: the responder refuses after message 3 and says why") {
    SecureChannel initiator(NoiseRole::kInitiator, mallory, Options(), Allow(bob, "bob"));
    SecureChannel responder(NoiseRole::kResponder, bob, Options(), Allow(Seeded(1), "alice"));
    REQUIRE(initiator.Start().ok());
    REQUIRE(responder.Receive(initiator.TakeOutput()).ok());
    REQUIRE(initiator.Receive(responder.TakeOutput()).ok());
    Status refused = responder.Receive(initiator.TakeOutput());
    CHECK(refused.code() == StatusCode::kUnauthenticated);
    CHECK(responder.state() == ChannelState::kFailed);
    REQUIRE(responder.refused_peer());
    CHECK(*responder.refused_peer() == mallory.public_key());
    CHECK_FALSE(responder.peer_id());
    // The refusal reaches the initiator as an encrypted CLOSE.
    REQUIRE(initiator.Receive(responder.TakeOutput()).ok());
    CHECK(initiator.peer_closed());
    CHECK(initiator.peer_close_reason().rfind("refused: peer ", 0) == 0);
    CHECK(initiator.peer_close_reason().find("is not in the trust roster") != std::string::npos);
    CHECK_FALSE(initiator.NextMessage());
  }
  SECTION("unknown responder: the initiator stops before revealing itself") {
    SecureChannel initiator(NoiseRole::kInitiator, Seeded(1), Options(), Allow(bob, "bob"));
    SecureChannel responder(NoiseRole::kResponder, mallory, Options(), Allow(Seeded(1), "alice"));
    REQUIRE(initiator.Start().ok());
    REQUIRE(responder.Receive(initiator.TakeOutput()).ok());
    Status refused = initiator.Receive(responder.TakeOutput());
    CHECK(refused.code() == StatusCode::kUnauthenticated);
    CHECK(initiator.refused_peer());
    CHECK_FALSE(initiator.HasOutput());  // message 3 never written
  }
}

TEST_CASE("nodes of different networks cannot complete a handshake", "[transport]") {
  Pair pair(Options("network-a"), Options("network-b"));
  REQUIRE(pair.initiator.Start().ok());
  pair.Pump();
  CHECK(pair.initiator_error.code() == StatusCode::kUnauthenticated);
  CHECK_FALSE(pair.initiator.is_open());
  CHECK_FALSE(pair.responder.is_open());
}

TEST_CASE("a node id that does not match the Noise static key is refused", "[transport]") {
  // The payload is encrypted, so a wire test cannot swap it; the channel runs
  // this check on every payload (CheckPeer), tested here directly.
  Identity bob = Seeded(2), mallory = Seeded(9);
  auto mallory_static = crypto::X25519PublicKey(mallory.X25519SecretKey());
  CHECK(crypto::CheckStaticKeyBinding(mallory_static, bob.public_key()).code() ==
        StatusCode::kUnauthenticated);
  auto bob_static = crypto::X25519PublicKey(bob.X25519SecretKey());
  CHECK(crypto::CheckStaticKeyBinding(bob_static, bob.public_key()).ok());
}

TEST_CASE("garbage, truncated, oversized and flipped bytes fail the handshake", "[transport][bad]") {
  Identity alice = Seeded(1), bob = Seeded(2);
  SECTION("garbage instead of message 1") {
    SecureChannel responder(NoiseRole::kResponder, bob, Options(), Allow(alice, "alice"));
    Bytes garbage = {'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P'};
    CHECK(responder.Receive(garbage).code() == StatusCode::kCorruption);
    CHECK(responder.state() == ChannelState::kFailed);
    CHECK(responder.Receive(garbage).code() == StatusCode::kFailedPrecondition);
  }
  SECTION("an oversized length header is refused before its body arrives") {
    SecureChannel responder(NoiseRole::kResponder, bob, Options(), Allow(alice, "alice"));
    Bytes header = {0xff, 0xff};
    CHECK(responder.Receive(header).code() == StatusCode::kCorruption);
  }
  SECTION("a truncated message 1 waits, and never opens") {
    SecureChannel responder(NoiseRole::kResponder, bob, Options(), Allow(alice, "alice"));
    SecureChannel initiator(NoiseRole::kInitiator, alice, Options(), Allow(bob, "bob"));
    REQUIRE(initiator.Start().ok());
    Bytes m1 = initiator.TakeOutput();
    m1.resize(m1.size() - 1);
    CHECK(responder.Receive(m1).ok());
    CHECK(responder.receiving_partial_frame());
    CHECK_FALSE(responder.HasOutput());
  }
  SECTION("a flipped bit in any handshake message") {
    for (int which = 0; which < 3; ++which) {
      Pair pair;
      REQUIRE(pair.initiator.Start().ok());
      Bytes m1 = pair.initiator.TakeOutput();
      // Flip a bit in the body (after the length) of message `which`.
      if (which == 0) m1[2 + 5] ^= 0x10;
      Status s1 = pair.responder.Receive(m1);
      if (which == 0) {
        // A flipped ephemeral key is not detected until message 2's tags fail
        // at the initiator (h differs).
        REQUIRE(s1.ok());
        CHECK(pair.initiator.Receive(pair.responder.TakeOutput()).code() ==
              StatusCode::kUnauthenticated);
        continue;
      }
      Bytes m2 = pair.responder.TakeOutput();
      if (which == 1) {
        m2[2 + 40] ^= 0x01;
        CHECK(pair.initiator.Receive(m2).code() == StatusCode::kUnauthenticated);
        CHECK_FALSE(pair.initiator.HasOutput());
        continue;
      }
      REQUIRE(pair.initiator.Receive(m2).ok());
      Bytes m3 = pair.initiator.TakeOutput();
      m3[2 + 90] ^= 0x80;
      CHECK(pair.responder.Receive(m3).code() == StatusCode::kUnauthenticated);
      CHECK_FALSE(pair.responder.is_open());
    }
  }
  SECTION("a replayed handshake message") {
    Pair pair;
    REQUIRE(pair.initiator.Start().ok());
    Bytes m1 = pair.initiator.TakeOutput();
    REQUIRE(pair.responder.Receive(m1).ok());
    // Message 1 again where message 3 is expected: wrong size, refused.
    CHECK(pair.responder.Receive(m1).code() == StatusCode::kCorruption);
    CHECK(pair.responder.state() == ChannelState::kFailed);
  }
  SECTION("a replayed message 3 from an earlier session") {
    Pair first;
    REQUIRE(first.initiator.Start().ok());
    Bytes m1 = first.initiator.TakeOutput();
    REQUIRE(first.responder.Receive(m1).ok());
    REQUIRE(first.initiator.Receive(first.responder.TakeOutput()).ok());
    Bytes m3 = first.initiator.TakeOutput();
    // An attacker replays m1 and m3 to a new responder: its fresh ephemeral
    // key makes the old message 3 fail.
    SecureChannel responder(NoiseRole::kResponder, first.bob, Options(), Allow(first.alice, "alice"));
    REQUIRE(responder.Receive(m1).ok());
    (void)responder.TakeOutput();
    CHECK(responder.Receive(m3).code() == StatusCode::kUnauthenticated);
    CHECK_FALSE(responder.is_open());
  }
}

TEST_CASE("transport frames that are tampered, replayed, reordered or malformed drop the channel",
          "[transport][bad]") {
  Pair pair;
  pair.Open();
  REQUIRE(pair.initiator.Send(Message(100, 1)).ok());
  REQUIRE(pair.initiator.Send(Message(100, 2)).ok());
  auto frames = Frames(pair.initiator.TakeOutput());
  REQUIRE(frames.size() == 2);

  SECTION("flipped bit anywhere in the ciphertext or tag") {
    for (size_t bit : {size_t{2 * 8}, size_t{50 * 8 + 3}, (frames[0].size() - 1) * 8 + 7}) {
      Pair p;
      p.Open();
      REQUIRE(p.initiator.Send(Message(100, 1)).ok());
      Bytes f = p.initiator.TakeOutput();
      f[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      CHECK(p.responder.Receive(f).code() == StatusCode::kUnauthenticated);
      CHECK(p.responder.state() == ChannelState::kFailed);
      CHECK_FALSE(p.responder.NextMessage());
    }
  }
  SECTION("replayed frame") {
    REQUIRE(pair.responder.Receive(frames[0]).ok());
    CHECK(pair.responder.Receive(frames[0]).code() == StatusCode::kUnauthenticated);
    REQUIRE(pair.responder.NextMessage());
    CHECK_FALSE(pair.responder.NextMessage());
  }
  SECTION("reordered frames") {
    CHECK(pair.responder.Receive(frames[1]).code() == StatusCode::kUnauthenticated);
  }
  SECTION("a length below a tag") {
    Bytes tiny = {0x00, 0x05, 1, 2, 3, 4, 5};
    CHECK(pair.responder.Receive(tiny).code() == StatusCode::kCorruption);
  }
  SECTION("a length of zero") {
    Bytes zero = {0x00, 0x00};
    CHECK(pair.responder.Receive(zero).code() == StatusCode::kCorruption);
  }
}

TEST_CASE("reassembly is bounded", "[transport][bad]") {
  ChannelOptions small = Options();
  small.max_message_bytes = 100000;
  Pair pair(Options(), small);
  pair.Open();
  // The sender's own bound is larger, so it sends; the receiver refuses.
  REQUIRE(pair.initiator.Send(Message(100001)).ok());
  pair.Pump();
  CHECK(pair.responder_error.code() == StatusCode::kResourceExhausted);
  CHECK_FALSE(pair.responder.NextMessage());
  // And a sender never sends above its own bound.
  CHECK(pair.responder.Send(Message(100001)).code() == StatusCode::kFailedPrecondition);
}

TEST_CASE("both ends rekey at the same message and keep talking", "[transport]") {
  ChannelOptions a = Options(), b = Options();
  a.rekey_interval = b.rekey_interval = 3;
  Pair pair(a, b);
  pair.Open();
  for (int i = 0; i < 20; ++i) REQUIRE(pair.initiator.Send(Message(10, static_cast<uint8_t>(i))).ok());
  pair.Pump();
  for (int i = 0; i < 20; ++i) {
    auto m = pair.responder.NextMessage();
    REQUIRE(m);
    CHECK(*m == Message(10, static_cast<uint8_t>(i)));
  }
  // Mismatched intervals fail at the first rekey: proof the key changes.
  ChannelOptions c = Options(), d = Options();
  c.rekey_interval = 3;
  d.rekey_interval = 4;
  Pair odd(c, d);
  odd.Open();
  for (int i = 0; i < 4; ++i) REQUIRE(odd.initiator.Send(Message(10)).ok());
  odd.Pump();
  CHECK(odd.responder_error.code() == StatusCode::kUnauthenticated);
}

TEST_CASE("close is clean and one-way data after it is refused", "[transport]") {
  Pair pair;
  pair.Open();
  REQUIRE(pair.initiator.Send(Message(5)).ok());
  pair.initiator.Close("shutting down");
  CHECK(pair.initiator.Send(Message(5)).code() == StatusCode::kFailedPrecondition);
  pair.Pump();
  REQUIRE(pair.responder.NextMessage());
  CHECK(pair.responder.peer_closed());
  CHECK(pair.responder.peer_close_reason() == "shutting down");
}

TEST_CASE("FrameReader hands out frames and enforces limits", "[transport]") {
  FrameReader reader;
  reader.SetLimits(1, 10);
  Bytes stream;
  AppendFrame(stream, Bytes{1, 2, 3});
  AppendFrame(stream, Bytes{4});
  reader.Feed(stream);
  auto a = reader.Next();
  REQUIRE(a.ok());
  CHECK(*a.value() == Bytes{1, 2, 3});
  auto b = reader.Next();
  REQUIRE(b.ok());
  CHECK(*b.value() == Bytes{4});
  auto none = reader.Next();
  REQUIRE(none.ok());
  CHECK_FALSE(none.value());
  reader.Feed(Bytes{0x00, 11});
  CHECK(reader.Next().status().code() == StatusCode::kCorruption);
}

TEST_CASE("Reassembler refuses unknown fragment types and data after close", "[transport]") {
  Reassembler r(10);
  CHECK(r.Add(Bytes{}).code() == StatusCode::kCorruption);
  CHECK(r.Add(Bytes{0x07, 1}).code() == StatusCode::kCorruption);
  CHECK(r.Add(Bytes{0x01, 1, 2}).ok());
  CHECK(r.Add(Bytes{0x03}).code() == StatusCode::kCorruption);  // close mid-message
  Reassembler s(10);
  CHECK(s.Add(Bytes{0x03, 'b', 'y', 'e', '\n'}).ok());
  CHECK(s.close_reason() == "bye?");
  CHECK(s.Add(Bytes{0x02}).code() == StatusCode::kFailedPrecondition);
}

TEST_CASE("Reassembler reuses a recycled buffer and the next message holds only its own bytes",
          "[transport]") {
  Reassembler r(1 << 20);
  Bytes big(1 + 100000, 0xab);
  big[0] = 0x02;  // END: one whole message
  REQUIRE(r.Add(big).ok());
  auto first = r.Next();
  REQUIRE(first);
  CHECK(first->size() == 100000);
  const uint8_t* memory = first->data();
  r.Recycle(std::move(*first));
  REQUIRE(r.Add(Bytes{0x01, 'h', 'i'}).ok());
  REQUIRE(r.Add(Bytes{0x02, '!'}).ok());
  auto second = r.Next();
  REQUIRE(second);
  CHECK(*second == Bytes{'h', 'i', '!'});
  CHECK(second->data() == memory);  // assembled in the recycled buffer
  CHECK_FALSE(r.Next());
}

}  // namespace
}  // namespace ncen::transport
