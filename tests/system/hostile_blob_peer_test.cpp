// A hostile peer against a real ncen-node hub, for the photo (blob) messages
// of protocol v3 (docs/blobs.md §4–6): a roster member, "mallory", that
// completes the Noise handshake and a valid hello and then sends blob_data
// nobody asked for, asks for photos outside its scopes, asks for far more
// than a window, floods empty wants, and sends a truncated blob_data. For
// each, the hub closes the session (or answers blob_lack) with a log line
// naming the reason, keeps running, stores nothing wrong, and an honest node
// still syncs the records and the photo whole afterwards.
//
// The peer drives a transport::SecureChannel over a plain blocking socket
// (as replication_system_test does for refused handshakes) and speaks with
// the public encoders of replication/protocol/messages.h.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <fstream>
#include <optional>
#include <random>

#include "crypto/hash.h"
#include "crypto/identity.h"
#include "media/sample_photo.h"
#include "base/compress.h"
#include "replication/protocol/messages.h"
#include "replication/protocol/wire_codec.h"
#include "replication/transport/channel.h"
#include "storage/blobs.h"
#include "tests/support/network_proc.h"

using namespace ncen;
using namespace ncen::testing;
using json = nlohmann::json;
using replication::BlobLackReason;
using replication::Message;

namespace {

constexpr size_t kWindowBytes = 4u << 20;  // kBlobWindowBytes (docs/blobs.md §5)

crypto::Hash256 HashOf(const std::string& hex) {
  auto h = storage::ParseBlobHash(hex);
  REQUIRE(h);
  return *h;
}

crypto::Hash256 RandomHash(std::mt19937_64& rng) {
  crypto::Hash256 h;
  for (auto& b : h) b = static_cast<uint8_t>(rng());
  return h;
}

// A figure of /proc/PID/status in KiB: "VmRSS" now, "VmHWM" the peak.
uint64_t ProcKiB(pid_t pid, const std::string& field = "VmRSS") {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1));
  }
  return 0;
}
uint64_t VmRssKiB(pid_t pid) { return ProcKiB(pid); }

// One end of a session, as mallory: what arrived, decoded, and whether the
// hub hung up.
class HostilePeer {
 public:
  struct Received {
    std::vector<std::string> kinds;
    std::vector<std::pair<crypto::Hash256, BlobLackReason>> lacks;
    uint64_t blob_data_bytes = 0;
    std::vector<std::string> errors;  // error messages' texts
    size_t undecodable = 0;
  };

  HostilePeer(const crypto::Identity& me, const std::string& address)
      : channel_(crypto::NoiseRole::kInitiator, me, Options(), [](const crypto::PublicKey&) -> Result<std::string> {
          return std::string("hub");
        }) {
    sockaddr_in to = Ipv4(address);
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    REQUIRE(::connect(fd_, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0);
    REQUIRE(channel_.Start().ok());
    unsent_ = channel_.TakeOutput();
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!channel_.is_open() && !hung_up_ && std::chrono::steady_clock::now() < deadline) Pump(50);
    INFO("channel state " << static_cast<int>(channel_.state()) << ", close reason " << channel_.peer_close_reason());
    REQUIRE(channel_.is_open());
  }
  ~HostilePeer() {
    if (fd_ >= 0) ::close(fd_);
  }
  HostilePeer(const HostilePeer&) = delete;
  HostilePeer& operator=(const HostilePeer&) = delete;

  static transport::ChannelOptions Options() {
    transport::ChannelOptions options;
    options.network_id = Bytes{'t', 'e', 's', 't', '-', 'n', 'e', 't'};
    return options;
  }

