#include "node/records.h"

#include <algorithm>
#include <queue>
#include <set>

#include "base/text.h"
#include "storage/codes.h"
#include "storage/record_json.h"

namespace ncen::node {

using storage::Op;
using storage::RecordId;
using storage::RecordType;
using storage::RecordView;

std::vector<std::string> QuarantineClasses(const storage::RecordState& state) {
  std::vector<std::string> out;
  for (RecordType type : storage::kRecordTypes) {
    for (int s = 0; s < storage::kScopeCount; ++s) {
      auto scope = static_cast<storage::Scope>(s);
      if (state.clash_classes & storage::ClassBit(type, scope)) {
        out.push_back(std::string(storage::RecordTypeName(type)) + "/" + storage::ScopeName(scope));
      }
    }
  }
  return out;
}

Status QuarantineStatus(const RecordId& id, const storage::RecordState& state) {
  if (!state.quarantined()) return Status::Ok();
  std::string classes;
  for (const auto& name : QuarantineClasses(state)) classes += (classes.empty() ? "" : ", ") + name;
  return FailedPrecondition("record " + storage::FormatRecordId(id) +
                            " is quarantined: entries of more than one type or scope (" + classes +
                            ") were written under its id; its entries are kept in the log");
}

// A seizure report is written only by the release path (node/releases.h),
// which builds it from the seizure: an edit by hand could put anything in it.
static Status NotAReport(const RecordId& id, const storage::RecordState& state) {
  if (state.type != RecordType::kSeizureReport) return Status::Ok();
  return InvalidArgument("record " + storage::FormatRecordId(id) +
                         " is a seizure report: it changes only by `ncenctl release` (again, or --withdraw)");
}

// A photo record refers to blobs this node checked and stored (node/photos.h):
// it is written only by `photo add`, never edited (delete it and add again).
static Status NotAPhoto(const RecordId& id, const storage::RecordState& state) {
  if (state.type != RecordType::kPhoto) return Status::Ok();
  return InvalidArgument("record " + storage::FormatRecordId(id) +
                         " is a photo: it is written only by `ncenctl photo add` (delete it and add it again)");
}

// A message is sealed and immutable (node/messages.h): answered, never edited.
static Status NotAMessage(const RecordId& id, const storage::RecordState& state) {
  if (state.type != RecordType::kMessage) return Status::Ok();
  return InvalidArgument("record " + storage::FormatRecordId(id) +
                         " is a message: messages are not edited or deleted (reply with `ncenctl msg send --reply-to`)");
}

namespace {

using json = nlohmann::ordered_json;

constexpr size_t kEnteredByNodeBytesMax = 100;  // record.capnp EnteredBy.node $maxLength

bool HasEnteredBy(RecordType type) {
  return type == RecordType::kSeizure || type == RecordType::kSuspect || type == RecordType::kCompany ||
         type == RecordType::kPhoto;
}

bool Watched(RecordType type) { return type == RecordType::kSuspect || type == RecordType::kCompany; }

}  // namespace

void StampEnteredBy(RecordType type, const Actor& actor, const std::string& node_name, json& body) {
  if (!HasEnteredBy(type) || !body.is_object()) return;
  if (actor.name.empty()) {
    body.erase("entered_by");
    return;
  }
  json who = {{"name", actor.name}};
  std::string node = SanitizeText(node_name, kEnteredByNodeBytesMax);
  if (!node.empty()) who["node"] = node;
  if (!actor.via.empty()) who["via"] = actor.via;
  body["entered_by"] = std::move(who);
}

Result<Bytes> StampEnteredBy(RecordType type, const Actor& actor, const std::string& node_name, ByteView payload) {
  if (!HasEnteredBy(type)) return Bytes(payload.begin(), payload.end());
  storage::EnteredBy who;
  if (!actor.name.empty()) who = {actor.name, SanitizeText(node_name, kEnteredByNodeBytesMax), actor.via};
  return storage::SetEnteredBy(type, payload, who);
}

void Records::Stamp(RecordType type, json& body) const {
  StampEnteredBy(type, actor_, store_.meta().name, body);
}

Result<Bytes> Records::Stamp(RecordType type, ByteView payload) const {
  return StampEnteredBy(type, actor_, store_.meta().name, payload);
}

Status Records::Log(const char* action, std::string type, std::vector<std::string> records, json query) {
  if (audit_ == nullptr || actor_.name.empty()) return Status::Ok();
  AuditEvent event;
  event.time_ms = store_.NowMs();
  event.user = actor_.name;
  event.via = actor_.via;
  event.address = actor_.address;
  event.action = action;
  event.type = std::move(type);
  event.records = std::move(records);
  event.query = std::move(query);
  // The data is not shown unlogged: the request may be made again once the
  // log can be written (503 over HTTP).
  Status s = audit_->Append(event);
  if (!s.ok()) return Unavailable("the access log cannot be written, so suspects and companies are not shown: " + s.message());
  return Status::Ok();
}

Status Records::LogItems(const char* action, std::string type, const std::vector<storage::ListItem>& items,
                         bool always, json query) {
  std::vector<std::string> ids;
  for (const auto& item : items) {
    if (Watched(item.type)) ids.push_back(storage::FormatRecordId(item.id));
  }
  if (ids.empty() && !always) return Status::Ok();
  return Log(action, std::move(type), std::move(ids), std::move(query));
}

Result<std::vector<storage::ListItem>> Records::LinkedSeizures(const RecordId& record) {
  NCEN_ASSIGN_OR_RETURN(RecordView view, store_.GetRecord(record));
  if (view.state.type != RecordType::kSuspect && view.state.type != RecordType::kCompany) {
    return InvalidArgument("record " + storage::FormatRecordId(record) + " is a " +
                           storage::RecordTypeName(view.state.type) + ": only suspects and companies have linked seizures");
  }
  NCEN_ASSIGN_OR_RETURN(std::vector<RecordId> ids, store_.LinkedTo(record));
  std::reverse(ids.begin(), ids.end());  // ids are time-ordered: newest first
  NCEN_ASSIGN_OR_RETURN(auto items, store_.Items(ids));
  std::vector<storage::ListItem> out;
  for (auto& item : items) {
    if (item.type == RecordType::kSeizure && !item.deleted) out.push_back(std::move(item));
  }
  NCEN_RETURN_IF_ERROR(Log("view", storage::RecordTypeName(view.state.type), {storage::FormatRecordId(record)},
                           json{{"linked_seizures", true}}));
  return out;
}

Result<History> Records::HistoryOf(const RecordId& id, size_t limit) {
  NCEN_ASSIGN_OR_RETURN(RecordView view, store_.GetRecord(id));
  NCEN_RETURN_IF_ERROR(QuarantineStatus(id, view.state));
  const storage::RecordState& state = view.state;
  // The walk reads at most this many entries: a hostile context could name
  // many dots that are not entries of this record.
  const size_t reads_max = 2 * limit + 64;
  // And remembers at most this many dots: a context may hold 1,024.
  const size_t dots_max = 8 * reads_max;
  // Read newest first, so that a bounded walk keeps the newest entries of
  // every branch: the record's versions and what each author wrote last
  // first, then each context's dots in the order of the entries that named
  // them (a dot named by a newer entry is read before one named by an
  // older; the dots of one context, highest seq first).
  struct Next {
    int64_t named_at_ms;  // the time of the entry that named it (versions: their own)
    storage::Dot dot;
    bool operator<(const Next& o) const {  // a max-heap: newest, then highest seq, first
      if (named_at_ms != o.named_at_ms) return named_at_ms < o.named_at_ms;
      return dot.seq < o.dot.seq;
    }
  };
  std::set<storage::Dot> seen;
  std::priority_queue<Next> to_read;
  bool dropped = false;
  auto visit = [&](const storage::Dot& d, int64_t named_at_ms) {
    if (d.seq == 0 || seen.count(d)) return;
    if (seen.size() == dots_max) {
      dropped = true;
      return;
    }
    seen.insert(d);
    to_read.push(Next{named_at_ms, d});
  };
  for (const auto& v : state.versions) visit(v.dot, INT64_MAX);
  for (const auto& d : state.seen.dots) visit(d, INT64_MAX);
  History out;
  out.type = state.type;
  std::vector<storage::VersionVector> contexts;  // parallel to out.items
  size_t reads = 0;
  while (!to_read.empty()) {
    if (reads == reads_max) {
      out.truncated = true;
      break;
    }
    storage::Dot dot = to_read.top().dot;
    to_read.pop();
    ++reads;
    auto entry = store_.GetEntry(storage::FeedId{dot.author, state.scope}, dot.seq);
    if (!entry.ok()) {
      if (entry.status().code() == StatusCode::kNotFound) continue;
      return entry.status();
    }
    const storage::EntryHeader& h = entry->header;
    if (h.record_id != id) continue;  // not an entry of this record
    HistoryItem item;
    item.dot = dot;
    item.timestamp_ms = h.timestamp_ms;
    item.op = h.op;
    item.current = std::any_of(state.versions.begin(), state.versions.end(),
                               [&](const storage::Version& v) { return v.dot == dot; });
    item.payload_held = entry->has_payload;
    item.entered_by = nullptr;
    bool has_body = h.op == Op::kPut || h.op == Op::kResolve;
    if (entry->has_payload && has_body && h.record_type != RecordType::kMessage) {
      auto body = storage::RecordToJson(h.record_type, entry->payload);
      if (body.ok() && body->contains("entered_by")) item.entered_by = (*body)["entered_by"];
    }
    out.items.push_back(std::move(item));
    contexts.push_back(h.context);
    for (const auto& d : h.context.dots) visit(d, h.timestamp_ms);
  }
  if (dropped) out.truncated = true;
  // Newest first in causal order: an entry comes after every entry its
  // context covers, whatever the authors' clocks say; among entries neither
  // saw, the earlier clock first. (A cycle, which only forged contexts can
  // make, is broken at the earliest clock.)
  const size_t n = out.items.size();
  std::vector<std::vector<size_t>> after(n);  // after[j]: the entries that saw j
  std::vector<size_t> waiting(n, 0);           // how many entries i saw that are not placed yet
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      if (i != j && contexts[i].Covers(out.items[j].dot)) {
        after[j].push_back(i);
        ++waiting[i];
      }
    }
  }
  auto earlier = [&](size_t a, size_t b) {
    const auto &x = out.items[a], &y = out.items[b];
    return x.timestamp_ms != y.timestamp_ms ? x.timestamp_ms < y.timestamp_ms : x.dot < y.dot;
  };
  auto later = [&](size_t a, size_t b) { return earlier(b, a); };  // a min-heap of `earlier`
  std::priority_queue<size_t, std::vector<size_t>, decltype(later)> ready(later);
  for (size_t i = 0; i < n; ++i) {
    if (waiting[i] == 0) ready.push(i);
  }
  std::vector<bool> placed(n, false);
  std::vector<size_t> order;
  while (order.size() < n) {
    size_t pick = n;
    while (!ready.empty() && placed[ready.top()]) ready.pop();
    if (!ready.empty()) {
      pick = ready.top();
      ready.pop();
    } else {  // a cycle
      for (size_t i = 0; i < n; ++i) {
        if (!placed[i] && (pick == n || earlier(i, pick))) pick = i;
      }
    }
    placed[pick] = true;
    order.push_back(pick);
    for (size_t k : after[pick]) {
      if (waiting[k] > 0 && --waiting[k] == 0 && !placed[k]) ready.push(k);
    }
  }
  std::vector<HistoryItem> sorted;
  sorted.reserve(n);
  for (auto it = order.rbegin(); it != order.rend(); ++it) sorted.push_back(std::move(out.items[*it]));
  out.items = std::move(sorted);
  if (out.items.size() > limit) {
    // Cut the oldest, but never a version the record has now: the reader
    // must see every version it is asked to compare.
    size_t currents = 0;
    for (const auto& item : out.items) currents += item.current ? 1 : 0;
    std::vector<HistoryItem> kept;
    size_t room = limit > currents ? limit - currents : 0;
    for (auto& item : out.items) {
      if (item.current) {
        kept.push_back(std::move(item));
      } else if (room > 0) {
        kept.push_back(std::move(item));
        --room;
      }
    }
    out.items = std::move(kept);
    out.truncated = true;
  }
  if (Watched(state.type)) {
    NCEN_RETURN_IF_ERROR(Log("view", storage::RecordTypeName(state.type), {storage::FormatRecordId(id)},
                             json{{"history", true}}));
  }
  return out;
}

