#include "crypto/seal.h"

#include <sodium.h>  // only to recompute the construction independently

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <set>
#include <span>
#include <string>
#include <vector>

using namespace ncen;
using crypto::ContentKey;
using crypto::Identity;
using crypto::PublicKey;
using crypto::SealedKeys;

namespace {

// `count` deterministic identities, seeds first..first+count-1.
std::vector<Identity> Nodes(size_t count, uint32_t first = 1) {
  std::vector<Identity> nodes;
  for (uint32_t i = first; i < first + count; ++i) {
    std::array<uint8_t, 32> seed{};
    PutU32BE(seed.data(), i);
    nodes.push_back(Identity::FromSeed(seed));
  }
  return nodes;
}

std::vector<PublicKey> Ids(const std::vector<Identity>& nodes) {
  std::vector<PublicKey> ids;
  for (const Identity& node : nodes) ids.push_back(node.public_key());
  return ids;
}

// The position of the one slot `me` can unwrap, found by offering each slot
// alone; -1 when there is none.
int SlotOf(const SealedKeys& sealed, const Identity& me) {
  int found = -1;
  for (size_t i = 0; i < sealed.slots.size(); ++i) {
    SealedKeys one{sealed.ephemeral, {sealed.slots[i]}};
    if (!crypto::OpenKeyCandidates(one, me).empty()) {
      REQUIRE(found == -1);
      found = static_cast<int>(i);
    }
  }
  return found;
}

const Bytes kPlaintext = {'1', '2', '.', '4', ' ', 'k', 'g', ' ', 'a', 't', ' ', 'T', 'o', 'r'};
const Bytes kAssociated = {'m', 's', 'g', ' ', '7'};

}  // namespace

TEST_CASE("every recipient of a sealed message opens the same key and content", "[seal]") {
  std::vector<Identity> nodes = Nodes(3);
  ContentKey key = crypto::NewContentKey();
  auto sealed = crypto::SealKey(key, Ids(nodes));
  REQUIRE(sealed.ok());
  CHECK(sealed->slots.size() == 3);
  Bytes content = crypto::SealContent(key, kPlaintext, kAssociated);
  CHECK(content.size() == kPlaintext.size() + crypto::kSealedContentOverheadBytes);
  for (const Identity& node : nodes) {
    std::vector<ContentKey> candidates = crypto::OpenKeyCandidates(*sealed, node);
    REQUIRE(candidates.size() == 1);
    CHECK(candidates[0] == key);
    auto opened = crypto::OpenSealed(*sealed, content, kAssociated, node);
    REQUIRE(opened.ok());
    CHECK(*opened == kPlaintext);
  }
}

TEST_CASE("a node that is not a recipient is told the message is not for it", "[seal]") {
  std::vector<Identity> nodes = Nodes(4);
  ContentKey key = crypto::NewContentKey();
  auto sealed = crypto::SealKey(key, Ids({nodes[0], nodes[1], nodes[2]}));
  REQUIRE(sealed.ok());
  Bytes content = crypto::SealContent(key, kPlaintext, kAssociated);
  CHECK(crypto::OpenKeyCandidates(*sealed, nodes[3]).empty());
  auto opened = crypto::OpenSealed(*sealed, content, kAssociated, nodes[3]);
  CHECK(opened.status().code() == StatusCode::kNotFound);
  CHECK(opened.status().message() == "not addressed to this node");
}

TEST_CASE("a sealed message with a flipped byte never opens", "[seal]") {
  std::vector<Identity> nodes = Nodes(3);
  ContentKey key = crypto::NewContentKey();
  auto sealed = crypto::SealKey(key, Ids(nodes));
  REQUIRE(sealed.ok());
  Bytes content = crypto::SealContent(key, kPlaintext, kAssociated);

  SECTION("in the content: nonce, ciphertext or tag") {
    for (size_t i = 0; i < content.size(); ++i) {
      Bytes damaged = content;
      damaged[i] ^= 0x01;
      for (const Identity& node : nodes) {
        auto opened = crypto::OpenSealed(*sealed, damaged, kAssociated, node);
        CHECK(opened.status().code() == StatusCode::kCorruption);
      }
    }
  }
  SECTION("in a slot's wrapped key: its recipient cannot open, the others can") {
    for (size_t slot = 0; slot < 3; ++slot) {
      for (size_t i = 0; i < 32; ++i) {
        SealedKeys damaged = *sealed;
        damaged.slots[slot].wrapped[i] ^= 0x80;
        int corrupt = 0;
        for (const Identity& node : nodes) {
          auto opened = crypto::OpenSealed(damaged, content, kAssociated, node);
          if (opened.ok()) {
            CHECK(*opened == kPlaintext);
          } else {
            CHECK(opened.status().code() == StatusCode::kCorruption);
            ++corrupt;
          }
        }
        CHECK(corrupt == 1);
      }
    }
  }
  SECTION("in a slot's hint: its recipient no longer finds it") {
    SealedKeys damaged = *sealed;
    damaged.slots[1].hint[5] ^= 0x10;
    int not_found = 0;
    for (const Identity& node : nodes) {
      auto opened = crypto::OpenSealed(damaged, content, kAssociated, node);
      if (!opened.ok()) {
        CHECK(opened.status().code() == StatusCode::kNotFound);
        ++not_found;
      }
    }
    CHECK(not_found == 1);
  }
  SECTION("in the ephemeral key, including the bit X25519 ignores") {
    for (size_t i = 0; i < 32; ++i) {
      for (uint8_t bit : {0x01, 0x80}) {
        SealedKeys damaged = *sealed;
        damaged.ephemeral[i] ^= bit;
        for (const Identity& node : nodes) {
          auto opened = crypto::OpenSealed(damaged, content, kAssociated, node);
          CHECK(opened.status().code() == StatusCode::kNotFound);
        }
      }
    }
  }
}

