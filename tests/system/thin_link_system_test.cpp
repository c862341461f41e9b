// Thin links (issue 17): a post and its hub, real ncen-node processes, with
// a LinkEmulator (tools/common/link_emulator.h) between them: the post dials
// the relay, the relay dials the hub. 64 kbit/s each way, 600 ms round trip,
// the link of a remote post on a VSAT or a poor mobile data line.
//
// The backlog is 5,000 lean seizures (reference, date, country, office, one
// goods line): 593 bytes per entry on the wire (measured on loopback,
// against ~965 for the generator's realistic ones), 2.97 MB in all, so the
// transfer alone takes 371 s at 64 kbit/s (10 minutes with realistic
// records). What is tested is that the sync finishes, not a record's size.
//
// Slow (6+ minutes each when they pass) and hidden: run them alone with
//   ctest -L thinlink        or   tests/thin_link_system_test "[thinlink]"
// Each gives up with a clear failure after 12 minutes (about twice the bare
// transfer time; NCEN_THINLINK_TIMEOUT_S=SECONDS changes it).
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/node_proc.h"
#include "tests/support/temp_dir.h"
#include "tools/common/link_emulator.h"

namespace ncen::testing {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr uint64_t kBacklogEntries = 5000;
constexpr uint64_t kLinkBitsPerSecond = 64000;
constexpr uint32_t kRoundTripMs = 600;
constexpr auto kGiveUpAfterDefault = std::chrono::seconds(12 * 60);

std::chrono::seconds GiveUpAfter() {
  const char* env = std::getenv("NCEN_THINLINK_TIMEOUT_S");
  return env ? std::chrono::seconds(std::atoi(env)) : kGiveUpAfterDefault;
}

// `n` small valid seizures as NDJSON for `ncenctl import --json`.
void WriteLeanSeizures(const std::string& path, uint64_t n) {
  std::ofstream out(path);
  for (uint64_t i = 0; i < n; ++i) {
    char reference[32];
    std::snprintf(reference, sizeof reference, "PKTKM-2026-%07llu", static_cast<unsigned long long>(i));
    out << nlohmann::json{{"type", "seizure"},
                          {"reference", reference},
                          {"date", "2026-11-02"},
                          {"country", "PK"},
                          {"office", "PKTKM"},
                          {"goods", {{{"category", "drugs"}, {"subtype", "heroin"}, {"quantity", 1 + i % 50}, {"unit", "kg"}}}}}
               .dump()
        << "\n";
  }
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

std::string LastLines(const std::string& text, size_t lines) {
  size_t at = text.size();
  for (size_t i = 0; i <= lines && at != std::string::npos && at > 0; ++i) at = text.rfind('\n', at - 1);
  return at == std::string::npos ? text : text.substr(at + 1);
}

// The post holds the backlog, then both daemons start with the emulated link
// between them; returns when the hub holds every entry and the post reports
// being in sync, or fails after GiveUpAfter().
void SyncBacklogOverThinLink(uint32_t cut_interval_ms) {
  TempDir root;
  NodeProc hub(root, "hub", "hub", true);
  NodeProc post(root, "post", "post", false);
  std::string records = root.Sub("backlog.ndjson");
  WriteLeanSeizures(records, kBacklogEntries);
  CtlOk(post.dir, {"import", "--json", records});
  REQUIRE(Status(post.dir)["entries"] == kBacklogEntries);

  CtlOk(hub.dir, {"peers", "add", "--name", "post", "--id", post.id});
  std::string hub_address = hub.Start();
  tools::LinkOptions options;
  options.rate_bits_per_s = kLinkBitsPerSecond;
  options.one_way_delay_ms = kRoundTripMs / 2;
  options.cut_interval_ms = cut_interval_ms;
  auto link = tools::LinkEmulator::Start(hub_address, options);
  REQUIRE(link.ok());
  CtlOk(post.dir, {"peers", "add", "--name", "hub", "--id", hub.id, "--address", (*link)->address()});
  auto start = Clock::now();
  post.Start();

  uint64_t at_hub = 0;
  auto last_report = start;
  const auto give_up_after = GiveUpAfter();
  while (Clock::now() - start < give_up_after) {
    at_hub = Status(hub.dir)["entries"];
    if (at_hub == kBacklogEntries) break;
    if (Clock::now() - last_report > 30s) {
      last_report = Clock::now();
      tools::LinkCounters c = (*link)->counters();
      std::fprintf(stderr, "thin link: %.0f s, hub holds %llu of %llu, %llu bytes to the hub, %llu connections\n",
                   std::chrono::duration<double>(last_report - start).count(), static_cast<unsigned long long>(at_hub),
                   static_cast<unsigned long long>(kBacklogEntries),
                   static_cast<unsigned long long>(c.bytes_to_target),
                   static_cast<unsigned long long>(c.connections_accepted));
    }
    std::this_thread::sleep_for(2s);
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  tools::LinkCounters c = (*link)->counters();
  std::string post_log = ReadWholeFile(post.log), hub_log = ReadWholeFile(hub.log);
  INFO("after " << seconds << " s the hub holds " << at_hub << " of " << kBacklogEntries << " entries; link: "
                << c.bytes_to_target << " bytes to the hub, " << c.bytes_from_target << " to the post, "
                << c.connections_accepted << " connections, " << c.cuts << " cuts; the post logged "
                << Count(post_log, "disconnected from") << " disconnections\npost log (last lines):\n"
                << LastLines(post_log, 20) << "\nhub log (last lines):\n"
                << LastLines(hub_log, 20));
  if (at_hub != kBacklogEntries) {
    FAIL("the backlog did not reach the hub within " << give_up_after.count()
                                                     << " s over the thin link");
  }
  std::fprintf(stderr, "thin link: the hub holds all %llu entries after %.1f s (%llu bytes to the hub, %.0f per entry)\n",
               static_cast<unsigned long long>(kBacklogEntries), seconds,
               static_cast<unsigned long long>(c.bytes_to_target),
               static_cast<double>(c.bytes_to_target) / static_cast<double>(kBacklogEntries));
  // The post knows it too (its status: connected, nothing behind or ahead).
  WaitSynced(post, 120);
  CHECK(Ctl(hub.dir, {"log", "verify"}).exit_code == 0);
  (*link)->Stop();
}

TEST_CASE("a post's backlog of 5000 seizures reaches its hub over 64 kbit/s with a 600 ms round trip",
          "[.thinlink]") {
  SyncBacklogOverThinLink(0);
}

TEST_CASE("a post's backlog of 5000 seizures reaches its hub over 64 kbit/s when the link is cut every 30 s",
          "[.thinlink]") {
  SyncBacklogOverThinLink(30000);
}

}  // namespace
}  // namespace ncen::testing
