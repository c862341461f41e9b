#include "base/log_limiter.h"

#include <algorithm>

#include "base/check.h"
#include "base/log.h"

namespace ncen::log {
namespace {

// New keys beyond keys_max share this one: the map stays bounded even if a
// caller's keys were not the fixed set they should be.
constexpr std::string_view kOverflowKey = "(other lines)";

std::string MoreLikeIt(uint64_t count, int64_t span_ms) {
  int64_t seconds = std::max<int64_t>(1, (span_ms + 500) / 1000);
  return " (and " + std::to_string(count) + " more like it in the last " +
         std::to_string(seconds) + " s)";
}

}  // namespace

RepeatLimiter::RepeatLimiter(int64_t interval_ms, size_t keys_max)
    : interval_ms_(interval_ms), keys_max_(keys_max) {
  NCEN_CHECK(interval_ms_ >= 0 && keys_max_ > 0);
}

RepeatLimiter::KeyState& RepeatLimiter::StateFor(std::string_view key, int64_t now_ms) {
  if (auto it = keys_.find(key); it != keys_.end()) return it->second;
  if (keys_.size() >= keys_max_) ForgetQuiet(now_ms);
  if (keys_.size() >= keys_max_) key = kOverflowKey;
  auto [it, inserted] = keys_.try_emplace(std::string(key));
  // A new key's first line is always written.
  if (inserted) it->second.last_written_ms = now_ms - interval_ms_;
  return it->second;
}

std::optional<std::string> RepeatLimiter::Admit(std::string_view key, std::string_view line,
                                                int64_t now_ms) {
  KeyState& state = StateFor(key, now_ms);
  int64_t since_ms = now_ms - state.last_written_ms;
  if (since_ms < interval_ms_) {
    ++state.held_back;
    ++held_back_total_;
    state.latest.assign(line);
    return std::nullopt;
  }
  std::string out(line);
  if (state.held_back > 0) out += MoreLikeIt(state.held_back, since_ms);
  state.held_back = 0;
  state.latest.clear();
  state.last_written_ms = now_ms;
  return out;
}

// The latest held-back line stands for itself; the count is of the others.
std::string RepeatLimiter::Summary(KeyState& state, int64_t now_ms) const {
  std::string out = std::move(state.latest);
  if (state.held_back > 1) out += MoreLikeIt(state.held_back - 1, now_ms - state.last_written_ms);
  state.held_back = 0;
  state.latest.clear();
  return out;
}

std::vector<std::string> RepeatLimiter::TakeDue(int64_t now_ms) {
  std::vector<std::string> out;
  for (auto& [key, state] : keys_) {
    if (state.held_back == 0 || now_ms - state.last_written_ms < interval_ms_) continue;
    out.push_back(Summary(state, now_ms));
    state.last_written_ms = now_ms;
  }
  ForgetQuiet(now_ms);
  return out;
}

std::vector<std::string> RepeatLimiter::TakeAll(int64_t now_ms) {
  std::vector<std::string> out;
  for (auto& [key, state] : keys_) {
    if (state.held_back > 0) out.push_back(Summary(state, now_ms));
  }
  keys_.clear();
  return out;
}

std::optional<int64_t> RepeatLimiter::NextDueMs() const {
  std::optional<int64_t> next;
  for (const auto& [key, state] : keys_) {
    if (state.held_back == 0) continue;
    int64_t due = state.last_written_ms + interval_ms_;
    if (!next || due < *next) next = due;
  }
  return next;
}

// A key with nothing held back whose interval has passed behaves exactly
// like a key never seen: drop it.
void RepeatLimiter::ForgetQuiet(int64_t now_ms) {
  std::erase_if(keys_, [&](const auto& entry) {
    return entry.second.held_back == 0 && now_ms - entry.second.last_written_ms >= interval_ms_;
  });
}

void RepeatLimiter::Line(std::string_view key, std::string_view line, int64_t now_ms) {
  if (auto out = Admit(key, line, now_ms)) log::Line(*out);
}

void RepeatLimiter::Flush(int64_t now_ms) {
  for (const std::string& line : TakeDue(now_ms)) log::Line(line);
}

}  // namespace ncen::log
