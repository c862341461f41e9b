// ncen-bench channel: the secure channel's costs.
//   handshake  CPU time per side of a full XX handshake (in memory, so only
//              the crypto and framing count), averaged over many handshakes.
//   bulk       payload throughput over real loopback TCP between two threads,
//              each with its own io_context, through the full transport
//              (framing, ChaCha20-Poly1305, reassembly), 1 MiB messages.
#include "tools/ncen-bench/channel_bench.h"

#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "replication/transport/tcp.h"

namespace ncen::bench {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using crypto::NoiseRole;
using transport::Connection;
using transport::SecureChannel;

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

transport::ChannelOptions Options() {
  transport::ChannelOptions options;
  std::string net = "bench";
  options.network_id = Bytes(net.begin(), net.end());
  return options;
}

transport::PeerCheck AcceptOnly(const crypto::PublicKey& key) {
  return [key](const crypto::PublicKey& peer) -> Result<std::string> {
    if (peer == key) return std::string("peer");
    return Unauthenticated("not in the trust roster");
  };
}

// Mean CPU seconds per handshake for each side.
std::pair<double, double> Handshakes(uint64_t count) {
  auto a = crypto::Identity::Generate(), b = crypto::Identity::Generate();
  double initiator_cpu = 0, responder_cpu = 0;
  for (uint64_t i = 0; i < count; ++i) {
    double t0 = ThreadCpuSeconds();
    SecureChannel initiator(NoiseRole::kInitiator, a, Options(), AcceptOnly(b.public_key()));
    NCEN_CHECK(initiator.Start().ok());
    Bytes m1 = initiator.TakeOutput();
    double t1 = ThreadCpuSeconds();
    SecureChannel responder(NoiseRole::kResponder, b, Options(), AcceptOnly(a.public_key()));
    NCEN_CHECK(responder.Receive(m1).ok());
    Bytes m2 = responder.TakeOutput();
    double t2 = ThreadCpuSeconds();
    NCEN_CHECK(initiator.Receive(m2).ok());
    Bytes m3 = initiator.TakeOutput();
    double t3 = ThreadCpuSeconds();
    NCEN_CHECK(responder.Receive(m3).ok());
    NCEN_CHECK(responder.is_open() && initiator.is_open());
    double t4 = ThreadCpuSeconds();
    initiator_cpu += (t1 - t0) + (t3 - t2);
    responder_cpu += (t2 - t1) + (t4 - t3);
  }
  return {initiator_cpu / static_cast<double>(count), responder_cpu / static_cast<double>(count)};
}

// Payload MB/s (10^6 bytes) over loopback for `total_mib` MiB.
double Bulk(uint64_t total_mib) {
  auto a = crypto::Identity::Generate(), b = crypto::Identity::Generate();
  const size_t message_bytes = size_t{1} << 20;
  const uint64_t total = total_mib * message_bytes;
  transport::TcpLimits limits;
  limits.max_queued_bytes = size_t{64} << 20;

  asio::io_context receiver_io;
  std::atomic<uint64_t> received{0};
  std::shared_ptr<Connection> receiver;
  auto listener = transport::Listener::Open(receiver_io, "127.0.0.1:0", [&](tcp::socket socket,
                                                                          transport::HandshakeSlot slot) {
    Connection::Handler handler;
    handler.on_message = [&](Connection& c, Bytes& m) {
      received += m.size();
      if (received >= total) c.Close("done");
    };
    receiver = Connection::Start(std::move(socket), NoiseRole::kResponder, b, Options(),
                                 AcceptOnly(a.public_key()), limits, std::move(handler),
                                 std::move(slot));
  });
  NCEN_CHECK(listener.ok());
  std::string address = listener.value()->address();
  std::thread receiver_thread([&] { receiver_io.run(); });

  asio::io_context sender_io;
  Bytes payload(message_bytes, 0x5a);
  uint64_t sent = 0;
  std::shared_ptr<Connection> sender;
  Clock::time_point start;
  Clock::time_point end;
  std::function<void()> pump;
  asio::steady_timer timer(sender_io);
  pump = [&] {
    // Keep at most 8 MiB queued: what a replication window does.
    while (sent < total && sender->is_open() && sender->queued_bytes() < (size_t{8} << 20)) {
      NCEN_CHECK(sender->Send(payload).ok());
      sent += payload.size();
    }
    if (sent < total && sender->is_open()) {
      timer.expires_after(std::chrono::microseconds(200));
      timer.async_wait([&](const boost::system::error_code& e) {
        if (!e) pump();
      });
    }
  };
  transport::Dial(sender_io, address, std::chrono::milliseconds(2000), [&](Result<tcp::socket> socket) {
    NCEN_CHECK(socket.ok());
    Connection::Handler handler;
    handler.on_open = [&](Connection&) {
      start = Clock::now();
      pump();
    };
    handler.on_close = [&](Connection&, const Status&) {
      end = Clock::now();
      // The listener belongs to the receiver's thread.
      asio::post(receiver_io, [&] { listener.value()->Stop(); });
    };
    sender = Connection::Start(std::move(socket).value(), NoiseRole::kInitiator, a, Options(),
                               AcceptOnly(b.public_key()), limits, std::move(handler));
  });
  sender_io.run();
  receiver_thread.join();
  NCEN_CHECK(received.load() == total);
  double seconds = std::chrono::duration<double>(end - start).count();
  return static_cast<double>(total) / seconds / 1e6;
}

}  // namespace

double ChannelBulkMBps(uint64_t total_mib) { return Bulk(total_mib); }

int ChannelBench(uint64_t handshakes, uint64_t bulk_mib, bool json) {
  auto [initiator, responder] = Handshakes(handshakes);
  double mbps = Bulk(bulk_mib);
  if (json) {
    nlohmann::ordered_json out;
    out["handshakes"] = handshakes;
    out["handshake_cpu_us_initiator"] = initiator * 1e6;
    out["handshake_cpu_us_responder"] = responder * 1e6;
    out["bulk_mib"] = bulk_mib;
    out["bulk_mb_per_s"] = mbps;
    std::cout << out.dump() << "\n";
    return 0;
  }
  std::printf("secure channel (Noise XX, ChaCha20-Poly1305, loopback TCP)\n");
  std::printf("  handshake CPU, initiator   %8.1f us   (mean of %llu)\n", initiator * 1e6,
              static_cast<unsigned long long>(handshakes));
  std::printf("  handshake CPU, responder   %8.1f us\n", responder * 1e6);
  std::printf("  bulk transfer              %8.0f MB/s (%llu MiB in 1 MiB messages)\n", mbps,
              static_cast<unsigned long long>(bulk_mib));
  return 0;
}

}  // namespace ncen::bench
