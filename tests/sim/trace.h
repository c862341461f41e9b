// The simulator's event trace: every event is one short line; a ring buffer
// keeps the last kTraceKept for the failure report, and with `echo` each line
// is also printed as it happens (ncen-sim --trace). Also a decoder that names
// a protocol message for the trace. Internal to tests/sim; one thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"

namespace ncen::sim {

inline constexpr size_t kTraceKept = 50;

class Trace {
 public:
  explicit Trace(bool echo) : echo_(echo) {}
  // keep=false: echoed but not kept (keep-alive pings would crowd the tail).
  void Add(int64_t now_ms, std::string_view text, bool keep = true);
  // The kept lines, oldest first.
  std::vector<std::string> Tail() const;

 private:
  bool echo_;
  std::array<std::string, kTraceKept> ring_;
  uint64_t added_ = 0;
};

enum class MessageKind {
  kHello, kBatch, kAck, kHeads, kPing, kError, kUndecodable, kEvidence, kBlobWant, kBlobData, kBlobLack
};

struct MessageInfo {
  MessageKind kind = MessageKind::kUndecodable;
  uint64_t number = 0;  // batch or ack number; blob data: its first chunk
  uint64_t count = 0;   // entries in a batch, heads in a hello or heads message, ranges or items of a
                        // blob want or lack, chunk bytes of blob data
  std::array<uint8_t, 32> blob{};  // blob data: the blob's hash
};

// Names a protocol message; kUndecodable when it does not decode.
MessageInfo DescribeMessage(ByteView message);
std::string MessageText(const MessageInfo& info, size_t bytes);

}  // namespace ncen::sim
