// ncen-bench: measured performance of an ncen node (README "Measured numbers").
//
//   ncen-bench generate N          N realistic seizures as NDJSON (for the demo)
//   ncen-bench write [--records N] local writes: 1,000 per transaction, and one
//                                  durable commit per record
//   ncen-bench read [--records N]  index catch-up, get and indexed search on N records
//   ncen-bench channel             handshake CPU per side, bulk MB/s over the
//                                  encrypted loopback channel
//   ncen-bench bundle N            bundle create and import of N entries, size against raw
//   ncen-bench sync-cold N         two ncen-node processes: full sync of N entries
//   ncen-bench sync-noop N         ... already equal: connect, handshake, nothing to do
//   ncen-bench sync-incr N M       ... M new entries on top of N shared
//   ncen-bench conflicts N K       ... K records edited on both sides, synced both ways
//                                  (sync-*: --runs R repeats the measured step and
//                                  reports the median; sync-cold and sync-noop:
//                                  --members M also runs it in a network of M
//                                  certified nodes, alternating, and compares)
//   ncen-bench link-sync [N] [--rate R] [--rtt MS] [--cut S]
//                                  N new seizures at a post to its hub through an
//                                  emulated thin link (default 5000, 256kbit, 600 ms)
//   ncen-bench link-noop [N] [--rate R] [--rtt MS]
//                                  a no-op sync over that link, in round trips
//   ncen-bench wire-bytes [N] [--pushes P]
//                                  wire bytes per entry: cold sync of N (100000)
//                                  and P (200) single live pushes, through the relay
//                                  (link-*, wire-bytes: see link_bench.cpp)
//   ncen-bench blobs [--mib N] [--backlog-mib M]
//                                  photos: add a 5 MB JPEG, replicate 1 GiB, a
//                                  seizure during a 500 MB backlog
//   ncen-bench messages [--offices N] [--inbox M]
//                                  messages: send to a country of N offices
//                                  (N sealed keys); list the newest 50 unread
//                                  of an inbox of M
//   ncen-bench http [--records N] [--sync M] [--clients C] [--seconds S]
//                                  the HTTP API: GETs and searches on N
//                                  seizures by C clients, and a sync of M
//                                  entries into that node with and without them
//   ncen-bench sharing [--records N] [--release M]
//                                  stats pivots over N seizures (national hub)
//                                  and N reports (regional hub); releasing M
//                                  seizures in one call
//
// Each prints a table, or one JSON object with --json. Stores live in a
// temporary directory that is removed afterwards.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/rng.h"
#include "storage/record_json.h"
#include "storage/store.h"
#include "tools/common/seizure_gen.h"
#include "media/sample_photo.h"
#include "tools/ncen-bench/blob_bench.h"
#include "tools/ncen-bench/message_bench.h"
#include "tools/ncen-bench/channel_bench.h"
#include "tools/ncen-bench/http_bench.h"
#include "tools/ncen-bench/link_bench.h"
#include "tools/ncen-bench/sharing_bench.h"
#include "tools/ncen-bench/temp_store.h"
#include "tools/ncen-bench/sync_bench.h"

using namespace ncen;
using Steady = std::chrono::steady_clock;

