#include "storage/peer_status.h"

#include <algorithm>

#include "base/text.h"
#include "storage/store_internal.h"

namespace ncen::storage {

namespace {

// 2 added the blob counters after bytes_out.
constexpr uint8_t kPeerValueVersion = 2;
constexpr size_t kShortTextBytesMax = 255;   // name, address: u8 length
constexpr size_t kErrorTextBytesMax = 1024;  // last_error, reason: u16 length
constexpr size_t kFrontierFeedBytes = 32 + 1 + 8 + 32;

void AppendText8(Bytes& out, std::string_view text) {
  out.push_back(static_cast<uint8_t>(text.size()));
  Append(out, AsBytes(text));
}

// Error texts may quote a peer: stored as valid UTF-8 without control
// characters, cut on a character boundary.
void AppendText16(Bytes& out, std::string_view text) {
  std::string clean = SanitizeText(text, kErrorTextBytesMax);
  out.push_back(static_cast<uint8_t>(clean.size() >> 8));
  out.push_back(static_cast<uint8_t>(clean.size()));
  Append(out, AsBytes(clean));
}

// Reads a value front to back; any read past the end makes ok() false.
class ValueReader {
 public:
  explicit ValueReader(ByteView v) : v_(v) {}
  bool ok() const { return ok_; }
  bool done() const { return ok_ && v_.empty(); }
  size_t remaining() const { return v_.size(); }

  ByteView Take(size_t n) {
    if (!ok_ || v_.size() < n) {
      ok_ = false;
      return {};
    }
    ByteView out = v_.first(n);
    v_ = v_.subspan(n);
    return out;
  }
  uint8_t U8() {
    ByteView b = Take(1);
    return ok_ ? b[0] : 0;
  }
  uint16_t U16() {
    ByteView b = Take(2);
    return ok_ ? static_cast<uint16_t>(b[0] << 8 | b[1]) : 0;
  }
  uint32_t U32() {
    ByteView b = Take(4);
    return ok_ ? GetU32BE(b.data()) : 0;
  }
  uint64_t U64() {
    ByteView b = Take(8);
    return ok_ ? GetU64BE(b.data()) : 0;
  }
  template <size_t N>
  void Fixed(std::array<uint8_t, N>& out) {
    ByteView b = Take(N);
    if (ok_) std::copy(b.begin(), b.end(), out.begin());
  }
  std::string Text(size_t length) { return std::string(AsChars(Take(length))); }

