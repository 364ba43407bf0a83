#pragma once

#include "core/manifest.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace modelkeep::core {

class Store;

/// What to back up and how to label it.
struct BackupRequest {
  fs::path source;                         ///< a directory
  std::string type;                        ///< "pre_restore", "deleted_versions", ...
  std::string name;                        ///< base of the backup's name, slugified
  std::string reason;                      ///< free text recorded in backup.json
  std::vector<std::string> critical_files; ///< relative paths that must be present
};

/// A backup that has been written, read back and verified.
struct BackupRecord {
  fs::path path; ///< backups/<type>/<name>_<YYYYMMDD_HHMMSS>
  std::string created_at;
  Manifest manifest; ///< of the files under data/
};

/// The file in a backup directory that holds its manifest and verification record.
inline constexpr std::string_view k_backup_manifest = "backup.json";

/// Copies `request.source` into backups/<type>/<name>_<timestamp>/data/ under a temporary
/// name, hashing as it copies; fsyncs; drops the copy from the page cache and reads it back
/// from disk, comparing file count, sizes, SHA-256 and critical files with the source; only
/// then writes backup.json and renames the backup into place. On any failure the temporary
/// is removed, the source is untouched, and an Error is thrown. The caller holds the lock.
[[nodiscard]] BackupRecord create_verified_backup(const Store& store, const BackupRequest& request,
                                                  bool show_progress);

} // namespace modelkeep::core
