#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace modelkeep::util {

using SystemTime = std::chrono::system_clock::time_point;

/// "YYYYMMDD_HHMMSS" in UTC, as used in version and backup directory names.
[[nodiscard]] std::string utc_compact(SystemTime time);

/// ISO-8601 in UTC with a Z suffix: "2025-11-16T14:30:00Z".
[[nodiscard]] std::string utc_iso8601(SystemTime time);

/// utc_iso8601() of now.
[[nodiscard]] std::string utc_now_iso8601();

/// utc_iso8601()'s text for a table: "2025-11-16 14:30:00" (other text unchanged).
[[nodiscard]] std::string readable_utc(const std::string& iso);

/// Parses utc_iso8601()'s format back; nullopt if the text is not in that format.
[[nodiscard]] std::optional<SystemTime> parse_utc_iso8601(std::string_view text);

/// A time as a person types it: "2025-11-18" (local midnight), "2025-11-18 09:00" or
/// "2025-11-18T09:00:30" (local time), with "Z" (UTC) or an offset ("+01:00", "-0500").
/// nullopt for anything else.
[[nodiscard]] std::optional<SystemTime> parse_time_argument(std::string_view text);

/// "HH:MM:SS" in local time, for messages to a person at this machine.
[[nodiscard]] std::string local_hms(SystemTime time);

/// Seconds since the Unix epoch.
[[nodiscard]] long long to_unix_seconds(SystemTime time);

/// The time point of `seconds` since the Unix epoch.
[[nodiscard]] SystemTime from_unix_seconds(long long seconds);

} // namespace modelkeep::util