 private:
  ByteView v_;
  bool ok_ = true;
};

Status CheckShortText(const char* what, const std::string& text) {
  if (text.size() > kShortTextBytesMax) {
    return InvalidArgument(std::string(what) + " is over " + std::to_string(kShortTextBytesMax) +
                           " bytes");
  }
  return Status::Ok();
}

Status CheckPeerStatus(const PeerStatus& s) {
  NCEN_RETURN_IF_ERROR(CheckShortText("peer status name", s.name));
  NCEN_RETURN_IF_ERROR(CheckShortText("peer status address", s.address));
  if (s.peer_frontier.size() > PeerLedger::kFrontierFeedsMax) {
    return InvalidArgument("peer frontier has over " +
                           std::to_string(PeerLedger::kFrontierFeedsMax) + " feeds");
  }
  return Status::Ok();
}

}  // namespace

Bytes EncodePeerStatus(const PeerStatus& s) {
  Bytes v;
  v.reserve(64 + s.name.size() + s.address.size() + s.last_error.size() +
            s.peer_frontier.size() * kFrontierFeedBytes);
  v.push_back(kPeerValueVersion);
  v.push_back(s.connected ? 1 : 0);
  for (int64_t ms : {s.connected_since_ms, s.last_sync_ms, s.updated_ms}) {
    AppendU64BE(v, static_cast<uint64_t>(ms));
  }
  for (uint64_t n : {s.behind, s.ahead, s.bytes_in, s.bytes_out}) AppendU64BE(v, n);
  for (uint64_t n : {s.blobs_pending, s.blob_bytes_pending, s.blob_bytes_in_flight, s.blob_bytes_received,
                     s.blob_bytes_sent}) {
    AppendU64BE(v, n);
  }
  AppendText8(v, s.name);
  AppendText8(v, s.address);
  AppendText16(v, s.last_error);
  AppendU32BE(v, static_cast<uint32_t>(s.peer_frontier.size()));
  for (const FeedHead& f : s.peer_frontier) {
    Append(v, f.feed.author);
    v.push_back(static_cast<uint8_t>(f.feed.scope));
    AppendU64BE(v, f.seq);
    Append(v, f.head);
  }
  return v;
}

Result<PeerStatus> DecodePeerStatus(const PublicKey& id, ByteView value) {
  auto bad = [&](const std::string& why) {
    return Corruption("peer status of " + crypto::Fingerprint(id) + " does not decode: " + why);
  };
  ValueReader r(value);
  uint8_t version = r.U8();
  if (r.ok() && version != 1 && version != kPeerValueVersion) return bad("version " + std::to_string(version));
  PeerStatus s;
  s.id = id;
  uint8_t flags = r.U8();
  if (r.ok() && flags > 1) return bad("unknown flag bits");
  s.connected = flags & 1;
  s.connected_since_ms = static_cast<int64_t>(r.U64());
  s.last_sync_ms = static_cast<int64_t>(r.U64());
  s.updated_ms = static_cast<int64_t>(r.U64());
  s.behind = r.U64();
  s.ahead = r.U64();
  s.bytes_in = r.U64();
  s.bytes_out = r.U64();
  if (version >= 2) {
    s.blobs_pending = r.U64();
    s.blob_bytes_pending = r.U64();
    s.blob_bytes_in_flight = r.U64();
    s.blob_bytes_received = r.U64();
    s.blob_bytes_sent = r.U64();
  }
  s.name = r.Text(r.U8());
  s.address = r.Text(r.U8());
  uint16_t error_bytes = r.U16();
  if (r.ok() && error_bytes > kErrorTextBytesMax) return bad("last_error is too long");
  s.last_error = r.Text(error_bytes);
  uint32_t feeds = r.U32();
  if (!r.ok()) return bad("truncated");
  if (r.remaining() != size_t{feeds} * kFrontierFeedBytes) {
    return bad("frontier of " + std::to_string(feeds) + " feeds does not fill the value");
  }
  s.peer_frontier.resize(feeds);
  for (FeedHead& f : s.peer_frontier) {
    r.Fixed(f.feed.author);
    uint8_t scope = r.U8();
    if (scope >= kFeedScopeCount) return bad("scope " + std::to_string(scope));
    f.feed.scope = static_cast<Scope>(scope);
    f.seq = r.U64();
    r.Fixed(f.head);
  }
  if (!r.done()) return bad("truncated");
  return s;
}

Bytes EncodeRefused(const RefusedAttempt& a) {
  Bytes v;
  v.push_back(kPeerValueVersion);
  Append(v, a.id);
  AppendU64BE(v, static_cast<uint64_t>(a.at_ms));
  AppendText8(v, a.address);
  AppendText16(v, a.reason);
  return v;
}

Result<RefusedAttempt> DecodeRefused(ByteView value) {
  ValueReader r(value);
  if (r.U8() != kPeerValueVersion || !r.ok()) return Corruption("refused attempt: unknown version");
  RefusedAttempt a;
  r.Fixed(a.id);
  a.at_ms = static_cast<int64_t>(r.U64());
  a.address = r.Text(r.U8());
  uint16_t reason_bytes = r.U16();
  if (r.ok() && reason_bytes > kErrorTextBytesMax)
    return Corruption("refused attempt: reason is too long");
  a.reason = r.Text(reason_bytes);
  if (!r.done()) return Corruption("refused attempt does not decode");
  return a;
}

Status PeerLedger::Put(const PeerStatus& status) { return Put({&status, 1}); }

Status PeerLedger::Put(std::span<const PeerStatus> statuses) {
  for (const PeerStatus& s : statuses) NCEN_RETURN_IF_ERROR(CheckPeerStatus(s));
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*store_.env_, true));
  for (const PeerStatus& s : statuses) {
    NCEN_RETURN_IF_ERROR(txn.Put(store_.dbs_->peers, keys::Peer(s.id), EncodePeerStatus(s)));
  }
  return txn.Commit();
}

