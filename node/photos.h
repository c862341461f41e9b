// Photos: the photo operations of one node — add, list, get — shared by
// every front end (ncenctl now, the HTTP API next). A photo is a record of
// type `photo` naming the record it shows and two blobs, the image and its
// preview (docs/blobs.md). Adding one checks the file completely
// (media/image.h) before anything is stored; the blobs are stored first (a
// crash between leaves at most unreferenced blobs, which a second add
// reuses), then the record in one AppendLocal, whose check confirms inside
// the write that the subject is a live seizure, suspect or company.
//
// Errors, each with a one-line message: kInvalidArgument (a refused file, a
// subject that is not a live seizure, suspect or company), kNotFound (no
// such record, no such blob), kUnavailable (a blob not held here yet: the
// message says whether it is on its way, requested on demand, or not this
// node's to have), the store's errors otherwise.
//
// Thread-safety: like the Store it uses (one thread at a time).
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "crypto/identity.h"
#include "media/image.h"
#include "node/config.h"
#include "node/records.h"
#include "storage/store.h"

namespace ncen::node {

using crypto::Hash256;

struct PhotoAddOptions {
  std::string caption;
  std::string note;            // the photographer's note
  bool keep_metadata = false;  // keep GPS and camera data (an explicit choice)
  media::ImagePolicy policy;   // limits (the defaults unless a test says otherwise)
};

struct AddedPhoto {
  storage::RecordId id{};  // the photo record
  storage::BlobInfo image, preview;
  std::string media_type;
  uint32_t width = 0, height = 0;
  bool reencoded = false, metadata_kept = false;
};

// A photo record as front ends show it.
struct PhotoItem {
  storage::RecordId id{};
  storage::RecordId subject{};
  Hash256 image{}, preview{};
  uint32_t image_size = 0, preview_size = 0;
  std::string media_type, caption, note;
  std::string entered_by;  // the officer or system user who added it (entered_by.name), if recorded
  uint32_t width = 0, height = 0;
  bool metadata_kept = false;
  bool image_held = false, preview_held = false;
  int64_t added_ms = 0;           // the version's timestamp
  crypto::PublicKey added_by{};   // its author
};

// Where a blob is, for `photo get` and `blobs`.
enum class BlobWhere { kHeld, kOnItsWay, kOnDemand, kNotHere };

class Photos {
 public:
  // `actor`: who adds photos, written into each photo record's entered_by
  // (node/records.h); none when its name is empty.
  Photos(storage::Store& store, const crypto::Identity& me, Actor actor = {})
      : store_(store), me_(me), actor_(std::move(actor)) {}

  Result<AddedPhoto> Add(const storage::RecordId& subject, ByteView file, const PhotoAddOptions& options);
  // List and Get read the search index (which photos a record has, which
  // records refer to a blob); by default they bring it up to date first.
  // The HTTP API sets this false: a request never waits to index a sync's
  // batches (the daemon's indexer keeps up; the API indexes its own writes).
  void set_catch_up_index(bool on) { catch_up_index_ = on; }
  // The live photos of a record, oldest first. kNotFound when the record is absent.
  Result<std::vector<PhotoItem>> List(const storage::RecordId& subject);
  // What this node's peer policies fetch by themselves (ncen.toml `blobs`).
  struct Eager {
    bool images = true;    // some peer's policy is "full"
    bool previews = true;  // some peer's policy is "full" or "previews"
  };
  // The blob's bytes (`preview`: the preview of the image `hash` instead).
  // When it is not held whole: kUnavailable saying where it is, after asking
  // for it on demand when this node's peers would not fetch it by themselves.
  // kNotFound when no record here refers to it (so it is not this node's to
  // have, or there is no such photo).
  Result<Bytes> Get(const Hash256& hash, bool preview, Eager eager, BlobWhere* where = nullptr);
  // What the peer policies of `config` fetch by themselves.
  static Eager EagerFor(const NodeConfig& config);

 private:
  storage::Store& store_;
  const crypto::Identity& me_;
  Actor actor_;
  bool catch_up_index_ = true;
};

}  // namespace ncen::node
