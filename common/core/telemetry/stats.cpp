#include "core/telemetry/stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace modelkeep::core {

namespace {
constexpr double k_z95 = 1.959963984540054;
}

Interval wilson_interval(std::uint64_t successes, std::uint64_t trials)
{
  if (trials == 0) {
    return {0, 1};
  }
  const double n = static_cast<double>(trials);
  const double p = static_cast<double>(successes) / n;
  const double z2 = k_z95 * k_z95;
  const double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const double half = k_z95 * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n);
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

ProportionTest two_proportion_test(std::uint64_t successes_a, std::uint64_t trials_a,
                                   std::uint64_t successes_b, std::uint64_t trials_b)
{
  if (trials_a == 0 || trials_b == 0) {
    return {};
  }
  const double na = static_cast<double>(trials_a);
  const double nb = static_cast<double>(trials_b);
  const double pa = static_cast<double>(successes_a) / na;
  const double pb = static_cast<double>(successes_b) / nb;
  const double pooled = static_cast<double>(successes_a + successes_b) / (na + nb);
  const double se = std::sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb));
  if (se == 0) {
    return {};
  }
  const double z = (pb - pa) / se;
  return {z, std::erfc(std::fabs(z) / std::sqrt(2.0))};
}

std::optional<double> percentile(std::vector<double>& values, double p)
{
  if (values.empty()) {
    return std::nullopt;
  }
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(p / 100.0 * static_cast<double>(values.size()));
  const auto index = static_cast<std::size_t>(std::clamp(rank, 1.0, static_cast<double>(values.size()))) - 1;
  return values[index];
}

std::optional<double> mean(const std::vector<double>& values)
{
  if (values.empty()) {
    return std::nullopt;
  }
  return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

} // namespace modelkeep::core
