#include "tools/ncenctl/output.h"

#include <fmt/format.h>

#include <iostream>

#include "base/log.h"
#include "base/text.h"

namespace ncen::ctl {

using log::IsoTime;

std::string DumpJson(const json& j) {
  return j.dump(2, ' ', false, json::error_handler_t::replace);
}

void PrintJson(const json& j) { std::cout << DumpJson(j) << "\n"; }

std::string Shown(std::string_view text) { return SanitizeText(text, kShownTextBytesMax); }

json TimeOrNull(int64_t ms) { return ms != 0 ? json(IsoTime(ms)) : json(nullptr); }

json TextOrNull(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }

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

std::string SignedHeaderLine(const storage::SignedHeader& h) {
  const storage::EntryHeader& e = h.header;
  return fmt::format("entry {} seq {} written {}: {} {} {}", ToHex(h.hash()), e.seq,
                     IsoTime(e.timestamp_ms), storage::OpName(e.op),
                     storage::RecordTypeName(e.record_type), storage::FormatRecordId(e.record_id));
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

}  // namespace ncen::ctl