Status Records::WriteOne(storage::LocalChange change) {
  return store_.AppendLocal(me_, {&change, 1}).status();
}

Result<RecordId> Records::Add(RecordType type, const nlohmann::ordered_json& body) {
  if (type == RecordType::kPhoto) return InvalidArgument("photos are added with `ncenctl photo add RECORD_ID FILE`");
  json stamped = body;
  Stamp(type, stamped);
  NCEN_ASSIGN_OR_RETURN(Bytes payload, storage::RecordFromJson(type, stamped, false));
  storage::LocalChange change{storage::NewRecordId(store_.NowMs()), type, Op::kPut, std::move(payload)};
  RecordId id = change.id;
  // Only a new record: an id that (impossibly) exists is not overwritten.
  change.check = [id](storage::TxnRecords& records, Bytes*) -> Status {
    auto held = records.Get(id);
    if (held.ok()) return ConflictError("record " + storage::FormatRecordId(id) + " exists already");
    return held.status().code() == StatusCode::kNotFound ? Status::Ok() : held.status();
  };
  NCEN_RETURN_IF_ERROR(WriteOne(std::move(change)));
  return id;
}

Result<std::vector<RecordId>> Records::Import(std::vector<NewRecord> records) {
  if (records.empty()) return InvalidArgument("no records");
  int64_t now_ms = store_.NowMs();
  std::vector<storage::LocalChange> changes;
  changes.reserve(records.size());
  std::vector<RecordId> ids;
  ids.reserve(records.size());
  for (NewRecord& r : records) {
    if (r.type == RecordType::kPhoto) return InvalidArgument("photos are added with `ncenctl photo add RECORD_ID FILE`");
    NCEN_ASSIGN_OR_RETURN(Bytes payload, Stamp(r.type, r.payload));
    changes.push_back({storage::NewRecordId(now_ms), r.type, Op::kPut, std::move(payload)});
    ids.push_back(changes.back().id);
  }
  NCEN_RETURN_IF_ERROR(store_.AppendLocal(me_, changes).status());
  return ids;
}

