#include "tests/sim/trace.h"

#include <capnp/serialize.h>
#include <fmt/format.h>
#include <kj/exception.h>

#include <cstdio>

#include "replication/schema/wire.capnp.h"

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
  if (message.empty() || message.size() % sizeof(capnp::word) != 0 ||
      reinterpret_cast<uintptr_t>(message.data()) % alignof(capnp::word) != 0) {
    return info;
  }
  kj::ArrayPtr<const capnp::word> words(reinterpret_cast<const capnp::word*>(message.data()),
                                        message.size() / sizeof(capnp::word));
  try {
    capnp::FlatArrayMessageReader reader(words);
    auto m = reader.getRoot<replication::wire::Message>();
    switch (m.which()) {
      case replication::wire::Message::HELLO:
        info.kind = MessageKind::kHello;
        info.count = m.getHello().getFrontier().size();
        break;
      case replication::wire::Message::BATCH:
        info.kind = MessageKind::kBatch;
        info.number = m.getBatch().getNumber();
        info.count = m.getBatch().getCount();
        break;
      case replication::wire::Message::ACK:
        info.kind = MessageKind::kAck;
        info.number = m.getAck().getNumber();
        break;
      case replication::wire::Message::HEADS:
        info.kind = MessageKind::kHeads;
        info.count = m.getHeads().getFrontier().size();
        break;
      case replication::wire::Message::PING:
        info.kind = MessageKind::kPing;
        break;
      case replication::wire::Message::ERROR:
        info.kind = MessageKind::kError;
        break;
    }
  } catch (const kj::Exception&) {
    info.kind = MessageKind::kUndecodable;
  }
  return info;
}

std::string MessageText(const MessageInfo& info, size_t bytes) {
  switch (info.kind) {
    case MessageKind::kHello: return fmt::format("hello({} heads)", info.count);
    case MessageKind::kBatch:
      return fmt::format("batch#{}({} entries, {} B)", info.number, info.count, bytes);
    case MessageKind::kAck: return fmt::format("ack#{}", info.number);
    case MessageKind::kHeads: return fmt::format("heads({})", info.count);
    case MessageKind::kPing: return "ping";
    case MessageKind::kError: return "error";
    case MessageKind::kUndecodable: break;
  }
  return fmt::format("undecodable({} B)", bytes);
}

}  // namespace ncen::sim
