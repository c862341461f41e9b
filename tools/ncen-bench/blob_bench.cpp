// ncen-bench blobs: photos (docs/blobs.md), as a user feels them.
//
//   add         `Photos::Add` of a ~5 MB camera JPEG: whole decode check,
//               metadata stripped, preview made, both blobs and the record
//               stored (a durable store). Median and worst of --adds files;
//               also a rotated one (re-encoded).
//   throughput  a hub holding --mib MiB of photos (2.5 MB images with 20 kB
//               previews, incompressible bytes) and a post running
//               `ncen-node --once` that fetches them all over the encrypted
//               loopback channel; compared with `ncen-bench channel`'s bulk
//               rate measured in the same run, and with what the disk
//               takes: 512 MiB of incompressible bytes written to a file in
//               the same directory and fsynced (what any durable copy of the
//               photos costs at least). Anonymous RSS of both processes is
//               sampled every 10 ms.
//   latency     a post holding --backlog-mib MiB of photos that its hub is
//               fetching; while they flow, seizures are written at the post
//               and the time until each is at the hub is measured.
#include "tools/ncen-bench/blob_bench.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/check.h"
#include "media/sample_photo.h"
#include "node/config.h"
#include "node/node_dir.h"
#include "node/photos.h"
#include "storage/record_json.h"
#include "tools/ncen-bench/channel_bench.h"
#include "tools/ncen-bench/proc.h"
#include "tools/ncen-bench/temp_store.h"

namespace ncen::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using json = nlohmann::ordered_json;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

Bytes Noise(size_t n, uint64_t seed) {
  Bytes b(n);
  uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  for (size_t i = 0; i + 8 <= n; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    PutU64BE(b.data() + i, x);
  }
  return b;
}

storage::RecordId AddSeizure(storage::Store& store, const crypto::Identity& me, const std::string& marker) {
  json j = {{"date", "2026-11-02"}, {"country", "PK"}, {"office", "PKTKM"},
            {"goods", {{{"category", "drugs"}, {"subtype", "heroin"}, {"quantity", 1.5}, {"unit", "kg"}}}},
            {"narrative", marker}};
  storage::LocalChange c{storage::NewRecordId(store.NowMs()), storage::RecordType::kSeizure, storage::Op::kPut,
                         storage::RecordFromJson(storage::RecordType::kSeizure, j).value()};
  NCEN_CHECK(store.AppendLocal(me, {&c, 1}).ok());
  return c.id;
}

json Ref(const storage::BlobInfo& b, uint32_t w, uint32_t h) {
  return {{"hash", storage::BlobHashText(b.hash)}, {"size", b.size}, {"media_type", "image/jpeg"},
          {"width", w}, {"height", h}};
}

