// ncenctl's photo commands: photo add, photo list, photo get, blobs
// (docs/blobs.md). The rules live in node/photos.h.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "node/config.h"
#include "node/durable_file.h"
#include "node/node_dir.h"
#include "node/photos.h"
#include "node/status_report.h"
#include "storage/blobs.h"
#include "storage/peer_status.h"
#include "tools/ncenctl/commands.h"
#include "tools/ncenctl/input.h"
#include "tools/ncenctl/output.h"

namespace ncen::ctl {

namespace {

using crypto::Hash256;
using storage::RecordId;

Result<Hash256> ParseHash(const std::string& text) {
  auto hash = storage::ParseBlobHash(text);
  if (!hash) return InvalidArgument("'" + Shown(text) + "' is not a photo hash (64 lower-case hex digits)");
  return *hash;
}

std::string Size(uint64_t bytes) {
  if (bytes < 10'000) return std::to_string(bytes) + " B";
  if (bytes < 10'000'000) return fmt::format("{:.0f} kB", static_cast<double>(bytes) / 1e3);
  return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
}

Result<node::Photos::Eager> EagerOf(const Globals& g, const node::OpenNode& n) {
  NCEN_ASSIGN_OR_RETURN(node::NodeConfig config, node::LoadConfig(g.data_dir, n.identity.public_key()));
  return node::Photos::EagerFor(config);
}

}  // namespace

Status PhotoAdd(const Globals& g, const PhotoAddOptions& o) {
  NCEN_ASSIGN_OR_RETURN(RecordId subject, storage::ParseRecordId(o.record));
  // A photo is at most 50 MB: a file past that is refused without reading it whole.
  node::PhotoAddOptions options;
  options.caption = o.caption;
  options.note = o.note;
  options.keep_metadata = o.keep_metadata;
  const size_t max = options.policy.max_file_bytes;
  std::error_code ec;
  if (o.file != "-" && std::filesystem::is_regular_file(o.file, ec)) {
    uint64_t size = std::filesystem::file_size(o.file, ec);
    if (!ec && size > max) {
      return InvalidArgument(fmt::format("{} is {:.1f} MB, more than the {} MB limit for a photo", o.file,
                                         static_cast<double>(size) / 1e6, max >> 20));
    }
  }
  // Standard input (or a file that grew): read at most one byte past the limit.
  NCEN_ASSIGN_OR_RETURN(std::string file, ReadInput(o.file, max + 1));
  if (file.size() > max) {
    return InvalidArgument(InputName(o.file) + " is more than the " + std::to_string(max >> 20) +
                           " MB limit for a photo");
  }
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::OpenNodeDir(g.data_dir));
  node::Photos photos(*n.store, n.identity, LocalActor());
  NCEN_ASSIGN_OR_RETURN(node::AddedPhoto added, photos.Add(subject, AsBytes(file), options));
  if (g.json) {
    PrintJson(node::AddedPhotoJson(added, subject));
    return Status::Ok();
  }
  std::cout << "photo " << storage::FormatRecordId(added.id) << " of " << storage::FormatRecordId(subject) << "\n"
            << "  image   " << storage::BlobHashText(added.image.hash) << "  " << added.media_type << " "
            << added.width << "x" << added.height << ", " << Size(added.image.size)
            << (added.metadata_kept ? " (metadata kept)" : added.reencoded ? " (re-encoded, metadata removed)"
                                                                           : " (metadata removed)")
            << "\n  preview " << storage::BlobHashText(added.preview.hash) << "  " << Size(added.preview.size) << "\n";
  return Status::Ok();
}

Status PhotoList(const Globals& g, const std::string& record) {
  NCEN_ASSIGN_OR_RETURN(RecordId subject, storage::ParseRecordId(record));
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::OpenNodeDir(g.data_dir));
  node::Photos photos(*n.store, n.identity);
  NCEN_ASSIGN_OR_RETURN(auto items, photos.List(subject));
  if (g.json) {
    json out = json::array();
    for (const auto& p : items) {
      out.push_back(node::PhotoItemJson(p));
    }
    PrintJson(out);
    return Status::Ok();
  }
  if (items.empty()) {
    std::cout << "(no photos)\n";
    return Status::Ok();
  }
  for (const auto& p : items) {
    std::string held = p.image_held ? "held" : p.preview_held ? "preview only" : "not yet here";
    std::cout << storage::BlobHashText(p.image) << "  " << p.width << "x" << p.height << "  "
              << Size(p.image_size) << "  " << held << (p.caption.empty() ? "" : "  " + Shown(p.caption)) << "\n";
  }
  return Status::Ok();
}

