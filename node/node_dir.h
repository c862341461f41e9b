// A node's data directory: DIR/identity.key (the Ed25519 identity, mode 0600)
// and DIR/store/ (the LMDB environment). Shared by ncenctl and ncen-node.
// Plain functions; the returned objects belong to the caller.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "crypto/identity.h"
#include "storage/store.h"

namespace ncen::node {

struct OpenNode {
  crypto::Identity identity;
  std::unique_ptr<storage::Store> store;
};

inline const char* kValidRoles[] = {"post", "hub", "regional"};

// Creates DIR (mode 0700) with a fresh identity and an empty store.
// kConflict when DIR already holds a node (or anything else);
// kInvalidArgument for an empty name or an unknown role.
Result<OpenNode> InitNode(const std::string& dir, const std::string& name, const std::string& role,
                          storage::StoreOptions options = {});

// Opens the node in DIR. kNotFound (with a hint to run `ncenctl init`) when
// DIR holds no node; the identity's errors as Identity::Load; kCorruption
// when the identity does not match the store's node id.
Result<OpenNode> OpenNodeDir(const std::string& dir, storage::StoreOptions options = {});

}  // namespace ncen::node
