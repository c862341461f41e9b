#include "base/text.h"

#include <cstdint>

namespace ncen {

namespace {

// Length of the well-formed UTF-8 sequence at text[at], or 0 when the bytes
// there are not one (RFC 3629, table 3-7 of the Unicode standard).
size_t SequenceLength(std::string_view text, size_t at) {
  auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  uint8_t b0 = byte(at);
  if (b0 < 0x80) return 1;
  size_t n;
  uint8_t lo = 0x80, hi = 0xbf;  // the allowed range of the second byte
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    n = 2;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    n = 3;
    if (b0 == 0xe0) lo = 0xa0;  // no overlong forms
    if (b0 == 0xed) hi = 0x9f;  // no surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    n = 4;
    if (b0 == 0xf0) lo = 0x90;  // no overlong forms
    if (b0 == 0xf4) hi = 0x8f;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (at + n > text.size()) return 0;
  if (byte(at + 1) < lo || byte(at + 1) > hi) return 0;
  for (size_t i = 2; i < n; ++i) {
    if (byte(at + i) < 0x80 || byte(at + i) > 0xbf) return 0;
  }
  return n;
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  for (size_t at = 0; at < text.size();) {
    // Runs of ASCII are the usual case.
    if (static_cast<uint8_t>(text[at]) < 0x80) {
      ++at;
      continue;
    }
    size_t n = SequenceLength(text, at);
    if (n == 0) return false;
    at += n;
  }
  return true;
}

std::string SanitizeText(std::string_view text, size_t max_bytes) {
  std::string out;
  out.reserve(text.size() < max_bytes ? text.size() : max_bytes);
  for (size_t at = 0; at < text.size();) {
    size_t n = SequenceLength(text, at);
    bool control = n == 1 && (static_cast<uint8_t>(text[at]) < 0x20 || text[at] == 0x7f);
    size_t emit = (n == 0 || control) ? 1 : n;
    if (out.size() + emit > max_bytes) break;
    if (n == 0 || control) {
      out += '?';
      at += 1;
    } else {
      out.append(text.substr(at, n));
      at += n;
    }
  }
  return out;
}

size_t Utf8PrefixBytes(std::string_view text, size_t max_bytes) {
  size_t at = 0;
  while (at < text.size()) {
    size_t n = SequenceLength(text, at);
    if (n == 0 || at + n > max_bytes) break;
    at += n;
  }
  return at;
}

}  // namespace ncen
