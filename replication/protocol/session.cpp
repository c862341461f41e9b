#include "replication/protocol/session.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <algorithm>
#include <cstring>
#include <queue>

#include "replication/schema/wire.capnp.h"

namespace ncen::replication {

#ifdef NCEN_MUTANT_ACK_BEFORE_COMMIT
bool MutantCrashBeforeCommit();  // tests/sim/mutant_hooks.cpp
#endif

using storage::FeedHead;
using storage::FeedId;
using storage::Scope;

struct Session::HeadData {
  FeedId feed;
  uint64_t seq = 0;
  Hash256 head{};
};

struct Session::HelloData {
  uint32_t version = 0;
  crypto::PublicKey node_id{};
  std::string name, role;
  std::vector<HeadData> frontier;
  std::vector<FeedId> forked;
};

namespace {

// A builder's message as bytes, written into `out` (whose memory may be
// reused): the segment table (u32 count - 1, u32 size in words per segment,
// padded to a word), then the segments.
void FlattenInto(capnp::MessageBuilder& builder, Bytes& out) {
  auto segments = builder.getSegmentsForOutput();
  size_t table = (segments.size() / 2 + 1) * sizeof(capnp::word);
  size_t total = table;
  for (auto s : segments) total += s.size() * sizeof(capnp::word);
  out.clear();
  out.resize(total);
  auto put32 = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) out[at + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
  };
  put32(0, static_cast<uint32_t>(segments.size() - 1));
  size_t at = table;
  for (size_t i = 0; i < segments.size(); ++i) {
    put32(4 + 4 * i, static_cast<uint32_t>(segments[i].size()));
    std::memcpy(out.data() + at, segments[i].begin(), segments[i].size() * sizeof(capnp::word));
    at += segments[i].size() * sizeof(capnp::word);
  }
}

Bytes Flatten(capnp::MessageBuilder& builder) {
  Bytes out;
  FlattenInto(builder, out);
  return out;
}

std::string FeedText(const FeedId& feed) {
  return crypto::Fingerprint(feed.author) + "/" + storage::ScopeName(feed.scope);
}

Result<FeedId> ReadFeed(capnp::Data::Reader author, uint8_t scope) {
  if (author.size() != 32) return Corruption("feed author is not 32 bytes");
  if (scope >= storage::kScopeCount) return Corruption("unknown scope " + std::to_string(scope));
  FeedId feed;
  std::memcpy(feed.author.data(), author.begin(), 32);
  feed.scope = static_cast<Scope>(scope);
  return feed;
}

// Marks this node's identity stale and logs why, the first time.
Status MarkStale(storage::Store& store, const std::string& reason, std::vector<std::string>& log) {
  bool newly = false;
  NCEN_RETURN_IF_ERROR(store.MarkStaleIdentity(reason, &newly));
  if (!newly) return Status::Ok();
  log.push_back("STALE IDENTITY: " + reason + "; local writes are refused until an administrator acts");
  return Status::Ok();
}

// The peer's hello lists a feed as forked and this node had no report of it:
// keep one, so that every session of this node stops syncing the feed and
// every later hello passes the news on — to the feed's author too, which
// must stop writing (found by tests/sim, seed 1215).
Status AdoptPeerFork(storage::Store& store, const crypto::PublicKey& self,
                     const std::string& peer_name, const FeedHead& mine, int64_t now_ms,
                     std::vector<std::string>& log) {
  storage::ForkReport fork;
  fork.feed = mine.feed;
  fork.seq = mine.seq;
  fork.ours = mine.head;
  fork.detected_ms = now_ms;
  fork.source = peer_name + " (reported by the peer)";
  NCEN_RETURN_IF_ERROR(store.ReportFork(fork));
  log.push_back("FORK in feed " + FeedText(mine.feed) + " reported by peer " + peer_name +
                "; the feed stops syncing here");
  if (mine.feed.author != self) return Status::Ok();
  return MarkStale(store,
                   "peer " + peer_name + " reports this node's own feed (" +
                       storage::ScopeName(mine.feed.scope) +
                       ") forked: it was restored from an old copy and wrote again",
                   log);
}

// A fork report that another session (or ncenctl) recorded: stop syncing the
// feed, and if the peer may hold it, end the session so that the next hello
// tells the peer (found by tests/sim, seed 1215).
Status CheckForksFoundElsewhere(const storage::Store& store, const std::set<Scope>& peer_scopes,
                                std::set<FeedId>& forked) {
  NCEN_ASSIGN_OR_RETURN(auto forks, store.Forks());
  for (const storage::ForkReport& f : forks) {
    if (!forked.insert(f.feed).second || peer_scopes.count(f.feed.scope) == 0) continue;
    return Unavailable("feed " + FeedText(f.feed) + " was found forked (" + f.source +
                       "); reconnecting so that the peer learns it from the hello");
  }
  return Status::Ok();
}

void WriteHead(wire::FeedHead::Builder b, const FeedId& feed, uint64_t seq, const Hash256& head) {
  b.setAuthor(capnp::Data::Reader(feed.author.data(), feed.author.size()));
  b.setScope(static_cast<uint8_t>(feed.scope));
  b.setSeq(seq);
  b.setHead(capnp::Data::Reader(head.data(), head.size()));
}

}  // namespace

