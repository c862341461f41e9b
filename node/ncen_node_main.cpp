// ncen-node: runs one node's replication. See README "Running a node".
//
//   ncen-node --data DIR [--listen HOST:PORT] [--http-listen HOST:PORT]
//   ncen-node --data DIR --once [--timeout SECONDS]   sync with the peers it
//                                                     dials, then exit
//
// Logs one line per event to stderr. SIGINT/SIGTERM stop it cleanly; SIGHUP
// reloads the peers from DIR/ncen.toml.
#include <CLI/CLI.hpp>
#include <malloc.h>

#include <cstdio>

#include "base/log.h"
#include "node/daemon.h"

int main(int argc, char** argv) {
  CLI::App app{"ncen-node — replicate one ncen node with its peers", "ncen-node"};
  ncen::node::DaemonOptions options;
  app.add_option("--data", options.data_dir, "the node's data directory")->required();
  app.add_option("--listen", options.listen_override, "HOST:PORT to listen on (overrides ncen.toml)");
  app.add_option("--http-listen", options.http_listen_override,
                 "HOST:PORT to serve the HTTP API and web UI on (overrides http_listen in ncen.toml; docs/api.md)");
  app.add_flag("--once", options.once, "sync with every peer that has an address, then exit");
  app.add_option("--compress-level", options.compress_level,
                 "zstd level of what this node sends, 1 (fast, the default) to 19; 0: uncompressed")
      ->check(CLI::Range(0, 19));
  double once_timeout = 0;
  app.add_option("--timeout", once_timeout, "with --once: give up after SECONDS (exit 1)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "ncen-node: %s\n", e.what());
    return 1;
  }
  options.once_timeout_ms = static_cast<int64_t>(once_timeout * 1000);
  ncen::log::SetProgram("ncen-node");
  // Entry batches are megabytes: a fixed mmap threshold returns a freed one
  // to the system (glibc's adaptive threshold would keep them in the heap),
  // so resident memory follows what is in use; the hot batch buffers are
  // reused rather than freed. Below 2 MiB — photo chunk messages (1 MiB) and
  // LMDB's overflow pages for chunks (260 kB) — blocks come from the heap
  // and are reused: mapped fresh, each cost page faults and zeroing, a third
  // of a photo transfer's system time (docs/performance.md, "Photos").
  mallopt(M_MMAP_THRESHOLD, 2 << 20);
  mallopt(M_TRIM_THRESHOLD, 16 << 20);
  auto daemon = ncen::node::Daemon::Create(options);
  if (!daemon.ok()) {
    std::fprintf(stderr, "ncen-node: %s\n", daemon.status().ToString().c_str());
    return 1;
  }
  daemon.value()->HandleSignals();
  ncen::Status status = daemon.value()->Run();
  if (!status.ok()) {
    std::fprintf(stderr, "ncen-node: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
