// Store: reads, digests and verification. Every method is one read
// transaction and returns copies.
#include <algorithm>
#include <map>
#include <set>

#include "storage/facts.h"
#include "storage/record_json.h"
#include "storage/store.h"
#include "storage/membership.h"
#include "storage/store_internal.h"
#include "storage/text_fold.h"

namespace ncen::storage {

namespace {

Result<RecordState> LoadState(const lmdb::Txn& txn, MDB_dbi records, const RecordId& id) {
  NCEN_ASSIGN_OR_RETURN(auto v, txn.Get(records, id));
  if (!v) return NotFound("no record " + FormatRecordId(id));
  return DecodeRecordState(*v);
}

// The payload of a version from the log; empty when a delete or withheld.
Result<Bytes> LoadPayload(const lmdb::Txn& txn, MDB_dbi log, const Version& v) {
  NCEN_ASSIGN_OR_RETURN(auto stored, txn.Get(log, format::LogKey(v.feed_index, v.dot.seq)));
  if (!stored) return Corruption("record version " + std::to_string(v.dot.seq) + " is missing from the log");
  auto value = format::ParseLogValue(*stored);
  if (!value) return Corruption("log value does not decode");
  return Bytes(value->payload.begin(), value->payload.end());
}

Result<ListItem> MakeItem(const lmdb::Txn& txn, MDB_dbi log, const RecordId& id,
                          const RecordState& state) {
  ListItem item;
  item.id = id;
  item.type = state.type;
  item.versions = state.versions.size();
  item.deleted = !state.live();
  item.quarantined = state.quarantined();
  if (item.quarantined) {
    item.summary = "(quarantined: entries of more than one type or scope)";
  } else if (!item.deleted) {
    NCEN_ASSIGN_OR_RETURN(Bytes payload, LoadPayload(txn, log, state.Winner()));
    item.summary = payload.empty() ? "(payload withheld)" : SummarizeRecord(state.type, payload);
  } else {
    item.summary = "(deleted)";
  }
  return item;
}

bool StartsWith(ByteView bytes, ByteView prefix) {
  return bytes.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), bytes.begin());
}

std::string CompactDate(const std::string& date) {
  return date.size() == 10 ? date.substr(0, 4) + date.substr(5, 2) + date.substr(8, 2) : "";
}

}  // namespace

Result<RecordView> Store::GetRecord(const RecordId& id) const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  RecordView view;
  view.id = id;
  NCEN_ASSIGN_OR_RETURN(view.state, LoadState(txn, dbs_->records, id));
  for (const Version& v : view.state.versions) {
    NCEN_ASSIGN_OR_RETURN(Bytes p, LoadPayload(txn, dbs_->log, v));
    view.payloads.push_back(std::move(p));
  }
  return view;
}

Result<Entry> Store::GetEntry(const FeedId& feed, uint64_t seq) const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  NCEN_ASSIGN_OR_RETURN(auto fv, txn.Get(dbs_->feeds, format::FeedKey(feed)));
  if (!fv) return NotFound("no such feed");
  auto rec = format::ParseFeedValue(*fv);
  if (!rec) return Corruption("feeds record does not decode");
  NCEN_ASSIGN_OR_RETURN(auto value, txn.Get(dbs_->log, format::LogKey(rec->index, seq)));
  if (!value) return NotFound("no entry at seq " + std::to_string(seq));
  return format::DecodeStoredEntry(*value);
}

Result<std::vector<FeedHead>> Store::Frontier() const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, dbs_->feeds));
  std::vector<FeedHead> out;
  for (c.First(); c.Valid(); c.Next()) {
    auto rec = format::ParseFeedValue(c.value());
    auto feed = format::ParseFeedKey(c.key());
    if (!rec || !feed) return Corruption("feeds record does not decode");
    FeedHead head;
    head.feed = *feed;
    head.seq = rec->seq;
    head.head = rec->head;
    if (head.seq > 0) out.push_back(head);
  }
  NCEN_RETURN_IF_ERROR(c.status());
  return out;
}

Result<std::vector<FeedHead>> Store::FeedHeads(std::span<const FeedId> feeds) const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  std::vector<FeedHead> out;
  out.reserve(feeds.size());
  for (const FeedId& feed : feeds) {
    FeedHead head;
    head.feed = feed;
    NCEN_ASSIGN_OR_RETURN(auto v, txn.Get(dbs_->feeds, format::FeedKey(feed)));
    if (v) {
      auto rec = format::ParseFeedValue(*v);
      if (!rec) return Corruption("feeds record does not decode");
      head.seq = rec->seq;
      head.head = rec->head;
    }
    out.push_back(head);
  }
  return out;
}

