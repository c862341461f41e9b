#include "replication/protocol/wire_codec.h"

#include <cstring>

#include "base/limits.h"
#include "replication/protocol/messages.h"

namespace ncen::replication {

WireEncoder::WireEncoder(int level) : level_(level), compressor_(level > 0 ? level : 1) {}

Result<ByteView> WireEncoder::EncodeInPlace(Bytes& message) {
  static constexpr uint8_t kRawFlag[1] = {kWireRaw};
  message_bytes_ += message.size();
  if (messages_++ == 0) {
    wire_bytes_ += message.size();
    return ByteView();
  }
  if (level_ <= 0 || IsBlobData(message)) {
    wire_bytes_ += 1 + message.size();
    return ByteView(kRawFlag);
  }
  spare_.clear();
  spare_.push_back(kWireZstd);
  NCEN_RETURN_IF_ERROR(compressor_.Compress(message, spare_));
  message.swap(spare_);
  wire_bytes_ += message.size();
  // Keep a batch-sized buffer for the next message, not a rare huge one.
  if (spare_.capacity() > limits::kRecycledBufferBytesMax) Bytes().swap(spare_);
  return ByteView();
}

Status WireEncoder::Encode(Bytes& message) {
  NCEN_ASSIGN_OR_RETURN(ByteView prefix, EncodeInPlace(message));
  message.insert(message.begin(), prefix.begin(), prefix.end());
  return Status::Ok();
}

Result<ByteView> WireDecoder::Decode(ByteView wire) {
  if (messages_++ == 0) return wire;
  if (buffer_.capacity() > limits::kRecycledBufferBytesMax) Bytes().swap(buffer_);
  if (wire.empty()) return Corruption("empty message on the wire");
  const ByteView body = wire.subspan(1);
  switch (wire[0]) {
    case kWireRaw:
      // Photo bytes are read where they lie; anything else is copied to
      // aligned memory, as Cap'n Proto reads words.
      if (IsBlobData(body)) return body;
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
