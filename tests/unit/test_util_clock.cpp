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
