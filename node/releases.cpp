#include "node/releases.h"

#include <algorithm>
#include <map>

#include "base/log.h"
#include "base/text.h"
#include "crypto/hash.h"
#include "node/records.h"
#include "storage/membership.h"
#include "storage/record_json.h"

namespace ncen::node {

using json = nlohmann::ordered_json;
using storage::Op;
using storage::RecordId;
using storage::RecordType;
using storage::RecordView;
using storage::Scope;

namespace {

Scope OtherScope(Scope s) { return s == Scope::kRegional ? Scope::kGlobal : Scope::kRegional; }

// The JSON body of the winning version; nullopt when deleted or withheld.
std::optional<json> WinnerJson(const RecordView& v) {
  if (v.state.quarantined() || !v.state.live()) return std::nullopt;
  const Bytes& p = v.payloads[v.state.WinnerIndex()];
  if (p.empty()) return std::nullopt;
  auto j = storage::RecordToJson(v.state.type, p);
  if (!j.ok()) return std::nullopt;
  return std::move(j).value();
}

// Leaves of a JSON value, "path" -> compact value.
void Flatten(const json& v, const std::string& path, std::map<std::string, std::string>& out) {
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) Flatten(it.value(), path.empty() ? it.key() : path + "." + it.key(), out);
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i) Flatten(v[i], path + "[" + std::to_string(i) + "]", out);
  } else {
    out[path] = v.dump();
  }
}

// The reason a record may not be released, or Ok.
Status Releasable(const RecordId& id, const RecordView& view) {
  const std::string name = storage::FormatRecordId(id);
  NCEN_RETURN_IF_ERROR(QuarantineStatus(id, view.state));
  if (view.state.type != RecordType::kSeizure) {
    return InvalidArgument(name + " is a " + storage::RecordTypeName(view.state.type) +
                           ", not a seizure: only seizures are released");
  }
  if (!view.state.live()) return InvalidArgument("seizure " + name + " is deleted");
  if (view.state.conflict()) {
    return InvalidArgument("seizure " + name + " is in conflict: resolve it before releasing");
  }
  return Status::Ok();
}

}  // namespace

std::vector<std::string> ReportChanges(const json& before, const json& after) {
  std::map<std::string, std::string> a, b;
  Flatten(before, "", a);
  Flatten(after, "", b);
  for (auto* m : {&a, &b}) {
    m->erase("released_at");
    m->erase("released_by");
  }
  std::vector<std::string> out;
  auto ia = a.begin();
  auto ib = b.begin();
  while (ia != a.end() || ib != b.end()) {
    if (ib == b.end() || (ia != a.end() && ia->first < ib->first)) {
      out.push_back(ia->first + ": " + ia->second + " -> (none)");
      ++ia;
    } else if (ia == a.end() || ib->first < ia->first) {
      out.push_back(ib->first + ": (none) -> " + ib->second);
      ++ib;
    } else {
      if (ia->second != ib->second) out.push_back(ia->first + ": " + ia->second + " -> " + ib->second);
      ++ia;
      ++ib;
    }
  }
  return out;
}

Result<const Bytes*> Releases::Key() {
  // Made with the store (or when an older store is first opened), so that
  // a dry run or a listing never writes.
  if (key_.empty()) {
    NCEN_ASSIGN_OR_RETURN(key_, store_.LocalSecret("release"));
  }
  return &key_;
}

Result<std::string> Releases::Country() {
  if (country_) return *country_;
  NCEN_ASSIGN_OR_RETURN(auto membership, store_.GetMembership());
  if (!membership) {
    country_ = "";  // a store of no network: milestone 1's trusted roster
    return *country_;
  }
  const storage::Member* self = membership->Find(me_.public_key());
  if (!self) return FailedPrecondition("this node has no certificate in its network yet (ncenctl join)");
  if (self->revoked) return FailedPrecondition("this node's certificate is revoked");
  if (self->root || self->cert.kind != storage::MemberKind::kNationalHub) {
    return FailedPrecondition(std::string("only a national hub may release; this node is ") +
                              (self->root ? "the root" : storage::MemberKindName(self->cert.kind)));
  }
  country_ = self->cert.country;
  return *country_;
}

