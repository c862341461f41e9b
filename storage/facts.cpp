#include "storage/facts.h"

#include <algorithm>
#include <cstring>

#include "storage/capnp_message.h"
#include "storage/schema/record.capnp.h"

namespace ncen::storage {

namespace s = schema;

namespace {

// Layout, version 1 (docs/log-format.md §7):
//   0x01 | country[2] | office[5] (zeros: none) | mode u8 | detection u8 |
//   concealment u8 | direction u8 | route_count u8 | country[2] × route_count |
//   goods_count u16 BE | goods × goods_count
//   goods := category u8 | unit u8 | subtype_len u8 | subtype |
//            quantity f64 (IEEE 754 bits, BE) | currency[3] (zeros: none) |
//            value f64 (BE)
constexpr uint8_t kFactVersion = 1;

void PutF64(Bytes& out, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  AppendU64BE(out, bits);
}

void PutFixed(Bytes& out, std::string_view text, size_t n) {
  for (size_t i = 0; i < n; ++i) out.push_back(i < text.size() ? static_cast<uint8_t>(text[i]) : 0);
}

std::string Compact(std::string_view date) {
  if (date.size() != 10) return "";
  return std::string(date.substr(0, 4)) + std::string(date.substr(5, 2)) + std::string(date.substr(8, 2));
}

template <typename Goods>
void PutGoods(Bytes& out, Goods goods) {
  size_t n = std::min<size_t>(goods.size(), 0xffff);
  out.push_back(static_cast<uint8_t>(n >> 8));
  out.push_back(static_cast<uint8_t>(n));
  for (size_t i = 0; i < n; ++i) {
    auto g = goods[static_cast<unsigned>(i)];
    out.push_back(static_cast<uint8_t>(g.getCategory()));
    out.push_back(static_cast<uint8_t>(g.getUnit()));
    std::string_view sub(g.getSubtype().cStr(), std::min<size_t>(g.getSubtype().size(), 255));
    out.push_back(static_cast<uint8_t>(sub.size()));
    Append(out, AsBytes(sub));
    PutF64(out, g.getQuantity());
    if (g.hasValue()) {
      PutFixed(out, g.getValue().getCurrency().cStr(), 3);
      PutF64(out, g.getValue().getAmount());
    } else {
      PutFixed(out, "", 3);
      PutF64(out, 0);
    }
  }
}

void PutRoute(Bytes& out, std::vector<std::string> countries) {
  std::sort(countries.begin(), countries.end());
  countries.erase(std::unique(countries.begin(), countries.end()), countries.end());
  if (countries.size() > 255) countries.resize(255);
  out.push_back(static_cast<uint8_t>(countries.size()));
  for (const auto& c : countries) PutFixed(out, c, 2);
}

}  // namespace

std::string FactTerm(RecordType type, std::string_view yyyymmdd) {
  if (type != RecordType::kSeizure && type != RecordType::kSeizureReport) return "";
  std::string term(1, kTermFact);
  term += static_cast<char>('0' + static_cast<int>(type));
  term += yyyymmdd;
  return term;
}

std::optional<EncodedFact> MakeFact(RecordType type, ByteView payload) {
  Result<EncodedFact> r = Corruption("");
  auto head = [](Bytes& out, auto rec) {
    out.push_back(kFactVersion);
    PutFixed(out, rec.getCountry().cStr(), 2);
    PutFixed(out, rec.getOffice().cStr(), 5);
    out.push_back(static_cast<uint8_t>(rec.getTransportMode()));
    out.push_back(static_cast<uint8_t>(rec.getDetectionMethod()));
    out.push_back(static_cast<uint8_t>(rec.getConcealmentMethod()));
    out.push_back(static_cast<uint8_t>(rec.getDirection()));
    std::vector<std::string> route;
    for (auto p : rec.getRoute()) route.emplace_back(p.getCountry().cStr());
    PutRoute(out, std::move(route));
    PutGoods(out, rec.getGoods());
  };
  if (type == RecordType::kSeizure) {
    r = WithRoot<s::Seizure>(payload, [&](s::Seizure::Reader rec) {
      EncodedFact f{Compact(rec.getDate().cStr()), {}};
      head(f.bytes, rec);
      return f;
    });
  } else if (type == RecordType::kSeizureReport) {
    r = WithRoot<s::SeizureReport>(payload, [&](s::SeizureReport::Reader rec) {
      EncodedFact f{Compact(rec.getDate().cStr()), {}};
      head(f.bytes, rec);
      return f;
    });
  } else {
    return std::nullopt;
  }
  if (!r.ok() || r->date.size() != 8) return std::nullopt;
  return std::move(r).value();
}

Status DecodeFact(ByteView b, FactView& out) {
  auto bad = [] { return Corruption("fact does not decode"); };
  const char* p = reinterpret_cast<const char*>(b.data());
  size_t n = b.size(), at = 0;
  auto need = [&](size_t k) { return at + k <= n; };
  auto u8 = [&] { return static_cast<uint8_t>(p[at++]); };
  auto f64 = [&] {
    uint64_t bits = GetU64BE(b.data() + at);
    at += 8;
    double v;
    std::memcpy(&v, &bits, 8);
    return v;
  };
  auto text = [&](size_t k) {
    std::string_view v(p + at, k);
    at += k;
    auto end = v.find('\0');
    return end == std::string_view::npos ? v : v.substr(0, end);
  };
  if (!need(1 + 2 + 5 + 4 + 1) || u8() != kFactVersion) return bad();
  out.country = text(2);
  out.office = text(5);
  out.mode = u8();
  out.detection = u8();
  out.concealment = u8();
  out.direction = u8();
  size_t routes = u8();
  if (!need(routes * 2 + 2)) return bad();
  out.route_countries.clear();
  for (size_t i = 0; i < routes; ++i) out.route_countries.push_back(text(2));
  size_t goods = size_t{u8()} << 8;
  goods |= u8();
  out.goods.clear();
  for (size_t i = 0; i < goods; ++i) {
    if (!need(3)) return bad();
    FactGoods g;
    g.category = u8();
    g.unit = u8();
    size_t len = u8();
    if (!need(len + 8 + 3 + 8)) return bad();
    g.subtype = std::string_view(p + at, len);
    at += len;
    g.quantity = f64();
    g.currency = text(3);
    g.value = f64();
    out.goods.push_back(g);
  }
  if (at != n) return bad();
  return Status::Ok();
}

}  // namespace ncen::storage
