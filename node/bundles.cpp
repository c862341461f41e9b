#include "node/bundles.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "base/compress.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "node/config.h"
#include "node/durable_file.h"
#include "replication/protocol/peer_feeds.h"
#include "replication/protocol/send_planner.h"
#include "storage/membership.h"
#include "storage/peer_status.h"

namespace ncen::node {

namespace bf = replication::bundle;
using storage::FeedHead;
using storage::FeedId;

namespace {

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

std::string FeedText(const FeedId& feed) {
  return crypto::Fingerprint(feed.author) + "/" + storage::ScopeName(feed.scope);
}

// ---------------------------------------------------------------------------
// Acknowledgements: DIR/bundle-acks/<peer id hex>
//   ack := "NCENACK1" | count u32 | (author[32] | scope u8 | seq u64 | head[32]) × count

constexpr std::array<uint8_t, 8> kAckMagic = {'N', 'C', 'E', 'N', 'A', 'C', 'K', '1'};
constexpr size_t kAckFeedBytes = 73;

Result<std::map<FeedId, FeedHead>> ReadAcks(const std::string& dir, const crypto::PublicKey& peer) {
  std::map<FeedId, FeedHead> out;
  std::string path = dir + "/" + kBundleAcksDirName + "/" + crypto::NodeIdHex(peer);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return out;
    return IOError(Errno(path));
  }
  Bytes bytes;
  uint8_t buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return IOError(Errno(path));
    }
    if (n == 0) break;
    bytes.insert(bytes.end(), buf, buf + n);
    if (bytes.size() > (size_t{256} << 20)) break;
  }
  ::close(fd);
  if (bytes.size() < 12 || !std::equal(kAckMagic.begin(), kAckMagic.end(), bytes.begin()) ||
      (bytes.size() - 12) != uint64_t{GetU32BE(bytes.data() + 8)} * kAckFeedBytes) {
    return Corruption(path + " is not an acknowledgement file");
  }
  for (size_t at = 12; at < bytes.size(); at += kAckFeedBytes) {
    FeedHead h;
    std::memcpy(h.feed.author.data(), bytes.data() + at, 32);
    if (bytes[at + 32] > static_cast<uint8_t>(storage::Scope::kNetwork)) return Corruption(path + ": unknown scope");
    h.feed.scope = static_cast<storage::Scope>(bytes[at + 32]);
    h.seq = GetU64BE(bytes.data() + at + 33);
    std::memcpy(h.head.data(), bytes.data() + at + 41, 32);
    out[h.feed] = h;
  }
  return out;
}

Status EnsureDir(const std::string& parent, const std::string& name) {
  std::string path = parent + "/" + name;
  if (::mkdir(path.c_str(), 0700) == 0) return SyncDir(parent);
  if (errno == EEXIST) return Status::Ok();
  return IOError(Errno(path));
}

// ---------------------------------------------------------------------------
// Writing parts

// Writes the data of a bundle into numbered temporary part files of at most
// `max_bytes` each, then the manifest into the last, then names them.
class PartWriter {
 public:
  PartWriter(std::string out, uint64_t max_bytes, bf::BundleId id)
      : out_(std::move(out)), max_bytes_(max_bytes == 0 ? UINT64_MAX : max_bytes), id_(id) {}
  ~PartWriter() {
    for (auto& p : parts_) {
      if (p.fd >= 0) ::close(p.fd);
      if (!p.temp.empty()) ::unlink(p.temp.c_str());
    }
  }

  Status Write(ByteView data) {
    while (!data.empty()) {
      if (parts_.empty() || Room() == 0) NCEN_RETURN_IF_ERROR(NewPart());
      size_t n = static_cast<size_t>(std::min<uint64_t>(Room(), data.size()));
      NCEN_RETURN_IF_ERROR(WriteAll(parts_.back(), data.first(n)));
      parts_.back().hasher.Update(data.first(n));
      parts_.back().data_len += n;
      data = data.subspan(n);
    }
    return Status::Ok();
  }

