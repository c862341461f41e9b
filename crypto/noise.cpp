#include "crypto/noise.h"

#include <sodium.h>

#include <cstring>
#include <initializer_list>
#include <limits>
#include <span>
#include <string>

#include "base/check.h"
#include "crypto/random.h"

namespace ncen::crypto {

namespace {

constexpr uint64_t kNonceReserved = std::numeric_limits<uint64_t>::max();  // 2^64-1, §5.1
constexpr size_t kBlockBytes = 128;                                        // BLOCKLEN of BLAKE2b

static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES == kNoiseTagBytes);
static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == sizeof(CipherKey));
static_assert(crypto_aead_chacha20poly1305_ietf_NPUBBYTES == 12);
static_assert(crypto_scalarmult_BYTES == kNoiseDhBytes);
static_assert(crypto_scalarmult_SCALARBYTES == sizeof(DhPrivateKey));
static_assert(crypto_generichash_blake2b_BYTES_MAX == kNoiseHashBytes);

void EnsureSodium() {
  static const bool ready = sodium_init() >= 0;
  NCEN_CHECK(ready);
}

template <typename T>
void Wipe(T& value) {
  sodium_memzero(&value, sizeof value);
}

// HASH(parts[0] || parts[1] || ...) with BLAKE2b-512, unkeyed.
HandshakeHash Hash(std::initializer_list<ByteView> parts) {
  crypto_generichash_blake2b_state state;
  crypto_generichash_blake2b_init(&state, nullptr, 0, kNoiseHashBytes);
  for (ByteView part : parts) crypto_generichash_blake2b_update(&state, part.data(), part.size());
  HandshakeHash out;
  crypto_generichash_blake2b_final(&state, out.data(), out.size());
  Wipe(state);
  return out;
}

// HMAC-HASH(key, data) as RFC 2104 defines it over BLAKE2b-512 (§4.3). This
// is not BLAKE2b's own keyed mode: the spec requires the generic HMAC.
HandshakeHash Hmac(ByteView key, std::initializer_list<ByteView> data) {
  uint8_t block[kBlockBytes] = {};
  if (key.size() > kBlockBytes) {
    HandshakeHash hashed_key = Hash({key});
    std::memcpy(block, hashed_key.data(), hashed_key.size());
    Wipe(hashed_key);
  } else if (!key.empty()) {
    std::memcpy(block, key.data(), key.size());
  }
  uint8_t pad[kBlockBytes];
  for (size_t i = 0; i < kBlockBytes; ++i) pad[i] = block[i] ^ 0x36;
  crypto_generichash_blake2b_state state;
  crypto_generichash_blake2b_init(&state, nullptr, 0, kNoiseHashBytes);
  crypto_generichash_blake2b_update(&state, pad, sizeof pad);
  for (ByteView part : data) crypto_generichash_blake2b_update(&state, part.data(), part.size());
  HandshakeHash inner;
  crypto_generichash_blake2b_final(&state, inner.data(), inner.size());
  for (size_t i = 0; i < kBlockBytes; ++i) pad[i] = block[i] ^ 0x5c;
  HandshakeHash out = Hash({ByteView(pad, sizeof pad), inner});
  Wipe(block);
  Wipe(pad);
  Wipe(inner);
  Wipe(state);
  return out;
}

// HKDF(chaining_key, input_key_material, 2) (§4.3): two HASHLEN outputs.
std::pair<HandshakeHash, HandshakeHash> Hkdf2(const HandshakeHash& chaining_key,
                                              ByteView input_key_material) {
  HandshakeHash temp_key = Hmac(chaining_key, {input_key_material});
  const uint8_t one = 0x01, two = 0x02;
  HandshakeHash output1 = Hmac(temp_key, {ByteView(&one, 1)});
  HandshakeHash output2 = Hmac(temp_key, {output1, ByteView(&two, 1)});
  Wipe(temp_key);
  return {output1, output2};
}

// The first 32 bytes of an HKDF output, the spec's truncation for HASHLEN 64.
CipherKey TruncateToKey(const HandshakeHash& output) {
  CipherKey key;
  std::memcpy(key.data(), output.data(), key.size());
  return key;
}

// ChaChaPoly nonce (§12.3): 4 zero bytes, then n as 64-bit little-endian.
std::array<uint8_t, 12> ChaChaNonce(uint64_t n) {
  std::array<uint8_t, 12> nonce{};
  for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<uint8_t>(n >> (8 * i));
  return nonce;
}

