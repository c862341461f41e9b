// Node configuration: DIR/ncen.toml — where the node listens, which network
// it belongs to, and its peers (the trust roster, docs/handshake.md §8, and
// the scopes each peer may receive, docs/design.md §6). Read by ncen-node at
// start, written by `ncenctl init`, `ncenctl peers` and `ncenctl config`.
//
// The file (every key optional; a missing file means all defaults):
//
//   listen = "0.0.0.0:7400"        # HOST:PORT to accept peers on; "" or absent: do not listen
//   network_id = "ncen"            # hashed into the handshake prologue; peers must agree
//
//   http_listen = "127.0.0.1:7480" # the HTTP API (docs/api.md); absent: off
//   http_tls_cert = "…"            # with http_tls_key: HTTPS; needed off loopback
//   http_tls_key = "…"
//   http_insecure = true           # plain HTTP off loopback, on purpose (logged)
//   http_threads = 2               # 1..64
//   http_static = "…"              # the web UI's files
//
//   [[peers]]                      # one table per peer
//   name = "kabul-hub"             # unique, [A-Za-z0-9._-]{1,64}
//   id = "3b6a27bc…"               # its Ed25519 node id, 64 hex digits (`ncenctl id`)
//   address = "10.0.0.2:7400"      # where to dial it; "" or absent: it dials us
//   scopes = ["national", "regional", "global"]   # what it may receive; absent: all three
//
// HOST is a numeric IPv4 address, an IPv6 address in brackets ("[::1]") or
// "localhost"; PORT is 1..65535, and for `listen` also 0: any free port
// (ncen-node then says which in DIR/ncen-node.address). Unknown keys are errors, so a misspelt key
// never silently means a default. SaveConfig writes the file in this layout
// (comments a person added are not kept).
//
// Plain values and functions, safe from any thread; LoadConfig and SaveConfig
// touch only DIR/ncen.toml (and a temporary file next to it), EditConfig
// also DIR/ncen.toml.lock. Readers need no lock: the file is only ever
// replaced whole, by rename.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "crypto/identity.h"
#include "storage/types.h"

namespace ncen::node {

inline constexpr const char* kConfigFileName = "ncen.toml";
inline constexpr const char* kConfigLockFileName = "ncen.toml.lock";
inline constexpr size_t kPeerNameBytesMax = 64;
inline constexpr size_t kNetworkIdBytesMax = 128;
inline constexpr size_t kConfigBytesMax = size_t{1} << 20;  // a longer file is refused

// national, regional, global: what a peer receives unless told otherwise.
inline std::vector<storage::Scope> AllScopes() {
  return {storage::Scope::kNational, storage::Scope::kRegional, storage::Scope::kGlobal};
}

struct PeerConfig {
  std::string name;                                  // unique, [A-Za-z0-9._-]{1,64}
  crypto::PublicKey id{};                            // Ed25519 node id (64 hex in the file)
  std::string address;                               // "HOST:PORT" to dial, or empty (inbound only)
  std::vector<storage::Scope> scopes = AllScopes();  // scopes the peer may receive
  // Which photos this node fetches from the peer (docs/blobs.md §5): "full"
  // (images and previews as records arrive), "previews" (previews; images
  // when an officer asks: a post on a thin link) or "none".
  std::string blobs = "full";
  // At most this many bytes per second are sent to the peer (docs/protocol.md
  // §3, "Rate cap"); 0: no cap. In the file: rate = "256kbit".
  uint64_t rate = 0;

  friend bool operator==(const PeerConfig&, const PeerConfig&) = default;
};

struct NodeConfig {
  std::string listen;               // "HOST:PORT" or empty = do not listen
  std::string network_id = "ncen";  // hashed into the handshake prologue
  std::vector<PeerConfig> peers;
  // National policy for releases (docs/sharing.md §2): whether the names of
  // a seizure's linked companies go into its seizure_report. Off by default.
  bool release_company_names = false;
  // The HTTP API and web UI (docs/api.md): off unless http_listen is set.
  // An address other than loopback needs TLS (both files, PEM) or
  // http_insecure = true, said on purpose and logged at every start.
  std::string http_listen;    // "127.0.0.1:7480"; empty: no HTTP
  std::string http_tls_cert;  // certificate chain file
  std::string http_tls_key;   // its private key
  bool http_insecure = false;
  int http_threads = 2;       // 1..64
  std::string http_static;    // the web UI's files; empty: the API only

