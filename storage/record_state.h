// The materialized state of one record: its set of causally maximal versions
// (DESIGN.md §4), and the pure rule that applies one more version to it.
// Applying the same set of versions in any order gives the same state: that
// is the property the convergence tests hammer. Plain values, any thread.
#pragma once

#include <cstdint>
#include <vector>

#include "base/bytes.h"
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

struct RecordState {
  RecordType type = RecordType::kSeizure;
  Scope scope = Scope::kNational;
  std::vector<Version> versions;  // sorted by dot

  // The join of every version's context and dot: what a writer that holds
  // this state has seen. The context of a local edit.
  VersionVector CausalContext() const;
  // Deterministic on every node: a live version beats a delete, then the
  // later timestamp, then the greater author key, then the greater seq.
  size_t WinnerIndex() const;
  const Version& Winner() const { return versions[WinnerIndex()]; }
  bool conflict() const { return versions.size() > 1; }
  bool live() const { return !versions.empty() && Winner().live(); }
};

enum class ApplyResult {
  kObsolete,  // an existing version has already seen it: state unchanged
  kAdded,     // added; versions it had seen were removed
};
ApplyResult ApplyVersion(RecordState& state, Version version);

// Disk form (the `records` database value), see docs/log-format.md.
Bytes EncodeRecordState(const RecordState& state);
Result<RecordState> DecodeRecordState(ByteView bytes);

}  // namespace ncen::storage