// ENCRYPT(k, n, ad, plaintext) into a fresh buffer; never fails.
Bytes AeadEncrypt(const CipherKey& key, uint64_t n, ByteView ad, ByteView plaintext) {
  Bytes out(plaintext.size() + kNoiseTagBytes);
  auto nonce = ChaChaNonce(n);
  unsigned long long out_size = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &out_size, plaintext.data(),
                                            plaintext.size(), ad.data(), ad.size(), nullptr,
                                            nonce.data(), key.data());
  NCEN_CHECK(out_size == out.size());
  return out;
}

std::string MessageName(int index) {
  return "handshake message " + std::to_string(index + 1) + " of 3";
}

}  // namespace

DhPublicKey X25519PublicKey(const DhPrivateKey& private_key) {
  EnsureSodium();
  DhPublicKey public_key;
  NCEN_CHECK(crypto_scalarmult_base(public_key.data(), private_key.data()) == 0);
  return public_key;
}

Bytes NcenPrologue(ByteView network_id) {
  Bytes prologue = {'n', 'c', 'e', 'n', '/', '1', 0x00};
  Append(prologue, network_id);
  return prologue;
}

Status CheckStaticKeyBinding(const DhPublicKey& remote_static,
                             const PublicKey& ed25519_public_key) {
  auto converted = X25519PublicFromEd25519(ed25519_public_key);
  if (!converted.ok()) {
    return Unauthenticated("peer identity " + Fingerprint(ed25519_public_key) +
                           " is not a usable Ed25519 key: " + converted.status().message());
  }
  if (sodium_memcmp(converted->data(), remote_static.data(), remote_static.size()) != 0) {
    return Unauthenticated("peer's Noise static key is not the X25519 form of the identity " +
                           Fingerprint(ed25519_public_key) + " it claims");
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- CipherState

CipherState::~CipherState() { Wipe(key_); }

void CipherState::InitializeKey(const CipherKey& key) {
  key_ = key;
  has_key_ = true;
  nonce_ = 0;
}

Result<Bytes> CipherState::EncryptWithAd(ByteView ad, ByteView plaintext) {
  size_t out_size = plaintext.size() + (has_key_ ? kNoiseTagBytes : 0);
  if (out_size > kNoiseMessageBytesMax) {
    return InvalidArgument("Noise message of " + std::to_string(out_size) +
                           " bytes exceeds the limit of " + std::to_string(kNoiseMessageBytesMax));
  }
  if (!has_key_) return Bytes(plaintext.begin(), plaintext.end());
  if (nonce_ == kNonceReserved) {
    return ResourceExhausted("Noise nonces are used up; the session must end");
  }
  Bytes out = AeadEncrypt(key_, nonce_, ad, plaintext);
  ++nonce_;
  return out;
}

Result<Bytes> CipherState::DecryptWithAd(ByteView ad, ByteView ciphertext) {
  if (ciphertext.size() > kNoiseMessageBytesMax) {
    return Corruption("Noise message of " + std::to_string(ciphertext.size()) +
                      " bytes exceeds the limit of " + std::to_string(kNoiseMessageBytesMax));
  }
  if (!has_key_) return Bytes(ciphertext.begin(), ciphertext.end());
  if (ciphertext.size() < kNoiseTagBytes) {
    return Corruption("Noise ciphertext of " + std::to_string(ciphertext.size()) +
                      " bytes is shorter than its tag");
  }
  if (nonce_ == kNonceReserved) {
    return ResourceExhausted("Noise nonces are used up; the session must end");
  }
  Bytes out(ciphertext.size() - kNoiseTagBytes);
  auto nonce = ChaChaNonce(nonce_);
  unsigned long long out_size = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(out.data(), &out_size, nullptr, ciphertext.data(),
                                                ciphertext.size(), ad.data(), ad.size(),
                                                nonce.data(), key_.data()) != 0) {
    return Unauthenticated("Noise message failed authentication at nonce " +
                           std::to_string(nonce_) +
                           " (tampered, replayed, reordered or from another key)");
  }
  ++nonce_;
  return out;
}

Status CipherState::EncryptInPlace(ByteView ad, std::span<uint8_t> buffer) {
  NCEN_CHECK(has_key_ && buffer.size() >= kNoiseTagBytes);
  if (buffer.size() > kNoiseMessageBytesMax) {
    return InvalidArgument("Noise message of " + std::to_string(buffer.size()) +
                           " bytes exceeds the limit of " + std::to_string(kNoiseMessageBytesMax));
  }
  if (nonce_ == kNonceReserved) return ResourceExhausted("Noise nonces are used up; the session must end");
  auto nonce = ChaChaNonce(nonce_);
  size_t plaintext_size = buffer.size() - kNoiseTagBytes;
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(
      buffer.data(), buffer.data() + plaintext_size, nullptr, buffer.data(), plaintext_size,
      ad.data(), ad.size(), nullptr, nonce.data(), key_.data());
  ++nonce_;
  return Status::Ok();
}

Status CipherState::DecryptInPlace(ByteView ad, std::span<uint8_t> buffer) {
  NCEN_CHECK(has_key_);
  if (buffer.size() > kNoiseMessageBytesMax) {
    return Corruption("Noise message of " + std::to_string(buffer.size()) +
                      " bytes exceeds the limit of " + std::to_string(kNoiseMessageBytesMax));
  }
  if (buffer.size() < kNoiseTagBytes) {
    return Corruption("Noise ciphertext of " + std::to_string(buffer.size()) +
                      " bytes is shorter than its tag");
  }
  if (nonce_ == kNonceReserved) return ResourceExhausted("Noise nonces are used up; the session must end");
  auto nonce = ChaChaNonce(nonce_);
  size_t plaintext_size = buffer.size() - kNoiseTagBytes;
  if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(
          buffer.data(), nullptr, buffer.data(), plaintext_size, buffer.data() + plaintext_size,
          ad.data(), ad.size(), nonce.data(), key_.data()) != 0) {
    return Unauthenticated("Noise message failed authentication at nonce " + std::to_string(nonce_) +
                           " (tampered, replayed, reordered or from another key)");
  }
  ++nonce_;
  return Status::Ok();
}

