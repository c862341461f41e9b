// Blobs in the store: chunking, dedup, resumption, verification, and the
// references the index keeps (docs/blobs.md §2–3).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "storage/blobs.h"
#include "storage/record_json.h"
#include "tests/support/store_fixture.h"

using namespace ncen;
using namespace ncen::storage;
using json = nlohmann::ordered_json;

namespace {

Bytes Pattern(size_t n, uint8_t seed) { return testing::PseudoRandomBytes(n, seed); }

json Ref(const Bytes& blob, const std::string& media = "image/jpeg") {
  return {{"hash", ToHex(crypto::Blake2b256(blob))},
          {"size", blob.size()},
          {"media_type", media},
          {"width", 640},
          {"height", 480}};
}

Bytes PhotoPayload(const RecordId& subject, const Bytes& image, const Bytes& preview, const std::string& caption) {
  json j = {{"subject", FormatRecordId(subject)}, {"image", Ref(image)}, {"preview", Ref(preview)},
            {"caption", caption}};
  return RecordFromJson(RecordType::kPhoto, j).value();
}

struct Fixture {
  crypto::Identity me = testing::IdentityFromNumber(1);
  testing::TestStore t{me};
  RecordId Put(const RecordId& id, RecordType type, Bytes payload) {
    LocalChange c{id, type, Op::kPut, std::move(payload)};
    REQUIRE(t.store->AppendLocal(me, {&c, 1}).ok());
    return id;
  }
};

}  // namespace

TEST_CASE("a blob is stored in chunks once and read back whole", "[storage][blobs]") {
  Fixture f;
  Bytes bytes = Pattern(3 * kBlobChunkBytes + 1000, 1);
  BlobInfo b = f.t.store->PutBlob(bytes).value();
  CHECK(b.hash == crypto::Blake2b256(bytes));
  CHECK(b.chunks == 4);
  CHECK(b.complete);
  CHECK(f.t.store->ReadBlob(b.hash).value() == bytes);
  // The same bytes again: the same blob, nothing more stored.
  CHECK(f.t.store->PutBlob(bytes).value().hash == b.hash);
  auto totals = f.t.store->BlobStats().value();
  CHECK(totals.blobs == 1);
  CHECK(totals.bytes == bytes.size());
  Bytes out(2 * kBlobChunkBytes);
  CHECK(f.t.store->ReadBlobChunks(b.hash, 1, 2, out).ok());
  CHECK(out == Bytes(bytes.begin() + kBlobChunkBytes, bytes.begin() + 3 * kBlobChunkBytes));
  Bytes last(1000);
  CHECK(f.t.store->ReadBlobChunks(b.hash, 3, 1, last).ok());
  CHECK(last == Bytes(bytes.end() - 1000, bytes.end()));
  // Past the end, or room that does not fit the chunks: refused.
  CHECK(f.t.store->ReadBlobChunks(b.hash, 3, 2, out).code() == StatusCode::kInvalidArgument);
  CHECK(f.t.store->ReadBlobChunks(b.hash, 4, 1, last).code() == StatusCode::kInvalidArgument);
  CHECK(f.t.store->ReadBlobChunks(b.hash, 2, 1, last).code() == StatusCode::kInvalidArgument);
  Bytes roomy(1001);
  CHECK(f.t.store->ReadBlobChunks(b.hash, 3, 1, roomy).code() == StatusCode::kInvalidArgument);
  CHECK(f.t.store->PutBlob({}).status().code() == StatusCode::kInvalidArgument);
  CHECK(f.t.store->ReadBlob(crypto::Blake2b256(Pattern(10, 2))).status().code() == StatusCode::kNotFound);
}

TEST_CASE("chunks arrive in pieces, resume where they stopped, and are verified at the end", "[storage][blobs]") {
  Fixture f;
  Bytes bytes = Pattern(2 * kBlobChunkBytes + 77, 3);
  Hash256 hash = crypto::Blake2b256(bytes);
  uint32_t size = static_cast<uint32_t>(bytes.size());
  ByteView all(bytes);
  auto w = f.t.store->PutBlobChunks(hash, size, 0, all.first(kBlobChunkBytes)).value();
  CHECK(w.bytes_new == kBlobChunkBytes);
  CHECK_FALSE(w.completed);
  auto info = f.t.store->GetBlobInfo(hash).value();
  REQUIRE(info);
  CHECK(info->chunks_held == 1);
  CHECK_FALSE(info->complete);
  CHECK(f.t.store->ReadBlob(hash).status().code() == StatusCode::kNotFound);
  // Past the first missing chunk: ignored (asked for again in order).
  CHECK(f.t.store->PutBlobChunks(hash, size, 2, all.subspan(2 * kBlobChunkBytes)).value().bytes_new == 0);
  // A resend of what is held and the rest: only the rest is new.
  w = f.t.store->PutBlobChunks(hash, size, 0, all).value();
  CHECK(w.bytes_new == bytes.size() - kBlobChunkBytes);
  CHECK(w.completed);
  CHECK(f.t.store->ReadBlob(hash).value() == bytes);
  auto report = f.t.store->VerifyLog().value();
  CHECK(report.blobs == 1);
  CHECK(report.blob_chunks == 3);
}

