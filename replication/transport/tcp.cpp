#include "replication/transport/tcp.h"

#include <algorithm>
#include <charconv>
#include <map>

#include "base/check.h"
#include "base/log.h"
#include "base/log_limiter.h"

namespace ncen::transport {

namespace {
constexpr size_t kWriteSliceBytes = 256 << 10;
}  // namespace

namespace asio = boost::asio;
using asio::ip::tcp;

static_assert(limits::kHandshakeReadBufferBytes >= kFrameHeaderBytes + kHandshake2Bytes,
              "the largest handshake message fits one read of an unauthenticated connection");

namespace internal {

// A Listener's state that its connections share through their slots: it
// outlives the Listener while a slot holds it.
struct InboundGate {
  explicit InboundGate(const ListenerLimits& l)
      : limits(l), log(l.log_repeat_interval.count()) {}
  ListenerLimits limits;
  ListenerStats stats;
  std::map<std::string, size_t> handshakes_by_address;  // at most handshakes_max keys
  log::RepeatLimiter log;
  bool listening = true;  // false once the Listener stopped: nothing flushes `log`
};

}  // namespace internal

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<Millis>(Clock::now().time_since_epoch()).count();
}

std::string EndpointText(const tcp::socket& socket) {
  boost::system::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  if (ec) return "unknown address";
  if (endpoint.address().is_v6()) {
    return "[" + endpoint.address().to_string() + "]:" + std::to_string(endpoint.port());
  }
  return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

std::string Ms(Millis m) { return std::to_string(m.count()) + " ms"; }

}  // namespace

HandshakeSlot::HandshakeSlot(std::shared_ptr<internal::InboundGate> gate, std::string address)
    : gate_(std::move(gate)), address_(std::move(address)) {
  ++gate_->stats.handshakes;
  ++gate_->handshakes_by_address[address_];
}

HandshakeSlot& HandshakeSlot::operator=(HandshakeSlot&& other) noexcept {
  if (this != &other) {
    Release();
    gate_ = std::move(other.gate_);
    address_ = std::move(other.address_);
  }
  return *this;
}

HandshakeSlot::~HandshakeSlot() { Release(); }

void HandshakeSlot::Release() {
  if (!gate_) return;
  NCEN_CHECK(gate_->stats.handshakes > 0);
  --gate_->stats.handshakes;
  auto it = gate_->handshakes_by_address.find(address_);
  NCEN_CHECK(it != gate_->handshakes_by_address.end() && it->second > 0);
  if (--it->second == 0) gate_->handshakes_by_address.erase(it);
  gate_.reset();
}

void HandshakeSlot::Log(std::string_view key, std::string_view line) const {
  if (gate_ && gate_->listening) {
    gate_->log.Line(key, line, NowMs());
  } else {
    log::Line(line);
  }
}

std::shared_ptr<Connection> Connection::Start(tcp::socket socket, crypto::NoiseRole role,
                                              const crypto::Identity& me, ChannelOptions options,
                                              PeerCheck check, TcpLimits limits, Handler handler,
                                              HandshakeSlot slot) {
  std::shared_ptr<Connection> connection(
      new Connection(std::move(socket), role, me, std::move(options), std::move(check), limits,
                     std::move(handler), std::move(slot)));
  connection->Begin();
  return connection;
}

Connection::Connection(tcp::socket socket, crypto::NoiseRole role, const crypto::Identity& me,
                       ChannelOptions options, PeerCheck check, TcpLimits limits, Handler handler,
                       HandshakeSlot slot)
    : role_(role),
      socket_(std::move(socket)),
      watchdog_(socket_.get_executor()),
      channel_(role, me, std::move(options), std::move(check)),
      limits_(limits),
      handler_(std::move(handler)),
      slot_(std::move(slot)),
      pace_timer_(socket_.get_executor()) {
  remote_address_ = EndpointText(socket_);
  boost::system::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
}

Connection::~Connection() = default;

std::string Connection::Label() const {
  if (!channel_.peer_name().empty()) return channel_.peer_name() + " (" + remote_address_ + ")";
  return remote_address_;
}

bool Connection::is_open() const { return opened_ && !finished_ && !closing_ && channel_.is_open(); }

