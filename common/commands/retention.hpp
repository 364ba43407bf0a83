#pragma once

// Removing versions: delete and gc. Both go through verified backups unless told otherwise,
// and both refuse what something still uses (core/trust/protection).

#include "commands/session.hpp"
#include "core/versions/version.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace modelkeep::commands {

struct DeleteOptions {
  std::string version;
  bool confirm = false; ///< without it: Error(refused) saying what would be deleted, nothing done
};
/// `delete`: the version removed after a verified backup (its path).
struct Deletion {
  std::string version;
  std::string backup;
  [[nodiscard]] nlohmann::json to_json() const;
};
Deletion delete_version(const Session& session, const DeleteOptions& options);

struct GcOptions {
  std::size_t keep = 0;   ///< the newest N are kept
  bool execute = false;   ///< else a dry run
  bool no_backup = false; ///< with execute: delete without the backups
};
/// `gc`: each version with what was decided and why; with `execute`, those marked delete are gone.
struct Collection {
  struct Verdict {
    core::VersionDir version;
    bool keep = false;
    std::string why;
  };
  bool execute = false;
  std::vector<Verdict> verdicts;
  std::size_t pruned = 0; ///< stored files no version uses any more, removed
  [[nodiscard]] std::size_t doomed() const;
  [[nodiscard]] nlohmann::json to_json() const;
};
Collection collect_versions(const Session& session, const GcOptions& options);

} // namespace modelkeep::commands
