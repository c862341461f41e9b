// Noise_XX_25519_ChaChaPoly_BLAKE2b: the Noise Protocol Framework, revision 34
// (https://noiseprotocol.org/noise.html), with X25519, ChaCha20-Poly1305 (IETF)
// and BLAKE2b-512, built from libsodium primitives. The classes follow the
// spec's §5 objects one to one:
//
//   CipherState     a key k and a 64-bit nonce n: AEAD with associated data,
//                   the reserved nonce 2^64-1, Rekey() (§5.1, §11.3).
//   SymmetricState  the chaining key ck and the handshake hash h (§5.2).
//   HandshakeState  the XX pattern, sans-IO (§5.3, §7.5):
//                     -> e
//                     <- e, ee, s, es
//                     -> s, se
//                   WriteMessage/ReadMessage take and return whole Noise
//                   messages; after the third, Split() hands out the
//                   transport CipherStates. No sockets, clocks or threads.
//
// How ncen uses it (prologue, payloads, identity binding): docs/handshake.md.
//
// Thread-safety: an instance of any class here belongs to one thread at a
// time; distinct instances are independent. The free functions are
// thread-safe. Every object wipes its secrets when destroyed.
//
// Errors: bytes from the peer never trip an assert. Each fallible function
// lists its codes; in short, kCorruption = malformed (wrong length),
// kUnauthenticated = failed authentication or a low-order DH result (drop the
// peer), kFailedPrecondition = called in the wrong state, kInvalidArgument =
// the caller's own input is too large, kResourceExhausted = nonces used up.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/identity.h"

namespace ncen::crypto {

// Sizes fixed by the spec for this cipher suite.
inline constexpr size_t kNoiseMessageBytesMax = 65535;  // any Noise message (§3)
inline constexpr size_t kNoiseDhBytes = 32;             // DHLEN for 25519
inline constexpr size_t kNoiseHashBytes = 64;           // HASHLEN for BLAKE2b
inline constexpr size_t kNoiseTagBytes = 16;            // Poly1305 tag
inline constexpr std::string_view kNoiseProtocolName = "Noise_XX_25519_ChaChaPoly_BLAKE2b";

using DhPrivateKey = std::array<uint8_t, 32>;
using DhPublicKey = std::array<uint8_t, 32>;
using CipherKey = std::array<uint8_t, 32>;
using HandshakeHash = std::array<uint8_t, kNoiseHashBytes>;

// The X25519 public key of `private_key` (the scalar is clamped as X25519
// defines). Never fails.
DhPublicKey X25519PublicKey(const DhPrivateKey& private_key);

// The ncen prologue: ASCII "ncen/1", one 0x00 byte, then `network_id` as is.
// Both sides must use the same bytes or the handshake fails at message 2, so
// nodes of different networks or protocol versions never complete one.
Bytes NcenPrologue(ByteView network_id);

// Checks the identity binding of docs/handshake.md: the X25519 conversion of
// `ed25519_public_key` (carried in the peer's handshake payload) must equal
// the peer's Noise static key `remote_static`. kUnauthenticated when it does
// not, or when the Ed25519 key is not a valid, full-order point.
Status CheckStaticKeyBinding(const DhPublicKey& remote_static, const PublicKey& ed25519_public_key);

// A key and a nonce (§5.1). Without a key, EncryptWithAd/DecryptWithAd return
// their input unchanged, as the spec requires during the first handshake
// message; the transport CipherStates from Split() always have a key.
class CipherState {
 public:
  CipherState() = default;
  explicit CipherState(const CipherKey& key) { InitializeKey(key); }
  ~CipherState();
  CipherState(const CipherState&) = default;
  CipherState& operator=(const CipherState&) = default;
  CipherState(CipherState&&) = default;
  CipherState& operator=(CipherState&&) = default;

  // Sets the key and resets the nonce to 0.
  void InitializeKey(const CipherKey& key);
  bool HasKey() const { return has_key_; }
  // The nonce the next Encrypt/Decrypt will use. SetNonce is for tests and
  // for protocols that carry nonces out of band; ncen's transport does not.
  uint64_t nonce() const { return nonce_; }
  void SetNonce(uint64_t nonce) { nonce_ = nonce; }