void Connection::Begin() {
  started_ = last_read_ = last_write_progress_ = Clock::now();
  ArmWatchdog();
  if (role_ == crypto::NoiseRole::kInitiator) {
    if (Status status = channel_.Start(); !status.ok()) return Finish(status);
  }
  ReadMore();
  Flush();
}

void Connection::ReadMore() {
  if (finished_) return;
  // Until the peer has proven a roster key it gets a small buffer: idle
  // strangers must not each cost a full-size one.
  auto area = channel_.ReceiveBuffer(opened_ ? limits_.read_buffer_bytes
                                             : limits_.handshake_read_buffer_bytes);
  socket_.async_read_some(asio::buffer(area.data(), area.size()),
                          [self = shared_from_this()](const boost::system::error_code& error,
                                                      size_t n) { self->OnRead(error, n); });
}

void Connection::OnRead(const boost::system::error_code& error, size_t n) {
  if (finished_) return;
  if (error) {
    if (error == asio::error::eof) {
      if (closing_) return Finish(Status::Ok());
      if (channel_.peer_closed()) return Finish(Status::Ok());
      if (channel_.refused_peer() || !opened_) {
        return Finish(Unavailable(opened_ ? "peer closed the connection"
                                          : "peer closed the connection during the handshake"));
      }
      return Finish(Unavailable("peer closed the connection without CLOSE"));
    }
    if (error == asio::error::operation_aborted) return;
    return Finish(IOError("read: " + error.message()));
  }
  stats_.bytes_in += n;
  last_read_ = Clock::now();
  Status status = channel_.ReceiveCommitted(n);
  if (!status.ok()) {
    // A refused peer gets the channel's encrypted CLOSE before we hang up.
    Flush();
    if (channel_.refused_peer()) {
      // One key per refused id (the limiter bounds the keys): each refused
      // node gets its line, however many others are refused meanwhile.
      std::string who = crypto::Fingerprint(*channel_.refused_peer());
      slot_.Log("refused peer " + who, "refused peer " + who + " at " + remote_address_ + ": " + status.message() +
                                           " (node id " + crypto::NodeIdHex(*channel_.refused_peer()) + ")");
    }
    return Finish(status);
  }
  if (channel_.receiving_partial_frame()) {
    if (!partial_since_) {
      partial_since_ = last_read_;
      partial_bytes_at_ = stats_.bytes_in;
    }
  } else {
    partial_since_.reset();
  }
  if (!opened_ && channel_.is_open()) {
    opened_ = true;
    slot_.Release();
    if (handler_.on_open) handler_.on_open(*this);
    if (finished_) return;
  }
  DeliverMessages();
  if (finished_) return;
  if (channel_.peer_closed()) {
    // Answer the peer's CLOSE with ours, flush, and end cleanly: Flush()
    // finishes once our CLOSE is out; if it already is, we are done.
    if (!closing_) {
      Close("closing as asked");
    } else if (shutdown_sent_) {
      Finish(Status::Ok());
    }
    return;
  }
  Flush();
  ReadMore();
}

void Connection::DeliverMessages() {
  while (!finished_) {
    auto message = channel_.NextMessage();
    if (!message) return;
    ++stats_.messages_in;
    if (handler_.on_message) handler_.on_message(*this, *message);
    channel_.RecycleMessage(std::move(*message));
  }
}

Status Connection::Send(ByteView prefix, ByteView message) {
  if (!is_open()) return FailedPrecondition("connection is not open");
  if (queued_bytes() + prefix.size() + message.size() > limits_.max_queued_bytes) {
    Status status = ResourceExhausted("peer is not reading: " + std::to_string(queued_bytes()) +
                                      " bytes queued");
    Abort(status);
    return status;
  }
  NCEN_RETURN_IF_ERROR(channel_.Send(prefix, message));
  ++stats_.messages_out;
  Flush();
  return Status::Ok();
}

void Connection::SetRateLimit(uint64_t bytes_per_second) {
  rate_ = bytes_per_second;
  tokens_ = 0;
  tokens_at_ = Clock::now();
}

