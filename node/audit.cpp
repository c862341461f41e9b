#include "node/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/log.h"
#include "base/text.h"

namespace ncen::node {

using json = nlohmann::ordered_json;

namespace {

Status IoError(const std::string& what, const std::string& path) {
  return Status(StatusCode::kIOError, what + " " + path + ": " + std::strerror(errno));
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json LineJson(const AuditEvent& e, size_t ids, const json& query, bool truncated) {
  json j = {{"time", log::IsoTime(e.time_ms)},
            {"user", SanitizeText(e.user, kAuditFieldBytesMax)},
            {"via", SanitizeText(e.via, 16)},
            {"address", SanitizeText(e.address, kAuditFieldBytesMax)},
            {"action", SanitizeText(e.action, 16)},
            {"type", SanitizeText(e.type, 32)}};
  json records = json::array();
  for (size_t i = 0; i < ids; ++i) records.push_back(SanitizeText(e.records[i], 64));
  j["records"] = std::move(records);
  if (!query.is_null()) j["query"] = query;
  if (truncated) {
    j["truncated"] = true;
    j["records_total"] = e.records.size();
  }
  return j;
}

}  // namespace

std::string AuditLog::PathIn(const std::string& data_dir) { return data_dir + "/audit.log"; }

std::string AuditLog::Line(const AuditEvent& e) {
  constexpr size_t kMax = kAuditLineBytesMax - 1;  // the newline
  std::string line = Dump(LineJson(e, e.records.size(), e.query, false));
  if (line.size() <= kMax) return line;
  // Too long: fewer ids (halving, then adding back one at a time while the
  // line fits), then, when no id fits, the start of the query's text.
  size_t ids = e.records.size();
  while (ids > 0) {
    size_t upper = ids;
    ids /= 2;
    line = Dump(LineJson(e, ids, e.query, true));
    if (line.size() > kMax) continue;
    while (ids + 1 < upper) {
      std::string more = Dump(LineJson(e, ids + 1, e.query, true));
      if (more.size() > kMax) break;
      line = std::move(more);
      ++ids;
    }
    return line;
  }
  // User, address and the other fields are capped, so a short enough query fits.
  std::string query = SanitizeText(Dump(e.query), kMax / 2);
  for (;;) {
    line = Dump(LineJson(e, 0, query, true));
    if (line.size() <= kMax || query.empty()) return line;
    query.resize(Utf8PrefixBytes(query, query.size() / 2));
  }
}

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& data_dir) {
  std::string path = PathIn(data_dir);
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("cannot open the access log", path);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    Status s = IoError("cannot stat the access log", path);
    ::close(fd);
    return s;
  }
  if (st.st_size > 0) {
    // A torn last line (a crash during a write) would swallow the next
    // event: end it first.
    int rd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    char last = '\n';
    if (rd >= 0) {
      if (::pread(rd, &last, 1, st.st_size - 1) != 1) last = '\n';
      ::close(rd);
    }
    if (last != '\n' && ::write(fd, "\n", 1) != 1) {
      Status s = IoError("cannot write the access log", path);
      ::close(fd);
      return s;
    }
  }
  return std::unique_ptr<AuditLog>(new AuditLog(fd, std::move(path)));
}

AuditLog::~AuditLog() { ::close(fd_); }

