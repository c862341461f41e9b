// The mailbox (docs/messages.md §5): local lists of the messages this node
// can open. Layouts:
//
//   mail:        id[16] → version u8 (1) | thread[16] | from[32] | sent_at i64 BE
//                | priority u8 | sent u8 | state u8 | content key[32]
//   mail_index:  'i' | rank u8 | ~sent_at u64 BE | id[16] → ""   received, not archived
//                'u' | rank u8 | ~sent_at u64 BE | id[16] → ""   received and unread
//                's' | ~sent_at u64 BE | id[16] → ""             written here
//                't' | thread[16] | sent_at u64 BE | id[16] → "" the thread's messages
//   meta:        mail/cursor, mail/unread, mail/unread_alerts, mail/received, mail/sent (u64 BE)
//
// rank is 0 for an alert and 1 otherwise (alerts on top); ~ is bitwise not
// (newest first). Times before 1970 count as 0.
#include <cstring>

#include "storage/formats.h"
#include "storage/lmdb.h"
#include "storage/record_state.h"
#include "storage/store.h"
#include "storage/store_internal.h"

namespace ncen::storage {

namespace {

constexpr uint8_t kMailVersion = 1;
constexpr size_t kMailValueBytes = 1 + 16 + 32 + 8 + 1 + 1 + 1 + 32;
constexpr uint8_t kAlertPriority = 2;

uint64_t Time(int64_t ms) { return ms < 0 ? 0 : static_cast<uint64_t>(ms); }
uint8_t Rank(const MailItem& m) { return m.priority == kAlertPriority ? 0 : 1; }

Bytes EncodeMail(const MailItem& m) {
  Bytes v;
  v.reserve(kMailValueBytes);
  v.push_back(kMailVersion);
  Append(v, m.thread);
  Append(v, m.from);
  AppendU64BE(v, static_cast<uint64_t>(m.sent_at_ms));
  v.push_back(m.priority);
  v.push_back(m.sent ? 1 : 0);
  v.push_back(static_cast<uint8_t>(m.state));
  Append(v, m.key);
  return v;
}

Result<MailItem> DecodeMail(const RecordId& id, ByteView v) {
  if (v.size() != kMailValueBytes || v[0] != kMailVersion) return Corruption("mail row does not decode");
  MailItem m;
  m.id = id;
  size_t at = 1;
  std::memcpy(m.thread.data(), v.data() + at, 16);
  at += 16;
  std::memcpy(m.from.data(), v.data() + at, 32);
  at += 32;
  m.sent_at_ms = static_cast<int64_t>(GetU64BE(v.data() + at));
  at += 8;
  m.priority = v[at++];
  m.sent = v[at++] != 0;
  uint8_t state = v[at++];
  if (state > static_cast<uint8_t>(MailState::kArchived) || m.priority > kAlertPriority) {
    return Corruption("mail row does not decode");
  }
  m.state = static_cast<MailState>(state);
  std::memcpy(m.key.data(), v.data() + at, 32);
  return m;
}

Bytes ListKey(uint8_t kind, const MailItem& m) {
  Bytes k{kind};
  if (kind != 's') k.push_back(Rank(m));
  AppendU64BE(k, ~Time(m.sent_at_ms));
  Append(k, m.id);
  return k;
}

Bytes ThreadKey(const MailItem& m) {
  Bytes k{'t'};
  Append(k, m.thread);
  AppendU64BE(k, Time(m.sent_at_ms));
  Append(k, m.id);
  return k;
}

Result<uint64_t> Counter(const lmdb::Txn& txn, MDB_dbi meta, const std::string& name) {
  NCEN_ASSIGN_OR_RETURN(auto v, txn.Get(meta, AsBytes("mail/" + name)));
  if (!v) return uint64_t{0};
  if (v->size() != 8) return Corruption("meta mail/" + name + " is not 8 bytes");
  return GetU64BE(v->data());
}

Status SetCounter(lmdb::Txn& txn, MDB_dbi meta, const std::string& name, uint64_t value) {
  Bytes v;
  AppendU64BE(v, value);
  return txn.Put(meta, AsBytes("mail/" + name), v);
}

Status AddCounter(lmdb::Txn& txn, MDB_dbi meta, const std::string& name, int64_t delta) {
  NCEN_ASSIGN_OR_RETURN(uint64_t value, Counter(txn, meta, name));
  if (delta < 0 && value < static_cast<uint64_t>(-delta)) return Corruption("meta mail/" + name + " below zero");
  return SetCounter(txn, meta, name, value + static_cast<uint64_t>(delta));
}

// The unread counters follow one received message's state.
Status CountUnread(lmdb::Txn& txn, MDB_dbi meta, const MailItem& m, int64_t delta) {
  if (m.sent || m.state != MailState::kUnread) return Status::Ok();
  NCEN_RETURN_IF_ERROR(AddCounter(txn, meta, "unread", delta));
  if (m.priority == kAlertPriority) NCEN_RETURN_IF_ERROR(AddCounter(txn, meta, "unread_alerts", delta));
  return Status::Ok();
}

// Every list entry of a message in its state.
Status IndexMail(lmdb::Txn& txn, MDB_dbi index, const MailItem& m, bool add) {
  std::vector<Bytes> keys = {ThreadKey(m)};
  if (m.sent) {
    keys.push_back(ListKey('s', m));
  } else {
    if (m.state != MailState::kArchived) keys.push_back(ListKey('i', m));
    if (m.state == MailState::kUnread) keys.push_back(ListKey('u', m));
  }
  for (const Bytes& k : keys) NCEN_RETURN_IF_ERROR(add ? txn.Put(index, k, {}) : txn.Del(index, k));
  return Status::Ok();
}

}  // namespace

Status Store::PutMail(std::span<const MailItem> items, std::optional<uint64_t> cursor) {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, true));
  for (const MailItem& m : items) {
    NCEN_ASSIGN_OR_RETURN(auto held, txn.Get(dbs_->mail, m.id));
    if (held) continue;  // known: its local state stays
    NCEN_RETURN_IF_ERROR(txn.Put(dbs_->mail, m.id, EncodeMail(m)));
    NCEN_RETURN_IF_ERROR(IndexMail(txn, dbs_->mail_index, m, true));
    NCEN_RETURN_IF_ERROR(AddCounter(txn, dbs_->meta, m.sent ? "sent" : "received", 1));
    NCEN_RETURN_IF_ERROR(CountUnread(txn, dbs_->meta, m, 1));
  }
  if (cursor) NCEN_RETURN_IF_ERROR(SetCounter(txn, dbs_->meta, "cursor", *cursor));
  return txn.Commit();
}

