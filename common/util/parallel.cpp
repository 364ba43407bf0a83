#include "util/parallel.hpp"

#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace modelkeep::util {

void parallel_for(std::size_t count, unsigned threads, const std::function<void(std::size_t)>& task)
{
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  std::exception_ptr first_error;
  std::mutex error_mutex;

  auto worker = [&] {
    while (!stop) {
      const std::size_t i = next++;
      if (i >= count) {
        return;
      }
      try {
        task(i);
      } catch (...) {
        const std::lock_guard lock(error_mutex);
        if (!first_error) {
          first_error = std::current_exception();
        }
        stop = true;
      }
    }
  };

  if (threads <= 1 || count <= 1) {
    worker();
  } else {
    std::vector<std::jthread> pool;
    for (unsigned t = 1; t < threads && t < count; ++t) {
      pool.emplace_back(worker);
    }
    worker();
  }
  if (first_error) {
    std::rethrow_exception(first_error);
  }
}

} // namespace modelkeep::util
