#pragma once

#include "core/layout/filenames.hpp"
#include "core/tree/manifest.hpp"
#include "core/versions/semver.hpp"
#include "util/clock.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modelkeep::core {

class Store;

/// A complete version directory in versions/ (temporaries are never listed).
struct VersionDir {
  std::uint64_t number = 0;
  std::string name; ///< "v002_20251117_150000_math_focus"
  fs::path path;
};

/// What a user wrote for VERSION: a number ("3", "v3", "v003"), a directory name, "latest", or
/// a stage name ("production"), or a semantic version ("1.2.0").
struct VersionRef {
  enum class Kind { number, name, latest, stage, semver };
  Kind kind = Kind::latest;
  std::uint64_t number = 0;
  std::string name;

  /// Parses a VERSION argument; throws Error(usage) for anything else.
  [[nodiscard]] static VersionRef parse(std::string_view text);
};

/// All complete versions, by number.
[[nodiscard]] std::vector<VersionDir> list_versions(const Store& store);
/// The same, and in `symlinks` the names of the symbolic links in versions/ (`latest`, the
/// stages), from the same reading of the directory.
[[nodiscard]] std::vector<VersionDir> list_versions(const Store& store, std::vector<std::string>& symlinks);

/// The newest version (highest number), or nullopt on an empty store.
[[nodiscard]] std::optional<VersionDir> newest_version(const Store& store);

/// The version a ref names; throws Error(not_found) if there is none.
[[nodiscard]] VersionDir resolve_version(const Store& store, const VersionRef& ref);

/// A training data file named by --data: recorded, not copied.
struct DataFile {
  std::string path;
  std::uint64_t size = 0;
  std::string sha256;
};

/// Everything recorded about a version in its metadata.json.
struct VersionMetadata {
  static constexpr int k_schema_version = 1;

  std::string id;
  std::uint64_t number = 0;
  std::string name;
  std::string created_at;
  std::string description;
  std::string source;
  std::vector<DataFile> training_data;
  std::optional<std::uint64_t> steps;
  std::optional<double> final_loss;
  std::map<std::string, double> metrics;
  std::string base_model;
  std::string parent_version;
  std::string snapshots_source;
  std::uint64_t evolution_snapshot_count = 0;
  Manifest manifest;
  std::string host;
  std::string user;
  std::string tool_version;
  std::string status = "staging"; ///< staging, production, canary, archived, failed, rollback_candidate
  std::string semver;             ///< "1.2.0", or "" if none was given
  std::map<std::string, std::string> tags; ///< free-form KEY=VALUE labels
  // Lineage.
  nlohmann::json hyperparameters;   ///< the --hyperparams JSON, or null
  std::string hyperparameters_hash; ///< SHA-256 of its canonical dump, or ""
  std::string training_data_hash;   ///< SHA-256 over the data files' digests, or ""
  std::optional<std::uint64_t> samples;
  std::optional<std::uint64_t> val_samples;
  std::optional<double> training_seconds;
  std::string base_model_digest; ///< manifest digest of --base-model when it is a path

  /// The metadata.json document (file_count, total_size and manifest_digest derived).
  [[nodiscard]] nlohmann::json to_json() const;

  /// Parses a metadata.json document; throws Error(malformed) naming `origin` on bad input,
  /// including derived fields that disagree with the manifest.
  [[nodiscard]] static VersionMetadata from_json(const nlohmann::json& json, const fs::path& origin);
};

/// Reads and parses `<version dir>/metadata.json`; throws Error(malformed) naming the file.
[[nodiscard]] VersionMetadata load_metadata(const fs::path& version_dir);

/// Replaces `<version dir>/metadata.json` atomically (its temporary in versions/, where the
/// next writer's cleanup looks), opening the read-only version directory just for the rename.
/// The caller holds the lock.
void write_metadata(const fs::path& version_dir, const VersionMetadata& meta);

} // namespace modelkeep::core
