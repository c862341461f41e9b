// ncen-bench sync-*: replication between two real ncen-node processes over
// the encrypted loopback channel, the way a user feels it.
//
// A "source" node is filled with N realistic seizures written by 100 authoring
// offices (100 feeds, signed with their own keys) and runs `ncen-node`
// listening on a free loopback port. A "sink" node runs
// `ncen-node --once`: it dials the source, handshakes, syncs both ways and
// exits as soon as both are in sync. wall_ms is the sink's own measure from
// process start to in sync (LMDB open, connect, handshake, hellos, transfer,
// apply, acks). Resident memory of both processes is sampled from /proc
// every 10 ms. Wire bytes are the sink's TCP bytes in + out for the run.
//
//   sync-cold N       the sink starts empty
//   sync-noop N       both already hold the same N entries
//   sync-incr N M     M new entries at the source on top of N shared
//   conflicts N K     K shared records edited on both sides while apart
#include "tools/ncen-bench/sync_bench.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "base/check.h"
#include "base/rng.h"
#include "node/config.h"
#include "node/bundles.h"
#include "node/daemon.h"
#include "node/node_dir.h"
#include "storage/membership.h"
#include "storage/peer_status.h"
#include "storage/record_json.h"
#include "tools/common/seizure_gen.h"
#include "tools/ncen-bench/proc.h"

namespace ncen::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kAuthors = 100;


crypto::Identity Author(int i) {
  std::array<uint8_t, 32> seed{};
  seed[0] = static_cast<uint8_t>(i);
  seed[1] = 0xbe;
  return crypto::Identity::FromSeed(seed);
}

// Appends `count` entries to the 100 author feeds held in `store`, continuing
// each chain; signs on two threads. Returns header + payload bytes written.
uint64_t AddAuthoredEntries(storage::Store& store, uint64_t count, uint64_t first_index) {
  static std::vector<crypto::Identity> authors = [] {
    std::vector<crypto::Identity> out;
    for (int i = 0; i < kAuthors; ++i) out.push_back(Author(i));
    return out;
  }();
  // Current heads.
  std::vector<uint64_t> seq(kAuthors, 0);
  std::vector<crypto::Hash256> prev(kAuthors);
  auto frontier = store.Frontier().value();
  for (int a = 0; a < kAuthors; ++a) {
    for (auto& h : frontier) {
      if (h.feed.author == authors[a].public_key() && h.feed.scope == storage::Scope::kNational) {
        seq[a] = h.seq;
        prev[a] = h.head;
      }
    }
  }
  uint64_t bytes = 0;
  const uint64_t chunk = 20000;
  for (uint64_t done = 0; done < count; done += chunk) {
    uint64_t n = std::min(chunk, count - done);
    // Entry i of the chunk belongs to author (first_index + done + i) % 100.
    std::vector<storage::EntryHeader> headers(n);
    std::vector<Bytes> payloads(n);
    int64_t now = storage::UnixMillisNow();
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t index = first_index + done + i;
      Rng rng(index * 7919 + 1);
      auto payload = storage::RecordFromJson(storage::RecordType::kSeizure, tools::GenerateSeizure(rng, index));
      NCEN_CHECK(payload.ok());
      payloads[i] = std::move(payload).value();
      auto& h = headers[i];
      int a = static_cast<int>(index % kAuthors);
      h.author = authors[a].public_key();
      h.scope = storage::Scope::kNational;
      h.seq = ++seq[a];
      h.timestamp_ms = now;
      h.record_id = storage::NewRecordId(now);
      h.record_type = storage::RecordType::kSeizure;
      h.op = storage::Op::kPut;
    }
    // prev links need the previous signature, so each author's chain is
    // signed in order; authors split across two threads.
    std::vector<storage::Entry> entries(n);
    auto sign = [&](int parity) {
      std::vector<crypto::Hash256> last = prev;
      for (uint64_t i = 0; i < n; ++i) {
        int a = static_cast<int>((first_index + done + i) % kAuthors);
        if (a % 2 != parity) continue;
        headers[i].prev = headers[i].seq == 1 ? crypto::Hash256{} : last[a];
        entries[i] = storage::MakeEntry(headers[i], payloads[i], authors[a]);
        last[a] = entries[i].hash();
      }
      for (int a = parity; a < kAuthors; a += 2) prev[a] = last[a];
    };
    std::thread other(sign, 1);
    sign(0);
    other.join();
    // ApplyBatch wants each feed's entries contiguous: order by author.
    std::stable_sort(entries.begin(), entries.end(), [](const storage::Entry& x, const storage::Entry& y) {
      return x.header.author < y.header.author;
    });
    for (auto& e : entries) bytes += e.header_bytes.size() + e.payload.size();
    auto report = store.ApplyBatch(entries, "bench");
    NCEN_CHECK(report.status.ok());
  }
  return bytes;
}

