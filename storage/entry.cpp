#include "storage/entry.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <algorithm>
#include <cstring>

#include "storage/capnp_message.h"
#include "storage/schema/entry.capnp.h"

namespace ncen::storage {

namespace {

template <size_t N>
void CopyData(const std::array<uint8_t, N>& from, capnp::Data::Builder&& to) {
  std::memcpy(to.begin(), from.data(), N);
}

template <size_t N>
bool ReadFixed(capnp::Data::Reader data, std::array<uint8_t, N>& out) {
  if (data.size() != N) return false;
  std::memcpy(out.data(), data.begin(), N);
  return true;
}

}  // namespace

const char* EntryErrorName(EntryError e) {
  switch (e) {
    case EntryError::kNone: return "none";
    case EntryError::kMalformed: return "malformed entry";
    case EntryError::kPayloadMismatch: return "payload does not match its hash";
    case EntryError::kWithheldPayload: return "payload withheld";
    case EntryError::kMalformedPayload: return "payload is not a valid record";
    case EntryError::kBadSignature: return "bad signature";
    case EntryError::kGap: return "gap in feed";
    case EntryError::kPrevMismatch: return "prev hash does not match";
    case EntryError::kFork: return "fork";
    case EntryError::kForkedFeed: return "feed has a fork report";
    case EntryError::kOutOfOrder: return "feed out of seq order in the batch";
    case EntryError::kMissingDependency: return "context names an entry not held";
    case EntryError::kBadContext: return "context breaks its author's own order";
    case EntryError::kTooManyVersions: return "too many versions of one record";
    case EntryError::kNotAuthorized: return "not authorized by the network's certificates";
    case EntryError::kRevoked: return "past its author's revocation cut-off";
  }
  return "?";
}

Bytes EncodeHeader(const EntryHeader& h) {
  NCEN_CHECK(h.context.dots.size() <= kContextDotsMax);
  capnp::MallocMessageBuilder message(256);
  auto b = message.initRoot<schema::EntryHeader>();
  b.setFormatVersion(h.format_version);
  CopyData(h.author, b.initAuthor(32));
  b.setScope(static_cast<schema::Scope>(h.scope));
  b.setSeq(h.seq);
  CopyData(h.prev, b.initPrev(32));
  b.setTimestampMs(h.timestamp_ms);
  CopyData(h.record_id, b.initRecordId(16));
  b.setRecordType(static_cast<schema::RecordType>(h.record_type));
  b.setOp(static_cast<schema::Op>(h.op));
  auto ctx = b.initContext(static_cast<unsigned>(h.context.dots.size()));
  for (size_t i = 0; i < h.context.dots.size(); ++i) {
    CopyData(h.context.dots[i].author, ctx[i].initAuthor(32));
    ctx[i].setSeq(h.context.dots[i].seq);
  }
  CopyData(h.payload_hash, b.initPayloadHash(32));
  b.setPayloadSize(h.payload_size);
  return MessageBytes(message);
}

// Field-by-field checks of a header that decoded as Cap'n Proto.
static Result<EntryHeader> ReadHeader(schema::EntryHeader::Reader r) {
  EntryHeader h;
  h.format_version = r.getFormatVersion();
  if (h.format_version != kEntryFormatVersion && h.format_version != kNetworkEntryFormatVersion) {
    return Corruption("entry header format version " + std::to_string(h.format_version) +
                      " is not supported");
  }
  if (!ReadFixed(r.getAuthor(), h.author)) return Corruption("entry header: author is not 32 bytes");
  auto scope = static_cast<uint16_t>(r.getScope());
  if (scope >= kFeedScopeCount) return Corruption("entry header: unknown scope");
  // Format 1 is records (national, regional, global); format 2 adds scope
  // network, and only that (docs/log-format.md §2).
  if ((scope == static_cast<uint16_t>(Scope::kNetwork)) != (h.format_version == kNetworkEntryFormatVersion)) {
    return Corruption("entry header: scope " + std::string(ScopeName(static_cast<Scope>(scope))) +
                      " in format version " + std::to_string(h.format_version));
  }
  h.scope = static_cast<Scope>(scope);
  h.seq = r.getSeq();
  if (h.seq == 0) return Corruption("entry header: seq 0");
  if (!ReadFixed(r.getPrev(), h.prev)) return Corruption("entry header: prev is not 32 bytes");
  h.timestamp_ms = r.getTimestampMs();
  if (!ReadFixed(r.getRecordId(), h.record_id)) {
    return Corruption("entry header: record id is not 16 bytes");
  }
  auto type = static_cast<uint16_t>(r.getRecordType());
  bool network = h.scope == Scope::kNetwork;
  if (!IsEntryTypeCode(type) || !TypeAllowedInScope(static_cast<RecordType>(type), h.scope)) {
    return Corruption("entry header: record type " + std::to_string(type) + " is not allowed in scope " +
                      ScopeName(h.scope));
  }
  h.record_type = static_cast<RecordType>(type);
  auto op = static_cast<uint16_t>(r.getOp());
  if (op > static_cast<uint16_t>(Op::kResolve)) return Corruption("entry header: unknown op");
  if (op == static_cast<uint16_t>(Op::kPurge)) {
    return Corruption("entry header: op purge is reserved and not accepted in format version 1");
  }
  h.op = static_cast<Op>(op);
  if (network && h.op != Op::kPut) return Corruption("entry header: a network entry's op must be put");
  auto ctx = r.getContext();
  if (ctx.size() > kContextDotsMax) {
    return Corruption("entry header: context of " + std::to_string(ctx.size()) + " dots (at most " +
                      std::to_string(kContextDotsMax) + ")");
  }
  h.context.dots.reserve(ctx.size());
  for (auto d : ctx) {
    Dot dot;
    if (!ReadFixed(d.getAuthor(), dot.author)) {
      return Corruption("entry header: context author is not 32 bytes");
    }
    dot.seq = d.getSeq();
    if (dot.seq == 0) return Corruption("entry header: context dot with seq 0");
    if (!h.context.dots.empty() && !(h.context.dots.back().author < dot.author)) {
      return Corruption("entry header: context is not sorted by author");
    }
    h.context.dots.push_back(dot);
  }
  if (!ReadFixed(r.getPayloadHash(), h.payload_hash)) {
    return Corruption("entry header: payload hash is not 32 bytes");
  }
  // A message is written once and never edited or deleted, by anyone
  // (docs/messages.md §1): a put of a new record, naming no version.
  if (h.record_type == RecordType::kMessage && (h.op != Op::kPut || !h.context.dots.empty())) {
    return Corruption("entry header: a message is written once (op put, no context); this one edits or deletes one");
  }
  h.payload_size = r.getPayloadSize();
  if (h.payload_size > kPayloadBytesMax) return Corruption("entry header: payload over 1 MiB");
  return h;
}

Result<EntryHeader> DecodeHeader(ByteView bytes) {
  if (bytes.size() > kHeaderBytesMax) return Corruption("entry header exceeds 64 KiB");
  NCEN_ASSIGN_OR_RETURN(
      EntryHeader h,
      ReadMessage<EntryHeader>(bytes, "entry header", 8, [](capnp::MessageReader& reader) {
        return ReadHeader(reader.getRoot<schema::EntryHeader>());
      }));
  if (h.seq == 1 && !crypto::IsZero(h.prev)) return Corruption("entry header: seq 1 with a prev hash");
  return h;
}

Result<HeaderHashFields> LocateHeaderHashes(ByteView bytes) {
  if (bytes.size() > kHeaderBytesMax) return Corruption("entry header exceeds 64 KiB");
  return ReadMessage<HeaderHashFields>(
      bytes, "entry header", 8, [&](capnp::MessageReader& reader) -> Result<HeaderHashFields> {
        auto r = reader.getRoot<schema::EntryHeader>();
        auto author = r.getAuthor();
        auto prev = r.getPrev();
        auto payload_hash = r.getPayloadHash();
        if (author.size() != 32 || prev.size() != 32 || payload_hash.size() != 32) {
          return Corruption("entry header: a key or hash is not 32 bytes");
        }
        auto scope = r.getScope();
        if (static_cast<unsigned>(scope) > static_cast<unsigned>(Scope::kNetwork)) {
          return Corruption("entry header: unknown scope");
        }
        // The reader reads a copy of `bytes`, word for word, one segment
        // after an 8-byte segment table: offsets carry over.
        const auto* segment = reinterpret_cast<const uint8_t*>(reader.getSegment(0).begin());
        auto offset = [&](const capnp::Data::Reader& d) {
          return static_cast<size_t>(reinterpret_cast<const uint8_t*>(d.begin()) - segment) + 8;
        };
        HeaderHashFields f;
        std::memcpy(f.feed.author.data(), author.begin(), 32);
        f.feed.scope = static_cast<Scope>(scope);
        f.seq = r.getSeq();
        f.prev_at = offset(prev);
        f.payload_hash_at = offset(payload_hash);
        if (f.prev_at + 32 > bytes.size() || f.payload_hash_at + 32 > bytes.size()) {
          return Corruption("entry header: a hash lies outside its bytes");
        }
        return f;
      });
}

Result<int64_t> HeaderTimestamp(ByteView bytes) {
  return ReadMessage<int64_t>(bytes, "entry header", 8, [](capnp::MessageReader& reader) {
    return Result<int64_t>(reader.getRoot<schema::EntryHeader>().getTimestampMs());
  });
}

Result<int64_t> HeaderOrder(ByteView bytes, std::vector<Dot>& deps) {
  return ReadMessage<int64_t>(bytes, "entry header", 8, [&](capnp::MessageReader& reader) -> Result<int64_t> {
    auto r = reader.getRoot<schema::EntryHeader>();
    auto author = r.getAuthor();
    for (auto d : r.getContext()) {
      Dot dot;
      if (!ReadFixed(d.getAuthor(), dot.author)) return Corruption("entry header: context author is not 32 bytes");
      if (author.size() == 32 && std::memcmp(author.begin(), dot.author.data(), 32) == 0) continue;
      dot.seq = d.getSeq();
      deps.push_back(dot);
    }
    return r.getTimestampMs();
  });
}

Hash256 EntryHash(ByteView header_bytes, const Signature& signature) {
  crypto::Blake2bHasher h;
  h.Update(header_bytes);
  h.Update(signature);
  return h.Final();
}

Entry MakeEntry(EntryHeader header, Bytes payload, const crypto::Identity& signer) {
  header.payload_hash = crypto::Blake2b256(payload);
  header.payload_size = static_cast<uint32_t>(payload.size());
  Entry e;
  e.header_bytes = EncodeHeader(header);
  e.signature = signer.Sign(e.header_bytes);
  e.has_payload = true;
  e.payload = std::move(payload);
  e.header = std::move(header);
  return e;
}

Result<SignedHeader> MakeSignedHeader(ByteView header_bytes, const Signature& signature) {
  SignedHeader h;
  h.header_bytes.assign(header_bytes.begin(), header_bytes.end());
  h.signature = signature;
  NCEN_ASSIGN_OR_RETURN(h.header, DecodeHeader(h.header_bytes));
  return h;
}

SignedHeader SignedHeaderOf(const Entry& entry) {
  return SignedHeader{entry.header_bytes, entry.signature, entry.header};
}

Status VerifyForkEvidence(const SignedHeader& a, const SignedHeader& b) {
  if (a.header.feed() != b.header.feed() || a.header.seq != b.header.seq) {
    return Unauthenticated("fork evidence: the two headers are not at one (author, scope, seq)");
  }
  if (a.hash() == b.hash()) return Unauthenticated("fork evidence: the two headers are the same entry");
  if (!a.SignatureValid() || !b.SignatureValid()) {
    return Unauthenticated("fork evidence: a signature does not verify against the author");
  }
  return Status::Ok();
}

Status CheckPayload(const Entry& entry) {
  if (!entry.has_payload) return Status::Ok();
  if (entry.payload.size() != entry.header.payload_size) {
    return Corruption("payload size " + std::to_string(entry.payload.size()) +
                      " differs from the header's " + std::to_string(entry.header.payload_size));
  }
  if (crypto::Blake2b256(entry.payload) != entry.header.payload_hash) {
    return Corruption("payload does not match the header's payload hash");
  }
  return Status::Ok();
}

bool CheckSignature(const Entry& entry) {
  return crypto::Verify(entry.header.author, entry.header_bytes, entry.signature);
}

// Transfer form (docs/log-format.md §5): header_len u32 | header |
// signature[64] | flags u8 | payload_len u32 | payload.
namespace {
constexpr size_t kLengthBytes = 4;
constexpr size_t kFlagsBytes = 1;
constexpr uint8_t kPayloadPresent = 0x01;
constexpr size_t kSignatureAt = kLengthBytes;  // + header_len
constexpr size_t kFlagsAt = kSignatureAt + limits::kSignatureBytes;  // + header_len
constexpr size_t kPayloadLengthAt = kFlagsAt + kFlagsBytes;  // + header_len
static_assert(kPayloadLengthAt + kLengthBytes == limits::kTransferOverheadBytes);
}  // namespace

void AppendEncodedEntry(const Entry& e, Bytes& out) {
  AppendU32BE(out, static_cast<uint32_t>(e.header_bytes.size()));
  Append(out, e.header_bytes);
  Append(out, e.signature);
  out.push_back(e.has_payload ? kPayloadPresent : 0);
  AppendU32BE(out, static_cast<uint32_t>(e.has_payload ? e.payload.size() : 0));
  if (e.has_payload) Append(out, e.payload);
}

Bytes EncodeEntry(const Entry& entry) {
  Bytes out;
  out.reserve(limits::kTransferOverheadBytes + entry.header_bytes.size() + entry.payload.size());
  AppendEncodedEntry(entry, out);
  return out;
}

Result<Entry> DecodeEntry(ByteView& in) {
  auto truncated = [] { return Corruption("entry is truncated"); };
  if (in.size() < kLengthBytes) return truncated();
  size_t header_len = GetU32BE(in.data());
  if (header_len > kHeaderBytesMax) return Corruption("entry header length exceeds 64 KiB");
  if (in.size() < limits::kTransferOverheadBytes + header_len) return truncated();
  Entry e;
  e.header_bytes.assign(in.data() + kLengthBytes, in.data() + kLengthBytes + header_len);
  std::memcpy(e.signature.data(), in.data() + kSignatureAt + header_len, limits::kSignatureBytes);
  uint8_t flags = in[kFlagsAt + header_len];
  if (flags & ~kPayloadPresent) return Corruption("entry flags byte has unknown bits");
  e.has_payload = flags & kPayloadPresent;
  size_t payload_len = GetU32BE(in.data() + kPayloadLengthAt + header_len);
  if (payload_len > kPayloadBytesMax) return Corruption("entry payload length exceeds 1 MiB");
  if (!e.has_payload && payload_len != 0) return Corruption("withheld payload with a length");
  size_t payload_at = limits::kTransferOverheadBytes + header_len;
  if (in.size() - payload_at < payload_len) return truncated();
  e.payload.assign(in.data() + payload_at, in.data() + payload_at + payload_len);
  NCEN_ASSIGN_OR_RETURN(e.header, DecodeHeader(e.header_bytes));
  in = in.subspan(payload_at + payload_len);
  return e;
}

}  // namespace ncen::storage
