# The replication protocol's wire messages, version 2 (docs/protocol.md).
# Separate from the disk schema (storage/schema/): this one may evolve with
# the protocol version; disk bytes never change. Each protocol message is one
# Cap'n Proto message (standard framing, unpacked) with a Message root, sent
# as one transport message over the secure channel.
@0xd4c1a7f3b29e6a05;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("ncen::replication::wire");

# One feed's contiguous head: the highest seq held with nothing missing below
# it, and that entry's hash.
struct FeedHead {
  author @0 :Data;     # 32-byte Ed25519 key
  scope @1 :UInt8;     # 0 national, 1 regional, 2 global
  seq @2 :UInt64;
  head @3 :Data;       # 32-byte entry hash
}

struct FeedRef {
  author @0 :Data;
  scope @1 :UInt8;
}

# A header and its signature, without the payload: evidence that the
# header's author signed it (docs/protocol.md §6).
struct SignedHeader {
  header @0 :Data;              # the header bytes as signed (log-format.md §2)
  signature @1 :Data;           # 64 bytes
}

# Two validly signed headers at one (author, scope, seq) that differ.
struct ForkEvidence {
  a @0 :SignedHeader;
  b @1 :SignedHeader;
}

struct Hello {
  protocolVersion @0 :UInt32;   # 4 (3: no compression; 2: no blobs)
  nodeId @1 :Data;              # must equal the channel's authenticated key
  name @2 :Text;
  role @3 :Text;                # "post", "hub", "regional"
  frontier @4 :List(FeedHead);  # every feed the receiver may have (its scopes)
  forked @5 :List(FeedRef);     # version 1 only: a claim without evidence; not sent, ignored
  forkEvidence @6 :List(ForkEvidence);  # this node's fork reports in the receiver's scopes
  # Version 4: `frontier` left empty and sent here instead, as a zstd-compressed
  # Message holding `heads` (docs/protocol.md §2a): the hello is the one
  # message not in the compressed stream.
  frontierPacked @7 :Data;
}

# Entries of one or more feeds, each feed's entries contiguous and in seq
# order, in the transfer form of docs/log-format.md, concatenated.
struct Batch {
  number @0 :UInt64;            # 1, 2, 3 ... per session and direction
  count @1 :UInt32;
  entries @2 :Data;
}

# A feed whose entries the receiver did not take (log-format.md §6): it
# holds the feed up to `held` and will not take more of it in this session.
struct FeedRefusal {
  author @0 :Data;
  scope @1 :UInt8;
  held @2 :UInt64;
  reason @3 :Text;              # one line, for the sender's log
}

# The receiver applied batch `number` (in one transaction) and holds it,
# except the entries of the refused feeds.
struct Ack {
  number @0 :UInt64;
  refused @1 :List(FeedRefusal);
}

# Evidence offered to the peer: fork reports (verified pairs), and single
# signed headers that the peer should compare with what it holds (its own
# feed beyond its head, or a different entry at a seq it holds).
struct Evidence {
  forks @0 :List(ForkEvidence);
  headers @1 :List(SignedHeader);
}

# Heads that changed since this node last said (new local writes, entries
# from other peers). Lets the peer compute exactly what is missing.
struct Heads {
  frontier @0 :List(FeedHead);
}

# Blobs (docs/blobs.md §4): the receiver asks, the sender answers.
struct BlobRange {
  hash @0 :Data;                # 32 bytes: BLAKE2b-256 of the blob
  first @1 :UInt32;             # the first chunk wanted
  count @2 :UInt32;             # chunks wanted from there
}

struct BlobWant {
  ranges @0 :List(BlobRange);
}

struct BlobData {
  hash @0 :Data;
  size @1 :UInt32;              # the whole blob's size, as the sender holds it
  first @2 :UInt32;             # index of the first chunk in `data`
  data @3 :Data;                # whole consecutive chunks
}

struct BlobLackItem {
  hash @0 :Data;
  reason @1 :UInt8;             # 0 not held whole here, 1 not yours to have, 2 now held (ask again)
}

struct BlobLack {
  items @0 :List(BlobLackItem);
}

struct Message {
  union {
    hello @0 :Hello;
    batch @1 :Batch;
    ack @2 :Ack;
    heads @3 :Heads;
    ping @4 :Void;
    error @5 :Text;             # the sender is about to close: why
    evidence @6 :Evidence;
    blobWant @7 :BlobWant;      # protocol version 3
    blobData @8 :BlobData;
    blobLack @9 :BlobLack;
  }
}