Result<std::vector<Session::HeadData>> ReadHeadsImpl(capnp::List<wire::FeedHead>::Reader list) {
  std::vector<Session::HeadData> out;
  out.reserve(list.size());
  for (auto h : list) {
    NCEN_ASSIGN_OR_RETURN(FeedId feed, ReadFeed(h.getAuthor(), h.getScope()));
    if (h.getHead().size() != 32) return Corruption("feed head hash is not 32 bytes");
    Session::HeadData d;
    d.feed = feed;
    d.seq = h.getSeq();
    std::memcpy(d.head.data(), h.getHead().begin(), 32);
    out.push_back(d);
  }
  return out;
}

Session::Session(storage::Store& store, const crypto::PublicKey& self, std::string self_name,
                 std::string self_role, PeerInfo peer, SessionOptions options)
    : store_(store),
      self_(self),
      self_name_(std::move(self_name)),
      self_role_(std::move(self_role)),
      peer_(std::move(peer)),
      options_(options),
      peer_scopes_(peer_.scopes.begin(), peer_.scopes.end()) {
  if (options_.window == 0) options_.window = 1;
}

bool Session::MayReceive(const FeedId& feed) const {
  return peer_scopes_.count(feed.scope) > 0 && forked_.count(feed) == 0;
}

bool Session::MaySend(const FeedId& feed) const {
  // Never a peer's own feed: a node holds its own entries or is stale.
  return MayReceive(feed) && feed.author != peer_.id;
}

std::vector<FeedHead> Session::PeerFrontier() const {
  std::vector<FeedHead> out;
  for (auto& [feed, known] : peer_known_) out.push_back({feed, known.seq, known.head});
  return out;
}

void Session::Queue(Bytes message, int64_t now_ms) {
  outgoing_.push_back(std::move(message));
  last_sent_ms_ = now_ms;
}

void Session::RecycleOutgoing(Bytes sent) {
  // Batch-sized buffers only, and not one that a rare huge batch grew.
  size_t capacity = sent.capacity();
  if (spare_messages_.size() < 2 && capacity >= (64 << 10) && capacity <= 2 * options_.batch_bytes + (1 << 20)) {
    spare_messages_.push_back(std::move(sent));
  }
}

std::vector<Bytes> Session::TakeOutgoing() {
  std::vector<Bytes> out;
  out.swap(outgoing_);
  return out;
}

std::vector<std::string> Session::TakeLog() {
  std::vector<std::string> out;
  out.swap(log_);
  return out;
}

void Session::Fail(Status status, bool tell_peer, int64_t now_ms) {
  if (failed_) return;
  failed_ = true;
  error_ = status;
  log_.push_back("session with " + peer_.name + " failed: " + status.ToString());
  if (tell_peer) {
    capnp::MallocMessageBuilder builder;
    auto m = builder.initRoot<wire::Message>();
    std::string text = status.ToString().substr(0, 500);
    m.setError(text);
    Queue(Flatten(builder), now_ms);
  }
}

