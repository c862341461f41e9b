// Blobs in the store (storage/blobs.h, docs/blobs.md §2): rows in `blobs`,
// chunks in `blob_chunks`, and the references the index holds.
#include <cstdio>
#include <cstring>
#include <set>

#include "storage/formats.h"
#include "storage/record_state.h"
#include "storage/store.h"
#include "storage/record_json.h"
#include "storage/store_internal.h"

namespace ncen::storage {

std::string BlobHashText(const Hash256& hash) { return ToHex(hash); }

std::optional<Hash256> ParseBlobHash(std::string_view text) {
  if (text.size() != 64) return std::nullopt;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  auto bytes = FromHex(text);
  if (!bytes || bytes->size() != 32) return std::nullopt;
  Hash256 h;
  std::memcpy(h.data(), bytes->data(), 32);
  return h;
}

std::string BlobTerm(char role, std::string_view hash_hex, uint32_t size) {
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", size);
  std::string t(1, kTermBlob);
  t += role;
  t += hash_hex;
  t += hex;
  return t;
}

std::optional<BlobTermParts> ParseBlobTerm(ByteView term) {
  if (term.size() != 2 + 64 + 8 || term[0] != kTermBlob) return std::nullopt;
  if (term[1] != kBlobRoleImage && term[1] != kBlobRolePreview) return std::nullopt;
  std::string_view text(reinterpret_cast<const char*>(term.data()), term.size());
  auto hash = ParseBlobHash(text.substr(2, 64));
  if (!hash) return std::nullopt;
  uint32_t size = 0;
  for (char c : text.substr(66)) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    size = size << 4 | static_cast<uint32_t>(d);
  }
  return BlobTermParts{static_cast<char>(term[1]), *hash, size};
}

uint64_t BlobInfo::bytes_held() const {
  if (complete) return size;
  uint64_t held = 0;
  for (uint32_t i = 0; i < chunks_held; ++i) held += BlobChunkSize(size, i);
  return held;
}

namespace {

// blobs value: version u8 (1) | size u64 | chunks_held u32 | flags u8
constexpr uint8_t kBlobRowVersion = 1;
constexpr uint8_t kFlagComplete = 1;
constexpr uint8_t kFlagDemanded = 2;
constexpr size_t kBlobRowBytes = 1 + 8 + 4 + 1;

Bytes EncodeBlobRow(const BlobInfo& b) {
  Bytes out{kBlobRowVersion};
  AppendU64BE(out, b.size);
  AppendU32BE(out, b.chunks_held);
  out.push_back(static_cast<uint8_t>((b.complete ? kFlagComplete : 0) | (b.demanded ? kFlagDemanded : 0)));
  return out;
}

Result<BlobInfo> DecodeBlobRow(const Hash256& hash, ByteView v) {
  if (v.size() != kBlobRowBytes || v[0] != kBlobRowVersion) return Corruption("blobs row does not decode");
  BlobInfo b;
  b.hash = hash;
  b.size = GetU64BE(v.data() + 1);
  b.chunks = BlobChunkCount(b.size);
  b.chunks_held = GetU32BE(v.data() + 9);
  b.complete = v[13] & kFlagComplete;
  b.demanded = v[13] & kFlagDemanded;
  if (b.size > kBlobBytesMax || b.chunks_held > b.chunks || (b.complete && b.chunks_held != b.chunks)) {
    return Corruption("blobs row of " + BlobHashText(hash) + " is inconsistent");
  }
  return b;
}

Bytes ChunkKey(const Hash256& hash, uint32_t index) {
  Bytes k(hash.begin(), hash.end());
  AppendU32BE(k, index);
  return k;
}

Result<std::optional<BlobInfo>> GetRow(const lmdb::Txn& txn, const Store::Dbs& dbs, const Hash256& hash) {
  NCEN_ASSIGN_OR_RETURN(auto v, txn.Get(dbs.blobs, hash));
  if (!v) return std::optional<BlobInfo>();
  NCEN_ASSIGN_OR_RETURN(BlobInfo b, DecodeBlobRow(hash, *v));
  return std::optional<BlobInfo>(b);
}

// Hashes the chunks of a blob held in `txn`; false when a chunk is missing
// or has the wrong size.
Result<std::optional<Hash256>> HashChunks(const lmdb::Txn& txn, const Store::Dbs& dbs, const BlobInfo& b) {
  crypto::Blake2bHasher hasher;
  for (uint32_t i = 0; i < b.chunks; ++i) {
    NCEN_ASSIGN_OR_RETURN(auto chunk, txn.Get(dbs.blob_chunks, ChunkKey(b.hash, i)));
    if (!chunk || chunk->size() != BlobChunkSize(b.size, i)) return std::optional<Hash256>();
    hasher.Update(*chunk);
  }
  return std::optional<Hash256>(hasher.Final());
}

Status DropChunks(lmdb::Txn& txn, const Store::Dbs& dbs, const BlobInfo& b) {
  for (uint32_t i = 0; i < b.chunks; ++i) NCEN_RETURN_IF_ERROR(txn.Del(dbs.blob_chunks, ChunkKey(b.hash, i)));
  return Status::Ok();
}

Bytes TermPrefix(std::string_view text) { return Bytes(text.begin(), text.end()); }

bool StartsWith(ByteView bytes, ByteView prefix) {
  return bytes.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), bytes.begin());
}

}  // namespace

