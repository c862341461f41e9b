// Fuzz target: the bodies of network entries (certificates, revocations,
// storage/membership.h), which any member relays, and the membership
// snapshot a store reads at start.
//
// Input: byte 0 chooses what the rest is (value % 3): 0 a certificate body,
// 1 a revocation body, 2 a root key (32 bytes) then a snapshot.
// Checked, besides "no crash, no ASan/UBSan report, no leak, no exception":
//   - every decoder returns a value or kCorruption;
//   - the formats are exact: what decodes encodes back to the same bytes
//     (two encodings of one value would be two entries signed "the same");
//   - what decodes passes its Validate, and its Membership answers do not
//     crash (a snapshot's members looked up, their cut-offs and scopes).
#include <cstddef>
#include <cstdint>
#include <algorithm>

#include "storage/membership.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace ncen;
using namespace ncen::storage;

void CheckCorruptionOrOk(const Status& s) {
  FUZZ_CHECK(s.ok() || s.code() == StatusCode::kCorruption);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  ByteView in(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto c = DecodeCertificate(in);
      CheckCorruptionOrOk(c.status());
      if (!c.ok()) break;
      FUZZ_CHECK(ValidateCertificate(c.value()).ok());
      Bytes again = EncodeCertificate(c.value());
      FUZZ_CHECK(std::equal(again.begin(), again.end(), in.begin(), in.end()));
      FUZZ_CHECK(ValidateNetworkPayload(RecordType::kCertificate, in).ok());
      break;
    }
    case 1: {
      auto r = DecodeRevocation(in);
      CheckCorruptionOrOk(r.status());
      if (!r.ok()) break;
      FUZZ_CHECK(ValidateRevocation(r.value()).ok());
      Bytes again = EncodeRevocation(r.value());
      FUZZ_CHECK(std::equal(again.begin(), again.end(), in.begin(), in.end()));
      break;
    }
    default: {
      if (in.size() < 32) break;
      PublicKey root{};
      std::copy(in.begin(), in.begin() + 32, root.begin());
      auto m = Membership::FromSnapshot(root, in.subspan(32));
      CheckCorruptionOrOk(m.status());
      if (!m.ok()) break;
      const Membership& membership = *m.value();
      FUZZ_CHECK(!membership.complete());
      FUZZ_CHECK(membership.Find(root) && membership.Find(root)->root);
      for (const auto& [key, member] : membership.members()) {
        FUZZ_CHECK(member.root == (key == root));
        for (int s = 0; s < kFeedScopeCount; ++s) {
          FeedId feed{key, Scope(s)};
          (void)membership.CutoffOf(feed);
          (void)membership.MayAuthor(feed);
          (void)membership.MayHold(key, feed);
        }
      }
      (void)membership.Digest();
      Bytes again = membership.EncodeSnapshot();
      FUZZ_CHECK(std::equal(again.begin(), again.end(), in.begin() + 32, in.end()));
      break;
    }
  }
  return 0;
}