Status Session::RefreshFrontier(int64_t now_ms) {
  NCEN_ASSIGN_OR_RETURN(auto frontier, store_.Frontier());
  for (const FeedHead& h : frontier) ours_[h.feed] = {h.seq, h.head};
  last_refresh_ms_ = now_ms;
  return Status::Ok();
}

void Session::Start(int64_t now_ms) {
  if (started_) return;
  started_ = true;
  last_received_ms_ = now_ms;
  progress_.sync_started_ms = now_ms;
  if (Status s = RefreshFrontier(now_ms); !s.ok()) return Fail(s, true, now_ms);
  auto forks = store_.Forks();
  if (!forks.ok()) return Fail(forks.status(), true, now_ms);
  for (const auto& f : forks.value()) forked_.insert(f.feed);

  capnp::MallocMessageBuilder builder;
  auto hello = builder.initRoot<wire::Message>().initHello();
  hello.setProtocolVersion(kProtocolVersion);
  hello.setNodeId(capnp::Data::Reader(self_.data(), self_.size()));
  hello.setName(self_name_);
  hello.setRole(self_role_);
  size_t n = 0;
  for (auto& [feed, known] : ours_) n += MayReceive(feed) ? 1 : 0;
  auto list = hello.initFrontier(static_cast<unsigned>(n));
  size_t i = 0;
  for (auto& [feed, known] : ours_) {
    if (!MayReceive(feed)) continue;
    WriteHead(list[static_cast<unsigned>(i++)], feed, known.seq, known.head);
    advertised_[feed] = known.seq;
  }
  auto forked = hello.initForked(static_cast<unsigned>(forked_.size()));
  i = 0;
  for (const FeedId& feed : forked_) {
    auto f = forked[static_cast<unsigned>(i++)];
    f.setAuthor(capnp::Data::Reader(feed.author.data(), 32));
    f.setScope(static_cast<uint8_t>(feed.scope));
  }
  Queue(Flatten(builder), now_ms);
}

void Session::OnMessage(ByteView message, int64_t now_ms) {
  if (failed_) return;
  last_received_ms_ = now_ms;
  Status s = Dispatch(message, now_ms);
  if (!s.ok() && !failed_) Fail(s, true, now_ms);
  if (!failed_) UpdateProgress(now_ms);
}

Status Session::Dispatch(ByteView message, int64_t now_ms) {
  if (message.empty() || message.size() % sizeof(capnp::word) != 0) {
    return Corruption("protocol message is not a whole number of 8-byte words");
  }
  kj::Array<capnp::word> copy;
  kj::ArrayPtr<const capnp::word> words;
  if (reinterpret_cast<uintptr_t>(message.data()) % alignof(capnp::word) == 0) {
    words = kj::ArrayPtr<const capnp::word>(reinterpret_cast<const capnp::word*>(message.data()),
                                            message.size() / sizeof(capnp::word));
  } else {
    copy = kj::heapArray<capnp::word>(message.size() / sizeof(capnp::word));
    std::memcpy(copy.begin(), message.data(), message.size());
    words = copy.asPtr();
  }
  try {
    capnp::ReaderOptions options;
    options.traversalLimitInWords = words.size() * 2 + 1024;
    options.nestingLimit = 8;
    capnp::FlatArrayMessageReader reader(words, options);
    if (reader.getEnd() != words.end()) return Corruption("protocol message has trailing bytes");
    auto m = reader.getRoot<wire::Message>();
    switch (m.which()) {
      case wire::Message::HELLO: {
        auto h = m.getHello();
        HelloData hello;
        hello.version = h.getProtocolVersion();
        if (h.getNodeId().size() != 32) return Corruption("hello node id is not 32 bytes");
        std::memcpy(hello.node_id.data(), h.getNodeId().begin(), 32);
        hello.name = std::string(h.getName().cStr()).substr(0, 100);
        hello.role = std::string(h.getRole().cStr()).substr(0, 20);
        NCEN_ASSIGN_OR_RETURN(hello.frontier, ReadHeadsImpl(h.getFrontier()));
        for (auto f : h.getForked()) {
          NCEN_ASSIGN_OR_RETURN(FeedId feed, ReadFeed(f.getAuthor(), f.getScope()));
          hello.forked.push_back(feed);
        }
        return OnHello(hello, now_ms);
      }
      case wire::Message::BATCH: {
        auto b = m.getBatch();
        auto data = b.getEntries();
        return OnBatch(b.getNumber(), b.getCount(), ByteView(data.begin(), data.size()), now_ms);
      }
      case wire::Message::ACK:
        return OnAck(m.getAck().getNumber(), now_ms);
      case wire::Message::HEADS: {
        NCEN_ASSIGN_OR_RETURN(auto heads, ReadHeadsImpl(m.getHeads().getFrontier()));
        return OnHeads(heads, now_ms);
      }
      case wire::Message::PING:
        return Status::Ok();
      case wire::Message::ERROR: {
        std::string text = std::string(m.getError().cStr()).substr(0, 500);
        for (char& c : text) {
          if (static_cast<unsigned char>(c) < 0x20) c = '?';
        }
        Fail(Unavailable("peer " + peer_.name + " ended the session: " + text), false, now_ms);
        return Status::Ok();
      }
    }
    return Corruption("unknown protocol message kind " + std::to_string(static_cast<int>(m.which())));
  } catch (const kj::Exception& e) {
    return Corruption(std::string("protocol message does not decode: ") + e.getDescription().cStr());
  }
}

