// ncen-bench http: the HTTP API under load (docs/api.md, README "Measured
// numbers").
//
// A node holding N seizures (synced from a hub, as a post's would be) runs as
// an ncen-node process with its HTTP API on loopback. C keep-alive clients in
// this process (one thread, Asio) log in once and then ask as fast as the
// server answers:
//   1. GET /api/records/{id} of random records for S seconds;
//   2. GET /api/search?q=REFERENCE (a whole reference, one hit) for S seconds;
//   3. the hub, holding M entries more, connects and syncs them to the node,
//      with no HTTP load: entries per second from the node's log line;
//   4. the node as it was before 3, the same sync while the clients ask GETs
//      and searches (half each) the whole time.
// Reported: requests per second, p50 and p99 latency, and the two sync rates.
#include "tools/ncen-bench/http_bench.h"

#include <utility>  // before Asio (../shared/TOOLCHAIN.md)

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/rng.h"
#include "node/http/accounts.h"
#include "tools/common/http_exchange.h"
#include "tools/common/seizure_gen.h"
#include "tools/ncen-bench/sync_fixture.h"

namespace ncen::bench {

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using json = nlohmann::ordered_json;

struct LoadResult {
  uint64_t requests = 0, errors = 0;
  double seconds = 0;
  std::vector<double> latencies_ms;
  double Rate() const { return seconds > 0 ? static_cast<double>(requests) / seconds : 0; }
  double Percentile(double p) {
    if (latencies_ms.empty()) return 0;
    std::sort(latencies_ms.begin(), latencies_ms.end());
    size_t i = std::min(latencies_ms.size() - 1, static_cast<size_t>(p * static_cast<double>(latencies_ms.size())));
    return latencies_ms[i];
  }
};

// C connections, each sending its next request as soon as the last answer is in.
class Load {
 public:
  using Next = std::function<std::string(Rng&)>;  // the next request's target
  Load(std::string address, std::string cookie, int clients, Next next)
      : address_(std::move(address)), cookie_(std::move(cookie)), clients_(clients), next_(std::move(next)) {}

  // Runs until `stop` is set; returns what it measured.
  LoadResult Run(const std::atomic<bool>& stop) {
    auto colon = address_.rfind(':');
    tcp::endpoint ep(asio::ip::make_address(address_.substr(0, colon)),
                     static_cast<uint16_t>(std::stoi(address_.substr(colon + 1))));
    std::vector<std::shared_ptr<Client>> clients;
    for (int i = 0; i < clients_; ++i) {
      auto c = std::make_shared<Client>(io_, *this, static_cast<uint64_t>(i) + 1);
      c->socket.connect(ep);
      c->socket.set_option(tcp::no_delay(true));
      clients.push_back(c);
    }
    auto start = Clock::now();
    for (auto& c : clients) c->Send();
    while (!stop.load()) io_.run_for(std::chrono::milliseconds(50));
    result_.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    stopping_ = true;
    for (auto& c : clients) {
      boost::system::error_code ec;
      c->socket.close(ec);
    }
    io_.run_for(std::chrono::milliseconds(100));
    return result_;
  }

 private:
  struct Client : std::enable_shared_from_this<Client> {
    Client(asio::io_context& io, Load& load, uint64_t seed) : socket(io), load(load), rng(seed) {}
    tcp::socket socket;
    Load& load;
    Rng rng;
    std::string request;
    asio::streambuf in;
    Clock::time_point sent;

    void Send() {
      request = "GET " + load.next_(rng) + " HTTP/1.1\r\nHost: " + load.address_ + "\r\nCookie: " + load.cookie_ +
                "\r\n\r\n";
      sent = Clock::now();
      asio::async_write(socket, asio::buffer(request), [self = shared_from_this()](boost::system::error_code ec, size_t) {
        if (ec) return;
        self->ReadHead();
      });
    }
    void ReadHead() {
      asio::async_read_until(socket, in, "\r\n\r\n", [self = shared_from_this()](boost::system::error_code ec, size_t n) {
        if (ec) return;
        std::string head(asio::buffers_begin(self->in.data()), asio::buffers_begin(self->in.data()) + static_cast<long>(n));
        self->in.consume(n);
        bool ok = head.rfind("HTTP/1.1 200", 0) == 0;
        size_t length = 0;
        auto at = head.find("Content-Length: ");
        if (at != std::string::npos) length = std::stoul(head.substr(at + 16));
        self->ReadBody(length, ok);
      });
    }
    void ReadBody(size_t length, bool ok) {
      size_t have = in.size();
      if (have >= length) {
        in.consume(length);
        Done(ok);
        return;
      }
      asio::async_read(socket, in, asio::transfer_exactly(length - have),
                       [self = shared_from_this(), length, ok](boost::system::error_code ec, size_t) {
                         if (ec) return;
                         self->in.consume(length);
                         self->Done(ok);
                       });
    }
    void Done(bool ok) {
      if (load.stopping_) return;
      auto& r = load.result_;
      ++r.requests;
      if (!ok) ++r.errors;
      r.latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
      Send();
    }
  };

