#include "core/telemetry/stats.hpp"

#include <doctest/doctest.h>

using namespace modelkeep;

TEST_CASE("the Wilson interval matches published values and stays inside [0, 1]")
{
  const auto i = core::wilson_interval(8, 10);
  CHECK(i.low == doctest::Approx(0.4902).epsilon(0.001));
  CHECK(i.high == doctest::Approx(0.9433).epsilon(0.001));
  const auto none = core::wilson_interval(0, 20);
  CHECK(none.low == 0.0);
  CHECK(none.high == doctest::Approx(0.1611).epsilon(0.001));
  const auto all = core::wilson_interval(20, 20);
  CHECK(all.high == 1.0);
  CHECK(all.low == doctest::Approx(0.8389).epsilon(0.001));
  const auto empty = core::wilson_interval(0, 0);
  CHECK(empty.low == 0.0);
  CHECK(empty.high == 1.0);
}

TEST_CASE("the two-proportion z-test gives the textbook z and two-sided p")
{
  // 45/100 vs 60/100: pooled 0.525, se 0.07062, z 2.124, p 0.0337.
  const auto t = core::two_proportion_test(45, 100, 60, 100);
  CHECK(t.z == doctest::Approx(2.124).epsilon(0.001));
  CHECK(t.p_value == doctest::Approx(0.0337).epsilon(0.01));
  const auto reversed = core::two_proportion_test(60, 100, 45, 100);
  CHECK(reversed.z == doctest::Approx(-2.124).epsilon(0.001));
  CHECK(core::two_proportion_test(50, 100, 50, 100).p_value == doctest::Approx(1.0));
  CHECK(core::two_proportion_test(0, 0, 5, 10).p_value == 1.0);    // no trials on one side
  CHECK(core::two_proportion_test(10, 10, 10, 10).p_value == 1.0); // no variance
}

TEST_CASE("percentile is nearest-rank and mean is the mean")
{
  std::vector<double> values;
  for (int i = 100; i >= 1; --i) {
    values.push_back(i);
  }
  CHECK(core::percentile(values, 95) == 95.0);
  CHECK(core::percentile(values, 100) == 100.0);
  CHECK(core::percentile(values, 1) == 1.0);
  std::vector<double> one = {7};
  CHECK(core::percentile(one, 95) == 7.0);
  std::vector<double> empty;
  CHECK_FALSE(core::percentile(empty, 95).has_value());
  CHECK(core::mean({1, 2, 3, 4}) == 2.5);
  CHECK_FALSE(core::mean({}).has_value());
}
