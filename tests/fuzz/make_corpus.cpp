// Writes the seed corpus of the fuzz targets (tests/fuzz/README.md):
//
//   fuzz_make_corpus tests/fuzz/corpus
//
// creates corpus/<target>/seed-* (overwriting earlier seeds, leaving other
// files such as libFuzzer's additions alone). Output is deterministic: the
// keys and ephemerals are fixed in fuzz_support.h, so a real handshake
// recorded here authenticates again when the target replays it; the stores
// that write the entry seeds have fixed identities and record ids, and run
// on a clock of this program's (StoreOptions::clock).
//
// Handshake seeds are real traffic: the peer is a crypto::HandshakeState
// driven exactly as SecureChannel drives it (checked against a real
// channel below), which lets this program also craft what an honest channel
// never sends but a hostile peer with valid keys can: a payload that is not
// the sender's key, an unknown fragment type, data after CLOSE, a message
// over the bound. Every seed is replayed into a fresh channel configured
// like the target and its expected outcome is checked, so a seed that
// stops reaching its path fails here instead of silently losing coverage.
//
// Entry, protocol and record seeds come from real stores written with
// Store::AppendLocal by three offices that sync with each other (puts,
// updates with non-empty contexts, a conflict and its resolve, a delete), and
// from what a member with a valid key can sign on top (a fork, a gap, a bad
// prev, a malformed payload). The same checks apply: each entry seed is
// applied to a fresh store and must be taken or refused as expected, each
// protocol seed must decode to its kind, each record seed must be accepted
// or refused by ValidateRecordPayload as expected.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <nlohmann/json.hpp>

#include "replication/protocol/messages.h"
#include "replication/schema/wire.capnp.h"
#include "replication/transport/channel.h"
#include "replication/transport/frame.h"
#include "storage/record_json.h"
#include "storage/sharing.h"
#include "storage/store.h"
#include "tests/fuzz/fuzz_entry_support.h"
#include "tests/fuzz/fuzz_support.h"
#include "base/clock.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace ncen;
using crypto::HandshakeState;
using crypto::NoiseRole;
using transport::FragmentType;

namespace fs = std::filesystem;

#define GEN_CHECK(cond)                                                          \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::fprintf(stderr, "make_corpus: %s failed at line %d\n", #cond, __LINE__); \
      std::exit(1);                                                              \
    }                                                                            \
  } while (false)

Bytes Framed(ByteView message) {
  Bytes out;
  transport::AppendFrame(out, message);
  return out;
}

// Splits a channel's output into its Noise messages.
std::vector<Bytes> Unframe(ByteView stream) {
  transport::FrameReader reader;
  reader.Feed(stream);
  std::vector<Bytes> messages;
  while (true) {
    auto next = reader.Next();
    GEN_CHECK(next.ok());
    if (!next.value()) break;
    messages.push_back(*next.value());
  }
  GEN_CHECK(!reader.HasPartialFrame());
  return messages;
}

Bytes Concat(std::initializer_list<ByteView> parts) {
  Bytes out;
  for (ByteView part : parts) Append(out, part);
  return out;
}

// Sends transport fragments with a CipherState from Split(), rekeying at the
// same points as SecureChannel::SendFragment.
class FragmentWriter {
 public:
  explicit FragmentWriter(crypto::CipherState cipher) : cipher_(std::move(cipher)) {}

  Bytes Plaintext(ByteView plaintext) {
    if (cipher_.nonce() > 0 && cipher_.nonce() % fuzz::kFuzzRekeyInterval == 0) cipher_.Rekey();
    auto ciphertext = cipher_.EncryptWithAd({}, plaintext);
    GEN_CHECK(ciphertext.ok());
    return Framed(ciphertext.value());
  }
  Bytes Fragment(FragmentType type, ByteView data) {
    Bytes plaintext{static_cast<uint8_t>(type)};
    Append(plaintext, data);
    return Plaintext(plaintext);
  }
  Bytes Message(std::string_view text) { return Fragment(FragmentType::kEnd, AsBytes(text)); }

 private:
  crypto::CipherState cipher_;
};

// A typical session body: short messages, an empty one, a three-fragment
// message, enough messages to cross several rekeys, then CLOSE.
Bytes TypicalTraffic(FragmentWriter& writer) {
  Bytes out;
  Append(out, writer.Message("hello"));
  Append(out, writer.Message(""));
  Append(out, writer.Fragment(FragmentType::kMore, AsBytes("part one, ")));
  Append(out, writer.Fragment(FragmentType::kMore, AsBytes("part two, ")));
  Append(out, writer.Fragment(FragmentType::kEnd, AsBytes("part three")));
  for (int i = 0; i < 5; ++i) Append(out, writer.Message("message " + std::to_string(i)));
  Append(out, writer.Fragment(FragmentType::kClose, AsBytes("bye\n\x7f")));
  return out;
}

// ---- the initiator side, for seeds of the responder target ----

struct InitiatorScript {
  Bytes message1;                 // framed
  Bytes message3;                 // framed; empty if message 2 did not verify
  std::optional<FragmentWriter> writer;
};

// Runs a handshake against the responder under test as `who`, sending
// `payload` (default: who's key) in message 3.
InitiatorScript ScriptInitiator(const crypto::Identity& who,
                                std::optional<crypto::PublicKey> payload = std::nullopt) {
  InitiatorScript script;
  HandshakeState hs(NoiseRole::kInitiator, crypto::NcenPrologue(fuzz::NetworkId()),
                    who.X25519SecretKey());
  hs.SetEphemeralPrivateKeyForTesting(fuzz::InitiatorEphemeral());
  auto m1 = hs.WriteMessage({});
  GEN_CHECK(m1.ok());
  script.message1 = Framed(m1.value());

  transport::SecureChannel responder = fuzz::MakeResponder();
  GEN_CHECK(responder.Receive(script.message1).ok());
  std::vector<Bytes> out = Unframe(responder.TakeOutput());
  GEN_CHECK(out.size() == 1);
  auto p2 = hs.ReadMessage(out[0]);
  GEN_CHECK(p2.ok());
  crypto::PublicKey key = payload.value_or(who.public_key());
  auto m3 = hs.WriteMessage(key);
  GEN_CHECK(m3.ok());
  script.message3 = Framed(m3.value());
  auto ciphers = hs.Split();
  GEN_CHECK(ciphers.ok());
  script.writer.emplace(std::move(ciphers.value().send));
  return script;
}

// ---- the responder side, for seeds of the initiator target ----

