// Safe intake of photos (of concealment methods, goods, documents): decide
// what a file is from its bytes, refuse anything that is not a whole JPEG,
// PNG, WebP or HEIC photo within the limits, and turn what is accepted into
// the bytes ncen stores (metadata that identifies people or places removed,
// orientation applied) plus a small JPEG preview.
//
// Thread safety: both functions may be called from any thread, concurrently.
// The first call starts libvips once for the process and sets two global
// libvips options: its operation cache is switched off (cached operations
// would keep pointers into callers' buffers) and untrusted loaders are
// blocked. libvips prints its warnings to stderr; set VIPS_WARNING=1 in the
// environment of a daemon to silence them. Error messages come from one
// process-wide libvips error buffer, so under concurrent failures a message
// may carry another call's detail; the code and the first words are always
// this call's.
//
// Decoding: JPEGs are decoded with libjpeg(-turbo), failing on the first
// warning about damaged data (libvips' own fail_on misses damage in the last
// rows); PNG, WebP and HEIC with libvips (libpng, libwebp, libheif).
//
// Memory: a file is decoded once, at up to max_pixels x 4 bands x 2 bytes
// (800 MB at the default limit, for a 16-bit RGBA PNG); a rotated JPEG's
// pixels are held twice; a JPEG with orientation 1 is decoded at the
// preview's scale only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"

namespace ncen::media {

struct ImagePolicy {
  // Larger files are refused before anything is decoded.
  size_t max_file_bytes = 50 * 1024 * 1024;
  // width x height above this is refused from the header alone
  // (decompression bombs).
  uint64_t max_pixels = 100'000'000;
  // Either side above this is refused from the header alone.
  uint32_t max_side = 30000;
  // Store the original bytes unchanged (after the same full validation):
  // metadata kept, orientation not applied.
  bool keep_metadata = false;
  // The preview's longest side; smaller images are not upscaled.
  uint32_t preview_side = 320;
  // JPEG quality of the preview.
  int preview_quality = 75;
};

struct PreparedImage {
  Bytes bytes;                     // what ncen stores
  std::string media_type;          // "image/jpeg", "image/png", "image/webp", "image/heic"
  std::string source_format;       // "jpeg", "png", "webp", "heic"
  uint32_t width = 0, height = 0;  // of `bytes`, as displayed (orientation applied)
  Bytes preview;  // always JPEG, metadata-free, longest side <= preview_side, upright
  uint32_t preview_width = 0, preview_height = 0;
  bool metadata_kept = false;
  bool reencoded = false;  // `bytes` are a new encoding, not the original's compressed data
};

// Validates `file` completely and prepares it for storage. `file` is only
// read during the call; the result owns its bytes.
//
// What is stored (policy.keep_metadata false):
//   JPEG, orientation 1 or absent: the original entropy-coded data byte for
//     byte, with every APP1 (EXIF, XMP), APP3..APP13 (IPTC), APP15 and COM
//     segment, any JFIF/JFXX thumbnail, MPF and any bytes after the end
//     marker removed; JFIF, ICC profile and Adobe segments kept.
//   JPEG with another orientation: decoded, turned upright, re-encoded at
//     quality 90 with only the ICC profile kept.
//   HEIC: decoded, upright, re-encoded as JPEG quality 90 (browsers cannot
//     show HEIC) with only the ICC profile kept.
//   PNG: re-encoded losslessly as PNG with only the iCCP chunk kept.
//   WebP: re-encoded as WebP (lossless when the original was lossless,
//     quality 90 otherwise), metadata removed, colours converted to sRGB when
//     an ICC profile was present.
// With policy.keep_metadata the original bytes are stored unchanged.
//
// Every refusal is kInvalidArgument with one line that names the problem:
// an empty file; a file larger than max_file_bytes; a file that is not JPEG,
// PNG, WebP or HEIC (naming what it looks like when that is easy: PDF, GIF,
// TIFF, SVG, AVIF, plain text...); dimensions beyond max_side or max_pixels
// (decided from the header before any pixel is decoded); a file that is
// truncated or corrupt anywhere (the whole image is decoded). kUnavailable
// when libvips cannot start (a broken installation).
Result<PreparedImage> PrepareImage(ByteView file, const ImagePolicy& policy = {});

struct ImageInfo {
  std::string format;  // "jpeg", "png", "webp", "heic"
  // As stored in the file, before orientation (HEIC: as displayed, since the
  // container's rotation is part of the format).
  uint32_t width = 0, height = 0;
  int orientation = 1;  // EXIF orientation tag, 1 when absent
  bool has_exif = false, has_gps = false, has_xmp = false, has_iptc = false;
  // JPEG COM segments, PNG tEXt/zTXt/iTXt chunks.
  bool has_comment = false;
  bool has_icc_profile = false;
  // Names of identifying EXIF tags present (Make, Model, BodySerialNumber,
  // CameraOwnerName, Artist, ...), in a fixed order.
  std::vector<std::string> exif_tags_with_text;
};

// Reads the header of `file` (no pixel is decoded) and reports what metadata
// it carries. kInvalidArgument for an empty file, a format other than the
// four, or a header that does not parse.
Result<ImageInfo> InspectImage(ByteView file);

}  // namespace ncen::media