  // Signs the manifest (its parts filled in here), writes it into the last
  // part (a new one when it does not fit), the final part headers, syncs and
  // renames. Returns the file names.
  Result<std::vector<std::string>> Finish(bf::Manifest& m, const crypto::Identity& me, uint64_t* total_bytes) {
    if (parts_.empty()) NCEN_RETURN_IF_ERROR(NewPart());
    for (int attempt = 0;; ++attempt) {
      m.parts.clear();
      for (auto& p : parts_) m.parts.push_back({p.data_len, p.hash_done ? p.hash : p.hasher_copy()});
      manifest_ = bf::SignManifest(m, me);
      if (bf::kPartHeaderBytes + parts_.back().data_len + manifest_.size() <= max_bytes_) break;
      if (attempt > 0 || bf::kPartHeaderBytes + manifest_.size() + 40 > max_bytes_) {
        return InvalidArgument("--max-bytes " + std::to_string(max_bytes_) + " is too small for the manifest (" +
                               std::to_string(manifest_.size()) + " bytes) and a part header");
      }
      NCEN_RETURN_IF_ERROR(NewPart());  // the manifest alone in a last part
    }
    NCEN_RETURN_IF_ERROR(WriteAll(parts_.back(), manifest_));
    const uint32_t count = static_cast<uint32_t>(parts_.size());
    std::vector<std::string> names;
    for (uint32_t k = 0; k < count; ++k) {
      names.push_back(count == 1 ? out_ : out_ + ".part" + std::to_string(k + 1) + "-of-" + std::to_string(count));
      std::error_code ec;
      if (std::filesystem::exists(names.back(), ec)) return ConflictError(names.back() + " exists already; not replaced");
    }
    *total_bytes = 0;
    for (uint32_t k = 0; k < count; ++k) {
      Part& p = parts_[k];
      bf::PartHeader h{k + 1, count, id_, p.data_len, k + 1 == count ? static_cast<uint32_t>(manifest_.size()) : 0};
      Bytes header = bf::EncodePartHeader(h);
      if (::pwrite(p.fd, header.data(), header.size(), 0) != static_cast<ssize_t>(header.size())) return IOError(Errno(p.temp));
      if (::fsync(p.fd) != 0) return IOError(Errno(p.temp));
      *total_bytes += p.written;
      ::close(p.fd);
      p.fd = -1;
    }
    for (uint32_t k = 0; k < count; ++k) {
      if (::rename(parts_[k].temp.c_str(), names[k].c_str()) != 0) return IOError(Errno(names[k]));
      parts_[k].temp.clear();
    }
    std::filesystem::path parent = std::filesystem::path(out_).parent_path();
    NCEN_RETURN_IF_ERROR(SyncDir(parent.empty() ? "." : parent.string()));
    return names;
  }

 private:
  struct Part {
    std::string temp;
    int fd = -1;
    uint64_t data_len = 0, written = 0;
    crypto::Blake2bHasher hasher;
    crypto::Hash256 hash{};
    bool hash_done = false;
    crypto::Hash256 hasher_copy() {
      if (!hash_done) {
        hash = hasher.Final();
        hash_done = true;
      }
      return hash;
    }
  };

  uint64_t Room() const {
    const Part& p = parts_.back();
    uint64_t used = bf::kPartHeaderBytes + p.data_len;
    return used >= max_bytes_ ? 0 : max_bytes_ - used;
  }

