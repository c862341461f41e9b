// ncen-bench messages: messages between offices (docs/messages.md).
//
//   send    a national hub sends `Messages::Send --country` to a country of
//           --offices posts: the recipients read from the network's
//           certificates, the key sealed to each (and to the sender), the
//           content encrypted, the entry signed and stored durably. The
//           network is real: a root, a country authority and --offices
//           certificates, taken by the hub as network entries.
//   inbox   a post whose mailbox holds --inbox messages (real sealed
//           messages from its hub, opened once by CatchUp, which is timed
//           too), one in ten an alert, all unread: `Messages::Inbox(unread,
//           50)` — the newest 50, alerts first, each opened again to show
//           its subject.
#include "tools/ncen-bench/message_bench.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/check.h"
#include "crypto/seal.h"
#include "node/messages.h"
#include "storage/membership.h"
#include "storage/message_format.h"
#include "tools/ncen-bench/temp_store.h"

namespace ncen::bench {
namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::ordered_json;
using storage::MemberKind;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::vector<storage::Entry> FeedEntries(const storage::Store& store, const crypto::PublicKey& author,
                                        storage::Scope scope) {
  std::vector<storage::Entry> out;
  storage::FeedId feed{author, scope};
  storage::FeedId feeds[1] = {feed};
  uint64_t head = store.FeedHeads(feeds).value()[0].seq;
  for (uint64_t seq = 1; seq <= head; ++seq) out.push_back(store.GetEntry(feed, seq).value());
  return out;
}

Bytes Cert(MemberKind kind, const crypto::PublicKey& subject, const std::string& country, const std::string& name) {
  storage::Certificate c;
  c.kind = kind;
  c.subject = subject;
  c.country = country;
  c.name = name;
  return storage::EncodeCertificate(c);
}

struct SendResult {
  std::vector<double> ms;
  size_t recipients = 0;
  size_t payload_bytes = 0;
};

SendResult SendBench(uint64_t offices, int runs) {
  TempStore root(false, "root", "authority"), authority(false, "authority", "authority");
  TempStore hub(true, "hub", "hub");
  NCEN_CHECK(root.store->SetNetworkRoot(root.identity.public_key()).ok());
  NCEN_CHECK(root.store->AppendNetworkEntry(root.identity, storage::RecordType::kCertificate,
                                            Cert(MemberKind::kCountryAuthority, authority.identity.public_key(), "PK",
                                                 "Customs PK"))
                 .ok());
  // The authority holds its own certificate before it certifies.
  NCEN_CHECK(authority.store->SetNetworkRoot(root.identity.public_key()).ok());
  NCEN_CHECK(authority.store
                 ->ApplyBatch(FeedEntries(*root.store, root.identity.public_key(), storage::Scope::kNetwork))
                 .status.ok());
  NCEN_CHECK(authority.store->AppendNetworkEntry(
                 authority.identity, storage::RecordType::kCertificate,
                 Cert(MemberKind::kNationalHub, hub.identity.public_key(), "PK", "PK hub"))
                 .ok());
  for (uint64_t i = 0; i < offices; ++i) {
    crypto::Identity post = crypto::Identity::Generate();
    NCEN_CHECK(authority.store
                   ->AppendNetworkEntry(authority.identity, storage::RecordType::kCertificate,
                                        Cert(MemberKind::kPost, post.public_key(), "PK", "post " + std::to_string(i)))
                   .ok());
  }
  std::vector<storage::Entry> entries =
      FeedEntries(*root.store, root.identity.public_key(), storage::Scope::kNetwork);
  for (auto& e : FeedEntries(*authority.store, authority.identity.public_key(), storage::Scope::kNetwork)) {
    entries.push_back(std::move(e));
  }
  NCEN_CHECK(hub.store->SetNetworkRoot(root.identity.public_key()).ok());
  NCEN_CHECK(hub.store->ApplyBatch(entries).status.ok());
  node::Messages messages(*hub.store, hub.identity);
  node::MessageDraft draft;
  draft.to.country = "PK";
  draft.subject = "Alert: white Volvo truck, plates KAB-123, concealment in the fuel tank";
  draft.body = std::string(2000, 'b');
  draft.priority = storage::MessagePriority::kAlert;
  SendResult r;
  for (int i = 0; i < runs + 1; ++i) {
    auto start = Clock::now();
    auto sent = messages.Send(draft);
    double ms = Ms(Clock::now() - start);
    NCEN_CHECK(sent.ok());
    r.recipients = sent->recipients;
    if (i == 0) {
      // The first send derives the membership and its cache; measured apart.
      r.payload_bytes = hub.store->GetRecord(sent->id).value().payloads[0].size();
      continue;
    }
    r.ms.push_back(ms);
  }
  return r;
}

struct InboxResult {
  std::vector<double> ms;
  double catch_up_s = 0;
  size_t listed = 0;
};

InboxResult InboxBench(uint64_t count, int runs) {
  TempStore hub(false, "hub", "hub"), post(false, "post", "post");
  // Sealed the way Messages::Send seals, written in batches of 1,000.
  std::vector<crypto::PublicKey> to = {post.identity.public_key(), hub.identity.public_key()};
  int64_t t0 = storage::UnixMillisNow() - static_cast<int64_t>(count);
  for (uint64_t done = 0; done < count;) {
    std::vector<storage::LocalChange> changes;
    for (; done < count && changes.size() < 1000; ++done) {
      storage::MessageContent c;
      c.subject = "message " + std::to_string(done);
      c.body = "about truck KAB-123";
      c.priority = done % 10 == 0 ? storage::MessagePriority::kAlert : storage::MessagePriority::kNormal;
      c.to = "node post";
      c.recipients = 1;
      c.sent_at_ms = t0 + static_cast<int64_t>(done);
      storage::RecordId id = storage::NewRecordId(c.sent_at_ms);
      crypto::ContentKey key = crypto::NewContentKey();
      storage::SealedMessage sealed;
      sealed.keys = crypto::SealKey(key, to).value();
      sealed.content = crypto::SealContent(key, storage::EncodeMessageContent(c),
                                           node::MessageAssociatedData(hub.identity.public_key(), id));
      changes.push_back({id, storage::RecordType::kMessage, storage::Op::kPut, storage::EncodeSealedMessage(sealed)});
    }
    NCEN_CHECK(hub.store->AppendLocal(hub.identity, changes).ok());
  }
  auto entries = FeedEntries(*hub.store, hub.identity.public_key(), storage::Scope::kNational);
  for (size_t at = 0; at < entries.size(); at += 5000) {
    std::vector<storage::Entry> part(entries.begin() + static_cast<ptrdiff_t>(at),
                                     entries.begin() + static_cast<ptrdiff_t>(std::min(entries.size(), at + 5000)));
    NCEN_CHECK(post.store->ApplyBatch(part).status.ok());
  }
  node::Messages messages(*post.store, post.identity);
  auto start = Clock::now();
  NCEN_CHECK(messages.CatchUp().value() == count);
  InboxResult r;
  r.catch_up_s = Ms(Clock::now() - start) / 1000;
  for (int i = 0; i < runs + 1; ++i) {
    auto begin = Clock::now();
    auto items = messages.Inbox(true, 50);
    double ms = Ms(Clock::now() - begin);
    NCEN_CHECK(items.ok());
    r.listed = items->size();
    if (i > 0) r.ms.push_back(ms);  // the first warms the page cache
  }
  return r;
}

}  // namespace

