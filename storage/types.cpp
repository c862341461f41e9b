#include "storage/types.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "base/clock.h"
#include "crypto/random.h"

namespace ncen::storage {

const char* ScopeName(Scope s) {
  switch (s) {
    case Scope::kNational: return "national";
    case Scope::kRegional: return "regional";
    case Scope::kGlobal: return "global";
    case Scope::kNetwork: return "network";
  }
  return "?";
}

const char* RecordTypeName(RecordType t) {
  switch (t) {
    case RecordType::kSeizure: return "seizure";
    case RecordType::kSuspect: return "suspect";
    case RecordType::kCompany: return "company";
    case RecordType::kCertificate: return "certificate";
    case RecordType::kRevocation: return "revocation";
    case RecordType::kSeizureReport: return "seizure_report";
    case RecordType::kPhoto: return "photo";
    case RecordType::kMessage: return "message";
  }
  return "?";
}

const char* OpName(Op op) {
  switch (op) {
    case Op::kPut: return "put";
    case Op::kDelete: return "delete";
    case Op::kPurge: return "purge";
    case Op::kResolve: return "resolve";
  }
  return "?";
}

std::optional<Scope> ParseScope(std::string_view name) {
  for (int i = 0; i < kScopeCount; ++i)
    if (name == ScopeName(Scope(i))) return Scope(i);
  return std::nullopt;
}

std::optional<Scope> ParseFeedScope(std::string_view name) {
  for (int i = 0; i < kFeedScopeCount; ++i)
    if (name == ScopeName(Scope(i))) return Scope(i);
  return std::nullopt;
}

std::optional<RecordType> ParseRecordType(std::string_view name) {
  for (RecordType t : kRecordTypes)
    if (name == RecordTypeName(t)) return t;
  return std::nullopt;
}

template <typename Dots>
static auto FindAuthor(Dots& dots, const PublicKey& author) {
  return std::lower_bound(dots.begin(), dots.end(), author,
                          [](const Dot& d, const PublicKey& a) { return d.author < a; });
}

bool VersionVector::Covers(const Dot& d) const { return SeqOf(d.author) >= d.seq; }

uint64_t VersionVector::SeqOf(const PublicKey& author) const {
  auto it = FindAuthor(dots, author);
  return it != dots.end() && it->author == author ? it->seq : 0;
}

void VersionVector::Add(const Dot& d) {
  auto it = FindAuthor(dots, d.author);
  if (it != dots.end() && it->author == d.author) {
    it->seq = std::max(it->seq, d.seq);
  } else {
    dots.insert(it, d);
  }
}

void VersionVector::Join(const VersionVector& other) {
  if (other.dots.empty()) return;
  if (other.dots.size() == 1) return Add(other.dots[0]);
  // A merge of two sorted lists: linear, where adding dot by dot would shift
  // the vector once per new author.
  std::vector<Dot> merged;
  merged.reserve(dots.size() + other.dots.size());
  auto a = dots.cbegin();
  auto b = other.dots.cbegin();
  while (a != dots.end() || b != other.dots.end()) {
    if (b == other.dots.end() || (a != dots.end() && a->author < b->author)) {
      merged.push_back(*a++);
    } else if (a == dots.end() || b->author < a->author) {
      merged.push_back(*b++);
    } else {
      merged.push_back({a->author, std::max(a->seq, b->seq)});
      ++a, ++b;
    }
  }
  dots = std::move(merged);
}

RecordId NewRecordId(int64_t unix_ms) {
  RecordId id;
  crypto::RandomFill(id.data(), id.size());
  uint64_t ms = static_cast<uint64_t>(unix_ms) & 0xffffffffffffULL;
  for (int i = 5; i >= 0; --i, ms >>= 8) id[i] = static_cast<uint8_t>(ms);
  id[6] = static_cast<uint8_t>(0x70 | (id[6] & 0x0f));
  id[8] = static_cast<uint8_t>(0x80 | (id[8] & 0x3f));
  return id;
}

std::string FormatRecordId(const RecordId& id) {
  std::string hex = ToHex(id);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

Result<RecordId> ParseRecordId(std::string_view text) {
  std::string hex;
  if (text.size() == 36) {
    for (size_t i = 0; i < text.size(); ++i) {
      bool dash_pos = i == 8 || i == 13 || i == 18 || i == 23;
      if (dash_pos != (text[i] == '-')) hex.clear(), i = text.size();
      else if (!dash_pos) hex += text[i];
    }
  } else if (text.size() == 32) {
    hex = text;
  }
  auto bytes = FromHex(hex);
  if (hex.size() != 32 || !bytes) {
    return InvalidArgument("'" + std::string(text) +
                           "' is not a record id (expected 8-4-4-4-12 hex digits)");
  }
  RecordId id;
  std::memcpy(id.data(), bytes->data(), 16);
  return id;
}

int64_t UnixMillisNow() { return SystemClock().NowMs(); }

}  // namespace ncen::storage
