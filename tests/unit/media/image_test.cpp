// Photo intake: every accepted format round trip, metadata removal (EXIF
// made by hand, byte by byte), orientation, the lossless JPEG path, and one
// test per refusal by byte surgery. Test images are made at run time with
// libvips; nothing binary is checked in.
#include "media/image.h"
#include "media/sample_photo.h"

#include <vips/vips.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace ncen::media {
namespace {

// ---------------------------------------------------------------------------
// libvips helpers for making and reading test images

struct GObjectUnref {
  void operator()(void* object) const { g_object_unref(object); }
};
using ImagePtr = std::unique_ptr<VipsImage, GObjectUnref>;

void StartVips() {
  // The damaged files below make libvips print a warning per strip; the
  // refusals are checked through their Status instead. Read at vips_init.
  g_setenv("VIPS_WARNING", "1", FALSE);
  static const bool started = VIPS_INIT("media_test") == 0;
  REQUIRE(started);
}

// A gradient with a white block in the top-left corner, so a rotation can be
// seen in the pixels.
ImagePtr Pattern(int width, int height, int bands = 3) {
  StartVips();
  std::vector<uint8_t> pixels(size_t(width) * height * bands);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const bool corner = x < (width + 3) / 4 && y < (height + 3) / 4;
      for (int b = 0; b < bands; ++b) {
        const int gradient = b == 0   ? x * 200 / std::max(1, width)
                             : b == 1 ? y * 200 / std::max(1, height)
                                      : 40;
        const int value = b == 3 ? 200 : corner ? 255 : gradient;
        pixels[(size_t(y) * width + x) * bands + b] = static_cast<uint8_t>(value);
      }
    }
  }
  VipsImage* image = vips_image_new_from_memory_copy(pixels.data(), pixels.size(), width, height,
                                                     bands, VIPS_FORMAT_UCHAR);
  REQUIRE(image != nullptr);
  return ImagePtr(image);
}

// Saves with the saver chosen by `suffix`, e.g. ".jpg[Q=90,strip]".
Bytes Save(VipsImage* image, const char* suffix) {
  void* buffer = nullptr;
  size_t length = 0;
  INFO(vips_error_buffer());
  REQUIRE(vips_image_write_to_buffer(image, suffix, &buffer, &length, nullptr) == 0);
  Bytes bytes(static_cast<uint8_t*>(buffer), static_cast<uint8_t*>(buffer) + length);
  g_free(buffer);
  return bytes;
}

ImagePtr Decode(ByteView bytes) {
  StartVips();
  VipsImage* image = vips_image_new_from_buffer(bytes.data(), bytes.size(), "", nullptr);
  INFO(vips_error_buffer());
  REQUIRE(image != nullptr);
  ImagePtr loaded(image);
  ImagePtr in_memory(vips_image_copy_memory(loaded.get()));  // decode now, while `bytes` lives
  REQUIRE(in_memory);
  return in_memory;
}

std::vector<double> PixelAt(VipsImage* image, int x, int y) {
  double* vector = nullptr;
  int n = 0;
  REQUIRE(vips_getpoint(image, &vector, &n, x, y, nullptr) == 0);
  std::vector<double> values(vector, vector + n);
  g_free(vector);
  return values;
}

bool IsWhite(VipsImage* image, int x, int y) {
  for (double v : PixelAt(image, x, y)) {
    if (v < 230) return false;
  }
  return true;
}

Bytes Raw(VipsImage* image) {
  size_t length = 0;
  void* memory = vips_image_write_to_memory(image, &length);
  REQUIRE(memory != nullptr);
  Bytes bytes(static_cast<uint8_t*>(memory), static_cast<uint8_t*>(memory) + length);
  g_free(memory);
  return bytes;
}

bool Contains(ByteView haystack, std::string_view needle) {
  std::string_view text = AsChars(haystack);
  return text.find(needle) != std::string_view::npos;
}

