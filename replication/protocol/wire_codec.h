// The wire form of protocol messages on one connection (docs/protocol.md
// §2a), between a Session and the channel: the driver (ncen-node, the
// simulator) passes every message the session queues through a WireEncoder
// and every message the channel delivers through a WireDecoder, one of each
// per connection.
//
// The first message each side sends (its hello, or an error) goes as it is,
// so a node of any protocol version can read it and refuse the version with
// a clear line. Every later message has a flag byte in front: 0, the
// message as it is (blob data: photos do not compress); 1, a zstd piece of
// the direction's stream (base/compress.h), flushed so that the receiver
// gets the whole message at once and everything sent before helps. A
// message lost from the middle breaks the stream; so does a cut
// connection, after which both sides start fresh codecs with fresh
// sessions.
//
// Not thread-safe: one thread at a time per object.
#pragma once

#include <cstdint>

#include "base/bytes.h"
#include "base/compress.h"
#include "base/status.h"

namespace ncen::replication {

inline constexpr uint8_t kWireRaw = 0;
inline constexpr uint8_t kWireZstd = 1;

class WireEncoder {
 public:
  // Level 1: zstd's fastest; 0 sends everything as it is (a flag byte 0).
  explicit WireEncoder(int level = 1);
  // The wire form of `message` as two pieces sent one after the other: the
  // returned prefix, then `message`. A message sent as it is stays where it
  // is (a megabyte of photo bytes is not copied to put a flag byte in front):
  // the prefix is its flag. A compressed one is replaced by its wire form,
  // flag included, and the prefix is empty; so is the first message's.
  Result<ByteView> EncodeInPlace(Bytes& message);
  // The same in one buffer: replaces `message` with its wire form.
  Status Encode(Bytes& message);
  uint64_t message_bytes() const { return message_bytes_; }  // before
  uint64_t wire_bytes() const { return wire_bytes_; }        // after

 private:
  int level_;
  StreamCompressor compressor_;
  Bytes spare_;
  uint64_t messages_ = 0;
  uint64_t message_bytes_ = 0, wire_bytes_ = 0;
};

class WireDecoder {
 public:
  // The message the wire bytes carry: a view valid until the next call, and
  // while `wire` is. Aligned to a word for Cap'n Proto (copied when it must
  // be), except blob data laid out as this code writes it, which is read
  // where it lies (messages.h IsBlobData). kCorruption for an unknown flag, a
  // piece that does not decompress, or one over the protocol's message bound.
  Result<ByteView> Decode(ByteView wire);

 private:
  StreamDecompressor decompressor_;
  Bytes buffer_;
  uint64_t messages_ = 0;
};

}  // namespace ncen::replication
