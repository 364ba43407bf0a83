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

/// A recorded remote copy of a backup (the "offsite" list in its backup.json). Its state
/// follows the rule of tree/verification.hpp: push confirms the snapshot's listing (a quick
/// check: the copy is not verified yet); a restore that matches every SHA-256 is a full check.
struct OffsiteRecord {
  std::string repository; ///< shown_repository()
  std::string snapshot;   ///< full id
  std::string pushed_at;
  VerificationRecord verification;
  std::string forgotten_at; ///< when `offsite forget` removed it on purpose, or ""

  [[nodiscard]] nlohmann::json to_json() const;
  /// Reads to_json()'s output and 0.1's records ({"verified_at"}: a restore that matched).
  [[nodiscard]] static OffsiteRecord from_json(const nlohmann::json& doc);
};

/// The backup's recorded remote copies.
[[nodiscard]] std::vector<OffsiteRecord> offsite_records(const BackupInfo& backup);

/// Applies a check of remote copy `snapshot` (full: restored and compared with the manifest)
/// to its record in the backup's backup.json. The caller holds the model's lock.
void record_remote_check(const BackupInfo& backup, const std::string& snapshot, CheckDepth depth,
                         const std::vector<std::string>& problems);

/// Notes in the backup's record that its copy `snapshot` was forgotten on purpose, so that
/// push does not send it again. The caller holds the model's lock.
void record_forgotten(const BackupInfo& backup, const std::string& snapshot);

/// The state of a repository's own integrity (`restic check`): a failed check stands until a
/// check reading all pack data (subset 1/1, a full check) passes. Kept per root in
/// <root>/.modelkeep/offsite.json, by shown repository.
[[nodiscard]] VerificationRecord repository_state(const Store& store, const std::string& repository);

/// Applies a `restic check` of `repository` (full when it read every pack) to its recorded
/// state. The caller holds the offsite lock.
void record_repository_check(const Store& store, const std::string& repository, CheckDepth depth,
                             const std::vector<std::string>& problems);

/// True if any backup of any model in the root records a copy in `repository`: a repository
/// that was used and is now missing is a disk not mounted, not one to `restic init`.
[[nodiscard]] bool repository_was_used(const Store& store, const std::string& repository);

/// What push did for one backup.
struct PushResult {
  BackupInfo backup;
  std::string snapshot;   ///< full id
  bool already = false;   ///< a confirmed copy existed in the repository already
  bool forgotten = false; ///< not sent: its copy there was forgotten on purpose
};

/// Whether push sends a backup whose copy in the repository was forgotten on purpose.
enum class Resend { no, yes };

/// Verifies `backup` in full (Error(failed) and nothing sent if it is bad), sends it with
/// restic tagged modelkeep, model:, type:, name:, source:, digest:, created:, confirms that the
/// snapshot lists every file with its size, and records it in backup.json (a quick check of the
/// copy). A backup whose recorded copy is still in the repository is not sent again, nor one
/// whose copy there was forgotten on purpose unless `resend`. The caller holds the model's
/// lock and the offsite lock.
[[nodiscard]] PushResult push_backup(const Store& store, const Restic& restic, const BackupInfo& backup,
                                     const std::vector<RemoteCopy>& existing, bool show_progress,
                                     Resend resend = Resend::no);

/// Restores `copy` with restic into a temporary sibling of `near` and calls `use` with the
/// restored backup (its backup.json read back; Error(failed) if its manifest digest is not
/// the one the snapshot was tagged with); the temporary is removed afterwards, also on error.
void with_restored_copy(const Restic& restic, const RemoteCopy& copy, const fs::path& near,
                        const std::function<void(const BackupInfo&)>& use);

/// The offsite lock (one restic user at a time per root): <root>/.modelkeep/offsite.lock.
[[nodiscard]] util::LockFile lock_offsite(const Store& store, const std::string& command,
                                          std::chrono::milliseconds timeout);

} // namespace modelkeep::core