Result<Hash256> Store::FrontierDigest() const {
  NCEN_ASSIGN_OR_RETURN(auto frontier, Frontier());
  crypto::Blake2bHasher h;
  for (const FeedHead& f : frontier) {
    Bytes b(f.feed.author.begin(), f.feed.author.end());
    b.push_back(static_cast<uint8_t>(f.feed.scope));
    AppendU64BE(b, f.seq);
    Append(b, f.head);
    h.Update(b);
  }
  return h.Final();
}

Result<Hash256> Store::RecordStateDigest() const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, dbs_->records));
  crypto::Blake2bHasher h;
  for (c.First(); c.Valid(); c.Next()) {
    NCEN_ASSIGN_OR_RETURN(RecordState s, DecodeRecordState(c.value()));
    Bytes b(c.key().begin(), c.key().end());
    if (s.quarantined()) {
      // A quarantined record: its classes, the same on every node.
      b.push_back(0xff);
      if (s.clash_classes > 0xffff) {
        b.push_back(static_cast<uint8_t>(s.clash_classes >> 24));
        b.push_back(static_cast<uint8_t>(s.clash_classes >> 16));
      }
      b.push_back(static_cast<uint8_t>(s.clash_classes >> 8));
      b.push_back(static_cast<uint8_t>(s.clash_classes));
      h.Update(b);
      continue;
    }
    b.push_back(static_cast<uint8_t>(s.type));
    b.push_back(static_cast<uint8_t>(s.scope));
    for (const Version& v : s.versions) {
      Append(b, v.dot.author);
      AppendU64BE(b, v.dot.seq);
      b.push_back(static_cast<uint8_t>(v.op));
    }
    h.Update(b);
  }
  NCEN_RETURN_IF_ERROR(c.status());
  return h.Final();
}

Result<StoreStats> Store::Stats() const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  StoreStats stats;
  NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, dbs_->feeds));
  for (c.First(); c.Valid(); c.Next()) {
    auto rec = format::ParseFeedValue(c.value());
    if (!rec) return Corruption("feeds record does not decode");
    stats.entries += rec->seq;
    ++stats.feeds;
  }
  NCEN_RETURN_IF_ERROR(c.status());
  for (int t = 0; t < kRecordTypeCount; ++t) {
    std::string key = std::string("live/") + RecordTypeName(kRecordTypes[t]);
    NCEN_ASSIGN_OR_RETURN(auto v, txn.Get(dbs_->meta, AsBytes(key)));
    if (v && v->size() == 8) stats.records[t] = GetU64BE(v->data());
  }
  MDB_stat st;
  NCEN_RETURN_IF_ERROR(lmdb::FromRc(mdb_stat(txn.get(), dbs_->conflicts, &st), "mdb_stat"));
  stats.conflicts = st.ms_entries;
  return stats;
}

Result<std::vector<ListItem>> Store::List(std::optional<RecordType> type, size_t limit) const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, dbs_->records));
  std::vector<ListItem> out;
  for (c.Last(); c.Valid() && out.size() < limit;
       c.Prev()) {
    NCEN_ASSIGN_OR_RETURN(RecordState s, DecodeRecordState(c.value()));
    if ((type && s.type != *type) || !s.live()) continue;
    RecordId id;
    std::memcpy(id.data(), c.key().data(), 16);
    NCEN_ASSIGN_OR_RETURN(ListItem item, MakeItem(txn, dbs_->log, id, s));
    out.push_back(std::move(item));
  }
  return out;
}

Result<std::vector<ListItem>> Store::Conflicts(size_t limit) const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, dbs_->conflicts));
  std::vector<ListItem> out;
  for (c.First(); c.Valid() && out.size() < limit;
       c.Next()) {
    if (c.key().size() != 16) return Corruption("conflicts key is not a record id");
    RecordId id;
    std::memcpy(id.data(), c.key().data(), 16);
    NCEN_ASSIGN_OR_RETURN(RecordState s, LoadState(txn, dbs_->records, id));
    NCEN_ASSIGN_OR_RETURN(ListItem item, MakeItem(txn, dbs_->log, id, s));
    out.push_back(std::move(item));
  }
  return out;
}

