// ncenctl user: the officer accounts of this node's HTTP API (node/http/accounts.h,
// docs/api.md "Accounts"). A password is never an argument (it would sit in
// the shell's history and in `ps`): it is asked for on the terminal, twice,
// without echo, or read as one line from standard input when that is not a
// terminal.
#include <fmt/format.h>
#include <termios.h>
#include <unistd.h>

#include <iostream>

#include "base/clock.h"
#include "base/log.h"
#include "node/http/accounts.h"
#include "node/node_dir.h"
#include "tools/ncenctl/commands.h"
#include "tools/ncenctl/output.h"

namespace ncen::ctl {

namespace {

// One line from the terminal with echo off.
Result<std::string> PromptHidden(const std::string& prompt) {
  std::cerr << prompt << std::flush;
  termios old {};
  bool tty = tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  bool got = static_cast<bool>(std::getline(std::cin, line));
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    std::cerr << "\n";
  }
  if (!got) return InvalidArgument("no password given (standard input ended)");
  return line;
}

Result<std::string> ReadNewPassword() {
  if (!isatty(STDIN_FILENO)) {
    std::string line;
    if (!std::getline(std::cin, line)) return InvalidArgument("no password on standard input (one line)");
    if (!line.empty() && line.back() == '\r') line.pop_back();
    NCEN_RETURN_IF_ERROR(node::ValidatePassword(line));
    return line;
  }
  NCEN_ASSIGN_OR_RETURN(std::string first, PromptHidden("new password: "));
  NCEN_RETURN_IF_ERROR(node::ValidatePassword(first));
  NCEN_ASSIGN_OR_RETURN(std::string second, PromptHidden("again: "));
  if (first != second) return InvalidArgument("the two passwords differ; nothing changed");
  return first;
}

// The node must exist (a typo in --data must not make a users file in a
// new directory).
Status CheckNode(const Globals& g) { return node::OpenNodeDir(g.data_dir, {}).status(); }

json UserJson(const node::User& u) {
  return {{"name", u.name},
          {"role", node::RoleName(u.role)},
          {"disabled", u.disabled},
          {"created", TimeOrNull(u.created_ms)},
          {"changed", TimeOrNull(u.changed_ms)}};
}

}  // namespace

Status UserAdd(const Globals& g, const std::string& name, const std::string& role_name) {
  NCEN_RETURN_IF_ERROR(node::ValidateUserName(name));
  auto role = node::ParseRole(role_name);
  if (!role) return InvalidArgument("--role is officer, analyst or admin, not '" + role_name + "'");
  NCEN_RETURN_IF_ERROR(CheckNode(g));
  NCEN_ASSIGN_OR_RETURN(auto existing, node::LoadUsers(g.data_dir));
  for (const auto& u : existing) {
    if (u.name == name) return ConflictError("user '" + name + "' exists already (ncenctl user passwd to change the password)");
  }
  NCEN_ASSIGN_OR_RETURN(std::string password, ReadNewPassword());
  NCEN_ASSIGN_OR_RETURN(std::string hash, node::HashPassword(password));
  SystemClock clock;
  node::User added;
  NCEN_RETURN_IF_ERROR(node::EditUsers(g.data_dir, [&](std::vector<node::User>& users) -> Status {
    for (const auto& u : users) {
      if (u.name == name) return ConflictError("user '" + name + "' exists already");
    }
    added = node::User{name, *role, hash, false, clock.NowMs(), clock.NowMs()};
    users.push_back(added);
    return Status::Ok();
  }));
  if (g.json) PrintJson(UserJson(added));
  else std::cout << "added " << name << " (" << node::RoleName(*role) << ")\n";
  return Status::Ok();
}

Status UserList(const Globals& g) {
  NCEN_RETURN_IF_ERROR(CheckNode(g));
  NCEN_ASSIGN_OR_RETURN(auto users, node::LoadUsers(g.data_dir));
  if (g.json) {
    json arr = json::array();
    for (const auto& u : users) arr.push_back(UserJson(u));
    PrintJson(arr);
    return Status::Ok();
  }
  if (users.empty()) {
    std::cout << "no users (add one with: ncenctl user add NAME --role officer)\n";
    return Status::Ok();
  }
  std::cout << fmt::format("{:<24}  {:<8}  {:<8}  {}\n", "NAME", "ROLE", "STATE", "CHANGED");
  for (const auto& u : users) {
    std::cout << fmt::format("{:<24}  {:<8}  {:<8}  {}\n", u.name, node::RoleName(u.role),
                             u.disabled ? "disabled" : "active", log::IsoTime(u.changed_ms));
  }
  return Status::Ok();
}

Status UserPasswd(const Globals& g, const std::string& name) {
  NCEN_RETURN_IF_ERROR(CheckNode(g));
  NCEN_ASSIGN_OR_RETURN(auto users, node::LoadUsers(g.data_dir));
  if (std::none_of(users.begin(), users.end(), [&](const auto& u) { return u.name == name; })) {
    return NotFound("no user '" + name + "' (ncenctl user list)");
  }
  NCEN_ASSIGN_OR_RETURN(std::string password, ReadNewPassword());
  NCEN_ASSIGN_OR_RETURN(std::string hash, node::HashPassword(password));
  SystemClock clock;
  NCEN_RETURN_IF_ERROR(node::EditUsers(g.data_dir, [&](std::vector<node::User>& all) -> Status {
    for (auto& u : all) {
      if (u.name != name) continue;
      u.password_hash = hash;
      u.changed_ms = clock.NowMs();
      return Status::Ok();
    }
    return NotFound("no user '" + name + "'");
  }));
  if (g.json) PrintJson({{"name", name}, {"changed", true}});
  else std::cout << "password of " << name << " changed; their sessions are ended\n";
  return Status::Ok();
}

Status UserDisable(const Globals& g, const std::string& name, bool disabled) {
  NCEN_RETURN_IF_ERROR(CheckNode(g));
  SystemClock clock;
  node::User changed;
  NCEN_RETURN_IF_ERROR(node::EditUsers(g.data_dir, [&](std::vector<node::User>& all) -> Status {
    for (auto& u : all) {
      if (u.name != name) continue;
      u.disabled = disabled;
      u.changed_ms = clock.NowMs();
      changed = u;
      return Status::Ok();
    }
    return NotFound("no user '" + name + "' (ncenctl user list)");
  }));
  if (g.json) PrintJson(UserJson(changed));
  else std::cout << name << (disabled ? " disabled; their sessions are ended\n" : " enabled\n");
  return Status::Ok();
}

}  // namespace ncen::ctl
