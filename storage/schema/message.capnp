@0xc3f1a9d27e5b4068;
# Messages between offices (docs/messages.md). Version 1.
#
# A message record's payload is a SealedMessage: what every node that holds
# the feed holds. Only a recipient can open `content`, which is a
# MessageContent encrypted with a key sealed to each recipient
# (crypto/seal.h). Neither struct is checked by the generic record rules
# (record_json.cpp): ValidateSealedMessage and the reader's checks after
# decryption (node/messages.cpp) are written out by hand.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("ncen::storage::schema");

struct SealedMessage {
  version @0 :UInt32;    # 1
  ephemeral @1 :Data;    # 32 bytes: the message's X25519 public key
  slots @2 :Data;        # 40 bytes per recipient: hint (8) then wrapped content key (32)
  content @3 :Data;      # nonce (24) then XChaCha20-Poly1305 of a MessageContent (tag included)
  blobs @4 :Data;        # 36 bytes per attachment: BLAKE2b-256 of its encrypted blob (32), its size u32 BE
}

enum MessagePriority {
  normal @0;
  urgent @1;
  alert @2;
}

struct MessageContent {
  subject @0 :Text;               # 1..200 bytes
  body @1 :Text;                  # at most 64 KiB
  priority @2 :MessagePriority;
  links @3 :List(Text);           # record ids, at most 100
  replyTo @4 :Text;               # the message this answers (a record id), or empty
  thread @5 :Text;                # the first message of the thread; empty: this one
  to @6 :Text;                    # how the sender addressed it: "node NAME", "country CC", "region NAME", "all"
  recipients @7 :UInt32;          # how many it was sealed to
  sentAt @8 :Int64;               # the sender's clock, Unix milliseconds
  attachments @9 :List(Attachment);  # at most 20
  sentBy @10 :SentBy;             # who sent it at the sending node; absent: not recorded
}

# The person behind a message (as entered_by in record.capnp, but sealed
# with the content: only the recipients see the name). The node is the
# record's author.
struct SentBy {
  name @0 :Text;        # the officer (API) or the local system user (CLI): 1..100 bytes, one line
  via @1 :Text;         # api or cli (a lower-case code of at most 16 bytes), or empty
}

# A file sent with a message: stored as a blob of its own, encrypted with the
# message's content key (docs/messages.md §3), so relays hold ciphertext.
struct Attachment {
  name @0 :Text;        # the file's name, 1..200 bytes, one line, no '/' or '\\'
  mediaType @1 :Text;   # e.g. application/pdf, at most 100 bytes
  size @2 :UInt32;      # bytes of the file
  blob @3 :Data;        # BLAKE2b-256 of the encrypted blob (32 bytes)
}
