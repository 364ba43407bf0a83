#pragma once

#include "core/backup/backup.hpp"
#include "core/backup/restore.hpp"
#include "core/backup/retention.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace modelkeep::core {

class Store;

/// Verifies the backup in full (recording a failure in its backup.json and throwing
/// Error(failed) if it is bad), then restores its files into `dest` with restore_into():
/// copied from data/ or extracted from the archive (refusing unsafe entries), verified, and
/// swapped in; what `dest` held is backed up first if it differs. Logs a backup_restore event
/// naming the backup, or, for a copy restored from elsewhere, the fields of `origin` (such as
/// the repository and snapshot of a remote copy) instead of its temporary path. The caller
/// holds the lock.
[[nodiscard]] RestoreResult restore_backup(const Store& store, const BackupInfo& backup, const fs::path& dest,
                                           bool show_progress, const nlohmann::json& origin = nullptr);

/// One line of a cleanup plan.
struct CleanupItem {
  BackupEntry entry;
  RetentionDecision decision;
};

/// What `cleanup` would keep and delete under `policy` (groups: type and source path). A backup
/// that `holds` names (by id TYPE/NAME; see trust/protection.hpp) is kept whatever the policy,
/// with the reasons; backups whose backup.json cannot be read are kept. Throws Error(usage) on
/// an empty policy.
[[nodiscard]] std::vector<CleanupItem> plan_cleanup(const Store& store, const RetentionPolicy& policy,
                                                    const std::optional<std::string>& type, util::SystemTime now,
                                                    const std::map<std::string, std::vector<std::string>>& holds);

/// A slice "n/t" of --subset: 1 <= n <= t <= 10000; Error(usage) otherwise.
struct Subset {
  unsigned n = 1;
  unsigned t = 1;
  [[nodiscard]] static Subset parse(const std::string& text);
};

/// True if the backup id falls in slice n of t (1 <= n <= t), a stable split by its name.
[[nodiscard]] bool in_subset(const std::string& id, unsigned n, unsigned t);

} // namespace modelkeep::core
