// Fuzz target: replication::DecodeMessage on one protocol message from a
// hostile peer (replication/protocol/messages.h, docs/protocol.md §2).
//
// Input: the whole input is one protocol message, as the transport hands a
// reassembled message to the session. It is decoded twice: from the input
// itself (8-byte aligned, as libFuzzer and replay_main.cpp allocate it: the
// decoder reads in place) and from a copy one byte off alignment (the
// decoder copies first). For a batch, its entries are then decoded as
// Session::OnBatch does.
// Checked, besides "no crash, no ASan/UBSan report, no leak, no exception":
//   - both decodes agree (status code, and the message, field by field);
//   - an error is kCorruption;
//   - texts (hello name and role, refusal reasons, error text) are valid
//     UTF-8 without control characters and within their bounds (limits.h);
//     every list is within its bound; a batch's count is at most its bytes
//     / kEntryTransferBytesMin (so nothing is reserved for a count the bytes
//     cannot hold); every signed header decodes again to the same header;
//   - fork evidence verifies or is kUnauthenticated;
//   - EncodeMessage(decoded) decodes again to an equal message, and encoding
//     that gives the same bytes again (encoder and decoder agree, and the
//     decoder's sanitizing is idempotent);
//   - a blob_data the hand-written reader takes (IsBlobData: our own layout,
//     read without Cap'n Proto) is read by Cap'n Proto to the same fields and
//     the same data bytes;
//   - a batch's entries: each entry DecodeEntry hands out re-encodes to the
//     bytes it was read from and satisfies fuzz_entry_support.h's checks;
//     an error is kCorruption and does not move the reader.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <variant>
#include <vector>

#include <capnp/serialize.h>
#include <kj/exception.h>

#include "base/limits.h"
#include "replication/protocol/messages.h"
#include "replication/schema/wire.capnp.h"
#include "tests/fuzz/fuzz_entry_support.h"

namespace {

using namespace ncen;
using namespace ncen::replication;

// ---- equality, field by field ----

bool Same(const FeedHeadMsg& a, const FeedHeadMsg& b) {
  return a.feed == b.feed && a.seq == b.seq && a.head == b.head;
}
bool Same(const storage::SignedHeader& a, const storage::SignedHeader& b) {
  return a.header_bytes == b.header_bytes && a.signature == b.signature && a.header == b.header;
}
bool Same(const ForkEvidenceMsg& a, const ForkEvidenceMsg& b) { return Same(a.a, b.a) && Same(a.b, b.b); }
bool Same(const FeedRefusalMsg& a, const FeedRefusalMsg& b) {
  return a.feed == b.feed && a.held == b.held && a.reason == b.reason;
}
bool Same(const BlobRangeMsg& a, const BlobRangeMsg& b) {
  return a.hash == b.hash && a.first == b.first && a.count == b.count;
}
template <typename T>
bool Same(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!Same(a[i], b[i])) return false;
  }
  return true;
}
bool Same(const HelloMsg& a, const HelloMsg& b) {
  return a.protocol_version == b.protocol_version && a.node_id == b.node_id && a.name == b.name &&
         a.role == b.role && Same(a.frontier, b.frontier) && Same(a.forks, b.forks);
}
bool Same(const BatchMsg& a, const BatchMsg& b) {
  return a.number == b.number && a.count == b.count && a.entries.size() == b.entries.size() &&
         std::equal(a.entries.begin(), a.entries.end(), b.entries.begin());
}
bool Same(const AckMsg& a, const AckMsg& b) { return a.number == b.number && Same(a.refused, b.refused); }
bool Same(const HeadsMsg& a, const HeadsMsg& b) { return Same(a.frontier, b.frontier); }
bool Same(const PingMsg&, const PingMsg&) { return true; }
bool Same(const ErrorMsg& a, const ErrorMsg& b) { return a.text == b.text; }
bool Same(const EvidenceMsg& a, const EvidenceMsg& b) {
  return Same(a.forks, b.forks) && Same(a.headers, b.headers);
}

bool Same(const BlobWantMsg& a, const BlobWantMsg& b) { return Same(a.ranges, b.ranges); }
bool Same(const BlobDataMsg& a, const BlobDataMsg& b) {
  return a.hash == b.hash && a.size == b.size && a.first == b.first && a.data.size() == b.data.size() &&
         std::equal(a.data.begin(), a.data.end(), b.data.begin());
}
bool Same(const BlobLackMsg& a, const BlobLackMsg& b) { return a.items == b.items; }

bool SameMessage(const Message& a, const Message& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        return Same(x, std::get<T>(b));
      },
      a);
}

// ---- what a decoded message promises ----

void CheckHeads(const std::vector<FeedHeadMsg>& heads) {
  FUZZ_CHECK(heads.size() <= limits::kMessageBytesMax / 96);
  for (const FeedHeadMsg& h : heads) FUZZ_CHECK(static_cast<int>(h.feed.scope) < storage::kFeedScopeCount);
}

