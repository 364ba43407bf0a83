#pragma once

#include "util/file.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace modelkeep::util {

/// Who holds a lock, as recorded in the lock file by the holder.
struct LockHolder {
  long pid = 0;
  std::string host;
  std::string command;
  long long since_unix = 0; ///< when the holder took the lock, seconds since the epoch
};

/// Told once, after half a second, that a lock is held by someone else and is being waited
/// for ("store is locked by pid N (cmd) since T; waiting up to 30 s (--lock-timeout)").
using LockWaitNote = std::function<void(const std::string&)>;

/// An exclusive `flock` on a lock file. The kernel releases it when the process dies, so a
/// crash never leaves a stale lock; the file records the holder for error messages.
class LockFile {
public:
  /// Takes the lock, waiting up to `timeout` for another holder to let go; throws an Error
  /// with ExitCode::locked naming the holder ("store is locked by pid N (cmd) since T").
  [[nodiscard]] static LockFile acquire(const std::filesystem::path& path, const std::string& command,
                                        std::chrono::milliseconds timeout, const LockWaitNote& waiting = {});

  /// Reads the holder recorded in a lock file; nullopt if none is recorded.
  [[nodiscard]] static std::optional<LockHolder> read_holder(const std::filesystem::path& path);

  LockFile(LockFile&&) noexcept = default;
  LockFile& operator=(LockFile&&) noexcept = default;
  ~LockFile() = default;

  /// The lock file's path.
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return m_path; }

private:
  LockFile(std::filesystem::path path, UniqueFd fd) : m_path(std::move(path)), m_fd(std::move(fd)) {}

  std::filesystem::path m_path;
  UniqueFd m_fd;
};

} // namespace modelkeep::util
