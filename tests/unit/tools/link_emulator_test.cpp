// LinkEmulator (tools/common/link_emulator.h) against loopback servers made
// of blocking sockets. These tests measure real time on purpose (the
// emulator's whole job is wall-clock pacing), so they carry the label
// "timing" rather than "unit"; all of them together take about 3 s.
#include "tools/common/link_emulator.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace ncen::tools {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

double SecondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

int ListenLoopback(uint16_t* port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(fd, 16) == 0);
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  *port = ntohs(a.sin_port);
  return fd;
}

int Dial(const std::string& address) {
  size_t colon = address.rfind(':');
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  REQUIRE(::inet_pton(AF_INET, address.substr(0, colon).c_str(), &a.sin_addr) == 1);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Waits up to `timeout` for `fd` to be readable; returns what read() returns
// then, or -2 on timeout.
ssize_t ReadWithin(int fd, uint8_t* buffer, size_t size, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return -2;
  return ::read(fd, buffer, size);
}

// A loopback server on its own thread: echoes every connection, or (sink)
// reads everything and counts it. Accepts until destroyed.
class Server {
 public:
  explicit Server(bool echo) : echo_(echo) {
    listen_fd_ = ListenLoopback(&port_);
    thread_ = std::thread([this] { Run(); });
  }
  ~Server() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  uint64_t bytes() const { return bytes_; }

 private:
  void Run() {
    std::vector<int> fds;
    uint8_t buffer[65536];
    while (!stop_) {
      std::vector<pollfd> polls{{listen_fd_, POLLIN, 0}};
      for (int fd : fds) polls.push_back({fd, POLLIN, 0});
      if (::poll(polls.data(), polls.size(), 20) <= 0) continue;
      if (polls[0].revents & POLLIN) fds.push_back(::accept(listen_fd_, nullptr, nullptr));
      for (size_t i = 1; i < polls.size(); ++i) {
        if (!(polls[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = ::read(polls[i].fd, buffer, sizeof buffer);
        if (n <= 0) {
          ::close(polls[i].fd);
          std::erase(fds, polls[i].fd);
          continue;
        }
        bytes_ += static_cast<uint64_t>(n);
        if (echo_) (void)!::write(polls[i].fd, buffer, static_cast<size_t>(n));  // Catch2 is not for other threads
      }
    }
    for (int fd : fds) ::close(fd);
  }

  bool echo_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> bytes_{0};
  std::thread thread_;
};

TEST_CASE("the link emulator paces a bulk transfer at its rate", "[link_emulator]") {
  Server sink(false);
  LinkOptions options;
  options.rate_bits_per_s = 800000;  // 100,000 bytes/s
  auto link = LinkEmulator::Start(sink.address(), options);
  REQUIRE(link.ok());
  int fd = Dial((*link)->address());
  std::vector<uint8_t> data(100000, 0x5a);
  auto start = Clock::now();
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::write(fd, data.data() + sent, data.size() - sent);
    REQUIRE(n > 0);
    sent += static_cast<size_t>(n);
  }
  while (sink.bytes() < data.size() && SecondsSince(start) < 3) std::this_thread::sleep_for(2ms);
  double seconds = SecondsSince(start);
  INFO("100,000 bytes at 100,000 bytes/s took " << seconds << " s");
  CHECK(sink.bytes() == data.size());
  CHECK(seconds >= 0.95);
  CHECK(seconds < 1.2);
  ::close(fd);
  // The close reaches the target and the pair is closed.
  for (int i = 0; i < 200 && (*link)->counters().connections_closed < 1; ++i) std::this_thread::sleep_for(5ms);
  LinkCounters c = (*link)->counters();
  CHECK(c.bytes_to_target == data.size());
  CHECK(c.bytes_from_target == 0);
  CHECK(c.connections_accepted == 1);
  CHECK(c.connections_closed == 1);
  CHECK(c.cuts == 0);
}

TEST_CASE("the link emulator delays each direction by the one-way delay", "[link_emulator]") {
  Server echo(true);
  LinkOptions options;
  options.one_way_delay_ms = 100;
  options.rate_bits_per_s = 1000000;
  auto link = LinkEmulator::Start(echo.address(), options);
  REQUIRE(link.ok());
  int fd = Dial((*link)->address());
  for (int round = 0; round < 3; ++round) {
    uint8_t byte = static_cast<uint8_t>(round), back = 0;
    auto start = Clock::now();
    REQUIRE(::write(fd, &byte, 1) == 1);
    REQUIRE(ReadWithin(fd, &back, 1, 2000ms) == 1);
    double seconds = SecondsSince(start);
    INFO("round trip " << round << ": " << seconds << " s");
    CHECK(back == byte);
    CHECK(seconds >= 0.2);
    CHECK(seconds < 0.3);
  }
  LinkCounters c = (*link)->counters();
  CHECK(c.bytes_to_target == 3);
  CHECK(c.bytes_from_target == 3);
  ::close(fd);
}

TEST_CASE("the link emulator cuts every connection each interval and accepts new ones", "[link_emulator]") {
  Server echo(true);
  LinkOptions options;
  options.cut_interval_ms = 300;
  auto link = LinkEmulator::Start(echo.address(), options);
  REQUIRE(link.ok());
  int first = Dial((*link)->address()), second = Dial((*link)->address());
  uint8_t byte = 7, back = 0;
  REQUIRE(::write(first, &byte, 1) == 1);
  REQUIRE(ReadWithin(first, &back, 1, 1000ms) == 1);
  auto start = Clock::now();
  // Both see the end (EOF or reset) at the cut, about 300 ms after start.
  for (int fd : {first, second}) {
    ssize_t n = ReadWithin(fd, &back, 1, 1000ms);
    CHECK(n <= 0);
    CHECK(n != -2);
    ::close(fd);
  }
  CHECK(SecondsSince(start) < 0.5);
  LinkCounters c = (*link)->counters();
  CHECK(c.cuts >= 1);
  CHECK(c.connections_accepted == 2);
  CHECK(c.connections_closed == 2);
  // A new connection is relayed again.
  int third = Dial((*link)->address());
  REQUIRE(::write(third, &byte, 1) == 1);
  CHECK(ReadWithin(third, &back, 1, 1000ms) == 1);
  CHECK(back == 7);
  CHECK((*link)->counters().connections_accepted == 3);
  ::close(third);
}

TEST_CASE("the link emulator stops at once with connections open and data queued", "[link_emulator]") {
  Server sink(false);
  LinkOptions options;
  options.rate_bits_per_s = 8000;  // 1,000 bytes/s: the writes below queue
  options.one_way_delay_ms = 1000;
  auto link = LinkEmulator::Start(sink.address(), options);
  REQUIRE(link.ok());
  int fd = Dial((*link)->address());
  std::vector<uint8_t> data(20000, 1);
  ::send(fd, data.data(), data.size(), MSG_DONTWAIT);
  std::this_thread::sleep_for(100ms);
  // The relay holds at most its buffer plus the bytes on the wire.
  CHECK((*link)->counters().bytes_to_target == 0);
  auto start = Clock::now();
  (*link)->Stop();
  CHECK(SecondsSince(start) < 0.5);
  uint8_t byte = 0;
  CHECK(ReadWithin(fd, &byte, 1, 1000ms) <= 0);
  ::close(fd);
}

TEST_CASE("bit rates parse with their units", "[link_emulator]") {
  CHECK(ParseBitRate("64kbit").value() == 64000);
  CHECK(ParseBitRate("2mbit").value() == 2000000);
  CHECK(ParseBitRate("9600").value() == 9600);
  CHECK(ParseBitRate("unlimited").value() == 0);
  CHECK(ParseBitRate("0").value() == 0);
  CHECK_FALSE(ParseBitRate("fast").ok());
  CHECK_FALSE(ParseBitRate("64kbps").ok());
  CHECK_FALSE(ParseBitRate("-5kbit").ok());
}

}  // namespace
}  // namespace ncen::tools
