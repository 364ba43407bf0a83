#include "util/progress.hpp"

#include "util/text.hpp"

#include <cstdio>
#include <unistd.h>

namespace modelkeep::util {

using Clock = std::chrono::steady_clock;

Progress::Progress(std::string label, std::uint64_t total_bytes, bool enabled)
    : m_label(std::move(label)), m_total(total_bytes), m_enabled(enabled && ::isatty(STDERR_FILENO) == 1),
      m_start(Clock::now()), m_last_draw(m_start)
{
}

Progress::~Progress()
{
  finish();
}

void Progress::add(std::uint64_t bytes)
{
  m_done += bytes;
  if (!m_enabled) {
    return;
  }
  const auto now = Clock::now();
  if (now - m_start < std::chrono::seconds(1)) {
    return;
  }
  std::unique_lock lock(m_draw_mutex, std::try_to_lock);
  if (lock.owns_lock() && now - m_last_draw >= std::chrono::milliseconds(100)) {
    draw(now);
  }
}

void Progress::draw(Clock::time_point now)
{
  m_last_draw = now;
  const double seconds = std::chrono::duration<double>(now - m_start).count();
  const std::uint64_t done = m_done.load();
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
  std::string line = "\r" + m_label + "  " + human_size(done) + " / " + human_size(m_total);
  if (rate > 0) {
    line += "  " + human_size(static_cast<std::uint64_t>(rate)) + "/s";
    if (m_total > done) {
      const auto eta = static_cast<long>(static_cast<double>(m_total - done) / rate);
      char buffer[32];
      std::snprintf(buffer, sizeof buffer, "  ETA %ld:%02ld", eta / 60, eta % 60);
      line += buffer;
    }
  }
  line += "\x1b[K";
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
  m_drawn = true;
}

void Progress::finish()
{
  const std::lock_guard lock(m_draw_mutex);
  if (m_drawn) {
    std::fputs("\r\x1b[K", stderr);
    std::fflush(stderr);
    m_drawn = false;
  }
}

} // namespace modelkeep::util
