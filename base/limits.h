// Every limit of ncen in one place (in the manner of TigerBeetle's
// constants.zig): sizes of stored and transferred values, counts a peer or a
// file may claim, and the relations between them, checked at compile time.
// Units and qualifiers come last in each name. docs/log-format.md and
// docs/protocol.md give the reasons; this header gives the numbers.
//
// Anything a peer, a file or a user sends is checked against these before
// memory is allocated for it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ncen::limits {

inline constexpr size_t kKiB = 1024;
inline constexpr size_t kMiB = 1024 * kKiB;

// ---------------------------------------------------------------------------
// Change-log entries (docs/log-format.md §2, §5)

// A signed header: one Cap'n Proto segment.
inline constexpr size_t kHeaderBytesMax = 64 * kKiB;
// A record body (put, resolve).
inline constexpr size_t kPayloadBytesMax = 1 * kMiB;
// Dots in one entry's causal context: the number of distinct nodes that may
// have written one record. A local write whose context would be larger is
// refused before it is signed; a received header with more does not decode.
inline constexpr size_t kContextDotsMax = 1024;

// The header's size in Cap'n Proto words: a fixed part (segment table, root
// pointer, 4 data words, 5 pointers, author, prev, record id, payload hash,
// the context's list tag) plus one Dot per context entry (1 data word, 1
// pointer, a 32-byte author).
inline constexpr size_t kWordBytes = 8;
inline constexpr size_t kHeaderFixedWords = 1 + 1 + 4 + 5 + 4 + 4 + 2 + 4 + 1;
inline constexpr size_t kDotWords = 1 + 1 + 4;
inline constexpr size_t kHeaderBytesLargest =
    (kHeaderFixedWords + kContextDotsMax * kDotWords) * kWordBytes;
static_assert(kHeaderBytesLargest <= kHeaderBytesMax,
              "a header with the largest context must fit the header bound");

// An entry in transfer form: u32 header length, header, 64-byte signature,
// u8 flags, u32 payload length, payload.
inline constexpr size_t kSignatureBytes = 64;
inline constexpr size_t kTransferOverheadBytes = 4 + kSignatureBytes + 1 + 4;
// The smallest header that can decode: segment table and root pointer.
inline constexpr size_t kHeaderBytesMin = 2 * kWordBytes;
inline constexpr size_t kEntryTransferBytesMin = kTransferOverheadBytes + kHeaderBytesMin;
inline constexpr size_t kEntryTransferBytesMax =
    kTransferOverheadBytes + kHeaderBytesMax + kPayloadBytesMax;

// ---------------------------------------------------------------------------
// Records (docs/log-format.md §8)

// Concurrent versions (siblings) of one record. A resolve must name every
// sibling's author in its context, so there can be no more siblings than a
// context has dots.
inline constexpr size_t kRecordVersionsMax = kContextDotsMax;
// Record fields: the longest text the schema allows (a narrative, notes).
inline constexpr size_t kRecordTextBytesMax = 20000;
static_assert(kRecordTextBytesMax < kPayloadBytesMax);

// ---------------------------------------------------------------------------
// Replication protocol (docs/protocol.md)

// One protocol message, as the transport reassembles it.
inline constexpr size_t kMessageBytesMax = 16 * kMiB;
// Entry bytes in one batch (at least one entry, which may be larger).
inline constexpr size_t kBatchBytesDefault = 4 * kMiB;
static_assert(kBatchBytesDefault + kEntryTransferBytesMax + 64 * kKiB <= kMessageBytesMax,
              "a full batch plus one largest entry and the message framing fit one message");
