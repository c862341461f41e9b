// Sealing of messages between offices (version 1). The payload of a message
// record is encrypted once under a fresh content key; that key is sealed to
// each recipient's X25519 key (the Montgomery form of its Ed25519 node id), so
// a relaying hub can neither read the message nor tell who it is for: it
// learns only how many recipients there are.
//
// Construction. Per SealKey call, one fresh ephemeral X25519 key pair (e, E).
// For each recipient R: Rx = X25519 form of R; s = X25519(e, Rx);
// K = BLAKE2b-512("ncen seal v1" ‖ s ‖ E ‖ Rx); the slot is
// hint = K[0..8) and wrapped = key XOR K[32..64). The slots are shuffled
// uniformly, so their order says nothing about the recipients' order. A
// recipient computes s = X25519(rx_secret, E), derives K the same way and
// unwraps every slot whose hint is K[0..8). The content is
// nonce (24 random bytes) ‖ XChaCha20-Poly1305-IETF(key, nonce, plaintext,
// associated data) ‖ tag (16 bytes).
//
// Why it is sound. Sharing E among the recipients of one message is
// multi-recipient DH-KEM with randomness re-use, shown secure by Bellare,
// Boldyreva and Staddon (PKC 2003) for DH-based schemes such as DHIES under
// Gap-DH; each recipient's pad comes from its own DH secret, hashed with both
// public keys. Each pad encrypts one uniformly random key, once.
// Integrity comes from the AEAD over the content: a wrong or tampered slot
// unwraps to a key that fails to open it. A relay sees E, hints keyed by DH
// secrets it cannot compute, and the slot count; so does a recipient, about
// the other slots.
//
// Not covered: who sent it. Every recipient holds the content key and could
// re-encrypt, so authorship comes from the author's signature over the record
// (E, the slots and the content included).
//
// Threading: every function is thread-safe and keeps no state between calls.
// SealKey runs the per-recipient work on one extra std::thread when there are
// more than 64 recipients, and joins it before returning.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/identity.h"

namespace ncen::crypto {

// The symmetric key of one message's content. Wipe it when done.
using ContentKey = std::array<uint8_t, 32>;

// One recipient's copy of the content key.
struct KeySlot {
  std::array<uint8_t, 8> hint;      // lets the recipient find its slot
  std::array<uint8_t, 32> wrapped;  // the content key XOR the recipient's pad
};

// The content key sealed to every recipient of one message, in random order.
struct SealedKeys {
  std::array<uint8_t, 32> ephemeral{};  // E, the X25519 public key shared by the slots
  std::vector<KeySlot> slots;
};

// Bytes SealContent adds to the plaintext: the nonce in front, the tag behind.
inline constexpr size_t kSealedContentOverheadBytes = 24 + 16;

// A fresh random content key.
ContentKey NewContentKey();

// Seals `key` to every recipient (Ed25519 public keys, i.e. node ids), one
// slot each. kInvalidArgument, and no result, when there are no recipients,
// when a recipient is not a usable key (the message names its index and id),
// or when two recipients are the same node (the message names both indices).
Result<SealedKeys> SealKey(const ContentKey& key, std::span<const PublicKey> recipients);

// The keys that `me` unwraps from the slots whose hint matches its own:
// usually one, none when the message is not addressed to `me` or `sealed` is
// damaged. A candidate is only a guess until it opens the content; the caller
// owns the keys and should wipe them when done.
std::vector<ContentKey> OpenKeyCandidates(const SealedKeys& sealed, const Identity& me);

// Encrypts `plaintext` under `key`, authenticating `associated_data` too; the
// result is kSealedContentOverheadBytes longer than the plaintext.
Bytes SealContent(const ContentKey& key, ByteView plaintext, ByteView associated_data);
// The plaintext of SealContent's output. kCorruption when `sealed` is too
// short or fails authentication (wrong key, tampered bytes, or different
// associated data).
Result<Bytes> OpenContent(const ContentKey& key, ByteView sealed, ByteView associated_data);

// OpenKeyCandidates, then OpenContent with each candidate. kNotFound ("not
// addressed to this node") when no slot is for `me`; kCorruption when a slot
// is but no candidate opens the content (it or the slot was tampered with).
Result<Bytes> OpenSealed(const SealedKeys& sealed, ByteView content, ByteView associated_data,
                         const Identity& me);

}  // namespace ncen::crypto
