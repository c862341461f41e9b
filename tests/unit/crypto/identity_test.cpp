#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "crypto/identity.h"
#include "tests/support/temp_dir.h"

using namespace ncen;
using ncen::crypto::Identity;

TEST_CASE("an identity saved with mode 0600 loads back with the same key", "[crypto]") {
  testing::TempDir dir;
  Identity id = Identity::Generate();
  std::string path = dir.Sub("identity.key");
  REQUIRE(id.Save(path).ok());
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto loaded = Identity::Load(path);
  REQUIRE(loaded.ok());
  CHECK(loaded->public_key() == id.public_key());
  CHECK(crypto::NodeIdHex(id.public_key()).size() == 64);
}

TEST_CASE("saving an identity never replaces an existing key file", "[crypto]") {
  testing::TempDir dir;
  std::string path = dir.Sub("identity.key");
  REQUIRE(Identity::Generate().Save(path).ok());
  Status s = Identity::Generate().Save(path);
  CHECK(s.code() == StatusCode::kConflict);
}

TEST_CASE("a key file readable by group or others is refused with the fix", "[crypto]") {
  testing::TempDir dir;
  std::string path = dir.Sub("identity.key");
  REQUIRE(Identity::Generate().Save(path).ok());
  REQUIRE(::chmod(path.c_str(), 0644) == 0);
  auto loaded = Identity::Load(path);
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.status().code() == StatusCode::kFailedPrecondition);
  CHECK(loaded.status().message().find("chmod 600") != std::string::npos);
}

TEST_CASE("a damaged key file is reported as corruption", "[crypto]") {
  testing::TempDir dir;
  std::string path = dir.Sub("identity.key");
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs("not a key", f);
  std::fclose(f);
  ::chmod(path.c_str(), 0600);
  CHECK(Identity::Load(path).status().code() == StatusCode::kCorruption);
}

TEST_CASE("signatures verify only for the signed bytes and the signer", "[crypto]") {
  Identity a = Identity::Generate(), b = Identity::Generate();
  Bytes msg = {1, 2, 3};
  auto sig = a.Sign(msg);
  CHECK(crypto::Verify(a.public_key(), msg, sig));
  CHECK_FALSE(crypto::Verify(b.public_key(), msg, sig));
  msg[0] ^= 1;
  CHECK_FALSE(crypto::Verify(a.public_key(), msg, sig));
}

TEST_CASE("node ids parse from hex and fingerprints are short and stable", "[crypto]") {
  Identity a = Identity::FromSeed({});
  auto parsed = crypto::ParseNodeId(crypto::NodeIdHex(a.public_key()));
  REQUIRE(parsed.ok());
  CHECK(*parsed == a.public_key());
  CHECK_FALSE(crypto::ParseNodeId("abc").ok());
  std::string fp = crypto::Fingerprint(a.public_key());
  CHECK(fp.size() == 19);
  CHECK(fp == crypto::Fingerprint(a.public_key()));
}

TEST_CASE("two-step signatures are ordinary Ed25519 signatures of the message", "[crypto]") {
  Identity a = Identity::Generate(), b = Identity::Generate();
  for (int i = 0; i < 200; ++i) {
    Bytes msg(static_cast<size_t>(i * 7 % 300), static_cast<uint8_t>(i));
    auto nonce = a.MakeNonce(msg);
    auto sig = a.FinishSignature(msg, nonce);
    REQUIRE(crypto::Verify(a.public_key(), msg, sig));
    CHECK_FALSE(crypto::Verify(b.public_key(), msg, sig));
    CHECK_FALSE(nonce.ready);  // used once, then wiped
    if (!msg.empty()) {
      msg[0] ^= 1;
      CHECK_FALSE(crypto::Verify(a.public_key(), msg, sig));
    }
  }
}

TEST_CASE("two-step signatures of one message use fresh nonces", "[crypto]") {
  Identity a = Identity::FromSeed({});
  Bytes msg = {1, 2, 3};
  auto n1 = a.MakeNonce(msg), n2 = a.MakeNonce(msg);
  CHECK(n1.point != n2.point);
  auto s1 = a.FinishSignature(msg, n1), s2 = a.FinishSignature(msg, n2);
  CHECK(s1 != s2);
  CHECK(crypto::Verify(a.public_key(), msg, s1));
  CHECK(crypto::Verify(a.public_key(), msg, s2));
  // The one-step signature stays the deterministic RFC 8032 one.
  CHECK(a.Sign(msg) == a.Sign(msg));
}