TEST_CASE("sealed content opens only with its key and associated data, and whole", "[seal]") {
  ContentKey key = crypto::NewContentKey();
  Bytes content = crypto::SealContent(key, kPlaintext, kAssociated);
  REQUIRE(crypto::OpenContent(key, content, kAssociated).ok());

  SECTION("other associated data") {
    Bytes other = kAssociated;
    other.back() ^= 0x01;
    CHECK(crypto::OpenContent(key, content, other).status().code() == StatusCode::kCorruption);
    CHECK(crypto::OpenContent(key, content, {}).status().code() == StatusCode::kCorruption);
    Identity node = Nodes(1)[0];
    auto sealed = crypto::SealKey(key, Ids({node}));
    REQUIRE(sealed.ok());
    CHECK(crypto::OpenSealed(*sealed, content, other, node).status().code() ==
          StatusCode::kCorruption);
  }
  SECTION("another key") {
    ContentKey other = key;
    other[0] ^= 0x01;
    CHECK(crypto::OpenContent(other, content, kAssociated).status().code() ==
          StatusCode::kCorruption);
  }
  SECTION("truncated, down to nothing") {
    for (size_t size = 0; size < content.size(); ++size) {
      auto opened = crypto::OpenContent(key, ByteView(content).first(size), kAssociated);
      CHECK(opened.status().code() == StatusCode::kCorruption);
      CHECK(opened.status().message().rfind("the message does not decrypt: ", 0) == 0);
    }
  }
  SECTION("an empty plaintext seals to nonce and tag alone") {
    Bytes empty = crypto::SealContent(key, {}, kAssociated);
    CHECK(empty.size() == crypto::kSealedContentOverheadBytes);
    auto opened = crypto::OpenContent(key, empty, kAssociated);
    REQUIRE(opened.ok());
    CHECK(opened->empty());
  }
  SECTION("one plaintext sealed twice gives different bytes (fresh nonce)") {
    CHECK(crypto::SealContent(key, kPlaintext, kAssociated) != content);
  }
}

TEST_CASE("sealing refuses no recipients, unusable keys and duplicates", "[seal]") {
  ContentKey key = crypto::NewContentKey();
  std::vector<PublicKey> ids = Ids(Nodes(3));

  SECTION("no recipients") {
    CHECK(crypto::SealKey(key, {}).status().code() == StatusCode::kInvalidArgument);
  }
  SECTION("a key that is not an Ed25519 point of prime order, by index") {
    for (uint8_t y : {0, 1, 2}) {  // 0 and 1 have small order, 2 is not a usable point
      std::vector<PublicKey> bad = ids;
      bad[1] = PublicKey{};
      bad[1][0] = y;
      auto sealed = crypto::SealKey(key, bad);
      CHECK(sealed.status().code() == StatusCode::kInvalidArgument);
      CHECK(sealed.status().message().rfind("recipient 1: ", 0) == 0);
    }
  }
  SECTION("the lowest bad index is named when the work is split over threads") {
    std::vector<PublicKey> many = Ids(Nodes(100));
    many[80] = PublicKey{};
    CHECK(crypto::SealKey(key, many).status().message().rfind("recipient 80: ", 0) == 0);
    many[10] = PublicKey{};
    CHECK(crypto::SealKey(key, many).status().message().rfind("recipient 10: ", 0) == 0);
  }
  SECTION("the same node twice") {
    ids.push_back(ids[0]);
    auto sealed = crypto::SealKey(key, ids);
    CHECK(sealed.status().code() == StatusCode::kInvalidArgument);
    CHECK(sealed.status().message() == "recipients 0 and 3 are the same node");
  }
  SECTION("a node id and its negation, which share an X25519 key") {
    PublicKey negated = ids[2];
    negated[31] ^= 0x80;  // the sign of x
    ids.push_back(negated);
    auto sealed = crypto::SealKey(key, ids);
    CHECK(sealed.status().code() == StatusCode::kInvalidArgument);
    CHECK(sealed.status().message() == "recipients 2 and 3 are the same node");
  }
}

