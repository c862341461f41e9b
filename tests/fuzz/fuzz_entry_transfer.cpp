// Fuzz target: storage::DecodeEntry on entries in transfer form from a
// hostile peer (storage/entry.h, docs/log-format.md §2-§6), and
// Store::ApplyBatch on what decodes.
//
// Input: the entries part of a batch: transfer forms, concatenated. Entries
// are decoded one after another from the front, as Session::OnBatch reads a
// batch, until the input ends or one does not decode.
// Checked for every decoded entry (fuzz_entry_support.h): it re-encodes
// (EncodeEntry) to exactly the bytes consumed, which are at least
// kEntryTransferBytesMin; DecodeHeader(header_bytes) succeeds and equals
// entry.header, and HeaderTimestamp / HeaderOrder read the same timestamp
// and context from those bytes; the context has at most kContextDotsMax
// dots, sorted, one per author; seq, scope, type and op are in range;
// CheckPayload and ValidateRecordPayload return Ok or kCorruption, and a
// payload the validator accepts converts to JSON. A decode error is
// kCorruption and leaves the reader where it was.
//
// When the whole input decodes (the session applies a batch only then), the
// entries go to Store::ApplyBatch on a fresh store (one LMDB environment per
// input, in a scratch directory made once per process, on /dev/shm when it
// exists; non-durable): deterministic, since nothing carries over from one
// input to the next. They are applied twice: as one batch, as they came,
// then re-sent as the batches an orderly sender would cut them into
// (fuzz::InOrderBatches), which is how an entry at a seq already held (a
// fork) reaches the store. The node's own identity is fixed
// (StoreNodeIdentity), so entries of its own feed reach the stale-identity
// path. Checked: every apply succeeds (no store error); refusals are in
// batch order, one per feed, each naming the feed and seq of the entry at
// its index, with a short printable message, and no re-sent batch is refused
// as out of order; a refused entry is not held (except an out-of-order copy
// of one taken earlier); the store then holds exactly the entries the two
// passes applied, each with the header and signature sent and the payload
// of a copy sent that matches its header; the stale mark is set exactly
// when a pass reported it, and always when an entry of the node's own feed
// was taken; every fork report carries evidence that verifies; VerifyLog
// (chains, signatures, payloads, replayed record state) succeeds and counts
// the same entries; the search index catches up over the payloads taken.
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "storage/store.h"
#include "tests/fuzz/fuzz_entry_support.h"