Status PhotoGet(const Globals& g, const std::string& hash_text, const std::string& out, bool preview) {
  NCEN_ASSIGN_OR_RETURN(Hash256 hash, ParseHash(hash_text));
  if (out.empty()) return InvalidArgument("--out FILE is required (- for standard output)");
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::OpenNodeDir(g.data_dir));
  NCEN_ASSIGN_OR_RETURN(node::Photos::Eager eager, EagerOf(g, n));
  node::Photos photos(*n.store, n.identity);
  NCEN_ASSIGN_OR_RETURN(Bytes bytes, photos.Get(hash, preview, eager));
  if (out == "-") {
    std::cout.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    std::cout.flush();
    return std::cout ? Status::Ok() : IOError("standard output: write failed");
  }
  std::filesystem::path path(out);
  std::string dir = path.has_parent_path() ? path.parent_path().string() : ".";
  if (std::filesystem::is_directory(path)) return InvalidArgument("--out " + out + " is a directory");
  std::string_view contents(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  NCEN_RETURN_IF_ERROR(node::ReplaceFileAtomically(dir, path.filename().string(), contents).WithContext("--out"));
  if (!g.json) std::cerr << "wrote " << Size(bytes.size()) << " to " << out << "\n";
  return Status::Ok();
}

Status Blobs(const Globals& g) {
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::OpenNodeDir(g.data_dir));
  NCEN_RETURN_IF_ERROR(n.store->CatchUpIndexAll());
  NCEN_ASSIGN_OR_RETURN(storage::BlobTotals t, n.store->BlobStats());
  NCEN_ASSIGN_OR_RETURN(node::NodeConfig config, node::LoadConfig(g.data_dir, n.identity.public_key()));
  storage::PeerLedger ledger(*n.store);
  NCEN_ASSIGN_OR_RETURN(auto rows, ledger.All());
  auto peers = node::JoinPeers(config, rows, n.store->NowMs());
  if (g.json) {
    json per_peer = json::array();
    for (const auto& p : peers) {
      const auto* row = p.row ? &*p.row : nullptr;
      per_peer.push_back({{"name", p.config.name},
                          {"policy", p.config.blobs},
                          {"connected", p.connected},
                          {"pending", row ? row->blobs_pending : 0},
                          {"bytes_pending", row ? row->blob_bytes_pending : 0},
                          {"bytes_in_flight", row ? row->blob_bytes_in_flight : 0},
                          {"bytes_received", row ? row->blob_bytes_received : 0},
                          {"bytes_sent", row ? row->blob_bytes_sent : 0}});
    }
    PrintJson({{"held", {{"blobs", t.blobs}, {"bytes", t.bytes}}},
               {"partial", {{"blobs", t.partial}, {"bytes_held", t.partial_bytes_held}}},
               {"missing", {{"blobs", t.missing}, {"bytes", t.missing_bytes}, {"previews", t.missing_previews},
                            {"on_demand", t.missing_demanded}}},
               {"peers", per_peer}});
    return Status::Ok();
  }
  std::cout << fmt::format("held     {} blobs, {}\n", t.blobs, Size(t.bytes))
            << fmt::format("partial  {} blobs, {} held so far\n", t.partial, Size(t.partial_bytes_held))
            << fmt::format("missing  {} blobs ({} previews, {} asked for on demand), {} to come\n", t.missing,
                           t.missing_previews, t.missing_demanded, Size(t.missing_bytes));
  if (peers.empty()) return Status::Ok();
  std::cout << fmt::format("\n{:<20} {:<9} {:<10} {:>8} {:>12} {:>12} {:>12} {:>12}\n", "PEER", "POLICY", "STATE",
                           "PENDING", "BYTES", "IN FLIGHT", "RECEIVED", "SENT");
  for (const auto& p : peers) {
    const auto* row = p.row ? &*p.row : nullptr;
    std::cout << fmt::format("{:<20} {:<9} {:<10} {:>8} {:>12} {:>12} {:>12} {:>12}\n", p.config.name, p.config.blobs,
                             p.connected ? "connected" : "offline", row ? row->blobs_pending : 0,
                             row ? row->blob_bytes_pending : 0, row ? row->blob_bytes_in_flight : 0,
                             row ? row->blob_bytes_received : 0, row ? row->blob_bytes_sent : 0);
  }
  return Status::Ok();
}

}  // namespace ncen::ctl
