#include "core/layout/names.hpp"
#include "core/layout/store.hpp"
#include "core/stages/promotion.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <doctest/doctest.h>

using namespace modelkeep;
namespace fs = std::filesystem;
using nlohmann::json;

TEST_CASE("the auto-promotion decision table")
{
  const core::AutoPromoteRule rule; // f1_score, 0.95, 0.02
  SUBCASE("the first version for a stage always promotes")
  {
    const auto d = core::decide_auto_promote(rule, std::nullopt, 0.10);
    CHECK(d.promote);
    CHECK(d.reason.find("first version") != std::string::npos);
  }
  SUBCASE("at or above the high threshold: promotes unless it regresses")
  {
    CHECK(core::decide_auto_promote(rule, 0.96, 0.96).promote);
    CHECK(core::decide_auto_promote(rule, 0.90, 0.95).promote);
    const auto regress = core::decide_auto_promote(rule, 0.97, 0.96);
    CHECK_FALSE(regress.promote);
    CHECK(regress.reason == "F1 regressed 1.0 points (0.970 -> 0.960)");
  }
  SUBCASE("below the threshold an improvement of at least min_improvement is needed")
  {
    const auto small = core::decide_auto_promote(rule, 0.90, 0.91);
    CHECK_FALSE(small.promote);
    CHECK(small.reason == "F1 change +1.0 points, below the threshold of 2 points (0.900 -> 0.910)");
    const auto big = core::decide_auto_promote(rule, 0.91, 0.94);
    CHECK(big.promote);
    CHECK(big.reason == "F1 improved 3.0 points (0.910 -> 0.940)");
    CHECK(core::decide_auto_promote(rule, 0.90, 0.92).promote); // exactly at the boundary
    CHECK_FALSE(core::decide_auto_promote(rule, 0.90, 0.919).promote);
    CHECK_FALSE(core::decide_auto_promote(rule, 0.90, 0.85).promote);
  }
  SUBCASE("other metrics keep their names")
  {
    core::AutoPromoteRule accuracy{"accuracy", 0.99, 0.05};
    CHECK(core::decide_auto_promote(accuracy, 0.80, 0.90).reason ==
          "accuracy improved 10.0 points (0.800 -> 0.900)");
  }
}

namespace {

json event(const char* kind, const char* stage, const char* from, const char* to, const char* time)
{
  return {{"event", kind}, {"stage", stage}, {"from", from}, {"to", to}, {"time", time}};
}

} // namespace

TEST_CASE("holder_at replays the stage's history")
{
  const std::vector<json> events = {event("promote", "production", "", "v1", "2025-01-01T00:00:00Z"),
                                    event("promote", "production", "v1", "v2", "2025-01-02T00:00:00Z"),
                                    event("promote", "canary", "", "v3", "2025-01-02T12:00:00Z"),
                                    event("rollback", "production", "v2", "v1", "2025-01-03T00:00:00Z")};
  const auto at = [&](const char* stage, const char* time) {
    return core::holder_at(events, stage, *util::parse_utc_iso8601(time));
  };
  CHECK_FALSE(at("production", "2024-12-31T00:00:00Z").has_value());
  CHECK(at("production", "2025-01-01T12:00:00Z") == "v1");
  CHECK(at("production", "2025-01-02T00:00:00Z") == "v2");
  CHECK(at("production", "2025-01-04T00:00:00Z") == "v1");
  CHECK(at("canary", "2025-01-04T00:00:00Z") == "v3");
}

TEST_CASE("previous_holder skips the current holder and versions rolled back from")
{
  test::ScratchDir dir;
  const core::Store store(dir.path());
  store.ensure_layout();
  for (const char* name : {"v001_20250101_000000_a", "v002_20250101_000000_b", "v003_20250101_000000_c"}) {
    fs::create_directories(store.versions_dir() / name);
  }
  std::vector<json> events = {
      event("promote", "production", "", "v001_20250101_000000_a", "2025-01-01T00:00:00Z"),
      event("promote", "production", "v001_20250101_000000_a", "v002_20250101_000000_b",
            "2025-01-02T00:00:00Z"),
      event("promote", "production", "v002_20250101_000000_b", "v003_20250101_000000_c",
            "2025-01-03T00:00:00Z")};
  fs::create_symlink("v003_20250101_000000_c", store.versions_dir() / "production");
  CHECK(core::previous_holder(store, events, "production") == "v002_20250101_000000_b");
  events.push_back(event("rollback", "production", "v003_20250101_000000_c", "v002_20250101_000000_b",
                         "2025-01-04T00:00:00Z"));
  fs::remove(store.versions_dir() / "production");
  fs::create_symlink("v002_20250101_000000_b", store.versions_dir() / "production");
  CHECK(core::previous_holder(store, events, "production") == "v001_20250101_000000_a");
  CHECK_FALSE(core::previous_holder(store, events, "canary").has_value());
}

TEST_CASE("stage names")
{
  CHECK_NOTHROW(core::validate_stage_name("production"));
  CHECK_NOTHROW(core::validate_stage_name("canary-eu_2"));
  for (const char* bad : {"latest", "ab", "Production", "1st", "", "a b", "v001_20250101_000000_x"}) {
    CHECK_THROWS_AS(core::validate_stage_name(bad), Error);
  }
}