Result<RecordView> Records::GetAny(const RecordId& id) {
  NCEN_ASSIGN_OR_RETURN(RecordView view, store_.GetRecord(id));
  if (Watched(view.state.type)) {
    NCEN_RETURN_IF_ERROR(Log("view", storage::RecordTypeName(view.state.type), {storage::FormatRecordId(id)}));
  }
  return view;
}

Result<RecordView> Records::Read(const RecordId& id) {
  NCEN_ASSIGN_OR_RETURN(RecordView view, store_.GetRecord(id));
  NCEN_RETURN_IF_ERROR(QuarantineStatus(id, view.state));
  return view;
}

Result<RecordView> Records::Get(const RecordId& id) {
  NCEN_ASSIGN_OR_RETURN(RecordView view, Read(id));
  if (Watched(view.state.type)) {
    NCEN_RETURN_IF_ERROR(Log("view", storage::RecordTypeName(view.state.type), {storage::FormatRecordId(id)}));
  }
  return view;
}

std::vector<storage::Dot> VersionDots(const storage::RecordState& state) {
  std::vector<storage::Dot> out;
  for (const auto& v : state.versions) out.push_back(v.dot);
  return out;
}

static Status Expected(const RecordId& id, const storage::RecordState& state,
                       const std::optional<std::vector<storage::Dot>>& expected) {
  if (!expected || VersionDots(state) == *expected) return Status::Ok();
  return ConflictError("record " + storage::FormatRecordId(id) + " changed since it was read: compare with the current version");
}

