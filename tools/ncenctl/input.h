// How ncenctl reads what the user gives it: a JSON file or standard input,
// parsed with a nesting limit, and a JSON object validated as a record.
// Every failure is kInvalidArgument naming the file (and line or field); no
// parser exception leaves these functions. ncenctl is single-threaded.
#pragma once

#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "base/status.h"
#include "storage/types.h"
#include "tools/ncenctl/output.h"

namespace ncen::ctl {

// Deeper nesting is refused before it can exhaust the stack later.
inline constexpr int kJsonDepthMax = 32;

// The whole of FILE, or of standard input for "-"; kInvalidArgument past
// `max_bytes` (read no further), for a directory, or when it cannot be read.
Result<std::string> ReadInput(const std::string& file, size_t max_bytes = SIZE_MAX);
// "<stdin>" for "-", else the file name: how messages name the input.
std::string InputName(const std::string& file);

// Parses `text` as one JSON value. kInvalidArgument "WHERE: not valid JSON at
// line L, column C (what)" or naming the nesting limit.
Result<json> ParseJson(const std::string& text, const std::string& where);

// "line L, column C (what)" from a parser error: where nlohmann found it,
// moved by `lines_before` (and by `columns_before` on its first line) when
// parsing started after skipped text.
std::string ParseErrorPosition(const json::parse_error& e, size_t lines_before = 0,
                               size_t columns_before = 0);

// Validates one JSON object as a record of `type`: its payload, or
// kInvalidArgument "WHERE: field 'x': ...".
Result<Bytes> ValidateRecord(storage::RecordType type, const json& object, const std::string& where,
                             bool allow_id);

}  // namespace ncen::ctl
