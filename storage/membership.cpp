#include "storage/membership.h"

#include "storage/record_json.h"
#include "storage/sharing.h"

#include <algorithm>
#include <cstring>
#include <tuple>
#include <unordered_set>

#include "base/text.h"
#include "storage/codes.h"
#include "storage/record_json.h"

namespace ncen::storage {

namespace {

constexpr uint8_t kCertMagic[4] = {'N', 'C', 'C', 1};
constexpr uint8_t kRevocationMagic[4] = {'N', 'C', 'R', 1};

// A reader that fails once and stays failed; the first failure names the field.
class Reader {
 public:
  explicit Reader(ByteView in) : in_(in) {}
  bool Take(size_t n, ByteView* out) {
    if (n > in_.size() - pos_) return false;
    *out = in_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  bool U8(uint8_t* v) {
    ByteView b;
    if (!Take(1, &b)) return false;
    *v = b[0];
    return true;
  }
  bool U16(uint16_t* v) {
    ByteView b;
    if (!Take(2, &b)) return false;
    *v = static_cast<uint16_t>(b[0] << 8 | b[1]);
    return true;
  }
  bool U64(uint64_t* v) {
    ByteView b;
    if (!Take(8, &b)) return false;
    *v = GetU64BE(b.data());
    return true;
  }
  bool Key(PublicKey* key) {
    ByteView b;
    if (!Take(key->size(), &b)) return false;
    std::copy(b.begin(), b.end(), key->begin());
    return true;
  }
  bool Text(size_t n, std::string* s) {
    ByteView b;
    if (!Take(n, &b)) return false;
    s->assign(reinterpret_cast<const char*>(b.data()), b.size());
    return true;
  }
  bool done() const { return pos_ == in_.size(); }

 private:
  ByteView in_;
  size_t pos_ = 0;
};

// Valid UTF-8 with no control characters, and no bidirectional controls
// (U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), which would let a name
// shown in `members` read as another.
bool Printable(std::string_view s) {
  if (!IsValidUtf8(s)) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    auto u = static_cast<unsigned char>(s[i]);
    if (u < 0x20 || u == 0x7f) return false;
    if (u == 0xe2 && i + 2 < s.size()) {
      auto b = static_cast<unsigned char>(s[i + 1]), c = static_cast<unsigned char>(s[i + 2]);
      if (b == 0x80 && (c == 0x8e || c == 0x8f || (c >= 0xaa && c <= 0xae))) return false;
      if (b == 0x81 && c >= 0xa6 && c <= 0xa9) return false;
    }
  }
  return true;
}

bool Country(std::string_view s) {
  return s.size() == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && IsCountryCode(s);
}

bool NeedsCountry(MemberKind k) {
  return k == MemberKind::kCountryAuthority || k == MemberKind::kPost || k == MemberKind::kNationalHub;
}

}  // namespace

Status ValidateCertificate(const Certificate& c) {
  if (static_cast<uint8_t>(c.kind) < 1 || static_cast<uint8_t>(c.kind) > 5) {
    return Corruption("certificate: unknown kind " + std::to_string(static_cast<int>(c.kind)));
  }
  if (NeedsCountry(c.kind) ? !Country(c.country) : !c.country.empty()) {
    return Corruption(std::string("certificate: a ") + MemberKindName(c.kind) +
                      (NeedsCountry(c.kind) ? " needs a country (ISO 3166 alpha-2, upper case)"
                                            : " has no country"));
  }
  if (c.name.empty() || c.name.size() > kMemberNameBytesMax || !Printable(c.name)) {
    return Corruption("certificate: the name must be 1 to 64 bytes of printable UTF-8");
  }
  if (c.kind == MemberKind::kRegionalHub) {
    if (c.countries.empty() || c.countries.size() > kServedCountriesMax) {
      return Corruption("certificate: a regional hub serves 1 to 64 countries");
    }
    for (size_t i = 0; i < c.countries.size(); ++i) {
      if (!Country(c.countries[i])) return Corruption("certificate: served country is not ISO 3166 alpha-2");
      if (i > 0 && !(c.countries[i - 1] < c.countries[i])) {
        return Corruption("certificate: served countries are not sorted and distinct");
      }
    }
  } else if (!c.countries.empty()) {
    return Corruption(std::string("certificate: a ") + MemberKindName(c.kind) + " serves no countries");
  }
  if (c.predecessor && *c.predecessor == c.subject) {
    return Corruption("certificate: a key cannot succeed itself");
  }
  return Status::Ok();
}

Status ValidateRevocation(const Revocation& r) {
  for (size_t i = 0; i < r.cutoffs.size(); ++i) {
    if (static_cast<int>(r.cutoffs[i].scope) >= kFeedScopeCount) return Corruption("revocation: unknown scope");
    if (i > 0 && !(r.cutoffs[i - 1].scope < r.cutoffs[i].scope)) {
      return Corruption("revocation: cut-offs are not sorted by scope, one per scope");
    }
  }
  if (r.reason.size() > kRevocationReasonBytesMax || !Printable(r.reason)) {
    return Corruption("revocation: the reason must be at most 1,024 bytes of printable UTF-8");
  }
  return Status::Ok();
}

const char* MemberKindName(MemberKind kind) {
  switch (kind) {
    case MemberKind::kCountryAuthority: return "country-authority";
    case MemberKind::kPost: return "post";
    case MemberKind::kNationalHub: return "national-hub";
    case MemberKind::kRegionalHub: return "regional-hub";
    case MemberKind::kGlobalHub: return "global-hub";
  }
  return "?";
}

std::optional<MemberKind> ParseMemberKind(std::string_view name) {
  for (uint8_t k = 1; k <= 5; ++k) {
    if (name == MemberKindName(MemberKind(k))) return MemberKind(k);
  }
  return std::nullopt;
}

Bytes EncodeCertificate(const Certificate& c) {
  NCEN_CHECK(ValidateCertificate(c).ok());
  Bytes out(std::begin(kCertMagic), std::end(kCertMagic));
  out.push_back(static_cast<uint8_t>(c.kind));
  Append(out, c.subject);
  out.push_back(static_cast<uint8_t>(c.country.size()));
  Append(out, AsBytes(c.country));
  out.push_back(static_cast<uint8_t>(c.name.size()));
  Append(out, AsBytes(c.name));
  out.push_back(static_cast<uint8_t>(c.countries.size()));
  for (const auto& s : c.countries) Append(out, AsBytes(s));
  out.push_back(c.predecessor ? 1 : 0);
  if (c.predecessor) Append(out, *c.predecessor);
  return out;
}

Result<Certificate> DecodeCertificate(ByteView bytes) {
  Reader r(bytes);
  ByteView magic;
  if (!r.Take(4, &magic) || !std::equal(magic.begin(), magic.end(), kCertMagic)) {
    return Corruption("certificate: not a version-1 certificate (magic NCC\\x01)");
  }
  Certificate c;
  uint8_t kind = 0, country_len = 0, name_len = 0, count = 0, flags = 0;
  if (!r.U8(&kind)) return Corruption("certificate: truncated kind");
  if (kind < 1 || kind > 5) return Corruption("certificate: unknown kind " + std::to_string(kind));
  c.kind = MemberKind(kind);
  if (!r.Key(&c.subject)) return Corruption("certificate: truncated subject");
  if (!r.U8(&country_len) || (country_len != 0 && country_len != 2) || !r.Text(country_len, &c.country)) {
    return Corruption("certificate: bad country");
  }
  if (!r.U8(&name_len) || !r.Text(name_len, &c.name)) return Corruption("certificate: truncated name");
  if (!r.U8(&count) || count > kServedCountriesMax) return Corruption("certificate: bad served-country count");
  for (uint8_t i = 0; i < count; ++i) {
    std::string s;
    if (!r.Text(2, &s)) return Corruption("certificate: truncated served countries");
    c.countries.push_back(std::move(s));
  }
  if (!r.U8(&flags) || flags > 1) return Corruption("certificate: bad flags");
  if (flags & 1) {
    PublicKey p{};
    if (!r.Key(&p)) return Corruption("certificate: truncated predecessor");
    c.predecessor = p;
  }
  if (!r.done()) return Corruption("certificate: bytes after the end");
  NCEN_RETURN_IF_ERROR(ValidateCertificate(c));
  return c;
}

Bytes EncodeRevocation(const Revocation& rv) {
  NCEN_CHECK(ValidateRevocation(rv).ok());
  Bytes out(std::begin(kRevocationMagic), std::end(kRevocationMagic));
  Append(out, rv.subject);
  out.push_back(static_cast<uint8_t>(rv.cutoffs.size()));
  for (const Cutoff& c : rv.cutoffs) {
    out.push_back(static_cast<uint8_t>(c.scope));
    AppendU64BE(out, c.last_valid_seq);
  }
  out.push_back(static_cast<uint8_t>(rv.reason.size() >> 8));
  out.push_back(static_cast<uint8_t>(rv.reason.size()));
  Append(out, AsBytes(rv.reason));
  return out;
}

Result<Revocation> DecodeRevocation(ByteView bytes) {
  Reader r(bytes);
  ByteView magic;
  if (!r.Take(4, &magic) || !std::equal(magic.begin(), magic.end(), kRevocationMagic)) {
    return Corruption("revocation: not a version-1 revocation (magic NCR\\x01)");
  }
  Revocation rv;
  uint8_t count = 0;
  if (!r.Key(&rv.subject)) return Corruption("revocation: truncated subject");
  if (!r.U8(&count) || count > kFeedScopeCount) return Corruption("revocation: bad cut-off count");
  for (uint8_t i = 0; i < count; ++i) {
    uint8_t scope = 0;
    Cutoff c;
    if (!r.U8(&scope) || !r.U64(&c.last_valid_seq)) return Corruption("revocation: truncated cut-off");
    if (scope >= kFeedScopeCount) return Corruption("revocation: unknown scope " + std::to_string(scope));
    c.scope = Scope(scope);
    rv.cutoffs.push_back(c);
  }
  uint16_t reason_len = 0;
  if (!r.U16(&reason_len) || reason_len > kRevocationReasonBytesMax || !r.Text(reason_len, &rv.reason)) {
    return Corruption("revocation: bad reason");
  }
  if (!r.done()) return Corruption("revocation: bytes after the end");
  NCEN_RETURN_IF_ERROR(ValidateRevocation(rv));
  return rv;
}

Status ValidateNetworkPayload(RecordType type, ByteView payload) {
  if (type == RecordType::kCertificate) return DecodeCertificate(payload).status();
  if (type == RecordType::kRevocation) return DecodeRevocation(payload).status();
  return Corruption("not a network entry type");
}

crypto::Hash256 NetworkIdOf(const PublicKey& root) {
  crypto::Blake2bHasher h;
  h.Update(AsBytes("ncen network v1"));
  h.Update(root);
  return h.Final();
}

uint64_t Member::CutoffOf(Scope scope) const {
  if (!revoked) return UINT64_MAX;
  auto it = cutoffs.find(scope);
  return it == cutoffs.end() ? 0 : it->second;
}

Membership::Membership(const PublicKey& root) : root_(root) { Rebuild(); }

void Membership::Add(const Dot& dot, RecordType type, ByteView payload) {
  NCEN_CHECK(complete_);
  auto [it, fresh] = held_.try_emplace(dot, Held{type, Bytes(payload.begin(), payload.end())});
  if (!fresh) return;
  stale_ = true;
  ++generation_;
}

const Membership::Held* Membership::HeldAt(const PublicKey& author, uint64_t seq) const {
  auto it = held_.find(Dot{author, seq});
  return it == held_.end() ? nullptr : &it->second;
}

// The apply-time rule. Every fact it uses is in the entry itself, in the
// entries of its author's own feed before it, or in the entry its context
// names; a node holds all of them before it takes the entry (the chain and
// the context rule, docs/log-format.md §6), so every node decides the same.
Status Membership::CheckEntry(const EntryHeader& h, ByteView payload) const {
  NCEN_CHECK(complete_);
  const bool by_root = h.author == root_;
  std::string country;  // the authoring country authority's
  if (!by_root) {
    uint64_t root_seq = h.context.SeqOf(root_);
    const Held* granted = root_seq ? HeldAt(root_, root_seq) : nullptr;
    std::optional<Certificate> grant;
    if (granted && granted->type == RecordType::kCertificate) {
      auto c = DecodeCertificate(granted->payload);
      if (c.ok() && c.value().subject == h.author && c.value().kind == MemberKind::kCountryAuthority) {
        grant = std::move(c).value();
      }
    }
    if (!grant) {
      return Unauthenticated("author " + crypto::Fingerprint(h.author) +
                              " is not the root, and its entry's context names no root certificate of it "
                              "as a country authority");
    }
    country = grant->country;
  }
  if (h.record_type == RecordType::kCertificate) {
    NCEN_ASSIGN_OR_RETURN(Certificate c, DecodeCertificate(payload));
    if (c.subject == root_ || c.subject == h.author) {
      return Unauthenticated("a certificate for the root or for its own author");
    }
    if (!by_root) {
      if (c.kind != MemberKind::kPost && c.kind != MemberKind::kNationalHub) {
        return Unauthenticated(std::string("a country authority certifies posts and national hubs, not a ") +
                                MemberKindName(c.kind));
      }
      if (c.country != country) {
        return Unauthenticated("the country authority of " + country + " certifies a node of " + c.country);
      }
    }
    return Status::Ok();
  }
  if (h.record_type == RecordType::kRevocation) {
    NCEN_ASSIGN_OR_RETURN(Revocation rv, DecodeRevocation(payload));
    if (rv.subject == root_) return Unauthenticated("the root cannot be revoked");
    if (by_root) return Status::Ok();
    // A country authority revokes only keys it certified itself, earlier in its own feed.
    for (auto it = held_.lower_bound(Dot{h.author, 0}); it != held_.end() && it->first.author == h.author &&
                                                        it->first.seq < h.seq;
         ++it) {
      if (it->second.type != RecordType::kCertificate) continue;
      auto c = DecodeCertificate(it->second.payload);
      if (c.ok() && c.value().subject == rv.subject) return Status::Ok();
    }
    return Unauthenticated("author " + crypto::Fingerprint(h.author) + " revokes key " +
                            crypto::Fingerprint(rv.subject) + ", which it did not certify");
  }
  return Unauthenticated("not a network entry type");
}

void Membership::Rebuild() const {
  NCEN_CHECK(complete_);
  // Sorted vectors and hinted inserts rather than maps keyed by 32-byte
  // keys: a node derives this for every network entry it loads, and with
  // thousands of members the comparisons were most of a node's start.
  stale_ = false;
  struct Candidate {
    Certificate cert;
    PublicKey issuer{};
    uint64_t seq = 0;
    bool by_root = false;
    // Timestamps are the author's word: the root's certificate wins, then
    // the greater issuer key, then the later one in the issuer's feed.
    auto rank() const { return std::tie(by_root, issuer, seq); }
  };
  struct KeyHash {
    size_t operator()(const PublicKey& k) const {
      size_t h;
      std::memcpy(&h, k.data(), sizeof h);
      return h;
    }
  };
  std::vector<Candidate> candidates;
  candidates.reserve(held_.size());
  std::map<PublicKey, std::array<uint64_t, kFeedScopeCount>> cutoffs;  // subject -> min cut per scope (few)
  auto revoke = [&](const Revocation& rv) {
    std::array<uint64_t, kFeedScopeCount> cut{};
    for (const Cutoff& c : rv.cutoffs) cut[static_cast<size_t>(c.scope)] = c.last_valid_seq;
    auto [it, fresh] = cutoffs.try_emplace(rv.subject, cut);
    if (!fresh) {
      for (size_t s = 0; s < cut.size(); ++s) it->second[s] = std::min(it->second[s], cut[s]);
    }
  };
  // 1. The root's entries: all valid.
  std::map<PublicKey, size_t> by_root;  // subject -> its best root certificate (a few)
  for (auto it = held_.lower_bound(Dot{root_, 0}); it != held_.end() && it->first.author == root_; ++it) {
    const Held& e = it->second;
    if (e.type == RecordType::kCertificate) {
      auto c = DecodeCertificate(e.payload);
      if (!c.ok() || c.value().subject == root_) continue;
      candidates.push_back(Candidate{std::move(c).value(), root_, it->first.seq, true});
      auto [at, fresh] = by_root.try_emplace(candidates.back().cert.subject, candidates.size() - 1);
      if (!fresh && candidates[at->second].rank() < candidates.back().rank()) at->second = candidates.size() - 1;
    } else if (auto rv = DecodeRevocation(e.payload); rv.ok() && rv.value().subject != root_) {
      revoke(rv.value());
    }
  }
  // 2. The country authorities (by their root certificates), each up to its cut-off.
  std::vector<std::pair<PublicKey, Revocation>> pending;  // (authority, its revocation)
  std::vector<std::pair<PublicKey, std::string>> authorities;
  for (const auto& [key, index] : by_root) {
    const Certificate& c = candidates[index].cert;
    if (c.kind == MemberKind::kCountryAuthority) authorities.emplace_back(key, c.country);
  }
  for (const auto& [authority, country] : authorities) {
    uint64_t cut = UINT64_MAX;
    if (auto r = cutoffs.find(authority); r != cutoffs.end()) cut = r->second[static_cast<size_t>(Scope::kNetwork)];
    std::unordered_set<PublicKey, KeyHash> certified;
    for (auto it = held_.lower_bound(Dot{authority, 0});
         it != held_.end() && it->first.author == authority && it->first.seq <= cut; ++it) {
      const Held& e = it->second;
      if (e.type == RecordType::kCertificate) {
        auto c = DecodeCertificate(e.payload);
        if (!c.ok()) continue;
        const Certificate& cert = c.value();
        if (cert.subject == root_ || cert.subject == authority || cert.country != country ||
            (cert.kind != MemberKind::kPost && cert.kind != MemberKind::kNationalHub)) {
          continue;
        }
        certified.insert(cert.subject);
        candidates.push_back(Candidate{std::move(c).value(), authority, it->first.seq, false});
      } else if (auto rv = DecodeRevocation(e.payload); rv.ok() && certified.count(rv.value().subject)) {
        // Counts only if this authority issued the key's effective
        // certificate (step 3): one authority cannot revoke another's nodes.
        pending.push_back({authority, std::move(rv).value()});
      }
    }
  }
  // 3. Each subject's effective certificate.
  std::vector<uint32_t> order(candidates.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](uint32_t x, uint32_t y) {
    const Candidate& a = candidates[x];
    const Candidate& b = candidates[y];
    int c = std::memcmp(a.cert.subject.data(), b.cert.subject.data(), a.cert.subject.size());
    if (c != 0) return c < 0;
    return a.rank() < b.rank();
  });
  // A key the root certified is the root's: an authority's certificate of
  // it does not count. Otherwise it must have one issuer: a key two
  // authorities both certify is contested and no member (one authority
  // cannot take over another's node, nor revoke it by certifying it).
  std::vector<uint32_t> effective;
  for (size_t i = 0; i < order.size();) {
    size_t end = i;
    while (end < order.size() && candidates[order[end]].cert.subject == candidates[order[i]].cert.subject) ++end;
    const Candidate& best = candidates[order[end - 1]];  // the root's, if any (rank), else the latest
    bool contested = false;
    if (!best.by_root) {
      for (size_t k = i; k < end; ++k) contested = contested || candidates[order[k]].issuer != best.issuer;
    }
    if (!contested) effective.push_back(order[end - 1]);
    i = end;
  }
  // 4. Authorities' revocations of the keys whose effective certificate they issued.
  auto issuer_of = [&](const PublicKey& subject) -> const PublicKey* {
    auto at = std::lower_bound(effective.begin(), effective.end(), subject, [&](uint32_t x, const PublicKey& k) {
      return candidates[x].cert.subject < k;
    });
    return at != effective.end() && candidates[*at].cert.subject == subject ? &candidates[*at].issuer : nullptr;
  };
  for (const auto& [authority, rv] : pending) {
    const PublicKey* issuer = issuer_of(rv.subject);
    if (issuer && *issuer == authority) revoke(rv);
  }
  std::map<PublicKey, Member> members;
  Member root;
  root.key = root_;
  root.root = true;
  members.emplace(root_, root);
  for (uint32_t index : effective) {
    Candidate& c = candidates[index];
    Member m;
    m.key = c.cert.subject;
    m.issuer = c.issuer;
    m.cert_seq = c.seq;
    if (auto r = cutoffs.find(m.key); r != cutoffs.end()) {
      m.revoked = true;
      for (size_t s = 0; s < r->second.size(); ++s) m.cutoffs[Scope(s)] = r->second[s];
    }
    m.cert = std::move(c.cert);
    PublicKey key = m.key;
    members.emplace_hint(members.end(), key, std::move(m));
  }
  for (auto& [key, m] : members) {
    if (m.root || !m.cert.predecessor) continue;
    auto it = members.find(*m.cert.predecessor);
    if (it != members.end() && (!it->second.successor || *it->second.successor < key)) it->second.successor = key;
  }
  // Keys revoked without a certificate this node knows of keep their cut-offs.
  revoked_unknown_.clear();
  for (const auto& [key, cut] : cutoffs) {
    if (members.count(key)) continue;
    auto& out = revoked_unknown_[key];
    for (size_t s = 0; s < cut.size(); ++s) out[Scope(s)] = cut[s];
  }
  members_ = std::move(members);
}

