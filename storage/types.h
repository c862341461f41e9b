// Plain value types of the change log and record store: scopes, record types,
// ops, dots, record ids. Safe to use from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "crypto/identity.h"

namespace ncen::storage {

using crypto::PublicKey;

// kNetwork holds certificates and revocations (docs/membership.md), never
// records: record code uses the first kScopeCount scopes only.
enum class Scope : uint8_t { kNational = 0, kRegional = 1, kGlobal = 2, kNetwork = 3 };
// kCertificate and kRevocation are the entry types of scope network; they
// are not records. kSeizureReport is a record (docs/sharing.md), numbered
// after them because type codes are never renumbered.
enum class RecordType : uint8_t {
  kSeizure = 0,
  kSuspect = 1,
  kCompany = 2,
  kCertificate = 3,
  kRevocation = 4,
  kSeizureReport = 5,
  kPhoto = 6,
  kMessage = 7,
};
enum class Op : uint8_t { kPut = 0, kDelete = 1, kPurge = 2, kResolve = 3 };

inline constexpr int kScopeCount = 3;       // scopes of records
inline constexpr int kFeedScopeCount = 4;   // scopes of feeds: those and network
inline constexpr int kRecordTypeCount = 6;  // record types
inline constexpr int kEntryTypeCount = 8;   // entry types: those and the two of network

// The record types, in the order arrays indexed by record type use.
inline constexpr RecordType kRecordTypes[kRecordTypeCount] = {RecordType::kSeizure, RecordType::kSuspect,
                                                              RecordType::kCompany, RecordType::kSeizureReport,
                                                              RecordType::kPhoto, RecordType::kMessage};
// True for the entry types of scope network (certificate, revocation).
constexpr bool IsNetworkType(RecordType t) { return t == RecordType::kCertificate || t == RecordType::kRevocation; }
// A type code a header may carry.
constexpr bool IsEntryTypeCode(unsigned code) { return code < kEntryTypeCount; }
// A record type's position in kRecordTypes; -1 for the network types.
constexpr int RecordTypeIndex(RecordType t) {
  switch (t) {
    case RecordType::kSeizure: return 0;
    case RecordType::kSuspect: return 1;
    case RecordType::kCompany: return 2;
    case RecordType::kSeizureReport: return 3;
    case RecordType::kPhoto: return 4;
    case RecordType::kMessage: return 5;
    default: return -1;
  }
}
constexpr bool IsRecordType(RecordType t) { return RecordTypeIndex(t) >= 0; }
// Which record types a scope may hold (docs/sharing.md): a seizure report
// is never national, since it exists to leave the country.
constexpr bool TypeAllowedInScope(RecordType t, Scope s) {
  if (IsNetworkType(t)) return s == Scope::kNetwork;
  if (s == Scope::kNetwork) return false;
  return t != RecordType::kSeizureReport || s != Scope::kNational;
}

const char* ScopeName(Scope s);          // "national", "regional", "global", "network"
const char* RecordTypeName(RecordType t);  // "seizure", "suspect", "company", "certificate", "revocation", "seizure_report"
const char* OpName(Op op);                // "put", "delete", "purge", "resolve"
// A record scope (national, regional, global): "network" is not one.
std::optional<Scope> ParseScope(std::string_view name);
// Any feed scope, network included.
std::optional<Scope> ParseFeedScope(std::string_view name);
// A record type: certificate and revocation are not.
std::optional<RecordType> ParseRecordType(std::string_view name);

// One applied entry as seen by a record: (author, seq). A record lives in one
// scope, so the feed is implied.
struct Dot {
  PublicKey author{};
  uint64_t seq = 0;
  friend bool operator==(const Dot&, const Dot&) = default;
  friend auto operator<=>(const Dot&, const Dot&) = default;
};

// A version vector: at most one dot per author, sorted by author. Covers(d)
// is true when the vector has seen d.
struct VersionVector {
  std::vector<Dot> dots;

  bool Covers(const Dot& d) const;
  uint64_t SeqOf(const PublicKey& author) const;  // 0 when absent
  // Raises the entry for d.author to at least d.seq.
  void Add(const Dot& d);
  void Join(const VersionVector& other);
  friend bool operator==(const VersionVector&, const VersionVector&) = default;
};

// 16-byte, time-ordered record id: 48-bit Unix milliseconds, then random bits,
// laid out like a UUIDv7 (version 7, RFC 4122 variant).
using RecordId = std::array<uint8_t, 16>;

RecordId NewRecordId(int64_t unix_ms);
// 8-4-4-4-12 lower-case hex.
std::string FormatRecordId(const RecordId& id);
// Accepts the UUID form or 32 hex digits; kInvalidArgument otherwise.
Result<RecordId> ParseRecordId(std::string_view text);

// Identifies a feed: (author, scope).
struct FeedId {
  PublicKey author{};
  Scope scope = Scope::kNational;
  friend bool operator==(const FeedId&, const FeedId&) = default;
  friend auto operator<=>(const FeedId&, const FeedId&) = default;
};

// The system clock in Unix milliseconds, for front ends. The store reads
// the time from StoreOptions::clock instead.
int64_t UnixMillisNow();

}  // namespace ncen::storage