// A network of `members` certified nodes that makes the source, the sink
// and the 100 authors members: the root certifies one country authority,
// which certifies the source (national hub), the sink and the authors
// (posts) and as many more posts as make `members` nodes.
struct BenchNetwork {
  crypto::Identity root = Author(250), authority = Author(251);
  std::vector<storage::Entry> entries;

  BenchNetwork(uint64_t members, const crypto::PublicKey& source, const crypto::PublicKey& sink) {
    using storage::Certificate;
    using storage::MemberKind;
    Certificate a{MemberKind::kCountryAuthority, authority.public_key(), "PK", "Customs PK", {}, std::nullopt};
    Append(root, storage::RecordType::kCertificate, storage::EncodeCertificate(a), {});
    storage::Dot grant = entries.back().header.dot();
    std::vector<std::pair<crypto::PublicKey, MemberKind>> nodes = {{source, MemberKind::kNationalHub},
                                                                   {sink, MemberKind::kPost}};
    for (int i = 0; i < kAuthors; ++i) nodes.push_back({Author(i).public_key(), MemberKind::kPost});
    for (uint64_t i = 0; nodes.size() < members; ++i) {
      std::array<uint8_t, 32> seed{};
      PutU64BE(seed.data(), i);
      seed[31] = 0x77;
      nodes.push_back({crypto::Identity::FromSeed(seed).public_key(), MemberKind::kPost});
    }
    for (size_t i = 0; i < nodes.size(); ++i) {
      Certificate c{nodes[i].second, nodes[i].first, "PK", "office " + std::to_string(i), {}, std::nullopt};
      Append(authority, storage::RecordType::kCertificate, storage::EncodeCertificate(c), {grant});
    }
  }

  void Append(const crypto::Identity& author, storage::RecordType type, Bytes payload,
              std::vector<storage::Dot> context) {
    storage::EntryHeader h;
    h.format_version = storage::kNetworkEntryFormatVersion;
    h.author = author.public_key();
    h.scope = storage::Scope::kNetwork;
    h.seq = 1;
    for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
      if (it->header.author == h.author) {
        h.seq = it->header.seq + 1;
        h.prev = it->hash();
        break;
      }
    }
    h.timestamp_ms = storage::UnixMillisNow();
    h.record_id = storage::NewRecordId(h.timestamp_ms);
    h.record_type = type;
    h.context.dots = std::move(context);
    entries.push_back(storage::MakeEntry(h, std::move(payload), author));
  }

  // Makes the store in `dir` a member.
  void Join(const std::string& dir) const {
    auto node = node::OpenNodeDir(dir);
    NCEN_CHECK(node.ok());
    NCEN_CHECK(node->store->SetNetworkRoot(root.public_key()).ok());
    auto report = node->store->ApplyBatch(entries, "bench");
    NCEN_CHECK(report.status.ok() && report.refused.empty());
  }
};

struct Bench {
  std::string root, source_dir, sink_dir;
  pid_t source_pid = -1;
  ProcStats source_stats;
  uint64_t entry_bytes = 0;  // header + payload bytes filled at the source
  uint64_t entries = 0;

  struct CopyTag {};
  explicit Bench(CopyTag) {
    std::string tmpl = (fs::temp_directory_path() / "ncen-bench-sync-XXXXXX").string();
    NCEN_CHECK(::mkdtemp(tmpl.data()));
    root = tmpl;
    source_dir = root + "/source";
    sink_dir = root + "/sink";
  }
  Bench() : Bench(CopyTag{}) {
    storage::StoreOptions fast;
    fast.durable = false;
    node::NodeConfig source_config;
    source_config.listen = "127.0.0.1:0";
    source_config.network_id = "bench";
    auto source = node::InitNode(source_dir, "source", "hub", fast, source_config);
    NCEN_CHECK(source.ok());
    node::NodeConfig sink_config;
    sink_config.network_id = "bench";
    auto sink = node::InitNode(sink_dir, "sink", "post", fast, sink_config);
    NCEN_CHECK(sink.ok());
    source_config.peers.push_back({"sink", sink->identity.public_key(), "", node::AllScopes()});
    NCEN_CHECK(node::SaveConfig(source_dir, source_config).ok());
  }
  ~Bench() {
    StopSource();
    if (std::getenv("NCEN_BENCH_KEEP")) {
      std::fprintf(stderr, "ncen-bench: kept %s (NCEN_BENCH_KEEP)\n", root.c_str());
      return;
    }
    fs::remove_all(root);
  }

