#include "storage/record_json.h"

#include <capnp/any.h>
#include <capnp/dynamic.h>
#include <capnp/message.h>
#include <capnp/schema.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <algorithm>
#include <map>
#include <memory>
#include <mutex>

#include "base/limits.h"
#include "base/text.h"
#include "storage/blobs.h"
#include "storage/capnp_message.h"
#include "storage/message_format.h"
#include "storage/schema/message.capnp.h"
#include "storage/codes.h"
#include "storage/schema/record.capnp.h"
#include "storage/sharing.h"
#include "storage/text_fold.h"

namespace ncen::storage {

namespace {

using json = nlohmann::ordered_json;
namespace s = schema;

// Annotation ids, as declared in record.capnp.
constexpr uint64_t kRequired = 0xd7a5b2c31e4f6a01;
constexpr uint64_t kFormat = 0xd7a5b2c31e4f6a02;
constexpr uint64_t kPositive = 0xd7a5b2c31e4f6a03;
constexpr uint64_t kNonNegative = 0xd7a5b2c31e4f6a04;
constexpr uint64_t kMaxLength = 0xd7a5b2c31e4f6a05;
constexpr uint64_t kJsonName = 0xd7a5b2c31e4f6a06;

constexpr size_t kDefaultTextBytesMax = 1000;
constexpr size_t kListItemsMax = 1000;

capnp::StructSchema SchemaOf(RecordType type) {
  switch (type) {
    case RecordType::kSeizure: return capnp::Schema::from<s::Seizure>();
    case RecordType::kSuspect: return capnp::Schema::from<s::Suspect>();
    case RecordType::kCompany: return capnp::Schema::from<s::Company>();
    case RecordType::kSeizureReport: return capnp::Schema::from<s::SeizureReport>();
    case RecordType::kPhoto: return capnp::Schema::from<s::Photo>();
    case RecordType::kMessage: return capnp::Schema::from<s::SealedMessage>();
    case RecordType::kCertificate:
    case RecordType::kRevocation: break;  // not records
  }
  NCEN_CHECK(false);
  return {};
}

std::string CamelToSnake(kj::StringPtr name) {
  std::string out;
  for (char c : name) {
    if (c >= 'A' && c <= 'Z') {
      out += '_';
      out += static_cast<char>(c - 'A' + 'a');
    } else {
      out += c;
    }
  }
  return out;
}

template <typename Proto>
kj::Maybe<capnp::schema::Value::Reader> FindAnnotation(Proto proto, uint64_t id) {
  for (auto a : proto.getAnnotations())
    if (a.getId() == id) return a.getValue();
  return nullptr;
}

template <typename Proto>
bool HasAnnotation(Proto proto, uint64_t id) {
  return FindAnnotation(proto, id) != nullptr;
}

template <typename Proto>
std::string JsonName(Proto proto) {
  KJ_IF_MAYBE(v, FindAnnotation(proto, kJsonName)) { return v->getText().cStr(); }
  return CamelToSnake(proto.getName());
}

// Everything the validator needs to know about one field.
struct FieldRules {
  bool required = false;
  bool positive = false;
  bool non_negative = false;
  s::Format format = s::Format::NONE;
  size_t max_length = kDefaultTextBytesMax;
};

FieldRules RulesOf(capnp::StructSchema::Field field) {
  auto proto = field.getProto();
  FieldRules rules;
  rules.required = HasAnnotation(proto, kRequired);
  rules.positive = HasAnnotation(proto, kPositive);
  rules.non_negative = HasAnnotation(proto, kNonNegative);
  KJ_IF_MAYBE(v, FindAnnotation(proto, kFormat)) { rules.format = static_cast<s::Format>(v->getEnum()); }
  KJ_IF_MAYBE(v, FindAnnotation(proto, kMaxLength)) { rules.max_length = v->getUint32(); }
  return rules;
}

// What the codec needs of one field, read once per schema: the annotations
// are found by scanning lists, too slow to repeat for every field of every
// record of a bulk import.
struct FieldInfo {
  capnp::StructSchema::Field field;
  std::string json_name;
  FieldRules rules;
};

// Schemas are compiled in and immutable, so their metadata is memoized for
// the life of the process (guarded: the codec may run on any thread).
const std::vector<FieldInfo>& FieldsOf(capnp::StructSchema schema) {
  static std::mutex mutex;
  static std::map<uint64_t, std::vector<FieldInfo>> cache;
  std::lock_guard lock(mutex);
  auto [it, fresh] = cache.try_emplace(schema.getProto().getId());
  if (fresh) {
    for (auto field : schema.getFields()) {
      it->second.push_back({field, JsonName(field.getProto()), RulesOf(field)});
    }
  }
  return it->second;
}

// JSON names of an enum's values, by ordinal.
const std::vector<std::string>& EnumNamesOf(capnp::EnumSchema schema) {
  static std::mutex mutex;
  static std::map<uint64_t, std::vector<std::string>> cache;
  std::lock_guard lock(mutex);
  auto [it, fresh] = cache.try_emplace(schema.getProto().getId());
  if (fresh) {
    for (auto e : schema.getEnumerants()) it->second.push_back(JsonName(e.getProto()));
  }
  return it->second;
}

Status FieldError(const std::string& path, const std::string& what) {
  return InvalidArgument("field '" + path + "': " + what);
}

// The formats whose check is a plain predicate, with what a valid value is.
struct FormatRule {
  s::Format format;
  bool (*valid)(std::string_view);
  const char* expected;
};
constexpr FormatRule kFormatRules[] = {
    {s::Format::DATE, IsDate, "a valid date (YYYY-MM-DD)"},
    {s::Format::TIME, IsTime, "a time (HH:MM, 24-hour)"},
    {s::Format::COUNTRY, IsCountryCode, "an ISO 3166-1 alpha-2 country code (upper case, e.g. PK)"},
    {s::Format::CURRENCY, IsCurrencyCode, "an ISO 4217 currency code (e.g. USD)"},
    {s::Format::HS_CODE, IsHsCode, "an HS code (6, 8 or 10 digits)"},
    {s::Format::OFFICE, IsOfficeCode, "an office code (country + 3 characters, e.g. PKKHI)"},
    {s::Format::CONTAINER_NUMBER, IsContainerNumber, "an ISO 6346 container number with a valid check digit"},
    {s::Format::IMO, IsImoNumber, "an IMO number with a valid check digit"},
    {s::Format::AIR_WAYBILL, IsAirWaybill, "an air waybill (NNN-NNNNNNNN) with a valid check digit"},
    {s::Format::CODE, IsLowerCaseCode, "a lower-case code (a-z, 0-9, _)"},
    {s::Format::DOCUMENT_NUMBER, IsDocumentNumber, "a document number (letters, digits, '-', '/', '.', ' ')"},
    {s::Format::PHONE, IsPhoneNumber, "a phone number (e.g. +93 700 000 001)"},
    {s::Format::CITES_APPENDIX, IsCitesAppendix, "a CITES appendix (I, II or III)"},
    {s::Format::FLIGHT_NUMBER, IsFlightNumber, "a flight number (e.g. QR1342)"},
    {s::Format::OPAQUE_REF, IsOpaqueRef, "an opaque reference (32 lower-case hex digits)"},
    {s::Format::TIMESTAMP, IsTimestamp, "a UTC timestamp (YYYY-MM-DDTHH:MM:SS.mmmZ)"},
    {s::Format::BLOB_HASH, IsBlobHash, "a blob hash (64 lower-case hex digits)"},
    {s::Format::MEDIA_TYPE, IsPhotoMediaType, "image/jpeg, image/png, image/webp or image/heic"},
};

// The one rule for a text value as stored (docs/data-model.md §1, §3), for
// both paths: RecordFromJson checks the value it is about to store and
// ValidateRecordPayload the value a peer stored, so a node never writes what
// its peers refuse, and takes nothing from a peer that it could not write
// itself. Returns what is wrong ("" when nothing), for "field 'path': ...".
std::string TextProblem(std::string_view value, const FieldRules& rules) {
  if (value.size() > rules.max_length) return "longer than " + std::to_string(rules.max_length) + " bytes";
  // This runs for every text of every record a peer sends: one pass for
  // "all ASCII" and control characters; an ASCII letter or digit (always
  // kept by FoldText) settles emptiness without folding.
  bool ascii = true, control = false;
  size_t i = 0;
  // Eight bytes at a time while all are printable ASCII (no byte >= 0x80,
  // none < 0x20), the usual case; byte by byte otherwise.
  constexpr uint64_t kHigh = 0x8080808080808080ull, kSpaces = 0x2020202020202020ull;
  for (; i + 8 <= value.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, value.data() + i, 8);
    if (((w | ((w - kSpaces) & ~w)) & kHigh) != 0) break;
  }
  for (; i < value.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (c >= 0x80) {
      ascii = false;
    } else if (c < 0x20) {
      control = control || (c != '\n' && c != '\t');
    }
  }
  if (!ascii && !IsValidUtf8(value)) return "not valid UTF-8";
  if (control) return "contains a control character";
  if (rules.required) {
    auto alnum = [](unsigned char c) {
      return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    };
    if (std::none_of(value.begin(), value.end(), alnum) && FoldText(value).empty() &&
        NormalizeIdentifier(value).empty()) {
      return "must not be empty";
    }
  }
  if (value.empty() || rules.format == s::Format::NONE) return {};
  auto is_not = [&](const char* expected) { return "'" + std::string(value) + "' is not " + expected; };
  if (rules.format == s::Format::RECORD_ID) {
    // Stored in one form only, so a record reads the same wherever it was written.
    auto id = ParseRecordId(value);
    if (!id.ok()) return is_not("a record id");
    if (FormatRecordId(*id) != value) return is_not("a record id in its stored form (lower-case 8-4-4-4-12)");
    return {};
  }
  for (const FormatRule& rule : kFormatRules) {
    if (rule.format == rules.format) return rule.valid(value) ? std::string() : is_not(rule.expected);
  }
  NCEN_CHECK(false);  // every format of record.capnp has a rule
  return {};
}

// The form in which a text value given as JSON is stored: record ids in
// their canonical form, anything else as given.
std::string StoredForm(const FieldRules& rules, std::string text) {
  if (rules.format == s::Format::RECORD_ID) {
    if (auto id = ParseRecordId(text); id.ok()) return FormatRecordId(*id);
  }
  return text;
}

std::string JsonTypeName(const json& v) {
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  return "null";
}

Status WrongType(const std::string& path, const char* expected, const json& v) {
  return FieldError(path, std::string("must be ") + expected + ", got " + JsonTypeName(v));
}

Status FillStruct(capnp::DynamicStruct::Builder out, const json& in, const std::string& prefix);

// Converts one JSON scalar/object into a value of `type` and hands it to `set`.
// Used for struct fields and list elements alike.
template <typename SetText, typename SetEnum, typename InitStruct>
Status ConvertValue(capnp::Type type, const FieldRules& rules, const json& v,
                    const std::string& path, SetText set_text, SetEnum set_enum,
                    InitStruct init_struct) {
  switch (type.which()) {
    case capnp::schema::Type::TEXT: {
      if (!v.is_string()) return WrongType(path, "a string", v);
      std::string text = StoredForm(rules, v.get<std::string>());
      if (std::string problem = TextProblem(text, rules); !problem.empty()) return FieldError(path, problem);
      set_text(text);
      return Status::Ok();
    }
    case capnp::schema::Type::ENUM: {
      if (!v.is_string()) return WrongType(path, "a string", v);
      std::string name = v.get<std::string>();
      const auto& names = EnumNamesOf(type.asEnum());
      for (size_t i = 1; i < names.size(); ++i) {  // 0 is "unspecified": absent, not a value
        if (names[i] == name) {
          set_enum(type.asEnum().getEnumerants()[static_cast<unsigned>(i)]);
          return Status::Ok();
        }
      }
      std::string allowed;
      for (size_t i = 1; i < names.size(); ++i) allowed += (i > 1 ? ", " : "") + names[i];
      return FieldError(path, "unknown value '" + name + "' (one of: " + allowed + ")");
    }
    case capnp::schema::Type::STRUCT: {
      if (!v.is_object()) return WrongType(path, "an object", v);
      return FillStruct(init_struct(), v, path);
    }
    default:
      return FieldError(path, "unsupported field type");  // numbers are handled by the caller
  }
}

Status FillNumber(capnp::DynamicStruct::Builder out, capnp::StructSchema::Field field,
                  const FieldRules& rules, const json& v, const std::string& path) {
  auto which = field.getType().which();
  if (which == capnp::schema::Type::BOOL) {
    if (!v.is_boolean()) return WrongType(path, "true or false", v);
    out.set(field, v.get<bool>());
    return Status::Ok();
  }
  if (!v.is_number()) return WrongType(path, "a number", v);
  double d = v.get<double>();
  if (!std::isfinite(d)) return FieldError(path, "must be a finite number");
  if (rules.positive && !(d > 0)) return FieldError(path, "must be greater than 0");
  if ((rules.non_negative || which != capnp::schema::Type::FLOAT64) && d < 0) {
    return FieldError(path, "must not be negative");
  }
  switch (which) {
    case capnp::schema::Type::FLOAT64: out.set(field, d); return Status::Ok();
    case capnp::schema::Type::UINT32:
      if (d != std::floor(d) || d > 4294967295.0) return FieldError(path, "must be a whole number");
      out.set(field, static_cast<uint32_t>(d));
      return Status::Ok();
    default: return FieldError(path, "unsupported numeric type");
  }
}

Status FillField(capnp::DynamicStruct::Builder out, const FieldInfo& info, const json& v,
                 const std::string& path) {
  const FieldRules& rules = info.rules;
  capnp::StructSchema::Field field = info.field;
  capnp::Type type = field.getType();
  switch (type.which()) {
    case capnp::schema::Type::BOOL:
    case capnp::schema::Type::FLOAT64:
    case capnp::schema::Type::UINT32: return FillNumber(out, field, rules, v, path);
    case capnp::schema::Type::LIST: {
      if (!v.is_array()) return WrongType(path, "an array", v);
      if (v.size() > kListItemsMax) return FieldError(path, "more than 1000 items");
      if (rules.required && v.empty()) return FieldError(path, "needs at least one item");
      auto list = out.init(field, static_cast<unsigned>(v.size())).as<capnp::DynamicList>();
      capnp::Type element = type.asList().getElementType();
      FieldRules element_rules = rules;
      element_rules.required = true;  // no empty strings inside lists
      for (size_t i = 0; i < v.size(); ++i) {
        auto index = static_cast<unsigned>(i);
        NCEN_RETURN_IF_ERROR(ConvertValue(
            element, element_rules, v[i], path + "[" + std::to_string(i) + "]",
            [&](const std::string& t) { list.set(index, capnp::Text::Reader(t.c_str())); },
            [&](capnp::EnumSchema::Enumerant e) { list.set(index, capnp::DynamicEnum(e)); },
            [&] { return list[index].as<capnp::DynamicStruct>(); }));
      }
      return Status::Ok();
    }
    default:
      return ConvertValue(
          type, rules, v, path,
          [&](const std::string& t) { out.set(field, capnp::Text::Reader(t.c_str())); },
          [&](capnp::EnumSchema::Enumerant e) { out.set(field, capnp::DynamicEnum(e)); },
          [&] { return out.init(field).as<capnp::DynamicStruct>(); });
  }
}

Status FillStruct(capnp::DynamicStruct::Builder out, const json& in, const std::string& prefix) {
  const std::vector<FieldInfo>& fields = FieldsOf(out.getSchema());
  std::vector<bool> seen(fields.size());
  for (auto it = in.begin(); it != in.end(); ++it) {
    const std::string& key = it.key();
    std::string path = prefix.empty() ? key : prefix + "." + key;
    auto info = std::find_if(fields.begin(), fields.end(),
                             [&](const FieldInfo& f) { return f.json_name == key; });
    if (info == fields.end()) return FieldError(path, "unknown field");
    if (it.value().is_null()) continue;  // null means absent
    NCEN_RETURN_IF_ERROR(FillField(out, *info, it.value(), path));
    seen[info - fields.begin()] = true;
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].rules.required && !seen[i]) {
      const std::string& name = fields[i].json_name;
      return FieldError(prefix.empty() ? name : prefix + "." + name, "is required");
    }
  }
  return Status::Ok();
}

