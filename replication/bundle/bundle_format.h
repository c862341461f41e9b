// The bytes of an offline bundle (docs/bundles.md, format version 1): the
// fixed header of each part file, the signed manifest, and the block
// framing of the compressed entry data. One codec per value: every reader
// and writer of bundles goes through these functions.
//
// Decoders take hostile bytes: every count is checked against the bytes
// present before anything is allocated, and each returns kCorruption naming
// the first bad field. Plain functions, any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/bytes.h"
#include "base/limits.h"
#include "base/status.h"
#include "crypto/identity.h"
#include "storage/store.h"

namespace ncen::replication::bundle {

inline constexpr uint16_t kFormatVersion = 1;
inline constexpr std::array<uint8_t, 8> kPartMagic = {'N', 'C', 'E', 'N', 'B', 'N', 'D', 'L'};
inline constexpr std::array<uint8_t, 8> kManifestMagic = {'N', 'C', 'E', 'N', 'M', 'A', 'N', '1'};

using BundleId = std::array<uint8_t, 16>;

// part_header := magic[8] | version u16 | flags u16 (0) | part_no u32 |
//                part_count u32 | bundle_id[16] | data_len u64 |
//                manifest_len u32 | reserved u32 (0)
inline constexpr size_t kPartHeaderBytes = 8 + 2 + 2 + 4 + 4 + 16 + 8 + 4 + 4;
static_assert(kPartHeaderBytes == 52);
inline constexpr uint32_t kPartsMax = 100'000;
// Larger manifests are refused before they are read.
inline constexpr uint32_t kManifestBytesMax = 64u << 20;
// A block's entries before compression (one planner batch, at most
// limits::kBatchBytesMax) and after (zstd's bound is a little larger).
inline constexpr uint32_t kBlockRawBytesMax = static_cast<uint32_t>(limits::kBatchBytesMax + 4);
inline constexpr uint32_t kBlockCompressedBytesMax = kBlockRawBytesMax + (kBlockRawBytesMax >> 7) + (64u << 10);
// block := raw_len u32 | compressed_len u32 | compressed
inline constexpr size_t kBlockHeaderBytes = 8;
// The smallest --max-bytes: a part header, a block header and some data.
inline constexpr uint64_t kPartBytesMin = 4096;

struct PartHeader {
  uint32_t part_no = 0;     // 1..part_count
  uint32_t part_count = 0;  // 1..kPartsMax
  BundleId bundle_id{};
  uint64_t data_len = 0;
  uint32_t manifest_len = 0;  // non-zero exactly in the last part
};
Bytes EncodePartHeader(const PartHeader& h);
// kCorruption on wrong magic, an unknown version ("format version N; this
// build reads 1"), non-zero flags or reserved bits, part_no out of range, a
// manifest length over kManifestBytesMax or in a part that is not the last.
Result<PartHeader> DecodePartHeader(ByteView bytes);

struct PartInfo {
  uint64_t data_len = 0;
  crypto::Hash256 hash{};  // BLAKE2b-256 of the part's data bytes
};

// Entries of one feed the bundle carries: seqs first..last, all of them.
struct FeedRun {
  storage::FeedId feed;
  uint64_t first_seq = 0, last_seq = 0;
};

struct Manifest {
  BundleId bundle_id{};
  crypto::PublicKey author{};     // the node that wrote the bundle; signs the manifest
  crypto::PublicKey recipient{};  // the node it is for
  int64_t created_ms = 0;
  uint64_t entries = 0;           // in all blocks
  uint64_t raw_bytes = 0;         // their transfer forms, uncompressed
  uint64_t blocks = 0;
  std::vector<PartInfo> parts;
  std::vector<storage::FeedHead> frontier;  // the author's, as offered to the recipient
  std::vector<storage::FeedHead> since;     // what the author took the recipient to hold (seq, head)
  std::vector<FeedRun> runs;                // sorted by feed
  uint64_t data_bytes() const {
    uint64_t n = 0;
    for (const auto& p : parts) n += p.data_len;
    return n;
  }
};

// manifest := body | signature[64], the signature by `author` over body.
Bytes EncodeManifestBody(const Manifest& m);
Bytes SignManifest(const Manifest& m, const crypto::Identity& author);
// Decodes and checks the signature against the manifest's own author
// (kUnauthenticated when it does not verify; kCorruption when the bytes do
// not decode). Whether the author is someone to take entries from is the
// caller's question.
Result<Manifest> DecodeManifest(ByteView bytes);

}  // namespace ncen::replication::bundle
