// Node identity: an Ed25519 key pair. The public key is the node id and the
// author id in the change log (docs/design.md §2).
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

  // Writes the key to `path` with mode 0600 and fsyncs it. Refuses
  // (kConflict) to replace an existing file. kIOError when the file cannot be
  // written and synced (it is then removed). The directory is not synced:
  // the caller does that once it has made every file there (InitNode).
  Status Save(const std::string& path) const;
  // Reads a key written by Save. kFailedPrecondition when the file is readable
  // by group or others (the message says how to fix it); kNotFound when it is
  // missing; kCorruption when its contents are not a key.
  static Result<Identity> Load(const std::string& path);

  const PublicKey& public_key() const { return public_key_; }
  // Standard Ed25519 (RFC 8032): the nonce is derived from the key and the
  // message, so signing one message twice gives the same signature.
  Signature Sign(ByteView message) const;

  // Ed25519 in two steps, for signing a hash chain where each message is
  // known only once the previous signature is: the expensive half (the
  // nonce point r·B, ~12 µs here) is computed ahead, on any thread, and
  // FinishSignature (~1 µs) runs in chain order. The result is an ordinary
  // Ed25519 signature that Verify accepts.
  //
  // r = SHA-512(secret prefix ‖ 32 fresh random bytes ‖ binding) mod L:
  // fresh randomness makes r unique, the secret prefix keeps it unguessable
  // even with a weak random source, and `binding` (the message as far as it
  // is known) keeps it distinct per message even if the random source
  // repeated itself. A nonce is used once: FinishSignature wipes it.
  struct Nonce {
    std::array<uint8_t, 32> r{};        // secret scalar
    std::array<uint8_t, 32> point{};    // r·B, encoded
    bool ready = false;
  };
  Nonce MakeNonce(ByteView binding) const;
  Signature FinishSignature(ByteView message, Nonce& nonce) const;
  // This identity's secret key converted to X25519: the node's Noise static
  // key (docs/handshake.md). Its public key equals
  // X25519PublicFromEd25519(public_key()). The caller owns the copy and
  // should wipe it when done.
  std::array<uint8_t, 32> X25519SecretKey() const;

 private:
  Identity() = default;
  std::array<uint8_t, 32> seed_{};
  std::array<uint8_t, 64> secret_key_{};
  std::array<uint8_t, 32> scalar_{};  // the clamped secret scalar a, reduced mod L
  std::array<uint8_t, 32> prefix_{};  // second half of SHA-512(seed)
  PublicKey public_key_{};
};

}  // namespace ncen::crypto
