// ncenctl: the officer's and administrator's command line for an ncen node.
// See README.md ("The CLI") for every command.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "tools/ncenctl/commands.h"

namespace {

std::string DefaultDataDir() {
  const char* env = std::getenv("NCEN_DATA");
  return env && *env ? env : "./ncen-data";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ncen;
  ctl::Globals g;
  g.data_dir = DefaultDataDir();

  CLI::App app{"ncenctl — records and replication status of an ncen node", "ncenctl"};
  app.fallthrough();  // global options may follow the command too
  app.require_subcommand(1);
  app.add_option("--data", g.data_dir, "node data directory (default $NCEN_DATA, else ./ncen-data)");
  app.add_flag("--json", g.json, "machine-readable JSON on stdout");

  Status result;
  auto run = [&](auto fn) { return [&, fn] { result = fn(); }; };

  std::string name, role = "post", listen, network_id = "ncen";
  auto* init =
      app.add_subcommand("init", "create a node: data directory, identity, store and ncen.toml");
  init->add_option("--name", name, "the office's name, e.g. 'Torkham border post'")->required();
  init->add_option("--role", role, "post, hub or regional")
      ->check(CLI::IsMember({"post", "hub", "regional"}));
  init->add_option("--listen", listen,
                   "HOST:PORT to accept peers on; port 0: any free one (default: do not listen)");
  init->add_option("--network", network_id, "network id, the same on every node (default ncen)");
  init->callback(run([&] { return ctl::Init(g, name, role, listen, network_id); }));

  app.add_subcommand("id", "print this node's id (64 hex digits; fingerprint and name on stderr)")
      ->callback(run([&] { return ctl::Id(g); }));

  std::string file;
  for (const char* type : {"seizure", "suspect", "company"}) {
    auto* group = app.add_subcommand(type, std::string("work with ") + type + " records");
    group->require_subcommand(1);
    auto* add = group->add_subcommand("add", std::string("validate and store a new ") + type);
    add->add_option("--json", file, "JSON file, or - for standard input")->required();
    std::string t = type;
    add->callback(run([&, t] { return ctl::Add(g, t, file); }));
  }

  auto* import = app.add_subcommand("import", "bulk-load records: a JSON array or one JSON object per line");
  import->add_option("--json", file, "JSON file, or - for standard input")->required();
  import->callback(run([&] { return ctl::Import(g, file); }));

  std::string id;
  auto* get = app.add_subcommand("get", "show a record (every version when in conflict)");
  get->add_option("ID", id, "record id")->required();
  get->callback(run([&] { return ctl::Get(g, id); }));

  std::string type;
  size_t limit = 50;
  auto* list = app.add_subcommand("list", "list records, newest first");
  list->add_option("--type", type, "seizure, suspect or company")->check(CLI::IsMember({"seizure", "suspect", "company"}));
  list->add_option("--limit", limit, "at most this many (default 50)");
  list->callback(run([&] { return ctl::List(g, type, limit); }));

  for (bool resolve : {false, true}) {
    auto* cmd = app.add_subcommand(resolve ? "resolve" : "update",
                                   resolve ? "settle a conflict: write the version that replaces every sibling"
                                           : "replace a record with a new full version");
    cmd->add_option("ID", id, "record id")->required();
    cmd->add_option("--json", file, "JSON file, or - for standard input")->required();
    cmd->callback(run([&, resolve] { return ctl::Update(g, id, file, resolve); }));
  }

  auto* del = app.add_subcommand("delete", "delete a record (a tombstone version)");
  del->add_option("ID", id, "record id")->required();
  del->callback(run([&] { return ctl::Delete(g, id); }));

  std::string suspect, company;
  auto* link = app.add_subcommand("link", "link a seizure to a suspect or a company");
  link->add_option("SEIZURE_ID", id, "seizure record id")->required();
  auto* s_opt = link->add_option("--suspect", suspect, "suspect record id");
  auto* c_opt = link->add_option("--company", company, "company record id");
  s_opt->excludes(c_opt);
  link->callback(run([&] { return ctl::Link(g, id, suspect, company); }));

  std::string query, from, to;
  size_t search_limit = 100;
  auto* search = app.add_subcommand("search", "find records by document number, name, company id, commodity or date");
  search->add_option("QUERY", query, "what to look for (may be empty with --from/--to)");
  search->add_option("--type", type, "seizure, suspect or company")->check(CLI::IsMember({"seizure", "suspect", "company"}));
  search->add_option("--from", from, "seizures on or after YYYY-MM-DD");
  search->add_option("--to", to, "seizures on or before YYYY-MM-DD");
  search->add_option("--limit", search_limit, "at most this many (default 100)");
  search->callback(run([&] { return ctl::Search(g, query, type, from, to, search_limit); }));

  auto* log = app.add_subcommand("log", "the change log");
  log->require_subcommand(1);
  log->add_subcommand("verify", "re-verify every chain, signature and the derived state")
      ->callback(run([&] { return ctl::LogVerify(g); }));

  app.add_subcommand("conflicts", "records with more than one version")
      ->callback(run([&] { return ctl::Conflicts(g); }));
  ctl::StatusOptions status_options;
  auto* status =
      app.add_subcommand("status", "this node: identity, entries, records, feeds, digests, peers");
  status->add_flag("--wait-synced", status_options.wait_synced,
                   "first wait until ncen-node reports every configured peer connected and in sync "
                   "(exit 1 at the timeout)");
  status->add_option("--timeout", status_options.timeout_s,
                     "seconds --wait-synced waits (default 60)");
  status->callback(run([&] { return ctl::StatusCommand(g, status_options); }));

  std::string peer_id, address, scopes;
  auto* peers = app.add_subcommand("peers", "the peers in ncen.toml");
  peers->require_subcommand(1);
  auto* peers_add =
      peers->add_subcommand("add", "add a peer (it may then connect, and we may dial it)");
  peers_add->add_option("--name", name, "a unique name: letters, digits, . _ -")->required();
  peers_add->add_option("--id", peer_id, "its node id, 64 hex digits (its `ncenctl id`)")
      ->required();
  peers_add->add_option("--address", address, "HOST:PORT to dial it (default: it dials us)");
  auto* scopes_opt = peers_add->add_option(
      "--scopes", scopes, "scopes it may receive, e.g. national,regional (default all three)");
  peers_add->callback(run([&] {
    return ctl::PeersAdd(g, name, peer_id, address,
                         scopes_opt->count() ? std::optional<std::string>(scopes) : std::nullopt);
  }));
  peers->add_subcommand("list", "list the configured peers")->callback(run([&] {
    return ctl::PeersList(g);
  }));
  auto* peers_remove = peers->add_subcommand("remove", "remove a peer");
  peers_remove->add_option("NAME", name, "the peer's name")->required();
  peers_remove->callback(run([&] { return ctl::PeersRemove(g, name); }));

  std::string setting, value;
  auto* config = app.add_subcommand("config", "this node's settings in ncen.toml");
  config->require_subcommand(1);
  config->add_subcommand("show", "listen address and network id")->callback(run([&] {
    return ctl::ConfigShow(g);
  }));
  auto* config_set =
      config->add_subcommand("set", "set listen HOST:PORT (\"\" stops listening) or network ID");
  config_set->add_option("KEY", setting, "listen or network")->required();
  config_set->add_option("VALUE", value, "the new value")->required();
  config_set->callback(run([&] { return ctl::ConfigSet(g, setting, value); }));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    // Name a mistyped command instead of "A subcommand is required".
    CLI::App* at = &app;
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg == "--data") {
        ++i;
        continue;
      }
      if (arg.rfind("-", 0) == 0) continue;
      CLI::App* sub = nullptr;
      try {
        sub = at->get_subcommand(arg);
      } catch (const CLI::OptionNotFound&) {
      }
      if (!sub) {
        if (at->get_subcommands({}).empty()) break;  // a positional argument
        what = "unknown command '" + arg + "'";
        break;
      }
      at = sub;
    }
    if (what.rfind("A subcommand is required", 0) == 0) {
      std::string names;
      for (const CLI::App* sub : at->get_subcommands({})) names += (names.empty() ? "" : ", ") + sub->get_name();
      what = (at == &app ? std::string("a command is needed") : "'" + at->get_name() + "' needs a command") +
             ": " + names;
    }
    if (what.empty()) what = "invalid command line";
    std::fprintf(stderr, "ncenctl: %s (see ncenctl --help)\n", what.c_str());
    return 1;
  }
  if (!result.ok()) {
    std::fprintf(stderr, "ncenctl: %s\n", result.message().c_str());
    return ctl::ExitCodeFor(result);
  }
  return 0;
}
