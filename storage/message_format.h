// The two layouts of a message (docs/messages.md §2): the SealedMessage that
// is a message record's payload, held by every node that holds the feed, and
// the MessageContent inside it that only recipients can open. Both are
// single-segment Cap'n Proto messages of storage/schema/message.capnp,
// checked field by field here (the generic record rules of record_json.cpp
// do not apply to them). Plain functions, any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/seal.h"

namespace ncen::storage {

inline constexpr uint32_t kSealedMessageVersion = 1;
inline constexpr size_t kMessageRecipientsMax = 10000;  // slots of one message: 400 kB
inline constexpr size_t kMessageSubjectBytesMax = 200;
inline constexpr size_t kMessageBodyBytesMax = 64 * 1024;
inline constexpr size_t kMessageLinksMax = 100;
inline constexpr size_t kMessageToBytesMax = 200;
inline constexpr size_t kKeySlotBytes = 40;  // hint (8) then wrapped key (32)

enum class MessagePriority : uint8_t { kNormal = 0, kUrgent = 1, kAlert = 2 };
const char* MessagePriorityName(MessagePriority p);  // "normal", "urgent", "alert"

struct MessageContent {
  std::string subject;
  std::string body;
  MessagePriority priority = MessagePriority::kNormal;
  std::vector<std::string> links;  // record ids (canonical form)
  std::string reply_to;            // a message id, or empty
  std::string thread;              // the first message of the thread, or empty (this one)
  std::string to;                  // how it was addressed, for people
  uint32_t recipients = 0;
  int64_t sent_at_ms = 0;
};

// What a sender may send: kInvalidArgument naming the first broken rule
// (empty subject, a body over 64 KiB, text that is not UTF-8, a link that
// is not a record id, ...).
Status CheckMessageContent(const MessageContent& content);
Bytes EncodeMessageContent(const MessageContent& content);  // content must pass the check
// kCorruption when the bytes are not one well-formed MessageContent that
// passes the same rules (a hostile sender's plaintext is checked too).
Result<MessageContent> DecodeMessageContent(ByteView bytes);

struct SealedMessage {
  crypto::SealedKeys keys;
  Bytes content;  // nonce then ciphertext (crypto::SealContent)
};
Bytes EncodeSealedMessage(const SealedMessage& sealed);
// kCorruption unless `payload` is one version-1 SealedMessage: a 32-byte
// ephemeral key, 1..kMessageRecipientsMax slots of 40 bytes, and content of
// at least a nonce and a tag. The payload check of a message record.
Result<SealedMessage> DecodeSealedMessage(ByteView payload);

}  // namespace ncen::storage