Status Records::Update(const RecordId& id, const nlohmann::ordered_json& body, bool resolve,
                       const std::vector<storage::Dot>* expected_dots) {
  std::optional<std::vector<storage::Dot>> expected;
  if (expected_dots) expected = *expected_dots;
  if (body.is_object() && body.contains("id") &&
      (!body["id"].is_string() || body["id"].get<std::string>() != storage::FormatRecordId(id))) {
    return InvalidArgument("field 'id' does not match " + storage::FormatRecordId(id));
  }
  // The type is fixed by the record: read it to validate the body.
  NCEN_ASSIGN_OR_RETURN(RecordView view, Read(id));
  NCEN_RETURN_IF_ERROR(NotAReport(id, view.state));
  NCEN_RETURN_IF_ERROR(NotAPhoto(id, view.state));
  NCEN_RETURN_IF_ERROR(NotAMessage(id, view.state));
  json stamped = body;
  Stamp(view.state.type, stamped);
  NCEN_ASSIGN_OR_RETURN(Bytes payload, storage::RecordFromJson(view.state.type, stamped, true));
  storage::LocalChange change{id, view.state.type, resolve ? Op::kResolve : Op::kPut, std::move(payload),
                              view.state.scope};
  change.check = [id, resolve, expected](storage::TxnRecords& records, Bytes*) -> Status {
    NCEN_ASSIGN_OR_RETURN(RecordView now, records.Get(id));
    NCEN_RETURN_IF_ERROR(QuarantineStatus(id, now.state));
    NCEN_RETURN_IF_ERROR(Expected(id, now.state, expected));
    if (resolve && !now.state.conflict()) {
      return InvalidArgument("record " + storage::FormatRecordId(id) + " has no conflict to resolve; use 'update'");
    }
    return Status::Ok();
  };
  return WriteOne(std::move(change));
}

