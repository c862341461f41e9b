// Node identity: an Ed25519 key pair. The public key is the node id and the
// author id in the change log (DESIGN.md §2).
//
// Identity holds the secret key in memory; Sign is const and thread-safe, so
// several threads may sign with one Identity at once. Verify is a free,
// thread-safe function.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "base/status.h"

namespace ncen::crypto {

using PublicKey = std::array<uint8_t, 32>;
using Signature = std::array<uint8_t, 64>;

// Lower-case hex of the whole key: the node id as scripts see it.
std::string NodeIdHex(const PublicKey& key);
// Parses 64 hex characters; kInvalidArgument otherwise.
Result<PublicKey> ParseNodeId(std::string_view hex);
// A short, stable fingerprint for people: base32 of the first 10 bytes of
// BLAKE2b-256(key), in four groups ("k3xq-9zfa-…").
std::string Fingerprint(const PublicKey& key);

bool Verify(const PublicKey& author, ByteView message, const Signature& signature);

// The X25519 (Montgomery) form of an Ed25519 public key: the peer's expected
// Noise static key (docs/handshake.md, identity binding). kInvalidArgument
// when `key` is not a valid Ed25519 point or has small order.
Result<std::array<uint8_t, 32>> X25519PublicFromEd25519(const PublicKey& key);

class Identity {
 public:
  // A fresh random key pair.
  static Identity Generate();
  // Deterministic key pair from a 32-byte seed (tests and simulation).
  static Identity FromSeed(const std::array<uint8_t, 32>& seed);

  // Writes the key to `path` with mode 0600. Refuses (kConflict) to replace
  // an existing file. kIOError when the file cannot be written and synced.
  Status Save(const std::string& path) const;
  // Reads a key written by Save. kFailedPrecondition when the file is readable
  // by group or others (the message says how to fix it); kNotFound when it is
  // missing; kCorruption when its contents are not a key.
  static Result<Identity> Load(const std::string& path);

  const PublicKey& public_key() const { return public_key_; }
  Signature Sign(ByteView message) const;
  // This identity's secret key converted to X25519: the node's Noise static
  // key (docs/handshake.md). Its public key equals
  // X25519PublicFromEd25519(public_key()). The caller owns the copy and
  // should wipe it when done.
  std::array<uint8_t, 32> X25519SecretKey() const;

 private:
  Identity() = default;
  std::array<uint8_t, 32> seed_{};
  std::array<uint8_t, 64> secret_key_{};
  PublicKey public_key_{};
};

}  // namespace ncen::crypto