Result<std::vector<ListItem>> Store::Search(const SearchQuery& q) {
  if (q.catch_up_index) NCEN_RETURN_IF_ERROR(CatchUpIndexAll());
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, dbs_->index));

  // Record ids whose index keys start with `prefix` (term prefix match when
  // `whole_term` is false).
  auto scan = [&](const std::string& prefix, bool whole_term, std::set<RecordId>& out) -> Status {
    Bytes p(prefix.begin(), prefix.end());
    if (whole_term) p.push_back(0);
    for (c.Seek(p); c.Valid() && StartsWith(c.key(), p);
         c.Next()) {
      if (c.key().size() < 17) return Corruption("index key is too short");
      RecordId id;
      std::memcpy(id.data(), c.key().data() + c.key().size() - 16, 16);
      out.insert(id);
    }
    return c.status();
  };

  std::set<RecordId> found;
  bool have_text = false;
  std::vector<std::string> tokens = FoldTokens(q.text);
  if (!tokens.empty()) {
    have_text = true;
    // Names: every token must prefix-match a name token of the record.
    std::set<RecordId> names;
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::set<RecordId> hits;
      NCEN_RETURN_IF_ERROR(scan(std::string(1, kTermName) + tokens[i], false, hits));
      if (i == 0) {
        names = std::move(hits);
      } else {
        std::set<RecordId> both;
        std::set_intersection(names.begin(), names.end(), hits.begin(), hits.end(),
                              std::inserter(both, both.end()));
        names = std::move(both);
      }
    }
    found.insert(names.begin(), names.end());
    // Identifiers, exactly, and commodity categories and subtypes.
    std::string ident = NormalizeIdentifier(q.text);
    if (!ident.empty()) NCEN_RETURN_IF_ERROR(scan(std::string(1, kTermIdentifier) + ident, true, found));
    std::string code = FoldText(q.text);
    std::replace(code.begin(), code.end(), ' ', '_');
    NCEN_RETURN_IF_ERROR(scan(std::string(1, kTermCategory) + code, true, found));
    NCEN_RETURN_IF_ERROR(scan(std::string(1, kTermSubtype) + code, true, found));
  }

  if (q.fact_filter) {
    // Structured filters: the facts of seizures and reports, latest first,
    // each type walked until it has `limit` matches; then merged by date.
    txn.Abort();
    std::vector<std::pair<std::string, RecordId>> hits;
    for (RecordType t : {RecordType::kSeizure, RecordType::kSeizureReport}) {
      if (q.type && *q.type != t) continue;
      size_t taken = 0;
      NCEN_RETURN_IF_ERROR(ScanFacts(t, q.from_date, q.to_date, true,
                                     [&](const RecordId& id, std::string_view date, const FactView& f) {
                                       if (have_text && !found.count(id)) return true;
                                       if (!q.fact_filter(f)) return true;
                                       hits.emplace_back(std::string(date), id);
                                       return ++taken < q.limit;
                                     },
                                     q.catch_up_index)
                               .status());
    }
    std::stable_sort(hits.begin(), hits.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    if (hits.size() > q.limit) hits.resize(q.limit);
    std::vector<RecordId> ids;
    for (auto& h : hits) ids.push_back(h.second);
    return Items(ids);
  }

  std::string from = CompactDate(q.from_date), to = CompactDate(q.to_date);
  bool have_dates = !from.empty() || !to.empty();
  if (to.empty()) to = "99999999";
  std::vector<ListItem> out;
  // Adds the record to `out` when it is live and of the wanted type.
  auto emit = [&](const RecordId& id) -> Status {
    NCEN_ASSIGN_OR_RETURN(RecordState s, LoadState(txn, dbs_->records, id));
    if ((q.type && s.type != *q.type) || !s.live()) return Status::Ok();
    NCEN_ASSIGN_OR_RETURN(ListItem item, MakeItem(txn, dbs_->log, id, s));
    out.push_back(std::move(item));
    return Status::Ok();
  };
  auto date_of = [&] { return std::string(reinterpret_cast<const char*>(c.key().data() + 1), 8); };
  auto id_of = [&] {
    RecordId id;
    std::memcpy(id.data(), c.key().data() + c.key().size() - 16, 16);
    return id;
  };
  auto is_date_key = [&] { return c.Valid() && c.key().size() == 26 && c.key()[0] == kTermDate; };

  if (have_dates && !have_text) {
    // Latest seizure date first, walking the date index backwards and stopping
    // at the limit: the cost follows the limit, not the number of matches.
    Bytes past_end(1, static_cast<uint8_t>(kTermDate));
    Append(past_end, AsBytes(to));
    past_end.push_back(0xff);
    c.Seek(past_end);
    if (c.Valid()) c.Prev();
    else c.Last();
    for (; is_date_key() && out.size() < q.limit && date_of() >= from; c.Prev()) {
      NCEN_RETURN_IF_ERROR(emit(id_of()));
    }
    NCEN_RETURN_IF_ERROR(c.status());
    return out;
  }

  std::set<RecordId> ids = std::move(found);
  if (have_dates) {
    std::set<RecordId> dated;
    Bytes start(1, static_cast<uint8_t>(kTermDate));
    Append(start, AsBytes(from));
    for (c.Seek(start); is_date_key() && date_of() <= to; c.Next()) {
      if (ids.count(id_of())) dated.insert(id_of());
    }
    NCEN_RETURN_IF_ERROR(c.status());
    ids = std::move(dated);
  }
  // Newest record first.
  for (auto it = ids.rbegin(); it != ids.rend() && out.size() < q.limit; ++it) {
    NCEN_RETURN_IF_ERROR(emit(*it));
  }
  return out;
}

