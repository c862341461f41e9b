#include "node/http/sessions.h"

#include <algorithm>

#include "crypto/hash.h"
#include "crypto/random.h"

namespace ncen::node {

namespace {

std::string RandomHex() {
  uint8_t bytes[32];
  crypto::RandomFill(bytes, sizeof bytes);
  return ToHex(ByteView(bytes, sizeof bytes));
}

}  // namespace

SessionTable::Key SessionTable::KeyOf(const std::string& token) {
  return crypto::Blake2b256(ByteView(reinterpret_cast<const uint8_t*>(token.data()), token.size()));
}

std::string SessionTable::Create(const std::string& user, Role role, SessionInfo* info) {
  std::string token = RandomHex();
  int64_t now = clock_.NowMs();
  Entry e;
  e.info.user = user;
  e.info.role = role;
  e.info.csrf_token = RandomHex();
  e.info.created_ms = now;
  e.info.expires_ms = std::min(now + limits_.idle_ms, now + limits_.max_ms);
  e.last_ms = now;
  std::lock_guard<std::mutex> lock(mu_);
  // At most max_per_user sessions per user: the oldest goes.
  size_t mine = 0;
  auto oldest = sessions_.end();
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    if (it->second.info.user != user) continue;
    ++mine;
    if (oldest == sessions_.end() || it->second.info.created_ms < oldest->second.info.created_ms) oldest = it;
  }
  if (mine >= limits_.max_per_user && oldest != sessions_.end()) sessions_.erase(oldest);
  if (info) *info = e.info;
  sessions_[KeyOf(token)] = std::move(e);
  EvictLocked();
  return token;
}

void SessionTable::EvictLocked() {
  if (sessions_.size() <= limits_.max_sessions) return;
  int64_t now = clock_.NowMs();
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    bool expired = now - it->second.last_ms >= limits_.idle_ms || now - it->second.info.created_ms >= limits_.max_ms;
    it = expired ? sessions_.erase(it) : std::next(it);
  }
  while (sessions_.size() > limits_.max_sessions) {
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](const auto& a, const auto& b) {
      return a.second.last_ms < b.second.last_ms;
    });
    sessions_.erase(oldest);
  }
}

std::optional<SessionInfo> SessionTable::Touch(const std::string& token) {
  if (token.size() != 64) return std::nullopt;
  int64_t now = clock_.NowMs();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(KeyOf(token));
  if (it == sessions_.end()) return std::nullopt;
  Entry& e = it->second;
  if (now - e.last_ms >= limits_.idle_ms || now - e.info.created_ms >= limits_.max_ms) {
    sessions_.erase(it);
    return std::nullopt;
  }
  e.last_ms = now;
  e.info.expires_ms = std::min(now + limits_.idle_ms, e.info.created_ms + limits_.max_ms);
  return e.info;
}

void SessionTable::Remove(const std::string& token) {
  std::lock_guard<std::mutex> lock(mu_);
  sessions_.erase(KeyOf(token));
}

void SessionTable::RemoveUser(const std::string& user) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    it = it->second.info.user == user ? sessions_.erase(it) : std::next(it);
  }
}

size_t SessionTable::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.size();
}

int64_t LoginLimiter::WaitLocked(std::map<std::string, Window>& m, const std::string& key, int limit, int64_t now) {
  auto it = m.find(key);
  if (it == m.end()) return 0;
  if (now - it->second.start_ms >= limits_.window_ms) {
    m.erase(it);
    return 0;
  }
  if (it->second.failures < limit) return 0;
  return it->second.start_ms + limits_.window_ms - now;
}

void LoginLimiter::CountLocked(std::map<std::string, Window>& m, const std::string& key, int64_t now) {
  auto& w = m[key];
  if (w.failures == 0 || now - w.start_ms >= limits_.window_ms) w = Window{now, 0};
  ++w.failures;
  if (m.size() <= limits_.max_keys) return;
  // Forget windows that are over, then the oldest.
  for (auto it = m.begin(); it != m.end();) {
    it = now - it->second.start_ms >= limits_.window_ms ? m.erase(it) : std::next(it);
  }
  while (m.size() > limits_.max_keys) {
    auto oldest = std::min_element(m.begin(), m.end(),
                                   [](const auto& a, const auto& b) { return a.second.start_ms < b.second.start_ms; });
    m.erase(oldest);
  }
}

int64_t LoginLimiter::RetryAfterMs(const std::string& user, const std::string& address) {
  int64_t now = clock_.NowMs();
  std::lock_guard<std::mutex> lock(mu_);
  return std::max(WaitLocked(accounts_, user, limits_.per_account, now),
                  WaitLocked(addresses_, address, limits_.per_address, now));
}

void LoginLimiter::Failed(const std::string& user, const std::string& address) {
  int64_t now = clock_.NowMs();
  std::lock_guard<std::mutex> lock(mu_);
  CountLocked(accounts_, user, now);
  CountLocked(addresses_, address, now);
}

void LoginLimiter::Succeeded(const std::string& user) {
  std::lock_guard<std::mutex> lock(mu_);
  accounts_.erase(user);
}

}  // namespace ncen::node
