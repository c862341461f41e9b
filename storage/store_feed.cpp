// Store: reading runs of a feed in transfer form, for replication. One read
// transaction and one cursor walk per call; log values are converted to the
// transfer form (format::AppendTransferForm) byte for byte, without decoding
// headers.
#include <cstring>

#include "storage/store.h"
#include "storage/store_internal.h"

namespace ncen::storage {

Result<FeedRun> Store::ReadFeedRun(const FeedId& feed, uint64_t from_seq, uint64_t to_seq,
                                   size_t max_bytes, Bytes& out,
                                   FeedRunIndex* index) const {
  FeedRun run;
  const size_t out_before = out.size();
  if (from_seq == 0 || from_seq > to_seq) return run;
  NCEN_ASSIGN_OR_RETURN(lmdb::Txn txn, lmdb::Txn::Begin(*env_, false));
  NCEN_ASSIGN_OR_RETURN(auto fv, txn.Get(dbs_->feeds, format::FeedKey(feed)));
  if (!fv) return NotFound("no such feed");
  auto rec = format::ParseFeedValue(*fv);
  if (!rec) return Corruption("feeds record does not decode");
  NCEN_ASSIGN_OR_RETURN(lmdb::Cursor c, lmdb::Cursor::Open(txn, dbs_->log));
  size_t written = 0;
  uint64_t expect = from_seq;
  for (c.Seek(format::LogKey(rec->index, from_seq)); c.Valid() && expect <= to_seq; c.Next()) {
    auto key = format::ParseLogKey(c.key());
    if (!key || key->feed_index != rec->index) break;
    if (key->seq != expect) return Corruption("log has a hole before seq " + std::to_string(expect));
    auto value = format::ParseLogValue(c.value());
    if (!value) return Corruption("log value does not decode");
    size_t size = format::TransferFormSize(*value);
    if (run.entries > 0 && written + size > max_bytes) break;
    size_t at = out.size();
    format::AppendTransferForm(*value, out);
    if (index) {
      size_t deps_at = index->deps.size();
      NCEN_ASSIGN_OR_RETURN(int64_t timestamp, HeaderOrder(value->header, index->deps));
      index->entries.push_back({at, size, expect, timestamp, static_cast<uint32_t>(deps_at),
                                static_cast<uint32_t>(index->deps.size() - deps_at)});
    }
    written += size;
    ++run.entries;
    run.last_seq = expect;
    ++expect;
  }
  NCEN_RETURN_IF_ERROR(c.status());
  // The bound the header promises: max_bytes, or one entry.
  NCEN_CHECK(run.entries <= 1 || written <= max_bytes);
  NCEN_CHECK(out.size() == out_before + written);
  run.bytes = written;
  return run;
}

}  // namespace ncen::storage