// Offset of the first SOS marker, found naively (the test images have no
// FF DA inside their headers).
size_t FirstScan(ByteView jpeg) {
  for (size_t i = 0; i + 1 < jpeg.size(); ++i) {
    if (jpeg[i] == 0xff && jpeg[i + 1] == 0xda) return i;
  }
  FAIL("no SOS marker");
  return 0;
}

// A seeded xorshift: the same bytes on every standard library.
struct Xorshift {
  uint64_t state;
  uint8_t Next() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return static_cast<uint8_t>(state >> 32);
  }
};

// EXIF made by hand (media/sample_photo.h): GPS, camera and owner data.
using media::kSampleArtist;
using media::kSampleMake;
using media::kSampleModel;
using media::kSampleOwner;
using media::kSampleSerial;
Bytes ExifApp1(uint16_t orientation) { return media::CameraExifSegment(orientation); }

Bytes Segment(uint8_t marker, std::string_view payload) {
  const size_t length = 2 + payload.size();
  Bytes segment = {0xff, marker, static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length)};
  Append(segment, AsBytes(payload));
  return segment;
}

// `jpeg` with `segments` spliced right after SOI.
Bytes AfterSoi(ByteView jpeg, const std::vector<Bytes>& segments) {
  Bytes out(jpeg.begin(), jpeg.begin() + 2);
  for (const Bytes& s : segments) Append(out, s);
  out.insert(out.end(), jpeg.begin() + 2, jpeg.end());
  return out;
}

Bytes PngChunk(std::string_view type, ByteView data) {
  Bytes chunk;
  AppendU32BE(chunk, static_cast<uint32_t>(data.size()));
  Append(chunk, AsBytes(type));
  Append(chunk, data);
  uint32_t crc = 0xffffffffu;
  for (size_t i = 4; i < chunk.size(); ++i) {
    crc ^= chunk[i];
    for (int k = 0; k < 8; ++k) crc = (crc & 1) ? 0xedb88320u ^ (crc >> 1) : crc >> 1;
  }
  AppendU32BE(chunk, crc ^ 0xffffffffu);
  return chunk;
}

void CheckNoIdentifyingText(ByteView bytes) {
  for (std::string_view text : {kSampleMake, kSampleModel, kSampleArtist, kSampleOwner, kSampleSerial}) {
    INFO(text);
    CHECK_FALSE(Contains(bytes, text));
  }
  CHECK_FALSE(Contains(bytes, std::string_view("Exif\0\0", 6)));
}

void CheckPreview(const PreparedImage& prepared, int width, int height) {
  REQUIRE(prepared.preview.size() > 3);
  CHECK(prepared.preview[0] == 0xff);
  CHECK(prepared.preview[1] == 0xd8);
  CHECK(prepared.preview_width == uint32_t(width));
  CHECK(prepared.preview_height == uint32_t(height));
  ImagePtr preview = Decode(prepared.preview);
  CHECK(preview->Xsize == width);
  CHECK(preview->Ysize == height);
  auto info = InspectImage(prepared.preview);
  REQUIRE(info.ok());
  CHECK_FALSE(info->has_exif);
  CHECK_FALSE(info->has_icc_profile);
}

// ---------------------------------------------------------------------------

