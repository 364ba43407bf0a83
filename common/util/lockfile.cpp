#include "util/lockfile.hpp"

#include "util/clock.hpp"
#include "util/env.hpp"
#include "util/error.hpp"
#include "util/process.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <sys/file.h>
#include <thread>
#include <unistd.h>

namespace modelkeep::util {

namespace {

bool try_flock(int fd, const std::filesystem::path& path)
{
  for (;;) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      return true;
    }
    if (errno == EWOULDBLOCK) {
      return false;
    }
    if (errno != EINTR) {
      throw_errno("cannot lock", path);
    }
  }
}

std::string describe_holder(const std::filesystem::path& path)
{
  // The store's own lock is ".modelkeep/lock"; others (an A/B test's, a stage's monitor lock)
  // are named by their path.
  const std::string what =
      path.parent_path().filename() == ".modelkeep" ? std::string("store") : path.parent_path().string();
  const auto holder = LockFile::read_holder(path);
  if (!holder) {
    return what + " is locked by another process (" + path.string() + ")";
  }
  std::string text = what + " is locked by pid " + std::to_string(holder->pid);
  if (!holder->host.empty() && holder->host != host_name()) {
    text += " on " + holder->host;
  }
  text += " (" + holder->command + ") since " + local_hms(from_unix_seconds(holder->since_unix));
  return text;
}

void record_holder(int fd, const std::string& command, const std::filesystem::path& path)
{
  const nlohmann::json record = {
      {"pid", ::getpid()},
      {"host", host_name()},
      {"command", command},
      {"since", to_unix_seconds(std::chrono::system_clock::now())},
  };
  // Written over the old record, padded with spaces to a fixed size, never truncated: on ext4 a
  // truncation to zero followed by a write forces the data out to disk (its replace-via-truncate
  // heuristic), which would cost milliseconds on every acquisition.
  std::string text = record.dump();
  constexpr std::size_t k_record_size = 512;
  if (text.size() < k_record_size - 1) {
    text.append(k_record_size - 1 - text.size(), ' ');
  }
  text += '\n';
  if (env().pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    throw_errno("cannot write", path);
  }
}

} // namespace

LockFile LockFile::acquire(const std::filesystem::path& path, const std::string& command,
                           std::chrono::milliseconds timeout, const LockWaitNote& waiting)
{
  const int raw = env().open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (raw < 0) {
    throw_errno("cannot open lock file", path);
  }
  UniqueFd fd(raw);
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + timeout;
  // Short waits first (records hold their locks for microseconds), backing off to 50 ms for
  // the long holders (a create copying gigabytes).
  std::chrono::microseconds pause(50);
  bool told = !waiting;
  while (!try_flock(fd.get(), path)) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      throw Error(ExitCode::locked, describe_holder(path));
    }
    if (!told && now - start >= std::chrono::milliseconds(500)) {
      told = true;
      const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout).count();
      waiting(describe_holder(path) + "; waiting up to " + std::to_string(seconds) + " s (--lock-timeout)...");
    }
    std::this_thread::sleep_for(pause);
    pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(50));
  }
  record_holder(fd.get(), command, path);
  return LockFile(path, std::move(fd));
}

std::optional<LockHolder> LockFile::read_holder(const std::filesystem::path& path)
{
  std::string text;
  try {
    text = read_file(path, 4096);
  } catch (const Error&) {
    return std::nullopt;
  }
  const auto record = nlohmann::json::parse(text, nullptr, false);
  if (record.is_discarded() || !record.is_object()) {
    return std::nullopt;
  }
  LockHolder holder;
  holder.pid = record.value("pid", 0L);
  holder.host = record.value("host", "");
  holder.command = record.value("command", "");
  holder.since_unix = record.value("since", 0LL);
  return holder;
}

} // namespace modelkeep::util