namespace {

using namespace ncen;
using namespace ncen::storage;

// A scratch directory for this process, removed at exit.
class ScratchDir {
 public:
  ScratchDir() {
    std::filesystem::path base =
        std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    std::string pattern = (base / "ncen-fuzz-entry-XXXXXX").string();
    FUZZ_CHECK(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

const std::filesystem::path& StoreDir() {
  static const ScratchDir scratch;
  static const std::filesystem::path dir = scratch.path() / "store";
  return dir;
}

// One ApplyBatch's report, right after it.
void CheckReport(const Store& store, const std::vector<Entry>& batch, const ApplyReport& report,
                 bool ordered) {
  FUZZ_CHECK(report.status.ok());
  FUZZ_CHECK(report.applied + report.duplicates <= batch.size());
  // The store holds no entry without its payload (a withheld payload is
  // refused), so no duplicate can fill one in.
  FUZZ_CHECK(report.payloads_filled == 0);
  std::set<FeedId> refused_feeds;
  for (size_t k = 0; k < report.refused.size(); ++k) {
    const Refusal& r = report.refused[k];
    FUZZ_CHECK(r.index < batch.size());
    if (k > 0) FUZZ_CHECK(report.refused[k - 1].index < r.index);
    FUZZ_CHECK(refused_feeds.insert(r.feed).second);
    FUZZ_CHECK(batch[r.index].header.feed() == r.feed);
    FUZZ_CHECK(batch[r.index].header.seq == r.seq);
    FUZZ_CHECK(r.error != EntryError::kNone);
    fuzz::CheckShownText(r.message, 300);
    if (r.error == EntryError::kOutOfOrder) {
      FUZZ_CHECK(!ordered);
      continue;  // an earlier copy of it may have been taken
    }
    // A refused entry is not held (a different one may be: a fork).
    Result<Entry> held = store.GetEntry(r.feed, r.seq);
    FUZZ_CHECK(held.ok() || held.status().code() == StatusCode::kNotFound);
    if (held.ok()) FUZZ_CHECK(held->hash() != batch[r.index].hash());
  }
}

// The store after both passes: it holds exactly the `applied` entries, as
// sent, and is consistent.
void CheckStore(const Store& store, const std::vector<Entry>& entries, size_t applied, bool marked_stale) {
  std::set<std::pair<FeedId, uint64_t>> held_slots;
  bool own_feed_taken = false;
  for (const Entry& e : entries) {
    Result<Entry> held = store.GetEntry(e.header.feed(), e.header.seq);
    FUZZ_CHECK(held.ok() || held.status().code() == StatusCode::kNotFound);
    if (!held.ok() || held->hash() != e.hash()) continue;
    // The entry hash does not cover the payload (the header's payload hash
    // does): the payload held is the one of a copy sent that matches it.
    FUZZ_CHECK(held->header_bytes == e.header_bytes && held->signature == e.signature);
    FUZZ_CHECK(held->has_payload && CheckPayload(*held).ok());
    FUZZ_CHECK(std::any_of(entries.begin(), entries.end(), [&](const Entry& sent) {
      return sent.hash() == e.hash() && sent.has_payload && sent.payload == held->payload;
    }));
    held_slots.insert({e.header.feed(), e.header.seq});
    if (e.header.author == fuzz::StoreNodeIdentity().public_key()) own_feed_taken = true;
  }
  FUZZ_CHECK(held_slots.size() == applied);
  Result<StoreStats> stats = store.Stats();
  FUZZ_CHECK(stats.ok() && stats->entries == applied);

  Result<std::string> stale = store.StaleIdentity();
  FUZZ_CHECK(stale.ok() && stale->empty() == !marked_stale);
  if (own_feed_taken) FUZZ_CHECK(marked_stale);

  Result<std::vector<ForkReport>> forks = store.Forks();
  FUZZ_CHECK(forks.ok());
  for (const ForkReport& f : *forks) {
    FUZZ_CHECK(f.has_evidence());
    FUZZ_CHECK(VerifyForkEvidence(f.a, f.b).ok());
  }

  Result<VerifyReport> verified = store.VerifyLog();
  FUZZ_CHECK(verified.ok());
  FUZZ_CHECK(verified->entries == applied);
}

// Applies the entries to a fresh store as one batch, then again as an
// orderly sender's batches (fuzz::InOrderBatches), and checks each report
// and the store.
void ApplyToFreshStore(const std::vector<Entry>& entries) {
  const std::filesystem::path& dir = StoreDir();
  std::filesystem::create_directory(dir);
  {
    NodeMeta meta{fuzz::StoreNodeIdentity().public_key(), "fuzz", "post", 0};
    StoreOptions options;
    options.durable = false;
    options.map_size_bytes = uint64_t{64} << 20;
    Result<std::unique_ptr<Store>> created = Store::Create(dir.string(), meta, options);
    FUZZ_CHECK(created.ok());
    Store& store = **created;
    ApplyReport whole = store.ApplyBatch(entries, "fuzz-peer");
    CheckReport(store, entries, whole, /*ordered=*/false);
    size_t applied = whole.applied;
    bool marked_stale = whole.marked_stale;
    for (const std::vector<Entry>& batch : fuzz::InOrderBatches(entries)) {
      ApplyReport report = store.ApplyBatch(batch, "fuzz-peer");
      CheckReport(store, batch, report, /*ordered=*/true);
      applied += report.applied;
      marked_stale = marked_stale || report.marked_stale;
    }
    CheckStore(store, entries, applied, marked_stale);
    FUZZ_CHECK(store.CatchUpIndexAll().ok());
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  FUZZ_CHECK(!ec);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<Entry> entries;
  bool whole = fuzz::DecodeAndCheckEntries(ByteView(data, size), SIZE_MAX, entries);
  if (whole && !entries.empty()) ApplyToFreshStore(entries);
  return 0;
}
