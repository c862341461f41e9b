// Messages (node/messages.h, docs/messages.md): sealing, the mailbox, read
// state, threads, hostile senders and bad input — between in-process stores
// that pass entries by hand (the system test runs the real binaries).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "node/messages.h"
#include "storage/message_format.h"
#include "storage/record_json.h"
#include "tests/support/store_fixture.h"

namespace ncen::node {
namespace {

using storage::MessagePriority;
using storage::RecordId;

struct Office {
  explicit Office(uint8_t n, const std::string& name)
      : identity(testing::IdentityFromNumber(n)), t(identity, name), messages(*t.store, identity) {}
  crypto::Identity identity;
  testing::TestStore t;
  Messages messages;
  storage::Store& store() { return *t.store; }
  std::string Id() const { return crypto::NodeIdHex(identity.public_key()); }
  uint64_t Entries() { return store().Stats()->entries; }
  // Every byte of the store's data file.
  std::string DataFile() {
    std::ifstream in(t.dir.path() + "/data.mdb", std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
};

// Gives `to` every entry `from` holds (what a sync does).
void Sync(Office& from, Office& to) {
  std::vector<storage::Entry> entries;
  for (const storage::FeedHead& head : from.store().Frontier().value()) {
    for (uint64_t seq = 1; seq <= head.seq; ++seq) entries.push_back(from.store().GetEntry(head.feed, seq).value());
  }
  auto report = to.store().ApplyBatch(entries, "test");
  REQUIRE(report.refused.empty());
}

MessageDraft To(const Office& who, const std::string& subject, const std::string& body = "body") {
  MessageDraft d;
  d.to.nodes = {who.Id()};
  d.subject = subject;
  d.body = body;
  return d;
}

}  // namespace

TEST_CASE("a message opens at its recipient and its sender, and nowhere else", "[messages]") {
  Office post(1, "post"), hub(2, "hub"), other(3, "other");
  const std::string subject = "Truck KAB-123 seen again zq81";
  const std::string body = "Same driver as in October; company ACME Freight wx42.";
  auto sent = post.messages.Send(To(hub, subject, body));
  REQUIRE(sent.ok());
  CHECK(sent->scope == storage::Scope::kNational);
  CHECK(sent->recipients == 1);
  Sync(post, hub);
  Sync(post, other);

  REQUIRE(hub.messages.CatchUp().value() == 1);
  auto inbox = hub.messages.Inbox(false, 50).value();
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0].content.subject == subject);
  CHECK(inbox[0].mail.state == storage::MailState::kUnread);
  auto read = hub.messages.Read(sent->id);
  REQUIRE(read.ok());
  CHECK(read->content.body == body);
  CHECK(read->content.recipients == 1);
  CHECK(read->mail.from == post.identity.public_key());

  // A node that holds it but is not a recipient: one line, kNotFound.
  CHECK(other.messages.CatchUp().value() == 0);
  auto refused = other.messages.Read(sent->id);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == StatusCode::kNotFound);
  CHECK(refused.status().message().find("not addressed to this node") != std::string::npos);

  // The sender reads what it sent.
  auto mine = post.messages.Sent(10).value();
  REQUIRE(mine.size() == 1);
  CHECK(mine[0].content.subject == subject);

  // No store holds the text: the log keeps ciphertext, the mailbox a key.
  for (Office* o : {&post, &hub, &other}) {
    std::string file = o->DataFile();
    CHECK(file.find("zq81") == std::string::npos);
    CHECK(file.find("wx42") == std::string::npos);
  }
}

