#include "replication/transport/channel.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "base/check.h"

namespace ncen::transport {

using crypto::NoiseRole;

SecureChannel::SecureChannel(NoiseRole role, const crypto::Identity& me, ChannelOptions options,
                             PeerCheck check)
    : role_(role),
      me_(me),
      options_(std::move(options)),
      check_(std::move(check)),
      reassembler_(options_.max_message_bytes) {
  NCEN_CHECK(options_.rekey_interval > 0);
  handshake_.emplace(role, crypto::NcenPrologue(options_.network_id), me.X25519SecretKey());
  SetHandshakeFrameLimits();
}

void SecureChannel::SetHandshakeFrameLimits() {
  // Each side knows the exact size of the next handshake message it reads.
  size_t expected = kHandshake2Bytes;  // the initiator reads only message 2
  if (role_ == NoiseRole::kResponder) expected = started_ ? kHandshake3Bytes : kHandshake1Bytes;
  frames_.SetLimits(expected, expected);
}

Status SecureChannel::Fail(Status status) {
  state_ = ChannelState::kFailed;
  output_.clear();
  return status;
}

Status SecureChannel::Start() {
  NCEN_CHECK(role_ == NoiseRole::kInitiator && !started_);
  started_ = true;
  return WriteHandshake({});
}

Status SecureChannel::WriteHandshake(ByteView payload) {
  auto message = handshake_->WriteMessage(payload);
  if (!message.ok()) return Fail(message.status());
  AppendFrame(output_, message.value());
  if (handshake_->IsComplete()) return Finish();
  return Status::Ok();
}

Status SecureChannel::CheckPeer(ByteView payload) {
  if (payload.size() != 32) return Unauthenticated("handshake payload is not a 32-byte node id");
  crypto::PublicKey key;
  std::copy(payload.begin(), payload.end(), key.begin());
  NCEN_RETURN_IF_ERROR(crypto::CheckStaticKeyBinding(*handshake_->remote_static_public_key(), key));
  auto name = check_(key);
  if (!name.ok()) {
    refused_peer_ = key;
    return name.status();
  }
  peer_id_ = key;
  peer_name_ = std::move(name).value();
  return Status::Ok();
}

Status SecureChannel::Finish() {
  auto ciphers = handshake_->Split();
  if (!ciphers.ok()) return Fail(ciphers.status());
  ciphers_ = std::move(ciphers).value();
  handshake_hash_ = handshake_->handshake_hash();
  handshake_.reset();
  state_ = ChannelState::kOpen;
  frames_.SetLimits(crypto::kNoiseTagBytes + 1, kFrameBytesMax);
  return Status::Ok();
}

Status SecureChannel::OnHandshakeFrame(ByteView frame) {
  auto payload = handshake_->ReadMessage(frame);
  if (!payload.ok()) return Fail(payload.status());
  if (role_ == NoiseRole::kResponder) {
    if (!started_) {
      // Message 1 read (its payload is empty by the exact size). Answer.
      started_ = true;
      SetHandshakeFrameLimits();
      return WriteHandshake(ByteView(me_.public_key().data(), me_.public_key().size()));
    }
    // Message 3 read: the initiator is authenticated; check it, then open.
    Status checked = CheckPeer(payload.value());
    if (checked.ok()) return Finish();
    if (!refused_peer_) return Fail(checked);
    // An authenticated but unlisted peer: tell it why (encrypted), then stop.
    NCEN_RETURN_IF_ERROR(Finish());
    std::string why = "refused: " + checked.message();
    if (why.size() > 512) why.resize(512);
    (void)SendFragment(FragmentType::kClose, AsBytes(why));
    close_sent_ = true;
    state_ = ChannelState::kFailed;
    return checked;
  }
  // Initiator, message 2 read: check the responder before revealing ourselves.
  if (Status s = CheckPeer(payload.value()); !s.ok()) return Fail(s);
  return WriteHandshake(ByteView(me_.public_key().data(), me_.public_key().size()));
}

Status SecureChannel::OnTransportFrame(std::span<uint8_t> frame) {
  if (reassembler_.closed()) return Fail(FailedPrecondition("data after the peer closed"));
  auto& receive = ciphers_.receive;
  if (receive.nonce() > 0 && receive.nonce() % options_.rekey_interval == 0) receive.Rekey();
  if (Status s = receive.DecryptInPlace({}, frame); !s.ok()) {
    return Fail(s.WithContext("transport message"));
  }
  if (Status s = reassembler_.Add(frame.first(frame.size() - crypto::kNoiseTagBytes)); !s.ok()) {
    return Fail(s);
  }
  return Status::Ok();
}

Status SecureChannel::Receive(ByteView data) {
  if (state_ == ChannelState::kFailed) return FailedPrecondition("channel has failed");
  if (role_ == NoiseRole::kInitiator && !started_) return FailedPrecondition("channel not started");
  frames_.Feed(data);
  return ProcessFrames();
}

Status SecureChannel::ReceiveCommitted(size_t n) {
  if (state_ == ChannelState::kFailed) return FailedPrecondition("channel has failed");
  if (role_ == NoiseRole::kInitiator && !started_) return FailedPrecondition("channel not started");
  frames_.CommitFeed(n);
  return ProcessFrames();
}

Status SecureChannel::ProcessFrames() {
  while (true) {
    auto next = frames_.NextView();
    if (!next.ok()) return Fail(next.status());
    if (!next.value()) return Status::Ok();
    std::span<uint8_t> frame = *next.value();
    Status s = state_ == ChannelState::kHandshake ? OnHandshakeFrame(frame) : OnTransportFrame(frame);
    if (!s.ok()) return s;
  }
}

Status SecureChannel::SendFragment(FragmentType type, ByteView data, ByteView more) {
  auto& send = ciphers_.send;
  if (send.nonce() > 0 && send.nonce() % options_.rekey_interval == 0) send.Rekey();
  // Frame header, type byte and data go straight into the output buffer and
  // are encrypted there: one copy per byte sent.
  size_t length = 1 + data.size() + more.size() + crypto::kNoiseTagBytes;
  NCEN_CHECK(length <= kFrameBytesMax);
  size_t at = output_.size();
  output_.resize(at + kFrameHeaderBytes + length);
  output_[at] = static_cast<uint8_t>(length >> 8);
  output_[at + 1] = static_cast<uint8_t>(length & 0xff);
  output_[at + 2] = static_cast<uint8_t>(type);
  if (!data.empty()) std::memcpy(&output_[at + 3], data.data(), data.size());
  if (!more.empty()) std::memcpy(&output_[at + 3 + data.size()], more.data(), more.size());
  Status s = send.EncryptInPlace({}, std::span<uint8_t>(&output_[at + 2], length));
  if (!s.ok()) {
    output_.resize(at);
    return Fail(s);
  }
  return Status::Ok();
}

Status SecureChannel::Send(ByteView message) { return Send({}, message); }

Status SecureChannel::Send(ByteView prefix, ByteView message) {
  if (state_ != ChannelState::kOpen || close_sent_) return FailedPrecondition("channel is not open");
  const size_t total = prefix.size() + message.size();
  if (total > options_.max_message_bytes) {
    return InvalidArgument("message of " + std::to_string(total) + " bytes exceeds " +
                           std::to_string(options_.max_message_bytes));
  }
  output_.reserve(output_.size() + total + (total / kFragmentDataBytesMax + 1) * (kFrameHeaderBytes + 17));
  // The fragments cut the prefix and the message as if they were one buffer.
  size_t offset = 0;
  do {
    size_t n = std::min(kFragmentDataBytesMax, total - offset);
    ByteView head, tail;
    if (offset < prefix.size()) {
      head = prefix.subspan(offset, std::min(n, prefix.size() - offset));
      tail = message.first(n - head.size());
    } else {
      tail = message.subspan(offset - prefix.size(), n);
    }
    bool last = offset + n == total;
    NCEN_RETURN_IF_ERROR(SendFragment(last ? FragmentType::kEnd : FragmentType::kMore, head, tail));
    offset += n;
  } while (offset < total);
  return Status::Ok();
}

void SecureChannel::Close(std::string_view reason) {
  if (close_sent_) return;
  close_sent_ = true;
  if (state_ == ChannelState::kHandshake) {
    // Nothing to say before the keys exist: the connection just ends.
    state_ = ChannelState::kFailed;
    output_.clear();
    return;
  }
  if (state_ == ChannelState::kOpen) {
    std::string_view cut = reason.substr(0, 200);
    (void)SendFragment(FragmentType::kClose, AsBytes(cut));
    state_ = ChannelState::kClosed;
  }
}

Bytes SecureChannel::TakeOutput() {
  Bytes out;
  out.swap(output_);
  output_.swap(spare_output_);
  return out;
}

void SecureChannel::RecycleOutput(Bytes written) {
  written.clear();
  if (written.capacity() > spare_output_.capacity() && written.capacity() <= kRecycledBufferMax) {
    spare_output_.swap(written);
  }
}

}  // namespace ncen::transport
