#include "core/versions/semver.hpp"

#include "util/error.hpp"

#include <doctest/doctest.h>

using namespace modelkeep;

namespace {

core::SemVer v(const char* text)
{
  const auto parsed = core::SemVer::parse(text);
  REQUIRE_MESSAGE(parsed.has_value(), text);
  return *parsed;
}

} // namespace

TEST_CASE("parsing follows semver 2.0.0")
{
  CHECK(v("1.2.3").to_string() == "1.2.3");
  CHECK(v("1.0.0-alpha.1+build.5").to_string() == "1.0.0-alpha.1+build.5");
  CHECK(v("1.0.0-0.3.7").pre_release.size() == 3);
  for (const char* bad : {"1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.3-", "1.2.3-01", "1.2.3+", "v1.2.3",
                          "1.2.3-a..b", "1.2.x", ""}) {
    CAPTURE(bad);
    CHECK_FALSE(core::SemVer::parse(bad).has_value());
  }
}

TEST_CASE("precedence: the example chain from the specification")
{
  const char* chain[] = {"1.0.0-alpha",  "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
                         "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1",       "1.0.0"};
  for (std::size_t i = 0; i + 1 < std::size(chain); ++i) {
    CAPTURE(chain[i]);
    CHECK(core::compare(v(chain[i]), v(chain[i + 1])) < 0);
    CHECK(core::compare(v(chain[i + 1]), v(chain[i])) > 0);
  }
  CHECK(core::compare(v("1.0.0"), v("2.0.0")) < 0);
  CHECK(core::compare(v("2.0.0"), v("2.1.0")) < 0);
  CHECK(core::compare(v("2.1.0"), v("2.1.1")) < 0);
  CHECK(core::compare(v("1.0.0+build.1"), v("1.0.0+build.2")) == 0);
}

TEST_CASE("bumps")
{
  CHECK(v("1.2.3").bump("major").to_string() == "2.0.0");
  CHECK(v("1.2.3").bump("minor").to_string() == "1.3.0");
  CHECK(v("1.2.3").bump("patch").to_string() == "1.2.4");
  CHECK(v("1.2.3-rc.1").bump("patch").to_string() == "1.2.3");
  CHECK_THROWS_AS((void)v("1.2.3").bump("huge"), Error);
}
