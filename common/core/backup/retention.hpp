#pragma once

#include "util/clock.hpp"

#include <optional>
#include <string>
#include <vector>

namespace modelkeep::core {

/// Which backups to keep, like restic's `forget` policy; the rules are ORed.
struct RetentionPolicy {
  std::optional<unsigned> within_days;  ///< keep everything newer than this many days
  std::optional<unsigned> keep_last;    ///< the n newest
  std::optional<unsigned> keep_daily;   ///< the newest of each of the last n days that have one
  std::optional<unsigned> keep_weekly;  ///< ... of each of the last n ISO weeks
  std::optional<unsigned> keep_monthly; ///< ... of each of the last n months

  /// True if no rule is set (such a policy would delete everything and is refused).
  [[nodiscard]] bool empty() const;
};

/// One backup as the policy sees it.
struct RetentionItem {
  util::SystemTime created;
  std::string group;            ///< rules count within a group (type and source)
  std::string protected_reason; ///< non-empty: kept whatever the policy
};

/// The policy's verdict on one item, with every rule that keeps it.
struct RetentionDecision {
  bool keep = false;
  std::vector<std::string> reasons; ///< "last 3", "daily 2025-11-16", "protected: ..."
};

/// Applies `policy` to `items` as of `now` (of two with the same time, the later one counts as newer): within
/// each group, newest first, each rule keeps its buckets' newest item; protected items are always kept. Days,
/// weeks and months are counted in UTC. Returns one decision per item, in the items' order.
[[nodiscard]] std::vector<RetentionDecision>
apply_retention(const std::vector<RetentionItem>& items, const RetentionPolicy& policy, util::SystemTime now);

} // namespace modelkeep::core
