#include "node/stats.h"

#include "base/text.h"
#include "storage/membership.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <span>
#include <unordered_set>

#include "storage/codes.h"
#include "storage/record_json.h"

namespace ncen::node {

using storage::CodeEnum;
using storage::CodeNames;
using storage::FactGoods;
using storage::FactView;
using storage::RecordType;
using json = nlohmann::ordered_json;

namespace {

constexpr const char* kNone = "(none)";
constexpr size_t kStatsCellsMax = 100000;

struct DimensionInfo {
  Dimension d;
  const char* name;
};
constexpr DimensionInfo kDimensions[] = {
    {Dimension::kCommodity, "commodity"}, {Dimension::kCategory, "category"},
    {Dimension::kCountry, "country"},     {Dimension::kRouteCountry, "route_country"},
    {Dimension::kMode, "mode"},           {Dimension::kDetection, "detection"},
    {Dimension::kConcealment, "concealment"}, {Dimension::kOffice, "office"},
    {Dimension::kMonth, "month"},         {Dimension::kQuarter, "quarter"},
    {Dimension::kYear, "year"},
};

bool IsGoodsDimension(Dimension d) { return d == Dimension::kCommodity || d == Dimension::kCategory; }

const std::string& NameOr(CodeEnum e, uint8_t ordinal, std::string& scratch) {
  const auto& names = CodeNames(e);
  if (ordinal == 0) {
    scratch = kNone;
    return scratch;
  }
  if (ordinal < names.size()) return names[ordinal];
  scratch = "unknown_" + std::to_string(ordinal);
  return scratch;
}

std::string CommodityOf(const FactGoods& g) {
  std::string scratch;
  std::string out = NameOr(CodeEnum::kGoodsCategory, g.category, scratch);
  if (!g.subtype.empty()) {
    out += '/';
    out += g.subtype;
  }
  return out;
}

// The values a record (not its goods) has in dimension d.
void RecordValues(Dimension d, std::string_view date, const FactView& f, std::vector<std::string>& out) {
  out.clear();
  std::string scratch;
  switch (d) {
    case Dimension::kCountry: out.emplace_back(f.country.empty() ? kNone : f.country); break;
    case Dimension::kOffice: out.emplace_back(f.office.empty() ? kNone : f.office); break;
    case Dimension::kRouteCountry:
      for (auto c : f.route_countries) out.emplace_back(c);
      if (out.empty()) out.emplace_back(kNone);
      break;
    case Dimension::kMode: out.push_back(NameOr(CodeEnum::kTransportMode, f.mode, scratch)); break;
    case Dimension::kDetection: out.push_back(NameOr(CodeEnum::kDetectionMethod, f.detection, scratch)); break;
    case Dimension::kConcealment: out.push_back(NameOr(CodeEnum::kConcealmentMethod, f.concealment, scratch)); break;
    case Dimension::kMonth: out.push_back(std::string(date.substr(0, 4)) + "-" + std::string(date.substr(4, 2))); break;
    case Dimension::kQuarter: {
      int month = (date[4] - '0') * 10 + (date[5] - '0');
      out.push_back(std::string(date.substr(0, 4)) + "-Q" + std::to_string((month - 1) / 3 + 1));
      break;
    }
    case Dimension::kYear: out.emplace_back(date.substr(0, 4)); break;
    case Dimension::kCommodity:
    case Dimension::kCategory: break;  // per goods item
  }
}

std::string GoodsValue(Dimension d, const FactGoods& g) {
  std::string scratch;
  if (d == Dimension::kCategory) return NameOr(CodeEnum::kGoodsCategory, g.category, scratch);
  return CommodityOf(g);
}


struct Sums {
  uint64_t records = 0;
  std::map<std::string, double, std::less<>> quantity, value;
  void Add(const FactGoods& g) {
    std::string scratch;
    const std::string& unit = NameOr(CodeEnum::kUnit, g.unit, scratch);
    auto q = quantity.find(unit);
    if (q == quantity.end()) q = quantity.emplace(unit, 0.0).first;
    q->second += g.quantity;
    if (!g.currency.empty()) {
      auto v = value.find(g.currency);
      if (v == value.end()) v = value.emplace(std::string(g.currency), 0.0).first;
      v->second += g.value;
    }
  }
};

Status CheckRange(const std::string& from, const std::string& to) {
  if (!from.empty() && !storage::IsDate(from)) return InvalidArgument("from '" + from + "' is not a date (YYYY-MM-DD)");
  if (!to.empty() && !storage::IsDate(to)) return InvalidArgument("to '" + to + "' is not a date (YYYY-MM-DD)");
  if (!from.empty() && !to.empty() && from > to) return InvalidArgument("the from date is after the to date");
  return Status::Ok();
}

}  // namespace

std::optional<Dimension> ParseDimension(std::string_view name) {
  for (const auto& d : kDimensions)
    if (name == d.name) return d.d;
  return std::nullopt;
}

const char* DimensionName(Dimension d) {
  for (const auto& i : kDimensions)
    if (i.d == d) return i.name;
  return "?";
}

std::string DimensionNames() {
  std::string out;
  for (const auto& d : kDimensions) out += (out.empty() ? "" : ", ") + std::string(d.name);
  return out;
}

Result<StatsRequest> ParseStatsRequest(const storage::Store& store, const crypto::PublicKey& me, const std::string& by,
                                       const std::string& type, const std::string& from, const std::string& to) {
  StatsRequest request;
  request.from = from;
  request.to = to;
  if (!by.empty() && by.back() == ',') return InvalidArgument("by '" + SanitizeText(by, 200) + "' has an empty dimension");
  size_t at = 0;
  while (at < by.size()) {
    size_t comma = by.find(',', at);
    std::string part = by.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    if (part.empty()) return InvalidArgument("by '" + SanitizeText(by, 200) + "' has an empty dimension");
    auto d = ParseDimension(part);
    if (!d) return InvalidArgument("unknown dimension '" + SanitizeText(part, 100) + "' (" + DimensionNames() + ")");
    request.by.push_back(*d);
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  if (!type.empty()) {
    auto t = storage::ParseRecordType(type);
    if (!t) return InvalidArgument("unknown record type '" + SanitizeText(type, 100) + "' (seizure or seizure_report)");
    request.type = *t;
    return request;
  }
  NCEN_ASSIGN_OR_RETURN(auto membership, store.GetMembership());
  const storage::Member* m = membership ? membership->Find(me) : nullptr;
  bool hub = m && !m->root &&
             (m->cert.kind == storage::MemberKind::kRegionalHub || m->cert.kind == storage::MemberKind::kGlobalHub);
  request.type = hub ? storage::RecordType::kSeizureReport : storage::RecordType::kSeizure;
  return request;
}

Result<StatsResult> ComputeStats(storage::Store& store, const StatsRequest& r) {
  NCEN_RETURN_IF_ERROR(CheckRange(r.from, r.to));
  if (r.by.empty() || r.by.size() > 2) return InvalidArgument("stats needs one or two dimensions");
  if (r.by.size() == 2 && r.by[0] == r.by[1]) return InvalidArgument("the two dimensions are the same");
  if (r.type != RecordType::kSeizure && r.type != RecordType::kSeizureReport) {
    return InvalidArgument("stats are over seizures or seizure reports");
  }
  const size_t n = r.by.size();
  std::unordered_map<std::string, Sums> cells;
  Sums total;
  std::vector<std::string> values[2];
  std::unordered_set<std::string> keys;  // the cells a record counted in (a hostile record may have 10^5)
  std::string key;
  // A table past kStatsCellsMax cells is refused: no one reads it, and a
  // few hostile records (1,000 subtypes, 249 route countries) would
  // otherwise cost minutes and gigabytes.
  bool too_many = false;
  Sums overflow;
  auto cell_of = [&](const std::string& k) -> Sums& {
    auto it = cells.find(k);
    if (it != cells.end()) return it->second;
    if (cells.size() >= kStatsCellsMax) {
      too_many = true;
      return overflow;
    }
    return cells.emplace(k, Sums()).first->second;
  };
  NCEN_RETURN_IF_ERROR(
      store
          .ScanFacts(r.type, r.from, r.to, false,
                     [&](const storage::RecordId&, std::string_view date, const FactView& f) {
                       ++total.records;
                       for (const FactGoods& g : f.goods) total.Add(g);
                       // Record-level values of each dimension; goods-level
                       // ones are taken per item below.
                       for (size_t i = 0; i < n; ++i) {
                         if (!IsGoodsDimension(r.by[i])) RecordValues(r.by[i], date, f, values[i]);
                       }
                       const bool goods_dim = IsGoodsDimension(r.by[0]) || (n == 2 && IsGoodsDimension(r.by[1]));
                       if (!goods_dim) {
                         for (const auto& a : values[0]) {
                           if (n == 1) {
                             Sums& c = cell_of(a);
                             ++c.records;
                             for (const FactGoods& g : f.goods) c.Add(g);
                             continue;
                           }
                           for (const auto& b : values[1]) {
                             key = a;
                             key += '\x1f';
                             key += b;
                             Sums& c = cell_of(key);
                             ++c.records;
                             for (const FactGoods& g : f.goods) c.Add(g);
                           }
                         }
                         return !too_many;
                       }
                       // A goods dimension: each item goes to its cells; a
                       // record counts once per cell however many items.
                       keys.clear();
                       for (const FactGoods& g : f.goods) {
                         std::string gv[2];
                         for (size_t i = 0; i < n; ++i) {
                           if (IsGoodsDimension(r.by[i])) gv[i] = GoodsValue(r.by[i], g);
                         }
                         auto add = [&](const std::string& k) {
                           Sums& c = cell_of(k);
                           c.Add(g);
                           if (keys.insert(k).second) ++c.records;
                         };
                         if (n == 1) {
                           add(gv[0]);
                           continue;
                         }
                         // The item's own value in a goods dimension, the
                         // record's values in the other (no copies per item).
                         std::span<const std::string> first = IsGoodsDimension(r.by[0]) ? std::span(&gv[0], 1)
                                                                                        : std::span(values[0]);
                         std::span<const std::string> second = IsGoodsDimension(r.by[1]) ? std::span(&gv[1], 1)
                                                                                         : std::span(values[1]);
                         for (const auto& a : first) {
                           for (const auto& b : second) add(a + '\x1f' + b);
                         }
                       }
                       return !too_many;
                     })
          .status());
  if (too_many) {
    return InvalidArgument("the table would have more than " + std::to_string(kStatsCellsMax) +
                           " cells: pick fewer or coarser dimensions, or a shorter range");
  }
  StatsResult out;
  out.by = r.by;
  auto to_cell = [](const Sums& s, std::vector<std::string> keys) {
    StatsCell c;
    c.keys = std::move(keys);
    c.records = s.records;
    // Sums of decimal amounts carry binary noise (1835.8000000000002):
    // rounded to a millionth, far below any unit customs counts in.
    auto round = [](double v) { return std::round(v * 1e6) / 1e6; };
    for (const auto& [k, v] : s.quantity) c.quantity[k] = round(v);
    for (const auto& [k, v] : s.value) c.value[k] = round(v);
    return c;
  };
  for (const auto& [k, s] : cells) {
    std::vector<std::string> ks;
    size_t sep = k.find('\x1f');
    if (sep == std::string::npos) {
      ks.push_back(k);
    } else {
      ks.push_back(k.substr(0, sep));
      ks.push_back(k.substr(sep + 1));
    }
    out.cells.push_back(to_cell(s, std::move(ks)));
  }
  std::sort(out.cells.begin(), out.cells.end(), [](const StatsCell& a, const StatsCell& b) { return a.keys < b.keys; });
  out.total = to_cell(total, {});
  return out;
}

Result<std::function<bool(const FactView&)>> MakeFactFilter(const FactFilter& f) {
  if (!f.country.empty() && !storage::IsCountryCode(f.country)) {
    return InvalidArgument("country '" + f.country + "' is not an ISO 3166-1 alpha-2 code");
  }
  if (!f.route_country.empty() && !storage::IsCountryCode(f.route_country)) {
    return InvalidArgument("route country '" + f.route_country + "' is not an ISO 3166-1 alpha-2 code");
  }
  auto ordinal = [](CodeEnum e, const std::string& name, const char* what) -> Result<int> {
    if (name.empty()) return 0;
    int o = storage::CodeOrdinal(e, name);
    if (o < 0) return InvalidArgument(std::string(what) + " '" + name + "' is not a known code");
    return o;
  };
  NCEN_ASSIGN_OR_RETURN(int mode, ordinal(CodeEnum::kTransportMode, f.mode, "mode"));
  NCEN_ASSIGN_OR_RETURN(int detection, ordinal(CodeEnum::kDetectionMethod, f.detection, "detection method"));
  NCEN_ASSIGN_OR_RETURN(int concealment, ordinal(CodeEnum::kConcealmentMethod, f.concealment, "concealment method"));
  // A commodity: "category", "subtype" or "category/subtype".
  std::string cat_name, sub_name;
  int category = 0;
  if (!f.commodity.empty()) {
    size_t slash = f.commodity.find('/');
    if (slash != std::string::npos) {
      cat_name = f.commodity.substr(0, slash);
      sub_name = f.commodity.substr(slash + 1);
      category = storage::CodeOrdinal(CodeEnum::kGoodsCategory, cat_name);
      if (category < 0) return InvalidArgument("commodity category '" + cat_name + "' is not a known code");
      if (!storage::IsLowerCaseCode(sub_name)) {
        return InvalidArgument("commodity subtype '" + sub_name + "' is not a lower-case code (a-z, 0-9, _)");
      }
    } else if (int c = storage::CodeOrdinal(CodeEnum::kGoodsCategory, f.commodity); c > 0) {
      category = c;
    } else if (storage::IsLowerCaseCode(f.commodity)) {
      sub_name = f.commodity;
    } else {
      return InvalidArgument("commodity '" + f.commodity + "' is neither a category nor a subtype code");
    }
  }
  return std::function<bool(const FactView&)>(
      [f, mode, detection, concealment, category, sub_name](const FactView& v) {
        if (!f.country.empty() && v.country != f.country) return false;
        if (mode && v.mode != mode) return false;
        if (detection && v.detection != detection) return false;
        if (concealment && v.concealment != concealment) return false;
        if (!f.route_country.empty() &&
            std::find(v.route_countries.begin(), v.route_countries.end(), f.route_country) == v.route_countries.end()) {
          return false;
        }
        if (category || !sub_name.empty()) {
          bool any = std::any_of(v.goods.begin(), v.goods.end(), [&](const FactGoods& g) {
            return (!category || g.category == category) && (sub_name.empty() || g.subtype == sub_name);
          });
          if (!any) return false;
        }
        return true;
      });
}

namespace {

const std::vector<std::string> kColumns = {
    "id", "reference", "date", "country", "office", "direction", "route", "conveyance_type", "transport_mode",
    "detection_method", "concealment_method", "concealment_description", "offences", "suspect_count",
    "suspect_nationalities", "suspect_genders", "suspect_age_bands", "company_count", "company_countries",
    "company_names", "released_by", "released_at", "item", "category", "subtype", "hs_code", "quantity", "unit",
    "value_amount", "value_currency", "value_basis", "packages", "origin_country", "cites_appendix"};

std::string Cell(const json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// A CSV field: quoted when it holds a separator, a quote or a line break;
// a text that a spreadsheet would run as a formula gets a leading quote.
std::string CsvField(std::string s, bool text) {
  if (text && !s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r')) {
    s.insert(0, "'");
  }
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// "AF:2;PK:1" from [{"country": "AF", "count": 2}, ...].
std::string Pairs(const json& list, const char* key) {
  std::string out;
  if (!list.is_array()) return out;
  for (const json& e : list) {
    if (!out.empty()) out += ';';
    out += Cell(e.value(key, json())) + ":" + Cell(e.value("count", json()));
  }
  return out;
}

std::string Joined(const json& list) {
  std::string out;
  if (!list.is_array()) return out;
  for (const json& e : list) out += (out.empty() ? "" : ";") + Cell(e);
  return out;
}

}  // namespace

const std::vector<std::string>& ExportColumns() { return kColumns; }

Result<uint64_t> ExportReports(storage::Store& store, const std::string& from, const std::string& to,
                               ExportFormat format, std::ostream& out) {
  NCEN_RETURN_IF_ERROR(CheckRange(from, to));
  std::vector<storage::RecordId> ids;
  NCEN_RETURN_IF_ERROR(store
                           .ScanFacts(RecordType::kSeizureReport, from, to, false,
                                      [&](const storage::RecordId& id, std::string_view, const FactView&) {
                                        ids.push_back(id);
                                        return true;
                                      })
                           .status());
  if (format == ExportFormat::kCsv) {
    for (size_t i = 0; i < kColumns.size(); ++i) out << (i ? "," : "") << kColumns[i];
    out << "\n";
  }
  uint64_t n = 0;
  for (const storage::RecordId& id : ids) {
    auto view = store.GetRecord(id);
    if (!view.ok() || !view->state.live() || view->state.quarantined()) continue;
    const Bytes& payload = view->payloads[view->state.WinnerIndex()];
    if (payload.empty()) continue;
    NCEN_ASSIGN_OR_RETURN(json body, storage::RecordToJson(RecordType::kSeizureReport, payload));
    ++n;
    if (format == ExportFormat::kNdjson) {
      json line = {{"id", storage::FormatRecordId(id)}, {"type", "seizure_report"}};
      for (auto it = body.begin(); it != body.end(); ++it) line[it.key()] = it.value();
      out << line.dump() << "\n";
      continue;
    }
    std::string route;
    for (const json& p : body.value("route", json::array())) {
      route += (route.empty() ? "" : ";") + Cell(p.value("role", json("")));
      route += ":" + Cell(p.value("country", json("")));
    }
    std::vector<std::string> head = {
        storage::FormatRecordId(id), Cell(body.value("reference", json())), Cell(body.value("date", json())),
        Cell(body.value("country", json())), Cell(body.value("office", json())),
        Cell(body.value("direction", json())), route, Cell(body.value("conveyance_type", json())),
        Cell(body.value("transport_mode", json())), Cell(body.value("detection_method", json())),
        Cell(body.value("concealment_method", json())), Cell(body.value("concealment_description", json())),
        Joined(body.value("offences", json())), Cell(body.value("suspect_count", json())),
        Pairs(body.value("suspect_nationalities", json()), "country"),
        Pairs(body.value("suspect_genders", json()), "gender"), Pairs(body.value("suspect_age_bands", json()), "band"),
        Cell(body.value("company_count", json())), Pairs(body.value("company_countries", json()), "country"),
        Joined(body.value("company_names", json())), Cell(body.value("released_by", json())),
        Cell(body.value("released_at", json()))};
    size_t item = 0;
    for (const json& g : body.value("goods", json::array())) {
      json value = g.value("value", json::object());
      std::vector<std::string> row = head;
      for (const std::string& c :
           {std::to_string(item++), Cell(g.value("category", json())), Cell(g.value("subtype", json())),
            Cell(g.value("hs_code", json())), Cell(g.value("quantity", json())), Cell(g.value("unit", json())),
            Cell(value.value("amount", json())), Cell(value.value("currency", json())),
            Cell(value.value("basis", json())), Cell(g.value("packages", json())),
            Cell(g.value("origin_country", json())), Cell(g.value("cites_appendix", json()))}) {
        row.push_back(c);
      }
      for (size_t i = 0; i < row.size(); ++i) {
        bool numeric = kColumns[i] == "quantity" || kColumns[i] == "value_amount" || kColumns[i] == "item" ||
                       kColumns[i] == "packages" || kColumns[i] == "suspect_count" || kColumns[i] == "company_count";
        out << (i ? "," : "") << CsvField(row[i], !numeric);
      }
      out << "\n";
    }
  }
  return n;
}

}  // namespace ncen::node
