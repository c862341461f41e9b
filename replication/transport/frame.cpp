#include "replication/transport/frame.h"

#include <algorithm>
#include <string>

#include "base/check.h"

namespace ncen::transport {

void AppendFrame(Bytes& out, ByteView frame) {
  NCEN_CHECK(frame.size() <= kFrameBytesMax);
  out.push_back(static_cast<uint8_t>(frame.size() >> 8));
  out.push_back(static_cast<uint8_t>(frame.size() & 0xff));
  Append(out, frame);
}

void FrameReader::Feed(ByteView data) {
  // Drop consumed bytes before growing, so the buffer never holds more than
  // one partial frame plus this call's input.
  if (offset_ > 0) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<ptrdiff_t>(offset_));
    offset_ = 0;
  }
  Append(buffer_, data);
}

Result<std::optional<Bytes>> FrameReader::Next() {
  size_t available = buffer_.size() - offset_;
  if (available < kFrameHeaderBytes) return std::optional<Bytes>();
  size_t length = (size_t{buffer_[offset_]} << 8) | buffer_[offset_ + 1];
  if (length < min_frame_ || length > max_frame_) {
    return Corruption("frame length " + std::to_string(length) + " outside " +
                      std::to_string(min_frame_) + ".." + std::to_string(max_frame_));
  }
  if (available < kFrameHeaderBytes + length) return std::optional<Bytes>();
  auto begin = buffer_.begin() + static_cast<ptrdiff_t>(offset_ + kFrameHeaderBytes);
  Bytes frame(begin, begin + static_cast<ptrdiff_t>(length));
  offset_ += kFrameHeaderBytes + length;
  if (offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
  }
  return std::optional<Bytes>(std::move(frame));
}

Status Reassembler::Add(ByteView plaintext) {
  if (closed_) return FailedPrecondition("fragment after close");
  if (plaintext.empty()) return Corruption("empty transport fragment");
  ByteView data = plaintext.subspan(1);
  switch (static_cast<FragmentType>(plaintext[0])) {
    case FragmentType::kMore:
    case FragmentType::kEnd:
      if (partial_.size() + data.size() > max_message_bytes_) {
        return ResourceExhausted("protocol message exceeds " + std::to_string(max_message_bytes_) +
                                 " bytes");
      }
      Append(partial_, data);
      if (plaintext[0] == static_cast<uint8_t>(FragmentType::kEnd)) {
        complete_.push_back(std::move(partial_));
        partial_.clear();
      }
      return Status::Ok();
    case FragmentType::kClose:
      if (!partial_.empty()) return Corruption("close in the middle of a message");
      closed_ = true;
      close_reason_.assign(data.begin(), data.begin() + static_cast<ptrdiff_t>(std::min<size_t>(data.size(), 200)));
      for (char& c : close_reason_) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
      }
      return Status::Ok();
  }
  return Corruption("unknown fragment type " + std::to_string(plaintext[0]));
}

std::optional<Bytes> Reassembler::Next() {
  if (complete_.empty()) return std::nullopt;
  Bytes message = std::move(complete_.front());
  complete_.pop_front();
  return message;
}

}  // namespace ncen::transport
