// Cap'n Proto messages held as bytes: encoding a builder to bytes, and
// reading bytes back — the one place in storage/ where capnp's exceptions
// become a Status. Internal to storage/.
//
// Stored and received bytes are not word-aligned, so they are copied into
// aligned memory before reading. Every message ncen writes is one segment with
// nothing after it; anything else is refused.
#pragma once

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <capnp/any.h>
#include <kj/exception.h>

#include <cstring>
#include <string>

#include "base/bytes.h"
#include "base/status.h"

namespace ncen::storage {

// The message as bytes, always one segment: a builder that outgrew its first
// segment is copied into a builder whose first segment holds everything.
// A message that fits its first segment is written as it was built, so the
// bytes of every header and payload that ever fitted stay the same.
inline Bytes MessageBytes(capnp::MessageBuilder& message) {
  if (message.getSegmentsForOutput().size() > 1) {
    auto root = message.getRoot<capnp::AnyStruct>().asReader();
    size_t words = root.totalSize().wordCount + 1;  // + the root pointer
    capnp::MallocMessageBuilder single(static_cast<unsigned>(words),
                                       capnp::AllocationStrategy::FIXED_SIZE);
    single.setRoot(root);
    NCEN_CHECK(single.getSegmentsForOutput().size() == 1);
    return MessageBytes(single);
  }
  auto words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  return Bytes(bytes.begin(), bytes.end());
}

// Calls `read(reader)` (which returns Result<T>) on a copy of `bytes`.
// kCorruption "<what> ..." when the bytes are not a single-segment message
// or reading throws.
template <typename T, typename Read>
Result<T> ReadMessage(ByteView bytes, const char* what, unsigned nesting_limit, Read&& read) {
  if (bytes.empty() || bytes.size() % sizeof(capnp::word) != 0) {
    return Corruption(std::string(what) + " is not a whole number of 8-byte words");
  }
  if (bytes[0] | bytes[1] | bytes[2] | bytes[3]) {
    return Corruption(std::string(what) + " is not a single-segment message");
  }
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  std::memcpy(words.begin(), bytes.data(), bytes.size());
  try {
    capnp::ReaderOptions options;
    options.traversalLimitInWords = words.size() * 4 + 64;
    options.nestingLimit = static_cast<int>(nesting_limit);
    capnp::FlatArrayMessageReader reader(words.asPtr(), options);
    if (reader.getEnd() != words.end()) return Corruption(std::string(what) + " has trailing bytes");
    return read(reader);
  } catch (const kj::Exception& e) {
    return Corruption(std::string(what) + " does not decode: " + e.getDescription().cStr());
  }
}

// Runs `fn` on the payload's root struct (a record body: nesting at most 16).
template <typename Root, typename Fn>
auto WithRoot(ByteView payload, Fn fn) -> Result<decltype(fn(std::declval<typename Root::Reader>()))> {
  using T = decltype(fn(std::declval<typename Root::Reader>()));
  return ReadMessage<T>(payload, "record payload", 16, [&](capnp::MessageReader& reader) -> Result<T> {
    return fn(reader.getRoot<Root>());
  });
}

}  // namespace ncen::storage