  void Fill(uint64_t n) {
    auto node = node::OpenNodeDir(source_dir);
    NCEN_CHECK(node.ok());
    entry_bytes += AddAuthoredEntries(*node->store, n, entries);
    entries += n;
    // A node that has been running has indexed what it holds (ncen-node does
    // it when idle); do it here, untimed, so no index slice of the source
    // daemon lands inside a measured sync.
    NCEN_CHECK(node->store->CatchUpIndexAll().ok());
  }

  void StartSource() {
    fs::remove(source_dir + "/ncen-node.address");
    source_pid = Spawn({NodeBinary(), "--data", source_dir}, root + "/source.log");
    std::string address;
    for (int i = 0; i < 1000 && address.empty(); ++i) {
      std::ifstream in(source_dir + "/ncen-node.address");
      std::getline(in, address);
      if (address.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    NCEN_CHECK(!address.empty());
    auto sink_config = node::LoadConfig(sink_dir).value();
    sink_config.peers.clear();
    auto source_id = node::OpenNodeDir(source_dir).value().identity.public_key();
    sink_config.peers.push_back({"source", source_id, address, node::AllScopes()});
    NCEN_CHECK(node::SaveConfig(sink_dir, sink_config).ok());
  }

  void StopSource() {
    if (source_pid <= 0) return;
    ::kill(source_pid, SIGTERM);
    int status = 0;
    ::waitpid(source_pid, &status, 0);
    source_pid = -1;
  }

  uint64_t SinkWireBytes() {
    auto node = node::OpenNodeDir(sink_dir);
    NCEN_CHECK(node.ok());
    auto rows = storage::PeerLedger(*node->store).All().value();
    uint64_t total = 0;
    for (auto& r : rows) total += r.bytes_in + r.bytes_out;
    return total;
  }

  struct Run {
    double wall_ms = 0;      // the sink's start-to-in-sync
    double process_ms = 0;   // spawn to exit, seen from here
    uint64_t wire_bytes = 0;
    ProcStats sink;
  };

  // Runs the sink with --once; source_stats accumulates the source's memory.
  Run SyncOnce() {
    Run run;
    uint64_t wire_before = SinkWireBytes();
    std::string log_path = root + "/sink.log";
    size_t log_size = ReadAll(log_path).size();
    auto start = Clock::now();
    pid_t pid = Spawn({NodeBinary(), "--data", sink_dir, "--once", "--timeout", "900"}, log_path);
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      SampleProc(pid, run.sink);
      SampleProc(source_pid, source_stats);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    run.process_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    std::string log = ReadAll(log_path).substr(log_size);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "ncen-bench: the sink failed; its log:\n%s", log.c_str());
      StopSource();
      fs::remove_all(root);
      std::exit(1);
    }
    auto at = log.find("in sync with every peer ");
    NCEN_CHECK(at != std::string::npos);
    run.wall_ms = std::strtod(log.c_str() + at + 24, nullptr);
    run.wire_bytes = SinkWireBytes() - wire_before;
    return run;
  }

  // Keeps the sink as it is now (empty, configured) so that each cold run
  // can start from the same state.
  void SaveEmptySink() {
    fs::copy(sink_dir, sink_dir + "-empty", fs::copy_options::recursive);
  }
  void RestoreEmptySink() {
    fs::remove_all(sink_dir);
    fs::copy(sink_dir + "-empty", sink_dir, fs::copy_options::recursive);
  }

  // --members: a copy of `other` (its source stopped) whose source and sink
  // are members of a network of `members` certified nodes.
  Bench(const Bench& other, uint64_t members) : Bench(CopyTag{}) {
    fs::copy(other.source_dir, source_dir, fs::copy_options::recursive);
    fs::copy(other.sink_dir, sink_dir, fs::copy_options::recursive);
    entries = other.entries;
    entry_bytes = other.entry_bytes;
    auto source_id = node::OpenNodeDir(source_dir).value().identity.public_key();
    auto sink_id = node::OpenNodeDir(sink_dir).value().identity.public_key();
    BenchNetwork network(members, source_id, sink_id);
    network.Join(source_dir);
    network.Join(sink_dir);
  }

