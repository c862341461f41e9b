// The TCP transport over real loopback sockets: a good peer is served while
// bad ones — garbage, truncated or oversized frames, flipped bits, replays, a
// peer that sends one byte at a time, a peer that never reads, a peer outside
// the roster — are each dropped within bounded time with a log line.
#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <thread>

#include "base/log.h"
#include "replication/transport/tcp.h"

namespace ncen::transport {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using crypto::Identity;
using crypto::NoiseRole;
using namespace std::chrono_literals;

Identity Seeded(uint8_t n) {
  std::array<uint8_t, 32> seed{};
  seed.fill(n);
  return Identity::FromSeed(seed);
}

ChannelOptions Options() {
  ChannelOptions options;
  std::string net = "tcp-test";
  options.network_id = Bytes(net.begin(), net.end());
  return options;
}

TcpLimits ShortLimits() {
  TcpLimits limits;
  limits.handshake_timeout = 400ms;
  limits.frame_timeout = 400ms;
  limits.write_timeout = 400ms;
  limits.close_timeout = 400ms;
  limits.max_queued_bytes = size_t{2} << 20;
  return limits;
}

// Captures log lines for the duration of a test.
struct LogCapture {
  std::mutex mutex;
  std::vector<std::string> lines;
  LogCapture() {
    log::SetSink([this](std::string_view line) {
      std::lock_guard lock(mutex);
      lines.emplace_back(line);
    });
  }
  ~LogCapture() { log::SetSink({}); }
  bool Contains(std::string_view text) { return Count(text) > 0; }
  size_t Count(std::string_view text) {
    std::lock_guard lock(mutex);
    size_t n = 0;
    for (auto& l : lines) n += l.find(text) != std::string::npos;
    return n;
  }
  std::vector<std::string> Matching(std::string_view text) {
    std::lock_guard lock(mutex);
    std::vector<std::string> out;
    for (auto& l : lines) {
      if (l.find(text) != std::string::npos) out.push_back(l);
    }
    return out;
  }
};

// An echo server: the responder side, trusting alice and carol.
struct Server {
  asio::io_context io;
  Identity bob = Seeded(2);
  std::vector<crypto::PublicKey> trusted = {Seeded(1).public_key(), Seeded(3).public_key()};
  std::unique_ptr<Listener> listener;
  TcpLimits limits = ShortLimits();
  std::vector<Status> closes;  // one per finished connection
  std::vector<std::shared_ptr<Connection>> live;
  size_t flood_messages = 0;   // "flood" makes the server send this many 64 KiB messages

  explicit Server(ListenerLimits listener_limits = {}) {
    auto l = Listener::Open(
        io, "127.0.0.1:0",
        [this](tcp::socket socket, HandshakeSlot slot) { Accept(std::move(socket), std::move(slot)); },
        listener_limits);
    REQUIRE(l.ok());
    listener = std::move(l).value();
  }
  std::string address() const { return listener->address(); }

  PeerCheck Check() {
    return [this](const crypto::PublicKey& key) -> Result<std::string> {
      for (size_t i = 0; i < trusted.size(); ++i) {
        if (trusted[i] == key) return std::string(i == 0 ? "alice" : "carol");
      }
      return Unauthenticated("not in the trust roster");
    };
  }

  void Accept(tcp::socket socket, HandshakeSlot slot) {
    Connection::Handler handler;
    handler.on_message = [this](Connection& c, Bytes& message) {
      if (std::string_view(reinterpret_cast<const char*>(message.data()), message.size()) == "flood") {
        Flood(c.shared_from_this());
        return;
      }
      (void)c.Send(message);
    };
    handler.on_close = [this](Connection& c, const Status& error) {
      closes.push_back(error);
      std::erase_if(live, [&](auto& p) { return p.get() == &c; });
    };
    live.push_back(Connection::Start(std::move(socket), NoiseRole::kResponder, bob, Options(),
                                     Check(), limits, std::move(handler), std::move(slot)));
  }

