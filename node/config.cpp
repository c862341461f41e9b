// DIR/ncen.toml: reading with toml++ (its exceptions end here), validation,
// and atomic writing. The file layout is in node/config.h.
#include "node/config.h"

#include <arpa/inet.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "node/durable_file.h"

namespace ncen::node {

namespace {

std::string ConfigPath(const std::string& dir) { return dir + "/" + kConfigFileName; }

bool IsDigits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// Dotted-quad IPv4, each part 0..255 without leading zeros ("010" is octal to
// some parsers and decimal to others: refused rather than guessed).
bool IsIPv4(std::string_view host) {
  int parts = 0;
  while (true) {
    size_t dot = host.find('.');
    std::string_view part = host.substr(0, dot);
    if (!IsDigits(part) || part.size() > 3 || (part.size() > 1 && part[0] == '0')) return false;
    if (std::stoi(std::string(part)) > 255) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    host.remove_prefix(dot + 1);
  }
  return parts == 4;
}

bool IsPrintableAscii(char c) { return c > 0x20 && c < 0x7f; }

// Where a peer is, for messages about it: "DIR/ncen.toml:12: " or "peers[2] ('x'): ".
using PeerWhere = std::function<std::string(size_t index)>;

Status CheckPeerId(const crypto::PublicKey& id) {
  if (!crypto::X25519PublicFromEd25519(id).ok()) {
    return InvalidArgument("id " + crypto::NodeIdHex(id) + " is not a valid Ed25519 public key");
  }
  return Status::Ok();
}

Status CheckScopes(const std::vector<storage::Scope>& scopes) {
  for (size_t i = 0; i < scopes.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (scopes[i] == scopes[j]) {
        return InvalidArgument(std::string("scope '") + storage::ScopeName(scopes[i]) +
                               "' is listed twice");
      }
    }
  }
  return Status::Ok();
}

// "HOST:PORT" (node/config.h) with PORT from port_min to 65535.
Result<HostPort> ParseHostPort(std::string_view address, int port_min) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument("address '" + std::string(address) + "': " + why);
  };
  HostPort out;
  std::string_view port;
  if (!address.empty() && address.front() == '[') {
    size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return bad("expected [IPV6]:PORT");
    }
    out.host = address.substr(1, close - 1);
    port = address.substr(close + 2);
    in6_addr ignored;
    if (::inet_pton(AF_INET6, out.host.c_str(), &ignored) != 1) {
      return bad("'" + out.host + "' is not an IPv6 address");
    }
  } else {
    size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) return bad("expected HOST:PORT");
    out.host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (out.host.find(':') != std::string::npos)
      return bad("an IPv6 address needs brackets: [HOST]:PORT");
    if (out.host != "localhost" && !IsIPv4(out.host)) {
      return bad("HOST must be a numeric IPv4 address, an [IPv6] address or localhost");
    }
  }
  if (!IsDigits(port) || port.size() > 5 || std::stoi(std::string(port)) < port_min ||
      std::stoi(std::string(port)) > 65535) {
    return bad("PORT must be a number from " + std::to_string(port_min) + " to 65535");
  }
  out.port = static_cast<uint16_t>(std::stoi(std::string(port)));
  return out;
}

Status CheckListen(std::string_view listen) {
  if (listen.empty()) return Status::Ok();
  return ParseListenAddress(listen).status().WithContext("listen");
}

Status CheckNetworkId(std::string_view network_id) {
  if (network_id.empty() || network_id.size() > kNetworkIdBytesMax) {
    return InvalidArgument("network_id must be 1 to " + std::to_string(kNetworkIdBytesMax) +
                           " characters");
  }
  for (char c : network_id) {
    if (!IsPrintableAscii(c)) {
      return InvalidArgument("network_id '" + std::string(network_id) +
                             "' may hold only printable ASCII without spaces");
    }
  }
  return Status::Ok();
}

// One peer on its own: name, id, address, scopes.
Status CheckPeer(const PeerConfig& peer) {
  NCEN_RETURN_IF_ERROR(ValidatePeerName(peer.name));
  NCEN_RETURN_IF_ERROR(CheckPeerId(peer.id));
  if (!peer.address.empty()) NCEN_RETURN_IF_ERROR(ParseAddress(peer.address).status());
  return CheckScopes(peer.scopes);
}

