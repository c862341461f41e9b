// Network membership (docs/membership.md): the bodies of the two entry types
// of scope `network` — certificates and revocations — and `Membership`, the
// network as the network entries a node holds describe it: who is certified
// as what, which keys are revoked from which seq on, and from that the scope
// rules (who may author a scope, who may hold a feed).
//
// A Membership is a pure function of the root key and the set of network
// entries given to it, whatever their order (Rebuild derives everything
// again), so every node that holds the same network entries has the same
// view of the network. CheckEntry is the apply-time rule for one more
// network entry; it depends only on the entry and the entries its own feed
// and its context name, which a node holds before it takes the entry.
//
// Plain values: safe from any thread as long as one thread at a time
// changes a Membership.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/hash.h"
#include "storage/entry.h"
#include "storage/types.h"

namespace ncen::storage {

// What a certificate makes its subject. Values are the byte on disk.
enum class MemberKind : uint8_t {
  kCountryAuthority = 1,  // certifies the posts and national hubs of its country; by the root
  kPost = 2,              // a customs office
  kNationalHub = 3,       // a country's hub; releases to regional and global
  kRegionalHub = 4,       // serves the national hubs of a list of countries; by the root
  kGlobalHub = 5,         // receives global; by the root
};
const char* MemberKindName(MemberKind kind);  // "country-authority", "post", ...
std::optional<MemberKind> ParseMemberKind(std::string_view name);
inline bool IsNodeKind(MemberKind k) { return k != MemberKind::kCountryAuthority; }

inline constexpr size_t kMemberNameBytesMax = 64;
inline constexpr size_t kServedCountriesMax = 64;
inline constexpr size_t kRevocationReasonBytesMax = 1024;

struct Certificate {
  MemberKind kind = MemberKind::kPost;
  PublicKey subject{};
  std::string country;                 // ISO 3166 alpha-2; empty for regional and global hubs
  std::string name;                    // 1..64 bytes of printable UTF-8
  std::vector<std::string> countries;  // a regional hub's countries (sorted, 1..64); else empty
  std::optional<PublicKey> predecessor;  // succession: the key this one replaces
  friend bool operator==(const Certificate&, const Certificate&) = default;
};

struct Cutoff {
  Scope scope = Scope::kNational;
  uint64_t last_valid_seq = 0;  // entries of the feed after this seq are revoked
  friend bool operator==(const Cutoff&, const Cutoff&) = default;
};

struct Revocation {
  PublicKey subject{};
  // At most one per scope, sorted by scope. A scope not named is cut at 0:
  // none of the subject's entries in it stay valid.
  std::vector<Cutoff> cutoffs;
  std::string reason;  // printable UTF-8, at most 1,024 bytes
  friend bool operator==(const Revocation&, const Revocation&) = default;
};

// The rules of a body (what the decoders check after the bytes): kCorruption
// naming the first broken one. The encoders require them (a bug otherwise).
Status ValidateCertificate(const Certificate& cert);
Status ValidateRevocation(const Revocation& revocation);
// The byte layouts (docs/membership.md §2). Decoders refuse anything but
// exactly one well-formed body: kCorruption naming the first bad field.
Bytes EncodeCertificate(const Certificate& cert);
Result<Certificate> DecodeCertificate(ByteView bytes);
Bytes EncodeRevocation(const Revocation& revocation);
Result<Revocation> DecodeRevocation(ByteView bytes);
// The payload check of a network entry: a certificate or a revocation body
// as its type says.
Status ValidateNetworkPayload(RecordType type, ByteView payload);

// The network id that goes into the handshake prologue: BLAKE2b-256 of
// "ncen network v1" followed by the root key.
crypto::Hash256 NetworkIdOf(const PublicKey& root);

// One key the network knows of.
struct Member {
  PublicKey key{};
  bool root = false;
  Certificate cert;  // its effective certificate (not for the root)
  PublicKey issuer{};
  uint64_t cert_seq = 0;  // of the certificate in the issuer's network feed
  bool revoked = false;
  // When revoked: the last valid seq of each feed scope (absent: 0).
  std::map<Scope, uint64_t> cutoffs;
  std::optional<PublicKey> successor;  // a later certificate names this key as its predecessor

  bool authority() const { return root || cert.kind == MemberKind::kCountryAuthority; }
  uint64_t CutoffOf(Scope scope) const;  // UINT64_MAX when not revoked
};

// Whether a member of `kind` (certified for `country`) may write this
// record entry (docs/sharing.md §2): seizures, suspects and companies stay
// in scope national; a seizure report is written by a national hub, in
// scope regional or global, about its own country (its payload's
// `country`). "" when allowed, else why (one line). Network entries are
// CheckEntry's.
std::string RecordRuleProblem(MemberKind kind, const std::string& country, const EntryHeader& header,
                              ByteView payload);

class Membership {
 public:
  explicit Membership(const PublicKey& root);

