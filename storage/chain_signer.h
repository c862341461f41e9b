// ChainSigner: chains and signs the headers of one local batch, on a second
// thread when the batch is large, while the writer thread applies the same
// changes to the record state. Internal to storage/.
//
// Each entry's `prev` is the hash of the previous entry of its feed,
// signature included, so a feed is signed strictly in order (~17 µs per
// Ed25519 signature here); the record and index work does not need the
// signatures, so the two overlap. The writer fills slot i completely, then
// calls Publish(i); it reads a slot's results only after Finish(). Signing is
// deterministic (Ed25519), so the outcome does not depend on thread timing.
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
  };

  // Batches at least this large are signed on a second thread.
  static constexpr size_t kThreadedBatchMin = 64;

  ChainSigner(const crypto::Identity& me, std::vector<Slot>& slots);
  ~ChainSigner();  // cancels and joins when Finish was not called
  ChainSigner(const ChainSigner&) = delete;
  ChainSigner& operator=(const ChainSigner&) = delete;

  // Slot i is complete; slots are published in order.
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
