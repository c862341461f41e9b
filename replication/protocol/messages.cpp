#include "replication/protocol/messages.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstring>
#include <type_traits>

#include "base/check.h"
#include "base/compress.h"
#include "base/limits.h"
#include "base/text.h"
#include "replication/schema/wire.capnp.h"

namespace ncen::replication {

namespace {

using capnp::word;
using storage::FeedId;
using storage::Scope;

constexpr size_t kWord = sizeof(word);

// ---------------------------------------------------------------------------
// Decoding

Result<FeedId> ReadFeed(capnp::Data::Reader author, uint8_t scope) {
  if (author.size() != 32) return Corruption("feed author is not 32 bytes");
  if (scope >= storage::kFeedScopeCount) return Corruption("unknown scope " + std::to_string(scope));
  FeedId feed;
  std::memcpy(feed.author.data(), author.begin(), 32);
  feed.scope = static_cast<Scope>(scope);
  return feed;
}

template <typename List>
Status CheckCount(List list, size_t max, const char* what) {
  if (list.size() > max) {
    return Corruption(std::string(what) + " lists " + std::to_string(list.size()) + " items (at most " +
                      std::to_string(max) + ")");
  }
  return Status::Ok();
}

// Feed heads: the message bound alone limits them (each takes 96 bytes).
Result<std::vector<FeedHeadMsg>> ReadHeads(capnp::List<wire::FeedHead>::Reader list) {
  NCEN_RETURN_IF_ERROR(CheckCount(list, limits::kMessageBytesMax / 96, "feed heads"));
  std::vector<FeedHeadMsg> out;
  out.reserve(list.size());
  for (auto h : list) {
    NCEN_ASSIGN_OR_RETURN(FeedId feed, ReadFeed(h.getAuthor(), h.getScope()));
    if (h.getHead().size() != 32) return Corruption("feed head hash is not 32 bytes");
    FeedHeadMsg d;
    d.feed = feed;
    d.seq = h.getSeq();
    std::memcpy(d.head.data(), h.getHead().begin(), 32);
    out.push_back(d);
  }
  return out;
}

Result<Hash256> ReadHash(capnp::Data::Reader data, const char* what) {
  if (data.size() != 32) return Corruption(std::string(what) + " is not 32 bytes");
  Hash256 h;
  std::memcpy(h.data(), data.begin(), 32);
  return h;
}

Result<storage::SignedHeader> ReadSignedHeader(wire::SignedHeader::Reader r) {
  if (r.getSignature().size() != 64) return Corruption("signed header: signature is not 64 bytes");
  auto header = r.getHeader();
  if (header.size() > limits::kHeaderBytesMax) return Corruption("signed header: header over 64 KiB");
  crypto::Signature signature;
  std::memcpy(signature.data(), r.getSignature().begin(), 64);
  return storage::MakeSignedHeader(ByteView(header.begin(), header.size()), signature);
}

Result<std::vector<ForkEvidenceMsg>> ReadForks(capnp::List<wire::ForkEvidence>::Reader list) {
  NCEN_RETURN_IF_ERROR(CheckCount(list, limits::kEvidenceItemsMax, "fork evidence"));
  std::vector<ForkEvidenceMsg> out;
  out.reserve(list.size());
  for (auto f : list) {
    ForkEvidenceMsg m;
    NCEN_ASSIGN_OR_RETURN(m.a, ReadSignedHeader(f.getA()));
    NCEN_ASSIGN_OR_RETURN(m.b, ReadSignedHeader(f.getB()));
    out.push_back(std::move(m));
  }
  return out;
}

std::string ReadText(capnp::Text::Reader text, size_t max_bytes) {
  return SanitizeText(std::string_view(text.cStr(), text.size()), max_bytes);
}

Result<Message> ReadRoot(wire::Message::Reader m, const word* base, ByteView bytes) {
  switch (m.which()) {
    case wire::Message::HELLO: {
      auto h = m.getHello();
      HelloMsg hello;
      hello.protocol_version = h.getProtocolVersion();
      if (h.getNodeId().size() != 32) return Corruption("hello node id is not 32 bytes");
      std::memcpy(hello.node_id.data(), h.getNodeId().begin(), 32);
      hello.name = ReadText(h.getName(), limits::kPeerNameBytesMax);
      hello.role = ReadText(h.getRole(), limits::kPeerRoleBytesMax);
      NCEN_ASSIGN_OR_RETURN(hello.frontier, ReadHeads(h.getFrontier()));
      if (h.hasFrontierPacked() && h.getFrontierPacked().size() > 0) {
        if (!hello.frontier.empty()) return Corruption("hello has a frontier both packed and not");
        auto packed = h.getFrontierPacked();
        NCEN_ASSIGN_OR_RETURN(Bytes inner, DecompressWhole(ByteView(packed.begin(), packed.size()),
                                                           limits::kMessageBytesMax));
        // Read as a heads message and nothing else: never decoded as any
        // message, so a hello packed inside a hello cannot recurse.
        if (inner.empty() || inner.size() % kWord != 0) return Corruption("hello's packed frontier is not whole words");
        kj::ArrayPtr<const word> words(reinterpret_cast<const word*>(inner.data()), inner.size() / kWord);
        capnp::ReaderOptions options;
        options.traversalLimitInWords = words.size() * 2 + 1024;
        options.nestingLimit = 8;
        capnp::FlatArrayMessageReader reader(words, options);
        if (reader.getEnd() != words.end()) return Corruption("hello's packed frontier has trailing bytes");
        auto root = reader.getRoot<wire::Message>();
        if (root.which() != wire::Message::HEADS) return Corruption("hello's packed frontier is not a heads message");
        NCEN_ASSIGN_OR_RETURN(hello.frontier, ReadHeads(root.getHeads().getFrontier()));
      }
      NCEN_ASSIGN_OR_RETURN(hello.forks, ReadForks(h.getForkEvidence()));
      return Message(std::move(hello));
    }
    case wire::Message::BATCH: {
      auto b = m.getBatch();
      auto data = b.getEntries();
      BatchMsg batch;
      batch.number = b.getNumber();
      batch.count = b.getCount();
      // A view into the caller's bytes: the reader may be over a copy.
      size_t offset = static_cast<size_t>(reinterpret_cast<const uint8_t*>(data.begin()) -
                                          reinterpret_cast<const uint8_t*>(base));
      if (offset > bytes.size() || data.size() > bytes.size() - offset) {
        return Corruption("batch entries lie outside the message");
      }
      batch.entries = bytes.subspan(offset, data.size());
      // Every entry takes at least kEntryTransferBytesMin bytes: a count the
      // bytes cannot hold is refused before anything is reserved for it.
      if (batch.count > batch.entries.size() / limits::kEntryTransferBytesMin) {
        return Corruption("batch claims " + std::to_string(batch.count) + " entries in " +
                          std::to_string(batch.entries.size()) + " bytes");
      }
      return Message(batch);
    }
    case wire::Message::ACK: {
      auto a = m.getAck();
      AckMsg ack;
      ack.number = a.getNumber();
      auto refused = a.getRefused();
      NCEN_RETURN_IF_ERROR(CheckCount(refused, limits::kMessageBytesMax / 64, "refusals"));
      ack.refused.reserve(refused.size());
      for (auto r : refused) {
        NCEN_ASSIGN_OR_RETURN(FeedId feed, ReadFeed(r.getAuthor(), r.getScope()));
        ack.refused.push_back({feed, r.getHeld(), ReadText(r.getReason(), limits::kRefusalReasonBytesMax)});
      }
      return Message(std::move(ack));
    }
    case wire::Message::HEADS: {
      HeadsMsg heads;
      NCEN_ASSIGN_OR_RETURN(heads.frontier, ReadHeads(m.getHeads().getFrontier()));
      return Message(std::move(heads));
    }
    case wire::Message::PING:
      return Message(PingMsg{});
    case wire::Message::ERROR:
      return Message(ErrorMsg{ReadText(m.getError(), limits::kPeerErrorBytesMax)});
    case wire::Message::EVIDENCE: {
      auto e = m.getEvidence();
      EvidenceMsg evidence;
      NCEN_ASSIGN_OR_RETURN(evidence.forks, ReadForks(e.getForks()));
      auto headers = e.getHeaders();
      NCEN_RETURN_IF_ERROR(CheckCount(headers, limits::kEvidenceItemsMax, "signed headers"));
      for (auto h : headers) {
        NCEN_ASSIGN_OR_RETURN(storage::SignedHeader header, ReadSignedHeader(h));
        evidence.headers.push_back(std::move(header));
      }
      return Message(std::move(evidence));
    }
    case wire::Message::BLOB_WANT: {
      auto ranges = m.getBlobWant().getRanges();
      NCEN_RETURN_IF_ERROR(CheckCount(ranges, limits::kBlobRangesMax, "blob ranges"));
      BlobWantMsg want;
      want.ranges.reserve(ranges.size());
      for (auto r : ranges) {
        NCEN_ASSIGN_OR_RETURN(Hash256 hash, ReadHash(r.getHash(), "blob hash"));
        want.ranges.push_back({hash, r.getFirst(), r.getCount()});
      }
      return Message(std::move(want));
    }
    case wire::Message::BLOB_DATA: {
      auto d = m.getBlobData();
      BlobDataMsg blob;
      NCEN_ASSIGN_OR_RETURN(blob.hash, ReadHash(d.getHash(), "blob hash"));
      blob.size = d.getSize();
      blob.first = d.getFirst();
      auto data = d.getData();
      // Data never set is a null pointer, which reads as no bytes (and has no
      // address inside the message to take).
      if (data.size() == 0) return Message(blob);
      size_t offset = static_cast<size_t>(reinterpret_cast<const uint8_t*>(data.begin()) -
                                          reinterpret_cast<const uint8_t*>(base));
      if (offset > bytes.size() || data.size() > bytes.size() - offset) {
        return Corruption("blob data lies outside the message");
      }
      blob.data = bytes.subspan(offset, data.size());
      return Message(blob);
    }
    case wire::Message::BLOB_LACK: {
      auto items = m.getBlobLack().getItems();
      NCEN_RETURN_IF_ERROR(CheckCount(items, limits::kBlobRangesMax, "blob lacks"));
      BlobLackMsg lack;
      for (auto i : items) {
        NCEN_ASSIGN_OR_RETURN(Hash256 hash, ReadHash(i.getHash(), "blob hash"));
        if (i.getReason() > 2) return Corruption("unknown blob lack reason " + std::to_string(i.getReason()));
        lack.items.push_back({hash, static_cast<BlobLackReason>(i.getReason())});
      }
      return Message(std::move(lack));
    }
  }
  return Corruption("unknown protocol message kind " + std::to_string(static_cast<int>(m.which())));
}

// ---------------------------------------------------------------------------
// Encoding


template <size_t N>
capnp::Data::Reader DataOf(const std::array<uint8_t, N>& a) {
  return capnp::Data::Reader(a.data(), N);
}
capnp::Data::Reader DataOf(const Bytes& b) { return capnp::Data::Reader(b.data(), b.size()); }

void WriteHead(wire::FeedHead::Builder b, const FeedHeadMsg& h) {
  b.setAuthor(DataOf(h.feed.author));
  b.setScope(static_cast<uint8_t>(h.feed.scope));
  b.setSeq(h.seq);
  b.setHead(DataOf(h.head));
}

void WriteHeads(capnp::List<wire::FeedHead>::Builder list, const std::vector<FeedHeadMsg>& heads) {
  for (size_t i = 0; i < heads.size(); ++i) WriteHead(list[static_cast<unsigned>(i)], heads[i]);
}

void WriteSignedHeader(wire::SignedHeader::Builder b, const storage::SignedHeader& h) {
  b.setHeader(DataOf(h.header_bytes));
  b.setSignature(DataOf(h.signature));
}

void WriteForks(capnp::List<wire::ForkEvidence>::Builder list, const std::vector<ForkEvidenceMsg>& forks) {
  for (size_t i = 0; i < forks.size(); ++i) {
    WriteSignedHeader(list[static_cast<unsigned>(i)].initA(), forks[i].a);
    WriteSignedHeader(list[static_cast<unsigned>(i)].initB(), forks[i].b);
  }
}

std::string Cut(const std::string& text, size_t max_bytes) {
  return text.substr(0, Utf8PrefixBytes(text, max_bytes));
}

// The standard framing of a builder's message into `out`: the segment table
// (u32 count - 1, u32 size in words per segment, padded to a word), then the
// segments.
void FlattenInto(capnp::MessageBuilder& builder, Bytes& out) {
  auto segments = builder.getSegmentsForOutput();
  size_t table = (segments.size() / 2 + 1) * kWord;
  size_t total = table;
  for (auto s : segments) total += s.size() * kWord;
  out.clear();
  out.resize(total);
  auto put32 = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) out[at + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
  };
  put32(0, static_cast<uint32_t>(segments.size() - 1));
  size_t at = table;
  for (size_t i = 0; i < segments.size(); ++i) {
    put32(4 + 4 * i, static_cast<uint32_t>(segments[i].size()));
    std::memcpy(out.data() + at, segments[i].begin(), segments[i].size() * kWord);
    at += segments[i].size() * kWord;
  }
}

// A batch is written by hand: its layout is fixed, and a builder would copy
// megabytes of entries twice. The bytes are what Cap'n Proto writes for the
// same message (tested against a builder in session_test):
//   segment table (1 segment) | root pointer: Message, 1 data word, 1 pointer |
//   Message: discriminant 1 (batch) | pointer to Batch: 2 data words, 1 pointer |
//   Batch: number u64 | count u32, padding | entries: byte list |
//   the entries, padded to a word.
void EncodeBatchInto(const BatchMsg& batch, Bytes& out) {
  size_t data_words = (batch.entries.size() + kWord - 1) / kWord;
  size_t segment_words = 6 + data_words;
  out.clear();
  out.resize(kWord + segment_words * kWord);
  uint8_t* p = out.data();
  auto put32 = [](uint8_t* at, uint32_t v) {
    for (int i = 0; i < 4; ++i) at[i] = static_cast<uint8_t>(v >> (8 * i));
  };
  auto put64 = [](uint8_t* at, uint64_t v) {
    for (int i = 0; i < 8; ++i) at[i] = static_cast<uint8_t>(v >> (8 * i));
  };
  put32(p, 0);
  put32(p + 4, static_cast<uint32_t>(segment_words));
  uint8_t* w = p + kWord;
  put32(w + 0 * kWord + 4, 0x00010001);      // root: struct, offset 0, 1 data word, 1 pointer
  put32(w + 1 * kWord, 1);                   // Message discriminant: batch
  put32(w + 2 * kWord + 4, 0x00010002);      // -> Batch: struct, offset 0, 2 data words, 1 pointer
  put64(w + 3 * kWord, batch.number);
  put32(w + 4 * kWord, batch.count);
  put32(w + 5 * kWord, 1);                   // entries: list, offset 0
  put32(w + 5 * kWord + 4, static_cast<uint32_t>(batch.entries.size() << 3 | 2));  // of bytes
  if (!batch.entries.empty()) std::memcpy(w + 6 * kWord, batch.entries.data(), batch.entries.size());
}

// blob_data is also written by hand, for the same reason: its photo bytes
// are read from the store straight into the message (the bytes Cap'n Proto
// writes, tested against a builder in messages_test):
//   segment table (1 segment of W words) | root pointer: Message, 1 data
//   word, 1 pointer | Message: discriminant 8 (blobData) | pointer to
//   BlobData: 1 data word, 2 pointers | BlobData: size u32, first u32 |
//   hash: list of 32 bytes, 1 word on | data: list of n bytes, 4 words on |
//   the hash (4 words) | the data, padded to a word.       W = 10 + ⌈n/8⌉
constexpr size_t kBlobDataHeaderWords = 10;
constexpr uint64_t kRootPointer = uint64_t{0x00010001} << 32;
constexpr uint64_t kBlobDataPointer = uint64_t{0x00020001} << 32;
constexpr uint64_t kBlobHashPointer = uint64_t{32 << 3 | 2} << 32 | (1 << 2 | 1);
constexpr uint64_t kBlobDataListLow = 4 << 2 | 1;

uint64_t LoadU64LE(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

uint32_t GetU32LE(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

void StoreU64LE(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}

// A blob_data message laid out exactly as StartBlobDataInto writes it, read
// without Cap'n Proto (so at any alignment, with no copy); nullopt for any
// other layout, which the general decoder then reads.
std::optional<BlobDataMsg> ReadOwnBlobData(ByteView bytes) {
  if (bytes.size() < kWord + kBlobDataHeaderWords * kWord || bytes.size() % kWord != 0) return std::nullopt;
  const uint8_t* p = bytes.data();
  const size_t words = bytes.size() / kWord - 1;
  const uint8_t* w = p + kWord;
  if (LoadU64LE(p) != (uint64_t{words} << 32) || LoadU64LE(w) != kRootPointer || LoadU64LE(w + kWord) != 8 ||
      LoadU64LE(w + 2 * kWord) != kBlobDataPointer || LoadU64LE(w + 4 * kWord) != kBlobHashPointer) {
    return std::nullopt;
  }
  uint64_t data_pointer = LoadU64LE(w + 5 * kWord);
  if ((data_pointer & 0xffffffffu) != kBlobDataListLow || (data_pointer >> 32 & 7) != 2) return std::nullopt;
  size_t n = static_cast<size_t>(data_pointer >> 35);
  if (kBlobDataHeaderWords + (n + kWord - 1) / kWord != words) return std::nullopt;
  BlobDataMsg m;
  m.size = GetU32LE(w + 3 * kWord);
  m.first = GetU32LE(w + 3 * kWord + 4);
  std::memcpy(m.hash.data(), w + 6 * kWord, m.hash.size());
  m.data = bytes.subspan(kWord + kBlobDataHeaderWords * kWord, n);
  return m;
}

}  // namespace

std::span<uint8_t> StartBlobDataInto(const Hash256& hash, uint32_t size, uint32_t first, size_t data_bytes,
                                     Bytes& out) {
  const size_t words = kBlobDataHeaderWords + (data_bytes + kWord - 1) / kWord;
  NCEN_CHECK(kWord + words * kWord <= limits::kMessageBytesMax);  // a message the receiver takes
  out.clear();
  out.resize(kWord + words * kWord);
  uint8_t* p = out.data();
  uint8_t* w = p + kWord;
  StoreU64LE(p, uint64_t{words} << 32);
  StoreU64LE(w, kRootPointer);
  StoreU64LE(w + kWord, 8);  // discriminant: blobData
  StoreU64LE(w + 2 * kWord, kBlobDataPointer);
  StoreU64LE(w + 3 * kWord, uint64_t{first} << 32 | size);
  StoreU64LE(w + 4 * kWord, kBlobHashPointer);
  StoreU64LE(w + 5 * kWord, uint64_t{data_bytes} << 35 | uint64_t{2} << 32 | kBlobDataListLow);
  std::memcpy(w + 6 * kWord, hash.data(), hash.size());
  return std::span<uint8_t>(w + kBlobDataHeaderWords * kWord, data_bytes);
}

Result<Message> DecodeMessage(ByteView bytes) {
  if (bytes.empty() || bytes.size() % kWord != 0) {
    return Corruption("protocol message is not a whole number of 8-byte words");
  }
  if (bytes.size() > limits::kMessageBytesMax) return Corruption("protocol message over 16 MiB");
  if (auto blob = ReadOwnBlobData(bytes)) return Message(*blob);
  kj::Array<word> copy;
  kj::ArrayPtr<const word> words;
  if (reinterpret_cast<uintptr_t>(bytes.data()) % alignof(word) == 0) {
    words = kj::ArrayPtr<const word>(reinterpret_cast<const word*>(bytes.data()), bytes.size() / kWord);
  } else {
    copy = kj::heapArray<word>(bytes.size() / kWord);
    std::memcpy(copy.begin(), bytes.data(), bytes.size());
    words = copy.asPtr();
  }
  try {
    capnp::ReaderOptions options;
    // Each word read once or twice, and lists of zero-size elements counted
    // against the same limit: no amplification.
    options.traversalLimitInWords = words.size() * 2 + 1024;
    options.nestingLimit = 8;
    capnp::FlatArrayMessageReader reader(words, options);
    if (reader.getEnd() != words.end()) return Corruption("protocol message has trailing bytes");
    return ReadRoot(reader.getRoot<wire::Message>(), words.begin(), bytes);
  } catch (const kj::Exception& e) {
    return Corruption(std::string("protocol message does not decode: ") + e.getDescription().cStr());
  }
}

void EncodeMessageInto(const Message& message, Bytes& out) {
  if (const auto* batch = std::get_if<BatchMsg>(&message)) return EncodeBatchInto(*batch, out);
  if (const auto* blob = std::get_if<BlobDataMsg>(&message)) {
    auto area = StartBlobDataInto(blob->hash, blob->size, blob->first, blob->data.size(), out);
    if (!blob->data.empty()) std::memcpy(area.data(), blob->data.data(), blob->data.size());
    return;
  }
  capnp::MallocMessageBuilder builder;
  auto m = builder.initRoot<wire::Message>();
  std::visit(
      [&](const auto& msg) {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, HelloMsg>) {
          auto h = m.initHello();
          h.setProtocolVersion(msg.protocol_version);
          h.setNodeId(DataOf(msg.node_id));
          h.setName(Cut(msg.name, limits::kPeerNameBytesMax));
          h.setRole(Cut(msg.role, limits::kPeerRoleBytesMax));
          if (msg.protocol_version >= 4 && !msg.frontier.empty()) {
            // Packed: authors repeat (one per scope), and a post's link is thin.
            Bytes heads = EncodeMessage(HeadsMsg{msg.frontier});
            auto packed = CompressWhole(heads, 3);
            NCEN_CHECK(packed.ok());
            h.setFrontierPacked(capnp::Data::Reader(packed->data(), packed->size()));
          } else {
            WriteHeads(h.initFrontier(static_cast<unsigned>(msg.frontier.size())), msg.frontier);
          }
          WriteForks(h.initForkEvidence(static_cast<unsigned>(msg.forks.size())), msg.forks);
        } else if constexpr (std::is_same_v<T, AckMsg>) {
          auto a = m.initAck();
          a.setNumber(msg.number);
          if (!msg.refused.empty()) {
            auto list = a.initRefused(static_cast<unsigned>(msg.refused.size()));
            for (size_t i = 0; i < msg.refused.size(); ++i) {
              auto r = list[static_cast<unsigned>(i)];
              r.setAuthor(DataOf(msg.refused[i].feed.author));
              r.setScope(static_cast<uint8_t>(msg.refused[i].feed.scope));
              r.setHeld(msg.refused[i].held);
              r.setReason(Cut(msg.refused[i].reason, limits::kRefusalReasonBytesMax));
            }
          }
        } else if constexpr (std::is_same_v<T, HeadsMsg>) {
          WriteHeads(m.initHeads().initFrontier(static_cast<unsigned>(msg.frontier.size())), msg.frontier);
        } else if constexpr (std::is_same_v<T, PingMsg>) {
          m.setPing();
        } else if constexpr (std::is_same_v<T, ErrorMsg>) {
          m.setError(Cut(msg.text, limits::kPeerErrorBytesMax));
        } else if constexpr (std::is_same_v<T, EvidenceMsg>) {
          auto e = m.initEvidence();
          WriteForks(e.initForks(static_cast<unsigned>(msg.forks.size())), msg.forks);
          auto headers = e.initHeaders(static_cast<unsigned>(msg.headers.size()));
          for (size_t i = 0; i < msg.headers.size(); ++i) {
            WriteSignedHeader(headers[static_cast<unsigned>(i)], msg.headers[i]);
          }
        } else if constexpr (std::is_same_v<T, BlobWantMsg>) {
          auto list = m.initBlobWant().initRanges(static_cast<unsigned>(msg.ranges.size()));
          for (size_t i = 0; i < msg.ranges.size(); ++i) {
            auto r = list[static_cast<unsigned>(i)];
            r.setHash(DataOf(msg.ranges[i].hash));
            r.setFirst(msg.ranges[i].first);
            r.setCount(msg.ranges[i].count);
          }
        } else if constexpr (std::is_same_v<T, BlobDataMsg>) {
          NCEN_CHECK(false);  // written by hand, above
        } else if constexpr (std::is_same_v<T, BlobLackMsg>) {
          auto list = m.initBlobLack().initItems(static_cast<unsigned>(msg.items.size()));
          for (size_t i = 0; i < msg.items.size(); ++i) {
            list[static_cast<unsigned>(i)].setHash(DataOf(msg.items[i].first));
            list[static_cast<unsigned>(i)].setReason(static_cast<uint8_t>(msg.items[i].second));
          }
        }
      },
      message);
  FlattenInto(builder, out);
}

Bytes EncodeMessage(const Message& message) {
  Bytes out;
  EncodeMessageInto(message, out);
  return out;
}

const char* MessageKindName(const Message& message) {
  static constexpr const char* kNames[] = {"hello", "batch", "ack", "heads", "ping", "error", "evidence",
                                                  "blob_want", "blob_data", "blob_lack"};
  return kNames[message.index()];
}

}  // namespace ncen::replication

namespace ncen::replication {

bool IsBlobData(ByteView bytes) { return ReadOwnBlobData(bytes).has_value(); }

}  // namespace ncen::replication

namespace ncen::replication {

Bytes EncodeHelloWithPackForTest(const crypto::PublicKey& node_id, ByteView pack) {
  capnp::MallocMessageBuilder builder;
  auto h = builder.initRoot<wire::Message>().initHello();
  h.setProtocolVersion(kProtocolVersion);
  h.setNodeId(capnp::Data::Reader(node_id.data(), node_id.size()));
  h.setName("test");
  h.setRole("post");
  h.setFrontierPacked(capnp::Data::Reader(pack.data(), pack.size()));
  auto words = capnp::messageToFlatArray(builder);
  auto bytes = words.asBytes();
  return Bytes(bytes.begin(), bytes.end());
}

}  // namespace ncen::replication
