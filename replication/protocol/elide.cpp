#include "replication/protocol/elide.h"

#include <cstring>
#include <map>

#include "base/limits.h"
#include "crypto/hash.h"

namespace ncen::replication {

namespace {

// One entry's transfer form, located in a buffer.
struct Located {
  size_t header_at = 0, header_len = 0;
  size_t flags_at = 0;
  size_t payload_at = 0, payload_len = 0;
  size_t end = 0;
};

std::optional<Located> Locate(ByteView entries, size_t at) {
  if (entries.size() - at < limits::kTransferOverheadBytes) return std::nullopt;
  Located l;
  l.header_len = GetU32BE(entries.data() + at);
  if (l.header_len > limits::kHeaderBytesMax || entries.size() - at - limits::kTransferOverheadBytes < l.header_len) {
    return std::nullopt;
  }
  l.header_at = at + 4;
  l.flags_at = l.header_at + l.header_len + limits::kSignatureBytes;
  l.payload_len = GetU32BE(entries.data() + l.flags_at + 1);
  l.payload_at = l.flags_at + 5;
  if (l.payload_len > entries.size() - l.payload_at) return std::nullopt;
  l.end = l.payload_at + l.payload_len;
  return l;
}

}  // namespace

size_t ElideHashes(Bytes& entries) {
  size_t elided = 0;
  for (size_t at = 0; at < entries.size();) {
    auto l = Locate(entries, at);
    if (!l) break;  // not ours to fix: the receiver refuses it as it is
    at = l->end;
    auto fields = storage::LocateHeaderHashes(ByteView(entries).subspan(l->header_at, l->header_len));
    if (!fields.ok()) continue;
    uint8_t& flags = entries[l->flags_at];
    if (flags & 0x01) {
      std::memset(entries.data() + l->header_at + fields->payload_hash_at, 0, 32);
      flags |= kPayloadHashElided;
      ++elided;
    }
    if (fields->seq > 1) {
      std::memset(entries.data() + l->header_at + fields->prev_at, 0, 32);
      flags |= kPrevElided;
      ++elided;
    }
  }
  return elided;
}

bool HasElidedHashes(ByteView entries) {
  for (size_t at = 0; at < entries.size();) {
    auto l = Locate(entries, at);
    if (!l) return false;
    if (entries[l->flags_at] & (kPayloadHashElided | kPrevElided)) return true;
    at = l->end;
  }
  return false;
}

Status FillHashes(ByteView entries, const HeldHash& held, Bytes& out) {
  out.assign(entries.begin(), entries.end());
  std::map<storage::FeedId, std::pair<uint64_t, Hash256>> last;  // the batch's latest entry of each feed
  for (size_t at = 0; at < out.size();) {
    auto l = Locate(out, at);
    if (!l) return Corruption("batch entries do not parse as transfer forms");
    at = l->end;
    uint8_t& flags = out[l->flags_at];
    ByteView header(out.data() + l->header_at, l->header_len);
    auto fields = storage::LocateHeaderHashes(header);
    if (!fields.ok()) {
      if (flags & (kPayloadHashElided | kPrevElided)) return fields.status().WithContext("an entry with hashes left out");
      continue;  // refused later, as it is
    }
    if (flags & kPayloadHashElided) {
      Hash256 h = crypto::Blake2b256(ByteView(out.data() + l->payload_at, l->payload_len));
      std::memcpy(out.data() + l->header_at + fields->payload_hash_at, h.data(), 32);
    }
    if (flags & kPrevElided) {
      std::optional<Hash256> prev;
      auto it = last.find(fields->feed);
      if (it != last.end() && it->second.first + 1 == fields->seq) {
        prev = it->second.second;
      } else if (fields->seq > 1) {
        prev = held(fields->feed, fields->seq - 1);
      }
      if (prev) std::memcpy(out.data() + l->header_at + fields->prev_at, prev->data(), 32);
    }
    flags &= static_cast<uint8_t>(~(kPayloadHashElided | kPrevElided));
    crypto::Signature signature;
    std::memcpy(signature.data(), out.data() + l->header_at + l->header_len, limits::kSignatureBytes);
    last[fields->feed] = {fields->seq, storage::EntryHash(header, signature)};
  }
  return Status::Ok();
}

}  // namespace ncen::replication
