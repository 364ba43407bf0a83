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

nlohmann::json document(nlohmann::json result)
{
  if (!result.is_object()) {
    result = {{"result", std::move(result)}};
  }
  if (!result.contains("ok")) {
    result["ok"] = true;
  }
  result["schema_version"] = k_schema_version;
  return result;
}

std::string searched_in(const std::vector<Session>& sessions, std::filesystem::path (core::Store::*dir)() const)
{
  if (sessions.empty()) {
    return "no model";
  }
  return sessions.size() == 1 ? (sessions.front().store.*dir)().string() : sessions.front().store.root().string();
}

void Session::note(const std::string& message) const
{
  if (tell) {
    tell(message);
  }
}

} // namespace modelkeep::commands
