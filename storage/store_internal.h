// Internals shared by the store's .cpp files: database handles, the keys
// of the `peers` database, and the writes that marks make inside a caller's
// transaction. The layouts of replicated data are in formats.h
// (docs/log-format.md). Not for use outside storage/.
#pragma once

#include <lmdb.h>

#include <map>
#include <string>

#include "storage/formats.h"
#include "storage/lmdb.h"
#include "storage/store.h"

namespace ncen::storage {

struct Store::Dbs {
  MDB_dbi meta, feeds, feed_index, log, records, conflicts, index, record_terms, changes, forks,
      peers, blobs, blob_chunks, mail, mail_index;
};

namespace keys {

// peers: kind u8 | rest. Kind 's': id[32] → a peer status; kind 'r':
// number u64 → a refused attempt (numbers grow, so the last key is the newest).
inline constexpr uint8_t kPeerStatusKind = 's';
inline constexpr uint8_t kRefusedKind = 'r';
inline Bytes Peer(const PublicKey& id) {
  Bytes k{kPeerStatusKind};
  Append(k, id);
  return k;
}
inline Bytes Refused(uint64_t number) {
  Bytes k{kRefusedKind};
  AppendU64BE(k, number);
  return k;
}

}  // namespace keys

// Writes inside a caller's write transaction (ApplyBatch records what it
// finds in the batch's own transaction). Evidence is verified first
// (kUnauthenticated otherwise). `newly` says whether anything was written.
Status PutFork(lmdb::Txn& txn, const Store::Dbs& dbs, const ForkReport& fork, bool* newly);
Status PutViolation(lmdb::Txn& txn, const Store::Dbs& dbs, const Violation& v);
Result<size_t> CountViolations(lmdb::Txn& txn, const Store::Dbs& dbs);
Status PutStaleMark(lmdb::Txn& txn, const Store::Dbs& dbs, const PublicKey& node_id,
                    const SignedHeader& evidence, const std::string& source, bool* newly);

// Hashes every blob held whole again and checks every chunk (VerifyLog).
Status VerifyBlobs(const lmdb::Txn& txn, const Store::Dbs& dbs, VerifyReport& report);

}  // namespace ncen::storage
