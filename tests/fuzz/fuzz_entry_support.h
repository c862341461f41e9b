// Checks shared by the fuzz targets that decode change-log entries and
// signed headers (protocol_message, entry_transfer; tests/fuzz/README.md),
// and the fixed identity of the node whose store entry_transfer applies
// batches to (make_corpus.cpp writes entries of its feed, for the stale
// identity path).
//
// Each check states what the decoders in storage/entry.h promise about what
// they hand out, so that a decoder that accepts something it documents as
// refused, or hands out a value that disagrees with its own bytes, fails
// here and not only when it crashes.
//
// Thread-safety: plain functions; the fixture is a function-local static.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "base/bytes.h"
#include "base/limits.h"
#include "base/status.h"
#include "base/text.h"
#include "crypto/identity.h"
#include "storage/entry.h"
#include "storage/record_json.h"
#include "storage/types.h"
#include "tests/fuzz/fuzz_check.h"

namespace ncen::fuzz {

// The node entry_transfer applies batches to ('N').
inline const crypto::Identity& StoreNodeIdentity() {
  static const crypto::Identity identity = crypto::Identity::FromSeed([] {
    std::array<uint8_t, 32> seed;
    seed.fill(0x4e);
    return seed;
  }());
  return identity;
}

// Text a peer sent that the decoder hands out to be logged or shown: valid
// UTF-8, no control characters, within its bound (SanitizeText's promise).
inline void CheckShownText(const std::string& text, size_t max_bytes) {
  FUZZ_CHECK(text.size() <= max_bytes);
  FUZZ_CHECK(IsValidUtf8(text));
  for (char c : text) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
}

// What DecodeHeader promises about a header it accepted (entry.h,
// docs/log-format.md §2), and that the lighter readers of stored headers
// agree with it on the same bytes.
inline void CheckHeader(ByteView header_bytes, const storage::EntryHeader& h) {
  using namespace storage;
  FUZZ_CHECK(header_bytes.size() >= limits::kHeaderBytesMin);
  FUZZ_CHECK(header_bytes.size() <= limits::kHeaderBytesMax);
  FUZZ_CHECK(h.format_version == kEntryFormatVersion);
  FUZZ_CHECK(static_cast<int>(h.scope) < kFeedScopeCount);
  FUZZ_CHECK(IsRecordType(h.record_type) && TypeAllowedInScope(h.record_type, h.scope));
  FUZZ_CHECK(h.op == Op::kPut || h.op == Op::kDelete || h.op == Op::kResolve);
  FUZZ_CHECK(h.seq >= 1);
  FUZZ_CHECK(h.seq != 1 || crypto::IsZero(h.prev));
  FUZZ_CHECK(h.payload_size <= limits::kPayloadBytesMax);
  const auto& dots = h.context.dots;
  FUZZ_CHECK(dots.size() <= limits::kContextDotsMax);
  for (size_t i = 0; i < dots.size(); ++i) {
    FUZZ_CHECK(dots[i].seq >= 1);
    if (i > 0) FUZZ_CHECK(dots[i - 1].author < dots[i].author);  // sorted, one dot per author
  }

  // Decoding the same bytes again gives the same header.
  Result<EntryHeader> again = DecodeHeader(header_bytes);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == h);

  // The readers a sender uses on stored headers read the same values.
  Result<int64_t> timestamp = HeaderTimestamp(header_bytes);
  FUZZ_CHECK(timestamp.ok() && *timestamp == h.timestamp_ms);
  std::vector<Dot> deps;
  Result<int64_t> order = HeaderOrder(header_bytes, deps);
  FUZZ_CHECK(order.ok() && *order == h.timestamp_ms);
  std::vector<Dot> expected_deps;
  for (const Dot& d : dots) {
    if (d.author != h.author) expected_deps.push_back(d);
  }
  FUZZ_CHECK(deps == expected_deps);
}

