#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace modelkeep::util {

/// A byte-count progress bar on stderr (bytes, rate, ETA). It draws only when enabled, stderr
/// is a terminal and the work has taken over a second; add() may be called from any thread.
class Progress {
public:
  Progress(std::string label, std::uint64_t total_bytes, bool enabled);
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  ~Progress();

  /// Counts `bytes` more as done and redraws at most ten times a second.
  void add(std::uint64_t bytes);
  /// Erases the bar if one was drawn.
  void finish();

  /// Bytes counted so far.
  [[nodiscard]] std::uint64_t done() const noexcept { return m_done.load(); }

private:
  void draw(std::chrono::steady_clock::time_point now);

  std::string m_label;
  std::uint64_t m_total;
  bool m_enabled;
  std::atomic<std::uint64_t> m_done{0};
  std::chrono::steady_clock::time_point m_start;
  std::chrono::steady_clock::time_point m_last_draw;
  std::mutex m_draw_mutex;
  bool m_drawn = false;
};

} // namespace modelkeep::util
