// Fuzz target: an initiator SecureChannel, started (message 1 written), fed
// bytes from a hostile responder.
//
// Input: byte 0 = chunk plan (fuzz_support.h), the rest = the stream the
// responder would send (handshake message 2, then transport frames). The
// initiator's identity and ephemeral key are fixed and its roster lists only
// ResponderIdentity(), so the seeds from make_corpus.cpp authenticate and
// reach the transport paths. Checked: FeedAndCheck's invariants, and that
// the initiator never reveals its identity (writes message 3) to a responder
// it did not accept.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ncen;
  if (size == 0) return 0;
  transport::SecureChannel channel = fuzz::MakeInitiator();
  FUZZ_CHECK(channel.Start().ok());
  Bytes message1 = channel.TakeOutput();
  FUZZ_CHECK(message1.size() == transport::kFrameHeaderBytes + transport::kHandshake1Bytes);

  fuzz::FeedAndCheck(channel, data[0], ByteView(data + 1, size - 1),
                     fuzz::ResponderIdentity().public_key());
  if (channel.state() == transport::ChannelState::kHandshake) {
    // Still waiting for message 2: nothing more may have been written.
    FUZZ_CHECK(!channel.HasOutput());
  }
  if (channel.refused_peer().has_value()) {
    // Refused at message 2: message 3 (our identity) must not be pending.
    FUZZ_CHECK(channel.state() == transport::ChannelState::kFailed);
    FUZZ_CHECK(!channel.HasOutput());
  }
  return 0;
}
