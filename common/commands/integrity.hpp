#pragma once

// Checking and mending versions: verify and repair.

#include "commands/session.hpp"
#include "core/trust/repair.hpp"
#include "core/versions/version_ops.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace modelkeep::commands {

struct VerifyOptions {
  std::vector<std::string> versions; ///< empty: every version, and whether latest is the newest
};

/// `verify`: every checksum recomputed; each damaged file named with the versions sharing its
/// stored copy.
struct VersionVerification {
  struct Item {
    std::string model;
    core::VersionCheck check;
  };
  std::vector<Item> checks;
  std::vector<core::DamagedFile> damaged;
  std::vector<std::string> latest_problems; ///< "latest does not point to the newest version ..."
  std::vector<std::string> notes;           ///< what could not be recorded
  std::string searched;                     ///< where versions were looked for (for "nothing verified")

  [[nodiscard]] std::size_t failed() const;
  /// The other versions whose `path` is the same stored copy as `version`'s.
  [[nodiscard]] std::vector<std::string> shared_with(const std::string& version, const std::string& path) const;
  [[nodiscard]] nlohmann::json to_json() const;
  /// Error(not_found) if nothing was verified, Error(failed) if a version failed or latest is wrong.
  void require_ok() const;
};
/// Verifies the chosen versions of each session's model (hashing without the lock) and records
/// the damaged stored copies under it, so that no new version links to them; a lock another
/// writer holds leaves that to the next verify or repair (a note says so).
[[nodiscard]] VersionVerification verify_versions(const std::vector<Session>& sessions,
                                                  const VerifyOptions& options);

struct RepairOptions {
  std::vector<std::string> versions; ///< empty: every version
  std::optional<std::string> repo;   ///< the restic repository (default: the configured one)
  bool no_remote = false;            ///< do not look in the offsite repository
};
/// `repair`: what was restored from where, and the versions' verification afterwards.
struct VersionRepair {
  std::size_t checked = 0;
  core::RepairReport report;
  [[nodiscard]] std::size_t unrepaired_files() const;
  [[nodiscard]] nlohmann::json to_json() const;
  /// Error(failed) if a damaged file had no intact copy or a version still fails.
  void require_ok() const;
};
/// Restores damaged files of the session's versions from any intact copy of the same SHA-256
/// (core/trust/repair), then verifies them again; logged as a repair event.
VersionRepair repair_versions(const Session& session, const RepairOptions& options);

/// One content's repair as the documents show it (versions and backups alike).
[[nodiscard]] nlohmann::json to_json(const core::Repair& repair);

} // namespace modelkeep::commands