void Connection::Flush() {
  if (finished_ || write_in_flight_ || pace_wait_) return;
  if (write_offset_ >= writing_.size()) {
    if (!writing_.empty()) {
      channel_.RecycleOutput(std::move(writing_));
      writing_.clear();
    }
    write_offset_ = 0;
    if (channel_.HasOutput()) writing_ = channel_.TakeOutput();
  }
  if (write_offset_ < writing_.size()) {
    // At most 256 KiB per write, with write_some: the write watchdog sees
    // progress as the kernel takes bytes, so a photo chunk crossing a 64
    // kbit/s link for minutes is not taken for a peer that reads nothing.
    size_t n = std::min(writing_.size() - write_offset_, kWriteSliceBytes);
    if (rate_ > 0) {
      // Slices of ~50 ms of the cap; the bucket holds at most two.
      const double slice = std::max(static_cast<double>(rate_) / 20.0, 512.0);
      const Clock::time_point now = Clock::now();
      tokens_ = std::min(tokens_ + std::chrono::duration<double>(now - tokens_at_).count() * static_cast<double>(rate_),
                         2 * slice);
      tokens_at_ = now;
      const double want = std::min(static_cast<double>(n), slice);
      if (tokens_ < want) {
        pace_wait_ = true;
        const auto wait = std::chrono::duration<double>((want - tokens_) / static_cast<double>(rate_));
        pace_timer_.expires_after(std::chrono::duration_cast<Clock::duration>(wait) + std::chrono::microseconds(100));
        pace_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
          self->pace_wait_ = false;
          if (!error && !self->finished_) self->Flush();
        });
        return;
      }
      n = std::min(n, static_cast<size_t>(tokens_));
      tokens_ -= static_cast<double>(n);
    }
    write_in_flight_ = true;
    write_requested_ = n;
    last_write_progress_ = Clock::now();
    // write_some: whatever the kernel takes counts as progress at once.
    socket_.async_write_some(asio::buffer(writing_.data() + write_offset_, n),
                             [self = shared_from_this()](const boost::system::error_code& error,
                                                         size_t n) { self->OnWritten(error, n); });
    return;
  }
  if (closing_ && !shutdown_sent_) {
    shutdown_sent_ = true;
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    if (channel_.peer_closed()) Finish(Status::Ok());
  }
}

void Connection::OnWritten(const boost::system::error_code& error, size_t n) {
  write_in_flight_ = false;
  if (finished_) return;
  if (error) {
    if (error == asio::error::operation_aborted) return;
    return Finish(IOError("write: " + error.message()));
  }
  stats_.bytes_out += n;
  last_write_progress_ = Clock::now();
  write_offset_ += n;
  // Tokens taken for bytes the kernel did not take yet go back.
  if (rate_ > 0 && n < write_requested_) tokens_ += static_cast<double>(write_requested_ - n);
  Flush();
  if (!finished_ && !write_in_flight_ && queued_bytes() == 0 && handler_.on_drained) handler_.on_drained(*this);
}

void Connection::Close(std::string_view reason) {
  if (finished_ || closing_) return;
  closing_ = true;
  close_deadline_ = Clock::now() + limits_.close_timeout;
  if (channel_.state() != ChannelState::kOpen) return Finish(Status::Ok());
  channel_.Close(reason);
  Flush();
}

void Connection::Abort(const Status& reason) { Finish(reason); }

void Connection::ArmWatchdog() {
  // Ticks often enough to honour the smallest limit within a quarter of it.
  Millis tick = std::min({limits_.handshake_timeout, limits_.frame_timeout, limits_.write_timeout,
                          limits_.close_timeout});
  if (limits_.idle_timeout.count() > 0) tick = std::min(tick, limits_.idle_timeout);
  tick = std::clamp(tick / 4, Millis(5), Millis(1000));
  watchdog_.expires_after(tick);
  watchdog_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
    if (!error) self->OnWatchdog();
  });
}