Result<BlobInfo> Store::PutBlob(ByteView bytes) {
  if (bytes.empty()) return InvalidArgument("a blob cannot be empty");
  if (bytes.size() > kBlobBytesMax) {
    return InvalidArgument("a blob is at most " + std::to_string(kBlobBytesMax >> 20) + " MiB");
  }
  BlobInfo b;
  b.hash = crypto::Blake2b256(bytes);
  b.size = bytes.size();
  b.chunks = BlobChunkCount(b.size);
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, true));
  NCEN_ASSIGN_OR_RETURN(auto held, GetRow(txn, *dbs_, b.hash));
  if (held && held->complete) return *held;
  for (uint32_t i = 0; i < b.chunks; ++i) {
    size_t at = size_t{i} * kBlobChunkBytes;
    NCEN_RETURN_IF_ERROR(txn.Put(dbs_->blob_chunks, ChunkKey(b.hash, i), bytes.subspan(at, BlobChunkSize(b.size, i))));
  }
  b.chunks_held = b.chunks;
  b.complete = true;
  NCEN_RETURN_IF_ERROR(txn.Put(dbs_->blobs, b.hash, EncodeBlobRow(b)));
  NCEN_RETURN_IF_ERROR(txn.Commit());
  return b;
}

Result<std::optional<BlobInfo>> Store::GetBlobInfo(const Hash256& hash) const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  return GetRow(txn, *dbs_, hash);
}

Result<Bytes> Store::ReadBlob(const Hash256& hash) const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  NCEN_ASSIGN_OR_RETURN(auto b, GetRow(txn, *dbs_, hash));
  if (!b || !b->complete) return NotFound("blob " + BlobHashText(hash) + " is not held whole here");
  Bytes out;
  out.reserve(b->size);
  for (uint32_t i = 0; i < b->chunks; ++i) {
    NCEN_ASSIGN_OR_RETURN(auto chunk, txn.Get(dbs_->blob_chunks, ChunkKey(hash, i)));
    if (!chunk) return Corruption("blob " + BlobHashText(hash) + " lacks chunk " + std::to_string(i));
    Append(out, *chunk);
  }
  if (out.size() != b->size) return Corruption("blob " + BlobHashText(hash) + " has the wrong size");
  return out;
}

Status Store::ReadBlobChunks(const Hash256& hash, uint32_t first, uint32_t count, std::span<uint8_t> out) const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  NCEN_ASSIGN_OR_RETURN(auto b, GetRow(txn, *dbs_, hash));
  if (!b || !b->complete) return NotFound("blob " + BlobHashText(hash) + " is not held whole here");
  if (count == 0 || first >= b->chunks || count > b->chunks - first) {
    return InvalidArgument("blob " + BlobHashText(hash) + " has no chunks " + std::to_string(first) + "+" +
                           std::to_string(count));
  }
  size_t at = 0;
  for (uint32_t i = first; i < first + count; ++i) {
    size_t size = BlobChunkSize(b->size, i);
    if (out.size() - at < size) return InvalidArgument("room for fewer bytes than the chunks hold");
    NCEN_ASSIGN_OR_RETURN(auto chunk, txn.Get(dbs_->blob_chunks, ChunkKey(hash, i)));
    if (!chunk || chunk->size() != size) {
      return Corruption("blob " + BlobHashText(hash) + " chunk " + std::to_string(i) + " is missing or the wrong size");
    }
    std::memcpy(out.data() + at, chunk->data(), size);
    at += size;
  }
  if (at != out.size()) return InvalidArgument("room for more bytes than the chunks hold");
  return Status::Ok();
}

