#pragma once

#include "util/file.hpp"

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>

namespace modelkeep::util {

/// Writes a new file front to back, through O_DIRECT where the filesystem allows it: whole
/// aligned blocks go from an aligned staging buffer straight to the device, without being
/// copied into the page cache (on these machines writing 2 GiB through the page cache costs
/// 2-4 s of kernel time, through O_DIRECT under 1 s) and without evicting what other work has
/// cached. The tail that does not fill a block is written normally. Where O_DIRECT is refused
/// (tmpfs, some network filesystems), everything is written normally.
class SequentialWriter {
public:
  /// Creates `path` (which must not exist); it gets exactly `mode`, whatever the umask.
  SequentialWriter(const std::filesystem::path& path, unsigned mode);
  SequentialWriter(const SequentialWriter&) = delete;
  SequentialWriter& operator=(const SequentialWriter&) = delete;
  ~SequentialWriter();

  void write(std::span<const std::byte> bytes);

  /// Writes what is staged, sets the mode, fsyncs and closes; the file is complete and durable
  /// afterwards. With `drop_cache`, a file that went through the page cache after all is
  /// dropped from it, so that a verification reads the device.
  void finish(bool drop_cache = false);

  [[nodiscard]] bool direct() const noexcept { return m_direct; }

private:
  void flush_blocks();

  std::filesystem::path m_path;
  UniqueFd m_fd;
  unsigned m_mode = 0;
  bool m_direct = false;
  std::byte* m_buffer = nullptr; ///< aligned to k_alignment, k_buffer_size bytes
  std::size_t m_fill = 0;
};

} // namespace modelkeep::util
