// Helpers for membership tests: a network's root and authorities as stores
// of their own, members certified by them, and nodes that join by taking
// the network entries. Tests only.
#pragma once

#include <string>
#include <vector>

#include "storage/membership.h"
#include "tests/support/store_fixture.h"

namespace ncen::testing {

// An identity and its store.
struct TestNode {
  explicit TestNode(uint8_t n, const std::string& name = "node")
      : identity(IdentityFromNumber(n)), t(identity, name) {}
  crypto::Identity identity;
  TestStore t;
  storage::Store& store() { return *t.store; }
  const crypto::PublicKey& key() const { return identity.public_key(); }

  // A new seizure record of this node's, in `scope`; its id.
  Result<storage::RecordId> Write(const std::string& marker, storage::Scope scope = storage::Scope::kNational) {
    storage::LocalChange c{storage::NewRecordId(storage::UnixMillisNow()), storage::RecordType::kSeizure,
                           storage::Op::kPut, SeizurePayload(marker), scope};
    auto dots = store().AppendLocal(identity, {&c, 1});
    if (!dots.ok()) return dots.status();
    return c.id;
  }
};

// Every network entry `store` holds.
inline std::vector<storage::Entry> NetworkEntries(const storage::Store& store) {
  std::vector<storage::Entry> out;
  for (auto& e : AllEntries(store)) {
    if (e.header.scope == storage::Scope::kNetwork) out.push_back(std::move(e));
  }
  return out;
}

// Entries of `store` in the given scope (all record scopes when nullopt).
inline std::vector<storage::Entry> RecordEntries(const storage::Store& store) {
  std::vector<storage::Entry> out;
  for (auto& e : AllEntries(store)) {
    if (e.header.scope != storage::Scope::kNetwork) out.push_back(std::move(e));
  }
  return out;
}

// A network: its root, and one country authority per country asked for.
struct TestNetwork {
  TestNetwork() : root(200, "root") { NCEN_CHECK(root.store().SetNetworkRoot(root.key()).ok()); }

  TestNode root;
  std::vector<std::unique_ptr<TestNode>> authorities;

  storage::Certificate Cert(storage::MemberKind kind, const crypto::PublicKey& subject, std::string country,
                            std::string name) {
    storage::Certificate c;
    c.kind = kind;
    c.subject = subject;
    c.country = std::move(country);
    c.name = std::move(name);
    return c;
  }

  // A country authority, certified by the root; it holds the root's entries.
  TestNode& AddAuthority(uint8_t n, const std::string& country) {
    authorities.push_back(std::make_unique<TestNode>(n, "authority-" + country));
    TestNode& a = *authorities.back();
    auto dot = root.store().AppendNetworkEntry(
        root.identity, storage::RecordType::kCertificate,
        storage::EncodeCertificate(Cert(storage::MemberKind::kCountryAuthority, a.key(), country, "Customs " + country)));
    NCEN_CHECK(dot.ok());
    Join(a);
    return a;
  }

  // `issuer` (the root or an authority) certifies `subject`.
  Status Certify(TestNode& issuer, storage::Certificate c) {
    return issuer.store().AppendNetworkEntry(issuer.identity, storage::RecordType::kCertificate,
                                             storage::EncodeCertificate(c)).status();
  }
  Status Revoke(TestNode& issuer, storage::Revocation r) {
    return issuer.store().AppendNetworkEntry(issuer.identity, storage::RecordType::kRevocation,
                                             storage::EncodeRevocation(r)).status();
  }

  // Every network entry the root and the authorities hold.
  std::vector<storage::Entry> AllNetworkEntries() {
    std::vector<storage::Entry> out = NetworkEntries(root.store());
    for (auto& a : authorities) {
      for (auto& e : NetworkEntries(a->store())) {
        if (e.header.author == a->key()) out.push_back(std::move(e));
      }
    }
    return out;
  }

  // Makes `node` a member's store: the root, then every network entry.
  void Join(TestNode& node) {
    NCEN_CHECK(node.store().SetNetworkRoot(root.key()).ok());
    auto report = node.store().ApplyBatch(AllNetworkEntries());
    NCEN_CHECK(report.status.ok());
  }
};

}  // namespace ncen::testing
