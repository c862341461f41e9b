#include "storage/message_format.h"

#include <capnp/message.h>

#include <algorithm>
#include <cstring>

#include "base/limits.h"
#include "base/text.h"
#include "storage/capnp_message.h"
#include "storage/schema/message.capnp.h"
#include "storage/types.h"

namespace ncen::storage {

namespace s = schema;

namespace {

// XChaCha20-Poly1305: a 24-byte nonce before the ciphertext, a 16-byte tag after.
constexpr size_t kContentOverheadBytes = 24 + 16;

bool IsRecordIdText(const std::string& text) { return ParseRecordId(text).ok(); }

// Subject and `to` are one line of printable text; the body may hold newlines and tabs.
bool HasControl(std::string_view text, bool lines_allowed) {
  for (unsigned char c : text) {
    if (c == 0x7f) return true;
    if (c < 0x20 && !(lines_allowed && (c == '\n' || c == '\t'))) return true;
  }
  return false;
}

// The rules, one message per broken one; `fail` makes the status.
template <typename Fail>
Status CheckContent(const MessageContent& c, Fail fail) {
  if (c.subject.empty()) return fail("the subject is empty");
  if (c.subject.size() > kMessageSubjectBytesMax) {
    return fail("the subject is over " + std::to_string(kMessageSubjectBytesMax) + " bytes");
  }
  if (!IsValidUtf8(c.subject) || HasControl(c.subject, false)) {
    return fail("the subject must be one line of UTF-8 text");
  }
  if (c.body.size() > kMessageBodyBytesMax) {
    return fail("the body is " + std::to_string(c.body.size()) + " bytes; at most " +
                std::to_string(kMessageBodyBytesMax));
  }
  if (!IsValidUtf8(c.body) || HasControl(c.body, true)) return fail("the body must be UTF-8 text");
  if (static_cast<uint8_t>(c.priority) > static_cast<uint8_t>(MessagePriority::kAlert)) {
    return fail("unknown priority");
  }
  if (c.links.size() > kMessageLinksMax) return fail("more than " + std::to_string(kMessageLinksMax) + " links");
  for (const std::string& link : c.links) {
    if (!IsRecordIdText(link)) return fail("link '" + SanitizeText(link, 40) + "' is not a record id");
  }
  if (!c.reply_to.empty() && !IsRecordIdText(c.reply_to)) return fail("reply-to is not a message id");
  if (!c.thread.empty() && !IsRecordIdText(c.thread)) return fail("thread is not a message id");
  if (c.to.size() > kMessageToBytesMax || !IsValidUtf8(c.to) || HasControl(c.to, false)) {
    return fail("the addressing line is not one line of at most 200 bytes");
  }
  if (c.recipients == 0 || c.recipients > kMessageRecipientsMax) return fail("recipient count out of range");
  if (c.sent_by.size() > kMessageSentByBytesMax || !IsValidUtf8(c.sent_by) || HasControl(c.sent_by, false)) {
    return fail("the sender's name is not one line of at most " + std::to_string(kMessageSentByBytesMax) + " bytes");
  }
  if (c.sent_by.empty() && !c.sent_via.empty()) return fail("a sender's 'via' without a name");
  if (c.sent_via.size() > 16 || !std::all_of(c.sent_via.begin(), c.sent_via.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
      })) {
    return fail("the sender's 'via' is not a lower-case code");
  }
  if (c.attachments.size() > kMessageAttachmentsMax) {
    return fail("more than " + std::to_string(kMessageAttachmentsMax) + " attachments");
  }
  for (size_t i = 0; i < c.attachments.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (c.attachments[j].name == c.attachments[i].name) {
        return fail("two attachments are named '" + SanitizeText(c.attachments[i].name, 60) + "'");
      }
    }
  }
  for (const Attachment& a : c.attachments) {
    if (a.name.empty() || a.name.size() > 200 || !IsValidUtf8(a.name) || HasControl(a.name, false) ||
        a.name.find_first_of("/\\") != std::string::npos || a.name == "." || a.name == "..") {
      return fail("attachment name '" + SanitizeText(a.name, 60) + "' is not a plain file name of 1..200 bytes");
    }
    if (a.media_type.empty() || a.media_type.size() > 100 ||
        !std::all_of(a.media_type.begin(), a.media_type.end(), [](char ch) { return ch > 0x20 && ch < 0x7f; })) {
      return fail("attachment media type is not 1..100 printable characters");
    }
    if (a.size == 0 || a.size > kAttachmentBytesMax) {
      return fail("attachment '" + SanitizeText(a.name, 60) + "' is " + std::to_string(a.size) + " bytes; 1.." +
                  std::to_string(kAttachmentBytesMax) + " allowed");
    }
  }
  return Status::Ok();
}

}  // namespace

