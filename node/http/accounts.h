// Officer accounts local to one node (docs/api.md "Accounts"): DIR/users.json,
// never replicated. `ncenctl user` edits it; the HTTP API reads it to log
// officers in. Passwords are kept only as Argon2id strings (libsodium
// crypto_pwhash_str, its "interactive" limits), never in the clear.
//
// The file (mode 0600, replaced whole by rename under DIR/users.json.lock):
//
//   {"version": 1, "users": [
//     {"name": "amina", "role": "officer", "password": "$argon2id$v=19$m=65536,t=2,p=1$…",
//      "disabled": false, "created_ms": 1796032800000, "changed_ms": 1796032800000}]}
//
// Plain functions, any thread. LoadUsers reads without a lock (the file is
// only ever replaced whole); EditUsers is a locked read-modify-write.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ncen::node {

inline constexpr const char* kUsersFileName = "users.json";
inline constexpr const char* kUsersLockFileName = "users.json.lock";
inline constexpr size_t kUsersFileBytesMax = size_t{4} << 20;
inline constexpr size_t kPasswordBytesMin = 10;
inline constexpr size_t kPasswordBytesMax = 256;

// What an officer may do (docs/api.md "Roles"): each role may do what the
// ones before it may.
enum class Role : uint8_t {
  kOfficer = 0,  // enter and edit records, send messages
  kAnalyst = 1,  // also release, see statistics
  kAdmin = 2,    // also manage users and peers
};
const char* RoleName(Role role);
std::optional<Role> ParseRole(std::string_view name);

struct User {
  std::string name;           // [A-Za-z0-9._-]{1,64}
  Role role = Role::kOfficer;
  std::string password_hash;  // crypto_pwhash_str's output
  bool disabled = false;
  int64_t created_ms = 0;
  int64_t changed_ms = 0;     // password, role or disabled last changed
};

// kInvalidArgument naming what is wrong with a user name.
Status ValidateUserName(std::string_view name);
// kInvalidArgument when the password is too short or long (bytes), or holds
// a NUL or a line break (it was read one line at a time).
Status ValidatePassword(std::string_view password);

// Argon2id string of `password` (slow on purpose: about 0.1 s and 64 MiB).
Result<std::string> HashPassword(std::string_view password);
// Whether `password` matches `hash`. False for a malformed hash.
bool CheckPassword(const std::string& hash, std::string_view password);

// Every user of DIR/users.json; none when the file does not exist.
// kCorruption when it does not parse.
Result<std::vector<User>> LoadUsers(const std::string& dir);
// Locked read-modify-write: `edit` changes the list (its error is returned
// and nothing is written).
Status EditUsers(const std::string& dir, const std::function<Status(std::vector<User>&)>& edit);

// The users file as last read, read again when it changed (its size, inode
// or mtime), so `ncenctl user disable` takes effect at the server's next
// request without a restart. Thread-safe.
class UserDirectory {
 public:
  explicit UserDirectory(std::string dir) : dir_(std::move(dir)) {}
  // The user named `name`, as the file says now. kNotFound when there is
  // none; the file's errors otherwise.
  Result<User> Find(std::string_view name);

 private:
  std::string dir_;
  struct Cache;
  std::shared_ptr<const Cache> Current();
  std::mutex mu_;
  std::shared_ptr<const Cache> cache_;
};

}  // namespace ncen::node
