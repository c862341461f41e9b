// Fuzz target: the bytes of an offline bundle a courier brings
// (replication/bundle/bundle_format.h, docs/bundles.md): part headers and
// manifests.
//
// Input: byte 0 chooses what the rest is (value % 2): 0 a part header,
// 1 a manifest. Checked, besides "no crash, no ASan/UBSan report, no leak,
// no exception":
//   - DecodePartHeader returns a value or kCorruption; what decodes encodes
//     back to the same 52 bytes;
//   - DecodeManifest returns a value, kCorruption or kUnauthenticated (a
//     signature that does not verify); what decodes encodes back to the same
//     bytes (the signature is over them), and its runs add up to its entries.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "replication/bundle/bundle_format.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ncen;
  using namespace ncen::replication::bundle;
  if (size < 1) return 0;
  ByteView in(data + 1, size - 1);
  if (data[0] % 2 == 0) {
    auto h = DecodePartHeader(in);
    FUZZ_CHECK(h.ok() || h.status().code() == StatusCode::kCorruption);
    if (h.ok()) {
      Bytes again = EncodePartHeader(h.value());
      FUZZ_CHECK(again.size() == kPartHeaderBytes && std::equal(again.begin(), again.end(), in.begin()));
    }
    return 0;
  }
  auto m = DecodeManifest(in);
  FUZZ_CHECK(m.ok() || m.status().code() == StatusCode::kCorruption ||
             m.status().code() == StatusCode::kUnauthenticated);
  if (m.ok()) {
    Bytes body = EncodeManifestBody(m.value());
    FUZZ_CHECK(body.size() + 64 == in.size() && std::equal(body.begin(), body.end(), in.begin()));
    uint64_t counted = 0;
    for (const auto& r : m->runs) counted += r.last_seq - r.first_seq + 1;
    FUZZ_CHECK(counted == m->entries);
  }
  return 0;
}