  asio::io_context io_;
  std::string address_, cookie_;
  int clients_;
  Next next_;
  LoadResult result_;
  bool stopping_ = false;
};

std::string WaitForFile(const std::string& path) {
  for (int i = 0; i < 3000; ++i) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    if (!line.empty()) return line;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::fprintf(stderr, "ncen-bench: %s never appeared\n", path.c_str());
  std::exit(1);
}

std::string LogIn(const std::string& http) {
  std::string body = R"({"name":"bench","password":"bench password"})";
  std::string r = tools::HttpExchange(http, "POST /api/login HTTP/1.1\r\nHost: " + http +
                                     "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
                                     std::to_string(body.size()) + "\r\n\r\n" + body);
  auto at = r.find("ncen_session=");
  NCEN_CHECK(r.rfind("HTTP/1.1 200", 0) == 0 && at != std::string::npos);
  return r.substr(at, r.find(';', at) - at);
}

// Seconds of "in sync with source: sent 0, received M entries in X s" in the log.
double SyncSeconds(const std::string& log_path, uint64_t entries) {
  std::string want = "received " + std::to_string(entries) + " entries in ";
  for (int i = 0; i < 90000; ++i) {
    std::string log = ReadAll(log_path);
    auto at = log.find(want);
    if (at != std::string::npos) return std::strtod(log.c_str() + at + want.size(), nullptr);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::fprintf(stderr, "ncen-bench: the sync never finished; see %s\n", log_path.c_str());
  std::exit(1);
}

}  // namespace

int HttpBench(const HttpBenchArgs& args) {
  Bench b;
  if (!args.json) std::fprintf(stderr, "filling the hub with %llu seizures...\n", static_cast<unsigned long long>(args.records));
  b.Fill(args.records);
  b.StartSource();
  if (!args.json) std::fprintf(stderr, "syncing them to the node...\n");
  b.SyncOnce();
  b.StopSource();
  b.Fill(args.sync);  // what the measured syncs bring
  // The node listens; the hub dials it (so the sync starts when the hub does).
  auto sink_config = node::LoadConfig(b.sink_dir).value();
  sink_config.listen = "127.0.0.1:0";
  for (auto& p : sink_config.peers) p.address.clear();
  NCEN_CHECK(node::SaveConfig(b.sink_dir, sink_config).ok());
  NCEN_CHECK(node::EditUsers(b.sink_dir, [](std::vector<node::User>& users) {
               users.push_back(node::User{"bench", node::Role::kOfficer, node::HashPassword("bench password").value(),
                                          false, 1, 1});
               return Status::Ok();
             }).ok());
  std::vector<std::string> ids;
  {
    auto node = node::OpenNodeDir(b.sink_dir).value();
    NCEN_CHECK(node.store->CatchUpIndexAll().ok());
    for (const auto& id : node.store->RecordIdsOfType(storage::RecordType::kSeizure).value()) {
      ids.push_back(storage::FormatRecordId(id));
    }
  }
  fs::copy(b.sink_dir, b.sink_dir + "-base", fs::copy_options::recursive);
  const uint64_t n = args.records;
  Load::Next get = [&](Rng& rng) { return "/api/records/" + ids[rng.Below(ids.size())]; };
  Load::Next search = [n](Rng& rng) {
    uint64_t index = rng.Below(n);
    Rng gen(index * 7919 + 1);
    return "/api/search?q=" + tools::GenerateSeizure(gen, index)["reference"].get<std::string>();
  };
  Load::Next mixed = [&](Rng& rng) { return rng.Percent(50) ? get(rng) : search(rng); };

  auto start_node = [&](const std::string& log) {
    fs::remove(b.sink_dir + "/ncen-node.address");
    fs::remove(b.sink_dir + "/ncen-node.http-address");
    pid_t pid = Spawn({NodeBinary(), "--data", b.sink_dir, "--http-listen", "127.0.0.1:0"}, log);
    std::string address = WaitForFile(b.sink_dir + "/ncen-node.address");
    std::string http = WaitForFile(b.sink_dir + "/ncen-node.http-address");
    return std::tuple{pid, address, http};
  };
  auto start_hub = [&](const std::string& node_address) {
    auto source_config = node::LoadConfig(b.source_dir).value();
    for (auto& p : source_config.peers) p.address = node_address;
    NCEN_CHECK(node::SaveConfig(b.source_dir, source_config).ok());
    b.StartSource();
  };
  auto stop = [](pid_t pid) {
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
  };
  auto timed = [&](const std::string& http, const std::string& cookie, Load::Next next, double seconds) {
    std::atomic<bool> done{false};
    Load load(http, cookie, args.clients, std::move(next));
    std::thread timer([&] {
      std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
      done = true;
    });
    LoadResult r = load.Run(done);
    timer.join();
    return r;
  };

  // 1-3: load alone, then the sync alone.
  auto [pid, address, http] = start_node(b.root + "/node1.log");
  std::string cookie = LogIn(http);
  if (!args.json) std::fprintf(stderr, "GET and search, %d clients, %.0f s each...\n", args.clients, args.seconds);
  LoadResult gets = timed(http, cookie, get, args.seconds);
  LoadResult searches = timed(http, cookie, search, args.seconds);
  start_hub(address);
  double quiet_s = SyncSeconds(b.root + "/node1.log", args.sync);
  b.StopSource();
  stop(pid);

  // 4: the same sync under load.
  fs::remove_all(b.sink_dir);
  fs::copy(b.sink_dir + "-base", b.sink_dir, fs::copy_options::recursive);
  auto [pid2, address2, http2] = start_node(b.root + "/node2.log");
  std::string cookie2 = LogIn(http2);
  std::atomic<bool> synced{false};
  LoadResult during;
  std::thread loader([&] {
    Load load(http2, cookie2, args.clients, mixed);
    during = load.Run(synced);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the load is on
  start_hub(address2);
  double loaded_s = SyncSeconds(b.root + "/node2.log", args.sync);
  synced = true;
  loader.join();
  b.StopSource();
  stop(pid2);
  fs::remove_all(b.sink_dir + "-base");

  double quiet_rate = static_cast<double>(args.sync) / quiet_s, loaded_rate = static_cast<double>(args.sync) / loaded_s;
  if (args.json) {
    auto row = [](LoadResult& r) {
      return json{{"requests_per_s", r.Rate()}, {"p50_ms", r.Percentile(0.50)}, {"p99_ms", r.Percentile(0.99)},
                  {"errors", r.errors}, {"requests", r.requests}};
    };
    json out = {{"records", args.records},
                {"clients", args.clients},
                {"get", row(gets)},
                {"search", row(searches)},
                {"during_sync", row(during)},
                {"sync_entries", args.sync},
                {"sync_alone_entries_per_s", quiet_rate},
                {"sync_under_load_entries_per_s", loaded_rate},
                {"sync_ratio", loaded_rate / quiet_rate}};
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("HTTP API, %llu seizures, %d keep-alive clients on loopback\n",
              static_cast<unsigned long long>(args.records), args.clients);
  std::printf("  %-34s %10s %9s %9s %7s\n", "", "req/s", "p50 ms", "p99 ms", "errors");
  auto line = [](const char* what, LoadResult& r) {
    std::printf("  %-34s %10.0f %9.2f %9.2f %7llu\n", what, r.Rate(), r.Percentile(0.50), r.Percentile(0.99),
                static_cast<unsigned long long>(r.errors));
  };
  line("GET /api/records/{id}", gets);
  line("GET /api/search?q=REFERENCE", searches);
  line("half each, during the sync", during);
  std::printf("  sync of %llu entries into the node: alone %.0f entries/s (%.2f s), under load %.0f entries/s "
              "(%.2f s): %.2f x\n",
              static_cast<unsigned long long>(args.sync), quiet_rate, quiet_s, loaded_rate, loaded_s,
              loaded_rate / quiet_rate);
  return 0;
}

int UiNode(const UiNodeArgs& args) {
  if (fs::exists(args.out)) {
    std::fprintf(stderr, "ncen-bench: %s exists: give a directory to create\n", args.out.c_str());
    return 1;
  }
  Bench b;
  b.Fill(args.records, /*at_sink=*/true);  // indexed too
  std::error_code ec;
  fs::rename(b.sink_dir, args.out, ec);
  if (ec) {  // another file system: copy
    fs::copy(b.sink_dir, args.out, fs::copy_options::recursive, ec);
    if (ec) {
      std::fprintf(stderr, "ncen-bench: cannot create %s: %s\n", args.out.c_str(), ec.message().c_str());
      return 1;
    }
  }
  uint64_t index = args.records / 2;
  Rng gen(index * 7919 + 1);
  json out = {{"dir", args.out},
              {"records", args.records},
              {"reference", tools::GenerateSeizure(gen, index)["reference"]},
              {"word", "heroin"}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace ncen::bench
