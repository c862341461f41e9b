// Validators for the codes a customs record carries: ISO 3166-1 countries,
// ISO 4217 currencies, HS codes, UN/LOCODE-style office codes, dates, ISO 6346
// container numbers, IMO numbers and air waybills. Pure functions, any thread.
#pragma once

#include <string_view>

namespace ncen::storage {

bool IsCountryCode(std::string_view s);
bool IsCurrencyCode(std::string_view s);
bool IsDate(std::string_view s);  // YYYY-MM-DD, a real date, years 1900..2100
bool IsTime(std::string_view s);  // HH:MM
bool IsTimestamp(std::string_view s);  // YYYY-MM-DDTHH:MM:SS.mmmZ (UTC, milliseconds)
bool IsOpaqueRef(std::string_view s);  // 32 lower-case hex digits
bool IsBlobHash(std::string_view s);   // 64 lower-case hex digits
bool IsPhotoMediaType(std::string_view s);  // image/jpeg, image/png, image/webp, image/heic
bool IsHsCode(std::string_view s);
bool IsOfficeCode(std::string_view s);
bool IsContainerNumber(std::string_view s);  // ISO 6346, check digit verified
bool IsImoNumber(std::string_view s);        // 7 digits, check digit verified
bool IsAirWaybill(std::string_view s);       // NNN-NNNNNNNN, mod 7 check digit
bool IsFlightNumber(std::string_view s);     // 2-3 character carrier + 1-4 digits
bool IsLowerCaseCode(std::string_view s);    // a-z, 0-9, _ (1..64)
bool IsDocumentNumber(std::string_view s);   // letters, digits, '-', '/', '.', ' ' (1..32)
bool IsPhoneNumber(std::string_view s);      // optional leading '+', digits, ' ', '-', '(', ')'
bool IsCitesAppendix(std::string_view s);    // I, II or III

}  // namespace ncen::storage
