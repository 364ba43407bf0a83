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
  m_fd = create_exclusive(path, m_mode);
  const int flags = ::fcntl(m_fd.get(), F_GETFL);
  m_direct = flags >= 0 && ::fcntl(m_fd.get(), F_SETFL, flags | O_DIRECT) == 0;
  void* memory = nullptr;
  if (::posix_memalign(&memory, k_alignment, k_buffer_size) != 0) {
    throw Error(ExitCode::failed, "out of memory for a write buffer of " + path.string());
  }
  m_buffer = static_cast<std::byte*>(memory);
}

SequentialWriter::~SequentialWriter()
{
  std::free(m_buffer);
}

void SequentialWriter::write(std::span<const std::byte> bytes)
{
  while (!bytes.empty()) {
    const std::size_t n = std::min(bytes.size(), k_buffer_size - m_fill);
    std::memcpy(m_buffer + m_fill, bytes.data(), n);
    m_fill += n;
    bytes = bytes.subspan(n);
    if (m_fill == k_buffer_size) {
      flush_blocks();
    }
  }
}

void SequentialWriter::flush_blocks()
{
  const std::size_t whole = m_fill - m_fill % k_alignment;
  if (whole == 0) {
    return;
  }
  std::size_t done = 0;
  while (done < whole) {
    const ssize_t n = env().write(m_fd.get(), m_buffer + done, whole - done);
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
  std::memmove(m_buffer, m_buffer + whole, m_fill - whole);
  m_fill -= whole;
}

void SequentialWriter::finish(bool drop_cache)
{
  flush_blocks();
  if (m_fill > 0) {
    if (m_direct) {
      const int flags = ::fcntl(m_fd.get(), F_GETFL);
      if (flags < 0 || ::fcntl(m_fd.get(), F_SETFL, flags & ~O_DIRECT) != 0) {
        throw_errno("cannot write", m_path);
      }
    }
    write_all(m_fd.get(), std::string_view(reinterpret_cast<const char*>(m_buffer), m_fill), m_path);
    m_fill = 0;
  }
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
