// SecureChannel: one end of an ncen connection, sans-IO — the Noise XX
// handshake with identity binding and the trust-roster check, then framed,
// encrypted transport messages with splitting, reassembly, rekeying and a
// clean close (docs/handshake.md). Bytes from the socket go in through
// Receive(); bytes for the socket come out of TakeOutput(). No sockets,
// clocks or threads: timeouts belong to the caller (tcp.h).
//
// Any error from Receive() means the connection must be dropped: the channel
// is then kFailed and refuses everything, and its pending output is
// discarded — except for a peer refused by the PeerCheck, which still gets
// the encrypted CLOSE saying why (send the output, then hang up). Nothing
// from the peer trips an assert. Memory stays within max_message_bytes plus
// one frame plus the complete messages not yet taken with NextMessage()
// (take them after every Receive).
//
// Thread-safety: one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/limits.h"
#include "base/status.h"
#include "crypto/identity.h"
#include "crypto/noise.h"
#include "replication/transport/frame.h"

namespace ncen::transport {

struct ChannelOptions {
  Bytes network_id;                                // hashed into the prologue
  size_t max_message_bytes = limits::kMessageBytesMax;  // reassembly bound
  // Messages per direction between rekeys. Part of the protocol (both ends
  // must agree); only tests change it. Must be > 0.
  uint64_t rekey_interval = uint64_t{1} << 16;
};

// Decides whether a peer may have a session, given its Ed25519 key (already
// bound to its Noise static key). Returns the peer's configured name, or an
// error (normally kUnauthenticated "not in the trust roster").
using PeerCheck = std::function<Result<std::string>(const crypto::PublicKey&)>;

enum class ChannelState { kHandshake, kOpen, kClosed, kFailed };

// Sizes of ncen's three handshake messages (docs/handshake.md §3).
inline constexpr size_t kHandshake1Bytes = 32;
inline constexpr size_t kHandshake2Bytes = 128;
inline constexpr size_t kHandshake3Bytes = 96;
// Data bytes carried by one transport fragment.
inline constexpr size_t kFragmentDataBytesMax =
    kFrameBytesMax - crypto::kNoiseTagBytes - 1;

class SecureChannel {
 public:
  SecureChannel(crypto::NoiseRole role, const crypto::Identity& me, ChannelOptions options,
                PeerCheck check);

  // Initiator only: writes handshake message 1 to the output. Once.
  Status Start();

  // Consumes bytes from the peer: handshake messages, then transport frames.
  // Complete protocol messages become available from NextMessage(). Errors:
  //   kCorruption       malformed frame (bad length, unknown fragment type)
  //   kUnauthenticated  a tag failed (tampered, replayed, wrong network), the
  //                     identity binding failed, or the peer is refused by
  //                     the PeerCheck (then refused_peer() names it)
  //   kResourceExhausted a protocol message over max_message_bytes
  //   kFailedPrecondition bytes after the peer's CLOSE, or a failed channel
  Status Receive(ByteView data);
  // Zero-copy form of Receive: read up to `n` bytes into ReceiveBuffer(n),
  // then ReceiveCommitted(bytes read).
  std::span<uint8_t> ReceiveBuffer(size_t n) { return frames_.PrepareFeed(n); }
  Status ReceiveCommitted(size_t n);

  // Encrypts and frames `message` (split as needed). kFailedPrecondition
  // unless open; kInvalidArgument above max_message_bytes.
  Status Send(ByteView message);
  // The same for a message in two pieces, `prefix` then `message` (a wire
  // flag byte before a message that is not copied to carry it).
  Status Send(ByteView prefix, ByteView message);
  // Sends CLOSE with `reason` (if open) and stops sending. Idempotent.
  void Close(std::string_view reason);

  // Bytes to write to the socket, in order; the channel forgets them.
  Bytes TakeOutput();
  // Gives back a buffer TakeOutput returned, once written: the next output
  // is built in it rather than in freshly allocated memory.
  void RecycleOutput(Bytes written);
  bool HasOutput() const { return !output_.empty(); }
  size_t output_bytes() const { return output_.size(); }

  std::optional<Bytes> NextMessage() { return reassembler_.Next(); }
  // Gives a message's buffer back once used: its memory holds the next one.
  void RecycleMessage(Bytes used) { reassembler_.Recycle(std::move(used)); }

  ChannelState state() const { return state_; }
  bool is_open() const { return state_ == ChannelState::kOpen; }
  // True once the peer sent CLOSE; its reason, sanitised.
  bool peer_closed() const { return reassembler_.closed(); }
  const std::string& peer_close_reason() const { return reassembler_.close_reason(); }
  // True while a frame has started arriving but is not complete.
  bool receiving_partial_frame() const { return frames_.HasPartialFrame(); }
  // Memory held for bytes from the peer (grows only with ReceiveBuffer(n)).
  size_t receive_buffer_bytes() const { return frames_.capacity_bytes(); }

  // Known once the handshake has authenticated the peer.
  const std::optional<crypto::PublicKey>& peer_id() const { return peer_id_; }
  const std::string& peer_name() const { return peer_name_; }
  // Set when the peer authenticated but the PeerCheck refused it.
  const std::optional<crypto::PublicKey>& refused_peer() const { return refused_peer_; }
  const crypto::HandshakeHash& handshake_hash() const { return handshake_hash_; }

  // TEST ONLY: see HandshakeState::SetEphemeralPrivateKeyForTesting.
  void SetEphemeralPrivateKeyForTesting(const crypto::DhPrivateKey& key) {
    handshake_->SetEphemeralPrivateKeyForTesting(key);
  }

 private:
  Status Fail(Status status);
  Status ProcessFrames();
  Status OnHandshakeFrame(ByteView frame);
  Status OnTransportFrame(std::span<uint8_t> frame);
  Status CheckPeer(ByteView payload);
  Status WriteHandshake(ByteView payload);
  Status Finish();
  Status SendFragment(FragmentType type, ByteView data, ByteView more = {});
  void SetHandshakeFrameLimits();

  crypto::NoiseRole role_;
  const crypto::Identity& me_;
  ChannelOptions options_;
  PeerCheck check_;
  std::optional<crypto::HandshakeState> handshake_;
  crypto::TransportCiphers ciphers_;
  ChannelState state_ = ChannelState::kHandshake;
  bool started_ = false;
  bool close_sent_ = false;
  FrameReader frames_;
  Reassembler reassembler_;
  Bytes output_;
  Bytes spare_output_;
  std::optional<crypto::PublicKey> peer_id_;
  std::optional<crypto::PublicKey> refused_peer_;
  std::string peer_name_;
  crypto::HandshakeHash handshake_hash_{};
};

}  // namespace ncen::transport
