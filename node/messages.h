// Messages: the communication component of one node (docs/messages.md) —
// send, the mailbox (inbox, read, thread, sent) and the unread counts —
// shared by every front end (ncenctl now, the HTTP API next).
//
// A message is a record of type `message` whose payload is sealed
// (crypto/seal.h): only its recipients, and its sender, can open it; hubs
// relay ciphertext. Recipients come from the network's directory at the time
// of sending (membership certificates, revoked keys left out); the scope is
// the narrowest one this node may write that every recipient may hold. The
// mailbox (which messages this node can open, and their read state) is
// local and never replicates: CatchUp looks at the messages applied since
// its last look and adds those this node can open.
//
// Errors, each with a one-line message: kInvalidArgument (an unknown
// recipient, an empty subject, a body over 64 KiB, a reply to an unknown
// message, no scope that reaches the recipients), kNotFound (not addressed
// to this node, no such message), kCorruption (a message addressed here that
// does not open: tampered), the store's errors otherwise.
//
// Thread-safety: like the Store it uses (one thread at a time).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "crypto/identity.h"
#include "node/config.h"
#include "node/records.h"
#include "storage/message_format.h"
#include "storage/store.h"

namespace ncen::node {

// Who a message is for. Exactly one of the forms.
struct MessageAddress {
  std::vector<std::string> nodes;  // node ids (64 hex), member names or peer names
  std::string country;             // every office of this country
  std::string region;              // a regional hub (by name) and the national hubs it serves
  bool all = false;                // every member
};

// A file to send with a message.
struct DraftAttachment {
  std::string name;        // shown to the recipients; a plain file name
  std::string media_type;  // e.g. application/pdf
  Bytes data;
};

struct MessageDraft {
  MessageAddress to;
  std::string subject, body;
  storage::MessagePriority priority = storage::MessagePriority::kNormal;
  std::vector<std::string> links;  // record ids
  std::string reply_to;            // a message id in this node's mailbox
  std::vector<DraftAttachment> attachments;  // at most 20, each at most 50 MB
};

struct SentMessage {
  storage::RecordId id{};
  storage::Scope scope = storage::Scope::kNational;
  size_t recipients = 0;
};

// One message as front ends show it.
struct MessageItem {
  storage::MailItem mail;
  storage::MessageContent content;
  std::string from;  // the sender's name where known, else its fingerprint
};

class Messages {
 public:
  // `config` (optional) names peers, for --to by peer name. `actor`: who
  // sends, sealed into each message's content as its sender (sent_by); none
  // when its name is empty.
  Messages(storage::Store& store, const crypto::Identity& me, const NodeConfig* config = nullptr,
           Actor actor = {});

  Result<SentMessage> Send(const MessageDraft& draft);
  // Adds the messages applied since the last look that this node can open
  // (and those it cannot read but that name it: none, by construction).
  // Returns how many were added.
  Result<size_t> CatchUp();
  // Each brings the mailbox up to date first (CatchUp: cheap when nothing
  // arrived), so no front end can list a mailbox that misses what a sync
  // brought. Alerts first, newest first.
  Result<std::vector<MessageItem>> Inbox(bool unread_only, size_t limit);
  Result<std::vector<MessageItem>> Sent(size_t limit);
  // The message, opened; marks it read when it was unread (`mark_read`).
  // kNotFound "not addressed to this node" for a message held here that this
  // node cannot open; kCorruption when it is addressed here but does not open.
  Result<MessageItem> Read(const storage::RecordId& id, bool mark_read = true);
  // The thread `id` belongs to, oldest first.
  Result<std::vector<MessageItem>> Thread(const storage::RecordId& id);
  // Whether attachment `index` of a message opened here is held whole.
  Result<bool> AttachmentHeld(const MessageItem& item, size_t index) const;
  // The file of attachment `index`, decrypted and checked. kUnavailable
  // when its blob is not here yet: it is then asked for (fetched at the
  // next sync whatever the peer's photo policy); kCorruption when it does
  // not decrypt.
  Result<Bytes> AttachmentFile(const MessageItem& item, size_t index);
  // Asks for every attachment not held whole; returns how many.
  Result<size_t> DemandAttachments(const MessageItem& item);

 private:
  Result<std::vector<crypto::PublicKey>> Recipients(const MessageAddress& to, std::string* described);
  Result<std::optional<crypto::PublicKey>> NodeByName(const std::string& name,
                                                      const storage::Membership* membership) const;
  Result<MessageItem> Open(const storage::MailItem& mail);
  // Each opened, or listed with why it does not open.
  std::vector<MessageItem> OpenAll(const std::vector<storage::MailItem>& mails);
  std::string NameOf(const crypto::PublicKey& key, const storage::Membership* membership) const;

  storage::Store& store_;
  const crypto::Identity& me_;
  const NodeConfig* config_;
  Actor actor_;
};

// The associated data of a message's content: binds it to its author and
// record id, so a recipient cannot pass another's message off as its own.
Bytes MessageAssociatedData(const crypto::PublicKey& author, const storage::RecordId& id);

}  // namespace ncen::node
