#pragma once

// The root's models: catalog and reindex.

#include "commands/session.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace modelkeep::commands {

/// `catalog`: every model of the root, computed from the models' metadata.
struct Catalog {
  std::string root;
  nlohmann::json models; ///< an array of entries (model, latest, active, metric, ...)
  [[nodiscard]] nlohmann::json to_json() const { return {{"root", root}, {"models", models}}; }
};
/// With `repair_file`, the root's catalog.json is rewritten when it disagrees with the metadata
/// (or is still the registry.json of an older release); a reader that cannot write (a read-only
/// mount, a busy lock) leaves that to the next writer.
Catalog catalog(const std::filesystem::path& root, bool repair_file);

/// `reindex`: the index files rebuilt.
struct Reindexed {
  std::vector<std::string> indexes;
  std::string catalog;
  [[nodiscard]] nlohmann::json to_json() const { return {{"index", indexes}, {"catalog", catalog}}; }
};
/// Rebuilds each session's versions/index.json from every metadata.json (under its lock), then
/// the root's catalog.json.
Reindexed reindex(const std::vector<Session>& sessions, const std::filesystem::path& root);

} // namespace modelkeep::commands
