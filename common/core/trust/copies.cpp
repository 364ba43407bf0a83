#include "core/trust/copies.hpp"

#include "util/text.hpp"

#include <algorithm>

namespace modelkeep::core {

std::vector<RemoteCopyStatus> remote_copy_statuses(const BackupInfo& backup, const std::string& repository,
                                                   const std::set<std::string>& present,
                                                   const VerificationRecord& repository_check)
{
  std::vector<RemoteCopyStatus> statuses;
  for (const auto& record : offsite_records(backup)) {
    if (record.repository != repository) {
      continue;
    }
    RemoteCopyStatus status{record, present.count(record.snapshot) != 0, false, {}};
    const std::string id = record.snapshot.substr(0, 8);
    if (!record.forgotten_at.empty()) {
      status.why = id + " forgotten " + record.forgotten_at;
    } else if (!status.present) {
      status.why = id + " no longer in the repository";
    } else if (record.verification.failed()) {
      status.why = id + " failed a check at " + record.verification.failed_at;
    } else if (repository_check.failed()) {
      status.why = id + ": the repository failed restic check at " + repository_check.failed_at;
    } else if (!record.verification.verified()) {
      status.why = id + " not verified yet (push only confirmed what restic stored; offsite verify --backup restores it)";
    } else {
      status.counted = true;
      status.why = id + " verified " + record.verification.full_verified_at;
    }
    statuses.push_back(std::move(status));
  }
  return statuses;
}

bool has_counted_copy(const std::vector<RemoteCopyStatus>& statuses)
{
  return std::any_of(statuses.begin(), statuses.end(), [](const RemoteCopyStatus& s) { return s.counted; });
}

Holds offsite_holds(const std::vector<BackupEntry>& backups, const std::string& repository,
                    const std::set<std::string>& present, const VerificationRecord& repository_check)
{
  Holds holds;
  for (const auto& entry : backups) {
    if (!entry.info) {
      continue;
    }
    const auto statuses = remote_copy_statuses(*entry.info, repository, present, repository_check);
    if (has_counted_copy(statuses)) {
      continue;
    }
    std::vector<std::string> whys;
    for (const auto& status : statuses) {
      whys.push_back(status.why);
    }
    holds[entry.info->id()].push_back(
        statuses.empty() ? "without a remote copy (--require-offsite)"
                         : "without a verified remote copy (--require-offsite: " + util::join(whys, ", ") + ")");
  }
  return holds;
}

} // namespace modelkeep::core