void CipherState::Rekey() {
  NCEN_CHECK(has_key_);
  const uint8_t zeros[32] = {};
  Bytes out = AeadEncrypt(key_, kNonceReserved, {}, ByteView(zeros, sizeof zeros));
  std::memcpy(key_.data(), out.data(), key_.size());
  sodium_memzero(out.data(), out.size());
}

// ------------------------------------------------------------- SymmetricState

SymmetricState::SymmetricState(std::string_view protocol_name) {
  if (protocol_name.size() <= kNoiseHashBytes) {
    std::memcpy(hash_.data(), protocol_name.data(), protocol_name.size());
  } else {
    hash_ = Hash({AsBytes(protocol_name)});
  }
  chaining_key_ = hash_;
}

SymmetricState::~SymmetricState() { Wipe(chaining_key_); }

void SymmetricState::MixKey(ByteView input_key_material) {
  auto [chaining_key, temp_key] = Hkdf2(chaining_key_, input_key_material);
  chaining_key_ = chaining_key;
  CipherKey key = TruncateToKey(temp_key);
  cipher_.InitializeKey(key);
  Wipe(chaining_key);
  Wipe(temp_key);
  Wipe(key);
}

void SymmetricState::MixHash(ByteView data) { hash_ = Hash({hash_, data}); }

Result<Bytes> SymmetricState::EncryptAndHash(ByteView plaintext) {
  NCEN_ASSIGN_OR_RETURN(Bytes ciphertext, cipher_.EncryptWithAd(hash_, plaintext));
  MixHash(ciphertext);
  return ciphertext;
}

Result<Bytes> SymmetricState::DecryptAndHash(ByteView ciphertext) {
  NCEN_ASSIGN_OR_RETURN(Bytes plaintext, cipher_.DecryptWithAd(hash_, ciphertext));
  MixHash(ciphertext);
  return plaintext;
}

std::pair<CipherState, CipherState> SymmetricState::Split() const {
  auto [output1, output2] = Hkdf2(chaining_key_, {});
  CipherKey key1 = TruncateToKey(output1), key2 = TruncateToKey(output2);
  std::pair<CipherState, CipherState> result{CipherState(key1), CipherState(key2)};
  Wipe(output1);
  Wipe(output2);
  Wipe(key1);
  Wipe(key2);
  return result;
}

// ------------------------------------------------------------- HandshakeState

enum class HandshakeState::Token : uint8_t { kE, kS, kEE, kES, kSE };

