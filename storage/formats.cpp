#include "storage/formats.h"

#include <cstring>

#include "base/text.h"
#include "storage/store.h"

namespace ncen::storage::format {

namespace {

template <size_t N>
void Take(std::array<uint8_t, N>& out, const uint8_t* from) {
  std::memcpy(out.data(), from, N);
}

}  // namespace

// ---------------------------------------------------------------------------
// Keys

Bytes FeedKey(const FeedId& feed) {
  Bytes k(feed.author.begin(), feed.author.end());
  k.push_back(static_cast<uint8_t>(feed.scope));
  return k;
}

std::optional<FeedId> ParseFeedKey(ByteView key) {
  if (key.size() != kFeedKeyBytes || key[kKeyBytes] >= kFeedScopeCount) return std::nullopt;
  FeedId feed;
  Take(feed.author, key.data());
  feed.scope = static_cast<Scope>(key[kKeyBytes]);
  return feed;
}

std::array<uint8_t, kLogKeyBytes> LogKey(uint32_t feed_index, uint64_t seq) {
  std::array<uint8_t, kLogKeyBytes> k;
  PutU32BE(k.data(), feed_index);
  PutU64BE(k.data() + kU32Bytes, seq);
  return k;
}

std::optional<LogKeyParts> ParseLogKey(ByteView key) {
  if (key.size() != kLogKeyBytes) return std::nullopt;
  return LogKeyParts{GetU32BE(key.data()), GetU64BE(key.data() + kU32Bytes)};
}

std::array<uint8_t, kU32Bytes> U32Key(uint32_t v) {
  std::array<uint8_t, kU32Bytes> k;
  PutU32BE(k.data(), v);
  return k;
}

std::array<uint8_t, kU64Bytes> U64Key(uint64_t v) {
  std::array<uint8_t, kU64Bytes> k;
  PutU64BE(k.data(), v);
  return k;
}

Bytes ForkKey(const FeedId& feed, uint64_t seq) {
  Bytes key = FeedKey(feed);
  AppendU64BE(key, seq);
  return key;
}

Bytes IndexKey(const std::string& term, const RecordId& id) {
  Bytes k(term.begin(), term.end());
  k.push_back(0);
  k.insert(k.end(), id.begin(), id.end());
  return k;
}

// ---------------------------------------------------------------------------
// Values

Bytes EncodeFeedValue(const FeedValue& f) {
  Bytes v;
  v.reserve(kFeedValueBytes);
  AppendU32BE(v, f.index);
  AppendU64BE(v, f.seq);
  Append(v, f.head);
  return v;
}

std::optional<FeedValue> ParseFeedValue(ByteView v) {
  if (v.size() != kFeedValueBytes) return std::nullopt;
  FeedValue f;
  f.index = GetU32BE(v.data());
  f.seq = GetU64BE(v.data() + kU32Bytes);
  Take(f.head, v.data() + kU32Bytes + kU64Bytes);
  return f;
}

Bytes EncodeLogValue(ByteView header, const Signature& signature, const ByteView* payload) {
  Bytes v;
  v.reserve(kLogValueFixedBytes + header.size() + (payload ? payload->size() : 0));
  v.push_back(payload ? kLogPayloadPresent : 0);
  AppendU32BE(v, static_cast<uint32_t>(header.size()));
  Append(v, header);
  Append(v, signature);
  if (payload) Append(v, *payload);
  return v;
}

std::optional<LogValue> ParseLogValue(ByteView v) {
  if (v.size() < kLogValueFixedBytes || v[0] > kLogPayloadPresent) return std::nullopt;
  size_t header_bytes = GetU32BE(v.data() + kU8Bytes);
  if (v.size() - kLogValueFixedBytes < header_bytes) return std::nullopt;
  LogValue out;
  out.has_payload = v[0] & kLogPayloadPresent;
  out.header = v.subspan(kLogValueHeaderAt, header_bytes);
  Take(out.signature, v.data() + kLogValueHeaderAt + header_bytes);
  out.payload = v.subspan(kLogValueFixedBytes + header_bytes);
  if (!out.has_payload && !out.payload.empty()) return std::nullopt;
  return out;
}

// Transfer form: u32 header length | header | signature | flags | u32
// payload length | payload (entry.h).
size_t TransferFormSize(const LogValue& value) {
  return limits::kTransferOverheadBytes + value.header.size() + value.payload.size();
}

size_t AppendTransferForm(const LogValue& value, Bytes& out) {
  size_t size = TransferFormSize(value);
  size_t at = out.size();
  out.resize(at + size);
  uint8_t* p = out.data() + at;
  PutU32BE(p, static_cast<uint32_t>(value.header.size()));
  p += kU32Bytes;
  std::memcpy(p, value.header.data(), value.header.size());
  p += value.header.size();
  std::memcpy(p, value.signature.data(), kSignatureBytes);
  p += kSignatureBytes;
  *p++ = value.has_payload ? kLogPayloadPresent : 0;
  PutU32BE(p, static_cast<uint32_t>(value.payload.size()));
  p += kU32Bytes;
  if (!value.payload.empty()) std::memcpy(p, value.payload.data(), value.payload.size());
  return size;
}

Result<Entry> DecodeStoredEntry(ByteView v) {
  auto value = ParseLogValue(v);
  if (!value) return Corruption("log value does not decode");
  Entry e;
  e.has_payload = value->has_payload;
  e.header_bytes.assign(value->header.begin(), value->header.end());
  e.signature = value->signature;
  e.payload.assign(value->payload.begin(), value->payload.end());
  NCEN_ASSIGN_OR_RETURN(e.header, DecodeHeader(e.header_bytes));
  return e;
}

Bytes EncodeChangeValue(const ChangeValue& c) {
  Bytes v;
  v.reserve(kChangeValueBytes);
  AppendU32BE(v, c.feed_index);
  AppendU64BE(v, c.seq);
  Append(v, c.record);
  return v;
}

std::optional<ChangeValue> ParseChangeValue(ByteView v) {
  if (v.size() != kChangeValueBytes) return std::nullopt;
  ChangeValue c;
  c.feed_index = GetU32BE(v.data());
  c.seq = GetU64BE(v.data() + kU32Bytes);
  Take(c.record, v.data() + kU32Bytes + kU64Bytes);
  return c;
}

void AppendSignedHeader(Bytes& out, const SignedHeader& h) {
  AppendU32BE(out, static_cast<uint32_t>(h.header_bytes.size()));
  if (h.header_bytes.empty()) return;
  Append(out, h.header_bytes);
  Append(out, h.signature);
}

Result<std::optional<SignedHeader>> ReadSignedHeader(ByteView& in) {
  auto corrupt = [] { return Corruption("signed header does not decode"); };
  if (in.size() < kU32Bytes) return corrupt();
  size_t len = GetU32BE(in.data());
  if (len == 0) {
    in = in.subspan(kU32Bytes);
    return std::optional<SignedHeader>();
  }
  if (len > kHeaderBytesMax || in.size() - kU32Bytes < len + kSignatureBytes) return corrupt();
  Signature sig;
  Take(sig, in.data() + kU32Bytes + len);
  NCEN_ASSIGN_OR_RETURN(SignedHeader h, MakeSignedHeader(in.subspan(kU32Bytes, len), sig));
  in = in.subspan(kU32Bytes + len + kSignatureBytes);
  return std::optional<SignedHeader>(std::move(h));
}

Bytes EncodeForkValue(const ForkReport& f) {
  Bytes v{kForkValueVersion};
  Append(v, f.ours);
  Append(v, f.theirs);
  AppendU64BE(v, static_cast<uint64_t>(f.detected_ms));
  std::string source = SanitizeText(f.source, kForkSourceBytesMax);
  v.push_back(static_cast<uint8_t>(source.size() >> 8));
  v.push_back(static_cast<uint8_t>(source.size()));
  Append(v, AsBytes(source));
  AppendSignedHeader(v, f.a);
  AppendSignedHeader(v, f.b);
  return v;
}

static Status ReadForkKey(ByteView key, ForkReport& f) {
  if (key.size() != kForkKeyBytes) return Corruption("fork report key does not decode");
  auto feed = ParseFeedKey(key.first(kFeedKeyBytes));
  if (!feed) return Corruption("fork report key does not decode");
  f.feed = *feed;
  f.seq = GetU64BE(key.data() + kFeedKeyBytes);
  return Status::Ok();
}

Result<ForkReport> ParseForkValue(ByteView key, ByteView v) {
  auto corrupt = [] { return Corruption("fork report does not decode"); };
  ForkReport f;
  NCEN_RETURN_IF_ERROR(ReadForkKey(key, f));
  if (v.size() < kForkSourceAt || v[0] != kForkValueVersion) return corrupt();
  Take(f.ours, v.data() + kU8Bytes);
  Take(f.theirs, v.data() + kU8Bytes + kHashBytes);
  f.detected_ms = static_cast<int64_t>(GetU64BE(v.data() + kU8Bytes + 2 * kHashBytes));
  size_t source_len = size_t{v[kForkSourceAt - 2]} << 8 | v[kForkSourceAt - 1];
  if (v.size() - kForkSourceAt < source_len) return corrupt();
  f.source.assign(reinterpret_cast<const char*>(v.data() + kForkSourceAt), source_len);
  ByteView rest = v.subspan(kForkSourceAt + source_len);
  NCEN_ASSIGN_OR_RETURN(auto a, ReadSignedHeader(rest));
  NCEN_ASSIGN_OR_RETURN(auto b, ReadSignedHeader(rest));
  if (!rest.empty() || a.has_value() != b.has_value()) return corrupt();
  if (a) {
    f.a = std::move(*a);
    f.b = std::move(*b);
    if (f.a.header.feed() != f.feed || f.b.header.feed() != f.feed || f.a.header.seq != f.seq ||
        f.b.header.seq != f.seq) {
      return corrupt();
    }
  }
  return f;
}

Result<ForkReport> ParseForkValueV1(ByteView key, ByteView v) {
  constexpr size_t kSourceAt = 2 * kHashBytes + kU64Bytes;
  ForkReport f;
  NCEN_RETURN_IF_ERROR(ReadForkKey(key, f));
  if (v.size() < kSourceAt) return Corruption("fork report does not decode");
  Take(f.ours, v.data());
  Take(f.theirs, v.data() + kHashBytes);
  f.detected_ms = static_cast<int64_t>(GetU64BE(v.data() + 2 * kHashBytes));
  f.source.assign(reinterpret_cast<const char*>(v.data() + kSourceAt), v.size() - kSourceAt);
  return f;
}

}  // namespace ncen::storage::format