TEST_CASE("each accepted format is stored with its media type and gets a small JPEG preview",
          "[media]") {
  ImagePtr image = Pattern(400, 300);
  SECTION("JPEG is kept as it is") {
    Bytes jpeg = Save(image.get(), ".jpg[Q=85,strip]");
    auto prepared = PrepareImage(jpeg);
    REQUIRE(prepared.ok());
    CHECK(prepared->media_type == "image/jpeg");
    CHECK(prepared->source_format == "jpeg");
    CHECK_FALSE(prepared->reencoded);
    CHECK(prepared->bytes == jpeg);  // nothing to strip
    CHECK(prepared->width == 400);
    CHECK(prepared->height == 300);
    CheckPreview(*prepared, 320, 240);
  }
  SECTION("PNG is re-encoded losslessly") {
    Bytes png = Save(image.get(), ".png");
    auto prepared = PrepareImage(png);
    REQUIRE(prepared.ok());
    CHECK(prepared->media_type == "image/png");
    CHECK(prepared->reencoded);
    CHECK(Raw(Decode(prepared->bytes).get()) == Raw(image.get()));
    CheckPreview(*prepared, 320, 240);
  }
  SECTION("WebP stays WebP") {
    auto prepared = PrepareImage(Save(image.get(), ".webp[Q=80]"));
    REQUIRE(prepared.ok());
    CHECK(prepared->media_type == "image/webp");
    CHECK(prepared->source_format == "webp");
    CHECK(InspectImage(prepared->bytes)->format == "webp");
    CheckPreview(*prepared, 320, 240);
  }
  SECTION("lossless WebP stays lossless") {
    auto prepared = PrepareImage(Save(image.get(), ".webp[lossless]"));
    REQUIRE(prepared.ok());
    CHECK(Raw(Decode(prepared->bytes).get()) == Raw(image.get()));
  }
  SECTION("HEIC becomes JPEG, unless the metadata is kept") {
    Bytes heic = Save(image.get(), ".heic[Q=80]");
    REQUIRE(InspectImage(heic)->format == "heic");
    auto prepared = PrepareImage(heic);
    REQUIRE(prepared.ok());
    CHECK(prepared->media_type == "image/jpeg");
    CHECK(prepared->source_format == "heic");
    CHECK(prepared->reencoded);
    CHECK(InspectImage(prepared->bytes)->format == "jpeg");
    CHECK(prepared->width == 400);
    CHECK(prepared->height == 300);
    CheckPreview(*prepared, 320, 240);

    auto kept = PrepareImage(heic, {.keep_metadata = true});
    REQUIRE(kept.ok());
    CHECK(kept->media_type == "image/heic");
    CHECK(kept->bytes == heic);
    CHECK(kept->metadata_kept);
    CheckPreview(*kept, 320, 240);
  }
  SECTION("HEIC with transparency becomes a flattened JPEG") {
    auto prepared = PrepareImage(Save(Pattern(400, 300, 4).get(), ".heic"));
    REQUIRE(prepared.ok());
    CHECK(prepared->media_type == "image/jpeg");
    CHECK(Decode(prepared->bytes)->Bands == 3);
    CheckPreview(*prepared, 320, 240);
  }
  SECTION("PNG with transparency keeps it; the preview is flattened") {
    ImagePtr rgba = Pattern(400, 300, 4);
    auto prepared = PrepareImage(Save(rgba.get(), ".png"));
    REQUIRE(prepared.ok());
    CHECK(Decode(prepared->bytes)->Bands == 4);
    CheckPreview(*prepared, 320, 240);
    CHECK(Decode(prepared->preview)->Bands == 3);
  }
}

TEST_CASE("tiny images are accepted and their previews are not upscaled", "[media]") {
  SECTION("a 12x12 PNG") {
    auto prepared = PrepareImage(Save(Pattern(12, 12).get(), ".png"));
    REQUIRE(prepared.ok());
    CHECK(prepared->width == 12);
    CheckPreview(*prepared, 12, 12);
  }
  SECTION("a 1x1 JPEG") {
    auto prepared = PrepareImage(Save(Pattern(1, 1).get(), ".jpg[strip]"));
    REQUIRE(prepared.ok());
    CHECK(prepared->width == 1);
    CHECK(prepared->height == 1);
    CheckPreview(*prepared, 1, 1);
  }
}

