// LinkEmulator (link_emulator.h): one Asio thread, one Connection per
// accepted socket, two Pipes per Connection (client -> target, target ->
// client). A Pipe reads only while the direction's shared line has room for
// more bytes waiting to be transmitted, stamps each chunk with its delivery
// time (transmission end + delay) and writes chunks in order once due.
#include "tools/common/link_emulator.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <future>
#include <thread>
#include <vector>

#include "base/check.h"
#include "replication/transport/asio.h"

namespace ncen::tools {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Nanos = std::chrono::nanoseconds;

constexpr size_t kUnlimitedChunkBytes = 64 * 1024;
// Kernel buffers of the relay's own sockets: small, so that the relay's
// reading pace (not the loopback's multi-megabyte autotuned buffers)
// decides when a sender feels backpressure.
constexpr int kSocketBufferBytes = 16 * 1024;

enum Direction { kToTarget = 0, kToClient = 1 };

// What every connection shares: options, the two lines (one per direction)
// and the counters.
struct Shared {
  LinkOptions options;
  Clock::time_point started = Clock::now();
  Clock::time_point line_free_at[2] = {};
  std::atomic<uint64_t> bytes[2] = {0, 0};
  std::atomic<uint64_t> accepted{0}, closed{0}, cuts{0};
  std::atomic<uint64_t> last_accept_us{0}, last_delivery_to_client_us{0};