  // Sends 64 KiB messages every millisecond, as a replication sender would,
  // until the connection refuses. Holds the connection weakly: no cycle.
  std::unique_ptr<asio::steady_timer> flood_timer;
  std::weak_ptr<Connection> flooded;
  void Flood(std::shared_ptr<Connection> c) {
    flooded = c;
    flood_timer = std::make_unique<asio::steady_timer>(io);
    FloodStep();
  }
  void FloodStep() {
    auto c = flooded.lock();
    if (!c || !c->is_open()) return;
    for (int i = 0; i < 4; ++i) {
      if (!c->Send(Bytes(65536, 0x42)).ok()) return;
    }
    flood_timer->expires_after(1ms);
    flood_timer->async_wait([this](const boost::system::error_code& e) {
      if (!e) FloodStep();
    });
  }

  // Runs the loop until `done` or `limit`.
  bool RunUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = 5000ms) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > end) return false;
      io.run_for(5ms);
      io.restart();
    }
    return true;
  }
};

// A good client in the server's io_context: connects, sends `count` messages,
// collects the echoes.
struct GoodClient {
  std::shared_ptr<Connection> connection;
  std::vector<Bytes> echoes;
  bool closed = false;
  Status close_error;
  Identity alice = Seeded(1);
  uint64_t rate = 0;  // the client's send cap (0: none)

  void Connect(Server& server, size_t count, size_t size) {
    Dial(server.io, server.address(), 1000ms, [this, &server, count, size](Result<tcp::socket> socket) {
      REQUIRE(socket.ok());
      Connection::Handler handler;
      handler.on_open = [count, size, rate = rate](Connection& c) {
        c.SetRateLimit(rate);
        for (size_t i = 0; i < count; ++i) REQUIRE(c.Send(Bytes(size, static_cast<uint8_t>(i))).ok());
      };
      handler.on_message = [this](Connection&, Bytes& m) { echoes.push_back(std::move(m)); };
      handler.on_close = [this](Connection&, const Status& e) {
        closed = true;
        close_error = e;
      };
      PeerCheck check = [bob = server.bob.public_key()](const crypto::PublicKey& k) -> Result<std::string> {
        if (k == bob) return std::string("bob");
        return Unauthenticated("unknown");
      };
      connection = Connection::Start(std::move(socket).value(), NoiseRole::kInitiator, alice,
                                     Options(), check, ShortLimits(), std::move(handler));
    });
  }
};

// A hand-driven client on its own thread with blocking sockets: does the
// handshake with a SecureChannel, then misbehaves as scripted.
struct RawClient {
  asio::io_context io;
  tcp::socket socket{io};
  Identity me;
  std::unique_ptr<SecureChannel> channel;

  explicit RawClient(const std::string& address, Identity who = Seeded(1)) : me(std::move(who)) {
    auto endpoint = ParseEndpoint(address);
    REQUIRE(endpoint.ok());
    socket.connect(endpoint.value());
    channel = std::make_unique<SecureChannel>(
        NoiseRole::kInitiator, me, Options(),
        [](const crypto::PublicKey&) -> Result<std::string> { return std::string("server"); });
  }
  void Write(ByteView bytes) { asio::write(socket, asio::buffer(bytes.data(), bytes.size())); }
  // Reads until the channel is open (or fails). Returns false on failure.
  bool Handshake() {
    REQUIRE(channel->Start().ok());
    Write(channel->TakeOutput());
    uint8_t buffer[4096];
    while (!channel->is_open()) {
      boost::system::error_code error;
      size_t n = socket.read_some(asio::buffer(buffer), error);
      if (error) return false;
      if (!channel->Receive(ByteView(buffer, n)).ok()) return false;
      if (channel->HasOutput()) Write(channel->TakeOutput());
    }
    return true;
  }
  // True when the server closed the socket (EOF or reset) within `limit`.
  bool WaitForDrop(std::chrono::milliseconds limit) {
    auto end = std::chrono::steady_clock::now() + limit;
    socket.non_blocking(true);
    uint8_t buffer[65536];
    while (std::chrono::steady_clock::now() < end) {
      boost::system::error_code error;
      socket.read_some(asio::buffer(buffer), error);
      if (error == asio::error::would_block) {
        std::this_thread::sleep_for(5ms);
        continue;
      }
      if (error) return true;
    }
    return false;
  }
};

// Runs `script` on a thread while the server loop runs, until it returns.
void RunWithServer(Server& server, const std::function<void()>& script) {
  std::atomic<bool> done{false};
  std::thread thread([&] {
    script();
    done = true;
  });
  server.RunUntil([&] { return done.load(); }, 15000ms);
  thread.join();
}

