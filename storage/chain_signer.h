// ChainSigner: chains and signs the headers of one local batch, on a second
// thread when the batch is large, while the writer thread applies the same
// changes to the record state. Internal to storage/.
//
// Each entry's `prev` is the hash of the previous entry of its feed,
// signature included, so a feed is signed strictly in order. An Ed25519
// signature costs ~17 µs here, ~12 µs of it the nonce point, which does not
// depend on the chain: on the threaded path both threads compute nonce points
// ahead (Identity::MakeNonce) and only the ~1 µs finish runs in chain order,
// while the writer also applies the records. The writer fills slot i
// completely, then calls Publish(i); it reads a slot's results only after
// Finish(). Small batches are signed inline with deterministic Ed25519.
#pragma once

#include <atomic>
#include <thread>
#include <vector>

#include "crypto/identity.h"
#include "storage/entry.h"

namespace ncen::storage {

class ChainSigner {
 public:
  static constexpr size_t kNoSlot = SIZE_MAX;

  struct Slot {
    EntryHeader header;       // filled by the writer; `prev` too when prev_slot is kNoSlot
    size_t prev_slot = kNoSlot;  // the slot of the previous entry of the same feed
    Bytes header_bytes;       // filled by the signer
    Signature signature{};
    Hash256 hash{};
    crypto::Identity::Nonce nonce;  // computed by whichever thread's share it is
  };

  // Batches at least this large are signed on a second thread.
  static constexpr size_t kThreadedBatchMin = 64;
  // On the threaded path the writer computes the nonce of every slot whose
  // index is a multiple of this, the signer the others: the writer has the
  // record work too, so this balances the two threads (measured).
  static constexpr size_t kWriterNonceEvery = 3;

  ChainSigner(const crypto::Identity& me, std::vector<Slot>& slots);
  ~ChainSigner();  // cancels and joins when Finish was not called
  ChainSigner(const ChainSigner&) = delete;
  ChainSigner& operator=(const ChainSigner&) = delete;

  // Slot i is complete; slots are published in order. May compute the
  // slot's nonce first (the writer's share of the work).
  void Publish(size_t i);
  // Waits until every slot published so far is signed. After it, every
  // published slot's header_bytes, signature and hash are final.
  void Finish();

 private:
  void SignSlot(size_t i);
  void Run();

  const crypto::Identity& me_;
  std::vector<Slot>& slots_;
  // Slots published, with kDone set once the writer is finished: one atomic,
  // so the signer's wait can never miss the end.
  static constexpr uint64_t kDone = uint64_t{1} << 63;
  std::atomic<uint64_t> state_{0};
  size_t signed_ = 0;  // owned by the signing thread (or the caller when inline)
  std::thread thread_;
};

}  // namespace ncen::storage