  // The configured peer, or null. The pointer is valid until `peers` changes.
  const PeerConfig* FindById(const crypto::PublicKey& id) const;
  const PeerConfig* FindByName(std::string_view name) const;
  friend bool operator==(const NodeConfig&, const NodeConfig&) = default;
};

// kInvalidArgument unless full, previews or none.
Status CheckBlobPolicy(std::string_view policy);

// A send rate cap: a number and a unit, bits ("64kbit", "2Mbit", "9600bit")
// or bytes ("32kB", "1MB", "500B") per second, decimal prefixes; "off" or
// "0" for none. Returns bytes per second (0: none). kInvalidArgument for
// anything else, or a cap under 8 kbit/s or over 100 Gbit/s.
Result<uint64_t> ParseRate(std::string_view text);
// "256kbit", "1.5Mbit", "off": what ParseRate reads back.
std::string RateText(uint64_t bytes_per_second);

// A validated "HOST:PORT". `host` is without brackets ("::1", "10.0.0.2",
// "localhost").
struct HostPort {
  std::string host;
  uint16_t port = 0;
};

// Parses a peer's "HOST:PORT" as described above (port 1..65535).
// kInvalidArgument saying what is wrong (the message quotes `address`).
Result<HostPort> ParseAddress(std::string_view address);
// The same for `listen`, where port 0 (any free port) is allowed too.
Result<HostPort> ParseListenAddress(std::string_view address);

// Whether `host` (as in HostPort) is a loopback address: 127.0.0.0/8, ::1
// or "localhost".
bool IsLoopbackHost(const std::string& host);
// The HTTP settings' rules: http_listen a listen address; not loopback only
// with both TLS files or http_insecure; the TLS files both or neither.
Status CheckHttpConfig(const NodeConfig& config);

// Parses a peer id: 64 hex digits of a valid Ed25519 public key.
// kInvalidArgument otherwise.
Result<crypto::PublicKey> ParsePeerId(std::string_view hex);

// kInvalidArgument unless `name` matches [A-Za-z0-9._-]{1,64}.
Status ValidatePeerName(std::string_view name);

// Parses a comma-separated scope list ("national,global"), as `ncenctl peers
// add --scopes` takes it. kInvalidArgument on an unknown or repeated scope.
// An empty string is an empty list (the peer receives nothing).
Result<std::vector<storage::Scope>> ParseScopeList(std::string_view text);

// Checks everything LoadConfig checks, on a configuration in memory: names,
// ids (valid Ed25519 points), addresses, scopes, duplicate names or ids, and
// — when `self` is given — a peer with this node's own id. kInvalidArgument
// naming the peer and what is wrong.
Status ValidateConfig(const NodeConfig& config,
                      const std::optional<crypto::PublicKey>& self = std::nullopt);

// Reads DIR/ncen.toml. A missing file gives the defaults. kInvalidArgument
// for a file over kConfigBytesMax, not TOML or breaking a rule, as one line
// "DIR/ncen.toml:LINE: what is wrong"; kIOError when it cannot be read.
// Pass `self` (this node's id) to also refuse a peer with our own id; the
// daemon and ncenctl always do.
Result<NodeConfig> LoadConfig(const std::string& dir,
                              const std::optional<crypto::PublicKey>& self = std::nullopt);

// Validates `config` (kInvalidArgument, nothing written), then replaces
// DIR/ncen.toml atomically (node/durable_file.h: a uniquely named temporary
// file in DIR, fsynced, renamed over ncen.toml, DIR fsynced). kIOError when
// any step fails (the old file is then unchanged). Takes no lock: to change
// the file that is there, use EditConfig.
Status SaveConfig(const std::string& dir, const NodeConfig& config);

// Read-modify-write of DIR/ncen.toml under an exclusive lock on
// DIR/ncen.toml.lock, so concurrent editors (two `ncenctl peers add` at
// once) each see the other's change instead of overwriting it. Loads the file
// (LoadConfig's errors), calls `edit` on it (its error is returned, nothing
// written), validates the result with `self` (kInvalidArgument), saves it
// (SaveConfig's errors) and returns what was saved. kIOError when the lock
// cannot be taken. Blocks while another editor holds the lock.
Result<NodeConfig> EditConfig(const std::string& dir, const crypto::PublicKey& self,
                              const std::function<Status(NodeConfig&)>& edit);

}  // namespace ncen::node