Result<std::optional<MailItem>> Store::GetMail(const RecordId& id) const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  NCEN_ASSIGN_OR_RETURN(auto v, txn.Get(dbs_->mail, id));
  if (!v) return std::optional<MailItem>();
  NCEN_ASSIGN_OR_RETURN(MailItem m, DecodeMail(id, *v));
  return std::optional<MailItem>(m);
}

namespace {

// The messages of one list (keys starting with `prefix`), in key order.
Result<std::vector<MailItem>> ListMail(const lmdb::Txn& txn, MDB_dbi index, MDB_dbi mail, const Bytes& prefix,
                                       size_t limit) {
  std::vector<MailItem> out;
  NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, index));
  for (c.Seek(prefix); c.Valid() && out.size() < limit; c.Next()) {
    ByteView k = c.key();
    if (k.size() < prefix.size() || std::memcmp(k.data(), prefix.data(), prefix.size()) != 0) break;
    if (k.size() < 16) return Corruption("mail index key does not decode");
    RecordId id;
    std::memcpy(id.data(), k.data() + k.size() - 16, 16);
    NCEN_ASSIGN_OR_RETURN(auto v, txn.Get(mail, id));
    if (!v) return Corruption("mail index names a message the mailbox lacks");
    NCEN_ASSIGN_OR_RETURN(MailItem m, DecodeMail(id, *v));
    out.push_back(m);
  }
  NCEN_RETURN_IF_ERROR(c.status());
  return out;
}

}  // namespace

Result<std::vector<MailItem>> Store::Inbox(bool unread_only, size_t limit) const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  return ListMail(txn, dbs_->mail_index, dbs_->mail, Bytes{static_cast<uint8_t>(unread_only ? 'u' : 'i')}, limit);
}

