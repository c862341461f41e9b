// ncenctl's network-membership commands (docs/membership.md): create a
// network, certify, revoke, succeed, join, rekey, members, violations.
#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>

#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "node/config.h"
#include "node/network.h"
#include "node/node_dir.h"
#include "storage/codes.h"
#include "tools/ncenctl/commands.h"
#include "tools/ncenctl/output.h"

namespace ncen::ctl {

using storage::Member;
using storage::MemberKind;
using storage::Scope;

namespace {

Result<std::shared_ptr<const storage::Membership>> MembershipOf(const storage::Store& store) {
  NCEN_ASSIGN_OR_RETURN(auto m, store.GetMembership());
  if (!m) return FailedPrecondition("this node belongs to no network (ncenctl join FILE)");
  return m;
}

// A node id: 64 hex digits of a valid Ed25519 public key (as `peers add`
// takes it), so nothing is ever certified for a key nobody can hold.
Result<crypto::PublicKey> ParseKey(const std::string& hex, const char* option) {
  auto key = node::ParsePeerId(hex);
  if (!key.ok()) return InvalidArgument(std::string(option) + ": " + key.status().message());
  return key;
}

// --out: checked before anything is written, so that a path that cannot
// take the file does not leave a certificate stored and the command failed.
Status CheckOutPath(const std::string& out) {
  if (out.empty()) return Status::Ok();
  std::error_code ec;
  if (std::filesystem::is_directory(out, ec)) return InvalidArgument("--out: " + out + " is a directory");
  std::filesystem::path parent = std::filesystem::path(out).parent_path();
  if (parent.empty()) parent = ".";
  if (!std::filesystem::is_directory(parent, ec) || ::access(parent.c_str(), W_OK) != 0) {
    return InvalidArgument("--out: cannot write in " + parent.string());
  }
  return Status::Ok();
}

// "national=12,global=3" (scopes national, regional, global, network).
Result<std::vector<storage::Cutoff>> ParseCutoffs(const std::string& text) {
  std::vector<storage::Cutoff> out;
  if (text.empty()) return InvalidArgument("--cutoff: empty (give SCOPE=SEQ,..., or leave --cutoff out for the defaults)");
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    std::string item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t eq = item.find('=');
    auto scope = eq == std::string::npos ? std::nullopt : storage::ParseFeedScope(item.substr(0, eq));
    if (!scope) return InvalidArgument("--cutoff: '" + item + "' is not SCOPE=SEQ (scope national, regional, global or network)");
    std::string digits = item.substr(eq + 1);
    errno = 0;
    char* end = nullptr;
    unsigned long long seq = digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos
                                 ? 0
                                 : std::strtoull(digits.c_str(), &end, 10);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos || errno == ERANGE) {
      return InvalidArgument("--cutoff: '" + item + "' needs a seq from 0 to 18446744073709551615");
    }
    if (std::any_of(out.begin(), out.end(), [&](const storage::Cutoff& c) { return c.scope == *scope; })) {
      return InvalidArgument("--cutoff: scope " + std::string(storage::ScopeName(*scope)) + " given twice");
    }
    out.push_back({*scope, static_cast<uint64_t>(seq)});
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.scope < b.scope; });
  return out;
}

std::string CutoffsText(const std::vector<storage::Cutoff>& cutoffs) {
  std::string out;
  for (int s = 0; s < storage::kFeedScopeCount; ++s) {
    uint64_t v = 0;
    for (const auto& c : cutoffs) {
      if (c.scope == Scope(s)) v = c.last_valid_seq;
    }
    out += (out.empty() ? "" : ", ") + std::string(storage::ScopeName(Scope(s))) + " " + std::to_string(v);
  }
  return out;
}

Status WriteFileFor(const storage::Store& store, const std::string& out) {
  if (out.empty()) return Status::Ok();
  NCEN_ASSIGN_OR_RETURN(node::NetworkFile file, node::ExportNetwork(store));
  NCEN_RETURN_IF_ERROR(node::WriteNetworkFile(out, file));
  std::cerr << "wrote " << out << " (" << file.entries.size() << " network entries): the node joins with "
            << "`ncenctl --data DIR join " << out << "`\n";
  return Status::Ok();
}

}  // namespace

Status NetworkCreate(const Globals& g, const std::string& name, const std::string& listen) {
  node::NodeConfig config;
  config.listen = listen;
  if (!listen.empty()) NCEN_RETURN_IF_ERROR(node::ParseListenAddress(listen).status().WithContext("--listen"));
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::InitNode(g.data_dir, name, "root", {}, config));
  const auto& key = n.identity.public_key();
  NCEN_RETURN_IF_ERROR(n.store->SetNetworkRoot(key));
  std::string id = node::NetworkIdHex(key);
  if (g.json) {
    PrintJson({{"network_id", id}, {"root", crypto::NodeIdHex(key)}, {"name", name}, {"data", g.data_dir}});
  } else {
    std::cout << id << "\n";
    std::cerr << "created the root of network '" << name << "' in " << g.data_dir << " (root key "
              << crypto::Fingerprint(key) << "); keep this directory offline and backed up\n";
  }
  return Status::Ok();
}

