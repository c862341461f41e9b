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

#include "node/json_views.h"
#include "storage/entry.h"
#include "storage/store.h"

namespace ncen::ctl {

using json = nlohmann::ordered_json;

// JSON shapes shared with the HTTP API (node/json_views.h).
using node::DumpJson;
using node::ForkJson;
using node::SignedHeaderJson;
using node::TextOrNull;
using node::TimeOrNull;

// DumpJson(j) and a newline on stdout.
void PrintJson(const json& j);

// `text` made safe for one line of a table: valid UTF-8, no control
// characters, at most kShownTextBytesMax bytes (SanitizeText).
inline constexpr size_t kShownTextBytesMax = 2000;
std::string Shown(std::string_view text);

// One line of a signed header given as evidence, for tables.
std::string SignedHeaderLine(const storage::SignedHeader& h);

}  // namespace ncen::ctl
