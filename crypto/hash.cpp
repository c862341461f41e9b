#include "crypto/hash.h"

#include <sodium.h>

#include "base/check.h"

namespace ncen::crypto {

static_assert(sizeof(crypto_generichash_state) <= 384, "state buffer too small");

Hash256 Blake2b256(ByteView data) {
  Hash256 out;
  crypto_generichash(out.data(), out.size(), data.data(), data.size(), nullptr, 0);
  return out;
}

Hash256 Blake2b256Keyed(ByteView key, ByteView data) {
  NCEN_CHECK(key.size() >= crypto_generichash_KEYBYTES_MIN && key.size() <= crypto_generichash_KEYBYTES_MAX);
  Hash256 out;
  crypto_generichash(out.data(), out.size(), data.data(), data.size(), key.data(), key.size());
  return out;
}

Blake2bHasher::Blake2bHasher() {
  NCEN_CHECK(crypto_generichash_init(reinterpret_cast<crypto_generichash_state*>(state_), nullptr,
                                     0, 32) == 0);
}

void Blake2bHasher::Update(ByteView data) {
  crypto_generichash_update(reinterpret_cast<crypto_generichash_state*>(state_), data.data(),
                            data.size());
}

Hash256 Blake2bHasher::Final() {
  Hash256 out;
  crypto_generichash_final(reinterpret_cast<crypto_generichash_state*>(state_), out.data(),
                           out.size());
  return out;
}

}  // namespace ncen::crypto
