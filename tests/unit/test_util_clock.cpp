#include "util/clock.hpp"

#include <doctest/doctest.h>

using namespace modelkeep;

TEST_CASE("UTC formats for names and metadata")
{
  const auto time = util::from_unix_seconds(1763303400); // 2025-11-16 14:30:00 UTC
  CHECK(util::utc_compact(time) == "20251116_143000");
  CHECK(util::utc_iso8601(time) == "2025-11-16T14:30:00Z");
  CHECK(util::to_unix_seconds(time) == 1763303400);
}

TEST_CASE("ISO-8601 round trip and rejection")
{
  const auto parsed = util::parse_utc_iso8601("2025-11-16T14:30:00Z");
  REQUIRE(parsed.has_value());
  CHECK(util::to_unix_seconds(*parsed) == 1763303400);
  CHECK_FALSE(util::parse_utc_iso8601("2025-11-16 14:30:00").has_value());
  CHECK_FALSE(util::parse_utc_iso8601("garbage").has_value());
}

TEST_CASE("a time as a person types it: dates, local times, UTC and offsets")
{
  using util::parse_time_argument;
  const auto utc = util::parse_utc_iso8601("2025-11-18T09:00:00Z");
  REQUIRE(utc);
  CHECK(parse_time_argument("2025-11-18T09:00:00Z") == utc);
  CHECK(parse_time_argument("2025-11-18T09:00Z") == utc);
  CHECK(parse_time_argument("2025-11-18T10:00+01:00") == utc);
  CHECK(parse_time_argument("2025-11-18 04:00:00-0500") == utc);
  // Local times go through the local zone, as mktime reads them.
  std::tm local{};
  local.tm_year = 125;
  local.tm_mon = 10;
  local.tm_mday = 18;
  local.tm_hour = 9;
  local.tm_isdst = -1;
  CHECK(parse_time_argument("2025-11-18 09:00") ==
        std::chrono::system_clock::from_time_t(std::mktime(&local)));
  local.tm_hour = 0;
  local.tm_isdst = -1;
  CHECK(parse_time_argument("2025-11-18") == std::chrono::system_clock::from_time_t(std::mktime(&local)));
  for (const char* bad : {"", "yesterday", "2025-11-18T", "2025-11-18T9", "2025-13-01", "2025-11-18T09:00+1",
                          "2025-11-18T09:00+24:00", "2025-11-18T09:00 Z", "2025-11-18x"}) {
    CHECK_FALSE(parse_time_argument(bad));
  }
}