Status NetworkExport(const Globals& g, const std::string& out) {
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::OpenNodeDir(g.data_dir));
  if (out.empty()) return InvalidArgument("--out FILE is required");
  return WriteFileFor(*n.store, out);
}

Status NetworkImport(const Globals& g, const std::string& path) {
  NCEN_ASSIGN_OR_RETURN(node::NetworkFile file, node::ReadNetworkFile(path));
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::OpenNodeDir(g.data_dir));
  NCEN_ASSIGN_OR_RETURN(auto root, n.store->NetworkRoot());
  if (!root) return FailedPrecondition("this node belongs to no network: join one first (ncenctl join FILE)");
  if (*root != file.root) return InvalidArgument(path + " is a file of another network");
  storage::ApplyReport report = n.store->ApplyBatch(file.entries, "network file " + path);
  NCEN_RETURN_IF_ERROR(report.status);
  if (g.json) {
    PrintJson({{"taken", report.applied}, {"held_already", report.duplicates}, {"refused", report.refused.size()}});
  } else {
    std::cout << "took " << report.applied << " network entries (" << report.duplicates << " held already)\n";
  }
  if (!report.refused.empty()) {
    const auto& r = report.refused.front();
    return Unauthenticated(std::to_string(report.refused.size()) + " feed(s) refused; the first: seq " +
                           std::to_string(r.seq) + " of " + crypto::Fingerprint(r.feed.author) + ": " + r.message);
  }
  return Status::Ok();
}

Status Certify(const Globals& g, const CertifyOptions& o) {
  auto kind = storage::ParseMemberKind(o.role);
  if (!kind) {
    return InvalidArgument("--role must be country-authority, post, national-hub, regional-hub or global-hub, got '" +
                           o.role + "'");
  }
  NCEN_ASSIGN_OR_RETURN(crypto::PublicKey subject, ParseKey(o.node, "--node"));
  storage::Certificate c;
  c.kind = *kind;
  c.subject = subject;
  c.name = o.name;
  c.country = o.country;
  if (!o.countries.empty()) {
    size_t pos = 0;
    for (;;) {
      size_t comma = o.countries.find(',', pos);
      c.countries.push_back(o.countries.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    std::sort(c.countries.begin(), c.countries.end());
  }
  if (!o.predecessor.empty()) {
    NCEN_ASSIGN_OR_RETURN(crypto::PublicKey p, ParseKey(o.predecessor, "--succeeds"));
    c.predecessor = p;
  }
  NCEN_RETURN_IF_ERROR(CheckOutPath(o.out));
  if (Status valid = storage::ValidateCertificate(c); !valid.ok()) {
    std::string m = valid.message();
    if (m.rfind("certificate: ", 0) == 0) m = m.substr(13);
    return InvalidArgument(m + " (--role, --country, --countries, --name)");
  }
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::OpenNodeDir(g.data_dir));
  Bytes body = storage::EncodeCertificate(c);
  NCEN_ASSIGN_OR_RETURN(storage::Dot dot, n.store->AppendNetworkEntry(n.identity, storage::RecordType::kCertificate, body));
  if (g.json) {
    PrintJson({{"certified", crypto::NodeIdHex(subject)},
               {"fingerprint", crypto::Fingerprint(subject)},
               {"role", o.role},
               {"name", c.name},
               {"country", TextOrNull(c.country)},
               {"seq", dot.seq}});
  } else {
    std::cout << "certified " << crypto::Fingerprint(subject) << " '" << c.name << "' as " << o.role
              << (c.country.empty() ? "" : " of " + c.country) << " (network entry " << dot.seq << ")\n";
  }
  return WriteFileFor(*n.store, o.out);
}

Status Revoke(const Globals& g, const std::string& node_hex, const std::optional<std::string>& cutoffs_text,
              const std::string& reason, const std::string& out) {
  NCEN_ASSIGN_OR_RETURN(crypto::PublicKey subject, ParseKey(node_hex, "--node"));
  NCEN_RETURN_IF_ERROR(CheckOutPath(out));
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::OpenNodeDir(g.data_dir));
  NCEN_ASSIGN_OR_RETURN(auto defaults, node::DefaultCutoffs(*n.store, subject));
  if (cutoffs_text) {
    NCEN_ASSIGN_OR_RETURN(auto given, ParseCutoffs(*cutoffs_text));
    for (auto& d : defaults) {
      for (const auto& c : given) {
        if (c.scope == d.scope) d.last_valid_seq = c.last_valid_seq;
      }
    }
  }
  storage::Revocation r{subject, defaults, reason};
  if (Status valid = storage::ValidateRevocation(r); !valid.ok()) {
    return InvalidArgument("--reason must be at most 1,024 bytes of printable text on one line");
  }
  NCEN_ASSIGN_OR_RETURN(storage::Dot dot,
                        n.store->AppendNetworkEntry(n.identity, storage::RecordType::kRevocation,
                                                    storage::EncodeRevocation(r)));
  if (g.json) {
    json cuts = json::object();
    for (const auto& c : defaults) cuts[storage::ScopeName(c.scope)] = c.last_valid_seq;
    PrintJson({{"revoked", crypto::NodeIdHex(subject)}, {"fingerprint", crypto::Fingerprint(subject)},
               {"last_valid_seq", cuts}, {"seq", dot.seq}});
  } else {
    std::cout << "revoked " << crypto::Fingerprint(subject) << "; entries stay valid up to: " << CutoffsText(defaults)
              << "\n";
  }
  return WriteFileFor(*n.store, out);
}