  // A valid hello: this identity, this protocol version, nothing held.
  void Hello(const crypto::PublicKey& id) {
    replication::HelloMsg hello;
    hello.node_id = id;
    hello.name = "mallory";
    hello.role = "post";
    Send(hello);
  }
  void Send(const Message& m) { SendRaw(replication::EncodeMessage(m)); }
  // Any bytes as one protocol message, in the wire form (wire_codec.h): the
  // channel frames and encrypts them.
  void SendRaw(ByteView bytes) {
    Bytes wire(bytes.begin(), bytes.end());
    REQUIRE(encoder_.Encode(wire).ok());
    REQUIRE(channel_.Send(wire).ok());
    Bytes out = channel_.TakeOutput();
    unsent_.insert(unsent_.end(), out.begin(), out.end());
    Flush(10s);
  }
  // Bytes as they go on the wire (wire_codec.h), bypassing the encoder.
  void SendWire(ByteView wire) {
    REQUIRE(channel_.Send(wire).ok());
    Bytes out = channel_.TakeOutput();
    unsent_.insert(unsent_.end(), out.begin(), out.end());
    Flush(10s);
  }
  // Writes everything queued, reading what arrives meanwhile (the hub must
  // never block on us). False when the hub hung up first.
  bool Flush(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (sent_ < unsent_.size() && !hung_up_ && std::chrono::steady_clock::now() < deadline) Pump(50);
    if (sent_ == unsent_.size()) {
      unsent_.clear();
      sent_ = 0;
    }
    return unsent_.empty();
  }
  // Reads (and writes) for up to `ms`.
  void Pump(int ms) {
    pollfd p{fd_, static_cast<short>(POLLIN | (sent_ < unsent_.size() ? POLLOUT : 0)), 0};
    if (hung_up_ || ::poll(&p, 1, ms) <= 0) return;
    if (p.revents & POLLOUT) {
      ssize_t n = ::send(fd_, unsent_.data() + sent_, unsent_.size() - sent_, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) sent_ += static_cast<size_t>(n);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        hung_up_ = true;
        hang_up_reason_ = std::strerror(errno);
      }
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      uint8_t buffer[65536];
      ssize_t n = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        hung_up_ = true;
        hang_up_reason_ = n == 0 ? "end of stream" : std::strerror(errno);
        return;
      }
      if (n > 0) {
        bytes_in_ += static_cast<uint64_t>(n);
        if (ncen::Status s = channel_.Receive(ByteView(buffer, static_cast<size_t>(n))); !s.ok()) {
          hung_up_ = true;
          hang_up_reason_ = s.ToString();
        }
        Bytes out = channel_.TakeOutput();  // handshake replies
        unsent_.insert(unsent_.end(), out.begin(), out.end());
        while (auto m = channel_.NextMessage()) Take(*m);
      }
    }
  }
  // Waits until the hub closed the session (CLOSE or EOF), at most `timeout`.
  bool WaitClosed(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!closed() && std::chrono::steady_clock::now() < deadline) Pump(50);
    return closed();
  }
  // Reads for `ms`, or until `done`.
  void ReadFor(std::chrono::milliseconds timeout, const std::function<bool()>& done = {}) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!hung_up_ && std::chrono::steady_clock::now() < deadline && !(done && done())) Pump(50);
  }
  bool closed() const { return hung_up_ || channel_.peer_closed(); }
  const std::string& close_reason() const { return channel_.peer_close_reason(); }
  // Why this end stopped reading: end of stream, a socket error, or a channel error.
  const std::string& hang_up_reason() const { return hang_up_reason_; }
  const Received& received() const { return received_; }

 private:
  void Take(const Bytes& wire) {
    auto bytes = decoder_.Decode(wire);
    if (!bytes.ok()) {
      ++received_.undecodable;
      return;
    }
    auto decoded = replication::DecodeMessage(bytes.value());
    if (!decoded.ok()) {
      ++received_.undecodable;
      return;
    }
    const Message& m = decoded.value();
    received_.kinds.push_back(replication::MessageKindName(m));
    if (auto* lack = std::get_if<replication::BlobLackMsg>(&m)) {
      for (auto& item : lack->items) received_.lacks.push_back(item);
    } else if (auto* data = std::get_if<replication::BlobDataMsg>(&m)) {
      received_.blob_data_bytes += data->data.size();
    } else if (auto* error = std::get_if<replication::ErrorMsg>(&m)) {
      received_.errors.push_back(error->text);
    }
  }

  transport::SecureChannel channel_;
  replication::WireEncoder encoder_;
  replication::WireDecoder decoder_;
  int fd_ = -1;
  Bytes unsent_;
  size_t sent_ = 0;
  bool hung_up_ = false;
  std::string hang_up_reason_;
  uint64_t bytes_in_ = 0;
  Received received_;
};

