#include "crypto/seal.h"

#include <sodium.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <numeric>
#include <optional>
#include <string>
#include <system_error>
#include <thread>

#include "base/check.h"
#include "crypto/random.h"

namespace ncen::crypto {

namespace {

using X25519Key = std::array<uint8_t, 32>;
using SlotKey = std::array<uint8_t, 64>;  // K: the hint from its start, the pad from its end

// Domain separation for K; hashed without a terminator. A new construction
// gets a new label.
constexpr char kLabel[] = "ncen seal v1";
constexpr size_t kLabelBytes = sizeof kLabel - 1;
constexpr size_t kHintBytes = std::tuple_size_v<decltype(KeySlot::hint)>;
constexpr size_t kPadOffset = 32;
constexpr size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;

static_assert(kLabelBytes == 12);
static_assert(crypto_scalarmult_BYTES == 32 && crypto_scalarmult_SCALARBYTES == 32);
static_assert(std::tuple_size_v<SlotKey> <= crypto_generichash_BYTES_MAX);
// The hint and the pad come from disjoint parts of K.
static_assert(kHintBytes <= kPadOffset);
static_assert(kPadOffset + std::tuple_size_v<ContentKey> == std::tuple_size_v<SlotKey>);
static_assert(std::tuple_size_v<decltype(KeySlot::wrapped)> == std::tuple_size_v<ContentKey>);
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == std::tuple_size_v<ContentKey>);
static_assert(kSealedContentOverheadBytes == kNonceBytes + kTagBytes);

// Up to this many recipients SealKey stays on the calling thread: 64 slots
// take about 4 ms there, and saving 2 ms is not worth a thread per message.
constexpr size_t kOneThreadRecipientsMax = 64;

// Wipes a secret on every way out of the scope that holds it.
template <size_t N>
class WipeOnExit {
 public:
  explicit WipeOnExit(std::array<uint8_t, N>& secret) : secret_(secret) {}
  ~WipeOnExit() { sodium_memzero(secret_.data(), N); }
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;

 private:
  std::array<uint8_t, N>& secret_;
};

// K = BLAKE2b-512("ncen seal v1" ‖ s ‖ E ‖ Rx), s = X25519(scalar, point).
// The sender passes (e, Rx) and the recipient (its secret, E): both get the
// same s. False when the DH fails or gives all zeros (a point of small order).
bool DeriveSlotKey(const X25519Key& scalar, const X25519Key& point, const X25519Key& ephemeral,
                   const X25519Key& rx, SlotKey& k) {
  uint8_t input[kLabelBytes + 3 * 32];
  uint8_t* s = input + kLabelBytes;
  bool ok = crypto_scalarmult(s, scalar.data(), point.data()) == 0 && !sodium_is_zero(s, 32);
  if (ok) {
    std::memcpy(input, kLabel, kLabelBytes);
    std::memcpy(s + 32, ephemeral.data(), 32);
    std::memcpy(s + 64, rx.data(), 32);
    crypto_generichash(k.data(), k.size(), input, sizeof input, nullptr, 0);
  }
  sodium_memzero(input, sizeof input);
  return ok;
}

// out = in XOR K[32..64): wraps a content key into a slot, and unwraps it.
void XorPad(const std::array<uint8_t, 32>& in, const SlotKey& k, std::array<uint8_t, 32>& out) {
  for (size_t i = 0; i < out.size(); ++i) out[i] = in[i] ^ k[kPadOffset + i];
}

// What the workers of one SealKey call share. Each writes only its own range
// of `rx` and `slots`.
struct SealJob {
  const ContentKey& key;
  std::span<const PublicKey> recipients;
  const X25519Key& ephemeral_secret;
  const X25519Key& ephemeral_public;
  std::vector<X25519Key>& rx;
  std::vector<KeySlot>& slots;
};

// Fills slots [begin, end) in recipient order; stops at the first recipient
// whose key is unusable.
Status SealRange(const SealJob& job, size_t begin, size_t end) {
  SlotKey k;
  WipeOnExit wipe_k(k);
  for (size_t i = begin; i < end; ++i) {
    Result<X25519Key> rx = X25519PublicFromEd25519(job.recipients[i]);
    if (!rx.ok()) return rx.status().WithContext("recipient " + std::to_string(i));
    job.rx[i] = *rx;
    if (!DeriveSlotKey(job.ephemeral_secret, *rx, job.ephemeral_public, *rx, k)) {
      return InvalidArgument("recipient " + std::to_string(i) + ": key " +
                             NodeIdHex(job.recipients[i]) + " gives no Diffie-Hellman secret");
    }
    KeySlot& slot = job.slots[i];
    std::memcpy(slot.hint.data(), k.data(), kHintBytes);
    XorPad(job.key, k, slot.wrapped);
  }
  return Status::Ok();
}

// Runs work(begin, end) over [0, count), split in two halves on two threads
// when `count` is large enough to pay for one. Returns the first failure in
// range order, so the lowest failing index is the one reported.
Status RunSplit(size_t count, const std::function<Status(size_t, size_t)>& work) {
  if (count <= kOneThreadRecipientsMax || std::thread::hardware_concurrency() == 1) {
    return work(0, count);
  }
  const size_t half = count / 2;
  Status second_half;
  std::optional<std::thread> helper;
  try {
    helper.emplace([&] { second_half = work(half, count); });
  } catch (const std::system_error&) {
    return work(0, count);  // no thread to be had (a resource limit): do it all here
  }
  Status first_half = work(0, half);
  helper->join();
  return first_half.ok() ? second_half : first_half;
}

// kInvalidArgument when two recipients have the same X25519 key: the same
// node id twice, or two ids that differ only in the sign of x (R and -R),
// which would get the same slot.
Status CheckDistinct(const std::vector<X25519Key>& rx) {
  std::vector<size_t> order(rx.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return rx[a] < rx[b]; });
  for (size_t i = 1; i < order.size(); ++i) {
    if (rx[order[i - 1]] == rx[order[i]]) {
      return InvalidArgument("recipients " + std::to_string(order[i - 1]) + " and " +
                             std::to_string(order[i]) + " are the same node");
    }
  }
  return Status::Ok();
}