struct ResponderScript {
  Bytes message2;  // framed
  std::optional<FragmentWriter> writer;  // set when the initiator sent message 3
};

// Answers the initiator under test as `who` on `network`, with `payload`
// (default: who's key) in message 2, and (optionally) an all-zero ephemeral.
ResponderScript ScriptResponder(const crypto::Identity& who, Bytes network,
                                std::optional<crypto::PublicKey> payload = std::nullopt,
                                bool zero_ephemeral = false) {
  ResponderScript script;
  transport::SecureChannel initiator = fuzz::MakeInitiator();
  GEN_CHECK(initiator.Start().ok());
  std::vector<Bytes> m1 = Unframe(initiator.TakeOutput());
  GEN_CHECK(m1.size() == 1);

  HandshakeState hs(NoiseRole::kResponder, crypto::NcenPrologue(network), who.X25519SecretKey());
  hs.SetEphemeralPrivateKeyForTesting(fuzz::ResponderEphemeral());
  GEN_CHECK(hs.ReadMessage(m1[0]).ok());
  crypto::PublicKey key = payload.value_or(who.public_key());
  auto m2 = hs.WriteMessage(key);
  GEN_CHECK(m2.ok());
  Bytes m2_bytes = m2.value();
  if (zero_ephemeral) std::fill(m2_bytes.begin(), m2_bytes.begin() + 32, 0);
  script.message2 = Framed(m2_bytes);

  if (initiator.Receive(script.message2).ok()) {
    std::vector<Bytes> m3 = Unframe(initiator.TakeOutput());
    GEN_CHECK(m3.size() == 1);
    GEN_CHECK(hs.ReadMessage(m3[0]).ok());
    auto ciphers = hs.Split();
    GEN_CHECK(ciphers.ok());
    script.writer.emplace(std::move(ciphers.value().send));
  }
  return script;
}

// ---- output and self-check ----

struct Outcome {
  transport::ChannelState state;
  StatusCode code;  // of the Receive that ended the stream
  size_t messages;
};

Outcome ReplayWhole(transport::SecureChannel channel, ByteView stream) {
  Status s = channel.Receive(stream);
  size_t messages = 0;
  while (channel.NextMessage()) ++messages;
  return {channel.state(), s.code(), messages};
}

class CorpusWriter {
 public:
  explicit CorpusWriter(fs::path root) : root_(std::move(root)) {}

  void Write(const std::string& target, const std::string& name, ByteView bytes) {
    fs::path dir = root_ / target;
    fs::create_directories(dir);
    fs::path path = dir / ("seed-" + name);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    GEN_CHECK(out.good());
    total_bytes_ += bytes.size();
    ++files_;
  }

  // A channel seed: mode byte 0x00 (whole stream), and when `chunked`, two
  // more copies cut into 1..32-byte chunks, fed by copy (mode 0x05) and
  // through the zero-copy calls (0x85). `expected` is the whole-stream
  // outcome, checked before writing.
  void Channel(const std::string& target, const std::string& name, ByteView stream,
               Outcome expected, bool chunked = false) {
    transport::SecureChannel channel =
        target == "handshake_responder" ? fuzz::MakeResponder() : fuzz::MakeInitiator();
    if (target == "handshake_initiator") GEN_CHECK(channel.Start().ok());
    (void)channel.TakeOutput();
    Outcome got = ReplayWhole(std::move(channel), stream);
    if (got.state != expected.state || got.code != expected.code ||
        got.messages != expected.messages) {
      std::fprintf(stderr, "make_corpus: seed %s/%s: state %d code %s messages %zu, expected %d %s %zu\n",
                   target.c_str(), name.c_str(), static_cast<int>(got.state),
                   StatusCodeName(got.code), got.messages, static_cast<int>(expected.state),
                   StatusCodeName(expected.code), expected.messages);
      std::exit(1);
    }
    Write(target, name, Concat({Bytes{0x00}, stream}));
    if (chunked) {
      Write(target, name + "-chunked", Concat({Bytes{0x05}, stream}));
      Write(target, name + "-zero-copy", Concat({Bytes{0x85}, stream}));
    }
  }

  void Report() const {
    std::printf("wrote %zu seed files, %zu bytes, under %s\n", files_, total_bytes_,
                root_.c_str());
  }

 private:
  fs::path root_;
  size_t files_ = 0;
  size_t total_bytes_ = 0;
};

Bytes Flip(Bytes bytes, size_t index) {
  bytes[index] ^= 0x01;
  return bytes;
}

Bytes Truncate(Bytes bytes, size_t size) {
  bytes.resize(size);
  return bytes;
}

constexpr auto kHandshake = transport::ChannelState::kHandshake;
constexpr auto kOpen = transport::ChannelState::kOpen;
constexpr auto kFailed = transport::ChannelState::kFailed;