TEST_CASE("the inbox lists alerts first, then the newest; unread counts follow reading", "[messages]") {
  Office post(1, "post"), hub(2, "hub");
  // Sent a few milliseconds apart: the sender's clock orders them.
  auto pause = [] { std::this_thread::sleep_for(std::chrono::milliseconds(3)); };
  auto first = post.messages.Send(To(hub, "first"));
  pause();
  MessageDraft alert = To(hub, "alert");
  alert.priority = MessagePriority::kAlert;
  auto alerted = post.messages.Send(alert);
  pause();
  auto last = post.messages.Send(To(hub, "last"));
  REQUIRE((first.ok() && alerted.ok() && last.ok()));
  Sync(post, hub);
  REQUIRE(hub.messages.CatchUp().value() == 3);
  auto inbox = hub.messages.Inbox(false, 50).value();
  REQUIRE(inbox.size() == 3);
  CHECK(inbox[0].content.subject == "alert");
  CHECK(inbox[1].content.subject == "last");
  CHECK(inbox[2].content.subject == "first");
  auto counts = hub.store().CountMail().value();
  CHECK(counts.unread == 3);
  CHECK(counts.unread_alerts == 1);
  REQUIRE(hub.messages.Read(alerted->id).ok());
  counts = hub.store().CountMail().value();
  CHECK(counts.unread == 2);
  CHECK(counts.unread_alerts == 0);
  auto unread = hub.messages.Inbox(true, 50).value();
  REQUIRE(unread.size() == 2);
  CHECK(unread[0].content.subject == "last");
  // Archived: out of the inbox, still readable.
  REQUIRE(hub.store().SetMailState(first->id, storage::MailState::kArchived).ok());
  CHECK(hub.messages.Inbox(false, 50).value().size() == 2);
  CHECK(hub.messages.Read(first->id).ok());
}

TEST_CASE("read state is local: reading writes no entry, and it survives reopening the store", "[messages]") {
  Office post(1, "post"), hub(2, "hub");
  auto sent = post.messages.Send(To(hub, "hello"));
  REQUIRE(sent.ok());
  Sync(post, hub);
  uint64_t entries = hub.Entries();
  REQUIRE(hub.messages.Read(sent->id).ok());
  CHECK(hub.Entries() == entries);  // nothing to replicate
  Sync(hub, post);
  CHECK(post.store().CountMail()->unread == 0);  // the sender never hears of it
  std::string dir = hub.t.dir.path();
  hub.t.store.reset();
  auto reopened = storage::Store::Open(dir);
  REQUIRE(reopened.ok());
  auto counts = (*reopened)->CountMail().value();
  CHECK(counts.unread == 0);
  CHECK(counts.received == 1);
  auto mail = (*reopened)->GetMail(sent->id).value();
  REQUIRE(mail);
  CHECK(mail->state == storage::MailState::kRead);
}

TEST_CASE("a thread lists its messages oldest first, across both offices", "[messages]") {
  Office post(1, "post"), hub(2, "hub");
  auto pause = [] { std::this_thread::sleep_for(std::chrono::milliseconds(3)); };
  auto ask = post.messages.Send(To(hub, "question"));
  pause();
  REQUIRE(ask.ok());
  Sync(post, hub);
  MessageDraft reply = To(post, "answer");
  reply.reply_to = storage::FormatRecordId(ask->id);
  auto answered = hub.messages.Send(reply);
  REQUIRE(answered.ok());
  pause();
  Sync(hub, post);
  MessageDraft again = To(hub, "thanks");
  again.reply_to = storage::FormatRecordId(answered->id);
  auto thanked = post.messages.Send(again);
  REQUIRE(thanked.ok());
  Sync(post, hub);
  for (Office* o : {&post, &hub}) {
    auto thread = o->messages.Thread(thanked->id).value();
    REQUIRE(thread.size() == 3);
    CHECK(thread[0].content.subject == "question");
    CHECK(thread[1].content.subject == "answer");
    CHECK(thread[2].content.subject == "thanks");
    CHECK(thread[2].content.reply_to == storage::FormatRecordId(answered->id));
  }
}

