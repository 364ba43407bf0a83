#include "util/failpoint.hpp"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace modelkeep::util {

namespace {

struct FailpointSetting {
  std::string name;
  long hit = 1;
};

FailpointSetting read_setting()
{
  FailpointSetting setting;
  const char* value = std::getenv("MODELKEEP_FAILPOINT");
  if (value == nullptr) {
    return setting;
  }
  setting.name = value;
  if (const auto at = setting.name.find('@'); at != std::string::npos) {
    setting.hit = std::strtol(setting.name.c_str() + at + 1, nullptr, 10);
    setting.name.resize(at);
  }
  return setting;
}

} // namespace

void failpoint(std::string_view name)
{
  static const FailpointSetting setting = read_setting();
  static std::atomic<long> hits{0};
  if (setting.name.empty() || name != setting.name) {
    return;
  }
  if (++hits >= setting.hit) {
    ::kill(::getpid(), SIGKILL);
    ::pause();
  }
}

} // namespace modelkeep::util