Bytes AttachmentAd(const crypto::PublicKey& author, const std::array<uint8_t, 16>& message_id, uint32_t index) {
  static constexpr std::string_view kLabel = "ncen attachment v1";
  Bytes ad(kLabel.begin(), kLabel.end());
  Append(ad, author);
  Append(ad, message_id);
  AppendU32BE(ad, index);
  return ad;
}

const char* MessagePriorityName(MessagePriority p) {
  switch (p) {
    case MessagePriority::kNormal: return "normal";
    case MessagePriority::kUrgent: return "urgent";
    case MessagePriority::kAlert: return "alert";
  }
  return "?";
}

Status CheckMessageContent(const MessageContent& content) {
  return CheckContent(content, [](std::string why) { return InvalidArgument(std::move(why)); });
}

Bytes EncodeMessageContent(const MessageContent& c) {
  NCEN_CHECK(CheckMessageContent(c).ok());
  capnp::MallocMessageBuilder message;
  auto m = message.initRoot<s::MessageContent>();
  m.setSubject(c.subject);
  m.setBody(c.body);
  m.setPriority(static_cast<s::MessagePriority>(c.priority));
  auto links = m.initLinks(static_cast<unsigned>(c.links.size()));
  for (size_t i = 0; i < c.links.size(); ++i) links.set(static_cast<unsigned>(i), c.links[i]);
  m.setReplyTo(c.reply_to);
  m.setThread(c.thread);
  m.setTo(c.to);
  m.setRecipients(c.recipients);
  m.setSentAt(c.sent_at_ms);
  if (!c.sent_by.empty()) {
    auto by = m.initSentBy();
    by.setName(c.sent_by);
    if (!c.sent_via.empty()) by.setVia(c.sent_via);
  }
  auto attachments = m.initAttachments(static_cast<unsigned>(c.attachments.size()));
  for (size_t i = 0; i < c.attachments.size(); ++i) {
    auto a = attachments[static_cast<unsigned>(i)];
    a.setName(c.attachments[i].name);
    a.setMediaType(c.attachments[i].media_type);
    a.setSize(c.attachments[i].size);
    a.setBlob(kj::arrayPtr(c.attachments[i].blob.data(), c.attachments[i].blob.size()));
  }
  return MessageBytes(message);
}

Result<MessageContent> DecodeMessageContent(ByteView bytes) {
  if (bytes.size() > limits::kPayloadBytesMax) return Corruption("message content over 1 MiB");
  NCEN_ASSIGN_OR_RETURN(
      MessageContent c, ReadMessage<MessageContent>(bytes, "message content", 4, [](capnp::MessageReader& reader) {
        auto m = reader.getRoot<s::MessageContent>();
        MessageContent c;
        // Text read whole, a NUL included (which the checks then refuse).
        auto text = [](capnp::Text::Reader t) { return std::string(t.begin(), t.size()); };
        c.subject = text(m.getSubject());
        c.body = text(m.getBody());
        uint16_t priority = static_cast<uint16_t>(m.getPriority());
        if (priority > static_cast<uint16_t>(MessagePriority::kAlert)) {
          return Result<MessageContent>(Corruption("message content: unknown priority " + std::to_string(priority)));
        }
        c.priority = static_cast<MessagePriority>(priority);
        if (m.getLinks().size() > kMessageLinksMax) {
          return Result<MessageContent>(Corruption("message content: too many links"));
        }
        for (auto link : m.getLinks()) c.links.emplace_back(link.cStr(), link.size());
        c.reply_to = text(m.getReplyTo());
        c.thread = text(m.getThread());
        c.to = text(m.getTo());
        c.recipients = m.getRecipients();
        c.sent_at_ms = m.getSentAt();
        if (m.hasSentBy()) {
          c.sent_by = text(m.getSentBy().getName());
          c.sent_via = text(m.getSentBy().getVia());
        }
        if (m.getAttachments().size() > kMessageAttachmentsMax) {
          return Result<MessageContent>(Corruption("message content: too many attachments"));
        }
        for (auto a : m.getAttachments()) {
          Attachment out;
          out.name = text(a.getName());
          out.media_type = text(a.getMediaType());
          out.size = a.getSize();
          auto blob = a.getBlob();
          if (blob.size() != out.blob.size()) {
            return Result<MessageContent>(Corruption("message content: an attachment's blob hash is not 32 bytes"));
          }
          std::memcpy(out.blob.data(), blob.begin(), blob.size());
          c.attachments.push_back(std::move(out));
        }
        return Result<MessageContent>(std::move(c));
      }));
  NCEN_RETURN_IF_ERROR(CheckContent(c, [](std::string why) { return Corruption("message content: " + why); }));
  return c;
}

