#pragma once

#include <cstddef>
#include <functional>

namespace modelkeep::util {

/// Calls `task(i)` for every i in [0, count) on up to `threads` threads, each taking the next
/// index as it finishes one. The first exception thrown stops the handing out of new indices
/// and is rethrown here once all threads have stopped.
void parallel_for(std::size_t count, unsigned threads, const std::function<void(std::size_t)>& task);

} // namespace modelkeep::util
