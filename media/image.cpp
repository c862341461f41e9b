// Photo intake: format sniffing, container walks (JPEG markers, PNG chunks,
// WebP RIFF chunks, the HEIF ftyp box) and the libvips boundary. Every count
// or length read from the file is checked against the bytes present before
// it is used; libvips only sees files whose container already parsed and
// whose dimensions are within the policy.
#include "media/image.h"

#include <vips/vips.h>

// libjpeg needs FILE and size_t declared before it.
// clang-format off
#include <cstdio>
#include <jpeglib.h>
#include <jerror.h>
// clang-format on

#include <algorithm>
#include <array>
#include <cctype>
#include <csetjmp>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>

#include "base/text.h"

namespace ncen::media {
namespace {

enum class Format { kJpeg, kPng, kWebp, kHeic };

const char* FormatName(Format format) {
  switch (format) {
    case Format::kJpeg:
      return "jpeg";
    case Format::kPng:
      return "png";
    case Format::kWebp:
      return "webp";
    case Format::kHeic:
      return "heic";
  }
  return "?";
}

const char* FormatLabel(Format format) {
  switch (format) {
    case Format::kJpeg:
      return "JPEG";
    case Format::kPng:
      return "PNG";
    case Format::kWebp:
      return "WebP";
    case Format::kHeic:
      return "HEIC";
  }
  return "?";
}

// ---------------------------------------------------------------------------
// Messages

constexpr std::string_view kNotAccepted = "not a photo ncen accepts (JPEG, PNG, WebP or HEIC)";
constexpr double kBytesPerMegabyte = 1024.0 * 1024.0;
// libvips detail appended to a refusal is cut to this length.
constexpr size_t kDetailBytesMax = 200;

std::string OneDecimal(double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%.1f", value);
  return text;
}

// "50" for an exact number of megabytes, "50.5" otherwise.
std::string LimitMegabytes(size_t bytes) {
  if (bytes % (1024 * 1024) == 0) return std::to_string(bytes / (1024 * 1024));
  return OneDecimal(bytes / kBytesPerMegabyte);
}

Status Corrupt(Format format, std::string_view detail) {
  return InvalidArgument("the " + std::string(FormatLabel(format)) +
                         " is truncated or corrupt: " + std::string(detail));
}

// ---------------------------------------------------------------------------
// Byte helpers

bool HasAt(ByteView bytes, size_t offset, std::string_view magic) {
  return offset <= bytes.size() && bytes.size() - offset >= magic.size() &&
         std::memcmp(bytes.data() + offset, magic.data(), magic.size()) == 0;
}
uint32_t U16BE(const uint8_t* p) { return (uint32_t{p[0]} << 8) | p[1]; }
uint32_t U16LE(const uint8_t* p) { return (uint32_t{p[1]} << 8) | p[0]; }
uint32_t U24LE(const uint8_t* p) { return (uint32_t{p[2]} << 16) | (uint32_t{p[1]} << 8) | p[0]; }
uint32_t U32LE(const uint8_t* p) { return (U16LE(p + 2) << 16) | U16LE(p); }

// ---------------------------------------------------------------------------
// Sniffing: the format comes from the bytes, never from a name.

constexpr std::array<std::string_view, 8> kHevcBrands = {"heic", "heix", "hevc", "hevx",
                                                         "heim", "heis", "hevm", "hevs"};
constexpr std::array<std::string_view, 2> kAv1Brands = {"avif", "avis"};
constexpr std::array<std::string_view, 12> kVideoBrands = {
    "isom", "iso2", "mp41", "mp42", "M4V ", "M4A ", "qt  ", "3gp4", "3gp5", "3g2a", "avc1", "dash"};
// An ftyp box longer than this is not a photo's.
constexpr size_t kFtypBytesMax = 4096;

template <size_t N>
bool IsOneOf(std::string_view brand, const std::array<std::string_view, N>& set) {
  return std::find(set.begin(), set.end(), brand) != set.end();
}

// What an ISO base media file (ftyp box first) holds: "" for HEVC-coded
// HEIF (accepted), otherwise a description for the refusal.
std::optional<std::string> DescribeIsoMedia(ByteView file) {
  if (!HasAt(file, 4, "ftyp") || file.size() < 16) return std::nullopt;
  const size_t box_bytes = GetU32BE(file.data());
  if (box_bytes < 16 || box_bytes > file.size() || box_bytes > kFtypBytesMax) {
    return "an ISO media file with a damaged header";
  }
  auto brand_at = [&](size_t offset) { return AsChars(file.subspan(offset, 4)); };
  std::string_view major = brand_at(8);
  bool hevc = IsOneOf(major, kHevcBrands), av1 = IsOneOf(major, kAv1Brands);
  for (size_t offset = 16; offset + 4 <= box_bytes; offset += 4) {
    hevc = hevc || IsOneOf(brand_at(offset), kHevcBrands);
    av1 = av1 || IsOneOf(brand_at(offset), kAv1Brands);
  }
  if (IsOneOf(major, kAv1Brands) || (av1 && !IsOneOf(major, kHevcBrands))) return "an AVIF image";
  if (hevc) return "";
  if (major == "crx ") return "a Canon camera raw file";
  if (major == "jxl ") return "a JPEG XL image";
  if (IsOneOf(major, kVideoBrands)) return "a video (MP4, MOV or 3GP)";
  return "an ISO media file that is not a HEIC photo";
}

struct Magic {
  size_t offset;
  std::string_view bytes;
  const char* looks_like;
};
constexpr std::string_view operator""_sv(const char* s, size_t n) { return {s, n}; }
const Magic kRefusedMagics[] = {
    {0, "%PDF-", "a PDF document"},
    {0, "GIF87a", "a GIF image"},
    {0, "GIF89a", "a GIF image"},
    {0, "II*\0"_sv, "a TIFF image or a camera raw file"},
    {0, "MM\0*"_sv, "a TIFF image or a camera raw file"},
    {0, "8BPS", "a Photoshop document"},
    {0, "PK\3\4"_sv, "a ZIP archive or an Office document"},
    {0, "\x1f\x8b", "a gzip archive"},
    {0, "Rar!", "a RAR archive"},
    {0, "7z\xbc\xaf\x27\x1c", "a 7-Zip archive"},
    {0, "\xd0\xcf\x11\xe0", "an old Microsoft Office document"},
    {0, "%!PS", "a PostScript document"},
    {0, "{\\rtf", "an RTF document"},
    {0, "\xff\x0a", "a JPEG XL image"},
    {4, "JXL \r\n\x87\n", "a JPEG XL image"},
    {4, "jP  \r\n\x87\n", "a JPEG 2000 image"},
    {0, "\xff\x4f\xff\x51", "a JPEG 2000 image"},
    {0, "qoif", "a QOI image"},
    {0, "\177ELF", "a program"},
    {0, "MZ", "a Windows program"},
    {8, "WAVE", "a WAV sound file"},
    {8, "AVI ", "an AVI video"},
    {0, "\0\0\1\0"_sv, "an icon (ICO)"},
};

bool ContainsNoCase(std::string_view text, std::string_view needle) {
  auto it = std::search(text.begin(), text.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == b;
  });
  return it != text.end();
}

// Text formats, judged from the first few KB.
std::optional<std::string> DescribeText(ByteView file) {
  constexpr size_t kSniffBytes = 4096;
  std::string_view head = AsChars(file.first(std::min(file.size(), kSniffBytes)));
  // A cut in the middle of a character is not a reason to call it binary.
  bool utf8 = false;
  for (size_t drop = 0; drop < 4 && drop < head.size() && !utf8; ++drop) {
    utf8 = IsValidUtf8(head.substr(0, head.size() - drop));
    if (head.size() < kSniffBytes) break;
  }
  if (!utf8) return std::nullopt;
  for (char c : head) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f') return std::nullopt;
  }
  if (ContainsNoCase(head, "<svg")) return "an SVG drawing";
  if (ContainsNoCase(head, "<html") || ContainsNoCase(head, "<!doctype html")) return "a web page";
  return "plain text";
}

