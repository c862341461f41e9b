// TCP connections that carry a SecureChannel (channel.h) on a single-threaded
// Boost.Asio io_context: the handshake under a timeout, framed encrypted
// messages, bounded buffers, a clean close. The transport only moves bytes;
// it knows nothing of records (docs/handshake.md §7–8).
//
// Threading: every Connection, Listener and Dial belongs to the thread that
// runs its io_context. Handlers run on that thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "replication/transport/asio.h"
#include "replication/transport/channel.h"

namespace ncen::transport {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

struct TcpLimits {
  Millis handshake_timeout{10000};  // from connect to an open channel
  Millis frame_timeout{30000};      // a frame that has begun must be complete
  Millis write_timeout{30000};      // queued output must make progress
  Millis idle_timeout{0};           // no bytes at all for this long (0: off)
  Millis close_timeout{2000};       // after our CLOSE, wait this long for the peer's EOF
  size_t max_queued_bytes = size_t{64} << 20;  // unsent output (a peer that never reads)
  size_t read_buffer_bytes = size_t{256} << 10;
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
  };

  // Starts the handshake on a connected socket. The connection keeps itself
  // alive until on_close has run.
  static std::shared_ptr<Connection> Start(boost::asio::ip::tcp::socket socket,
                                           crypto::NoiseRole role, const crypto::Identity& me,
                                           ChannelOptions options, PeerCheck check,
                                           TcpLimits limits, Handler handler);
  ~Connection();

  // Queues one protocol message. kFailedPrecondition when not open;
  // kResourceExhausted (and the connection is dropped) when more than
  // max_queued_bytes are waiting: the peer is not reading.
  Status Send(ByteView message);
  // Sends CLOSE, flushes, then closes. on_close(Ok) follows.
  void Close(std::string_view reason);
  // Drops the connection now; on_close(reason) follows.
  void Abort(const Status& reason);

  bool is_open() const;
  const std::string& remote_address() const { return remote_address_; }
  const std::optional<crypto::PublicKey>& peer_id() const { return channel_.peer_id(); }
  const std::string& peer_name() const { return channel_.peer_name(); }
  // Set when the peer authenticated but was not in the roster.
  const std::optional<crypto::PublicKey>& refused_peer() const { return channel_.refused_peer(); }
  const ConnectionStats& stats() const { return stats_; }
  size_t queued_bytes() const { return writing_.size() + channel_.output_bytes(); }
  // A short label for log lines: "name (address)" once known.
  std::string Label() const;

 private:
  Connection(boost::asio::ip::tcp::socket socket, crypto::NoiseRole role,
             const crypto::Identity& me, ChannelOptions options, PeerCheck check,
             TcpLimits limits, Handler handler);
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
  std::string remote_address_;
  Bytes writing_;
  bool write_in_flight_ = false;
  bool opened_ = false;
  bool closing_ = false;         // we sent CLOSE
  bool shutdown_sent_ = false;
  bool finished_ = false;
  Clock::time_point started_;
  Clock::time_point last_read_;
  Clock::time_point last_write_progress_;
  std::optional<Clock::time_point> partial_since_;
  std::optional<Clock::time_point> close_deadline_;
  ConnectionStats stats_;
};

// Accepts connections on an address and hands each socket to `on_accept`.
class Listener {
 public:
  using AcceptFn = std::function<void(boost::asio::ip::tcp::socket)>;
  // "HOST:PORT" ("127.0.0.1:0" picks a free port; "[::1]:7000" for IPv6).
  static Result<std::unique_ptr<Listener>> Open(boost::asio::io_context& io,
                                                const std::string& address, AcceptFn on_accept);
  ~Listener();
  uint16_t port() const;
  std::string address() const;
  void Stop();

 private:
  explicit Listener(boost::asio::io_context& io);
  void AcceptNext();
  boost::asio::ip::tcp::acceptor acceptor_;
  AcceptFn on_accept_;
  bool stopped_ = false;
};

// Parses "HOST:PORT" / "[V6]:PORT" into an endpoint (numeric hosts and
// "localhost" only: nodes are configured with addresses, not names).
Result<boost::asio::ip::tcp::endpoint> ParseEndpoint(const std::string& address);

// Connects to `address` within `timeout`; the callback gets the socket or why not.
void Dial(boost::asio::io_context& io, const std::string& address, Millis timeout,
          std::function<void(Result<boost::asio::ip::tcp::socket>)> done);

}  // namespace ncen::transport
