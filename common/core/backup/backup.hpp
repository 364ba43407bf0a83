#pragma once

#include "core/layout/filenames.hpp"
#include "core/tree/manifest.hpp"
#include "core/tree/verification.hpp"
#include "util/clock.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modelkeep::util {
class Progress;
}

namespace modelkeep::core {

class Store;

/// How a backup holds its files: a plain directory, or one tar archive (optionally zstd).
enum class BackupFormat { dir, tar, tar_zst };

/// "dir", "tar" or "tar.zst".
[[nodiscard]] std::string_view format_name(BackupFormat format);

/// Parses format_name()'s output; throws Error(usage) otherwise.
[[nodiscard]] BackupFormat parse_format(std::string_view text);

/// What to back up and how to label it.
struct BackupRequest {
  fs::path source;                         ///< a directory
  std::string type;                        ///< "pre_restore", "deleted_versions", ...
  std::string name;                        ///< base of the backup's name, slugified
  std::string reason;                      ///< free text recorded in backup.json
  std::vector<std::string> critical_files; ///< relative paths that must be present
  BackupFormat format = BackupFormat::dir;
  int level = 3; ///< zstd level for tar.zst
};

/// A backup that has been written, read back and verified.
struct BackupRecord {
  fs::path path; ///< backups/<type>/<name>_<YYYYMMDD_HHMMSS>
  std::string created_at;
  Manifest manifest; ///< of the backed-up files
};

/// Copies `request.source` into backups/<type>/<name>_<timestamp>/ (data/ or data.tar[.zst])
/// under a temporary name, hashing as it copies; fsyncs; drops the copy from the page cache
/// and reads it back from disk (archives through libarchive), comparing file count, sizes,
/// SHA-256 and critical files with the source; only then writes backup.json and renames the
/// backup into place. On any failure the temporary is removed, the source is untouched, and
/// an Error is thrown. The caller holds the store lock.
[[nodiscard]] BackupRecord create_verified_backup(const Store& store, const BackupRequest& request,
                                                  bool show_progress);

/// The critical files of a source directory: each of the usual adapter and model weight and
/// config files present at its top level, and every shard a model.safetensors.index.json
/// names. Throws Error(malformed) for an adapter (adapter_config.json) without weights, or a
/// shard index that is not valid JSON.
[[nodiscard]] std::vector<std::string> default_critical_files(const fs::path& source);

/// A committed backup as read from its backup.json.
struct BackupInfo {
  fs::path path;
  std::string type;
  std::string name;
  std::string source;
  std::string reason;
  std::string created_at;
  std::string host;
  std::string user;
  BackupFormat format = BackupFormat::dir;
  Manifest manifest;
  std::vector<std::string> critical_files;
  VerificationRecord verification; ///< the state of this copy (see tree/verification.hpp)

  /// Where the files are: <path>/data, <path>/data.tar or <path>/data.tar.zst.
  [[nodiscard]] fs::path data_path() const;
  /// "TYPE/NAME", how commands name it.
  [[nodiscard]] std::string id() const { return type + '/' + name; }

  /// The summary printed by `list --json` and served by the HTTP API.
  [[nodiscard]] nlohmann::json to_json() const;
};

/// Reads <dir>/backup.json; throws Error(malformed) naming the file on bad input.
[[nodiscard]] BackupInfo load_backup(const fs::path& dir);

/// One backup directory found in the store: its info, or why it could not be read.
struct BackupEntry {
  fs::path path;
  std::string type;
  std::string name;
  std::optional<BackupInfo> info;
  std::string error;
};

/// Every committed backup (a directory with a backup.json; temporaries are skipped), by type
/// then name; `type` restricts the list to one type.
[[nodiscard]] std::vector<BackupEntry> list_backups(const Store& store,
                                                    const std::optional<std::string>& type);

/// `backup-manager list --json`'s document: {"root", "model", "backups": [to_json() or {id, path, error}]}.
[[nodiscard]] nlohmann::json backups_document(const Store& store, const std::vector<BackupEntry>& entries);

/// The backup a user named: a path, TYPE/NAME, or a bare directory name (unique across types).
/// Throws Error(not_found) or Error(usage) for an ambiguous name.
[[nodiscard]] BackupInfo resolve_backup(const Store& store, const std::string& text);

/// The result of checking a backup.
struct BackupCheck {
  CheckDepth depth = CheckDepth::full;
  std::vector<std::string> checks;   ///< which checks ran
  std::vector<std::string> problems; ///< one line per problem; empty when good
  [[nodiscard]] bool ok() const noexcept { return problems.empty(); }
};

/// The seed's four checks (file count, exact total size, critical files, each file's size)
/// plus every SHA-256 unless Hashing::no, on the backup as it is on disk.
[[nodiscard]] BackupCheck verify_backup(const BackupInfo& backup, Hashing hashing, util::Progress* progress,
                                        util::ReadFrom from = util::ReadFrom::cache);

/// Applies `check` to the verification state recorded in the backup's backup.json (by the
/// rule of tree/verification.hpp: a failure stands until a full check passes; a quick check
/// never upgrades) and rewrites it atomically; returns the new state. The caller holds the lock.
VerificationRecord record_verification(const BackupInfo& backup, const BackupCheck& check);

/// Rewrites the backup's backup.json atomically with `value` under `key`, every other key kept.
void update_backup_record(const BackupInfo& backup, const std::string& key, const nlohmann::json& value);

/// The value under `key` in the backup's backup.json, or null.
[[nodiscard]] nlohmann::json read_backup_record(const BackupInfo& backup, const std::string& key);

/// Removes a backup: renamed to a temporary name first (it disappears at once), then deleted.
void remove_backup(const BackupInfo& backup);

} // namespace modelkeep::core
