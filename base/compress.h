// zstd streaming compression for one direction of a connection or one file
// (docs/protocol.md §2a, docs/bundles.md). A StreamCompressor turns each
// piece of bytes given to it into a flushed zstd piece: the matching
// StreamDecompressor, fed the same pieces in the same order, gives back each
// piece's bytes whole, and every piece benefits from all the pieces before
// it (one zstd frame per stream, never ended). Both sides bound the window
// (kWindowLog), so a hostile stream cannot make the decoder allocate more
// than about 2^kWindowLog bytes, and every piece's output is bounded by the
// caller. Not thread-safe: one thread at a time per object.
#pragma once

#include <cstddef>
#include <memory>

#include "base/bytes.h"
#include "base/status.h"

namespace ncen {

class StreamCompressor {
 public:
  // Level 1 is zstd's fastest regular level; 3 its default.
  static constexpr int kWindowLog = 20;  // 1 MiB of history
  explicit StreamCompressor(int level = 1);
  ~StreamCompressor();
  StreamCompressor(const StreamCompressor&) = delete;
  StreamCompressor& operator=(const StreamCompressor&) = delete;

  // Appends the compressed, flushed form of `in` to `out`.
  Status Compress(ByteView in, Bytes& out);
  uint64_t bytes_in() const { return bytes_in_; }
  uint64_t bytes_out() const { return bytes_out_; }

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
  uint64_t bytes_in_ = 0, bytes_out_ = 0;
};

class StreamDecompressor {
 public:
  // `window_log_max`: the largest window a stream may need (one-shot
  // frames of a few MiB declare their size as their window).
  explicit StreamDecompressor(int window_log_max = StreamCompressor::kWindowLog);
  ~StreamDecompressor();
  StreamDecompressor(const StreamDecompressor&) = delete;
  StreamDecompressor& operator=(const StreamDecompressor&) = delete;

  // Replaces `out` with what the piece `in` decompresses to. kCorruption
  // when the bytes are not zstd, need a larger window than kWindowLog, or
  // would give more than `max_out` bytes; the stream is unusable after an
  // error.
  Status Decompress(ByteView in, size_t max_out, Bytes& out);

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
  bool broken_ = false;
};

// One-shot helpers (bundles). DecompressWhole refuses output over max_out.
Result<Bytes> CompressWhole(ByteView in, int level = 3);
Result<Bytes> DecompressWhole(ByteView in, size_t max_out);

}  // namespace ncen
