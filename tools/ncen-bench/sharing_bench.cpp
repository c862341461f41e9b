// ncen-bench sharing: statistics and releases at the sizes of issue 14.
//
//   1. A national hub's store of N seizures over one year (the generator's
//      dates fall in 2026), indexed; two-dimension pivots over the year
//      (commodity × country, route country × month), median of --runs.
//   2. Releasing --release seizures of it in one call (Releases::Release,
//      what `ncenctl release --ids FILE` runs): reports/s.
//   3. A regional hub's store of N seizure reports (made from generated
//      seizures by BuildReport, written 1,000 per transaction), indexed; the
//      same pivots over the reports.
//
// Filling and indexing are timed and printed too, but they are the cost of
// receiving the records, paid once as they arrive, not of a pivot.
#include "tools/ncen-bench/sharing_bench.h"

#include "tools/ncen-bench/temp_store.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/rng.h"
#include "node/releases.h"
#include "node/stats.h"
#include "storage/record_json.h"
#include "storage/sharing.h"
#include "storage/store.h"
#include "tools/common/seizure_gen.h"

namespace ncen::bench {

namespace {

using Steady = std::chrono::steady_clock;
using storage::RecordType;

double Seconds(Steady::time_point since) { return std::chrono::duration<double>(Steady::now() - since).count(); }

using Store = TempStore;

// Fills `s` with n records of `type` (seizures, or reports made from
// seizures) 1,000 per transaction; returns the seizure ids.
std::vector<storage::RecordId> Fill(Store& s, uint64_t n, RecordType type) {
  Rng rng(type == RecordType::kSeizure ? 3 : 4);
  std::vector<storage::RecordId> ids;
  ids.reserve(n);
  int64_t now = storage::UnixMillisNow();
  storage::ReleaseStamp stamp{std::string(32, 'a'), "bench hub", "2026-11-30T12:00:00.000Z"};
  for (uint64_t at = 0; at < n; at += 1000) {
    std::vector<storage::LocalChange> changes;
    for (uint64_t i = at; i < std::min(n, at + 1000); ++i) {
      nlohmann::ordered_json seizure = tools::GenerateSeizure(rng, i);
      Bytes payload;
      storage::Scope scope = storage::Scope::kNational;
      if (type == RecordType::kSeizure) {
        payload = storage::RecordFromJson(type, seizure).value();
      } else {
        auto draft = storage::BuildReport(seizure, {}, {}, {}, stamp).value();
        payload = storage::RecordFromJson(type, draft.report).value();
        scope = storage::Scope::kRegional;
      }
      changes.push_back({storage::NewRecordId(now), type, storage::Op::kPut, std::move(payload), scope});
      ids.push_back(changes.back().id);
    }
    NCEN_CHECK(s.store->AppendLocal(s.identity, changes).ok());
  }
  return ids;
}

struct Pivot {
  const char* name;
  std::vector<node::Dimension> by;
};

// Median seconds of `runs` pivots; `cells` gets the cell count.
double TimePivot(storage::Store& store, RecordType type, const Pivot& p, int runs, size_t* cells) {
  std::vector<double> times;
  for (int r = 0; r < runs; ++r) {
    node::StatsRequest req;
    req.type = type;
    req.by = p.by;
    req.from = "2026-01-01";
    req.to = "2026-12-31";
    auto start = Steady::now();
    auto result = node::ComputeStats(store, req);
    times.push_back(Seconds(start));
    NCEN_CHECK(result.ok());
    *cells = result->cells.size();
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int SharingBench(const SharingBenchArgs& a) {
  const std::vector<Pivot> pivots = {
      {"commodity x country", {node::Dimension::kCommodity, node::Dimension::kCountry}},
      {"route_country x month", {node::Dimension::kRouteCountry, node::Dimension::kMonth}},
  };
  nlohmann::json out = {{"records", a.records}, {"runs", a.runs}};
  auto run = [&](Store& s, RecordType type, const char* key) {
    std::fprintf(stderr, "sharing: filling a store with %llu %s records...\n",
                 static_cast<unsigned long long>(a.records), storage::RecordTypeName(type));
    auto start = Steady::now();
    auto ids = Fill(s, a.records, type);
    double fill_s = Seconds(start);
    start = Steady::now();
    NCEN_CHECK(s.store->CatchUpIndexAll().ok());
    double index_s = Seconds(start);
    nlohmann::json part = {{"fill_s", fill_s}, {"index_s", index_s}};
    for (const Pivot& p : pivots) {
      size_t cells = 0;
      double t = TimePivot(*s.store, type, p, a.runs, &cells);
      part[p.name] = {{"seconds", t}, {"cells", cells}};
    }
    out[key] = part;
    return ids;
  };
  {
    Store national(false, "national hub", "hub");
    auto ids = run(national, RecordType::kSeizure, "national_seizures");
    uint64_t n = std::min<uint64_t>(a.release, ids.size());
    node::Releases releases(*national.store, national.identity);
    (void)releases.Reference(ids[0]);  // the release key, made once
    auto start = Steady::now();
    auto released = releases.Release(std::span<const storage::RecordId>(ids.data(), n), storage::Scope::kRegional, false);
    double release_s = Seconds(start);
    NCEN_CHECK(released.ok());
    out["release"] = {{"seizures", n}, {"seconds", release_s}, {"reports_per_s", static_cast<double>(n) / release_s}};
  }
  {
    Store regional(false, "regional hub", "regional");
    run(regional, RecordType::kSeizureReport, "regional_reports");
  }
  if (a.json) {
    std::cout << out.dump() << "\n";
    return 0;
  }
  std::printf("sharing: %llu records, pivots over 2026, median of %d runs\n",
              static_cast<unsigned long long>(a.records), a.runs);
  for (const char* key : {"national_seizures", "regional_reports"}) {
    const auto& p = out[key];
    std::printf("  %s: filled in %.1f s, indexed in %.1f s\n", key, p["fill_s"].get<double>(),
                p["index_s"].get<double>());
    for (const Pivot& pv : pivots) {
      std::printf("    stats %-24s %8.3f s  (%zu cells)\n", pv.name, p[pv.name]["seconds"].get<double>(),
                  p[pv.name]["cells"].get<size_t>());
    }
  }
  std::printf("  release %llu seizures in one call: %.2f s, %.0f reports/s\n",
              static_cast<unsigned long long>(out["release"]["seizures"].get<uint64_t>()),
              out["release"]["seconds"].get<double>(), out["release"]["reports_per_s"].get<double>());
  return 0;
}

}  // namespace ncen::bench