Result<uint64_t> Store::ScanFacts(RecordType type, const std::string& from_date, const std::string& to_date,
                                  bool newest_first, const FactVisitor& visit, bool catch_up_index) {
  if (catch_up_index) NCEN_RETURN_IF_ERROR(CatchUpIndexAll());
  std::string from = CompactDate(from_date), to = CompactDate(to_date);
  if (to.empty()) to = "99999999";
  const std::string prefix = FactTerm(type, "");
  if (prefix.empty()) return InvalidArgument(std::string(RecordTypeName(type)) + " records have no facts");
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, dbs_->index));
  // key = 'f' | type | YYYYMMDD | 0x00 | record id[16]
  constexpr size_t kKeySize = 2 + 8 + 1 + 16;
  auto ours = [&] { return c.Valid() && c.key().size() == kKeySize && StartsWith(c.key(), AsBytes(prefix)); };
  auto date_of = [&] { return std::string_view(reinterpret_cast<const char*>(c.key().data() + 2), 8); };
  FactView fact;
  uint64_t visited = 0;
  auto one = [&]() -> Result<bool> {
    RecordId id;
    std::memcpy(id.data(), c.key().data() + kKeySize - 16, 16);
    NCEN_RETURN_IF_ERROR(DecodeFact(c.value(), fact));
    ++visited;
    return visit(id, date_of(), fact);
  };
  if (newest_first) {
    Bytes past_end(prefix.begin(), prefix.end());
    Append(past_end, AsBytes(to));
    past_end.push_back(0xff);
    c.Seek(past_end);
    if (c.Valid()) c.Prev();
    else c.Last();
    for (; ours() && date_of() >= from; c.Prev()) {
      NCEN_ASSIGN_OR_RETURN(bool more, one());
      if (!more) break;
    }
  } else {
    Bytes start(prefix.begin(), prefix.end());
    Append(start, AsBytes(from));
    for (c.Seek(start); ours() && date_of() <= to; c.Next()) {
      NCEN_ASSIGN_OR_RETURN(bool more, one());
      if (!more) break;
    }
  }
  NCEN_RETURN_IF_ERROR(c.status());
  return visited;
}

Result<std::vector<RecordId>> Store::RecordIdsOfType(RecordType type) const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, dbs_->records));
  std::vector<RecordId> out;
  for (c.First(); c.Valid(); c.Next()) {
    // The state starts with an optional marker, then type and scope.
    ByteView v = c.value();
    if (v.empty() || c.key().size() != 16) return Corruption("records entry does not decode");
    size_t at = v[0] == 0xfe ? 1 : 0;
    if (v.size() < at + 2) return Corruption("records entry does not decode");
    if (v[at] != static_cast<uint8_t>(type)) continue;
    if (at == 1 && v.size() >= 5 && (v[3] | v[4]) != 0) continue;  // quarantined
    RecordId id;
    std::memcpy(id.data(), c.key().data(), 16);
    out.push_back(id);
  }
  NCEN_RETURN_IF_ERROR(c.status());
  return out;
}