TEST_CASE("a rotated JPEG is turned upright and loses every identifying tag", "[media]") {
  // 64x48 stored, orientation 6: displayed 48x64, the stored top-left corner
  // shown top-right.
  Bytes source = AfterSoi(Save(Pattern(64, 48).get(), ".jpg[Q=95,strip]"), {ExifApp1(6)});
  auto before = InspectImage(source);
  REQUIRE(before.ok());
  CHECK(before->orientation == 6);
  CHECK(before->has_exif);
  CHECK(before->has_gps);
  CHECK(before->exif_tags_with_text ==
        std::vector<std::string>{"Make", "Model", "Artist", "BodySerialNumber", "CameraOwnerName"});

  SECTION("stripped") {
    auto prepared = PrepareImage(source);
    REQUIRE(prepared.ok());
    CHECK(prepared->reencoded);
    CHECK_FALSE(prepared->metadata_kept);
    CHECK(prepared->media_type == "image/jpeg");
    CHECK(prepared->width == 48);
    CHECK(prepared->height == 64);
    CheckNoIdentifyingText(prepared->bytes);
    auto after = InspectImage(prepared->bytes);
    REQUIRE(after.ok());
    CHECK(after->orientation == 1);
    CHECK_FALSE(after->has_exif);
    CHECK_FALSE(after->has_gps);
    CHECK(after->exif_tags_with_text.empty());
    ImagePtr upright = Decode(prepared->bytes);
    CHECK(IsWhite(upright.get(), 40, 4));
    CHECK_FALSE(IsWhite(upright.get(), 4, 4));
    CheckPreview(*prepared, 48, 64);
    CHECK(IsWhite(Decode(prepared->preview).get(), 40, 4));
  }
  SECTION("kept: the original bytes come back, the preview is still upright and clean") {
    auto prepared = PrepareImage(source, {.keep_metadata = true});
    REQUIRE(prepared.ok());
    CHECK(prepared->bytes == source);
    CHECK(prepared->metadata_kept);
    CHECK_FALSE(prepared->reencoded);
    CHECK(prepared->width == 48);
    CHECK(prepared->height == 64);
    CHECK(InspectImage(prepared->bytes)->has_gps);
    CheckNoIdentifyingText(prepared->preview);
    CheckPreview(*prepared, 48, 64);
    CHECK(IsWhite(Decode(prepared->preview).get(), 40, 4));
  }
}

TEST_CASE("an upright JPEG loses its metadata without its image data being re-encoded", "[media]") {
  Bytes plain = Save(Pattern(64, 48).get(), ".jpg[Q=90,strip]");
  Bytes source =
      AfterSoi(plain, {ExifApp1(1),
                       Segment(0xe1, std::string("http://ns.adobe.com/xap/1.0/\0", 29) +
                                         "<x:xmpmeta>NcenTestMake</x:xmpmeta>"),
                       Segment(0xed, std::string("Photoshop 3.0\0", 14) + "NcenArtistName"),
                       Segment(0xfe, "comment by NcenOwnerName")});
  Append(source, AsBytes("MotionPhoto trailer NcenTestModel"));  // after EOI
  auto before = InspectImage(source);
  REQUIRE(before.ok());
  CHECK(before->has_xmp);
  CHECK(before->has_iptc);
  CHECK(before->has_comment);

  auto prepared = PrepareImage(source);
  REQUIRE(prepared.ok());
  CHECK_FALSE(prepared->reencoded);
  CHECK(prepared->width == 64);
  CHECK(prepared->height == 48);
  CheckNoIdentifyingText(prepared->bytes);
  const size_t scan_in = FirstScan(plain), scan_out = FirstScan(prepared->bytes);
  CHECK(Bytes(prepared->bytes.begin() + scan_out, prepared->bytes.end()) ==
        Bytes(plain.begin() + scan_in, plain.end()));
  CHECK(Raw(Decode(prepared->bytes).get()) == Raw(Decode(plain).get()));
  auto after = InspectImage(prepared->bytes);
  REQUIRE(after.ok());
  CHECK_FALSE(after->has_exif);
  CHECK_FALSE(after->has_xmp);
  CHECK_FALSE(after->has_iptc);
  CHECK_FALSE(after->has_comment);
}

