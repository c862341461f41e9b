// Shared fixtures for the transport fuzz targets and the corpus generator
// (tests/fuzz/README.md). The storage and protocol targets use
// fuzz_entry_support.h instead.
//
// Everything here is deterministic: fixed identities, fixed network id and,
// above all, fixed Noise ephemeral keys (SetEphemeralPrivateKeyForTesting).
// With both ephemerals fixed a handshake transcript is the same on every run,
// so a recorded message 3 or transport frame from make_corpus.cpp still
// authenticates when a fuzz target replays it, and the fuzzer can mutate
// its way past the handshake into the transport paths. Change a key here and
// the corpus must be regenerated (make_corpus).
//
// Input layout shared by all three targets: byte 0 (the mode) chooses how
// the rest is cut into chunks (ChunkPlan) and, in bit 7, whether chunks go
// in by copy (Receive / Feed) or through the zero-copy calls a socket read
// uses (ReceiveBuffer + ReceiveCommitted / PrepareFeed + CommitFeed). Bytes
// 1.. are the stream from the peer.
//
// Thread-safety: the fixtures are function-local statics, built once;
// libFuzzer and the replay driver run one input at a time.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <span>
#include <string>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/identity.h"
#include "crypto/noise.h"
#include "replication/transport/channel.h"
#include "tests/fuzz/fuzz_check.h"

namespace ncen::fuzz {

// Small bounds so that the fuzzer reaches them with short inputs: a
// reassembly bound a 4 KiB input can exceed, and a rekey every 3 messages.
inline constexpr size_t kFuzzMaxMessageBytes = 2048;
inline constexpr uint64_t kFuzzRekeyInterval = 3;

inline std::array<uint8_t, 32> Fill32(uint8_t value) {
  std::array<uint8_t, 32> out;
  out.fill(value);
  return out;
}

// The node under test when it is the responder / the initiator.
inline const crypto::Identity& ResponderIdentity() {
  static const crypto::Identity identity = crypto::Identity::FromSeed(Fill32(0x52));  // 'R'
  return identity;
}
inline const crypto::Identity& InitiatorIdentity() {
  static const crypto::Identity identity = crypto::Identity::FromSeed(Fill32(0x49));  // 'I'
  return identity;
}
// A valid node that neither side's roster lists.
inline const crypto::Identity& StrangerIdentity() {
  static const crypto::Identity identity = crypto::Identity::FromSeed(Fill32(0x53));  // 'S'
  return identity;
}

inline crypto::DhPrivateKey ResponderEphemeral() { return Fill32(0xe2); }
inline crypto::DhPrivateKey InitiatorEphemeral() { return Fill32(0xe1); }

inline Bytes NetworkId() {
  std::string_view id = "fuzz-network";
  return Bytes(id.begin(), id.end());
}

inline transport::ChannelOptions FuzzChannelOptions() {
  transport::ChannelOptions options;
  options.network_id = NetworkId();
  options.max_message_bytes = kFuzzMaxMessageBytes;
  options.rekey_interval = kFuzzRekeyInterval;
  return options;
}

// A roster of exactly one node.
inline transport::PeerCheck AcceptOnly(const crypto::PublicKey& allowed) {
  return [allowed](const crypto::PublicKey& key) -> Result<std::string> {
    if (key == allowed) return std::string("listed-peer");
    return Unauthenticated("not in the trust roster");
  };
}

// The responder under test: accepts only InitiatorIdentity().
inline transport::SecureChannel MakeResponder() {
  transport::SecureChannel channel(crypto::NoiseRole::kResponder, ResponderIdentity(),
                                   FuzzChannelOptions(),
                                   AcceptOnly(InitiatorIdentity().public_key()));
  channel.SetEphemeralPrivateKeyForTesting(ResponderEphemeral());
  return channel;
}

// The initiator under test (not yet started): accepts only ResponderIdentity().
inline transport::SecureChannel MakeInitiator() {
  transport::SecureChannel channel(crypto::NoiseRole::kInitiator, InitiatorIdentity(),
                                   FuzzChannelOptions(),
                                   AcceptOnly(ResponderIdentity().public_key()));
  channel.SetEphemeralPrivateKeyForTesting(InitiatorEphemeral());
  return channel;
}

// Cuts a stream into chunks as the low 7 bits m of the mode byte say, so
// that frames arrive whole, split inside the length header, split inside
// the body, or several to a chunk:
//   0      the whole stream in one chunk
//   m > 0  chunk lengths drawn from a xorshift32 seeded with m, each in
//          1 .. 2^(m % 9)  (m % 9 == 0: one byte at a time; 8: up to 256)
class ChunkPlan {
 public:
  explicit ChunkPlan(uint8_t mode)
      : mode_(mode & 0x7f), state_(0x9e3779b9u ^ (uint32_t{mode_} * 0x01000193u)) {}

  // Calls `feed` on consecutive chunks of `stream` until it returns false
  // or the stream ends.
  void ForEachChunk(ByteView stream, const std::function<bool(ByteView)>& feed) {
    size_t offset = 0;
    while (offset < stream.size()) {
      size_t n = mode_ == 0 ? stream.size() - offset : NextChunkLength();
      if (n > stream.size() - offset) n = stream.size() - offset;
      if (!feed(stream.subspan(offset, n))) return;
      offset += n;
    }
  }

