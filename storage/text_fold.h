// Folding of names for search: lower case, Latin diacritics removed
// ("Müller" → "muller", "Łukasz" → "lukasz", "ØSTERGÅRD" → "ostergard"),
// combining marks dropped, basic Cyrillic and Greek lower-cased. Pure
// functions, any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ncen::storage {

// The folded text; separators (anything that is not a letter or digit)
// become single spaces, trimmed at both ends.
std::string FoldText(std::string_view utf8);
// FoldText split at the spaces.
std::vector<std::string> FoldTokens(std::string_view utf8);
// Identifiers (passport, registration, tax numbers): upper-case ASCII letters
// and digits only, everything else dropped ("p-000 0001" → "P0000001").
std::string NormalizeIdentifier(std::string_view text);

}  // namespace ncen::storage
