// Node-local code lists for the entry form's pickers (docs/api.md "Code
// lists"): the customs offices and HS codes this administration uses, which
// no built-in list can know. An administrator puts them in the node
// directory, one file per list, never replicated:
//
//   DIR/code-lists/offices.tsv   CODE<TAB>label   (CODE: an office code, e.g. PKKHI)
//   DIR/code-lists/hs.tsv        CODE<TAB>label   (CODE: an HS code of 6, 8 or 10 digits)
//
// UTF-8 text (a leading byte-order mark is skipped), one entry per line;
// empty lines and lines starting with '#' are skipped; a label is at most
// 200 bytes with no control character, line separator or bidirectional
// control. A line that breaks a rule is left out and named in `problems`
// (file, line, why), so one bad line never hides the rest and is never
// silent. A missing file is an empty list. A file over 16 MiB, or that is
// not a regular file (a FIFO, a device: never waited on), is not loaded (a
// problem, and an empty list); past 50,000 entries the rest is left out (a
// problem). The server still validates every value a record carries: a
// list only helps an officer pick.
//
// CodeListCache re-reads a file when its size or modification time changes;
// safe from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace ncen::node {

inline constexpr const char* kCodeListsDirName = "code-lists";
inline constexpr size_t kCodeListFileBytesMax = size_t{16} << 20;
inline constexpr size_t kCodeListEntriesMax = 50000;
inline constexpr size_t kCodeLabelBytesMax = 200;

struct CodeEntry {
  std::string code;
  std::string label;
};

struct CodeList {
  std::vector<CodeEntry> entries;     // in file order, each code once (the first wins)
  std::vector<std::string> problems;  // "offices.tsv:12: 'PKK' is not an office code"
};

enum class CodeListKind { kOffices, kHsCodes };
const char* CodeListFileName(CodeListKind kind);  // "offices.tsv", "hs.tsv"

// Parses the text of a list file named `file_name` (for the problems).
CodeList ParseCodeList(CodeListKind kind, std::string_view text, std::string_view file_name);
// Reads DIR/code-lists/<file>: empty when the file is missing; a problem when
// it cannot be read or is too large.
CodeList LoadCodeList(const std::string& dir, CodeListKind kind);

class CodeListCache {
 public:
  explicit CodeListCache(std::string dir) : dir_(std::move(dir)) {}
  std::shared_ptr<const CodeList> Get(CodeListKind kind);

 private:
  struct Slot {
    int64_t mtime_ns = -1;
    int64_t size = -1;
    std::shared_ptr<const CodeList> list;
  };
  std::string dir_;
  std::mutex mu_;
  Slot slots_[2];
};

}  // namespace ncen::node