namespace {

// One piece inside the caller's write transaction. A hash mismatch drops the
// blob's chunks and sets `mismatch`.
Result<ChunkWrite> PutPiece(lmdb::Txn& txn, const Store::Dbs& dbs_ref, const Hash256& hash, uint32_t size,
                            uint32_t first, ByteView data, const std::optional<Hash256>& digest) {
  const Store::Dbs* dbs_ = &dbs_ref;
  if (size == 0 || size > kBlobBytesMax) return InvalidArgument("a blob of " + std::to_string(size) + " bytes");
  const uint32_t chunks = BlobChunkCount(size);
  if (first >= chunks) return InvalidArgument("chunk " + std::to_string(first) + " is past the blob's end");
  // The shape: whole chunks from `first`, the last one possibly the blob's short last chunk.
  uint32_t count = 0;
  size_t at = 0;
  while (at < data.size()) {
    uint32_t index = first + count;
    size_t want = BlobChunkSize(size, index);
    if (want == 0 || data.size() - at < want) {
      return InvalidArgument("blob data does not end on a chunk boundary of a blob of " + std::to_string(size) + " bytes");
    }
    at += want;
    ++count;
  }
  if (count == 0) return InvalidArgument("blob data holds no chunk");
  ChunkWrite result;
  NCEN_ASSIGN_OR_RETURN(auto held, GetRow(txn, *dbs_, hash));
  BlobInfo b;
  if (held) {
    b = *held;
    if (b.complete) return result;
    if (b.size != size) {
      if (b.chunks_held > 0) {
        return InvalidArgument("blob " + BlobHashText(hash) + " is recorded as " + std::to_string(b.size) +
                               " bytes, not " + std::to_string(size));
      }
      b.size = size;  // only asked for (demanded) with another size: nothing held yet
      b.chunks = chunks;
    }
  } else {
    b.hash = hash;
    b.size = size;
    b.chunks = chunks;
  }
  if (first > b.chunks_held) return result;  // in order only: asked for again from the first missing chunk
  at = 0;
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t index = first + i;
    size_t n = BlobChunkSize(size, index);
    if (index >= b.chunks_held) {
      NCEN_RETURN_IF_ERROR(txn.Put(dbs_->blob_chunks, ChunkKey(hash, index), data.subspan(at, n)));
      result.bytes_new += n;
      b.chunks_held = index + 1;
    }
    at += n;
  }
  if (b.chunks_held == b.chunks) {
    // The caller's digest of the bytes it received, when every chunk held is
    // one of them (ChunkPiece::digest): reading a blob back through the map
    // costs a page fault per 4 KiB, more than the hash itself. Otherwise the
    // chunks held are hashed.
    std::optional<Hash256> got = digest;
    if (!got || result.bytes_new != data.size()) {
      NCEN_ASSIGN_OR_RETURN(got, HashChunks(txn, *dbs_, b));
    }
    if (!got || *got != hash) {
      // Whoever sent them lied (or a reference names the wrong size): drop
      // every chunk, keep only the demand, and say so.
      NCEN_RETURN_IF_ERROR(DropChunks(txn, *dbs_, b));
      if (b.demanded) {
        b.chunks_held = 0;
        NCEN_RETURN_IF_ERROR(txn.Put(dbs_->blobs, hash, EncodeBlobRow(b)));
      } else {
        NCEN_RETURN_IF_ERROR(txn.Del(dbs_->blobs, hash));
      }
      result.bytes_new = 0;
      result.mismatch = true;
      return result;
    }
    b.complete = true;
    b.demanded = false;
    result.completed = true;
  }
  NCEN_RETURN_IF_ERROR(txn.Put(dbs_->blobs, hash, EncodeBlobRow(b)));
  return result;
}

}  // namespace

Result<std::vector<ChunkWrite>> Store::PutBlobChunks(std::span<const ChunkPiece> pieces) {
  std::vector<ChunkWrite> out;
  const uint64_t last_page = env_->LastPage();
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, true));
  std::set<Hash256> not_all_new;  // blobs with a piece in this call that was not stored whole as new
  for (const ChunkPiece& p : pieces) {
    std::optional<Hash256> digest = not_all_new.count(p.hash) ? std::nullopt : p.digest;
    NCEN_ASSIGN_OR_RETURN(ChunkWrite w, PutPiece(txn, *dbs_, p.hash, p.size, p.first, p.data, digest));
    if (w.bytes_new != p.data.size()) not_all_new.insert(p.hash);
    out.push_back(w);
  }
  NCEN_RETURN_IF_ERROR(txn.Commit());
  // Received photo chunks are cold: they leave the page cache once on disk
  // (docs/blobs.md §2).
  env_->ForgetPagesAfter(last_page);
  return out;
}

