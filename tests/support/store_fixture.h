// Helpers for storage tests: deterministic identities, fresh stores in
// temporary directories, sample payloads. Tests only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/rng.h"
#include "crypto/identity.h"
#include "storage/record_json.h"
#include "storage/sharing.h"
#include "storage/store.h"
#include "tests/support/temp_dir.h"

namespace ncen::testing {

inline crypto::Identity IdentityFromNumber(uint8_t n) {
  std::array<uint8_t, 32> seed{};
  seed[0] = n;
  seed[31] = 0x5a;
  return crypto::Identity::FromSeed(seed);
}

// A store in its own temporary directory, created for `identity`.
struct TestStore {
  explicit TestStore(const crypto::Identity& identity, const std::string& name = "test") {
    storage::NodeMeta meta{identity.public_key(), name, "post", 0};
    storage::StoreOptions options;
    options.durable = false;
    options.map_size_bytes = uint64_t{1} << 30;
    auto s = storage::Store::Create(dir.path(), meta, options);
    NCEN_CHECK(s.ok());
    store = std::move(s).value();
  }
  TempDir dir;
  std::unique_ptr<storage::Store> store;
};

// `n` bytes that look random (blobs in tests), the same for the same seed.
inline Bytes PseudoRandomBytes(size_t n, uint8_t seed) {
  Bytes b(n);
  uint32_t x = seed * 2654435761u + 1;
  for (auto& c : b) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<uint8_t>(x >> 24);
  }
  return b;
}

// A valid seizure payload whose narrative carries `marker`.
inline Bytes SeizurePayload(const std::string& marker, double quantity = 1.5) {
  nlohmann::ordered_json j = {
      {"date", "2026-11-02"},
      {"country", "PK"},
      {"office", "PKTKM"},
      {"goods", {{{"category", "drugs"}, {"subtype", "heroin"}, {"quantity", quantity}, {"unit", "kg"}}}},
      {"narrative", marker}};
  auto p = storage::RecordFromJson(storage::RecordType::kSeizure, j);
  NCEN_CHECK(p.ok());
  return std::move(p).value();
}

// A valid seizure_report payload about `country` (ISO 3166 alpha-2), made
// the way a national hub releases a seizure (storage::BuildReport).
inline Bytes ReportPayload(const std::string& country, double quantity = 1.5) {
  nlohmann::ordered_json seizure = {
      {"date", "2026-11-02"},
      {"country", country},
      {"office", country + "KHI"},
      {"goods", {{{"category", "drugs"}, {"subtype", "heroin"}, {"quantity", quantity}, {"unit", "kg"}}}}};
  storage::ReleaseStamp stamp{std::string(32, '0'), "test", "2026-11-02T12:00:00.000Z"};
  auto draft = storage::BuildReport(seizure, {}, {}, {}, stamp);
  NCEN_CHECK(draft.ok());
  auto p = storage::RecordFromJson(storage::RecordType::kSeizureReport, draft->report);
  NCEN_CHECK(p.ok());
  return std::move(p).value();
}

inline storage::RecordId FixedRecordId(uint8_t n) {
  storage::RecordId id{};
  id[0] = 1;
  id[15] = n;
  return id;
}

// An entry of `author`'s national feed at `seq`, signed, that no store holds:
// the evidence a peer shows a node restored from an old copy.
inline storage::SignedHeader SignedEntryAt(const crypto::Identity& author, uint64_t seq,
                                           storage::Scope scope = storage::Scope::kNational) {
  storage::EntryHeader h;
  h.author = author.public_key();
  h.scope = scope;
  h.seq = seq;
  if (seq > 1) h.prev[0] = 0x77;
  h.timestamp_ms = 1767225600000;
  h.record_id = FixedRecordId(0xee);
  storage::Entry e = storage::MakeEntry(h, SeizurePayload("written elsewhere"), author);
  return storage::SignedHeaderOf(e);
}

// Every entry of every feed of `store`, feed by feed in seq order.
inline std::vector<storage::Entry> AllEntries(const storage::Store& store) {
  std::vector<storage::Entry> out;
  auto frontier = store.Frontier();
  NCEN_CHECK(frontier.ok());
  for (const auto& f : *frontier) {
    for (uint64_t s = 1; s <= f.seq; ++s) {
      auto e = store.GetEntry(f.feed, s);
      NCEN_CHECK(e.ok());
      out.push_back(std::move(e).value());
    }
  }
  return out;
}

}  // namespace ncen::testing
