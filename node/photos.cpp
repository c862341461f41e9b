#include "node/photos.h"

#include <nlohmann/json.hpp>

#include "storage/blobs.h"
#include "storage/record_json.h"

namespace ncen::node {

using json = nlohmann::ordered_json;
using storage::RecordId;
using storage::RecordType;

namespace {

json RefJson(const storage::BlobInfo& blob, const std::string& media_type, uint32_t width, uint32_t height) {
  return {{"hash", storage::BlobHashText(blob.hash)},
          {"size", blob.size},
          {"media_type", media_type},
          {"width", width},
          {"height", height}};
}

bool PhotoSubjectType(RecordType t) {
  return t == RecordType::kSeizure || t == RecordType::kSuspect || t == RecordType::kCompany;
}

Status CheckSubject(const RecordId& subject, const storage::RecordView& view) {
  const auto& state = view.state;
  if (state.quarantined() || !state.live() || !PhotoSubjectType(state.type)) {
    return InvalidArgument("record " + storage::FormatRecordId(subject) +
                           " is not a live seizure, suspect or company: a photo shows one of those");
  }
  return Status::Ok();
}

std::string Mb(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return text;
}

}  // namespace

Result<AddedPhoto> Photos::Add(const RecordId& subject, ByteView file, const PhotoAddOptions& options) {
  // Everything that can be refused is refused before anything is stored.
  NCEN_ASSIGN_OR_RETURN(storage::RecordView held, store_.GetRecord(subject));
  NCEN_RETURN_IF_ERROR(CheckSubject(subject, held));
  media::ImagePolicy policy = options.policy;
  policy.keep_metadata = options.keep_metadata;
  NCEN_ASSIGN_OR_RETURN(media::PreparedImage image, media::PrepareImage(file, policy));
  if (image.bytes.size() > storage::kBlobBytesMax) {
    return InvalidArgument("the photo is " + Mb(image.bytes.size()) + " after preparation, more than a blob holds");
  }
  json body = {{"subject", storage::FormatRecordId(subject)},
               {"image", json::object()},
               {"preview", json::object()}};
  if (!options.caption.empty()) body["caption"] = options.caption;
  if (!options.note.empty()) body["note"] = options.note;
  if (image.metadata_kept) body["metadata_kept"] = true;
  body["source_format"] = image.source_format;
  StampEnteredBy(RecordType::kPhoto, actor_, store_.meta().name, body);
  // Validate the record's own fields (caption length...) before storing blobs.
  {
    json draft = body;
    storage::BlobInfo fake;
    fake.hash = crypto::Blake2b256(image.bytes);
    fake.size = 1;
    draft["image"] = RefJson(fake, image.media_type, image.width, image.height);
    draft["preview"] = RefJson(fake, "image/jpeg", image.preview_width, image.preview_height);
    NCEN_RETURN_IF_ERROR(storage::RecordFromJson(RecordType::kPhoto, draft).status());
  }
  AddedPhoto added;
  NCEN_ASSIGN_OR_RETURN(added.image, store_.PutBlob(image.bytes));
  NCEN_ASSIGN_OR_RETURN(added.preview, store_.PutBlob(image.preview));
  body["image"] = RefJson(added.image, image.media_type, image.width, image.height);
  body["preview"] = RefJson(added.preview, "image/jpeg", image.preview_width, image.preview_height);
  NCEN_ASSIGN_OR_RETURN(Bytes payload, storage::RecordFromJson(RecordType::kPhoto, body));
  storage::LocalChange change{storage::NewRecordId(store_.NowMs()), RecordType::kPhoto, storage::Op::kPut,
                              std::move(payload), held.state.scope};
  change.check = [subject](storage::TxnRecords& records, Bytes*) -> Status {
    NCEN_ASSIGN_OR_RETURN(storage::RecordView now, records.Get(subject));
    return CheckSubject(subject, now);
  };
  added.id = change.id;
  NCEN_RETURN_IF_ERROR(store_.AppendLocal(me_, {&change, 1}).status());
  added.media_type = image.media_type;
  added.width = image.width;
  added.height = image.height;
  added.reencoded = image.reencoded;
  added.metadata_kept = image.metadata_kept;
  return added;
}

Result<std::vector<PhotoItem>> Photos::List(const RecordId& subject) {
  NCEN_RETURN_IF_ERROR(store_.GetRecord(subject).status());
  if (catch_up_index_) NCEN_RETURN_IF_ERROR(store_.CatchUpIndexAll());
  NCEN_ASSIGN_OR_RETURN(auto ids, store_.PhotosOf(subject));
  std::vector<PhotoItem> out;
  for (const RecordId& id : ids) {
    auto view = store_.GetRecord(id);
    if (!view.ok() || !view->state.live() || view->state.quarantined() || view->state.type != RecordType::kPhoto) {
      continue;
    }
    const auto& winner = view->state.Winner();
    size_t at = view->state.WinnerIndex();
    if (at >= view->payloads.size() || view->payloads[at].empty()) continue;
    NCEN_ASSIGN_OR_RETURN(json body, storage::RecordToJson(RecordType::kPhoto, view->payloads[at]));
    PhotoItem item;
    item.id = id;
    item.subject = subject;
    auto image = storage::ParseBlobHash(body["image"].value("hash", ""));
    auto preview = storage::ParseBlobHash(body["preview"].value("hash", ""));
    if (!image || !preview) continue;
    item.image = *image;
    item.preview = *preview;
    item.image_size = body["image"].value("size", 0u);
    item.preview_size = body["preview"].value("size", 0u);
    item.media_type = body["image"].value("media_type", "");
    item.width = body["image"].value("width", 0u);
    item.height = body["image"].value("height", 0u);
    item.caption = body.value("caption", "");
    item.note = body.value("note", "");
    item.metadata_kept = body.value("metadata_kept", false);
    if (body.contains("entered_by") && body["entered_by"].is_object()) {
      item.entered_by = body["entered_by"].value("name", "");
    }
    for (auto [hash, held] : {std::pair{item.image, &item.image_held}, std::pair{item.preview, &item.preview_held}}) {
      NCEN_ASSIGN_OR_RETURN(auto info, store_.GetBlobInfo(hash));
      *held = info && info->complete;
    }
    item.added_ms = winner.timestamp_ms;
    item.added_by = winner.dot.author;
    out.push_back(std::move(item));
  }
  return out;
}

Photos::Eager Photos::EagerFor(const NodeConfig& config) {
  Eager eager{false, false};
  for (const auto& p : config.peers) {
    eager.images = eager.images || p.blobs == "full";
    eager.previews = eager.previews || p.blobs != "none";
  }
  return eager;
}

Result<Bytes> Photos::Get(const Hash256& asked, bool preview, Eager eager, BlobWhere* where) {
  auto set = [&](BlobWhere w) {
    if (where) *where = w;
  };
  if (catch_up_index_) NCEN_RETURN_IF_ERROR(store_.CatchUpIndexAll());
  Hash256 hash = asked;
  NCEN_ASSIGN_OR_RETURN(auto uses, store_.BlobUses(asked));
  const std::string name = storage::BlobHashText(asked);
  if (uses.empty()) {
    set(BlobWhere::kNotHere);
    return NotFound("no record this node holds refers to blob " + name +
                    ": it is not this node's to have (or no such photo exists)");
  }
  char role = uses.front().role;
  uint32_t size = uses.front().size;
  if (preview) {
    // The preview of this image: from a photo record that names it.
    bool found = false;
    for (const auto& use : uses) {
      if (use.role != storage::kBlobRoleImage) continue;
      if (use.type != RecordType::kPhoto && use.type != RecordType::kSeizureReport) continue;
      auto view = store_.GetRecord(use.record);
      if (!view.ok() || !view->state.live()) continue;
      const Bytes& payload = view->payloads[view->state.WinnerIndex()];
      if (payload.empty()) continue;
      NCEN_ASSIGN_OR_RETURN(json body, storage::RecordToJson(use.type, payload));
      // A photo record names its preview; a released report, each photo's.
      std::vector<json> pairs;
      if (use.type == RecordType::kPhoto) pairs.push_back(body);
      if (body.contains("photos")) {
        for (const json& p : body["photos"]) pairs.push_back(p);
      }
      for (const json& pair : pairs) {
        if (pair["image"].value("hash", "") != name) continue;
        auto p = storage::ParseBlobHash(pair["preview"].value("hash", ""));
        if (!p) continue;
        hash = *p;
        size = pair["preview"].value("size", 0u);
        role = storage::kBlobRolePreview;
        found = true;
        break;
      }
      if (found) break;
    }
    if (!found) return NotFound("blob " + name + " is not the image of a photo here: it has no preview");
  }
  NCEN_ASSIGN_OR_RETURN(auto info, store_.GetBlobInfo(hash));
  if (info && info->complete) {
    set(BlobWhere::kHeld);
    return store_.ReadBlob(hash);
  }
  const std::string what = (role == storage::kBlobRolePreview ? "preview " : "photo ") + storage::BlobHashText(hash);
  if (info && info->chunks_held > 0) {
    set(BlobWhere::kOnItsWay);
    return Unavailable(what + " is on its way: " + std::to_string(info->bytes_held()) + " of " +
                       std::to_string(info->size) + " bytes held; try again after the next sync");
  }
  bool eager_here = role == storage::kBlobRolePreview ? eager.previews : eager.images;
  if (eager_here || (info && info->demanded)) {
    set(info && info->demanded ? BlobWhere::kOnDemand : BlobWhere::kOnItsWay);
    return Unavailable(what + " is on its way: it is fetched at the next sync with a peer that holds it");
  }
  NCEN_RETURN_IF_ERROR(store_.DemandBlob(hash, size));
  set(BlobWhere::kOnDemand);
  return Unavailable(what + " is not held here (this node fetches full photos on demand): requested; it is "
                     "fetched at the next sync with a peer that holds it");
}

}  // namespace ncen::node