Result<std::vector<RecordId>> Store::RecordIdsOfFeed(const FeedId& feed) const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  std::vector<RecordId> out;
  NCEN_ASSIGN_OR_RETURN(auto fv, txn.Get(dbs_->feeds, format::FeedKey(feed)));
  if (!fv) return out;
  auto rec = format::ParseFeedValue(*fv);
  if (!rec) return Corruption("feeds record does not decode");
  NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, dbs_->log));
  auto prefix = format::U32Key(rec->index);
  for (c.Seek(prefix); c.Valid() && StartsWith(c.key(), prefix); c.Next()) {
    auto value = format::ParseLogValue(c.value());
    if (!value) return Corruption("log value does not decode");
    NCEN_ASSIGN_OR_RETURN(EntryHeader h, DecodeHeader(value->header));
    out.push_back(h.record_id);
  }
  NCEN_RETURN_IF_ERROR(c.status());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<std::vector<ListItem>> Store::Items(std::span<const RecordId> ids) const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  std::vector<ListItem> out;
  for (const RecordId& id : ids) {
    auto s = LoadState(txn, dbs_->records, id);
    if (!s.ok() && s.status().code() == StatusCode::kNotFound) continue;
    NCEN_RETURN_IF_ERROR(s.status());
    NCEN_ASSIGN_OR_RETURN(ListItem item, MakeItem(txn, dbs_->log, id, *s));
    out.push_back(std::move(item));
  }
  return out;
}

Result<std::vector<ChangeRef>> Store::ChangesSince(uint64_t after, size_t limit) const {
  if (after == UINT64_MAX) return std::vector<ChangeRef>{};  // nothing comes after the last number
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, dbs_->changes));
  std::map<uint32_t, FeedId> feeds;
  std::vector<ChangeRef> out;
  for (c.Seek(format::U64Key(after + 1)); c.Valid() && out.size() < limit; c.Next()) {
    auto change = format::ParseChangeValue(c.value());
    if (c.key().size() != format::kU64Bytes || !change) return Corruption("changes record does not decode");
    ChangeRef ref;
    ref.change_no = GetU64BE(c.key().data());
    auto it = feeds.find(change->feed_index);
    if (it == feeds.end()) {
      NCEN_ASSIGN_OR_RETURN(auto fv, txn.Get(dbs_->feed_index, format::U32Key(change->feed_index)));
      auto feed = fv ? format::ParseFeedKey(*fv) : std::nullopt;
      if (!feed) return Corruption("feed_index record does not decode");
      it = feeds.emplace(change->feed_index, *feed).first;
    }
    ref.feed = it->second;
    ref.seq = change->seq;
    ref.record = change->record;
    out.push_back(ref);
  }
  NCEN_RETURN_IF_ERROR(c.status());
  return out;
}