int MessageBench(const MessageBenchArgs& args) {
  SendResult send = SendBench(args.offices, args.runs);
  InboxResult inbox = InboxBench(args.inbox, args.runs);
  double send_worst = *std::max_element(send.ms.begin(), send.ms.end());
  double inbox_worst = *std::max_element(inbox.ms.begin(), inbox.ms.end());
  if (args.json) {
    json out = {{"recipients", send.recipients},         {"send_median_ms", Median(send.ms)},
                {"send_worst_ms", send_worst},           {"payload_bytes", send.payload_bytes},
                {"inbox_messages", args.inbox},          {"catch_up_s", inbox.catch_up_s},
                {"inbox_newest_50_unread_median_ms", Median(inbox.ms)}, {"inbox_worst_ms", inbox_worst}};
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("messages (docs/messages.md)\n");
  std::printf("  send to a country of %zu offices   %6.1f ms median, %.1f ms worst of %d (sealed %zu times; %zu-byte entry; "
              "durable)\n",
              send.recipients, Median(send.ms), send_worst, args.runs, send.recipients + 1, send.payload_bytes);
  std::printf("  inbox of %llu: newest 50 unread    %6.2f ms median, %.2f ms worst of %d (%zu listed, each opened)\n",
              static_cast<unsigned long long>(args.inbox), Median(inbox.ms), inbox_worst, args.runs, inbox.listed);
  std::printf("  first look at those %llu messages  %6.1f s (CatchUp: one X25519 and a slot search each)\n",
              static_cast<unsigned long long>(args.inbox), inbox.catch_up_s);
  return 0;
}

}  // namespace ncen::bench
