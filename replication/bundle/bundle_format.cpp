#include "replication/bundle/bundle_format.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "crypto/hash.h"

namespace ncen::replication::bundle {

namespace {

constexpr size_t kFeedHeadBytes = 32 + 1 + 8 + 32;
constexpr size_t kRunBytes = 32 + 1 + 8 + 8;
constexpr size_t kPartInfoBytes = 8 + 32;

void AppendU16BE(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

// Reads fixed fields from the front of hostile bytes; the first shortfall
// sticks and names the field.
class Reader {
 public:
  explicit Reader(ByteView in) : in_(in) {}
  bool Take(size_t n, const char* what, const uint8_t** at) {
    if (!error_.empty()) return false;
    if (in_.size() - pos_ < n) {
      error_ = std::string("truncated at ") + what;
      return false;
    }
    *at = in_.data() + pos_;
    pos_ += n;
    return true;
  }
  template <size_t N>
  void Array(std::array<uint8_t, N>& out, const char* what) {
    const uint8_t* p;
    if (Take(N, what, &p)) std::memcpy(out.data(), p, N);
  }
  uint64_t U64(const char* what) {
    const uint8_t* p;
    return Take(8, what, &p) ? GetU64BE(p) : 0;
  }
  uint32_t U32(const char* what) {
    const uint8_t* p;
    return Take(4, what, &p) ? GetU32BE(p) : 0;
  }
  uint16_t U16(const char* what) {
    const uint8_t* p;
    return Take(2, what, &p) ? static_cast<uint16_t>(p[0] << 8 | p[1]) : 0;
  }
  uint8_t U8(const char* what) {
    const uint8_t* p;
    return Take(1, what, &p) ? p[0] : 0;
  }
  // A count of items of `item_bytes` each: refused when the bytes left
  // cannot hold them, before anything is allocated.
  uint32_t Count(size_t item_bytes, const char* what) {
    uint32_t n = U32(what);
    if (error_.empty() && uint64_t{n} * item_bytes > in_.size() - pos_) {
      error_ = std::string(what) + " " + std::to_string(n) + " is more than the bytes left can hold";
      return 0;
    }
    return n;
  }
  void Fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
  }
  const std::string& error() const { return error_; }
  size_t left() const { return in_.size() - pos_; }

 private:
  ByteView in_;
  size_t pos_ = 0;
  std::string error_;
};

void AppendHeads(Bytes& out, const std::vector<storage::FeedHead>& heads) {
  AppendU32BE(out, static_cast<uint32_t>(heads.size()));
  for (const auto& h : heads) {
    Append(out, h.feed.author);
    out.push_back(static_cast<uint8_t>(h.feed.scope));
    AppendU64BE(out, h.seq);
    Append(out, h.head);
  }
}

std::vector<storage::FeedHead> ReadHeads(Reader& r, const char* what) {
  std::vector<storage::FeedHead> out;
  uint32_t n = r.Count(kFeedHeadBytes, what);
  out.reserve(n);
  for (uint32_t i = 0; i < n && r.error().empty(); ++i) {
    storage::FeedHead h;
    r.Array(h.feed.author, what);
    uint8_t scope = r.U8(what);
    if (scope > static_cast<uint8_t>(storage::Scope::kNetwork)) r.Fail(std::string(what) + ": scope " + std::to_string(scope) + " is unknown");
    h.feed.scope = static_cast<storage::Scope>(scope);
    h.seq = r.U64(what);
    r.Array(h.head, what);
    if (!out.empty() && !(out.back().feed < h.feed)) r.Fail(std::string(what) + ": feeds not sorted or repeated");
    out.push_back(h);
  }
  return out;
}

}  // namespace

Bytes EncodePartHeader(const PartHeader& h) {
  Bytes out;
  out.reserve(kPartHeaderBytes);
  Append(out, kPartMagic);
  AppendU16BE(out, kFormatVersion);
  AppendU16BE(out, 0);
  AppendU32BE(out, h.part_no);
  AppendU32BE(out, h.part_count);
  Append(out, h.bundle_id);
  AppendU64BE(out, h.data_len);
  AppendU32BE(out, h.manifest_len);
  AppendU32BE(out, 0);
  return out;
}

Result<PartHeader> DecodePartHeader(ByteView bytes) {
  if (bytes.size() < kPartHeaderBytes) return Corruption("shorter than a bundle part header (" + std::to_string(kPartHeaderBytes) + " bytes)");
  if (!std::equal(kPartMagic.begin(), kPartMagic.end(), bytes.begin())) return Corruption("not an ncen bundle (wrong magic)");
  Reader r(bytes.first(kPartHeaderBytes));
  const uint8_t* skip;
  r.Take(8, "magic", &skip);
  uint16_t version = r.U16("version");
  if (version != kFormatVersion) {
    return Corruption("bundle format version " + std::to_string(version) + "; this build reads version " + std::to_string(kFormatVersion));
  }
  if (r.U16("flags") != 0) return Corruption("unknown flags in the part header");
  PartHeader h;
  h.part_no = r.U32("part_no");
  h.part_count = r.U32("part_count");
  r.Array(h.bundle_id, "bundle_id");
  h.data_len = r.U64("data_len");
  h.manifest_len = r.U32("manifest_len");
  if (r.U32("reserved") != 0) return Corruption("reserved bytes of the part header are not zero");
  if (h.part_count == 0 || h.part_count > kPartsMax) return Corruption("part count " + std::to_string(h.part_count) + " out of range");
  if (h.part_no == 0 || h.part_no > h.part_count) {
    return Corruption("part number " + std::to_string(h.part_no) + " is not in 1.." + std::to_string(h.part_count));
  }
  if (h.manifest_len > kManifestBytesMax) return Corruption("manifest length " + std::to_string(h.manifest_len) + " over the limit");
  if ((h.manifest_len != 0) != (h.part_no == h.part_count)) return Corruption("the manifest must be in the last part, and only there");
  return h;
}

Bytes EncodeManifestBody(const Manifest& m) {
  Bytes out;
  Append(out, kManifestMagic);
  AppendU16BE(out, kFormatVersion);
  Append(out, m.bundle_id);
  Append(out, m.author);
  Append(out, m.recipient);
  AppendU64BE(out, static_cast<uint64_t>(m.created_ms));
  AppendU64BE(out, m.entries);
  AppendU64BE(out, m.raw_bytes);
  AppendU64BE(out, m.blocks);
  AppendU32BE(out, static_cast<uint32_t>(m.parts.size()));
  for (const auto& p : m.parts) {
    AppendU64BE(out, p.data_len);
    Append(out, p.hash);
  }
  AppendHeads(out, m.frontier);
  AppendHeads(out, m.since);
  AppendU32BE(out, static_cast<uint32_t>(m.runs.size()));
  for (const auto& run : m.runs) {
    Append(out, run.feed.author);
    out.push_back(static_cast<uint8_t>(run.feed.scope));
    AppendU64BE(out, run.first_seq);
    AppendU64BE(out, run.last_seq);
  }
  return out;
}

Bytes SignManifest(const Manifest& m, const crypto::Identity& author) {
  Bytes body = EncodeManifestBody(m);
  crypto::Signature sig = author.Sign(body);
  Append(body, sig);
  return body;
}

Result<Manifest> DecodeManifest(ByteView bytes) {
  if (bytes.size() < kManifestMagic.size() + limits::kSignatureBytes ||
      !std::equal(kManifestMagic.begin(), kManifestMagic.end(), bytes.begin())) {
    return Corruption("the manifest does not start with its magic");
  }
  ByteView body = bytes.first(bytes.size() - limits::kSignatureBytes);
  crypto::Signature sig;
  std::memcpy(sig.data(), bytes.data() + body.size(), sig.size());
  Reader r(body);
  const uint8_t* skip;
  r.Take(8, "magic", &skip);
  uint16_t version = r.U16("version");
  if (r.error().empty() && version != kFormatVersion) {
    return Corruption("manifest format version " + std::to_string(version) + "; this build reads version " + std::to_string(kFormatVersion));
  }
  Manifest m;
  r.Array(m.bundle_id, "bundle_id");
  r.Array(m.author, "author");
  r.Array(m.recipient, "recipient");
  m.created_ms = static_cast<int64_t>(r.U64("created_ms"));
  m.entries = r.U64("entries");
  m.raw_bytes = r.U64("raw_bytes");
  m.blocks = r.U64("blocks");
  uint32_t parts = r.Count(kPartInfoBytes, "part count");
  if (parts > kPartsMax || (r.error().empty() && parts == 0)) r.Fail("part count " + std::to_string(parts) + " out of range");
  m.parts.resize(r.error().empty() ? parts : 0);
  for (auto& p : m.parts) {
    p.data_len = r.U64("part data_len");
    r.Array(p.hash, "part hash");
  }
  m.frontier = ReadHeads(r, "frontier");
  m.since = ReadHeads(r, "since");
  uint32_t runs = r.Count(kRunBytes, "run count");
  m.runs.reserve(runs);
  uint64_t counted = 0;
  for (uint32_t i = 0; i < runs && r.error().empty(); ++i) {
    FeedRun run;
    r.Array(run.feed.author, "run");
    uint8_t scope = r.U8("run");
    if (scope > static_cast<uint8_t>(storage::Scope::kNetwork)) r.Fail("run: scope " + std::to_string(scope) + " is unknown");
    run.feed.scope = static_cast<storage::Scope>(scope);
    run.first_seq = r.U64("run");
    run.last_seq = r.U64("run");
    if (run.first_seq == 0 || run.last_seq < run.first_seq) r.Fail("run: seqs " + std::to_string(run.first_seq) + ".." + std::to_string(run.last_seq));
    if (!m.runs.empty() && !(m.runs.back().feed < run.feed)) r.Fail("runs not sorted by feed or repeated");
    counted += run.last_seq - run.first_seq + 1;
    m.runs.push_back(run);
  }
  if (r.error().empty() && r.left() != 0) r.Fail(std::to_string(r.left()) + " bytes after the last field");
  if (r.error().empty() && counted != m.entries) r.Fail("the runs hold " + std::to_string(counted) + " entries, the manifest says " + std::to_string(m.entries));
  if (!r.error().empty()) return Corruption("manifest: " + r.error());
  if (!crypto::Verify(m.author, body, sig)) {
    return Unauthenticated("the manifest's signature does not verify against its author " + crypto::Fingerprint(m.author));
  }
  return m;
}

}  // namespace ncen::replication::bundle
