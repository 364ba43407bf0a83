#include "util/parallel.hpp"

#include <atomic>
#include <doctest/doctest.h>
#include <stdexcept>
#include <vector>

using namespace modelkeep;

TEST_CASE("parallel_for visits every index exactly once")
{
  std::vector<std::atomic<int>> seen(1000);
  util::parallel_for(seen.size(), 4, [&](std::size_t i) { ++seen[i]; });
  for (const auto& count : seen) {
    CHECK(count == 1);
  }
}

TEST_CASE("parallel_for rethrows the first error")
{
  CHECK_THROWS_WITH(util::parallel_for(100, 2,
                                       [](std::size_t i) {
                                         if (i == 7) {
                                           throw std::runtime_error("boom");
                                         }
                                       }),
                    "boom");
}

TEST_CASE("parallel_for with nothing to do")
{
  int calls = 0;
  util::parallel_for(0, 2, [&](std::size_t) { ++calls; });
  CHECK(calls == 0);
}