std::string WriteBytes(const TempDir& dir, const std::string& name, const Bytes& bytes) {
  std::string path = dir.Sub(name);
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return path;
}

// A hub holding one national seizure with one photo (about 2.5 MB: ten
// chunks), mallory in its roster with `mallory_scopes`, its daemon running.
struct HubWithPhoto {
  TempDir nodes, files;
  NodeProc hub{nodes, "hub", "hub", true};
  crypto::Identity mallory = crypto::Identity::Generate();
  std::string image, preview, address;
  uint64_t image_size = 0;
  std::string blobs_before;

  explicit HubWithPhoto(const std::string& mallory_scopes = "national,regional,global") {
    AddSeizure(hub, "PK", "hostile peer case");
    json list = json::parse(CtlOk(hub.dir, {"--json", "list", "--type", "seizure"}));
    REQUIRE(!list.empty());
    std::string seizure = list[0]["id"];
    std::string file = WriteBytes(files, "p.jpg", media::SamplePhotoJpeg(2000, 1500, 7, 95));
    json added = json::parse(CtlOk(hub.dir, {"--json", "photo", "add", seizure, file}));
    image = added["image"];
    preview = added["preview"];
    image_size = added["image_size"];
    REQUIRE(image_size > 2 * storage::kBlobChunkBytes);
    CtlOk(hub.dir, {"peers", "add", "--name", "mallory", "--id", crypto::NodeIdHex(mallory.public_key()), "--scopes",
                    mallory_scopes});
    address = hub.Start();
    blobs_before = CtlOk(hub.dir, {"--json", "blobs"});
  }

  // Mallory connected, hello sent, and the hub's hello received.
  std::unique_ptr<HostilePeer> Connect() {
    auto peer = std::make_unique<HostilePeer>(mallory, address);
    peer->Hello(mallory.public_key());
    peer->ReadFor(5s, [&] { return !peer->received().kinds.empty(); });
    REQUIRE(!peer->received().kinds.empty());
    CHECK(peer->received().kinds[0] == std::string("hello"));
    return peer;
  }

  // The hub's log has a line with both texts (waits for it a little).
  void CheckLogged(const std::string& a, const std::string& b) {
    std::string log;
    for (int i = 0; i < 100; ++i) {
      log = ReadWholeFile(hub.log);
      std::istringstream lines(log);
      for (std::string line; std::getline(lines, line);) {
        if (line.find(a) != std::string::npos && line.find(b) != std::string::npos) {
          SUCCEED("logged: " << line);
          return;
        }
      }
      std::this_thread::sleep_for(50ms);
    }
    FAIL_CHECK("no log line with '" << a << "' and '" << b << "'; log:\n" << log);
  }

  // The hub runs, stores nothing wrong, and an honest node syncs the records
  // and the photo whole from it.
  void CheckHealthyAndServesHonestNode() {
    REQUIRE(::kill(hub.daemon.pid(), 0) == 0);
    CtlOk(hub.dir, {"log", "verify"});
    json now = json::parse(CtlOk(hub.dir, {"--json", "blobs"})), before = json::parse(blobs_before);
    for (const char* key : {"held", "partial", "missing"}) CHECK(now[key] == before[key]);
    NodeProc honest{nodes, "honest", "post", false};
    AddPeer(hub, honest);
    hub.daemon.Signal(SIGHUP);
    AddPeer(honest, hub, address);
    auto run = RunCommand({NCEN_NODE_PATH, "--data", honest.dir, "--once", "--timeout", "20"});
    INFO("honest --once: " << run.out << run.err << "\nhub log:\n" << ReadWholeFile(hub.log));
    REQUIRE(run.exit_code == 0);
    json list = json::parse(CtlOk(honest.dir, {"--json", "list", "--type", "seizure"}));
    CHECK(list.size() == 1);
    std::string out = files.Sub("honest.jpg");
    CtlOk(honest.dir, {"photo", "get", image, "--out", out});
    std::string got = ReadWholeFile(out);
    CHECK(got.size() == image_size);
    CHECK(storage::BlobHashText(crypto::Blake2b256(AsBytes(got))) == image);
    CtlOk(honest.dir, {"log", "verify"});
    REQUIRE(::kill(hub.daemon.pid(), 0) == 0);
  }
};

}  // namespace