// A batch may run past its size to carry a cycle of entries whole (entries
// whose contexts name one another, around a node restored from an old copy:
// the receiver takes such a cycle only from one batch), never past this.
inline constexpr size_t kBatchBytesMax = kMessageBytesMax - 64 * kKiB;
static_assert(kBatchBytesDefault + kEntryTransferBytesMax <= kBatchBytesMax);
// Entries read ahead from the store for one feed while planning a batch
// (less when many feeds are pending: the batch size shared among them). The
// whole read-ahead of a session stays under a few batches plus one message.
inline constexpr size_t kReadAheadFeedBytesMax = 64 * kKiB;
inline constexpr size_t kReadAheadBatches = 4;
// What a session's read-ahead may hold at most, for any batch size up to
// the default (NCEN_CHECKed by the session after every batch).
inline constexpr size_t ReadAheadBytesMax(size_t batch_bytes) {
  return kReadAheadBatches * batch_bytes + kMessageBytesMax;
}
// A session's defaults (SessionOptions): batches in flight before an
// acknowledgement, a ping when nothing was sent for the keepalive, the end
// of a session when nothing arrived for the idle timeout, and how often a
// session looks for new local entries.
inline constexpr size_t kWindowBatches = 4;
// Batches are sized to the link (docs/protocol.md §3): about this long to
// cross it and be applied, measured from the acks; the first batch of a
// session holds kBatchBytesFirst, and none fewer than kBatchBytesMin bytes
// of entries (at least one entry).
inline constexpr int64_t kBatchTargetMs = 1000;
inline constexpr size_t kBatchBytesFirst = 64 * kKiB;
inline constexpr size_t kBatchBytesMin = 8 * kKiB;
inline constexpr int64_t kKeepaliveMs = 5000;
inline constexpr int64_t kIdleTimeoutMs = 20000;
inline constexpr int64_t kPollMs = 200;
static_assert(kIdleTimeoutMs >= 3 * kKeepaliveMs,
              "a peer that pings on time is never idle, even with a ping lost or late");
static_assert(kPollMs < kKeepaliveMs);
// What a peer says about itself, shown in logs and status.
inline constexpr size_t kPeerNameBytesMax = 100;
inline constexpr size_t kPeerRoleBytesMax = 20;
// A peer's error text (its last words before closing), and the reason it
// gives for refusing a feed.
inline constexpr size_t kPeerErrorBytesMax = 500;
inline constexpr size_t kRefusalReasonBytesMax = 300;
// Feeds one session keeps track of (ours and the peer's): a peer that
// announces more ends the session. A network has ~3 feeds per node.
inline constexpr size_t kSessionFeedsMax = 100000;
// Fork reports and signed headers in one hello or evidence message.
inline constexpr size_t kEvidenceItemsMax = 64;
// Blobs (docs/blobs.md §4): ranges in one want or lack message; the bytes of
// chunks in one blob_data message; and the bytes a receiver asks for before
// the earlier ones arrived (its window: what may queue ahead of a new
// entry at the sender, and what a session holds in memory).
inline constexpr size_t kBlobRangesMax = 256;
inline constexpr size_t kBlobDataBytesMax = 1 * kMiB;
inline constexpr size_t kBlobWindowBytes = 4 * kMiB;
// Chunks received are stored in one transaction per this many bytes (and at
// each tick): one fsync per 16 MiB instead of per message.
inline constexpr size_t kBlobCommitBytes = 8 * kMiB;
// Signed headers one session shows a peer whose heads disagree with ours
// (each (feed, seq) once): a peer announcing ever new disagreeing heads
// costs a bounded number of store reads and messages.
inline constexpr size_t kOfferedHeadersMax = 4096;

// ---------------------------------------------------------------------------
// The secure channel (docs/handshake.md §5, §6)

// One transport frame (a Noise message): a u16 length.
inline constexpr size_t kFrameBytesMax = 65535;
// An authenticated peer in the middle of a frame sends at least this many
// bytes per second (2 kbit/s), else it is dropped as too slow.
inline constexpr uint64_t kFrameFloorBytesPerSecond = 256;
// Reassembly buffers handed back for reuse are kept up to this size: a rare
// huge message must not pin its memory for the life of a connection.
inline constexpr size_t kRecycledBufferBytesMax = 8 * kMiB;
static_assert(kRecycledBufferBytesMax < kMessageBytesMax);
static_assert(kFrameBytesMax < kRecycledBufferBytesMax);

// ---------------------------------------------------------------------------
// The daemon's peers (node/peer_manager.h, docs/protocol.md §8)