TEST_CASE("tcp: a trusted peer connects, exchanges messages and closes cleanly", "[tcp]") {
  Server server;
  GoodClient client;
  client.Connect(server, 5, 200000);  // each message spans 4 frames
  REQUIRE(server.RunUntil([&] { return client.echoes.size() == 5; }));
  for (size_t i = 0; i < 5; ++i) CHECK(client.echoes[i] == Bytes(200000, static_cast<uint8_t>(i)));
  CHECK(client.connection->peer_name() == "bob");
  client.connection->Close("done");
  REQUIRE(server.RunUntil([&] { return client.closed && server.closes.size() == 1; }));
  CHECK(client.close_error.ok());
  CHECK(server.closes[0].ok());
}

TEST_CASE("tcp: a rate cap paces what a connection writes, and everything arrives", "[tcp][rate]") {
  Server server;
  GoodClient client;
  client.rate = 50000;  // bytes per second
  auto start = std::chrono::steady_clock::now();
  client.Connect(server, 4, 25000);  // 100 kB: about 2 s under the cap
  REQUIRE(server.RunUntil([&] { return client.echoes.size() == 4; }, 10000ms));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO("100 kB under a 50 kB/s cap took " << seconds << " s");
  CHECK(seconds > 1.6);
  for (size_t i = 0; i < 4; ++i) CHECK(client.echoes[i] == Bytes(25000, static_cast<uint8_t>(i)));
  CHECK(client.connection->queued_bytes() == 0);
  CHECK(client.connection->stats().bytes_out >= 100000);
}

TEST_CASE("tcp: an unknown key is refused after the handshake and logged", "[tcp][bad]") {
  LogCapture log;
  Server server;
  Identity mallory = Seeded(9);
  bool dropped = false;
  RunWithServer(server, [&] {
    RawClient client(server.address(), mallory);
    client.Handshake();  // completes on our side; the server refuses at message 3
    dropped = client.WaitForDrop(3000ms);
  });
  CHECK(dropped);
  REQUIRE(server.closes.size() == 1);
  CHECK(server.closes[0].code() == StatusCode::kUnauthenticated);
  CHECK(log.Contains("refused peer " + crypto::Fingerprint(mallory.public_key())));
  CHECK(log.Contains("127.0.0.1:"));
}

