#pragma once

// Damage and its repair. Unchanged files are shared between versions (hard links or reflinks
// to one stored object), so a write into one version's file can change others: a damaged
// file is reported with every version that shares it, and `repair` restores the content from
// any intact copy whose SHA-256 matches — the stored object, another version's private copy,
// a local backup, another model of the root, a remote copy — then verifies again. With no
// intact copy it says so and changes nothing.

#include "core/backup/offsite.hpp"
#include "core/versions/version_ops.hpp"

#include <optional>
#include <string>
#include <vector>

namespace modelkeep::core {

class Store;

/// One file of a version that does not match its manifest.
struct DamagedFile {
  std::string version; ///< directory name
  std::string path;    ///< relative to the version directory ("adapter/x")
  std::string sha256;  ///< what it should hash to
  std::uint32_t mode = 0444;
  bool missing = false;
  std::vector<std::string> shared_with; ///< other versions whose file is the same stored copy
};

/// The damaged files of `checks` (modified or missing ones), each with the versions that share
/// its stored copy (the same inode: a write into one changed them all).
[[nodiscard]] std::vector<DamagedFile> damaged_files(const Store& store,
                                                     const std::vector<VersionCheck>& checks);

/// Records in the damaged-objects list the objects that damaged files are linked to, so that
/// no new version links to them. The caller holds the lock.
void record_damage(const Store& store, const std::vector<DamagedFile>& damaged);

/// What repair did for one content.
struct Repair {
  std::string sha256;
  std::vector<std::string> files; ///< "VERSION/PATH" of the damaged files with this content
  std::string source;             ///< where the intact copy came from, or "" if none was found
  std::vector<std::string> tried; ///< why other candidates were not used
};

/// The outcome of repairing some versions.
struct RepairReport {
  std::vector<VersionCheck> before;
  std::vector<Repair> repairs;
  std::vector<VersionCheck> after; ///< of the versions that were damaged
  std::vector<std::string> notes;  ///< what repair does not do (extra files, unreadable metadata)

  [[nodiscard]] bool ok() const;
};

/// Verifies `versions`, and for each damaged content looks for an intact copy — the stored
/// object, another version's file of the same SHA-256 that is not the same inode, a local
/// backup (directory or archive), another model's object or version, a remote copy of a local
/// backup in `remote` (if given) — checks it hashes right, stores it as the object and links
/// every damaged file of that content to it, then verifies again. Nothing is changed for a
/// content without an intact copy. Extra files are reported, never removed. The caller holds
/// the lock.
[[nodiscard]] RepairReport repair_versions(const Store& store, const std::vector<VersionDir>& versions,
                                           const Restic* remote, bool show_progress);

/// What repairing a backup did.
struct BackupRepair {
  BackupInfo backup;
  std::vector<Repair> repairs;
  std::optional<BackupCheck> after; ///< the full verification afterwards
  std::string refused;              ///< why nothing was done (an archive, ...), or ""
};

/// Repairs a directory-format backup whose files fail their SHA-256: each damaged file is
/// restored from an intact copy of the same content (a version of any model, an object, another
/// backup), then the backup is verified in full and the result recorded. Archives are not
/// rewritten (`refused` says what to do instead). The caller holds the lock.
[[nodiscard]] BackupRepair repair_backup(const Store& store, const BackupInfo& backup, bool show_progress);

} // namespace modelkeep::core
