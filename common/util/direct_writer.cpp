#include "util/direct_writer.hpp"

#include "util/env.hpp"
#include "util/error.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace modelkeep::util {

namespace {

constexpr std::size_t k_alignment = 4096;
constexpr std::size_t k_buffer_size = 8 << 20;

} // namespace

SequentialWriter::SequentialWriter(const std::filesystem::path& path, unsigned mode)
    : m_path(path), m_mode(mode & 07777)
{
  for (auto& buffer : m_buffers) {
    void* memory = nullptr;
    if (::posix_memalign(&memory, k_alignment, k_buffer_size) != 0) {
      std::free(m_buffers[0]);
      throw Error(ExitCode::failed, "out of memory for a write buffer of " + path.string());
    }
    buffer = static_cast<std::byte*>(memory);
  }
  try {
    m_fd = create_exclusive(path, m_mode);
  } catch (...) {
    std::free(m_buffers[0]);
    std::free(m_buffers[1]);
    throw;
  }
  const int flags = ::fcntl(m_fd.get(), F_GETFL);
  m_direct = flags >= 0 && ::fcntl(m_fd.get(), F_SETFL, flags | O_DIRECT) == 0;
}

SequentialWriter::~SequentialWriter()
{
  if (m_thread.joinable()) {
    {
      const std::lock_guard lock(m_mutex);
      m_stop = true;
    }
    m_changed.notify_all();
    m_thread.join();
  }
  std::free(m_buffers[0]);
  std::free(m_buffers[1]);
}

void SequentialWriter::write(std::span<const std::byte> bytes)
{
  while (!bytes.empty()) {
    const std::size_t n = std::min(bytes.size(), k_buffer_size - m_fill);
    std::memcpy(m_buffers[m_current] + m_fill, bytes.data(), n);
    m_fill += n;
    bytes = bytes.subspan(n);
    if (m_fill == k_buffer_size) {
      hand_over();
    }
  }
}

std::size_t SequentialWriter::write_blocks(const std::byte* data, std::size_t size)
{
  const std::size_t whole = size - size % k_alignment;
  std::size_t done = 0;
  while (done < whole) {
    const ssize_t n = env().write(m_fd.get(), data + done, whole - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && errno == EINVAL && m_direct) {
      // The filesystem took O_DIRECT at open but refuses the write (or a short write left the
      // rest unaligned): go on without it.
      const int flags = ::fcntl(m_fd.get(), F_GETFL);
      if (flags < 0 || ::fcntl(m_fd.get(), F_SETFL, flags & ~O_DIRECT) != 0) {
        throw_errno("cannot write", m_path);
      }
      m_direct = false;
      continue;
    }
    if (n <= 0) {
      throw_errno("cannot write", m_path);
    }
    done += static_cast<std::size_t>(n);
  }
  return whole;
}

void SequentialWriter::hand_over()
{
  wait_idle();
  if (!m_thread.joinable()) {
    m_thread = std::thread([this] { run(); });
  }
  {
    const std::lock_guard lock(m_mutex);
    m_job = m_buffers[m_current];
  }
  m_changed.notify_all();
  m_current ^= 1;
  m_fill = 0;
}

void SequentialWriter::wait_idle()
{
  std::unique_lock lock(m_mutex);
  m_changed.wait(lock, [&] { return m_job == nullptr; });
  if (m_failure) {
    std::rethrow_exception(m_failure);
  }
}

void SequentialWriter::run()
{
  for (;;) {
    const std::byte* job = nullptr;
    {
      std::unique_lock lock(m_mutex);
      m_changed.wait(lock, [&] { return m_stop || m_job != nullptr; });
      if (m_stop) {
        return;
      }
      job = m_job;
    }
    std::exception_ptr failure;
    try {
      (void)write_blocks(job, k_buffer_size);
    } catch (...) {
      failure = std::current_exception();
    }
    {
      const std::lock_guard lock(m_mutex);
      if (failure && !m_failure) {
        m_failure = failure;
      }
      m_job = nullptr;
    }
    m_changed.notify_all();
  }
}

void SequentialWriter::finish(bool drop_cache)
{
  wait_idle();
  std::byte* buffer = m_buffers[m_current];
  const std::size_t whole = write_blocks(buffer, m_fill);
  const std::size_t tail = m_fill - whole;
  if (tail > 0) {
    if (m_direct) {
      const int flags = ::fcntl(m_fd.get(), F_GETFL);
      if (flags < 0 || ::fcntl(m_fd.get(), F_SETFL, flags & ~O_DIRECT) != 0) {
        throw_errno("cannot write", m_path);
      }
    }
    write_all(m_fd.get(), std::string_view(reinterpret_cast<const char*>(buffer + whole), tail), m_path);
  }
  m_fill = 0;
  // fchmod because the umask may have narrowed the mode given to open().
  if (env().fchmod(m_fd.get(), m_mode) != 0) {
    throw_errno("cannot set mode of", m_path);
  }
  fsync_fd(m_fd.get(), m_path);
  if (drop_cache) {
    ::posix_fadvise(m_fd.get(), 0, 0, POSIX_FADV_DONTNEED);
  }
  m_fd.close(m_path);
}

} // namespace modelkeep::util
