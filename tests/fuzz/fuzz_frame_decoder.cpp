// Fuzz target: FrameReader and Reassembler on raw, unauthenticated bytes.
//
// Input: byte 0 = mode (fuzz_support.h: chunk plan, bit 7 = zero-copy
// feeding with PrepareFeed/CommitFeed) and, in bits 4..5, which handshake
// size the handshake-limits reader expects; the rest = a byte stream as it
// comes off the socket. Three readers cut the same stream:
//   transport  limits 17..65535, as an open SecureChannel, frames taken with
//              NextView; each frame minus its last 16 bytes (where the tag
//              would be) goes, as if it were the decrypted plaintext, to a
//              Reassembler bounded at 1 MiB; then the view is overwritten,
//              as in-place decryption does;
//   handshake  limits N..N with N = 32, 96 or 128, frames taken with Next;
//   any        limits 0..65535, NextView; each whole frame goes to a
//              Reassembler bounded at 256 bytes, so empty plaintexts and the
//              bound are reachable with short inputs; view overwritten too.
// Checked, for every reader: each frame is within its limits; the frames
// handed out, re-framed with AppendFrame, are exactly the bytes consumed
// (so neither the junk left in a read area's unused tail nor a scribbled
// view leaks into a later frame); buffered_bytes() accounts for every byte
// fed; an error is kCorruption and repeats. For every reassembler: a simple reference model agrees on every
// status, message, pending byte count and close reason; a failed Add
// changes nothing; pending_bytes() never exceeds the bound.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "replication/transport/frame.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace ncen;
using transport::FrameReader;
using transport::Reassembler;

// What Reassembler is documented to do, written the slow, obvious way.
class ModelReassembler {
 public:
  explicit ModelReassembler(size_t bound) : bound_(bound) {}

  StatusCode Add(ByteView plaintext) {
    if (closed_) return StatusCode::kFailedPrecondition;
    if (plaintext.empty()) return StatusCode::kCorruption;
    uint8_t type = plaintext[0];
    Bytes data(plaintext.begin() + 1, plaintext.end());
    if (type == 0x01 || type == 0x02) {
      if (partial_.size() + data.size() > bound_) return StatusCode::kResourceExhausted;
      partial_.insert(partial_.end(), data.begin(), data.end());
      if (type == 0x02) {
        complete_.push_back(partial_);
        partial_.clear();
      }
      return StatusCode::kOk;
    }
    if (type == 0x03) {
      if (!partial_.empty()) return StatusCode::kCorruption;
      closed_ = true;
      reason_.clear();
      for (size_t i = 0; i < data.size() && i < 200; ++i) {
        char c = static_cast<char>(data[i]);
        reason_.push_back(data[i] < 0x20 || data[i] >= 0x7f ? '?' : c);
      }
      return StatusCode::kOk;
    }
    return StatusCode::kCorruption;
  }

  std::optional<Bytes> Next() {
    if (complete_.empty()) return std::nullopt;
    Bytes message = complete_.front();
    complete_.pop_front();
    return message;
  }

  size_t pending_bytes() const { return partial_.size(); }
  bool closed() const { return closed_; }
  const std::string& reason() const { return reason_; }

 private:
  size_t bound_;
  Bytes partial_;
  std::deque<Bytes> complete_;
  bool closed_ = false;
  std::string reason_;
};

// One Reassembler and its model, fed the same plaintexts.
class CheckedReassembler {
 public:
  explicit CheckedReassembler(size_t bound) : bound_(bound), real_(bound), model_(bound) {}

  void Add(ByteView plaintext) {
    size_t pending_before = real_.pending_bytes();
    bool closed_before = real_.closed();
    Status s = real_.Add(plaintext);
    StatusCode expected = model_.Add(plaintext);
    FUZZ_CHECK(s.code() == expected);
    if (!s.ok()) {
      // Nothing changes on failure.
      FUZZ_CHECK(real_.pending_bytes() == pending_before);
      FUZZ_CHECK(real_.closed() == closed_before);
    }
    FUZZ_CHECK(real_.pending_bytes() <= bound_);
    FUZZ_CHECK(real_.pending_bytes() == model_.pending_bytes());
    FUZZ_CHECK(real_.closed() == model_.closed());
    FUZZ_CHECK(real_.close_reason() == model_.reason());
    // Drain only sometimes, so several complete messages queue up.
    if (plaintext.size() % 2 == 0) Drain();
  }

  void Drain() {
    while (true) {
      std::optional<Bytes> got = real_.Next();
      std::optional<Bytes> want = model_.Next();
      FUZZ_CHECK(got.has_value() == want.has_value());
      if (!got) return;
      FUZZ_CHECK(got->size() <= bound_);
      FUZZ_CHECK(*got == *want);
    }
  }

 private:
  size_t bound_;
  Reassembler real_;
  ModelReassembler model_;
};

// One FrameReader with its limits and the bookkeeping to check it.
class CheckedReader {
 public:
  enum class Take { kCopy, kViewAndScribble };