// A decoded signed header (fork evidence, evidence headers).
inline void CheckSignedHeader(const storage::SignedHeader& signed_header) {
  CheckHeader(signed_header.header_bytes, signed_header.header);
}

// What DecodeEntry promises about an entry it accepted from the `consumed`
// bytes, and that the payload checks a receiver runs next return a Status
// (never crash, never another code).
inline void CheckDecodedEntry(const storage::Entry& entry, ByteView consumed) {
  using namespace storage;
  // Every entry takes at least the bytes DecodeMessage's count check
  // assumes, and at most the transfer bound.
  FUZZ_CHECK(consumed.size() >= limits::kEntryTransferBytesMin);
  FUZZ_CHECK(consumed.size() <= limits::kEntryTransferBytesMax);
  // The transfer form is one codec: the entry re-encodes to exactly the
  // bytes it was read from.
  Bytes encoded = EncodeEntry(entry);
  FUZZ_CHECK(encoded.size() == consumed.size());
  FUZZ_CHECK(std::equal(encoded.begin(), encoded.end(), consumed.begin()));
  CheckHeader(entry.header_bytes, entry.header);
  FUZZ_CHECK(entry.has_payload || entry.payload.empty());
  FUZZ_CHECK(entry.payload.size() <= limits::kPayloadBytesMax);

  Status payload = CheckPayload(entry);
  FUZZ_CHECK(payload.ok() || payload.code() == StatusCode::kCorruption);
  if (payload.ok() && entry.has_payload) FUZZ_CHECK(entry.payload.size() == entry.header.payload_size);
  if (entry.has_payload && entry.header.op != Op::kDelete) {
    Status record = ValidateRecordPayload(entry.header.record_type, entry.payload);
    FUZZ_CHECK(record.ok() || record.code() == StatusCode::kCorruption);
    // What the validator accepts, the node can show (fuzz_record_payload
    // checks the rest of that promise).
    if (record.ok()) FUZZ_CHECK(RecordToJson(entry.header.record_type, entry.payload).ok());
  }
}

// Decodes entries from the front of `bytes` as Session::OnBatch does (at
// most `max_count`), checking each, into `out`. Returns true when the whole
// of `bytes` decoded into at most `max_count` entries, which is when the
// session goes on to apply them.
inline bool DecodeAndCheckEntries(ByteView bytes, size_t max_count, std::vector<storage::Entry>& out) {
  ByteView rest = bytes;
  while (!rest.empty()) {
    if (out.size() == max_count) return false;
    const ByteView before = rest;
    Result<storage::Entry> entry = storage::DecodeEntry(rest);
    if (!entry.ok()) {
      FUZZ_CHECK(entry.status().code() == StatusCode::kCorruption);
      // A failed decode does not move the reader.
      FUZZ_CHECK(rest.data() == before.data() && rest.size() == before.size());
      return false;
    }
    FUZZ_CHECK(rest.data() == before.data() + (before.size() - rest.size()));
    CheckDecodedEntry(*entry, before.first(before.size() - rest.size()));
    out.push_back(std::move(entry).value());
  }
  return true;
}

// The batches an orderly sender would cut `entries` into: a new batch starts
// where an entry's feed already reached that seq in the current batch, so no
// batch holds a feed out of order. entry_transfer re-sends its input this way
// after applying it whole: a second entry at a seq held since the first pass
// is a fork, which one batch alone cannot show (it would be out of order).
inline std::vector<std::vector<storage::Entry>> InOrderBatches(const std::vector<storage::Entry>& entries) {
  std::vector<std::vector<storage::Entry>> batches(1);
  std::map<storage::FeedId, uint64_t> last_seq;
  for (const storage::Entry& e : entries) {
    auto it = last_seq.find(e.header.feed());
    if (it != last_seq.end() && e.header.seq <= it->second) {
      batches.emplace_back();
      last_seq.clear();
    }
    last_seq[e.header.feed()] = e.header.seq;
    batches.back().push_back(e);
  }
  return batches;
}

}  // namespace ncen::fuzz
