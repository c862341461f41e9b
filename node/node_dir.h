// A node's data directory: DIR/identity.key (the Ed25519 identity, mode 0600),
// DIR/store/ (the LMDB environment) and DIR/ncen.toml (node/config.h).
// Shared by ncenctl and ncen-node. Plain functions; the returned objects
// belong to the caller.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "crypto/identity.h"
#include "node/config.h"
#include "storage/store.h"

namespace ncen::node {

struct OpenNode {
  crypto::Identity identity;
  std::unique_ptr<storage::Store> store;
};

// authority: a country authority's data directory; root: the network's
// root (`ncenctl network create`). Both are nodes that hold network entries.
inline const char* kValidRoles[] = {"post", "hub", "regional", "authority", "root"};

// Creates DIR (mode 0700) with a fresh identity, an empty store and
// DIR/ncen.toml holding `config`. kConflict when DIR already holds a node (or
// anything else); kInvalidArgument for an empty name, an unknown role or an
// invalid `config` (then nothing is created).
Result<OpenNode> InitNode(const std::string& dir, const std::string& name, const std::string& role,
                          storage::StoreOptions options = {}, const NodeConfig& config = {});

// Opens the node in DIR. kNotFound (with a hint to run `ncenctl init`) when
// DIR holds no node; the identity's errors as Identity::Load; kCorruption
// when the identity does not match the store's node id.
Result<OpenNode> OpenNodeDir(const std::string& dir, storage::StoreOptions options = {});

// Succession on the node's side (docs/membership.md §7): a fresh identity
// replaces the node's; the old key is kept as identity.key.replaced-<its
// fingerprint>; the store's node id becomes the new key and its stale mark
// is cleared. An authority then certifies the new key as the old one's
// successor (`ncenctl succeed`). Crash-safe: OpenNodeDir finishes a rekey
// that stopped half-way.
Result<OpenNode> RekeyNode(const std::string& dir);
Status FinishRekey(const std::string& dir, const crypto::PublicKey& old_key);

}  // namespace ncen::node
