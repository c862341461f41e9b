// Mallory: a hostile member in the simulation (docs/testing.md "Hostile
// peer"). Mallory is a node in the roster with a real store and real
// sessions, so it completes handshakes and relays like anyone; but every
// message its sessions send passes through Mangle, which at random
//  - appends entries of Mallory's puppet keys to its batches: valid ones, and
//    ones that must be refused (a context naming entries nobody wrote or the
//    puppet's own future, a context that skips the puppet's previous entry
//    of a record, a withheld payload, a payload that is not valid UTF-8) or
//    that must quarantine a record (its id under another type), and a fork
//    (two entries a puppet signed at one seq);
//    In a network (JoinNetwork) a third puppet is a national hub and releases
//    in global: valid seizure reports about its country, and what a hub may
//    not release — a seizure or a suspect outside national, a report about
//    another country; the regional puppet (a post) tries reports too;
//  - adds refusals nobody made to its acks;
//  - sends claims without evidence (heads naming the peer's own feed far
//    beyond its head, heads with wrong hashes, floods of made-up feeds),
//    evidence that does not verify, garbage, and batches whose count is
//    larger than their bytes;
//  - with photos about (BlobTarget): flips a byte of the blob data its
//    session serves, sends blob data nobody asked for, asks for blobs it
//    may not hold, and asks for more bytes than a window.
// The honest nodes must keep every invariant, stay live and converge.
// Internal to tests/sim; one thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/rng.h"
#include "storage/store.h"
#include "tests/sim/truth.h"

namespace ncen::sim {

struct MalloryStats {
  uint64_t entries_crafted = 0, entries_sent = 0, batches_padded = 0;
  uint64_t claims = 0, bad_evidence = 0, forks = 0, garbage = 0, fake_refusals = 0;
  uint64_t blob_unasked = 0, blob_forged = 0, blob_forbidden_wants = 0, blob_greedy_wants = 0;
};

// A blob Mallory knows of (its hash learnt from anywhere), and whether the
// scope rules let Mallory hold it.
struct BlobTarget {
  Hash256 hash{};
  uint32_t size = 0;
  bool allowed = false;
};

class Mallory {
 public:
  // `index` is Mallory's node index; puppet writes are recorded in the truth
  // under it.
  Mallory(uint64_t seed, int index);

  int index() const { return index_; }
  // In a network: a third puppet, to be certified as a national hub of
  // `country` (PuppetIsHub); `foreign` is another country's code, which
  // its refused reports are about. Before the first Mangle.
  void JoinNetwork(const std::string& country, const std::string& foreign);
  bool IsPuppet(const crypto::PublicKey& key) const;
  bool PuppetIsHub(const crypto::PublicKey& key) const;
  std::vector<crypto::PublicKey> PuppetKeys() const;
  // "puppet0", "puppet1".
  std::string PuppetName(const crypto::PublicKey& key) const;
  const MalloryStats& stats() const { return stats_; }

  // What Mallory sends to the peer `peer_id` in place of `message`, which
  // its honest session queued on a link carrying `scopes`. `store` is
  // Mallory's. New entries are crafted only while `crafting` (the chaos
  // phase); claims and garbage go on after it. `blobs`: the blobs it may
  // attack with (none: no blob attack, and no draw for one).
  std::vector<Bytes> Mangle(Bytes message, storage::Store& store, const crypto::PublicKey& peer_id,
                            const std::vector<storage::Scope>& scopes, Truth& truth, int64_t now_ms,
                            bool crafting, const std::vector<BlobTarget>& blobs = {});

 private:
  struct Chain {
    crypto::Identity key;
    storage::Scope scope;
    std::vector<storage::Entry> entries;
    bool ended = false;                     // its last entry is one every node refuses
    std::optional<storage::Entry> other;    // a second entry at the last seq (a fork)
    std::map<storage::RecordId, uint64_t> own;  // record -> the chain's last seq on it
    bool hub = false;  // a national hub's (in a network): its records are seizure reports
  };

  void Extend(Chain& chain, storage::Store& store, Truth& truth, int64_t now_ms);
  storage::Entry Sign(Chain& chain, storage::EntryHeader header, Bytes payload, Truth& truth,
                      int64_t now_ms);
  Bytes PadBatch(const Bytes& message, Chain& chain);
  // A body its chain may write: a seizure with `marker` in its narrative, or
  // for the hub's chain a report about its country.
  Bytes ValidPayload(const Chain& chain, const std::string& marker) const;
  std::optional<Bytes> Claim(storage::Store& store, const crypto::PublicKey& peer_id,
                             const std::vector<storage::Scope>& scopes, int64_t now_ms);
  Bytes BlobAttack(const std::vector<BlobTarget>& blobs);

  Rng rng_;
  int index_;
  std::vector<Chain> chains_;
  MalloryStats stats_;
  bool network_ = false;
  std::string country_, foreign_;  // in a network: the hub puppet's country, and another
};

}  // namespace ncen::sim