crypto::Hash256 Membership::Digest() const {
  Derive();
  crypto::Blake2bHasher hasher;
  hasher.Update(root_);
  Bytes b;
  for (const auto& [key, m] : members_) {
    b.clear();
    Append(b, key);
    if (!m.root) {
      Append(b, EncodeCertificate(m.cert));
      Append(b, m.issuer);
      AppendU64BE(b, m.cert_seq);
    }
    for (int s = 0; s < kFeedScopeCount; ++s) AppendU64BE(b, m.CutoffOf(Scope(s)));
    hasher.Update(b);
  }
  for (const auto& [key, cut] : revoked_unknown_) {
    b.clear();
    Append(b, key);
    for (const auto& [scope, v] : cut) {
      b.push_back(static_cast<uint8_t>(scope));
      AppendU64BE(b, v);
    }
    hasher.Update(b);
  }
  return hasher.Final();
}

// snapshot := 0x01 | count u32 | member × count | unknown_count u32 | (key[32] | cut u64 × 4) × unknown_count
// member   := key[32] | flags u8 (bit 0 root, 1 revoked, 2 successor) |
//             [not root: issuer[32] | cert_seq u64 | cert_len u16 | certificate] |
//             [revoked: cut u64 × 4] | [successor: key[32]]
Bytes Membership::EncodeSnapshot() const {
  Derive();
  Bytes out{1};
  AppendU32BE(out, static_cast<uint32_t>(members_.size()));
  for (const auto& [key, m] : members_) {
    Append(out, key);
    out.push_back(static_cast<uint8_t>((m.root ? 1 : 0) | (m.revoked ? 2 : 0) | (m.successor ? 4 : 0)));
    if (!m.root) {
      Append(out, m.issuer);
      AppendU64BE(out, m.cert_seq);
      Bytes cert = EncodeCertificate(m.cert);
      out.push_back(static_cast<uint8_t>(cert.size() >> 8));
      out.push_back(static_cast<uint8_t>(cert.size()));
      Append(out, cert);
    }
    if (m.revoked) {
      for (int s = 0; s < kFeedScopeCount; ++s) AppendU64BE(out, m.CutoffOf(Scope(s)));
    }
    if (m.successor) Append(out, *m.successor);
  }
  AppendU32BE(out, static_cast<uint32_t>(revoked_unknown_.size()));
  for (const auto& [key, cut] : revoked_unknown_) {
    Append(out, key);
    for (int s = 0; s < kFeedScopeCount; ++s) {
      auto it = cut.find(Scope(s));
      AppendU64BE(out, it == cut.end() ? 0 : it->second);
    }
  }
  return out;
}

