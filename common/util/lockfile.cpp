#include "util/lockfile.hpp"

#include "util/clock.hpp"
#include "util/error.hpp"
#include "util/process.hpp"

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
  const auto holder = LockFile::read_holder(path);
  if (!holder) {
    return "store is locked by another process (" + path.string() + ")";
  }
  std::string text = "store is locked by pid " + std::to_string(holder->pid);
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
  const std::string text = record.dump() + "\n";
  if (::ftruncate(fd, 0) != 0) {
    throw_errno("cannot truncate", path);
  }
  if (::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    throw_errno("cannot write", path);
  }
}

} // namespace

LockFile LockFile::acquire(const std::filesystem::path& path, const std::string& command,
                           std::chrono::milliseconds timeout)
{
  const int raw = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (raw < 0) {
    throw_errno("cannot open lock file", path);
  }
  UniqueFd fd(raw);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!try_flock(fd.get(), path)) {
    if (std::chrono::steady_clock::now() >= deadline) {
      throw Error(ExitCode::locked, describe_holder(path));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
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
