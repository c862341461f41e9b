// How ncenctl shows values: JSON on stdout and text in tables. Shared by the
// command files (commands.cpp, import.cpp, marks.cpp).
//
// Text that a store holds may have come from a peer (an error message, an
// address, a record field) and may not be valid UTF-8: every JSON document is
// dumped with invalid bytes replaced by U+FFFD (nlohmann's dump would throw),
// and such text goes through Shown() before it reaches a table. Plain
// functions; ncenctl is single-threaded.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "storage/entry.h"
#include "storage/store.h"

namespace ncen::ctl {

using json = nlohmann::ordered_json;

// `j` as indented text; never throws on invalid UTF-8 (see above).
std::string DumpJson(const json& j);
// DumpJson(j) and a newline on stdout.
void PrintJson(const json& j);

// `text` made safe for one line of a table: valid UTF-8, no control
// characters, at most kShownTextBytesMax bytes (SanitizeText).
inline constexpr size_t kShownTextBytesMax = 2000;
std::string Shown(std::string_view text);

json TimeOrNull(int64_t ms);               // ISO time, or null for 0
json TextOrNull(const std::string& text);  // null when empty

// A signed header given as evidence: its entry hash, author, feed, seq,
// timestamp, record and op (`ncenctl forks`, `ncenctl stale`).
json SignedHeaderJson(const storage::SignedHeader& h);
// One line of the same, for tables.
std::string SignedHeaderLine(const storage::SignedHeader& h);

// A fork report, as `forks --json` and `status --json` show it; `evidence`
// is null for a report kept from a format-1 store.
json ForkJson(const storage::ForkReport& f);

}  // namespace ncen::ctl