std::span<const HandshakeState::Token> HandshakeState::Pattern(int message_index) {
  // XX (§7.5): -> e / <- e, ee, s, es / -> s, se
  static constexpr Token kMessage1[] = {Token::kE};
  static constexpr Token kMessage2[] = {Token::kE, Token::kEE, Token::kS, Token::kES};
  static constexpr Token kMessage3[] = {Token::kS, Token::kSE};
  switch (message_index) {
    case 0:
      return kMessage1;
    case 1:
      return kMessage2;
    case 2:
      return kMessage3;
  }
  NCEN_CHECK(false && "no such XX message");
  return {};
}

HandshakeState::HandshakeState(NoiseRole role, ByteView prologue,
                               const DhPrivateKey& static_private_key)
    : role_(role), symmetric_(kNoiseProtocolName), static_private_(static_private_key) {
  EnsureSodium();
  static_public_ = X25519PublicKey(static_private_);
  symmetric_.MixHash(prologue);
}

HandshakeState::~HandshakeState() {
  Wipe(static_private_);
  if (ephemeral_private_) Wipe(*ephemeral_private_);
}

void HandshakeState::SetEphemeralPrivateKeyForTesting(const DhPrivateKey& private_key) {
  NCEN_CHECK(!ephemeral_private_.has_value() && "ephemeral key already chosen");
  ephemeral_private_ = private_key;
  ephemeral_public_ = X25519PublicKey(private_key);
}

void HandshakeState::GenerateEphemeral() {
  DhPrivateKey private_key;
  RandomFill(private_key.data(), private_key.size());
  ephemeral_private_ = private_key;
  ephemeral_public_ = X25519PublicKey(private_key);
  Wipe(private_key);
}

bool HandshakeState::IsMyTurnToWrite() const {
  if (failed_ || message_index_ >= kMessageCount) return false;
  bool initiator_turn = message_index_ % 2 == 0;
  return initiator_turn == (role_ == NoiseRole::kInitiator);
}

size_t HandshakeState::NextPayloadBytesMax() const {
  if (!IsMyTurnToWrite()) return 0;
  bool has_key = symmetric_.HasKey();
  size_t overhead = 0;
  for (Token token : Pattern(message_index_)) {
    if (token == Token::kE) {
      overhead += kNoiseDhBytes;
    } else if (token == Token::kS) {
      overhead += kNoiseDhBytes + (has_key ? kNoiseTagBytes : 0);
    } else {
      has_key = true;  // every DH token ends in MixKey
    }
  }
  overhead += has_key ? kNoiseTagBytes : 0;
  return kNoiseMessageBytesMax - overhead;
}

Status HandshakeState::Fail(Status status) {
  failed_ = true;
  if (ephemeral_private_) Wipe(*ephemeral_private_);
  return status.WithContext("Noise handshake failed at " + MessageName(message_index_));
}

Status HandshakeState::MixDh(Token token) {
  bool initiator = role_ == NoiseRole::kInitiator;
  // Every XX DH token may use this side's ephemeral key, and this side has
  // written its "e" token before any of them.
  NCEN_CHECK(ephemeral_private_.has_value());
  const DhPrivateKey* local = nullptr;
  const std::optional<DhPublicKey>* remote = nullptr;
  switch (token) {
    case Token::kEE:
      local = &*ephemeral_private_;
      remote = &remote_ephemeral_;
      break;
    case Token::kES:
      local = initiator ? &*ephemeral_private_ : &static_private_;
      remote = initiator ? &remote_static_ : &remote_ephemeral_;
      break;
    case Token::kSE:
      local = initiator ? &static_private_ : &*ephemeral_private_;
      remote = initiator ? &remote_ephemeral_ : &remote_static_;
      break;
    default:
      NCEN_CHECK(false && "not a DH token");
  }
  // The XX token order guarantees both keys exist by now.
  NCEN_CHECK(local != nullptr && remote->has_value());
  uint8_t shared[kNoiseDhBytes];
  int rc = crypto_scalarmult(shared, local->data(), (*remote)->data());
  if (rc != 0 || sodium_is_zero(shared, sizeof shared)) {
    Wipe(shared);
    return Unauthenticated("the peer's key is a low-order point (all-zero DH output)");
  }
  symmetric_.MixKey(ByteView(shared, sizeof shared));
  Wipe(shared);
  return Status::Ok();
}

