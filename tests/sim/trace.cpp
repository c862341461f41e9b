#include "tests/sim/trace.h"

#include <fmt/format.h>

#include <cstdio>

#include "replication/protocol/messages.h"

namespace ncen::sim {

void Trace::Add(int64_t now_ms, std::string_view text, bool keep) {
  if (!keep && !echo_) return;
  std::string scratch;
  std::string& line = keep ? ring_[added_ % kTraceKept] : scratch;
  line.clear();
  fmt::format_to(std::back_inserter(line), "t={}.{:03d} {}", now_ms / 1000, now_ms % 1000, text);
  if (keep) ++added_;
  if (echo_) std::printf("%s\n", line.c_str());
}

std::vector<std::string> Trace::Tail() const {
  std::vector<std::string> out;
  uint64_t first = added_ > kTraceKept ? added_ - kTraceKept : 0;
  for (uint64_t i = first; i < added_; ++i) out.push_back(ring_[i % kTraceKept]);
  return out;
}

MessageInfo DescribeMessage(ByteView message) {
  MessageInfo info;
  auto decoded = replication::DecodeMessage(message);
  if (!decoded.ok()) return info;
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, replication::HelloMsg>) {
          info.kind = MessageKind::kHello;
          info.count = m.frontier.size();
        } else if constexpr (std::is_same_v<T, replication::BatchMsg>) {
          info.kind = MessageKind::kBatch;
          info.number = m.number;
          info.count = m.count;
        } else if constexpr (std::is_same_v<T, replication::AckMsg>) {
          info.kind = MessageKind::kAck;
          info.number = m.number;
          info.count = m.refused.size();
        } else if constexpr (std::is_same_v<T, replication::HeadsMsg>) {
          info.kind = MessageKind::kHeads;
          info.count = m.frontier.size();
        } else if constexpr (std::is_same_v<T, replication::PingMsg>) {
          info.kind = MessageKind::kPing;
        } else if constexpr (std::is_same_v<T, replication::ErrorMsg>) {
          info.kind = MessageKind::kError;
        } else if constexpr (std::is_same_v<T, replication::EvidenceMsg>) {
          info.kind = MessageKind::kEvidence;
          info.count = m.forks.size() + m.headers.size();
        } else if constexpr (std::is_same_v<T, replication::BlobWantMsg>) {
          info.kind = MessageKind::kBlobWant;
          info.count = m.ranges.size();
        } else if constexpr (std::is_same_v<T, replication::BlobDataMsg>) {
          info.kind = MessageKind::kBlobData;
          info.number = m.first;
          info.count = m.data.size();
          info.blob = m.hash;
        } else if constexpr (std::is_same_v<T, replication::BlobLackMsg>) {
          info.kind = MessageKind::kBlobLack;
          info.count = m.items.size();
        }
      },
      *decoded);
  return info;
}

std::string MessageText(const MessageInfo& info, size_t bytes) {
  switch (info.kind) {
    case MessageKind::kHello: return fmt::format("hello({} heads)", info.count);
    case MessageKind::kBatch:
      return fmt::format("batch#{}({} entries, {} B)", info.number, info.count, bytes);
    case MessageKind::kAck:
      return info.count ? fmt::format("ack#{}({} feeds refused)", info.number, info.count)
                        : fmt::format("ack#{}", info.number);
    case MessageKind::kEvidence: return fmt::format("evidence({})", info.count);
    case MessageKind::kHeads: return fmt::format("heads({})", info.count);
    case MessageKind::kPing: return "ping";
    case MessageKind::kError: return "error";
    case MessageKind::kBlobWant: return fmt::format("blob_want({} ranges)", info.count);
    case MessageKind::kBlobData:
      return fmt::format("blob_data({} from chunk {}, {} B)", ToHex(ByteView(info.blob.data(), 4)), info.number,
                         info.count);
    case MessageKind::kBlobLack: return fmt::format("blob_lack({})", info.count);
    case MessageKind::kUndecodable: break;
  }
  return fmt::format("undecodable({} B)", bytes);
}

}  // namespace ncen::sim