Status AuditLog::Append(const AuditEvent& event) {
  std::string line = Line(event);
  line.push_back('\n');
  std::lock_guard lock(mutex_);
  // One write(2): with O_APPEND the kernel places it at the end whole.
  ssize_t n;
  do {
    n = ::write(fd_, line.data(), line.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return IoError("cannot write the access log", path_);
  if (static_cast<size_t>(n) != line.size()) {
    errno = ENOSPC;  // a short write to a regular file: the disk is full
    return IoError("short write to the access log (" + std::to_string(n) + " of " +
                       std::to_string(line.size()) + " bytes)",
                   path_);
  }
  return Status::Ok();
}

namespace {

std::string Text(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// One line as an event; the reason it is not one otherwise.
std::string ParseLine(const std::string& line, AuditEvent* e) {
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded()) return "not JSON (a write that did not finish?)";
  if (!j.is_object()) return "not a JSON object";
  auto time = ParseAuditTime(Text(j, "time"));
  if (!time.ok()) return "no valid \"time\"";
  e->time_ms = *time;
  e->user = Text(j, "user");
  e->via = Text(j, "via");
  e->address = Text(j, "address");
  e->action = Text(j, "action");
  e->type = Text(j, "type");
  if (e->action.empty()) return "no \"action\"";
  if (auto it = j.find("records"); it != j.end() && it->is_array()) {
    for (const auto& id : *it) {
      if (id.is_string()) e->records.push_back(id.get<std::string>());
    }
  }
  if (auto it = j.find("query"); it != j.end()) e->query = *it;
  e->truncated = j.value("truncated", false);
  if (auto it = j.find("records_total"); it != j.end() && it->is_number_unsigned()) {
    e->records_total = it->get<size_t>();
  }
  return {};
}

}  // namespace

Result<AuditLines> AuditLog::Read(const std::string& data_dir, const AuditFilter& filter) {
  std::string path = PathIn(data_dir);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return NotFound("no access log in " + data_dir + " (nothing was logged yet)");
    return IoError("cannot read the access log", path);
  }
  AuditLines out;
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;  // the newline Open adds after a torn line may follow a whole one
    AuditEvent e;
    if (std::string why = ParseLine(line, &e); !why.empty()) {
      out.damaged.push_back("line " + std::to_string(number) + ": " + why);
      continue;
    }
    if (!filter.user.empty() && e.user != filter.user) continue;
    if (e.time_ms < filter.since_ms) continue;
    out.events.push_back(std::move(e));
  }
  if (in.bad()) return IoError("cannot read the access log", path);
  if (filter.limit != 0 && out.events.size() > filter.limit) {
    out.events.erase(out.events.begin(), out.events.end() - static_cast<std::ptrdiff_t>(filter.limit));
  }
  return out;
}

Result<int64_t> ParseAuditTime(const std::string& text) {
  auto bad = [&] {
    return InvalidArgument("'" + text + "' is not a date (YYYY-MM-DD) or a UTC time (YYYY-MM-DDTHH:MM[:SS[.mmm]]Z)");
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, ms = 0;
  auto digits = [&](size_t at, size_t n, int* v) {
    if (at + n > text.size()) return false;
    *v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      *v = *v * 10 + (text[i] - '0');
    }
    return true;
  };
  if (!digits(0, 4, &y) || text.size() < 10 || text[4] != '-' || !digits(5, 2, &mo) || text[7] != '-' ||
      !digits(8, 2, &d)) {
    return bad();
  }
  if (text.size() > 10) {
    size_t at = 10;
    if (text[at] != 'T' || !digits(at + 1, 2, &h) || at + 3 >= text.size() || text[at + 3] != ':' ||
        !digits(at + 4, 2, &mi)) {
      return bad();
    }
    at += 6;
    if (at < text.size() && text[at] == ':') {
      if (!digits(at + 1, 2, &s)) return bad();
      at += 3;
      if (at < text.size() && text[at] == '.') {
        if (!digits(at + 1, 3, &ms)) return bad();
        at += 4;
      }
    }
    if (at + 1 != text.size() || text[at] != 'Z') return bad();
    if (h > 23 || mi > 59 || s > 59) return bad();
  }
  using namespace std::chrono;
  year_month_day date{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!date.ok() || y < 1970 || y > 9999) return bad();
  int64_t days = sys_days(date).time_since_epoch().count();
  return ((days * 24 + h) * 60 + mi) * int64_t{60000} + s * int64_t{1000} + ms;
}

}  // namespace ncen::node
