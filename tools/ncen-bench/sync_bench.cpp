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
#include "tools/ncen-bench/sync_fixture.h"

namespace ncen::bench {
namespace {

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

// --compare-compression: a cold sync with the wire compressed (level 1) and
// not (level 0), alternating run by run, and the difference in time and bytes.
int CompareCompression(const SyncBenchArgs& args) {
  Bench zstd;
  zstd.Fill(args.n);
  Bench plain(zstd, 0);
  plain.compress_level = 0;
  for (Bench* b : {&zstd, &plain}) {
    b->StartSource();
    b->SaveEmptySink();
  }
  std::vector<Bench::Run> on, off;
  for (int r = 0; r < args.runs; ++r) {
    for (bool compressed : {r % 2 == 0, r % 2 == 1}) {
      Bench& b = compressed ? zstd : plain;
      b.RestoreEmptySink();
      (compressed ? on : off).push_back(b.SyncOnce());
    }
  }
  plain.StopSource();
  zstd.StopSource();
  Bench::Run a = Median(on), b = Median(off);
  double cost = (a.wall_ms - b.wall_ms) / b.wall_ms * 100.0;
  double raw = static_cast<double>(zstd.entry_bytes) / static_cast<double>(std::max<uint64_t>(1, zstd.entries));
  auto per_entry = [&](const Bench::Run& r) { return static_cast<double>(r.wire_bytes) / static_cast<double>(args.n); };
  if (args.json) {
    nlohmann::ordered_json out;
    out["benchmark"] = "sync-cold-compression";
    out["n"] = args.n;
    out["runs"] = args.runs;
    out["compressed_wall_ms"] = a.wall_ms;
    out["uncompressed_wall_ms"] = b.wall_ms;
    out["cost_percent"] = cost;
    out["compressed_wire_bytes_per_entry"] = per_entry(a);
    out["uncompressed_wire_bytes_per_entry"] = per_entry(b);
    out["entry_bytes_mean"] = raw;
    std::cout << out.dump() << "\n";
    return 0;
  }
  std::printf("sync-cold: N=%llu, 100 feeds, mean entry (header + payload) %.0f bytes; wire compressed vs not, "
              "alternating\n",
              static_cast<unsigned long long>(args.n), raw);
  auto line = [&](const char* what, const Bench::Run& median, const std::vector<Bench::Run>& runs) {
    std::printf("  %-14s %10.1f ms (median of %d; runs", what, median.wall_ms, args.runs);
    for (const auto& r : runs) std::printf(" %.1f", r.wall_ms);
    std::printf("), %.0f entries/s, %.1f wire bytes per entry (%.3f of header + payload)\n",
                static_cast<double>(args.n) / (median.wall_ms / 1000.0), per_entry(median), per_entry(median) / raw);
  };
  line("compressed", a, on);
  line("uncompressed", b, off);
  std::printf("  compression costs %+.1f %% of the time\n", cost);
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
  // The same entries by a cold sync, in the same run (untouched copies).
  Bench cold(bench, 0);
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
  cold.StartSource();
  Bench::Run sync = cold.SyncOnce();
  cold.StopSource();
  if (json) {
    nlohmann::json j = {{"bench", "bundle"}, {"entries", n}, {"create_ms", create_ms}, {"import_ms", import_ms},
                        {"sync_cold_ms", sync.wall_ms},
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
    std::printf("  sync-cold of the same entries in the same run: %.0f ms; create %.2fx, import %.2fx its time\n",
                sync.wall_ms, create_ms / sync.wall_ms, import_ms / sync.wall_ms);
  }
  return equal && imported->applied == n ? 0 : 1;
}

int SyncBench(const SyncBenchArgs& args) {
  if (args.members > 0) return CompareMembership(args);
  if (args.compare_compression) return CompareCompression(args);
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