  CheckedReader(size_t min_frame, size_t max_frame, Take take)
      : min_(min_frame), max_(max_frame), take_(take) {
    reader_.SetLimits(min_frame, max_frame);
  }

  // Feeds `chunk`, then hands each whole frame to `on_frame`. Returns false
  // once the reader has reported corruption (the channel would drop the
  // connection).
  template <typename OnFrame>
  bool Feed(ByteView chunk, bool zero_copy, OnFrame&& on_frame) {
    if (failed_) return false;
    if (zero_copy) {
      fuzz::FillReadArea(reader_.PrepareFeed(chunk.size() + fuzz::kReadSlackBytes), chunk);
      reader_.CommitFeed(chunk.size());
    } else {
      reader_.Feed(chunk);
    }
    fed_.insert(fed_.end(), chunk.begin(), chunk.end());
    while (true) {
      Result<std::optional<Bytes>> next = TakeFrame();
      if (!next.ok()) {
        FUZZ_CHECK(next.status().code() == StatusCode::kCorruption);
        // The header that failed is there, and the error repeats.
        FUZZ_CHECK(reader_.buffered_bytes() >= transport::kFrameHeaderBytes);
        size_t length = (size_t{fed_[consumed_.size()]} << 8) | fed_[consumed_.size() + 1];
        FUZZ_CHECK(length < min_ || length > max_);
        FUZZ_CHECK(!reader_.Next().ok());
        FUZZ_CHECK(!reader_.NextView().ok());
        failed_ = true;
        return false;
      }
      if (!next.value()) break;
      const Bytes& frame = *next.value();
      FUZZ_CHECK(frame.size() >= min_ && frame.size() <= max_);
      transport::AppendFrame(consumed_, frame);
      on_frame(ByteView(frame));
    }
    // Re-framed output is a prefix of the input; the rest is buffered.
    FUZZ_CHECK(consumed_.size() <= fed_.size());
    FUZZ_CHECK(std::equal(consumed_.begin(), consumed_.end(), fed_.begin()));
    FUZZ_CHECK(reader_.buffered_bytes() == fed_.size() - consumed_.size());
    FUZZ_CHECK(reader_.HasPartialFrame() == (reader_.buffered_bytes() > 0));
    // A complete frame is never left behind.
    size_t rest = fed_.size() - consumed_.size();
    if (rest >= transport::kFrameHeaderBytes) {
      size_t length = (size_t{fed_[consumed_.size()]} << 8) | fed_[consumed_.size() + 1];
      FUZZ_CHECK(rest < transport::kFrameHeaderBytes + length);
    }
    return true;
  }

 private:
  // The next frame, copied out; with kViewAndScribble taken as a view that
  // is then overwritten in the reader's buffer.
  Result<std::optional<Bytes>> TakeFrame() {
    if (take_ == Take::kCopy) return reader_.Next();
    auto view = reader_.NextView();
    if (!view.ok()) return view.status();
    if (!view.value()) return std::optional<Bytes>();
    std::span<uint8_t> frame = *view.value();
    Bytes copy(frame.begin(), frame.end());
    std::fill(frame.begin(), frame.end(), uint8_t{0xee});
    return std::optional<Bytes>(std::move(copy));
  }

  FrameReader reader_;
  size_t min_;
  size_t max_;
  Take take_;
  Bytes fed_;
  Bytes consumed_;
  bool failed_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint8_t mode = data[0];
  ByteView stream(data + 1, size - 1);

  static constexpr size_t kHandshakeSizes[] = {transport::kHandshake1Bytes,
                                               transport::kHandshake3Bytes,
                                               transport::kHandshake2Bytes};
  size_t handshake_size = kHandshakeSizes[((mode >> 4) & 3) % 3];

  using Take = CheckedReader::Take;
  CheckedReader transport_reader(crypto::kNoiseTagBytes + 1, transport::kFrameBytesMax,
                                 Take::kViewAndScribble);
  CheckedReader handshake_reader(handshake_size, handshake_size, Take::kCopy);
  CheckedReader any_reader(0, transport::kFrameBytesMax, Take::kViewAndScribble);
  bool zero_copy = fuzz::ZeroCopy(mode);
  CheckedReassembler big(size_t{1} << 20);
  CheckedReassembler small(256);
  bool transport_ok = true, handshake_ok = true, any_ok = true;

  fuzz::ChunkPlan(mode).ForEachChunk(stream, [&](ByteView chunk) {
    if (transport_ok) {
      transport_ok = transport_reader.Feed(chunk, zero_copy, [&](ByteView frame) {
        big.Add(frame.first(frame.size() - crypto::kNoiseTagBytes));
      });
    }
    if (handshake_ok) handshake_ok = handshake_reader.Feed(chunk, zero_copy, [](ByteView) {});
    if (any_ok) {
      any_ok = any_reader.Feed(chunk, zero_copy, [&](ByteView frame) { small.Add(frame); });
    }
    return transport_ok || handshake_ok || any_ok;
  });
  big.Drain();
  small.Drain();
  return 0;
}
