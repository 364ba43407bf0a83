#include "core/layout/events.hpp"

#include "core/layout/store.hpp"
#include "util/clock.hpp"
#include "util/enum_names.hpp"
#include "util/env.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/json_file.hpp"
#include "util/process.hpp"

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace modelkeep::core {

namespace {

constexpr std::string_view k_names[] = {
    "create",      "delete",    "restore",  "status",         "tag",           "untag",
    "promote",     "rollback",  "backup",   "backup_restore", "backup_delete", "backup_cleanup",
    "consolidate", "ab_create", "ab_start", "ab_canary",      "ab_conclude",   "monitor_alert",
    "offsite_push", "offsite_forget", "repair",
};
static_assert(std::size(k_names) == static_cast<std::size_t>(EventKind::repair) + 1);

} // namespace

std::string_view event_name(EventKind kind)
{
  return util::enum_name(k_names, kind);
}

std::optional<EventKind> event_kind(const nlohmann::json& event)
{
  const auto it = event.find("event");
  if (it == event.end() || !it->is_string()) {
    return std::nullopt;
  }
  return util::parse_enum<EventKind>(k_names, it->get_ref<const std::string&>());
}

bool is_event(const nlohmann::json& event, EventKind kind)
{
  return event_kind(event) == kind;
}

std::vector<nlohmann::json> read_events(const Store& store)
{
  return util::read_json_lines(store.events_path());
}

nlohmann::json append_event(const Store& store, EventKind kind, nlohmann::json fields)
{
  nlohmann::json event = {{"event", event_name(kind)}};
  event.update(fields);
  event["time"] = util::utc_now_iso8601();
  event["user"] = util::user_name();
  event["host"] = util::host_name();
  event["pid"] = ::getpid();
  // A crash mid-append can leave a torn line; starting with a newline when the file does
  // not end in one keeps the next event parseable on its own line.
  const fs::path path = store.events_path();
  const int raw = util::env().open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
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
