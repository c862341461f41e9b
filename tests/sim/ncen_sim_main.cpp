// ncen-sim: runs the deterministic simulation for one seed or a range.
//
//   ncen-sim --seed 42 [--trace]     replay one seed exactly (--trace: every event)
//   ncen-sim --seeds 1..1000         sweep; each failure prints seed=N and its trace
//   ncen-sim --seeds 1..200 --expect-failure   (mutants) stop at the first failing
//                                    seed; exit 0 only if one fails
//   ncen-sim --blobs 1 --albums 1 --seed 145 --expect-failure
//            --expect-failure-matching "more blob bytes than a window"   (a known bug)
//
// Exit status: 0 when every seed passed (with --expect-failure: when a seed
// failed), 1 otherwise, 2 on bad arguments.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>

#include "base/bytes.h"
#include "crypto/hash.h"
#include "tests/sim/sim.h"

namespace {

// A watchdog on wall-clock time, for a hang inside one event (a loop in the
// product that never returns): the sweep says which seed, instead of the
// ctest timeout saying nothing. It does not touch the run itself.
char g_hung[256];
size_t g_hung_bytes = 0;

void OnAlarm(int) {
  ssize_t ignored = write(STDOUT_FILENO, g_hung, g_hung_bytes);
  (void)ignored;
  _exit(1);
}

void PrintFailure(uint64_t seed, const ncen::sim::SimResult& r) {
  std::printf("FAIL seed=%llu: %s\n", static_cast<unsigned long long>(seed), r.failure.c_str());
  std::printf("  replay: ncen-sim --seed %llu --trace\n", static_cast<unsigned long long>(seed));
  std::printf("  run: %s\n", r.summary.c_str());
  std::printf("  the last %zu events:\n", r.trace.size());
  for (const auto& line : r.trace) std::printf("    %s\n", line.c_str());
  for (const auto& line : r.digests) std::printf("  %s\n", line.c_str());
}

bool ParseRange(const std::string& text, uint64_t& first, uint64_t& last) {
  auto dots = text.find("..");
  if (dots == std::string::npos) return false;
  try {
    first = std::stoull(text.substr(0, dots));
    last = std::stoull(text.substr(dots + 2));
  } catch (const std::exception&) {
    return false;
  }
  return first <= last;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ncen-sim: deterministic simulation of a network of ncen nodes"};
  std::vector<uint64_t> seeds;
  std::string range;
  ncen::sim::SimOptions options;
  int64_t chaos_seconds = 0, converge_seconds = options.converge_ms / 1000;
  bool expect_failure = false, verbose = false;
  unsigned seed_timeout_seconds = 120;
  std::string expected_text;
  app.add_option("--seed", seeds, "seed(s) to run; one seed prints its digests")->expected(1, -1);
  app.add_option("--seeds", range, "a range of seeds, A..B (inclusive)");
  app.add_option("--nodes", options.nodes, "3..12 nodes (default: the seed picks)");
  app.add_option("--chaos-seconds", chaos_seconds, "virtual seconds of workload and faults (default: the seed picks)");
  app.add_option("--writes", options.writes, "write calls during the chaos phase (default: the seed picks)");
  app.add_option("--converge-seconds", converge_seconds, "virtual seconds allowed to converge after healing");
  app.add_flag("--trace", options.trace, "print every event as it happens");
  app.add_option("--hostile", options.hostile,
                 "1: add a hostile member (Mallory), -1: never, 0 (default): the seed picks");
  app.add_option("--membership", options.membership,
                 "1: the nodes are members of a network (certificates, revocation), -1: no network, "
                 "0 (default): the seed picks (two runs in three)");
  app.add_option("--bundles", options.bundles,
                 "1: nodes exchange offline bundles across cut links, -1: never, 0 (default): the seed picks (one run "
                 "in three)");
  app.add_option("--blobs", options.blobs,
                 "1: honest nodes add photos (blobs), -1: never, 0 (default): the seed picks (one run in two)");
  app.add_option("--blob-window-fit", options.blob_window_fit,
                 "1 (default): with photos, blob windows fit their links and links carry at least 19 kB/s; 0: "
                 "windows drawn whatever the link, links down to 10 kB/s (replays the known bug)");
  app.add_option("--albums", options.albums,
                 "1: one run with photos in eight is an album of 20-40 small photos; 0 (default): never (replays "
                 "the second known bug)");
  app.add_flag("--expect-failure", expect_failure,
               "stop at the first failing seed; succeed only if one fails (mutation tests)");
  app.add_option("--expect-failure-matching", expected_text,
                 "with --expect-failure: only a failure whose text contains this counts (a known bug's test); "
                 "another failure ends the sweep with exit status 1");
  app.add_flag("--verbose", verbose, "print a line for every seed of a sweep");
  app.add_option("--seed-timeout-seconds", seed_timeout_seconds,
                 "wall-clock seconds one seed may take before it is reported as hung inside one event, and the "
                 "sweep ends (0: no limit)");
  CLI11_PARSE(app, argc, argv);
  if (!range.empty()) {
    uint64_t first = 0, last = 0;
    if (!ParseRange(range, first, last)) {
      std::fprintf(stderr, "--seeds wants A..B with A <= B\n");
      return 2;
    }
    for (uint64_t s = first; s <= last; ++s) seeds.push_back(s);
  }
  if (seeds.empty()) seeds.push_back(1);
  options.chaos_ms = chaos_seconds * 1000;
  options.converge_ms = converge_seconds * 1000;

  bool single = seeds.size() == 1;
  std::vector<uint64_t> failed;
  ncen::crypto::Blake2bHasher sweep;
  auto started = std::chrono::steady_clock::now();
  size_t run = 0;
  std::signal(SIGALRM, OnAlarm);
  for (uint64_t seed : seeds) {
    options.seed = seed;
    int n = std::snprintf(g_hung, sizeof g_hung,
                          "FAIL seed=%llu: not finished after %u s of wall-clock time: a hang inside one event\n"
                          "  replay: ncen-sim --seed %llu --trace (the last event printed is the one that hangs)\n",
                          static_cast<unsigned long long>(seed), seed_timeout_seconds,
                          static_cast<unsigned long long>(seed));
    g_hung_bytes = n > 0 ? std::min(size_t(n), sizeof g_hung - 1) : 0;
    alarm(seed_timeout_seconds);
    ncen::sim::SimResult r = ncen::sim::RunSeed(options);
    alarm(0);
    ++run;
    sweep.Update(ncen::AsBytes(r.run_digest));
    if (!r.ok) {
      failed.push_back(seed);
      PrintFailure(seed, r);
      if (expect_failure && r.failure.find(expected_text) == std::string::npos) {
        std::printf("seed=%llu failed, but not with \"%s\": not the failure expected\n",
                    static_cast<unsigned long long>(seed), expected_text.c_str());
        return 1;
      }
      if (expect_failure) break;
    } else if (single) {
      std::printf("seed=%llu ok: %s\n", static_cast<unsigned long long>(seed), r.summary.c_str());
      for (const auto& line : r.digests) std::printf("%s\n", line.c_str());
    } else if (verbose) {
      std::printf("seed=%llu ok run digest %s: %s\n", static_cast<unsigned long long>(seed),
                  r.run_digest.c_str(), r.summary.c_str());
    }
    std::fflush(stdout);
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // Two lines: the first replays exactly, the second is wall-clock time.
  std::printf("%zu seeds: %zu passed, %zu failed; sweep digest %s\n", run, run - failed.size(),
              failed.size(), ncen::ToHex(sweep.Final()).c_str());
  std::printf("time: %.1f s, %.2f seeds/s\n", seconds, double(run) / seconds);
  if (!failed.empty()) {
    std::string list;
    for (uint64_t s : failed) list += (list.empty() ? "" : " ") + std::to_string(s);
    std::printf("failing seeds: %s\n", list.c_str());
  }
  if (expect_failure) {
    if (failed.empty()) {
      std::printf("no seed of %zu failed: the mutant survived, or the known bug is gone\n", run);
      return 1;
    }
    std::printf("failure expected, and found: seed=%llu after %zu seeds\n",
                static_cast<unsigned long long>(failed.front()), run);
    return 0;
  }
  return failed.empty() ? 0 : 1;
}