Status Session::LearnPeerHead(const FeedId& feed, uint64_t seq, const Hash256& head,
                              int64_t now_ms) {
  if (seq == 0) return Status::Ok();
  if (feed.author == self_) {
    auto mine_now = [&] {
      auto it = ours_.find(feed);
      return it == ours_.end() ? uint64_t{0} : it->second.seq;
    };
    uint64_t mine = mine_now();
    if (seq > mine) {
      // The polled frontier may predate a local write that already reached
      // this peer through another node: ask the store before concluding
      // (found by tests/sim, seed 281).
      NCEN_RETURN_IF_ERROR(RefreshFrontier(now_ms));
      mine = mine_now();
    }
    if (seq > mine) {
      std::string reason = "peer " + peer_.name + " holds seq " + std::to_string(seq) +
                           " of this node's own feed (" + storage::ScopeName(feed.scope) +
                           ") but this node has only " + std::to_string(mine) +
                           ": it was restored from an old copy";
      NCEN_RETURN_IF_ERROR(MarkStale(store_, reason, log_));
    }
  }
  // A fork: the peer's entry at a seq we hold differs from ours.
  auto it = ours_.find(feed);
  if (it != ours_.end() && seq <= it->second.seq && forked_.count(feed) == 0) {
    Hash256 ours = it->second.head;
    if (seq < it->second.seq) {
      NCEN_ASSIGN_OR_RETURN(storage::Entry entry, store_.GetEntry(feed, seq));
      ours = entry.hash();
    }
    if (ours != head) {
      storage::ForkReport fork;
      fork.feed = feed;
      fork.seq = seq;
      fork.ours = ours;
      fork.theirs = head;
      fork.detected_ms = now_ms;
      fork.source = peer_.name;
      NCEN_RETURN_IF_ERROR(store_.ReportFork(fork));
      forked_.insert(feed);
      if (feed.author == self_) {
        // This node never signs two entries at one seq: its store is an old
        // copy that wrote again after it was restored (found by tests/sim, seed 171).
        NCEN_RETURN_IF_ERROR(MarkStale(store_,
                                       "peer " + peer_.name + " holds a different entry at seq " +
                                           std::to_string(seq) + " of this node's own feed (" +
                                           storage::ScopeName(feed.scope) +
                                           "): it was restored from an old copy and wrote again",
                                       log_));
      }
      log_.push_back("FORK in feed " + FeedText(feed) + " at seq " + std::to_string(seq) +
                     ": peer " + peer_.name + " holds a different entry; the feed stops syncing here");
      // The peer compares only heads at or below its own, so it has not seen
      // the fork if its copy is the shorter one: show it our entry at its
      // head's seq (found by tests/sim, seed 1215).
      capnp::MallocMessageBuilder evidence;
      auto list = evidence.initRoot<wire::Message>().initHeads().initFrontier(1);
      WriteHead(list[0], feed, seq, ours);
      Queue(Flatten(evidence), now_ms);
      return Status::Ok();
    }
  }
  Known& known = peer_known_[feed];
  if (seq > known.seq) known = {seq, head};
  return Status::Ok();
}