// Fisher-Yates with libsodium's unbiased randombytes_uniform. `slots` has
// fewer than 2^32 entries (SealKey checks).
void Shuffle(std::vector<KeySlot>& slots) {
  for (size_t i = slots.size() - 1; i > 0; --i) {
    size_t j = randombytes_uniform(static_cast<uint32_t>(i + 1));
    std::swap(slots[i], slots[j]);
  }
}

}  // namespace

ContentKey NewContentKey() {
  ContentKey key;
  RandomFill(key.data(), key.size());
  return key;
}

Result<SealedKeys> SealKey(const ContentKey& key, std::span<const PublicKey> recipients) {
  if (recipients.empty()) return InvalidArgument("a sealed message needs at least one recipient");
  if (recipients.size() > UINT32_MAX) {
    return InvalidArgument("a sealed message has at most 2^32-1 recipients, got " +
                           std::to_string(recipients.size()));
  }
  X25519Key ephemeral_secret;
  WipeOnExit wipe_secret(ephemeral_secret);
  RandomFill(ephemeral_secret.data(), ephemeral_secret.size());  // also initialises libsodium
  SealedKeys sealed;
  // Cannot fail: a clamped scalar is a non-zero multiple of the cofactor.
  NCEN_CHECK(crypto_scalarmult_base(sealed.ephemeral.data(), ephemeral_secret.data()) == 0);

  sealed.slots.resize(recipients.size());
  std::vector<X25519Key> rx(recipients.size());
  const SealJob job{key, recipients, ephemeral_secret, sealed.ephemeral, rx, sealed.slots};
  NCEN_RETURN_IF_ERROR(RunSplit(
      recipients.size(), [&](size_t begin, size_t end) { return SealRange(job, begin, end); }));
  NCEN_RETURN_IF_ERROR(CheckDistinct(rx));
  Shuffle(sealed.slots);
  return sealed;
}

std::vector<ContentKey> OpenKeyCandidates(const SealedKeys& sealed, const Identity& me) {
  std::vector<ContentKey> candidates;
  // The same conversion the sender used, so both hash the same Rx.
  Result<X25519Key> rx = X25519PublicFromEd25519(me.public_key());
  if (!rx.ok()) return candidates;
  X25519Key secret = me.X25519SecretKey();
  WipeOnExit wipe_secret(secret);
  SlotKey k;
  WipeOnExit wipe_k(k);
  if (!DeriveSlotKey(secret, sealed.ephemeral, sealed.ephemeral, *rx, k)) return candidates;
  for (const KeySlot& slot : sealed.slots) {
    // Constant time: how far a hint matches would say something about K.
    if (sodium_memcmp(slot.hint.data(), k.data(), kHintBytes) != 0) continue;
    XorPad(slot.wrapped, k, candidates.emplace_back());
  }
  return candidates;
}

Bytes SealContent(const ContentKey& key, ByteView plaintext, ByteView associated_data) {
  Bytes out(kNonceBytes + plaintext.size() + kTagBytes);
  RandomFill(out.data(), kNonceBytes);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      out.data() + kNonceBytes, &written, plaintext.data(), plaintext.size(),
      associated_data.data(), associated_data.size(), nullptr, out.data(), key.data());
  NCEN_CHECK(written == plaintext.size() + kTagBytes);
  return out;
}

Result<Bytes> OpenContent(const ContentKey& key, ByteView sealed, ByteView associated_data) {
  if (sealed.size() < kSealedContentOverheadBytes) {
    return Corruption("the message does not decrypt: it is " + std::to_string(sealed.size()) +
                      " bytes, shorter than a nonce and a tag (" +
                      std::to_string(kSealedContentOverheadBytes) + ")");
  }
  Bytes plaintext(sealed.size() - kSealedContentOverheadBytes);
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          plaintext.data(), &written, nullptr, sealed.data() + kNonceBytes,
          sealed.size() - kNonceBytes, associated_data.data(), associated_data.size(),
          sealed.data(), key.data()) != 0) {
    return Corruption(
        "the message does not decrypt: the key, the content or the associated data is not what "
        "it was sealed with");
  }
  NCEN_CHECK(written == plaintext.size());
  return plaintext;
}

Result<Bytes> OpenSealed(const SealedKeys& sealed, ByteView content, ByteView associated_data,
                         const Identity& me) {
  std::vector<ContentKey> candidates = OpenKeyCandidates(sealed, me);
  if (candidates.empty()) return NotFound("not addressed to this node");
  std::optional<Bytes> plaintext;
  for (ContentKey& candidate : candidates) {
    if (!plaintext) {
      Result<Bytes> opened = OpenContent(candidate, content, associated_data);
      if (opened.ok()) plaintext = std::move(opened).value();
    }
    sodium_memzero(candidate.data(), candidate.size());
  }
  if (!plaintext) {
    return Corruption(
        "the message does not decrypt: it has a slot for this node, but the key there does not "
        "open the content");
  }
  return std::move(*plaintext);
}

}  // namespace ncen::crypto