Status Succeed(const Globals& g, const std::string& old_hex, const std::string& new_hex,
               const std::optional<std::string>& cutoffs_text, const std::string& out) {
  NCEN_ASSIGN_OR_RETURN(crypto::PublicKey old_key, ParseKey(old_hex, "--old"));
  NCEN_ASSIGN_OR_RETURN(crypto::PublicKey new_key, ParseKey(new_hex, "--new"));
  if (old_key == new_key) return InvalidArgument("--old and --new are the same key");
  const Member* old_member = nullptr;
  std::shared_ptr<const storage::Membership> m;
  {
    NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::OpenNodeDir(g.data_dir));
    NCEN_ASSIGN_OR_RETURN(m, MembershipOf(*n.store));
    old_member = m->Find(old_key);
    if (!old_member || old_member->root) return NotFound("--old: no certificate for " + crypto::Fingerprint(old_key));
    // Everything the certificate needs is checked before the revocation is
    // written: a succession must not stop half-way, the old key revoked and
    // no successor.
    if (new_key == m->root() || new_key == n.identity.public_key()) {
      return InvalidArgument("--new: the root or this authority cannot succeed a node");
    }
    if (const storage::Member* taken = m->Find(new_key); taken && !taken->revoked) {
      return InvalidArgument("--new: " + crypto::Fingerprint(new_key) + " is certified already");
    }
    NCEN_RETURN_IF_ERROR(CheckOutPath(out));
    if (cutoffs_text) NCEN_RETURN_IF_ERROR(ParseCutoffs(*cutoffs_text).status());
  }
  if (!old_member->revoked) {
    NCEN_RETURN_IF_ERROR(Revoke(g, old_hex, cutoffs_text, "succeeded by " + crypto::Fingerprint(new_key), ""));
  }
  CertifyOptions o;
  o.role = storage::MemberKindName(old_member->cert.kind);
  o.node = new_hex;
  o.name = old_member->cert.name;
  o.country = old_member->cert.country;
  for (const auto& s : old_member->cert.countries) o.countries += (o.countries.empty() ? "" : ",") + s;
  o.predecessor = old_hex;
  o.out = out;
  return Certify(g, o);
}

Status JoinCommand(const Globals& g, const std::string& file_path) {
  NCEN_ASSIGN_OR_RETURN(node::NetworkFile file, node::ReadNetworkFile(file_path));
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::OpenNodeDir(g.data_dir));
  NCEN_ASSIGN_OR_RETURN(Member me, node::Join(*n.store, n.identity.public_key(), file));
  std::string id = node::NetworkIdHex(file.root);
  if (g.json) {
    PrintJson({{"network_id", id}, {"role", node::MemberRole(me)}, {"name", me.root ? "root" : me.cert.name},
               {"country", TextOrNull(me.cert.country)}, {"revoked", me.revoked}});
  } else {
    std::cout << "joined network " << id.substr(0, 16) << "… as " << node::MemberRole(me)
              << (me.root ? "" : " '" + me.cert.name + "'")
              << (me.cert.country.empty() ? "" : " of " + me.cert.country) << (me.revoked ? " (REVOKED)" : "")
              << "\n";
  }
  return Status::Ok();
}

