#include "util/device_reader.hpp"

#include "util/error.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace modelkeep::util {

namespace {

constexpr std::size_t k_alignment = 4096;
constexpr std::size_t k_block = 16 << 20;

} // namespace

DeviceReader::DeviceReader(const std::filesystem::path& path) : m_path(path)
{
  m_fd = open_for_reading(path);
  const int flags = ::fcntl(m_fd.get(), F_GETFL);
  m_direct = flags >= 0 && ::fcntl(m_fd.get(), F_SETFL, flags | O_DIRECT) == 0;
  if (!m_direct) {
    ::posix_fadvise(m_fd.get(), 0, 0, POSIX_FADV_DONTNEED);
  }
  ::posix_fadvise(m_fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  for (auto& slot : m_slots) {
    void* memory = nullptr;
    if (::posix_memalign(&memory, k_alignment, k_block) != 0) {
      for (auto& allocated : m_slots) {
        std::free(allocated.data);
      }
      throw Error(ExitCode::failed, "out of memory for a read buffer of " + path.string());
    }
    slot.data = static_cast<std::byte*>(memory);
  }
  m_thread = std::thread([this] { run(); });
}

DeviceReader::~DeviceReader()
{
  {
    const std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_changed.notify_all();
  m_thread.join();
  for (auto& slot : m_slots) {
    std::free(slot.data);
  }
}

std::size_t DeviceReader::fill(std::byte* data)
{
  std::size_t done = 0;
  while (done < k_block) {
    const ssize_t n = ::read(m_fd.get(), data + done, k_block - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && errno == EINVAL && m_direct && done % k_alignment == 0) {
      // The filesystem took O_DIRECT at open but refuses the read: go on without it.
      const int flags = ::fcntl(m_fd.get(), F_GETFL);
      if (flags < 0 || ::fcntl(m_fd.get(), F_SETFL, flags & ~O_DIRECT) != 0) {
        throw_errno("cannot read", m_path);
      }
      m_direct = false;
      continue;
    }
    if (n < 0) {
      throw_errno("cannot read", m_path);
    }
    if (n == 0) {
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  return done;
}

void DeviceReader::run()
{
  for (std::size_t index = 0;; index ^= 1) {
    Slot& slot = m_slots[index];
    {
      std::unique_lock lock(m_mutex);
      m_changed.wait(lock, [&] { return m_stop || !slot.full; });
      if (m_stop) {
        return;
      }
    }
    std::size_t size = 0;
    std::string error;
    try {
      size = fill(slot.data);
    } catch (const Error& e) {
      error = e.what();
    }
    const bool last = !error.empty() || size < k_block;
    {
      const std::lock_guard lock(m_mutex);
      slot.size = size;
      slot.error = std::move(error);
      slot.full = true;
      m_end = last;
    }
    m_changed.notify_all();
    if (last) {
      return;
    }
  }
}

std::span<const std::byte> DeviceReader::next()
{
  std::unique_lock lock(m_mutex);
  if (m_handed) {
    m_slots[m_next ^ 1].full = false; // the caller is done with the block it had
    m_handed = false;
    m_changed.notify_all();
  }
  Slot& slot = m_slots[m_next];
  m_changed.wait(lock, [&] { return slot.full || m_end; });
  if (!slot.full) {
    return {}; // the block before was the last
  }
  if (!slot.error.empty()) {
    throw Error(ExitCode::failed, slot.error);
  }
  m_next ^= 1;
  m_handed = true;
  return {slot.data, slot.size};
}

} // namespace modelkeep::util
