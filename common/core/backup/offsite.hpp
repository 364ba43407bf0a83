#pragma once

// Off-machine copies of verified backups, through restic run as a program: its repositories
// reach local paths, sftp, its REST server, S3, B2 and anything rclone reaches, with
// encryption, deduplication and verification that modelkeep does not re-implement.

#include "core/backup/backup.hpp"
#include "core/backup/restic.hpp"
#include "core/layout/store.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace modelkeep::core {

/// Where the copies go and how restic is run, for `store`'s model: `offsite` in
/// .modelkeep/config.json ({"repository", "password_file", "options": {"sftp.command": ...},
/// "timeout_seconds"}), with RESTIC_REPOSITORY / RESTIC_PASSWORD_FILE taking precedence, and
/// --repo over both. Error(usage) naming both ways to set it when no
/// repository or no password file is configured, Error(failed) if the password file cannot
/// be read.
[[nodiscard]] ResticConfig load_restic_config(const Store& store,
                                              const std::optional<std::string>& repo_flag);

/// One restic snapshot that holds a modelkeep backup, with its tags read back.
struct RemoteCopy {
  std::string id;       ///< full snapshot id
  std::string short_id; ///< its first 8 characters
  std::string time;     ///< when restic took it
  std::string model;
  std::string type;
  std::string name;
  std::string source;
  std::string digest;     ///< the backup's manifest digest
  std::string created_at; ///< the backup's own creation time
  std::vector<std::string> paths;

  [[nodiscard]] std::string backup_id() const { return type + '/' + name; }
};

/// Every snapshot of the repository that holds a modelkeep backup (tagged modelkeep), with its
/// tags read back.
[[nodiscard]] std::vector<RemoteCopy> remote_copies(const Restic& restic);

/// A recorded remote copy of a backup (the "offsite" list in its backup.json).
struct OffsiteRecord {
  std::string repository; ///< shown_repository()
  std::string snapshot;   ///< full id
  std::string pushed_at;
  std::string verified_at; ///< when a restore of it last matched the manifest, or ""
};

/// The backup's recorded remote copies.
[[nodiscard]] std::vector<OffsiteRecord> offsite_records(const BackupInfo& backup);

/// Notes in the backup's record that a restore of remote copy `snapshot` matched its manifest.
void record_remote_verification(const BackupInfo& backup, const std::string& snapshot);

/// What push did for one backup.
struct PushResult {
  BackupInfo backup;
  std::string snapshot; ///< full id
  bool already = false; ///< a confirmed copy existed in the repository already
};

/// Verifies `backup` in full (Error(failed) and nothing sent if it is bad), sends it with
/// restic tagged modelkeep, model:, type:, name:, source:, digest:, created:, confirms that the
/// snapshot lists every file with its size, and records it in backup.json. A backup whose
/// recorded copy is still in the repository is not sent again. The caller holds the model's
/// lock and the offsite lock.
[[nodiscard]] PushResult push_backup(const Store& store, const Restic& restic, const BackupInfo& backup,
                                     const std::vector<RemoteCopy>& existing, bool show_progress);

/// Restores `copy` with restic into a temporary sibling of `near` and calls `use` with the
/// restored backup (its backup.json read back; Error(failed) if its manifest digest is not
/// the one the snapshot was tagged with); the temporary is removed afterwards, also on error.
void with_restored_copy(const Restic& restic, const RemoteCopy& copy, const fs::path& near,
                        const std::function<void(const BackupInfo&)>& use);

/// The offsite lock (one restic user at a time per root): <root>/.modelkeep/offsite.lock.
[[nodiscard]] util::LockFile lock_offsite(const Store& store, const std::string& command,
                                          std::chrono::milliseconds timeout);

} // namespace modelkeep::core
