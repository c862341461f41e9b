// The two-node fixture of ncen-bench's replication scenarios (sync_bench.cpp,
// link_bench.cpp): a "source" hub and a "sink" post in a temporary
// directory, filled with seizures from 100 authoring offices, the source run
// as an ncen-node daemon and the sink with --once. Benchmarks only; one
// thread.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "base/check.h"
#include "base/rng.h"
#include "node/config.h"
#include "node/node_dir.h"
#include "storage/membership.h"
#include "storage/peer_status.h"
#include "storage/record_json.h"
#include "tools/common/seizure_gen.h"
#include "tools/ncen-bench/proc.h"

namespace ncen::bench {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kAuthors = 100;


inline crypto::Identity Author(int i) {
  std::array<uint8_t, 32> seed{};
  seed[0] = static_cast<uint8_t>(i);
  seed[1] = 0xbe;
  return crypto::Identity::FromSeed(seed);
}

// Appends `count` entries to the 100 author feeds held in `store`, continuing
// each chain; signs on two threads. Returns header + payload bytes written.
inline uint64_t AddAuthoredEntries(storage::Store& store, uint64_t count, uint64_t first_index) {
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
  std::string source_address;  // where the source listens, once started
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

  // Adds n entries at the source (or, `at_sink`, at the sink).
  void Fill(uint64_t n, bool at_sink = false) {
    auto node = node::OpenNodeDir(at_sink ? sink_dir : source_dir);
    NCEN_CHECK(node.ok());
    entry_bytes += AddAuthoredEntries(*node->store, n, entries);
    entries += n;
    // A node that has been running has indexed what it holds (ncen-node does
    // it when idle); do it here, untimed, so no index slice of the source
    // daemon lands inside a measured sync.
    NCEN_CHECK(node->store->CatchUpIndexAll().ok());
  }

  // ncen-node --compress-level of both nodes (0: sent uncompressed).
  int compress_level = 1;

  void StartSource() {
    fs::remove(source_dir + "/ncen-node.address");
    source_pid = Spawn({NodeBinary(), "--data", source_dir, "--compress-level", std::to_string(compress_level)},
                       root + "/source.log");
    std::string address;
    for (int i = 0; i < 1000 && address.empty(); ++i) {
      std::ifstream in(source_dir + "/ncen-node.address");
      std::getline(in, address);
      if (address.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    NCEN_CHECK(!address.empty());
    source_address = address;
    PointSinkAt(address);
  }

  // The sink dials the source at `address` (the source's, or a relay's).
  void PointSinkAt(const std::string& address) {
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
    bool ok = true;          // false: the sink failed (timed out); `log` says why
    std::string log;         // the sink's log lines of this run
  };

  // Runs the sink with --once; source_stats accumulates the source's memory.
  // With `exit_on_failure` false, a sink that fails (or reaches
  // `timeout_s`) is reported in the Run instead of ending the benchmark.
  Run SyncOnce(double timeout_s = 900, bool exit_on_failure = true) {
    Run run;
    uint64_t wire_before = SinkWireBytes();
    std::string log_path = root + "/sink.log";
    size_t log_size = ReadAll(log_path).size();
    auto start = Clock::now();
    pid_t pid = Spawn({NodeBinary(), "--data", sink_dir, "--once", "--timeout", std::to_string(timeout_s),
                       "--compress-level", std::to_string(compress_level)},
                      log_path);
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      SampleProc(pid, run.sink);
      SampleProc(source_pid, source_stats);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    run.process_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    std::string log = ReadAll(log_path).substr(log_size);
    run.log = log;
    if ((!WIFEXITED(status) || WEXITSTATUS(status) != 0) && !exit_on_failure) {
      run.ok = false;
      run.wire_bytes = SinkWireBytes() - wire_before;
      return run;
    }
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
  // members 0: a plain copy.
  Bench(const Bench& other, uint64_t members) : Bench(CopyTag{}) {
    fs::copy(other.source_dir, source_dir, fs::copy_options::recursive);
    fs::copy(other.sink_dir, sink_dir, fs::copy_options::recursive);
    entries = other.entries;
    entry_bytes = other.entry_bytes;
    compress_level = other.compress_level;
    if (members == 0) return;
    auto source_id = node::OpenNodeDir(source_dir).value().identity.public_key();
    auto sink_id = node::OpenNodeDir(sink_dir).value().identity.public_key();
    BenchNetwork network(members, source_id, sink_id);
    network.Join(source_dir);
    network.Join(sink_dir);
  }

  uint64_t SinkEntries() { return EntriesIn(sink_dir); }
  uint64_t SourceEntries() { return EntriesIn(source_dir); }
  static uint64_t EntriesIn(const std::string& dir) {
    auto node = node::OpenNodeDir(dir);
    NCEN_CHECK(node.ok());
    return node->store->Stats().value().entries;
  }
};

}  // namespace ncen::bench
