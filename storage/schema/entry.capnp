# The change-log entry header (disk format, version 1). See docs/log-format.md.
# The header is signed as the exact bytes of a single-segment, unpacked Cap'n
# Proto message with an EntryHeader root; those bytes are stored and sent as
# they are, never re-encoded.
@0x88b5bbdc261dccc2;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("ncen::storage::schema");

enum Scope {
  national @0;   # personal data: stays on the country's nodes
  regional @1;   # may go to a regional hub under a legal basis
  global @2;     # non-nominal, sanitised reports
  network @3;    # entry format 2: certificates and revocations (docs/membership.md)
}

enum RecordType {
  seizure @0;
  suspect @1;
  company @2;
  certificate @3;  # entry format 2, scope network only
  revocation @4;   # entry format 2, scope network only
  seizureReport @5;
  photo @6;
  message @7;      # sealed (docs/messages.md)
}

enum Op {
  put @0;       # a new full version of the record
  delete @1;    # a tombstone version
  purge @2;     # reserved: payloads dropped for retention
  resolve @3;   # a put that a person wrote to settle a conflict
}

struct Dot {
  author @0 :Data;   # 32-byte Ed25519 public key
  seq @1 :UInt64;    # seq in the author's feed of the record's scope
}

struct EntryHeader {
  formatVersion @0 :UInt16;     # 1; 2 for scope network
  author @1 :Data;              # 32 bytes
  scope @2 :Scope;
  seq @3 :UInt64;               # 1, 2, 3 ... contiguous per (author, scope)
  prev @4 :Data;                # entry hash of the previous entry: BLAKE2b-256(header bytes ‖ signature); zeros for seq 1
  timestampMs @5 :Int64;        # author's clock, informational only
  recordId @6 :Data;            # 16 bytes, time-ordered
  recordType @7 :RecordType;
  op @8 :Op;
  context @9 :List(Dot);        # sorted by author, one dot per author
  payloadHash @10 :Data;        # BLAKE2b-256 of the payload bytes
  payloadSize @11 :UInt32;
}
