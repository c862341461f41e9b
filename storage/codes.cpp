#include "storage/codes.h"

#include <algorithm>
#include <bitset>
#include <cctype>
#include <string>

#include "base/check.h"

namespace ncen::storage {

namespace {

// ISO 3166-1 alpha-2 officially assigned codes, plus XK (Kosovo), which
// customs administrations use in practice.
constexpr std::string_view kCountries =
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ "
    "BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM "
    "DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS "
    "GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN "
    "KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ "
    "MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM "
    "PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV "
    "SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
    "VN VU WF WS XK YE YT ZA ZM ZW";

// ISO 4217 active currency codes.
constexpr std::string_view kCurrencies =
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP "
    "BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP "
    "GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR "
    "KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK "
    "MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR "
    "SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD "
    "TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG XAU XAG";

// A set of upper-case codes of one length, as a bitmap indexed by the code
// read in base 26 (676 bits for countries, 17,576 for currencies): a lookup
// per text field of every record received must not scan the list.
template <size_t kLen>
class CodeSet {
 public:
  explicit CodeSet(std::string_view list) {
    for (size_t i = 0; i + kLen <= list.size(); i += kLen + 1) {
      size_t index = IndexOf(list.substr(i, kLen));
      NCEN_CHECK(index < bits_.size());
      bits_[index] = true;
    }
  }
  bool Contains(std::string_view code) const {
    if (code.size() != kLen) return false;
    size_t index = IndexOf(code);
    return index < bits_.size() && bits_[index];
  }

 private:
  static constexpr size_t Size() {
    size_t n = 1;
    for (size_t i = 0; i < kLen; ++i) n *= 26;
    return n;
  }
  // SIZE_MAX for anything but kLen letters A-Z.
  static size_t IndexOf(std::string_view code) {
    size_t index = 0;
    for (char c : code) {
      if (c < 'A' || c > 'Z') return SIZE_MAX;
      index = index * 26 + static_cast<size_t>(c - 'A');
    }
    return index;
  }
  std::bitset<Size()> bits_;
};

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Digits only (AllDigits checked first): no allocation, no locale.
int Num(std::string_view s) {
  int n = 0;
  for (char c : s) n = n * 10 + (c - '0');
  return n;
}

}  // namespace

bool IsCountryCode(std::string_view s) {
  static const CodeSet<2> countries(kCountries);
  return countries.Contains(s);
}
bool IsCurrencyCode(std::string_view s) {
  static const CodeSet<3> currencies(kCurrencies);
  return currencies.Contains(s);
}

bool IsDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  if (!AllDigits(s.substr(0, 4)) || !AllDigits(s.substr(5, 2)) || !AllDigits(s.substr(8, 2))) {
    return false;
  }
  int y = Num(s.substr(0, 4)), m = Num(s.substr(5, 2)), d = Num(s.substr(8, 2));
  if (y < 1900 || y > 2100 || m < 1 || m > 12 || d < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  int max_day = kDays[m - 1] + (m == 2 && leap ? 1 : 0);
  return d <= max_day;
}

bool IsTime(std::string_view s) {
  if (s.size() != 5 || s[2] != ':' || !AllDigits(s.substr(0, 2)) || !AllDigits(s.substr(3, 2))) {
    return false;
  }
  return Num(s.substr(0, 2)) < 24 && Num(s.substr(3, 2)) < 60;
}

bool IsTimestamp(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS.mmmZ
  if (s.size() != 24 || s[10] != 'T' || s[16] != ':' || s[19] != '.' || s[23] != 'Z') return false;
  if (!IsDate(s.substr(0, 10)) || !IsTime(s.substr(11, 5))) return false;
  return AllDigits(s.substr(17, 2)) && Num(s.substr(17, 2)) < 60 && AllDigits(s.substr(20, 3));
}

bool IsOpaqueRef(std::string_view s) {
  return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool IsBlobHash(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool IsPhotoMediaType(std::string_view s) {
  return s == "image/jpeg" || s == "image/png" || s == "image/webp" || s == "image/heic";
}

bool IsHsCode(std::string_view s) {
  return AllDigits(s) && (s.size() == 6 || s.size() == 8 || s.size() == 10);
}

bool IsOfficeCode(std::string_view s) {
  if (s.size() != 5 || !IsCountryCode(s.substr(0, 2))) return false;
  return std::all_of(s.begin() + 2, s.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '9'); });
}

bool IsContainerNumber(std::string_view s) {
  // Owner code (3 letters), category (U, J or Z), 6-digit serial, check digit.
  if (s.size() != 11) return false;
  for (int i = 0; i < 4; ++i)
    if (s[i] < 'A' || s[i] > 'Z') return false;
  if (s[3] != 'U' && s[3] != 'J' && s[3] != 'Z') return false;
  if (!AllDigits(s.substr(4))) return false;
  int sum = 0;
  for (int i = 0; i < 10; ++i) {
    int v;
    if (i < 4) {
      // Letters count from A=10 upwards, skipping multiples of 11.
      v = 10 + (s[i] - 'A');
      v += (v - 1) / 10;  // 11, 22, 33 are skipped
    } else {
      v = s[i] - '0';
    }
    sum += v << i;
  }
  return (sum % 11) % 10 == s[10] - '0';
}

bool IsImoNumber(std::string_view s) {
  if (s.size() != 7 || !AllDigits(s)) return false;
  int sum = 0;
  for (int i = 0; i < 6; ++i) sum += (s[i] - '0') * (7 - i);
  return sum % 10 == s[6] - '0';
}

bool IsAirWaybill(std::string_view s) {
  if (s.size() != 12 || s[3] != '-' || !AllDigits(s.substr(0, 3)) || !AllDigits(s.substr(4))) {
    return false;
  }
  long serial = std::stol(std::string(s.substr(4, 7)));
  return serial % 7 == s[11] - '0';
}

bool IsFlightNumber(std::string_view s) {
  if (s.size() < 3 || s.size() > 8) return false;
  size_t i = 0;
  while (i < s.size() && i < 3 && std::isalnum(static_cast<unsigned char>(s[i])) &&
         !(i >= 2 && std::isdigit(static_cast<unsigned char>(s[i]))))
    ++i;
  if (i < 2) return false;
  std::string_view digits = s.substr(i);
  bool carrier_has_letter = std::any_of(s.begin(), s.begin() + i, [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
  return carrier_has_letter && AllDigits(digits) && digits.size() <= 4 &&
         std::all_of(s.begin(), s.begin() + i, [](char c) { return !std::islower(c); });
}

bool IsLowerCaseCode(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool IsDocumentNumber(std::string_view s) {
  bool has_alnum = false;
  for (char c : s) {
    bool alnum = std::isalnum(static_cast<unsigned char>(c));
    has_alnum = has_alnum || alnum;
    if (!alnum && c != '-' && c != '/' && c != '.' && c != ' ') return false;
  }
  return has_alnum && s.size() <= 32;
}

bool IsPhoneNumber(std::string_view s) {
  if (s.size() < 3 || s.size() > 32) return false;
  int digits = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= '0' && c <= '9') ++digits;
    else if (!(c == ' ' || c == '-' || c == '(' || c == ')' || (c == '+' && i == 0))) return false;
  }
  return digits >= 3;
}

bool IsCitesAppendix(std::string_view s) { return s == "I" || s == "II" || s == "III"; }

}  // namespace ncen::storage
