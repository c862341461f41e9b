// Generates realistic, fictitious seizure records (~600 bytes as a payload)
// from ~100 customs offices, for the demo and the benchmarks. Deterministic
// for a given Rng. One generator per thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "base/rng.h"

namespace ncen::tools {

// The index makes the reference unique: "<office>-<year>-<index>".
nlohmann::ordered_json GenerateSeizure(Rng& rng, uint64_t index);
// The office code of GenerateSeizure's record `index` (for lookups).
std::string GeneratedReference(Rng& rng, uint64_t index);

}  // namespace ncen::tools