Result<RecordId> Releases::ReportId(const RecordId& seizure, Scope scope) {
  NCEN_ASSIGN_OR_RETURN(const Bytes* key, Key());
  NCEN_ASSIGN_OR_RETURN(std::string country, Country());
  const std::string_view tag = "ncen report id v1";
  Bytes msg(tag.begin(), tag.end());
  msg.push_back(static_cast<uint8_t>(scope));
  Append(msg, seizure);
  crypto::Hash256 h = crypto::Blake2b256Keyed(*key, msg);
  // Bytes 0-7: the country's tag (every node checks it); 8-15: the keyed
  // hash, with the RFC 4122 variant bits.
  RecordId id;
  storage::SetReportCountryTag(id, country);
  std::copy_n(h.begin(), 8, id.begin() + 8);
  id[8] = static_cast<uint8_t>((id[8] & 0x3f) | 0x80);
  return id;
}

Result<std::string> Releases::Reference(const RecordId& seizure) {
  NCEN_ASSIGN_OR_RETURN(const Bytes* key, Key());
  const std::string_view tag = "ncen report reference v1";
  Bytes msg(tag.begin(), tag.end());
  Append(msg, seizure);
  crypto::Hash256 h = crypto::Blake2b256Keyed(*key, msg);
  return ToHex(ByteView(h.data(), 16));
}

Result<storage::ReportDraft> Releases::Draft(const RecordId& id, const RecordView& view, const std::string& at) {
  NCEN_RETURN_IF_ERROR(Releasable(id, view));
  std::optional<json> seizure = WinnerJson(view);
  if (!seizure) return InvalidArgument("seizure " + storage::FormatRecordId(id) + " has no payload on this node");
  NCEN_ASSIGN_OR_RETURN(std::string country, Country());
  if (!country.empty() && seizure->value("country", "") != country) {
    return InvalidArgument("seizure " + storage::FormatRecordId(id) + " was made in " +
                           seizure->value("country", "no country") + "; this hub releases for " + country);
  }
  // Linked records as held here: live ones by their body, unknown ids as
  // "not held" (counted, nothing known); deleted ones are not counted.
  auto linked = [&](const char* key, RecordType want) -> Result<std::vector<storage::LinkedBody>> {
    std::vector<storage::LinkedBody> out;
    auto it = seizure->find(key);
    if (it == seizure->end() || !it->is_array()) return out;
    for (const json& ref : *it) {
      if (!ref.is_string()) continue;
      auto rid = storage::ParseRecordId(ref.get<std::string>());
      if (!rid.ok()) continue;
      auto other = store_.GetRecord(*rid);
      if (!other.ok()) {
        if (other.status().code() != StatusCode::kNotFound) return other.status();
        out.push_back(std::nullopt);
        continue;
      }
      if (other->state.quarantined() || other->state.type != want || !other->state.live()) continue;
      out.push_back(WinnerJson(*other));
    }
    return out;
  };
  NCEN_ASSIGN_OR_RETURN(auto suspects, linked("suspects", RecordType::kSuspect));
  NCEN_ASSIGN_OR_RETURN(auto companies, linked("companies", RecordType::kCompany));
  NCEN_ASSIGN_OR_RETURN(std::string reference, Reference(id));
  const std::string& name = store_.meta().name;
  storage::ReleaseStamp stamp{reference, name.substr(0, Utf8PrefixBytes(name, 100)), at};
  return storage::BuildReport(*seizure, suspects, companies, policy_, stamp);
}

