#include "storage/chain_signer.h"

#include <map>
#include <system_error>

namespace ncen::storage {

ChainSigner::ChainSigner(const crypto::Identity& me, std::vector<Slot>& slots)
    : me_(me), slots_(slots) {
  if (slots_.size() >= kThreadedBatchMin) {
    try {
      thread_ = std::thread([this] { Run(); });
    } catch (const std::system_error&) {
      // No thread to be had: sign inline in Finish().
    }
  }
}

ChainSigner::~ChainSigner() {
  if (thread_.joinable()) {
    state_.fetch_or(kDone, std::memory_order_release);
    state_.notify_one();
    thread_.join();
  }
}

void ChainSigner::Publish(size_t i) {
  NCEN_CHECK(i == state_.load(std::memory_order_relaxed));
  if (thread_.joinable() && i % kWriterNonceEvery == 0) {
    slots_[i].nonce = me_.MakeNonce(EncodeHeader(slots_[i].header));
  }
  state_.store(i + 1, std::memory_order_release);
  if (thread_.joinable()) state_.notify_one();
}

void ChainSigner::SignSlot(size_t i) {
  Slot& slot = slots_[i];
  if (slot.prev_slot != kNoSlot) slot.header.prev = slots_[slot.prev_slot].hash;
  slot.header_bytes = EncodeHeader(slot.header);
  if (thread_.joinable()) {
    if (!slot.nonce.ready) slot.nonce = me_.MakeNonce(slot.header_bytes);
    slot.signature = me_.FinishSignature(slot.header_bytes, slot.nonce);
  } else {
    slot.signature = me_.Sign(slot.header_bytes);
  }
  slot.hash = EntryHash(slot.header_bytes, slot.signature);
}

void ChainSigner::Run() {
  for (;;) {
    uint64_t state = state_.load(std::memory_order_acquire);
    size_t available = static_cast<size_t>(state & ~kDone);
    while (signed_ < available) SignSlot(signed_++);
    if (state & kDone) return;
    state_.wait(state, std::memory_order_acquire);
  }
}

void ChainSigner::Finish() {
  if (thread_.joinable()) {
    state_.fetch_or(kDone, std::memory_order_release);
    state_.notify_one();
    thread_.join();
    return;
  }
  size_t available = static_cast<size_t>(state_.load(std::memory_order_acquire) & ~kDone);
  while (signed_ < available) SignSlot(signed_++);
}

}  // namespace ncen::storage