Result<std::shared_ptr<Membership>> Membership::FromSnapshot(const PublicKey& root, ByteView bytes) {
  auto bad = [] { return Corruption("network snapshot does not decode"); };
  Reader r(bytes);
  uint8_t version = 0;
  if (!r.U8(&version) || version != 1) return bad();
  auto u32 = [&](uint32_t* v) {
    ByteView b;
    if (!r.Take(4, &b)) return false;
    *v = GetU32BE(b.data());
    return true;
  };
  auto m = std::make_shared<Membership>(root);
  m->complete_ = false;
  m->stale_ = false;
  m->members_.clear();
  uint32_t count = 0;
  if (!u32(&count) || count > bytes.size() / 33) return bad();
  for (uint32_t i = 0; i < count; ++i) {
    Member member;
    uint8_t flags = 0;
    if (!r.Key(&member.key) || !r.U8(&flags) || flags > 7) return bad();
    member.root = flags & 1;
    if (member.root != (member.key == root)) return bad();  // only the root is the root
    if (!member.root) {
      uint16_t len = 0;
      ByteView cert;
      if (!r.Key(&member.issuer) || !r.U64(&member.cert_seq) || !r.U16(&len) || !r.Take(len, &cert)) return bad();
      NCEN_ASSIGN_OR_RETURN(member.cert, DecodeCertificate(cert));
    }
    if (flags & 2) {
      member.revoked = true;
      for (int s = 0; s < kFeedScopeCount; ++s) {
        uint64_t v = 0;
        if (!r.U64(&v)) return bad();
        member.cutoffs[Scope(s)] = v;
      }
    }
    if (flags & 4) {
      PublicKey successor{};
      if (!r.Key(&successor)) return bad();
      member.successor = successor;
    }
    PublicKey key = member.key;
    if (!m->members_.empty() && !(m->members_.rbegin()->first < key)) return bad();
    m->members_.emplace_hint(m->members_.end(), key, std::move(member));
  }
  uint32_t unknown = 0;
  if (!u32(&unknown) || unknown > bytes.size() / 64) return bad();
  for (uint32_t i = 0; i < unknown; ++i) {
    PublicKey key{};
    if (!r.Key(&key)) return bad();
    // Sorted and distinct, and none a member: one encoding per value.
    if ((!m->revoked_unknown_.empty() && !(m->revoked_unknown_.rbegin()->first < key)) || m->members_.count(key)) {
      return bad();
    }
    auto& cut = m->revoked_unknown_[key];
    for (int s = 0; s < kFeedScopeCount; ++s) {
      uint64_t v = 0;
      if (!r.U64(&v)) return bad();
      cut[Scope(s)] = v;
    }
  }
  if (!r.done() || !m->members_.count(root) || !m->members_.at(root).root) return bad();
  return m;
}

