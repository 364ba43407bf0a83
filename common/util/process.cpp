#include "util/process.hpp"

#include "util/text.hpp"

#include <algorithm>
#include <cstdlib>
#include <pwd.h>
#include <thread>
#include <unistd.h>

namespace modelkeep::util {

std::string host_name()
{
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof buffer - 1) != 0 || buffer[0] == '\0') {
    return "unknown";
  }
  return buffer;
}

std::string user_name()
{
  if (const char* user = std::getenv("USER"); user != nullptr && *user != '\0') {
    return user;
  }
  if (const passwd* entry = ::getpwuid(::getuid()); entry != nullptr && entry->pw_name != nullptr) {
    return entry->pw_name;
  }
  return std::to_string(::getuid());
}

unsigned worker_threads(std::size_t max_useful)
{
  unsigned threads = std::max(1U, std::thread::hardware_concurrency());
  if (const char* value = std::getenv("MODELKEEP_THREADS"); value != nullptr) {
    std::uint64_t parsed = 0;
    if (parse_uint(value, parsed) && parsed >= 1 && parsed <= 256) {
      threads = static_cast<unsigned>(parsed);
    }
  }
  return static_cast<unsigned>(std::clamp<std::size_t>(max_useful, 1, threads));
}

} // namespace modelkeep::util