  double RateBytesPerSecond() const { return static_cast<double>(options.rate_bits_per_s) / 8.0; }
  Nanos TransmitTime(size_t bytes) const {
    return Nanos(static_cast<int64_t>(static_cast<double>(bytes) * 1e9 / RateBytesPerSecond()));
  }
  Nanos Delay() const { return std::chrono::milliseconds(options.one_way_delay_ms); }
  uint64_t MicrosSinceStart() const {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count());
  }
  // Largest read: a packet's worth at low rates (~10 ms of the line) so the
  // pacing is smooth, larger when the line is fast.
  size_t ChunkBytes() const {
    if (options.rate_bits_per_s == 0) return kUnlimitedChunkBytes;
    double ten_ms = RateBytesPerSecond() / 100.0;
    return static_cast<size_t>(std::clamp(ten_ms, 256.0, 16384.0));
  }
  // Bytes a pipe may hold (waiting + on the wire) before it stops reading.
  size_t QueueBytesMax() const {
    if (options.rate_bits_per_s == 0) {
      return options.one_way_delay_ms > 0 ? options.unlimited_in_flight_bytes
                                          : std::max<size_t>(options.buffer_bytes, kUnlimitedChunkBytes);
    }
    double in_flight = RateBytesPerSecond() * options.one_way_delay_ms / 1000.0;
    return options.buffer_bytes + static_cast<size_t>(in_flight) + ChunkBytes();
  }
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::io_context& io, Shared& shared, tcp::socket client)
      : shared_(shared), client_(std::move(client)), target_(io),
        pipes_{Pipe(io, kToTarget, &client_, &target_), Pipe(io, kToClient, &target_, &client_)} {}

  void Start(const tcp::endpoint& target) {
    boost::system::error_code ec;
    target_.open(target.protocol(), ec);
    if (!ec) target_.set_option(asio::socket_base::receive_buffer_size(kSocketBufferBytes), ec);
    if (ec) return Close();
    target_.async_connect(target, [self = shared_from_this()](const boost::system::error_code& error) {
      if (self->closed_) return;
      if (error) return self->Close();
      boost::system::error_code ignored;
      self->target_.set_option(tcp::no_delay(true), ignored);
      self->target_.set_option(asio::socket_base::send_buffer_size(kSocketBufferBytes), ignored);
      for (Pipe& p : self->pipes_) self->MaybeRead(p);
    });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    client_.close(ignored);
    target_.close(ignored);
    for (Pipe& p : pipes_) {
      p.read_timer.cancel();
      p.write_timer.cancel();
    }
    shared_.closed++;
  }

 private:
  struct Chunk {
    std::vector<uint8_t> bytes;
    Clock::time_point deliver_at;
  };
  struct Pipe {
    Pipe(asio::io_context& io, Direction d, tcp::socket* source, tcp::socket* sink)
        : direction(d), from(source), to(sink), read_timer(io), write_timer(io) {}
    Direction direction;
    tcp::socket* from;
    tcp::socket* to;
    std::deque<Chunk> queue;  // references stay valid across push_back
    size_t queued_bytes = 0;
    bool reading = false, writing = false, eof = false, shut = false;
    asio::steady_timer read_timer, write_timer;
  };

  // Starts a read when the line has room; else waits for it (a timer) or,
  // when the pipe's own queue is full, for the writer to drain it.
  void MaybeRead(Pipe& p) {
    if (closed_ || p.reading || p.eof) return;
    if (p.queued_bytes >= shared_.QueueBytesMax()) return;  // the writer calls back
    size_t want = shared_.ChunkBytes();
    if (shared_.options.rate_bits_per_s > 0) {
      auto now = Clock::now();
      Clock::time_point free_at = std::max(now, shared_.line_free_at[p.direction]);
      double waiting = std::chrono::duration<double>(free_at - now).count() * shared_.RateBytesPerSecond();
      double room = static_cast<double>(shared_.options.buffer_bytes) - waiting;
      if (room < 1.0) {
        p.reading = true;
        // When the line has transmitted enough for one chunk to fit.
        p.read_timer.expires_at(free_at - shared_.TransmitTime(shared_.options.buffer_bytes) +
                                shared_.TransmitTime(std::min(want, size_t{shared_.options.buffer_bytes})));
        p.read_timer.async_wait([self = shared_from_this(), &p](const boost::system::error_code& ec) {
          p.reading = false;
          if (!ec) self->MaybeRead(p);
        });
        return;
      }
      want = std::min(want, static_cast<size_t>(room));
    }
    want = std::max<size_t>(1, std::min(want, shared_.QueueBytesMax() - p.queued_bytes));
    p.reading = true;
    auto buffer = std::make_shared<std::vector<uint8_t>>(want);
    p.from->async_read_some(asio::buffer(*buffer), [self = shared_from_this(), &p, buffer](
                                                        const boost::system::error_code& ec, size_t n) {
      p.reading = false;
      if (self->closed_) return;
      if (ec == asio::error::eof) {
        p.eof = true;
        return self->MaybeWrite(p);
      }
      if (ec) return self->Close();
      buffer->resize(n);
      self->Enqueue(p, std::move(*buffer));
      self->MaybeWrite(p);
      self->MaybeRead(p);
    });
  }

  void Enqueue(Pipe& p, std::vector<uint8_t> bytes) {
    auto now = Clock::now();
    Clock::time_point done = now;
    if (shared_.options.rate_bits_per_s > 0) {
      Clock::time_point& line = shared_.line_free_at[p.direction];
      done = std::max(now, line) + shared_.TransmitTime(bytes.size());
      line = done;
    }
    p.queued_bytes += bytes.size();
    p.queue.push_back({std::move(bytes), done + shared_.Delay()});
  }

  // Writes the oldest chunk once it is due; after the source's EOF and an
  // empty queue, passes the EOF on; when both directions have, closes.
  void MaybeWrite(Pipe& p) {
    if (closed_ || p.writing) return;
    if (p.queue.empty()) {
      if (p.eof && !p.shut) {
        p.shut = true;
        boost::system::error_code ignored;
        p.to->shutdown(tcp::socket::shutdown_send, ignored);
        if (pipes_[0].shut && pipes_[1].shut) Close();
      }
      return;
    }
    Chunk& chunk = p.queue.front();
    p.writing = true;
    if (Clock::now() < chunk.deliver_at) {
      p.write_timer.expires_at(chunk.deliver_at);
      p.write_timer.async_wait([self = shared_from_this(), &p](const boost::system::error_code& ec) {
        p.writing = false;
        if (!ec) self->MaybeWrite(p);
      });
      return;
    }
    asio::async_write(*p.to, asio::buffer(chunk.bytes), [self = shared_from_this(), &p](
                                                             const boost::system::error_code& ec, size_t n) {
      p.writing = false;
      if (self->closed_) return;
      if (ec) return self->Close();
      self->shared_.bytes[p.direction] += n;
      if (p.direction == kToClient) self->shared_.last_delivery_to_client_us = self->shared_.MicrosSinceStart();
      p.queued_bytes -= n;
      p.queue.pop_front();
      self->MaybeWrite(p);
      self->MaybeRead(p);
    });
  }

  Shared& shared_;
  tcp::socket client_, target_;
  Pipe pipes_[2];
  bool closed_ = false;
};

}  // namespace

struct LinkEmulator::Impl {
  Shared shared;  // outlives the io_context, whose destructor may end connections
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  tcp::acceptor acceptor{io};
  tcp::endpoint target;
  asio::steady_timer cut_timer{io};
  std::vector<std::weak_ptr<Connection>> connections;
  std::thread thread;
  uint16_t port = 0;
  bool stopped = false;

