// TCP connections that carry a SecureChannel (channel.h) on a single-threaded
// Boost.Asio io_context: the handshake under a timeout, framed encrypted
// messages, bounded buffers, a clean close. The transport only moves bytes;
// it knows nothing of records (docs/handshake.md §7–8).
//
// A stranger can open TCP connections for free, so a Listener bounds what
// connections cost before their handshake proves a roster key: how many may
// be in the handshake (in total and per remote address), a small read
// buffer until then, a backoff when accept() fails, and rate-limited log
// lines for what strangers cause (docs/handshake.md §7).
//
// Threading: every Connection, Listener and Dial belongs to the thread that
// runs its io_context. Handlers run on that thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/limits.h"
#include "replication/transport/asio.h"
#include "replication/transport/channel.h"

namespace ncen::transport {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

struct TcpLimits {
  Millis handshake_timeout{10000};  // from connect to an open channel
  // A frame that has begun must be complete; after the handshake, at least
  // keep coming at limits::kFrameFloorBytesPerSecond.
  Millis frame_timeout{30000};
  Millis write_timeout{30000};      // queued output must make progress
  Millis idle_timeout{0};           // no bytes at all for this long (0: off)
  Millis close_timeout{2000};       // after our CLOSE, wait this long for the peer's EOF
  size_t max_queued_bytes = size_t{64} << 20;  // unsent output (a peer that never reads)
  size_t read_buffer_bytes = limits::kReadBufferBytes;  // one read, once open
  // One read before the handshake is done: what an idle stranger costs.
  size_t handshake_read_buffer_bytes = limits::kHandshakeReadBufferBytes;
};

namespace internal {
struct InboundGate;  // a Listener's state shared with its connections (tcp.cpp)
}

// A place among a Listener's inbound connections whose handshake is in
// progress. The Listener hands one out with each socket it accepts;
// Connection::Start takes it and gives it back when the handshake is done
// or the connection ends, whichever comes first. While it is held, the
// connection's log lines go through the listener's rate limiter: how often a
// stranger's connections fail is the stranger's choice. An empty slot (the
// default, for outbound connections) limits nothing and logs every line.
class HandshakeSlot {
 public:
  HandshakeSlot() = default;
  HandshakeSlot(HandshakeSlot&& other) noexcept = default;
  HandshakeSlot& operator=(HandshakeSlot&& other) noexcept;
  ~HandshakeSlot();

  // Gives the place back (idempotent).
  void Release();
  bool held() const { return gate_ != nullptr; }
  // Writes one log line: rate-limited under `key` (a fixed string) while
  // the slot is held and its listener runs, as is otherwise.
  void Log(std::string_view key, std::string_view line) const;

 private:
  friend class Listener;
  HandshakeSlot(std::shared_ptr<internal::InboundGate> gate, std::string address);
  std::shared_ptr<internal::InboundGate> gate_;
  std::string address_;  // the remote IP address the place is counted under
};


struct ConnectionStats {
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t messages_in = 0;
  uint64_t messages_out = 0;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  struct Handler {
    // The handshake succeeded and the peer passed the PeerCheck.
    std::function<void(Connection&)> on_open;
    // One whole protocol message. The handler may take the bytes (move
    // from them); what it leaves is reused for a later message, so that a
    // stream of multi-megabyte messages does not allocate (and fault in)
    // fresh memory for each.
    std::function<void(Connection&, Bytes&)> on_message;
    // Exactly once, when the connection is gone. `error` is Ok for a clean
    // close (either side); `detail` says what happened, for the log.
    std::function<void(Connection&, const Status& error)> on_close;
    // Optional: everything queued was written to the socket (queued_bytes()
    // is 0). A sender that paces itself by queued_bytes() queues more then.
    std::function<void(Connection&)> on_drained;
  };

  // Starts the handshake on a connected socket. The connection keeps itself
  // alive until on_close has run.
  // `slot`: the place an accepted socket got from its Listener (empty for
  // outbound connections); released when the channel opens or the
  // connection ends.
  static std::shared_ptr<Connection> Start(boost::asio::ip::tcp::socket socket,
                                           crypto::NoiseRole role, const crypto::Identity& me,
                                           ChannelOptions options, PeerCheck check,
                                           TcpLimits limits, Handler handler,
                                           HandshakeSlot slot = {});
  ~Connection();

  // Queues one protocol message. kFailedPrecondition when not open;
  // kResourceExhausted (and the connection is dropped) when more than
  // max_queued_bytes are waiting: the peer is not reading.
  Status Send(ByteView message) { return Send({}, message); }
  // The same for a message in two pieces: `prefix`, then `message`.
  Status Send(ByteView prefix, ByteView message);
  // Sends CLOSE, flushes, then closes. on_close(Ok) follows.
  void Close(std::string_view reason);
  // Drops the connection now; on_close(reason) follows.
  void Abort(const Status& reason);

  // Caps what this connection writes at `bytes_per_second` (0: no cap), in
  // slices of about 50 ms: a post's link is not all replication's. Anything
  // queued waits its turn (queued_bytes() counts it).
  void SetRateLimit(uint64_t bytes_per_second);
  uint64_t rate_limit() const { return rate_; }

  bool is_open() const;
  const std::string& remote_address() const { return remote_address_; }
  const std::optional<crypto::PublicKey>& peer_id() const { return channel_.peer_id(); }
  const std::string& peer_name() const { return channel_.peer_name(); }
  // Set when the peer authenticated but was not in the roster.
  const std::optional<crypto::PublicKey>& refused_peer() const { return channel_.refused_peer(); }
  const ConnectionStats& stats() const { return stats_; }
  size_t queued_bytes() const { return writing_.size() - write_offset_ + channel_.output_bytes(); }
  // Memory held for bytes from the peer (the frame reader's buffer).
  size_t receive_buffer_bytes() const { return channel_.receive_buffer_bytes(); }
  bool holds_handshake_slot() const { return slot_.held(); }
  // A short label for log lines: "name (address)" once known.
  std::string Label() const;