// The photos that go with a seizure's report: those named now, and those
// its report carried before, while each is a live photo of the seizure.
// Each named one found is added to `used`.
Result<json> Releases::ReportPhotos(const RecordId& seizure, std::span<const crypto::Hash256> named,
                                    const json* held_report, std::set<crypto::Hash256>& used) {
  std::set<std::string> wanted;
  for (const auto& h : named) wanted.insert(storage::BlobHashText(h));
  if (held_report && held_report->contains("photos")) {
    for (const json& p : (*held_report)["photos"]) wanted.insert(p["image"].value("hash", ""));
  }
  json out = json::array();
  if (wanted.empty()) return out;
  NCEN_RETURN_IF_ERROR(store_.CatchUpIndexAll());
  NCEN_ASSIGN_OR_RETURN(auto ids, store_.PhotosOf(seizure));
  for (const RecordId& id : ids) {
    NCEN_ASSIGN_OR_RETURN(RecordView view, store_.GetRecord(id));
    if (view.state.type != RecordType::kPhoto) continue;
    auto body = WinnerJson(view);
    if (!body) continue;
    std::string image = (*body)["image"].value("hash", "");
    if (!wanted.count(image)) continue;
    auto hash = storage::ParseBlobHash(image);
    if (!hash) continue;
    bool named_now = std::find(named.begin(), named.end(), *hash) != named.end();
    if (body->value("metadata_kept", false)) {
      if (!named_now) continue;
      return InvalidArgument("photo " + image + " of seizure " + storage::FormatRecordId(seizure) +
                             " kept its GPS and camera data: it cannot leave the country (add it again "
                             "without --keep-metadata)");
    }
    if (named_now) used.insert(*hash);
    bool listed = false;
    for (const json& p : out) listed = listed || p["image"]["hash"] == image;
    if (!listed) out.push_back({{"image", (*body)["image"]}, {"preview", (*body)["preview"]}});
  }
  return out;
}