Status Session::OnHello(const HelloData& hello, int64_t now_ms) {
  if (progress_.hello_received) return Corruption("second hello");
  if (hello.version != kProtocolVersion) {
    return FailedPrecondition("peer speaks protocol version " + std::to_string(hello.version) +
                              ", this node " + std::to_string(kProtocolVersion));
  }
  if (hello.node_id != peer_.id) {
    return Unauthenticated("hello names node " + crypto::Fingerprint(hello.node_id) +
                           ", the channel authenticated " + crypto::Fingerprint(peer_.id));
  }
  progress_.hello_received = true;
  peer_name_ = hello.name;
  peer_role_ = hello.role;
  for (const FeedId& feed : hello.forked) {
    if (!forked_.insert(feed).second) continue;
    auto it = ours_.find(feed);
    FeedHead mine{feed, it == ours_.end() ? 0 : it->second.seq,
                  it == ours_.end() ? Hash256{} : it->second.head};
    NCEN_RETURN_IF_ERROR(AdoptPeerFork(store_, self_, peer_.name, mine, now_ms, log_));
  }
  for (const HeadData& h : hello.frontier) {
    NCEN_RETURN_IF_ERROR(LearnPeerHead(h.feed, h.seq, h.head, now_ms));
  }
  for (auto& [feed, known] : peer_known_) sent_upto_[feed] = known.seq;
  return Pump(now_ms);
}

Status Session::OnHeads(const std::vector<HeadData>& heads, int64_t now_ms) {
  if (!progress_.hello_received) return Corruption("heads before hello");
  for (const HeadData& h : heads) {
    NCEN_RETURN_IF_ERROR(LearnPeerHead(h.feed, h.seq, h.head, now_ms));
    auto& sent = sent_upto_[h.feed];
    sent = std::max(sent, peer_known_[h.feed].seq);
  }
  return Pump(now_ms);
}

