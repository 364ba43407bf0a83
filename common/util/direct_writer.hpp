#pragma once

#include "util/file.hpp"

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <filesystem>
#include <mutex>
#include <span>
#include <thread>

namespace modelkeep::util {

/// Writes a new file front to back, through O_DIRECT where the filesystem allows it: whole
/// aligned blocks go from an aligned staging buffer straight to the device, without being
/// copied into the page cache (on these machines writing 2 GiB through the page cache costs
/// 2-4 s of kernel time, through O_DIRECT under 1 s) and without evicting what other work has
/// cached. The tail that does not fill a block is written normally. Where O_DIRECT is refused
/// (tmpfs, some network filesystems), everything is written normally.
///
/// Full 8 MiB buffers are written on a thread of its own (started by the first one, so a small
/// file never starts it) while the caller fills the other buffer: the caller's work (hashing,
/// compressing, merging) overlaps the device's. A failed write is reported by the next write()
/// or by finish().
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

private:
  /// Writes the whole aligned blocks of `data[0, size)`; returns how many bytes that was.
  std::size_t write_blocks(const std::byte* data, std::size_t size);
  void hand_over();  ///< gives the full current buffer to the writer thread
  void wait_idle();  ///< until the writer thread has written what it was given; rethrows its failure
  void run();

  std::filesystem::path m_path;
  UniqueFd m_fd;
  unsigned m_mode = 0;
  bool m_direct = false; ///< changed only by whichever thread is writing (the mutex hands it over)
  std::byte* m_buffers[2] = {nullptr, nullptr}; ///< aligned, k_buffer_size bytes each
  int m_current = 0;                            ///< the buffer the caller fills
  std::size_t m_fill = 0;

  std::mutex m_mutex;
  std::condition_variable m_changed;
  const std::byte* m_job = nullptr; ///< a full buffer given to the writer thread, until written
  std::exception_ptr m_failure;
  bool m_stop = false;
  std::thread m_thread;
};

} // namespace modelkeep::util
