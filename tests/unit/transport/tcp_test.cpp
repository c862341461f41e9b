// The TCP transport over real loopback sockets: a good peer is served while
// bad ones — garbage, truncated or oversized frames, flipped bits, replays, a
// peer that sends one byte at a time, a peer that never reads, a peer outside
// the roster — are each dropped within bounded time with a log line.
#include <catch2/catch.hpp>

#include <atomic>
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
  bool Contains(std::string_view text) {
    std::lock_guard lock(mutex);
    for (auto& l : lines) {
      if (l.find(text) != std::string::npos) return true;
    }
    return false;
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

  Server() {
    auto l = Listener::Open(io, "127.0.0.1:0", [this](tcp::socket socket) { Accept(std::move(socket)); });
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

  void Accept(tcp::socket socket) {
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
                                     Check(), limits, std::move(handler)));
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

  void Connect(Server& server, size_t count, size_t size) {
    Dial(server.io, server.address(), 1000ms, [this, &server, count, size](Result<tcp::socket> socket) {
      REQUIRE(socket.ok());
      Connection::Handler handler;
      handler.on_open = [count, size](Connection& c) {
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
  auto listener = Listener::Open(io, "[::1]:0", [](tcp::socket) {});
  if (!listener.ok()) {
    WARN("skipped: no IPv6 loopback here (" << listener.status().ToString() << ")");
    return;
  }
  CHECK(listener.value()->address().rfind("[::1]:", 0) == 0);
}

}  // namespace
}  // namespace ncen::transport