// The daemon's loop wakes this often: sessions' ticks, dials that are due,
// status rows.
inline constexpr int64_t kDaemonTickMs = 100;
// A TCP connect that has not completed by then failed.
inline constexpr int64_t kDialTimeoutMs = 5000;
// Redial after a failure or a lost link: the first delay, doubling to the
// most (each jittered to 75–125 %).
inline constexpr int64_t kRedialFirstMs = 500;
inline constexpr int64_t kRedialMaxMs = 30000;
static_assert(kRedialFirstMs >= kDaemonTickMs && kRedialFirstMs <= kRedialMaxMs);
// Status rows: written at least this often (a heartbeat) and at once when a
// session's caught-up state changes. A reader takes a row older than the
// freshness bound as written by a daemon that is gone.
inline constexpr int64_t kStatusWriteIntervalMs = 1000;
inline constexpr int64_t kStatusFreshMs = 5000;
static_assert(kStatusFreshMs >= 3 * kStatusWriteIntervalMs,
              "a live daemon's rows never look stale, even with a slow write");
static_assert(kStatusWriteIntervalMs >= kDaemonTickMs);
// A session that is catching up says how far it got this often.
inline constexpr int64_t kProgressLogIntervalMs = 5000;
// At shutdown, sessions get this long to close cleanly.
inline constexpr int64_t kShutdownGraceMs = 3000;
// Received records indexed for search per tick while idle (bounds one
// slice's dirty pages).
inline constexpr size_t kIndexRecordsPerTick = 500;
// ... and per call while a session waits for the photos' index to be
// current before it asks for photos (Session::IndexCaughtUp).
inline constexpr size_t kIndexRecordsPerSyncSlice = 5000;

// ---------------------------------------------------------------------------
// Transport and daemon: what strangers on the network may cost a node
// (docs/handshake.md §7, docs/protocol.md §8). A stranger can open TCP
// connections for free, so everything a connection holds before its
// handshake proves a roster key is bounded here.

// Inbound connections whose handshake has not finished, in total and from
// one remote IP address. A connection over either bound is closed at once,
// without a handshake (counted, and logged in aggregate).
inline constexpr size_t kInboundHandshakesMax = 64;
inline constexpr size_t kInboundHandshakesPerAddressMax = 4;
static_assert(kInboundHandshakesPerAddressMax <= kInboundHandshakesMax);

// A connection's read buffer: small until its handshake is done (the largest
// handshake message, 2 + 128 bytes, fits one read), the full size once open.
inline constexpr size_t kHandshakeReadBufferBytes = 2 * kKiB;
inline constexpr size_t kReadBufferBytes = 256 * kKiB;
static_assert(kHandshakeReadBufferBytes < kReadBufferBytes);
// What the unauthenticated connections may hold in read buffers together.
static_assert(kInboundHandshakesMax * kHandshakeReadBufferBytes <= 1 * kMiB);

// accept() failing (out of descriptors: EMFILE, ENFILE; or of kernel
// memory): the listener waits before it tries again, doubling the wait from
// the first to the most, and starts over after an accept succeeds. Without
// the wait the listening socket stays readable and the loop spins.
inline constexpr int64_t kAcceptBackoffFirstMs = 100;
inline constexpr int64_t kAcceptBackoffMaxMs = 1000;
static_assert(kAcceptBackoffFirstMs > 0 && kAcceptBackoffFirstMs <= kAcceptBackoffMaxMs);

// Log lines that strangers can cause (accept failures, connections over the
// bounds above, refused peers, failed handshakes): at most one line per key
// per interval; the rest are counted into the next line of that key. At
// most this many keys are tracked (callers use a fixed set of keys).
inline constexpr int64_t kLogRepeatIntervalMs = 5000;
inline constexpr size_t kLogRepeatKeysMax = 64;

// Refused peers (authenticated, not in the roster): kept in memory and
// written to the store in one transaction at most once per interval, one
// row per node id (its latest attempt, with how many it stands for), for at
// most this many distinct ids per write; attempts of further ids are only
// counted and logged.
inline constexpr int64_t kRefusedWriteIntervalMs = 2000;
inline constexpr size_t kRefusedIdsPerWriteMax = 100;

// Violation reports kept (docs/membership.md §3): one row per refused feed,
// the latest; past this many, new ones are not written (the refusals still
// happen and are logged).
inline constexpr size_t kViolationsKept = 1000;

}  // namespace ncen::limits
