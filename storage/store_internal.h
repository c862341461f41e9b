// Internals shared by the store's .cpp files: database handles and key
// layouts (docs/log-format.md). Not for use outside storage/.
#pragma once

#include <lmdb.h>

#include <map>
#include <string>

#include "storage/lmdb.h"
#include "storage/store.h"

namespace ncen::storage {

struct Store::Dbs {
  MDB_dbi meta, feeds, feed_index, log, records, conflicts, index, record_terms, changes, forks,
      peers;
};

namespace keys {

// feeds: author[32] | scope u8
inline Bytes Feed(const FeedId& f) {
  Bytes k(f.author.begin(), f.author.end());
  k.push_back(static_cast<uint8_t>(f.scope));
  return k;
}
// log: feed_index u32 | seq u64
inline std::array<uint8_t, 12> Log(uint32_t feed_index, uint64_t seq) {
  std::array<uint8_t, 12> k;
  PutU32BE(k.data(), feed_index);
  PutU64BE(k.data() + 4, seq);
  return k;
}
inline std::array<uint8_t, 4> U32(uint32_t v) {
  std::array<uint8_t, 4> k;
  PutU32BE(k.data(), v);
  return k;
}
inline std::array<uint8_t, 8> U64(uint64_t v) {
  std::array<uint8_t, 8> k;
  PutU64BE(k.data(), v);
  return k;
}
// index: term (kind byte + text) | 0x00 | record id[16]
inline Bytes Index(const std::string& term, const RecordId& id) {
  Bytes k(term.begin(), term.end());
  k.push_back(0);
  k.insert(k.end(), id.begin(), id.end());
  return k;
}

// peers: kind u8 | rest. Kind 's': id[32] → a peer status; kind 'r':
// number u64 → a refused attempt (numbers grow, so the last key is the newest).
inline constexpr uint8_t kPeerStatusKind = 's';
inline constexpr uint8_t kRefusedKind = 'r';
inline Bytes Peer(const PublicKey& id) {
  Bytes k{kPeerStatusKind};
  Append(k, id);
  return k;
}
inline Bytes Refused(uint64_t number) {
  Bytes k{kRefusedKind};
  AppendU64BE(k, number);
  return k;
}

}  // namespace keys

// feeds value: feed_index u32 | head seq u64 | head hash[32]
struct FeedRecord {
  uint32_t index = 0;
  uint64_t seq = 0;
  Hash256 head{};

  Bytes Encode() const {
    Bytes v;
    AppendU32BE(v, index);
    AppendU64BE(v, seq);
    Append(v, head);
    return v;
  }
  static std::optional<FeedRecord> Decode(ByteView v) {
    if (v.size() != 44) return std::nullopt;
    FeedRecord f;
    f.index = GetU32BE(v.data());
    f.seq = GetU64BE(v.data() + 4);
    std::memcpy(f.head.data(), v.data() + 12, 32);
    return f;
  }
};

// peers values (docs/log-format.md §7). Encode assumes the limits that
// Store::PutPeerStatus and RecordRefused check; Decode returns kCorruption
// for anything that is not exactly one version-1 value.
Bytes EncodePeerStatus(const PeerStatus& status);  // the id is in the key
Result<PeerStatus> DecodePeerStatus(const PublicKey& id, ByteView value);
Bytes EncodeRefused(const RefusedAttempt& attempt);
Result<RefusedAttempt> DecodeRefused(ByteView value);

// forks value (format 2): 0x02 | ours[32] | theirs[32] | detected_ms u64 |
// source_len u16 | source | signed_header a | signed_header b, where
// signed_header := header_len u32 | header | signature[64] (length 0 and no
// signature: no evidence, a report kept from a format-1 store). Key:
// author[32] | scope u8 | seq u64.
Bytes ForkKey(const FeedId& feed, uint64_t seq);
Bytes EncodeForkValue(const ForkReport& fork);
Result<ForkReport> DecodeForkValue(ByteView key, ByteView value);
// The format-1 value (ours | theirs | detected_ms | source), for the upgrade.
Result<ForkReport> DecodeForkValueV1(ByteView key, ByteView value);
void AppendSignedHeader(Bytes& out, const SignedHeader& h);
// Reads one signed_header from the front of `in` and advances; nullopt for
// the empty one. kCorruption when it does not decode.
Result<std::optional<SignedHeader>> ReadSignedHeader(ByteView& in);

// Writes inside a caller's write transaction (ApplyBatch records what it
// finds in the batch's own transaction). Evidence is verified first
// (kUnauthenticated otherwise). `newly` says whether anything was written.
Status PutFork(lmdb::Txn& txn, const Store::Dbs& dbs, const ForkReport& fork, bool* newly);
Status PutStaleMark(lmdb::Txn& txn, const Store::Dbs& dbs, const PublicKey& node_id,
                    const SignedHeader& evidence, const std::string& source, bool* newly);

// log value: flags u8 (bit 0 payload present) | header length u32 | header |
// signature[64] | payload
// `payload` is null when withheld.
Bytes EncodeLogValue(ByteView header_bytes, const Signature& signature, const ByteView* payload);
Result<Entry> DecodeLogValue(ByteView v);
// The header bytes inside a log value, without copying.
std::optional<ByteView> LogValueHeader(ByteView v);

}  // namespace ncen::storage