// The peers together: unique names and ids, none of them this node.
Status CheckPeerSet(const std::vector<PeerConfig>& peers,
                    const std::optional<crypto::PublicKey>& self, const PeerWhere& where) {
  std::map<std::string, size_t> names;
  std::map<crypto::PublicKey, size_t> ids;
  for (size_t i = 0; i < peers.size(); ++i) {
    const PeerConfig& p = peers[i];
    if (auto [it, fresh] = names.emplace(p.name, i); !fresh) {
      std::string first = where(it->second);
      first.resize(first.size() - 2);  // without its ": "
      return InvalidArgument(where(i) + "peer name '" + p.name + "' is used twice (also at " +
                             first + ")");
    }
    if (auto [it, fresh] = ids.emplace(p.id, i); !fresh) {
      return InvalidArgument(where(i) + "peer '" + p.name + "' has the same id as peer '" +
                             peers[it->second].name + "'");
    }
    if (self && p.id == *self) {
      return InvalidArgument(where(i) + "peer '" + p.name + "' has this node's own id");
    }
  }
  return Status::Ok();
}

// ---- Reading ----

// "DIR/ncen.toml:LINE: ".
std::string At(const std::string& path, const toml::source_region& where) {
  return path + ":" + std::to_string(where.begin.line) + ": ";
}

// The string at `node`, or kInvalidArgument naming `key`.
Result<std::string> StringAt(const std::string& path, std::string_view key,
                             const toml::node& node) {
  const auto* s = node.as_string();
  if (!s) return InvalidArgument(At(path, node.source()) + std::string(key) + " must be a string");
  return s->get();
}

Result<std::vector<storage::Scope>> ReadScopes(const std::string& path, const toml::node& node) {
  const toml::array* array = node.as_array();
  if (!array) {
    return InvalidArgument(At(path, node.source()) +
                           "scopes must be a list such as [\"national\", \"regional\"]");
  }
  std::vector<storage::Scope> scopes;
  for (const toml::node& item : *array) {
    NCEN_ASSIGN_OR_RETURN(std::string name, StringAt(path, "each scope", item));
    auto scope = storage::ParseScope(name);
    if (!scope) {
      return InvalidArgument(At(path, item.source()) + "unknown scope '" + name +
                             "' (national, regional or global)");
    }
    scopes.push_back(*scope);
  }
  if (Status s = CheckScopes(scopes); !s.ok()) {
    return InvalidArgument(At(path, node.source()) + s.message());
  }
  return scopes;
}

Result<PeerConfig> ReadPeer(const std::string& path, const toml::node& node) {
  const toml::table* table = node.as_table();
  if (!table) return InvalidArgument(At(path, node.source()) + "each of peers must be a table");
  PeerConfig peer;
  bool has_name = false, has_id = false;
  for (auto&& [key, value] : *table) {
    std::string here = At(path, value.source());
    if (key == "name") {
      NCEN_ASSIGN_OR_RETURN(peer.name, StringAt(path, "name", value));
      if (Status s = ValidatePeerName(peer.name); !s.ok())
        return InvalidArgument(here + s.message());
      has_name = true;
    } else if (key == "id") {
      NCEN_ASSIGN_OR_RETURN(std::string hex, StringAt(path, "id", value));
      auto id = ParsePeerId(hex);
      if (!id.ok()) return InvalidArgument(here + id.status().message());
      peer.id = *id;
      has_id = true;
    } else if (key == "address") {
      NCEN_ASSIGN_OR_RETURN(peer.address, StringAt(path, "address", value));
      if (!peer.address.empty()) {
        if (Status s = ParseAddress(peer.address).status(); !s.ok())
          return InvalidArgument(here + s.message());
      }
    } else if (key == "scopes") {
      NCEN_ASSIGN_OR_RETURN(peer.scopes, ReadScopes(path, value));
    } else if (key == "blobs") {
      NCEN_ASSIGN_OR_RETURN(peer.blobs, StringAt(path, "blobs", value));
      if (Status s = CheckBlobPolicy(peer.blobs); !s.ok()) return InvalidArgument(here + s.message());
    } else if (key == "rate") {
      NCEN_ASSIGN_OR_RETURN(std::string text, StringAt(path, "rate", value));
      auto rate = ParseRate(text);
      if (!rate.ok()) return InvalidArgument(here + rate.status().message());
      peer.rate = *rate;
    } else {
      // TOML puts every line after [[peers]] in that peer: a node-wide key
      // added at the end of the file lands here.
      static const char* const kTopLevel[] = {"listen", "network_id", "release_company_names", "http_listen",
                                              "http_tls_cert", "http_tls_key", "http_insecure", "http_threads",
                                              "http_static"};
      std::string name(key.str());
      bool top_level = std::find(std::begin(kTopLevel), std::end(kTopLevel), name) != std::end(kTopLevel);
      return InvalidArgument(At(path, key.source()) + "unknown key '" + name +
                             "' in [[peers]] (name, id, address, scopes, blobs, rate)" +
                             (top_level ? "; '" + name + "' is a setting of the node: put it above the first [[peers]]"
                                        : std::string()));
    }
  }
  if (!has_name) return InvalidArgument(At(path, node.source()) + "a peer needs a name");
  if (!has_id) {
    return InvalidArgument(At(path, node.source()) + "peer '" + peer.name + "' needs an id");
  }
  return peer;
}

