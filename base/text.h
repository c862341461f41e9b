// Text that came from outside the process (a peer, a file, a user): UTF-8
// validation, and a sanitizer for text that is only ever shown (log lines,
// peer error messages, names in a hello). Plain functions, any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ncen {

// True when `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view text);

// A copy of `text` that is valid UTF-8 with no control characters, at most
// `max_bytes` long and cut on a character boundary: every invalid byte and
// every control character (tab and newline included) becomes '?'. For text a
// peer sent that will be stored, logged or printed, never interpreted.
std::string SanitizeText(std::string_view text, size_t max_bytes);

// The length of the longest prefix of `text` (valid UTF-8) that is at most
// `max_bytes` long and ends on a character boundary.
size_t Utf8PrefixBytes(std::string_view text, size_t max_bytes);

}  // namespace ncen