TEST_CASE("a PNG loses its EXIF and text chunks and is turned upright", "[media]") {
  Bytes plain = Save(Pattern(64, 48).get(), ".png");
  Bytes exif_app1 = ExifApp1(6);
  ByteView tiff = ByteView(exif_app1).subspan(10);  // after marker, length and "Exif\0\0"
  const size_t after_ihdr = 8 + 12 + 13;
  Bytes png(plain.begin(), plain.begin() + after_ihdr);
  Append(png, PngChunk("eXIf", tiff));
  Append(png, PngChunk("tEXt", AsBytes(std::string_view("Author\0NcenOwnerName", 20))));
  Append(png, PngChunk("iTXt", AsBytes(std::string_view(
                                   "XML:com.adobe.xmp\0\0\0\0\0<x>NcenTestModel</x>", 42))));
  png.insert(png.end(), plain.begin() + after_ihdr, plain.end());
  auto before = InspectImage(png);
  REQUIRE(before.ok());
  CHECK(before->has_exif);
  CHECK(before->has_gps);
  CHECK(before->has_xmp);
  CHECK(before->has_comment);
  CHECK(before->orientation == 6);

  auto prepared = PrepareImage(png);
  REQUIRE(prepared.ok());
  CHECK(prepared->width == 48);
  CHECK(prepared->height == 64);
  CheckNoIdentifyingText(prepared->bytes);
  CHECK_FALSE(Contains(prepared->bytes, "eXIf"));
  CHECK_FALSE(Contains(prepared->bytes, "tEXt"));
  CHECK_FALSE(Contains(prepared->bytes, "iTXt"));
  CHECK(IsWhite(Decode(prepared->bytes).get(), 40, 4));
}

TEST_CASE("the ICC colour profile survives stripping", "[media]") {
  StartVips();
  ImagePtr image = Pattern(64, 48);
  SECTION("upright JPEG") {
    auto prepared = PrepareImage(Save(image.get(), ".jpg[profile=p3]"));
    REQUIRE(prepared.ok());
    CHECK_FALSE(prepared->reencoded);
    CHECK(InspectImage(prepared->bytes)->has_icc_profile);
  }
  SECTION("rotated JPEG") {
    Bytes jpeg = AfterSoi(Save(image.get(), ".jpg[profile=p3]"), {ExifApp1(3)});
    auto prepared = PrepareImage(jpeg);
    REQUIRE(prepared.ok());
    CHECK(prepared->reencoded);
    CHECK(InspectImage(prepared->bytes)->has_icc_profile);
    CheckNoIdentifyingText(prepared->bytes);
  }
  SECTION("PNG") {
    auto prepared = PrepareImage(Save(image.get(), ".png[profile=p3]"));
    REQUIRE(prepared.ok());
    auto info = InspectImage(prepared->bytes);
    CHECK(info->has_icc_profile);
    CHECK_FALSE(info->has_exif);
  }
  SECTION("WebP: converted to sRGB instead, since WebP keeps no profile without the rest") {
    auto prepared = PrepareImage(Save(image.get(), ".webp[profile=p3]"));
    REQUIRE(prepared.ok());
    auto info = InspectImage(prepared->bytes);
    CHECK_FALSE(info->has_icc_profile);
    CHECK_FALSE(info->has_exif);
  }
}

TEST_CASE("a CMYK JPEG is accepted and its preview is RGB", "[media]") {
  ImagePtr rgb = Pattern(64, 48);
  VipsImage* converted = nullptr;
  REQUIRE(vips_colourspace(rgb.get(), &converted, VIPS_INTERPRETATION_CMYK, nullptr) == 0);
  ImagePtr cmyk(converted);
  Bytes jpeg = Save(cmyk.get(), ".jpg[strip]");
  SECTION("upright") {
    auto prepared = PrepareImage(jpeg);
    REQUIRE(prepared.ok());
    CHECK_FALSE(prepared->reencoded);
    CHECK(Decode(prepared->preview)->Bands == 3);
    CHECK(IsWhite(Decode(prepared->preview).get(), 4, 4));
  }
  SECTION("rotated") {
    auto prepared = PrepareImage(AfterSoi(jpeg, {ExifApp1(6)}));
    REQUIRE(prepared.ok());
    CHECK(prepared->reencoded);
    CHECK(prepared->width == 48);
    CHECK(Decode(prepared->bytes)->Bands == 4);
    CHECK(IsWhite(Decode(prepared->preview).get(), 40, 4));
    CheckNoIdentifyingText(prepared->bytes);
  }
}

