// Writes the seed corpus of the transport fuzz targets (tests/fuzz/README.md):
//
//   fuzz_make_corpus tests/fuzz/corpus
//
// creates corpus/<target>/seed-* (overwriting earlier seeds, leaving other
// files such as libFuzzer's additions alone). Output is deterministic: the
// keys and ephemerals are fixed in fuzz_support.h, so a real handshake
// recorded here authenticates again when the target replays it.
//
// Handshake seeds are real traffic: the peer is a crypto::HandshakeState
// driven exactly as SecureChannel drives it (checked against a real
// channel below), which lets this program also craft what an honest channel
// never sends but a hostile peer with valid keys can: a payload that is not
// the sender's key, an unknown fragment type, data after CLOSE, a message
// over the bound. Every seed is replayed into a fresh channel configured
// like the target and its expected outcome is checked, so a seed that
// stops reaching its path fails here instead of silently losing coverage.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "replication/transport/channel.h"
#include "replication/transport/frame.h"
#include "tests/fuzz/fuzz_support.h"

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
  out.Report();
  return 0;
}