Result<ChunkWrite> Store::PutBlobChunks(const Hash256& hash, uint32_t size, uint32_t first, ByteView data) {
  ChunkPiece piece{hash, size, first, data, std::nullopt};
  NCEN_ASSIGN_OR_RETURN(auto writes, PutBlobChunks({&piece, 1}));
  if (writes[0].mismatch) {
    return Corruption("the bytes received for blob " + BlobHashText(hash) + " do not match its hash; dropped");
  }
  return writes[0];
}


Status Store::DemandBlob(const Hash256& hash, uint32_t size) {
  if (size == 0 || size > kBlobBytesMax) return InvalidArgument("a blob of " + std::to_string(size) + " bytes");
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, true));
  NCEN_ASSIGN_OR_RETURN(auto held, GetRow(txn, *dbs_, hash));
  BlobInfo b;
  if (held) {
    b = *held;
    if (b.complete || b.demanded) return Status::Ok();
  } else {
    b.hash = hash;
    b.size = size;
    b.chunks = BlobChunkCount(size);
  }
  b.demanded = true;
  NCEN_RETURN_IF_ERROR(txn.Put(dbs_->blobs, hash, EncodeBlobRow(b)));
  return txn.Commit();
}

Result<std::vector<BlobUse>> Store::BlobUses(const Hash256& hash) const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, dbs_->index));
  std::vector<BlobUse> out;
  const std::string hex = BlobHashText(hash);
  for (char role : {kBlobRolePreview, kBlobRoleImage}) {
    Bytes prefix = TermPrefix(std::string(1, kTermBlob) + role + hex);
    for (c.Seek(prefix); c.Valid() && StartsWith(c.key(), prefix); c.Next()) {
      ByteView key = c.key();
      if (key.size() != 2 + 64 + 8 + 1 + 16) return Corruption("blob index key does not decode");
      auto parts = ParseBlobTerm(key.first(2 + 64 + 8));
      if (!parts) return Corruption("blob index key does not decode");
      BlobUse use;
      std::memcpy(use.record.data(), key.data() + key.size() - 16, 16);
      use.role = role;
      use.size = parts->size;
      NCEN_ASSIGN_OR_RETURN(auto stored, txn.Get(dbs_->records, use.record));
      if (!stored) continue;
      NCEN_ASSIGN_OR_RETURN(RecordState state, DecodeRecordState(*stored));
      if (!state.live() || state.quarantined()) continue;
      use.type = state.type;
      use.scope = state.scope;
      use.author = state.Winner().dot.author;
      out.push_back(use);
    }
    NCEN_RETURN_IF_ERROR(c.status());
  }
  return out;
}

Result<std::vector<WantedBlob>> Store::WantedBlobs(size_t limit, const std::set<Hash256>* skip) const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  std::vector<WantedBlob> out;
  std::set<Hash256> seen;
  if (skip) seen = *skip;
  // Demanded blobs first: an officer is waiting for them.
  {
    NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, dbs_->blobs));
    for (c.First(); c.Valid() && out.size() < limit; c.Next()) {
      if (c.key().size() != 32) return Corruption("blobs key does not decode");
      Hash256 hash;
      std::memcpy(hash.data(), c.key().data(), 32);
      NCEN_ASSIGN_OR_RETURN(BlobInfo b, DecodeBlobRow(hash, c.value()));
      if (b.complete || !b.demanded || !seen.insert(hash).second) continue;
      out.push_back({hash, static_cast<uint32_t>(b.size), false, true, b.chunks_held});
    }
    NCEN_RETURN_IF_ERROR(c.status());
  }
  NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, dbs_->index));
  for (char role : {kBlobRolePreview, kBlobRoleImage}) {
    Bytes prefix = TermPrefix(std::string(1, kTermBlob) + role);
    for (c.Seek(prefix); c.Valid() && StartsWith(c.key(), prefix) && out.size() < limit; c.Next()) {
      ByteView key = c.key();
      if (key.size() != 2 + 64 + 8 + 1 + 16) return Corruption("blob index key does not decode");
      auto parts = ParseBlobTerm(key.first(2 + 64 + 8));
      if (!parts) return Corruption("blob index key does not decode");
      if (parts->size == 0 || parts->size > kBlobBytesMax || !seen.insert(parts->hash).second) continue;
      NCEN_ASSIGN_OR_RETURN(auto held, GetRow(txn, *dbs_, parts->hash));
      if (held && held->complete) continue;
      WantedBlob w{parts->hash, parts->size, role == kBlobRolePreview, false, 0};
      if (held && held->size == parts->size) w.chunks_held = held->chunks_held;
      out.push_back(w);
    }
    NCEN_RETURN_IF_ERROR(c.status());
  }
  return out;
}