Result<VerifyReport> Store::VerifyLog() const {
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  VerifyReport report;
  std::map<uint32_t, FeedId> feeds;

  // 1. Every feed: contiguous seqs, hash links, signatures, payload hashes.
  NCEN_ASSIGN_OR_RETURN(lmdb::Cursor fc, lmdb::Cursor::Open(txn, dbs_->feeds));
  for (fc.First(); fc.Valid(); fc.Next()) {
    auto rec = format::ParseFeedValue(fc.value());
    auto feed_key = format::ParseFeedKey(fc.key());
    if (!rec || !feed_key) return Corruption("feeds record does not decode");
    const FeedId feed = *feed_key;
    feeds[rec->index] = feed;
    ++report.feeds;
    std::string name = crypto::Fingerprint(feed.author) + "/" + ScopeName(feed.scope);
    Hash256 prev{};
    uint64_t seq = 0;
    NCEN_ASSIGN_OR_RETURN(lmdb::Cursor lc, lmdb::Cursor::Open(txn, dbs_->log));
    auto prefix = format::U32Key(rec->index);
    for (lc.Seek(prefix); lc.Valid() && StartsWith(lc.key(), prefix); lc.Next()) {
      std::string where = "feed " + name + " seq " + std::to_string(seq + 1);
      auto entry = format::DecodeStoredEntry(lc.value());
      if (!entry.ok()) return entry.status().WithContext(where);
      const EntryHeader& h = entry->header;
      auto key = format::ParseLogKey(lc.key());
      if (!key || key->seq != seq + 1 || h.seq != seq + 1) {
        return Corruption(where + ": entry is out of sequence");
      }
      if (h.feed() != feed) return Corruption(where + ": entry belongs to another feed");
      if (h.prev != prev) return Corruption(where + ": prev hash does not match");
      if (!CheckSignature(*entry)) return Corruption(where + ": bad signature");
      if (Status s = CheckPayload(*entry); !s.ok()) return s.WithContext(where);
      prev = entry->hash();
      seq = h.seq;
      ++report.entries;
    }
    NCEN_RETURN_IF_ERROR(lc.status());
    if (seq != rec->seq || prev != rec->head) {
      return Corruption("feed " + name + ": head seq/hash does not match its last entry");
    }
  }

  // 2. Replay the log in the order it was applied, without the entries past
  // a revocation's cut-off (docs/membership.md §5); compare the derived state.
  NCEN_ASSIGN_OR_RETURN(auto membership, MembershipIn(txn));
  std::map<RecordId, RecordState> derived;
  NCEN_ASSIGN_OR_RETURN(lmdb::Cursor cc, lmdb::Cursor::Open(txn, dbs_->changes));
  for (cc.First(); cc.Valid(); cc.Next()) {
    auto change = format::ParseChangeValue(cc.value());
    if (!change) return Corruption("changes record does not decode");
    if (membership) {
      auto feed = feeds.find(change->feed_index);
      if (feed == feeds.end()) return Corruption("changes feed names an unknown feed");
      if (change->seq > membership->CutoffOf(feed->second)) continue;
    }
    NCEN_ASSIGN_OR_RETURN(auto stored, txn.Get(dbs_->log, format::LogKey(change->feed_index, change->seq)));
    if (!stored) return Corruption("changes feed names an entry missing from the log");
    auto value = format::ParseLogValue(*stored);
    if (!value) return Corruption("log value does not decode");
    NCEN_ASSIGN_OR_RETURN(EntryHeader h, DecodeHeader(value->header));
    ApplyVersion(derived[h.record_id], h.record_type, h.scope,
                 Version{h.dot(), change->feed_index, h.timestamp_ms, h.op, h.context});
  }
  std::erase_if(derived, [](const auto& kv) { return !kv.second.exists(); });  // every entry revoked
  NCEN_ASSIGN_OR_RETURN(lmdb::Cursor rc, lmdb::Cursor::Open(txn, dbs_->records));
  auto expected = derived.begin();
  for (rc.First(); rc.Valid(); rc.Next(), ++expected) {
    std::string where = "record " + (rc.key().size() == 16 ? FormatRecordId(*reinterpret_cast<const RecordId*>(rc.key().data())) : "?");
    if (expected == derived.end() || !std::equal(expected->first.begin(), expected->first.end(),
                                                 rc.key().begin(), rc.key().end())) {
      return Corruption(where + ": stored record does not follow from the log");
    }
    NCEN_ASSIGN_OR_RETURN(RecordState s, DecodeRecordState(rc.value()));
    const RecordState& d = expected->second;
    bool same = s.type == d.type && s.scope == d.scope && s.clash_classes == d.clash_classes &&
                s.seen == d.seen && s.versions.size() == d.versions.size();
    for (size_t i = 0; same && i < s.versions.size(); ++i) {
      same = s.versions[i].dot == d.versions[i].dot && s.versions[i].op == d.versions[i].op &&
             s.versions[i].context == d.versions[i].context;
    }
    if (!same) return Corruption(where + ": stored versions differ from the log's");
    NCEN_ASSIGN_OR_RETURN(auto conflict, txn.Get(dbs_->conflicts, rc.key()));
    if (conflict.has_value() != s.needs_decision()) {
      return Corruption(where + ": conflicts table disagrees with the record");
    }
    ++report.records;
  }
  NCEN_RETURN_IF_ERROR(rc.status());
  NCEN_RETURN_IF_ERROR(cc.status());
  NCEN_RETURN_IF_ERROR(fc.status());
  if (expected != derived.end()) {
    return Corruption("record " + FormatRecordId(expected->first) + " is in the log but not stored");
  }
  // 3. Blobs: every chunk held, and the bytes of each blob held whole.
  NCEN_RETURN_IF_ERROR(VerifyBlobs(txn, *dbs_, report));
  return report;
}

}  // namespace ncen::storage
