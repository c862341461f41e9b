#include "node/node_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "node/durable_file.h"

namespace ncen::node {

namespace fs = std::filesystem;

namespace {

// Makes DIR (mode 0700) unless it exists empty. `created` says whether it
// was made here (its parent then holds a new name to sync).
Status MakeNodeDir(const std::string& dir, bool* created) {
  *created = false;
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) return ConflictError(dir + " exists and is not a directory");
    if (!fs::is_empty(dir, ec)) {
      return ConflictError(dir + " already holds a node or other files; refusing to touch it");
    }
    return Status::Ok();
  }
  fs::path parent = fs::path(dir).parent_path();
  if (!parent.empty() && !fs::create_directories(parent, ec) && ec) {
    return InvalidArgument("cannot create " + parent.string() + ": " + ec.message());
  }
  if (::mkdir(dir.c_str(), 0700) != 0) {
    return IOError("cannot create " + dir + ": " + std::strerror(errno));
  }
  *created = true;
  return Status::Ok();
}

// The files are each fsynced as they are written (the key by Identity::Save,
// the store by LMDB's commit, ncen.toml by SaveConfig); their names are only
// durable once the directories holding them are. Without this a crash soon
// after `init` could leave a directory without identity.key or store files.
Status SyncNodeDirs(const std::string& dir, bool created) {
  NCEN_RETURN_IF_ERROR(SyncDir(dir + "/store"));
  NCEN_RETURN_IF_ERROR(SyncDir(dir));
  if (!created) return Status::Ok();
  fs::path parent = fs::path(dir).parent_path();
  return SyncDir(parent.empty() ? std::string(".") : parent.string());
}

}  // namespace

Result<OpenNode> InitNode(const std::string& dir, const std::string& name, const std::string& role,
                          storage::StoreOptions options, const NodeConfig& config) {
  if (name.empty()) return InvalidArgument("--name must not be empty");
  NCEN_RETURN_IF_ERROR(ValidateConfig(config));
  bool role_ok = false;
  for (const char* r : kValidRoles) role_ok = role_ok || role == r;
  if (!role_ok) return InvalidArgument("--role must be post, hub, regional, authority or root, got '" + role + "'");
  bool created = false;
  NCEN_RETURN_IF_ERROR(MakeNodeDir(dir, &created));
  std::string store_dir = dir + "/store";
  if (::mkdir(store_dir.c_str(), 0700) != 0) {
    return IOError("cannot create " + store_dir + ": " + std::strerror(errno));
  }
  crypto::Identity identity = crypto::Identity::Generate();
  NCEN_RETURN_IF_ERROR(identity.Save(dir + "/identity.key"));
  storage::NodeMeta meta{identity.public_key(), name, role, storage::UnixMillisNow()};
  NCEN_ASSIGN_OR_RETURN(auto store, storage::Store::Create(store_dir, meta, options));
  NCEN_RETURN_IF_ERROR(SaveConfig(dir, config));
  NCEN_RETURN_IF_ERROR(SyncNodeDirs(dir, created));
  return OpenNode{std::move(identity), std::move(store)};
}

Result<OpenNode> OpenNodeDir(const std::string& dir, storage::StoreOptions options) {
  std::error_code ec;
  if (!fs::exists(dir + "/identity.key", ec) || !fs::exists(dir + "/store/data.mdb", ec)) {
    return NotFound("no node in " + dir + " (create one with: ncenctl --data " + dir +
                    " init --name NAME)");
  }
  NCEN_ASSIGN_OR_RETURN(crypto::Identity identity, crypto::Identity::Load(dir + "/identity.key"));
  NCEN_ASSIGN_OR_RETURN(auto store, storage::Store::Open(dir + "/store", options));
  if (store->meta().node_id != identity.public_key()) {
    // A rekey that stopped after the store took the new key: finish it.
    if (fs::exists(dir + "/identity.key.new", ec)) {
      NCEN_ASSIGN_OR_RETURN(crypto::Identity fresh, crypto::Identity::Load(dir + "/identity.key.new"));
      if (store->meta().node_id == fresh.public_key()) {
        NCEN_RETURN_IF_ERROR(FinishRekey(dir, identity.public_key()));
        return OpenNode{std::move(fresh), std::move(store)};
      }
    }
    return Corruption("identity key in " + dir + " does not belong to its store");
  }
  return OpenNode{std::move(identity), std::move(store)};
}

Status FinishRekey(const std::string& dir, const crypto::PublicKey& old_key) {
  // The old key gets a second name, then the new one replaces it: at every
  // moment identity.key exists (a crash leaves the old key with both names,
  // and OpenNodeDir finishes the job).
  std::string archived = dir + "/identity.key.replaced-" + crypto::Fingerprint(old_key);
  if ((::link((dir + "/identity.key").c_str(), archived.c_str()) != 0 && errno != EEXIST) ||
      ::rename((dir + "/identity.key.new").c_str(), (dir + "/identity.key").c_str()) != 0) {
    return IOError("cannot move the identity keys in " + dir + ": " + std::strerror(errno));
  }
  return SyncDir(dir);
}

Result<OpenNode> RekeyNode(const std::string& dir) {
  NCEN_ASSIGN_OR_RETURN(OpenNode node, OpenNodeDir(dir));
  crypto::Identity fresh = crypto::Identity::Generate();
  std::error_code ec;
  fs::remove(dir + "/identity.key.new", ec);
  NCEN_RETURN_IF_ERROR(fresh.Save(dir + "/identity.key.new"));
  NCEN_RETURN_IF_ERROR(SyncDir(dir));
  crypto::PublicKey old_key = node.identity.public_key();
  NCEN_RETURN_IF_ERROR(node.store->ReplaceNodeId(fresh.public_key()));
  NCEN_RETURN_IF_ERROR(FinishRekey(dir, old_key));
  return OpenNode{std::move(fresh), std::move(node.store)};
}

}  // namespace ncen::node
