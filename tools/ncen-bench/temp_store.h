// A store in a fresh temporary directory, removed with it: what the
// benchmarks fill and measure. Benchmarks only.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "crypto/identity.h"
#include "storage/store.h"

namespace ncen::bench {

struct TempStore {
  explicit TempStore(bool durable, const char* name = "bench", const char* role = "post") {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ncen-bench-XXXXXX").string();
    NCEN_CHECK(::mkdtemp(tmpl.data()));
    dir = tmpl;
    storage::NodeMeta meta{identity.public_key(), name, role, storage::UnixMillisNow()};
    storage::StoreOptions options;
    options.durable = durable;
    store = storage::Store::Create(dir, meta, options).value();
  }
  ~TempStore() {
    store.reset();
    std::filesystem::remove_all(dir);
  }
  TempStore(const TempStore&) = delete;
  TempStore& operator=(const TempStore&) = delete;

  crypto::Identity identity = crypto::Identity::Generate();
  std::string dir;
  std::unique_ptr<storage::Store> store;
};

}  // namespace ncen::bench
