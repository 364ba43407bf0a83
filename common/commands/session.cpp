#include "commands/session.hpp"

#include "core/versions/recovery.hpp"

namespace modelkeep::commands {

const core::Store& Session::existing() const
{
  store.require_exists();
  return store;
}

util::LockFile Session::lock(const std::string& command) const
{
  return core::lock_for_writing(existing(), program + " " + command, lock_timeout, tell);
}

void Session::note(const std::string& message) const
{
  if (tell) {
    tell(message);
  }
}

} // namespace modelkeep::commands
