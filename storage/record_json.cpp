#include "storage/record_json.h"

#include <capnp/dynamic.h>
#include <capnp/message.h>
#include <capnp/schema.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cmath>
#include <cstring>
#include <set>

#include "storage/codes.h"
#include "storage/schema/record.capnp.h"
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

Status FieldError(const std::string& path, const std::string& what) {
  return InvalidArgument("field '" + path + "': " + what);
}

// Checks and canonicalizes a text value by its format. On success `value` may
// have been rewritten (record ids to their canonical form).
Status CheckFormat(s::Format format, std::string& value, const std::string& path) {
  auto bad = [&](const char* expected) {
    return FieldError(path, "'" + value + "' is not " + expected);
  };
  switch (format) {
    case s::Format::NONE: return Status::Ok();
    case s::Format::DATE:
      return IsDate(value) ? Status::Ok() : bad("a valid date (YYYY-MM-DD)");
    case s::Format::TIME: return IsTime(value) ? Status::Ok() : bad("a time (HH:MM, 24-hour)");
    case s::Format::COUNTRY:
      return IsCountryCode(value) ? Status::Ok()
                                  : bad("an ISO 3166-1 alpha-2 country code (upper case, e.g. PK)");
    case s::Format::CURRENCY:
      return IsCurrencyCode(value) ? Status::Ok() : bad("an ISO 4217 currency code (e.g. USD)");
    case s::Format::HS_CODE:
      return IsHsCode(value) ? Status::Ok() : bad("an HS code (6, 8 or 10 digits)");
    case s::Format::OFFICE:
      return IsOfficeCode(value) ? Status::Ok()
                                 : bad("an office code (country + 3 characters, e.g. PKKHI)");
    case s::Format::RECORD_ID: {
      auto id = ParseRecordId(value);
      if (!id.ok()) return bad("a record id");
      value = FormatRecordId(*id);
      return Status::Ok();
    }
    case s::Format::CONTAINER_NUMBER:
      return IsContainerNumber(value) ? Status::Ok()
                                      : bad("an ISO 6346 container number with a valid check digit");
    case s::Format::IMO:
      return IsImoNumber(value) ? Status::Ok() : bad("an IMO number with a valid check digit");
    case s::Format::AIR_WAYBILL:
      return IsAirWaybill(value) ? Status::Ok()
                                 : bad("an air waybill (NNN-NNNNNNNN) with a valid check digit");
    case s::Format::CODE: {
      bool ok = !value.empty() && value.size() <= 64;
      for (char c : value) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
      return ok ? Status::Ok() : bad("a lower-case code (a-z, 0-9, _)");
    }
    case s::Format::DOCUMENT_NUMBER: {
      bool ok = !value.empty() && value.size() <= 32 && !NormalizeIdentifier(value).empty();
      for (char c : value)
        ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '/' || c == ' ' ||
                    c == '.');
      return ok ? Status::Ok() : bad("a document number (letters, digits, '-', '/', '.', ' ')");
    }
    case s::Format::PHONE: {
      bool ok = value.size() >= 3 && value.size() <= 32;
      int digits = 0;
      for (size_t i = 0; i < value.size(); ++i) {
        char c = value[i];
        if (c >= '0' && c <= '9') ++digits;
        else if (!(c == ' ' || c == '-' || c == '(' || c == ')' || (c == '+' && i == 0))) ok = false;
      }
      return ok && digits >= 3 ? Status::Ok() : bad("a phone number (e.g. +93 700 000 001)");
    }
    case s::Format::CITES_APPENDIX:
      return value == "I" || value == "II" || value == "III" ? Status::Ok()
                                                             : bad("a CITES appendix (I, II or III)");
    case s::Format::FLIGHT_NUMBER:
      return IsFlightNumber(value) ? Status::Ok() : bad("a flight number (e.g. QR1342)");
  }
  return Status::Ok();
}

