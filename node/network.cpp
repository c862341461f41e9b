#include "node/network.h"

#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/limits.h"
#include "node/durable_file.h"

namespace ncen::node {

namespace {
constexpr char kMagic[8] = {'N', 'C', 'E', 'N', 'N', 'E', 'T', '1'};
}  // namespace

Bytes EncodeNetworkFile(const NetworkFile& file) {
  Bytes out(kMagic, kMagic + sizeof(kMagic));
  Append(out, file.root);
  AppendU32BE(out, static_cast<uint32_t>(file.entries.size()));
  for (const auto& e : file.entries) storage::AppendEncodedEntry(e, out);
  return out;
}

Result<NetworkFile> DecodeNetworkFile(ByteView bytes) {
  if (bytes.size() < sizeof(kMagic) + 32 + 4 || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return Corruption("not an ncen network file (it must start with NCENNET1)");
  }
  NetworkFile file;
  std::memcpy(file.root.data(), bytes.data() + sizeof(kMagic), 32);
  uint32_t count = GetU32BE(bytes.data() + sizeof(kMagic) + 32);
  ByteView rest = bytes.subspan(sizeof(kMagic) + 32 + 4);
  if (count > kNetworkFileEntriesMax || count > rest.size() / limits::kEntryTransferBytesMin) {
    return Corruption("network file claims " + std::to_string(count) + " entries, more than its " +
                      std::to_string(rest.size()) + " bytes can hold");
  }
  file.entries.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    auto e = storage::DecodeEntry(rest);
    if (!e.ok()) return e.status().WithContext("network file entry " + std::to_string(i + 1));
    if (e->header.scope != storage::Scope::kNetwork) {
      return Corruption("network file entry " + std::to_string(i + 1) + " is not of scope network");
    }
    file.entries.push_back(std::move(e).value());
  }
  if (!rest.empty()) return Corruption("network file has bytes after its last entry");
  return file;
}

Result<NetworkFile> ReadNetworkFile(const std::string& path) {
  // A file the user names: what is wrong with it is the user's to fix (exit 1).
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return InvalidArgument(path + ": is a directory, not a network file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument(path + ": cannot open");
  std::string bytes;
  char buf[65536];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    bytes.append(buf, static_cast<size_t>(in.gcount()));
    if (bytes.size() > kNetworkFileBytesMax) return InvalidArgument(path + " is over 64 MiB: not a network file");
  }
  if (in.bad()) return InvalidArgument(path + ": cannot read");
  auto file = DecodeNetworkFile(AsBytes(bytes));
  // A file the user gave: a user error (exit 1), not a corrupt store.
  if (!file.ok()) return InvalidArgument(path + ": " + file.status().message());
  return file;
}

Status WriteNetworkFile(const std::string& path, const NetworkFile& file) {
  Bytes bytes = EncodeNetworkFile(file);
  std::string dir = ".", name = path;
  if (auto slash = path.rfind('/'); slash != std::string::npos) {
    dir = slash == 0 ? "/" : path.substr(0, slash);
    name = path.substr(slash + 1);
  }
  if (name.empty()) return InvalidArgument("--out must name a file");
  return ReplaceFileAtomically(dir, name, AsChars(bytes));
}

Result<NetworkFile> ExportNetwork(const storage::Store& store) {
  NCEN_ASSIGN_OR_RETURN(auto root, store.NetworkRoot());
  if (!root) return FailedPrecondition("this node belongs to no network");
  NetworkFile file;
  file.root = *root;
  NCEN_ASSIGN_OR_RETURN(auto frontier, store.Frontier());
  NCEN_ASSIGN_OR_RETURN(auto membership, store.GetMembership());
  for (const auto& head : frontier) {
    if (head.feed.scope != storage::Scope::kNetwork) continue;
    // Entries past a revocation's cut-off are not passed on.
    uint64_t last = membership ? std::min(head.seq, membership->CutoffOf(head.feed)) : head.seq;
    for (uint64_t seq = 1; seq <= last; ++seq) {
      NCEN_ASSIGN_OR_RETURN(storage::Entry e, store.GetEntry(head.feed, seq));
      file.entries.push_back(std::move(e));
    }
  }
  return file;
}

namespace {

// The file applied to a scratch store first, under the same rules, so that
// a file with one bad entry (a damaged signature, an entry its author may
// not write) is refused whole and the node's store is not touched.
Status CheckOnScratchStore(const crypto::PublicKey& self, const NetworkFile& file) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "ncen-join-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) return IOError("cannot make a temporary directory to check the network file");
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{tmpl};
  storage::StoreOptions options;
  options.durable = false;
  options.map_size_bytes = uint64_t{1} << 30;
  NCEN_ASSIGN_OR_RETURN(auto scratch, storage::Store::Create(tmpl, {self, "join check", "post", 0}, options));
  NCEN_RETURN_IF_ERROR(scratch->SetNetworkRoot(file.root));
  storage::ApplyReport report = scratch->ApplyBatch(file.entries, "network file");
  NCEN_RETURN_IF_ERROR(report.status);
  if (!report.refused.empty()) {
    const auto& r = report.refused.front();
    return InvalidArgument("the network file's entry " + std::to_string(r.seq) + " of " +
                           crypto::Fingerprint(r.feed.author) + " is refused (" + r.message + "); nothing was taken");
  }
  NCEN_ASSIGN_OR_RETURN(auto membership, scratch->GetMembership());
  if (!membership || !membership->Find(self)) {
    return NotFound("the network file holds no certificate for this node (" + crypto::Fingerprint(self) +
                    "); ask its authority to certify it first");
  }
  return Status::Ok();
}

}  // namespace

Result<storage::Member> Join(storage::Store& store, const crypto::PublicKey& self, const NetworkFile& file) {
  NCEN_ASSIGN_OR_RETURN(auto held, store.NetworkRoot());
  if (held && *held != file.root) {
    return ConflictError("this node belongs to the network " + NetworkIdHex(*held).substr(0, 16) +
                         "…, not " + NetworkIdHex(file.root).substr(0, 16) + "…");
  }
  NCEN_RETURN_IF_ERROR(CheckOnScratchStore(self, file));
  NCEN_RETURN_IF_ERROR(store.SetNetworkRoot(file.root));
  storage::ApplyReport report = store.ApplyBatch(file.entries, "network file");
  NCEN_RETURN_IF_ERROR(report.status);
  NCEN_ASSIGN_OR_RETURN(auto membership, store.GetMembership());
  const storage::Member* me = membership ? membership->Find(self) : nullptr;
  if (!me) return NotFound("no certificate for this node after taking the network file");
  return *me;
}

Result<std::vector<storage::Cutoff>> DefaultCutoffs(const storage::Store& store, const crypto::PublicKey& subject) {
  std::vector<storage::FeedId> feeds;
  for (int s = 0; s < storage::kFeedScopeCount; ++s) feeds.push_back({subject, storage::Scope(s)});
  NCEN_ASSIGN_OR_RETURN(auto heads, store.FeedHeads(feeds));
  std::vector<storage::Cutoff> out;
  for (const auto& h : heads) out.push_back({h.feed.scope, h.seq});
  return out;
}

std::string NetworkIdHex(const crypto::PublicKey& root) { return ToHex(storage::NetworkIdOf(root)); }

}  // namespace ncen::node
