// Photos in the simulation (docs/testing.md "Blobs"): honest nodes add photo
// records (a seizure they hold, or a new one written with it) and store the
// image and its preview with PutBlob; sometimes the image is bytes another
// photo already has, on another node too, so one blob is reachable by
// several paths. Sessions fetch blobs under each node's policy toward each
// peer (some posts take previews only, or nothing), share one BlobFetches
// per node, and use small windows, so that resets, half-open connections,
// stalls, partitions and crashes land in the middle of chunk streams. Now
// and then an officer at a node that takes previews demands an image.
//
// Invariants here:
//   B1 an honest node sends a blob's data only to a node that may hold it:
//      one that may hold a feed with an entry whose payload refers to the
//      blob (the scope rules over the links, as S1 reckons them), or that
//      made it (checked as the data arrives);
//   B2 an honest node sends only a blob's true bytes;
//   B3 no honest node holds a blob, whole or in part, that it may not hold
//      (checked where blob data arrives, and at the end), nor a blob the
//      simulator never made; a blob held whole reads back as bytes that
//      hash to its name;
//   B4 no session between two honest nodes fails on a blob (bytes that do
//      not match the hash, data not asked for, a want beyond the window) —
//      unless Mallory's forged chunk came first: chunks are kept in order
//      and hashed when whole, so a forged chunk from Mallory followed by
//      honest ones fails the hash in the session that completed the blob
//      (counted in the summary);
//   B5 an officer's demand stands until its blob is held whole (or a restore
//      from a copy taken before it took it away);
//   and after healing (LivenessOfBlobs) every node that should fetch a blob
//   holds it whole: a node that holds a live photo record referring to it,
//   or demanded it, with a peer that holds it whole and would serve it (a
//   record there refers to it, in a feed the node may hold, over a link
//   carrying that scope) under a policy that fetches it (full; previews for
//   a preview or a demanded image).
#include <fmt/format.h>

#include <algorithm>

#include "crypto/hash.h"
#include "replication/protocol/messages.h"
#include "storage/record_json.h"
#include "tests/sim/world.h"

