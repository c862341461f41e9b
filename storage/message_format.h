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
#include "crypto/hash.h"
#include "crypto/seal.h"

namespace ncen::storage {

inline constexpr uint32_t kSealedMessageVersion = 1;
inline constexpr size_t kMessageRecipientsMax = 10000;  // slots of one message: 400 kB
inline constexpr size_t kMessageSubjectBytesMax = 200;
inline constexpr size_t kMessageBodyBytesMax = 64 * 1024;
inline constexpr size_t kMessageLinksMax = 100;
inline constexpr size_t kMessageToBytesMax = 200;
inline constexpr size_t kMessageSentByBytesMax = 100;  // as a record's entered_by.name
inline constexpr size_t kKeySlotBytes = 40;  // hint (8) then wrapped key (32)
inline constexpr size_t kMessageAttachmentsMax = 20;
inline constexpr size_t kAttachmentBytesMax = 50 * 1000 * 1000;  // a file, before encryption
inline constexpr size_t kAttachmentOverheadBytes = 24 + 16;      // nonce and tag of its blob
inline constexpr size_t kAttachedBlobBytes = 36;                 // hash (32) then size u32 BE

enum class MessagePriority : uint8_t { kNormal = 0, kUrgent = 1, kAlert = 2 };
const char* MessagePriorityName(MessagePriority p);  // "normal", "urgent", "alert"

// A file sent with a message (docs/messages.md §2): its blob is the file
// encrypted with the content key (crypto::SealContent, AttachmentAd).
struct Attachment {
  std::string name;        // 1..200 bytes, one line, no '/' or '\\'
  std::string media_type;  // at most 100 bytes, printable ASCII
  uint32_t size = 0;       // bytes of the file, 1..kAttachmentBytesMax
  crypto::Hash256 blob{};  // BLAKE2b-256 of the encrypted blob (size + 40 bytes)
  uint32_t blob_size() const { return size + static_cast<uint32_t>(kAttachmentOverheadBytes); }
};

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
  std::vector<Attachment> attachments;
  std::string sent_by;   // the officer or system user who sent it; empty: not recorded
  std::string sent_via;  // "api" or "cli"; empty when sent_by is
};

// What a sender may send: kInvalidArgument naming the first broken rule
// (empty subject, a body over 64 KiB, text that is not UTF-8, a link that
// is not a record id, ...).
Status CheckMessageContent(const MessageContent& content);
Bytes EncodeMessageContent(const MessageContent& content);  // content must pass the check
// kCorruption when the bytes are not one well-formed MessageContent that
// passes the same rules (a hostile sender's plaintext is checked too).
Result<MessageContent> DecodeMessageContent(ByteView bytes);

// An attachment's blob as the envelope names it, for every holder: which
// blobs travel with the record (docs/blobs.md), not what they are.
struct AttachedBlob {
  crypto::Hash256 hash{};
  uint32_t size = 0;
  friend bool operator==(const AttachedBlob&, const AttachedBlob&) = default;
};

struct SealedMessage {
  crypto::SealedKeys keys;
  Bytes content;  // nonce then ciphertext (crypto::SealContent)
  std::vector<AttachedBlob> blobs;  // one per attachment, in the content's order
};

// The associated data of attachment `index`'s blob: binds it to its message.
Bytes AttachmentAd(const crypto::PublicKey& author, const std::array<uint8_t, 16>& message_id, uint32_t index);
Bytes EncodeSealedMessage(const SealedMessage& sealed);
// kCorruption unless `payload` is one version-1 SealedMessage: a 32-byte
// ephemeral key, 1..kMessageRecipientsMax slots of 40 bytes, content of at
// least a nonce and a tag, and at most kMessageAttachmentsMax blobs of 36
// bytes, each of a size an attachment's blob can have. The payload check of
// a message record.
Result<SealedMessage> DecodeSealedMessage(ByteView payload);

}  // namespace ncen::storage
