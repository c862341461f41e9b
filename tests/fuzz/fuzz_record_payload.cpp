// Fuzz target: storage::ValidateRecordPayload, the check a node runs on
// every record body a peer sends (storage/record_json.h), against the JSON
// path a node uses to show and write records.
//
// Input: byte 0 chooses the record type (value % 4: 0 seizure, 1 suspect,
// 2 company, 3 seizure_report); bytes 1.. are the payload as it arrives in
// an entry.
// Checked, besides "no crash, no ASan/UBSan report, no leak, no exception":
//   - ValidateRecordPayload returns Ok or kCorruption; the readers that run
//     on stored payloads (RecordToJson, SummarizeRecord, RecordTerms,
//     SeizureDate) return whatever the payload is;
//   - what the validator accepts, the node can show and re-write:
//     RecordToJson succeeds, its JSON dumps (strict UTF-8, no exception),
//     and RecordFromJson accepts that JSON again, both as an object and as
//     the dumped text parsed back (what `ncenctl get --json` then
//     `ncenctl put` does), giving the same payload either way;
//   - and the other direction: what RecordFromJson writes, the validator
//     accepts, and it shows as the same JSON (a fixpoint after one
//     re-write: a peer cannot make a record change its shown value just by
//     being re-written);
//   - the fact the index keeps (storage/facts.h) of a valid seizure or
//     report decodes, with the payload's country and as many goods items;
//   - for a seizure (bit 7 of byte 0: company or suspect link),
//     AddSeizureLink (ncenctl link) on a valid payload gives a payload the
//     validator accepts that shows the same JSON with the id added, or
//     kInvalidArgument (the list is full).
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "base/limits.h"
#include "storage/facts.h"
#include "storage/record_json.h"
#include "storage/types.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace ncen;
using namespace ncen::storage;
using json = nlohmann::ordered_json;

// Fails with the status's message, so that a finding says which rule disagrees.
void CheckOk(const Status& status, const char* what) {
  if (!status.ok()) std::fprintf(stderr, "%s: %s\n", what, status.ToString().c_str());
  FUZZ_CHECK(status.ok());
}

std::string DumpOrFail(const json& shown) {
  try {
    return shown.dump();
  } catch (const json::exception& e) {
    std::fprintf(stderr, "RecordToJson gave JSON that does not dump: %s\n", e.what());
    FUZZ_CHECK(false);
  }
  return "";
}

json ParseOrFail(const std::string& text) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    std::fprintf(stderr, "dumped JSON does not parse: %s\n", e.what());
    FUZZ_CHECK(false);
  }
  return json();
}

// A canonical record id for AddSeizureLink.
constexpr const char* kLinkId = "0190b2c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const RecordType type = kRecordTypes[data[0] % kRecordTypeCount];
  const ByteView payload(data + 1, size - 1);

  Status valid = ValidateRecordPayload(type, payload);
  FUZZ_CHECK(valid.ok() || valid.code() == StatusCode::kCorruption);
  // Readers of stored payloads: any answer, but an answer.
  (void)SummarizeRecord(type, payload);
  (void)RecordTerms(type, payload);
  (void)SeizureDate(payload);
  (void)ReportCountry(payload);
  auto fact = MakeFact(type, payload);
  Result<json> shown = RecordToJson(type, payload);
  FUZZ_CHECK(shown.ok() || shown.status().code() == StatusCode::kCorruption);
  if (!valid.ok()) return 0;
  // A sealed message is shown as an envelope and never written from JSON
  // (docs/messages.md): its layout is checked by DecodeSealedMessage.
  if (type == RecordType::kMessage) {
    CheckOk(shown.status(), "RecordToJson of a valid message");
    return 0;
  }

  // Ingest accepted it: the node can show it ...
  CheckOk(shown.status(), "RecordToJson of a valid payload");
  std::string text = DumpOrFail(*shown);
  // ... and write it again, from the object and from the text.
  Result<Bytes> rewritten = RecordFromJson(type, *shown);
  CheckOk(rewritten.status(), "RecordFromJson of a shown valid payload");
  Result<Bytes> from_text = RecordFromJson(type, ParseOrFail(text));
  CheckOk(from_text.status(), "RecordFromJson of the dumped JSON");
  FUZZ_CHECK(*from_text == *rewritten);
  FUZZ_CHECK(rewritten->size() <= limits::kPayloadBytesMax);

  // What the JSON path writes, ingest accepts, and it shows the same.
  CheckOk(ValidateRecordPayload(type, *rewritten), "ValidateRecordPayload of a re-written record");
  Result<json> shown_again = RecordToJson(type, *rewritten);
  CheckOk(shown_again.status(), "RecordToJson of a re-written record");
  if (*shown_again != *shown) {
    std::fprintf(stderr, "shown:    %s\nrewritten: %s\n", text.c_str(), DumpOrFail(*shown_again).c_str());
  }
  FUZZ_CHECK(*shown_again == *shown);

  if (type == RecordType::kSeizure || type == RecordType::kSeizureReport) {
    FUZZ_CHECK(fact.has_value());
    FactView view;
    CheckOk(DecodeFact(fact->bytes, view), "DecodeFact of a valid record's fact");
    FUZZ_CHECK(view.country == (*shown)["country"].get<std::string>());
    FUZZ_CHECK(view.goods.size() == (*shown)["goods"].size());
  } else {
    FUZZ_CHECK(!fact.has_value());
  }

  if (type == RecordType::kSeizure) {
    // ncenctl link: the seizure written again with one more id, or a
    // refusal naming the rule the result would break (a full list).
    const bool company = (data[0] & 0x80) != 0;
    Result<Bytes> linked = AddSeizureLink(payload, company, kLinkId);
    if (!linked.ok()) {
      std::fprintf(stderr, "AddSeizureLink: %s\n", linked.status().ToString().c_str());
      FUZZ_CHECK(linked.status().code() == StatusCode::kInvalidArgument);
    } else {
      CheckOk(ValidateRecordPayload(type, *linked), "ValidateRecordPayload after AddSeizureLink");
      json expected = *shown;
      json& links = expected[company ? "companies" : "suspects"];
      if (!links.is_array()) links = json::array();
      if (std::find(links.begin(), links.end(), json(kLinkId)) == links.end()) links.push_back(kLinkId);
      Result<json> linked_shown = RecordToJson(type, *linked);
      CheckOk(linked_shown.status(), "RecordToJson after AddSeizureLink");
      // Key order aside: the link may be a new key.
      FUZZ_CHECK(nlohmann::json::parse(linked_shown->dump()) == nlohmann::json::parse(expected.dump()));
    }
  }
  return 0;
}
