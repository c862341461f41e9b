// AuditLog: the node's local access log, DIR/audit.log — who viewed,
// searched or listed suspect and company data (docs/audit.md). Local to
// the node, never replicated; append-only JSON lines, one event a line:
//
//   {"time":"2026-11-30T10:00:00.123Z","user":"a.khan","via":"api",
//    "address":"10.0.0.7","action":"view","type":"suspect","records":["…"]}
//
// Written by node::Records when it was given an actor and an AuditLog
// (node/records.h); read by `ncenctl audit`.
//
// Thread-safety: Append may be called from any number of threads at once
// (the HTTP server's handlers): each event is one write(2) of one whole line
// to a descriptor opened with O_APPEND, under a mutex, and a line is at most
// kAuditLineBytesMax bytes, so lines from threads and from other processes
// (ncenctl next to the daemon) never interleave. Read may run at any time;
// it sees the lines whole up to the moment it reads.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/status.h"

namespace ncen::node {

// The longest line Append writes, newline included. A longer event loses
// ids from the end of `records`, then its query is cut, and the line says
// "truncated": true (with "records_total", the count before cutting).
inline constexpr size_t kAuditLineBytesMax = 4096;
// Longest user and address kept in a line (longer ones are cut).
inline constexpr size_t kAuditFieldBytesMax = 200;

struct AuditEvent {
  int64_t time_ms = 0;   // Unix milliseconds, UTC (the caller's clock)
  std::string user;      // the officer (API) or the local system user (CLI)
  std::string via;       // "api" or "cli"
  std::string address;   // the API client's address; empty for the CLI
  std::string action;    // "view", "search" or "list"
  std::string type;      // "suspect", "company", or "mixed" for a search
  std::vector<std::string> records;        // the record ids shown (canonical form)
  nlohmann::ordered_json query;            // what a search asked (null for view/list)
  bool truncated = false;                  // the line was cut to fit (Read only)
  size_t records_total = 0;                // when truncated: ids before cutting (Read only)
};

// What Read returns: empty strings/zero mean "any".
struct AuditFilter {
  std::string user;      // exact match
  int64_t since_ms = 0;  // events at or after this time
  size_t limit = 0;      // the newest `limit` events (0: all)
};

struct AuditLines {
  std::vector<AuditEvent> events;  // oldest first (file order)
  // One line each for lines that are not an event: "line 12: not JSON
  // (a write that did not finish?)". A torn last line after a crash is the
  // usual one; the events around it are still returned.
  std::vector<std::string> damaged;
};

class AuditLog {
 public:
  // Opens (creating, mode 0600) DIR/audit.log for appending. When the file
  // does not end with a newline (a write cut short by a crash), one is added
  // so that the torn line stays alone and the next event starts a line.
  // kIOError naming the path when it cannot be opened.
  static Result<std::unique_ptr<AuditLog>> Open(const std::string& data_dir);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends one line. kIOError when the write fails (the event is not
  // logged; the caller decides whether to refuse what it was logging).
  [[nodiscard]] Status Append(const AuditEvent& event);

  // Reads the whole file through `filter`. kNotFound when DIR holds no
  // audit.log (nothing was ever logged), kIOError when it cannot be read.
  // Damaged lines are reported in AuditLines::damaged, never an error.
  static Result<AuditLines> Read(const std::string& data_dir, const AuditFilter& filter);

  // The line Append writes for `event`, without its newline (exposed for tests).
  static std::string Line(const AuditEvent& event);
  // The path of the log in `data_dir`.
  static std::string PathIn(const std::string& data_dir);

 private:
  AuditLog(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

  std::mutex mutex_;  // one write at a time from this process
  int fd_;
  std::string path_;
};

// "2026-11-30" (midnight UTC) or "2026-11-30T10:00[:00[.123]]Z" → Unix ms.
// kInvalidArgument otherwise.
Result<int64_t> ParseAuditTime(const std::string& text);

}  // namespace ncen::node
