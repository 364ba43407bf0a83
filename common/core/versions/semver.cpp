#include "core/versions/semver.hpp"

#include "util/error.hpp"
#include "util/text.hpp"

#include <algorithm>

namespace modelkeep::core {

namespace {

bool is_numeric(std::string_view id)
{
  return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool valid_identifier(std::string_view id)
{
  return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
  });
}

std::optional<std::uint64_t> number(std::string_view text)
{
  std::uint64_t value = 0;
  if (!is_numeric(text) || (text.size() > 1 && text.front() == '0') || !util::parse_uint(text, value)) {
    return std::nullopt;
  }
  return value;
}

} // namespace

std::optional<SemVer> SemVer::parse(std::string_view text)
{
  SemVer v;
  if (const auto plus = text.find('+'); plus != std::string_view::npos) {
    v.build = text.substr(plus + 1);
    for (const auto& id : util::split(v.build, '.')) {
      if (!valid_identifier(id)) {
        return std::nullopt;
      }
    }
    text = text.substr(0, plus);
  }
  if (const auto dash = text.find('-'); dash != std::string_view::npos) {
    for (const auto& id : util::split(text.substr(dash + 1), '.')) {
      if (!valid_identifier(id) || (is_numeric(id) && id.size() > 1 && id.front() == '0')) {
        return std::nullopt;
      }
      v.pre_release.push_back(id);
    }
    text = text.substr(0, dash);
  }
  const auto parts = util::split(text, '.');
  if (parts.size() != 3) {
    return std::nullopt;
  }
  const auto major = number(parts[0]);
  const auto minor = number(parts[1]);
  const auto patch = number(parts[2]);
  if (!major || !minor || !patch) {
    return std::nullopt;
  }
  v.major = *major;
  v.minor = *minor;
  v.patch = *patch;
  return v;
}

std::string SemVer::to_string() const
{
  std::string text = std::to_string(major) + '.' + std::to_string(minor) + '.' + std::to_string(patch);
  for (std::size_t i = 0; i < pre_release.size(); ++i) {
    text += (i == 0 ? '-' : '.') + pre_release[i];
  }
  if (!build.empty()) {
    text += '+' + build;
  }
  return text;
}

SemVer SemVer::bump(std::string_view part) const
{
  SemVer next{major, minor, patch, {}, {}};
  if (part == "major") {
    next = {major + 1, 0, 0, {}, {}};
  } else if (part == "minor") {
    next = {major, minor + 1, 0, {}, {}};
  } else if (part == "patch") {
    if (pre_release.empty()) {
      next.patch = patch + 1;
    }
  } else {
    throw Error(ExitCode::usage, "invalid bump '" + std::string(part) + "': use major, minor or patch");
  }
  return next;
}

int compare(const SemVer& a, const SemVer& b)
{
  for (const auto& [x, y] :
       {std::pair{a.major, b.major}, std::pair{a.minor, b.minor}, std::pair{a.patch, b.patch}}) {
    if (x != y) {
      return x < y ? -1 : 1;
    }
  }
  if (a.pre_release.empty() || b.pre_release.empty()) {
    return a.pre_release.empty() == b.pre_release.empty() ? 0 : (a.pre_release.empty() ? 1 : -1);
  }
  for (std::size_t i = 0; i < std::min(a.pre_release.size(), b.pre_release.size()); ++i) {
    const std::string& x = a.pre_release[i];
    const std::string& y = b.pre_release[i];
    if (x == y) {
      continue;
    }
    const bool xn = is_numeric(x);
    const bool yn = is_numeric(y);
    if (xn && yn) {
      return x.size() != y.size() ? (x.size() < y.size() ? -1 : 1) : (x < y ? -1 : 1);
    }
    if (xn != yn) {
      return xn ? -1 : 1; // numeric identifiers have lower precedence
    }
    return x < y ? -1 : 1;
  }
  return a.pre_release.size() == b.pre_release.size()
             ? 0
             : (a.pre_release.size() < b.pre_release.size() ? -1 : 1);
}

} // namespace modelkeep::core