Result<std::vector<ReleaseOutcome>> Releases::Release(std::span<const RecordId> seizures, Scope scope,
                                                      bool dry_run, std::span<const crypto::Hash256> photos) {
  if (scope != Scope::kRegional && scope != Scope::kGlobal) {
    return InvalidArgument("a release goes to regional or global");
  }
  if (seizures.empty()) return InvalidArgument("no seizure to release");
  NCEN_RETURN_IF_ERROR(Country().status());
  {
    std::vector<RecordId> sorted(seizures.begin(), seizures.end());
    std::sort(sorted.begin(), sorted.end());
    auto dup = std::adjacent_find(sorted.begin(), sorted.end());
    if (dup != sorted.end()) return InvalidArgument("seizure " + storage::FormatRecordId(*dup) + " is named twice");
  }
  const std::string at = log::IsoTime(store_.NowMs());
  std::vector<ReleaseOutcome> out;
  std::vector<storage::LocalChange> changes;
  std::set<crypto::Hash256> used_photos;
  for (const RecordId& id : seizures) {
    auto view = store_.GetRecord(id);
    if (!view.ok()) {
      if (view.status().code() == StatusCode::kNotFound) return NotFound("no record " + storage::FormatRecordId(id));
      return view.status();
    }
    NCEN_ASSIGN_OR_RETURN(storage::ReportDraft draft, Draft(id, *view, at));
    ReleaseOutcome o;
    o.seizure = id;
    o.scope = scope;
    NCEN_ASSIGN_OR_RETURN(o.report, ReportId(id, scope));
    {
      std::optional<json> before;
      for (Scope s : {scope, OtherScope(scope)}) {
        NCEN_ASSIGN_OR_RETURN(RecordId rid, ReportId(id, s));
        auto held_report = store_.GetRecord(rid);
        if (held_report.ok() && held_report->state.type == RecordType::kSeizureReport && !before) {
          before = WinnerJson(*held_report);
        }
      }
      NCEN_ASSIGN_OR_RETURN(json chosen, ReportPhotos(id, photos, before ? &*before : nullptr, used_photos));
      if (!chosen.empty()) draft.report["photos"] = std::move(chosen);
    }
    NCEN_ASSIGN_OR_RETURN(Bytes payload, storage::RecordFromJson(RecordType::kSeizureReport, draft.report));
    o.withheld = std::move(draft.withheld);
    // What is out already: the same content means nothing to write.
    bool same = false;
    auto held = store_.GetRecord(o.report);
    if (held.ok()) {
      if (held->state.quarantined() || held->state.type != RecordType::kSeizureReport) {
        return FailedPrecondition("the report of seizure " + storage::FormatRecordId(id) + " (" +
                                  storage::FormatRecordId(o.report) + ") is quarantined here: see `ncenctl get`");
      }
      auto body = WinnerJson(*held);
      if (body && body->value("reference", "") != draft.report["reference"]) {
        return FailedPrecondition("report id " + storage::FormatRecordId(o.report) + " holds the report of another "
                                  "seizure (a hash collision): seizure " + storage::FormatRecordId(id) + " not released");
      }
      if (body && !held->state.conflict()) {
        same = ReportChanges(*body, draft.report).empty();
        if (same) draft.report = *body;
      }
    } else if (held.status().code() != StatusCode::kNotFound) {
      return held.status();
    }
    o.body = std::move(draft.report);
    NCEN_ASSIGN_OR_RETURN(RecordId other, ReportId(id, OtherScope(scope)));
    auto other_view = store_.GetRecord(other);
    if (!other_view.ok() && other_view.status().code() != StatusCode::kNotFound) return other_view.status();
    bool move = other_view.ok() && other_view->state.live() && !other_view->state.quarantined();
    if (!dry_run) {
      if (!same) {
        storage::LocalChange change{o.report, RecordType::kSeizureReport, Op::kPut, std::move(payload), scope};
        // The seizure must be as it was read: an edit that landed meanwhile
        // would otherwise leave with nobody having seen it. And so must the
        // report in the other scope: a release to it that landed meanwhile
        // would otherwise stay live beside this one (counted twice).
        storage::VersionVector seen = view->state.CausalContext();
        change.check = [id, seen, other, move](storage::TxnRecords& records, Bytes*) -> Status {
          auto changed = [&] {
            return ConflictError("seizure " + storage::FormatRecordId(id) +
                                 " or its report changed while it was released; release again");
          };
          NCEN_ASSIGN_OR_RETURN(RecordView now, records.Get(id));
          if (!(now.state.CausalContext() == seen)) return changed();
          auto other_now = records.Get(other);
          if (!other_now.ok() && other_now.status().code() != StatusCode::kNotFound) return other_now.status();
          bool live = other_now.ok() && other_now->state.live() && !other_now->state.quarantined();
          if (live != move) return changed();
          return Status::Ok();
        };
        changes.push_back(std::move(change));
        o.written = true;
      }
      if (move) {
        changes.push_back({other, RecordType::kSeizureReport, Op::kDelete, {}, OtherScope(scope)});
        o.moved = true;
      }
    }
    out.push_back(std::move(o));
  }
  for (const auto& h : photos) {
    if (!used_photos.count(h)) {
      return InvalidArgument("photo " + storage::BlobHashText(h) + " is not the image of a live photo of the "
                             "seizures released (see `ncenctl photo list SEIZURE_ID`)");
    }
  }
  if (!changes.empty()) NCEN_RETURN_IF_ERROR(store_.AppendLocal(me_, changes).status());
  return out;
}

Result<std::vector<RecordId>> Releases::Withdraw(std::span<const RecordId> seizures) {
  if (seizures.empty()) return InvalidArgument("no seizure to withdraw");
  std::vector<storage::LocalChange> changes;
  std::vector<RecordId> out;
  NCEN_ASSIGN_OR_RETURN(std::string country, Country());
  for (const RecordId& id : seizures) {
    auto seizure = store_.GetRecord(id);
    if (seizure.ok() && !seizure->state.quarantined() && seizure->state.type == RecordType::kSeizureReport) {
      // A report named by its own id (one whose seizure is not held here).
      if (!storage::HasReportCountryTag(id, country)) {
        return InvalidArgument("report " + storage::FormatRecordId(id) + " is not one of this country's");
      }
      if (!seizure->state.live()) return InvalidArgument("report " + storage::FormatRecordId(id) + " is withdrawn already");
      changes.push_back({id, RecordType::kSeizureReport, Op::kDelete, {}, seizure->state.scope});
      out.push_back(id);
      continue;
    }
    if (seizure.ok() && !seizure->state.quarantined() && seizure->state.type != RecordType::kSeizure) {
      return InvalidArgument(storage::FormatRecordId(id) + " is a " + storage::RecordTypeName(seizure->state.type) +
                             ", not a seizure: only seizures are released");
    }
    size_t before = changes.size();
    for (Scope scope : {Scope::kRegional, Scope::kGlobal}) {
      NCEN_ASSIGN_OR_RETURN(RecordId report, ReportId(id, scope));
      auto held = store_.GetRecord(report);
      if (!held.ok()) {
        if (held.status().code() == StatusCode::kNotFound) continue;
        return held.status();
      }
      if (held->state.quarantined() || !held->state.live()) continue;
      changes.push_back({report, RecordType::kSeizureReport, Op::kDelete, {}, scope});
      out.push_back(report);
    }
    if (changes.size() == before) {
      return InvalidArgument("seizure " + storage::FormatRecordId(id) + " has no live release from this node");
    }
  }
  NCEN_RETURN_IF_ERROR(store_.AppendLocal(me_, changes).status());
  return out;
}