Status CheckText(const std::string& value, const FieldRules& rules, const std::string& path) {
  if (value.size() > rules.max_length) {
    return FieldError(path, "longer than " + std::to_string(rules.max_length) + " bytes");
  }
  for (unsigned char c : value) {
    if (c < 0x20 && c != '\n' && c != '\t') return FieldError(path, "contains a control character");
  }
  return Status::Ok();
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
      std::string text = v.get<std::string>();
      NCEN_RETURN_IF_ERROR(CheckText(text, rules, path));
      if (rules.required && FoldText(text).empty() && NormalizeIdentifier(text).empty()) {
        return FieldError(path, "must not be empty");
      }
      if (!text.empty()) NCEN_RETURN_IF_ERROR(CheckFormat(rules.format, text, path));
      set_text(text);
      return Status::Ok();
    }
    case capnp::schema::Type::ENUM: {
      if (!v.is_string()) return WrongType(path, "a string", v);
      std::string name = v.get<std::string>();
      for (auto e : type.asEnum().getEnumerants()) {
        if (e.getOrdinal() != 0 && JsonName(e.getProto()) == name) {
          set_enum(e);
          return Status::Ok();
        }
      }
      std::string allowed;
      for (auto e : type.asEnum().getEnumerants()) {
        if (e.getOrdinal() == 0) continue;
        allowed += (allowed.empty() ? "" : ", ") + JsonName(e.getProto());
      }
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

Status FillField(capnp::DynamicStruct::Builder out, capnp::StructSchema::Field field,
                 const json& v, const std::string& path) {
  FieldRules rules = RulesOf(field);
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
  capnp::StructSchema schema = out.getSchema();
  std::set<std::string> seen;
  for (auto it = in.begin(); it != in.end(); ++it) {
    const std::string& key = it.key();
    std::string path = prefix.empty() ? key : prefix + "." + key;
    bool found = false;
    for (auto field : schema.getFields()) {
      if (JsonName(field.getProto()) != key) continue;
      found = true;
      if (it.value().is_null()) break;  // null means absent
      NCEN_RETURN_IF_ERROR(FillField(out, field, it.value(), path));
      seen.insert(key);
      break;
    }
    if (!found) return FieldError(path, "unknown field");
  }
  for (auto field : schema.getFields()) {
    std::string name = JsonName(field.getProto());
    if (RulesOf(field).required && !seen.count(name)) {
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
  for (auto field : r.getSchema().getFields()) {
    std::string name = JsonName(field.getProto());
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
        if (d != 0 || RulesOf(field).required) out[name] = NumberJson(d);
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
      KJ_IF_MAYBE(enumerant, e.getEnumerant()) { return JsonName(enumerant->getProto()); }
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

Bytes MessageBytes(capnp::MessageBuilder& message) {
  auto words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  return Bytes(bytes.begin(), bytes.end());
}

// Runs `fn(reader)` on the payload's root struct, turning decoding exceptions
// into kCorruption.
template <typename Root, typename Fn>
auto WithRoot(ByteView payload, Fn fn) -> Result<decltype(fn(std::declval<typename Root::Reader>()))> {
  if (payload.empty() || payload.size() % sizeof(capnp::word) != 0) {
    return Corruption("record payload is not a whole number of 8-byte words");
  }
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>(payload.size() / sizeof(capnp::word));
  std::memcpy(words.begin(), payload.data(), payload.size());
  try {
    capnp::ReaderOptions options;
    options.traversalLimitInWords = words.size() * 4 + 64;
    options.nestingLimit = 16;
    capnp::FlatArrayMessageReader reader(words.asPtr(), options);
    return fn(reader.getRoot<Root>());
  } catch (const kj::Exception& e) {
    return Corruption(std::string("record payload does not decode: ") + e.getDescription().cStr());
  }
}

}  // namespace

Result<Bytes> RecordFromJson(RecordType type, const json& object, bool allow_id) {
  if (!object.is_object()) return InvalidArgument("a record must be a JSON object");
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
    if (bytes.size() > 1024 * 1024) return InvalidArgument("record is larger than 1 MiB");
    return bytes;
  } catch (const kj::Exception& e) {
    return InvalidArgument(std::string("record does not convert: ") + e.getDescription().cStr());
  }
}

Result<json> RecordToJson(RecordType type, ByteView payload) {
  capnp::StructSchema schema = SchemaOf(type);
  if (payload.empty() || payload.size() % sizeof(capnp::word) != 0) {
    return Corruption("record payload is not a whole number of 8-byte words");
  }
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>(payload.size() / sizeof(capnp::word));
  std::memcpy(words.begin(), payload.data(), payload.size());
  try {
    capnp::ReaderOptions options;
    options.traversalLimitInWords = words.size() * 4 + 64;
    capnp::FlatArrayMessageReader reader(words.asPtr(), options);
    return StructToJson(reader.getRoot<capnp::DynamicStruct>(schema));
  } catch (const kj::Exception& e) {
    return Corruption(std::string("record payload does not decode: ") + e.getDescription().cStr());
  }
}

std::string SeizureDate(ByteView payload) {
  auto r = WithRoot<s::Seizure>(payload, [](s::Seizure::Reader s) { return std::string(s.getDate()); });
  return r.ok() ? *r : "";
}

static std::string EnumName(capnp::EnumSchema schema, uint16_t raw) {
  for (auto e : schema.getEnumerants())
    if (e.getOrdinal() == raw) return JsonName(e.getProto());
  return "?";
}

template <typename E>
static std::string EnumName(E value) {
  return EnumName(capnp::Schema::from<E>(), static_cast<uint16_t>(value));
}

std::string SummarizeRecord(RecordType type, ByteView payload) {
  Result<std::string> r = Corruption("");
  switch (type) {
    case RecordType::kSeizure:
      r = WithRoot<s::Seizure>(payload, [](s::Seizure::Reader s) {
        std::string out = std::string(s.getDate()) + " " + s.getOffice().cStr();
        for (auto g : s.getGoods()) {
          out += " " + EnumName(g.getCategory());
          if (g.hasSubtype()) out += "/" + std::string(g.getSubtype());
          json q = NumberJson(g.getQuantity());
          out += " " + q.dump() + " " + EnumName(g.getUnit());
          break;
        }
        if (s.getGoods().size() > 1) out += " (+" + std::to_string(s.getGoods().size() - 1) + ")";
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
  }
  return r.ok() ? *r : "(undecodable payload)";
}

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
  Result<bool> r = true;
  switch (type) {
    case RecordType::kSeizure:
      r = WithRoot<s::Seizure>(payload, [&](s::Seizure::Reader s) {
        std::string date = s.getDate();
        if (date.size() == 10) add(kTermDate, date.substr(0, 4) + date.substr(5, 2) + date.substr(8, 2));
        add_id(s.getReference());
        for (auto g : s.getGoods()) {
          add(kTermCategory, EnumName(g.getCategory()));
          add(kTermSubtype, g.getSubtype().cStr());
        }
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
  }
  if (!r.ok()) return {};
  std::sort(terms.begin(), terms.end());
  terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
  return terms;
}

Result<Bytes> AddSeizureLink(ByteView payload, bool company, const std::string& id) {
  if (payload.empty() || payload.size() % sizeof(capnp::word) != 0) {
    return Corruption("record payload is not a whole number of 8-byte words");
  }
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>(payload.size() / sizeof(capnp::word));
  std::memcpy(words.begin(), payload.data(), payload.size());
  try {
    capnp::FlatArrayMessageReader reader(words.asPtr());
    capnp::MallocMessageBuilder message;
    message.setRoot(reader.getRoot<s::Seizure>());
    auto root = message.getRoot<s::Seizure>();
    auto old = company ? root.asReader().getCompanies() : root.asReader().getSuspects();
    std::vector<std::string> ids;
    for (auto t : old) {
      if (id == t.cStr()) return Bytes(payload.begin(), payload.end());
      ids.emplace_back(t.cStr());
    }
    ids.push_back(id);
    auto list = company ? root.initCompanies(static_cast<unsigned>(ids.size()))
                        : root.initSuspects(static_cast<unsigned>(ids.size()));
    for (size_t i = 0; i < ids.size(); ++i) list.set(static_cast<unsigned>(i), ids[i].c_str());
    return MessageBytes(message);
  } catch (const kj::Exception& e) {
    return Corruption(std::string("record payload does not decode: ") + e.getDescription().cStr());
  }
}

}  // namespace ncen::storage