TEST_CASE("slot order does not follow recipient order", "[seal]") {
  std::vector<Identity> nodes = Nodes(3);
  std::vector<PublicKey> ids = Ids(nodes);
  // Each recipient takes the first slot about a third of the time; that one
  // never does in 60 tries has probability 3 * (2/3)^60, about 10^-10.
  int first[3] = {};
  for (int attempt = 0; attempt < 60; ++attempt) {
    auto sealed = crypto::SealKey(crypto::NewContentKey(), ids);
    REQUIRE(sealed.ok());
    for (int r = 0; r < 3; ++r) {
      if (SlotOf(*sealed, nodes[r]) == 0) ++first[r];
    }
  }
  CHECK(first[0] + first[1] + first[2] == 60);
  CHECK(first[0] > 0);
  CHECK(first[1] > 0);
  CHECK(first[2] > 0);
}

TEST_CASE("a message to 2,000 recipients opens for each of them", "[seal]") {
  std::vector<Identity> nodes = Nodes(2000);
  ContentKey key = crypto::NewContentKey();
  auto sealed = crypto::SealKey(key, Ids(nodes));
  REQUIRE(sealed.ok());
  REQUIRE(sealed->slots.size() == 2000);
  std::set<std::array<uint8_t, 8>> hints;
  for (const crypto::KeySlot& slot : sealed->slots) hints.insert(slot.hint);
  CHECK(hints.size() == 2000);
  Bytes content = crypto::SealContent(key, kPlaintext, kAssociated);
  // Both halves of the split, their edges, and a spread between.
  for (size_t i : {0, 1, 63, 64, 999, 1000, 1001, 1500, 1998, 1999}) {
    auto opened = crypto::OpenSealed(*sealed, content, kAssociated, nodes[i]);
    REQUIRE(opened.ok());
    CHECK(*opened == kPlaintext);
  }
  CHECK(crypto::OpenSealed(*sealed, content, kAssociated, Nodes(1, 5000)[0]).status().code() ==
        StatusCode::kNotFound);
}

TEST_CASE("two messages to the same recipients share no hint or wrapped key", "[seal]") {
  std::vector<PublicKey> ids = Ids(Nodes(3));
  ContentKey key = crypto::NewContentKey();  // even the same key, sealed twice
  auto a = crypto::SealKey(key, ids), b = crypto::SealKey(key, ids);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->ephemeral != b->ephemeral);
  for (const crypto::KeySlot& x : a->slots) {
    for (const crypto::KeySlot& y : b->slots) {
      CHECK(x.hint != y.hint);
      CHECK(x.wrapped != y.wrapped);
    }
  }
}

TEST_CASE("a recipient's slot follows the version-1 definition byte for byte", "[seal]") {
  // Recomputed here from the definition in seal.h with libsodium directly, so
  // a change to the construction cannot pass unnoticed.
  Identity node = Nodes(1)[0];
  ContentKey key = crypto::NewContentKey();
  auto sealed = crypto::SealKey(key, Ids({node}));
  REQUIRE(sealed.ok());
  std::array<uint8_t, 32> rx_secret = node.X25519SecretKey(), rx, s;
  REQUIRE(crypto_sign_ed25519_pk_to_curve25519(rx.data(), node.public_key().data()) == 0);
  REQUIRE(crypto_scalarmult(s.data(), rx_secret.data(), sealed->ephemeral.data()) == 0);
  std::string label = "ncen seal v1";
  Bytes input(label.begin(), label.end());
  Append(input, s);
  Append(input, sealed->ephemeral);
  Append(input, rx);
  std::array<uint8_t, 64> k;
  crypto_generichash(k.data(), k.size(), input.data(), input.size(), nullptr, 0);
  const crypto::KeySlot& slot = sealed->slots.at(0);
  CHECK(std::equal(slot.hint.begin(), slot.hint.end(), k.begin()));
  for (size_t i = 0; i < 32; ++i) CHECK((slot.wrapped[i] ^ k[32 + i]) == key[i]);
}

// Hidden: run with `crypto_test "[.bench]"`, pinned with `taskset -c 0` for
// one core. Prints times; asserts only that sealing worked.
TEST_CASE("sealing a key to 2,000 recipients: time", "[.bench]") {
  std::vector<PublicKey> ids = Ids(Nodes(2000));
  ContentKey key = crypto::NewContentKey();
  for (size_t count : {64, 2000}) {
    std::span<const PublicKey> recipients(ids.data(), count);
    constexpr int kRuns = 20;
    double best_ms = 1e9, worst_ms = 0, total_ms = 0;
    for (int run = 0; run < kRuns; ++run) {
      auto start = std::chrono::steady_clock::now();
      auto sealed = crypto::SealKey(key, recipients);
      auto stop = std::chrono::steady_clock::now();
      REQUIRE(sealed.ok());
      double ms = std::chrono::duration<double, std::milli>(stop - start).count();
      best_ms = std::min(best_ms, ms);
      worst_ms = std::max(worst_ms, ms);
      total_ms += ms;
    }
    std::printf("SealKey, %zu recipients, %d runs: best %.2f ms, mean %.2f ms, worst %.2f ms\n",
                count, kRuns, best_ms, total_ms / kRuns, worst_ms);
  }
}
