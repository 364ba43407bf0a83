#include "core/layout/events.hpp"

#include "core/layout/store.hpp"
#include "util/clock.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/process.hpp"

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace modelkeep::core {

nlohmann::json append_event(const Store& store, nlohmann::json event)
{
  event["time"] = util::utc_now_iso8601();
  event["user"] = util::user_name();
  event["host"] = util::host_name();
  event["pid"] = ::getpid();
  // A crash mid-append can leave a torn line; starting with a newline when the file does
  // not end in one keeps the next event parseable on its own line.
  const fs::path path = store.events_path();
  const int raw = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (raw < 0) {
    throw_errno("cannot open event log", path);
  }
  util::UniqueFd fd(raw);
  std::string line = event.dump() + '\n';
  const off_t end = ::lseek(fd.get(), 0, SEEK_END);
  if (end > 0) {
    char last = '\n';
    if (::pread(fd.get(), &last, 1, end - 1) == 1 && last != '\n') {
      line.insert(0, 1, '\n');
    }
  }
  util::write_all(fd.get(), line, path);
  util::fsync_fd(fd.get(), path);
  fd.close(path);
  if (end == 0) {
    util::fsync_dir(path.parent_path());
  }
  return event;
}

} // namespace modelkeep::core
