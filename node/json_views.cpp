#include "node/json_views.h"

#include "base/log.h"
#include "crypto/identity.h"
#include "node/network.h"
#include "node/records.h"
#include "storage/message_format.h"
#include "storage/record_json.h"

namespace ncen::node {

using log::IsoTime;

std::string DumpJson(const json& j, int indent) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

json TimeOrNull(int64_t ms) { return ms != 0 ? json(IsoTime(ms)) : json(nullptr); }

json TextOrNull(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }

json ItemsJson(const std::vector<storage::ListItem>& items) {
  json arr = json::array();
  for (const auto& item : items) {
    arr.push_back({{"id", storage::FormatRecordId(item.id)},
                   {"type", storage::RecordTypeName(item.type)},
                   {"versions", item.versions},
                   {"quarantined", item.quarantined},
                   {"summary", item.summary}});
  }
  return arr;
}

Result<json> VersionBody(const storage::RecordView& view, size_t i) {
  json body = json::object();
  if (view.state.versions[i].live() && !view.payloads[i].empty()) {
    NCEN_ASSIGN_OR_RETURN(body, storage::RecordToJson(view.state.type, view.payloads[i]));
  }
  return body;
}

namespace {

Result<json> VersionsJson(const storage::RecordView& view) {
  const auto& state = view.state;
  size_t winner = state.WinnerIndex();
  json versions = json::array();
  for (size_t i = 0; i < state.versions.size(); ++i) {
    const auto& v = state.versions[i];
    NCEN_ASSIGN_OR_RETURN(json vj, VersionBody(view, i));
    vj["author"] = crypto::NodeIdHex(v.dot.author);
    vj["seq"] = v.dot.seq;
    vj["timestamp"] = IsoTime(v.timestamp_ms);
    vj["op"] = storage::OpName(v.op);
    vj["winner"] = i == winner;
    versions.push_back(std::move(vj));
  }
  return versions;
}

}  // namespace

Result<json> RecordJson(const storage::RecordView& view) {
  const auto& state = view.state;
  if (state.quarantined()) {
    return json{{"id", storage::FormatRecordId(view.id)},
                {"quarantined", true},
                {"classes", QuarantineClasses(state)}};
  }
  if (!state.live() && !state.conflict()) {
    return NotFound("record " + storage::FormatRecordId(view.id) + " was deleted");
  }
  NCEN_ASSIGN_OR_RETURN(json winner_body, VersionBody(view, state.WinnerIndex()));
  json out = {{"id", storage::FormatRecordId(view.id)},
              {"type", storage::RecordTypeName(state.type)}};
  for (auto& [key, value] : winner_body.items()) out[key] = value;
  if (!state.conflict()) return out;
  NCEN_ASSIGN_OR_RETURN(out["versions"], VersionsJson(view));
  return out;
}

json SignedHeaderJson(const storage::SignedHeader& h) {
  const storage::EntryHeader& e = h.header;
  return {{"hash", ToHex(h.hash())},
          {"author", crypto::NodeIdHex(e.author)},
          {"scope", storage::ScopeName(e.scope)},
          {"seq", e.seq},
          {"timestamp", IsoTime(e.timestamp_ms)},
          {"record_id", storage::FormatRecordId(e.record_id)},
          {"type", storage::RecordTypeName(e.record_type)},
          {"op", storage::OpName(e.op)}};
}

json ForkJson(const storage::ForkReport& f) {
  json evidence = nullptr;
  if (f.has_evidence()) evidence = json::array({SignedHeaderJson(f.a), SignedHeaderJson(f.b)});
  return {{"author", crypto::NodeIdHex(f.feed.author)},
          {"fingerprint", crypto::Fingerprint(f.feed.author)},
          {"scope", storage::ScopeName(f.feed.scope)},
          {"seq", f.seq},
          {"ours", ToHex(f.ours)},
          {"theirs", ToHex(f.theirs)},
          {"detected", IsoTime(f.detected_ms)},
          {"source", f.source},
          {"evidence", evidence}};
}

std::string MemberName(const storage::Membership& m, const crypto::PublicKey& key) {
  const storage::Member* member = m.Find(key);
  if (!member) return crypto::Fingerprint(key);
  return member->root ? "root" : member->cert.name;
}

std::string MemberRole(const storage::Member& m) { return m.root ? "root" : storage::MemberKindName(m.cert.kind); }

json HistoryJson(const storage::RecordId& id, const History& history,
                 const storage::Membership* membership, const crypto::PublicKey& self, const std::string& self_name) {
  json entries = json::array();
  for (const auto& item : history.items) {
    const auto& author = item.dot.author;
    std::string name = author == self ? self_name
                       : membership   ? MemberName(*membership, author)
                                      : crypto::Fingerprint(author);
    entries.push_back({{"author", crypto::NodeIdHex(author)},
                       {"author_name", name},
                       {"seq", item.dot.seq},
                       {"time", IsoTime(item.timestamp_ms)},
                       {"op", storage::OpName(item.op)},
                       {"entered_by", item.entered_by},
                       {"current", item.current},
                       {"payload_held", item.payload_held}});
  }
  return {{"id", storage::FormatRecordId(id)},
          {"type", storage::RecordTypeName(history.type)},
          {"entries", entries},
          {"truncated", history.truncated}};
}

json MembersJson(const storage::Membership* m, const crypto::PublicKey& self) {
  json out = json::array();
  if (!m) return {{"network_id", nullptr}, {"members", out}};
  using storage::Scope;
  const Scope scopes[] = {Scope::kNational, Scope::kRegional, Scope::kGlobal, Scope::kNetwork};
  for (const auto& [key, member] : m->members()) {
    json cut = nullptr;
    if (member.revoked) {
      cut = json::object();
      for (Scope s : scopes) cut[storage::ScopeName(s)] = member.CutoffOf(s);
    }
    json exchange = json::object();
    for (Scope s : scopes) exchange[storage::ScopeName(s)] = key != self && m->MayExchange(self, key, s);
    json served = json::array();
    for (const auto& c : member.cert.countries) served.push_back(c);
    out.push_back({{"id", crypto::NodeIdHex(key)},
                   {"fingerprint", crypto::Fingerprint(key)},
                   {"name", member.root ? "root" : member.cert.name},
                   {"role", MemberRole(member)},
                   {"country", member.root ? json(nullptr) : TextOrNull(member.cert.country)},
                   {"countries", served},
                   {"certified_by", member.root ? json(nullptr) : json(crypto::NodeIdHex(member.issuer))},
                   {"certified_by_name", member.root ? json(nullptr) : json(MemberName(*m, member.issuer))},
                   {"revoked", cut},
                   {"predecessor",
                    member.cert.predecessor ? json(crypto::NodeIdHex(*member.cert.predecessor)) : json(nullptr)},
                   {"successor", member.successor ? json(crypto::NodeIdHex(*member.successor)) : json(nullptr)},
                   {"self", key == self},
                   {"exchange", exchange}});
  }
  return {{"network_id", NetworkIdHex(m->root())}, {"members", out}};
}

json ScopesJson(const std::vector<storage::Scope>& scopes) {
  json out = json::array();
  for (auto scope : scopes) out.push_back(storage::ScopeName(scope));
  return out;
}

json PeerConfigJson(const PeerConfig& p) {
  return {{"name", p.name},
          {"id", crypto::NodeIdHex(p.id)},
          {"fingerprint", crypto::Fingerprint(p.id)},
          {"address", TextOrNull(p.address)},
          {"scopes", ScopesJson(p.scopes)},
          {"blobs", p.blobs},
          {"rate", p.rate == 0 ? json(nullptr) : json(RateText(p.rate))}};
}

json PeerJson(const PeerReport& p) {
  const auto* row = p.row ? &*p.row : nullptr;
  json out = PeerConfigJson(p.config);
  out["address"] = TextOrNull(p.address());
  out["connected"] = p.connected;
  out["connected_since"] = p.connected ? TimeOrNull(row->connected_since_ms) : json(nullptr);
  out["last_sync"] = row ? TimeOrNull(row->last_sync_ms) : json(nullptr);
  out["behind"] = p.known() ? json(row->behind) : json(nullptr);
  out["ahead"] = p.known() ? json(row->ahead) : json(nullptr);
  out["in_sync"] = p.in_sync;
  out["bytes_in"] = row ? row->bytes_in : 0;
  out["bytes_out"] = row ? row->bytes_out : 0;
  // Photos: what this node still fetches from the peer, and what moved.
  out["photos"] = {{"pending", row ? row->blobs_pending : 0},
                   {"bytes_pending", row ? row->blob_bytes_pending : 0},
                   {"bytes_in_flight", row ? row->blob_bytes_in_flight : 0},
                   {"bytes_received", row ? row->blob_bytes_received : 0},
                   {"bytes_sent", row ? row->blob_bytes_sent : 0}};
  out["last_error"] = row ? TextOrNull(row->last_error) : json(nullptr);
  out["updated"] = row ? TimeOrNull(row->updated_ms) : json(nullptr);
  return out;
}

json NetworkJson(const StatusReport& d) {
  if (!d.network) return nullptr;
  const auto& n = *d.network;
  json violations = json::array();
  for (const auto& v : n.violations) {
    violations.push_back({{"author", crypto::NodeIdHex(v.feed.author)},
                          {"scope", storage::ScopeName(v.feed.scope)},
                          {"seq", v.seq},
                          {"detected", TimeOrNull(v.detected_ms)},
                          {"source", v.source},
                          {"reason", v.reason}});
  }
  return {{"id", n.id_hex},
          {"members", n.members},
          {"certified", n.certified},
          {"role", TextOrNull(n.role)},
          {"country", TextOrNull(n.country)},
          {"revoked", n.revoked},
          {"violations", violations}};
}

json StatusJson(const StatusReport& d) {
  json records = json::object();
  for (int t = 0; t < storage::kRecordTypeCount; ++t) {
    records[storage::RecordTypeName(storage::kRecordTypes[t])] = d.stats.records[t];
  }
  json feeds = json::array();
  for (const auto& f : d.frontier) {
    feeds.push_back({{"author", crypto::NodeIdHex(f.feed.author)},
                     {"scope", storage::ScopeName(f.feed.scope)},
                     {"seq", f.seq},
                     {"head", ToHex(f.head)}});
  }
  json forks = json::array();
  for (const auto& f : d.forks) forks.push_back(ForkJson(f));
  json peers = json::array();
  for (const auto& p : d.peers) peers.push_back(PeerJson(p));
  json refused = json::array();
  for (const auto& r : d.refused) {
    refused.push_back({{"fingerprint", crypto::Fingerprint(r.id)},
                       {"id", crypto::NodeIdHex(r.id)},
                       {"address", TextOrNull(r.address)},
                       {"at", IsoTime(r.at_ms)},
                       {"reason", r.reason}});
  }
  return {{"node_id", crypto::NodeIdHex(d.meta.node_id)},
          {"fingerprint", crypto::Fingerprint(d.meta.node_id)},
          {"name", d.meta.name},
          {"role", d.meta.role},
          {"entries", d.stats.entries},
          {"records", records},
          {"conflicts", d.stats.conflicts},
          {"messages", {{"unread", d.mail.unread}, {"unread_alerts", d.mail.unread_alerts},
                        {"received", d.mail.received}, {"sent", d.mail.sent}}},
          {"frontier", feeds},
          {"frontier_digest", ToHex(d.frontier_digest)},
          {"record_state_digest", d.record_state_digest ? json(ToHex(*d.record_state_digest)) : json(nullptr)},
          {"forks", forks},
          {"stale_identity", !d.stale.reason.empty()},
          {"stale_identity_reason", TextOrNull(d.stale.reason)},
          {"listen", TextOrNull(d.config.listen)},
          {"network_id", d.network ? d.network->id_hex : d.config.network_id},
          {"network", NetworkJson(d)},
          {"peers", peers},
          {"refused", refused}};
}

json AddedPhotoJson(const AddedPhoto& added, const storage::RecordId& subject) {
  return {{"id", storage::FormatRecordId(added.id)},
          {"type", "photo"},
          {"subject", storage::FormatRecordId(subject)},
          {"image", storage::BlobHashText(added.image.hash)},
          {"image_size", added.image.size},
          {"preview", storage::BlobHashText(added.preview.hash)},
          {"preview_size", added.preview.size},
          {"media_type", added.media_type},
          {"width", added.width},
          {"height", added.height},
          {"metadata_kept", added.metadata_kept}};
}

json PhotoItemJson(const PhotoItem& p) {
  return {{"id", storage::FormatRecordId(p.id)},
          {"image", storage::BlobHashText(p.image)},
          {"image_size", p.image_size},
          {"image_held", p.image_held},
          {"preview", storage::BlobHashText(p.preview)},
          {"preview_size", p.preview_size},
          {"preview_held", p.preview_held},
          {"media_type", p.media_type},
          {"width", p.width},
          {"height", p.height},
          {"caption", TextOrNull(p.caption)},
          {"note", TextOrNull(p.note)},
          {"metadata_kept", p.metadata_kept},
          {"added", TimeOrNull(p.added_ms)},
          {"added_by", crypto::NodeIdHex(p.added_by)},
          {"entered_by", TextOrNull(p.entered_by)}};
}

namespace {

const char* MailStateName(storage::MailState s) {
  switch (s) {
    case storage::MailState::kUnread: return "unread";
    case storage::MailState::kRead: return "read";
    case storage::MailState::kArchived: return "archived";
  }
  return "?";
}

json SumsJson(const std::map<std::string, double>& sums) {
  json out = json::object();
  for (const auto& [k, v] : sums) out[k] = v;
  return out;
}

}  // namespace

json MessageItemJson(const MessageItem& m, bool with_body) {
  json j = {{"id", storage::FormatRecordId(m.mail.id)},
            {"thread", storage::FormatRecordId(m.mail.thread)},
            {"from", m.from},
            {"from_id", crypto::NodeIdHex(m.mail.from)},
            {"sent_by", TextOrNull(m.content.sent_by)},
            {"sent_at", IsoTime(m.mail.sent_at_ms)},
            {"priority", storage::MessagePriorityName(static_cast<storage::MessagePriority>(m.mail.priority))},
            {"state", m.mail.sent ? "sent" : MailStateName(m.mail.state)},
            {"to", m.content.to},
            {"recipients", m.content.recipients},
            {"subject", m.content.subject}};
  if (with_body) {
    j["body"] = m.content.body;
    j["links"] = m.content.links;
    j["reply_to"] = TextOrNull(m.content.reply_to);
  }
  json attachments = json::array();
  for (const storage::Attachment& a : m.content.attachments) {
    attachments.push_back({{"name", a.name}, {"media_type", a.media_type}, {"size", a.size}});
  }
  j["attachments"] = attachments;
  return j;
}

json SentMessageJson(const SentMessage& sent) {
  return {{"id", storage::FormatRecordId(sent.id)},
          {"scope", storage::ScopeName(sent.scope)},
          {"recipients", sent.recipients}};
}

json ReportJson(const storage::RecordId& report, const json& body) {
  json out = {{"id", storage::FormatRecordId(report)}, {"type", "seizure_report"}};
  for (auto it = body.begin(); it != body.end(); ++it) out[it.key()] = it.value();
  return out;
}

json ReleaseOutcomeJson(const ReleaseOutcome& out) {
  return {{"seizure", storage::FormatRecordId(out.seizure)},
          {"report", storage::FormatRecordId(out.report)},
          {"scope", storage::ScopeName(out.scope)},
          {"written", out.written},
          {"moved", out.moved},
          {"withheld", out.withheld}};
}

json ReleaseRowJson(const ReleaseRow& r) {
  return {{"seizure", r.seizure_state == "absent" ? json() : json(storage::FormatRecordId(r.seizure))},
          {"report", storage::FormatRecordId(r.report)},
          {"scope", storage::ScopeName(r.scope)},
          {"state", r.live ? "released" : "withdrawn"},
          {"released_at", TextOrNull(r.released_at)},
          {"seizure_state", r.seizure_state},
          {"pending", r.pending},
          {"changes", r.changes}};
}

json StatsJson(const StatsResult& result, storage::RecordType type, const std::string& from, const std::string& to) {
  std::vector<std::string> dims;
  for (auto d : result.by) dims.push_back(DimensionName(d));
  json cells = json::array();
  for (const auto& c : result.cells) {
    json cell = json::object();
    for (size_t i = 0; i < dims.size(); ++i) cell[dims[i]] = c.keys[i];
    cell["records"] = c.records;
    cell["quantity"] = SumsJson(c.quantity);
    cell["value"] = SumsJson(c.value);
    cells.push_back(std::move(cell));
  }
  return {{"type", storage::RecordTypeName(type)},
          {"by", dims},
          {"from", TextOrNull(from)},
          {"to", TextOrNull(to)},
          {"total",
           {{"records", result.total.records},
            {"quantity", SumsJson(result.total.quantity)},
            {"value", SumsJson(result.total.value)}}},
          {"cells", cells}};
}

}  // namespace ncen::node
