#include "util/log.hpp"

#include <cstdio>
#include <mutex>

namespace modelkeep::util {

namespace {

std::string s_program = "modelkeep";
bool s_verbose = false;
std::mutex s_mutex;

} // namespace

void configure_log(std::string_view program, bool verbose)
{
  const std::lock_guard lock(s_mutex);
  s_program = program;
  s_verbose = verbose;
}

void log_step(const std::string& message)
{
  const std::lock_guard lock(s_mutex);
  if (s_verbose) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: %s\n", s_program.c_str(), message.c_str());
  }
}

void log_warning(const std::string& message)
{
  const std::lock_guard lock(s_mutex);
  std::fflush(stdout);
  std::fprintf(stderr, "%s: warning: %s\n", s_program.c_str(), message.c_str());
}

} // namespace modelkeep::util
