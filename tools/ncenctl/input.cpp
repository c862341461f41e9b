#include "tools/ncenctl/input.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "storage/record_json.h"

namespace ncen::ctl {

namespace {

struct TooDeep {};

}  // namespace

Result<std::string> ReadInput(const std::string& file, size_t max_bytes) {
  std::ifstream opened;
  std::istream* in = &std::cin;
  if (file != "-") {
    if (std::filesystem::is_directory(file)) return InvalidArgument(file + ": is a directory");
    opened.open(file, std::ios::binary);
    if (!opened) return InvalidArgument(file + ": cannot open");
    in = &opened;
  }
  std::string out;
  char buf[1 << 16];
  while (*in) {
    in->read(buf, sizeof buf);
    out.append(buf, static_cast<size_t>(in->gcount()));
    if (out.size() > max_bytes) {
      return InvalidArgument(InputName(file) + ": more than " + std::to_string(max_bytes) + " bytes");
    }
  }
  if (in->bad()) return InvalidArgument(InputName(file) + ": cannot read");
  return out;
}

std::string InputName(const std::string& file) { return file == "-" ? "<stdin>" : file; }

std::string ParseErrorPosition(const json::parse_error& e, size_t lines_before,
                               size_t columns_before) {
  // what(): "[json.exception.parse_error.101] parse error at line 3, column 7: syntax error ..."
  std::string what = e.what();
  size_t line = 0, column = 0;
  size_t at = what.find(" at line ");
  if (at == std::string::npos ||
      std::sscanf(what.c_str() + at, " at line %zu, column %zu", &line, &column) != 2) {
    return "byte " + std::to_string(e.byte);
  }
  if (line == 1) column += columns_before;
  line += lines_before;
  size_t colon = what.find(": ", at);
  return "line " + std::to_string(line) + ", column " + std::to_string(column) +
         (colon != std::string::npos ? " (" + what.substr(colon + 2) + ")" : "");
}

Result<json> ParseJson(const std::string& text, const std::string& where) {
  auto limit = [](int depth, json::parse_event_t, json&) {
    if (depth > kJsonDepthMax) throw TooDeep{};
    return true;
  };
  try {
    return json::parse(text, limit);
  } catch (const TooDeep&) {
    return InvalidArgument(where + ": JSON nested deeper than " + std::to_string(kJsonDepthMax) +
                           " levels");
  } catch (const json::parse_error& e) {
    return InvalidArgument(where + ": not valid JSON at " + ParseErrorPosition(e));
  } catch (const json::exception& e) {
    return InvalidArgument(where + ": not usable JSON (" + e.what() + ")");
  }
}

Result<Bytes> ValidateRecord(storage::RecordType type, const json& object, const std::string& where,
                             bool allow_id) {
  auto payload = storage::RecordFromJson(type, object, allow_id);
  if (!payload.ok()) return payload.status().WithContext(where);
  return payload;
}

}  // namespace ncen::ctl
