#include "node/http/accounts.h"

#include <sodium.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/clock.h"
#include "node/durable_file.h"

namespace ncen::node {

using json = nlohmann::ordered_json;

const char* RoleName(Role role) {
  switch (role) {
    case Role::kOfficer: return "officer";
    case Role::kAnalyst: return "analyst";
    case Role::kAdmin: return "admin";
  }
  return "officer";
}

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "officer") return Role::kOfficer;
  if (name == "analyst") return Role::kAnalyst;
  if (name == "admin") return Role::kAdmin;
  return std::nullopt;
}

Status ValidateUserName(std::string_view name) {
  if (name.empty() || name.size() > 64) return InvalidArgument("a user name is 1 to 64 characters");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    if (!ok) return InvalidArgument("a user name holds only letters, digits, '.', '_' and '-'");
  }
  return Status::Ok();
}

Status ValidatePassword(std::string_view password) {
  if (password.size() < kPasswordBytesMin) {
    return InvalidArgument("a password is at least " + std::to_string(kPasswordBytesMin) + " characters");
  }
  if (password.size() > kPasswordBytesMax) {
    return InvalidArgument("a password is at most " + std::to_string(kPasswordBytesMax) + " bytes");
  }
  for (char c : password) {
    if (c == '\0' || c == '\n' || c == '\r') return InvalidArgument("a password holds no NUL or line break");
  }
  return Status::Ok();
}

Result<std::string> HashPassword(std::string_view password) {
  NCEN_RETURN_IF_ERROR(ValidatePassword(password));
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return IOError("crypto_pwhash_str failed (out of memory?)");
  }
  return std::string(out);
}

bool CheckPassword(const std::string& hash, std::string_view password) {
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES || password.size() > kPasswordBytesMax) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

namespace {

std::string UsersPath(const std::string& dir) { return dir + "/" + kUsersFileName; }

Result<std::vector<User>> ParseUsers(const std::string& text, const std::string& where) {
  auto bad = [&](const std::string& why) { return Corruption(where + ": " + why); };
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  if (!j.contains("version") || j["version"] != 1) return bad("unknown version (this ncen reads version 1)");
  if (!j.contains("users") || !j["users"].is_array()) return bad("no \"users\" array");
  std::vector<User> out;
  for (const auto& u : j["users"]) {
    if (!u.is_object()) return bad("a user is not an object");
    User user;
    try {
      user.name = u.at("name").get<std::string>();
      auto role = ParseRole(u.at("role").get<std::string>());
      if (!role) return bad("user '" + user.name + "' has an unknown role");
      user.role = *role;
      user.password_hash = u.at("password").get<std::string>();
      user.disabled = u.value("disabled", false);
      user.created_ms = u.value("created_ms", int64_t{0});
      user.changed_ms = u.value("changed_ms", int64_t{0});
    } catch (const json::exception& e) {
      return bad(std::string("a user entry is malformed: ") + e.what());
    }
    if (!ValidateUserName(user.name).ok()) return bad("a user name is not valid");
    out.push_back(std::move(user));
  }
  return out;
}

std::string FormatUsers(const std::vector<User>& users) {
  json arr = json::array();
  for (const auto& u : users) {
    arr.push_back({{"name", u.name},
                   {"role", RoleName(u.role)},
                   {"password", u.password_hash},
                   {"disabled", u.disabled},
                   {"created_ms", u.created_ms},
                   {"changed_ms", u.changed_ms}});
  }
  json j = {{"version", 1}, {"users", arr}};
  return j.dump(2) + "\n";
}

Result<std::optional<std::string>> ReadUsersFile(const std::string& dir) {
  std::ifstream in(UsersPath(dir), std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::optional<std::string>{};
    return IOError("cannot read " + UsersPath(dir) + ": " + std::strerror(errno));
  }
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > kUsersFileBytesMax) return Corruption(UsersPath(dir) + " is larger than 4 MiB");
  }
  return std::optional<std::string>(std::move(text));
}

}  // namespace

Result<std::vector<User>> LoadUsers(const std::string& dir) {
  NCEN_ASSIGN_OR_RETURN(auto text, ReadUsersFile(dir));
  if (!text) return std::vector<User>{};
  return ParseUsers(*text, UsersPath(dir));
}

Status EditUsers(const std::string& dir, const std::function<Status(std::vector<User>&)>& edit) {
  NCEN_ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(dir + "/" + kUsersLockFileName));
  NCEN_ASSIGN_OR_RETURN(std::vector<User> users, LoadUsers(dir));
  NCEN_RETURN_IF_ERROR(edit(users));
  return ReplaceFileAtomically(dir, kUsersFileName, FormatUsers(users));
}

struct UserDirectory::Cache {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  struct timespec mtime {};
  Status status;
  std::vector<User> users;
};

std::shared_ptr<const UserDirectory::Cache> UserDirectory::Current() {
  struct stat st {};
  bool exists = ::stat(UsersPath(dir_).c_str(), &st) == 0;
  std::lock_guard<std::mutex> lock(mu_);
  if (cache_) {
    bool same = exists ? (cache_->size == st.st_size && cache_->ino == st.st_ino && cache_->dev == st.st_dev &&
                          cache_->mtime.tv_sec == st.st_mtim.tv_sec && cache_->mtime.tv_nsec == st.st_mtim.tv_nsec)
                       : cache_->size == -1;
    if (same) return cache_;
  }
  auto next = std::make_shared<Cache>();
  if (exists) {
    next->dev = st.st_dev;
    next->ino = st.st_ino;
    next->size = st.st_size;
    next->mtime = st.st_mtim;
  }
  auto users = LoadUsers(dir_);
  if (users.ok()) next->users = std::move(*users);
  else next->status = users.status();
  cache_ = next;
  return cache_;
}

Result<User> UserDirectory::Find(std::string_view name) {
  auto cache = Current();
  NCEN_RETURN_IF_ERROR(cache->status);
  for (const auto& u : cache->users) {
    if (u.name == name) return u;
  }
  return NotFound("no user '" + std::string(name) + "'");
}

}  // namespace ncen::node