// Fills the node in `dir` with photos of one seizure: `mib` MiB of 2.5 MB
// images, each with a 20 kB preview. Returns the bytes of blobs.
uint64_t FillPhotos(const std::string& dir, uint64_t mib, uint64_t seed) {
  auto node = node::OpenNodeDir(dir).value();
  storage::RecordId seizure = AddSeizure(*node.store, node.identity, "photos");
  const uint64_t target = mib << 20;
  uint64_t bytes = 0;
  std::vector<storage::LocalChange> changes;
  for (uint64_t i = 0; bytes < target; ++i) {
    auto image = node.store->PutBlob(Noise(2'500'000, seed + 2 * i)).value();
    auto preview = node.store->PutBlob(Noise(20'000, seed + 2 * i + 1)).value();
    bytes += image.size + preview.size;
    json body = {{"subject", storage::FormatRecordId(seizure)},
                 {"image", Ref(image, 2048, 1536)},
                 {"preview", Ref(preview, 320, 240)}};
    changes.push_back({storage::NewRecordId(node.store->NowMs()), storage::RecordType::kPhoto, storage::Op::kPut,
                       storage::RecordFromJson(storage::RecordType::kPhoto, body).value()});
    if (changes.size() == 100) {
      NCEN_CHECK(node.store->AppendLocal(node.identity, changes).ok());
      changes.clear();
    }
  }
  if (!changes.empty()) NCEN_CHECK(node.store->AppendLocal(node.identity, changes).ok());
  NCEN_CHECK(node.store->CatchUpIndexAll().ok());
  return bytes;
}

struct Pair {
  std::string root, source, sink;
  pid_t source_pid = -1, sink_pid = -1;
  Pair() {
    std::string tmpl = (fs::temp_directory_path() / "ncen-bench-blobs-XXXXXX").string();
    NCEN_CHECK(::mkdtemp(tmpl.data()));
    root = tmpl;
    source = root + "/source";
    sink = root + "/sink";
    storage::StoreOptions fast;
    fast.durable = false;
    node::NodeConfig sc;
    sc.listen = "127.0.0.1:0";
    auto s = node::InitNode(source, "source", "hub", fast, sc);
    NCEN_CHECK(s.ok());
    auto k = node::InitNode(sink, "sink", "post", fast, {});
    NCEN_CHECK(k.ok());
    sc.peers.push_back({"sink", k->identity.public_key(), "", node::AllScopes()});
    NCEN_CHECK(node::SaveConfig(source, sc).ok());
  }
  ~Pair() {
    for (pid_t* p : {&sink_pid, &source_pid}) {
      if (*p > 0) {
        ::kill(*p, SIGTERM);
        ::waitpid(*p, nullptr, 0);
      }
    }
    if (std::getenv("NCEN_BENCH_KEEP")) {
      std::fprintf(stderr, "ncen-bench: kept %s (NCEN_BENCH_KEEP)\n", root.c_str());
      return;
    }
    fs::remove_all(root);
  }
  void StartSource() {
    fs::remove(source + "/ncen-node.address");
    source_pid = Spawn({NodeBinary(), "--data", source}, root + "/source.log");
    std::string address;
    for (int i = 0; i < 1000 && address.empty(); ++i) {
      std::ifstream in(source + "/ncen-node.address");
      std::getline(in, address);
      if (address.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    NCEN_CHECK(!address.empty());
    auto config = node::LoadConfig(sink).value();
    auto source_id = node::OpenNodeDir(source).value().identity.public_key();
    config.peers = {{"source", source_id, address, node::AllScopes()}};
    NCEN_CHECK(node::SaveConfig(sink, config).ok());
  }
};

struct AddResult {
  double median_ms = 0, worst_ms = 0, rotated_ms = 0, file_mb = 0;
};

AddResult AddBench(int adds) {
  AddResult r;
  std::vector<Bytes> files;
  for (int i = 0; i < adds; ++i) files.push_back(media::SamplePhotoJpeg(3264, 2448, 500 + i, 92));
  Bytes rotated = media::WithCameraExif(media::SamplePhotoJpeg(3264, 2448, 999, 92), 6);
  for (const Bytes& f : files) r.file_mb += static_cast<double>(f.size()) / 1e6 / adds;
  TempStore t(/*durable=*/true);
  storage::RecordId seizure = AddSeizure(*t.store, t.identity, "add");
  node::Photos photos(*t.store, t.identity);
  std::vector<double> times;
  for (const Bytes& f : files) {
    auto start = Clock::now();
    NCEN_CHECK(photos.Add(seizure, f, {}).ok());
    times.push_back(Ms(Clock::now() - start));
  }
  r.median_ms = Median(times);
  r.worst_ms = *std::max_element(times.begin(), times.end());
  auto start = Clock::now();
  NCEN_CHECK(photos.Add(seizure, rotated, {}).ok());
  r.rotated_ms = Ms(Clock::now() - start);
  return r;
}

// MB/s of incompressible bytes (made before the clock starts, no two blocks
// alike) written to a new file in `dir`, 1 MiB at a time, and fsynced.
double DiskWriteMBps(const std::string& dir, uint64_t mib) {
  Bytes bytes = Noise(static_cast<size_t>(mib) << 20, 77);
  std::string path = dir + "/disk-probe";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  NCEN_CHECK(fd >= 0);
  auto start = Clock::now();
  for (uint64_t i = 0; i < mib; ++i) {
    NCEN_CHECK(::write(fd, bytes.data() + (i << 20), 1 << 20) == (1 << 20));
  }
  NCEN_CHECK(::fsync(fd) == 0);
  double seconds = Ms(Clock::now() - start) / 1000;
  ::close(fd);
  fs::remove(path);
  return static_cast<double>(mib << 20) / 1e6 / seconds;
}

struct ThroughputResult {
  uint64_t bytes = 0;
  double seconds = 0, mb_per_s = 0, channel_mb_per_s = 0, disk_mb_per_s = 0;
  double sink_anon_mib = 0, source_anon_mib = 0;
};

ThroughputResult ThroughputBench(uint64_t mib) {
  ThroughputResult r;
  r.channel_mb_per_s = ChannelBulkMBps(1024);
  Pair pair;
  r.disk_mb_per_s = DiskWriteMBps(pair.root, 512);
  r.bytes = FillPhotos(pair.source, mib, 1);
  // The source was filled without syncing: its gigabyte goes to disk now,
  // not while the transfer is timed.
  ::sync();
  pair.StartSource();
  ProcStats sink, source;
  auto start = Clock::now();
  pid_t pid = Spawn({NodeBinary(), "--data", pair.sink, "--once", "--timeout", "900"}, pair.root + "/sink.log");
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    SampleProc(pid, sink);
    SampleProc(pair.source_pid, source);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  r.seconds = Ms(Clock::now() - start) / 1000;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "ncen-bench: the sink failed:\n%s", ReadAll(pair.root + "/sink.log").c_str());
    std::exit(1);
  }
  auto node = node::OpenNodeDir(pair.sink).value();
  auto totals = node.store->BlobStats().value();
  NCEN_CHECK(totals.bytes == r.bytes && totals.missing == 0);
  r.mb_per_s = static_cast<double>(r.bytes) / 1e6 / r.seconds;
  r.sink_anon_mib = sink.anon_rss_mib;
  r.source_anon_mib = source.anon_rss_mib;
  return r;
}

struct LatencyResult {
  std::vector<double> ms;
  uint64_t backlog = 0;
  double held_first = 0, held_last = 0;  // fraction of the backlog at the hub at the first and last write
};

LatencyResult LatencyBench(uint64_t backlog_mib) {
  LatencyResult r;
  Pair pair;  // the source is the post with the backlog; the sink is its hub, fetching
  r.backlog = FillPhotos(pair.source, backlog_mib, 7);
  pair.StartSource();
  pair.sink_pid = Spawn({NodeBinary(), "--data", pair.sink}, pair.root + "/sink.log");
  auto post = node::OpenNodeDir(pair.source).value();
  storage::StoreOptions options;
  auto hub = storage::Store::Open(pair.sink + "/store", options);
  for (int i = 0; i < 400 && !hub.ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    hub = storage::Store::Open(pair.sink + "/store", options);
  }
  NCEN_CHECK(hub.ok());
  auto held = [&] {
    auto t = (*hub)->BlobStats().value();
    return static_cast<double>(t.bytes + t.partial_bytes_held) / static_cast<double>(r.backlog);
  };
  // Wait until photos flow, then write a seizure every 300 ms while they do.
  for (int i = 0; i < 3000 && held() < 0.05; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  for (int n = 0; n < 10; ++n) {
    double before = held();
    if (before >= 0.9) break;
    if (n == 0) r.held_first = before;
    r.held_last = before;
    storage::RecordId id = AddSeizure(*post.store, post.identity, "during the backlog " + std::to_string(n));
    auto start = Clock::now();
    while (!(*hub)->GetRecord(id).ok()) {
      NCEN_CHECK(Clock::now() - start < std::chrono::seconds(30));
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    r.ms.push_back(Ms(Clock::now() - start));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  NCEN_CHECK(!r.ms.empty());
  return r;
}

}  // namespace

int BlobBench(const BlobBenchArgs& args) {
  AddResult add = AddBench(args.adds);
  ThroughputResult tp = ThroughputBench(args.mib);
  LatencyResult lat = LatencyBench(args.backlog_mib);
  double worst = *std::max_element(lat.ms.begin(), lat.ms.end());
  if (args.json) {
    json out = {{"add_file_mb", add.file_mb}, {"add_median_ms", add.median_ms}, {"add_worst_ms", add.worst_ms},
                {"add_rotated_ms", add.rotated_ms}, {"replicated_bytes", tp.bytes}, {"replicate_s", tp.seconds},
                {"replicate_mb_per_s", tp.mb_per_s}, {"channel_mb_per_s", tp.channel_mb_per_s}, {"disk_mb_per_s", tp.disk_mb_per_s},
                {"sink_anon_rss_mib", tp.sink_anon_mib}, {"source_anon_rss_mib", tp.source_anon_mib},
                {"backlog_bytes", lat.backlog}, {"seizure_latency_ms", lat.ms}, {"seizure_latency_worst_ms", worst}};
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("photos (docs/blobs.md)\n");
  std::printf("  add a %.1f MB JPEG           %8.1f ms median, %.1f ms worst of %d (decode, strip, preview, store)\n",
              add.file_mb, add.median_ms, add.worst_ms, args.adds);
  std::printf("  add a rotated one            %8.1f ms (re-encoded upright)\n", add.rotated_ms);
  std::printf("  replicate %.0f MB of photos  %8.1f s = %.0f MB/s; channel bulk %.0f MB/s in the same run (%.0f %%)\n",
              static_cast<double>(tp.bytes) / 1e6, tp.seconds, tp.mb_per_s, tp.channel_mb_per_s,
              100 * tp.mb_per_s / tp.channel_mb_per_s);
  std::printf("  the disk takes                %8.0f MB/s (512 MiB of incompressible bytes, fsynced): the transfer "
              "ran at %.0f %% of it\n",
              tp.disk_mb_per_s, 100 * tp.mb_per_s / tp.disk_mb_per_s);
  std::printf("  anonymous RSS                %8.1f MiB fetching, %.1f MiB serving (peak)\n", tp.sink_anon_mib,
              tp.source_anon_mib);
  std::printf("  a seizure during a %.0f MB backlog reaches the hub in %.0f ms median, %.0f ms worst (%zu writes, "
              "%.0f%%..%.0f%% of the photos there)\n",
              static_cast<double>(lat.backlog) / 1e6, Median(lat.ms), worst, lat.ms.size(), 100 * lat.held_first,
              100 * lat.held_last);
  return 0;
}

}  // namespace ncen::bench
