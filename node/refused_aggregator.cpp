#include "node/refused_aggregator.h"

#include <algorithm>

#include "base/check.h"
#include "base/log.h"

namespace ncen::node {

static_assert(limits::kRefusedIdsPerWriteMax <= storage::PeerLedger::kRefusedKept,
              "one write never pushes out rows of its own");

RefusedAggregator::RefusedAggregator(int64_t interval_ms, size_t ids_max)
    : interval_ms_(interval_ms), ids_max_(ids_max) {
  NCEN_CHECK(interval_ms_ >= 0 && ids_max_ > 0);
}

void RefusedAggregator::Add(const storage::RefusedAttempt& attempt) {
  auto it = pending_.find(attempt.id);
  if (it == pending_.end()) {
    if (pending_.size() >= ids_max_) {
      ++unrecorded_;
      return;
    }
    it = pending_.emplace(attempt.id, Pending{attempt, attempt.at_ms, 0}).first;
  }
  it->second.latest = attempt;
  ++it->second.count;
}

bool RefusedAggregator::Due(int64_t now_ms) const {
  if (pending_.empty() && unrecorded_ == 0) return false;
  return !taken_ || now_ms - last_take_ms_ >= interval_ms_ || now_ms < last_take_ms_;
}

RefusedAggregator::Batch RefusedAggregator::Take(int64_t now_ms) {
  Batch batch;
  for (auto& [id, p] : pending_) {
    storage::RefusedAttempt row = std::move(p.latest);
    if (p.count > 1) {
      row.reason += " (" + std::to_string(p.count) + " attempts since " + log::IsoTime(p.first_ms) + ")";
    }
    batch.attempts += p.count;
    batch.rows.push_back(std::move(row));
  }
  // Recorded in time order, so the store lists the newest first.
  std::stable_sort(batch.rows.begin(), batch.rows.end(),
                   [](const auto& a, const auto& b) { return a.at_ms < b.at_ms; });
  batch.unrecorded = unrecorded_;
  pending_.clear();
  unrecorded_ = 0;
  last_take_ms_ = now_ms;
  taken_ = true;
  return batch;
}

}  // namespace ncen::node
