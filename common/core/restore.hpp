#pragma once

#include "core/manifest.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace modelkeep::core {

class Store;

/// What restore_tree did.
struct RestoreResult {
  fs::path target;
  bool already_identical = false;      ///< the target matched; nothing was changed
  std::optional<fs::path> backup_path; ///< verified pre_restore backup of what the target held
};

/// Replaces the directory `target` with the files of `manifest` found under `source_root`:
/// copies them into a temporary sibling of the target, re-reads and verifies every checksum,
/// backs up the target (type pre_restore, verified) if it holds anything that differs, then
/// swaps the new tree in atomically and removes the old one. A target identical to the
/// manifest is left alone. `label` names the backup. The caller holds the store lock.
[[nodiscard]] RestoreResult restore_tree(const Store& store, const fs::path& source_root,
                                         const Manifest& manifest, const fs::path& target,
                                         const std::string& label, bool show_progress);

} // namespace modelkeep::core
