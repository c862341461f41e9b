#include "node/code_lists.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <set>

#include "base/text.h"
#include "storage/codes.h"

namespace ncen::node {

const char* CodeListFileName(CodeListKind kind) {
  return kind == CodeListKind::kOffices ? "offices.tsv" : "hs.tsv";
}

namespace {

// A control character (C0, DEL, C1), a line or paragraph separator, a
// byte-order mark or a bidirectional control (which would show the text
// reversed in a picker). `s` is valid UTF-8.
bool HasControl(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    uint32_t cp = c;
    size_t n = 1;
    if (c >= 0xf0) {
      cp = c & 0x07, n = 4;
    } else if (c >= 0xe0) {
      cp = c & 0x0f, n = 3;
    } else if (c >= 0xc0) {
      cp = c & 0x1f, n = 2;
    }
    for (size_t k = 1; k < n && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    i += n;
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) return true;
    if (cp == 0x061c || cp == 0x200e || cp == 0x200f || cp == 0x2028 || cp == 0x2029 || cp == 0xfeff) return true;
    if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069)) return true;
  }
  return false;
}

std::string Quoted(std::string_view s) { return "'" + SanitizeText(s, 40) + "'"; }

}  // namespace

CodeList ParseCodeList(CodeListKind kind, std::string_view text, std::string_view file_name) {
  CodeList out;
  std::set<std::string, std::less<>> seen;
  size_t line_no = 0;
  // A byte-order mark (some editors write one) is not part of the first code.
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  auto problem = [&](const std::string& why) {
    // A file of nothing but bad lines should not make a huge answer.
    if (out.problems.size() < 100) out.problems.push_back(std::string(file_name) + ":" + std::to_string(line_no) + ": " + why);
  };
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    if (out.entries.size() == kCodeListEntriesMax) {
      problem("more than " + std::to_string(kCodeListEntriesMax) + " entries: the rest is left out");
      break;
    }
    if (!IsValidUtf8(line)) {
      problem("not UTF-8 text");
      continue;
    }
    size_t tab = line.find('\t');
    if (tab == std::string_view::npos) {
      problem("no tab between the code and its label");
      continue;
    }
    std::string_view code = line.substr(0, tab), label = line.substr(tab + 1);
    bool good = kind == CodeListKind::kOffices ? storage::IsOfficeCode(code) : storage::IsHsCode(code);
    if (!good) {
      problem(Quoted(code) + (kind == CodeListKind::kOffices
                                  ? " is not an office code (a country code, then 3 of A-Z or 2-9)"
                                  : " is not an HS code (6, 8 or 10 digits)"));
      continue;
    }
    if (label.empty() || label.size() > kCodeLabelBytesMax || HasControl(label)) {
      problem("the label of " + std::string(code) + " must be 1 to " + std::to_string(kCodeLabelBytesMax) +
              " bytes with no control character");
      continue;
    }
    if (!seen.insert(std::string(code)).second) {
      problem(std::string(code) + " is listed twice (the first is kept)");
      continue;
    }
    out.entries.push_back({std::string(code), std::string(label)});
  }
  return out;
}

CodeList LoadCodeList(const std::string& dir, CodeListKind kind) {
  std::string name = CodeListFileName(kind);
  std::string path = dir + "/" + kCodeListsDirName + "/" + name;
  CodeList out;
  // Non-blocking: a FIFO or a device opens at once and is then refused as
  // not a regular file, instead of holding a server thread forever.
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) out.problems.push_back(name + ": cannot be opened: " + std::strerror(errno));
    return out;  // no list: nothing to pick from
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    out.problems.push_back(name + ": not a regular file: not loaded");
    return out;
  }
  if (static_cast<uint64_t>(st.st_size) > kCodeListFileBytesMax) {
    ::close(fd);
    out.problems.push_back(name + ": larger than " + std::to_string(kCodeListFileBytesMax >> 20) + " MiB: not loaded");
    return out;
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      out.problems.push_back(name + ": cannot be read: " + std::strerror(errno));
      return out;
    }
    if (n == 0) break;  // shortened while read: what is there
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  text.resize(got);
  return ParseCodeList(kind, text, name);
}

std::shared_ptr<const CodeList> CodeListCache::Get(CodeListKind kind) {
  std::string path = dir_ + "/" + kCodeListsDirName + "/" + CodeListFileName(kind);
  struct stat st {};
  int64_t mtime_ns = -2, size = -2;  // a missing file is a state of its own
  if (::stat(path.c_str(), &st) == 0) {
    mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
    size = st.st_size;
  }
  size_t index = kind == CodeListKind::kOffices ? 0 : 1;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const Slot& slot = slots_[index];
    if (slot.list && slot.mtime_ns == mtime_ns && slot.size == size) return slot.list;
  }
  // Read without the lock: a slow file holds up no other request.
  auto list = std::make_shared<const CodeList>(LoadCodeList(dir_, kind));
  std::lock_guard<std::mutex> lock(mu_);
  slots_[index] = Slot{mtime_ns, size, list};
  return list;
}

}  // namespace ncen::node
