#include "storage/record_state.h"

#include <algorithm>
#include <cstring>
#include <tuple>

namespace ncen::storage {

VersionVector RecordState::CausalContext() const {
  VersionVector vv;
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

ApplyResult ApplyVersion(RecordState& state, Version version) {
  for (const Version& v : state.versions) {
#ifdef NCEN_MUTANT_APPLY_IGNORES_CONTEXT
    // Mutant for tests/sim only, never built into the product: a version that
    // an existing one has already seen is not recognised as obsolete.
    if (v.dot == version.dot) return ApplyResult::kObsolete;
#else
    if (v.dot == version.dot || v.context.Covers(version.dot)) return ApplyResult::kObsolete;
#endif
  }
  std::erase_if(state.versions, [&](const Version& v) { return version.context.Covers(v.dot); });
  auto at = std::lower_bound(state.versions.begin(), state.versions.end(), version.dot,
                             [](const Version& v, const Dot& d) { return v.dot < d; });
  state.versions.insert(at, std::move(version));
  return ApplyResult::kAdded;
}

// Layout: u8 type | u8 scope | u16 version count | versions, each:
//   author[32] | seq u64 | feed_index u32 | timestamp i64 | op u8 |
//   u16 context count | context dots (author[32] | seq u64)...
Bytes EncodeRecordState(const RecordState& s) {
  Bytes out;
  out.push_back(static_cast<uint8_t>(s.type));
  out.push_back(static_cast<uint8_t>(s.scope));
  out.push_back(static_cast<uint8_t>(s.versions.size() >> 8));
  out.push_back(static_cast<uint8_t>(s.versions.size()));
  for (const Version& v : s.versions) {
    Append(out, v.dot.author);
    AppendU64BE(out, v.dot.seq);
    AppendU32BE(out, v.feed_index);
    AppendU64BE(out, static_cast<uint64_t>(v.timestamp_ms));
    out.push_back(static_cast<uint8_t>(v.op));
    out.push_back(static_cast<uint8_t>(v.context.dots.size() >> 8));
    out.push_back(static_cast<uint8_t>(v.context.dots.size()));
    for (const Dot& d : v.context.dots) {
      Append(out, d.author);
      AppendU64BE(out, d.seq);
    }
  }
  return out;
}

Result<RecordState> DecodeRecordState(ByteView b) {
  auto corrupt = [] { return Corruption("record state does not decode"); };
  size_t pos = 0;
  auto need = [&](size_t n) { return pos + n <= b.size(); };
  if (!need(4)) return corrupt();
  RecordState s;
  if (b[0] >= kRecordTypeCount || b[1] >= kScopeCount) return corrupt();
  s.type = static_cast<RecordType>(b[0]);
  s.scope = static_cast<Scope>(b[1]);
  size_t count = size_t{b[2]} << 8 | b[3];
  pos = 4;
  s.versions.resize(count);
  for (Version& v : s.versions) {
    if (!need(32 + 8 + 4 + 8 + 1 + 2)) return corrupt();
    std::memcpy(v.dot.author.data(), b.data() + pos, 32);
    v.dot.seq = GetU64BE(b.data() + pos + 32);
    v.feed_index = GetU32BE(b.data() + pos + 40);
    v.timestamp_ms = static_cast<int64_t>(GetU64BE(b.data() + pos + 44));
    uint8_t op = b[pos + 52];
    if (op > static_cast<uint8_t>(Op::kResolve)) return corrupt();
    v.op = static_cast<Op>(op);
    size_t n = size_t{b[pos + 53]} << 8 | b[pos + 54];
    pos += 55;
    if (!need(n * 40)) return corrupt();
    v.context.dots.resize(n);
    for (Dot& d : v.context.dots) {
      std::memcpy(d.author.data(), b.data() + pos, 32);
      d.seq = GetU64BE(b.data() + pos + 32);
      pos += 40;
    }
  }
  if (pos != b.size()) return corrupt();
  return s;
}

}  // namespace ncen::storage
