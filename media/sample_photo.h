// Synthetic photos for tests, benchmarks and the demo: a JPEG that
// compresses like a camera's (a gradient with seeded noise), and the EXIF a
// phone writes (GPS position, make, model, owner, serial number), made by
// hand so that tests can check that ncen removes it. Not for product paths.
//
// Thread-safety: any thread (libvips is started once).
#pragma once

#include <cstdint>
#include <string_view>

#include "base/bytes.h"

namespace ncen::media {

// The identifying texts CameraExifSegment writes.
inline constexpr std::string_view kSampleMake = "NcenTestMake", kSampleModel = "NcenTestModel",
                                  kSampleArtist = "NcenArtistName", kSampleOwner = "NcenOwnerName",
                                  kSampleSerial = "SN-0042-NCEN";

// A baseline JPEG of width x height, different for every seed. Checks (aborts) on a libvips failure.
Bytes SamplePhotoJpeg(uint32_t width, uint32_t height, uint64_t seed, int quality = 90);
// An APP1 EXIF segment (marker included): IFD0 with Make, Model, Artist and
// Orientation, an EXIF IFD with CameraOwnerName and BodySerialNumber, a GPS
// IFD with latitude and longitude.
Bytes CameraExifSegment(uint16_t orientation);
// `jpeg` with CameraExifSegment(orientation) right after its SOI marker.
Bytes WithCameraExif(ByteView jpeg, uint16_t orientation = 1);

}  // namespace ncen::media