json NumberJson(double d) {
  if (d == std::floor(d) && std::fabs(d) < 9.0e15) return static_cast<int64_t>(d);
  return d;
}

json ValueToJson(capnp::DynamicValue::Reader v, capnp::Type type);

json StructToJson(capnp::DynamicStruct::Reader r) {
  json out = json::object();
  for (const FieldInfo& info : FieldsOf(r.getSchema())) {
    const std::string& name = info.json_name;
    capnp::StructSchema::Field field = info.field;
    capnp::Type type = field.getType();
    switch (type.which()) {
      case capnp::schema::Type::TEXT:
      case capnp::schema::Type::LIST:
      case capnp::schema::Type::STRUCT: {
        if (!r.has(field)) break;
        json v = ValueToJson(r.get(field), type);
        if (!v.empty()) out[name] = std::move(v);
        break;
      }
      case capnp::schema::Type::ENUM: {
        if (r.get(field).as<capnp::DynamicEnum>().getRaw() != 0) {
          out[name] = ValueToJson(r.get(field), type);
        }
        break;
      }
      case capnp::schema::Type::FLOAT64: {
        double d = r.get(field).as<double>();
        if (d != 0 || info.rules.required) out[name] = NumberJson(d);
        break;
      }
      case capnp::schema::Type::UINT32: {
        uint32_t n = r.get(field).as<uint32_t>();
        if (n != 0) out[name] = n;
        break;
      }
      case capnp::schema::Type::BOOL:
        if (r.get(field).as<bool>()) out[name] = true;
        break;
      default: break;
    }
  }
  return out;
}