Result<NodeConfig> ReadConfig(const std::string& path, const toml::table& root,
                              const std::optional<crypto::PublicKey>& self) {
  NodeConfig config;
  std::vector<uint32_t> peer_lines;
  for (auto&& [key, value] : root) {
    std::string here = At(path, value.source());
    if (key == "listen") {
      NCEN_ASSIGN_OR_RETURN(config.listen, StringAt(path, "listen", value));
      if (Status s = CheckListen(config.listen); !s.ok())
        return InvalidArgument(here + s.message());
    } else if (key == "network_id") {
      NCEN_ASSIGN_OR_RETURN(config.network_id, StringAt(path, "network_id", value));
      if (Status s = CheckNetworkId(config.network_id); !s.ok())
        return InvalidArgument(here + s.message());
    } else if (key == "release_company_names") {
      auto flag = value.value<bool>();
      if (!value.is_boolean() || !flag) return InvalidArgument(here + "release_company_names must be true or false");
      config.release_company_names = *flag;
    } else if (key == "http_listen" || key == "http_tls_cert" || key == "http_tls_key" || key == "http_static") {
      NCEN_ASSIGN_OR_RETURN(std::string text, StringAt(path, std::string(key.str()), value));
      if (key == "http_listen") config.http_listen = text;
      else if (key == "http_tls_cert") config.http_tls_cert = text;
      else if (key == "http_tls_key") config.http_tls_key = text;
      else config.http_static = text;
    } else if (key == "http_insecure") {
      auto flag = value.value<bool>();
      if (!value.is_boolean() || !flag) return InvalidArgument(here + "http_insecure must be true or false");
      config.http_insecure = *flag;
    } else if (key == "http_threads") {
      auto n = value.value<int64_t>();
      if (!value.is_integer() || !n || *n < 1 || *n > 64) return InvalidArgument(here + "http_threads is 1 to 64");
      config.http_threads = static_cast<int>(*n);
    } else if (key == "peers") {
      const toml::array* peers = value.as_array();
      if (!peers)
        return InvalidArgument(here + "peers must be an array of tables: write [[peers]]");
      for (const toml::node& item : *peers) {
        NCEN_ASSIGN_OR_RETURN(PeerConfig peer, ReadPeer(path, item));
        config.peers.push_back(std::move(peer));
        peer_lines.push_back(item.source().begin.line);
      }
    } else {
      return InvalidArgument(At(path, key.source()) + "unknown key '" + std::string(key.str()) +
                             "' (listen, network_id, release_company_names, http_listen, http_tls_cert, http_tls_key, "
                             "http_insecure, http_threads, http_static, [[peers]])");
    }
  }
  if (Status s = CheckHttpConfig(config); !s.ok()) return InvalidArgument(path + ": " + s.message());
  NCEN_RETURN_IF_ERROR(CheckPeerSet(config.peers, self, [&](size_t i) {
    return path + ":" + std::to_string(peer_lines[i]) + ": ";
  }));
  return config;
}

// ---- Writing ----

