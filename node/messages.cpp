#include "node/messages.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "base/text.h"
#include "crypto/seal.h"
#include "storage/membership.h"

namespace ncen::node {

using storage::MailItem;
using storage::MessageContent;
using storage::RecordId;
using storage::RecordType;
using storage::Scope;

namespace {

constexpr size_t kCatchUpChangesPerRead = 4096;
constexpr size_t kCatchUpBytesPerRead = 16 << 20;  // of message payloads held in memory at once
// Slots whose hint is this node's that are tried (one matches by chance in
// 2^64; more mean a hostile sender).
constexpr size_t kCandidatesTried = 4;

RecordId ParseIdOrZero(const std::string& text) {
  auto id = storage::ParseRecordId(text);
  return id.ok() ? *id : RecordId{};
}

bool IsHexNodeId(const std::string& text) { return text.size() == 64 && crypto::ParseNodeId(text).ok(); }

}  // namespace

Bytes MessageAssociatedData(const crypto::PublicKey& author, const RecordId& id) {
  static constexpr std::string_view kLabel = "ncen message v1";
  Bytes ad(kLabel.begin(), kLabel.end());
  Append(ad, author);
  Append(ad, id);
  return ad;
}

Messages::Messages(storage::Store& store, const crypto::Identity& me, const NodeConfig* config, Actor actor)
    : store_(store), me_(me), config_(config), actor_(std::move(actor)) {}

Result<std::optional<crypto::PublicKey>> Messages::NodeByName(const std::string& name,
                                                              const storage::Membership* membership) const {
  if (IsHexNodeId(name)) return std::optional<crypto::PublicKey>(*crypto::ParseNodeId(name));
  std::optional<crypto::PublicKey> found;
  if (membership) {
    for (const auto& [key, m] : membership->members()) {
      if (m.root || !storage::IsNodeKind(m.cert.kind) || m.cert.name != name) continue;
      // Two members of one name: the active one; two active ones: ambiguous.
      if (m.revoked) {
        if (!found) found = key;
        continue;
      }
      if (found && membership->Active(*found)) {
        return InvalidArgument("two members are named '" + name + "': give the node id");
      }
      found = key;
    }
  }
  if (!found && config_) {
    for (const PeerConfig& p : config_->peers) {
      if (p.name == name) found = p.id;
    }
  }
  return found;
}

std::string Messages::NameOf(const crypto::PublicKey& key, const storage::Membership* membership) const {
  if (key == me_.public_key()) return store_.meta().name;
  if (membership) {
    if (const storage::Member* m = membership->Find(key); m && !m->root) {
      return m->cert.name + (m->cert.country.empty() ? "" : " (" + m->cert.country + ")");
    }
  }
  if (config_) {
    for (const PeerConfig& p : config_->peers) {
      if (p.id == key) return p.name;
    }
  }
  return crypto::Fingerprint(key);
}

Result<std::vector<crypto::PublicKey>> Messages::Recipients(const MessageAddress& to, std::string* described) {
  int forms = (!to.nodes.empty()) + (!to.country.empty()) + (!to.region.empty()) + (to.all ? 1 : 0);
  if (forms != 1) return InvalidArgument("give exactly one of --to, --country, --region and --all");
  NCEN_ASSIGN_OR_RETURN(std::shared_ptr<const storage::Membership> membership, store_.GetMembership());
  const crypto::PublicKey& self = me_.public_key();
  std::set<crypto::PublicKey> out;
  if (!to.nodes.empty()) {
    std::vector<std::string> names;
    for (const std::string& name : to.nodes) {
      NCEN_ASSIGN_OR_RETURN(auto key, NodeByName(name, membership.get()));
      if (!key) {
        return InvalidArgument("unknown recipient '" + SanitizeText(name, 64) +
                               "': give a node id, a member's name (ncenctl members) or a peer's name");
      }
      if (*key == self) return InvalidArgument("'" + SanitizeText(name, 64) + "' is this node");
      if (membership) {
        const storage::Member* m = membership->Find(*key);
        if (!m || m->root || !storage::IsNodeKind(m->cert.kind)) {
          return InvalidArgument("recipient '" + SanitizeText(name, 64) + "' is not a node of this network");
        }
        if (m->revoked) return InvalidArgument("recipient '" + SanitizeText(name, 64) + "' is revoked");
      }
      out.insert(*key);
      names.push_back(SanitizeText(name, 64));
    }
    *described = "node " + names[0] + (names.size() > 1 ? " and " + std::to_string(names.size() - 1) + " more" : "");
  } else {
    if (!membership) {
      return InvalidArgument("--country, --region and --all need a network directory, and this node is in no network");
    }
    for (const auto& [key, m] : membership->members()) {
      if (m.root || m.revoked || !storage::IsNodeKind(m.cert.kind) || key == self) continue;
      if (to.all) {
        out.insert(key);
      } else if (!to.country.empty()) {
        if (m.cert.country == to.country) out.insert(key);
      }
    }
    if (!to.region.empty()) {
      const storage::Member* hub = nullptr;
      for (const auto& [key, m] : membership->members()) {
        if (!m.root && !m.revoked && m.cert.kind == storage::MemberKind::kRegionalHub && m.cert.name == to.region) {
          hub = &m;
        }
      }
      if (!hub) return InvalidArgument("no regional hub is named '" + SanitizeText(to.region, 64) + "'");
      if (hub->key != self) out.insert(hub->key);
      for (const auto& [key, m] : membership->members()) {
        if (m.root || m.revoked || m.cert.kind != storage::MemberKind::kNationalHub || key == self) continue;
        if (std::binary_search(hub->cert.countries.begin(), hub->cert.countries.end(), m.cert.country)) {
          out.insert(key);
        }
      }
      *described = "region " + SanitizeText(to.region, 64);
    } else if (!to.country.empty()) {
      *described = "country " + SanitizeText(to.country, 8);
      if (out.empty()) return InvalidArgument("no office of country '" + SanitizeText(to.country, 8) + "' is known");
    } else {
      *described = "all";
    }
    if (out.empty()) return InvalidArgument("nobody to send to");
  }
  if (out.size() > storage::kMessageRecipientsMax - 1) {
    return InvalidArgument("more than " + std::to_string(storage::kMessageRecipientsMax - 1) + " recipients");
  }
  return std::vector<crypto::PublicKey>(out.begin(), out.end());
}

Result<SentMessage> Messages::Send(const MessageDraft& draft) {
  std::string described;
  NCEN_ASSIGN_OR_RETURN(std::vector<crypto::PublicKey> recipients, Recipients(draft.to, &described));
  NCEN_ASSIGN_OR_RETURN(std::shared_ptr<const storage::Membership> membership, store_.GetMembership());

  // The narrowest scope this node may write that every recipient may hold.
  std::optional<Scope> scope;
  std::string why;
  for (Scope s : {Scope::kNational, Scope::kRegional, Scope::kGlobal}) {
    if (!membership) {
      scope = Scope::kNational;  // no network: the peers' configured scopes decide
      break;
    }
    storage::FeedId feed{me_.public_key(), s};
    if (!membership->MayAuthor(feed, &why)) continue;
    bool all = true;
    for (const crypto::PublicKey& r : recipients) {
      if (!membership->MayHold(r, feed, &why)) {
        all = false;
        break;
      }
    }
    if (all) {
      scope = s;
      break;
    }
  }
  if (!scope) return InvalidArgument("no scope this node may write reaches every recipient (" + why + ")");

  MessageContent content;
  content.subject = draft.subject;
  content.body = draft.body;
  content.priority = draft.priority;
  content.links = draft.links;
  content.to = described;
  content.recipients = static_cast<uint32_t>(recipients.size());
  content.sent_at_ms = store_.NowMs();
  content.sent_by = actor_.name;
  content.sent_via = actor_.name.empty() ? "" : actor_.via;
  for (std::string& link : content.links) {
    auto id = storage::ParseRecordId(link);
    if (!id.ok()) return InvalidArgument("--link '" + SanitizeText(link, 40) + "' is not a record id");
    link = storage::FormatRecordId(*id);
  }
  RecordId thread{};
  if (!draft.reply_to.empty()) {
    NCEN_ASSIGN_OR_RETURN(RecordId parent, storage::ParseRecordId(draft.reply_to));
    NCEN_RETURN_IF_ERROR(CatchUp().status());
    NCEN_ASSIGN_OR_RETURN(auto held, store_.GetMail(parent));
    if (!held) return InvalidArgument("--reply-to " + storage::FormatRecordId(parent) + ": no such message in this node's mailbox");
    content.reply_to = storage::FormatRecordId(parent);
    thread = held->thread;
    content.thread = storage::FormatRecordId(thread);
  }
  NCEN_RETURN_IF_ERROR(CheckMessageContent(content));

  RecordId id = storage::NewRecordId(content.sent_at_ms);
  if (draft.reply_to.empty()) thread = id;
  crypto::ContentKey key = crypto::NewContentKey();
  // Attachments: each file encrypted with the content key and stored as a
  // blob first (a crash before the record leaves an unreferenced blob).
  if (draft.attachments.size() > storage::kMessageAttachmentsMax) {
    return InvalidArgument("more than " + std::to_string(storage::kMessageAttachmentsMax) + " attachments");
  }
  std::vector<storage::AttachedBlob> blobs;
  for (size_t i = 0; i < draft.attachments.size(); ++i) {
    const DraftAttachment& file = draft.attachments[i];
    if (file.data.empty() || file.data.size() > storage::kAttachmentBytesMax) {
      return InvalidArgument("attachment '" + SanitizeText(file.name, 60) + "' is " +
                             std::to_string(file.data.size()) + " bytes; 1.." +
                             std::to_string(storage::kAttachmentBytesMax) + " allowed");
    }
    storage::Attachment a;
    a.name = file.name;
    a.media_type = file.media_type;
    a.size = static_cast<uint32_t>(file.data.size());
    content.attachments.push_back(a);
  }
  NCEN_RETURN_IF_ERROR(CheckMessageContent(content));
  // Sealed to the recipients and to this node, so that `msg sent` opens it.
  // Before any blob is stored: a key that cannot be sealed to writes nothing.
  std::vector<crypto::PublicKey> sealed_to = recipients;
  sealed_to.push_back(me_.public_key());
  NCEN_ASSIGN_OR_RETURN(crypto::SealedKeys keys, crypto::SealKey(key, sealed_to));
  for (size_t i = 0; i < draft.attachments.size(); ++i) {
    Bytes blob = crypto::SealContent(key, draft.attachments[i].data,
                                     storage::AttachmentAd(me_.public_key(), id, static_cast<uint32_t>(i)));
    NCEN_ASSIGN_OR_RETURN(storage::BlobInfo info, store_.PutBlob(blob));
    content.attachments[i].blob = info.hash;
    blobs.push_back({info.hash, static_cast<uint32_t>(blob.size())});
  }
  storage::SealedMessage sealed;
  sealed.keys = std::move(keys);
  sealed.content = crypto::SealContent(key, storage::EncodeMessageContent(content),
                                       MessageAssociatedData(me_.public_key(), id));
  sealed.blobs = std::move(blobs);
  storage::LocalChange change{id, RecordType::kMessage, storage::Op::kPut, storage::EncodeSealedMessage(sealed), *scope};
  NCEN_RETURN_IF_ERROR(store_.AppendLocal(me_, {&change, 1}).status());

  // In this node's mailbox at once (CatchUp would find it too).
  MailItem mail;
  mail.id = id;
  mail.thread = thread;
  mail.from = me_.public_key();
  mail.sent_at_ms = content.sent_at_ms;
  mail.priority = static_cast<uint8_t>(content.priority);
  mail.sent = true;
  mail.state = storage::MailState::kRead;
  mail.key = key;
  NCEN_RETURN_IF_ERROR(store_.PutMail({&mail, 1}, std::nullopt));
  return SentMessage{id, *scope, recipients.size()};
}

Result<size_t> Messages::CatchUp() {
  NCEN_ASSIGN_OR_RETURN(uint64_t cursor, store_.MailCursor());
  size_t added = 0;
  for (;;) {
    uint64_t last = cursor;
    NCEN_ASSIGN_OR_RETURN(std::vector<storage::Entry> entries,
                          store_.MessagesSince(cursor, kCatchUpChangesPerRead, kCatchUpBytesPerRead, &last));
    std::vector<MailItem> found;
    for (const storage::Entry& e : entries) {
      auto sealed = storage::DecodeSealedMessage(e.payload);
      if (!sealed.ok()) continue;  // refused on arrival; never here
      const RecordId& id = e.header.record_id;
      Bytes ad = MessageAssociatedData(e.header.author, id);
      std::vector<crypto::ContentKey> candidates = crypto::OpenKeyCandidates(sealed->keys, me_);
      if (candidates.empty()) continue;  // not addressed here: relayed only
      // An honest sender makes one slot per recipient; a hostile one could
      // give this node thousands of slots, each an AEAD pass over the
      // content. A few are tried.
      if (candidates.size() > kCandidatesTried) candidates.resize(kCandidatesTried);
      // A slot's hint matched (by chance 1 in 2^64 otherwise): addressed
      // here. A candidate that opens the content is the key; when none does
      // (tampered by its sender), the message is listed all the same, and
      // reading it says why.
      std::optional<Bytes> plain;
      crypto::ContentKey chosen = candidates[0];
      for (const crypto::ContentKey& key : candidates) {
        auto opened = crypto::OpenContent(key, sealed->content, ad);
        if (!opened.ok()) continue;
        plain = std::move(*opened);
        chosen = key;
        break;
      }
      {
        const crypto::ContentKey& key = chosen;
        auto content = plain ? storage::DecodeMessageContent(*plain)
                             : Result<MessageContent>(Corruption("does not decrypt"));
        MailItem mail;
        mail.id = id;
        mail.from = e.header.author;
        mail.key = key;
        mail.sent = e.header.author == me_.public_key();
        mail.state = mail.sent ? storage::MailState::kRead : storage::MailState::kUnread;
        // What the content names must be what the envelope carries: else
        // it is listed as broken (and reading it says why), never as what
        // it claims to be (an alert that could not be read or archived).
        if (content.ok()) {
          bool same = content->attachments.size() == sealed->blobs.size();
          for (size_t i = 0; same && i < sealed->blobs.size(); ++i) {
            same = sealed->blobs[i].hash == content->attachments[i].blob &&
                   sealed->blobs[i].size == content->attachments[i].blob_size();
          }
          if (!same) content = Corruption("names attachments its envelope does not carry");
        }
        if (content.ok()) {
          mail.sent_at_ms = content->sent_at_ms;
          mail.priority = static_cast<uint8_t>(content->priority);
          RecordId thread = ParseIdOrZero(content->thread);
          mail.thread = thread == RecordId{} ? id : thread;
        } else {
          // Addressed here, but what it holds breaks the rules: listed, and
          // `msg read` says why.
          mail.sent_at_ms = e.header.timestamp_ms;
          mail.thread = id;
        }
        found.push_back(mail);
      }
    }
    if (last == cursor && found.empty()) break;
    NCEN_RETURN_IF_ERROR(store_.PutMail(found, last));
    added += found.size();
    if (last == cursor) break;
    cursor = last;
  }
  return added;
}

Result<MessageItem> Messages::Open(const MailItem& mail) {
  NCEN_ASSIGN_OR_RETURN(storage::RecordView view, store_.GetRecord(mail.id));
  if (view.state.type != RecordType::kMessage) return NotFound("record " + storage::FormatRecordId(mail.id) + " is not a message");
  // The version its sender wrote (a message has one; a hostile second
  // author's version is not this message).
  const Bytes* payload = nullptr;
  for (size_t i = 0; i < view.state.versions.size(); ++i) {
    if (view.state.versions[i].dot.author == mail.from && view.state.versions[i].live() && i < view.payloads.size()) {
      payload = &view.payloads[i];
    }
  }
  if (!payload || payload->empty()) return NotFound("message " + storage::FormatRecordId(mail.id) + " is not held here");
  NCEN_ASSIGN_OR_RETURN(storage::SealedMessage sealed, storage::DecodeSealedMessage(*payload));
  Bytes ad = MessageAssociatedData(mail.from, mail.id);
  auto plain = crypto::OpenContent(mail.key, sealed.content, ad);
  if (!plain.ok()) {
    std::vector<crypto::ContentKey> candidates = crypto::OpenKeyCandidates(sealed.keys, me_);
    if (candidates.size() > kCandidatesTried) candidates.resize(kCandidatesTried);
    for (const crypto::ContentKey& key : candidates) {
      plain = crypto::OpenContent(key, sealed.content, ad);
      if (plain.ok()) break;
    }
    if (!plain.ok()) {
      return Corruption("message " + storage::FormatRecordId(mail.id) +
                        " is addressed to this node but does not decrypt (tampered or badly sealed)");
    }
  }
  auto content = storage::DecodeMessageContent(*plain);
  if (!content.ok()) {
    return Corruption("message " + storage::FormatRecordId(mail.id) + " opens but is not a valid message: " +
                      content.status().message());
  }
  // The attachments it names are the blobs its envelope carries, in order.
  bool same = content->attachments.size() == sealed.blobs.size();
  for (size_t i = 0; same && i < sealed.blobs.size(); ++i) {
    same = sealed.blobs[i].hash == content->attachments[i].blob &&
           sealed.blobs[i].size == content->attachments[i].blob_size();
  }
  if (!same) {
    return Corruption("message " + storage::FormatRecordId(mail.id) +
                      " names attachments its envelope does not carry");
  }
  NCEN_ASSIGN_OR_RETURN(std::shared_ptr<const storage::Membership> membership, store_.GetMembership());
  return MessageItem{mail, std::move(*content), NameOf(mail.from, membership.get())};
}

std::vector<MessageItem> Messages::OpenAll(const std::vector<MailItem>& mails) {
  std::vector<MessageItem> out;
  for (const MailItem& m : mails) {
    auto item = Open(m);
    if (item.ok()) {
      out.push_back(std::move(*item));
    } else {
      // Listed all the same, so that it can be read (and the error seen).
      MessageItem broken{m, {}, crypto::Fingerprint(m.from)};
      broken.content.subject = "(does not open: " + item.status().message() + ")";
      out.push_back(std::move(broken));
    }
  }
  return out;
}

Result<std::vector<MessageItem>> Messages::Inbox(bool unread_only, size_t limit) {
  NCEN_RETURN_IF_ERROR(CatchUp().status());
  NCEN_ASSIGN_OR_RETURN(std::vector<MailItem> mails, store_.Inbox(unread_only, limit));
  return OpenAll(mails);
}

Result<std::vector<MessageItem>> Messages::Sent(size_t limit) {
  NCEN_RETURN_IF_ERROR(CatchUp().status());
  NCEN_ASSIGN_OR_RETURN(std::vector<MailItem> mails, store_.Sent(limit));
  return OpenAll(mails);
}

Result<MessageItem> Messages::Read(const RecordId& id, bool mark_read) {
  NCEN_RETURN_IF_ERROR(CatchUp().status());
  NCEN_ASSIGN_OR_RETURN(auto mail, store_.GetMail(id));
  if (!mail) {
    auto view = store_.GetRecord(id);
    if (view.ok() && view->state.type == RecordType::kMessage) {
      // Held here, but no slot opens for this node: it only relays it. (A
      // tampered slot meant for this node looks the same: the hint is
      // keyed by the content of the slot's DH secret.)
      return NotFound("message " + storage::FormatRecordId(id) + " is not addressed to this node");
    }
    if (view.ok()) return InvalidArgument("record " + storage::FormatRecordId(id) + " is not a message");
    return NotFound("no message " + storage::FormatRecordId(id) + " here");
  }
  NCEN_ASSIGN_OR_RETURN(MessageItem item, Open(*mail));
  if (mark_read && mail->state == storage::MailState::kUnread) {
    NCEN_RETURN_IF_ERROR(store_.SetMailState(id, storage::MailState::kRead));
    item.mail.state = storage::MailState::kRead;
  }
  return item;
}

Result<std::vector<MessageItem>> Messages::Thread(const RecordId& id) {
  NCEN_RETURN_IF_ERROR(CatchUp().status());
  NCEN_ASSIGN_OR_RETURN(auto mail, store_.GetMail(id));
  if (!mail) return NotFound("no message " + storage::FormatRecordId(id) + " in this node's mailbox");
  NCEN_ASSIGN_OR_RETURN(std::vector<MailItem> mails, store_.Thread(mail->thread));
  std::vector<MessageItem> out;
  for (const MailItem& m : mails) {
    auto item = Open(m);
    if (!item.ok()) continue;
    out.push_back(std::move(*item));
  }
  return out;
}

Result<bool> Messages::AttachmentHeld(const MessageItem& item, size_t index) const {
  if (index >= item.content.attachments.size()) return InvalidArgument("no attachment " + std::to_string(index + 1));
  NCEN_ASSIGN_OR_RETURN(auto info, store_.GetBlobInfo(item.content.attachments[index].blob));
  return info && info->complete;
}

Result<size_t> Messages::DemandAttachments(const MessageItem& item) {
  size_t missing = 0;
  for (const storage::Attachment& a : item.content.attachments) {
    NCEN_ASSIGN_OR_RETURN(auto info, store_.GetBlobInfo(a.blob));
    if (info && info->complete) continue;
    NCEN_RETURN_IF_ERROR(store_.DemandBlob(a.blob, a.blob_size()));
    ++missing;
  }
  return missing;
}

Result<Bytes> Messages::AttachmentFile(const MessageItem& item, size_t index) {
  if (index >= item.content.attachments.size()) {
    return InvalidArgument("message " + storage::FormatRecordId(item.mail.id) + " has " +
                           std::to_string(item.content.attachments.size()) + " attachment(s), not " +
                           std::to_string(index + 1));
  }
  const storage::Attachment& a = item.content.attachments[index];
  NCEN_ASSIGN_OR_RETURN(auto info, store_.GetBlobInfo(a.blob));
  if (!info || !info->complete) {
    NCEN_RETURN_IF_ERROR(store_.DemandBlob(a.blob, a.blob_size()));
    return Unavailable("attachment '" + SanitizeText(a.name, 60) +
                       "' is not here yet: asked for, it comes with the next sync");
  }
  NCEN_ASSIGN_OR_RETURN(Bytes blob, store_.ReadBlob(a.blob));
  auto file = crypto::OpenContent(item.mail.key, blob,
                                  storage::AttachmentAd(item.mail.from, item.mail.id, static_cast<uint32_t>(index)));
  if (!file.ok() || file->size() != a.size) {
    return Corruption("attachment '" + SanitizeText(a.name, 60) + "' of message " +
                      storage::FormatRecordId(item.mail.id) + " does not decrypt");
  }
  return std::move(*file);
}

}  // namespace ncen::node