  uint64_t SinkEntries() {
    auto node = node::OpenNodeDir(sink_dir);
    return node->store->Stats().value().entries;
  }
};

// Edits `k` shared records on both nodes with their own identities.
void EditOnBothSides(Bench& bench, uint64_t k) {
  auto source = node::OpenNodeDir(bench.source_dir).value();
  auto items = source.store->List(storage::RecordType::kSeizure, k).value();
  NCEN_CHECK(items.size() == k);
  for (const char* dir : {"source", "sink"}) {
    auto node = node::OpenNodeDir(bench.root + "/" + dir).value();
    std::vector<storage::LocalChange> changes;
    Rng rng(dir[1]);
    for (size_t i = 0; i < items.size(); ++i) {
      storage::LocalChange c;
      c.id = items[i].id;
      c.payload = storage::RecordFromJson(storage::RecordType::kSeizure,
                                          tools::GenerateSeizure(rng, 900000000 + i))
                      .value();
      changes.push_back(std::move(c));
    }
    NCEN_CHECK(node.store->AppendLocal(node.identity, changes).ok());
  }
}

Bench::Run Median(std::vector<Bench::Run> runs) {
  std::sort(runs.begin(), runs.end(), [](const Bench::Run& a, const Bench::Run& b) { return a.wall_ms < b.wall_ms; });
  return runs[runs.size() / 2];
}

// --members: the step on stores of no network and on members of a network,
// alternating run by run (the disk's speed drifts), and the difference.
int CompareMembership(const SyncBenchArgs& args) {
  Bench bench;
  bench.Fill(args.n);
  Bench networked(bench, args.members);
  // Both sources run throughout (neither one's start lands in the other's run).
  for (Bench* b : {&bench, &networked}) {
    b->StartSource();
    if (args.mode == "sync-cold") {
      b->SaveEmptySink();
    } else {
      b->SyncOnce();  // make them equal (not measured)
    }
  }
  std::vector<Bench::Run> plain, member;
  for (int r = 0; r < args.runs; ++r) {
    for (bool network : {r % 2 == 1, r % 2 == 0}) {
      Bench& b = network ? networked : bench;
      if (args.mode == "sync-cold") b.RestoreEmptySink();
      (network ? member : plain).push_back(b.SyncOnce());
    }
  }
  networked.StopSource();
  uint64_t sink_entries = bench.SinkEntries();
  bench.StopSource();
  Bench::Run p = Median(plain), m = Median(member);
  double overhead = (m.wall_ms - p.wall_ms) / p.wall_ms * 100.0;
  auto walls = [](const std::vector<Bench::Run>& runs) {
    std::vector<double> out;
    for (const auto& r : runs) out.push_back(r.wall_ms);
    return out;
  };
  if (args.json) {
    nlohmann::ordered_json out;
    out["benchmark"] = args.mode;
    out["n"] = args.n;
    out["members"] = args.members;
    out["runs"] = args.runs;
    out["no_network_wall_ms"] = p.wall_ms;
    out["network_wall_ms"] = m.wall_ms;
    out["no_network_wall_ms_runs"] = walls(plain);
    out["network_wall_ms_runs"] = walls(member);
    out["overhead_percent"] = overhead;
    out["sink_entries"] = sink_entries;
    std::cout << out.dump() << "\n";
    return 0;
  }
  std::printf("%s: N=%llu, 100 feeds; stores of no network vs members of a network of %llu certified nodes\n",
              args.mode.c_str(), static_cast<unsigned long long>(args.n), static_cast<unsigned long long>(args.members));
  auto line = [&](const char* what, const Bench::Run& median, const std::vector<Bench::Run>& runs) {
    std::printf("  %-22s %10.1f ms (median of %d; runs", what, median.wall_ms, args.runs);
    for (const auto& r : runs) std::printf(" %.1f", r.wall_ms);
    std::printf(")");
    if (args.mode == "sync-cold") std::printf(", %.0f entries/s", static_cast<double>(args.n) / (median.wall_ms / 1000.0));
    std::printf("\n");
  };
  line("no network", p, plain);
  line("network, certificates", m, member);
  std::printf("  membership checks cost %+.1f %%\n", overhead);
  return 0;
}

}  // namespace

