// Cryptographically secure random bytes (libsodium's randombytes). Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ncen::crypto {

void RandomFill(uint8_t* out, size_t size);
uint64_t RandomU64();

}  // namespace ncen::crypto
