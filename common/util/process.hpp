#pragma once

#include <string>

namespace modelkeep::util {

/// This machine's host name, or "unknown".
[[nodiscard]] std::string host_name();

/// The user running the process ($USER, else the passwd entry, else the numeric uid).
[[nodiscard]] std::string user_name();

/// Number of worker threads for I/O-and-hash work: $MODELKEEP_THREADS if set (>= 1), else
/// the number of cores, capped at `max_useful`.
[[nodiscard]] unsigned worker_threads(std::size_t max_useful);

} // namespace modelkeep::util
