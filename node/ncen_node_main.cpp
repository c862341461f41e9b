// ncen-node: runs one node's replication. See README "Running a node".
//
//   ncen-node --data DIR [--listen HOST:PORT]
//
// Logs one line per event to stderr. SIGINT/SIGTERM stop it cleanly; SIGHUP
// reloads the peers from DIR/ncen.toml.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "base/log.h"
#include "node/daemon.h"

int main(int argc, char** argv) {
  CLI::App app{"ncen-node — replicate one ncen node with its peers", "ncen-node"};
  ncen::node::DaemonOptions options;
  app.add_option("--data", options.data_dir, "the node's data directory")->required();
  app.add_option("--listen", options.listen_override, "HOST:PORT to listen on (overrides ncen.toml)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "ncen-node: %s\n", e.what());
    return 1;
  }
  ncen::log::SetProgram("ncen-node");
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