void ResponderSeeds(CorpusWriter& out) {
  const std::string t = "handshake_responder";
  const auto& I = fuzz::InitiatorIdentity();
  const auto& S = fuzz::StrangerIdentity();

  // The scripted initiator must send what a real initiator sends.
  {
    transport::SecureChannel real = fuzz::MakeInitiator();
    GEN_CHECK(real.Start().ok());
    GEN_CHECK(real.TakeOutput() == ScriptInitiator(I).message1);
  }

  InitiatorScript good = ScriptInitiator(I);
  Bytes handshake = Concat({good.message1, good.message3});

  out.Channel(t, "message1", good.message1, {kHandshake, StatusCode::kOk, 0});
  out.Channel(t, "handshake", handshake, {kOpen, StatusCode::kOk, 0}, true);
  {
    InitiatorScript s = ScriptInitiator(I);
    Bytes traffic = TypicalTraffic(*s.writer);
    out.Channel(t, "session", Concat({handshake, traffic}), {kOpen, StatusCode::kOk, 8}, true);
    // The same session cut inside the last frame.
    Bytes cut = Concat({handshake, Truncate(traffic, traffic.size() - 3)});
    out.Channel(t, "session-truncated", cut, {kOpen, StatusCode::kOk, 8});
    // Tampered: one bit of the third transport frame's tag.
    size_t first = Framed(Bytes(5 + 1 + 16)).size();
    size_t second = Framed(Bytes(1 + 16)).size();
    Bytes tampered = Flip(traffic, first + second + 10);
    out.Channel(t, "session-tampered", Concat({handshake, tampered}),
                {kFailed, StatusCode::kUnauthenticated, 2});
    // Replayed: the first transport frame twice.
    Bytes replayed = Concat({handshake, ByteView(traffic).first(first), ByteView(traffic).first(first)});
    out.Channel(t, "session-replayed", replayed, {kFailed, StatusCode::kUnauthenticated, 1});
  }
  {
    InitiatorScript s = ScriptInitiator(I);
    Bytes closed = s.writer->Fragment(FragmentType::kClose, AsBytes("done"));
    Bytes after = s.writer->Message("after close");
    out.Channel(t, "data-after-close", Concat({handshake, closed, after}),
                {kFailed, StatusCode::kFailedPrecondition, 0});
  }
  {
    InitiatorScript s = ScriptInitiator(I);
    Bytes more = s.writer->Fragment(FragmentType::kMore, AsBytes("half"));
    Bytes close = s.writer->Fragment(FragmentType::kClose, AsBytes("oops"));
    out.Channel(t, "close-mid-message", Concat({handshake, more, close}),
                {kFailed, StatusCode::kCorruption, 0});
  }
  {
    InitiatorScript s = ScriptInitiator(I);
    Bytes unknown = s.writer->Fragment(static_cast<FragmentType>(0x07), AsBytes("what"));
    out.Channel(t, "unknown-fragment-type", Concat({handshake, unknown}),
                {kFailed, StatusCode::kCorruption, 0});
  }
  {
    InitiatorScript s = ScriptInitiator(I);
    // An empty plaintext encrypts to a bare 16-byte tag, below the 17-byte
    // transport minimum: refused by the frame reader.
    Bytes empty = s.writer->Plaintext({});
    out.Channel(t, "empty-plaintext", Concat({handshake, empty}),
                {kFailed, StatusCode::kCorruption, 0});
  }
  {
    InitiatorScript s = ScriptInitiator(I);
    Bytes big(fuzz::kFuzzMaxMessageBytes + 1, 'b');
    Bytes over = s.writer->Fragment(FragmentType::kEnd, big);
    out.Channel(t, "over-bound", Concat({handshake, over}),
                {kFailed, StatusCode::kResourceExhausted, 0});
    InitiatorScript s2 = ScriptInitiator(I);
    Bytes half(fuzz::kFuzzMaxMessageBytes / 2 + 1, 'h');
    Bytes parts = Concat({s2.writer->Fragment(FragmentType::kMore, half),
                          s2.writer->Fragment(FragmentType::kEnd, half)});
    out.Channel(t, "over-bound-in-parts", Concat({handshake, parts}),
                {kFailed, StatusCode::kResourceExhausted, 0});
  }
  {
    // A valid node that is not in the roster: the responder refuses it.
    InitiatorScript s = ScriptInitiator(S);
    out.Channel(t, "refused-peer", Concat({s.message1, s.message3}),
                {kFailed, StatusCode::kUnauthenticated, 0});
    // I's static key with S's node id: the identity binding fails.
    InitiatorScript m = ScriptInitiator(I, S.public_key());
    out.Channel(t, "binding-mismatch", Concat({m.message1, m.message3}),
                {kFailed, StatusCode::kUnauthenticated, 0});
    // An all-zero (small-order, invalid) Ed25519 key as the node id.
    InitiatorScript z = ScriptInitiator(I, crypto::PublicKey{});
    out.Channel(t, "invalid-node-id", Concat({z.message1, z.message3}),
                {kFailed, StatusCode::kUnauthenticated, 0});
  }
  out.Channel(t, "message3-tampered", Concat({good.message1, Flip(good.message3, 50)}),
              {kFailed, StatusCode::kUnauthenticated, 0});
  out.Channel(t, "message1-twice", Concat({good.message1, good.message1}),
              {kFailed, StatusCode::kCorruption, 0});
  out.Channel(t, "message1-zero-ephemeral", Framed(Bytes(32, 0)),
              {kFailed, StatusCode::kUnauthenticated, 0});
  out.Channel(t, "message1-truncated", Truncate(good.message1, 20), {kHandshake, StatusCode::kOk, 0});
  out.Channel(t, "message3-truncated", Concat({good.message1, Truncate(good.message3, 60)}),
              {kHandshake, StatusCode::kOk, 0});
  out.Channel(t, "length-ffff", Bytes{0xff, 0xff, 0x00}, {kFailed, StatusCode::kCorruption, 0});
  out.Channel(t, "length-33", Framed(Bytes(33, 0x42)), {kFailed, StatusCode::kCorruption, 0});
  out.Channel(t, "one-byte", Bytes{0x00}, {kHandshake, StatusCode::kOk, 0});
  out.Write(t, "empty", {});
  out.Write(t, "mode-only", Bytes{0x00});
}