Status Records::Delete(const RecordId& id, const std::vector<storage::Dot>* expected_dots) {
  std::optional<std::vector<storage::Dot>> expected;
  if (expected_dots) expected = *expected_dots;
  NCEN_ASSIGN_OR_RETURN(RecordView view, Read(id));
  NCEN_RETURN_IF_ERROR(NotAMessage(id, view.state));
  NCEN_RETURN_IF_ERROR(NotAReport(id, view.state));
  storage::LocalChange change{id, view.state.type, Op::kDelete, {}, view.state.scope};
  change.check = [id, expected](storage::TxnRecords& records, Bytes*) -> Status {
    NCEN_ASSIGN_OR_RETURN(RecordView now, records.Get(id));
    NCEN_RETURN_IF_ERROR(QuarantineStatus(id, now.state));
    NCEN_RETURN_IF_ERROR(Expected(id, now.state, expected));
    // A conflict (even of two deletes made apart) is settled by a delete.
    if (!now.state.live() && !now.state.conflict()) {
      return InvalidArgument("record " + storage::FormatRecordId(id) + " is already deleted");
    }
    return Status::Ok();
  };
  return WriteOne(std::move(change));
}

namespace {

// The seizure's payload with the link added, from the records as they are:
// both must be live, of the right types.
Result<Bytes> LinkedPayload(storage::TxnRecords& records, const RecordId& seizure_id, const RecordId& other_id,
                            bool company) {
  NCEN_ASSIGN_OR_RETURN(RecordView seizure, records.Get(seizure_id));
  NCEN_RETURN_IF_ERROR(QuarantineStatus(seizure_id, seizure.state));
  if (seizure.state.type != RecordType::kSeizure || !seizure.state.live()) {
    return InvalidArgument(storage::FormatRecordId(seizure_id) + " is not a seizure");
  }
  RecordType want = company ? RecordType::kCompany : RecordType::kSuspect;
  auto other = records.Get(other_id);
  if (!other.ok() || other->state.quarantined() || other->state.type != want || !other->state.live()) {
    return InvalidArgument(storage::FormatRecordId(other_id) + " is not a " + storage::RecordTypeName(want) +
                           " on this node");
  }
  const Bytes& current = seizure.payloads[seizure.state.WinnerIndex()];
  return storage::AddSeizureLink(current, company, storage::FormatRecordId(other_id));
}

// Reads outside a write transaction, for the decision whether to write.
class ReadOnlyRecords : public storage::TxnRecords {
 public:
  explicit ReadOnlyRecords(storage::Store& store) : store_(store) {}
  Result<RecordView> Get(const RecordId& id) override { return store_.GetRecord(id); }

 private:
  storage::Store& store_;
};

}  // namespace