TEST_CASE("a tampered ciphertext is refused when read, and replication goes on", "[messages]") {
  Office mallory(1, "mallory"), hub(2, "hub");
  auto good = mallory.messages.Send(To(hub, "good"));
  REQUIRE(good.ok());
  // Mallory signs a message whose content does not open: a valid entry.
  auto view = mallory.store().GetRecord(good->id).value();
  auto sealed = storage::DecodeSealedMessage(view.payloads[0]).value();
  sealed.content[sealed.content.size() / 2] ^= 0x40;
  storage::LocalChange bad{storage::NewRecordId(mallory.store().NowMs()), storage::RecordType::kMessage,
                           storage::Op::kPut, storage::EncodeSealedMessage(sealed)};
  REQUIRE(mallory.store().AppendLocal(mallory.identity, {&bad, 1}).ok());
  auto later = mallory.messages.Send(To(hub, "later"));
  REQUIRE(later.ok());
  Sync(mallory, hub);  // every entry taken
  REQUIRE(hub.messages.CatchUp().value() == 3);
  auto refused = hub.messages.Read(bad.id);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == StatusCode::kCorruption);
  CHECK(refused.status().message().find("does not decrypt") != std::string::npos);
  CHECK(hub.messages.Read(good->id).ok());
  CHECK(hub.messages.Read(later->id).ok());
  // Listed, saying why, so an officer sees that something came.
  bool listed = false;
  for (const auto& m : hub.messages.Inbox(false, 50).value()) {
    listed = listed || m.content.subject.find("does not open") != std::string::npos;
  }
  CHECK(listed);
}

// Gives `to` the blob `hash` that `from` holds (what a blob fetch does).
void CopyBlob(Office& from, Office& to, const crypto::Hash256& hash) {
  REQUIRE(to.store().PutBlob(from.store().ReadBlob(hash).value()).ok());
}

// A message written by hand the way Messages::Send writes one, with the
// given attachments and envelope blobs: what a hostile sender can sign.
RecordId WriteByHand(Office& author, const Office& to, std::vector<storage::Attachment> attachments,
                     std::vector<storage::AttachedBlob> blobs) {
  storage::MessageContent c;
  c.subject = "by hand";
  c.priority = MessagePriority::kAlert;
  c.to = "node";
  c.recipients = 1;
  c.sent_at_ms = author.store().NowMs();
  c.attachments = std::move(attachments);
  RecordId id = storage::NewRecordId(c.sent_at_ms);
  crypto::ContentKey key = crypto::NewContentKey();
  crypto::PublicKey sealed_to[2] = {to.identity.public_key(), author.identity.public_key()};
  storage::SealedMessage sealed;
  sealed.keys = crypto::SealKey(key, sealed_to).value();
  sealed.content = crypto::SealContent(key, storage::EncodeMessageContent(c),
                                       MessageAssociatedData(author.identity.public_key(), id));
  sealed.blobs = std::move(blobs);
  storage::LocalChange change{id, storage::RecordType::kMessage, storage::Op::kPut, storage::EncodeSealedMessage(sealed)};
  REQUIRE(author.store().AppendLocal(author.identity, {&change, 1}).ok());
  return id;
}

TEST_CASE("attachments travel as ciphertext blobs with their message and open at the recipient", "[messages]") {
  Office post(1, "post"), hub(2, "hub"), relay(3, "relay");
  const std::string secret = "Bill of lading 4471, consignee ACME qv93";
  MessageDraft d = To(hub, "papers", "see the attachments");
  d.attachments = {{"lading.txt", "text/plain", Bytes(secret.begin(), secret.end())},
                   {"scan.bin", "application/octet-stream", testing::PseudoRandomBytes(300000, 9)}};
  auto sent = post.messages.Send(d);
  REQUIRE(sent.ok());
  Sync(post, hub);
  Sync(post, relay);
  auto item = hub.messages.Read(sent->id).value();
  REQUIRE(item.content.attachments.size() == 2);
  CHECK(item.content.attachments[0].name == "lading.txt");
  CHECK(item.content.attachments[1].size == 300000);
  // The record tells every holder which blobs go with it (to fetch and to
  // serve in its scope), not what they are.
  const crypto::Hash256 blob0 = item.content.attachments[0].blob, blob1 = item.content.attachments[1].blob;
  REQUIRE(relay.store().CatchUpIndexAll().ok());  // as a session does before it looks for blobs
  CHECK(relay.store().BlobUses(blob0).value().size() == 1);
  CHECK(relay.store().WantedBlobs(10).value().size() == 2);
  // Not here yet: asked for, and said so; every missing one at once.
  CHECK_FALSE(hub.messages.AttachmentHeld(item, 0).value());
  CHECK(hub.messages.DemandAttachments(item).value() == 2);
  CHECK(hub.store().GetBlobInfo(blob1).value()->demanded);
  auto missing = hub.messages.AttachmentFile(item, 0);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == StatusCode::kUnavailable);
  CHECK(hub.store().GetBlobInfo(blob0).value()->demanded);
  for (Office* o : {&hub, &relay}) {
    CopyBlob(post, *o, blob0);
    CopyBlob(post, *o, blob1);
  }
  CHECK(hub.messages.AttachmentHeld(item, 0).value());
  CHECK(hub.messages.AttachmentFile(item, 0).value() == Bytes(secret.begin(), secret.end()));
  CHECK(hub.messages.AttachmentFile(item, 1).value() == testing::PseudoRandomBytes(300000, 9));
  CHECK(post.messages.AttachmentFile(post.messages.Read(sent->id).value(), 0).ok());  // the sender's copy
  // The relay holds the blobs, encrypted: not one byte of the text.
  CHECK(relay.DataFile().find("qv93") == std::string::npos);
  CHECK(hub.DataFile().find("qv93") == std::string::npos);
}