// A TOML basic string.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x",
                    static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string Render(const NodeConfig& config) {
  std::ostringstream out;
  out << "# ncen node configuration (node/config.h explains every key).\n"
         "# ncenctl peers and ncenctl config rewrite this file; comments are not kept.\n"
      << "listen = " << Quote(config.listen) << "\n"
      << "network_id = " << Quote(config.network_id) << "\n";
  if (config.release_company_names) out << "release_company_names = true\n";
  if (!config.http_listen.empty()) out << "http_listen = " << Quote(config.http_listen) << "\n";
  if (!config.http_tls_cert.empty()) out << "http_tls_cert = " << Quote(config.http_tls_cert) << "\n";
  if (!config.http_tls_key.empty()) out << "http_tls_key = " << Quote(config.http_tls_key) << "\n";
  if (config.http_insecure) out << "http_insecure = true\n";
  if (config.http_threads != 2) out << "http_threads = " << config.http_threads << "\n";
  if (!config.http_static.empty()) out << "http_static = " << Quote(config.http_static) << "\n";
  for (const PeerConfig& p : config.peers) {
    out << "\n[[peers]]\n"
        << "name = " << Quote(p.name) << "\n"
        << "id = " << Quote(crypto::NodeIdHex(p.id)) << "\n"
        << "address = " << Quote(p.address) << "\n"
        << "scopes = [";
    for (size_t i = 0; i < p.scopes.size(); ++i) {
      out << (i ? ", " : "") << Quote(storage::ScopeName(p.scopes[i]));
    }
    out << "]\n";
    if (p.blobs != "full") out << "blobs = " << Quote(p.blobs) << "\n";
    if (p.rate != 0) out << "rate = " << Quote(RateText(p.rate)) << "\n";
  }
  return out.str();
}

Status Errno(const std::string& what) { return IOError(what + ": " + std::strerror(errno)); }

}  // namespace

