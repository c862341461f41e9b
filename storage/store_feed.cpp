// Store: reading runs of a feed in transfer form, for replication. One read
// transaction and one cursor walk per call; log values are converted to the
// transfer form (docs/log-format.md) byte for byte, without decoding headers.
#include <cstring>

#include "storage/store.h"
#include "storage/store_internal.h"

namespace ncen::storage {

Result<FeedRun> Store::ReadFeedRun(const FeedId& feed, uint64_t from_seq, uint64_t to_seq,
                                   size_t max_bytes, Bytes& out,
                                   FeedRunIndex* index) const {
  FeedRun run;
  if (from_seq == 0 || from_seq > to_seq) return run;
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  NCEN_ASSIGN_OR_RETURN(auto fv, txn.Get(dbs_->feeds, keys::Feed(feed)));
  if (!fv) return NotFound("no such feed");
  auto rec = FeedRecord::Decode(*fv);
  if (!rec) return Corruption("feeds record does not decode");
  NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, dbs_->log));
  auto start = keys::Log(rec->index, from_seq);
  size_t written = 0;
  uint64_t expect = from_seq;
  for (c.Seek(start); c.Valid() && expect <= to_seq; c.Next()) {
    ByteView key = c.key();
    if (key.size() != 12 || GetU32BE(key.data()) != rec->index) break;
    if (GetU64BE(key.data() + 4) != expect) return Corruption("log has a hole before seq " + std::to_string(expect));
    ByteView v = c.value();
    auto header = LogValueHeader(v);
    if (!header || v[0] > 1) return Corruption("log value does not decode");
    size_t payload_at = 5 + header->size() + 64;
    size_t size = 4 + header->size() + 64 + 1 + 4 + (v.size() - payload_at);
    if (run.entries > 0 && written + size > max_bytes) break;
    // Transfer form: u32 header length | header | signature | flags | u32 payload length | payload.
    size_t at = out.size();
    out.resize(at + size);
    uint8_t* p = out.data() + at;
    std::memcpy(p, v.data() + 1, 4);
    std::memcpy(p + 4, header->data(), header->size() + 64);
    p += 4 + header->size() + 64;
    *p++ = v[0];
    PutU32BE(p, static_cast<uint32_t>(v.size() - payload_at));
    if (v.size() > payload_at) std::memcpy(p + 4, v.data() + payload_at, v.size() - payload_at);
    if (index) {
      size_t deps_at = index->deps.size();
      NCEN_ASSIGN_OR_RETURN(int64_t timestamp, HeaderOrder(*header, index->deps));
      index->entries.push_back({at, size, expect, timestamp, static_cast<uint32_t>(deps_at),
                                static_cast<uint32_t>(index->deps.size() - deps_at)});
    }
    written += size;
    ++run.entries;
    run.last_seq = expect;
    ++expect;
  }
  NCEN_RETURN_IF_ERROR(c.status());
  run.bytes = written;
  return run;
}

}  // namespace ncen::storage
