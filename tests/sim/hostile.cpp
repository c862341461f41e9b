#include "tests/sim/hostile.h"

#include "storage/sharing.h"

#include <algorithm>
#include <cstring>

#include "replication/protocol/messages.h"
#include "storage/blobs.h"
#include "tests/support/store_fixture.h"

namespace ncen::sim {

namespace {

using storage::Entry;
using storage::EntryHeader;
using storage::FeedId;
using storage::Scope;

constexpr size_t kChainEntriesMax = 40;
constexpr size_t kPaddingEntriesMax = 10;

storage::RecordId RecordIdAt(int64_t unix_ms, Rng& rng) {
  storage::RecordId id;
  uint64_t ms = static_cast<uint64_t>(unix_ms);
  for (int i = 5; i >= 0; --i, ms >>= 8) id[static_cast<size_t>(i)] = static_cast<uint8_t>(ms);
  for (size_t i = 6; i < 16; ++i) id[i] = static_cast<uint8_t>(rng.Next());
  id[6] = uint8_t(0x70 | (id[6] & 0x0f));
  id[8] = uint8_t(0x80 | (id[8] & 0x3f));
  return id;
}

Hash256 RandomHash(Rng& rng) {
  Hash256 h;
  for (auto& b : h) b = static_cast<uint8_t>(rng.Next());
  return h;
}

crypto::PublicKey RandomKey(Rng& rng) {
  crypto::PublicKey k;
  for (auto& b : k) b = static_cast<uint8_t>(rng.Next());
  return k;
}

Bytes SuspectPayload() {
  auto p = storage::RecordFromJson(storage::RecordType::kSuspect,
                                   nlohmann::ordered_json{{"surname", "Mallory"}, {"forenames", "Eve"}});
  NCEN_CHECK(p.ok());
  return std::move(p).value();
}

// A seizure payload whose narrative is not valid UTF-8: its hash matches,
// its text does not.
Bytes InvalidUtf8Payload() {
  Bytes p = testing::SeizurePayload("MALLORY-TEXT");
  static const std::string marker = "MALLORY-TEXT";
  auto at = std::search(p.begin(), p.end(), marker.begin(), marker.end());
  NCEN_CHECK(at != p.end());
  *at = 0xff;
  return p;
}

}  // namespace

Mallory::Mallory(uint64_t seed, int index) : rng_(seed ^ 0x6d616c6c6f7279ull), index_(index) {
  chains_.push_back(Chain{testing::IdentityFromNumber(200), Scope::kNational, {}, false, {}, {}});
  chains_.push_back(Chain{testing::IdentityFromNumber(201), Scope::kRegional, {}, false, {}, {}});
}

void Mallory::JoinNetwork(const std::string& country, const std::string& foreign) {
  network_ = true;
  country_ = country;
  foreign_ = foreign;
  chains_.push_back(Chain{testing::IdentityFromNumber(202), Scope::kGlobal, {}, false, {}, {}, true});
}

bool Mallory::PuppetIsHub(const crypto::PublicKey& key) const {
  return std::any_of(chains_.begin(), chains_.end(),
                     [&](const Chain& c) { return c.hub && c.key.public_key() == key; });
}

Bytes Mallory::ValidPayload(const Chain& chain, const std::string& marker) const {
  if (!chain.hub) return testing::SeizurePayload(marker);
  return testing::ReportPayload(country_, 1.0 + double(chain.entries.size() % 5));
}

bool Mallory::IsPuppet(const crypto::PublicKey& key) const {
  return std::any_of(chains_.begin(), chains_.end(),
                     [&](const Chain& c) { return c.key.public_key() == key; });
}

std::vector<crypto::PublicKey> Mallory::PuppetKeys() const {
  std::vector<crypto::PublicKey> out;
  for (const Chain& c : chains_) out.push_back(c.key.public_key());
  return out;
}

std::string Mallory::PuppetName(const crypto::PublicKey& key) const {
  for (size_t i = 0; i < chains_.size(); ++i) {
    if (chains_[i].key.public_key() == key) return "puppet" + std::to_string(i);
  }
  return "stranger";
}

Entry Mallory::Sign(Chain& chain, EntryHeader h, Bytes payload, Truth& truth, int64_t now_ms) {
  h.author = chain.key.public_key();
  h.scope = chain.scope;
  h.seq = chain.entries.size() + 1;
  h.prev = chain.entries.empty() ? Hash256{} : chain.entries.back().hash();
  h.timestamp_ms = now_ms;
  Entry e = storage::MakeEntry(h, std::move(payload), chain.key);
  chain.entries.push_back(e);
  truth.Add(Written::Of(e, index_));
  ++stats_.entries_crafted;
  return e;
}

// One more entry: mostly ones every honest node takes, sometimes one that
// every honest node must refuse (the chain ends there), a record under
// another type (quarantined everywhere), or a fork.
void Mallory::Extend(Chain& chain, storage::Store& store, Truth& truth, int64_t now_ms) {
  if (chain.ended || chain.entries.size() >= kChainEntriesMax) return;
  // The type its records are of: a hub's chain releases reports.
  const storage::RecordType type = chain.hub ? storage::RecordType::kSeizureReport : storage::RecordType::kSeizure;
  // A record Mallory holds in the chain's scope, if any (for the hub's
  // chain, a report about its own country).
  auto pick = [&](bool own_only) -> std::optional<storage::RecordView> {
    const auto& order = truth.record_order();
    for (int attempt = 0; attempt < 8 && !order.empty(); ++attempt) {
      const storage::RecordId& id = order[rng_.Below(order.size())];
      if (own_only && !chain.own.count(id)) continue;
      auto view = store.GetRecord(id);
      if (view.ok() && view->state.scope == chain.scope && !view->state.quarantined() &&
          view->state.type == type && (!chain.hub || truth.Record(id)->country == country_)) {
        return std::move(view).value();
      }
    }
    return std::nullopt;
  };
  EntryHeader h;
  h.record_type = type;
  h.op = storage::Op::kPut;
  uint64_t r = rng_.Below(100);
  if (chain.hub && r >= 12 && r < 16) {
    // Withdraw another country's report: its id names that country, so
    // every honest node refuses the delete (sharing.md §4); M3 would see it.
    for (const storage::RecordId& id : truth.record_order()) {
      const RecordInfo* info = truth.Record(id);
      if (!info || info->country == country_) continue;
      auto view = store.GetRecord(id);
      if (!view.ok() || view->state.quarantined() || view->state.type != storage::RecordType::kSeizureReport ||
          view->state.scope != chain.scope || !view->state.live()) {
        continue;
      }
      h.record_id = id;
      h.context = view->state.CausalContext();
      if (h.context.dots.size() >= storage::kContextDotsMax) return;
      h.op = storage::Op::kDelete;
      Sign(chain, h, Bytes{}, truth, now_ms);
      chain.ended = true;
      return;
    }
  }
  if (chain.hub && r < 16) {
    // What a national hub may not release, which every honest node must
    // refuse (storage/membership.h RecordRuleProblem): a seizure in global,
    // nominal data out of the country; or a report about another country,
    // new or as an edit of one about its own.
    std::optional<storage::RecordView> target = r < 8 ? std::nullopt : pick(false);
    h.record_id = target ? target->id : RecordIdAt(now_ms, rng_);
    // A new report about another country, under that country's tag: only
    // the payload is wrong (an edit of one about its own keeps its id).
    if (!target && r >= 8) storage::SetReportCountryTag(h.record_id, foreign_);
    if (target) h.context = target->state.CausalContext();
    if (auto own = chain.own.find(h.record_id); own != chain.own.end()) {
      h.context.Add({chain.key.public_key(), own->second});
    }
    if (h.context.dots.size() > storage::kContextDotsMax) return;
    if (r < 8) h.record_type = storage::RecordType::kSeizure;
    Sign(chain, h, r < 8 ? testing::SeizurePayload("released whole") : testing::ReportPayload(foreign_), truth,
         now_ms);
    chain.ended = true;
    return;
  }
  std::optional<storage::RecordView> target;
  if (r >= 45 && r < 96) target = pick(r >= 93);
  if (!target || r < 45) {
    h.record_id = RecordIdAt(now_ms, rng_);
    if (type == storage::RecordType::kSeizureReport) storage::SetReportCountryTag(h.record_id, country_);
    chain.own[h.record_id] = chain.entries.size() + 1;
    if (network_ && !chain.hub && chain.scope != Scope::kNational && rng_.Percent(50)) {
      // A post's report, out of its country: refused (only a hub releases).
      h.record_type = storage::RecordType::kSeizureReport;
      storage::SetReportCountryTag(h.record_id, country_);
      Sign(chain, h, testing::ReportPayload(country_), truth, now_ms);
      return;
    }
    Sign(chain, h, ValidPayload(chain, "puppet record"), truth, now_ms);
    return;
  }
  h.record_id = target->id;
  storage::VersionVector context = target->state.CausalContext();
  auto own = chain.own.find(h.record_id);
  if (own != chain.own.end()) context.Add({chain.key.public_key(), own->second});
  if (context.dots.size() > storage::kContextDotsMax) return;
  uint64_t seq = chain.entries.size() + 1;
  if (r < 75) {
    // A valid edit of a record it holds, after seeing it.
    h.context = context;
    chain.own[h.record_id] = seq;
    Sign(chain, h, ValidPayload(chain, "edited by a puppet"), truth, now_ms);
  } else if (r < 80) {
    // The same id under another type: the record is quarantined everywhere
    // (a hub's: a suspect in global, which every honest node refuses).
    h.record_type = storage::RecordType::kSuspect;
    if (own != chain.own.end()) h.context.Add({chain.key.public_key(), own->second});
    Sign(chain, h, SuspectPayload(), truth, now_ms);
    chain.ended = chain.hub;
  } else if (r < 84) {
    // A context naming an entry nobody wrote.
    h.context = context;
    h.context.Add({target->state.versions.empty() ? RandomKey(rng_) : target->state.versions[0].dot.author,
                   uint64_t{1} << 62});
    Sign(chain, h, ValidPayload(chain, "poisoned context"), truth, now_ms);
    chain.ended = true;
  } else if (r < 87) {
    h.context = context;
    Sign(chain, h, ValidPayload(chain, "withheld"), truth, now_ms);
    chain.entries.back().has_payload = false;
    chain.entries.back().payload.clear();
    chain.ended = true;
  } else if (r < 90) {
    h.context = context;
    Sign(chain, h, InvalidUtf8Payload(), truth, now_ms);
    chain.ended = true;
  } else if (r < 93) {
    // A context naming the puppet's own future.
    h.context = context;
    h.context.Add({chain.key.public_key(), seq + 3});
    Sign(chain, h, ValidPayload(chain, "own future"), truth, now_ms);
    chain.ended = true;
  } else if (r < 96) {
    // A second version of a record it wrote, not covering the first.
    std::erase_if(context.dots, [&](const storage::Dot& d) { return d.author == chain.key.public_key(); });
    h.context = context;
    Sign(chain, h, ValidPayload(chain, "skips its own edit"), truth, now_ms);
    chain.ended = true;
  } else if (chain.entries.size() >= 2) {
    // Two entries signed at one seq.
    EntryHeader other = chain.entries.back().header;
    other.timestamp_ms += 1;
    Entry e = storage::MakeEntry(other, ValidPayload(chain, "the other branch"), chain.key);
    truth.Add(Written::Of(e, index_));
    chain.other = std::move(e);
    chain.ended = true;
    ++stats_.forks;
  }
}

Bytes Mallory::PadBatch(const Bytes& message, Chain& chain) {
  auto decoded = replication::DecodeMessage(message);
  NCEN_CHECK(decoded.ok());
  const auto& batch = std::get<replication::BatchMsg>(*decoded);
  Bytes entries(batch.entries.begin(), batch.entries.end());
  size_t first = chain.entries.empty() ? 0 : rng_.Below(chain.entries.size());
  size_t last = std::min(chain.entries.size(), first + kPaddingEntriesMax);
  bool other_branch = chain.other && last == chain.entries.size() && rng_.Percent(50);
  for (size_t i = first; i < last; ++i) {
    const Entry& e = other_branch && i + 1 == chain.entries.size() ? *chain.other : chain.entries[i];
    storage::AppendEncodedEntry(e, entries);
  }
  stats_.entries_sent += last - first;
  ++stats_.batches_padded;
  return replication::EncodeMessage(
      replication::BatchMsg{batch.number, static_cast<uint32_t>(batch.count + (last - first)), entries});
}

// One message that claims without evidence, or offers evidence that does
// not hold, or is not a message at all.
std::optional<Bytes> Mallory::Claim(storage::Store& store, const crypto::PublicKey& peer_id,
                                    const std::vector<Scope>& scopes, int64_t now_ms) {
  Scope scope = scopes[rng_.Below(scopes.size())];
  FeedId peer_feed{peer_id, scope};
  auto held = store.FeedHeads(std::vector<FeedId>{peer_feed});
  uint64_t peer_head = held.ok() ? held->front().seq : 0;
  auto frontier = store.Frontier();
  uint64_t kind = rng_.Below(100);
  replication::HeadsMsg heads;
  replication::EvidenceMsg evidence;
  if (kind < 25) {
    // "You are far beyond what you hold": a stale mark on its word.
    heads.frontier.push_back({peer_feed, peer_head + 1000, RandomHash(rng_)});
  } else if (kind < 45) {
    // "Your entry differs from mine": a fork on its word.
    if (!frontier.ok() || frontier->empty()) return std::nullopt;
    const auto& h = (*frontier)[rng_.Below(frontier->size())];
    heads.frontier.push_back({h.feed, h.seq, RandomHash(rng_)});
  } else if (kind < 60) {
    // A flood of made-up feeds.
    size_t n = rng_.Between(200, 800);
    for (size_t i = 0; i < n; ++i) heads.frontier.push_back({{RandomKey(rng_), scope}, rng_.Between(1, 1u << 20), RandomHash(rng_)});
  } else if (kind < 75) {
    // An entry of the peer's own feed beyond its head that the peer never
    // signed: a puppet signs it in the peer's name.
    EntryHeader h;
    h.author = peer_id;
    h.scope = scope;
    h.seq = peer_head + 5;
    h.prev = RandomHash(rng_);
    h.timestamp_ms = now_ms;
    h.record_id = RecordIdAt(now_ms, rng_);
    Entry e = storage::MakeEntry(h, testing::SeizurePayload("forged"), chains_[0].key);
    evidence.headers.push_back(storage::SignedHeaderOf(e));
  } else if (kind < 88) {
    // A fork pair whose second header was tampered with after signing.
    if (!frontier.ok() || frontier->empty()) return std::nullopt;
    const auto& h = (*frontier)[rng_.Below(frontier->size())];
    auto entry = store.GetEntry(h.feed, h.seq);
    if (!entry.ok()) return std::nullopt;
    storage::SignedHeader a = storage::SignedHeaderOf(*entry);
    storage::SignedHeader b = a;
    b.header.timestamp_ms += 1;
    b.header_bytes = storage::EncodeHeader(b.header);
    evidence.forks.push_back({a, b});
  } else if (kind < 95) {
    // A true fork of a puppet feed, if one was made: that one holds.
    for (const Chain& c : chains_) {
      if (c.other && std::count(scopes.begin(), scopes.end(), c.scope)) {
        evidence.forks.push_back({storage::SignedHeaderOf(c.entries.back()), storage::SignedHeaderOf(*c.other)});
      }
    }
    if (evidence.forks.empty()) return std::nullopt;
  } else if (kind < 98) {
    ++stats_.garbage;
    Bytes garbage(rng_.Between(1, 25) * 8);
    for (auto& b : garbage) b = static_cast<uint8_t>(rng_.Next());
    return garbage;
  } else {
    // A batch claiming four billion entries in 16 bytes.
    ++stats_.garbage;
    Bytes few(16, 0);
    return replication::EncodeMessage(replication::BatchMsg{1, 0xffffffffu, few});
  }
  if (!heads.frontier.empty()) {
    ++stats_.claims;
    return replication::EncodeMessage(heads);
  }
  ++stats_.bad_evidence;
  return replication::EncodeMessage(evidence);
}

// One blob message an honest node must refuse: data nobody asked for, a
// want of a blob Mallory may not hold (the blob's records are national, of
// another country or over a link without national), or a want of more than
// a window.
Bytes Mallory::BlobAttack(const std::vector<BlobTarget>& blobs) {
  const BlobTarget& any = blobs[rng_.Below(blobs.size())];
  uint64_t kind = rng_.Below(100);
  if (kind < 30) {
    ++stats_.blob_unasked;
    Bytes data(storage::BlobChunkSize(any.size, 0));
    for (auto& b : data) b = static_cast<uint8_t>(rng_.Next());
    return replication::EncodeMessage(replication::BlobDataMsg{any.hash, any.size, 0, ByteView(data)});
  }
  replication::BlobWantMsg want;
  if (kind < 80) {
    ++stats_.blob_forbidden_wants;
    std::vector<const BlobTarget*> forbidden;
    for (const BlobTarget& b : blobs) {
      if (!b.allowed) forbidden.push_back(&b);
    }
    const BlobTarget& t = forbidden.empty() ? any : *forbidden[rng_.Below(forbidden.size())];
    want.ranges.push_back({t.hash, 0, std::min<uint32_t>(storage::BlobChunkCount(t.size), 4)});
    return replication::EncodeMessage(want);
  }
  // More than twice the largest window, in ranges of real and made-up blobs.
  ++stats_.blob_greedy_wants;
  for (size_t i = 0; i < 40; ++i) {
    want.ranges.push_back({rng_.Percent(50) ? blobs[rng_.Below(blobs.size())].hash : RandomHash(rng_), 0, 1});
  }
  return replication::EncodeMessage(want);
}

std::vector<Bytes> Mallory::Mangle(Bytes message, storage::Store& store, const crypto::PublicKey& peer_id,
                                   const std::vector<Scope>& scopes, Truth& truth, int64_t now_ms,
                                   bool crafting, const std::vector<BlobTarget>& blobs) {
  std::vector<Bytes> out;
  auto decoded = replication::DecodeMessage(message);
  NCEN_CHECK(decoded.ok());  // its own session's message
  if (const auto* data = std::get_if<replication::BlobDataMsg>(&*decoded); data && rng_.Percent(40)) {
    // The blob data its session serves, one byte flipped: the receiver finds
    // out when the blob is whole and hashed.
    Bytes forged(data->data.begin(), data->data.end());
    forged[rng_.Below(forged.size())] ^= 0x5a;
    ++stats_.blob_forged;
    out.push_back(replication::EncodeMessage(replication::BlobDataMsg{data->hash, data->size, data->first,
                                                                      ByteView(forged)}));
    return out;
  }
  if (std::holds_alternative<replication::BatchMsg>(*decoded) && rng_.Percent(35)) {
    std::vector<Chain*> usable;
    for (Chain& c : chains_) {
      if (std::count(scopes.begin(), scopes.end(), c.scope)) usable.push_back(&c);
    }
    if (!usable.empty()) {
      Chain& chain = *usable[rng_.Below(usable.size())];
      if (crafting) {
        for (uint64_t k = rng_.Between(1, 2); k > 0; --k) Extend(chain, store, truth, now_ms);
      }
      if (!chain.entries.empty()) message = PadBatch(message, chain);
    }
  } else if (const auto* ack = std::get_if<replication::AckMsg>(&*decoded); ack && rng_.Percent(10)) {
    replication::AckMsg fake = *ack;
    fake.refused.push_back({{RandomKey(rng_), scopes[rng_.Below(scopes.size())]}, 0, "mallory says so"});
    ++stats_.fake_refusals;
    message = replication::EncodeMessage(fake);
  }
  out.push_back(std::move(message));
  if (rng_.Percent(12)) {
    if (auto claim = Claim(store, peer_id, scopes, now_ms)) out.push_back(std::move(*claim));
  }
  if (!blobs.empty() && rng_.Percent(6)) out.push_back(BlobAttack(blobs));
  return out;
}

}  // namespace ncen::sim
