#pragma once

// Copies off the machine through restic: push, and offsite list, verify, restore, forget.
// Lock order everywhere: a model's lock, then the offsite lock.

#include "commands/session.hpp"
#include "core/backup/backup.hpp"
#include "core/backup/offsite.hpp"
#include "core/backup/restore.hpp"
#include "core/backup/retention.hpp"
#include "core/trust/protection.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace modelkeep::commands {

/// For cleanup's require_offsite: every backup of `backups` without a counted remote copy in
/// the session's restic repository (core/trust/copies.hpp), taking the offsite lock to list it.
[[nodiscard]] core::Holds offsite_holds(const Session& session, const std::optional<std::string>& repo,
                                        const std::vector<core::BackupEntry>& backups);

struct PushOptions {
  std::vector<std::string> backups; ///< or `all`
  bool all = false;                 ///< every backup without a copy (never one forgotten on purpose)
  bool force = false;               ///< send a named backup again although its copy was forgotten
  std::optional<std::string> repo;
  /// Error(usage) for backups and `all` together or neither.
  void validate() const;
};
/// `push`: what was sent (or was there already), skipped and failed.
struct Pushed {
  std::string repository; ///< as shown (no credentials)
  nlohmann::json pushed = nlohmann::json::array();
  nlohmann::json skipped = nlohmann::json::array();
  nlohmann::json failed = nlohmann::json::array();
  std::vector<std::string> failures; ///< "TYPE/NAME: why", also unreadable backups
  [[nodiscard]] nlohmann::json to_json() const;
  /// Error(failed) if a backup was not sent.
  void require_ok() const;
};
/// Sends verified backups of each session's model (a failed one is refused). A repository
/// that cannot be used stops at once; a backup that fails is reported and the next is tried.
Pushed push_backups(const std::vector<Session>& sessions, const PushOptions& options);

/// `offsite list`: for each local backup its remote copies and whether one counts; remote
/// copies that no local backup records.
struct OffsiteListing {
  std::string repository;
  nlohmann::json rows = nlohmann::json::array();
  [[nodiscard]] nlohmann::json to_json() const { return {{"repository", repository}, {"backups", rows}}; }
};
[[nodiscard]] OffsiteListing offsite_list(const std::vector<Session>& sessions,
                                          const std::optional<std::string>& repo);

struct OffsiteVerifyOptions {
  std::optional<std::string> repo;
  std::string subset = "1/1";        ///< pack data restic check reads
  std::optional<std::string> backup; ///< whose copy is restored (default: one per day in turn)
  bool no_restore = false;
  /// Error(usage) for a bad subset.
  void validate() const;
};
/// `offsite verify`: the repositories checked and the copies restored and compared.
struct OffsiteVerification {
  std::string subset;
  nlohmann::json checked = nlohmann::json::array();
  nlohmann::json restored = nlohmann::json::array();
  std::vector<std::string> failures;
  [[nodiscard]] nlohmann::json to_json() const
  {
    return {{"checked", checked}, {"subset", subset}, {"restored", restored}};
  }
  /// Error(failed) if a restored copy did not match its manifest.
  void require_ok() const;
};
/// Runs restic check once per repository (a failure is recorded: no copy counts until a check
/// reading every pack passes), then restores one copy of each model and compares it with its
/// manifest, recording the result in its local backup.
OffsiteVerification offsite_verify(const std::vector<Session>& sessions, const OffsiteVerifyOptions& options);

struct OffsiteRestoreOptions {
  std::string backup; ///< TYPE/NAME or NAME
  std::string dest;
  std::optional<std::string> repo;
};
struct OffsiteRestored {
  std::string backup;
  std::string snapshot; ///< short id
  core::RestoreResult result;
  [[nodiscard]] nlohmann::json to_json() const;
};
/// `offsite restore`: the newest remote copy restored into a temporary sibling of `dest`, then
/// verified and swapped in as a local restore is (what `dest` held is backed up first).
OffsiteRestored offsite_restore(const Session& session, const OffsiteRestoreOptions& options);

struct ForgetOptions {
  core::RetentionPolicy policy;
  std::optional<std::string> type;
  std::optional<std::string> repo;
  bool execute = false;
  /// Error(usage) for an empty policy (it would forget everything).
  void validate() const;
};
/// `offsite forget`: each remote copy with the decision and its reasons.
struct ForgetPlan {
  std::string repository;
  bool execute = false;
  struct Item {
    core::RemoteCopy copy;
    core::RetentionDecision decision;
  };
  std::vector<Item> items;
  [[nodiscard]] std::size_t doomed() const;
  [[nodiscard]] nlohmann::json to_json() const;
};
/// Remote retention with cleanup's policy: never the newest copy of a source, nor the only
/// intact copy of a backup something holds. With `execute`, restic forget and prune, recorded
/// in the local backups so that push does not send them again. Error(usage) for an empty policy.
ForgetPlan offsite_forget(const Session& session, const ForgetOptions& options);

} // namespace modelkeep::commands