Status Session::OnBatch(uint64_t number, uint32_t count, ByteView data, int64_t now_ms) {
  if (!progress_.hello_received) return Corruption("batch before hello");
  if (number != expect_batch_) {
    return Corruption("batch " + std::to_string(number) + " arrived where " +
                      std::to_string(expect_batch_) + " was due");
  }
  ++expect_batch_;
  std::vector<storage::Entry> entries;
  entries.reserve(count);
  ByteView rest = data;
  while (!rest.empty()) {
    if (entries.size() == count) return Corruption("batch holds more entries than its count");
    NCEN_ASSIGN_OR_RETURN(storage::Entry e, storage::DecodeEntry(rest));
    entries.push_back(std::move(e));
  }
  if (entries.size() != count) return Corruption("batch holds fewer entries than its count");
  for (const auto& e : entries) {
    if (e.header.author == self_) {
      // Never sent by a correct peer (MaySend); the store would mark us stale.
      return Corruption("peer sent entries of this node's own feed");
    }
    if (forked_.count(e.header.feed())) {
      return Corruption("peer sent entries of forked feed " + FeedText(e.header.feed()));
    }
  }
#ifdef NCEN_MUTANT_ACK_BEFORE_COMMIT
  // Mutant for tests/sim only, never built into the product: acknowledge the
  // batch before committing it; the simulator may crash the node in between.
  {
    capnp::MallocMessageBuilder ack;
    ack.initRoot<wire::Message>().initAck().setNumber(number);
    Queue(Flatten(ack), now_ms);
    if (MutantCrashBeforeCommit()) return Status::Ok();
  }
#endif
  storage::ApplyReport report = store_.ApplyBatch(entries, peer_.name);
  if (!report.status.ok()) {
    std::string where;
    if (report.error_index < entries.size()) {
      const auto& h = entries[report.error_index].header;
      where = " (entry " + std::to_string(report.error_index) + ": feed " + FeedText(h.feed()) +
              " seq " + std::to_string(h.seq) + ", " + storage::EntryErrorName(report.error) + ")";
    }
    if (report.error == storage::EntryError::kFork && report.error_index < entries.size()) {
      forked_.insert(entries[report.error_index].header.feed());
    }
    return report.status.WithContext("batch " + std::to_string(number) + " rejected, nothing applied" + where);
  }
  progress_.batches_received++;
  progress_.entries_received += report.applied;
  progress_.duplicates_received += report.duplicates;
  progress_.entry_bytes_received += data.size();
  // We hold them now, and so does the peer. Each feed's last entry in the
  // batch is its highest (ApplyBatch checked the order): one hash per feed.
  std::map<FeedId, size_t> last_of_feed;
  for (size_t i = 0; i < entries.size(); ++i) last_of_feed[entries[i].header.feed()] = i;
  for (const auto& [feed, i] : last_of_feed) {
    const storage::Entry& e = entries[i];
    Known head{e.header.seq, e.hash()};
    Known& mine = ours_[feed];
    if (head.seq > mine.seq) mine = head;
    Known& theirs = peer_known_[feed];
    if (head.seq > theirs.seq) theirs = head;
    auto& sent = sent_upto_[feed];
    sent = std::max(sent, head.seq);
    auto& adv = advertised_[feed];
    adv = std::max(adv, head.seq);
  }
#ifndef NCEN_MUTANT_ACK_BEFORE_COMMIT
  capnp::MallocMessageBuilder builder;
  builder.initRoot<wire::Message>().initAck().setNumber(number);
  Queue(Flatten(builder), now_ms);
#endif
  return Pump(now_ms);
}

Status Session::OnAck(uint64_t number, int64_t now_ms) {
  if (inflight_.empty() || inflight_.front().number != number) {
    return Corruption("ack for batch " + std::to_string(number) + " which is not the oldest in flight");
  }
  Inflight done = std::move(inflight_.front());
  inflight_.pop_front();
  progress_.entries_sent += done.entries;
  progress_.entry_bytes_sent += done.bytes;
  for (auto& [feed, seq] : done.runs) {
    Known& theirs = peer_known_[feed];
    if (seq > theirs.seq) {
      theirs.seq = seq;
      auto it = ours_.find(feed);
      // The head hash is only needed for fork checks at equal seq; ours is theirs.
      if (it != ours_.end() && it->second.seq == seq) theirs.head = it->second.head;
    }
    auto& adv = advertised_[feed];
    adv = std::max(adv, seq);
  }
  return Pump(now_ms);
}

Result<const storage::RunEntry*> Session::NextToSend(const storage::FeedId& feed, uint64_t sent,
                                                     uint64_t upto, size_t read_bytes) {
  auto it = lookahead_.find(feed);
  if (it != lookahead_.end()) {
    Lookahead& la = it->second;
    while (la.next < la.list.size() && la.list[la.next].seq <= sent) ++la.next;
    if (la.next < la.list.size()) return &la.list[la.next];
    DropLookahead(feed);
  }
  // Read-ahead is bounded in all (ReadFeedRun returns at least one entry,
  // which may be a large photo): past the budget a feed waits for a later
  // batch, which only loosens the time order.
  if (sent >= upto || lookahead_bytes_ >= 2 * options_.batch_bytes) return nullptr;
  Lookahead& la = lookahead_[feed];  // new, empty
  auto run = store_.ReadFeedRun(feed, sent + 1, upto, read_bytes, la.blob, &la.list);
  lookahead_bytes_ += la.blob.size();
  if (!run.ok() || run->entries == 0) {
    DropLookahead(feed);
    if (!run.ok()) return run.status();
    return nullptr;
  }
  return &la.list[la.next];
}

