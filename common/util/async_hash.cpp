#include "util/async_hash.hpp"

namespace modelkeep::util {

AsyncHasher::AsyncHasher(std::size_t buffers, std::size_t block_size)
    : m_buffers(buffers, std::vector<char>(block_size))
{
  for (auto& buffer : m_buffers) {
    m_free.push_back(&buffer);
  }
  m_thread = std::thread([this] { run(); });
}

AsyncHasher::~AsyncHasher()
{
  {
    const std::lock_guard<std::mutex> lock(m_mutex);
    m_stop = true;
  }
  m_changed.notify_all();
  m_thread.join();
}

std::vector<char>& AsyncHasher::acquire()
{
  std::unique_lock<std::mutex> lock(m_mutex);
  m_changed.wait(lock, [this] { return !m_free.empty(); });
  std::vector<char>* buffer = m_free.back();
  m_free.pop_back();
  return *buffer;
}

void AsyncHasher::submit(std::vector<char>& buffer, std::size_t size)
{
  {
    const std::lock_guard<std::mutex> lock(m_mutex);
    m_queue.push_back({&buffer, size});
  }
  m_changed.notify_all();
}

std::string AsyncHasher::finish()
{
  std::unique_lock<std::mutex> lock(m_mutex);
  m_digest_ready = false;
  m_queue.push_back({nullptr, 0});
  m_changed.notify_all();
  m_changed.wait(lock, [this] { return m_digest_ready; });
  return m_digest;
}

void AsyncHasher::run()
{
  Sha256 hasher;
  for (;;) {
    Item item;
    {
      std::unique_lock<std::mutex> lock(m_mutex);
      m_changed.wait(lock, [this] { return m_stop || !m_queue.empty(); });
      if (m_queue.empty()) {
        return; // stopping, nothing left
      }
      item = m_queue.front();
      m_queue.pop_front();
    }
    if (item.buffer != nullptr) {
      hasher.update(item.buffer->data(), item.size);
      {
        const std::lock_guard<std::mutex> lock(m_mutex);
        m_free.push_back(item.buffer);
      }
      m_changed.notify_all();
    } else {
      std::string digest = hasher.hex_final();
      hasher = Sha256();
      {
        const std::lock_guard<std::mutex> lock(m_mutex);
        m_digest = std::move(digest);
        m_digest_ready = true;
      }
      m_changed.notify_all();
    }
  }
}

} // namespace modelkeep::util