void Connection::OnWatchdog() {
  if (finished_) return;
  auto now = Clock::now();
  if (!opened_ && now - started_ > limits_.handshake_timeout) {
    return Finish(Unavailable("handshake not finished within " + Ms(limits_.handshake_timeout)));
  }
  if (partial_since_ && now - *partial_since_ > limits_.frame_timeout) {
    // Before the handshake a frame must be whole within frame_timeout. An
    // authenticated peer's frames must only keep coming at a floor rate: on
    // a 64 kbit/s link (or under the peer's rate cap) a 64 KiB frame takes
    // 8 s, at 16 kbit/s more than the timeout.
    const uint64_t floor = static_cast<uint64_t>(limits_.frame_timeout.count()) * limits::kFrameFloorBytesPerSecond / 1000;
    if (!opened_ || stats_.bytes_in - partial_bytes_at_ < floor) {
      return Finish(Unavailable("frame not completed within " + Ms(limits_.frame_timeout) + " (peer too slow)"));
    }
    partial_since_ = now;
    partial_bytes_at_ = stats_.bytes_in;
  }
  if (write_in_flight_ && now - last_write_progress_ > limits_.write_timeout) {
    return Finish(Unavailable("peer read nothing for " + Ms(limits_.write_timeout) + ", " +
                              std::to_string(queued_bytes()) + " bytes waiting"));
  }
  if (limits_.idle_timeout.count() > 0 && now - last_read_ > limits_.idle_timeout) {
    return Finish(Unavailable("nothing received for " + Ms(limits_.idle_timeout)));
  }
  if (close_deadline_ && now > *close_deadline_) return Finish(Status::Ok());
  ArmWatchdog();
}

void Connection::Finish(const Status& error) {
  if (finished_) return;
  finished_ = true;
  boost::system::error_code ignored;
  watchdog_.cancel();
  pace_timer_.cancel();
  socket_.close(ignored);
  // A refused peer has had its line already.
  if (!error.ok() && !channel_.refused_peer()) {
    slot_.Log("connection dropped", "connection " + Label() + " dropped: " + error.ToString());
  }
  slot_.Release();
  auto self = shared_from_this();  // on_close may drop the last outside reference
  if (handler_.on_close) handler_.on_close(*this, error);
  handler_ = {};
}

// ---------------------------------------------------------------------------

Result<tcp::endpoint> ParseEndpoint(const std::string& address) {
  std::string host;
  std::string port_text;
  if (!address.empty() && address.front() == '[') {
    size_t close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return InvalidArgument("bad address '" + address + "': expected [IPV6]:PORT");
    }
    host = address.substr(1, close - 1);
    port_text = address.substr(close + 2);
  } else {
    size_t colon = address.rfind(':');
    if (colon == std::string::npos) {
      return InvalidArgument("bad address '" + address + "': expected HOST:PORT");
    }
    host = address.substr(0, colon);
    port_text = address.substr(colon + 1);
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535 ||
      port_text.empty()) {
    return InvalidArgument("bad port in address '" + address + "'");
  }
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code error;
  auto ip = asio::ip::make_address(host, error);
  if (error) {
    return InvalidArgument("bad host in address '" + address + "': use a numeric IPv4 or [IPv6]");
  }
  return tcp::endpoint(ip, static_cast<uint16_t>(port));
}

Listener::Listener(asio::io_context& io, ListenerLimits limits)
    : acceptor_(io),
      retry_timer_(io),
      log_timer_(io),
      backoff_(limits.accept_backoff_first, limits.accept_backoff_max),
      gate_(std::make_shared<internal::InboundGate>(limits)) {}

Listener::~Listener() { Stop(); }

Result<std::unique_ptr<Listener>> Listener::Open(asio::io_context& io, const std::string& address,
                                                 AcceptFn on_accept, ListenerLimits limits) {
  NCEN_ASSIGN_OR_RETURN(tcp::endpoint endpoint, ParseEndpoint(address));
  std::unique_ptr<Listener> listener(new Listener(io, limits));
  listener->on_accept_ = std::move(on_accept);
  boost::system::error_code error;
  auto& acceptor = listener->acceptor_;
  acceptor.open(endpoint.protocol(), error);
  if (!error) acceptor.set_option(tcp::acceptor::reuse_address(true), error);
  if (!error) acceptor.bind(endpoint, error);
  if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) return Unavailable("cannot listen on " + address + ": " + error.message());
  listener->AcceptNext();
  listener->FlushLogLater();
  return listener;
}

uint16_t Listener::port() const {
  boost::system::error_code error;
  return acceptor_.local_endpoint(error).port();
}

