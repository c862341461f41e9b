#include <catch2/catch.hpp>

#include "crypto/hash.h"

using namespace ncen;

TEST_CASE("BLAKE2b-256 matches the published digest of the empty string", "[crypto]") {
  // RFC 7693 / reference implementation: BLAKE2b-256("").
  CHECK(ToHex(crypto::Blake2b256({})) ==
        "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
}

TEST_CASE("incremental BLAKE2b equals one-shot BLAKE2b", "[crypto]") {
  std::string text = "seizure at Torkham, 12.4 kg";
  crypto::Blake2bHasher h;
  h.Update(AsBytes(text.substr(0, 5)));
  h.Update(AsBytes(text.substr(5)));
  CHECK(h.Final() == crypto::Blake2b256(AsBytes(text)));
}

TEST_CASE("hex round-trips and rejects malformed input", "[base]") {
  Bytes b = {0x00, 0xab, 0xff};
  CHECK(ToHex(b) == "00abff");
  CHECK(FromHex("00ABff") == b);
  CHECK_FALSE(FromHex("abc").has_value());
  CHECK_FALSE(FromHex("zz").has_value());
}