Bytes EncodeSealedMessage(const SealedMessage& sealed) {
  NCEN_CHECK(!sealed.keys.slots.empty() && sealed.keys.slots.size() <= kMessageRecipientsMax);
  capnp::MallocMessageBuilder message;
  auto m = message.initRoot<s::SealedMessage>();
  m.setVersion(kSealedMessageVersion);
  m.setEphemeral(kj::arrayPtr(sealed.keys.ephemeral.data(), sealed.keys.ephemeral.size()));
  auto slots = m.initSlots(static_cast<unsigned>(sealed.keys.slots.size() * kKeySlotBytes));
  for (size_t i = 0; i < sealed.keys.slots.size(); ++i) {
    std::memcpy(slots.begin() + i * kKeySlotBytes, sealed.keys.slots[i].hint.data(), 8);
    std::memcpy(slots.begin() + i * kKeySlotBytes + 8, sealed.keys.slots[i].wrapped.data(), 32);
  }
  m.setContent(kj::arrayPtr(sealed.content.data(), sealed.content.size()));
  NCEN_CHECK(sealed.blobs.size() <= kMessageAttachmentsMax);
  if (!sealed.blobs.empty()) {
    auto blobs = m.initBlobs(static_cast<unsigned>(sealed.blobs.size() * kAttachedBlobBytes));
    for (size_t i = 0; i < sealed.blobs.size(); ++i) {
      std::memcpy(blobs.begin() + i * kAttachedBlobBytes, sealed.blobs[i].hash.data(), 32);
      PutU32BE(blobs.begin() + i * kAttachedBlobBytes + 32, sealed.blobs[i].size);
    }
  }
  return MessageBytes(message);
}

Result<SealedMessage> DecodeSealedMessage(ByteView payload) {
  if (payload.size() > limits::kPayloadBytesMax) return Corruption("sealed message over 1 MiB");
  return ReadMessage<SealedMessage>(payload, "sealed message", 4, [](capnp::MessageReader& reader) {
    auto m = reader.getRoot<s::SealedMessage>();
    auto fail = [](std::string why) { return Result<SealedMessage>(Corruption("sealed message: " + why)); };
    if (m.getVersion() != kSealedMessageVersion) return fail("version " + std::to_string(m.getVersion()));
    auto ephemeral = m.getEphemeral();
    if (ephemeral.size() != 32) return fail("the ephemeral key is not 32 bytes");
    auto slots = m.getSlots();
    if (slots.size() == 0 || slots.size() % kKeySlotBytes != 0) return fail("the key slots are not whole 40-byte slots");
    if (slots.size() / kKeySlotBytes > kMessageRecipientsMax) return fail("more than 10000 key slots");
    auto content = m.getContent();
    if (content.size() < kContentOverheadBytes) return fail("the content is shorter than a nonce and a tag");
    SealedMessage out;
    std::memcpy(out.keys.ephemeral.data(), ephemeral.begin(), 32);
    out.keys.slots.resize(slots.size() / kKeySlotBytes);
    for (size_t i = 0; i < out.keys.slots.size(); ++i) {
      std::memcpy(out.keys.slots[i].hint.data(), slots.begin() + i * kKeySlotBytes, 8);
      std::memcpy(out.keys.slots[i].wrapped.data(), slots.begin() + i * kKeySlotBytes + 8, 32);
    }
    out.content.assign(content.begin(), content.end());
    auto blobs = m.getBlobs();
    if (blobs.size() % kAttachedBlobBytes != 0) return fail("the blobs are not whole 36-byte entries");
    if (blobs.size() / kAttachedBlobBytes > kMessageAttachmentsMax) return fail("more than 20 attachment blobs");
    for (size_t i = 0; i < blobs.size() / kAttachedBlobBytes; ++i) {
      AttachedBlob b;
      std::memcpy(b.hash.data(), blobs.begin() + i * kAttachedBlobBytes, 32);
      b.size = GetU32BE(blobs.begin() + i * kAttachedBlobBytes + 32);
      if (b.size <= kAttachmentOverheadBytes || b.size > kAttachmentBytesMax + kAttachmentOverheadBytes) {
        return fail("an attachment blob of " + std::to_string(b.size) + " bytes");
      }
      out.blobs.push_back(b);
    }
    return Result<SealedMessage>(std::move(out));
  });
}

}  // namespace ncen::storage