void Session::DropLookahead(const storage::FeedId& feed) {
  auto it = lookahead_.find(feed);
  if (it == lookahead_.end()) return;
  lookahead_bytes_ -= it->second.blob.size();
  lookahead_.erase(it);
}

// Each batch takes entries from all the feeds the peer lacks in timestamp
// order, not feed after feed: a node catching up then receives records in
// about the order they were created, so an interrupted sync leaves it with
// everyone's records up to some time rather than some offices' records and
// none of the others'. It is also what makes a cold sync fast: record ids
// are time-ordered (UUIDv7), so the receiver's record states are mostly
// appended rather than scattered over the whole tree (docs/performance.md).
Status Session::Pump(int64_t now_ms) {
  if (failed_ || !progress_.hello_received) return Status::Ok();
  while (inflight_.size() < options_.window) {
    struct Head {
      int64_t timestamp_ms;
      const storage::FeedId* feed;
      bool operator>(const Head& o) const {
        return timestamp_ms != o.timestamp_ms ? timestamp_ms > o.timestamp_ms : *feed > *o.feed;
      }
    };
    std::vector<std::pair<const storage::FeedId*, uint64_t>> pending;  // feed, our seq
    for (auto& [feed, known] : ours_) {
      if (!MaySend(feed) || known.seq <= sent_upto_[feed]) {
        DropLookahead(feed);  // nothing more to send from it
        continue;
      }
      pending.emplace_back(&feed, known.seq);
    }
    if (pending.empty()) break;
    // Read-ahead per feed: 64 KiB, less when many feeds are pending (and at
    // most twice a batch in all, NextToSend).
    size_t read_bytes = std::clamp<size_t>(options_.batch_bytes / pending.size(), 1, 64 << 10);
    std::priority_queue<Head, std::vector<Head>, std::greater<Head>> heads;
    std::map<const storage::FeedId*, uint64_t> upto;
    // A second pass when the first found nothing: stale read-ahead dropped
    // during the first may have been all that held the budget.
    for (int pass = 0; pass < 2 && heads.empty(); ++pass) {
      for (auto& [feed, seq] : pending) {
        NCEN_ASSIGN_OR_RETURN(const storage::RunEntry* next,
                              NextToSend(*feed, sent_upto_[*feed], seq, read_bytes));
        if (!next) continue;
        heads.push({next->timestamp_ms, feed});
        upto[feed] = seq;
      }
    }
    Bytes& blob = batch_entries_;
    blob.clear();
    Inflight batch;
    std::map<storage::FeedId, uint64_t> runs;
    while (!heads.empty()) {
      const storage::FeedId& feed = *heads.top().feed;
      Lookahead& la = lookahead_[feed];
      const storage::RunEntry& e = la.list[la.next];
      if (!blob.empty() && blob.size() + e.size > options_.batch_bytes) break;
      heads.pop();
      blob.insert(blob.end(), la.blob.begin() + static_cast<ptrdiff_t>(e.offset),
                  la.blob.begin() + static_cast<ptrdiff_t>(e.offset + e.size));
      batch.entries++;
      batch.bytes += e.size;
      sent_upto_[feed] = e.seq;
      runs[feed] = e.seq;
      NCEN_ASSIGN_OR_RETURN(const storage::RunEntry* next, NextToSend(feed, e.seq, upto[&feed], read_bytes));
      if (next) heads.push({next->timestamp_ms, &feed});
    }
    if (batch.entries == 0) break;
    batch.runs.assign(runs.begin(), runs.end());
    batch.number = next_batch_++;
    size_t words = blob.size() / sizeof(capnp::word) + 64;
    if (batch_segment_.size() < words) {
      batch_segment_ = kj::heapArray<capnp::word>(words);
      std::memset(batch_segment_.begin(), 0, words * sizeof(capnp::word));
    }
    Bytes message;
    if (!spare_messages_.empty()) {
      message = std::move(spare_messages_.back());
      spare_messages_.pop_back();
    }
    {
      // Capnp zeroes a caller's first segment again when the builder ends.
      capnp::MallocMessageBuilder builder(batch_segment_.asPtr());
      auto b = builder.initRoot<wire::Message>().initBatch();
      b.setNumber(batch.number);
      b.setCount(static_cast<uint32_t>(batch.entries));
      b.setEntries(capnp::Data::Reader(blob.data(), blob.size()));
      FlattenInto(builder, message);
    }
    Queue(std::move(message), now_ms);
    progress_.batches_sent++;
    inflight_.push_back(std::move(batch));
  }
  return Status::Ok();
}