void InitiatorSeeds(CorpusWriter& out) {
  const std::string t = "handshake_initiator";
  const auto& R = fuzz::ResponderIdentity();
  const auto& S = fuzz::StrangerIdentity();

  // The scripted responder must answer as a real responder does.
  {
    transport::SecureChannel real = fuzz::MakeResponder();
    transport::SecureChannel initiator = fuzz::MakeInitiator();
    GEN_CHECK(initiator.Start().ok());
    GEN_CHECK(real.Receive(initiator.TakeOutput()).ok());
    GEN_CHECK(real.TakeOutput() == ScriptResponder(R, fuzz::NetworkId()).message2);
  }

  ResponderScript good = ScriptResponder(R, fuzz::NetworkId());
  out.Channel(t, "message2", good.message2, {kOpen, StatusCode::kOk, 0}, true);
  {
    ResponderScript s = ScriptResponder(R, fuzz::NetworkId());
    Bytes traffic = TypicalTraffic(*s.writer);
    out.Channel(t, "session", Concat({s.message2, traffic}), {kOpen, StatusCode::kOk, 8}, true);
    out.Channel(t, "session-tampered", Concat({s.message2, Flip(traffic, 12)}),
                {kFailed, StatusCode::kUnauthenticated, 0});
  }
  {
    ResponderScript s = ScriptResponder(R, fuzz::NetworkId());
    Bytes closed = s.writer->Fragment(FragmentType::kClose, AsBytes("done"));
    Bytes after = s.writer->Message("after close");
    out.Channel(t, "data-after-close", Concat({s.message2, closed, after}),
                {kFailed, StatusCode::kFailedPrecondition, 0});
  }
  {
    ResponderScript s = ScriptResponder(R, fuzz::NetworkId());
    Bytes more = s.writer->Fragment(FragmentType::kMore, AsBytes("half"));
    Bytes unknown = s.writer->Fragment(static_cast<FragmentType>(0x00), AsBytes("x"));
    out.Channel(t, "unknown-fragment-type", Concat({s.message2, more, unknown}),
                {kFailed, StatusCode::kCorruption, 0});
  }
  {
    ResponderScript s = ScriptResponder(R, fuzz::NetworkId());
    Bytes big(fuzz::kFuzzMaxMessageBytes + 1, 'b');
    out.Channel(t, "over-bound",
                Concat({s.message2, s.writer->Fragment(FragmentType::kEnd, big)}),
                {kFailed, StatusCode::kResourceExhausted, 0});
  }
  {
    // A real responder whose roster does not list us: it opens, sends an
    // encrypted CLOSE naming the refusal, and stops.
    transport::SecureChannel refusing(NoiseRole::kResponder, R, fuzz::FuzzChannelOptions(),
                                      fuzz::AcceptOnly(S.public_key()));
    refusing.SetEphemeralPrivateKeyForTesting(fuzz::ResponderEphemeral());
    transport::SecureChannel initiator = fuzz::MakeInitiator();
    GEN_CHECK(initiator.Start().ok());
    GEN_CHECK(refusing.Receive(initiator.TakeOutput()).ok());
    Bytes message2 = refusing.TakeOutput();
    GEN_CHECK(initiator.Receive(message2).ok());
    GEN_CHECK(!refusing.Receive(initiator.TakeOutput()).ok());
    Bytes close = refusing.TakeOutput();
    GEN_CHECK(!close.empty());
    out.Channel(t, "refused-by-responder", Concat({message2, close}), {kOpen, StatusCode::kOk, 0});
  }
  out.Channel(t, "stranger-responder", ScriptResponder(S, fuzz::NetworkId()).message2,
              {kFailed, StatusCode::kUnauthenticated, 0});
  out.Channel(t, "binding-mismatch",
              ScriptResponder(R, fuzz::NetworkId(), S.public_key()).message2,
              {kFailed, StatusCode::kUnauthenticated, 0});
  out.Channel(t, "invalid-node-id",
              ScriptResponder(R, fuzz::NetworkId(), crypto::PublicKey{}).message2,
              {kFailed, StatusCode::kUnauthenticated, 0});
  {
    std::string_view other = "other-network";
    out.Channel(t, "wrong-network", ScriptResponder(R, Bytes(other.begin(), other.end())).message2,
                {kFailed, StatusCode::kUnauthenticated, 0});
  }
  out.Channel(t, "message2-zero-ephemeral",
              ScriptResponder(R, fuzz::NetworkId(), std::nullopt, true).message2,
              {kFailed, StatusCode::kUnauthenticated, 0});
  out.Channel(t, "message2-tampered", Flip(good.message2, 100),
              {kFailed, StatusCode::kUnauthenticated, 0});
  out.Channel(t, "message2-truncated", Truncate(good.message2, 77), {kHandshake, StatusCode::kOk, 0});
  out.Channel(t, "message1-echoed", Framed(Bytes(32, 0x11)), {kFailed, StatusCode::kCorruption, 0});
  out.Channel(t, "length-ffff", Bytes{0xff, 0xff}, {kFailed, StatusCode::kCorruption, 0});
  out.Channel(t, "one-byte", Bytes{0x00}, {kHandshake, StatusCode::kOk, 0});
  out.Write(t, "empty", {});
  out.Write(t, "mode-only", Bytes{0x00});
}

// Frame decoder seeds are plain frames; the transport reader strips 16
// trailing "tag" bytes, so each fragment carries 16 filler bytes at its end.
Bytes PlainFragment(uint8_t type, std::string_view data) {
  Bytes plaintext{type};
  Append(plaintext, AsBytes(data));
  plaintext.insert(plaintext.end(), 16, 0x54);  // 'T'
  return Framed(plaintext);
}

void FrameDecoderSeeds(CorpusWriter& out) {
  const std::string t = "frame_decoder";
  auto seed = [&](const std::string& name, uint8_t mode, ByteView stream) {
    out.Write(t, name, Concat({Bytes{mode}, stream}));
  };
  Bytes messages = Concat({PlainFragment(0x02, "hello"), PlainFragment(0x02, ""),
                           PlainFragment(0x01, "part one, "), PlainFragment(0x01, "part two, "),
                           PlainFragment(0x02, "part three"),
                           PlainFragment(0x03, "bye\x01\x7f and a reason")});
  seed("messages", 0x00, messages);
  seed("messages-chunked", 0x05, messages);
  seed("messages-bytewise", 0x09, messages);
  seed("messages-zero-copy", 0x85, messages);
  seed("close-mid-message", 0x00, Concat({PlainFragment(0x01, "half"), PlainFragment(0x03, "x")}));
  seed("data-after-close", 0x00, Concat({PlainFragment(0x03, ""), PlainFragment(0x02, "late")}));
  seed("unknown-type", 0x00, PlainFragment(0x07, "what"));
  seed("long-close-reason", 0x00, PlainFragment(0x03, std::string(300, 'r')));
  seed("over-small-bound", 0x00,
       Concat({PlainFragment(0x01, std::string(200, 'a')), PlainFragment(0x02, std::string(200, 'b'))}));
  seed("empty-frames", 0x00, Bytes{0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02});
  seed("short-frame", 0x00, Framed(Bytes(16, 0x02)));
  seed("handshake-32", 0x00, Framed(Bytes(32, 0x31)));
  seed("handshake-96", 0x10, Framed(Bytes(96, 0x39)));
  seed("handshake-128", 0x20, Concat({Framed(Bytes(128, 0x80)), Framed(Bytes(127, 0x7f))}));
  seed("length-ffff-truncated", 0x00, Concat({Bytes{0xff, 0xff}, Bytes(100, 0xaa)}));
  seed("length-ffff-header-only", 0x03, Bytes{0xff, 0xff});
  seed("truncated-body", 0x07, Truncate(PlainFragment(0x02, "truncated body"), 12));
  seed("half-header", 0x00, Bytes{0x00});
  out.Write(t, "empty", {});
  out.Write(t, "mode-only", Bytes{0x00});

  // Real traffic from the channel seeds, as the socket would carry it.
  InitiatorScript s = ScriptInitiator(fuzz::InitiatorIdentity());
  Bytes session = Concat({s.message1, s.message3, TypicalTraffic(*s.writer)});
  seed("real-session", 0x00, session);
  seed("real-session-zero-copy", 0x87, session);
}

// ---- entries from real stores: entry_transfer, protocol_message ----

using json = nlohmann::ordered_json;
using storage::Entry;
using storage::EntryError;
using storage::EntryHeader;
using storage::FeedId;
using storage::LocalChange;
using storage::Op;
using storage::RecordId;
using storage::RecordType;
using storage::Scope;