json ValueToJson(capnp::DynamicValue::Reader v, capnp::Type type) {
  switch (type.which()) {
    case capnp::schema::Type::TEXT: {
      auto t = v.as<capnp::Text>();
      return t.size() ? json(std::string(t.cStr())) : json();
    }
    case capnp::schema::Type::ENUM: {
      auto e = v.as<capnp::DynamicEnum>();
      const auto& names = EnumNamesOf(e.getSchema());
      if (e.getRaw() < names.size()) return names[e.getRaw()];
      return "unknown_" + std::to_string(e.getRaw());
    }
    case capnp::schema::Type::STRUCT: return StructToJson(v.as<capnp::DynamicStruct>());
    case capnp::schema::Type::LIST: {
      json arr = json::array();
      capnp::Type element = type.asList().getElementType();
      for (auto item : v.as<capnp::DynamicList>()) arr.push_back(ValueToJson(item, element));
      return arr.empty() ? json() : arr;
    }
    default: return json();
  }
}

// The validation of a payload that came from elsewhere (ValidateRecordPayload):
// the same rules as the JSON path, read off the same annotations. Paths are
// only spelled out on failure.
Status PayloadFieldError(const std::string& path, const std::string& what) {
  return Corruption("record payload: field '" + path + "': " + what);
}

