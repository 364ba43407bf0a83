#pragma once

// backup-manager's local commands: backup, list, verify, restore, delete, cleanup, repair.
// Every backup is read back and checked before it is called good; nothing that something
// still needs is deleted (core/trust/protection).

#include "commands/session.hpp"
#include "core/backup/backup.hpp"
#include "core/backup/cleanup.hpp"
#include "core/backup/restore.hpp"
#include "core/backup/retention.hpp"
#include "core/trust/repair.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace modelkeep::commands {

struct BackupOptions {
  std::string source;
  std::string type = "emergency";
  std::string reason;
  std::string format = "dir"; ///< dir, tar or tar.zst
  std::optional<int> level;   ///< zstd level, tar.zst only (default 3)
  std::vector<std::string> critical; ///< files that must be in it besides the usual ones
};
/// `backup`: the verified backup's record.
struct MadeBackup {
  core::BackupInfo info;
  std::size_t critical_files = 0; ///< how many critical files were checked
  [[nodiscard]] nlohmann::json to_json() const { return info.to_json(); }
};
/// Copies `options.source` into the session's backups (the store is made if needed), reads the
/// copy back and checks it; logged as a backup event. Error(refused) for a source that contains
/// the backups.
MadeBackup make_backup(const Session& session, const BackupOptions& options);

/// `list`: the backups, each with its recorded verification.
struct BackupListing {
  std::vector<core::BackupEntry> entries;
  nlohmann::json document; ///< core::backups_document
  [[nodiscard]] const nlohmann::json& to_json() const { return document; }
  /// Error(malformed) with the first backup whose backup.json cannot be read, if any.
  void require_readable() const;
};
[[nodiscard]] BackupListing list_backups(const Session& session, const std::optional<std::string>& type);

struct BackupVerifyOptions {
  std::vector<std::string> backups; ///< or `all`
  bool all = false;
  bool quick = false;          ///< sizes and critical files only: never upgrades a failed record
  std::optional<std::string> subset; ///< with `all`: slice n/t
  /// Error(usage) for backups and `all` together or neither, or a subset without `all`.
  void validate() const;
};
/// `verify`: each backup's check and the state recorded after it.
struct BackupVerification {
  struct Item {
    std::string model;
    core::BackupInfo info;
    core::BackupCheck check;
    core::VerificationRecord state; ///< the recorded state after this check
    /// Good only if this check found nothing and the copy is not failed from an earlier one (a
    /// quick check cannot clear a failure).
    [[nodiscard]] bool ok() const { return check.ok() && !state.failed(); }
  };
  std::vector<Item> items;
  std::size_t existing = 0; ///< with `all`: how many backups there are (the slice may hold none)
  [[nodiscard]] std::size_t failed() const;
  [[nodiscard]] nlohmann::json to_json() const;
  /// Error(failed) if a backup failed.
  void require_ok() const;
};
/// Verifies the chosen backups of each session's model: hashing runs without the lock, only
/// recording the results takes it. Error(not_found) when `all` finds no backup at all (a
/// nightly verification that checks nothing must not look like one that passed).
[[nodiscard]] BackupVerification verify_backups(const std::vector<Session>& sessions,
                                                const BackupVerifyOptions& options);

struct BackupRestoreOptions {
  std::string backup; ///< its path, TYPE/NAME or name
  std::string dest;
};
struct BackupRestored {
  std::string backup; ///< TYPE/NAME
  core::RestoreResult result;
  [[nodiscard]] nlohmann::json to_json() const;
};
/// `restore`: the backup verified, then swapped into `dest` (what it held backed up first).
BackupRestored restore_backup(const Session& session, const BackupRestoreOptions& options);

struct BackupDeleteOptions {
  std::string backup;
  bool confirm = false; ///< without it: Error(refused) saying what would be deleted
  bool force = false;   ///< also a protected backup
};
struct BackupDeletion {
  std::string backup;
  std::string path;
  [[nodiscard]] nlohmann::json to_json() const { return {{"deleted", backup}, {"path", path}}; }
};
BackupDeletion delete_backup(const Session& session, const BackupDeleteOptions& options);

struct CleanupOptions {
  core::RetentionPolicy policy;
  std::optional<std::string> type;
  bool execute = false;
  bool require_offsite = false;    ///< keep every backup without a counted remote copy
  std::optional<std::string> repo; ///< with require_offsite
  /// Error(usage) for an empty policy (it would delete everything).
  void validate() const;
};
/// `cleanup`: the plan of each model and, with `execute`, what was deleted.
struct CleanupPlan {
  struct Model {
    std::string model;
    std::vector<core::CleanupItem> items;
  };
  bool execute = false;
  std::vector<Model> models;
  [[nodiscard]] nlohmann::json to_json() const;
};
/// Applies the retention policy to each session's model on its own (under its lock when
/// executing). Error(usage) for an empty policy.
CleanupPlan cleanup_backups(const std::vector<Session>& sessions, const CleanupOptions& options);

/// `repair`: the backup's damaged files restored from intact copies, then a full verification.
struct BackupRepaired {
  core::BackupRepair result;
  [[nodiscard]] bool ok() const { return result.after && result.after->ok(); }
  [[nodiscard]] nlohmann::json to_json() const;
  /// Error(failed) if it still fails verification.
  void require_ok() const;
};
/// Error(refused) for an archive (not rewritten); logged as a repair event.
BackupRepaired repair_backup(const Session& session, const std::string& backup);

} // namespace modelkeep::commands
