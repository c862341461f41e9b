// The byte layouts of the store's keys and values (docs/log-format.md §7), in
// the manner of LevelDB's db/log_format.h: named sizes, the relations between
// them checked at compile time, and exactly one encoder and one parser for
// each layout. Every other file of storage/ reads and writes these values
// through the functions here, never by offsets of its own. Record states
// (record_state.h) and peer-status rows (peer_status.cpp) have their own
// single codecs; the entry transfer form is in entry.h.
//
// Parsers never trust their input: each returns nullopt (or kCorruption)
// for bytes that are not exactly one value. Views into a value are valid as
// long as the value's bytes are. Internal to storage/; pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/limits.h"
#include "storage/entry.h"
#include "storage/types.h"

namespace ncen::storage {

struct ForkReport;

namespace format {

inline constexpr size_t kU8Bytes = 1, kU16Bytes = 2, kU32Bytes = 4, kU64Bytes = 8;
inline constexpr size_t kKeyBytes = 32;       // an Ed25519 public key (author, node id)
inline constexpr size_t kHashBytes = 32;      // BLAKE2b-256
inline constexpr size_t kSignatureBytes = limits::kSignatureBytes;
inline constexpr size_t kRecordIdBytes = 16;
static_assert(sizeof(PublicKey) == kKeyBytes && sizeof(Hash256) == kHashBytes &&
              sizeof(Signature) == kSignatureBytes && sizeof(RecordId) == kRecordIdBytes);

// ---------------------------------------------------------------------------
// Keys

// feeds: author[32] | scope u8
inline constexpr size_t kFeedKeyBytes = kKeyBytes + kU8Bytes;
Bytes FeedKey(const FeedId& feed);
std::optional<FeedId> ParseFeedKey(ByteView key);

// log: feed_index u32 | seq u64
inline constexpr size_t kLogKeyBytes = kU32Bytes + kU64Bytes;
static_assert(kLogKeyBytes == 12);
std::array<uint8_t, kLogKeyBytes> LogKey(uint32_t feed_index, uint64_t seq);
struct LogKeyParts {
  uint32_t feed_index = 0;
  uint64_t seq = 0;
};
std::optional<LogKeyParts> ParseLogKey(ByteView key);

// Big-endian integer keys: feed_index (u32), change numbers (u64).
std::array<uint8_t, kU32Bytes> U32Key(uint32_t v);
std::array<uint8_t, kU64Bytes> U64Key(uint64_t v);

// forks: author[32] | scope u8 | seq u64
inline constexpr size_t kForkKeyBytes = kFeedKeyBytes + kU64Bytes;
Bytes ForkKey(const FeedId& feed, uint64_t seq);

// index: term (kind byte + text) | 0x00 | record id[16]
Bytes IndexKey(const std::string& term, const RecordId& id);

// ---------------------------------------------------------------------------
// Values

// feeds value: feed_index u32 | head seq u64 | head hash[32]
struct FeedValue {
  uint32_t index = 0;
  uint64_t seq = 0;
  Hash256 head{};
};
inline constexpr size_t kFeedValueBytes = kU32Bytes + kU64Bytes + kHashBytes;
static_assert(kFeedValueBytes == 44);
Bytes EncodeFeedValue(const FeedValue& value);
std::optional<FeedValue> ParseFeedValue(ByteView value);

// log value: flags u8 (bit 0: payload present) | header_len u32 | header |
// signature[64] | payload (to the end). A view: the entry as stored.
struct LogValue {
  bool has_payload = false;
  ByteView header;
  Signature signature{};
  ByteView payload;  // empty when absent
  Hash256 EntryHash() const { return storage::EntryHash(header, signature); }
};
inline constexpr uint8_t kLogPayloadPresent = 0x01;
inline constexpr size_t kLogValueHeaderAt = kU8Bytes + kU32Bytes;
inline constexpr size_t kLogValueFixedBytes = kLogValueHeaderAt + kSignatureBytes;
static_assert(kLogValueHeaderAt == 5 && kLogValueFixedBytes == 69);
// `payload` null: withheld.
Bytes EncodeLogValue(ByteView header, const Signature& signature, const ByteView* payload);
std::optional<LogValue> ParseLogValue(ByteView value);
// The stored entry in transfer form (entry.h), appended to `out`; returns
// its size, TransferFormSize. The same bytes as EncodeEntry of the decoded
// entry.
size_t AppendTransferForm(const LogValue& value, Bytes& out);
size_t TransferFormSize(const LogValue& value);
// The stored entry, decoded (kCorruption when the value or header does not).
Result<Entry> DecodeStoredEntry(ByteView value);
static_assert(limits::kTransferOverheadBytes ==
              kU32Bytes + kSignatureBytes + kU8Bytes + kU32Bytes);

// changes value: feed_index u32 | seq u64 | record id[16]
struct ChangeValue {
  uint32_t feed_index = 0;
  uint64_t seq = 0;
  RecordId record{};
};
inline constexpr size_t kChangeValueBytes = kU32Bytes + kU64Bytes + kRecordIdBytes;
static_assert(kChangeValueBytes == 28);
Bytes EncodeChangeValue(const ChangeValue& value);
std::optional<ChangeValue> ParseChangeValue(ByteView value);

// signed header (fork reports, the stale mark's evidence):
// header_len u32 | header | signature[64]; header_len 0 alone: none.
void AppendSignedHeader(Bytes& out, const SignedHeader& header);
// Reads one from the front of `in` and advances; nullopt for "none".
Result<std::optional<SignedHeader>> ReadSignedHeader(ByteView& in);

// forks value (store format 2): 0x02 | ours[32] | theirs[32] | detected_ms u64 |
// source_len u16 | source | signed header a | signed header b
inline constexpr uint8_t kForkValueVersion = 2;
inline constexpr size_t kForkSourceBytesMax = 1024;
inline constexpr size_t kForkSourceAt = kU8Bytes + 2 * kHashBytes + kU64Bytes + kU16Bytes;
static_assert(kForkSourceAt == 75);
Bytes EncodeForkValue(const ForkReport& fork);
Result<ForkReport> ParseForkValue(ByteView key, ByteView value);
// Store format 1's value: ours[32] | theirs[32] | detected_ms u64 | source
// (for the upgrade only).
Result<ForkReport> ParseForkValueV1(ByteView key, ByteView value);

}  // namespace format
}  // namespace ncen::storage