  const PublicKey& root() const { return root_; }

  // Takes one held network entry (its header and payload, which must have
  // passed ValidateNetworkPayload). The membership is derived again when
  // next asked (so taking 2,000 certificates costs one derivation, not
  // 2,000); Rebuild does it now. A membership shared between threads must
  // be derived before it is shared (Store does).
  void Add(const EntryHeader& header, ByteView payload) {
    Add(header.dot(), header.record_type, payload);
  }
  void AddHeld(const EntryHeader& header, ByteView payload) { Add(header, payload); }
  // The same from what the store keeps (no header to decode).
  void Add(const Dot& dot, RecordType type, ByteView payload);
  void Rebuild() const;

  // The apply-time rule for a new network entry, given the entries held
  // before it (this membership): OK, or kUnauthenticated saying why the
  // author may not write it. See docs/membership.md §4.
  Status CheckEntry(const EntryHeader& header, ByteView payload) const;

  // The member with this key (the root too), revoked or not; null when the
  // network does not know the key.
  const Member* Find(const PublicKey& key) const;
  // A member whose certificate is not revoked, or the root.
  bool Active(const PublicKey& key) const;
  const std::map<PublicKey, Member>& members() const {
    Derive();
    return members_;
  }

  // The last valid seq of `feed` (UINT64_MAX when its author is not revoked).
  uint64_t CutoffOf(const FeedId& feed) const;
  // Whether `feed`'s author may write entries in its scope (its certificate
  // allows the scope; the root and country authorities write network only).
  // The seq is not looked at: see CutoffOf. `why` says why not.
  bool MayAuthor(const FeedId& feed, std::string* why = nullptr) const;
  // Whether node `holder` may hold `feed` (the scope rules of
  // docs/membership.md §3): national within a country, regional within a
  // region, global and network everywhere. Both keys must be known; the
  // holder must not be revoked.
  bool MayHold(const PublicKey& holder, const FeedId& feed, std::string* why = nullptr) const;
  // Whether two members may exchange feeds of `scope` at all (what
  // `ncenctl members` shows): each may hold a feed of the other's in it.
  bool MayExchange(const PublicKey& a, const PublicKey& b, Scope scope) const;
  // The record scopes a feed's entries may be exchanged in between two
  // nodes, for the session: those some feed of the scope may flow in.
  bool AnyExchange(const PublicKey& a, const PublicKey& b) const;

  // Changes each time an entry is added (what is derived may change).
  uint64_t generation() const { return generation_; }
  // A digest of the derived state (members, certificates, cut-offs).
  crypto::Hash256 Digest() const;

  // What the rules need of a held network entry (its dot is its key).
  struct Held {
    RecordType type = RecordType::kCertificate;
    Bytes payload;
  };
  const std::map<PublicKey, std::map<Scope, uint64_t>>& revoked_unknown() const {
    Derive();
    return revoked_unknown_;
  }
  // A snapshot of what is derived (docs/membership.md §9), so that a node
  // starting up need not derive it again from every network entry.
  Bytes EncodeSnapshot() const;
  // A membership from a snapshot: it answers every question but holds no
  // entries, so it cannot take more (complete() is false; Add, CheckEntry
  // and Rebuild are then bugs). kCorruption when the bytes do not decode.
  static Result<std::shared_ptr<Membership>> FromSnapshot(const PublicKey& root, ByteView bytes);
  bool complete() const { return complete_; }

  // The network entries taken, by (author, seq).
  const std::map<Dot, Held>& held() const { return held_; }

 private:
  bool InRegionOf(const Member& hub, const Member& node) const;
  const Held* HeldAt(const PublicKey& author, uint64_t seq) const;

  void Derive() const {
    if (stale_) Rebuild();
  }

  PublicKey root_;
  bool complete_ = true;  // false: from a snapshot, without held_
  std::map<Dot, Held> held_;
  // Derived from held_ (Rebuild), when asked.
  mutable bool stale_ = true;
  mutable std::map<PublicKey, Member> members_;
  // Keys revoked by the root that no held certificate names: their cut-offs.
  mutable std::map<PublicKey, std::map<Scope, uint64_t>> revoked_unknown_;
  uint64_t generation_ = 1;
};

}  // namespace ncen::storage