TEST_CASE("a hostile sender's attachments are refused when read, with the message still readable", "[messages]") {
  Office mallory(1, "mallory"), hub(2, "hub");
  // An attachment whose blob is not encrypted with the message's key.
  Bytes junk = testing::PseudoRandomBytes(100, 4);
  auto junk_blob = mallory.store().PutBlob(junk).value();
  storage::Attachment a{"junk.bin", "application/octet-stream", 60, junk_blob.hash};
  RecordId bad_blob = WriteByHand(mallory, hub, {a}, {{junk_blob.hash, 100}});
  // Content naming an attachment the envelope does not carry.
  RecordId unlisted = WriteByHand(mallory, hub, {a}, {});
  Sync(mallory, hub);
  CopyBlob(mallory, hub, junk_blob.hash);
  auto item = hub.messages.Read(bad_blob);
  REQUIRE(item.ok());  // the message itself opens
  auto file = hub.messages.AttachmentFile(*item, 0);
  REQUIRE_FALSE(file.ok());
  CHECK(file.status().code() == StatusCode::kCorruption);
  CHECK(file.status().message().find("does not decrypt") != std::string::npos);
  auto refused = hub.messages.Read(unlisted);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == StatusCode::kCorruption);
  CHECK(refused.status().message().find("envelope does not carry") != std::string::npos);
  // Listed as broken, not as the alert it claims to be, and it can be
  // archived: no unread alert that can never go away.
  auto listed = hub.store().GetMail(unlisted).value();
  REQUIRE(listed);
  CHECK(listed->priority == static_cast<uint8_t>(MessagePriority::kNormal));
  CHECK(hub.store().CountMail()->unread_alerts == 0);  // the other alert was read above
  REQUIRE(hub.store().SetMailState(unlisted, storage::MailState::kArchived).ok());
  for (const auto& m : hub.messages.Inbox(false, 50).value()) CHECK(m.mail.id != unlisted);
}