Status PeerLedger::Delete(const PublicKey& id) {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*store_.env_, true));
  NCEN_RETURN_IF_ERROR(txn.Del(store_.dbs_->peers, keys::Peer(id)));
  return txn.Commit();
}

Result<std::vector<PeerStatus>> PeerLedger::All() const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*store_.env_, false));
  NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, store_.dbs_->peers));
  std::vector<PeerStatus> out;
  const uint8_t kind = keys::kPeerStatusKind;
  for (c.Seek({&kind, 1}); c.Valid() && c.key()[0] == kind; c.Next()) {
    if (c.key().size() != 33) return Corruption("peers key of kind 's' is not 33 bytes");
    PublicKey id;
    std::copy(c.key().begin() + 1, c.key().end(), id.begin());
    NCEN_ASSIGN_OR_RETURN(PeerStatus s, DecodePeerStatus(id, c.value()));
    out.push_back(std::move(s));
  }
  NCEN_RETURN_IF_ERROR(c.status());
  return out;
}

Status PeerLedger::RecordRefused(std::span<const RefusedAttempt> attempts) {
  for (const RefusedAttempt& a : attempts) {
    NCEN_RETURN_IF_ERROR(CheckShortText("refused attempt address", a.address));
  }
  if (attempts.empty()) return Status::Ok();
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*store_.env_, true));
  std::vector<uint64_t> numbers;  // oldest first
  {
    NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, store_.dbs_->peers));
    const uint8_t kind = keys::kRefusedKind;
    for (c.Seek({&kind, 1}); c.Valid() && c.key()[0] == kind; c.Next()) {
      if (c.key().size() != 9) return Corruption("peers key of kind 'r' is not 9 bytes");
      numbers.push_back(GetU64BE(c.key().data() + 1));
    }
    NCEN_RETURN_IF_ERROR(c.status());
  }
  for (const RefusedAttempt& a : attempts) {
    uint64_t next = numbers.empty() ? 1 : numbers.back() + 1;
    NCEN_RETURN_IF_ERROR(txn.Put(store_.dbs_->peers, keys::Refused(next), EncodeRefused(a)));
    numbers.push_back(next);
  }
  for (size_t i = 0; i + kRefusedKept < numbers.size(); ++i) {
    NCEN_RETURN_IF_ERROR(txn.Del(store_.dbs_->peers, keys::Refused(numbers[i])));
  }
  return txn.Commit();
}

Result<std::vector<RefusedAttempt>> PeerLedger::Refused(size_t limit) const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*store_.env_, false));
  NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, store_.dbs_->peers));
  std::vector<RefusedAttempt> out;
  // Newest first: from the last 'r' key backwards.
  const uint8_t past = keys::kRefusedKind + 1;
  c.Seek({&past, 1});
  if (c.Valid())
    c.Prev();
  else
    c.Last();
  for (; c.Valid() && c.key()[0] == keys::kRefusedKind && out.size() < limit; c.Prev()) {
    NCEN_ASSIGN_OR_RETURN(RefusedAttempt a, DecodeRefused(c.value()));
    out.push_back(std::move(a));
  }
  NCEN_RETURN_IF_ERROR(c.status());
  return out;
}

}  // namespace ncen::storage
