#include "core/backup/retention.hpp"

#include <doctest/doctest.h>

using namespace modelkeep;

namespace {

const util::SystemTime k_now = util::from_unix_seconds(1763303400); // 2025-11-16 14:30 UTC (a Sunday)

util::SystemTime days_ago(double days)
{
  return k_now - std::chrono::seconds(static_cast<long long>(days * 86400));
}

std::vector<bool> kept(const std::vector<core::RetentionDecision>& decisions)
{
  std::vector<bool> result;
  for (const auto& decision : decisions) {
    result.push_back(decision.keep);
  }
  return result;
}

} // namespace

TEST_CASE("an empty policy is empty")
{
  CHECK(core::RetentionPolicy{}.empty());
  core::RetentionPolicy policy;
  policy.keep_last = 0;
  CHECK_FALSE(policy.empty());
}

TEST_CASE("keep-last and within-days")
{
  const std::vector<core::RetentionItem> items = {
      {days_ago(10), "g", ""}, {days_ago(5), "g", ""}, {days_ago(1), "g", ""}, {days_ago(0.5), "g", ""}};
  core::RetentionPolicy last;
  last.keep_last = 2;
  CHECK(kept(core::apply_retention(items, last, k_now)) == std::vector<bool>{false, false, true, true});
  core::RetentionPolicy within;
  within.within_days = 6;
  const auto decisions = core::apply_retention(items, within, k_now);
  CHECK(kept(decisions) == std::vector<bool>{false, true, true, true});
  CHECK(decisions[1].reasons.front() == "within 6 days");
}

TEST_CASE("keep-daily keeps the newest of each day, rules are ORed")
{
  const std::vector<core::RetentionItem> items = {
      {days_ago(3.1), "g", ""}, {days_ago(3.0), "g", ""}, {days_ago(2.0), "g", ""}, {days_ago(40), "g", ""}};
  core::RetentionPolicy policy;
  policy.keep_daily = 2;
  CHECK(kept(core::apply_retention(items, policy, k_now)) == std::vector<bool>{false, true, true, false});
  policy.keep_monthly = 3;
  const auto decisions = core::apply_retention(items, policy, k_now);
  CHECK(kept(decisions) == std::vector<bool>{false, true, true, true});
  CHECK(decisions[3].reasons.front() == "monthly 2025-10");
}

TEST_CASE("keep-weekly uses ISO weeks")
{
  const std::vector<core::RetentionItem> items = {
      {days_ago(0), "g", ""}, {days_ago(1), "g", ""}, {days_ago(7), "g", ""}};
  core::RetentionPolicy policy;
  policy.keep_weekly = 5;
  const auto decisions = core::apply_retention(items, policy, k_now);
  CHECK(kept(decisions) == std::vector<bool>{true, false, true});
  CHECK(decisions[0].reasons.front() == "weekly 2025-W46");
}

TEST_CASE("groups are counted separately and protection always wins")
{
  const std::vector<core::RetentionItem> items = {
      {days_ago(3), "a", ""}, {days_ago(2), "a", ""}, {days_ago(9), "b", ""}, {days_ago(30), "b", "needed"}};
  core::RetentionPolicy policy;
  policy.keep_last = 1;
  const auto decisions = core::apply_retention(items, policy, k_now);
  CHECK(kept(decisions) == std::vector<bool>{false, true, true, true});
  CHECK(decisions[3].reasons.back() == "protected: needed");
}

TEST_CASE("of two backups in the same second the later one is the newer")
{
  const std::vector<core::RetentionItem> items = {{days_ago(1), "g", ""}, {days_ago(1), "g", ""}};
  core::RetentionPolicy policy;
  policy.keep_last = 1;
  CHECK(kept(core::apply_retention(items, policy, k_now)) == std::vector<bool>{false, true});
}