Result<std::vector<ReleaseRow>> Releases::List(bool pending_only) {
  // Report ids of every seizure held, then the reports of this node's own
  // feeds that are among them.
  std::map<RecordId, std::pair<RecordId, Scope>> by_report;
  NCEN_ASSIGN_OR_RETURN(auto seizure_ids, store_.RecordIdsOfType(RecordType::kSeizure));
  for (const RecordId& s : seizure_ids) {
    for (Scope scope : {Scope::kRegional, Scope::kGlobal}) {
      NCEN_ASSIGN_OR_RETURN(RecordId r, ReportId(s, scope));
      by_report[r] = {s, scope};
    }
  }
  const std::string now = log::IsoTime(store_.NowMs());
  std::vector<ReleaseRow> out;
  NCEN_ASSIGN_OR_RETURN(std::string country, Country());
  NCEN_ASSIGN_OR_RETURN(auto reports, store_.RecordIdsOfType(RecordType::kSeizureReport));
  {
    for (const RecordId& report : reports) {
      // This country's reports: those this node released (under this key or
      // an earlier one of the same store), and any other hub's of the country.
      if (!storage::HasReportCountryTag(report, country)) continue;
      ReleaseRow row;
      row.report = report;
      auto held = store_.GetRecord(report);
      if (!held.ok() || held->state.type != RecordType::kSeizureReport) continue;
      row.scope = held->state.scope;
      std::optional<json> body = WinnerJson(*held);
      row.live = body.has_value();
      if (body && body->contains("released_at")) row.released_at = (*body)["released_at"].get<std::string>();
      auto it = by_report.find(report);
      if (it == by_report.end()) {
        row.seizure_state = "absent";
        row.pending = row.live;
        if (row.live) {
          row.changes.push_back("no seizure held here has this report (released by another hub of this country, or "
                                "its seizure is gone): withdraw it by its id if it should not stand");
        }
      } else {
        row.seizure = it->second.first;
        NCEN_ASSIGN_OR_RETURN(RecordView sv, store_.GetRecord(row.seizure));
        if (!sv.state.live()) {
          row.seizure_state = "deleted";
          row.pending = row.live;
          if (row.live) row.changes.push_back("the seizure was deleted: withdraw the report");
        } else if (sv.state.conflict()) {
          row.seizure_state = "conflict";
          row.pending = row.live;
          if (row.live) row.changes.push_back("the seizure is in conflict: resolve it, then release again");
        } else {
          row.seizure_state = "live";
          if (row.live) {
            auto draft = Draft(row.seizure, sv, now);
            std::set<crypto::Hash256> used;
            auto photos = draft.ok() ? ReportPhotos(row.seizure, {}, &*body, used) : Result<json>(json::array());
            if (draft.ok() && photos.ok() && !photos->empty()) draft->report["photos"] = *photos;
            if (draft.ok()) {
              row.changes = ReportChanges(*body, draft->report);
            } else {
              row.changes.push_back(draft.status().message());
            }
            row.pending = !row.changes.empty();
          }
        }
      }
      if (!pending_only || row.pending) out.push_back(std::move(row));
    }
  }
  return out;
}

}  // namespace ncen::node
