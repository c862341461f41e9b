# The replication protocol's wire messages, version 1 (docs/protocol.md).
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

struct Hello {
  protocolVersion @0 :UInt32;   # 1
  nodeId @1 :Data;              # must equal the channel's authenticated key
  name @2 :Text;
  role @3 :Text;                # "post", "hub", "regional"
  frontier @4 :List(FeedHead);  # every feed the receiver may have (its scopes)
  forked @5 :List(FeedRef);     # feeds this node has fork reports for: not synced
}

# Entries of one or more feeds, each feed's entries contiguous and in seq
# order, in the transfer form of docs/log-format.md, concatenated.
struct Batch {
  number @0 :UInt64;            # 1, 2, 3 ... per session and direction
  count @1 :UInt32;
  entries @2 :Data;
}

# The receiver applied batch `number` (in one transaction) and holds it.
struct Ack {
  number @0 :UInt64;
}

# Heads that changed since this node last said (new local writes, entries
# from other peers). Lets the peer compute exactly what is missing.
struct Heads {
  frontier @0 :List(FeedHead);
}

struct Message {
  union {
    hello @0 :Hello;
    batch @1 :Batch;
    ack @2 :Ack;
    heads @3 :Heads;
    ping @4 :Void;
    error @5 :Text;             # the sender is about to close: why
  }
}
