// Who is logged in to one node's HTTP API, and how often logins failed
// (docs/api.md "Sessions", "Limits"). In memory only: a restart of ncen-node
// logs everyone out.
//
// A session is a random 256-bit token, given to the browser in an HttpOnly,
// SameSite=Strict cookie; the table keeps only its BLAKE2b hash, so the
// table in a core dump opens nothing. Each session also has an anti-CSRF
// token that every state-changing request must echo in a header. Sessions
// expire after `idle_ms` without a request and `max_ms` after login; a user
// is logged out when the users file disables them, changes their password or
// role after the session began (the API checks on every request).
//
// Thread-safe (one mutex; every call is short).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/clock.h"
#include "crypto/hash.h"
#include "node/http/accounts.h"

namespace ncen::node {

struct SessionLimits {
  int64_t idle_ms = 30 * 60 * 1000;       // no request for this long: expired
  int64_t max_ms = 12 * 60 * 60 * 1000;   // after login, whatever happens
  size_t max_sessions = 10000;            // the oldest go first
  size_t max_per_user = 32;
};

struct SessionInfo {
  std::string user;
  Role role = Role::kOfficer;
  std::string csrf_token;  // 64 hex digits
  int64_t created_ms = 0;
  int64_t expires_ms = 0;  // when it expires if idle from now
};

class SessionTable {
 public:
  explicit SessionTable(const Clock& clock, SessionLimits limits = {}) : clock_(clock), limits_(limits) {}

  // A new session for `user`; returns its token (64 hex digits).
  std::string Create(const std::string& user, Role role, SessionInfo* info = nullptr);
  // The session of `token`, refreshed (its idle time starts again); none
  // when unknown or expired (then it is dropped).
  std::optional<SessionInfo> Touch(const std::string& token);
  void Remove(const std::string& token);
  // Every session of `user` (disabled, password changed).
  void RemoveUser(const std::string& user);
  size_t size() const;

 private:
  struct Entry {
    SessionInfo info;
    int64_t last_ms = 0;
  };
  using Key = crypto::Hash256;
  static Key KeyOf(const std::string& token);
  void EvictLocked();

  const Clock& clock_;
  SessionLimits limits_;
  mutable std::mutex mu_;
  std::map<Key, Entry> sessions_;
};

// Failed logins, per account and per client address, in a sliding window:
// after `per_account` failures for one name, or `per_address` from one
// address, within `window_ms`, logins there are refused (HTTP 429) until the
// window has passed since the first of them. A successful login clears the
// account's count (not the address's). Bounded: at most `max_keys` names
// and addresses are remembered (the oldest windows are forgotten first).
struct LoginLimits {
  int per_account = 5;
  int per_address = 20;
  int64_t window_ms = 15 * 60 * 1000;
  size_t max_keys = 100000;
};

class LoginLimiter {
 public:
  explicit LoginLimiter(const Clock& clock, LoginLimits limits = {}) : clock_(clock), limits_(limits) {}
  // Milliseconds until a login for `user` from `address` may be tried; 0: now.
  int64_t RetryAfterMs(const std::string& user, const std::string& address);
  void Failed(const std::string& user, const std::string& address);
  void Succeeded(const std::string& user);

 private:
  struct Window {
    int64_t start_ms = 0;
    int failures = 0;
  };
  int64_t WaitLocked(std::map<std::string, Window>& m, const std::string& key, int limit, int64_t now);
  void CountLocked(std::map<std::string, Window>& m, const std::string& key, int64_t now);

  const Clock& clock_;
  LoginLimits limits_;
  std::mutex mu_;
  std::map<std::string, Window> accounts_, addresses_;
};

}  // namespace ncen::node
