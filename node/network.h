// Joining a network and the files that carry it (docs/membership.md §6):
// a network file holds the root key and signed network entries; a node
// joins by taking them (Join), an authority writes one for a node it
// certified (ExportNetwork). Also the defaults of a revocation and the
// identity change of a succession. Used by ncenctl; plain functions, one
// thread at a time per store.
#pragma once

#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/identity.h"
#include "storage/membership.h"
#include "storage/store.h"

namespace ncen::node {

inline constexpr size_t kNetworkFileBytesMax = size_t{64} << 20;
inline constexpr uint32_t kNetworkFileEntriesMax = 1'000'000;

struct NetworkFile {
  crypto::PublicKey root{};
  std::vector<storage::Entry> entries;  // network entries only
};

// network_file := "NCENNET1" | root[32] | count u32 | entry (transfer form) × count
Bytes EncodeNetworkFile(const NetworkFile& file);
// kCorruption naming what is wrong: magic, a count larger than the bytes
// can hold, an entry that does not decode or is not of scope network,
// bytes after the last entry. Signatures are checked when the entries are
// applied (Join).
Result<NetworkFile> DecodeNetworkFile(ByteView bytes);
Result<NetworkFile> ReadNetworkFile(const std::string& path);
// Written whole or not at all (a temporary file renamed over `path`).
Status WriteNetworkFile(const std::string& path, const NetworkFile& file);

// Every network entry `store` holds, with its root. kFailedPrecondition when
// the store belongs to no network.
Result<NetworkFile> ExportNetwork(const storage::Store& store);

// Makes the store of node `self` a member: checks first, writing nothing,
// that the file holds a certificate for `self` (kNotFound) and that the
// store belongs to no other network (kConflict); then takes the entries.
// kUnauthenticated when the store refuses one (a bad signature, an entry
// its author could not write). Returns this node's membership.
Result<storage::Member> Join(storage::Store& store, const crypto::PublicKey& self, const NetworkFile& file);

// The cut-offs a revocation of `subject` gets unless told otherwise: for
// each scope, the head of the subject's feed this store holds (0 when none).
Result<std::vector<storage::Cutoff>> DefaultCutoffs(const storage::Store& store, const crypto::PublicKey& subject);

// The network id as text (64 hex digits).
std::string NetworkIdHex(const crypto::PublicKey& root);

}  // namespace ncen::node
