// BLAKE2b-256 hashing. Hash256 is a plain 32-byte value. Blake2bHasher is an
// incremental hasher; one instance belongs to one thread at a time.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "base/bytes.h"

namespace ncen::crypto {

using Hash256 = std::array<uint8_t, 32>;

Hash256 Blake2b256(ByteView data);
// Keyed BLAKE2b-256 (a MAC / PRF): `key` is 16..64 bytes (a bug otherwise).
Hash256 Blake2b256Keyed(ByteView key, ByteView data);

class Blake2bHasher {
 public:
  Blake2bHasher();
  void Update(ByteView data);
  Hash256 Final();

 private:
  alignas(64) uint8_t state_[384];  // crypto_generichash_state, kept opaque here
};

inline std::string HashHex(const Hash256& h) { return ToHex(h); }
inline bool IsZero(const Hash256& h) {
  for (uint8_t b : h)
    if (b) return false;
  return true;
}

}  // namespace ncen::crypto
