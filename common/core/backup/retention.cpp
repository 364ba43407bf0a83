#include "core/backup/retention.hpp"

#include <algorithm>
#include <ctime>
#include <map>

namespace modelkeep::core {

bool RetentionPolicy::empty() const
{
  return !within_days && !keep_last && !keep_daily && !keep_weekly && !keep_monthly;
}

namespace {

enum class Period { day, week, month };

/// The UTC day ("2025-11-16"), ISO week ("2025-W46") or month ("2025-11") of a time.
std::string bucket(util::SystemTime time, Period period)
{
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[32];
  std::size_t n = 0;
  switch (period) {
  case Period::day:
    n = std::strftime(text, sizeof text, "%Y-%m-%d", &parts);
    break;
  case Period::week:
    n = std::strftime(text, sizeof text, "%G-W%V", &parts);
    break;
  case Period::month:
    n = std::strftime(text, sizeof text, "%Y-%m", &parts);
    break;
  }
  return std::string(text, n);
}

/// One "keep the newest of each of the last n buckets" rule.
struct BucketRule {
  const char* label;
  Period period;
  unsigned limit;
};

void apply_bucket_rule(const std::vector<std::size_t>& newest_first, const std::vector<RetentionItem>& items,
                       const BucketRule& rule, std::vector<RetentionDecision>& decisions)
{
  std::string last_bucket;
  unsigned kept = 0;
  for (const std::size_t i : newest_first) {
    if (kept >= rule.limit) {
      return;
    }
    const std::string current = bucket(items[i].created, rule.period);
    if (current != last_bucket) {
      decisions[i].keep = true;
      decisions[i].reasons.push_back(std::string(rule.label) + " " + current);
      last_bucket = current;
      ++kept;
    }
  }
}

void apply_to_group(const std::vector<std::size_t>& newest_first, const std::vector<RetentionItem>& items,
                    const RetentionPolicy& policy, util::SystemTime now,
                    std::vector<RetentionDecision>& decisions)
{
  for (std::size_t rank = 0; rank < newest_first.size(); ++rank) {
    const std::size_t i = newest_first[rank];
    if (policy.keep_last && rank < *policy.keep_last) {
      decisions[i].keep = true;
      decisions[i].reasons.push_back("last " + std::to_string(*policy.keep_last));
    }
    if (policy.within_days && now - items[i].created < std::chrono::hours(24) * *policy.within_days) {
      decisions[i].keep = true;
      decisions[i].reasons.push_back("within " + std::to_string(*policy.within_days) + " days");
    }
  }
  if (policy.keep_daily) {
    apply_bucket_rule(newest_first, items, {"daily", Period::day, *policy.keep_daily}, decisions);
  }
  if (policy.keep_weekly) {
    apply_bucket_rule(newest_first, items, {"weekly", Period::week, *policy.keep_weekly}, decisions);
  }
  if (policy.keep_monthly) {
    apply_bucket_rule(newest_first, items, {"monthly", Period::month, *policy.keep_monthly}, decisions);
  }
}

} // namespace

std::vector<RetentionDecision> apply_retention(const std::vector<RetentionItem>& items,
                                               const RetentionPolicy& policy, util::SystemTime now)
{
  std::vector<RetentionDecision> decisions(items.size());
  std::map<std::string, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < items.size(); ++i) {
    groups[items[i].group].push_back(i);
  }
  for (auto& [group, members] : groups) {
    std::stable_sort(members.begin(), members.end(), [&](std::size_t a, std::size_t b) {
      // Equal times (two backups in one second): the later item is the newer.
      return items[a].created != items[b].created ? items[a].created > items[b].created : a > b;
    });
    apply_to_group(members, items, policy, now, decisions);
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!items[i].protected_reason.empty()) {
      decisions[i].keep = true;
      decisions[i].reasons.push_back("protected: " + items[i].protected_reason);
    }
  }
  return decisions;
}

} // namespace modelkeep::core
