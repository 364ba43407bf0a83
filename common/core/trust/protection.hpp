#pragma once

// What holds a version or a backup: the one place every deleting command asks (delete, gc,
// backup-manager delete and cleanup, offsite forget), so that "protected" and "in use" mean
// the same everywhere. Each reason names the holder ("the treatment of running A/B test rr"),
// and a refusal prints them all.

#include "core/backup/backup.hpp"
#include "core/versions/version.hpp"

#include <map>
#include <string>
#include <vector>

namespace modelkeep::core {

class Store;

/// Every reason each thing must stay, by name (a version directory name, or a backup id TYPE/NAME).
using Holds = std::map<std::string, std::vector<std::string>>;

/// Whether a deletion may override what holds the thing (an explicit --force).
enum class Force { no, yes };

/// Why each version must stay: a stage points to it; it is the control or treatment of a
/// draft or running A/B test; it is the baseline a monitored stage compares its current
/// version with; a merged model in consolidated_models/ that still exists was made from it.
[[nodiscard]] Holds version_holds(const Store& store);

/// Why each backup must stay: it is the newest fully verified backup of its source; a record
/// names it as the only copy of something (a deleted version, the adapter a consolidation
/// merged, what a restore replaced — the last only while no version or other verified
/// backup holds the same content).
[[nodiscard]] Holds backup_holds(const Store& store, const std::vector<BackupEntry>& backups);

/// "v006 is the treatment of running A/B test rr; stage production points to it".
[[nodiscard]] std::string describe_holds(const std::string& name, const std::vector<std::string>& reasons);

/// Throws Error(refused) "refusing to <action> NAME: <holds> (add --force ...)" if anything
/// holds the version, unless `force`; `force_hint` says which flag overrides (empty: none does).
void require_unheld_version(const Store& store, const VersionDir& version, const std::string& action,
                            Force force, const std::string& force_hint);

/// Deletes one backup and logs a backup_delete event; refuses (Error refused, naming what holds
/// it) a held backup unless `force`. The caller holds the lock.
void delete_backup(const Store& store, const BackupInfo& backup, Force force);

} // namespace modelkeep::core