void Session::SendHeads(int64_t now_ms) {
  std::vector<std::pair<FeedId, Known>> changed;
  for (auto& [feed, known] : ours_) {
    if (!MayReceive(feed)) continue;
    // Also when the peer holds as much: it may be sending us these entries
    // (over a slow link) while they reached us by another path — tell it to
    // stop (found by tests/sim, seed 414).
    uint64_t& adv = advertised_[feed];
    if (known.seq > adv) {
      changed.emplace_back(feed, known);
      adv = known.seq;
    }
  }
  if (changed.empty()) return;
  capnp::MallocMessageBuilder builder;
  auto list = builder.initRoot<wire::Message>().initHeads().initFrontier(static_cast<unsigned>(changed.size()));
  for (size_t i = 0; i < changed.size(); ++i) {
    WriteHead(list[static_cast<unsigned>(i)], changed[i].first, changed[i].second.seq,
              changed[i].second.head);
  }
  Queue(Flatten(builder), now_ms);
}

void Session::OnTick(int64_t now_ms) {
  if (failed_ || !started_) return;
  if (now_ms - last_received_ms_ > options_.idle_timeout_ms) {
    return Fail(Unavailable("nothing received from " + peer_.name + " for " +
                            std::to_string(options_.idle_timeout_ms) + " ms"),
                true, now_ms);
  }
  if (progress_.hello_received && now_ms - last_refresh_ms_ >= options_.poll_ms) {
    if (Status s = RefreshFrontier(now_ms); !s.ok()) return Fail(s, true, now_ms);
    if (Status s = CheckForksFoundElsewhere(store_, peer_scopes_, forked_); !s.ok()) {
      return Fail(s, true, now_ms);
    }
    SendHeads(now_ms);
    if (Status s = Pump(now_ms); !s.ok()) return Fail(s, true, now_ms);
  }
  if (now_ms - last_sent_ms_ >= options_.keepalive_ms) {
    capnp::MallocMessageBuilder builder;
    builder.initRoot<wire::Message>().setPing();
    Queue(Flatten(builder), now_ms);
  }
  UpdateProgress(now_ms);
}

void Session::UpdateProgress(int64_t now_ms) {
  if (!progress_.hello_received) return;
  uint64_t behind = 0, ahead = 0;
  for (auto& [feed, known] : ours_) {
    if (!MaySend(feed)) continue;
    auto it = peer_known_.find(feed);
    uint64_t theirs = it == peer_known_.end() ? 0 : it->second.seq;
    if (known.seq > theirs) behind += known.seq - theirs;
  }
  for (auto& [feed, theirs] : peer_known_) {
    if (forked_.count(feed)) continue;
    auto it = ours_.find(feed);
    uint64_t mine = it == ours_.end() ? 0 : it->second.seq;
    if (theirs.seq > mine) ahead += theirs.seq - mine;
  }
  progress_.behind = behind;
  progress_.ahead = ahead;
  bool caught_up = behind == 0 && ahead == 0 && inflight_.empty();
  if (caught_up) {
    if (!progress_.caught_up) {
      double seconds = static_cast<double>(now_ms - progress_.sync_started_ms) / 1000.0;
      char text[64];
      std::snprintf(text, sizeof text, "%.2f", seconds);
      log_.push_back("in sync with " + peer_.name + ": sent " + std::to_string(progress_.entries_sent) +
                     ", received " + std::to_string(progress_.entries_received) + " entries in " +
                     text + " s");
    }
    progress_.last_sync_ms = now_ms;
  } else if (progress_.caught_up) {
    progress_.sync_started_ms = now_ms;
  }
  progress_.caught_up = caught_up;
}

}  // namespace ncen::replication