namespace {

double Seconds(Steady::time_point since) {
  return std::chrono::duration<double>(Steady::now() - since).count();
}

using bench::TempStore;

std::vector<storage::LocalChange> MakeChanges(Rng& rng, uint64_t first, size_t count, size_t* bytes) {
  std::vector<storage::LocalChange> out;
  out.reserve(count);
  int64_t now = storage::UnixMillisNow();
  for (size_t i = 0; i < count; ++i) {
    auto payload = storage::RecordFromJson(storage::RecordType::kSeizure, tools::GenerateSeizure(rng, first + i));
    NCEN_CHECK(payload.ok());
    if (bytes) *bytes += payload->size();
    out.push_back({storage::NewRecordId(now), storage::RecordType::kSeizure, storage::Op::kPut,
                   std::move(payload).value()});
  }
  return out;
}

// Fills `t` with n records in 1,000-record transactions; returns entries/s
// (record generation excluded) and the ids written.
double FillBatched(TempStore& t, uint64_t n, Rng& rng, std::vector<storage::RecordId>* ids, size_t* bytes) {
  double busy = 0;
  for (uint64_t at = 0; at < n; at += 1000) {
    auto changes = MakeChanges(rng, at, std::min<uint64_t>(1000, n - at), bytes);
    auto start = Steady::now();
    NCEN_CHECK(t.store->AppendLocal(t.identity, changes).ok());
    busy += Seconds(start);
    if (ids) for (auto& c : changes) ids->push_back(c.id);
  }
  return static_cast<double>(n) / busy;
}

int Write(uint64_t n, bool json) {
  Rng rng(1);
  size_t bytes = 0;
  double batched;
  {
    TempStore t(true);
    batched = FillBatched(t, n, rng, nullptr, &bytes);
  }
  uint64_t single_n = std::min<uint64_t>(n, 5000);
  double single;
  {
    TempStore t(true);
    auto changes = MakeChanges(rng, 0, single_n, nullptr);
    auto start = Steady::now();
    for (auto& c : changes) NCEN_CHECK(t.store->AppendLocal(t.identity, {&c, 1}).ok());
    single = static_cast<double>(single_n) / Seconds(start);
  }
  if (json) {
    std::cout << nlohmann::json{{"records", n}, {"payload_bytes_mean", bytes / n},
                                {"batched_entries_per_s", batched}, {"per_commit_records", single_n},
                                {"per_commit_entries_per_s", single}}
                     .dump()
              << "\n";
  } else {
    std::printf("write: %llu seizures, mean payload %zu bytes\n", static_cast<unsigned long long>(n), bytes / n);
    std::printf("  batched (1,000 per transaction, durable) %10.0f entries/s\n", batched);
    std::printf("  one durable commit per record (%llu)     %10.0f entries/s\n",
                static_cast<unsigned long long>(single_n), single);
  }
  return 0;
}

int Read(uint64_t n, uint64_t samples, bool json) {
  Rng rng(2);
  TempStore t(false);
  std::vector<storage::RecordId> ids;
  ids.reserve(n);
  std::fprintf(stderr, "read: filling a store with %llu seizures...\n", static_cast<unsigned long long>(n));
  FillBatched(t, n, rng, &ids, nullptr);
  // Writes are indexed after their commit (a running node does it when
  // idle); time that here, then measure reads on an up-to-date index.
  auto start = Steady::now();
  NCEN_CHECK(t.store->CatchUpIndexAll().ok());
  double index_s = Seconds(start);

  start = Steady::now();
  for (uint64_t i = 0; i < samples; ++i) {
    auto view = t.store->GetRecord(ids[rng.Below(ids.size())]);
    NCEN_CHECK(view.ok() && view->payloads.size() == 1);
    auto j = storage::RecordToJson(view->state.type, view->payloads[0]);
    NCEN_CHECK(j.ok());
  }
  double get_us = Seconds(start) * 1e6 / static_cast<double>(samples);

  // Search by reference number: the records were generated with references
  // <office>-2026-<index>, so regenerate a few with the same seed to know them.
  Rng replay(2);
  std::vector<std::string> references;
  for (uint64_t i = 0; i < std::min<uint64_t>(n, 1000); ++i) {
    references.push_back(tools::GenerateSeizure(replay, i)["reference"].get<std::string>());
  }
  start = Steady::now();
  size_t found = 0;
  for (uint64_t i = 0; i < samples; ++i) {
    storage::SearchQuery q;
    q.text = references[rng.Below(references.size())];
    q.limit = 10;
    auto r = t.store->Search(q);
    NCEN_CHECK(r.ok());
    found += r->size();
  }
  double search_us = Seconds(start) * 1e6 / static_cast<double>(samples);
  NCEN_CHECK(found >= samples);

  start = Steady::now();
  for (uint64_t i = 0; i < samples / 10; ++i) {
    storage::SearchQuery q;
    q.from_date = "2026-03-01";
    q.to_date = "2026-03-01";
    q.limit = 20;
    NCEN_CHECK(t.store->Search(q).ok());
  }
  double date_us = Seconds(start) * 1e6 / static_cast<double>(samples / 10);

  if (json) {
    std::cout << nlohmann::json{{"records", n}, {"index_catch_up_s", index_s},
                                {"index_records_per_s", static_cast<double>(n) / index_s},
                                {"get_us", get_us}, {"search_reference_us", search_us},
                                {"search_date_day_limit20_us", date_us}}
                     .dump()
              << "\n";
  } else {
    std::printf("read: store of %llu seizures, %llu samples\n", static_cast<unsigned long long>(n),
                static_cast<unsigned long long>(samples));
    std::printf("  search index built after the writes %7.1f s (%.0f records/s)\n", index_s,
                static_cast<double>(n) / index_s);
    std::printf("  get (record + decode to JSON)      %8.1f us\n", get_us);
    std::printf("  search by reference number         %8.1f us\n", search_us);
    std::printf("  search by date (one day, limit 20) %8.1f us\n", date_us);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ncen-bench — measured performance of ncen", "ncen-bench"};
  app.require_subcommand(1);
  bool json = false;
  app.add_flag("--json", json, "one JSON object on stdout");
  app.fallthrough();
  // Counts are 1..10^9: CLI11 would take "-5" as a huge unsigned number.
  const auto kCount = CLI::Range(uint64_t{1}, uint64_t{1000000000});
  uint64_t n = 100000, samples = 10000;
  int rc = 0;

  auto* gen = app.add_subcommand("generate", "print N realistic seizures as NDJSON");
  gen->add_option("N", n, "how many")->required()->check(kCount);
  gen->callback([&] {
    Rng rng(7);
    for (uint64_t i = 0; i < n; ++i) std::cout << tools::GenerateSeizure(rng, i).dump() << "\n";
  });
  auto* write = app.add_subcommand("write", "local writes, batched and one durable commit per record");
  write->add_option("--records", n, "records in the batched run (default 100000)")->check(kCount);
  write->callback([&] { rc = Write(n, json); });
  auto* read = app.add_subcommand("read", "get and indexed search on a store of N records");
  read->add_option("--records", n, "records in the store (default 100000)")->check(kCount);
  read->add_option("--samples", samples, "lookups to time (default 10000)")->check(kCount);
  read->callback([&] { rc = Read(n, samples, json); });
  uint64_t handshakes = 2000, mib = 2048;
  auto* channel = app.add_subcommand("channel", "secure channel: handshake CPU per side, bulk transfer");
  channel->add_option("--handshakes", handshakes, "handshakes to average (default 2000)")->check(kCount);
  channel->add_option("--mib", mib, "MiB to send in the bulk run (default 2048)")->check(kCount);
  channel->callback([&] { rc = bench::ChannelBench(handshakes, mib, json); });
  bench::SyncBenchArgs sync;
  for (const char* mode : {"sync-cold", "sync-noop", "sync-incr", "conflicts"}) {
    auto* sub = app.add_subcommand(mode, std::string("replication between two ncen-node processes: ") + mode);
    sub->add_option("N", sync.n, "entries held (default 100000)")->check(kCount);
    if (std::string(mode) == "sync-incr" || std::string(mode) == "conflicts") {
      sub->add_option("M", sync.m, std::string(mode) == "conflicts" ? "records edited on both sides" : "new entries")
          ->check(kCount);
    }
    sub->add_option("--runs", sync.runs, "measured runs, the median reported (default 1)")->check(CLI::Range(1, 99));
    if (std::string(mode) == "sync-cold" || std::string(mode) == "sync-noop") {
      sub->add_option("--members", sync.members,
                      "also run each step on members of a network of this many certified nodes, alternating "
                      "with stores of no network (e.g. 2000)")
          ->check(CLI::Range(102, 100000));
      if (std::string(mode) == "sync-cold") {
        sub->add_flag("--compare-compression", sync.compare_compression,
                      "run each step twice per run, alternating: wire compressed (level 1) and not (level 0)");
      }
    }
    sub->callback([&, mode] {
      sync.mode = mode;
      sync.json = json;
      rc = bench::SyncBench(sync);
    });
  }
  uint64_t bundle_n = 100000;
  auto* bundle = app.add_subcommand("bundle", "offline bundle of N entries: create, import, size against raw");
  bundle->add_option("N", bundle_n, "entries (default 100000)")->check(kCount);
  bundle->callback([&] { rc = bench::BundleBench(bundle_n, json); });
  bench::LinkBenchArgs link;
  for (const char* mode : {"link-sync", "link-noop", "wire-bytes"}) {
    std::string m = mode;
    auto* sub = app.add_subcommand(mode, "replication through an emulated thin link: " + m);
    sub->add_option("N", link.n,
                    m == "link-sync"   ? "new seizures at the post (default 5000)"
                    : m == "link-noop" ? "entries both hold (default 10000)"
                                       : "entries in the cold sync (default 100000)")
        ->check(kCount);
    sub->add_option("--rate", link.rate,
                    std::string("bits per second each way: 64kbit, 2mbit, 9600, unlimited (default ") +
                        (m == "wire-bytes" ? "unlimited)" : "256kbit)"));
    sub->add_option("--rtt", link.rtt_ms,
                    std::string("round-trip time in ms (default ") + (m == "wire-bytes" ? "0)" : "600)"))
        ->check(CLI::Range(0, 60000));
    sub->add_option("--timeout", link.timeout_s, "give up (exit 1) after this many seconds (default 600)")
        ->check(CLI::Range(1.0, 86400.0));
    if (m == "link-sync") {
      sub->add_option("--cut", link.cut_s, "close the link every S seconds (default never)")->check(CLI::Range(1, 86400));
    }
    if (m == "wire-bytes") {
      sub->add_option("--pushes", link.pushes, "single live pushes measured (default 200)")->check(CLI::Range(1, 100000));
    }
    sub->callback([&, mode] {
      link.mode = mode;
      link.json = json;
      rc = bench::LinkBench(link);
    });
  }
  bench::SharingBenchArgs sharing;
  auto* share = app.add_subcommand("sharing", "stats over N seizures and N reports; releasing M seizures at once");
  share->add_option("--records", sharing.records, "seizures, and reports (default 1000000)")->check(kCount);
  share->add_option("--release", sharing.release, "seizures released in one call (default 10000)")->check(kCount);
  share->add_option("--runs", sharing.runs, "measured runs of each pivot, the median reported (default 5)")
      ->check(CLI::Range(1, 99));
  share->callback([&] {
    sharing.json = json;
    rc = bench::SharingBench(sharing);
  });
  bench::BlobBenchArgs blobs;
  auto* blob = app.add_subcommand("blobs", "photos: adding a 5 MB JPEG, replicating 1 GiB of them, a seizure during "
                                           "a 500 MB backlog");
  blob->add_option("--mib", blobs.mib, "MiB of photos replicated (default 1024)")->check(kCount);
  blob->add_option("--backlog-mib", blobs.backlog_mib, "MiB of photos in the backlog (default 500)")->check(kCount);
  blob->add_option("--adds", blobs.adds, "JPEGs added, the median reported (default 10)")->check(CLI::Range(1, 100));
  blob->callback([&] {
    blobs.json = json;
    rc = bench::BlobBench(blobs);
  });
  bench::HttpBenchArgs http;
  auto* http_cmd = app.add_subcommand("http", "the HTTP API under 64 keep-alive clients on 1,000,000 seizures, and a "
                                              "sync of 100,000 entries into that node with and without them");
  http_cmd->add_option("--records", http.records, "seizures the node holds (default 1000000)")->check(kCount);
  http_cmd->add_option("--sync", http.sync, "entries the measured syncs bring (default 100000)")->check(kCount);
  http_cmd->add_option("--clients", http.clients, "keep-alive clients (default 64)")->check(CLI::Range(1, 1000));
  http_cmd->add_option("--seconds", http.seconds, "of each load phase (default 10)")->check(CLI::Range(1.0, 600.0));
  http_cmd->callback([&] {
    http.json = json;
    rc = bench::HttpBench(http);
  });
  bench::UiNodeArgs ui_node;
  auto* ui_cmd = app.add_subcommand("ui-node", "make a node directory of N generated seizures, indexed, for the web "
                                               "UI's search timing (tests/browser/search_timing.mjs)");
  ui_cmd->add_option("--records", ui_node.records, "seizures (default 1000000)")->check(kCount);
  ui_cmd->add_option("--out", ui_node.out, "the node directory to create")->required();
  ui_cmd->callback([&] { rc = bench::UiNode(ui_node); });
  bench::MessageBenchArgs msgs;
  auto* msg = app.add_subcommand("messages", "messages: send to a country of 2,000 offices; the newest 50 unread of "
                                             "an inbox of 100,000");
  msg->add_option("--offices", msgs.offices, "offices the message is sealed to (default 2000)")
      ->check(CLI::Range(1, 9000));
  msg->add_option("--inbox", msgs.inbox, "messages in the inbox (default 100000)")->check(kCount);
  msg->add_option("--runs", msgs.runs, "sends and listings measured (default 20)")->check(CLI::Range(1, 1000));
  msg->callback([&] {
    msgs.json = json;
    rc = bench::MessageBench(msgs);
  });
  // A phone-like JPEG for the demo and scripts (media/sample_photo.h).
  std::string photo_out;
  uint64_t photo_seed = 1;
  bool photo_gps = false;
  auto* sample = app.add_subcommand("sample-photo", "write a synthetic camera JPEG (for the demo and scripts)");
  sample->add_option("--out", photo_out, "the file to write")->required();
  sample->add_option("--seed", photo_seed, "a different picture for each seed (default 1)");
  sample->add_flag("--gps", photo_gps, "with the EXIF a phone writes: GPS position, camera serial, owner, rotated");
  sample->callback([&] {
    Bytes jpeg = media::SamplePhotoJpeg(1600, 1200, photo_seed, 90);
    if (photo_gps) jpeg = media::WithCameraExif(jpeg, 6);
    std::ofstream out(photo_out, std::ios::binary);
    out.write(reinterpret_cast<const char*>(jpeg.data()), static_cast<std::streamsize>(jpeg.size()));
    out.close();
    if (!out) {
      std::fprintf(stderr, "ncen-bench: cannot write %s\n", photo_out.c_str());
      rc = 1;
    }
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "ncen-bench: %s\n", e.what());
    return 1;
  }
  return rc;
}