Result<uint64_t> ParseRate(std::string_view text) {
  const std::string shown(text.substr(0, 40));
  if (text == "off" || text == "0") return uint64_t{0};
  size_t digits = 0;
  while (digits < text.size() && ((text[digits] >= '0' && text[digits] <= '9') || text[digits] == '.')) ++digits;
  const std::string number(text.substr(0, digits));
  const std::string unit(text.substr(digits));
  auto bad = [&] {
    return InvalidArgument("rate '" + shown +
                           "' is not a number and a unit such as 256kbit, 2Mbit, 32kB or 1MB (per second), or off");
  };
  if (number.empty() || number.size() > 15 || std::count(number.begin(), number.end(), '.') > 1) return bad();
  double value = 0;
  try {
    value = std::stod(number);
  } catch (...) {
    return bad();
  }
  static const std::pair<const char*, double> kUnits[] = {
      {"bit", 1.0 / 8}, {"kbit", 1e3 / 8}, {"Kbit", 1e3 / 8}, {"Mbit", 1e6 / 8}, {"mbit", 1e6 / 8},
      {"Gbit", 1e9 / 8}, {"gbit", 1e9 / 8}, {"B", 1}, {"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}};
  std::string u = unit;
  if (u.size() > 2 && u.substr(u.size() - 2) == "/s") u.resize(u.size() - 2);
  double factor = 0;
  for (const auto& [name, f] : kUnits) {
    if (u == name) factor = f;
  }
  if (factor == 0) return bad();
  const double bytes = value * factor;
  if (bytes < 1000) return InvalidArgument("rate '" + shown + "' is under 8kbit, the least a link may be capped at");
  if (bytes > 12.5e9) return InvalidArgument("rate '" + shown + "' is over 100Gbit");
  return static_cast<uint64_t>(bytes + 0.5);
}

std::string RateText(uint64_t bytes_per_second) {
  if (bytes_per_second == 0) return "off";
  const uint64_t bits = bytes_per_second * 8;
  auto text = [](double v, const char* unit) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.3f", v);
    std::string s = buffer;
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    return s + unit;
  };
  if (bits % 1000000 == 0 || bits >= 10000000) return text(double(bits) / 1e6, "Mbit");
  if (bits % 1000 == 0 || bits >= 10000) return text(double(bits) / 1e3, "kbit");
  return std::to_string(bits) + "bit";
}

const PeerConfig* NodeConfig::FindById(const crypto::PublicKey& id) const {
  for (const PeerConfig& p : peers) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

const PeerConfig* NodeConfig::FindByName(std::string_view name) const {
  for (const PeerConfig& p : peers) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

Result<HostPort> ParseAddress(std::string_view address) { return ParseHostPort(address, 1); }

Result<HostPort> ParseListenAddress(std::string_view address) { return ParseHostPort(address, 0); }

Result<crypto::PublicKey> ParsePeerId(std::string_view hex) {
  auto id = crypto::ParseNodeId(hex);
  if (!id.ok()) {
    return InvalidArgument("id must be 64 hex digits (the peer's `ncenctl id`), got '" +
                           std::string(hex) + "'");
  }
  NCEN_RETURN_IF_ERROR(CheckPeerId(*id));
  return *id;
}

Status CheckBlobPolicy(std::string_view policy) {
  if (policy == "full" || policy == "previews" || policy == "none") return Status::Ok();
  return InvalidArgument("blobs must be \"full\", \"previews\" or \"none\", not \"" + std::string(policy) + "\"");
}

Status ValidatePeerName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= kPeerNameBytesMax;
  for (char c : name) {
    ok = ok && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-');
  }
  if (!ok) {
    return InvalidArgument("peer name '" + std::string(name) + "' must be 1 to " +
                           std::to_string(kPeerNameBytesMax) + " of A-Z a-z 0-9 . _ -");
  }
  return Status::Ok();
}

Result<std::vector<storage::Scope>> ParseScopeList(std::string_view text) {
  std::vector<storage::Scope> scopes;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view name = text.substr(0, comma);
    auto scope = storage::ParseScope(name);
    if (!scope) {
      return InvalidArgument("unknown scope '" + std::string(name) +
                             "' (national, regional or global)");
    }
    scopes.push_back(*scope);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
    if (text.empty()) return InvalidArgument("scope list ends with a comma");
  }
  NCEN_RETURN_IF_ERROR(CheckScopes(scopes));
  return scopes;
}

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

Status CheckHttpConfig(const NodeConfig& config) {
  if (config.http_tls_cert.empty() != config.http_tls_key.empty()) {
    return InvalidArgument("http_tls_cert and http_tls_key go together: give both or neither");
  }
  if (config.http_threads < 1 || config.http_threads > 64) return InvalidArgument("http_threads is 1 to 64");
  if (config.http_listen.empty()) return Status::Ok();
  NCEN_ASSIGN_OR_RETURN(HostPort hp, ParseListenAddress(config.http_listen));
  if (!IsLoopbackHost(hp.host) && config.http_tls_cert.empty() && !config.http_insecure) {
    return InvalidArgument("http_listen " + config.http_listen +
                           " is not a loopback address: give http_tls_cert and http_tls_key, or set "
                           "http_insecure = true to serve plain HTTP there on purpose");
  }
  return Status::Ok();
}

Status ValidateConfig(const NodeConfig& config, const std::optional<crypto::PublicKey>& self) {
  NCEN_RETURN_IF_ERROR(CheckListen(config.listen));
  NCEN_RETURN_IF_ERROR(CheckHttpConfig(config));
  NCEN_RETURN_IF_ERROR(CheckNetworkId(config.network_id));
  PeerWhere where = [&](size_t i) {
    return "peers[" + std::to_string(i) + "] ('" + config.peers[i].name + "'): ";
  };
  for (size_t i = 0; i < config.peers.size(); ++i) {
    if (Status s = CheckPeer(config.peers[i]); !s.ok())
      return InvalidArgument(where(i) + s.message());
  }
  return CheckPeerSet(config.peers, self, where);
}

Result<NodeConfig> LoadConfig(const std::string& dir,
                              const std::optional<crypto::PublicKey>& self) {
  std::string path = ConfigPath(dir);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) && !ec) return NodeConfig{};
  std::ifstream in(path, std::ios::binary);
  if (!in) return Errno("cannot read " + path);
  std::string text(kConfigBytesMax + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return IOError("cannot read " + path);
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kConfigBytesMax) {
    return InvalidArgument(path + ": over " + std::to_string(kConfigBytesMax) + " bytes");
  }
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(path));
  } catch (const toml::parse_error& e) {
    return InvalidArgument(At(path, e.source()) +
                           "not valid TOML: " + std::string(e.description()));
  }
  return ReadConfig(path, root, self);
}

Status SaveConfig(const std::string& dir, const NodeConfig& config) {
  NCEN_RETURN_IF_ERROR(ValidateConfig(config));
  return ReplaceFileAtomically(dir, kConfigFileName, Render(config));
}

Result<NodeConfig> EditConfig(const std::string& dir, const crypto::PublicKey& self,
                              const std::function<Status(NodeConfig&)>& edit) {
  NCEN_ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(dir + "/" + kConfigLockFileName));
  NCEN_ASSIGN_OR_RETURN(NodeConfig config, LoadConfig(dir, self));
  NCEN_RETURN_IF_ERROR(edit(config));
  NCEN_RETURN_IF_ERROR(ValidateConfig(config, self));
  NCEN_RETURN_IF_ERROR(SaveConfig(dir, config));
  return config;
}

}  // namespace ncen::node
