// Transport framing (docs/handshake.md §7), sans-IO.
//
// On the wire every Noise message travels as
//   u16 big-endian length L | L bytes (the Noise message)
// and, once the handshake is done, every transport plaintext starts with one
// fragment-type byte:
//   0x01 MORE   data follows in the next fragment
//   0x02 END    the last (or only) fragment of a protocol message
//   0x03 CLOSE  the sender closes cleanly; the rest is a UTF-8 reason
// A protocol message longer than one fragment is split into MORE... END
// fragments and reassembled by the receiver up to a bound.
//
// FrameReader cuts a byte stream into frames; Reassembler turns decrypted
// fragments back into protocol messages. Neither trusts its input: every
// error is a Status, never an assert, and memory stays within the limits
// given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>

#include "base/bytes.h"
#include "base/limits.h"
#include "base/status.h"

namespace ncen::transport {

inline constexpr size_t kFrameHeaderBytes = 2;
inline constexpr size_t kFrameBytesMax = limits::kFrameBytesMax;

enum class FragmentType : uint8_t { kMore = 0x01, kEnd = 0x02, kClose = 0x03 };

// Appends `frame` (at most kFrameBytesMax bytes, checked) to `out` behind
// its 2-byte length.
void AppendFrame(Bytes& out, ByteView frame);

// Accumulates bytes from the peer and hands out whole frames. Holds at most
// one partial frame (≤ 65537 bytes) plus what the caller fed in one call.
class FrameReader {
 public:
  // Frames longer than `max_frame` (or shorter than `min_frame`) are an
  // error: during the handshake the exact message sizes are known.
  void SetLimits(size_t min_frame, size_t max_frame) {
    min_frame_ = min_frame;
    max_frame_ = max_frame;
  }
  // Appends bytes.
  void Feed(ByteView data);
  // Zero-copy feeding: a writable area of `n` bytes at the end of the
  // buffer for the socket to read into, then Commit(bytes actually read).
  // Invalidates views from NextView().
  std::span<uint8_t> PrepareFeed(size_t n);
  void CommitFeed(size_t n);
  // The next whole frame, or nullopt until one has arrived. kCorruption as
  // soon as the next frame's length header is outside the limits (the body
  // need not have arrived).
  Result<std::optional<Bytes>> Next();
  // The same, without copying: the frame's bytes inside the reader's buffer,
  // writable (for in-place decryption), valid until the next Feed().
  Result<std::optional<std::span<uint8_t>>> NextView();
  // True while a frame has begun (header or body bytes) but not finished.
  bool HasPartialFrame() const { return size_ > offset_; }
  size_t buffered_bytes() const { return size_ - offset_; }
  // Memory held for bytes from the peer.
  size_t capacity_bytes() const { return buffer_.capacity(); }

 private:
  Bytes buffer_;
  size_t size_ = 0;    // bytes of buffer_ in use (the rest is spare capacity)
  size_t offset_ = 0;  // start of the first unconsumed byte
  size_t min_frame_ = 0;
  size_t max_frame_ = kFrameBytesMax;
};

// Rebuilds protocol messages from decrypted transport plaintexts.
// Buffers given back for reuse (Reassembler::Recycle,
// SecureChannel::RecycleOutput) are kept only up to this size: a rare huge
// message or burst must not pin its memory for the life of the connection.
inline constexpr size_t kRecycledBufferMax = limits::kRecycledBufferBytesMax;

class Reassembler {
 public:
  explicit Reassembler(size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}
  // Consumes one plaintext (type byte + data). kCorruption for an unknown
  // type or an empty plaintext; kResourceExhausted when a message would
  // exceed the bound; kFailedPrecondition after CLOSE.
  Status Add(ByteView plaintext);

  // The next complete message, if any.
  std::optional<Bytes> Next();
  // A buffer given back after use: the next message is assembled in it (one
  // spare is kept, the largest).
  void Recycle(Bytes used) {
    if (used.capacity() > spare_.capacity() && used.capacity() <= kRecycledBufferMax) spare_ = std::move(used);
  }
  bool closed() const { return closed_; }
  const std::string& close_reason() const { return close_reason_; }
  size_t pending_bytes() const { return partial_.size(); }

 private:
  size_t max_message_bytes_;
  Bytes partial_;
  Bytes spare_;
  std::deque<Bytes> complete_;
  bool closed_ = false;
  std::string close_reason_;
};

}  // namespace ncen::transport