// The size of a record as RecordFromJson writes it, in words, added up while
// a received payload is checked: a peer's encoding may be smaller than ours
// (struct sections shorter than the schema's, a list of pointers read as a
// list of structs, one object behind several pointers), and a record a node
// takes must still fit kPayloadBytesMax when it is shown and written again.
// An upper bound: RecordToJson leaves out empty texts, lists and structs.
size_t SectionWords(capnp::StructSchema schema) {
  auto proto = schema.getProto().getStruct();
  return size_t{proto.getDataWordCount()} + proto.getPointerCount();
}
size_t TextWords(size_t bytes) { return (bytes + 1 + 7) / 8; }  // with its NUL

// A received payload is checked through a plan made once per struct schema
// (where each field is, its kind and rules, its nested plan), read with
// AnyStruct readers: the dynamic API looks up a field's type, under a lock,
// on every access, which made validation most of a sync's CPU. The plan is
// made from the same schema and annotations as the JSON path.
struct CheckStruct;
enum class CheckKind : uint8_t { kText, kStruct, kList, kEnum, kFloat64, kOther };

struct CheckField {
  CheckKind kind = CheckKind::kOther;
  CheckKind element = CheckKind::kOther;  // kList: text, struct or enum
  uint32_t offset = 0;  // data fields: in units of the field's size; pointer fields: the index
  std::string json_name;
  FieldRules rules;
  const CheckStruct* nested = nullptr;  // kStruct, or a list of structs
  uint16_t enum_count = 0;              // kEnum, or a list of enums
};

struct CheckStruct {
  size_t section_words = 0;  // SectionWords of the schema
  std::vector<CheckField> fields;
};

CheckKind KindOf(capnp::Type type) {
  switch (type.which()) {
    case capnp::schema::Type::TEXT: return CheckKind::kText;
    case capnp::schema::Type::STRUCT: return CheckKind::kStruct;
    case capnp::schema::Type::LIST: return CheckKind::kList;
    case capnp::schema::Type::ENUM: return CheckKind::kEnum;
    case capnp::schema::Type::FLOAT64: return CheckKind::kFloat64;
    case capnp::schema::Type::BOOL:
    case capnp::schema::Type::UINT32: return CheckKind::kOther;  // any value is valid
    default: NCEN_CHECK(false && "record.capnp uses a field type the validator does not know");
  }
  return CheckKind::kOther;
}

class CheckPlans {
 public:
  static const CheckStruct& Of(RecordType type) {
    static const CheckPlans plans;  // made once, read without a lock
    return *plans.roots_[RecordTypeIndex(type)];
  }

 private:
  CheckPlans() {
    for (RecordType type : kRecordTypes) {
      if (type == RecordType::kMessage) continue;  // checked by DecodeSealedMessage
      roots_[RecordTypeIndex(type)] = Make(SchemaOf(type));
    }
  }
  const CheckStruct* Make(capnp::StructSchema schema) {
    auto [it, fresh] = plans_.try_emplace(schema.getProto().getId());
    if (!fresh) return it->second.get();
    it->second = std::make_unique<CheckStruct>();
    CheckStruct* plan = it->second.get();
    plan->section_words = SectionWords(schema);
    for (const FieldInfo& info : FieldsOf(schema)) {
      auto proto = info.field.getProto();
      NCEN_CHECK(proto.isSlot() && proto.getDiscriminantValue() == capnp::schema::Field::NO_DISCRIMINANT);
      CheckField f;
      capnp::Type type = info.field.getType();
      f.kind = KindOf(type);
      f.offset = proto.getSlot().getOffset();
      f.json_name = info.json_name;
      f.rules = info.rules;
      capnp::Type inner = type;
      if (f.kind == CheckKind::kList) {
        inner = type.asList().getElementType();
        f.element = KindOf(inner);
        NCEN_CHECK(f.element == CheckKind::kText || f.element == CheckKind::kStruct ||
                   f.element == CheckKind::kEnum);
      }
      if (inner.which() == capnp::schema::Type::STRUCT) f.nested = Make(inner.asStruct());
      if (inner.which() == capnp::schema::Type::ENUM) {
        f.enum_count = static_cast<uint16_t>(EnumNamesOf(inner.asEnum()).size());
      }
      plan->fields.push_back(std::move(f));
    }
    return plan;
  }

  std::map<uint64_t, std::unique_ptr<CheckStruct>> plans_;
  const CheckStruct* roots_[kRecordTypeCount] = {};
};

// A data field of `bytes` bytes at `offset` (in its own units), or 0 when
// the sender's data section is shorter (no field of record.capnp has a
// default value, so 0 is the default).
uint64_t DataField(kj::ArrayPtr<const kj::byte> data, uint32_t offset, size_t bytes) {
  size_t at = size_t{offset} * bytes;
  if (at + bytes > data.size()) return 0;
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; ++i) v |= uint64_t{data[at + i]} << (8 * i);  // little-endian
  return v;
}

