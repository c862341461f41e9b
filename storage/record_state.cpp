#include "storage/record_state.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <tuple>

namespace ncen::storage {

VersionVector RecordState::CausalContext() const {
  VersionVector vv = seen;
  for (const Version& v : versions) {
    vv.Join(v.context);
    vv.Add(v.dot);
  }
  return vv;
}

size_t RecordState::WinnerIndex() const {
  NCEN_CHECK(!versions.empty());
  size_t best = 0;
  auto rank = [](const Version& v) {
    return std::make_tuple(v.live(), v.timestamp_ms, v.dot.author, v.dot.seq);
  };
  for (size_t i = 1; i < versions.size(); ++i)
    if (rank(versions[i]) > rank(versions[best])) best = i;
  return best;
}

namespace {

bool Obsoletes(const Version& held, const Dot& dot) {
  return held.dot == dot || held.context.Covers(dot);
}

// Whether a new version whose context is `context` replaces `held`.
bool Replaces(const VersionVector& context, const Version& held) {
#ifdef NCEN_MUTANT_APPLY_IGNORES_CONTEXT
  // Mutant for tests/sim only, never built into the product: a new version
  // does not replace the versions its author had seen. (Entries arrive in
  // causal order, so no entry is ever obsolete on arrival; the context
  // matters here.)
  return false;
#else
  return context.Covers(held.dot);
#endif
}

}  // namespace

ApplyResult ApplyVersion(RecordState& state, RecordType type, Scope scope, Version version) {
  const bool existed = state.exists();
  state.seen.Add(version.dot);
  if (!existed) {
    state.type = type;
    state.scope = scope;
  } else if (state.quarantined() || state.type != type || state.scope != scope) {
    if (!state.quarantined()) state.clash_classes = ClassBit(state.type, state.scope);
    state.clash_classes |= ClassBit(type, scope);
    state.versions.clear();
    // The same class on every node, whichever entry came first.
    unsigned lowest = static_cast<unsigned>(std::countr_zero(state.clash_classes));
    state.type = kRecordTypes[lowest / kScopeCount];
    state.scope = static_cast<Scope>(lowest % kScopeCount);
    return ApplyResult::kQuarantined;
  }
  for (const Version& v : state.versions) {
    if (Obsoletes(v, version.dot)) return ApplyResult::kObsolete;
  }
  std::erase_if(state.versions, [&](const Version& v) { return Replaces(version.context, v); });
  auto at = std::lower_bound(state.versions.begin(), state.versions.end(), version.dot,
                             [](const Version& v, const Dot& d) { return v.dot < d; });
  state.versions.insert(at, std::move(version));
  return ApplyResult::kAdded;
}

size_t VersionsAfter(const RecordState& state, const Dot& dot, const VersionVector& context) {
  size_t covered = 0;
  for (const Version& v : state.versions) {
    if (Obsoletes(v, dot)) return state.versions.size();
    if (Replaces(context, v)) ++covered;
  }
  return state.versions.size() - covered + 1;
}

// Version 2 (docs/log-format.md §7):
//   0xfe | type u8 | scope u8 | clash_classes u16 | count u16 | version × count |
//   extra_count u32 | (author[32] | seq u64) × extra_count
//   version := author[32] | seq u64 | feed_index u32 | timestamp i64 | op u8 |
//              ctx_count u16 | (author[32] | seq u64) × ctx_count
// `seen` is the join of the versions' dots and the extra dots: only what the
// versions do not already say is stored (nothing, for most records).
// Version 3 is version 2 with marker 0xfd and clash_classes u32: written only
// when a class past the sixteenth is set (a message, record type 7, clashing
// with another class), so every other state keeps its version-2 bytes.
// Version 1 (milestone 1) is the same without the marker, clash_classes and
// the extra dots: type u8 | scope u8 | count u16 | version × count.
namespace {

constexpr uint8_t kStateMarkerV2 = 0xfe;
constexpr uint8_t kStateMarkerV3 = 0xfd;
constexpr size_t kDotBytes = 32 + 8;
constexpr size_t kVersionFixedBytes = 32 + 8 + 4 + 8 + 1 + 2;

void AppendU16BE(Bytes& out, size_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

void AppendDot(Bytes& out, const Dot& d) {
  Append(out, d.author);
  AppendU64BE(out, d.seq);
}

// Reads front to back; every read checks the bytes are there first.
class Reader {
 public:
  explicit Reader(ByteView b) : b_(b) {}
  size_t remaining() const { return b_.size() - pos_; }
  bool Need(size_t n) const { return n <= remaining(); }
  uint8_t U8() { return b_[pos_++]; }
  uint16_t U16() {
    uint16_t v = static_cast<uint16_t>(b_[pos_] << 8 | b_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  uint32_t U32() {
    uint32_t v = GetU32BE(b_.data() + pos_);
    pos_ += 4;
    return v;
  }
  uint64_t U64() {
    uint64_t v = GetU64BE(b_.data() + pos_);
    pos_ += 8;
    return v;
  }
  void Key(PublicKey& k) {
    std::memcpy(k.data(), b_.data() + pos_, 32);
    pos_ += 32;
  }

 private:
  ByteView b_;
  size_t pos_ = 0;
};

Status ReadDots(Reader& r, size_t count, std::vector<Dot>& out) {
  if (!r.Need(count * kDotBytes)) return Corruption("record state does not decode");
  out.resize(count);
  for (Dot& d : out) {
    r.Key(d.author);
    d.seq = r.U64();
  }
  return Status::Ok();
}

Status ReadVersions(Reader& r, size_t count, std::vector<Version>& out) {
  auto corrupt = [] { return Corruption("record state does not decode"); };
  if (count > limits::kRecordVersionsMax || !r.Need(count * kVersionFixedBytes)) return corrupt();
  out.resize(count);
  for (Version& v : out) {
    if (!r.Need(kVersionFixedBytes)) return corrupt();
    r.Key(v.dot.author);
    v.dot.seq = r.U64();
    v.feed_index = r.U32();
    v.timestamp_ms = static_cast<int64_t>(r.U64());
    uint8_t op = r.U8();
    if (op > static_cast<uint8_t>(Op::kResolve)) return corrupt();
    v.op = static_cast<Op>(op);
    NCEN_RETURN_IF_ERROR(ReadDots(r, r.U16(), v.context.dots));
  }
  for (size_t i = 1; i < out.size(); ++i) {
    if (!(out[i - 1].dot < out[i].dot)) return corrupt();
  }
  return Status::Ok();
}

}  // namespace

Bytes EncodeRecordState(const RecordState& s) {
  NCEN_CHECK(s.versions.size() <= limits::kRecordVersionsMax);
  Bytes out;
  const bool wide = s.clash_classes > 0xffff;
  out.push_back(wide ? kStateMarkerV3 : kStateMarkerV2);
  out.push_back(static_cast<uint8_t>(s.type));
  out.push_back(static_cast<uint8_t>(s.scope));
  if (wide) {
    AppendU32BE(out, s.clash_classes);
  } else {
    AppendU16BE(out, static_cast<uint16_t>(s.clash_classes));
  }
  AppendU16BE(out, s.versions.size());
  for (const Version& v : s.versions) {
    AppendDot(out, v.dot);
    AppendU32BE(out, v.feed_index);
    AppendU64BE(out, static_cast<uint64_t>(v.timestamp_ms));
    out.push_back(static_cast<uint8_t>(v.op));
    NCEN_CHECK(v.context.dots.size() <= limits::kContextDotsMax);
    AppendU16BE(out, v.context.dots.size());
    for (const Dot& d : v.context.dots) AppendDot(out, d);
  }
  // The dots of `seen` that no version has: versions are sorted by dot, so
  // one binary search each.
  std::vector<const Dot*> extra;
  for (const Dot& d : s.seen.dots) {
    auto at = std::lower_bound(s.versions.begin(), s.versions.end(), d,
                               [](const Version& v, const Dot& x) { return v.dot < x; });
    if (at == s.versions.end() || at->dot != d) extra.push_back(&d);
  }
  AppendU32BE(out, static_cast<uint32_t>(extra.size()));
  for (const Dot* d : extra) AppendDot(out, *d);
  return out;
}

Result<RecordState> DecodeRecordState(ByteView b) {
  auto corrupt = [] { return Corruption("record state does not decode"); };
  Reader r(b);
  RecordState s;
  if (!r.Need(1)) return corrupt();
  const bool v3 = b[0] == kStateMarkerV3;
  const bool v2 = b[0] == kStateMarkerV2 || v3;
  if (v2) r.U8();
  if (!r.Need(v3 ? 8 : v2 ? 6 : 4)) return corrupt();
  uint8_t type = r.U8(), scope = r.U8();
  if (!IsEntryTypeCode(type) || !IsRecordType(RecordType(type)) || scope >= kScopeCount) return corrupt();
  s.type = static_cast<RecordType>(type);
  s.scope = static_cast<Scope>(scope);
  if (v3) {
    s.clash_classes = r.U32();
    if (s.clash_classes <= 0xffff) return corrupt();  // version 2 would do: one encoding per state
  } else if (v2) {
    s.clash_classes = r.U16();
  }
  if (s.clash_classes >= (1u << (kRecordTypeCount * kScopeCount))) return corrupt();
  NCEN_RETURN_IF_ERROR(ReadVersions(r, r.U16(), s.versions));
  if (v2) {
    if (!r.Need(4)) return corrupt();
    NCEN_RETURN_IF_ERROR(ReadDots(r, r.U32(), s.seen.dots));
    for (size_t i = 1; i < s.seen.dots.size(); ++i) {
      if (!(s.seen.dots[i - 1].author < s.seen.dots[i].author)) return corrupt();
    }
    for (const Version& v : s.versions) s.seen.Add(v.dot);
  } else {
    // Milestone 1 kept no `seen`: what the versions say they have seen is
    // the closest (docs/log-format.md §7, upgrade from format 1).
    s.seen = s.CausalContext();
  }
  if (r.remaining() != 0) return corrupt();
  if (s.quarantined() && !s.versions.empty()) return corrupt();
  return s;
}

}  // namespace ncen::storage