// Refusals --------------------------------------------------------------------

void CheckRefused(ByteView file, const std::string& message, const ImagePolicy& policy = {}) {
  auto prepared = PrepareImage(file, policy);
  REQUIRE_FALSE(prepared.ok());
  CHECK(prepared.status().code() == StatusCode::kInvalidArgument);
  CHECK(prepared.status().message() == message);
}

void CheckRefusedStartingWith(ByteView file, const std::string& prefix) {
  auto prepared = PrepareImage(file);
  REQUIRE_FALSE(prepared.ok());
  CHECK(prepared.status().code() == StatusCode::kInvalidArgument);
  const std::string& message = prepared.status().message();
  CHECK(message.find('\n') == std::string::npos);
  INFO(message);
  CHECK(message.starts_with(prefix));
}

Bytes PngClaiming(uint32_t width, uint32_t height) {
  Bytes png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  Bytes ihdr;
  AppendU32BE(ihdr, width);
  AppendU32BE(ihdr, height);
  Append(ihdr, std::array<uint8_t, 5>{8, 2, 0, 0, 0});
  Append(png, PngChunk("IHDR", ihdr));
  Append(png, PngChunk("IDAT", std::array<uint8_t, 8>{0x78, 0x9c, 0x63, 0, 0, 0, 1, 0}));
  Append(png, PngChunk("IEND", {}));
  return png;
}

const std::string kNotAccepted = "not a photo ncen accepts (JPEG, PNG, WebP or HEIC)";

