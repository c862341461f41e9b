// Facts: the few coded fields of a seizure or a seizure report that
// statistics and structured search read (country, office, mode, detection,
// concealment, route countries, goods with quantities and values), kept in
// the `index` database beside the search terms so that a pivot over a year
// of a million records scans one compact range instead of decoding a
// million payloads (docs/log-format.md §7, docs/sharing.md §6).
//
// Pure functions, safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "storage/types.h"

namespace ncen::storage {

// Index term kind of a fact: the term is the type code ('0' + type) and the
// date YYYYMMDD; the key's value holds the encoded fact.
inline constexpr char kTermFact = 'f';

// The fact's index term ("f5" + "20261102"), or "" when the type has no
// facts (suspects, companies) or the payload does not decode.
std::string FactTerm(RecordType type, std::string_view yyyymmdd);

// One goods item of a fact. Views point into the encoded fact.
struct FactGoods {
  uint8_t category = 0;  // GoodsCategory ordinal
  uint8_t unit = 0;      // Unit ordinal
  std::string_view subtype;
  double quantity = 0;
  std::string_view currency;  // empty when no value
  double value = 0;
};

// A decoded fact. Views point into the bytes it was decoded from.
struct FactView {
  std::string_view country;   // 2 letters
  std::string_view office;    // 5 characters or empty
  uint8_t mode = 0, detection = 0, concealment = 0, direction = 0;  // enum ordinals
  std::vector<std::string_view> route_countries;  // distinct, sorted
  std::vector<FactGoods> goods;
};

// The encoded fact of a seizure or seizure report payload and its date as
// YYYYMMDD; nullopt for other types or a payload that does not decode.
struct EncodedFact {
  std::string date;  // YYYYMMDD
  Bytes bytes;
};
std::optional<EncodedFact> MakeFact(RecordType type, ByteView payload);

// Decodes into `out` (reusing its vectors). kCorruption when malformed.
Status DecodeFact(ByteView bytes, FactView& out);

}  // namespace ncen::storage