 private:
  size_t NextChunkLength() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    size_t max_chunk = size_t{1} << (mode_ % 9);
    return 1 + state_ % max_chunk;
  }

  uint8_t mode_;
  uint32_t state_;
};

// Bit 7 of the mode: feed through the zero-copy API.
inline bool ZeroCopy(uint8_t mode) { return (mode & 0x80) != 0; }

// Bytes asked for beyond the chunk in zero-copy mode, and what they are
// filled with: like a socket read that returns fewer bytes than the area it
// was given, leaving the rest holding junk that must never be read.
inline constexpr size_t kReadSlackBytes = 61;
inline constexpr uint8_t kJunkByte = 0xa5;

// Writes `chunk` into `area` (chunk.size() + kReadSlackBytes bytes) and
// fills the rest with junk.
inline void FillReadArea(std::span<uint8_t> area, ByteView chunk) {
  FUZZ_CHECK(area.size() == chunk.size() + kReadSlackBytes);
  std::copy(chunk.begin(), chunk.end(), area.begin());
  std::fill(area.begin() + static_cast<ptrdiff_t>(chunk.size()), area.end(), kJunkByte);
}

// One chunk into a channel, by copy or zero-copy.
inline Status ReceiveChunk(transport::SecureChannel& channel, ByteView chunk, bool zero_copy) {
  if (!zero_copy) return channel.Receive(chunk);
  FillReadArea(channel.ReceiveBuffer(chunk.size() + kReadSlackBytes), chunk);
  return channel.ReceiveCommitted(chunk.size());
}

// The error codes SecureChannel::Receive documents.
inline bool IsDocumentedReceiveError(StatusCode code) {
  return code == StatusCode::kCorruption || code == StatusCode::kUnauthenticated ||
         code == StatusCode::kResourceExhausted || code == StatusCode::kFailedPrecondition;
}

// Feeds `stream` to `channel` chunk by chunk and checks what the channel
// promises to any peer, however hostile:
//   - every error is a documented code, and leaves the channel kFailed;
//   - a failed channel refuses further Receive (kFailedPrecondition) and Send;
//   - while it succeeds the channel is in the handshake or open (never
//     closed or failed), and an open channel's peer is the listed one;
//   - every reassembled message is within the bound;
//   - an open channel can still send (and refuses its own oversized
//     message without failing) and close.
// Returns the number of complete messages received.
inline size_t FeedAndCheck(transport::SecureChannel& channel, uint8_t mode, ByteView stream,
                           const crypto::PublicKey& listed_peer) {
  size_t messages = 0;
  bool failed = false;
  ChunkPlan(mode).ForEachChunk(stream, [&](ByteView chunk) {
    Status s = ReceiveChunk(channel, chunk, ZeroCopy(mode));
    while (auto message = channel.NextMessage()) {
      FUZZ_CHECK(message->size() <= kFuzzMaxMessageBytes);
      ++messages;
    }
    if (!s.ok()) {
      FUZZ_CHECK(IsDocumentedReceiveError(s.code()));
      FUZZ_CHECK(channel.state() == transport::ChannelState::kFailed);
      failed = true;
      return false;
    }
    FUZZ_CHECK(channel.state() == transport::ChannelState::kHandshake ||
               channel.state() == transport::ChannelState::kOpen);
    if (channel.is_open()) {
      FUZZ_CHECK(channel.peer_id().has_value() && *channel.peer_id() == listed_peer);
      FUZZ_CHECK(!channel.refused_peer().has_value());
    }
    if (channel.peer_closed()) {
      FUZZ_CHECK(channel.peer_close_reason().size() <= 200);
      for (char c : channel.peer_close_reason()) {
        FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
      }
    }
    return true;
  });

  if (failed) {
    const uint8_t more[] = {0x00, 0x20, 0x01};
    Status again = channel.Receive(more);
    FUZZ_CHECK(!again.ok() && again.code() == StatusCode::kFailedPrecondition);
    Status again_empty = channel.Receive({});
    FUZZ_CHECK(!again_empty.ok());
    Status again_zero_copy = ReceiveChunk(channel, more, true);
    FUZZ_CHECK(!again_zero_copy.ok() && again_zero_copy.code() == StatusCode::kFailedPrecondition);
    FUZZ_CHECK(channel.state() == transport::ChannelState::kFailed);
    const uint8_t payload[] = {'x'};
    FUZZ_CHECK(!channel.Send(payload).ok());
    FUZZ_CHECK(!channel.NextMessage().has_value());
  } else if (channel.is_open()) {
    // The send side must work whatever the peer sent: a message, then close.
    Bytes message(100, 0xab);
    FUZZ_CHECK(channel.Send(message).ok());
    FUZZ_CHECK(channel.HasOutput());
    Bytes too_big(kFuzzMaxMessageBytes + 1, 0xcd);
    FUZZ_CHECK(channel.Send(too_big).code() == StatusCode::kInvalidArgument);
    FUZZ_CHECK(channel.is_open());
    channel.Close("fuzz done");
    FUZZ_CHECK(channel.state() == transport::ChannelState::kClosed);
    FUZZ_CHECK(!channel.Send(message).ok());
  }
  return messages;
}

}  // namespace ncen::fuzz