TEST_CASE("files that are not photos are refused with one line naming what they look like",
          "[media]") {
  SECTION("empty") { CheckRefused({}, "the file is empty"); }
  SECTION("too large, before anything is read") {
    Bytes big(size_t(61.2 * 1024 * 1024) + 1, 0);
    CheckRefused(big, "the file is 61.2 MB, more than the 50 MB limit");
  }
  SECTION("GIF") {
    CheckRefused(AsBytes("GIF89a\x01\0\x01\0\0\0\0;"),
                 kNotAccepted + ": it looks like a GIF image");
  }
  SECTION("PDF") {
    CheckRefused(AsBytes("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj"),
                 kNotAccepted + ": it looks like a PDF document");
  }
  SECTION("TIFF") {
    CheckRefused(AsBytes(std::string_view("II*\0\x08\0\0\0", 8)),
                 kNotAccepted + ": it looks like a TIFF image or a camera raw file");
  }
  SECTION("SVG") {
    CheckRefused(AsBytes("<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
                 kNotAccepted + ": it looks like an SVG drawing");
  }
  SECTION("plain text") {
    CheckRefused(AsBytes("Seizure report, port of Rotterdam\n"),
                 kNotAccepted + ": it looks like plain text");
  }
  SECTION("AVIF") {
    std::string_view ftyp(
        "\0\0\0\x1c"
        "ftypavif\0\0\0\0avifmif1miaf",
        28);
    CheckRefused(AsBytes(ftyp), kNotAccepted + ": it looks like an AVIF image");
  }
  SECTION("random bytes") {
    Xorshift rng{42};
    Bytes noise(1000);
    for (auto& b : noise) b = rng.Next();
    noise[0] = 0x80;  // not valid UTF-8
    CheckRefused(noise, kNotAccepted);
  }
}

TEST_CASE("images larger than the limits are refused from their header", "[media]") {
  SECTION("a side beyond max_side") {
    CheckRefused(PngClaiming(100000, 100000),
                 "the image is 100000 x 100000 pixels; a side may be at most 30000 pixels");
  }
  SECTION("more pixels than max_pixels") {
    CheckRefused(PngClaiming(20000, 20000),
                 "the image is 20000 x 20000 pixels (400.0 megapixels), more than the 100.0 "
                 "megapixel limit");
  }
  SECTION("a JPEG, judged from its frame header") {
    // A 64x48 JPEG whose frame header claims 2000x1500.
    Bytes jpeg = Save(Pattern(64, 48).get(), ".jpg[strip]");
    const size_t sof = AsChars(jpeg).find("\xff\xc0");
    REQUIRE(sof != std::string_view::npos);
    jpeg[sof + 5] = 2000 >> 8, jpeg[sof + 6] = 2000 & 0xff;  // height
    jpeg[sof + 7] = 1500 >> 8, jpeg[sof + 8] = 1500 & 0xff;  // width
    CheckRefused(jpeg,
                 "the image is 1500 x 2000 pixels (3.0 megapixels), more than the 2.0 "
                 "megapixel limit",
                 {.max_pixels = 2'000'000});
  }
  SECTION("a HEIC, judged by libheif's header") {
    CheckRefused(Save(Pattern(64, 48).get(), ".heic"),
                 "the image is 64 x 48 pixels; a side may be at most 50 pixels", {.max_side = 50});
  }
}

TEST_CASE("truncated and corrupt photos are refused", "[media]") {
  Bytes jpeg = Save(Pattern(400, 300).get(), ".jpg[Q=90,strip]");
  const size_t scan = FirstScan(jpeg);
  SECTION("a JPEG cut in half") {
    CheckRefused(ByteView(jpeg).first(jpeg.size() / 2),
                 "the JPEG is truncated or corrupt: it ends before its end-of-image marker");
  }
  SECTION("a JPEG cut in half with its end marker put back: libjpeg must notice") {
    Bytes cut(jpeg.begin(), jpeg.begin() + jpeg.size() / 2);
    Append(cut, std::array<uint8_t, 2>{0xff, 0xd9});
    CheckRefusedStartingWith(cut, "the JPEG is truncated or corrupt: libjpeg: ");
  }
  SECTION("a JPEG whose image data is random bytes") {
    Bytes noisy(jpeg.begin(), jpeg.begin() + scan + 14);  // SOS of 3 components is 14 bytes
    Xorshift rng{7};
    while (noisy.size() < jpeg.size() - 2) {
      noisy.push_back(rng.Next());
      if (noisy.back() == 0xff) noisy.push_back(0x00);  // stuffed: only the decoder can tell
    }
    Append(noisy, std::array<uint8_t, 2>{0xff, 0xd9});
    CheckRefusedStartingWith(noisy, "the JPEG is truncated or corrupt: libjpeg: ");
  }
  SECTION("a JPEG whose last rows are random bytes (libvips' fail_on misses these)") {
    Bytes damaged(jpeg.begin(), jpeg.end() - 2 - 300);
    Xorshift rng{11};
    while (damaged.size() < jpeg.size() - 2) {
      damaged.push_back(rng.Next());
      if (damaged.back() == 0xff) damaged.push_back(0x00);
    }
    Append(damaged, std::array<uint8_t, 2>{0xff, 0xd9});
    CheckRefusedStartingWith(damaged, "the JPEG is truncated or corrupt: libjpeg: ");
  }
  SECTION("a JPEG whose marker length runs past the end") {
    Bytes bad = {0xff, 0xd8, 0xff, 0xe1, 0xff, 0xff, 'E', 'x', 'i', 'f', 0, 0};
    CheckRefused(bad,
                 "the JPEG is truncated or corrupt: the marker segment at byte 2 runs past "
                 "the end of the file");
  }
  SECTION("a JPEG with more scans than any real one") {
    Bytes many(jpeg.begin(), jpeg.end() - 2);
    for (int i = 0; i < 101; ++i) Append(many, std::array<uint8_t, 6>{0xff, 0xda, 0, 4, 0, 0});
    Append(many, std::array<uint8_t, 2>{0xff, 0xd9});
    CheckRefused(many, "the JPEG is truncated or corrupt: it has more than 100 scans");
  }
  SECTION("a JPEG with no image data") {
    Bytes bad = {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0, 0, 0xff, 0xd9};
    CheckRefusedStartingWith(bad, "the JPEG is truncated or corrupt: ");
  }
  Bytes png = Save(Pattern(400, 300).get(), ".png");
  SECTION("a PNG with one byte of its image data changed") {
    const size_t idat = AsChars(png).find("IDAT");
    png[idat + 4 + 100] ^= 0x55;
    CheckRefused(png, "the PNG is truncated or corrupt: the checksum of its IDAT chunk at byte " +
                          std::to_string(idat - 4) + " does not match");
  }
  SECTION("a PNG cut in half") {
    CheckRefusedStartingWith(ByteView(png).first(png.size() / 2),
                             "the PNG is truncated or corrupt: ");
  }
  SECTION("a WebP cut in half") {
    Bytes webp = Save(Pattern(400, 300).get(), ".webp");
    CheckRefusedStartingWith(ByteView(webp).first(webp.size() / 2),
                             "the WebP is truncated or corrupt: ");
  }
  SECTION("a HEIC cut in half") {
    Bytes heic = Save(Pattern(400, 300).get(), ".heic");
    CheckRefusedStartingWith(ByteView(heic).first(heic.size() / 2),
                             "the HEIC is truncated or corrupt: ");
  }
}

TEST_CASE("damaged photos are refused or accepted, never anything else", "[media]") {
  // Seeded byte surgery: flips, cuts and overwritten runs. Whatever happens,
  // the answer is a photo or one line saying why not.
  ImagePtr image = Pattern(64, 48);
  Bytes source;
  SECTION("JPEG") { source = AfterSoi(Save(image.get(), ".jpg[strip]"), {ExifApp1(6)}); }
  SECTION("PNG") { source = Save(image.get(), ".png"); }
  SECTION("WebP") { source = Save(image.get(), ".webp"); }
  SECTION("HEIC") { source = Save(image.get(), ".heic"); }
  Xorshift rng{2024};
  int refused = 0;
  for (int round = 0; round < 150; ++round) {
    Bytes damaged = source;
    const size_t at = (size_t(rng.Next()) << 8 | rng.Next()) % damaged.size();
    switch (round % 3) {
      case 0:
        damaged[at] ^= uint8_t(1 + rng.Next() % 255);
        break;
      case 1:
        damaged.resize(std::max<size_t>(at, 1));
        break;
      default:
        for (size_t i = at; i < std::min(damaged.size(), at + 16); ++i) damaged[i] = rng.Next();
    }
    auto prepared = PrepareImage(damaged);
    if (prepared.ok()) continue;
    ++refused;
    INFO("round " << round << ": " << prepared.status().message());
    CHECK(prepared.status().code() == StatusCode::kInvalidArgument);
    CHECK(prepared.status().message().find('\n') == std::string::npos);
  }
  CHECK(refused > 50);
}

TEST_CASE("photos can be prepared from several threads at once", "[media]") {
  Bytes jpeg = AfterSoi(Save(Pattern(200, 150).get(), ".jpg[strip]"), {ExifApp1(6)});
  Bytes png = Save(Pattern(150, 200).get(), ".png");
  int ok[2] = {0, 0};
  auto work = [&](int slot, const Bytes& file) {
    for (int i = 0; i < 8; ++i) {
      auto prepared = PrepareImage(file);
      if (prepared.ok() && prepared->width == 150 && prepared->height == 200) ++ok[slot];
    }
  };
  std::thread a(work, 0, std::cref(jpeg)), b(work, 1, std::cref(png));
  a.join();
  b.join();
  CHECK(ok[0] == 8);
  CHECK(ok[1] == 8);
}

}  // namespace
}  // namespace ncen::media
