// ncen-bench messages (see message_bench.cpp).
#pragma once

#include <cstdint>

namespace ncen::bench {

struct MessageBenchArgs {
  uint64_t offices = 2000;     // posts of the country a message goes to
  uint64_t inbox = 100000;     // messages in the inbox that is listed
  int runs = 20;               // sends and listings measured, the median reported
  bool json = false;
};

int MessageBench(const MessageBenchArgs& args);

}  // namespace ncen::bench
