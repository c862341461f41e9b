#include "storage/text_fold.h"

#include <array>
#include <cstdint>

namespace ncen::storage {

namespace {

// ASCII folding of U+00C0..U+017F, one space-separated token per code point;
// "_" marks a code point that is not a letter.
constexpr std::string_view kLatinFold =
    // U+00C0..U+00FF
    "a a a a a a ae c e e e e i i i i d n o o o o o _ o u u u u y th ss "
    "a a a a a a ae c e e e e i i i i d n o o o o o _ o u u u u y th y "
    // U+0100..U+017F
    "a a a a a a c c c c c c c c d d d d e e e e e e e e e e g g g g g g g g h h h h "
    "i i i i i i i i i i ij ij j j k k k l l l l l l l l l l n n n n n n n n n o o o o o o "
    "oe oe r r r r r r s s s s s s s s t t t t t t u u u u u u u u u u u u w w y y y z z z z "
    "z z s";

const std::array<std::string_view, 192>& LatinTable() {
  static const std::array<std::string_view, 192> table = [] {
    std::array<std::string_view, 192> t{};
    size_t pos = 0;
    for (size_t i = 0; i < t.size(); ++i) {
      size_t end = kLatinFold.find(' ', pos);
      if (end == std::string_view::npos) end = kLatinFold.size();
      t[i] = kLatinFold.substr(pos, end - pos);
      pos = end + 1;
    }
    return t;
  }();
  return table;
}

// Decodes one UTF-8 code point; invalid bytes decode as U+FFFD, one byte each.
uint32_t NextCodePoint(std::string_view s, size_t& i) {
  auto b = static_cast<uint8_t>(s[i]);
  int len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
  if (len == 0 || i + len > s.size()) {
    ++i;
    return 0xFFFD;
  }
  uint32_t cp = len == 1 ? b : b & (0x7F >> len);
  for (int k = 1; k < len; ++k) {
    auto c = static_cast<uint8_t>(s[i + k]);
    if ((c >> 6) != 2) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (c & 0x3F);
  }
  i += len;
  return cp;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

std::string FoldText(std::string_view s) {
  std::string out;
  bool pending_space = false;
  auto emit = [&](std::string_view piece) {
    if (pending_space && !out.empty()) out += ' ';
    pending_space = false;
    out += piece;
  };
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = NextCodePoint(s, i);
    if (cp >= 0x300 && cp <= 0x36F) continue;  // combining marks
    if (cp < 0x80) {
      char c = static_cast<char>(cp);
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
        emit(std::string_view(&c, 1));
      } else if (c == '\'') {
        // O'Brien and OBrien fold alike.
      } else {
        pending_space = true;
      }
    } else if (cp >= 0xC0 && cp <= 0x17F) {
      std::string_view f = LatinTable()[cp - 0xC0];
      if (f == "_") pending_space = true;
      else emit(f);
    } else if (cp < 0xC0 || cp == 0xFFFD || (cp >= 0x2000 && cp <= 0x206F)) {
      pending_space = true;  // Latin-1 punctuation, general punctuation, junk
    } else {
      if (cp >= 0x410 && cp <= 0x42F) cp += 0x20;        // Cyrillic А..Я
      else if (cp >= 0x400 && cp <= 0x40F) cp += 0x50;   // Cyrillic Ѐ..Џ
      else if (cp >= 0x391 && cp <= 0x3A9) cp += 0x20;   // Greek Α..Ω
      std::string piece;
      AppendUtf8(piece, cp);
      emit(piece);
    }
  }
  return out;
}

std::vector<std::string> FoldTokens(std::string_view s) {
  std::vector<std::string> tokens;
  std::string folded = FoldText(s);
  size_t pos = 0;
  while (pos < folded.size()) {
    size_t end = folded.find(' ', pos);
    if (end == std::string::npos) end = folded.size();
    if (end > pos) tokens.push_back(folded.substr(pos, end - pos));
    pos = end + 1;
  }
  return tokens;
}

std::string NormalizeIdentifier(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c >= 'a' && c <= 'z') out += static_cast<char>(c - 'a' + 'A');
    else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) out += c;
  }
  return out;
}

}  // namespace ncen::storage