Status Rekey(const Globals& g) {
  crypto::PublicKey old_key;
  {
    NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::OpenNodeDir(g.data_dir));
    old_key = n.identity.public_key();
  }
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::RekeyNode(g.data_dir));
  const auto& key = n.identity.public_key();
  if (g.json) {
    PrintJson({{"node_id", crypto::NodeIdHex(key)}, {"fingerprint", crypto::Fingerprint(key)},
               {"replaces", crypto::NodeIdHex(old_key)}});
  } else {
    std::cout << crypto::NodeIdHex(key) << "\n";
    std::cerr << "new identity " << crypto::Fingerprint(key) << " replaces " << crypto::Fingerprint(old_key)
              << " (kept as identity.key.replaced-" << crypto::Fingerprint(old_key)
              << "); ask the authority: ncenctl succeed --old " << crypto::NodeIdHex(old_key) << " --new "
              << crypto::NodeIdHex(key) << " --out FILE\n";
  }
  return Status::Ok();
}

Status Members(const Globals& g) {
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::OpenNodeDir(g.data_dir));
  NCEN_ASSIGN_OR_RETURN(auto m, MembershipOf(*n.store));
  const crypto::PublicKey& self = n.identity.public_key();
  const Scope scopes[] = {Scope::kNational, Scope::kRegional, Scope::kGlobal, Scope::kNetwork};
  if (g.json) {
    PrintJson(node::MembersJson(m.get(), self));
    return Status::Ok();
  }
  std::cout << "network " << node::NetworkIdHex(m->root()).substr(0, 16) << "…, " << m->members().size()
            << " member(s)\n";
  std::cout << fmt::format("{:<24} {:<26} {:<17} {:<7} {:<20} {:<16} {}\n", "FINGERPRINT", "NAME", "ROLE",
                           "COUNTRY", "CERTIFIED BY", "EXCHANGE", "REVOKED");
  for (const auto& [key, member] : m->members()) {
    std::string exchange;
    for (Scope s : scopes) {
      if (key != self && m->MayExchange(self, key, s)) {
        exchange += (exchange.empty() ? "" : ",") + std::string(storage::ScopeName(s)).substr(0, 3);
      }
    }
    if (key == self) exchange = "(this node)";
    std::string revoked = member.revoked ? "after " + CutoffsText([&] {
      std::vector<storage::Cutoff> c;
      for (Scope s : scopes) c.push_back({s, member.CutoffOf(s)});
      return c;
    }()) : "";
    std::string name = member.root ? "root" : Shown(member.cert.name);
    if (member.successor) revoked += (revoked.empty() ? "" : "; ") + std::string("succeeded by ") + crypto::Fingerprint(*member.successor);
    std::cout << fmt::format("{:<24} {:<26} {:<17} {:<7} {:<20} {:<16} {}\n", crypto::Fingerprint(key), name,
                             node::MemberRole(member), member.root || member.cert.country.empty() ? "-" : member.cert.country,
                             member.root ? "-" : node::MemberName(*m, member.issuer).substr(0, 20), exchange, revoked);
  }
  std::cout << "EXCHANGE: the scopes this node and the member may exchange (nat national, reg regional, glo global, "
               "net network)\n";
  return Status::Ok();
}

Status Violations(const Globals& g) {
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::OpenNodeDir(g.data_dir));
  NCEN_ASSIGN_OR_RETURN(auto list, n.store->Violations());
  if (g.json) {
    json out = json::array();
    for (const auto& v : list) {
      out.push_back({{"author", crypto::NodeIdHex(v.feed.author)},
                     {"scope", storage::ScopeName(v.feed.scope)},
                     {"seq", v.seq},
                     {"detected", TimeOrNull(v.detected_ms)},
                     {"source", v.source},
                     {"reason", v.reason},
                     {"evidence", SignedHeaderJson(v.evidence)}});
    }
    PrintJson(out);
    return Status::Ok();
  }
  if (list.empty()) std::cout << "no violation reports\n";
  for (const auto& v : list) {
    std::cout << crypto::Fingerprint(v.feed.author) << "/" << storage::ScopeName(v.feed.scope) << " seq " << v.seq
              << " from " << Shown(v.source) << ": " << Shown(v.reason) << "\n";
  }
  return Status::Ok();
}

Status ViolationsClear(const Globals& g, const std::string& author_hex) {
  std::optional<crypto::PublicKey> author;
  if (!author_hex.empty()) {
    NCEN_ASSIGN_OR_RETURN(crypto::PublicKey k, ParseKey(author_hex, "--author"));
    author = k;
  }
  NCEN_ASSIGN_OR_RETURN(node::OpenNode n, node::OpenNodeDir(g.data_dir));
  NCEN_RETURN_IF_ERROR(n.store->ClearViolations(author));
  std::cout << "cleared\n";
  return Status::Ok();
}

}  // namespace ncen::ctl