TEST_CASE("a hub ends the session of a peer that sends blob data it never asked for", "[system][hostile]") {
  HubWithPhoto w;
  auto peer = w.Connect();
  std::mt19937_64 rng(1);
  Bytes junk(storage::kBlobChunkBytes);
  for (auto& b : junk) b = static_cast<uint8_t>(rng());
  crypto::Hash256 hash = RandomHash(rng);
  peer->Send(replication::BlobDataMsg{hash, static_cast<uint32_t>(junk.size()), 0, junk});
  CHECK(peer->WaitClosed(5s));
  CHECK(peer->close_reason().find("did not ask for") != std::string::npos);
  w.CheckLogged("session with mallory failed", "which this node did not ask for");
  CHECK(!FileHolds(w.hub.dir + "/store/data.mdb", std::string(junk.begin() + 1000, junk.begin() + 1064)));
  w.CheckHealthyAndServesHonestNode();
}

TEST_CASE("a hub answers not allowed, never bytes, for a national photo a regional-only peer asks for",
          "[system][hostile]") {
  HubWithPhoto w("regional");
  auto peer = w.Connect();
  crypto::Hash256 image = HashOf(w.image), preview = HashOf(w.preview);
  peer->Send(replication::BlobWantMsg{{{image, 0, 4}, {preview, 0, 1}}});
  peer->ReadFor(5s, [&] { return peer->received().lacks.size() >= 2; });
  const auto& got = peer->received();
  CHECK(got.blob_data_bytes == 0);
  REQUIRE(got.lacks.size() == 2);
  for (const auto& [hash, reason] : got.lacks) {
    CHECK((hash == image || hash == preview));
    CHECK(reason == BlobLackReason::kNotAllowed);
  }
  // Asking again, and past a lack, still brings no bytes.
  peer->Send(replication::BlobWantMsg{{{image, 0, 10}}});
  peer->ReadFor(1s);
  CHECK(peer->received().blob_data_bytes == 0);
  CHECK(std::count(got.kinds.begin(), got.kinds.end(), std::string("blob_data")) == 0);
  w.CheckHealthyAndServesHonestNode();
}

