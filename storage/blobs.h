// Blobs: the immutable, content-addressed bytes that photos refer to
// (docs/blobs.md). A blob is named by the BLAKE2b-256 of its bytes and kept
// once however many records refer to it, split into chunks of kBlobChunkBytes
// in the store's `blob_chunks` database (the last chunk may be shorter), with
// one row per blob in `blobs`. A record refers to a blob by hash and size in
// its signed payload (schema BlobRef); the index holds one term per
// reference (BlobTerm), from which the store knows which blobs it should
// hold and in which scopes a blob may travel.
//
// These are plain values and pure functions (any thread); the Store methods
// that read and write blobs are declared in store.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "crypto/hash.h"
#include "storage/types.h"

namespace ncen::storage {

using crypto::Hash256;

inline constexpr size_t kBlobChunkBytes = 256 * 1024;
// A photo's file is at most 50 MB (media/image.h); a reference names at most this.
inline constexpr uint32_t kBlobBytesMax = 64u << 20;

inline constexpr uint32_t BlobChunkCount(uint64_t size) {
  return static_cast<uint32_t>((size + kBlobChunkBytes - 1) / kBlobChunkBytes);
}
// Bytes of chunk `index` of a blob of `size` bytes.
inline constexpr size_t BlobChunkSize(uint64_t size, uint32_t index) {
  uint64_t start = uint64_t{index} * kBlobChunkBytes;
  return start >= size ? 0 : static_cast<size_t>(std::min<uint64_t>(kBlobChunkBytes, size - start));
}

// The two uses of a blob in a reference: the image itself, and its preview.
inline constexpr char kBlobRoleImage = 'f';
inline constexpr char kBlobRolePreview = 'p';
// Index term kinds (beside record_json.h's).
inline constexpr char kTermBlob = 'b';     // b | role | hash (64 hex) | size (8 hex)
inline constexpr char kTermPhotoOf = 'p';  // p | subject record id (text form)

std::string BlobHashText(const Hash256& hash);  // 64 lower-case hex digits
std::optional<Hash256> ParseBlobHash(std::string_view text);

std::string BlobTerm(char role, std::string_view hash_hex, uint32_t size);
struct BlobTermParts {
  char role = kBlobRoleImage;
  Hash256 hash{};
  uint32_t size = 0;
};
std::optional<BlobTermParts> ParseBlobTerm(ByteView term);

// A blob as this node holds it.
struct BlobInfo {
  Hash256 hash{};
  uint64_t size = 0;
  uint32_t chunks = 0;       // BlobChunkCount(size)
  uint32_t chunks_held = 0;
  bool complete = false;     // every chunk held, and the bytes match the hash
  bool demanded = false;     // an officer asked for it (fetched whatever the peer policy)
  uint64_t bytes_held() const;
  uint32_t FirstMissingChunk() const { return complete ? chunks : chunks_held; }
};

// A record this node holds that refers to a blob (from the index).
struct BlobUse {
  RecordId record{};
  RecordType type = RecordType::kPhoto;
  Scope scope = Scope::kNational;
  PublicKey author{};  // of the record's winning version
  char role = kBlobRoleImage;
  uint32_t size = 0;   // as the reference says
};

// A blob some record here refers to that this node does not hold whole.
struct WantedBlob {
  Hash256 hash{};
  uint32_t size = 0;
  bool preview = false;   // referred to as a preview (previews are fetched first)
  bool demanded = false;
  uint32_t chunks_held = 0;  // chunks are received in order: the next one wanted
};

struct BlobTotals {
  uint64_t blobs = 0, bytes = 0;                 // held whole
  uint64_t partial = 0, partial_bytes_held = 0;  // some chunks held
  uint64_t missing = 0, missing_bytes = 0;       // referred to, not held whole (bytes still to come)
  uint64_t missing_previews = 0, missing_demanded = 0;
};

// What PutBlobChunks did.
struct ChunkWrite {
  uint64_t bytes_new = 0;  // chunk bytes this node did not hold
  bool completed = false;  // the blob is now whole and verified
  bool mismatch = false;   // the blob was whole but its bytes did not match the hash: all dropped
};

// Chunks of one blob to store (Store::PutBlobChunks); `data` is a view.
struct ChunkPiece {
  Hash256 hash{};
  uint32_t size = 0;
  uint32_t first = 0;
  ByteView data;
  // Set on the piece that ends the blob by a caller that hashed every chunk
  // as it received them, from chunk 0: BLAKE2b-256 of the whole blob's
  // bytes. Used only when that caller stored every chunk itself, each one
  // new (each earlier piece's ChunkWrite.bytes_new was all of its bytes, and
  // so is this one's, and those of any earlier piece of the blob in the same
  // call); otherwise the store hashes the chunks it holds, as without it.
  std::optional<Hash256> digest;
};

}  // namespace ncen::storage