void CheckForks(const std::vector<ForkEvidenceMsg>& forks) {
  FUZZ_CHECK(forks.size() <= limits::kEvidenceItemsMax);
  for (const ForkEvidenceMsg& f : forks) {
    fuzz::CheckSignedHeader(f.a);
    fuzz::CheckSignedHeader(f.b);
    Status verified = storage::VerifyForkEvidence(f.a, f.b);
    FUZZ_CHECK(verified.ok() || verified.code() == StatusCode::kUnauthenticated);
  }
}

void CheckBatch(const BatchMsg& batch) {
  FUZZ_CHECK(batch.count <= batch.entries.size() / limits::kEntryTransferBytesMin);
  std::vector<storage::Entry> entries;
  (void)fuzz::DecodeAndCheckEntries(batch.entries, batch.count, entries);
  FUZZ_CHECK(entries.size() <= batch.count);
}

void CheckDecoded(const Message& message) {
  std::visit(
      [](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, HelloMsg>) {
          fuzz::CheckShownText(m.name, limits::kPeerNameBytesMax);
          fuzz::CheckShownText(m.role, limits::kPeerRoleBytesMax);
          CheckHeads(m.frontier);
          CheckForks(m.forks);
        } else if constexpr (std::is_same_v<T, BatchMsg>) {
          CheckBatch(m);
        } else if constexpr (std::is_same_v<T, AckMsg>) {
          FUZZ_CHECK(m.refused.size() <= limits::kMessageBytesMax / 64);
          for (const FeedRefusalMsg& r : m.refused) {
            FUZZ_CHECK(static_cast<int>(r.feed.scope) < storage::kFeedScopeCount);
            fuzz::CheckShownText(r.reason, limits::kRefusalReasonBytesMax);
          }
        } else if constexpr (std::is_same_v<T, HeadsMsg>) {
          CheckHeads(m.frontier);
        } else if constexpr (std::is_same_v<T, ErrorMsg>) {
          fuzz::CheckShownText(m.text, limits::kPeerErrorBytesMax);
        } else if constexpr (std::is_same_v<T, EvidenceMsg>) {
          CheckForks(m.forks);
          FUZZ_CHECK(m.headers.size() <= limits::kEvidenceItemsMax);
          for (const storage::SignedHeader& h : m.headers) fuzz::CheckSignedHeader(h);
        }
      },
      message);
}

}  // namespace

// A blob_data the hand-written reader takes (IsBlobData) is read by Cap'n
// Proto to the same fields and the same data bytes: the fast path and the
// general one never disagree.
void CheckOwnBlobDataAgrees(ByteView input, const Message& decoded) {
  FUZZ_CHECK(std::holds_alternative<BlobDataMsg>(decoded));
  const BlobDataMsg& b = std::get<BlobDataMsg>(decoded);
  std::vector<capnp::word> words(input.size() / sizeof(capnp::word));
  std::memcpy(words.data(), input.data(), input.size());
  kj::ArrayPtr<const capnp::word> view(words.data(), words.size());
  bool read = false;
  try {
    capnp::FlatArrayMessageReader reader(view);
    FUZZ_CHECK(reader.getEnd() == view.end());
    auto d = reader.getRoot<wire::Message>().getBlobData();
    FUZZ_CHECK(d.getHash().size() == 32 && std::memcmp(d.getHash().begin(), b.hash.data(), 32) == 0);
    FUZZ_CHECK(d.getSize() == b.size && d.getFirst() == b.first);
    FUZZ_CHECK(d.getData().size() == b.data.size());
    size_t offset = static_cast<size_t>(reinterpret_cast<const uint8_t*>(d.getData().begin()) -
                                        reinterpret_cast<const uint8_t*>(words.data()));
    FUZZ_CHECK(b.data.empty() || b.data.data() == input.data() + offset);
    read = true;
  } catch (const kj::Exception&) {
  }
  FUZZ_CHECK(read);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView input(data, size);
  Result<Message> decoded = DecodeMessage(input);
  if (IsBlobData(input) && decoded.ok()) CheckOwnBlobDataAgrees(input, *decoded);

  // The same bytes one byte off alignment: the copying path.
  std::vector<uint8_t> shifted(size + 1);
  if (size > 0) std::memcpy(shifted.data() + 1, data, size);
  Result<Message> decoded_shifted = DecodeMessage(ByteView(shifted.data() + 1, size));
  FUZZ_CHECK(decoded.ok() == decoded_shifted.ok());
  if (!decoded.ok()) {
    FUZZ_CHECK(decoded.status().code() == StatusCode::kCorruption);
    FUZZ_CHECK(decoded_shifted.status().code() == StatusCode::kCorruption);
    return 0;
  }
  FUZZ_CHECK(SameMessage(*decoded, *decoded_shifted));

  CheckDecoded(*decoded);

  // What the decoder hands out, the encoder writes back, and it reads the same.
  Bytes encoded = EncodeMessage(*decoded);
  Result<Message> again = DecodeMessage(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(SameMessage(*again, *decoded));
  FUZZ_CHECK(EncodeMessage(*again) == encoded);
  return 0;
}