TEST_CASE("tcp: bad peers are dropped with a log line while a good peer is served", "[tcp][bad]") {
  struct Case {
    const char* name;
    std::function<void(RawClient&)> misbehave;
    const char* log_text;
  };
  std::vector<Case> cases = {
      {"garbage", [](RawClient& c) { c.Write(AsBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); },
       "frame length"},
      {"oversized length", [](RawClient& c) { c.Write(Bytes{0xff, 0xff, 1, 2, 3}); }, "frame length"},
      {"truncated handshake frame",
       [](RawClient& c) {
         REQUIRE(c.channel->Start().ok());
         Bytes m1 = c.channel->TakeOutput();
         m1.resize(20);
         c.Write(m1);
       },
       "handshake not finished"},
      {"one byte at a time during the handshake",
       [](RawClient& c) {
         REQUIRE(c.channel->Start().ok());
         Bytes m1 = c.channel->TakeOutput();
         for (size_t i = 0; i < m1.size(); ++i) {
           boost::system::error_code e;
           asio::write(c.socket, asio::buffer(&m1[i], 1), e);
           if (e) return;
           std::this_thread::sleep_for(100ms);
         }
       },
       "handshake not finished"},
      {"one byte at a time after the handshake",
       [](RawClient& c) {
         REQUIRE(c.Handshake());
         REQUIRE(c.channel->Send(Bytes(1000, 7)).ok());
         Bytes frame = c.channel->TakeOutput();
         for (size_t i = 0; i < frame.size(); ++i) {
           boost::system::error_code e;
           asio::write(c.socket, asio::buffer(&frame[i], 1), e);
           if (e) return;
           std::this_thread::sleep_for(100ms);
         }
       },
       "frame not completed"},
      {"flipped bit in a transport message",
       [](RawClient& c) {
         REQUIRE(c.Handshake());
         REQUIRE(c.channel->Send(Bytes(100, 7)).ok());
         Bytes frame = c.channel->TakeOutput();
         frame[30] ^= 0x04;
         c.Write(frame);
       },
       "transport message"},
      {"flipped bit in handshake message 3",
       [](RawClient& c) {
         REQUIRE(c.channel->Start().ok());
         c.Write(c.channel->TakeOutput());
         uint8_t buffer[256];
         size_t got = 0;
         while (got < 130) got += c.socket.read_some(asio::buffer(buffer + got, sizeof buffer - got));
         REQUIRE(c.channel->Receive(ByteView(buffer, got)).ok());
         Bytes m3 = c.channel->TakeOutput();
         m3[60] ^= 0x01;
         c.Write(m3);
       },
       "Noise handshake failed"},
      {"replayed transport message",
       [](RawClient& c) {
         REQUIRE(c.Handshake());
         REQUIRE(c.channel->Send(Bytes(100, 7)).ok());
         Bytes frame = c.channel->TakeOutput();
         c.Write(frame);
         c.Write(frame);
       },
       "transport message"},
      {"replayed handshake message",
       [](RawClient& c) {
         REQUIRE(c.channel->Start().ok());
         Bytes m1 = c.channel->TakeOutput();
         c.Write(m1);
         c.Write(m1);
       },
       "frame length 32"},
  };
  for (auto& bad : cases) {
    DYNAMIC_SECTION(bad.name) {
      LogCapture log;
      Server server;
      bool dropped = false;
      GoodClient good;
      RunWithServer(server, [&] {
        RawClient client(server.address());
        bad.misbehave(client);
        dropped = client.WaitForDrop(5000ms);
      });
      // A good peer is served by the same server meanwhile and afterwards.
      good.Connect(server, 3, 1000);
      REQUIRE(server.RunUntil([&] { return good.echoes.size() == 3; }));
      CHECK(dropped);
      REQUIRE(!server.closes.empty());
      CHECK_FALSE(server.closes[0].ok());
      CHECK(log.Contains(bad.log_text));
      CHECK(log.Contains("dropped"));
    }
  }
}

TEST_CASE("tcp: a peer that never reads is dropped and memory stays bounded", "[tcp][bad]") {
  LogCapture log;
  Server server;
  bool dropped = false;
  size_t peak_queue = 0;
  RunWithServer(server, [&] {
    RawClient client(server.address());
    REQUIRE(client.Handshake());
    REQUIRE(client.channel->Send(AsBytes("flood")).ok());
    client.Write(client.channel->TakeOutput());
    // Never read again; wait until the server gives up (the socket closes).
    for (int i = 0; i < 500 && server.closes.empty(); ++i) std::this_thread::sleep_for(10ms);
    dropped = !server.closes.empty();
  });
  for (auto& c : server.live) peak_queue = std::max(peak_queue, c->queued_bytes());
  CHECK(dropped);
  CHECK(peak_queue <= server.limits.max_queued_bytes);
  CHECK((log.Contains("not reading") || log.Contains("read nothing")));
}

TEST_CASE("tcp: a good peer gets service while a slow one holds a connection", "[tcp][bad]") {
  Server server;
  server.limits.handshake_timeout = 3000ms;
  std::atomic<bool> release{false};
  std::thread slow([&] {
    RawClient client(server.address());
    client.Write(Bytes{0x00});  // half a length header, then nothing
    while (!release) std::this_thread::sleep_for(5ms);
  });
  GoodClient good;
  good.Connect(server, 10, 5000);
  bool served = server.RunUntil([&] { return good.echoes.size() == 10; }, 2000ms);
  release = true;
  server.RunUntil([] { return false; }, 50ms);
  slow.join();
  CHECK(served);
}

// ---------------------------------------------------------------------------
// What strangers may cost: handshake places, small buffers, accept backoff.

// A TCP connection from `source` (any 127/8 address is loopback on Linux)
// that never says anything. Connects through the kernel's backlog: the
// server need not run meanwhile.
tcp::socket ConnectFrom(asio::io_context& io, const std::string& source, const std::string& server) {
  tcp::socket socket(io);
  socket.open(tcp::v4());
  socket.bind(tcp::endpoint(asio::ip::make_address(source), 0));
  socket.connect(ParseEndpoint(server).value());
  socket.non_blocking(true);
  return socket;
}