Result<BlobTotals> Store::BlobStats() const {
  BlobTotals t;
  {
    NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
    NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, dbs_->blobs));
    for (c.First(); c.Valid(); c.Next()) {
      if (c.key().size() != 32) return Corruption("blobs key does not decode");
      Hash256 hash;
      std::memcpy(hash.data(), c.key().data(), 32);
      NCEN_ASSIGN_OR_RETURN(BlobInfo b, DecodeBlobRow(hash, c.value()));
      if (b.complete) {
        ++t.blobs;
        t.bytes += b.size;
      } else if (b.chunks_held > 0) {
        ++t.partial;
        t.partial_bytes_held += b.bytes_held();
      }
    }
    NCEN_RETURN_IF_ERROR(c.status());
  }
  NCEN_ASSIGN_OR_RETURN(auto wanted, WantedBlobs(SIZE_MAX));
  for (const WantedBlob& w : wanted) {
    ++t.missing;
    BlobInfo b;
    b.size = w.size;
    b.chunks = BlobChunkCount(w.size);
    b.chunks_held = w.chunks_held;
    t.missing_bytes += w.size - b.bytes_held();
    t.missing_previews += w.preview;
    t.missing_demanded += w.demanded;
  }
  return t;
}

Result<std::vector<RecordId>> Store::PhotosOf(const RecordId& subject) const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, dbs_->index));
  Bytes prefix = TermPrefix(std::string(1, kTermPhotoOf) + FormatRecordId(subject));
  prefix.push_back(0);
  std::vector<RecordId> out;
  for (c.Seek(prefix); c.Valid() && StartsWith(c.key(), prefix); c.Next()) {
    if (c.key().size() != prefix.size() + 16) return Corruption("photo index key does not decode");
    RecordId id;
    std::memcpy(id.data(), c.key().data() + prefix.size(), 16);
    out.push_back(id);
  }
  NCEN_RETURN_IF_ERROR(c.status());
  return out;
}

Result<std::vector<RecordId>> Store::LinkedTo(const RecordId& record) const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, dbs_->index));
  Bytes prefix = TermPrefix(std::string(1, kTermLinkedTo) + FormatRecordId(record));
  prefix.push_back(0);
  std::vector<RecordId> out;
  for (c.Seek(prefix); c.Valid() && StartsWith(c.key(), prefix); c.Next()) {
    if (c.key().size() != prefix.size() + 16) return Corruption("link index key does not decode");
    RecordId id;
    std::memcpy(id.data(), c.key().data() + prefix.size(), 16);
    out.push_back(id);
  }
  NCEN_RETURN_IF_ERROR(c.status());
  return out;
}

Status VerifyBlobs(const lmdb::Txn& txn, const Store::Dbs& dbs, VerifyReport& report) {
  NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, dbs.blobs));
  for (c.First(); c.Valid(); c.Next()) {
    if (c.key().size() != 32) return Corruption("blobs key does not decode");
    Hash256 hash;
    std::memcpy(hash.data(), c.key().data(), 32);
    NCEN_ASSIGN_OR_RETURN(BlobInfo b, DecodeBlobRow(hash, c.value()));
    std::string where = "blob " + BlobHashText(hash);
    if (b.complete) {
      NCEN_ASSIGN_OR_RETURN(auto got, HashChunks(txn, dbs, b));
      if (!got) return Corruption(where + ": a chunk is missing or the wrong size");
      if (*got != hash) return Corruption(where + ": its bytes do not match its hash");
      ++report.blobs;
      report.blob_chunks += b.chunks;
      continue;
    }
    for (uint32_t i = 0; i < b.chunks_held; ++i) {
      NCEN_ASSIGN_OR_RETURN(auto chunk, txn.Get(dbs.blob_chunks, ChunkKey(hash, i)));
      if (!chunk || chunk->size() != BlobChunkSize(b.size, i)) {
        return Corruption(where + ": chunk " + std::to_string(i) + " is missing or the wrong size");
      }
      ++report.blob_chunks;
    }
  }
  return c.status();
}

}  // namespace ncen::storage
