// The materialized state of one record: its set of causally maximal versions
// (docs/design.md §4), what each author has written to it, and the
// pure rule that applies one more entry to it. Applying the same set of
// entries in any order gives the same state: that is the property the
// convergence tests and the simulation hammer. Plain values, any thread.
//
// The rule (docs/log-format.md §8):
//  - every entry of a record must have the record's class (type and scope).
//    Entries of two classes under one id can only come from a node that
//    reused an id on purpose; the record is then *quarantined*: it keeps no
//    versions, shows as a clash, and every entry stays in the log. That is a
//    function of the set of entries, so every node reaches the same state
//    whatever it received first, and no feed is ever blocked by it;
//  - otherwise an entry whose dot a held version's context covers is
//    obsolete; else it replaces the versions its context covers.
#pragma once

#include <cstdint>
#include <vector>

#include "base/bytes.h"
#include "base/limits.h"
#include "base/status.h"
#include "storage/types.h"

namespace ncen::storage {

struct Version {
  Dot dot;
  uint32_t feed_index = 0;  // node-local locator of the entry in the log
  int64_t timestamp_ms = 0;
  Op op = Op::kPut;
  VersionVector context;

  bool live() const { return op == Op::kPut || op == Op::kResolve; }
};

// One bit per (type, scope) pair, for the classes of a quarantined record.
// The bit of a type is its RecordTypeIndex, so the bits of the first three
// types are those of format 1 (stored states keep their meaning).
inline uint32_t ClassBit(RecordType type, Scope scope) {
  return static_cast<uint32_t>(1u << (static_cast<unsigned>(RecordTypeIndex(type)) * kScopeCount +
                                      static_cast<unsigned>(scope)));
}

struct RecordState {
  RecordType type = RecordType::kSeizure;
  Scope scope = Scope::kNational;
  std::vector<Version> versions;  // sorted by dot; empty when quarantined
  // For each author that wrote to this record, the seq of its latest entry
  // applied here (obsolete ones included). A function of the set of entries,
  // like the versions; what an author's next entry must cover.
  VersionVector seen;
  // Non-zero when entries of more than one class were applied: one ClassBit
  // per class. `type` and `scope` are then the lowest class in the mask.
  uint32_t clash_classes = 0;

  bool exists() const { return !versions.empty() || clash_classes != 0; }
  bool quarantined() const { return clash_classes != 0; }
  // The join of every version's context and dot, and of `seen`: what a writer
  // that holds this state has seen. The context of a local edit.
  VersionVector CausalContext() const;
  // Deterministic on every node: a live version beats a delete, then the
  // later timestamp, then the greater author key, then the greater seq.
  // Needs at least one version.
  size_t WinnerIndex() const;
  const Version& Winner() const { return versions[WinnerIndex()]; }
  bool conflict() const { return versions.size() > 1; }
  bool live() const { return !versions.empty() && Winner().live(); }
  // In the conflicts table: several versions, or quarantined.
  bool needs_decision() const { return conflict() || quarantined(); }
};

enum class ApplyResult {
  kObsolete,     // an existing version has already seen it: versions unchanged
  kAdded,        // added; versions it had seen were removed
  kQuarantined,  // the record has entries of several classes (now or before)
};
// Applies an entry of class (type, scope) whose version is `version`.
ApplyResult ApplyVersion(RecordState& state, RecordType type, Scope scope, Version version);

// How many versions `state` would hold after applying a version with this
// dot and context (the same as before when it would be obsolete). For the
// kRecordVersionsMax check before anything is written.
size_t VersionsAfter(const RecordState& state, const Dot& dot, const VersionVector& context);

// Disk form (the `records` database value, docs/log-format.md §7). Decode
// also reads the version-1 form (no `seen`, no clash), taking `seen` from
// the versions' dots and contexts. kCorruption when the bytes are not one
// whole value, or claim more versions or dots than they hold.
Bytes EncodeRecordState(const RecordState& state);
Result<RecordState> DecodeRecordState(ByteView bytes);

}  // namespace ncen::storage