// True once the server has closed `socket` (EOF or reset), polled up to `limit`.
bool ClosedByServer(tcp::socket& socket, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  do {
    uint8_t byte;
    boost::system::error_code error;
    socket.read_some(asio::buffer(&byte, 1), error);
    if (error != asio::error::would_block) return true;
    std::this_thread::sleep_for(1ms);
  } while (std::chrono::steady_clock::now() < end);
  return false;
}

TEST_CASE("tcp: connections over the total handshake bound are closed at once", "[tcp][limits]") {
  LogCapture log;
  ListenerLimits bounds;
  bounds.handshakes_max = 3;
  bounds.handshakes_per_address_max = 2;
  Server server(bounds);
  server.limits.handshake_timeout = 10000ms;  // the kept ones stay for the test
  asio::io_context client_io;
  std::vector<tcp::socket> idle;
  for (int i = 0; i < 6; ++i) {
    idle.push_back(ConnectFrom(client_io, "127.0.0." + std::to_string(10 + i), server.address()));
  }
  const ListenerStats& stats = server.listener->stats();
  REQUIRE(server.RunUntil([&] { return stats.accepted + stats.closed_over_total == 6; }));
  CHECK(stats.accepted == 3);
  CHECK(stats.closed_over_total == 3);
  CHECK(stats.closed_over_address == 0);
  CHECK(stats.handshakes == 3);
  REQUIRE(server.live.size() == 3);
  // Accepted in connect order: the first three wait for a handshake with a
  // small buffer, the last three were closed without one.
  for (auto& c : server.live) {
    CHECK(c->holds_handshake_slot());
    CHECK(c->receive_buffer_bytes() > 0);
    CHECK(c->receive_buffer_bytes() <= limits::kHandshakeReadBufferBytes);
  }
  for (int i = 3; i < 6; ++i) CHECK(ClosedByServer(idle[i], 2000ms));
  for (int i = 0; i < 3; ++i) CHECK_FALSE(ClosedByServer(idle[i], 0ms));
  CHECK(log.Count("closed at once: 3 handshakes in progress") == 1);
}

TEST_CASE("tcp: one address gets its share of handshakes; places come back on open and on close",
          "[tcp][limits]") {
  LogCapture log;
  ListenerLimits bounds;
  bounds.handshakes_max = 10;
  bounds.handshakes_per_address_max = 2;
  Server server(bounds);
  server.limits.handshake_timeout = 10000ms;
  asio::io_context client_io;
  std::vector<tcp::socket> idle;
  for (int i = 0; i < 4; ++i) idle.push_back(ConnectFrom(client_io, "127.0.0.1", server.address()));
  idle.push_back(ConnectFrom(client_io, "127.0.0.2", server.address()));
  const ListenerStats& stats = server.listener->stats();
  REQUIRE(server.RunUntil([&] { return stats.accepted + stats.closed_over_address == 5; }));
  CHECK(stats.accepted == 3);
  CHECK(stats.closed_over_address == 2);
  CHECK(stats.handshakes == 3);
  CHECK(ClosedByServer(idle[2], 2000ms));
  CHECK(ClosedByServer(idle[3], 2000ms));
  CHECK(log.Count("handshakes in progress from that address") == 1);

  // A stranger that hangs up gives its place back.
  idle[0].close();
  REQUIRE(server.RunUntil([&] { return stats.handshakes == 2; }));
  // So a good peer from 127.0.0.1 gets in; once its handshake is done its
  // place is free again and its connection has the full buffer.
  GoodClient good;
  good.Connect(server, 1, 100000);
  REQUIRE(server.RunUntil([&] { return good.echoes.size() == 1; }));
  CHECK(stats.handshakes == 2);
  size_t open = 0;
  for (auto& c : server.live) {
    if (c->is_open()) {
      ++open;
      CHECK_FALSE(c->holds_handshake_slot());
      CHECK(c->receive_buffer_bytes() >= limits::kReadBufferBytes);
    } else {
      CHECK(c->holds_handshake_slot());
      CHECK(c->receive_buffer_bytes() <= limits::kHandshakeReadBufferBytes);
    }
  }
  CHECK(open == 1);
}

