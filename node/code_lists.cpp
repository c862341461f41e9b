#include "node/code_lists.h"

#include <sys/stat.h>

#include <fstream>
#include <set>
#include <sstream>

#include "base/text.h"
#include "storage/codes.h"

namespace ncen::node {

const char* CodeListFileName(CodeListKind kind) {
  return kind == CodeListKind::kOffices ? "offices.tsv" : "hs.tsv";
}

namespace {

bool HasControl(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

std::string Quoted(std::string_view s) { return "'" + SanitizeText(s, 40) + "'"; }

}  // namespace

CodeList ParseCodeList(CodeListKind kind, std::string_view text, std::string_view file_name) {
  CodeList out;
  std::set<std::string, std::less<>> seen;
  size_t line_no = 0;
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
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};  // no list: nothing to pick from
  std::string text;
  text.resize(kCodeListFileBytesMax + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  CodeList out;
  if (in.bad()) {
    out.problems.push_back(name + ": cannot be read");
  } else if (text.size() > kCodeListFileBytesMax) {
    out.problems.push_back(name + ": larger than " + std::to_string(kCodeListFileBytesMax >> 20) +
                           " MiB: not loaded");
  } else {
    out = ParseCodeList(kind, text, name);
  }
  return out;
}

std::shared_ptr<const CodeList> CodeListCache::Get(CodeListKind kind) {
  std::string path = dir_ + "/" + kCodeListsDirName + "/" + CodeListFileName(kind);
  struct stat st {};
  int64_t mtime_ns = -2, size = -2;  // a missing file is a state of its own
  if (::stat(path.c_str(), &st) == 0) {
    mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
    size = st.st_size;
  }
  std::lock_guard<std::mutex> lock(mu_);
  Slot& slot = slots_[kind == CodeListKind::kOffices ? 0 : 1];
  if (!slot.list || slot.mtime_ns != mtime_ns || slot.size != size) {
    slot.list = std::make_shared<const CodeList>(LoadCodeList(dir_, kind));
    slot.mtime_ns = mtime_ns;
    slot.size = size;
  }
  return slot.list;
}

}  // namespace ncen::node
