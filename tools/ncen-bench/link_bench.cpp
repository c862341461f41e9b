// ncen-bench link-*: the sync_bench fixture (a "source" hub daemon and a
// "sink" post run with --once) with a LinkEmulator between them: the sink
// dials the relay, which dials the source. Wire bytes are the relay's
// counters (what crossed the emulated link, both ways, TCP payload only).
//
//   link-sync N [--rate R] [--rtt MS] [--cut S]
//       N new seizures at the post (100 authoring feeds, like sync-cold)
//       go to its hub: start to in sync (the post's clock), wire bytes per
//       entry vs header + payload per entry, the link's use of its rate.
//       Defaults: N 5000, 256kbit, RTT 600 ms.
//   link-noop N [--rate R] [--rtt MS]
//       both hold the same N entries (made equal over plain loopback first);
//       then a --once sync over the link: from the TCP accept at the relay to
//       the post's "in sync" line, in ms and in round trips. Defaults: N
//       10000, 256kbit, RTT 600 ms.
//   wire-bytes N [--pushes P] [--rate R] [--rtt MS]
//       a cold sync of N entries (hub to post) through the relay, then the
//       post runs as a daemon connected through it and P entries are written
//       one at a time at the hub, each awaited at the post: relay bytes per
//       entry for both. Defaults: N 100000, P 200, unlimited rate, no delay.
//
// Every wait is bounded (--timeout, default 600 s for a sync, 15 s per live
// push); a scenario that times out prints why and exits 1.
#include "tools/ncen-bench/link_bench.h"

#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "tools/common/link_emulator.h"
#include "tools/ncen-bench/sync_fixture.h"