  void Accept() {
    acceptor.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
      if (!acceptor.is_open()) return;
      if (ec) return Accept();
      shared.accepted++;
      shared.last_accept_us = shared.MicrosSinceStart();
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      socket.set_option(asio::socket_base::send_buffer_size(kSocketBufferBytes), ignored);
      auto connection = std::make_shared<Connection>(io, shared, std::move(socket));
      std::erase_if(connections, [](const std::weak_ptr<Connection>& c) { return c.expired(); });
      connections.push_back(connection);
      connection->Start(target);
      Accept();
    });
  }

  void CloseAll() {
    for (auto& weak : connections) {
      if (auto c = weak.lock()) c->Close();
    }
    connections.clear();
  }

  void ScheduleCut() {
    if (shared.options.cut_interval_ms == 0) return;
    cut_timer.expires_after(std::chrono::milliseconds(shared.options.cut_interval_ms));
    cut_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec || !acceptor.is_open()) return;
      CloseAll();
      shared.cuts++;
      ScheduleCut();
    });
  }
};

Result<uint64_t> ParseBitRate(const std::string& text) {
  if (text == "unlimited") return uint64_t{0};
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    return InvalidArgument("not a bit rate: \"" + text + "\" (e.g. 64kbit, 2mbit, 256000)");
  }
  std::string unit = text.substr(used);
  double scale = 0;
  if (unit.empty() || unit == "bit") scale = 1;
  if (unit == "kbit" || unit == "k" || unit == " kbit") scale = 1e3;
  if (unit == "mbit" || unit == "m" || unit == " mbit") scale = 1e6;
  if (scale == 0 || value < 0 || value * scale > 1e12) {
    return InvalidArgument("not a bit rate: \"" + text + "\" (e.g. 64kbit, 2mbit, 256000)");
  }
  return static_cast<uint64_t>(value * scale);
}

LinkEmulator::LinkEmulator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LinkEmulator::~LinkEmulator() { Stop(); }

Result<std::unique_ptr<LinkEmulator>> LinkEmulator::Start(const std::string& target, const LinkOptions& options) {
  if (options.rate_bits_per_s > 0 && options.rate_bits_per_s < 800) {
    return InvalidArgument("link rate below 800 bit/s");
  }
  if (options.buffer_bytes < 256) return InvalidArgument("link buffer below 256 bytes");
  size_t colon = target.rfind(':');
  if (colon == std::string::npos) return InvalidArgument("target is not HOST:PORT: " + target);
  boost::system::error_code ec;
  auto host = asio::ip::make_address_v4(target.substr(0, colon), ec);
  int port = 0;
  try {
    port = std::stoi(target.substr(colon + 1));
  } catch (const std::exception&) {
    port = 0;
  }
  if (ec || port <= 0 || port > 65535) return InvalidArgument("target is not IPv4:PORT: " + target);

  auto impl = std::make_unique<Impl>();
  impl->shared.options = options;
  impl->target = tcp::endpoint(host, static_cast<uint16_t>(port));
  tcp::endpoint listen(asio::ip::address_v4::loopback(), 0);
  impl->acceptor.open(listen.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::receive_buffer_size(kSocketBufferBytes), ec);
  if (!ec) impl->acceptor.bind(listen, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return IOError("link emulator: cannot listen on 127.0.0.1: " + ec.message());
  impl->port = impl->acceptor.local_endpoint(ec).port();
  if (ec) return IOError("link emulator: " + ec.message());
  impl->Accept();
  impl->ScheduleCut();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<LinkEmulator>(new LinkEmulator(std::move(impl)));
}

std::string LinkEmulator::address() const { return "127.0.0.1:" + std::to_string(impl_->port); }

LinkCounters LinkEmulator::counters() const {
  const Shared& s = impl_->shared;
  LinkCounters c;
  c.bytes_to_target = s.bytes[kToTarget];
  c.bytes_from_target = s.bytes[kToClient];
  c.connections_accepted = s.accepted;
  c.connections_closed = s.closed;
  c.cuts = s.cuts;
  c.last_accept_us = s.last_accept_us;
  c.last_delivery_to_client_us = s.last_delivery_to_client_us;
  return c;
}

void LinkEmulator::CutNow() {
  if (impl_->stopped) return;
  std::promise<void> done;
  asio::post(impl_->io, [this, &done] {
    impl_->CloseAll();
    impl_->shared.cuts++;
    done.set_value();
  });
  done.get_future().wait();
}

void LinkEmulator::Stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  std::promise<void> done;
  asio::post(impl_->io, [this, &done] {
    boost::system::error_code ignored;
    impl_->acceptor.close(ignored);
    impl_->cut_timer.cancel();
    impl_->CloseAll();
    done.set_value();
  });
  // The loop runs only handlers of ours, none of which blocks.
  done.get_future().wait();
  impl_->work.reset();
  impl_->io.stop();
  impl_->thread.join();
}

}  // namespace ncen::tools