// 2026-01-01T00:00:00Z; every local write moves the seeds' clock on a minute.
constexpr int64_t kSeedEpochMs = 1767225600000;
int64_t g_seed_now_ms = kSeedEpochMs;

class SeedClock final : public Clock {
 public:
  int64_t NowMs() const override { return g_seed_now_ms; }
};
const SeedClock g_seed_clock;

json ReadSample(const std::string& name) {
  std::ifstream in(std::string(NCEN_SAMPLES_DIR) + "/" + name);
  GEN_CHECK(in.good());
  return json::parse(in);
}

Bytes RecordPayload(RecordType type, const json& object) {
  Result<Bytes> payload = storage::RecordFromJson(type, object, /*allow_id=*/true);
  if (!payload.ok()) {
    std::fprintf(stderr, "make_corpus: %s\n", payload.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(payload).value();
}

// A version-7 record id at the epoch, told apart by its last byte.
RecordId FixedRecordId(uint8_t n) {
  RecordId id{};
  uint64_t ms = static_cast<uint64_t>(kSeedEpochMs);
  for (int i = 5; i >= 0; --i, ms >>= 8) id[static_cast<size_t>(i)] = static_cast<uint8_t>(ms);
  id[6] = 0x70;
  id[8] = 0x80;
  id[15] = n;
  return id;
}

// An office: a fixed identity and its store in a temporary directory.
class Office {
 public:
  Office(const crypto::Identity& identity, const std::string& name, const std::string& role)
      : identity_(identity) {
    storage::NodeMeta meta{identity.public_key(), name, role, kSeedEpochMs};
    storage::StoreOptions options;
    options.durable = false;
    options.map_size_bytes = uint64_t{256} << 20;
    options.clock = &g_seed_clock;
    auto store = storage::Store::Create(dir_.path(), meta, options);
    GEN_CHECK(store.ok());
    store_ = std::move(store).value();
  }

  const crypto::Identity& identity() const { return identity_; }
  storage::Store& store() { return *store_; }
  const storage::Store& store() const { return *store_; }

  void Write(RecordId id, RecordType type, Op op, Bytes payload, Scope scope = Scope::kNational) {
    g_seed_now_ms += 60000;
    LocalChange change{id, type, op, std::move(payload), scope};
    auto dots = store_->AppendLocal(identity_, {&change, 1});
    if (!dots.ok()) {
      std::fprintf(stderr, "make_corpus: AppendLocal: %s\n", dots.status().ToString().c_str());
      std::exit(1);
    }
  }

  // Takes every entry `other` holds, in one batch; all must be taken.
  void SyncFrom(Office& other) {
    std::vector<Entry> entries;
    for (const auto& head : other.store().Frontier().value()) {
      for (uint64_t seq = 1; seq <= head.seq; ++seq) entries.push_back(other.Get(head.feed, seq));
    }
    storage::ApplyReport report = store_->ApplyBatch(entries, "seed");
    GEN_CHECK(report.status.ok() && report.refused.empty());
  }

  // Entry `seq` of a feed this office holds (its own in `scope` by default).
  storage::Entry Get(const FeedId& feed, uint64_t seq) const {
    auto entry = store_->GetEntry(feed, seq);
    GEN_CHECK(entry.ok());
    return std::move(entry).value();
  }
  storage::Entry Get(Scope scope, uint64_t seq) const { return Get({identity_.public_key(), scope}, seq); }

  // The transfer form of seqs from..to of this office's feed, as a sender
  // reads it for a batch.
  Bytes Run(Scope scope, uint64_t from, uint64_t to) const {
    Bytes out;
    auto run = store_->ReadFeedRun({identity_.public_key(), scope}, from, to, size_t{1} << 20, out);
    GEN_CHECK(run.ok() && run->entries == to - from + 1);
    return out;
  }

 private:
  crypto::Identity identity_;
  testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
};

Bytes Transfer(std::initializer_list<const Entry*> entries) {
  Bytes out;
  for (const Entry* e : entries) storage::AppendEncodedEntry(*e, out);
  return out;
}

// What a member with a valid key can sign: `base`'s header with changes,
// and a payload of its choosing.
Entry Resigned(const Entry& base, const crypto::Identity& author, Bytes payload,
               const std::function<void(EntryHeader&)>& change = nullptr) {
  EntryHeader h = base.header;
  if (change) change(h);
  return storage::MakeEntry(h, std::move(payload), author);
}

// The offices and what they wrote, shared by the entry and protocol seeds.
struct History {
  Office post{crypto::Identity::FromSeed(fuzz::Fill32(0x41)), "Torkham border post", "post"};  // 'A'
  Office hub{crypto::Identity::FromSeed(fuzz::Fill32(0x42)), "Kabul hub", "hub"};              // 'B'
  Office node{fuzz::StoreNodeIdentity(), "Jalalabad office", "post"};  // the node entry_transfer applies to
  RecordId seizure = FixedRecordId(1), suspect = FixedRecordId(2), company = FixedRecordId(3),
           regional = FixedRecordId(4), own = FixedRecordId(5);

  History() {
    // post: national seq 1-3, three records from the samples.
    json captagon = ReadSample("seizure-captagon-truck.json");
    post.Write(seizure, RecordType::kSeizure, Op::kPut, RecordPayload(RecordType::kSeizure, captagon));
    post.Write(suspect, RecordType::kSuspect, Op::kPut,
               RecordPayload(RecordType::kSuspect, ReadSample("suspect-muller.json")));
    post.Write(company, RecordType::kCompany, Op::kPut,
               RecordPayload(RecordType::kCompany, ReadSample("company-halvik-ticaret.json")));
    // post: regional seq 1.
    post.Write(regional, RecordType::kSeizure, Op::kPut,
               RecordPayload(RecordType::kSeizure, ReadSample("seizure-cash-airport.json")), Scope::kRegional);
    hub.SyncFrom(post);
    // hub: national seq 1, the seizure linked to the suspect (context: post's seq 1).
    Bytes linked = storage::AddSeizureLink(post.Get(Scope::kNational, 1).payload, false,
                                           storage::FormatRecordId(suspect)).value();
    hub.Write(seizure, RecordType::kSeizure, Op::kPut, linked);
    // post: national seq 4, a concurrent update of the same seizure.
    captagon["status"] = "referred_to_prosecution";
    post.Write(seizure, RecordType::kSeizure, Op::kPut, RecordPayload(RecordType::kSeizure, captagon));
    post.SyncFrom(hub);  // the seizure now has two versions
    // post: national seq 5 resolves them (context: post 4, hub 1); seq 6 deletes the company.
    captagon["suspects"] = json::array({storage::FormatRecordId(suspect)});
    post.Write(seizure, RecordType::kSeizure, Op::kResolve, RecordPayload(RecordType::kSeizure, captagon));
    post.Write(company, RecordType::kCompany, Op::kDelete, {});
    hub.SyncFrom(post);
    // node: its own feed, seq 1-2 (a node restored from an old copy gets these back).
    node.Write(own, RecordType::kSuspect, Op::kPut,
               RecordPayload(RecordType::kSuspect, ReadSample("suspect-lukasz.json")));
    json agaoglu = ReadSample("suspect-agaoglu.json");
    node.Write(own, RecordType::kSuspect, Op::kPut, RecordPayload(RecordType::kSuspect, agaoglu));
  }

  // The same seq 2 of post's feed with another payload, validly signed: a fork.
  Entry ForkedSecond() const {
    json other = ReadSample("suspect-lukasz.json");
    return Resigned(post.Get(Scope::kNational, 2), post.identity(), RecordPayload(RecordType::kSuspect, other));
  }
};

// The outcome a fresh store gives a seed in the entry_transfer target: the
// first pass (the entries as one batch), and the fork reports after the
// second (re-sent as fuzz::InOrderBatches).
struct ApplyOutcome {
  size_t applied;
  EntryError first_refusal;  // kNone: nothing refused
  size_t forks = 0;
};

ApplyOutcome ApplyToFreshStore(ByteView transfer) {
  std::vector<Entry> entries;
  ByteView rest = transfer;
  while (!rest.empty()) {
    auto e = storage::DecodeEntry(rest);
    GEN_CHECK(e.ok());
    entries.push_back(std::move(e).value());
  }
  Office fresh(fuzz::StoreNodeIdentity(), "fuzz", "post");
  storage::ApplyReport report = fresh.store().ApplyBatch(entries, "seed");
  GEN_CHECK(report.status.ok());
  for (const auto& batch : fuzz::InOrderBatches(entries)) {
    GEN_CHECK(fresh.store().ApplyBatch(batch, "seed").status.ok());
  }
  return {report.applied, report.refused.empty() ? EntryError::kNone : report.refused.front().error,
          fresh.store().Forks().value().size()};
}

void EntrySeeds(CorpusWriter& out, const History& h) {
  const std::string t = "entry_transfer";
  auto seed = [&](const std::string& name, const Bytes& transfer, ApplyOutcome expected) {
    ApplyOutcome got = ApplyToFreshStore(transfer);
    if (got.applied != expected.applied || got.first_refusal != expected.first_refusal ||
        got.forks != expected.forks) {
      std::fprintf(stderr, "make_corpus: seed %s/%s: applied %zu, refused %s, forks %zu; expected %zu, %s, %zu\n",
                   t.c_str(), name.c_str(), got.applied, storage::EntryErrorName(got.first_refusal), got.forks,
                   expected.applied, storage::EntryErrorName(expected.first_refusal), expected.forks);
      std::exit(1);
    }
    out.Write(t, name, transfer);
  };
  const Office& post = h.post;
  const Office& hub = h.hub;
  const crypto::PublicKey post_key = post.identity().public_key();
  Entry p1 = post.Get(Scope::kNational, 1), p2 = post.Get(Scope::kNational, 2),
        p3 = post.Get(Scope::kNational, 3);
  constexpr auto kNone = EntryError::kNone;

  // Real batches, as a sender reads them.
  seed("post-national", post.Run(Scope::kNational, 1, 6), {4, EntryError::kMissingDependency});
  seed("post-regional", post.Run(Scope::kRegional, 1, 1), {1, kNone});
  seed("hub-national", hub.Run(Scope::kNational, 1, 1), {0, EntryError::kMissingDependency});
  // Two feeds merged in time order (hub 1 before the resolve that names it).
  seed("two-feeds", Concat({post.Run(Scope::kNational, 1, 4), hub.Run(Scope::kNational, 1, 1),
                            post.Run(Scope::kNational, 5, 6)}),
       {7, kNone});
  seed("own-feed", h.node.Run(Scope::kNational, 1, 2), {2, kNone});
  seed("one-entry", Transfer({&p1}), {1, kNone});
  seed("duplicate", Transfer({&p1, &p1}), {1, EntryError::kOutOfOrder});
  seed("out-of-order", Transfer({&p2, &p1}), {0, EntryError::kGap});
  seed("out-of-order-after", Transfer({&p1, &p2, &p1}), {2, EntryError::kOutOfOrder});
  seed("gap", Transfer({&p1, &p3}), {1, EntryError::kGap});
  {
    Entry fork = h.ForkedSecond();
    // Out of order in one batch; a fork when re-sent in order.
    seed("fork", Transfer({&p1, &p2, &fork}), {2, EntryError::kOutOfOrder, 1});
  }
  {
    Entry bad_prev = Resigned(p2, post.identity(), p2.payload, [](EntryHeader& x) { x.prev[0] ^= 1; });
    seed("prev-mismatch", Transfer({&p1, &bad_prev}), {1, EntryError::kPrevMismatch});
  }
  {
    Entry bad_signature = p1;
    bad_signature.signature[10] ^= 0x01;
    seed("bad-signature", Transfer({&bad_signature}), {0, EntryError::kBadSignature});
  }
  {
    Entry mismatch = p1;
    mismatch.payload[mismatch.payload.size() / 2] ^= 0x01;
    seed("payload-mismatch", Transfer({&mismatch}), {0, EntryError::kPayloadMismatch});
  }
  {
    Entry withheld = p1;
    withheld.has_payload = false;
    withheld.payload.clear();
    seed("withheld-payload", Transfer({&withheld}), {0, EntryError::kWithheldPayload});
  }
  {
    // Signed, hashed, and not a record: a company payload under a seizure header.
    Entry malformed = Resigned(p1, post.identity(), p3.payload);
    seed("malformed-payload", Transfer({&malformed}), {0, EntryError::kMalformedPayload});
    Entry delete_with_payload = Resigned(p1, post.identity(), p1.payload, [](EntryHeader& x) { x.op = Op::kDelete; });
    seed("delete-with-payload", Transfer({&delete_with_payload}), {0, EntryError::kMalformedPayload});
  }
  {
    // A context naming twenty other authors' entries this node does not hold.
    Entry wide = Resigned(p1, post.identity(), p1.payload, [](EntryHeader& x) {
      for (uint8_t n = 0; n < 20; ++n) {
        crypto::PublicKey other = crypto::Identity::FromSeed(fuzz::Fill32(static_cast<uint8_t>(0x60 + n))).public_key();
        x.context.Add({other, n + 1u});
      }
    });
    seed("context-20-dots", Transfer({&wide}), {0, EntryError::kMissingDependency});
    // Its own author's future in the context.
    Entry future = Resigned(p1, post.identity(), p1.payload,
                            [&](EntryHeader& x) { x.context.Add({post_key, 5}); });
    seed("context-own-future", Transfer({&future}), {0, EntryError::kBadContext});
  }
  // What does not decode is never applied: no store check.
  Bytes one = Transfer({&p1});
  out.Write(t, "truncated-in-header", Truncate(one, 30));
  out.Write(t, "truncated-in-payload", Truncate(one, one.size() - 5));
  out.Write(t, "trailing-bytes", Concat({one, Bytes{0x00, 0x00, 0x01}}));
  out.Write(t, "empty", {});
}

// ---- protocol messages ----

Bytes Flat(capnp::MessageBuilder& builder) {
  auto words = capnp::messageToFlatArray(builder);
  auto bytes = words.asBytes();
  return Bytes(bytes.begin(), bytes.end());
}

void ProtocolSeeds(CorpusWriter& out, const History& h) {
  using namespace replication;
  const std::string t = "protocol_message";
  auto seed = [&](const std::string& name, const Bytes& bytes, size_t kind) {
    Result<Message> decoded = DecodeMessage(bytes);
    if (!decoded.ok() || decoded->index() != kind) {
      std::fprintf(stderr, "make_corpus: seed %s/%s does not decode as expected\n", t.c_str(), name.c_str());
      std::exit(1);
    }
    out.Write(t, name, bytes);
  };
  const Office& post = h.post;
  Entry p2 = post.Get(Scope::kNational, 2);
  Entry fork = h.ForkedSecond();
  ForkEvidenceMsg evidence{storage::SignedHeaderOf(p2), storage::SignedHeaderOf(fork)};
  GEN_CHECK(storage::VerifyForkEvidence(evidence.a, evidence.b).ok());

  std::vector<FeedHeadMsg> frontier;
  for (const auto& head : post.store().Frontier().value()) {
    frontier.push_back({head.feed, head.seq, head.head});
  }
  GEN_CHECK(frontier.size() == 3);

  HelloMsg hello;
  hello.node_id = post.identity().public_key();
  hello.name = "Torkham border post";
  hello.role = "post";
  hello.frontier = frontier;
  hello.forks = {evidence};
  seed("hello", EncodeMessage(hello), 0);
  HelloMsg first;
  first.node_id = h.hub.identity().public_key();
  first.name = "Cəlilabad gömrük postu";
  first.role = "regional";
  seed("hello-empty-frontier", EncodeMessage(first), 0);

  Bytes two_feeds = Concat({post.Run(Scope::kNational, 1, 4), h.hub.Run(Scope::kNational, 1, 1),
                            post.Run(Scope::kNational, 5, 6)});
  seed("batch", EncodeMessage(BatchMsg{1, 7, two_feeds}), 1);
  Bytes one = post.Run(Scope::kRegional, 1, 1);
  seed("batch-one-entry", EncodeMessage(BatchMsg{2, 1, one}), 1);
  seed("batch-empty", EncodeMessage(BatchMsg{3, 0, {}}), 1);
  seed("batch-count-above-entries", EncodeMessage(BatchMsg{4, 3, one}), 1);
  seed("batch-own-feed", EncodeMessage(BatchMsg{5, 2, h.node.Run(Scope::kNational, 1, 2)}), 1);

  AckMsg ack{1, {}};
  ack.refused.push_back({{post.identity().public_key(), Scope::kNational}, 4,
                         "gap in feed: gap: seq 7 after head 4"});
  ack.refused.push_back({{h.hub.identity().public_key(), Scope::kRegional}, 0,
                         "scope regional is not exchanged with this peer"});
  seed("ack", EncodeMessage(ack), 2);
  seed("ack-empty", EncodeMessage(AckMsg{2, {}}), 2);
  seed("heads", EncodeMessage(HeadsMsg{frontier}), 3);
  seed("ping", EncodeMessage(PingMsg{}), 4);
  seed("error", EncodeMessage(ErrorMsg{"protocol version 3 is not supported; closing"}), 5);
  EvidenceMsg shown;
  shown.forks = {evidence};
  shown.headers = {storage::SignedHeaderOf(h.node.Get(Scope::kNational, 2))};
  seed("evidence", EncodeMessage(shown), 6);

  // Photos (docs/blobs.md §4): blob data in the layout this code writes (read
  // without Cap'n Proto), the same in small segments (read by Cap'n Proto),
  // a want and a lack.
  Hash256 blob_hash{};
  for (size_t i = 0; i < blob_hash.size(); ++i) blob_hash[i] = static_cast<uint8_t>(0xa0 + i);
  Bytes chunk(4000);
  for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<uint8_t>(i * 7 + 3);
  seed("blob-data", EncodeMessage(BlobDataMsg{blob_hash, 4000, 0, chunk}), 8);
  seed("blob-data-odd", EncodeMessage(BlobDataMsg{blob_hash, 600009, 2, ByteView(chunk).first(9)}), 8);
  seed("blob-data-empty", EncodeMessage(BlobDataMsg{blob_hash, 1, 0, {}}), 8);
  {
    capnp::MallocMessageBuilder builder(8, capnp::AllocationStrategy::FIXED_SIZE);
    auto d = builder.initRoot<wire::Message>().initBlobData();
    d.setData(capnp::Data::Reader(chunk.data(), 100));
    d.setHash(capnp::Data::Reader(blob_hash.data(), blob_hash.size()));
    d.setSize(100);
    GEN_CHECK(builder.getSegmentsForOutput().size() > 1);
    seed("blob-data-segments", Flat(builder), 8);
  }
  seed("blob-want", EncodeMessage(BlobWantMsg{{{blob_hash, 0, 4}, {blob_hash, 9, 1}}}), 7);
  seed("blob-lack", EncodeMessage(BlobLackMsg{{{blob_hash, BlobLackReason::kNotAllowed}}}), 9);

  // The same kinds in several small segments, as another Cap'n Proto
  // implementation may send them: the decoder must find the batch's entries
  // in a later segment.
  {
    capnp::MallocMessageBuilder builder(16, capnp::AllocationStrategy::FIXED_SIZE);
    auto b = builder.initRoot<wire::Message>().initBatch();
    b.setNumber(1);
    b.setCount(1);
    b.setEntries(capnp::Data::Reader(one.data(), one.size()));
    GEN_CHECK(builder.getSegmentsForOutput().size() > 1);
    seed("batch-segments", Flat(builder), 1);
  }
  {
    capnp::MallocMessageBuilder builder(8, capnp::AllocationStrategy::FIXED_SIZE);
    auto m = builder.initRoot<wire::Message>().initHello();
    m.setProtocolVersion(kProtocolVersion);
    m.setNodeId(capnp::Data::Reader(hello.node_id.data(), 32));
    m.setName("Torkham border post");
    m.setRole("post");
    auto heads = m.initFrontier(2);
    for (unsigned i = 0; i < 2; ++i) {
      heads[i].setAuthor(capnp::Data::Reader(frontier[i].feed.author.data(), 32));
      heads[i].setScope(static_cast<uint8_t>(frontier[i].feed.scope));
      heads[i].setSeq(frontier[i].seq);
      heads[i].setHead(capnp::Data::Reader(frontier[i].head.data(), 32));
    }
    GEN_CHECK(builder.getSegmentsForOutput().size() > 1);
    seed("hello-segments", Flat(builder), 0);
  }
}

// ---- record payloads ----

void RecordSeeds(CorpusWriter& out) {
  const std::string t = "record_payload";
  auto seed = [&](const std::string& name, RecordType type, const Bytes& payload, bool valid) {
    Status s = storage::ValidateRecordPayload(type, payload);
    if (s.ok() != valid) {
      std::fprintf(stderr, "make_corpus: seed %s/%s: %s\n", t.c_str(), name.c_str(), s.ToString().c_str());
      std::exit(1);
    }
    // The target reads the type as an index into kRecordTypes.
    out.Write(t, name, Concat({Bytes{static_cast<uint8_t>(storage::RecordTypeIndex(type))}, payload}));
  };
  std::vector<fs::path> samples;
  for (const auto& file : fs::directory_iterator(NCEN_SAMPLES_DIR)) {
    if (file.path().extension() == ".json") samples.push_back(file.path());
  }
  std::sort(samples.begin(), samples.end());
  GEN_CHECK(samples.size() >= 3);
  for (const fs::path& path : samples) {
    json sample = ReadSample(path.filename().string());
    auto type = storage::ParseRecordType(sample["type"].get<std::string>());
    GEN_CHECK(type.has_value());
    seed(path.stem().string(), *type, RecordPayload(*type, sample), true);
  }

  json seizure = ReadSample("seizure-pangolin-scales-air.json");
  seizure["narrative"] = std::string(limits::kRecordTextBytesMax, 'n');
  for (size_t i = 0; i < limits::kRecordTextBytesMax; i += 100) seizure["narrative"].get_ref<std::string&>()[i] = ' ';
  seizure["suspects"] = json::array({storage::FormatRecordId(FixedRecordId(2))});
  seizure["companies"] = json::array({storage::FormatRecordId(FixedRecordId(3))});
  seizure["photos"] = json::array({storage::FormatRecordId(FixedRecordId(6)), storage::FormatRecordId(FixedRecordId(7))});
  seed("seizure-narrative-20000", RecordType::kSeizure, RecordPayload(RecordType::kSeizure, seizure), true);

  json minimal_seizure = json::parse(R"({"date":"2026-11-02","country":"PK","office":"PKTKM",
      "goods":[{"category":"drugs","quantity":2,"unit":"kg"}]})");
  Bytes minimal = RecordPayload(RecordType::kSeizure, minimal_seizure);
  seed("seizure-minimal", RecordType::kSeizure, minimal, true);
  json linked = minimal_seizure;
  linked["suspects"] = json::array({storage::FormatRecordId(FixedRecordId(2))});
  linked["conveyance"] = {{"type", "vessel"}, {"vessel_name", "MV Fictitious"}, {"imo", "9074729"},
                          {"container_number", "CSQU3054383"}};
  linked["goods"][0]["value"] = {{"amount", 0.5}, {"currency", "USD"}, {"basis", "street"}};
  linked["goods"][0]["packages"] = 4294967295u;
  seed("seizure-linked", RecordType::kSeizure, RecordPayload(RecordType::kSeizure, linked), true);
  seed("suspect-minimal", RecordType::kSuspect, RecordPayload(RecordType::kSuspect, {{"surname", "Doe"}}), true);
  seed("company-minimal", RecordType::kCompany,
       RecordPayload(RecordType::kCompany, {{"name", "X Ltd"}, {"country", "TR"}}), true);

  // Seizure reports (docs/sharing.md): one made from a sample seizure with a
  // suspect and a company, and a minimal one.
  {
    storage::ReleaseStamp stamp{"250ff1279902815ef9057aa229174635", "Islamabad national hub",
                                "2026-11-30T12:00:00.000Z"};
    std::vector<storage::LinkedBody> suspects = {json::parse(R"({"gender":"m","nationalities":["TR","SY"],
        "birth_date":"1988-02-29"})"), std::nullopt};
    std::vector<storage::LinkedBody> companies = {json::parse(R"({"name":"Fictitious Freight","country":"RO"})")};
    auto full = storage::BuildReport(ReadSample("seizure-captagon-truck.json"), suspects, companies,
                                     storage::ReleasePolicy{true}, stamp);
    GEN_CHECK(full.ok());
    seed("report-full", RecordType::kSeizureReport, RecordPayload(RecordType::kSeizureReport, full->report), true);
    auto small = storage::BuildReport(minimal_seizure, {}, {}, {}, stamp);
    GEN_CHECK(small.ok());
    seed("report-minimal", RecordType::kSeizureReport, RecordPayload(RecordType::kSeizureReport, small->report), true);
    seed("seizure-as-report", RecordType::kSeizureReport, minimal, false);
  }

  // Refused: a payload of another type, a truncated one, an empty one.
  seed("suspect-as-seizure", RecordType::kSeizure, RecordPayload(RecordType::kSuspect, {{"surname", "Doe"}}), false);
  seed("seizure-truncated", RecordType::kSeizure, Truncate(minimal, minimal.size() - 8), false);
  seed("empty", RecordType::kCompany, {}, false);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_ROOT (e.g. tests/fuzz/corpus)\n", argv[0]);
    return 2;
  }
  CorpusWriter out{fs::path(argv[1])};
  ResponderSeeds(out);
  InitiatorSeeds(out);
  FrameDecoderSeeds(out);
  {
    History history;
    EntrySeeds(out, history);
    ProtocolSeeds(out, history);
  }
  RecordSeeds(out);
  out.Report();
  return 0;
}