TEST_CASE("a hub ends the session of a peer that asks for far more than a window", "[system][hostile]") {
  HubWithPhoto w;
  auto peer = w.Connect();
  crypto::Hash256 image = HashOf(w.image);
  uint32_t chunks = storage::BlobChunkCount(static_cast<uint32_t>(w.image_size));

  SECTION("ranges totalling 64 MiB of a held blob in one want") {
    replication::BlobWantMsg want;
    uint64_t asked = 0;
    while (asked < (64u << 20)) {
      want.ranges.push_back({image, 0, chunks});
      asked += w.image_size;
    }
    REQUIRE(want.ranges.size() <= 256);
    peer->Send(want);
    CHECK(peer->WaitClosed(5s));
    CHECK(peer->received().blob_data_bytes <= kWindowBytes);
    w.CheckLogged("session with mallory failed", "asks for more blob bytes than a window");
  }
  SECTION("a range of more chunks than the largest blob has") {
    peer->Send(replication::BlobWantMsg{{{image, 0, 100'000}}});
    CHECK(peer->WaitClosed(5s));
    CHECK(peer->received().blob_data_bytes == 0);
    // Refused by the decoder or the session: either way, named.
    w.CheckLogged("session with mallory failed", "chunks");
  }
  SECTION("a count past the blob's end is served as the whole blob, no more") {
    peer->Send(replication::BlobWantMsg{{{image, 0, 256}}});
    peer->ReadFor(5s, [&] { return peer->received().blob_data_bytes >= w.image_size; });
    peer->ReadFor(500ms);
    CHECK(peer->received().blob_data_bytes == w.image_size);
    CHECK(!peer->closed());
  }
  SECTION("a first chunk beyond the end is answered not held") {
    peer->Send(replication::BlobWantMsg{{{image, chunks + 5, 1}}});
    peer->ReadFor(5s, [&] { return !peer->received().lacks.empty(); });
    REQUIRE(peer->received().lacks.size() == 1);
    CHECK(peer->received().lacks[0].second == BlobLackReason::kNotHeld);
    CHECK(peer->received().blob_data_bytes == 0);
  }
  w.CheckHealthyAndServesHonestNode();
}

// Found by this test: the hub once checked "more than twice the window" per
// blob_want message only, so 26 wants of the whole 2.6 MB photo, each legal
// alone, made it encrypt and queue all 68 MB for mallory (~135 MiB of peak
// RSS), then drop the connection as "peer is not reading". Now blob data is
// queued only while the transport holds less than a window
// (SessionOptions::queued_bytes), and what was asked and not yet queued is
// counted across wants.
TEST_CASE("a hub ends the session of a peer that asks for a window many times over in separate wants",
          "[system][hostile]") {
  HubWithPhoto w;
  auto peer = w.Connect();
  peer->ReadFor(500ms);
  crypto::Hash256 image = HashOf(w.image);
  uint32_t chunks = storage::BlobChunkCount(static_cast<uint32_t>(w.image_size));
  uint64_t peak_before = ProcKiB(w.hub.daemon.pid(), "VmHWM");
  // docs/blobs.md §5: a receiver asks for at most the window not yet
  // arrived; a peer that asks for more than twice the window ends the session.
  uint64_t asked = 0;
  while (asked < (64u << 20) && !peer->closed()) {
    peer->Send(replication::BlobWantMsg{{{image, 0, chunks}}});
    asked += w.image_size;
  }
  CHECK(peer->WaitClosed(5s));
  uint64_t peak_after = ProcKiB(w.hub.daemon.pid(), "VmHWM");
  INFO("asked " << asked << " bytes in wants of " << w.image_size << "; received " << peer->received().blob_data_bytes
                << " bytes of blob data; hub peak RSS " << peak_before << " -> " << peak_after << " KiB");
  CHECK(peer->received().blob_data_bytes <= 2 * kWindowBytes + (1u << 20));
  w.CheckLogged("session with mallory failed", "asks for more blob bytes than a window");
  CHECK(peak_after < peak_before + 24 * 1024);
  w.CheckHealthyAndServesHonestNode();
}

TEST_CASE("a flood of empty blob wants leaves a hub responsive and its memory bounded", "[system][hostile]") {
  HubWithPhoto w;
  auto peer = w.Connect();
  peer->ReadFor(500ms);
  uint64_t rss_before = VmRssKiB(w.hub.daemon.pid());
  REQUIRE(rss_before > 0);
  Bytes empty_want = replication::EncodeMessage(replication::BlobWantMsg{});
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10'000 && !peer->closed(); ++i) peer->SendRaw(empty_want);
  peer->ReadFor(1s);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  uint64_t rss_after = VmRssKiB(w.hub.daemon.pid());
  INFO("VmRSS " << rss_before << " KiB before, " << rss_after << " KiB after 10,000 empty wants in " << seconds << " s");
  CHECK(rss_after < rss_before + 64 * 1024);
  // An empty want is legal ("nothing more for now"): the session goes on.
  CHECK(!peer->closed());
  CHECK(peer->received().errors.empty());
  w.CheckHealthyAndServesHonestNode();
  CHECK(VmRssKiB(w.hub.daemon.pid()) < rss_before + 64 * 1024);
}

TEST_CASE("a hub refuses a truncated or lying blob data message as corrupt", "[system][hostile]") {
  HubWithPhoto w;
  auto peer = w.Connect();
  Bytes chunk(storage::kBlobChunkBytes, 0x5a);
  crypto::Hash256 image = HashOf(w.image);
  Bytes bytes = replication::EncodeMessage(
      replication::BlobDataMsg{image, static_cast<uint32_t>(w.image_size), 0, chunk});
  std::string why = "CORRUPTION";  // what the hub's log line says
  SECTION("cut in the middle of its data") { bytes.resize(bytes.size() / 2); }
  SECTION("cut to its segment table") { bytes.resize(8); }
  SECTION("cut by one word") { bytes.resize(bytes.size() - 8); }
  // The layout ncen writes and reads without Cap'n Proto (docs/blobs.md §4),
  // with one word lying: each falls to Cap'n Proto, which refuses it.
  auto word = [&](size_t at, uint64_t v) {
    for (int i = 0; i < 8; ++i) bytes[at + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
  };
  SECTION("its data claims a megabyte more than the message holds") {
    word(8 + 5 * 8, (uint64_t{chunk.size() + (1 << 20)} << 35) | (uint64_t{2} << 32) | 0x11);
    why = "does not decode";
  }
  SECTION("its segment table claims more words than were sent") {
    word(0, uint64_t{(bytes.size() - 8) / 8 + 4096} << 32);
    why = "does not decode";
  }
  SECTION("its data is a list of words, not bytes") {
    word(8 + 5 * 8, (uint64_t{chunk.size() / 8} << 35) | (uint64_t{5} << 32) | 0x11);
    why = "does not decode";
  }
  peer->SendRaw(bytes);
  CHECK(peer->WaitClosed(5s));
  w.CheckLogged("session with mallory failed", why);
  w.CheckHealthyAndServesHonestNode();
}

TEST_CASE("a hub ends the session of a peer whose compressed stream is a bomb, garbage or an unknown flag",
          "[system][hostile][wire]") {
  HubWithPhoto w;
  auto peer = w.Connect();
  Bytes wire = {replication::kWireZstd};
  std::string expect;
  SECTION("a piece that decompresses to more than a message may hold") {
    StreamCompressor c;
    REQUIRE(c.Compress(Bytes(limits::kMessageBytesMax + 4096, 0), wire).ok());
    REQUIRE(wire.size() < 4096);  // a few kB on the wire
    expect = "decompresses to more than";
  }
  SECTION("bytes that are not zstd") {
    for (int i = 0; i < 64; ++i) wire.push_back(static_cast<uint8_t>(i * 37));
    expect = "bad compressed data";
  }
  SECTION("an unknown flag") {
    wire = {9, 0, 0, 0, 0, 0, 0, 0, 0};
    expect = "unknown wire flag 9";
  }
  uint64_t rss_before = VmRssKiB(w.hub.daemon.pid());
  peer->SendWire(wire);
  CHECK(peer->WaitClosed(5s));
  w.CheckLogged("session with mallory failed", expect);
  CHECK(VmRssKiB(w.hub.daemon.pid()) < rss_before + 32 * 1024);
  w.CheckHealthyAndServesHonestNode();
}

TEST_CASE("a peer speaking the old protocol version is refused at its hello with a clear line",
          "[system][hostile][wire]") {
  HubWithPhoto w;
  HostilePeer peer(w.mallory, w.address);
  replication::HelloMsg hello;
  hello.protocol_version = 3;
  hello.node_id = w.mallory.public_key();
  hello.name = "mallory";
  hello.role = "post";
  peer.Send(hello);  // the first message goes as it is, as version 3 sent it
  CHECK(peer.WaitClosed(5s));
  w.CheckLogged("session with mallory failed", "peer speaks protocol version 3, this node 4");
  // The hub's own hello, the first message it sent, is readable by version 3.
  REQUIRE(!peer.received().kinds.empty());
  CHECK(peer.received().kinds[0] == std::string("hello"));
}
