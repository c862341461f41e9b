#include "crypto/identity.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "crypto/hash.h"
#include "crypto/random.h"

namespace ncen::crypto {

namespace {
// identity.key: 8 bytes of magic, then the 32-byte Ed25519 seed.
constexpr char kKeyMagic[8] = {'N', 'C', 'E', 'N', 'K', 'E', 'Y', '1'};
constexpr size_t kKeyFileSize = sizeof kKeyMagic + 32;

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}
}  // namespace

std::string NodeIdHex(const PublicKey& key) { return ToHex(key); }

Result<PublicKey> ParseNodeId(std::string_view hex) {
  auto bytes = FromHex(hex);
  if (hex.size() != 64 || !bytes) {
    return InvalidArgument("a node id is 64 hex characters, got '" + std::string(hex) + "'");
  }
  PublicKey key;
  std::memcpy(key.data(), bytes->data(), 32);
  return key;
}

std::string Fingerprint(const PublicKey& key) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  Hash256 h = Blake2b256(key);
  std::string out;
  uint64_t acc = 0;
  int bits = 0;
  for (int i = 0; i < 10; ++i) {
    acc = (acc << 8) | h[i];
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      if (!out.empty() && (out.size() + 1) % 5 == 0) out += '-';
      out += kAlphabet[(acc >> bits) & 31];
    }
  }
  return out;
}

bool Verify(const PublicKey& author, ByteView message, const Signature& signature) {
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     author.data()) == 0;
}

Result<std::array<uint8_t, 32>> X25519PublicFromEd25519(const PublicKey& key) {
  std::array<uint8_t, 32> out;
  if (crypto_sign_ed25519_pk_to_curve25519(out.data(), key.data()) != 0) {
    return InvalidArgument("key " + NodeIdHex(key) + " is not a valid Ed25519 public key");
  }
  return out;
}

Identity Identity::Generate() {
  std::array<uint8_t, 32> seed;
  RandomFill(seed.data(), seed.size());
  Identity id = FromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  return id;
}

Identity Identity::FromSeed(const std::array<uint8_t, 32>& seed) {
  RandomU64();  // makes sure libsodium is initialised
  Identity id;
  id.seed_ = seed;
  crypto_sign_seed_keypair(id.public_key_.data(), id.secret_key_.data(), seed.data());
  // The expanded secret key of RFC 8032 §5.1.5, for the two-step signature.
  uint8_t expanded[64], wide[64] = {};
  crypto_hash_sha512(expanded, seed.data(), seed.size());
  expanded[0] &= 248;
  expanded[31] &= 127;
  expanded[31] |= 64;
  std::memcpy(wide, expanded, 32);
  crypto_core_ed25519_scalar_reduce(id.scalar_.data(), wide);
  std::memcpy(id.prefix_.data(), expanded + 32, 32);
  sodium_memzero(expanded, sizeof expanded);
  sodium_memzero(wide, sizeof wide);
  return id;
}

Status Identity::Save(const std::string& path) const {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return ConflictError("identity key " + path + " already exists");
    return IOError(Errno("cannot create identity key", path));
  }
  uint8_t buf[kKeyFileSize];
  std::memcpy(buf, kKeyMagic, sizeof kKeyMagic);
  std::memcpy(buf + sizeof kKeyMagic, seed_.data(), 32);
  bool ok = ::write(fd, buf, sizeof buf) == static_cast<ssize_t>(sizeof buf) && ::fsync(fd) == 0;
  sodium_memzero(buf, sizeof buf);
  ok = ::close(fd) == 0 && ok;
  if (!ok) {
    Status s = IOError(Errno("cannot write identity key", path));
    ::unlink(path.c_str());  // a partial key file would make the next attempt a kConflict
    return s;
  }
  return Status::Ok();
}

Result<Identity> Identity::Load(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound("no identity key at " + path);
    return IOError(Errno("cannot open identity key", path));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return IOError(Errno("cannot stat identity key", path));
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return FailedPrecondition("identity key " + path + " is readable by group or others (mode " +
                              mode + "); fix it with: chmod 600 " + path);
  }
  uint8_t buf[kKeyFileSize + 1];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n != static_cast<ssize_t>(kKeyFileSize) || std::memcmp(buf, kKeyMagic, sizeof kKeyMagic)) {
    return Corruption("identity key " + path + " is not an ncen key file");
  }
  std::array<uint8_t, 32> seed;
  std::memcpy(seed.data(), buf + sizeof kKeyMagic, 32);
  sodium_memzero(buf, sizeof buf);
  Identity id = FromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  return id;
}

Identity::Nonce Identity::MakeNonce(ByteView binding) const {
  Nonce nonce;
  uint8_t fresh[32];
  uint8_t digest[64];
  do {
    RandomFill(fresh, sizeof fresh);
    crypto_hash_sha512_state state;
    crypto_hash_sha512_init(&state);
    crypto_hash_sha512_update(&state, prefix_.data(), prefix_.size());
    crypto_hash_sha512_update(&state, fresh, sizeof fresh);
    crypto_hash_sha512_update(&state, binding.data(), binding.size());
    crypto_hash_sha512_final(&state, digest);
    crypto_core_ed25519_scalar_reduce(nonce.r.data(), digest);
    // Fails only for r = 0 (probability 2^-252): draw again.
  } while (crypto_scalarmult_ed25519_base_noclamp(nonce.point.data(), nonce.r.data()) != 0);
  sodium_memzero(fresh, sizeof fresh);
  sodium_memzero(digest, sizeof digest);
  nonce.ready = true;
  return nonce;
}

Signature Identity::FinishSignature(ByteView message, Nonce& nonce) const {
  NCEN_CHECK(nonce.ready);
  // S = (H(R ‖ A ‖ M) · a + r) mod L; the signature is R ‖ S.
  uint8_t digest[64], hram[32], product[32];
  crypto_hash_sha512_state state;
  crypto_hash_sha512_init(&state);
  crypto_hash_sha512_update(&state, nonce.point.data(), 32);
  crypto_hash_sha512_update(&state, public_key_.data(), 32);
  crypto_hash_sha512_update(&state, message.data(), message.size());
  crypto_hash_sha512_final(&state, digest);
  crypto_core_ed25519_scalar_reduce(hram, digest);
  crypto_core_ed25519_scalar_mul(product, hram, scalar_.data());
  Signature sig;
  std::memcpy(sig.data(), nonce.point.data(), 32);
  crypto_core_ed25519_scalar_add(sig.data() + 32, product, nonce.r.data());
  sodium_memzero(nonce.r.data(), nonce.r.size());
  sodium_memzero(product, sizeof product);
  nonce.ready = false;
  return sig;
}

Signature Identity::Sign(ByteView message) const {
  Signature sig;
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), secret_key_.data());
  return sig;
}

std::array<uint8_t, 32> Identity::X25519SecretKey() const {
  std::array<uint8_t, 32> out;
  crypto_sign_ed25519_sk_to_curve25519(out.data(), secret_key_.data());
  return out;
}

}  // namespace ncen::crypto
