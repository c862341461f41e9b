// Synthetic photos for tests, benchmarks and the demo (media/sample_photo.h).
#include "media/sample_photo.h"

#include <vips/vips.h>

#include <algorithm>
#include <mutex>
#include <vector>

#include "base/check.h"

namespace ncen::media {

namespace {


constexpr uint16_t kByte = 1, kAscii = 2, kShort = 3, kLong = 4, kRational = 5;

struct IfdEntry {
  uint16_t tag;
  uint16_t type;
  uint32_t count;
  Bytes value;  // little-endian
};

void PutLE(Bytes& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

IfdEntry Ascii(uint16_t tag, std::string_view text) {
  Bytes value(text.begin(), text.end());
  value.push_back(0);
  return {tag, kAscii, static_cast<uint32_t>(value.size()), value};
}
IfdEntry Short(uint16_t tag, uint16_t v) {
  Bytes value;
  PutLE(value, v, 2);
  return {tag, kShort, 1, value};
}
IfdEntry Long(uint16_t tag, uint32_t v) {
  Bytes value;
  PutLE(value, v, 4);
  return {tag, kLong, 1, value};
}
IfdEntry Rationals(uint16_t tag, std::vector<std::pair<uint32_t, uint32_t>> parts) {
  Bytes value;
  for (auto [numerator, denominator] : parts) {
    PutLE(value, numerator, 4);
    PutLE(value, denominator, 4);
  }
  return {tag, kRational, static_cast<uint32_t>(parts.size()), value};
}

size_t IfdBytes(const std::vector<IfdEntry>& entries) {
  size_t bytes = 2 + 12 * entries.size() + 4;
  for (const IfdEntry& e : entries) {
    if (e.value.size() > 4) bytes += (e.value.size() + 1) & ~size_t{1};
  }
  return bytes;
}

// Appends the IFD at out.size() (its offset in the TIFF), values after it.
void WriteIfd(Bytes& out, const std::vector<IfdEntry>& entries) {
  const size_t offset = out.size();
  size_t data_at = offset + 2 + 12 * entries.size() + 4;
  Bytes data;
  PutLE(out, entries.size(), 2);
  for (const IfdEntry& e : entries) {
    PutLE(out, e.tag, 2);
    PutLE(out, e.type, 2);
    PutLE(out, e.count, 4);
    if (e.value.size() <= 4) {
      Bytes inline_value = e.value;
      inline_value.resize(4, 0);
      Append(out, inline_value);
    } else {
      PutLE(out, data_at + data.size(), 4);
      Append(data, e.value);
      if (data.size() % 2) data.push_back(0);
    }
  }
  PutLE(out, 0, 4);  // no next IFD
  Append(out, data);
}

}  // namespace

Bytes CameraExifSegment(uint16_t orientation) {
  std::vector<IfdEntry> gps = {
      {0x0000, kByte, 4, {2, 3, 0, 0}},
      Ascii(0x0001, "N"),
      Rationals(0x0002, {{51, 1}, {55, 1}, {1234, 100}}),
      Ascii(0x0003, "E"),
      Rationals(0x0004, {{4, 1}, {28, 1}, {5678, 100}}),
  };
  std::vector<IfdEntry> exif = {Ascii(0xa430, kSampleOwner), Ascii(0xa431, kSampleSerial)};
  std::vector<IfdEntry> ifd0 = {
      Ascii(0x010f, kSampleMake), Ascii(0x0110, kSampleModel), Short(0x0112, orientation),
      Ascii(0x013b, kSampleArtist), Long(0x8769, 0),       Long(0x8825, 0)};
  const size_t exif_offset = 8 + IfdBytes(ifd0);
  const size_t gps_offset = exif_offset + IfdBytes(exif);
  ifd0[4] = Long(0x8769, static_cast<uint32_t>(exif_offset));
  ifd0[5] = Long(0x8825, static_cast<uint32_t>(gps_offset));

  Bytes tiff = {'I', 'I', 42, 0};
  PutLE(tiff, 8, 4);
  WriteIfd(tiff, ifd0);
  NCEN_CHECK(tiff.size() == exif_offset);
  WriteIfd(tiff, exif);
  NCEN_CHECK(tiff.size() == gps_offset);
  WriteIfd(tiff, gps);

  const size_t length = 2 + 6 + tiff.size();
  Bytes app1 = {0xff, 0xe1, static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length)};
  Append(app1, AsBytes(std::string_view("Exif\0\0", 6)));
  Append(app1, tiff);
  return app1;
}


Bytes SamplePhotoJpeg(uint32_t width, uint32_t height, uint64_t seed, int quality) {
  static std::once_flag once;
  std::call_once(once, [] { NCEN_CHECK(VIPS_INIT("ncen") == 0); });
  // A gradient with seeded noise: compresses like a photo (a few bytes per
  // pixel at quality 90), different for every seed.
  std::vector<uint8_t> pixels(size_t{width} * height * 3);
  uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  for (uint32_t row = 0; row < height; ++row) {
    for (uint32_t col = 0; col < width; ++col) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      uint8_t* p = &pixels[(size_t{row} * width + col) * 3];
      int noise = static_cast<int>(x >> 58);  // 0..63
      p[0] = static_cast<uint8_t>(std::min(255u, col * 160 / std::max(1u, width) + noise));
      p[1] = static_cast<uint8_t>(std::min(255u, row * 160 / std::max(1u, height) + noise));
      p[2] = static_cast<uint8_t>(60 + ((seed * 37) % 100) + (noise >> 1));
    }
  }
  VipsImage* image = vips_image_new_from_memory(pixels.data(), pixels.size(), static_cast<int>(width),
                                                static_cast<int>(height), 3, VIPS_FORMAT_UCHAR);
  NCEN_CHECK(image != nullptr);
  void* buffer = nullptr;
  size_t length = 0;
  int rc = vips_jpegsave_buffer(image, &buffer, &length, "Q", quality, "strip", TRUE, nullptr);
  g_object_unref(image);
  NCEN_CHECK(rc == 0);
  Bytes out(static_cast<uint8_t*>(buffer), static_cast<uint8_t*>(buffer) + length);
  g_free(buffer);
  return out;
}

Bytes WithCameraExif(ByteView jpeg, uint16_t orientation) {
  NCEN_CHECK(jpeg.size() >= 2 && jpeg[0] == 0xff && jpeg[1] == 0xd8);
  Bytes out(jpeg.begin(), jpeg.begin() + 2);
  Append(out, CameraExifSegment(orientation));
  out.insert(out.end(), jpeg.begin() + 2, jpeg.end());
  return out;
}

}  // namespace ncen::media