TEST_CASE("a message is written once: no node edits or deletes it, its author neither", "[messages][hostile]") {
  Office post(1, "post"), hub(2, "hub");
  auto mallory = testing::IdentityFromNumber(66);
  auto sent = post.messages.Send(To(hub, "original"));
  REQUIRE(sent.ok());
  Sync(post, hub);
  // Locally: no edit, no delete.
  storage::LocalChange edit{sent->id, storage::RecordType::kMessage, storage::Op::kPut,
                            post.store().GetRecord(sent->id).value().payloads[0]};
  auto again = post.store().AppendLocal(post.identity, {&edit, 1});
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().message().find("written once") != std::string::npos);
  storage::LocalChange del{sent->id, storage::RecordType::kMessage, storage::Op::kDelete, {}};
  CHECK_FALSE(post.store().AppendLocal(post.identity, {&del, 1}).ok());
  // From a peer: Mallory signs a delete naming the message's version.
  storage::EntryHeader h;
  h.author = mallory.public_key();
  h.scope = storage::Scope::kNational;
  h.seq = 1;
  h.timestamp_ms = storage::UnixMillisNow();
  h.record_id = sent->id;
  h.record_type = storage::RecordType::kMessage;
  h.op = storage::Op::kDelete;
  h.context.dots.push_back({post.identity.public_key(), 1});
  storage::Entry forged = storage::MakeEntry(h, {}, mallory);
  auto report = hub.store().ApplyBatch(std::vector<storage::Entry>{forged});
  CHECK(report.refused.size() == 1);
  CHECK(hub.messages.Read(sent->id).value().content.subject == "original");
}

TEST_CASE("catching up reads message payloads in bounded slices", "[messages]") {
  Office post(1, "post"), hub(2, "hub");
  for (int i = 0; i < 5; ++i) REQUIRE(post.messages.Send(To(hub, "m" + std::to_string(i))).ok());
  post.store().CatchUpIndexAll().ok();
  Sync(post, hub);
  uint64_t cursor = 0, last = 0;
  size_t slices = 0, seen = 0;
  for (;; ++slices) {
    auto entries = hub.store().MessagesSince(cursor, 4096, 1, &last).value();  // one byte: one entry each
    CHECK(entries.size() <= 1);
    seen += entries.size();
    if (last == cursor) break;
    cursor = last;
  }
  CHECK(seen == 5);
  CHECK(slices >= 5);
}

TEST_CASE("bad input is refused in one line and writes nothing", "[messages]") {
  Office post(1, "post"), hub(2, "hub");
  uint64_t entries = post.Entries();
  auto refused = [&](MessageDraft d, const std::string& says) {
    auto r = post.messages.Send(d);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
    CHECK(r.status().message().find(says) != std::string::npos);
    CHECK(r.status().message().find('\n') == std::string::npos);
    CHECK(post.Entries() == entries);
  };
  MessageDraft d = To(hub, "s");
  d.to.nodes = {"nobody"};
  refused(d, "unknown recipient 'nobody'");
  refused(To(hub, ""), "subject is empty");
  refused(To(hub, std::string(201, 's')), "subject is over 200 bytes");
  refused(To(hub, "s", std::string(64 * 1024 + 1, 'b')), "at most 65536");
  refused(To(hub, "two\nlines"), "one line");
  d = To(hub, "s");
  d.reply_to = storage::FormatRecordId(storage::NewRecordId(1));
  refused(d, "no such message");
  d = To(hub, "s");
  d.to.all = true;
  refused(d, "exactly one of");
  d = To(hub, "s");
  d.to.nodes.clear();
  d.to.country = "PK";
  refused(d, "need a network");
  d = To(hub, "s");
  d.links = {"not-an-id"};
  refused(d, "is not a record id");
  d = To(post, "s");
  refused(d, "is this node");
  d = To(hub, "s");
  d.attachments = {{"a/b.txt", "text/plain", Bytes{1}}};
  refused(d, "plain file name");
  d.attachments = {{"empty.txt", "text/plain", {}}};
  refused(d, "1..50000000 allowed");
  d.attachments.assign(21, {"x.txt", "text/plain", Bytes{1}});
  refused(d, "more than 20 attachments");
  d.attachments = {{"same.pdf", "application/pdf", Bytes{1}}, {"same.pdf", "application/pdf", Bytes{2}}};
  refused(d, "two attachments are named 'same.pdf'");
  d = To(hub, "s", "a line\roverwritten");
  refused(d, "UTF-8 text");
  d = To(hub, std::string("nul\0hidden", 10));
  refused(d, "one line");
  // A message is never edited or deleted through the record commands.
  auto sent = post.messages.Send(To(hub, "fine"));
  REQUIRE(sent.ok());
  CHECK_FALSE(storage::RecordFromJson(storage::RecordType::kMessage, {{"subject", "x"}}).ok());
}

