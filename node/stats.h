// Statistics, structured filters and export over seizures and seizure
// reports (docs/sharing.md §6, §7): the record operations an analyst uses,
// shared by every front end. They read the facts the index keeps
// (storage/facts.h), so a pivot over a year of a million records scans one
// range of the index.
//
// Thread-safety: like the Store (one thread at a time).
#pragma once

#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "storage/facts.h"
#include "storage/store.h"

namespace ncen::node {

enum class Dimension {
  kCommodity,     // goods category/subtype ("drugs/heroin"; the category alone without a subtype)
  kCategory,      // goods category
  kCountry,       // where the seizure was made
  kRouteCountry,  // every distinct country of the route
  kMode,          // transport mode
  kDetection,     // detection method
  kConcealment,   // concealment method
  kOffice,        // office code
  kMonth,         // 2026-11
  kQuarter,       // 2026-Q4
  kYear,          // 2026
};
std::optional<Dimension> ParseDimension(std::string_view name);
const char* DimensionName(Dimension d);
// "commodity, category, country, ..." for error messages.
std::string DimensionNames();

struct StatsRequest {
  storage::RecordType type = storage::RecordType::kSeizure;  // or kSeizureReport
  std::vector<Dimension> by;                                 // one or two, distinct
  std::string from, to;                                      // YYYY-MM-DD, inclusive; empty = open
};

// One cell of a pivot. A record counts once in each cell it falls in; its
// goods add to the cell's quantities (per unit: never summed across units)
// and values (per currency). With a goods dimension (commodity, category),
// only the goods of that cell's commodity count.
struct StatsCell {
  std::vector<std::string> keys;  // one per dimension; "(none)" when the record has no value
  uint64_t records = 0;
  std::map<std::string, double> quantity;  // unit -> sum (rounded to a millionth)
  std::map<std::string, double> value;     // currency -> sum (rounded to a millionth)
};

struct StatsResult {
  std::vector<Dimension> by;
  std::vector<StatsCell> cells;  // sorted by keys
  StatsCell total;               // every record in range once, all its goods
};

// A request from its text form (ncenctl stats --by/--type, the API's query):
// `by` "commodity,country"; `type` seizure or seizure_report, or empty: by
// this node's role (a regional or global hub holds reports; every other
// node seizures). kInvalidArgument naming what is wrong.
Result<StatsRequest> ParseStatsRequest(const storage::Store& store, const crypto::PublicKey& me, const std::string& by,
                                       const std::string& type, const std::string& from, const std::string& to);

// kInvalidArgument for bad dates, an inverted range, no or too many or
// repeated dimensions, or a type without facts.
Result<StatsResult> ComputeStats(storage::Store& store, const StatsRequest& request);

// Structured filters (ncenctl search): each empty one matches everything.
struct FactFilter {
  std::string country;        // seizure country
  std::string commodity;      // a category, a subtype, or category/subtype
  std::string route_country;  // any country of the route
  std::string mode, detection, concealment;  // JSON enumerant names
  bool empty() const {
    return country.empty() && commodity.empty() && route_country.empty() && mode.empty() && detection.empty() &&
           concealment.empty();
  }
};
// Checks the values (kInvalidArgument naming the bad one) and returns the
// predicate over facts.
Result<std::function<bool(const storage::FactView&)>> MakeFactFilter(const FactFilter& filter);

enum class ExportFormat { kNdjson, kCsv };
// Writes every live seizure report dated within [from, to] in date order:
// NDJSON, one `get --json` object per line; or CSV, one row per goods item
// with the columns of docs/sharing.md §7. Returns the number of reports.
Result<uint64_t> ExportReports(storage::Store& store, const std::string& from, const std::string& to,
                               ExportFormat format, std::ostream& out);
// The CSV header line's columns.
const std::vector<std::string>& ExportColumns();

}  // namespace ncen::node