  // Encrypts `plaintext` with nonce n and associated data `ad`, then n += 1.
  // Returns a new buffer, plaintext size + 16 bytes (or the plaintext itself
  // when there is no key). kInvalidArgument when the result would exceed
  // kNoiseMessageBytesMax; kResourceExhausted when n has reached 2^64-1 (the
  // session must end: Rekey does not reset n). Nothing changes on failure.
  Result<Bytes> EncryptWithAd(ByteView ad, ByteView plaintext);

  // Checks and decrypts `ciphertext` with nonce n and `ad`, then n += 1.
  // kCorruption when it is shorter than a tag or longer than
  // kNoiseMessageBytesMax; kUnauthenticated when the tag does not verify
  // (tampered, replayed, reordered or wrong key); kResourceExhausted when n
  // has reached 2^64-1. On failure n and the key are unchanged.
  Result<Bytes> DecryptWithAd(ByteView ad, ByteView ciphertext);

  // The same two operations without allocating, for the transport's hot
  // path. EncryptInPlace: `buffer` holds the plaintext followed by 16 spare
  // bytes; afterwards it holds ciphertext ‖ tag. DecryptInPlace: `buffer`
  // holds ciphertext ‖ tag; afterwards its first size − 16 bytes are the
  // plaintext (the tag bytes are left as they were). Errors and nonce
  // handling as above; both require a key (checked).
  Status EncryptInPlace(ByteView ad, std::span<uint8_t> buffer);
  Status DecryptInPlace(ByteView ad, std::span<uint8_t> buffer);

  // k = the first 32 bytes of ENCRYPT(k, 2^64-1, empty, 32 zero bytes), the
  // spec's default REKEY (§4.2); n is unchanged. Both ends must rekey at the
  // same point in the message stream. Calling it without a key is a bug
  // (checked).
  void Rekey();

 private:
  CipherKey key_{};
  bool has_key_ = false;
  uint64_t nonce_ = 0;
};

// The chaining key and handshake hash (§5.2), for the handshake only.
// MixKeyAndHash is left out: ncen uses no pre-shared keys.
class SymmetricState {
 public:
  // InitializeSymmetric: h = the name zero-padded to 64 bytes (or its hash
  // when longer), ck = h, no key.
  explicit SymmetricState(std::string_view protocol_name);
  ~SymmetricState();
  SymmetricState(const SymmetricState&) = default;
  SymmetricState& operator=(const SymmetricState&) = default;
  SymmetricState(SymmetricState&&) = default;
  SymmetricState& operator=(SymmetricState&&) = default;

  // ck, k = HKDF(ck, input_key_material, 2), k truncated to 32 bytes; n = 0.
  void MixKey(ByteView input_key_material);
  // h = HASH(h || data).
  void MixHash(ByteView data);
  // EncryptWithAd(h, plaintext), then MixHash(ciphertext). Errors as
  // CipherState::EncryptWithAd; h is unchanged on failure.
  Result<Bytes> EncryptAndHash(ByteView plaintext);
  // DecryptWithAd(h, ciphertext), then MixHash(ciphertext). Errors as
  // CipherState::DecryptWithAd; h is unchanged on failure.
  Result<Bytes> DecryptAndHash(ByteView ciphertext);
  // The two CipherStates from HKDF(ck, empty, 2): first for messages from
  // the initiator, second for messages from the responder.
  std::pair<CipherState, CipherState> Split() const;

  bool HasKey() const { return cipher_.HasKey(); }
  const HandshakeHash& handshake_hash() const { return hash_; }