Result<bool> Records::Link(const RecordId& seizure_id, const RecordId& other_id, bool company) {
  ReadOnlyRecords now(store_);
  NCEN_ASSIGN_OR_RETURN(Bytes payload, LinkedPayload(now, seizure_id, other_id, company));
  NCEN_ASSIGN_OR_RETURN(RecordView seizure, store_.GetRecord(seizure_id));
  // Already linked: whoever linked it stays the one who entered the version.
  if (payload == seizure.payloads[seizure.state.WinnerIndex()] && !seizure.state.conflict()) return false;
  storage::LocalChange change{seizure_id, RecordType::kSeizure, Op::kPut, {}, seizure.state.scope};
  // The link goes into the seizure as it is when the write happens, so an
  // edit that landed meanwhile is kept; the version is this actor's.
  change.check = [this, seizure_id, other_id, company](storage::TxnRecords& records, Bytes* out) -> Status {
    NCEN_ASSIGN_OR_RETURN(Bytes linked, LinkedPayload(records, seizure_id, other_id, company));
    NCEN_ASSIGN_OR_RETURN(*out, Stamp(RecordType::kSeizure, linked));
    return Status::Ok();
  };
  NCEN_RETURN_IF_ERROR(WriteOne(std::move(change)));
  return true;
}

Result<std::vector<storage::ListItem>> Records::List(std::optional<RecordType> type, size_t limit) {
  NCEN_ASSIGN_OR_RETURN(auto items, store_.List(type, limit));
  bool asked = type && Watched(*type);
  NCEN_RETURN_IF_ERROR(LogItems("list", type ? storage::RecordTypeName(*type) : "any", items, asked));
  return items;
}

namespace {

// What a search asked, as the access log keeps it: only what was given.
json SearchQueryJson(const SearchRequest& r) {
  json q = json::object();
  if (!r.text.empty()) q["text"] = r.text;
  if (r.type) q["type"] = storage::RecordTypeName(*r.type);
  if (!r.from_date.empty()) q["from"] = r.from_date;
  if (!r.to_date.empty()) q["to"] = r.to_date;
  const FactFilter& f = r.filter;
  for (auto [key, value] : {std::pair{"country", &f.country}, {"commodity", &f.commodity},
                            {"route_country", &f.route_country}, {"mode", &f.mode},
                            {"detection", &f.detection}, {"concealment", &f.concealment}}) {
    if (!value->empty()) q[key] = *value;
  }
  q["limit"] = r.limit;
  return q;
}

}  // namespace

Result<std::vector<storage::ListItem>> Records::Search(const SearchRequest& r) {
  if (!r.from_date.empty() && !storage::IsDate(r.from_date)) {
    return InvalidArgument("from '" + r.from_date + "' is not a date (YYYY-MM-DD)");
  }
  if (!r.to_date.empty() && !storage::IsDate(r.to_date)) {
    return InvalidArgument("to '" + r.to_date + "' is not a date (YYYY-MM-DD)");
  }
  if (!r.from_date.empty() && !r.to_date.empty() && r.from_date > r.to_date) {
    return InvalidArgument("the from date is after the to date");
  }
  if (r.text.empty() && r.from_date.empty() && r.to_date.empty() && r.filter.empty()) {
    return InvalidArgument("a search needs text, a date or a filter");
  }
  if (!r.filter.empty() && r.type && *r.type != RecordType::kSeizure && *r.type != RecordType::kSeizureReport) {
    return InvalidArgument("the filters select seizures and seizure reports, not " +
                           std::string(storage::RecordTypeName(*r.type)) + " records");
  }
  storage::SearchQuery q;
  q.text = r.text;
  q.type = r.type;
  q.from_date = r.from_date;
  q.to_date = r.to_date;
  q.limit = r.limit;
  q.catch_up_index = r.catch_up_index;
  if (!r.filter.empty()) {
    NCEN_ASSIGN_OR_RETURN(q.fact_filter, MakeFactFilter(r.filter));
  }
  NCEN_ASSIGN_OR_RETURN(auto items, store_.Search(q));
  bool could = !r.type || Watched(*r.type);
  if (could || std::any_of(items.begin(), items.end(), [](const auto& i) { return Watched(i.type); })) {
    NCEN_RETURN_IF_ERROR(LogItems("search", r.type ? storage::RecordTypeName(*r.type) : "any", items, true,
                                  SearchQueryJson(r)));
  }
  return items;
}

Result<std::vector<storage::ListItem>> Records::Conflicts(size_t limit) {
  NCEN_ASSIGN_OR_RETURN(auto items, store_.Conflicts(limit));
  NCEN_RETURN_IF_ERROR(LogItems("list", "any", items, false, json{{"conflicts", true}}));
  return items;
}

}  // namespace ncen::node
