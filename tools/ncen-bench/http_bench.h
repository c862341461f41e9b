// ncen-bench http (see http_bench.cpp).
#pragma once

#include <cstdint>
#include <string>

namespace ncen::bench {

struct HttpBenchArgs {
  uint64_t records = 1000000;  // seizures the node holds
  uint64_t sync = 100000;      // entries the measured syncs bring
  int clients = 64;            // keep-alive connections
  double seconds = 10;         // of each load phase
  bool json = false;
};

int HttpBench(const HttpBenchArgs& args);

// ncen-bench ui-node: a node directory holding N generated seizures, indexed,
// for the web UI's search timing (tests/browser/search_timing.mjs). Prints
// {"dir", "records", "reference", "word"}: a reference with one hit and a
// word with many, to type into the search page.
struct UiNodeArgs {
  uint64_t records = 1000000;
  std::string out;  // must not exist
};
int UiNode(const UiNodeArgs& args);

}  // namespace ncen::bench
