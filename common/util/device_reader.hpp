#pragma once

#include "util/file.hpp"

#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <mutex>
#include <span>
#include <string>
#include <thread>

namespace modelkeep::util {

/// Reads a file front to back from the device, one block ahead on a thread of its own, for a
/// read-back that must see what the disk holds: through O_DIRECT where the filesystem allows
/// it (no page cache: what was just written is not served from memory, and nothing is copied
/// through the kernel's cache), else normally after dropping the file's cached pages (which
/// cannot be forced everywhere: tmpfs keeps them). The caller works on one block while the
/// next is read.
class DeviceReader {
public:
  explicit DeviceReader(const std::filesystem::path& path);
  DeviceReader(const DeviceReader&) = delete;
  DeviceReader& operator=(const DeviceReader&) = delete;
  ~DeviceReader();

  /// The next block of the file, empty at its end; valid until the next call. Throws Error on
  /// a read error.
  [[nodiscard]] std::span<const std::byte> next();

private:
  struct Slot {
    std::byte* data = nullptr;
    std::size_t size = 0;
    std::string error; ///< why reading this block failed
    bool full = false; ///< read (or failed), not yet handed to the caller and released
  };
  void run();
  std::size_t fill(std::byte* data);

  std::filesystem::path m_path;
  UniqueFd m_fd;
  bool m_direct = false; ///< set before the reading thread starts; only that thread changes it
  Slot m_slots[2];
  std::size_t m_next = 0;     ///< the slot next() hands out next
  bool m_handed = false;      ///< a slot is with the caller (the one before m_next)
  bool m_end = false;         ///< the reader thread stopped: end of file or a failure
  bool m_stop = false;
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::thread m_thread;
};

} // namespace modelkeep::util
