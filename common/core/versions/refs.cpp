#include "core/versions/refs.hpp"

#include "core/layout/store.hpp"
#include "core/versions/version.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/json_file.hpp"

#include <chrono>
#include <unistd.h>

namespace modelkeep::core {

namespace {

/// The name a link in versions/ points to; nullopt if there is no such link (missing, or not
/// a link); any other failure (permission, I/O) is an error, never "no link".
std::optional<std::string> read_link(const fs::path& link)
{
  std::error_code ec;
  const fs::path target = fs::read_symlink(link, ec);
  if (ec == std::errc::no_such_file_or_directory || ec == std::errc::invalid_argument ||
      ec == std::errc::not_a_directory) {
    return std::nullopt;
  }
  if (ec) {
    throw sys_error("cannot read link", link, ec.value());
  }
  return target.filename().string();
}

} // namespace

std::optional<std::string> read_latest_link(const Store& store)
{
  return read_link(store.latest_path());
}

void repair_latest(const Store& store)
{
  const auto newest = newest_version(store);
  const fs::path link = store.latest_path();
  if (!newest) {
    std::error_code ec;
    if (util::is_symlink(link)) {
      util::remove_all(link);
      util::fsync_dir(store.versions_dir());
    }
    return;
  }
  if (read_latest_link(store) != newest->name) {
    util::replace_symlink(link, newest->name);
  }
}

std::optional<std::string> stage_holder(const Store& store, const std::string& stage)
{
  return read_link(store.versions_dir() / stage);
}

std::map<std::string, std::string> list_stages(const Store& store, const std::vector<std::string>& symlinks)
{
  std::map<std::string, std::string> stages;
  for (const auto& name : symlinks) {
    if (name == filenames::latest || util::is_temp_name(name)) {
      continue;
    }
    if (const auto holder = stage_holder(store, name)) {
      stages[name] = *holder;
    }
  }
  return stages;
}

std::map<std::string, std::string> list_stages(const Store& store)
{
  std::vector<std::string> symlinks;
  (void)util::for_each_entry(store.versions_dir(), [&](const std::string& name, util::EntryKind kind) {
    if (kind == util::EntryKind::symlink) {
      symlinks.push_back(name);
    }
  });
  return list_stages(store, symlinks);
}

namespace {

fs::path stage_move_path(const Store& store)
{
  return store.state_dir() / filenames::stage_move;
}

} // namespace

std::string begin_stage_move(const Store& store, EventKind kind, const nlohmann::json& fields)
{
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const std::string id = std::to_string(::getpid()) + "-" +
                         std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
  nlohmann::json journal = fields;
  journal["event"] = event_name(kind);
  journal["move"] = id;
  util::create_directories(store.state_dir());
  util::write_file_atomic(stage_move_path(store), journal.dump() + '\n');
  return id;
}

void end_stage_move(const Store& store)
{
  util::remove_all(stage_move_path(store));
  util::fsync_dir(store.state_dir());
}

void finish_stage_move(const Store& store)
{
  const fs::path path = stage_move_path(store);
  std::optional<nlohmann::json> journal;
  try {
    journal = util::read_json_file_if_exists(path, util::JsonLimit::settings, "stage move journal");
  } catch (const Error&) {
    journal = nlohmann::json(); // torn before its rename: the move had not begun
  }
  if (!journal) {
    return;
  }
  const auto kind = event_kind(*journal);
  if (kind && journal->is_object() && (*journal)["stage"].is_string() && (*journal)["to"].is_string() &&
      (*journal)["move"].is_string() &&
      stage_holder(store, (*journal)["stage"].get<std::string>()) == (*journal)["to"].get<std::string>()) {
    bool logged = false;
    for (const auto& event : util::read_tail(store.events_path(), 64).records) {
      logged = logged || (event.is_object() && event.value("move", "") == (*journal)["move"]);
    }
    if (!logged) {
      nlohmann::json fields = *journal;
      fields.erase("event");
      fields["recovered"] = true;
      (void)append_event(store, *kind, fields);
    }
  }
  end_stage_move(store);
}

} // namespace modelkeep::core