// ncen-bench bundle N: the source writes a bundle of N entries for the
// sink (`bundle create`), the sink imports it (`bundle import`, one durable
// commit), in this process, as ncenctl does. Size is compared with the
// entries' header + payload bytes (the "raw" of docs/performance.md).
int BundleBench(uint64_t n, bool json) {
  Bench bench;
  bench.Fill(n);
  {
    auto config = node::LoadConfig(bench.sink_dir).value();
    auto source_id = node::OpenNodeDir(bench.source_dir).value().identity.public_key();
    config.peers.push_back({"source", source_id, "", node::AllScopes()});
    NCEN_CHECK(node::SaveConfig(bench.sink_dir, config).ok());
  }
  const std::string out = bench.root + "/bundle.ncb";
  auto t0 = Clock::now();
  auto source = node::OpenNodeDir(bench.source_dir);
  NCEN_CHECK(source.ok());
  node::BundleCreateOptions o;
  o.peer = "sink";
  o.out = out;
  auto written = node::CreateBundle(bench.source_dir, source.value(), o);
  if (!written.ok()) {
    std::fprintf(stderr, "ncen-bench: bundle create: %s\n", written.status().ToString().c_str());
    return 2;
  }
  auto t1 = Clock::now();
  auto sink = node::OpenNodeDir(bench.sink_dir);
  NCEN_CHECK(sink.ok());
  auto imported = node::ImportBundle(bench.sink_dir, sink.value(), written->files);
  if (!imported.ok()) {
    std::fprintf(stderr, "ncen-bench: bundle import: %s\n", imported.status().ToString().c_str());
    return 2;
  }
  auto t2 = Clock::now();
  bool equal = source->store->FrontierDigest().value() == sink->store->FrontierDigest().value();
  double create_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
  double import_ms = std::chrono::duration<double, std::milli>(t2 - t1).count();
  double ratio = static_cast<double>(written->file_bytes) / static_cast<double>(written->header_payload_bytes);
  if (json) {
    nlohmann::json j = {{"bench", "bundle"}, {"entries", n}, {"create_ms", create_ms}, {"import_ms", import_ms},
                        {"bundle_bytes", written->file_bytes}, {"raw_bytes", written->header_payload_bytes},
                        {"transfer_bytes", written->manifest.raw_bytes}, {"size_ratio", ratio},
                        {"applied", imported->applied}, {"digests_equal", equal}};
    std::cout << j.dump() << "\n";
  } else {
    std::printf("bundle %llu entries: create %.0f ms, import %.0f ms (%.0f entries/s); %llu bytes, %.3f of raw "
                "header+payload (%llu bytes); applied %llu; digests %s\n",
                static_cast<unsigned long long>(n), create_ms, import_ms, n / (import_ms / 1000.0),
                static_cast<unsigned long long>(written->file_bytes), ratio,
                static_cast<unsigned long long>(written->header_payload_bytes),
                static_cast<unsigned long long>(imported->applied), equal ? "equal" : "DIFFER");
  }
  return equal && imported->applied == n ? 0 : 1;
}