// Where a failure is reported: null while checking fast (the first pass),
// else the path so far. ValidateRecordPayload checks again with paths on
// failure, so paths are spelled out only then.
using PathPrefix = const std::string*;
std::string PathOf(PathPrefix prefix, const std::string& name) {
  if (!prefix) return "";
  return prefix->empty() ? name : *prefix + "." + name;
}

Status CheckReceivedText(kj::StringPtr text, const FieldRules& rules, PathPrefix prefix, const std::string& path) {
  std::string problem = TextProblem(std::string_view(text.cStr(), text.size()), rules);
  if (problem.empty()) return Status::Ok();
  return PayloadFieldError(prefix ? path : "", problem);
}

Status CheckEnum(uint16_t raw, uint16_t count, bool required, PathPrefix prefix, const std::string& path) {
  if (raw >= count) return PayloadFieldError(prefix ? path : "", "unknown value");
  if (required && raw == 0) return PayloadFieldError(prefix ? path : "", "is required");
  return Status::Ok();
}

Status CheckReceivedStruct(const CheckStruct& plan, capnp::AnyStruct::Reader r, PathPrefix prefix, size_t& words);

Status CheckReceivedList(const CheckField& f, capnp::AnyPointer::Reader p, PathPrefix prefix,
                         const std::string& path, size_t& words) {
  FieldRules element_rules = f.rules;
  element_rules.required = true;  // no empty strings inside lists
  auto count_checks = [&](size_t size) -> Status {
    if (size > kListItemsMax) return PayloadFieldError(path, "more than 1000 items");
    if (f.rules.required && size == 0) return PayloadFieldError(path, "needs at least one item");
    return Status::Ok();
  };
  auto item_path = [&](size_t i) { return prefix ? path + "[" + std::to_string(i) + "]" : std::string(); };
  switch (f.element) {
    case CheckKind::kText: {
      auto list = p.getAs<capnp::List<capnp::Text>>();
      NCEN_RETURN_IF_ERROR(count_checks(list.size()));
      words += list.size();
      for (unsigned i = 0; i < list.size(); ++i) {
        auto text = list[i];
        words += TextWords(text.size());
        NCEN_RETURN_IF_ERROR(CheckReceivedText(text, element_rules, prefix, item_path(i)));
      }
      return Status::Ok();
    }
    case CheckKind::kStruct: {
      // Read as a list of some struct type: any one reads the list as the
      // dynamic API does (an inline-composite list, or a list of pointers or
      // of data read as structs); each element is then seen through
      // AnyStruct, and the plan says which struct it is.
      auto list = p.getAs<capnp::List<s::GoodsItem>>();
      NCEN_RETURN_IF_ERROR(count_checks(list.size()));
      words += 1 + list.size() * f.nested->section_words;  // + the tag
      for (unsigned i = 0; i < list.size(); ++i) {
        std::string at = item_path(i);
        NCEN_RETURN_IF_ERROR(
            CheckReceivedStruct(*f.nested, capnp::AnyStruct::Reader(list[i]), prefix ? &at : nullptr, words));
      }
      return Status::Ok();
    }
    case CheckKind::kEnum: {
      auto list = p.getAs<capnp::List<uint16_t>>();
      NCEN_RETURN_IF_ERROR(count_checks(list.size()));
      words += (2 * list.size() + 7) / 8;
      for (unsigned i = 0; i < list.size(); ++i) {
        NCEN_RETURN_IF_ERROR(CheckEnum(list[i], f.enum_count, true, prefix, item_path(i)));
      }
      return Status::Ok();
    }
    default: NCEN_CHECK(false);
  }
  return Status::Ok();
}

Status CheckReceivedStruct(const CheckStruct& plan, capnp::AnyStruct::Reader r, PathPrefix prefix, size_t& words) {
  kj::ArrayPtr<const kj::byte> data = r.getDataSection();
  capnp::List<capnp::AnyPointer>::Reader pointers = r.getPointerSection();
  for (const CheckField& f : plan.fields) {
    // The field's path: only when paths are asked for (the second pass).
    const std::string path = prefix ? PathOf(prefix, f.json_name) : std::string();
    switch (f.kind) {
      case CheckKind::kText:
      case CheckKind::kStruct:
      case CheckKind::kList: {
        bool present = f.offset < pointers.size() && !pointers[f.offset].isNull();
        if (!present) {
          if (f.rules.required) {
            return PayloadFieldError(path, f.kind == CheckKind::kList ? "needs at least one item" : "is required");
          }
          break;
        }
        capnp::AnyPointer::Reader p = pointers[f.offset];
        if (f.kind == CheckKind::kText) {
          auto text = p.getAs<capnp::Text>();
          words += TextWords(text.size());
          NCEN_RETURN_IF_ERROR(CheckReceivedText(text, f.rules, prefix, path));
        } else if (f.kind == CheckKind::kStruct) {
          words += f.nested->section_words;
          NCEN_RETURN_IF_ERROR(CheckReceivedStruct(*f.nested, p.getAs<capnp::AnyStruct>(), prefix ? &path : nullptr,
                                                   words));
        } else {
          NCEN_RETURN_IF_ERROR(CheckReceivedList(f, p, prefix, path, words));
        }
        break;
      }
      case CheckKind::kEnum:
        NCEN_RETURN_IF_ERROR(CheckEnum(static_cast<uint16_t>(DataField(data, f.offset, 2)), f.enum_count,
                                       f.rules.required, prefix, path));
        break;
      case CheckKind::kFloat64: {
        double d = std::bit_cast<double>(DataField(data, f.offset, 8));
        if (!std::isfinite(d)) return PayloadFieldError(path, "not a finite number");
        if (f.rules.positive && !(d > 0)) return PayloadFieldError(path, "must be greater than 0");
        if (f.rules.non_negative && d < 0) return PayloadFieldError(path, "must not be negative");
        break;
      }
      case CheckKind::kOther: break;
    }
  }
  return Status::Ok();
}

}  // namespace

