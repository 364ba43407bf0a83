#pragma once

#include "core/backup/backup.hpp"
#include "core/backup/restore.hpp"
#include "core/layout/objects.hpp"
#include "core/tree/manifest.hpp"
#include "core/versions/version.hpp"

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace modelkeep::core {

class Store;

/// What `create` was asked to snapshot.
struct CreateRequest {
  fs::path adapter;
  std::string description;
  std::vector<fs::path> data_files;
  std::optional<std::uint64_t> steps;
  std::optional<double> final_loss;
  std::map<std::string, double> metrics;
  std::optional<fs::path> snapshots;
  std::string base_model;           ///< empty: taken from adapter_config.json if present
  std::optional<VersionRef> parent; ///< nullopt: the newest version, if any
  bool allow_duplicate = false;
  std::optional<std::string> semver;   ///< an explicit semantic version
  std::optional<std::string> bump;     ///< major, minor or patch from the highest in the store
  std::optional<fs::path> hyperparams; ///< a JSON file of hyperparameters
  std::optional<std::uint64_t> samples;
  std::optional<std::uint64_t> val_samples;
  std::optional<double> training_seconds;
  std::optional<LinkMode> link; ///< nullopt: the store's setting (automatic by default)
};

/// The highest semantic version recorded in the store, if any.
[[nodiscard]] std::optional<SemVer> highest_semver(const Store& store);

/// Snapshots an adapter as the next version: copies and hashes it (and the snapshots) into a
/// temporary directory, refuses (Error refused) content identical to the newest version
/// unless allowed, writes metadata.json, renames the directory into place, moves `latest`
/// and logs a "create" event. The caller holds the store lock.
[[nodiscard]] VersionMetadata create_version(const Store& store, const CreateRequest& request,
                                             const std::string& tool_version, bool show_progress,
                                             IngestStats* stats = nullptr);

/// The manifest create_version() would record for this request (adapter/ and
/// evolution_snapshots/ files), hashed in place without copying.
[[nodiscard]] Manifest source_manifest(const CreateRequest& request);

/// The newest version whose content digest is `digest`, if any (versions whose metadata
/// cannot be read are skipped).
[[nodiscard]] std::optional<VersionDir> find_version_by_digest(const Store& store, const std::string& digest);

/// Removes the objects no version's manifest names (after a delete or gc, or left by a killed
/// create); nothing if any version's metadata cannot be read (then no object can be known to
/// be unused). The caller holds the lock. Returns how many were removed.
std::size_t prune_unreferenced_objects(const Store& store);

/// Result of deleting a version.
struct DeleteResult {
  VersionDir version;
  BackupRecord backup;
};

/// Whether a deletion first makes a verified backup.
enum class BackupFirst { no, yes };

/// Backs the version up (verified, type deleted_versions) unless told not to, then removes
/// it, moves `latest` if needed, and logs a "delete" event. The caller holds the store lock
/// and calls prune_objects() once it has deleted what it deletes.
[[nodiscard]] DeleteResult delete_version(const Store& store, const VersionDir& version, bool show_progress,
                                          BackupFirst backup = BackupFirst::yes);

/// Restores a version's adapter into `target` (see restore_tree) and logs a "restore"
/// event. The caller holds the store lock.
[[nodiscard]] RestoreResult restore_version(const Store& store, const VersionDir& version,
                                            const VersionMetadata& metadata, const fs::path& target,
                                            bool show_progress);

/// The outcome of checking one version on disk.
struct VersionCheck {
  VersionDir version;
  std::optional<std::string> metadata_error; ///< set if metadata.json could not be used
  TreeCheck files;
  std::uint64_t file_count = 0;
  std::uint64_t total_size = 0;

  [[nodiscard]] bool ok() const { return !metadata_error && files.ok(); }
};

/// Re-reads every file of the version and compares it with its metadata.
[[nodiscard]] VersionCheck verify_version(const VersionDir& version, bool show_progress);

/// Verifies the version and throws Error(failed) "refusing to <action> <name>: it fails
/// verification (...)" unless it is intact.
void require_verified(const VersionDir& version, const std::string& action, bool show_progress);

} // namespace modelkeep::core