TEST_CASE("chunks that do not match the hash are dropped, and data of the wrong shape refused", "[storage][blobs]") {
  Fixture f;
  Bytes bytes = Pattern(kBlobChunkBytes + 10, 4);
  Hash256 hash = crypto::Blake2b256(bytes);
  uint32_t size = static_cast<uint32_t>(bytes.size());
  Bytes forged = bytes;
  forged[5] ^= 1;
  auto w = f.t.store->PutBlobChunks(hash, size, 0, forged);
  CHECK(w.status().code() == StatusCode::kCorruption);
  CHECK_FALSE(f.t.store->GetBlobInfo(hash).value());  // nothing kept
  CHECK(f.t.store->VerifyLog().ok());
  // Shapes: not on a chunk boundary, past the end, a size over the limit.
  ByteView all(bytes);
  CHECK(f.t.store->PutBlobChunks(hash, size, 0, all.first(1000)).status().code() == StatusCode::kInvalidArgument);
  CHECK(f.t.store->PutBlobChunks(hash, size, 5, all.first(10)).status().code() == StatusCode::kInvalidArgument);
  CHECK(f.t.store->PutBlobChunks(hash, kBlobBytesMax + 1, 0, all).status().code() == StatusCode::kInvalidArgument);
  CHECK(f.t.store->PutBlobChunks(hash, size, 0, all).value().completed);
}

TEST_CASE("the digest of the bytes received is taken only when they are every chunk held", "[storage][blobs][hostile]") {
  Fixture f;
  Bytes bytes = Pattern(3 * kBlobChunkBytes + 10, 6);
  Hash256 hash = crypto::Blake2b256(bytes);
  uint32_t size = static_cast<uint32_t>(bytes.size());
  ByteView all(bytes);
  Hash256 wrong = hash;
  wrong[0] ^= 1;
  auto put = [&](std::vector<ChunkPiece> pieces) { return f.t.store->PutBlobChunks(pieces).value(); };

  SECTION("every chunk new: the digest decides, the blob is not read back") {
    // The right bytes with a digest that does not name them: refused, which
    // only the digest can have decided.
    auto w = put({{hash, size, 0, all.first(kBlobChunkBytes), std::nullopt},
                  {hash, size, 1, all.subspan(kBlobChunkBytes), wrong}});
    CHECK(w[1].mismatch);
    CHECK_FALSE(f.t.store->GetBlobInfo(hash).value());
    w = put({{hash, size, 0, all, hash}});
    CHECK(w[0].completed);
    CHECK(f.t.store->ReadBlob(hash).value() == bytes);
  }
  SECTION("a chunk held already came from elsewhere: the chunks held are hashed") {
    // Chunk 0 stored from another path, with other bytes (a liar's).
    Bytes forged(all.begin(), all.begin() + kBlobChunkBytes);
    forged[7] ^= 0xff;
    CHECK(f.t.store->PutBlobChunks(hash, size, 0, forged).value().bytes_new == kBlobChunkBytes);
    // The honest bytes of the whole blob, with their (right) digest: chunk 0
    // is not new, so the digest does not name what is held. Refused.
    auto w = put({{hash, size, 0, all, hash}});
    CHECK(w[0].mismatch);
    CHECK_FALSE(f.t.store->GetBlobInfo(hash).value());
  }
  SECTION("the same within one call: an earlier piece of the blob that was not all new") {
    Bytes forged(all.begin(), all.begin() + kBlobChunkBytes);
    forged[7] ^= 0xff;
    CHECK(f.t.store->PutBlobChunks(hash, size, 0, forged).value().bytes_new == kBlobChunkBytes);
    auto w = put({{hash, size, 0, all.first(2 * kBlobChunkBytes), std::nullopt},
                  {hash, size, 2, all.subspan(2 * kBlobChunkBytes), hash}});
    CHECK(w[0].bytes_new == kBlobChunkBytes);
    CHECK(w[1].mismatch);  // the last piece was all new, the blob was not
  }
  SECTION("a wrong digest when the store hashes anyway changes nothing") {
    CHECK(f.t.store->PutBlobChunks(hash, size, 0, all.first(kBlobChunkBytes)).value().bytes_new == kBlobChunkBytes);
    auto w = put({{hash, size, 0, all, wrong}});
    CHECK(w[0].completed);
    CHECK(f.t.store->ReadBlob(hash).value() == bytes);
  }
  CHECK(f.t.store->VerifyLog().ok());
}

