#pragma once

#include "util/hash.hpp"

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace modelkeep::util {

/// Hashes on a thread of its own while the caller reads and writes: the caller fills a buffer
/// from acquire(), hands it over with submit() and goes on with the next one; finish() ends a
/// file and returns its digest. Buffers go back to the pool once hashed, so memory stays at
/// `buffers` x `block_size` and nothing is copied. One producer thread only.
class AsyncHasher {
public:
  explicit AsyncHasher(std::size_t buffers = 4, std::size_t block_size = k_io_block);
  AsyncHasher(const AsyncHasher&) = delete;
  AsyncHasher& operator=(const AsyncHasher&) = delete;
  ~AsyncHasher();

  /// A free buffer of block_size bytes (waits until the hasher releases one).
  [[nodiscard]] std::vector<char>& acquire();

  /// Queues the first `size` bytes of a buffer from acquire() for the current file.
  void submit(std::vector<char>& buffer, std::size_t size);

  /// Waits until the current file's bytes are hashed and returns its digest (hex); the next
  /// submit starts a new file.
  [[nodiscard]] std::string finish();

private:
  struct Item {
    std::vector<char>* buffer = nullptr; ///< nullptr: end of file
    std::size_t size = 0;
  };
  void run();

  std::vector<std::vector<char>> m_buffers;
  std::vector<std::vector<char>*> m_free;
  std::deque<Item> m_queue;
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::string m_digest;
  bool m_digest_ready = false;
  bool m_stop = false;
  std::thread m_thread;
};

} // namespace modelkeep::util
