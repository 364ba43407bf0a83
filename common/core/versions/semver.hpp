#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modelkeep::core {

/// A semantic version (semver.org 2.0.0): MAJOR.MINOR.PATCH[-pre.release][+build].
struct SemVer {
  std::uint64_t major = 0;
  std::uint64_t minor = 0;
  std::uint64_t patch = 0;
  std::vector<std::string> pre_release;
  std::string build;

  /// Parses strictly by the spec (no leading zeros in numbers, non-empty identifiers);
  /// nullopt otherwise.
  [[nodiscard]] static std::optional<SemVer> parse(std::string_view text);

  [[nodiscard]] std::string to_string() const;

  /// The next version: "major" (X+1.0.0), "minor" (X.Y+1.0) or "patch" (X.Y.Z+1, or X.Y.Z
  /// itself when this is a pre-release of it); Error(usage) for anything else.
  [[nodiscard]] SemVer bump(std::string_view part) const;
};

/// Precedence by the spec: numbers, then a pre-release is lower than its release, then
/// pre-release identifiers one by one; build metadata is ignored. Negative, zero or positive.
[[nodiscard]] int compare(const SemVer& a, const SemVer& b);

} // namespace modelkeep::core
