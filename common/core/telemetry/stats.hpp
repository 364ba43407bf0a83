#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace modelkeep::core {

/// A proportion's 95% confidence interval (Wilson score interval, which stays inside [0, 1]
/// and behaves at 0 and n successes, unlike the normal approximation).
struct Interval {
  double low = 0;
  double high = 0;
};
[[nodiscard]] Interval wilson_interval(std::uint64_t successes, std::uint64_t trials);

/// A two-sided two-proportion z-test with the pooled proportion.
struct ProportionTest {
  double z = 0;
  double p_value = 1; ///< 1 when the test is undefined (no trials, or no variance at all)
};
[[nodiscard]] ProportionTest two_proportion_test(std::uint64_t successes_a, std::uint64_t trials_a,
                                                 std::uint64_t successes_b, std::uint64_t trials_b);

/// The nearest-rank percentile (0 < p <= 100) of `values` (sorted in place); nullopt if empty.
[[nodiscard]] std::optional<double> percentile(std::vector<double>& values, double p);

/// The mean of `values`; nullopt if empty.
[[nodiscard]] std::optional<double> mean(const std::vector<double>& values);

} // namespace modelkeep::core
