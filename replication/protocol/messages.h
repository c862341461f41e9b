// The replication protocol's messages as plain structs, with one encoder and
// one decoder (docs/protocol.md §2). The wire library (Cap'n Proto,
// replication/schema/wire.capnp) stays inside messages.cpp.
//
// DecodeMessage is the one place where bytes from a peer become a message: it
// checks every count and length against the bytes present before it
// allocates, every text is cut and sanitized, every key and hash has its
// size, and signed headers decode. It never throws and never asserts on
// input; it is the fuzz target tests/fuzz/fuzz_protocol_message.cpp.
//
// Plain values and pure functions: any thread.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "storage/entry.h"
#include "storage/types.h"

namespace ncen::replication {

using crypto::Hash256;

// 3: blobs (docs/blobs.md §4). 4: every message after the first is
// compressed (wire_codec.h, docs/protocol.md §2a). A peer of another
// version is refused at hello.
inline constexpr uint32_t kProtocolVersion = 4;

struct FeedHeadMsg {
  storage::FeedId feed;
  uint64_t seq = 0;  // the highest contiguous seq held
  Hash256 head{};    // that entry's hash
};

struct ForkEvidenceMsg {
  storage::SignedHeader a, b;
};

struct HelloMsg {
  uint32_t protocol_version = kProtocolVersion;
  crypto::PublicKey node_id{};
  std::string name, role;
  std::vector<FeedHeadMsg> frontier;
  std::vector<ForkEvidenceMsg> forks;
};

// `entries` is a view into the bytes given to DecodeMessage (transfer forms,
// concatenated); valid while those bytes are.
struct BatchMsg {
  uint64_t number = 0;
  uint32_t count = 0;
  ByteView entries;
};

struct FeedRefusalMsg {
  storage::FeedId feed;
  uint64_t held = 0;
  std::string reason;
};

struct AckMsg {
  uint64_t number = 0;
  std::vector<FeedRefusalMsg> refused;
};

struct HeadsMsg {
  std::vector<FeedHeadMsg> frontier;
};

struct PingMsg {};

struct ErrorMsg {
  std::string text;
};

struct EvidenceMsg {
  std::vector<ForkEvidenceMsg> forks;
  std::vector<storage::SignedHeader> headers;
};

struct BlobRangeMsg {
  Hash256 hash{};
  uint32_t first = 0;
  uint32_t count = 0;
};

struct BlobWantMsg {
  std::vector<BlobRangeMsg> ranges;
};

// `data` is a view into the bytes given to DecodeMessage, like a batch's.
struct BlobDataMsg {
  Hash256 hash{};
  uint32_t size = 0;
  uint32_t first = 0;
  ByteView data;
};

// kNowHeld: a blob this side said it lacked is now here (ask again).
enum class BlobLackReason : uint8_t { kNotHeld = 0, kNotAllowed = 1, kNowHeld = 2 };

struct BlobLackMsg {
  std::vector<std::pair<Hash256, BlobLackReason>> items;
};

using Message = std::variant<HelloMsg, BatchMsg, AckMsg, HeadsMsg, PingMsg, ErrorMsg, EvidenceMsg, BlobWantMsg,
                             BlobDataMsg, BlobLackMsg>;

// kCorruption naming what is wrong: not a whole number of words, trailing
// bytes, a list longer than its bound (limits.h), a key or hash of the
// wrong size, an unknown scope, a header that does not decode, an unknown
// message kind.
Result<Message> DecodeMessage(ByteView bytes);

// The message's bytes (one Cap'n Proto message, any number of segments).
// Texts longer than their bound are cut.
Bytes EncodeMessage(const Message& message);
// The same into `out`, whose memory may be reused (batches are megabytes).
void EncodeMessageInto(const Message& message, Bytes& out);

// A blob_data message of `data_bytes` bytes of chunks, written into `out`
// (its memory reused) but for the chunks: returns where they go, so that the
// store copies them straight into the message.
std::span<uint8_t> StartBlobDataInto(const Hash256& hash, uint32_t size, uint32_t first, size_t data_bytes,
                                     Bytes& out);

// TESTS ONLY: a version-4 hello from `node_id` whose packed frontier holds
// `pack` as given (any bytes), to try the decoder with hostile packs.
Bytes EncodeHelloWithPackForTest(const crypto::PublicKey& node_id, ByteView pack);

// True when the bytes are a blob_data message laid out as this code writes
// it: their photo bytes do not compress, so the wire codec sends them as
// they are; and such a message is read at any alignment, without a copy.
bool IsBlobData(ByteView message);

// The decoder's name for a message kind, for logs: "hello", "batch", ...
const char* MessageKindName(const Message& message);

}  // namespace ncen::replication