TEST_CASE("tcp: connections closed over a bound are logged once per interval with a count",
          "[tcp][limits]") {
  LogCapture log;
  ListenerLimits bounds;
  bounds.handshakes_max = 1;
  bounds.log_repeat_interval = 600ms;
  Server server(bounds);
  server.limits.handshake_timeout = 10000ms;
  // The first line comes in the middle of the listener's first interval.
  server.RunUntil([] { return false; }, 300ms);
  asio::io_context client_io;
  std::vector<tcp::socket> idle;
  for (int i = 0; i < 11; ++i) {
    idle.push_back(ConnectFrom(client_io, "127.0.1." + std::to_string(1 + i), server.address()));
  }
  const ListenerStats& stats = server.listener->stats();
  REQUIRE(server.RunUntil([&] { return stats.accepted + stats.closed_over_total == 11; }));
  CHECK(stats.closed_over_total == 10);
  CHECK(log.Count("closed at once") == 1);
  // The ten closures become two lines: the first, and once the interval has
  // passed (not up to two intervals later) the latest with the count of the
  // eight in between.
  auto first_written_by = std::chrono::steady_clock::now();
  REQUIRE(server.RunUntil([&] { return log.Count("closed at once") == 2; }, 2000ms));
  CHECK(std::chrono::steady_clock::now() - first_written_by < 800ms);
  auto lines = log.Matching("closed at once");
  CHECK(lines[0].find("connection from 127.0.1.2 closed at once") != std::string::npos);
  CHECK(lines[1].find("connection from 127.0.1.11 closed at once") != std::string::npos);
  CHECK(lines[1].find("(and 8 more like it in the last") != std::string::npos);
}

TEST_CASE("tcp: strangers failing their handshakes are logged in aggregate", "[tcp][limits]") {
  LogCapture log;
  Server server;
  // Twenty strangers in a row send garbage: each is dropped at once, and one
  // line is written for the lot within the interval (5 s by default).
  int dropped = 0;
  RunWithServer(server, [&] {
    for (int i = 0; i < 20; ++i) {
      RawClient client(server.address());
      client.Write(AsBytes("GET / HTTP/1.1\r\n\r\n"));
      dropped += client.WaitForDrop(2000ms);
    }
  });
  CHECK(dropped == 20);
  REQUIRE(server.RunUntil([&] { return server.closes.size() == 20; }));
  CHECK(log.Count("dropped") == 1);
  server.listener->Stop();  // writes what it held back
  CHECK(log.Count("dropped") == 2);
  CHECK(log.Contains("(and 18 more like it"));
}

TEST_CASE("accept backoff doubles from the first wait to the most and starts over after a success",
          "[tcp][limits]") {
  AcceptBackoff backoff(100ms, 1000ms);
  std::vector<long> waits;
  for (int i = 0; i < 6; ++i) waits.push_back(static_cast<long>(backoff.Failed().count()));
  CHECK(waits == std::vector<long>{100, 200, 400, 800, 1000, 1000});
  backoff.Succeeded();
  CHECK(backoff.Failed() == 100ms);
}

// What the child process measured while accept() failed for lack of
// descriptors (fixed-size, written through a pipe).
struct EmfileReport {
  int ok = 0;                    // 1 when the child got through its script
  uint64_t accepted_before = 0;  // accepted before the first failure
  uint64_t errors = 0;           // accept failures when measuring stopped
  int64_t first_to_fourth_ms = 0;
  int64_t cpu_ms = 0;            // CPU the child used meanwhile
  uint64_t log_lines = 0;        // "accept failed" lines meanwhile
  uint64_t accepted_after = 0;   // once descriptors were available again
  int64_t recovered_ms = 0;
};

int64_t CpuMs() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000 +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1000;
}

