#include "replication/transport/frame.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "base/check.h"

namespace ncen::transport {

void AppendFrame(Bytes& out, ByteView frame) {
  NCEN_CHECK(frame.size() <= kFrameBytesMax);
  out.push_back(static_cast<uint8_t>(frame.size() >> 8));
  out.push_back(static_cast<uint8_t>(frame.size() & 0xff));
  Append(out, frame);
}

std::span<uint8_t> FrameReader::PrepareFeed(size_t n) {
  // Drop consumed bytes first, so the buffer never holds more than one
  // partial frame plus one read.
  if (offset_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + offset_, size_ - offset_);
    size_ -= offset_;
    offset_ = 0;
  }
  if (buffer_.size() < size_ + n) buffer_.resize(size_ + n);
  return std::span<uint8_t>(buffer_.data() + size_, n);
}

void FrameReader::CommitFeed(size_t n) {
  NCEN_CHECK(size_ + n <= buffer_.size());
  size_ += n;
}

void FrameReader::Feed(ByteView data) {
  auto area = PrepareFeed(data.size());
  if (!data.empty()) std::memcpy(area.data(), data.data(), data.size());
  CommitFeed(data.size());
}

Result<std::optional<std::span<uint8_t>>> FrameReader::NextView() {
  using View = std::optional<std::span<uint8_t>>;
  size_t available = size_ - offset_;
  if (available < kFrameHeaderBytes) return View();
  size_t length = (size_t{buffer_[offset_]} << 8) | buffer_[offset_ + 1];
  if (length < min_frame_ || length > max_frame_) {
    return Corruption("frame length " + std::to_string(length) + " outside " +
                      std::to_string(min_frame_) + ".." + std::to_string(max_frame_));
  }
  if (available < kFrameHeaderBytes + length) return View();
  std::span<uint8_t> frame(buffer_.data() + offset_ + kFrameHeaderBytes, length);
  offset_ += kFrameHeaderBytes + length;
  return View(frame);
}

Result<std::optional<Bytes>> FrameReader::Next() {
  NCEN_ASSIGN_OR_RETURN(auto view, NextView());
  if (!view) return std::optional<Bytes>();
  return std::optional<Bytes>(Bytes(view->begin(), view->end()));
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
      if (partial_.empty() && spare_.capacity() > partial_.capacity()) {
        std::swap(partial_, spare_);
        partial_.clear();
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
      // Printable ASCII only: the reason goes into log lines and JSON.
      for (char& c : close_reason_) {
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
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
