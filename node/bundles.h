// Offline bundles (docs/bundles.md): the replication stream to one peer
// written to files, for a post that only ever sees a USB stick or a
// courier. CreateBundle writes what a peer lacks, from the frontier it last
// acknowledged, under the same scope rules as a connection to it
// (replication::PeerFeeds) and in the same causal order
// (replication::SendPlanner); ImportBundle checks every part and the signed
// manifest first, then applies every entry in one write transaction, all or
// nothing (Store::ApplyAllOrNothing). The frontier a bundle carries counts as
// its author's acknowledgement: it is kept in DIR/bundle-acks/ (one file per
// peer, replaced atomically, never written by the daemon).
//
// Plain functions, used by ncenctl and tests; one thread; the node must be
// open (node_dir.h). Memory is bounded by a few blocks (4 MiB of entries
// each) whatever the bundle's size.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/limits.h"
#include "base/status.h"
#include "node/node_dir.h"
#include "replication/bundle/bundle_format.h"

namespace ncen::node {

inline constexpr const char* kBundleAcksDirName = "bundle-acks";

// Who a bundle goes to or comes from, and the scopes exchanged with it.
struct BundlePeer {
  crypto::PublicKey id{};
  std::string name;
  std::vector<storage::Scope> scopes;
};

// A peer by its name in ncen.toml or its node id (64 hex): a configured peer
// (narrowed by the network's rules, as a connection is), or in a network a
// member admitted by its certificate. kNotFound / kUnauthenticated saying why not.
Result<BundlePeer> FindBundlePeer(const std::string& dir, const OpenNode& node, const std::string& name_or_id);

struct BundleCreateOptions {
  std::string peer;         // name in ncen.toml or node id
  std::string out;          // FILE; parts are FILE.partK-of-N when there are several
  uint64_t max_bytes = 0;   // per file; 0: one file whatever its size
  // What the peer holds, when given (--since): used instead of the
  // acknowledgements. Empty vector: everything (--full).
  std::optional<std::vector<storage::FeedHead>> since;
  int level = 3;            // zstd level
  size_t block_bytes = limits::kBatchBytesDefault;
};

struct BundleWritten {
  std::vector<std::string> files;  // in part order
  replication::bundle::Manifest manifest;
  uint64_t file_bytes = 0;         // all parts, headers and manifest included
  uint64_t header_payload_bytes = 0;  // the entries' header and payload bytes (the "raw" of docs/performance.md)
};

// Writes the bundle for `o.peer`. Nothing is written under the final names
// unless every part was written and synced (temporary files are removed on
// failure). kConflict when a file to write exists already; kInvalidArgument
// for a --max-bytes too small for the manifest.
Result<BundleWritten> CreateBundle(const std::string& dir, OpenNode& node, const BundleCreateOptions& o);

struct BundleImported {
  replication::bundle::Manifest manifest;
  std::string author_name;
  uint64_t applied = 0, duplicates = 0;
  bool acknowledgement_advanced = false;  // the author's acknowledged frontier moved
  // The bundle held entries of this node's own feed beyond its head: the
  // identity is marked stale (docs/log-format.md §4), local writes refused.
  bool marked_stale = false;
};

// Checks, in this order, before anything is written: every file is a part
// of one bundle (kCorruption naming the file), no part is missing
// (kNotFound naming it) or given twice, the manifest's signature
// (kUnauthenticated), that the bundle is for this node (kFailedPrecondition)
// and its author a peer or member (kUnauthenticated), every part's hash
// (kCorruption naming the part and its file). Then decodes and applies the
// entries in one write transaction: any entry refused, out of the
// manifest's runs or of a scope not exchanged with the author → nothing is
// applied, and the error (kUnauthenticated or kCorruption) names the entry
// and why. Importing a bundle again changes nothing (applied = 0).
Result<BundleImported> ImportBundle(const std::string& dir, OpenNode& node, std::span<const std::string> files);

struct BundlePartState {
  uint32_t part_no = 0;
  std::string file;       // empty: missing
  uint64_t file_bytes = 0;
  bool hash_ok = false;
};
struct BundleInspection {
  replication::bundle::Manifest manifest;
  std::vector<BundlePartState> parts;  // every part the manifest names
  std::string problem;                 // empty when every part is present and intact
};
// Reads the manifest (from the last part, which must be given) and checks
// its signature and each given part's hash; applies nothing and opens no
// node. Errors: those of ImportBundle's first checks; a missing or damaged
// part is reported in `problem` instead.
Result<BundleInspection> InspectBundle(std::span<const std::string> files);

// The frontier `peer` acknowledged: per feed the highest of the peer
// status row the daemon keeps and the frontier of the last bundle imported
// from it.
Result<std::vector<storage::FeedHead>> AcknowledgedFrontier(const std::string& dir, storage::Store& store,
                                                           const crypto::PublicKey& peer);
// Raises the stored acknowledgement of `peer` to `frontier`, feed by feed
// (never lowers one). Returns whether anything moved.
Result<bool> RecordAcknowledged(const std::string& dir, const crypto::PublicKey& peer,
                                const std::vector<storage::FeedHead>& frontier);

// Frontier JSON for --since: [{"author": HEX, "scope": NAME, "seq": N, "head": HEX?}, ...]
// (what `bundle inspect --json` shows as "frontier"). kInvalidArgument saying what is wrong.
Result<std::vector<storage::FeedHead>> ParseFrontierJson(const std::string& text);

}  // namespace ncen::node
