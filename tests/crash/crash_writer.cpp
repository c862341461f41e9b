// crash_writer DIR: adds seizures to the node in DIR one durable commit at a
// time, printing each record id on stdout after its commit returned. The
// crash test kills it with SIGKILL at random moments. Stops by itself after
// 100,000 records.
#include <cstdio>

#include "node/node_dir.h"
#include "storage/record_json.h"

int main(int argc, char** argv) {
  using namespace ncen;
  if (argc != 2) {
    std::fprintf(stderr, "usage: crash_writer DIR\n");
    return 1;
  }
  auto node = node::OpenNodeDir(argv[1]);
  if (!node.ok()) {
    std::fprintf(stderr, "crash_writer: %s\n", node.status().message().c_str());
    return 2;
  }
  for (int i = 0; i < 100000; ++i) {
    nlohmann::ordered_json j = {
        {"date", "2026-11-02"}, {"country", "PK"}, {"office", "PKTKM"},
        {"goods", {{{"category", "drugs"}, {"quantity", 1 + i}, {"unit", "kg"}}}}};
    auto payload = storage::RecordFromJson(storage::RecordType::kSeizure, j);
    storage::LocalChange c{storage::NewRecordId(storage::UnixMillisNow()),
                           storage::RecordType::kSeizure, storage::Op::kPut, std::move(payload).value()};
    auto r = node->store->AppendLocal(node->identity, {&c, 1});
    if (!r.ok()) {
      std::fprintf(stderr, "crash_writer: %s\n", r.status().message().c_str());
      return 2;
    }
    std::printf("%s\n", storage::FormatRecordId(c.id).c_str());
    std::fflush(stdout);
  }
  return 0;
}
