// The CLI's JSON form of record bodies, derived from storage/schema/record.capnp
// by reflection: snake_case names, enumerants as snake_case strings, absent
// fields omitted. Validation rules come from the schema's annotations
// ($required, $format, $positive, ...). See docs/data-model.md.
//
// Pure functions, safe from any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "storage/types.h"

namespace ncen::storage {

// Validates `object` as a body of `type` and returns the payload bytes (a
// single-segment Cap'n Proto message). The keys "type" (must equal `type`)
// and, when `allow_id` is set, "id" and "versions" are accepted and ignored.
// kInvalidArgument names the field: "field 'goods[0].quantity': must be
// greater than 0". Nothing else is ever returned on bad input. Texts are
// checked as they will be stored (record ids in canonical form, valid
// UTF-8) by the same rule ValidateRecordPayload applies, so what this
// returns, every peer accepts.
Result<Bytes> RecordFromJson(RecordType type, const nlohmann::ordered_json& object, bool allow_id = false);

// Checks a payload received from elsewhere against the same rules as
// RecordFromJson: one Cap'n Proto segment of the type's struct, every text
// field valid UTF-8 within its length and format (record ids in their
// stored, canonical form), enums known, numbers finite, required fields
// present, lists within their bounds, and the record no larger than 1 MiB
// when RecordFromJson writes it again from RecordToJson's output (a peer's
// encoding may be more compact than ours). kCorruption naming the field or
// the size otherwise. Fields this build does not know are not read. So what
// this accepts, the node can show and write again. Fast enough to run on
// every entry of a sync.
Status ValidateRecordPayload(RecordType type, ByteView payload);

// The JSON object of a payload (without "id"/"type"). kCorruption when the
// payload does not decode.
Result<nlohmann::ordered_json> RecordToJson(RecordType type, ByteView payload);

// A one-line description for tables: "2026-11-02 PKTKM drugs/heroin 12.4 kg".
std::string SummarizeRecord(RecordType type, ByteView payload);

// Search terms of a payload: each is one index key body, i.e. a kind byte then
// the term (see docs/data-model.md, "Search index"). Empty when the payload
// does not decode.
std::vector<std::string> RecordTerms(RecordType type, ByteView payload);

// Seizure date as YYYY-MM-DD, or "" when not a seizure or undecodable.
std::string SeizureDate(ByteView payload);
// The coded enumerations statistics and filters read from facts.
enum class CodeEnum { kGoodsCategory, kUnit, kTransportMode, kDetectionMethod, kConcealmentMethod, kDirection };
// The JSON names of an enumeration, by ordinal ("" at ordinal 0, unspecified).
const std::vector<std::string>& CodeNames(CodeEnum e);
// The ordinal of a JSON name; -1 when unknown (or "unspecified").
int CodeOrdinal(CodeEnum e, std::string_view name);

// The `country` of a seizure report payload, or "" when it does not decode.
std::string ReportCountry(ByteView payload);

// Index term kinds.
inline constexpr char kTermName = 'n';        // folded name token
inline constexpr char kTermIdentifier = 'i';  // normalized document/registration/tax/trader id
inline constexpr char kTermCategory = 'c';    // goods category
inline constexpr char kTermSubtype = 's';     // goods subtype
inline constexpr char kTermDate = 'd';        // seizure date YYYYMMDD
inline constexpr char kTermLinkedTo = 'l';    // a suspect or company a seizure links (its id, text form)

// Who entered a version (record.capnp EnteredBy; docs/data-model.md §2).
struct EnteredBy {
  std::string name;  // empty: none (the field is cleared)
  std::string node;
  std::string via;
};
// `payload` with its `entered_by` set to `who` (cleared when who.name is
// empty), for the types that have the field (seizure, suspect, company,
// photo); the same bytes for the others. Written again from the fields this
// build knows, without a trip through JSON (the cost of a bulk import).
// kCorruption when the payload does not decode; kInvalidArgument naming the
// field ("field 'entered_by.name': longer than 100 bytes"), or when the
// record would be over 1 MiB.
Result<Bytes> SetEnteredBy(RecordType type, ByteView payload, const EnteredBy& who);

// Links (seizure → suspects/companies): returns a payload with `id` (a
// canonical record id) added to the seizure's `suspects` (or `companies`)
// list, or the same bytes when already there. The payload is written again
// through its JSON form (RecordToJson, RecordFromJson), so the result holds
// only the fields this build knows and meets every rule of both paths.
// kCorruption when the payload does not decode; kInvalidArgument when the
// result would break a rule (the list already holds 1000 ids, or the record
// would be over 1 MiB).
Result<Bytes> AddSeizureLink(ByteView seizure_payload, bool company, const std::string& id);

}  // namespace ncen::storage
