// Change-log entries: the signed header, its byte encoding, and the entry's
// transfer form. The byte layouts are specified in docs/log-format.md.
//
// Everything here is a pure function of its arguments and safe from any
// thread. Decoders never trust their input: every failure is a Status, never
// an assert or an exception.
#pragma once

#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "base/limits.h"
#include "base/status.h"
#include "crypto/hash.h"
#include "crypto/identity.h"
#include "storage/types.h"

namespace ncen::storage {

using crypto::Hash256;
using crypto::Signature;

inline constexpr uint16_t kEntryFormatVersion = 1;         // records
inline constexpr uint16_t kNetworkEntryFormatVersion = 2;  // scope network (docs/membership.md)
using limits::kContextDotsMax;
using limits::kHeaderBytesMax;
using limits::kPayloadBytesMax;

struct EntryHeader {
  uint16_t format_version = kEntryFormatVersion;
  PublicKey author{};
  Scope scope = Scope::kNational;
  uint64_t seq = 0;
  Hash256 prev{};  // zero for seq 1
  int64_t timestamp_ms = 0;
  RecordId record_id{};
  RecordType record_type = RecordType::kSeizure;
  Op op = Op::kPut;
  VersionVector context;
  Hash256 payload_hash{};
  uint32_t payload_size = 0;

  Dot dot() const { return {author, seq}; }
  FeedId feed() const { return {author, scope}; }
  friend bool operator==(const EntryHeader&, const EntryHeader&) = default;
};

// The exact bytes that get signed: a single-segment Cap'n Proto message,
// whatever the size of the context. The caller keeps the context within
// kContextDotsMax (a bug otherwise), which keeps the bytes within
// kHeaderBytesMax (base/limits.h).
Bytes EncodeHeader(const EntryHeader& header);
// kCorruption naming the first bad field when `bytes` is not a well-formed
// version-1 header (wrong sizes, unknown enum values, unsorted context,
// trailing bytes, over kHeaderBytesMax, a context of more than
// kContextDotsMax dots).
Result<EntryHeader> DecodeHeader(ByteView bytes);

// The entry hash: BLAKE2b-256 of the header bytes followed by the 64-byte
// signature (docs/design.md §3). It is the next entry's `prev`, so the chain
// covers every signature: a receiver of a contiguous run verifies the hash
// links and the signature of the last entry only.
Hash256 EntryHash(ByteView header_bytes, const Signature& signature);


// One entry as stored and transferred. `header` is decoded from
// `header_bytes`; the bytes are the truth.
struct Entry {
  Bytes header_bytes;
  Signature signature{};
  bool has_payload = false;  // false when withheld or purged
  Bytes payload;
  EntryHeader header;

  Hash256 hash() const { return EntryHash(header_bytes, signature); }
};

// A header with its signature and no payload: what a node shows another as
// evidence that the header's author signed it (a fork, a restored node).
struct SignedHeader {
  Bytes header_bytes;
  Signature signature{};
  EntryHeader header;  // decoded from header_bytes

  Hash256 hash() const { return EntryHash(header_bytes, signature); }
  bool SignatureValid() const { return crypto::Verify(header.author, header_bytes, signature); }
};
// Decodes the header; kCorruption when it does not (the signature is not
// checked here).
Result<SignedHeader> MakeSignedHeader(ByteView header_bytes, const Signature& signature);
SignedHeader SignedHeaderOf(const Entry& entry);

// Two headers prove a fork when both are validly signed by the same author,
// for the same (scope, seq), and differ. kUnauthenticated naming what does
// not hold otherwise.
Status VerifyForkEvidence(const SignedHeader& a, const SignedHeader& b);

// Builds an entry: encodes `header` (filling payload hash and size from
// `payload`) and signs it with `signer`, which must be the header's author.
Entry MakeEntry(EntryHeader header, Bytes payload, const crypto::Identity& signer);

// Why an entry was refused. Each has its own message too. A refusal depends
// only on the entry itself, its own feed, and whether the entries its
// context names are held (docs/log-format.md §6) — never on which of two
// other nodes' entries arrived first — except kTooManyVersions, which needs
// more than kRecordVersionsMax authors writing one record at once.
enum class EntryError {
  kNone = 0,
  kMalformed,          // bytes do not decode
  kPayloadMismatch,    // payload hash or size differ from the header
  kWithheldPayload,    // the payload is missing (no sharing policy defines that yet)
  kMalformedPayload,   // the payload is not a valid record body for its type and op
  kBadSignature,       // signature does not verify against the header's author
  kGap,                // seq is beyond the feed's head + 1
  kPrevMismatch,       // prev does not equal the hash of the entry before it
  kFork,               // a different entry is already stored at this (feed, seq)
  kForkedFeed,         // the feed has a fork report: it is not synced until a person clears it
  kOutOfOrder,         // a feed's entries in a batch are not in increasing seq order
  kMissingDependency,  // the context names an entry this node does not hold (yet)
  kBadContext,         // the context names its author's own future, or misses its
                       // author's previous entry of the record
  kTooManyVersions,    // the record would have more than kRecordVersionsMax versions
  kNotAuthorized,      // the author's certificate does not allow the scope (or it has none), this
                       // node may not hold the feed, or a network entry its author may not write
                       // (docs/membership.md §3, §4)
  kRevoked,            // past the cut-off of a revocation of its author (docs/membership.md §5)
};
const char* EntryErrorName(EntryError e);

// Checks payload hash and size against the header (when the payload is present).
Status CheckPayload(const Entry& entry);
bool CheckSignature(const Entry& entry);
// The timestamp of an encoded header, without decoding the rest or checking
// it (for headers already stored). kCorruption when it does not read.
Result<int64_t> HeaderTimestamp(ByteView header_bytes);
// The timestamp, and the context's dots of authors other than the header's
// own appended to `deps`: what a sender needs to order entries (an entry
// goes after the entries its context names). For headers already stored.
Result<int64_t> HeaderOrder(ByteView header_bytes, std::vector<Dot>& deps);

// Where a header's two recomputable hashes lie in its bytes (the wire may
// leave them out: docs/protocol.md §3, "Elided hashes"), with its feed and
// seq. Offsets are into `header_bytes`; kCorruption when it does not decode
// or a field is not 32 bytes.
struct HeaderHashFields {
  FeedId feed;
  uint64_t seq = 0;
  size_t prev_at = 0;
  size_t payload_hash_at = 0;
};
Result<HeaderHashFields> LocateHeaderHashes(ByteView header_bytes);

// Transfer form: u32 header length | header | 64-byte signature | u8 flags
// (bit 0: payload present) | u32 payload length | payload. All big-endian.
void AppendEncodedEntry(const Entry& entry, Bytes& out);
Bytes EncodeEntry(const Entry& entry);
// Decodes one entry from the front of `in`, advancing `in` past it.
// kCorruption on truncation or a malformed header. Does not verify anything.
Result<Entry> DecodeEntry(ByteView& in);

}  // namespace ncen::storage