std::string Listener::address() const {
  boost::system::error_code error;
  auto endpoint = acceptor_.local_endpoint(error);
  if (endpoint.address().is_v6()) {
    return "[" + endpoint.address().to_string() + "]:" + std::to_string(endpoint.port());
  }
  return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

const ListenerStats& Listener::stats() const { return gate_->stats; }

void Listener::Stop() {
  if (!gate_->listening) return;
  gate_->listening = false;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  retry_timer_.cancel();
  log_timer_.cancel();
  for (const std::string& line : gate_->log.TakeAll(NowMs())) log::Line(line);
}

// Handlers hold the gate, not just `this`: after Stop() (and the Listener's
// end) a completion that was already queued must not touch the Listener.
void Listener::AcceptNext() {
  acceptor_.async_accept([this, gate = gate_](const boost::system::error_code& error,
                                              tcp::socket socket) {
    if (!gate->listening || error == asio::error::operation_aborted) return;
    OnAccepted(error, std::move(socket));
  });
}

void Listener::OnAccepted(const boost::system::error_code& error, tcp::socket socket) {
  if (!error) {
    backoff_.Succeeded();
    Admit(std::move(socket));
    return AcceptNext();
  }
  ++gate_->stats.accept_errors;
  Millis wait = backoff_.Failed();
  gate_->log.Line("accept failed", "accept failed: " + error.message() + "; next try in " + Ms(wait),
                  NowMs());
  retry_timer_.expires_after(wait);
  retry_timer_.async_wait([this, gate = gate_](const boost::system::error_code& e) {
    if (!e && gate->listening) AcceptNext();
  });
}

// Over a bound, the connection is closed at once with a reset: no handshake,
// no buffer, no TIME_WAIT on our side.
void Listener::Admit(tcp::socket socket) {
  boost::system::error_code error;
  auto endpoint = socket.remote_endpoint(error);
  if (error) return;  // already gone; the socket closes here
  std::string address = endpoint.address().to_string();
  const ListenerLimits& l = gate_->limits;
  std::string over;
  if (gate_->stats.handshakes >= l.handshakes_max) {
    ++gate_->stats.closed_over_total;
    over = std::to_string(l.handshakes_max) + " handshakes in progress (the most allowed)";
  } else if (auto it = gate_->handshakes_by_address.find(address);
             it != gate_->handshakes_by_address.end() && it->second >= l.handshakes_per_address_max) {
    ++gate_->stats.closed_over_address;
    over = std::to_string(l.handshakes_per_address_max) +
           " handshakes in progress from that address (the most allowed)";
  }
  if (!over.empty()) {
    socket.set_option(asio::socket_base::linger(true, 0), error);
    socket.close(error);
    gate_->log.Line("over the handshake limit", "connection from " + address + " closed at once: " + over,
                    NowMs());
    return;
  }
  ++gate_->stats.accepted;
  on_accept_(std::move(socket), HandshakeSlot(gate_, std::move(address)));
}

// Lines held back are written once their interval has passed, even when
// nothing else happens: the timer wakes when the next one is due.
void Listener::FlushLogLater() {
  Millis wait = gate_->limits.log_repeat_interval;
  if (auto due_ms = gate_->log.NextDueMs()) wait = Millis(*due_ms - NowMs());
  log_timer_.expires_after(std::max(wait, Millis(10)));
  log_timer_.async_wait([this, gate = gate_](const boost::system::error_code& e) {
    if (e || !gate->listening) return;
    gate->log.Flush(NowMs());
    FlushLogLater();
  });
}

void Dial(asio::io_context& io, const std::string& address, Millis timeout,
          std::function<void(Result<tcp::socket>)> done) {
  auto endpoint = ParseEndpoint(address);
  if (!endpoint.ok()) {
    asio::post(io, [done = std::move(done), status = endpoint.status()] { done(status); });
    return;
  }
  struct State {
    explicit State(asio::io_context& io) : socket(io), timer(io) {}
    tcp::socket socket;
    asio::steady_timer timer;
    bool finished = false;
    std::function<void(Result<tcp::socket>)> done;
  };
  auto state = std::make_shared<State>(io);
  state->done = std::move(done);
  state->timer.expires_after(timeout);
  state->timer.async_wait([state, address, timeout](const boost::system::error_code& error) {
    if (error || state->finished) return;
    state->finished = true;
    boost::system::error_code ignored;
    state->socket.close(ignored);
    state->done(Unavailable("connect to " + address + " timed out after " + Ms(timeout)));
  });
  state->socket.async_connect(endpoint.value(), [state, address](const boost::system::error_code& error) {
    if (state->finished) return;
    state->finished = true;
    state->timer.cancel();
    if (error) {
      state->done(Unavailable("connect to " + address + ": " + error.message()));
      return;
    }
    state->done(std::move(state->socket));
  });
}

}  // namespace ncen::transport