// A seizure report's texts that come from code lists (docs/sharing.md §3):
// the concealment description is the list's text for the method, and a
// subtype is in its category's list — so a report holds no typed text
// there, whoever wrote it. "" when it holds, else "field 'path': what".
static std::string ReportCodeListProblem(ByteView payload);

Result<Bytes> RecordFromJson(RecordType type, const json& object, bool allow_id) {
  if (!IsRecordType(type)) return InvalidArgument(std::string(RecordTypeName(type)) + " is not a record type");
  if (!object.is_object()) return InvalidArgument("a record must be a JSON object");
  if (type == RecordType::kMessage) return InvalidArgument("messages are sent with `ncenctl msg send`");
  json body = json::object();
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (it.key() == "type") {
      if (!it.value().is_string() || it.value().get<std::string>() != RecordTypeName(type)) {
        return FieldError("type", std::string("must be \"") + RecordTypeName(type) + "\"");
      }
    } else if (allow_id && (it.key() == "id" || it.key() == "versions" || it.key() == "conflict")) {
      // Output-only keys of `get --json`, accepted so a record can round-trip.
    } else {
      body[it.key()] = it.value();
    }
  }
  try {
    capnp::MallocMessageBuilder message(1024);
    auto root = message.initRoot<capnp::DynamicStruct>(SchemaOf(type));
    NCEN_RETURN_IF_ERROR(FillStruct(root, body, ""));
    Bytes bytes = MessageBytes(message);
    if (bytes.size() > limits::kPayloadBytesMax) return InvalidArgument("record is larger than 1 MiB");
    if (type == RecordType::kSeizureReport) {
      if (std::string problem = ReportCodeListProblem(bytes); !problem.empty()) return InvalidArgument(problem);
    }
    return bytes;
  } catch (const kj::Exception& e) {
    return InvalidArgument(std::string("record does not convert: ") + e.getDescription().cStr());
  }
}

Status ValidateRecordPayload(RecordType type, ByteView payload) {
  if (!IsRecordType(type)) return Corruption("not a record type");
  if (payload.size() > limits::kPayloadBytesMax) return Corruption("record payload over 1 MiB");
  if (type == RecordType::kMessage) return DecodeSealedMessage(payload).status();
  const CheckStruct& plan = CheckPlans::Of(type);
  auto check = [&](PathPrefix prefix) {
    return ReadMessage<bool>(payload, "record payload", 16, [&](capnp::MessageReader& reader) -> Result<bool> {
      size_t words = 2 + plan.section_words;  // segment table, root pointer, root struct
      NCEN_RETURN_IF_ERROR(CheckReceivedStruct(plan, reader.getRoot<capnp::AnyStruct>(), prefix, words));
      if (words > limits::kPayloadBytesMax / 8) {
        return Corruption("record payload: written again from its JSON form it would take " +
                          std::to_string(words * 8) + " bytes (at most " +
                          std::to_string(limits::kPayloadBytesMax) + ")");
      }
      return true;
    });
  };
  auto fast = check(nullptr);
  if (fast.ok()) {
    if (type == RecordType::kSeizureReport) {
      if (std::string problem = ReportCodeListProblem(payload); !problem.empty()) {
        return Corruption("record payload: " + problem);
      }
    }
    return Status::Ok();
  }
  // Again, spelling out where: the same checks in the same order fail at
  // the same place.
  const std::string root;
  auto named = check(&root);
  return named.ok() ? fast.status() : named.status();
}

Result<json> RecordToJson(RecordType type, ByteView payload) {
  if (!IsRecordType(type)) return Corruption("not a record type");
  if (type == RecordType::kMessage) {
    // What anyone who holds it sees: an envelope (ncenctl msg read opens it).
    NCEN_ASSIGN_OR_RETURN(SealedMessage sealed, DecodeSealedMessage(payload));
    return json{{"sealed_to", sealed.keys.slots.size()},
                {"content_bytes", sealed.content.size()},
                {"attachment_blobs", sealed.blobs.size()}};
  }
  capnp::StructSchema schema = SchemaOf(type);
  return ReadMessage<json>(payload, "record payload", 16, [&](capnp::MessageReader& reader) -> Result<json> {
    return StructToJson(reader.getRoot<capnp::DynamicStruct>(schema));
  });
}

namespace {
void CollectPaths(capnp::StructSchema schema, const std::string& prefix, std::vector<std::string>& out) {
  for (auto field : schema.getFields()) {
    std::string name = prefix + JsonName(field.getProto());
    capnp::Type t = field.getType();
    if (t.isStruct()) {
      CollectPaths(t.asStruct(), name + ".", out);
    } else if (t.isList() && t.asList().getElementType().isStruct()) {
      CollectPaths(t.asList().getElementType().asStruct(), name + "[].", out);
    } else {
      out.push_back(name);
    }
  }
}
}  // namespace

std::vector<std::string> FieldPaths(RecordType type) {
  std::vector<std::string> out;
  if (IsRecordType(type) && type != RecordType::kMessage) CollectPaths(SchemaOf(type), "", out);
  return out;
}

std::string SeizureDate(ByteView payload) {
  auto r = WithRoot<s::Seizure>(payload, [](s::Seizure::Reader s) { return std::string(s.getDate()); });
  return r.ok() ? *r : "";
}

const std::vector<std::string>& CodeNames(CodeEnum e) {
  auto names = [](capnp::EnumSchema schema) {
    std::vector<std::string> out = EnumNamesOf(schema);
    if (!out.empty()) out[0] = "";
    return out;
  };
  static const std::vector<std::string> kNames[] = {
      names(capnp::Schema::from<s::GoodsCategory>()),     names(capnp::Schema::from<s::Unit>()),
      names(capnp::Schema::from<s::TransportMode>()),     names(capnp::Schema::from<s::DetectionMethod>()),
      names(capnp::Schema::from<s::ConcealmentMethod>()), names(capnp::Schema::from<s::Direction>()),
  };
  return kNames[static_cast<int>(e)];
}

