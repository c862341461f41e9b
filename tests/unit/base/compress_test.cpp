#include "base/compress.h"

#include <catch2/catch.hpp>

#include <string>

namespace ncen {
namespace {

Bytes Text(const std::string& s) { return Bytes(s.begin(), s.end()); }

TEST_CASE("a compressed stream gives back every piece whole, in order", "[compress]") {
  StreamCompressor c;
  StreamDecompressor d;
  std::vector<Bytes> pieces;
  for (int i = 0; i < 200; ++i)
    pieces.push_back(Text("seizure " + std::to_string(i) + ": 12 kg cocaine in a fuel tank at Namanga"));
  pieces.push_back({});                   // an empty piece
  pieces.push_back(Bytes(300000, 0x5a));  // larger than a zstd block
  size_t later_size = 0;
  for (size_t i = 0; i < pieces.size(); ++i) {
    Bytes wire;
    REQUIRE(c.Compress(pieces[i], wire).ok());
    if (i == 150) later_size = wire.size();
    Bytes back;
    REQUIRE(d.Decompress(wire, 1 << 20, back).ok());
    REQUIRE(back == pieces[i]);
  }
  // A piece like the ones before it costs a few bytes: the history helps.
  CHECK(later_size < pieces[150].size() / 3);
}

TEST_CASE("a decompressor refuses garbage, a bomb over its bound, and works no more after", "[compress]") {
  SECTION("garbage") {
    StreamDecompressor d;
    Bytes out;
    CHECK(d.Decompress(Text("this is not zstd at all"), 1 << 20, out).code() == StatusCode::kCorruption);
    Bytes again;
    CHECK_FALSE(d.Decompress({}, 1 << 20, again).ok());
  }
  SECTION("more than the bound") {
    StreamCompressor c;
    StreamDecompressor d;
    Bytes wire, out;
    REQUIRE(c.Compress(Bytes(1 << 20, 0), wire).ok());
    CHECK(wire.size() < 1000);
    CHECK(d.Decompress(wire, 100000, out).code() == StatusCode::kCorruption);
  }
  SECTION("a piece cut short gives what it can and no error until the rest comes") {
    StreamCompressor c;
    StreamDecompressor d;
    Bytes wire, out;
    const Bytes msg = Text(std::string(5000, 'x') + "end");
    REQUIRE(c.Compress(msg, wire).ok());
    const size_t half = wire.size() / 2;
    REQUIRE(d.Decompress(ByteView(wire).first(half), 1 << 20, out).ok());
    Bytes rest;
    REQUIRE(d.Decompress(ByteView(wire).subspan(half), 1 << 20, rest).ok());
    out.insert(out.end(), rest.begin(), rest.end());
    CHECK(out == msg);
  }
}

TEST_CASE("one-shot compression round trips and bounds its output", "[compress]") {
  const Bytes in = Text(std::string(100000, 'a'));
  auto packed = CompressWhole(in);
  REQUIRE(packed.ok());
  auto back = DecompressWhole(*packed, in.size());
  REQUIRE(back.ok());
  CHECK(*back == in);
  CHECK_FALSE(DecompressWhole(*packed, in.size() - 1).ok());
  // Over 1 MiB and compressing well: the frame's window is its size (2^21
  // and more), which a stream's decoder would refuse (review finding).
  const Bytes big(3 << 20, 0x11);
  auto big_packed = CompressWhole(big);
  REQUIRE(big_packed.ok());
  auto big_back = DecompressWhole(*big_packed, 16 << 20);
  REQUIRE(big_back.ok());
  CHECK(*big_back == big);
}

}  // namespace
}  // namespace ncen
