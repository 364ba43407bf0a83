#include "core/layout/filenames.hpp"

#include "util/text.hpp"

#include <algorithm>
#include <cstdio>

namespace modelkeep::core {

std::string version_id(std::uint64_t number)
{
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "v%03llu", static_cast<unsigned long long>(number));
  return buffer;
}

std::string version_dir_name(std::uint64_t number, util::SystemTime created, std::string_view description)
{
  return version_id(number) + '_' + util::utc_compact(created) + '_' + util::slugify(description);
}

namespace {

bool all_digits(std::string_view text)
{
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_slug_char(char c)
{
  // Bytes past ASCII: letters of other scripts that util::slugify keeps (checked as UTF-8).
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}

} // namespace

std::optional<std::uint64_t> parse_version_dir_name(std::string_view name)
{
  // v<digits>_YYYYMMDD_HHMMSS_<slug>
  if (name.size() < 2 || name[0] != 'v') {
    return std::nullopt;
  }
  const auto first = name.find('_');
  if (first == std::string_view::npos || first < 4) {
    return std::nullopt;
  }
  const auto digits = name.substr(1, first - 1);
  const auto rest = name.substr(first + 1);
  if (rest.size() < 17 || !all_digits(rest.substr(0, 8)) || rest[8] != '_' ||
      !all_digits(rest.substr(9, 6)) || rest[15] != '_') {
    return std::nullopt;
  }
  const auto slug = rest.substr(16);
  if (slug.empty() || !std::all_of(slug.begin(), slug.end(), is_slug_char) || !util::is_utf8(slug)) {
    return std::nullopt;
  }
  std::uint64_t number = 0;
  if (!all_digits(digits) || !util::parse_uint(digits, number) || number == 0) {
    return std::nullopt;
  }
  return number;
}

} // namespace modelkeep::core