  Status NewPart() {
    if (parts_.size() >= bf::kPartsMax) return InvalidArgument("more than " + std::to_string(bf::kPartsMax) + " parts: raise --max-bytes");
    if (!parts_.empty()) parts_.back().hasher_copy();
    Part& p = parts_.emplace_back();
    p.temp = out_ + ".tmp-" + ToHex(id_) + "-" + std::to_string(parts_.size());
    p.fd = ::open(p.temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (p.fd < 0) {
      Status s = IOError(Errno(p.temp));
      p.temp.clear();
      return s;
    }
    Bytes placeholder(bf::kPartHeaderBytes, 0);
    return WriteAll(p, placeholder);
  }

  static Status WriteAll(Part& p, ByteView data) {
    while (!data.empty()) {
      ssize_t n = ::write(p.fd, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return IOError(Errno(p.temp));
      data = data.subspan(static_cast<size_t>(n));
      p.written += static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  std::string out_;
  uint64_t max_bytes_;
  bf::BundleId id_;
  std::vector<Part> parts_;
  Bytes manifest_;
};

// ---------------------------------------------------------------------------
// Reading parts

struct OpenPart {
  std::string file;
  bf::PartHeader header;
  int fd = -1;
  uint64_t file_bytes = 0;
};

class PartSet {
 public:
  ~PartSet() {
    for (auto& p : parts_) {
      if (p.fd >= 0) ::close(p.fd);
    }
  }

  // Opens every file and reads its header; checks that they are parts of
  // one bundle, each given once. Missing parts are allowed here.
  Status Open(std::span<const std::string> files) {
    if (files.empty()) return InvalidArgument("no bundle file given");
    for (const std::string& file : files) {
      OpenPart p;
      p.file = file;
      p.fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
      if (p.fd < 0) return IOError(Errno(file));
      struct stat st;
      if (::fstat(p.fd, &st) != 0) {
        ::close(p.fd);
        return IOError(Errno(file));
      }
      if (!S_ISREG(st.st_mode)) {
        ::close(p.fd);
        return InvalidArgument(file + " is not a file (a directory?)");
      }
      p.file_bytes = static_cast<uint64_t>(st.st_size);
      uint8_t buf[bf::kPartHeaderBytes];
      ssize_t n = ::pread(p.fd, buf, sizeof buf, 0);
      auto header = n == static_cast<ssize_t>(sizeof buf) ? bf::DecodePartHeader(ByteView(buf, sizeof buf))
                                                          : Result<bf::PartHeader>(Corruption("shorter than a bundle part header"));
      if (!header.ok()) {
        ::close(p.fd);
        return Corruption(file + ": " + header.status().message());
      }
      p.header = header.value();
      if (p.file_bytes != bf::kPartHeaderBytes + p.header.data_len + p.header.manifest_len) {
        ::close(p.fd);
        return Corruption(file + " (part " + std::to_string(p.header.part_no) + ") is " + std::to_string(p.file_bytes) +
                          " bytes; its header says " +
                          std::to_string(bf::kPartHeaderBytes + p.header.data_len + p.header.manifest_len) + " (truncated or extended)");
      }
      if (!parts_.empty()) {
        const OpenPart& first = parts_.front();
        if (p.header.bundle_id != first.header.bundle_id || p.header.part_count != first.header.part_count) {
          ::close(p.fd);
          return InvalidArgument(file + " is a part of another bundle than " + first.file);
        }
      }
      for (const OpenPart& q : parts_) {
        if (q.header.part_no == p.header.part_no) {
          ::close(p.fd);
          return InvalidArgument(file + " and " + q.file + " are both part " + std::to_string(p.header.part_no));
        }
      }
      parts_.push_back(std::move(p));
    }
    std::sort(parts_.begin(), parts_.end(), [](const OpenPart& a, const OpenPart& b) { return a.header.part_no < b.header.part_no; });
    return Status::Ok();
  }

  uint32_t count() const { return parts_.front().header.part_count; }
  const OpenPart* Find(uint32_t part_no) const {
    for (const auto& p : parts_) {
      if (p.header.part_no == part_no) return &p;
    }
    return nullptr;
  }
  std::string Missing() const {
    std::string out;
    for (uint32_t k = 1; k <= count(); ++k) {
      if (!Find(k)) out += (out.empty() ? "" : ", ") + std::to_string(k);
    }
    return out;
  }

  // The manifest from the last part, its signature checked, and checked
  // against the part headers.
  Result<bf::Manifest> ReadManifest() const {
    const OpenPart* last = Find(count());
    if (!last) return NotFound("part " + std::to_string(count()) + " of " + std::to_string(count()) + " (the one with the manifest) is missing");
    Bytes bytes(last->header.manifest_len);
    if (::pread(last->fd, bytes.data(), bytes.size(), static_cast<off_t>(bf::kPartHeaderBytes + last->header.data_len)) !=
        static_cast<ssize_t>(bytes.size())) {
      return IOError(Errno(last->file));
    }
    auto m = bf::DecodeManifest(bytes);
    if (!m.ok()) return Status(m.status().code(), last->file + ": " + m.status().message());
    if (m->bundle_id != last->header.bundle_id) return Corruption(last->file + ": the manifest names another bundle");
    if (m->parts.size() != count()) return Corruption(last->file + ": the manifest names " + std::to_string(m->parts.size()) + " parts, the headers " + std::to_string(count()));
    for (const OpenPart& p : parts_) {
      if (m->parts[p.header.part_no - 1].data_len != p.header.data_len) {
        return Corruption("part " + std::to_string(p.header.part_no) + " (" + p.file + ") is damaged: its length is not the manifest's");
      }
    }
    return m;
  }

  // Whether part `p`'s data hashes to what the manifest says.
  Result<bool> HashOk(const OpenPart& p, const bf::Manifest& m) const {
    crypto::Blake2bHasher hasher;
    Bytes buf(1 << 20);
    uint64_t left = p.header.data_len;
    off_t at = bf::kPartHeaderBytes;
    while (left > 0) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(left, buf.size()));
      ssize_t got = ::pread(p.fd, buf.data(), n, at);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return IOError(Errno(p.file));
      hasher.Update(ByteView(buf.data(), static_cast<size_t>(got)));
      left -= static_cast<uint64_t>(got);
      at += got;
    }
    return hasher.Final() == m.parts[p.header.part_no - 1].hash;
  }

  // Sequential reads of the data of all parts, in order.
  Status Read(uint8_t* out, size_t n) {
    while (n > 0) {
      if (cursor_part_ >= parts_.size()) return Corruption("the bundle's data ends in the middle of a block");
      OpenPart& p = parts_[cursor_part_];
      uint64_t left = p.header.data_len - cursor_offset_;
      if (left == 0) {
        ++cursor_part_;
        cursor_offset_ = 0;
        continue;
      }
      size_t take = static_cast<size_t>(std::min<uint64_t>(left, n));
      ssize_t got = ::pread(p.fd, out, take, static_cast<off_t>(bf::kPartHeaderBytes + cursor_offset_));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return IOError(Errno(p.file));
      cursor_offset_ += static_cast<uint64_t>(got);
      out += got;
      n -= static_cast<size_t>(got);
      data_read_ += static_cast<uint64_t>(got);
    }
    return Status::Ok();
  }
  uint64_t data_read() const { return data_read_; }
  const std::vector<OpenPart>& parts() const { return parts_; }

 private:
  std::vector<OpenPart> parts_;
  size_t cursor_part_ = 0;
  uint64_t cursor_offset_ = 0;
  uint64_t data_read_ = 0;
};

// Opens the parts, reads and verifies the manifest and every part's hash.
Status OpenAndVerify(PartSet& set, std::span<const std::string> files, bf::Manifest* manifest) {
  NCEN_RETURN_IF_ERROR(set.Open(files));
  std::string missing = set.Missing();
  if (!missing.empty()) {
    return NotFound("the bundle has " + std::to_string(set.count()) + " parts; part(s) " + missing + " not given (missing)");
  }
  NCEN_ASSIGN_OR_RETURN(*manifest, set.ReadManifest());
  for (const OpenPart& p : set.parts()) {
    NCEN_ASSIGN_OR_RETURN(bool ok, set.HashOk(p, *manifest));
    if (!ok) {
      return Corruption("part " + std::to_string(p.header.part_no) + " of " + std::to_string(set.count()) + " (" + p.file +
                        ") is damaged: its hash does not match the signed manifest");
    }
  }
  return Status::Ok();
}

std::vector<FeedHead> Merge(std::map<FeedId, FeedHead> a, const std::vector<FeedHead>& b) {
  for (const FeedHead& h : b) {
    auto [it, fresh] = a.try_emplace(h.feed, h);
    if (!fresh && h.seq > it->second.seq) it->second = h;
  }
  std::vector<FeedHead> out;
  for (auto& [feed, h] : a) out.push_back(h);
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------

Result<BundlePeer> FindBundlePeer(const std::string& dir, const OpenNode& node, const std::string& name_or_id) {
  const crypto::PublicKey self = node.identity.public_key();
  NCEN_ASSIGN_OR_RETURN(NodeConfig config, LoadConfig(dir, self));
  NCEN_ASSIGN_OR_RETURN(auto membership, node.store->GetMembership());
  const PeerConfig* pc = config.FindByName(name_or_id);
  std::optional<crypto::PublicKey> id;
  if (pc) {
    id = pc->id;
  } else if (auto parsed = ParsePeerId(name_or_id); parsed.ok()) {
    id = parsed.value();
    pc = config.FindById(*id);
  }
  if (!id) return NotFound("'" + name_or_id + "' is neither a peer's name in ncen.toml nor a node id");
  if (*id == self) return InvalidArgument("'" + name_or_id + "' is this node");
  // As the daemon admits a connection (docs/membership.md §3): in a network
  // only members whose certificates let the two exchange some scope.
  if (membership) {
    const storage::Member* m = membership->Find(*id);
    if (!m) return Unauthenticated("node " + crypto::Fingerprint(*id) + " has no certificate in this network");
    if (m->revoked) return Unauthenticated("node " + crypto::Fingerprint(*id) + " is revoked");
    if (!membership->AnyExchange(self, *id)) return Unauthenticated("node " + crypto::Fingerprint(*id) + " may exchange no scope with this node");
  }
  BundlePeer peer;
  peer.id = *id;
  if (pc) {
    peer.name = pc->name;
    peer.scopes = pc->scopes;
  } else if (membership) {
    peer.name = "member-" + crypto::Fingerprint(*id);
    peer.scopes = AllScopes();
  } else {
    return Unauthenticated("node " + crypto::Fingerprint(*id) + " is not a peer in ncen.toml");
  }
  return peer;
}

Result<std::vector<FeedHead>> AcknowledgedFrontier(const std::string& dir, storage::Store& store,
                                                   const crypto::PublicKey& peer) {
  NCEN_ASSIGN_OR_RETURN(auto acks, ReadAcks(dir, peer));
  storage::PeerLedger ledger(store);
  NCEN_ASSIGN_OR_RETURN(auto rows, ledger.All());
  std::vector<FeedHead> from_status;
  for (const auto& row : rows) {
    if (row.id == peer) from_status = row.peer_frontier;
  }
  return Merge(std::move(acks), from_status);
}

Result<bool> RecordAcknowledged(const std::string& dir, const crypto::PublicKey& peer,
                                const std::vector<FeedHead>& frontier) {
  NCEN_ASSIGN_OR_RETURN(auto acks, ReadAcks(dir, peer));
  bool moved = false;
  for (const FeedHead& h : frontier) {
    auto [it, fresh] = acks.try_emplace(h.feed, h);
    if (fresh || h.seq > it->second.seq) {
      it->second = h;
      moved = true;
    }
  }
  if (!moved) return false;
  Bytes bytes(kAckMagic.begin(), kAckMagic.end());
  AppendU32BE(bytes, static_cast<uint32_t>(acks.size()));
  for (const auto& [feed, h] : acks) {
    Append(bytes, feed.author);
    bytes.push_back(static_cast<uint8_t>(feed.scope));
    AppendU64BE(bytes, h.seq);
    Append(bytes, h.head);
  }
  NCEN_RETURN_IF_ERROR(EnsureDir(dir, kBundleAcksDirName));
  NCEN_RETURN_IF_ERROR(ReplaceFileAtomically(dir + "/" + kBundleAcksDirName, crypto::NodeIdHex(peer), AsChars(bytes)));
  return true;
}

Result<BundleWritten> CreateBundle(const std::string& dir, OpenNode& node, const BundleCreateOptions& o) {
  NCEN_ASSIGN_OR_RETURN(BundlePeer peer, FindBundlePeer(dir, node, o.peer));
  if (o.max_bytes != 0 && o.max_bytes < bf::kPartBytesMin) {
    return InvalidArgument("--max-bytes must be at least " + std::to_string(bf::kPartBytesMin));
  }
  storage::Store& store = *node.store;
  NCEN_ASSIGN_OR_RETURN(auto membership, store.GetMembership());
  NCEN_ASSIGN_OR_RETURN(auto forks, store.Forks());
  std::set<FeedId> forked;
  for (const auto& f : forks) forked.insert(f.feed);
  replication::PeerFeeds feeds(peer.id, peer.scopes, membership, forked);
  NCEN_ASSIGN_OR_RETURN(auto offerable, replication::PeerFeeds::Offerable(store, membership.get()));

  std::vector<FeedHead> since;
  if (o.since) {
    since = *o.since;
  } else {
    NCEN_ASSIGN_OR_RETURN(since, AcknowledgedFrontier(dir, store, peer.id));
  }
  replication::SendPlanner planner(store, o.block_bytes);
  replication::SendPlanner::Frontier ours;
  bf::Manifest m;
  for (const auto& [feed, h] : offerable) {
    ours[feed] = {h.seq, h.head};
    if (feeds.MayReceive(feed)) m.frontier.push_back(h);
  }
  std::map<FeedId, uint64_t> acked;
  for (const FeedHead& h : since) {
    if (!feeds.MayReceive(h.feed)) continue;
    planner.PeerHas(h.feed, h.seq);
    acked[h.feed] = h.seq;
    m.since.push_back(h);
  }
  crypto::RandomFill(m.bundle_id.data(), m.bundle_id.size());
  m.author = node.identity.public_key();
  m.recipient = peer.id;
  m.created_ms = store.NowMs();

  PartWriter writer(o.out, o.max_bytes, m.bundle_id);
  StreamCompressor compressor(o.level);
  Bytes batch, block, compressed;
  std::map<FeedId, bf::FeedRun> runs;
  BundleWritten result;
  auto may_send = [&](const FeedId& f) { return feeds.MayReceive(f); };
  for (;;) {
    NCEN_ASSIGN_OR_RETURN(auto planned, planner.NextBatch(ours, may_send, batch));
    if (planned.entries == 0) break;
    for (const auto& [feed, last] : planned.runs) {
      auto [it, fresh] = runs.try_emplace(feed);
      if (fresh) {
        auto a = acked.find(feed);
        it->second = bf::FeedRun{feed, (a == acked.end() ? 0 : a->second) + 1, last};
      }
      it->second.last_seq = std::max(it->second.last_seq, last);
    }
    block.clear();
    AppendU32BE(block, static_cast<uint32_t>(planned.entries));
    Append(block, batch);
    compressed.clear();
    NCEN_RETURN_IF_ERROR(compressor.Compress(block, compressed));
    Bytes framing;
    AppendU32BE(framing, static_cast<uint32_t>(block.size()));
    AppendU32BE(framing, static_cast<uint32_t>(compressed.size()));
    NCEN_RETURN_IF_ERROR(writer.Write(framing));
    NCEN_RETURN_IF_ERROR(writer.Write(compressed));
    m.entries += planned.entries;
    m.raw_bytes += batch.size();
    // Header and payload bytes: the transfer form less its fixed overhead.
    result.header_payload_bytes += batch.size() - planned.entries * limits::kTransferOverheadBytes;
    ++m.blocks;
  }
  for (auto& [feed, run] : runs) m.runs.push_back(run);
  NCEN_ASSIGN_OR_RETURN(result.files, writer.Finish(m, node.identity, &result.file_bytes));
  result.manifest = std::move(m);
  return result;
}

Result<BundleImported> ImportBundle(const std::string& dir, OpenNode& node, std::span<const std::string> files) {
  PartSet set;
  bf::Manifest m;
  NCEN_RETURN_IF_ERROR(OpenAndVerify(set, files, &m));
  const crypto::PublicKey self = node.identity.public_key();
  if (m.author == self) return FailedPrecondition("this bundle was written by this node");
  if (m.recipient != self) {
    return FailedPrecondition("this bundle is for node " + crypto::Fingerprint(m.recipient) + ", not this node (" +
                              crypto::Fingerprint(self) + ")");
  }
  auto peer = FindBundlePeer(dir, node, crypto::NodeIdHex(m.author));
  if (!peer.ok()) return Unauthenticated("the bundle's author is not accepted: " + peer.status().message());
  NCEN_ASSIGN_OR_RETURN(auto membership, node.store->GetMembership());
  replication::PeerFeeds feeds(peer->id, peer->scopes, membership);
  for (const FeedHead& h : m.frontier) {
    if (!feeds.InScope(h.feed)) return Unauthenticated("the manifest's frontier names feed " + FeedText(h.feed) + ", of a scope not exchanged with " + peer->name);
  }

  // Expected next seq of each feed, from the manifest's runs.
  std::map<FeedId, std::pair<uint64_t, uint64_t>> expect;  // next, last
  for (const auto& run : m.runs) {
    if (!feeds.InScope(run.feed)) {
      return Unauthenticated("the bundle carries feed " + FeedText(run.feed) + ", of a scope not exchanged with " + peer->name);
    }
    expect[run.feed] = {run.first_seq, run.last_seq};
  }
  uint64_t blocks = 0, entries = 0;
  const uint64_t data_bytes = m.data_bytes();
  StreamDecompressor decompressor;
  Bytes compressed, raw;
  auto next = [&](std::vector<storage::Entry>& batch) -> Result<bool> {
    batch.clear();
    if (set.data_read() == data_bytes) {
      // The end: the entries must be exactly what the manifest announced
      // (checked before the commit, so a short bundle applies nothing).
      if (blocks != m.blocks || entries != m.entries) {
        return Corruption("the bundle holds " + std::to_string(entries) + " entries in " + std::to_string(blocks) +
                          " blocks; its manifest says " + std::to_string(m.entries) + " in " + std::to_string(m.blocks));
      }
      for (const auto& [feed, next_last] : expect) {
        if (next_last.first != next_last.second + 1) {
          return Corruption("feed " + FeedText(feed) + " ends at seq " + std::to_string(next_last.first - 1) +
                            "; the manifest announces up to " + std::to_string(next_last.second));
        }
      }
      return false;
    }
    uint8_t framing[bf::kBlockHeaderBytes];
    NCEN_RETURN_IF_ERROR(set.Read(framing, sizeof framing));
    uint32_t raw_len = GetU32BE(framing), comp_len = GetU32BE(framing + 4);
    if (raw_len < 4 || raw_len > bf::kBlockRawBytesMax || comp_len > bf::kBlockCompressedBytesMax ||
        comp_len > data_bytes - set.data_read()) {
      return Corruption("block " + std::to_string(blocks + 1) + ": lengths " + std::to_string(raw_len) + "/" +
                        std::to_string(comp_len) + " out of range");
    }
    compressed.resize(comp_len);
    NCEN_RETURN_IF_ERROR(set.Read(compressed.data(), comp_len));
    NCEN_RETURN_IF_ERROR(decompressor.Decompress(compressed, raw_len, raw));
    if (raw.size() != raw_len) return Corruption("block " + std::to_string(blocks + 1) + " decompresses to another length than its header says");
    ++blocks;
    uint32_t count = GetU32BE(raw.data());
    if (count == 0 || count > (raw_len - 4) / limits::kEntryTransferBytesMin) {
      return Corruption("block " + std::to_string(blocks) + ": entry count " + std::to_string(count) + " does not fit its bytes");
    }
    batch.reserve(count);
    ByteView rest = ByteView(raw).subspan(4);
    for (uint32_t i = 0; i < count; ++i) {
      auto e = storage::DecodeEntry(rest);
      if (!e.ok()) return Corruption("block " + std::to_string(blocks) + ", entry " + std::to_string(i + 1) + ": " + e.status().message());
      const FeedId feed = e->header.feed();
      auto it = expect.find(feed);
      if (it == expect.end() || e->header.seq != it->second.first || e->header.seq > it->second.second) {
        return Corruption("entry seq " + std::to_string(e->header.seq) + " of feed " + FeedText(feed) +
                          " is not the next one the manifest's runs announce");
      }
      ++it->second.first;
      batch.push_back(std::move(e).value());
    }
    if (!rest.empty()) return Corruption("block " + std::to_string(blocks) + " has bytes after its last entry");
    entries += count;
    if (entries > m.entries) return Corruption("the bundle holds more entries than its manifest says");
    return true;
  };
  storage::ApplyReport report = node.store->ApplyAllOrNothing(next, "bundle from " + peer->name);
  if (!report.status.ok()) return Status(report.status.code(), report.status.message() + "; nothing was applied");
  if (!report.refused.empty()) {
    const storage::Refusal& r = report.refused.front();
    return Unauthenticated("entry seq " + std::to_string(r.seq) + " of feed " + FeedText(r.feed) + " is refused (" +
                           storage::EntryErrorName(r.error) + ": " + r.message + "); nothing was applied");
  }
  // The transaction committed; what follows is the acknowledgement.
  BundleImported out;
  out.marked_stale = report.marked_stale;
  out.applied = report.applied;
  out.duplicates = report.duplicates;
  out.author_name = peer->name;
  std::vector<FeedHead> acked;
  for (const FeedHead& h : m.frontier) {
    if (feeds.MayReceive(h.feed)) acked.push_back(h);
  }
  NCEN_ASSIGN_OR_RETURN(out.acknowledgement_advanced, RecordAcknowledged(dir, m.author, acked));
  out.manifest = std::move(m);
  return out;
}

Result<BundleInspection> InspectBundle(std::span<const std::string> files) {
  PartSet set;
  NCEN_RETURN_IF_ERROR(set.Open(files));
  BundleInspection out;
  NCEN_ASSIGN_OR_RETURN(out.manifest, set.ReadManifest());
  for (uint32_t k = 1; k <= set.count(); ++k) {
    BundlePartState s;
    s.part_no = k;
    if (const OpenPart* p = set.Find(k)) {
      s.file = p->file;
      s.file_bytes = p->file_bytes;
      NCEN_ASSIGN_OR_RETURN(s.hash_ok, set.HashOk(*p, out.manifest));
      if (!s.hash_ok && out.problem.empty()) out.problem = "part " + std::to_string(k) + " (" + p->file + ") is damaged: its hash does not match the signed manifest";
    } else if (out.problem.empty()) {
      out.problem = "part " + std::to_string(k) + " of " + std::to_string(set.count()) + " is missing";
    }
    out.parts.push_back(s);
  }
  return out;
}

Result<std::vector<FeedHead>> ParseFrontierJson(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return InvalidArgument("--since: not JSON");
  if (j.is_object() && j.contains("frontier")) j = j["frontier"];
  if (!j.is_array()) return InvalidArgument("--since: expected a list of {author, scope, seq}");
  std::map<FeedId, FeedHead> out;
  for (const auto& item : j) {
    if (!item.is_object() || !item.contains("author") || !item.contains("scope") || !item.contains("seq") ||
        !item["author"].is_string() || !item["scope"].is_string() || !item["seq"].is_number_unsigned()) {
      return InvalidArgument("--since: every item needs author (hex), scope (name) and seq (a count)");
    }
    FeedHead h;
    auto author = crypto::ParseNodeId(item["author"].get<std::string>());
    if (!author.ok()) return InvalidArgument("--since: " + author.status().message());
    auto scope = storage::ParseFeedScope(item["scope"].get<std::string>());
    if (!scope) return InvalidArgument("--since: unknown scope " + item["scope"].get<std::string>());
    h.feed = {author.value(), *scope};
    h.seq = item["seq"].get<uint64_t>();
    if (item.contains("head") && item["head"].is_string()) {
      auto head = FromHex(item["head"].get<std::string>());
      if (head && head->size() == 32) std::copy(head->begin(), head->end(), h.head.begin());
    }
    out[h.feed] = h;
  }
  std::vector<FeedHead> heads;
  for (auto& [f, h] : out) heads.push_back(h);
  return heads;
}

}  // namespace ncen::node
