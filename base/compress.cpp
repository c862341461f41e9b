#include "base/compress.h"

#include <zstd.h>

#include <algorithm>
#include <new>
#include <string>

namespace ncen {

namespace {
std::string ZstdError(size_t code) { return ZSTD_getErrorName(code); }
}  // namespace

struct StreamCompressor::Ctx {
  ZSTD_CCtx* c = nullptr;
  ~Ctx() { ZSTD_freeCCtx(c); }
};

StreamCompressor::StreamCompressor(int level) : ctx_(std::make_unique<Ctx>()) {
  ctx_->c = ZSTD_createCCtx();
  if (ctx_->c == nullptr) throw std::bad_alloc();
  ZSTD_CCtx_setParameter(ctx_->c, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(ctx_->c, ZSTD_c_windowLog, kWindowLog);
  // No checksum per frame: the frame never ends; the channel below is
  // authenticated and every message above is checked when decoded.
  ZSTD_CCtx_setParameter(ctx_->c, ZSTD_c_checksumFlag, 0);
}

StreamCompressor::~StreamCompressor() = default;

Status StreamCompressor::Compress(ByteView in, Bytes& out) {
  const size_t start = out.size();
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  size_t room = ZSTD_compressBound(in.size()) + 64;
  for (;;) {
    const size_t at = out.size();
    out.resize(at + room);
    ZSTD_outBuffer output{out.data() + at, room, 0};
    const size_t left = ZSTD_compressStream2(ctx_->c, &output, &input, ZSTD_e_flush);
    if (ZSTD_isError(left)) {
      out.resize(start);
      return ResourceExhausted("zstd: " + ZstdError(left));
    }
    out.resize(at + output.pos);
    if (left == 0 && input.pos == input.size) break;
    room = ZSTD_CStreamOutSize();
  }
  bytes_in_ += in.size();
  bytes_out_ += out.size() - start;
  return Status::Ok();
}

struct StreamDecompressor::Ctx {
  ZSTD_DCtx* d = nullptr;
  ~Ctx() { ZSTD_freeDCtx(d); }
};

StreamDecompressor::StreamDecompressor(int window_log_max) : ctx_(std::make_unique<Ctx>()) {
  ctx_->d = ZSTD_createDCtx();
  if (ctx_->d == nullptr) throw std::bad_alloc();
  ZSTD_DCtx_setParameter(ctx_->d, ZSTD_d_windowLogMax, window_log_max);
}

StreamDecompressor::~StreamDecompressor() = default;

Status StreamDecompressor::Decompress(ByteView in, size_t max_out, Bytes& out) {
  if (broken_) return Corruption("compressed stream unusable after an earlier error");
  out.clear();
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  size_t room = std::max<size_t>(in.size() * 4, 4096);
  for (;;) {
    if (out.size() > max_out) {
      broken_ = true;
      return Corruption("compressed message decompresses to more than " + std::to_string(max_out) +
                        " bytes");
    }
    const size_t at = out.size();
    const size_t step = std::min(room, max_out + 1 - at);
    out.resize(at + step);
    ZSTD_outBuffer output{out.data() + at, step, 0};
    const size_t ret = ZSTD_decompressStream(ctx_->d, &output, &input);
    if (ZSTD_isError(ret)) {
      broken_ = true;
      out.clear();
      return Corruption("bad compressed data: " + ZstdError(ret));
    }
    out.resize(at + output.pos);
    // Everything given is read and the decoder had room left: it holds no
    // more output for this piece.
    if (input.pos == input.size && output.pos < step) break;
    room = std::max(room, out.size());  // grow geometrically
  }
  if (out.size() > max_out) {
    broken_ = true;
    return Corruption("compressed message decompresses to more than " + std::to_string(max_out) +
                      " bytes");
  }
  return Status::Ok();
}

Result<Bytes> CompressWhole(ByteView in, int level) {
  Bytes out(ZSTD_compressBound(in.size()));
  const size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), level);
  if (ZSTD_isError(n)) return ResourceExhausted("zstd: " + ZstdError(n));
  out.resize(n);
  return out;
}

Result<Bytes> DecompressWhole(ByteView in, size_t max_out) {
  // A one-shot frame's window is its content size (up to 2^21 at level 3 for
  // larger inputs): allow what max_out allows, the output is bounded anyway.
  int window_log = StreamCompressor::kWindowLog;
  while (window_log < 27 && (size_t{1} << window_log) < max_out) ++window_log;
  StreamDecompressor d(window_log);
  Bytes out;
  if (Status s = d.Decompress(in, max_out, out); !s.ok()) return s;
  return out;
}

}  // namespace ncen