 private:
  HandshakeHash chaining_key_{};
  HandshakeHash hash_{};
  CipherState cipher_;
};

enum class NoiseRole { kInitiator, kResponder };

// The transport CipherStates of one side, already oriented: `send` encrypts
// what this side sends, `receive` decrypts what it receives.
struct TransportCiphers {
  CipherState send;
  CipherState receive;
};

// One side of an XX handshake. Messages alternate initiator, responder,
// initiator; call WriteMessage when IsMyTurnToWrite(), else ReadMessage.
// Any failure while reading (and any failure caused by the peer's keys while
// writing) ends the handshake: HasFailed() is then true and every later call
// returns kFailedPrecondition. A fresh HandshakeState is needed to retry.
class HandshakeState {
 public:
  // `prologue` is copied and hashed in; `static_private_key` is this node's
  // Noise static key (for ncen: Identity::X25519SecretKey()) and is copied.
  HandshakeState(NoiseRole role, ByteView prologue, const DhPrivateKey& static_private_key);
  ~HandshakeState();
  HandshakeState(const HandshakeState&) = delete;
  HandshakeState& operator=(const HandshakeState&) = delete;
  HandshakeState(HandshakeState&&) = default;
  HandshakeState& operator=(HandshakeState&&) = default;

  // TEST ONLY: use `private_key` as the ephemeral key instead of a fresh
  // random one, to reproduce published test vectors. Reusing an ephemeral key
  // in production destroys forward secrecy. Must be called before this side
  // writes its "e" token (checked).
  void SetEphemeralPrivateKeyForTesting(const DhPrivateKey& private_key);

  // Builds the next handshake message with `payload` as its (encrypted, once
  // a key exists) payload and returns it.
  //   kFailedPrecondition: not this side's turn, the handshake is complete, or
  //     it has already failed. State unchanged.
  //   kInvalidArgument: payload larger than NextPayloadBytesMax(). State
  //     unchanged; a smaller payload may be written.
  //   kUnauthenticated: a DH with the peer's key gave the all-zero output (a
  //     low-order point from the peer). The handshake has failed.
  Result<Bytes> WriteMessage(ByteView payload);

  // Consumes the peer's next handshake message and returns its payload.
  //   kFailedPrecondition: not this side's turn to read (e.g. a replayed or
  //     extra message), the handshake is complete, or it has already failed.
  //   kCorruption: the message is longer than kNoiseMessageBytesMax or too
  //     short for its tokens and tags (truncated).
  //   kUnauthenticated: a tag did not verify (tampered bytes, a different
  //     prologue, the wrong peer) or a DH output was all zero.
  // Every error before completion ends the handshake; a call after
  // completion only returns kFailedPrecondition.
  Result<Bytes> ReadMessage(ByteView message);

  bool IsMyTurnToWrite() const;
  // True after the third message has been written or read.
  bool IsComplete() const { return message_index_ == kMessageCount && !failed_; }
  bool HasFailed() const { return failed_; }
  // The largest payload WriteMessage accepts now (0 when it is not this
  // side's turn), so that the message stays within kNoiseMessageBytesMax.
  size_t NextPayloadBytesMax() const;

  // The transport CipherStates. May be called once, after IsComplete();
  // kFailedPrecondition before that or on a second call (two copies of one
  // CipherState would reuse nonces).
  Result<TransportCiphers> Split();

  // h: after completion the channel binding value both sides share. Before
  // completion it is the running hash.
  const HandshakeHash& handshake_hash() const { return symmetric_.handshake_hash(); }
  // The peer's Noise static key, known once its "s" token has been read
  // (initiator: after message 2; responder: after message 3).
  const std::optional<DhPublicKey>& remote_static_public_key() const { return remote_static_; }
  const DhPublicKey& local_static_public_key() const { return static_public_; }
  NoiseRole role() const { return role_; }

 private:
  static constexpr int kMessageCount = 3;
  enum class Token : uint8_t;

  // The tokens of XX message `message_index` (0, 1 or 2).
  static std::span<const Token> Pattern(int message_index);
  Status MixDh(Token token);
  // Marks the handshake failed and returns `status` with context.
  Status Fail(Status status);
  // Moves to the next message; after the last one, derives the transport keys.
  void Advance();
  void GenerateEphemeral();

  NoiseRole role_;
  SymmetricState symmetric_;
  DhPrivateKey static_private_{};
  DhPublicKey static_public_{};
  std::optional<DhPrivateKey> ephemeral_private_;
  DhPublicKey ephemeral_public_{};
  std::optional<DhPublicKey> remote_static_;
  std::optional<DhPublicKey> remote_ephemeral_;
  int message_index_ = 0;
  bool failed_ = false;
  bool split_taken_ = false;
  std::pair<CipherState, CipherState> transport_;
};

}  // namespace ncen::crypto