TEST_CASE("a message payload from a peer is checked before it is stored", "[messages]") {
  Office post(1, "post");
  auto sent = post.messages.Send(To(Office(2, "hub"), "x"));
  REQUIRE(sent.ok());
  Bytes payload = post.store().GetRecord(sent->id).value().payloads[0];
  CHECK(storage::ValidateRecordPayload(storage::RecordType::kMessage, payload).ok());
  auto sealed = storage::DecodeSealedMessage(payload).value();
  auto bad = [&](storage::SealedMessage s) {
    return storage::ValidateRecordPayload(storage::RecordType::kMessage, storage::EncodeSealedMessage(s));
  };
  {
    auto s = sealed;
    s.content.resize(39);  // shorter than a nonce and a tag
    CHECK(bad(s).code() == StatusCode::kCorruption);
  }
  CHECK(storage::ValidateRecordPayload(storage::RecordType::kMessage, Bytes(64, 0)).code() ==
        StatusCode::kCorruption);
  // Another struct's bytes are not a sealed message.
  storage::MessageContent plain;
  plain.subject = "in clear";
  plain.recipients = 1;
  CHECK(storage::ValidateRecordPayload(storage::RecordType::kMessage, storage::EncodeMessageContent(plain)).code() ==
        StatusCode::kCorruption);
  // A decrypted content that breaks the rules is refused by its reader.
  storage::MessageContent c;
  c.subject = "ok";
  c.recipients = 1;
  CHECK(storage::DecodeMessageContent(storage::EncodeMessageContent(c)).ok());
  CHECK_FALSE(storage::DecodeMessageContent(Bytes(16, 0)).ok());
}

}  // namespace ncen::node

namespace ncen::node {

TEST_CASE("the sending officer is sealed into the message: its recipient reads it, a relay cannot", "[messages]") {
  Office post(1, "post"), hub(2, "hub"), relay(3, "relay");
  Messages as_officer(post.store(), post.identity, nullptr, Actor{"Officer Zarqa Ghulamova", "api", "10.0.0.7"});
  auto sent = as_officer.Send(To(hub, "Truck KAB-123"));
  REQUIRE(sent.ok());
  Sync(post, hub);
  Sync(post, relay);
  REQUIRE(hub.messages.CatchUp().value() == 1);
  auto read = hub.messages.Read(sent->id).value();
  CHECK(read.content.sent_by == "Officer Zarqa Ghulamova");
  CHECK(read.content.sent_via == "api");
  CHECK(relay.DataFile().find("Zarqa") == std::string::npos);
  // Sent without an actor: none recorded.
  auto plain = post.messages.Send(To(hub, "No officer")).value();
  Sync(post, hub);
  REQUIRE(hub.messages.CatchUp().value() == 1);
  CHECK(hub.messages.Read(plain.id)->content.sent_by.empty());
  // A name the content rules refuse fails the send, in one line.
  Messages long_name(post.store(), post.identity, nullptr, Actor{std::string(101, 'a'), "api", ""});
  auto refused = long_name.Send(To(hub, "x"));
  CHECK(refused.status().code() == StatusCode::kInvalidArgument);
  CHECK(refused.status().message().find("sender's name") != std::string::npos);
}

TEST_CASE("a decoded message content with a malformed sender is refused", "[messages]") {
  storage::MessageContent c;
  c.subject = "s";
  c.recipients = 1;
  c.sent_by = "Officer A";
  c.sent_via = "cli";
  auto round = storage::DecodeMessageContent(storage::EncodeMessageContent(c)).value();
  CHECK(round.sent_by == "Officer A");
  CHECK(round.sent_via == "cli");
  for (auto [name, via] : {std::pair<std::string, std::string>{"", "api"}, {"A\nB", ""}, {"A", "API"},
                           {std::string(101, 'x'), ""}}) {
    storage::MessageContent bad = c;
    bad.sent_by = name;
    bad.sent_via = via;
    CHECK(storage::CheckMessageContent(bad).code() == StatusCode::kInvalidArgument);
  }
}

}  // namespace ncen::node