 private:
  Connection(boost::asio::ip::tcp::socket socket, crypto::NoiseRole role,
             const crypto::Identity& me, ChannelOptions options, PeerCheck check,
             TcpLimits limits, Handler handler, HandshakeSlot slot);
  void Begin();
  void ReadMore();
  void OnRead(const boost::system::error_code& error, size_t n);
  void Flush();
  void OnWritten(const boost::system::error_code& error, size_t n);
  void ArmWatchdog();
  void OnWatchdog();
  void Finish(const Status& error);
  void DeliverMessages();

  crypto::NoiseRole role_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer watchdog_;
  SecureChannel channel_;
  TcpLimits limits_;
  Handler handler_;
  HandshakeSlot slot_;
  std::string remote_address_;
  Bytes writing_;
  size_t write_offset_ = 0;  // how much of writing_ is written
  size_t write_requested_ = 0;  // bytes of the write in flight
  bool write_in_flight_ = false;
  // The rate cap: a token bucket refilled at rate_ bytes per second.
  boost::asio::steady_timer pace_timer_;
  uint64_t rate_ = 0;
  double tokens_ = 0;
  Clock::time_point tokens_at_{};
  bool pace_wait_ = false;
  bool opened_ = false;
  bool closing_ = false;         // we sent CLOSE
  bool shutdown_sent_ = false;
  bool finished_ = false;
  Clock::time_point started_;
  Clock::time_point last_read_;
  Clock::time_point last_write_progress_;
  std::optional<Clock::time_point> partial_since_;
  uint64_t partial_bytes_at_ = 0;  // bytes_in when partial_since_ was set
  std::optional<Clock::time_point> close_deadline_;
  ConnectionStats stats_;
};

// Bounds on a Listener's inbound connections before their handshake, and
// on how it treats a failing accept(). Defaults from base/limits.h.
struct ListenerLimits {
  size_t handshakes_max = limits::kInboundHandshakesMax;
  size_t handshakes_per_address_max = limits::kInboundHandshakesPerAddressMax;
  Millis accept_backoff_first{limits::kAcceptBackoffFirstMs};
  Millis accept_backoff_max{limits::kAcceptBackoffMaxMs};
  Millis log_repeat_interval{limits::kLogRepeatIntervalMs};
};

struct ListenerStats {
  uint64_t accepted = 0;             // sockets handed to on_accept with a slot
  uint64_t closed_over_total = 0;    // closed at once: handshakes_max were in progress
  uint64_t closed_over_address = 0;  // closed at once: that address had its share
  uint64_t accept_errors = 0;        // accept() failures (each followed by a wait)
  size_t handshakes = 0;             // slots held now
};

// The wait after a failed accept(): `first`, doubling up to `max`, back to
// `first` after a success. Every failure waits: on Linux the failures that
// reach us are shortages (EMFILE, ENFILE, ENOBUFS, ENOMEM; Asio retries
// EAGAIN and ECONNABORTED itself), which leave the listening socket
// readable, so retrying at once would spin.
class AcceptBackoff {
 public:
  AcceptBackoff(Millis first, Millis max) : first_(first), max_(max), next_(first) {}
  Millis Failed() {
    Millis wait = next_;
    next_ = std::min(next_ * 2, max_);
    return wait;
  }
  void Succeeded() { next_ = first_; }

 private:
  Millis first_, max_, next_;
};

// Accepts connections on an address and hands each socket, with its
// HandshakeSlot, to `on_accept`; a connection over the ListenerLimits is
// closed at once instead (counted in stats(), logged in aggregate).
class Listener {
 public:
  // Pass the slot on to Connection::Start: dropping it gives the place back.
  using AcceptFn = std::function<void(boost::asio::ip::tcp::socket, HandshakeSlot)>;
  // "HOST:PORT" ("127.0.0.1:0" picks a free port; "[::1]:7000" for IPv6).
  static Result<std::unique_ptr<Listener>> Open(boost::asio::io_context& io,
                                                const std::string& address, AcceptFn on_accept,
                                                ListenerLimits limits = {});
  ~Listener();
  uint16_t port() const;
  std::string address() const;
  // Stops accepting and writes the log lines held back. Connections keep
  // their slots (and log directly from then on).
  void Stop();
  const ListenerStats& stats() const;

 private:
  Listener(boost::asio::io_context& io, ListenerLimits limits);
  void AcceptNext();
  void OnAccepted(const boost::system::error_code& error, boost::asio::ip::tcp::socket socket);
  void Admit(boost::asio::ip::tcp::socket socket);
  void FlushLogLater();

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  boost::asio::steady_timer log_timer_;
  AcceptFn on_accept_;
  AcceptBackoff backoff_;
  std::shared_ptr<internal::InboundGate> gate_;
};

// Parses "HOST:PORT" / "[V6]:PORT" into an endpoint (numeric hosts and
// "localhost" only: nodes are configured with addresses, not names).
Result<boost::asio::ip::tcp::endpoint> ParseEndpoint(const std::string& address);

// Connects to `address` within `timeout`; the callback gets the socket or why not.
void Dial(boost::asio::io_context& io, const std::string& address, Millis timeout,
          std::function<void(Result<boost::asio::ip::tcp::socket>)> done);

}  // namespace ncen::transport
