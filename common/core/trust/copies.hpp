#pragma once

// Which remote copies count: one rule for `offsite list`, `cleanup --require-offsite` and
// `offsite forget`, so that a copy one command shows as safe is the copy another relies on.

#include "core/backup/offsite.hpp"
#include "core/trust/protection.hpp"

#include <set>
#include <string>
#include <vector>

namespace modelkeep::core {

/// How one recorded remote copy of a backup stands in one repository.
struct RemoteCopyStatus {
  OffsiteRecord record;
  bool present = false; ///< its snapshot is in the repository now
  bool counted = false; ///< it counts as a second intact copy of the backup
  std::string why;      ///< in words: "verified 2025-11-18T...", "not verified yet (push only listed it)", ...
};

/// The recorded copies of `backup` in `repository` (its shown name), by the rule: a copy counts
/// only if its snapshot is in the repository (`present`: the ids listed now), it was not
/// forgotten, a restore of it matched every SHA-256 with no failed check since, and the
/// repository's own check (`repository_check`) has not failed since its last full pass.
[[nodiscard]] std::vector<RemoteCopyStatus> remote_copy_statuses(const BackupInfo& backup,
                                                                 const std::string& repository,
                                                                 const std::set<std::string>& present,
                                                                 const VerificationRecord& repository_check);

/// True if one of them counts.
[[nodiscard]] bool has_counted_copy(const std::vector<RemoteCopyStatus>& statuses);

/// For `cleanup --require-offsite`: every backup of `backups` without a counted copy in
/// `repository`, with why (which copies there are and why none counts).
[[nodiscard]] Holds offsite_holds(const std::vector<BackupEntry>& backups, const std::string& repository,
                                  const std::set<std::string>& present,
                                  const VerificationRecord& repository_check);

} // namespace modelkeep::core