bool LooksLikeBmp(ByteView file) {
  // "BM", then reserved zero bytes at 6..9.
  return file.size() >= 26 && HasAt(file, 0, "BM") && U32LE(file.data() + 6) == 0;
}

Result<Format> SniffFormat(ByteView file) {
  if (HasAt(file, 0, "\xff\xd8\xff")) return Format::kJpeg;
  if (HasAt(file, 0, "\x89PNG\r\n\x1a\n")) return Format::kPng;
  if (HasAt(file, 0, "RIFF") && HasAt(file, 8, "WEBP")) return Format::kWebp;
  std::optional<std::string> looks_like = DescribeIsoMedia(file);
  if (looks_like && looks_like->empty()) return Format::kHeic;
  for (const Magic& magic : kRefusedMagics) {
    if (!looks_like && HasAt(file, magic.offset, magic.bytes)) looks_like = magic.looks_like;
  }
  if (!looks_like && LooksLikeBmp(file)) looks_like = "a BMP image";
  if (!looks_like) looks_like = DescribeText(file);
  std::string message(kNotAccepted);
  if (looks_like) message += ": it looks like " + *looks_like;
  return InvalidArgument(message);
}

// ---------------------------------------------------------------------------
// JPEG: the marker segments (ITU T.81 B.1). Every segment but SOI, EOI, RSTn
// and TEM carries a 2-byte big-endian length that counts itself.

constexpr uint8_t kSoi = 0xd8, kEoi = 0xd9, kSos = 0xda, kApp0 = 0xe0, kApp1 = 0xe1, kApp2 = 0xe2,
                  kApp13 = 0xed, kApp14 = 0xee, kCom = 0xfe;
constexpr size_t kMarkerBytes = 2, kLengthBytes = 2;
// SOF payload: precision (1), height (2), width (2), component count (1).
constexpr size_t kSofPayloadBytesMin = 6;
constexpr std::string_view kExifId = "Exif\0\0"_sv;
constexpr std::string_view kXmpId = "http://ns.adobe.com/xap/1.0/\0"_sv;
constexpr std::string_view kXmpExtensionId = "http://ns.adobe.com/xmp/extension/\0"_sv;
constexpr std::string_view kIccId = "ICC_PROFILE\0"_sv;
constexpr std::string_view kJfifId = "JFIF\0"_sv;
constexpr std::string_view kAdobeId = "Adobe";
constexpr std::string_view kPhotoshopId = "Photoshop 3.0\0"_sv;
// APP0 JFIF payload without a thumbnail: id (5), version (2), units (1),
// densities (4), thumbnail width and height (2).
constexpr size_t kJfifPayloadBytes = 14;
// A progressive JPEG needs about ten scans. libjpeg makes a pass over all
// coefficients per scan, so thousands of tiny scans would take minutes.
constexpr size_t kJpegScansMax = 100;
// An ICC profile travels in APP2 chunks: id, sequence number, chunk count.
constexpr size_t kIccChunkHeaderBytes = kIccId.size() + 2;
constexpr size_t kIccChunkBytesMax = 0xffff - kLengthBytes - kIccChunkHeaderBytes;

bool IsSof(uint8_t marker) {
  return marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
}
bool IsRst(uint8_t marker) { return marker >= 0xd0 && marker <= 0xd7; }

struct JpegSegment {
  uint8_t marker = 0;
  size_t begin = 0;  // at the 0xFF of the marker
  size_t end = 0;    // past the payload
  size_t payload() const { return begin + kMarkerBytes + kLengthBytes; }
};

struct JpegLayout {
  std::vector<JpegSegment> segments;  // every length-carrying segment, in order
  size_t end = 0;                     // past the EOI marker; later bytes are not the image's
  uint32_t width = 0, height = 0;
  size_t scans = 0;
};

bool SegmentHasId(ByteView file, const JpegSegment& segment, std::string_view id) {
  return segment.end - segment.payload() >= id.size() && HasAt(file, segment.payload(), id);
}

// Reads the length-carrying segment whose marker is at `at`.
Result<JpegSegment> ReadJpegSegment(ByteView file, size_t at) {
  JpegSegment segment{file[at + 1], at, 0};
  if (file.size() - at < kMarkerBytes + kLengthBytes) {
    return Corrupt(Format::kJpeg, "the file ends inside a marker at byte " + std::to_string(at));
  }
  const size_t length = U16BE(file.data() + at + kMarkerBytes);
  if (length < kLengthBytes || length > file.size() - at - kMarkerBytes) {
    return Corrupt(Format::kJpeg, "the marker segment at byte " + std::to_string(at) +
                                      " runs past the end of the file");
  }
  segment.end = at + kMarkerBytes + length;
  return segment;
}

Status ReadSof(ByteView file, const JpegSegment& sof, JpegLayout& layout) {
  if (layout.width != 0) return Corrupt(Format::kJpeg, "it has two frame headers");
  if (sof.end - sof.payload() < kSofPayloadBytesMin) {
    return Corrupt(Format::kJpeg, "its frame header is too short");
  }
  layout.height = U16BE(file.data() + sof.payload() + 1);
  layout.width = U16BE(file.data() + sof.payload() + 3);
  if (layout.width == 0 || layout.height == 0) {
    return Corrupt(Format::kJpeg, "its frame header gives a zero width or height");
  }
  return Status::Ok();
}

// The segments before the first scan, up to and including the first SOS.
Status WalkJpegHeader(ByteView file, JpegLayout& layout) {
  size_t at = kMarkerBytes;  // past SOI
  while (true) {
    if (at >= file.size() || file[at] != 0xff) {
      return Corrupt(Format::kJpeg, "no marker where one must be, at byte " + std::to_string(at));
    }
    while (at + 1 < file.size() && file[at + 1] == 0xff) ++at;  // fill bytes
    if (at + 1 >= file.size()) return Corrupt(Format::kJpeg, "the file ends before the image data");
    const uint8_t marker = file[at + 1];
    if (marker == kEoi || marker == kSoi || marker == 0x00 || IsRst(marker)) {
      return Corrupt(Format::kJpeg, "an unexpected marker before the image data");
    }
    if (marker == 0x01) {  // TEM: no length
      at += kMarkerBytes;
      continue;
    }
    NCEN_ASSIGN_OR_RETURN(JpegSegment segment, ReadJpegSegment(file, at));
    if (IsSof(marker)) NCEN_RETURN_IF_ERROR(ReadSof(file, segment, layout));
    layout.segments.push_back(segment);
    if (marker == kSos) {
      layout.scans = 1;
      if (layout.width == 0)
        return Corrupt(Format::kJpeg, "the image data comes before a frame header");
      return Status::Ok();
    }
    at = segment.end;
  }
}