int SyncBench(const SyncBenchArgs& args) {
  if (args.members > 0) return CompareMembership(args);
  Bench bench;
  bench.Fill(args.n);
  double mean_entry = static_cast<double>(bench.entry_bytes) / static_cast<double>(std::max<uint64_t>(1, bench.entries));
  bench.StartSource();
  uint64_t moved = 0;
  if (args.mode == "sync-cold") {
    bench.SaveEmptySink();
    moved = args.n;
  } else {
    bench.SyncOnce();  // make them equal (not measured)
    if (args.mode == "sync-incr") moved = args.m;
    if (args.mode == "conflicts") moved = 2 * args.m;
  }
  // Each run measures the same step again: a cold sync into the empty sink,
  // a no-op, M more entries, or K more concurrent edits of the same records.
  std::vector<Bench::Run> runs;
  ProcStats sink_stats;
  for (int r = 0; r < args.runs; ++r) {
    if (args.mode == "sync-cold" && r > 0) bench.RestoreEmptySink();
    if (args.mode == "sync-incr") bench.Fill(args.m);
    if (args.mode == "conflicts") EditOnBothSides(bench, args.m);
    runs.push_back(bench.SyncOnce());
    sink_stats.peak_rss_mib = std::max(sink_stats.peak_rss_mib, runs.back().sink.peak_rss_mib);
    sink_stats.anon_rss_mib = std::max(sink_stats.anon_rss_mib, runs.back().sink.anon_rss_mib);
  }
  std::vector<Bench::Run> sorted = runs;
  std::sort(sorted.begin(), sorted.end(), [](const Bench::Run& a, const Bench::Run& b) { return a.wall_ms < b.wall_ms; });
  Bench::Run run = sorted[sorted.size() / 2];  // the median (the upper one of an even count)
  run.sink = sink_stats;
  uint64_t sink_entries = bench.SinkEntries();
  uint64_t conflicts_source = 0, conflicts_sink = 0;
  if (args.mode == "conflicts") {
    conflicts_source = node::OpenNodeDir(bench.source_dir).value().store->Conflicts(args.m + 10).value().size();
    conflicts_sink = node::OpenNodeDir(bench.sink_dir).value().store->Conflicts(args.m + 10).value().size();
  }
  bench.StopSource();
  double per_s = moved > 0 ? static_cast<double>(moved) / (run.wall_ms / 1000.0) : 0;
  double wire_per_entry = moved > 0 ? static_cast<double>(run.wire_bytes) / static_cast<double>(moved) : 0;
  if (args.json) {
    nlohmann::ordered_json out;
    out["benchmark"] = args.mode;
    out["n"] = args.n;
    if (args.mode == "sync-incr" || args.mode == "conflicts") out["m"] = args.m;
    out["wall_ms"] = run.wall_ms;
    out["runs"] = args.runs;
    std::vector<double> walls;
    for (const auto& r : runs) walls.push_back(r.wall_ms);
    out["wall_ms_runs"] = walls;
    out["process_ms"] = run.process_ms;
    out["entries"] = moved;
    out["entries_per_s"] = per_s;
    out["wire_bytes"] = run.wire_bytes;
    out["wire_bytes_per_entry"] = wire_per_entry;
    out["entry_bytes_mean"] = mean_entry;
    out["sink_entries"] = sink_entries;
    if (args.mode == "conflicts") {
      out["conflicts_source"] = conflicts_source;
      out["conflicts_sink"] = conflicts_sink;
    }
    out["processes"] = {
        {{"name", "source"}, {"peak_rss_mib", bench.source_stats.peak_rss_mib}, {"anon_rss_mib", bench.source_stats.anon_rss_mib}},
        {{"name", "sink"}, {"peak_rss_mib", run.sink.peak_rss_mib}, {"anon_rss_mib", run.sink.anon_rss_mib}}};
    std::cout << out.dump() << "\n";
  } else {
    std::printf("%s: N=%llu%s, 100 feeds, mean entry (header + payload) %.0f bytes\n", args.mode.c_str(),
                static_cast<unsigned long long>(args.n),
                args.mode == "sync-incr" || args.mode == "conflicts"
                    ? (" M=" + std::to_string(args.m)).c_str()
                    : "",
                mean_entry);
    std::printf("  start to in sync (sink's own clock)  %10.1f ms%s\n", run.wall_ms,
                args.runs > 1 ? (", median of " + std::to_string(args.runs) + " runs").c_str() : "");
    if (args.runs > 1) {
      std::printf("  runs                                ");
      for (const auto& r : runs) std::printf(" %.1f", r.wall_ms);
      std::printf(" ms\n");
    }
    std::printf("  process spawn to exit                %10.1f ms\n", run.process_ms);
    std::printf("  entries moved                        %10llu (%.0f entries/s)\n",
                static_cast<unsigned long long>(moved), per_s);
    std::printf("  wire bytes                           %10llu (%.1f per entry moved)\n",
                static_cast<unsigned long long>(run.wire_bytes), wire_per_entry);
    if (args.mode == "conflicts") {
      std::printf("  conflicts listed                     source %llu, sink %llu\n",
                  static_cast<unsigned long long>(conflicts_source), static_cast<unsigned long long>(conflicts_sink));
    }
    std::printf("  source process: peak RSS %.1f MiB, anonymous %.1f MiB\n", bench.source_stats.peak_rss_mib,
                bench.source_stats.anon_rss_mib);
    std::printf("  sink process:   peak RSS %.1f MiB, anonymous %.1f MiB\n", run.sink.peak_rss_mib,
                run.sink.anon_rss_mib);
  }
  return 0;
}

}  // namespace ncen::bench