Result<Bytes> HandshakeState::WriteMessage(ByteView payload) {
  if (failed_) return FailedPrecondition("Noise handshake has already failed");
  if (message_index_ >= kMessageCount) {
    return FailedPrecondition("Noise handshake is complete; use the transport ciphers");
  }
  if (!IsMyTurnToWrite()) {
    return FailedPrecondition("not this side's turn to write " + MessageName(message_index_));
  }
  if (payload.size() > NextPayloadBytesMax()) {
    return InvalidArgument("payload of " + std::to_string(payload.size()) + " bytes exceeds the " +
                           std::to_string(NextPayloadBytesMax()) + " that fit in " +
                           MessageName(message_index_));
  }
  Bytes message;
  for (Token token : Pattern(message_index_)) {
    if (token == Token::kE) {
      if (!ephemeral_private_) GenerateEphemeral();
      Append(message, ephemeral_public_);
      symmetric_.MixHash(ephemeral_public_);
    } else if (token == Token::kS) {
      auto encrypted = symmetric_.EncryptAndHash(static_public_);
      if (!encrypted.ok()) return Fail(encrypted.status());
      Append(message, *encrypted);
    } else {
      Status status = MixDh(token);
      if (!status.ok()) return Fail(status);
    }
  }
  auto encrypted = symmetric_.EncryptAndHash(payload);
  if (!encrypted.ok()) return Fail(encrypted.status());
  Append(message, *encrypted);
  Advance();
  return message;
}

Result<Bytes> HandshakeState::ReadMessage(ByteView message) {
  if (failed_) return FailedPrecondition("Noise handshake has already failed");
  if (message_index_ >= kMessageCount) {
    return FailedPrecondition("Noise handshake is complete; use the transport ciphers");
  }
  if (IsMyTurnToWrite()) {
    return Fail(FailedPrecondition("unexpected message: this side should write next"));
  }
  if (message.size() > kNoiseMessageBytesMax) {
    return Fail(Corruption("message of " + std::to_string(message.size()) +
                           " bytes exceeds the limit of " + std::to_string(kNoiseMessageBytesMax)));
  }
  auto truncated = [&](const char* what) {
    return Fail(Corruption("message of " + std::to_string(message.size()) +
                           " bytes is truncated in its " + what));
  };
  ByteView rest = message;
  for (Token token : Pattern(message_index_)) {
    if (token == Token::kE) {
      if (rest.size() < kNoiseDhBytes) return truncated("ephemeral key");
      DhPublicKey remote_ephemeral;
      std::memcpy(remote_ephemeral.data(), rest.data(), kNoiseDhBytes);
      remote_ephemeral_ = remote_ephemeral;
      symmetric_.MixHash(remote_ephemeral);
      rest = rest.subspan(kNoiseDhBytes);
    } else if (token == Token::kS) {
      size_t size = kNoiseDhBytes + (symmetric_.HasKey() ? kNoiseTagBytes : 0);
      if (rest.size() < size) return truncated("static key");
      auto decrypted = symmetric_.DecryptAndHash(rest.first(size));
      if (!decrypted.ok()) return Fail(decrypted.status().WithContext("static key"));
      NCEN_CHECK(decrypted->size() == kNoiseDhBytes);
      DhPublicKey remote_static;
      std::memcpy(remote_static.data(), decrypted->data(), kNoiseDhBytes);
      remote_static_ = remote_static;
      rest = rest.subspan(size);
    } else {
      Status status = MixDh(token);
      if (!status.ok()) return Fail(status);
    }
  }
  if (symmetric_.HasKey() && rest.size() < kNoiseTagBytes) return truncated("payload");
  auto payload = symmetric_.DecryptAndHash(rest);
  if (!payload.ok()) return Fail(payload.status().WithContext("payload"));
  Advance();
  return payload;
}

void HandshakeState::Advance() {
  ++message_index_;
  if (message_index_ == kMessageCount) {
    transport_ = symmetric_.Split();
    // The ephemeral key is no longer needed; dropping it now is what gives
    // the session forward secrecy even if this object lives on.
    Wipe(*ephemeral_private_);
  }
}

Result<TransportCiphers> HandshakeState::Split() {
  if (!IsComplete()) return FailedPrecondition("Noise handshake is not complete");
  if (split_taken_) return FailedPrecondition("Noise transport ciphers were already taken");
  split_taken_ = true;
  TransportCiphers ciphers;
  if (role_ == NoiseRole::kInitiator) {
    ciphers.send = transport_.first;
    ciphers.receive = transport_.second;
  } else {
    ciphers.send = transport_.second;
    ciphers.receive = transport_.first;
  }
  transport_ = {};
  return ciphers;
}

}  // namespace ncen::crypto
