#include "util/error.hpp"

#include <cerrno>
#include <cstring>

namespace modelkeep {

std::string errno_text(int err)
{
  return std::strerror(err);
}

Error sys_error(std::string_view what, const std::filesystem::path& path, int err)
{
  std::string message(what);
  message += ' ';
  message += path.string();
  message += ": ";
  message += errno_text(err);
  return Error(ExitCode::failed, message);
}

void throw_errno(std::string_view what, const std::filesystem::path& path)
{
  throw sys_error(what, path, errno);
}

} // namespace modelkeep