namespace ncen::sim {

namespace {

using replication::BlobPolicy;
using storage::kBlobChunkBytes;
using storage::RecordType;

std::string Short(const Hash256& h) { return ToHex(ByteView(h.data(), 4)); }

bool Carries(const Edge& e, Scope scope) { return std::count(e.scopes.begin(), e.scopes.end(), scope) > 0; }

bool CarriesBlobData(const std::deque<InFlight>& queue) {
  return std::any_of(queue.begin(), queue.end(),
                     [](const InFlight& m) { return m.info.kind == MessageKind::kBlobData; });
}

}  // namespace

// ---------------------------------------------------------------------------
// Set-up

void World::SetUpBlobs() {
  // Windows as small as one chunk: a blob of a few chunks takes several
  // round trips, so cuts land in the middle of it.
  static const size_t kWindows[] = {kBlobChunkBytes, 2 * kBlobChunkBytes, size_t{1} << 20, size_t{4} << 20};
  for (auto& node : nodes_) {
    if (!node->hostile) node->session_options.blob_window_bytes = kWindows[blob_rng_.Below(4)];
  }
  // What each end fetches from the other: a post often takes previews only
  // (a thin link), sometimes nothing; a hub mostly everything.
  int thin = 0, ends = 0;
  for (const Edge& e : edges_) {
    for (auto [me, other] : {std::pair{e.dialer, e.listener}, std::pair{e.listener, e.dialer}}) {
      Node& node = *nodes_[me];
      if (node.hostile) continue;
      uint64_t r = blob_rng_.Below(100);
      BlobPolicy policy = node.role == Role::kPost ? (r < 50 ? BlobPolicy::kFull : r < 90 ? BlobPolicy::kPreviews
                                                                                        : BlobPolicy::kNone)
                                                   : (r < 85 ? BlobPolicy::kFull : BlobPolicy::kPreviews);
      node.blob_policy[other] = policy;
      ++ends;
      if (policy != BlobPolicy::kFull) ++thin;
    }
  }
  uint64_t chaos = uint64_t(chaos_end_ - now_);
  // With --albums 1, one run in eight is an album: many small photos, so
  // that a node that comes back wants dozens of blobs from one peer at once
  // (off by default: the second known bug, docs/testing.md "Blobs").
  album_ = blob_rng_.Percent(12) && options_.albums > 0;
  int photos = album_ ? int(blob_rng_.Between(20, 40)) : int(blob_rng_.Between(2, 8));
  for (int i = 0; i < photos; ++i) {
    Schedule(now_ + int64_t(blob_rng_.Between(chaos / 20, chaos * 9 / 10)), EventKind::kPhoto);
  }
  int demands = int(blob_rng_.Between(1, 4));
  for (int i = 0; i < demands; ++i) {
    Schedule(now_ + int64_t(blob_rng_.Between(chaos / 4, chaos - 1)), EventKind::kDemand);
  }
  topology_ += fmt::format(", {} photos{}, {} of {} link ends fetch previews only or nothing", photos,
                           album_ ? " (an album)" : "", thin, ends);
}

// With photos, Mallory is sometimes placed where the scope rules keep
// national records from it — its links carry no national, or it is a post
// of another country than its neighbour's — so that its wants of national
// photos' blobs must be refused (and the blob-scope mutant is seen).
std::vector<Scope> World::MalloryScopes(int neighbour, std::vector<Scope> scopes) {
  uint64_t r = blob_rng_.Below(3);
  if (r == 1 && std::count(scopes.begin(), scopes.end(), Scope::kNational) && scopes.size() > 1) {
    std::erase(scopes, Scope::kNational);
    topology_ += ", mallory's links carry no national";
  } else if (r == 2 && nodes_[neighbour]->country >= 0) {
    int countries = 0;
    for (const auto& node : nodes_) {
      if (!node->hostile) countries = std::max(countries, node->country + 1);
    }
    if (countries >= 2) {
      nodes_.back()->country = (nodes_[neighbour]->country + 1) % countries;
      topology_ += fmt::format(", mallory is of country {}", nodes_.back()->country);
    }
  }
  return scopes;
}

replication::SessionOptions World::SessionOptionsFor(int n, int peer) {
  Node& node = *nodes_[n];
  replication::SessionOptions options = node.session_options;
  options.blob_fetches = &node.blob_fetches;
  auto it = node.blob_policy.find(peer);
  if (it != node.blob_policy.end()) options.blob_policy = it->second;
  if (blobs_ && options_.blob_window_fit) {
    // What the link carries in kBlobWindowMs, in whole chunks: no blob_data
    // message takes longer than that to arrive (the session's idle timeout
    // counts whole messages).
    int64_t carried = edges_[size_t(EdgeBetween(n, peer))].bytes_per_ms * kBlobWindowMs;
    size_t fit = std::max<size_t>(1, size_t(carried) / kBlobChunkBytes) * kBlobChunkBytes;
    options.blob_window_bytes = std::min(options.blob_window_bytes, fit);
  }
  return options;
}

// ---------------------------------------------------------------------------
// Workload

Hash256 World::MakeBlob(size_t size) {
  Bytes bytes(size);
  for (size_t i = 0; i < size; i += 8) {
    uint64_t r = blob_rng_.Next();
    for (size_t k = 0; k < 8 && i + k < size; ++k) bytes[i + k] = uint8_t(r >> (8 * k));
  }
  Hash256 hash = crypto::Blake2b256(bytes);
  MadeBlob& made = blobs_made_[hash];
  if (made.bytes.empty()) {
    made.bytes = std::move(bytes);
    ++stats_.blobs_made;
    stats_.blob_bytes_made += size;
  }
  return hash;
}

Bytes World::PhotoPayload(const storage::RecordId& subject, const Hash256& image, const Hash256& preview,
                          const std::string& caption) {
  auto ref = [&](const Hash256& h, int width) {
    return nlohmann::ordered_json{{"hash", ToHex(h)},
                                  {"size", blobs_made_.at(h).bytes.size()},
                                  {"media_type", "image/jpeg"},
                                  {"width", width},
                                  {"height", width * 3 / 4}};
  };
  nlohmann::ordered_json j = {{"subject", storage::FormatRecordId(subject)},
                              {"image", ref(image, 4000)},
                              {"preview", ref(preview, 320)},
                              {"caption", caption}};
  auto payload = storage::RecordFromJson(RecordType::kPhoto, j);
  NCEN_CHECK(payload.ok());
  PhotoRefs refs{image, preview, uint32_t(blobs_made_.at(image).bytes.size()),
                 uint32_t(blobs_made_.at(preview).bytes.size())};
  photo_payloads_[crypto::Blake2b256(*payload)] = refs;
  photo_pool_.push_back(*payload);
  return std::move(payload).value();
}

// An edit of a photo: a payload some photo of this run has (its caption, or
// other blobs: the editing node may hold neither).
Bytes World::DrawPhotoPayload() {
  NCEN_CHECK(!photo_pool_.empty());
  return photo_pool_[blob_rng_.Below(photo_pool_.size())];
}

std::optional<PhotoRefs> World::RefsOf(ByteView payload) const {
  auto it = photo_payloads_.find(crypto::Blake2b256(payload));
  if (it == photo_payloads_.end()) return std::nullopt;
  return it->second;
}

void World::NotePhotoFeeds(const FeedId& feed, const Bytes& payload) {
  if (payload.empty()) return;  // a delete
  auto refs = RefsOf(payload);
  NCEN_CHECK(refs);  // the simulator's own payload
  blobs_made_.at(refs->image).feeds.insert(feed);
  blobs_made_.at(refs->preview).feeds.insert(feed);
}

// An officer photographs a seizure the node holds (or one it records now,
// in the same write): the image and a preview are stored, then the photo
// record written.
void World::AddPhoto() {
  if (phase_ != Phase::kChaos) return;
  std::vector<int> writers;
  for (auto& node : nodes_) {
    if (node->up && !node->hostile && !node->write_scopes.empty() &&
        MayWrite(*node, RecordType::kPhoto, Scope::kNational, "")) {
      writers.push_back(node->index);
    }
  }
  if (writers.empty()) return;
  Node& node = *nodes_[writers[blob_rng_.Below(writers.size())]];
  std::vector<storage::LocalChange> changes;
  std::optional<storage::RecordId> subject;
  Scope scope = Scope::kNational;
  const auto& order = truth_.record_order();
  for (int attempt = 0; attempt < 12 && !order.empty() && !subject; ++attempt) {
    const storage::RecordId& id = order[blob_rng_.Below(order.size())];
    if (truth_.Record(id)->type != RecordType::kSeizure) continue;
    auto view = node.store->GetRecord(id);
    if (view.ok() && view->state.live() && !view->state.quarantined() && view->state.type == RecordType::kSeizure) {
      subject = id;
      scope = view->state.scope;  // in a network, national
    }
  }
  if (!subject) {
    storage::LocalChange seizure;
    seizure.id = NewRecordId(now_ + node.clock_skew_ms, blob_rng_);
    seizure.scope = network_ ? Scope::kNational : node.write_scopes[blob_rng_.Below(node.write_scopes.size())];
    seizure.type = RecordType::kSeizure;
    seizure.op = storage::Op::kPut;
    seizure.payload = payloads_[blob_rng_.Below(payloads_.size())];
    subject = seizure.id;
    scope = seizure.scope;
    changes.push_back(std::move(seizure));
  }
  // Mostly new bytes: small, a chunk or so, or a few chunks (a photo's
  // preview is small). Sometimes an image another photo has.
  Hash256 image, preview;
  if (!images_.empty() && blob_rng_.Percent(20)) {
    image = images_[blob_rng_.Below(images_.size())];
    preview = blob_rng_.Percent(50) ? preview_of_.at(image) : MakeBlob(blob_rng_.Between(200, 12000));
  } else {
    uint64_t r = blob_rng_.Below(100);
    if (album_) r = r < 90 ? 0 : 50;  // nine in ten small, the others up to a chunk
    size_t size = r < 45   ? blob_rng_.Between(300, 8192)
                  : r < 80 ? blob_rng_.Between(8193, kBlobChunkBytes)
                           : blob_rng_.Between(kBlobChunkBytes + 1, 3 * kBlobChunkBytes + 40000);
    image = MakeBlob(size);
    preview = MakeBlob(blob_rng_.Between(200, 12000));
    images_.push_back(image);
    preview_of_.emplace(image, preview);
  }
  for (const Hash256& h : {image, preview}) {
    auto put = node.store->PutBlob(blobs_made_.at(h).bytes);
    if (!put.ok()) return Fail(fmt::format("{}: PutBlob failed: {}", node.name, put.status().ToString()));
    if (put->hash != h || !put->complete) {
      return Fail(fmt::format("{}: PutBlob of {} returned {}, not whole", node.name, Short(h), Short(put->hash)));
    }
    blobs_made_.at(h).makers.insert(node.index);
  }
  storage::LocalChange photo;
  photo.id = NewRecordId(now_ + node.clock_skew_ms, blob_rng_);
  photo.type = RecordType::kPhoto;
  photo.scope = scope;
  photo.op = storage::Op::kPut;
  photo.payload = PhotoPayload(*subject, image, preview, fmt::format("photo {}", stats_.photos + 1));
  changes.push_back(std::move(photo));
  ++stats_.photos;
  Note(fmt::format("{} adds a photo of {}: image {} ({} B), preview {} ({} B)", node.name,
                   storage::FormatRecordId(*subject).substr(24), Short(image), blobs_made_.at(image).bytes.size(),
                   Short(preview), blobs_made_.at(preview).bytes.size()));
  Append(node, changes);
}

// An officer at a node that takes previews from some peer asks for the
// image of a photo the node holds: it must arrive (B5, LivenessOfBlobs).
void World::Demand() {
  if (phase_ != Phase::kChaos) return;
  std::vector<int> officers;
  for (auto& node : nodes_) {
    bool thin = std::any_of(node->blob_policy.begin(), node->blob_policy.end(),
                            [](const auto& kv) { return kv.second != BlobPolicy::kFull; });
    if (node->up && !node->hostile && thin) officers.push_back(node->index);
  }
  if (officers.empty()) return;
  Node& node = *nodes_[officers[blob_rng_.Below(officers.size())]];
  std::vector<std::pair<Hash256, uint32_t>> lacking;
  for (const auto& [id, info] : truth_.records()) {
    if (info.type != RecordType::kPhoto) continue;
    auto view = node.store->GetRecord(id);
    if (!view.ok() || !view->state.live() || view->state.quarantined()) continue;
    for (size_t i = 0; i < view->state.versions.size() && i < view->payloads.size(); ++i) {
      if (!view->state.versions[i].live()) continue;
      auto refs = RefsOf(view->payloads[i]);
      if (!refs) continue;
      auto held = node.store->GetBlobInfo(refs->image);
      if (!held.ok()) return Fail(node.name + ": GetBlobInfo failed: " + held.status().ToString());
      if (!*held || !(*held)->complete) lacking.emplace_back(refs->image, refs->image_size);
    }
  }
  if (lacking.empty()) return;
  auto [hash, size] = lacking[blob_rng_.Below(lacking.size())];
  Status s = node.store->DemandBlob(hash, size);
  if (!s.ok()) return Fail(node.name + ": DemandBlob failed: " + s.ToString());
  demanded_[node.index].emplace(hash, now_);
  ++stats_.demands;
  Note(fmt::format("an officer at {} demands image {} ({} B)", node.name, Short(hash), size));
}

// ---------------------------------------------------------------------------
// Safety

bool World::MayHoldBlob(int n, const Hash256& hash) const {
  auto it = blobs_made_.find(hash);
  if (it == blobs_made_.end()) return false;
  if (it->second.makers.count(n)) return true;
  return std::any_of(it->second.feeds.begin(), it->second.feeds.end(),
                     [&](const FeedId& feed) { return MayHold(n, feed); });
}

std::vector<BlobTarget> World::MalloryBlobTargets() const {
  std::vector<BlobTarget> out;
  for (const auto& [hash, made] : blobs_made_) {
    out.push_back({hash, uint32_t(made.bytes.size()), MayHoldBlob(mallory_->index(), hash)});
  }
  return out;
}

// B1, B2: blob data from side d of `c`, as it arrives.
void World::CheckBlobData(const Connection& c, int d, const InFlight& m, ByteView message) {
  ++stats_.blob_data_messages;
  stats_.blob_data_bytes += m.info.count;
  int sender = c.side[d].node, receiver = c.side[1 - d].node;
  if (Hostile(sender)) return;
  const Hash256& hash = m.info.blob;
  auto it = blobs_made_.find(hash);
  if (it == blobs_made_.end()) {
    return Fail(fmt::format("B2: {} sent {} data of blob {}, which nobody made", NameOf(sender), NameOf(receiver),
                            Short(hash)));
  }
  if (!MayHoldBlob(receiver, hash)) {
    return Fail(fmt::format("B1: {} sent {} chunks of blob {} from chunk {}, which {} may not hold: no feed it may "
                            "hold has an entry referring to it",
                            NameOf(sender), NameOf(receiver), Short(hash), m.info.number, NameOf(receiver)));
  }
  auto decoded = replication::DecodeMessage(message);
  NCEN_CHECK(decoded.ok());
  const auto& data = std::get<replication::BlobDataMsg>(*decoded);
  const Bytes& truth = it->second.bytes;
  size_t at = size_t{data.first} * kBlobChunkBytes;
  if (data.size != truth.size() || at + data.data.size() > truth.size() ||
      !std::equal(data.data.begin(), data.data.end(), truth.begin() + ptrdiff_t(at))) {
    return Fail(fmt::format("B2: {} sent {} chunks of blob {} from chunk {} that are not its bytes", NameOf(sender),
                            NameOf(receiver), Short(hash), data.first));
  }
}

// B3 where blob data arrived; and which of its chunks came from Mallory.
// True when the node should crash now, the blob half-fetched (during the
// chaos of a run with faults, three times in ten).
bool World::CheckBlobHeld(int n, const Hash256& hash, bool from_mallory) {
  Node& node = *nodes_[n];
  if (node.hostile || !node.up) return false;
  auto info = node.store->GetBlobInfo(hash);
  if (!info.ok()) {
    Fail(node.name + ": GetBlobInfo failed: " + info.status().ToString());
    return false;
  }
  bool some = *info && ((*info)->complete || (*info)->chunks_held > 0);
  bool partial = some && !(*info)->complete;
  if (!partial) {
    mallory_chunks_.erase({n, hash});
  } else if (from_mallory) {
    mallory_chunks_.insert({n, hash});
  }
  if (some && !MayHoldBlob(n, hash)) {
    Fail(fmt::format("B3: {} holds {} of {} chunks of blob {}, which it may not hold", node.name,
                     (*info)->chunks_held, (*info)->chunks, Short(hash)));
    return false;
  }
  return partial && phase_ == Phase::kChaos && fault_gap_ms_ > 0 && blob_rng_.Percent(30);
}

// B4: side s of `c` failed with `error`.
void World::CheckBlobFailure(const Connection& c, int s, const std::string& error) {
  int n = c.side[s].node, peer = c.side[s].peer;
  if (Hostile(n) || Hostile(peer) || error.find("blob") == std::string::npos) return;
  if (error.find("ended the session") != std::string::npos) return;  // judged where it arose
  for (auto it = mallory_chunks_.begin(); it != mallory_chunks_.end(); ++it) {
    if (it->first == n && error.find(storage::BlobHashText(it->second)) != std::string::npos) {
      ++blob_failures_after_mallory_;
      Note(fmt::format("{}: the session with {} failed on blob {}, after a chunk from Mallory", NameOf(n),
                       NameOf(peer), Short(it->second)));
      mallory_chunks_.erase(it);
      return;
    }
  }
  Fail(fmt::format("B4: {}'s session with {} failed on a blob: {}", NameOf(n), NameOf(peer), error.substr(0, 300)));
}

void World::NoteBlobsCut(Connection& c) {
  if (c.blob_cut_counted || !(CarriesBlobData(c.queue[0]) || CarriesBlobData(c.queue[1]))) return;
  c.blob_cut_counted = true;
  ++stats_.blob_transfers_cut;
}

std::vector<Connection*> World::PreferBlobCarriers(std::vector<Connection*> open) {
  if (!blob_rng_.Percent(50)) return open;
  std::vector<Connection*> carrying;
  for (Connection* c : open) {
    if (CarriesBlobData(c->queue[0]) || CarriesBlobData(c->queue[1])) carrying.push_back(c);
  }
  return carrying.empty() ? open : carrying;
}

std::vector<int> World::PreferBlobReceivers(std::vector<int> nodes) {
  if (!blob_rng_.Percent(50)) return nodes;
  std::set<int> receiving;
  for (const auto& [id, c] : connections_) {
    for (int d = 0; d < 2; ++d) {
      if (CarriesBlobData(c.queue[d])) receiving.insert(c.side[1 - d].node);
    }
  }
  std::vector<int> out;
  for (int n : nodes) {
    if (receiving.count(n)) out.push_back(n);
  }
  return out.empty() ? nodes : out;
}

void World::NoteCrashWithBlobs(int n) {
  for (const auto& [hash, made] : blobs_made_) {
    auto info = nodes_[n]->store->GetBlobInfo(hash);
    if (info.ok() && *info && !(*info)->complete && (*info)->chunks_held > 0) {
      ++stats_.crashes_with_partial_blobs;
      return;
    }
  }
}

// B3 and B5 on every node, at the end (VerifyLog has re-hashed every blob
// held whole and checked every chunk's size).
void World::FinalBlobChecks() {
  if (!blobs_ || failed_) return;
  for (auto& node : nodes_) {
    if (node->hostile) continue;
    int n = node->index;
    uint64_t held = 0;
    for (const auto& [hash, made] : blobs_made_) {
      auto info = node->store->GetBlobInfo(hash);
      if (!info.ok()) return Fail(node->name + ": GetBlobInfo failed: " + info.status().ToString());
      if (!*info || (!(*info)->complete && (*info)->chunks_held == 0)) continue;
      ++held;
      if (!MayHoldBlob(n, hash)) {
        return Fail(fmt::format("B3: {} holds {} of {} chunks of blob {}, which it may not hold", node->name,
                                (*info)->chunks_held, (*info)->chunks, Short(hash)));
      }
      if (!(*info)->complete) continue;
      auto bytes = node->store->ReadBlob(hash);
      if (!bytes.ok() || crypto::Blake2b256(*bytes) != hash || *bytes != made.bytes) {
        return Fail(fmt::format("B3: {} holds blob {} whole, but it does not read back as its bytes: {}", node->name,
                                Short(hash), bytes.ok() ? "other bytes" : bytes.status().ToString()));
      }
    }
    auto totals = node->store->BlobStats();
    if (!totals.ok()) return Fail(node->name + ": BlobStats failed: " + totals.status().ToString());
    if (totals->blobs + totals->partial != held) {
      return Fail(fmt::format("B3: {} holds {} blobs whole or in part, of which the simulator made {}", node->name,
                              totals->blobs + totals->partial, held));
    }
    for (const auto& [hash, when] : demanded_[n]) {
      auto info = node->store->GetBlobInfo(hash);
      if (!info.ok() || !*info || !((*info)->complete || (*info)->demanded)) {
        return Fail(fmt::format("B5: the officer at {} demanded image {} at t={}; it is neither held whole nor "
                                "asked for",
                                node->name, Short(hash), (when - kStartMs) / 1000));
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Liveness

void World::LivenessOfBlobs(std::vector<std::string>& problems) {
  if (!blobs_) return;
  std::set<FeedId> forked;
  for (auto& node : nodes_) forked.insert(node->forked.begin(), node->forked.end());
  // What the live photo records on each member refer to, and in which feeds
  // (a record a forked feed wrote is left out: its copies may differ).
  struct Use {
    bool preview = false;
    std::set<FeedId> feeds;
  };
  std::vector<std::map<Hash256, Use>> uses(nodes_.size());
  std::vector<int> members;
  for (auto& node : nodes_) {
    if (node->hostile || Revoked(node->index)) continue;
    int n = node->index;
    members.push_back(n);
    for (const auto& [id, info] : truth_.records()) {
      if (info.type != RecordType::kPhoto) continue;
      auto view = node->store->GetRecord(id);
      if (!view.ok() && view.status().code() == StatusCode::kNotFound) continue;
      if (!view.ok()) {
        problems.push_back(node->name + ": GetRecord failed: " + view.status().ToString());
        return;
      }
      const storage::RecordState& state = view->state;
      if (!state.live() || state.quarantined()) continue;
      if (std::any_of(state.versions.begin(), state.versions.end(),
                      [&](const storage::Version& v) { return forked.count({v.dot.author, state.scope}) > 0; })) {
        continue;
      }
      for (size_t i = 0; i < state.versions.size() && i < view->payloads.size(); ++i) {
        if (!state.versions[i].live()) continue;
        auto refs = RefsOf(view->payloads[i]);
        if (!refs) {
          problems.push_back(fmt::format("{} holds photo {} with a payload the simulator never wrote", node->name,
                                         storage::FormatRecordId(id)));
          return;
        }
        FeedId feed{state.versions[i].dot.author, state.scope};
        uses[size_t(n)][refs->image].feeds.insert(feed);
        Use& preview = uses[size_t(n)][refs->preview];
        preview.preview = true;
        preview.feeds.insert(feed);
      }
    }
  }
  for (const auto& [hash, made] : blobs_made_) {
    std::map<int, storage::BlobInfo> rows;
    std::set<int> expect;  // members that hold it whole, then those that should fetch it
    for (int n : members) {
      auto info = nodes_[n]->store->GetBlobInfo(hash);
      if (!info.ok()) {
        problems.push_back(NameOf(n) + ": GetBlobInfo failed: " + info.status().ToString());
        return;
      }
      if (!*info) continue;
      rows[n] = **info;
      if ((*info)->complete) expect.insert(n);
    }
    std::vector<std::tuple<int, int, BlobPolicy>> via;  // who should fetch it, from whom: in the order found
    for (bool grew = true; grew;) {
      grew = false;
      for (int n : members) {
        if (expect.count(n)) continue;
        auto use = uses[size_t(n)].find(hash);
        bool demanded = rows.count(n) && rows[n].demanded;
        if (use == uses[size_t(n)].end() && !demanded) continue;
        bool preview = use != uses[size_t(n)].end() && use->second.preview;
        for (const Edge& e : edges_) {
          int p = e.dialer == n ? e.listener : e.listener == n ? e.dialer : -1;
          if (p < 0 || !expect.count(p)) continue;
          auto it = nodes_[n]->blob_policy.find(p);
          BlobPolicy policy = it == nodes_[n]->blob_policy.end() ? BlobPolicy::kFull : it->second;
          bool fetches = policy == BlobPolicy::kFull || (policy == BlobPolicy::kPreviews && (preview || demanded));
          if (!fetches) continue;
          // p serves it: a live record there refers to it, in a feed n may
          // hold, over a link that carries that scope.
          auto served = uses[size_t(p)].find(hash);
          if (served == uses[size_t(p)].end()) continue;
          if (std::none_of(served->second.feeds.begin(), served->second.feeds.end(),
                           [&](const FeedId& f) { return Carries(e, f.scope) && MayHold(n, f); })) {
            continue;
          }
          expect.insert(n);
          via.emplace_back(n, p, policy);
          grew = true;
          break;
        }
      }
    }
    for (const auto& [n, from, policy] : via) {
      auto row = rows.find(n);
      const Edge& link = edges_[size_t(EdgeBetween(n, from))];
      // What the source's store says of the blob's uses (Session::BlobMayGo reads them).
      std::string there;
      auto blob_uses = nodes_[from]->store->BlobUses(hash);
      if (!blob_uses.ok()) there = blob_uses.status().ToString();
      for (const storage::BlobUse& u : blob_uses.ok() ? *blob_uses : std::vector<storage::BlobUse>{}) {
        there += fmt::format(" {} {} by {}", storage::FormatRecordId(u.record).substr(24),
                             storage::RecordTypeName(u.type), FeedName({u.author, u.scope}));
      }
      problems.push_back(fmt::format("{} lacks blob {} ({} B; {} of {} chunks held{}), which it should fetch from {} "
                                     "(policy {}; link {} ms, {} kB/s; its uses there:{})",
                                     NameOf(n), Short(hash), made.bytes.size(),
                                     row == rows.end() ? 0 : row->second.chunks_held,
                                     storage::BlobChunkCount(made.bytes.size()),
                                     row != rows.end() && row->second.demanded ? ", demanded" : "", NameOf(from),
                                     replication::BlobPolicyName(policy), link.latency_ms, link.bytes_per_ms,
                                     there.empty() ? " none" : there));
      return;
    }
  }
}

}  // namespace ncen::sim
