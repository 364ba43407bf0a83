#pragma once

#include "core/versions/version.hpp"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace modelkeep::core {

class Store;

/// What `list` shows of a version, kept in versions/index.json so that a store of many
/// versions lists without parsing every metadata.json.
struct VersionSummary {
  std::string created_at;
  std::string description;
  std::uint64_t file_count = 0;
  std::uint64_t total_size = 0;
  std::optional<std::uint64_t> steps;
  std::optional<double> final_loss;
  std::map<std::string, double> metrics;
  std::string status;
  std::string semver;
  std::map<std::string, std::string> tags;
  std::string manifest_digest;
  std::string parent_version; ///< "" for a root

  [[nodiscard]] static VersionSummary of(const VersionMetadata& meta);
  [[nodiscard]] nlohmann::json to_json() const;
};

/// One listed version: its summary, or why its metadata could not be read. Summaries are
/// shared with the index cache of a long-lived process (never copied per listing), and
/// `summary_json` is the summary's JSON text when the cache has it.
struct ListedVersion {
  VersionDir version;
  std::shared_ptr<const VersionSummary> summary;
  std::string error;
  std::shared_ptr<const std::string> summary_json;
};

/// Every version with its summary. An entry of index.json is used when its metadata.json
/// has the recorded size and modification time (one stat per version); anything else is
/// read from the metadata itself, which stays the source of truth.
/// With `stages`, also the stage links (list_stages()), from the same reading of versions/.
[[nodiscard]] std::vector<ListedVersion> list_summaries(const Store& store,
                                                       std::map<std::string, std::string>* stages = nullptr);

/// The document of versions/index.json built from the metadata files, reusing fresh entries
/// of the one on disk unless `full`: {"versions": {name: {"stamp", "summary"}}, "stages", "latest"}.
/// Reads only.
[[nodiscard]] nlohmann::json build_index(const Store& store, bool full = false);

/// Writes `index` (build_index()'s document) as versions/index.json, atomically; the caller
/// holds the model's lock. Writers call refresh_indexes() (indexes.hpp), which does this and
/// updates the catalog.
void write_index(const Store& store, const nlohmann::json& index);

} // namespace modelkeep::core