const Member* Membership::Find(const PublicKey& key) const {
  Derive();
  auto it = members_.find(key);
  return it == members_.end() ? nullptr : &it->second;
}

bool Membership::Active(const PublicKey& key) const {
  const Member* m = Find(key);
  return m && !m->revoked;
}

uint64_t Membership::CutoffOf(const FeedId& feed) const {
  Derive();
  if (const Member* m = Find(feed.author)) return m->CutoffOf(feed.scope);
  // No certificate: no record entry of the key is valid (if it had one that
  // fell — its issuer revoked before it — what it wrote drops out as if it
  // were revoked at 0). Network entries are judged by CheckEntry instead.
  if (feed.scope != Scope::kNetwork) return 0;
  auto it = revoked_unknown_.find(feed.author);
  if (it == revoked_unknown_.end()) return UINT64_MAX;
  auto s = it->second.find(feed.scope);
  return s == it->second.end() ? 0 : s->second;
}

std::string RecordRuleProblem(MemberKind kind, const std::string& country, const EntryHeader& h,
                              ByteView payload) {
  if (h.scope == Scope::kNetwork) return "";
  // A message is sealed to its recipients (docs/messages.md): what its
  // scope carries is ciphertext, in whatever scope its author may write.
  if (h.record_type == RecordType::kMessage) return "";
  // The hot path (a national record) returns before any string is built.
  if (h.record_type != RecordType::kSeizureReport && h.scope == Scope::kNational) return "";
  auto who = [&] { return std::string("author ") + crypto::Fingerprint(h.author) + " (" + MemberKindName(kind) + ")"; };
  if (h.record_type != RecordType::kSeizureReport) {
    return who() + " wrote a " + RecordTypeName(h.record_type) + " in scope " + ScopeName(h.scope) +
           ": nominal records stay national; what leaves a country is a seizure_report";
  }
  if (kind != MemberKind::kNationalHub) return who() + " may not release a seizure_report: only a national hub may";
  // Any op, a delete included: a report's id names its country.
#ifdef NCEN_MUTANT_SKIP_REPORT_TAG  // tests/sim: a mutant that lets any hub write any country's report
  if (false) {
#else
  if (!HasReportCountryTag(h.record_id, country)) {
#endif
    return who() + " of " + country + " wrote to seizure_report " + FormatRecordId(h.record_id) +
           ", whose id is not of " + country;
  }
  if (h.op != Op::kPut && h.op != Op::kResolve) return "";
  std::string about = ReportCountry(payload);
  if (about != country) {
    return who() + " of " + country + " released a seizure_report about " + (about.empty() ? "no country" : about);
  }
  return "";
}

bool Membership::MayAuthor(const FeedId& feed, std::string* why) const {
  const Member* m = Find(feed.author);
  auto no = [&](std::string reason) {
    if (why) *why = std::move(reason);
    return false;
  };
  if (!m) return no("author " + crypto::Fingerprint(feed.author) + " has no certificate in this network");
  bool ok = false;
  if (m->authority()) {
    ok = feed.scope == Scope::kNetwork;
  } else {
    switch (m->cert.kind) {
      case MemberKind::kPost: ok = feed.scope == Scope::kNational; break;
      case MemberKind::kNationalHub: ok = feed.scope != Scope::kNetwork; break;
      case MemberKind::kRegionalHub: ok = feed.scope == Scope::kRegional || feed.scope == Scope::kGlobal; break;
      case MemberKind::kGlobalHub: ok = feed.scope == Scope::kGlobal; break;
      default: break;
    }
  }
  if (!ok) {
    return no(std::string("author ") + crypto::Fingerprint(feed.author) + " is " +
              (m->root ? "the root" : MemberKindName(m->cert.kind)) + ", which may not write scope " +
              ScopeName(feed.scope));
  }
  return true;
}

bool Membership::InRegionOf(const Member& hub, const Member& node) const {
  if (node.key == hub.key) return true;
  if (node.root || node.cert.kind != MemberKind::kNationalHub) return false;
  return std::binary_search(hub.cert.countries.begin(), hub.cert.countries.end(), node.cert.country);
}

bool Membership::MayHold(const PublicKey& holder, const FeedId& feed, std::string* why) const {
  Derive();
  auto no = [&](std::string reason) {
    if (why) *why = std::move(reason);
    return false;
  };
  const Member* h = Find(holder);
  if (!h) return no("node " + crypto::Fingerprint(holder) + " has no certificate in this network");
  if (h->revoked) return no("node " + crypto::Fingerprint(holder) + " is revoked");
  if (feed.scope == Scope::kNetwork || feed.scope == Scope::kGlobal) return true;
  const Member* a = Find(feed.author);
  if (!a) return no("author " + crypto::Fingerprint(feed.author) + " has no certificate in this network");
  std::string text = std::string("node ") + crypto::Fingerprint(holder) + " may not hold the " +
                     ScopeName(feed.scope) + " feed of " + crypto::Fingerprint(feed.author);
  if (a->root) return no(text);
  if (feed.scope == Scope::kNational) {
    // Within one country: its posts, national hubs and authority.
    bool author_national = a->cert.kind == MemberKind::kPost || a->cert.kind == MemberKind::kNationalHub;
    if (!h->root && author_national && h->cert.country == a->cert.country) return true;
    return no(text);
  }
  // Regional: the national hubs of a region's countries and the region's
  // hub; and the authority of the author's country (its cut-offs).
  if (!h->root && h->cert.kind == MemberKind::kCountryAuthority) {
    if (a->cert.kind == MemberKind::kNationalHub && a->cert.country == h->cert.country) return true;
    return no(text);
  }
  if (h->root) {
    if (a->cert.kind == MemberKind::kRegionalHub) return true;
    return no(text);
  }
  for (const auto& [key, hub] : members_) {
    if (hub.root || hub.cert.kind != MemberKind::kRegionalHub || hub.revoked) continue;
    if (InRegionOf(hub, *a) && InRegionOf(hub, *h)) return true;
  }
  return no(text);
}

bool Membership::MayExchange(const PublicKey& a, const PublicKey& b, Scope scope) const {
  if (!Active(a) || !Active(b)) return false;
  if (scope == Scope::kNetwork || scope == Scope::kGlobal) return true;
  FeedId fa{a, scope}, fb{b, scope};
  return (MayAuthor(fa) && MayHold(b, fa)) || (MayAuthor(fb) && MayHold(a, fb));
}

bool Membership::AnyExchange(const PublicKey& a, const PublicKey& b) const { return Active(a) && Active(b); }


}  // namespace ncen::storage
