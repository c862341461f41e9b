#include "replication/protocol/wire_codec.h"

#include <cstring>

#include "base/limits.h"
#include "replication/protocol/messages.h"

namespace ncen::replication {

WireEncoder::WireEncoder(int level) : level_(level), compressor_(level > 0 ? level : 1) {}

Status WireEncoder::Encode(Bytes& message) {
  message_bytes_ += message.size();
  if (messages_++ == 0) {
    wire_bytes_ += message.size();
    return Status::Ok();
  }
  spare_.clear();
  if (level_ <= 0 || IsBlobData(message)) {
    spare_.reserve(message.size() + 1);
    spare_.push_back(kWireRaw);
    Append(spare_, message);
  } else {
    spare_.push_back(kWireZstd);
    NCEN_RETURN_IF_ERROR(compressor_.Compress(message, spare_));
  }
  message.swap(spare_);
  wire_bytes_ += message.size();
  // Keep a batch-sized buffer for the next message, not a rare huge one.
  if (spare_.capacity() > limits::kRecycledBufferBytesMax) Bytes().swap(spare_);
  return Status::Ok();
}

Result<ByteView> WireDecoder::Decode(ByteView wire) {
  if (messages_++ == 0) return wire;
  if (buffer_.capacity() > limits::kRecycledBufferBytesMax) Bytes().swap(buffer_);
  if (wire.empty()) return Corruption("empty message on the wire");
  const ByteView body = wire.subspan(1);
  switch (wire[0]) {
    case kWireRaw:
      // Copied to aligned memory: Cap'n Proto reads words.
      buffer_.assign(body.begin(), body.end());
      return ByteView(buffer_);
    case kWireZstd:
      NCEN_RETURN_IF_ERROR(decompressor_.Decompress(body, limits::kMessageBytesMax, buffer_));
      return ByteView(buffer_);
    default:
      return Corruption("unknown wire flag " + std::to_string(wire[0]) +
                        " (a peer of another protocol version?)");
  }
}

}  // namespace ncen::replication
