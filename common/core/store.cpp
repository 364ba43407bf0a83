#include "core/store.hpp"

#include "core/version.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/log.hpp"

#include <cstdlib>

namespace modelkeep::core {

Store::Store(const fs::path& root) : m_root(fs::absolute(root).lexically_normal())
{
  if (m_root.has_filename() == false && m_root.has_parent_path()) {
    m_root = m_root.parent_path();
  }
}

fs::path Store::choose_root(const std::optional<std::string>& cli_root)
{
  if (cli_root && !cli_root->empty()) {
    return *cli_root;
  }
  if (const char* env = std::getenv("MODELKEEP_ROOT"); env != nullptr && *env != '\0') {
    return env;
  }
  return "models";
}

bool Store::exists() const
{
  std::error_code ec;
  return fs::is_directory(versions_dir(), ec);
}

void Store::require_exists() const
{
  if (!exists()) {
    throw Error(ExitCode::not_found, "no store at " + m_root.string() +
                                         ": no versions/ directory (create a version first, or pass --root)");
  }
}

void Store::ensure_layout() const
{
  for (const auto& dir : {versions_dir(), backups_dir(), consolidated_dir(), state_dir()}) {
    util::create_directories(dir);
  }
}

util::LockFile Store::lock_for_writing(const std::string& command, std::chrono::milliseconds timeout) const
{
  ensure_layout();
  auto lock = util::LockFile::acquire(lock_path(), command, timeout);
  for (const auto& path : clean_leftovers()) {
    util::log_step("removed leftover of an interrupted run: " + path.string());
  }
  repair_latest(*this);
  return lock;
}

namespace {

void remove_temps_in(const fs::path& dir, std::vector<fs::path>& removed)
{
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (util::is_temp_name(it->path().filename().string())) {
      util::remove_all(it->path());
      removed.push_back(it->path());
    }
  }
}

} // namespace

std::vector<fs::path> Store::clean_leftovers() const
{
  std::vector<fs::path> removed;
  remove_temps_in(versions_dir(), removed);
  remove_temps_in(state_dir(), removed);
  remove_temps_in(state_dir() / "objects", removed);
  remove_temps_in(consolidated_dir(), removed);
  std::error_code ec;
  for (fs::directory_iterator it(backups_dir(), ec), end; !ec && it != end; it.increment(ec)) {
    if (util::is_temp_name(it->path().filename().string())) {
      util::remove_all(it->path());
      removed.push_back(it->path());
    } else if (it->is_directory()) {
      remove_temps_in(it->path(), removed);
    }
  }
  if (!removed.empty()) {
    util::fsync_dir(versions_dir());
  }
  return removed;
}

} // namespace modelkeep::core
