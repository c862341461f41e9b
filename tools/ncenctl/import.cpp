// ncenctl import: many records from a JSON array or newline-delimited JSON,
// all or nothing.
//
// The input is read one record at a time and each record is validated and
// converted to its payload at once, so the process holds the payloads and
// not the file's text plus a JSON tree of every record (~5.5 times the file
// before). Nothing is written until every record is valid; then all of them
// go to Store::AppendLocal in one call, which is one LMDB transaction: a
// crash or an error leaves none of them.
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <vector>

#include "node/node_dir.h"
#include "node/records.h"
#include "tools/ncenctl/commands.h"
#include "tools/ncenctl/input.h"

namespace ncen::ctl {

namespace {

// Takes one record object; `label` says where it was ("line 3", "record 2 (index 1)").
using RecordFn = std::function<Status(const json& object, const std::string& label)>;

// Thrown out of the parser callback to stop at the first bad record; caught
// in ReadArray, never beyond.
struct StopParsing {
  Status status;
};

// Counts records on a terminal, so a large import shows it is alive.
class Counter {
 public:
  Counter() : tty_(::isatty(STDERR_FILENO)) {}
  void Add() {
    if (++count_ % 1000 == 0 && tty_) std::fprintf(stderr, "\rvalidated %zu records", count_);
  }
  void Done() const {
    if (tty_ && count_ >= 1000) std::fprintf(stderr, "\rvalidated %zu records\n", count_);
  }

 private:
  bool tty_;
  size_t count_ = 0;
};

// Skips leading white space, counting lines and the columns of the last one
// (so positions the parser gives after it can be told in the whole file).
// Returns the next character, or EOF.
int SkipSpace(std::istream& in, size_t* lines, size_t* columns) {
  *lines = *columns = 0;
  int c;
  while ((c = in.peek()) != EOF && std::isspace(c)) {
    in.get();
    if (c == '\n') {
      ++*lines;
      *columns = 0;
    } else {
      ++*columns;
    }
  }
  return c;
}

// A JSON array, element by element: the parser callback hands each element
// to `record` as soon as it is complete and then drops it from the tree.
Status ReadArray(std::istream& in, const std::string& where, size_t lines_before,
                 size_t columns_before, const RecordFn& record) {
  size_t index = 0;
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth > kJsonDepthMax) {
      throw StopParsing{InvalidArgument(where + ": JSON nested deeper than " +
                                        std::to_string(kJsonDepthMax) + " levels")};
    }
    bool element = depth == 1 &&
                   (event == json::parse_event_t::object_end ||
                    event == json::parse_event_t::array_end || event == json::parse_event_t::value);
    if (!element) return true;
    Status s = record(
        parsed, "record " + std::to_string(index + 1) + " (index " + std::to_string(index) + ")");
    if (!s.ok()) throw StopParsing{std::move(s)};
    ++index;
    return false;  // converted: the parser forgets it
  };
  try {
    // What is left is an empty array: every element was handed over and dropped.
    [[maybe_unused]] json emptied = json::parse(in, callback);
  } catch (const StopParsing& stop) {
    return stop.status;
  } catch (const json::parse_error& e) {
    return InvalidArgument(where + ": not valid JSON at " +
                           ParseErrorPosition(e, lines_before, columns_before));
  } catch (const json::exception& e) {
    return InvalidArgument(where + ": not usable JSON (" + e.what() + ")");
  }
  if (in.bad()) return IOError(where + ": read failed");
  return Status::Ok();
}

// One JSON object per line; blank lines (and CR before LF) are allowed.
Status ReadLines(std::istream& in, const std::string& where, size_t first_line,
                 const RecordFn& record) {
  std::string line;
  for (size_t number = first_line; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string label = "line " + std::to_string(number);
    NCEN_ASSIGN_OR_RETURN(json object, ParseJson(line, where + ": " + label));
    NCEN_RETURN_IF_ERROR(record(object, label));
  }
  if (in.bad()) return IOError(where + ": read failed");
  return Status::Ok();
}

// A record of the import: an object with a known "type", and a valid body.
Result<node::NewRecord> ToRecord(const json& object, const std::string& at) {
  if (!object.is_object()) return InvalidArgument(at + ": a record must be a JSON object");
  auto type_it = object.find("type");
  if (type_it == object.end() || !type_it->is_string()) {
    return InvalidArgument(at + ": field 'type' is required (seizure, suspect or company)");
  }
  auto type = storage::ParseRecordType(type_it->get<std::string>());
  if (!type) {
    return InvalidArgument(at + ": field 'type': unknown record type '" +
                           type_it->get<std::string>() + "'");
  }
  NCEN_ASSIGN_OR_RETURN(Bytes payload, ValidateRecord(*type, object, at, false));
  return node::NewRecord{*type, std::move(payload)};
}

// Every record of `in`, validated.
Result<std::vector<node::NewRecord>> ReadRecords(std::istream& in, const std::string& where) {
  std::vector<node::NewRecord> changes;
  Counter counter;
  RecordFn record = [&](const json& object, const std::string& label) -> Status {
    NCEN_ASSIGN_OR_RETURN(node::NewRecord change, ToRecord(object, where + ": " + label));
    changes.push_back(std::move(change));
    counter.Add();
    return Status::Ok();
  };
  size_t lines = 0, columns = 0;
  int first = SkipSpace(in, &lines, &columns);
  if (first == '[') {
    NCEN_RETURN_IF_ERROR(ReadArray(in, where, lines, columns, record));
  } else {
    NCEN_RETURN_IF_ERROR(ReadLines(in, where, lines + 1, record));
  }
  counter.Done();
  if (changes.empty()) return InvalidArgument(where + ": no records");
  return changes;
}

}  // namespace

Status Import(const Globals& g, const std::string& file) {
  std::string where = InputName(file);
  std::ifstream opened;
  if (file != "-") {
    opened.open(file, std::ios::binary);
    if (!opened) return InvalidArgument(file + ": cannot open");
  }
  std::istream& in = file == "-" ? std::cin : opened;
  NCEN_ASSIGN_OR_RETURN(auto records, ReadRecords(in, where));
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::OpenNodeDir(g.data_dir));
  NCEN_ASSIGN_OR_RETURN(auto ids, node::Records(*n.store, n.identity, LocalActor()).Import(std::move(records)));
  if (g.json) {
    json out = json::array();
    for (const auto& id : ids) out.push_back(storage::FormatRecordId(id));
    PrintJson({{"count", ids.size()}, {"ids", out}});
  } else {
    for (const auto& id : ids) std::cout << storage::FormatRecordId(id) << "\n";
    std::cerr << "imported " << ids.size() << " records in one transaction\n";
  }
  return Status::Ok();
}

}  // namespace ncen::ctl
