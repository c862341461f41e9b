// Sharing: what of a seizure may leave the country, and the report that
// does (docs/sharing.md). One table classifies every field of seizure,
// suspect and company; BuildReport makes a seizure_report from a seizure
// and its linked records by copying only what the table releases.
//
// Pure functions, safe from any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "storage/types.h"

namespace ncen::storage {

enum class FieldClass : uint8_t {
  kNominal,     // names or singles out a person: never leaves the country
  kSensitive,   // not personal, but national case or trade data: never leaves
  kReleasable,  // leaves in a report, as the rule says
};
const char* FieldClassName(FieldClass c);  // "nominal", "sensitive", "releasable"

// How a releasable field goes into the report.
enum class ReleaseAs : uint8_t {
  kNever,      // nominal and sensitive fields
  kAsIs,       // copied unchanged (codes, numbers, dates)
  kCodeList,   // copied only when the value is in the code list, else withheld
  kCount,      // linked records: how many
  kAggregate,  // counted per value over the linked records (nationality, gender)
  kAgeBand,    // a birth date becomes an age band at the seizure date
  kPolicy,     // only when the national policy allows it (company names)
};
const char* ReleaseAsName(ReleaseAs r);  // "never", "as is", "code list", ...

struct FieldRule {
  RecordType type;
  const char* path;  // JSON path: "goods[].value.amount"
  FieldClass cls;
  ReleaseAs how;
  const char* reason;
};

// Every field of seizure, suspect and company, once (a test checks this
// against the schema, and docs/sharing.md against this).
std::span<const FieldRule> SharingRules();

// The JSON paths of every field of a record type, nested structs and lists
// of structs included ("goods[].value.amount"), in schema order.
std::vector<std::string> FieldPaths(RecordType type);

// Code lists.
// The description of a concealment method (JSON enumerant name); "" when
// unknown.
std::string ConcealmentDescription(std::string_view method);
// Whether `subtype` is in the commodity code list of `category` (JSON
// enumerant names).
bool IsListedSubtype(std::string_view category, std::string_view subtype);
// The whole commodity code list: each category (JSON enumerant name) with its
// subtypes, in the order of docs/sharing.md §3.
std::vector<std::pair<std::string, std::vector<std::string>>> ListedSubtypes();

// The national policy of a releasing node.
struct ReleasePolicy {
  bool company_names = false;  // names of linked companies go into reports
};

// What identifies a release, besides the seizure.
struct ReleaseStamp {
  std::string reference;    // 32 hex digits, ReleaseReference
  std::string released_by;  // the releasing node's name
  std::string released_at;  // YYYY-MM-DDTHH:MM:SS.mmmZ
};

// A linked record as the releasing node holds it: nullopt when the seizure
// names an id the node does not hold.
using LinkedBody = std::optional<nlohmann::ordered_json>;

struct ReportDraft {
  nlohmann::ordered_json report;      // the seizure_report's JSON body
  std::vector<std::string> withheld;  // one line per value left out by a code list
};

// The report of `seizure` (its JSON body, as RecordToJson prints it) with
// its linked suspects and companies (live ones; absent ones as nullopt).
// The result holds only what FieldRules releases. kInvalidArgument when the
// seizure has no releasable goods.
Result<ReportDraft> BuildReport(const nlohmann::ordered_json& seizure, std::span<const LinkedBody> suspects,
                                std::span<const LinkedBody> companies, const ReleasePolicy& policy,
                                const ReleaseStamp& stamp);

// A seizure report's record id starts with a tag of its country: the first
// 8 bytes of BLAKE2b-256("ncen report country v1" | country), with the UUID
// version nibble (the high half of byte 6) set to 8 (docs/sharing.md §4).
// Every node checks that a report's id carries its author's country, so no
// hub can write, overwrite, withdraw or quarantine another country's report.
void SetReportCountryTag(RecordId& id, std::string_view country);
bool HasReportCountryTag(const RecordId& id, std::string_view country);

// The age band (JSON name) of a person born on `birth_date` at `on_date`
// (both YYYY-MM-DD); "unknown" when either is missing or invalid.
std::string AgeBand(std::string_view birth_date, std::string_view on_date);

}  // namespace ncen::storage