Result<std::vector<MailItem>> Store::Sent(size_t limit) const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  return ListMail(txn, dbs_->mail_index, dbs_->mail, Bytes{'s'}, limit);
}

Result<std::vector<MailItem>> Store::Thread(const RecordId& thread) const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  Bytes prefix{'t'};
  Append(prefix, thread);
  return ListMail(txn, dbs_->mail_index, dbs_->mail, prefix, SIZE_MAX);
}

Status Store::SetMailState(const RecordId& id, MailState state) {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, true));
  NCEN_ASSIGN_OR_RETURN(auto v, txn.Get(dbs_->mail, id));
  if (!v) return NotFound("message " + FormatRecordId(id) + " is not in this node's mailbox");
  NCEN_ASSIGN_OR_RETURN(MailItem m, DecodeMail(id, *v));
  if (m.state == state) return Status::Ok();
  NCEN_RETURN_IF_ERROR(IndexMail(txn, dbs_->mail_index, m, false));
  NCEN_RETURN_IF_ERROR(CountUnread(txn, dbs_->meta, m, -1));
  m.state = state;
  NCEN_RETURN_IF_ERROR(IndexMail(txn, dbs_->mail_index, m, true));
  NCEN_RETURN_IF_ERROR(CountUnread(txn, dbs_->meta, m, 1));
  NCEN_RETURN_IF_ERROR(txn.Put(dbs_->mail, id, EncodeMail(m)));
  return txn.Commit();
}

Result<MailCounts> Store::CountMail() const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  MailCounts c;
  NCEN_ASSIGN_OR_RETURN(c.unread, Counter(txn, dbs_->meta, "unread"));
  NCEN_ASSIGN_OR_RETURN(c.unread_alerts, Counter(txn, dbs_->meta, "unread_alerts"));
  NCEN_ASSIGN_OR_RETURN(c.received, Counter(txn, dbs_->meta, "received"));
  NCEN_ASSIGN_OR_RETURN(c.sent, Counter(txn, dbs_->meta, "sent"));
  return c;
}

Result<uint64_t> Store::MailCursor() const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  return Counter(txn, dbs_->meta, "cursor");
}

Result<std::vector<Entry>> Store::MessagesSince(uint64_t after, size_t limit, size_t max_bytes,
                                                uint64_t* last) const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, dbs_->changes));
  std::vector<Entry> out;
  *last = after;
  size_t looked = 0, bytes = 0;
  for (c.Seek(format::U64Key(after + 1)); c.Valid() && looked < limit; c.Next(), ++looked) {
    auto change = format::ParseChangeValue(c.value());
    if (c.key().size() != format::kU64Bytes || !change) return Corruption("changes record does not decode");
    // Only messages' entries are read whole: the record's state says its
    // type without decoding the entry.
    NCEN_ASSIGN_OR_RETURN(auto state_bytes, txn.Get(dbs_->records, change->record));
    if (state_bytes) {
      NCEN_ASSIGN_OR_RETURN(RecordState state, DecodeRecordState(*state_bytes));
      bool message = state.quarantined() ? (state.clash_classes & (ClassBit(RecordType::kMessage, Scope::kNational) |
                                                                    ClassBit(RecordType::kMessage, Scope::kRegional) |
                                                                    ClassBit(RecordType::kMessage, Scope::kGlobal))) != 0
                                         : state.type == RecordType::kMessage;
      if (!message) {
        *last = GetU64BE(c.key().data());
        continue;
      }
    }
    NCEN_ASSIGN_OR_RETURN(auto value, txn.Get(dbs_->log, format::LogKey(change->feed_index, change->seq)));
    if (!value) return Corruption("changes names an entry the log lacks");
    if (!out.empty() && bytes + value->size() > max_bytes) break;  // the next call takes it
    *last = GetU64BE(c.key().data());
    NCEN_ASSIGN_OR_RETURN(Entry e, format::DecodeStoredEntry(*value));
    if (e.header.record_type != RecordType::kMessage || e.header.op != Op::kPut || !e.has_payload) continue;
    bytes += value->size();
    out.push_back(std::move(e));
  }
  NCEN_RETURN_IF_ERROR(c.status());
  return out;
}

}  // namespace ncen::storage
