// Fuzz target: a responder SecureChannel fed bytes from a hostile initiator.
//
// Input: byte 0 = chunk plan (fuzz_support.h), the rest = the stream the
// initiator would send (handshake message 1, message 3, transport frames).
// The responder's identity and ephemeral key are fixed and its roster lists
// only InitiatorIdentity(), so the seeds from make_corpus.cpp complete the
// handshake and reach the transport paths (reassembly, rekey, close).
// Checked: FeedAndCheck's invariants; nothing from the peer may trip an
// assert, leak, or touch memory out of bounds.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ncen;
  if (size == 0) return 0;
  transport::SecureChannel channel = fuzz::MakeResponder();
  fuzz::FeedAndCheck(channel, data[0], ByteView(data + 1, size - 1),
                     fuzz::InitiatorIdentity().public_key());
  if (channel.state() == transport::ChannelState::kHandshake) {
    // A responder never speaks first and never opens before message 3.
    FUZZ_CHECK(!channel.peer_id().has_value());
  }
  return 0;
}