int CodeOrdinal(CodeEnum e, std::string_view name) {
  const auto& names = CodeNames(e);
  for (size_t i = 1; i < names.size(); ++i)
    if (names[i] == name) return static_cast<int>(i);
  return -1;
}

std::string ReportCountry(ByteView payload) {
  auto r = WithRoot<s::SeizureReport>(payload, [](s::SeizureReport::Reader s) { return std::string(s.getCountry()); });
  return r.ok() ? *r : "";
}

static std::string EnumName(capnp::EnumSchema schema, uint16_t raw) {
  const auto& names = EnumNamesOf(schema);
  return raw < names.size() ? names[raw] : "?";
}

template <typename E>
static std::string EnumName(E value) {
  return EnumName(capnp::Schema::from<E>(), static_cast<uint16_t>(value));
}

static std::string ReportCodeListProblem(ByteView payload) {
  auto r = WithRoot<s::SeizureReport>(payload, [](s::SeizureReport::Reader rep) -> std::string {
    if (rep.hasConcealmentDescription()) {
      std::string method = EnumName(rep.getConcealmentMethod());
      if (rep.getConcealmentDescription() != kj::StringPtr(ConcealmentDescription(method).c_str())) {
        return "field 'concealment_description': not the code list's text for concealment method '" + method + "'";
      }
    }
    unsigned i = 0;
    for (auto g : rep.getGoods()) {
      std::string category = EnumName(g.getCategory());
      if (g.hasSubtype() && !IsListedSubtype(category, g.getSubtype().cStr())) {
        return "field 'goods[" + std::to_string(i) + "].subtype': '" + std::string(g.getSubtype()) +
               "' is not in the commodity code list of " + category;
      }
      ++i;
    }
    return std::string();
  });
  return r.ok() ? *r : "does not decode";
}

// " drugs/heroin 12.4 kg (+2)": the first goods item, and how many more.
template <typename Goods>
static std::string GoodsSummary(Goods goods) {
  std::string out;
  for (auto g : goods) {
    out += " " + EnumName(g.getCategory());
    if (g.hasSubtype()) out += "/" + std::string(g.getSubtype());
    out += " " + NumberJson(g.getQuantity()).dump() + " " + EnumName(g.getUnit());
    break;
  }
  if (goods.size() > 1) out += " (+" + std::to_string(goods.size() - 1) + ")";
  return out;
}

std::string SummarizeRecord(RecordType type, ByteView payload) {
  Result<std::string> r = Corruption("");
  switch (type) {
    case RecordType::kSeizure:
      r = WithRoot<s::Seizure>(payload, [](s::Seizure::Reader s) {
        std::string out = std::string(s.getDate()) + " " + s.getOffice().cStr() + GoodsSummary(s.getGoods());
        if (s.hasReference()) out += " [" + std::string(s.getReference()) + "]";
        return out;
      });
      break;
    case RecordType::kSuspect:
      r = WithRoot<s::Suspect>(payload, [](s::Suspect::Reader s) {
        std::string out = s.getSurname();
        if (s.hasForenames()) out += ", " + std::string(s.getForenames());
        if (s.hasBirthDate()) out += " (born " + std::string(s.getBirthDate()) + ")";
        return out;
      });
      break;
    case RecordType::kCompany:
      r = WithRoot<s::Company>(payload, [](s::Company::Reader c) {
        return std::string(c.getName()) + " (" + c.getCountry().cStr() + ")";
      });
      break;
    case RecordType::kSeizureReport:
      r = WithRoot<s::SeizureReport>(payload, [](s::SeizureReport::Reader s) {
        std::string out = std::string(s.getDate()) + " " + s.getCountry().cStr();
        if (s.hasOffice()) out += " " + std::string(s.getOffice());
        return out + GoodsSummary(s.getGoods());
      });
      break;
    case RecordType::kPhoto:
      r = WithRoot<s::Photo>(payload, [](s::Photo::Reader p) {
        auto image = p.getImage();
        std::string out = "photo of " + std::string(p.getSubject()) + " " + image.getMediaType().cStr() + " " +
                          std::to_string(image.getWidth()) + "x" + std::to_string(image.getHeight());
        if (p.hasCaption()) out += ": " + std::string(p.getCaption());
        return out;
      });
      break;
    case RecordType::kMessage: {
      auto sealed = DecodeSealedMessage(payload);
      if (sealed.ok()) r = "sealed message to " + std::to_string(sealed->keys.slots.size()) + " recipient(s)";
      break;
    }
    case RecordType::kCertificate:
    case RecordType::kRevocation: break;  // not records
  }
  return r.ok() ? *r : "(undecodable payload)";
}

namespace {

// A linked record id as the index keeps it: its canonical text form, so a
// link written in either spelling of an id is found by the record.
std::string NormalizeLinkedId(const std::string& text) {
  auto id = ParseRecordId(text);
  return id.ok() ? FormatRecordId(*id) : std::string();
}

}  // namespace