// In the child: a listener with 8 connections waiting in its backlog and
// room for 2 more descriptors; then room for all.
EmfileReport EmfileScript() {
  EmfileReport report;
  LogCapture log;
  asio::io_context io;
  std::vector<tcp::socket> accepted;
  auto listener = Listener::Open(io, "127.0.0.1:0", [&](tcp::socket s, HandshakeSlot) {
    accepted.push_back(std::move(s));
  });
  if (!listener.ok()) return report;
  const ListenerStats& stats = listener.value()->stats();
  asio::io_context client_io;
  std::vector<tcp::socket> clients;
  for (int i = 0; i < 8; ++i) clients.push_back(ConnectFrom(client_io, "127.0.0.1", listener.value()->address()));
  rlimit original{};
  getrlimit(RLIMIT_NOFILE, &original);
  int probe = ::dup(0);
  ::close(probe);
  rlimit low = original;
  low.rlim_cur = static_cast<rlim_t>(probe + 2);
  if (setrlimit(RLIMIT_NOFILE, &low) != 0) return report;
  auto run_until = [&](const std::function<bool()>& done, Millis limit) {
    auto end = Clock::now() + limit;
    while (!done() && Clock::now() < end) {
      io.run_for(1ms);
      io.restart();
    }
  };
  run_until([&] { return stats.accept_errors >= 1; }, 5000ms);
  report.accepted_before = stats.accepted;
  auto first = Clock::now();
  int64_t cpu_before = CpuMs();
  run_until([&] { return stats.accept_errors >= 4; }, 5000ms);
  report.first_to_fourth_ms = std::chrono::duration_cast<Millis>(Clock::now() - first).count();
  report.cpu_ms = CpuMs() - cpu_before;
  report.errors = stats.accept_errors;
  report.log_lines = log.Count("accept failed");
  setrlimit(RLIMIT_NOFILE, &original);
  auto freed = Clock::now();
  run_until([&] { return stats.accepted == 8; }, 5000ms);
  report.accepted_after = stats.accepted;
  report.recovered_ms = std::chrono::duration_cast<Millis>(Clock::now() - freed).count();
  report.ok = 1;
  return report;
}

TEST_CASE("tcp: out of descriptors, the accept loop backs off instead of spinning", "[tcp][limits]") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    EmfileReport report = EmfileScript();
    ssize_t n = ::write(fds[1], &report, sizeof report);
    ::_exit(n == sizeof report ? 0 : 1);
  }
  ::close(fds[1]);
  EmfileReport report;
  pollfd p{fds[0], POLLIN, 0};
  bool ready = ::poll(&p, 1, 30000) == 1;
  ssize_t n = ready ? ::read(fds[0], &report, sizeof report) : -1;
  ::close(fds[0]);
  if (!ready) ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(n == static_cast<ssize_t>(sizeof report));
  REQUIRE(report.ok == 1);
  INFO("accepted before " << report.accepted_before << ", 4 failures in " << report.first_to_fourth_ms
                          << " ms using " << report.cpu_ms << " ms CPU, " << report.log_lines
                          << " log line(s); recovered in " << report.recovered_ms << " ms");
  CHECK(report.accepted_before >= 1);
  CHECK(report.accepted_before <= 2);
  // Waits of 100, 200 and 400 ms between the four failures; a spinning loop
  // fails thousands of times in that time and burns the CPU doing it.
  CHECK(report.errors == 4);
  CHECK(report.first_to_fourth_ms >= 650);
  CHECK(report.cpu_ms < 300);
  CHECK(report.log_lines == 1);
  // With descriptors again, the next try (800 ms later at most) takes the rest.
  CHECK(report.accepted_after == 8);
  CHECK(report.recovered_ms <= 1500);
}

TEST_CASE("ParseEndpoint accepts IPv4, [IPv6] and localhost, and names what is wrong", "[tcp]") {
  CHECK(ParseEndpoint("127.0.0.1:7000").ok());
  CHECK(ParseEndpoint("[::1]:7000").ok());
  CHECK(ParseEndpoint("localhost:1").ok());
  CHECK(ParseEndpoint("127.0.0.1").status().code() == StatusCode::kInvalidArgument);
  CHECK(ParseEndpoint("127.0.0.1:99999").status().code() == StatusCode::kInvalidArgument);
  CHECK(ParseEndpoint("example.org:80").status().code() == StatusCode::kInvalidArgument);
  CHECK(ParseEndpoint("[::1:80").status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("tcp: IPv6 loopback works", "[tcp]") {
  asio::io_context io;
  auto listener = Listener::Open(io, "[::1]:0", [](tcp::socket, HandshakeSlot) {});
  if (!listener.ok()) {
    WARN("skipped: no IPv6 loopback here (" << listener.status().ToString() << ")");
    return;
  }
  CHECK(listener.value()->address().rfind("[::1]:", 0) == 0);
}

}  // namespace
}  // namespace ncen::transport
