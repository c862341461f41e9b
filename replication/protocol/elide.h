// The two hashes of an entry a receiver can compute, left out of a batch on
// a slow link (docs/protocol.md §3, "Elided hashes"): the payload hash (from
// the payload) and `prev` (the hash of the feed's entry before, which the
// receiver holds, or which came earlier in the same batch). Thirty-two
// random bytes each that no compressor can shrink: about 64 of the 213 wire
// bytes of a compressed seizure entry.
//
// In a batch's entries (the transfer form of docs/log-format.md), an elided
// hash is 32 zero bytes in the header and a bit in the flags byte: 0x02 the
// payload hash, 0x04 prev. The receiver fills them in before anything else
// reads the entry; the signature covers the filled header, so a wrong fill
// (a peer lying about what it left out) is a bad signature, refused like any
// other. Plain functions, any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "base/bytes.h"
#include "base/status.h"
#include "storage/entry.h"

namespace ncen::replication {

using crypto::Hash256;

inline constexpr uint8_t kPayloadHashElided = 0x02;
inline constexpr uint8_t kPrevElided = 0x04;

// Leaves out, in `entries` (concatenated transfer forms), each entry's
// payload hash when its payload is present and its prev after seq 1.
// Returns how many hashes it left out. An entry whose header does not
// decode is left whole.
size_t ElideHashes(Bytes& entries);

// The hash of the entry of `feed` at `seq`, when this node holds it.
using HeldHash = std::function<std::optional<Hash256>(const storage::FeedId& feed, uint64_t seq)>;

// Whether any entry in `entries` has a hash left out.
bool HasElidedHashes(ByteView entries);

// `out` = `entries` with every left-out hash filled in and the flag bits
// cleared. A prev is taken from the same feed's entry just before in
// `entries`, else from `held`; when neither has it, it stays zero (the
// entry is then refused as a gap or a bad signature). kCorruption for
// transfer forms that do not parse.
Status FillHashes(ByteView entries, const HeldHash& held, Bytes& out);

}  // namespace ncen::replication