std::vector<std::string> RecordTerms(RecordType type, ByteView payload) {
  std::vector<std::string> terms;
  auto add = [&](char kind, const std::string& term) {
    if (term.empty()) return;
    std::string key(1, kind);
    key += term.substr(0, 200);
    terms.push_back(std::move(key));
  };
  auto add_names = [&](kj::StringPtr text) {
    for (auto& t : FoldTokens(text.cStr())) add(kTermName, t);
  };
  auto add_id = [&](kj::StringPtr text) { add(kTermIdentifier, NormalizeIdentifier(text.cStr())); };
  // A blob the record refers to: the store finds what to fetch and where a
  // blob may go from these (BlobTerm, docs/blobs.md §3).
  auto add_blob = [&](s::BlobRef::Reader b, char role) {
    std::string hash = b.getHash();
    if (IsBlobHash(hash) && b.getSize() > 0) terms.push_back(BlobTerm(role, hash, b.getSize()));
  };
  // What a seizure and its report share: date, reference, commodities.
  auto add_seizure_terms = [&](auto s) {
    std::string date = s.getDate();
    if (date.size() == 10) add(kTermDate, date.substr(0, 4) + date.substr(5, 2) + date.substr(8, 2));
    add_id(s.getReference());
    for (auto g : s.getGoods()) {
      add(kTermCategory, EnumName(g.getCategory()));
      add(kTermSubtype, g.getSubtype().cStr());
    }
  };
  Result<bool> r = true;
  switch (type) {
    case RecordType::kSeizure:
      r = WithRoot<s::Seizure>(payload, [&](s::Seizure::Reader s) {
        add_seizure_terms(s);
        // Which seizures link a suspect or company (Store::LinkedTo).
        for (auto id : s.getSuspects()) add(kTermLinkedTo, NormalizeLinkedId(id.cStr()));
        for (auto id : s.getCompanies()) add(kTermLinkedTo, NormalizeLinkedId(id.cStr()));
        auto c = s.getConveyance();
        add_id(c.getRegistration());
        add_id(c.getContainerNumber());
        add_id(c.getWaybill());
        add_id(c.getImo());
        return true;
      });
      break;
    case RecordType::kSuspect:
      r = WithRoot<s::Suspect>(payload, [&](s::Suspect::Reader s) {
        add_names(s.getSurname());
        add_names(s.getForenames());
        for (auto a : s.getAliases()) add_names(a);
        for (auto d : s.getDocuments()) add_id(d.getNumber());
        return true;
      });
      break;
    case RecordType::kCompany:
      r = WithRoot<s::Company>(payload, [&](s::Company::Reader c) {
        add_names(c.getName());
        for (auto t : c.getTradeNames()) add_names(t);
        add_id(c.getRegistrationNumber());
        add_id(c.getTaxId());
        add_id(c.getTraderId());
        return true;
      });
      break;
    case RecordType::kSeizureReport:
      r = WithRoot<s::SeizureReport>(payload, [&](s::SeizureReport::Reader s) {
        add_seizure_terms(s);
        for (auto p : s.getPhotos()) {
          add_blob(p.getImage(), kBlobRoleImage);
          add_blob(p.getPreview(), kBlobRolePreview);
        }
        return true;
      });
      break;
    case RecordType::kPhoto:
      r = WithRoot<s::Photo>(payload, [&](s::Photo::Reader p) {
        add(kTermPhotoOf, p.getSubject().cStr());
        add_blob(p.getImage(), kBlobRoleImage);
        add_blob(p.getPreview(), kBlobRolePreview);
        return true;
      });
      break;
    case RecordType::kMessage: {
      // Sealed: nothing to search. Its attachments' blobs (ciphertext)
      // travel with it, in its scope, like a photo's (docs/messages.md §2).
      auto sealed = DecodeSealedMessage(payload);
      if (!sealed.ok()) return {};
      for (const AttachedBlob& b : sealed->blobs) {
        terms.push_back(BlobTerm(kBlobRoleImage, BlobHashText(b.hash), b.size));
      }
      break;
    }
    case RecordType::kCertificate:
    case RecordType::kRevocation: break;  // not records
  }
  if (!r.ok()) return {};
  std::sort(terms.begin(), terms.end());
  terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
  return terms;
}

Result<Bytes> SetEnteredBy(RecordType type, ByteView payload, const EnteredBy& who) {
  if (!IsRecordType(type) || type == RecordType::kMessage) return Bytes(payload.begin(), payload.end());
  capnp::StructSchema schema = SchemaOf(type);
  const std::vector<FieldInfo>& fields = FieldsOf(schema);
  auto entered =
      std::find_if(fields.begin(), fields.end(), [](const FieldInfo& f) { return f.json_name == "entered_by"; });
  if (entered == fields.end()) return Bytes(payload.begin(), payload.end());
  return ReadMessage<Bytes>(payload, "record payload", 16, [&](capnp::MessageReader& reader) -> Result<Bytes> {
    auto from = reader.getRoot<capnp::DynamicStruct>(schema);
    capnp::MallocMessageBuilder message(static_cast<unsigned>(payload.size() / sizeof(capnp::word) + 64));
    auto root = message.initRoot<capnp::DynamicStruct>(schema);
    for (const FieldInfo& f : fields) {
      if (f.field == entered->field) continue;
      auto t = f.field.getType();
      if (t.isStruct() || t.isList() || t.isText() || t.isData()) {
        if (from.has(f.field)) root.set(f.field, from.get(f.field));
      } else {
        root.set(f.field, from.get(f.field));
      }
    }
    if (!who.name.empty()) {
      auto by = root.init(entered->field).as<capnp::DynamicStruct>();
      for (const FieldInfo& f : FieldsOf(by.getSchema())) {
        const std::string& value = f.json_name == "name" ? who.name : f.json_name == "node" ? who.node : who.via;
        if (value.empty() && !f.rules.required) continue;
        if (std::string problem = TextProblem(value, f.rules); !problem.empty()) {
          return FieldError("entered_by." + f.json_name, problem);
        }
        by.set(f.field, capnp::Text::Reader(value.c_str()));
      }
    }
    Bytes bytes = MessageBytes(message);
    if (bytes.size() > limits::kPayloadBytesMax) return InvalidArgument("record is larger than 1 MiB");
    return bytes;
  });
}

Result<Bytes> AddSeizureLink(ByteView payload, bool company, const std::string& id) {
  // A link is a re-write through the JSON form, as `ncenctl update` does:
  // only the fields this build knows are copied (never a peer's bytes in
  // fields it does not know, whatever they point to), and the result meets
  // every rule a peer will check.
  NCEN_ASSIGN_OR_RETURN(json shown, RecordToJson(RecordType::kSeizure, payload));
  json& links = shown[company ? "companies" : "suspects"];
  if (links.is_array()) {
    for (const json& t : links) {
      if (t.is_string() && t.get<std::string>() == id) return Bytes(payload.begin(), payload.end());
    }
  } else {
    links = json::array();
  }
  links.push_back(id);
  Result<Bytes> linked = RecordFromJson(RecordType::kSeizure, shown);
  if (!linked.ok()) return InvalidArgument("the seizure cannot take the link: " + linked.status().message());
  return linked;
}

}  // namespace ncen::storage
