// Photos across real processes (docs/blobs.md): a national photo stays in
// its country unless a release names it; a post's photo backlog reaches its
// hub whole through connections killed mid-transfer, without bytes sent
// twice.
#include <catch2/catch.hpp>

#include <csignal>

#include "crypto/hash.h"
#include "media/sample_photo.h"
#include "tests/support/network_proc.h"

using namespace ncen;
using namespace ncen::testing;
using json = nlohmann::json;

namespace {

std::string WriteBytes(const TempDir& dir, const std::string& name, const Bytes& bytes) {
  std::string path = dir.Sub(name);
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                              static_cast<std::streamsize>(bytes.size()));
  return path;
}

std::string FirstSeizure(const NodeProc& node) {
  json list = json::parse(CtlOk(node.dir, {"--json", "list", "--type", "seizure"}));
  REQUIRE(!list.empty());
  return list[0]["id"];
}

// A window of the stored image's bytes, past its headers: what a search of
// a data file looks for.
std::string Needle(const std::string& stored) { return stored.substr(stored.size() / 2, 64); }

}  // namespace

TEST_CASE("a national photo never reaches the regional hub unless a release names it", "[system][photos]") {
  TwoCountries w;
  TempDir files;
  AddSeizure(w.pk_post, "PK", "photo case");
  std::string seizure = FirstSeizure(w.pk_post);
  std::string kept_file = WriteBytes(files, "kept.jpg", media::SamplePhotoJpeg(800, 600, 11));
  std::string sent_file = WriteBytes(files, "sent.jpg", media::SamplePhotoJpeg(800, 600, 12));
  std::string kept = json::parse(CtlOk(w.pk_post.dir, {"--json", "photo", "add", seizure, kept_file}))["image"];
  std::string sent = json::parse(CtlOk(w.pk_post.dir, {"--json", "photo", "add", seizure, sent_file}))["image"];
  w.Start();

  // The national hub holds both photos; the regional hub and the other
  // country's hub neither.
  CHECK(Trim(CtlOk(w.pk_hub.dir, {"photo", "get", kept, "--out", files.Sub("hub-kept.jpg")})).empty());
  std::string kept_bytes = ReadWholeFile(files.Sub("hub-kept.jpg"));
  REQUIRE(kept_bytes.size() > 1000);
  for (NodeProc* n : {&w.regional, &w.af_hub, &w.af_post}) {
    INFO(n->name);
    CHECK_FALSE(FileHolds(n->dir + "/store/data.mdb", Needle(kept_bytes)));
    auto r = Ctl(n->dir, {"photo", "get", kept, "--out", files.Sub("x.jpg")});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("not this node's to have") != std::string::npos);
  }

  // The hub releases the seizure naming one photo: that one, and only that
  // one, reaches the regional hub and the other country's hub.
  CtlOk(w.pk_hub.dir, {"release", seizure, "--to", "regional", "--photo", sent});
  WaitUntil([&] { return Ctl(w.regional.dir, {"photo", "get", sent, "--out", files.Sub("r.jpg")}).exit_code == 0; },
            "the released photo at the regional hub", 90);
  WaitUntil([&] { return Ctl(w.af_hub.dir, {"photo", "get", sent, "--out", files.Sub("a.jpg")}).exit_code == 0; },
            "the released photo at the other country's hub", 90);
  for (NodeProc* n : w.all()) WaitSynced(*n, 90);
  std::string sent_bytes = ReadWholeFile(files.Sub("r.jpg"));
  CHECK(ToHex(crypto::Blake2b256(AsBytes(sent_bytes))) == sent);
  for (NodeProc* n : {&w.regional, &w.af_hub}) {
    INFO(n->name);
    CHECK(FileHolds(n->dir + "/store/data.mdb", Needle(sent_bytes)));
    CHECK_FALSE(FileHolds(n->dir + "/store/data.mdb", Needle(kept_bytes)));
  }
  CHECK(Ctl(w.regional.dir, {"photo", "get", sent, "--preview", "--out", files.Sub("p.jpg")}).exit_code == 0);
  // A post holds no regional feed: the released photo is not its to have.
  CHECK_FALSE(FileHolds(w.af_post.dir + "/store/data.mdb", Needle(sent_bytes)));
  for (NodeProc* n : w.all()) CtlOk(n->dir, {"log", "verify"});
}

TEST_CASE("a post's photo backlog reaches its hub whole through killed connections, nothing sent twice",
          "[system][photos]") {
  TempDir nodes, files;
  NodeProc hub{nodes, "hub", "hub", true}, post{nodes, "post", "post", false};
  post.Import(1000);
  std::string seizure = FirstSeizure(post);
  // About 200 MB of photos: 80 of ~2.5 MB.
  uint64_t total = 0;
  for (int i = 0; i < 80; ++i) {
    std::string f = WriteBytes(files, "p" + std::to_string(i) + ".jpg", media::SamplePhotoJpeg(2000, 1500, 100 + i, 95));
    json added = json::parse(CtlOk(post.dir, {"--json", "photo", "add", seizure, f}));
    total += added["image_size"].get<uint64_t>() + added["preview_size"].get<uint64_t>();
  }
  REQUIRE(total > 150'000'000);
  std::string address = hub.Start();
  AddPeer(hub, post);
  hub.daemon.Signal(SIGHUP);
  AddPeer(post, hub, address);

  // The post runs and is killed again and again while photos travel: each
  // time as soon as more photo bytes reached the hub.
  auto held = [&] {
    json blobs = json::parse(CtlOk(hub.dir, {"--json", "blobs"}));
    return blobs["held"]["bytes"].get<uint64_t>() + blobs["partial"]["bytes_held"].get<uint64_t>();
  };
  uint64_t last = 0;
  int kills = 0;
  for (int round = 0; round < 20 && kills < 5; ++round) {
    post.Start();
    uint64_t now = last;
    for (int i = 0; i < 500 && now <= last + 5'000'000 && now < total; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      now = held();
    }
    post.daemon.Stop(SIGKILL);
    now = held();
    if (now > last && now < total) ++kills;
    last = now;
  }
  CHECK(kills >= 3);  // killed mid-transfer, with bytes arriving in between
  post.Start();
  WaitUntil([&] { return json::parse(CtlOk(hub.dir, {"--json", "blobs"}))["held"]["bytes"] == total; },
            "every photo at the hub", 120);
  WaitSynced(hub, 60);
  json blobs = json::parse(CtlOk(hub.dir, {"--json", "blobs"}));
  CHECK(blobs["missing"]["blobs"] == 0);
  CHECK(blobs["partial"]["blobs"] == 0);
  CHECK(CtlOk(hub.dir, {"log", "verify"}).find("160 blobs") != std::string::npos);
  // Bytes the post sent over all its connections: within 5 % of the blobs
  // (the hub counts what it received from the post, kills included).
  json status = json::parse(CtlOk(hub.dir, {"--json", "status"}));
  uint64_t bytes_in = status["peers"][0]["bytes_in"];
  INFO("bytes in " << bytes_in << " for " << total << " bytes of photos");
  CHECK(bytes_in < total * 105 / 100 + 2'000'000);  // + the 1,000 seizures' entries
}