TEST_CASE("received chunks leave the page cache once synced", "[storage][blobs]") {
  testing::TempDir dir;
  // Can this file system drop a file's pages at all? (tmpfs cannot.)
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  auto resident = [&](const std::string& path, size_t from, size_t length) {
    int fd = ::open(path.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    void* map = ::mmap(nullptr, from + length, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    REQUIRE(map != MAP_FAILED);
    std::vector<unsigned char> in((from + length + page - 1) / page);
    REQUIRE(::mincore(map, from + length, in.data()) == 0);
    ::munmap(map, from + length);
    size_t n = 0;
    for (size_t i = from / page; i < in.size(); ++i) n += in[i] & 1;
    return n;
  };
  {
    std::string probe = dir.path() + "/probe";
    int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT, 0600);
    Bytes bytes(64 * page, 1);
    REQUIRE(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    REQUIRE(::fdatasync(fd) == 0);
    (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
    if (resident(probe, 0, bytes.size()) > 8) {
      WARN("this file system keeps pages after POSIX_FADV_DONTNEED: nothing to check here");
      return;
    }
  }
  crypto::Identity me = testing::IdentityFromNumber(1);
  StoreOptions options;
  options.durable = true;
  options.map_size_bytes = uint64_t{1} << 30;
  auto store = Store::Create(dir.path(), NodeMeta{me.public_key(), "t", "post", 0}, options).value();
  std::string data = dir.path() + "/data.mdb";
  size_t before = static_cast<size_t>(std::filesystem::file_size(data));
  Bytes bytes = Pattern(16 * kBlobChunkBytes, 8);
  Hash256 hash = crypto::Blake2b256(bytes);
  REQUIRE(store->PutBlobChunks(hash, static_cast<uint32_t>(bytes.size()), 0, bytes).value().completed);
  size_t after = static_cast<size_t>(std::filesystem::file_size(data));
  REQUIRE(after >= before + bytes.size());
  // The 4 MiB of chunks are on disk, not in memory (a few pages of the tree may be).
  CHECK(resident(data, before, after - before) < 64);
  CHECK(store->ReadBlob(hash).value() == bytes);
  // A photo added here is not dropped: the officer is about to look at it.
  Bytes local = Pattern(16 * kBlobChunkBytes, 9);
  size_t local_from = static_cast<size_t>(std::filesystem::file_size(data));
  REQUIRE(store->PutBlob(local).ok());
  size_t local_to = static_cast<size_t>(std::filesystem::file_size(data));
  CHECK(resident(data, local_from, local_to - local_from) > (local_to - local_from) / page / 2);
}

TEST_CASE("log verify finds a stored chunk that no longer matches its blob", "[storage][blobs]") {
  Fixture f;
  Bytes bytes = Pattern(kBlobChunkBytes + 10, 5);
  BlobInfo b = f.t.store->PutBlob(bytes).value();
  f.t.store.reset();
  // Flip a byte of the chunk in the data file (its bytes are stored as is).
  std::string path = f.t.dir.path() + "/data.mdb";
  std::FILE* file = std::fopen(path.c_str(), "r+b");
  REQUIRE(file);
  Bytes data;
  std::fseek(file, 0, SEEK_END);
  data.resize(std::ftell(file));
  std::fseek(file, 0, SEEK_SET);
  REQUIRE(std::fread(data.data(), 1, data.size(), file) == data.size());
  Bytes needle(bytes.begin() + 1000, bytes.begin() + 1064);
  auto at = std::search(data.begin(), data.end(), needle.begin(), needle.end());
  REQUIRE(at != data.end());
  std::fseek(file, static_cast<long>(at - data.begin()), SEEK_SET);
  uint8_t flipped = static_cast<uint8_t>(*at ^ 0xff);
  std::fwrite(&flipped, 1, 1, file);
  std::fclose(file);
  StoreOptions options;
  options.durable = false;
  auto store = Store::Open(f.t.dir.path(), options).value();
  auto report = store->VerifyLog();
  REQUIRE(report.status().code() == StatusCode::kCorruption);
  CHECK_THAT(report.status().message(), Catch::Contains(BlobHashText(b.hash)));
}

TEST_CASE("photo records name the blobs a node should hold, previews first, and where they may go",
          "[storage][blobs]") {
  Fixture f;
  RecordId seizure = f.Put(testing::FixedRecordId(1), RecordType::kSeizure, testing::SeizurePayload("x"));
  Bytes image = Pattern(kBlobChunkBytes * 2, 6), preview = Pattern(20000, 7);
  Bytes image2 = Pattern(5000, 8), preview2 = Pattern(900, 9);
  RecordId p1 = f.Put(testing::FixedRecordId(2), RecordType::kPhoto, PhotoPayload(seizure, image, preview, "tank"));
  RecordId p2 = f.Put(testing::FixedRecordId(3), RecordType::kPhoto, PhotoPayload(seizure, image2, preview2, "wall"));
  // The same image on a second photo record: one blob.
  RecordId p3 = f.Put(testing::FixedRecordId(4), RecordType::kPhoto, PhotoPayload(testing::FixedRecordId(9), image, preview, "again"));
  REQUIRE(f.t.store->CatchUpIndexAll().ok());
  CHECK(f.t.store->PhotosOf(seizure).value() == std::vector<RecordId>{p1, p2});
  auto wanted = f.t.store->WantedBlobs(100).value();
  REQUIRE(wanted.size() == 4);
  CHECK(wanted[0].preview);
  CHECK(wanted[1].preview);
  CHECK_FALSE(wanted[2].preview);
  CHECK_FALSE(wanted[3].preview);
  auto totals = f.t.store->BlobStats().value();
  CHECK(totals.missing == 4);
  CHECK(totals.missing_bytes == image.size() + preview.size() + image2.size() + preview2.size());
  f.t.store->PutBlob(image).value();
  f.t.store->PutBlob(preview2).value();
  wanted = f.t.store->WantedBlobs(100).value();
  REQUIRE(wanted.size() == 2);
  CHECK(wanted[0].hash == crypto::Blake2b256(preview));
  CHECK(wanted[1].hash == crypto::Blake2b256(image2));
  auto uses = f.t.store->BlobUses(crypto::Blake2b256(image)).value();
  REQUIRE(uses.size() == 2);
  CHECK(uses[0].scope == Scope::kNational);
  CHECK(uses[0].author == f.me.public_key());
  // A deleted photo no longer refers to anything.
  LocalChange del{p3, RecordType::kPhoto, Op::kDelete, {}};
  REQUIRE(f.t.store->AppendLocal(f.me, {&del, 1}).ok());
  REQUIRE(f.t.store->CatchUpIndexAll().ok());
  CHECK(f.t.store->BlobUses(crypto::Blake2b256(image)).value().size() == 1);
  // An officer's demand comes before everything else.
  Hash256 other = crypto::Blake2b256(Pattern(10, 10));
  REQUIRE(f.t.store->DemandBlob(other, 10).ok());
  wanted = f.t.store->WantedBlobs(100).value();
  REQUIRE(wanted.size() == 3);
  CHECK(wanted[0].hash == other);
  CHECK(wanted[0].demanded);
}

TEST_CASE("a photo record refuses a reference that is not a blob's", "[storage][blobs]") {
  json j = {{"subject", FormatRecordId(testing::FixedRecordId(1))},
            {"image", {{"hash", "ABC"}, {"size", 10}, {"media_type", "image/jpeg"}, {"width", 1}, {"height", 1}}},
            {"preview", Ref(Pattern(10, 1))}};
  CHECK(RecordFromJson(RecordType::kPhoto, j).status().code() == StatusCode::kInvalidArgument);
  j["image"] = Ref(Pattern(10, 1), "application/pdf");
  CHECK(RecordFromJson(RecordType::kPhoto, j).status().code() == StatusCode::kInvalidArgument);
  j["image"] = Ref(Pattern(10, 1));
  j["image"]["size"] = 0;
  CHECK(RecordFromJson(RecordType::kPhoto, j).status().code() == StatusCode::kInvalidArgument);
  j["image"] = Ref(Pattern(10, 1));
  CHECK(RecordFromJson(RecordType::kPhoto, j).ok());
}
