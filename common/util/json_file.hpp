#pragma once

// JSON files and JSON-lines logs: the one loader every reader uses, with named size limits
// (a file larger than its limit is refused as malformed, never read into memory), errors that
// say where a syntax error is, and "missing" told apart from "unreadable".

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modelkeep::util {

namespace fs = std::filesystem;

/// How large each kind of JSON file may be.
enum class JsonLimit : std::uint64_t {
  settings = std::uint64_t{1} << 20, ///< config files, test records, thresholds, journals: 1 MiB
  record = std::uint64_t{16} << 20,  ///< metadata, backup records, adapter configs, state: 16 MiB
  index = std::uint64_t{256} << 20,  ///< caches, shard indexes and the catalog: 256 MiB
  log = std::uint64_t{4} << 30,      ///< JSON-lines logs and the list index: 4 GiB
};

/// The size limit in bytes.
[[nodiscard]] constexpr std::uint64_t bytes(JsonLimit limit)
{
  return static_cast<std::uint64_t>(limit);
}

/// Parses `text` (the content of `path`); throws Error(malformed) "malformed <what> PATH: line
/// L, column C: <reason>" on a syntax error or a number JSON cannot hold.
[[nodiscard]] nlohmann::json parse_json(const std::string& text, const fs::path& path,
                                        std::string_view what = "JSON file");

/// Reads and parses a JSON file of at most `limit` bytes. Error(not_found) if it does not
/// exist, Error(failed) if it cannot be read (permission, I/O), Error(malformed) if it is too
/// large or does not parse.
[[nodiscard]] nlohmann::json read_json_file(const fs::path& path, JsonLimit limit,
                                            std::string_view what = "JSON file");

/// Like read_json_file(), but nullopt when the file does not exist (ENOENT only: a file that
/// exists and cannot be read is an error, never "absent").
[[nodiscard]] std::optional<nlohmann::json> read_json_file_if_exists(const fs::path& path, JsonLimit limit,
                                                                     std::string_view what = "JSON file");

/// Appends one line to a JSON-lines file with a single O_APPEND write (never fsynced: these
/// are telemetry, and the page cache survives the writer's crash). The caller holds the lock.
void append_line(const fs::path& path, const std::string& line);

/// The last `count` parseable JSON object lines of a file, oldest first, and whether they are
/// all the file has (the whole file was covered). A missing file gives none, complete.
struct Tail {
  std::vector<nlohmann::json> records;
  bool complete = true;
  std::uint64_t end = 0; ///< the file size the tail was read up to
};
[[nodiscard]] Tail read_tail(const fs::path& path, std::size_t count);

/// Every parseable JSON object line of a file (torn or foreign lines skipped); none if missing.
[[nodiscard]] std::vector<nlohmann::json> read_json_lines(const fs::path& path);

} // namespace modelkeep::util
