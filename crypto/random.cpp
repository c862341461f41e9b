#include "crypto/random.h"

#include <sodium.h>

#include "base/check.h"

namespace ncen::crypto {

static void EnsureSodium() {
  static const bool ready = sodium_init() >= 0;
  NCEN_CHECK(ready);
}

void RandomFill(uint8_t* out, size_t size) {
  EnsureSodium();
  randombytes_buf(out, size);
}

uint64_t RandomU64() {
  uint64_t v;
  RandomFill(reinterpret_cast<uint8_t*>(&v), sizeof v);
  return v;
}

}  // namespace ncen::crypto
