#include "tools/ncenctl/output.h"

#include <fmt/format.h>

#include <iostream>

#include "base/log.h"
#include "base/text.h"

namespace ncen::ctl {

using log::IsoTime;

void PrintJson(const json& j) { std::cout << DumpJson(j) << "\n"; }

std::string Shown(std::string_view text) { return SanitizeText(text, kShownTextBytesMax); }

std::string SignedHeaderLine(const storage::SignedHeader& h) {
  const storage::EntryHeader& e = h.header;
  return fmt::format("entry {} seq {} written {}: {} {} {}", ToHex(h.hash()), e.seq,
                     IsoTime(e.timestamp_ms), storage::OpName(e.op),
                     storage::RecordTypeName(e.record_type), storage::FormatRecordId(e.record_id));
}

}  // namespace ncen::ctl
