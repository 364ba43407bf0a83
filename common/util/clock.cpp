#include "util/clock.hpp"

#include <cstdio>
#include <ctime>
#include <string>

namespace modelkeep::util {

namespace {

std::tm to_tm(SystemTime time, bool utc)
{
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm parts{};
  if (utc) {
    gmtime_r(&seconds, &parts);
  } else {
    localtime_r(&seconds, &parts);
  }
  return parts;
}

std::string finish(const char* buffer, std::size_t length)
{
  return std::string(buffer, length);
}

} // namespace

std::string utc_compact(SystemTime time)
{
  const std::tm parts = to_tm(time, true);
  char buffer[32];
  return finish(buffer, std::strftime(buffer, sizeof buffer, "%Y%m%d_%H%M%S", &parts));
}

std::string utc_iso8601(SystemTime time)
{
  const std::tm parts = to_tm(time, true);
  char buffer[32];
  return finish(buffer, std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &parts));
}

std::string utc_now_iso8601()
{
  return utc_iso8601(std::chrono::system_clock::now());
}

std::string readable_utc(const std::string& iso)
{
  if (iso.size() == 20 && iso[10] == 'T' && iso[19] == 'Z') {
    return iso.substr(0, 10) + ' ' + iso.substr(11, 8);
  }
  return iso;
}

std::optional<SystemTime> parse_utc_iso8601(std::string_view text)
{
  if (text.size() != 20 || text[19] != 'Z') {
    return std::nullopt;
  }
  std::tm parts{};
  const std::string copy(text);
  const char* end = strptime(copy.c_str(), "%Y-%m-%dT%H:%M:%SZ", &parts);
  if (end == nullptr || *end != '\0') {
    return std::nullopt;
  }
  return std::chrono::system_clock::from_time_t(timegm(&parts));
}

std::optional<SystemTime> parse_time_argument(std::string_view text)
{
  const std::string copy(text);
  std::tm parts{};
  const char* rest = strptime(copy.c_str(), "%Y-%m-%d", &parts);
  if (rest == nullptr) {
    return std::nullopt;
  }
  if (*rest == 'T' || *rest == ' ') {
    const char* after = strptime(rest + 1, "%H:%M", &parts);
    if (after == nullptr) {
      return std::nullopt;
    }
    rest = after;
    if (*rest == ':') {
      after = strptime(rest + 1, "%S", &parts);
      if (after == nullptr) {
        return std::nullopt;
      }
      rest = after;
    }
  }
  const std::string zone(rest);
  if (zone.empty()) {
    parts.tm_isdst = -1; // local time, daylight saving as it was then
    const std::time_t local = std::mktime(&parts);
    return local == -1 ? std::nullopt
                       : std::optional<SystemTime>(std::chrono::system_clock::from_time_t(local));
  }
  long offset_seconds = 0;
  if (zone != "Z") {
    // +HH:MM, -HH:MM, +HHMM or -HHMM
    const std::string digits =
        zone.size() == 6 && zone[3] == ':' ? zone.substr(1, 2) + zone.substr(4, 2) : zone.substr(1);
    if ((zone[0] != '+' && zone[0] != '-') || digits.size() != 4 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
    const long hours = std::stol(digits.substr(0, 2));
    const long minutes = std::stol(digits.substr(2, 2));
    if (hours > 23 || minutes > 59) {
      return std::nullopt;
    }
    offset_seconds = (zone[0] == '+' ? 1 : -1) * (hours * 3600 + minutes * 60);
  }
  return std::chrono::system_clock::from_time_t(timegm(&parts) - offset_seconds);
}

std::string local_hms(SystemTime time)
{
  const std::tm parts = to_tm(time, false);
  char buffer[32];
  return finish(buffer, std::strftime(buffer, sizeof buffer, "%H:%M:%S", &parts));
}

long long to_unix_seconds(SystemTime time)
{
  return std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
}

SystemTime from_unix_seconds(long long seconds)
{
  return SystemTime(std::chrono::seconds(seconds));
}

} // namespace modelkeep::util