// The entropy-coded data and any segments between scans, up to EOI.
Status WalkJpegScans(ByteView file, JpegLayout& layout) {
  size_t at = layout.segments.back().end;
  while (true) {
    const void* found = std::memchr(file.data() + at, 0xff, file.size() - at);
    if (found == nullptr) break;
    at = static_cast<const uint8_t*>(found) - file.data();
    if (at + 1 >= file.size()) break;
    const uint8_t next = file[at + 1];
    if (next == 0x00 || IsRst(next) || next == 0xff) {  // stuffed byte, restart, fill
      at += next == 0xff ? 1 : kMarkerBytes;
      continue;
    }
    if (next == kEoi) {
      layout.end = at + kMarkerBytes;
      return Status::Ok();
    }
    if (next == kSoi || IsSof(next))
      return Corrupt(Format::kJpeg, "a second image inside the scan data");
    NCEN_ASSIGN_OR_RETURN(JpegSegment segment, ReadJpegSegment(file, at));
    if (next == kSos && ++layout.scans > kJpegScansMax) {
      return Corrupt(Format::kJpeg, "it has more than " + std::to_string(kJpegScansMax) + " scans");
    }
    layout.segments.push_back(segment);
    at = segment.end;
  }
  return Corrupt(Format::kJpeg, "it ends before its end-of-image marker");
}

Result<JpegLayout> WalkJpeg(ByteView file) {
  JpegLayout layout;
  NCEN_RETURN_IF_ERROR(WalkJpegHeader(file, layout));
  NCEN_RETURN_IF_ERROR(WalkJpegScans(file, layout));
  return layout;
}

// Segments kept when metadata is stripped: everything that is not an
// application segment or a comment, and of those only JFIF (without its
// thumbnail), the ICC profile and Adobe's colour-transform flag.
bool KeepJpegSegment(ByteView file, const JpegSegment& segment) {
  const uint8_t marker = segment.marker;
  if (marker == kCom) return false;
  if (marker < kApp0 || marker > 0xef) return true;
  if (marker == kApp0)
    return SegmentHasId(file, segment, kJfifId) &&
           segment.end - segment.payload() >= kJfifPayloadBytes;
  if (marker == kApp2) return SegmentHasId(file, segment, kIccId);
  if (marker == kApp14) return SegmentHasId(file, segment, kAdobeId);
  return false;
}

// SOI, then the file up to EOI without the dropped segments and with the
// JFIF thumbnail cut off. The entropy-coded data is copied byte for byte.
Bytes StripJpeg(ByteView file, const JpegLayout& layout) {
  Bytes out;
  out.reserve(layout.end);
  size_t copied_to = 0;
  auto copy_to = [&](size_t offset) {
    out.insert(out.end(), file.begin() + copied_to, file.begin() + offset);
    copied_to = offset;
  };
  for (const JpegSegment& segment : layout.segments) {
    if (KeepJpegSegment(file, segment)) {
      if (segment.marker != kApp0) continue;
      copy_to(segment.begin);
      const uint8_t header[] = {0xff, kApp0, 0, kLengthBytes + kJfifPayloadBytes};
      Append(out, header);
      Append(out, file.subspan(segment.payload(), kJfifPayloadBytes - 2));
      Append(out, std::array<uint8_t, 2>{0, 0});  // no thumbnail
    } else {
      copy_to(segment.begin);
    }
    copied_to = segment.end;
  }
  copy_to(layout.end);
  return out;
}

// Inserts `icc` as APP2 chunks after SOI and JFIF of a JPEG libvips wrote.
// A profile too large for 255 chunks is left out.
Bytes AddJpegIccProfile(Bytes jpeg, ByteView icc) {
  const size_t chunks = (icc.size() + kIccChunkBytesMax - 1) / kIccChunkBytesMax;
  if (icc.empty() || chunks > 255 || !HasAt(jpeg, 0, "\xff\xd8")) return jpeg;
  size_t at = kMarkerBytes;
  if (HasAt(jpeg, at, "\xff\xe0") && jpeg.size() - at >= 4) {
    at = std::min(jpeg.size(), at + kMarkerBytes + U16BE(jpeg.data() + at + kMarkerBytes));
  }
  Bytes segments;
  for (size_t i = 0; i < chunks; ++i) {
    ByteView part = icc.subspan(i * kIccChunkBytesMax,
                                std::min(kIccChunkBytesMax, icc.size() - i * kIccChunkBytesMax));
    const size_t length = kLengthBytes + kIccChunkHeaderBytes + part.size();
    const uint8_t header[] = {0xff, kApp2, static_cast<uint8_t>(length >> 8),
                              static_cast<uint8_t>(length)};
    Append(segments, header);
    Append(segments, AsBytes(kIccId));
    const uint8_t sequence[] = {static_cast<uint8_t>(i + 1), static_cast<uint8_t>(chunks)};
    Append(segments, sequence);
    Append(segments, part);
  }
  jpeg.insert(jpeg.begin() + at, segments.begin(), segments.end());
  return jpeg;
}

// ---------------------------------------------------------------------------
// PNG: chunks of length (4, big-endian), type (4), data, CRC-32 of type and
// data (4). IHDR first, IEND last.

constexpr size_t kPngSignatureBytes = 8;
constexpr size_t kPngChunkOverheadBytes = 12;
constexpr size_t kIhdrDataBytes = 13;
constexpr uint32_t kPngLengthMax = 0x7fffffff;

constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t n = 0; n < 256; ++n) {
    uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    table[n] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

uint32_t Crc32(ByteView bytes) {
  uint32_t c = 0xffffffffu;
  for (uint8_t b : bytes) c = kCrcTable[(c ^ b) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

struct PngLayout {
  uint32_t width = 0, height = 0;
  std::optional<std::pair<size_t, size_t>> iccp;  // the whole chunk, [begin, end)
  bool exif = false, xmp = false, text = false;
};

Status ReadIhdr(ByteView file, size_t data, uint32_t length, PngLayout& layout) {
  if (length != kIhdrDataBytes) return Corrupt(Format::kPng, "its header chunk has the wrong size");
  layout.width = GetU32BE(file.data() + data);
  layout.height = GetU32BE(file.data() + data + 4);
  if (layout.width == 0 || layout.height == 0 || layout.width > kPngLengthMax ||
      layout.height > kPngLengthMax) {
    return Corrupt(Format::kPng, "its header gives an impossible width or height");
  }
  return Status::Ok();
}

void NotePngChunk(ByteView file, std::string_view type, size_t begin, size_t data, size_t end,
                  PngLayout& layout) {
  if (type == "iCCP" && !layout.iccp) layout.iccp = std::pair{begin, end};
  if (type == "eXIf") layout.exif = true;
  if (type == "tEXt" || type == "zTXt" || type == "iTXt") {
    if (type == "iTXt" && HasAt(file.first(end), data, "XML:com.adobe.xmp\0"_sv)) {
      layout.xmp = true;
    } else {
      layout.text = true;
    }
  }
}

Result<PngLayout> WalkPng(ByteView file) {
  PngLayout layout;
  size_t at = kPngSignatureBytes;
  for (bool first = true;; first = false) {
    if (file.size() - at < kPngChunkOverheadBytes) {
      return Corrupt(Format::kPng, "it ends before its end chunk");
    }
    const uint32_t length = GetU32BE(file.data() + at);
    if (length > kPngLengthMax || length > file.size() - at - kPngChunkOverheadBytes) {
      return Corrupt(Format::kPng,
                     "the chunk at byte " + std::to_string(at) + " runs past the end of the file");
    }
    const size_t data = at + 8, end = data + length + 4;
    std::string_view type = AsChars(file.subspan(at + 4, 4));
    if (Crc32(file.subspan(at + 4, 4 + length)) != GetU32BE(file.data() + data + length)) {
      return Corrupt(Format::kPng, "the checksum of its " + SanitizeText(type, 4) +
                                       " chunk at byte " + std::to_string(at) + " does not match");
    }
    if (first != (type == "IHDR")) return Corrupt(Format::kPng, "its header chunk is not first");
    if (first) NCEN_RETURN_IF_ERROR(ReadIhdr(file, data, length, layout));
    if (type == "IEND") return layout;
    NotePngChunk(file, type, at, data, end, layout);
    at = end;
  }
}

// Inserts a whole chunk right after IHDR of a PNG libvips wrote.
Bytes AddPngChunk(Bytes png, ByteView chunk) {
  constexpr size_t kAfterIhdr = kPngSignatureBytes + kPngChunkOverheadBytes + kIhdrDataBytes;
  if (png.size() < kAfterIhdr) return png;
  png.insert(png.begin() + kAfterIhdr, chunk.begin(), chunk.end());
  return png;
}

// ---------------------------------------------------------------------------
// WebP: "RIFF", size (4, little-endian), "WEBP", then chunks of fourcc (4),
// size (4, little-endian), data padded to an even length.

constexpr size_t kRiffHeaderBytes = 12, kRiffChunkHeaderBytes = 8;
// VP8 key frame: 3 bytes of frame tag, start code 9d 01 2a, 14-bit sizes.
constexpr size_t kVp8HeaderBytes = 10;
// VP8L: signature 0x2f, then 14-bit width-1 and height-1.
constexpr size_t kVp8lHeaderBytes = 5;
// VP8X: flags (4), canvas width-1 (3), canvas height-1 (3).
constexpr size_t kVp8xBytes = 10;

struct WebpLayout {
  uint32_t width = 0, height = 0;
  bool lossless = false;
  bool exif = false, xmp = false, icc = false;
};

Status ReadWebpImageHeader(ByteView data, std::string_view fourcc, WebpLayout& layout) {
  if (fourcc == "VP8X" && data.size() >= kVp8xBytes) {
    layout.width = U24LE(data.data() + 4) + 1;
    layout.height = U24LE(data.data() + 7) + 1;
  } else if (fourcc == "VP8 " && data.size() >= kVp8HeaderBytes && HasAt(data, 3, "\x9d\x01\x2a")) {
    layout.width = U16LE(data.data() + 6) & 0x3fff;
    layout.height = U16LE(data.data() + 8) & 0x3fff;
  } else if (fourcc == "VP8L" && data.size() >= kVp8lHeaderBytes && data[0] == 0x2f) {
    const uint32_t bits = U32LE(data.data() + 1);
    layout.width = (bits & 0x3fff) + 1;
    layout.height = ((bits >> 14) & 0x3fff) + 1;
  } else {
    return Corrupt(Format::kWebp, "its first chunk is not an image header");
  }
  if (layout.width == 0 || layout.height == 0)
    return Corrupt(Format::kWebp, "a zero width or height");
  return Status::Ok();
}

struct RiffChunk {
  std::string_view fourcc;
  size_t begin = 0;  // at the fourcc
  size_t end = 0;    // past the data and its padding byte
  ByteView data;
};

Result<std::vector<RiffChunk>> WebpChunks(ByteView file) {
  if (file.size() < kRiffHeaderBytes)
    return Corrupt(Format::kWebp, "it is shorter than its header");
  const size_t riff_end = size_t{U32LE(file.data() + 4)} + 8;
  if (riff_end > file.size() || riff_end < kRiffHeaderBytes) {
    return Corrupt(Format::kWebp, "it is shorter than its header says");
  }
  std::vector<RiffChunk> chunks;
  for (size_t at = kRiffHeaderBytes; at < riff_end;) {
    if (riff_end - at < kRiffChunkHeaderBytes) return Corrupt(Format::kWebp, "a cut chunk header");
    const size_t size = U32LE(file.data() + at + 4);
    if (size > riff_end - at - kRiffChunkHeaderBytes) {
      return Corrupt(Format::kWebp,
                     "the chunk at byte " + std::to_string(at) + " runs past the end of the file");
    }
    const size_t end = std::min(riff_end, at + kRiffChunkHeaderBytes + size + (size & 1));
    chunks.push_back(
        {AsChars(file.subspan(at, 4)), at, end, file.subspan(at + kRiffChunkHeaderBytes, size)});
    at = end;
  }
  if (chunks.empty()) return Corrupt(Format::kWebp, "it has no image");
  return chunks;
}

Result<WebpLayout> WalkWebp(ByteView file) {
  NCEN_ASSIGN_OR_RETURN(std::vector<RiffChunk> chunks, WebpChunks(file));
  WebpLayout layout;
  NCEN_RETURN_IF_ERROR(ReadWebpImageHeader(chunks.front().data, chunks.front().fourcc, layout));
  for (const RiffChunk& chunk : chunks) {
    layout.lossless = layout.lossless || chunk.fourcc == "VP8L";
    layout.exif = layout.exif || chunk.fourcc == "EXIF";
    layout.xmp = layout.xmp || chunk.fourcc == "XMP ";
    layout.icc = layout.icc || chunk.fourcc == "ICCP";
  }
  return layout;
}

// A WebP without its ICCP, EXIF and XMP chunks, their VP8X flags cleared.
// libvips 8.14.1 ignores `strip` when saving WebP (fixed in 8.14.2), so the
// chunks are removed here whatever the libvips version.
Result<Bytes> StripWebp(ByteView webp) {
  constexpr uint8_t kMetadataFlags = 0x20 | 0x08 | 0x04;  // ICC, EXIF, XMP
  NCEN_ASSIGN_OR_RETURN(std::vector<RiffChunk> chunks, WebpChunks(webp));
  Bytes out(webp.begin(), webp.begin() + kRiffHeaderBytes);
  for (const RiffChunk& chunk : chunks) {
    if (chunk.fourcc == "ICCP" || chunk.fourcc == "EXIF" || chunk.fourcc == "XMP ") continue;
    const size_t at = out.size();
    Append(out, webp.subspan(chunk.begin, chunk.end - chunk.begin));
    if (chunk.fourcc == "VP8X" && !chunk.data.empty())
      out[at + kRiffChunkHeaderBytes] &= ~kMetadataFlags;
  }
  const uint32_t riff_size = static_cast<uint32_t>(out.size() - 8);
  for (int i = 0; i < 4; ++i) out[4 + i] = static_cast<uint8_t>(riff_size >> (8 * i));
  return out;
}

// ---------------------------------------------------------------------------
// What the container walk found, for all formats.

struct Container {
  Format format = Format::kJpeg;
  std::optional<std::pair<uint32_t, uint32_t>> size;  // not known for HEIC before libvips
  JpegLayout jpeg;
  std::optional<std::pair<size_t, size_t>> png_iccp;
  bool webp_lossless = false;
  bool exif = false, xmp = false, iptc = false, comment = false, icc = false;
};

void NoteJpegMetadata(ByteView file, Container& container) {
  for (const JpegSegment& segment : container.jpeg.segments) {
    if (segment.marker == kApp1) {
      container.exif = container.exif || SegmentHasId(file, segment, kExifId);
      container.xmp = container.xmp || SegmentHasId(file, segment, kXmpId) ||
                      SegmentHasId(file, segment, kXmpExtensionId);
    }
    if (segment.marker == kApp13)
      container.iptc = container.iptc || SegmentHasId(file, segment, kPhotoshopId);
    if (segment.marker == kCom) container.comment = true;
    if (segment.marker == kApp2)
      container.icc = container.icc || SegmentHasId(file, segment, kIccId);
  }
}

Result<Container> WalkContainer(ByteView file, Format format) {
  Container container;
  container.format = format;
  if (format == Format::kJpeg) {
    NCEN_ASSIGN_OR_RETURN(container.jpeg, WalkJpeg(file));
    container.size = std::pair{container.jpeg.width, container.jpeg.height};
    NoteJpegMetadata(file, container);
  } else if (format == Format::kPng) {
    NCEN_ASSIGN_OR_RETURN(PngLayout png, WalkPng(file));
    container.size = std::pair{png.width, png.height};
    container.png_iccp = png.iccp;
    container.icc = png.iccp.has_value();
    container.exif = png.exif, container.xmp = png.xmp, container.comment = png.text;
  } else if (format == Format::kWebp) {
    NCEN_ASSIGN_OR_RETURN(WebpLayout webp, WalkWebp(file));
    container.size = std::pair{webp.width, webp.height};
    container.webp_lossless = webp.lossless;
    container.exif = webp.exif, container.xmp = webp.xmp, container.icc = webp.icc;
  }
  return container;
}

Status CheckSize(ByteView file, const ImagePolicy& policy) {
  if (file.empty()) return InvalidArgument("the file is empty");
  if (file.size() > policy.max_file_bytes) {
    return InvalidArgument("the file is " + OneDecimal(file.size() / kBytesPerMegabyte) +
                           " MB, more than the " + LimitMegabytes(policy.max_file_bytes) +
                           " MB limit");
  }
  return Status::Ok();
}

Status CheckDimensions(uint64_t width, uint64_t height, const ImagePolicy& policy) {
  const std::string size = std::to_string(width) + " x " + std::to_string(height) + " pixels";
  if (width > policy.max_side || height > policy.max_side) {
    return InvalidArgument("the image is " + size + "; a side may be at most " +
                           std::to_string(policy.max_side) + " pixels");
  }
  if (width * height > policy.max_pixels) {
    return InvalidArgument("the image is " + size + " (" + OneDecimal(width * height / 1e6) +
                           " megapixels), more than the " + OneDecimal(policy.max_pixels / 1e6) +
                           " megapixel limit");
  }
  return Status::Ok();
}

Status CheckPolicy(const ImagePolicy& policy) {
  if (policy.preview_side == 0 || policy.preview_quality < 1 || policy.preview_quality > 100) {
    return InvalidArgument(
        "the image policy needs a preview side of at least 1 and a quality of 1 to 100");
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// libvips boundary. Nothing below returns a libvips type to the caller.

struct GObjectUnref {
  void operator()(void* object) const { g_object_unref(object); }
};
using ImagePtr = std::unique_ptr<VipsImage, GObjectUnref>;

constexpr int kStoredQuality = 90;
constexpr int kPngCompression = 6;
// Identifying EXIF tags reported by InspectImage, as libexif names them.
constexpr std::array<std::string_view, 14> kIdentifyingTags = {"Make",
                                                               "Model",
                                                               "Artist",
                                                               "Copyright",
                                                               "BodySerialNumber",
                                                               "CameraOwnerName",
                                                               "LensMake",
                                                               "LensModel",
                                                               "LensSerialNumber",
                                                               "ImageDescription",
                                                               "UserComment",
                                                               "HostComputer",
                                                               "ImageUniqueID",
                                                               "Software"};
// libexif numbers its IFDs 0 (IFD0), 1 (thumbnail), 2 (EXIF), 3 (GPS), 4.
constexpr std::string_view kGpsFieldPrefix = "exif-ifd3-";

Status StartVips() {
  static std::once_flag once;
  static bool started = false;
  std::call_once(once, [] {
    started = VIPS_INIT("ncen") == 0;
    if (!started) return;
    vips_cache_set_max(0);
    vips_block_untrusted_set(TRUE);
  });
  if (!started) return Unavailable("libvips could not start");
  return Status::Ok();
}

// The last line of the libvips error buffer (the latest error; the buffer is
// the process's), cut short. The buffer is emptied.
std::string TakeVipsError() {
  char* text = vips_error_buffer_copy();
  std::string detail = text != nullptr ? text : "";
  g_free(text);
  while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
  if (size_t newline = detail.rfind('\n'); newline != std::string::npos)
    detail.erase(0, newline + 1);
  if (detail.empty()) detail = "no reason given";
  return SanitizeText(detail, kDetailBytesMax);
}

Status VipsFailure(Format format) { return Corrupt(format, "libvips: " + TakeVipsError()); }

// Encoding failures are ours, not the file's; still a refusal, named as such.
Status EncodeFailure(const char* encoding) {
  return InvalidArgument(std::string("the photo could not be encoded as ") + encoding + ": " +
                         TakeVipsError());
}

VipsFailOn FailOn(Format format) {
  // libvips reads only the header of a JPEG (libjpeg decodes it, see below).
  // libpng warns about harmless things (odd ICC profiles), so PNG fails on
  // errors, which include truncation and CRC errors. libwebp and libheif
  // fail on every error whatever the level.
  return format == Format::kJpeg ? VIPS_FAIL_ON_NONE : VIPS_FAIL_ON_ERROR;
}

// Reads the header only; pixels are decoded on first use, all at once.
Result<ImagePtr> OpenImage(ByteView file, Format format) {
  void* data = const_cast<uint8_t*>(file.data());  // libvips only reads it
  VipsImage* image = nullptr;
  const VipsFailOn fail_on = FailOn(format);
  const VipsAccess access = VIPS_ACCESS_SEQUENTIAL;
  int failed = 0;
  switch (format) {
    case Format::kJpeg:
      failed = vips_jpegload_buffer(data, file.size(), &image, "fail_on", fail_on, "access", access,
                                    nullptr);
      break;
    case Format::kPng:
      failed = vips_pngload_buffer(data, file.size(), &image, "fail_on", fail_on, "access", access,
                                   nullptr);
      break;
    case Format::kWebp:
      failed = vips_webpload_buffer(data, file.size(), &image, "fail_on", fail_on, "access", access,
                                    nullptr);
      break;
    case Format::kHeic:
      failed = vips_heifload_buffer(data, file.size(), &image, "fail_on", fail_on, "access", access,
                                    nullptr);
      break;
  }
  if (failed != 0) return VipsFailure(format);
  return ImagePtr(image);
}

Status CheckHeicCodec(VipsImage* image) {
  const char* compression = nullptr;
  if (vips_image_get_typeof(image, "heif-compression") != 0 &&
      vips_image_get_string(image, "heif-compression", &compression) == 0 &&
      compression != nullptr && std::string_view(compression) != "hevc") {
    return InvalidArgument(std::string(kNotAccepted) + ": it looks like an AVIF image");
  }
  return Status::Ok();
}

ByteView IccProfile(VipsImage* image) {
  const void* data = nullptr;
  size_t length = 0;
  if (vips_image_get_typeof(image, VIPS_META_ICC_NAME) == 0 ||
      vips_image_get_blob(image, VIPS_META_ICC_NAME, &data, &length) != 0) {
    return {};
  }
  return {static_cast<const uint8_t*>(data), length};
}

Bytes TakeBuffer(void* buffer, size_t length) {
  const auto* begin = static_cast<const uint8_t*>(buffer);
  Bytes bytes(begin, begin + length);
  g_free(buffer);
  return bytes;
}

Result<Bytes> SaveJpeg(VipsImage* image, int quality) {
  void* buffer = nullptr;
  size_t length = 0;
  if (vips_jpegsave_buffer(image, &buffer, &length, "Q", quality, "strip", TRUE, nullptr) != 0) {
    return EncodeFailure("JPEG");
  }
  return TakeBuffer(buffer, length);
}

Result<Bytes> SavePng(VipsImage* image) {
  void* buffer = nullptr;
  size_t length = 0;
  if (vips_pngsave_buffer(image, &buffer, &length, "compression", kPngCompression, "strip", TRUE,
                          nullptr) != 0) {
    return EncodeFailure("PNG");
  }
  return TakeBuffer(buffer, length);
}

Result<Bytes> SaveWebp(VipsImage* image, bool lossless) {
  // WebP metadata cannot be kept without the rest, so colours go to sRGB.
  ImagePtr srgb;
  if (!IccProfile(image).empty()) {
    VipsImage* out = nullptr;
    if (vips_icc_transform(image, &out, "srgb", "embedded", TRUE, nullptr) != 0) {
      return EncodeFailure("WebP");
    }
    srgb.reset(out);
    image = out;
  }
  void* buffer = nullptr;
  size_t length = 0;
  if (vips_webpsave_buffer(image, &buffer, &length, "Q", kStoredQuality, "lossless", lossless,
                           "strip", TRUE, nullptr) != 0) {
    return EncodeFailure("WebP");
  }
  Bytes webp = TakeBuffer(buffer, length);
  return StripWebp(webp);
}

// `image` as 8-bit sRGB (or its ICC space) without alpha, flattened on white:
// what a JPEG can hold. Returns nullptr (libvips error set) on failure.
ImagePtr ForJpeg(VipsImage* image) {
  VipsImage* srgb = nullptr;
  if (vips_colourspace(image, &srgb, VIPS_INTERPRETATION_sRGB, nullptr) != 0) return nullptr;
  ImagePtr out(srgb);
  if (vips_image_hasalpha(out.get())) {
    VipsArrayDouble* white = vips_array_double_newv(1, 255.0);
    VipsImage* flat = nullptr;
    const int failed = vips_flatten(out.get(), &flat, "background", white, nullptr);
    vips_area_unref(VIPS_AREA(white));
    if (failed != 0) return nullptr;
    out.reset(flat);
  }
  return out;
}

// The preview: 8-bit sRGB, alpha flattened on white, JPEG, no metadata.
Status EncodePreview(VipsImage* thumbnail, const ImagePolicy& policy, PreparedImage& out) {
  ImagePtr image = ForJpeg(thumbnail);
  if (!image) return EncodeFailure("a preview");
  NCEN_ASSIGN_OR_RETURN(out.preview, SaveJpeg(image.get(), policy.preview_quality));
  out.preview_width = static_cast<uint32_t>(image->Xsize);
  out.preview_height = static_cast<uint32_t>(image->Ysize);
  return Status::Ok();
}

Status PreviewFromImage(VipsImage* upright, const ImagePolicy& policy, PreparedImage& out) {
  const int side = static_cast<int>(policy.preview_side);
  VipsImage* thumbnail = nullptr;
  const int failed = !IccProfile(upright).empty()
                         ? vips_thumbnail_image(upright, &thumbnail, side, "height", side, "size",
                                                VIPS_SIZE_DOWN, "export_profile", "srgb", nullptr)
                         : vips_thumbnail_image(upright, &thumbnail, side, "height", side, "size",
                                                VIPS_SIZE_DOWN, nullptr);
  if (failed != 0) return EncodeFailure("a preview");
  ImagePtr image(thumbnail);
  return EncodePreview(image.get(), policy, out);
}

// ---------------------------------------------------------------------------
// JPEG decoding. libvips checks libjpeg's warnings only before each strip it
// decodes, so damage that shows in the last strip (all of a small image)
// passes even with fail_on=warning; and a separate checking pass would
// double the time. So JPEGs are decoded here, with libjpeg, failing on the
// first warning, at the preview's scale when nothing else is needed
// (libjpeg still decodes every coefficient), and libvips gets the pixels.

constexpr int kJpegScaleFull = 8;  // in eighths

// Warnings about the header that do not touch the pixels. Real cameras write
// these; refusing their photos would help nobody.
bool IsHarmlessJpegWarning(int code) {
  return code == JWRN_EXTRANEOUS_DATA || code == JWRN_JFIF_MAJOR || code == JWRN_ADOBE_XFORM ||
         code == JWRN_NOT_SEQUENTIAL || code == JWRN_BOGUS_ICC;
}

struct JpegErrors {
  jpeg_error_mgr manager;  // first: libjpeg hands back a pointer to it
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void JumpOnJpegError(j_common_ptr info) {
  auto* errors = reinterpret_cast<JpegErrors*>(info->err);
  info->err->format_message(info, errors->message);
  std::longjmp(errors->jump, 1);
}

void JumpOnJpegWarning(j_common_ptr info, int level) {
  if (level >= 0 || IsHarmlessJpegWarning(info->err->msg_code)) return;  // trace, or harmless
  JumpOnJpegError(info);
}

struct JpegPixels {
  Bytes pixels;  // rows of width x components bytes
  uint32_t width = 0, height = 0;
  int components = 0;
  bool adobe_inverted = false;  // CMYK from Photoshop is stored inverted
};

// Only plain values live in this function's frame: libjpeg leaves it by
// longjmp. `out` is the caller's. Returns false with errors.message set.
bool RunJpegDecode(jpeg_decompress_struct& info, JpegErrors& errors, ByteView jpeg,
                   int scale_eighths, JpegPixels& out) {
  info.err = jpeg_std_error(&errors.manager);
  errors.manager.error_exit = JumpOnJpegError;
  errors.manager.emit_message = JumpOnJpegWarning;
  errors.message[0] = '\0';
  if (setjmp(errors.jump) != 0) {
    jpeg_destroy_decompress(&info);
    return false;
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, jpeg.data(), static_cast<unsigned long>(jpeg.size()));
  jpeg_read_header(&info, TRUE);
  info.scale_num = static_cast<unsigned int>(scale_eighths);
  info.scale_denom = kJpegScaleFull;
  const bool cmyk = info.jpeg_color_space == JCS_CMYK || info.jpeg_color_space == JCS_YCCK;
  info.out_color_space = info.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE
                         : cmyk                                 ? JCS_CMYK
                                                                : JCS_RGB;
  jpeg_calc_output_dimensions(&info);
  out.width = info.output_width;
  out.height = info.output_height;
  out.components = info.output_components;
  const size_t stride = size_t{info.output_width} * static_cast<size_t>(info.output_components);
  out.pixels.resize(stride * info.output_height);
  jpeg_start_decompress(&info);
  out.adobe_inverted = cmyk && info.saw_Adobe_marker;
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = out.pixels.data() + stride * info.output_scanline;
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);  // reads on to EOI: damage after the last row counts too
  jpeg_destroy_decompress(&info);
  return true;
}

Result<JpegPixels> DecodeJpeg(ByteView jpeg, int scale_eighths) {
  jpeg_decompress_struct info{};
  JpegErrors errors{};
  JpegPixels out;
  if (!RunJpegDecode(info, errors, jpeg, scale_eighths, out)) {
    return Corrupt(Format::kJpeg, "libjpeg: " + SanitizeText(errors.message, kDetailBytesMax));
  }
  if (out.adobe_inverted) {
    for (uint8_t& value : out.pixels) value = static_cast<uint8_t>(255 - value);
  }
  return out;
}

// The smallest scale (in eighths) at which the longest side is still at
// least the preview's.
int PreviewScaleEighths(uint32_t width, uint32_t height, const ImagePolicy& policy) {
  const uint64_t longest = std::max(width, height);
  const uint64_t eighths = (uint64_t{kJpegScaleFull} * policy.preview_side + longest - 1) / longest;
  return static_cast<int>(std::clamp<uint64_t>(eighths, 1, kJpegScaleFull));
}

// The decoded JPEG as a libvips image carrying its ICC profile and
// orientation (which libvips' thumbnail and autorot apply).
Result<ImagePtr> DecodeJpegToVips(ByteView jpeg, int scale_eighths, ByteView icc, int orientation) {
  NCEN_ASSIGN_OR_RETURN(JpegPixels decoded, DecodeJpeg(jpeg, scale_eighths));
  VipsImage* raw = vips_image_new_from_memory_copy(
      decoded.pixels.data(), decoded.pixels.size(), static_cast<int>(decoded.width),
      static_cast<int>(decoded.height), decoded.components, VIPS_FORMAT_UCHAR);
  if (raw == nullptr) return VipsFailure(Format::kJpeg);
  ImagePtr pixels(raw);
  const VipsInterpretation interpretation = decoded.components == 1   ? VIPS_INTERPRETATION_B_W
                                            : decoded.components == 4 ? VIPS_INTERPRETATION_CMYK
                                                                      : VIPS_INTERPRETATION_sRGB;
  VipsImage* typed = nullptr;
  if (vips_copy(pixels.get(), &typed, "interpretation", interpretation, nullptr) != 0) {
    return VipsFailure(Format::kJpeg);
  }
  ImagePtr image(typed);
  if (!icc.empty())
    vips_image_set_blob_copy(image.get(), VIPS_META_ICC_NAME, icc.data(), icc.size());
  vips_image_set_int(image.get(), VIPS_META_ORIENTATION, orientation);
  return image;
}

// The preview of a JPEG, decoded at the smallest scale that still covers the
// preview (every coefficient is decoded all the same, so this validates it).
Status PreviewFromJpeg(ByteView jpeg, uint32_t width, uint32_t height, ByteView icc,
                       int orientation, const ImagePolicy& policy, PreparedImage& out) {
  const int scale = PreviewScaleEighths(width, height, policy);
  NCEN_ASSIGN_OR_RETURN(ImagePtr small, DecodeJpegToVips(jpeg, scale, icc, orientation));
  return PreviewFromImage(small.get(), policy, out);
}

// ---------------------------------------------------------------------------
// The two ways through PrepareImage.

// A JPEG whose entropy-coded data is stored as it is: stripped of metadata
// (orientation 1), or the original bytes (keep_metadata). Decoding it at the
// preview's scale validates every byte that is stored.
Result<PreparedImage> PrepareJpegAsIs(ByteView file, const Container& container, VipsImage* header,
                                      const ImagePolicy& policy) {
  PreparedImage out;
  out.source_format = "jpeg";
  out.media_type = "image/jpeg";
  out.metadata_kept = policy.keep_metadata;
  out.bytes =
      policy.keep_metadata ? Bytes(file.begin(), file.end()) : StripJpeg(file, container.jpeg);
  const int orientation = policy.keep_metadata ? vips_image_get_orientation(header) : 1;
  const bool swap = policy.keep_metadata && vips_image_get_orientation_swap(header);
  out.width = swap ? container.jpeg.height : container.jpeg.width;
  out.height = swap ? container.jpeg.width : container.jpeg.height;
  NCEN_RETURN_IF_ERROR(PreviewFromJpeg(out.bytes, container.jpeg.width, container.jpeg.height,
                                       IccProfile(header), orientation, policy, out));
  return out;
}

// A JPEG with orientation 2..8: decoded whole, turned upright, encoded again.
Result<PreparedImage> PrepareJpegRotated(ByteView file, VipsImage* header,
                                         const ImagePolicy& policy) {
  NCEN_ASSIGN_OR_RETURN(ImagePtr decoded, DecodeJpegToVips(file, kJpegScaleFull, IccProfile(header),
                                                           vips_image_get_orientation(header)));
  VipsImage* rotated = nullptr;
  if (vips_autorot(decoded.get(), &rotated, nullptr) != 0) return VipsFailure(Format::kJpeg);
  ImagePtr upright(rotated);
  PreparedImage out;
  out.source_format = "jpeg";
  out.media_type = "image/jpeg";
  out.reencoded = true;
  out.width = static_cast<uint32_t>(upright->Xsize);
  out.height = static_cast<uint32_t>(upright->Ysize);
  NCEN_ASSIGN_OR_RETURN(Bytes jpeg, SaveJpeg(upright.get(), kStoredQuality));
  out.bytes = AddJpegIccProfile(std::move(jpeg), IccProfile(header));
  NCEN_RETURN_IF_ERROR(PreviewFromJpeg(out.bytes, out.width, out.height, IccProfile(header),
                                       /*orientation=*/1, policy, out));
  return out;
}

Result<Bytes> Encode(VipsImage* upright, ByteView file, const Container& container) {
  switch (container.format) {
    case Format::kHeic: {
      ImagePtr flat = ForJpeg(upright);  // HEIC may have 10 bits and alpha
      if (!flat) return EncodeFailure("JPEG");
      NCEN_ASSIGN_OR_RETURN(Bytes jpeg, SaveJpeg(flat.get(), kStoredQuality));
      return AddJpegIccProfile(std::move(jpeg), IccProfile(upright));
    }
    case Format::kPng: {
      NCEN_ASSIGN_OR_RETURN(Bytes png, SavePng(upright));
      if (!container.png_iccp) return png;
      auto [begin, end] = *container.png_iccp;
      return AddPngChunk(std::move(png), file.subspan(begin, end - begin));
    }
    case Format::kWebp:
      return SaveWebp(upright, container.webp_lossless);
    case Format::kJpeg:
      break;  // PrepareJpegRotated
  }
  return InvalidArgument("unknown format");
}

// PNG, WebP and HEIC: decode the whole image into memory, turn it upright,
// encode it again (unless keeping the original) and make the preview.
Result<PreparedImage> PrepareDecoded(ByteView file, const Container& container, VipsImage* header,
                                     const ImagePolicy& policy) {
  ImagePtr decoded(vips_image_copy_memory(header));
  if (!decoded) return VipsFailure(container.format);
  VipsImage* rotated = nullptr;
  if (vips_autorot(decoded.get(), &rotated, nullptr) != 0) return VipsFailure(container.format);
  ImagePtr upright(rotated);

  PreparedImage out;
  out.source_format = FormatName(container.format);
  out.width = static_cast<uint32_t>(upright->Xsize);
  out.height = static_cast<uint32_t>(upright->Ysize);
  if (policy.keep_metadata) {
    out.bytes.assign(file.begin(), file.end());
    out.metadata_kept = true;
    out.media_type = std::string("image/") + FormatName(container.format);
  } else {
    NCEN_ASSIGN_OR_RETURN(out.bytes, Encode(upright.get(), file, container));
    out.reencoded = true;
    const bool heic = container.format == Format::kHeic;
    out.media_type = heic ? "image/jpeg" : std::string("image/") + FormatName(container.format);
    if (heic) {
      // Faster than resizing the whole image, and checks what is stored.
      NCEN_RETURN_IF_ERROR(PreviewFromJpeg(out.bytes, out.width, out.height,
                                           IccProfile(upright.get()),
                                           /*orientation=*/1, policy, out));
      return out;
    }
  }
  NCEN_RETURN_IF_ERROR(PreviewFromImage(upright.get(), policy, out));
  return out;
}

// Sniff, walk the container, check the dimensions it declares, open the
// header with libvips and check its dimensions too (the only ones for HEIC).
struct Opened {
  Container container;
  ImagePtr header;
};

Result<Opened> Open(ByteView file, const ImagePolicy* policy) {
  NCEN_ASSIGN_OR_RETURN(Format format, SniffFormat(file));
  Opened opened;
  NCEN_ASSIGN_OR_RETURN(opened.container, WalkContainer(file, format));
  const auto& size = opened.container.size;
  if (policy != nullptr && size)
    NCEN_RETURN_IF_ERROR(CheckDimensions(size->first, size->second, *policy));
  NCEN_RETURN_IF_ERROR(StartVips());
  NCEN_ASSIGN_OR_RETURN(opened.header, OpenImage(file, format));
  VipsImage* header = opened.header.get();
  if (format == Format::kHeic) NCEN_RETURN_IF_ERROR(CheckHeicCodec(header));
  if (policy != nullptr)
    NCEN_RETURN_IF_ERROR(CheckDimensions(header->Xsize, header->Ysize, *policy));
  if (size && (size->first != uint32_t(header->Xsize) || size->second != uint32_t(header->Ysize))) {
    return Corrupt(format, "the decoder reads other dimensions than the header gives");
  }
  return opened;
}

}  // namespace

Result<PreparedImage> PrepareImage(ByteView file, const ImagePolicy& policy) {
  NCEN_RETURN_IF_ERROR(CheckPolicy(policy));
  NCEN_RETURN_IF_ERROR(CheckSize(file, policy));
  NCEN_ASSIGN_OR_RETURN(Opened opened, Open(file, &policy));
  VipsImage* header = opened.header.get();
  if (opened.container.format != Format::kJpeg) {
    return PrepareDecoded(file, opened.container, header, policy);
  }
  if (policy.keep_metadata || vips_image_get_orientation(header) == 1) {
    return PrepareJpegAsIs(file, opened.container, header, policy);
  }
  return PrepareJpegRotated(file, header, policy);
}

Result<ImageInfo> InspectImage(ByteView file) {
  if (file.empty()) return InvalidArgument("the file is empty");
  NCEN_ASSIGN_OR_RETURN(Opened opened, Open(file, nullptr));
  VipsImage* header = opened.header.get();
  const Container& container = opened.container;
  ImageInfo info;
  info.format = FormatName(container.format);
  info.width = static_cast<uint32_t>(header->Xsize);
  info.height = static_cast<uint32_t>(header->Ysize);
  info.orientation = vips_image_get_orientation(header);
  info.has_exif = container.exif || vips_image_get_typeof(header, VIPS_META_EXIF_NAME) != 0;
  info.has_xmp = container.xmp || vips_image_get_typeof(header, VIPS_META_XMP_NAME) != 0;
  info.has_iptc = container.iptc || vips_image_get_typeof(header, VIPS_META_IPTC_NAME) != 0;
  info.has_comment = container.comment;
  info.has_icc_profile = container.icc || !IccProfile(header).empty();
  gchar** fields = vips_image_get_fields(header);
  for (gchar** field = fields; *field != nullptr; ++field) {
    std::string_view name = *field;
    if (name.starts_with(kGpsFieldPrefix)) info.has_gps = true;
  }
  for (std::string_view tag : kIdentifyingTags) {
    for (gchar** field = fields; *field != nullptr; ++field) {
      std::string_view name = *field;
      if (name.starts_with("exif-ifd") && name.size() > 10 && name.substr(10) == tag) {
        info.exif_tags_with_text.emplace_back(tag);
        break;
      }
    }
  }
  g_strfreev(fields);
  return info;
}

}  // namespace ncen::media