namespace ncen::bench {
namespace {

using SystemClock = std::chrono::system_clock;

int64_t UnixMillis(SystemClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// The time stamp ("2026-11-30T20:49:15.123Z ...", base/log.cpp) of the last
// line of `log` that contains `needle`, in Unix ms; -1 when none does.
int64_t LastLineMillis(const std::string& log, const std::string& needle) {
  size_t at = log.rfind(needle);
  if (at == std::string::npos) return -1;
  size_t start = log.rfind('\n', at);
  start = start == std::string::npos ? 0 : start + 1;
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(log.c_str() + start, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &ms) != 7) {
    return -1;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

// The last lines of a log, for failure reports.
std::string Tail(const std::string& log, size_t lines) {
  size_t at = log.size();
  for (size_t i = 0; i <= lines && at != std::string::npos && at > 0; ++i) at = log.rfind('\n', at - 1);
  return at == std::string::npos ? log : log.substr(at + 1);
}

struct Link {
  tools::LinkOptions options;
  std::unique_ptr<tools::LinkEmulator> emulator;
  int64_t started_unix_ms = 0;

  Link(const std::string& target, const tools::LinkOptions& o) : options(o) {
    auto started = tools::LinkEmulator::Start(target, options);
    NCEN_CHECK(started.ok());
    emulator = std::move(started).value();
    started_unix_ms = UnixMillis(SystemClock::now());
  }
  std::string Describe() const {
    std::string rate = options.rate_bits_per_s == 0 ? "unlimited"
                                                    : std::to_string(options.rate_bits_per_s / 1000) + " kbit/s";
    std::string out = rate + " each way, RTT " + std::to_string(2 * options.one_way_delay_ms) + " ms";
    if (options.cut_interval_ms > 0) out += ", cut every " + std::to_string(options.cut_interval_ms / 1000) + " s";
    return out;
  }
};

void PrintFailure(const std::string& mode, const std::string& why, const std::string& log) {
  std::fprintf(stderr, "ncen-bench %s: FAILED: %s\n  the post's log (last lines):\n%s", mode.c_str(), why.c_str(),
               Tail(log, 25).c_str());
}

int LinkSync(const LinkBenchArgs& args, const tools::LinkOptions& options) {
  Bench bench;
  bench.Fill(args.n, /*at_sink=*/true);
  double entry_mean = static_cast<double>(bench.entry_bytes) / static_cast<double>(args.n);
  bench.StartSource();
  Link link(bench.source_address, options);
  bench.PointSinkAt(link.emulator->address());
  Bench::Run run = bench.SyncOnce(args.timeout_s, /*exit_on_failure=*/false);
  tools::LinkCounters c = link.emulator->counters();
  link.emulator->Stop();
  uint64_t hub_entries = bench.SourceEntries();
  double seconds = run.ok ? run.wall_ms / 1000.0 : run.process_ms / 1000.0;
  double per_entry = static_cast<double>(c.bytes()) / static_cast<double>(args.n);
  double use = options.rate_bits_per_s == 0
                   ? 0
                   : static_cast<double>(c.bytes_to_target) * 8.0 / seconds / static_cast<double>(options.rate_bits_per_s);
  if (args.json) {
    nlohmann::ordered_json out;
    out["benchmark"] = args.mode;
    out["n"] = args.n;
    out["rate_bits_per_s"] = options.rate_bits_per_s;
    out["rtt_ms"] = 2 * options.one_way_delay_ms;
    out["cut_s"] = options.cut_interval_ms / 1000;
    out["ok"] = run.ok;
    out["wall_ms"] = run.ok ? run.wall_ms : -1.0;
    out["process_ms"] = run.process_ms;
    out["hub_entries"] = hub_entries;
    out["entry_bytes_mean"] = entry_mean;
    out["wire_bytes_to_hub"] = c.bytes_to_target;
    out["wire_bytes_to_post"] = c.bytes_from_target;
    out["wire_bytes_per_entry"] = per_entry;
    out["link_use_to_hub"] = use;
    out["connections"] = c.connections_accepted;
    out["cuts"] = c.cuts;
    std::cout << out.dump() << "\n";
  } else {
    std::printf("link-sync: %llu new seizures at a post -> its hub over %s\n",
                static_cast<unsigned long long>(args.n), link.Describe().c_str());
    if (run.ok) {
      std::printf("  start to in sync (the post's clock)  %10.1f s\n", run.wall_ms / 1000.0);
    } else {
      std::printf("  NOT in sync after                    %10.1f s (timeout %.0f s)\n", run.process_ms / 1000.0,
                  args.timeout_s);
    }
    std::printf("  entries at the hub                   %10llu of %llu\n", static_cast<unsigned long long>(hub_entries),
                static_cast<unsigned long long>(args.n));
    std::printf("  header + payload per entry           %10.1f bytes\n", entry_mean);
    std::printf("  wire bytes per entry (both ways)     %10.1f bytes (%.3f x)%s; to hub %llu, to post %llu\n",
                per_entry, per_entry / entry_mean, run.ok ? "" : " SO FAR, incl. resent", static_cast<unsigned long long>(c.bytes_to_target),
                static_cast<unsigned long long>(c.bytes_from_target));
    if (options.rate_bits_per_s > 0) std::printf("  link use toward the hub             %10.1f %%\n", use * 100);
    std::printf("  connections %llu, cuts %llu\n", static_cast<unsigned long long>(c.connections_accepted),
                static_cast<unsigned long long>(c.cuts));
  }
  if (!run.ok) PrintFailure(args.mode, "the post was not in sync before the timeout", run.log);
  return run.ok && hub_entries == args.n ? 0 : 1;
}

int LinkNoop(const LinkBenchArgs& args, const tools::LinkOptions& options) {
  Bench bench;
  bench.Fill(args.n);
  bench.StartSource();
  bench.SyncOnce(args.timeout_s);  // make them equal over plain loopback (not measured)
  Link link(bench.source_address, options);
  bench.PointSinkAt(link.emulator->address());
  Bench::Run run = bench.SyncOnce(args.timeout_s, /*exit_on_failure=*/false);
  tools::LinkCounters c = link.emulator->counters();
  link.emulator->Stop();
  double rtt_ms = 2.0 * options.one_way_delay_ms;
  int64_t accept_ms = link.started_unix_ms + static_cast<int64_t>(c.last_accept_us / 1000);
  int64_t connected_ms = LastLineMillis(run.log, "connected to source");
  int64_t synced_ms = LastLineMillis(run.log, "in sync with every peer");
  bool ok = run.ok && synced_ms > 0 && connected_ms > 0 && c.connections_accepted == 1;
  double after_connect_ms = static_cast<double>(synced_ms - accept_ms);
  double handshake_ms = static_cast<double>(connected_ms - accept_ms);
  double last_byte_ms = (static_cast<double>(c.last_delivery_to_client_us) - static_cast<double>(c.last_accept_us)) / 1000.0;
  auto trips = [&](double ms) { return rtt_ms > 0 ? ms / rtt_ms : 0.0; };
  if (args.json) {
    nlohmann::ordered_json out;
    out["benchmark"] = args.mode;
    out["n"] = args.n;
    out["rate_bits_per_s"] = options.rate_bits_per_s;
    out["rtt_ms"] = rtt_ms;
    out["ok"] = ok;
    out["wall_ms"] = run.wall_ms;
    out["accept_to_connected_ms"] = handshake_ms;
    out["accept_to_in_sync_ms"] = after_connect_ms;
    out["accept_to_in_sync_round_trips"] = trips(after_connect_ms);
    out["accept_to_last_byte_to_post_ms"] = last_byte_ms;
    out["wire_bytes_to_hub"] = c.bytes_to_target;
    out["wire_bytes_to_post"] = c.bytes_from_target;
    std::cout << out.dump() << "\n";
  } else {
    std::printf("link-noop: both hold %llu entries; --once sync over %s\n", static_cast<unsigned long long>(args.n),
                link.Describe().c_str());
    std::printf("  start to in sync (the post's clock)  %10.0f ms\n", run.wall_ms);
    std::printf("  TCP accept to handshake done          %9.0f ms = %.2f round trips (\"connected to\")\n", handshake_ms,
                trips(handshake_ms));
    std::printf("  TCP accept to in sync                 %9.0f ms = %.2f round trips\n", after_connect_ms,
                trips(after_connect_ms));
    std::printf("  TCP accept to the last byte to post   %9.0f ms = %.2f round trips (relay's clock)\n", last_byte_ms,
                trips(last_byte_ms));
    std::printf("  wire bytes: to hub %llu, to post %llu\n", static_cast<unsigned long long>(c.bytes_to_target),
                static_cast<unsigned long long>(c.bytes_from_target));
  }
  if (!ok) PrintFailure(args.mode, "no clean --once sync over one connection", run.log);
  return ok ? 0 : 1;
}

// The post as a daemon (not --once), connected through `link`, until it
// logs being in sync with the source; returns its pid, or -1 after `timeout_s`.
pid_t StartConnectedSink(Bench& bench, double timeout_s) {
  std::string log_path = bench.root + "/sink-daemon.log";
  pid_t pid = Spawn({NodeBinary(), "--data", bench.sink_dir}, log_path);
  auto start = Clock::now();
  while (std::chrono::duration<double>(Clock::now() - start).count() < timeout_s) {
    if (ReadAll(log_path).find("in sync with source") != std::string::npos) return pid;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  return -1;
}

int WireBytes(const LinkBenchArgs& args, const tools::LinkOptions& options) {
  Bench bench;
  bench.Fill(args.n);
  double entry_mean = static_cast<double>(bench.entry_bytes) / static_cast<double>(args.n);
  bench.StartSource();
  Link link(bench.source_address, options);
  bench.PointSinkAt(link.emulator->address());
  Bench::Run cold = bench.SyncOnce(args.timeout_s, /*exit_on_failure=*/false);
  tools::LinkCounters after_cold = link.emulator->counters();
  if (!cold.ok) {
    PrintFailure(args.mode, "the cold sync did not finish", cold.log);
    return 1;
  }
  double cold_per_entry = static_cast<double>(after_cold.bytes()) / static_cast<double>(args.n);

  // Live pushes: one entry at a time at the hub, each awaited at the post.
  pid_t sink = StartConnectedSink(bench, 30);
  if (sink < 0) {
    PrintFailure(args.mode, "the post daemon did not get in sync within 30 s", ReadAll(bench.root + "/sink-daemon.log"));
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let the catch-up exchange end
  tools::LinkCounters before = link.emulator->counters();
  auto push_start = Clock::now();
  uint64_t push_entry_bytes = 0, pushed = 0;
  bool ok = true;
  for (; pushed < args.pushes && ok; ++pushed) {
    {
      auto source = node::OpenNodeDir(bench.source_dir);
      NCEN_CHECK(source.ok());
      push_entry_bytes += AddAuthoredEntries(*source->store, 1, bench.entries + pushed);
    }
    uint64_t want = args.n + pushed + 1;
    auto start = Clock::now();
    while (Bench::EntriesIn(bench.sink_dir) < want) {
      if (std::chrono::duration<double>(Clock::now() - start).count() > 15) {
        ok = false;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  double push_s = std::chrono::duration<double>(Clock::now() - push_start).count();
  tools::LinkCounters after = link.emulator->counters();
  ::kill(sink, SIGTERM);
  ::waitpid(sink, nullptr, 0);
  link.emulator->Stop();
  if (!ok) {
    PrintFailure(args.mode, "live push " + std::to_string(pushed) + " did not reach the post within 15 s",
                 ReadAll(bench.root + "/sink-daemon.log"));
    return 1;
  }
  double push_mean = static_cast<double>(push_entry_bytes) / static_cast<double>(pushed);
  uint64_t to_post = after.bytes_from_target - before.bytes_from_target;
  uint64_t to_hub = after.bytes_to_target - before.bytes_to_target;
  double push_per_entry = static_cast<double>(to_post + to_hub) / static_cast<double>(pushed);
  if (args.json) {
    nlohmann::ordered_json out;
    out["benchmark"] = args.mode;
    out["n"] = args.n;
    out["rate_bits_per_s"] = options.rate_bits_per_s;
    out["rtt_ms"] = 2 * options.one_way_delay_ms;
    out["entry_bytes_mean"] = entry_mean;
    out["cold_wall_ms"] = cold.wall_ms;
    out["cold_wire_bytes"] = after_cold.bytes();
    out["cold_wire_bytes_per_entry"] = cold_per_entry;
    out["cold_node_counted_wire_bytes"] = cold.wire_bytes;
    out["pushes"] = pushed;
    out["push_entry_bytes_mean"] = push_mean;
    out["push_wire_bytes_to_post"] = to_post;
    out["push_wire_bytes_to_hub"] = to_hub;
    out["push_wire_bytes_per_entry"] = push_per_entry;
    out["push_ms_mean"] = push_s * 1000.0 / static_cast<double>(pushed);
    std::cout << out.dump() << "\n";
  } else {
    std::printf("wire-bytes: over %s\n", link.Describe().c_str());
    std::printf("  cold sync of %llu entries (hub -> post), header + payload %.1f bytes per entry\n",
                static_cast<unsigned long long>(args.n), entry_mean);
    std::printf("    wire bytes per entry (relay, both ways) %9.1f (%.3f x); total %llu; the post counted %llu\n",
                cold_per_entry, cold_per_entry / entry_mean, static_cast<unsigned long long>(after_cold.bytes()),
                static_cast<unsigned long long>(cold.wire_bytes));
    std::printf("    start to in sync %.1f ms\n", cold.wall_ms);
    std::printf("  %llu single live pushes (hub -> connected post), header + payload %.1f bytes per entry\n",
                static_cast<unsigned long long>(pushed), push_mean);
    std::printf("    wire bytes per entry (relay, both ways) %9.1f (%.3f x): to post %.1f, to hub %.1f\n", push_per_entry,
                push_per_entry / push_mean, static_cast<double>(to_post) / static_cast<double>(pushed),
                static_cast<double>(to_hub) / static_cast<double>(pushed));
    std::printf("    write to arrival, mean %.0f ms per push\n", push_s * 1000.0 / static_cast<double>(pushed));
  }
  return 0;
}

}  // namespace

int LinkBench(const LinkBenchArgs& args) {
  bool wire = args.mode == "wire-bytes";
  LinkBenchArgs a = args;
  if (a.n == 0) a.n = a.mode == "link-sync" ? 5000 : wire ? 100000 : 10000;
  if (a.rate.empty()) a.rate = wire ? "unlimited" : "256kbit";
  if (a.rtt_ms < 0) a.rtt_ms = wire ? 0 : 600;
  auto rate = tools::ParseBitRate(a.rate);
  if (!rate.ok()) {
    std::fprintf(stderr, "ncen-bench: --rate: %s\n", rate.status().message().c_str());
    return 1;
  }
  tools::LinkOptions options;
  options.rate_bits_per_s = *rate;
  options.one_way_delay_ms = static_cast<uint32_t>(a.rtt_ms / 2);
  options.cut_interval_ms = a.cut_s * 1000;
  if (a.mode == "link-sync") return LinkSync(a, options);
  if (a.mode == "link-noop") return LinkNoop(a, options);
  return WireBytes(a, options);
}

}  // namespace ncen::bench
