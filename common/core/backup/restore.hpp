#pragma once

#include "core/tree/manifest.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <functional>
#include <optional>
#include <string>

namespace modelkeep::util {
class Progress;
}

namespace modelkeep::core {

class Store;

/// What restore_tree did.
struct RestoreResult {
  fs::path target;
  bool already_identical = false;      ///< the target matched; nothing was changed
  std::optional<fs::path> backup_path; ///< verified pre_restore backup of what the target held
  /// {"target", "already_identical", "pre_restore_backup"}: the part every restore's document shares.
  [[nodiscard]] nlohmann::json to_json() const;
};

/// Writes the files to restore into a new directory (the temporary sibling of the target)
/// and returns the manifest of what it wrote.
using Materializer = std::function<Manifest(const fs::path& fresh, util::Progress* progress)>;

/// Replaces the directory `target` with the files of `manifest`: `materialize` writes them
/// into a temporary sibling of the target, which is re-read and verified against every
/// checksum; then the target is backed up (type pre_restore, verified) if it holds anything
/// that differs, the new tree is swapped in atomically and the old one removed. A target
/// identical to the manifest is left alone. `label` names what is restored in the backup's
/// reason and in errors. The caller holds the store lock.
[[nodiscard]] RestoreResult restore_into(const Store& store, const Manifest& manifest, const fs::path& target,
                                         const std::string& label, bool show_progress,
                                         const Materializer& materialize);

/// restore_into() with the files copied from the directory `source_root`.
[[nodiscard]] RestoreResult restore_tree(const Store& store, const fs::path& source_root,
                                         const Manifest& manifest, const fs::path& target,
                                         const std::string& label, bool show_progress);

} // namespace modelkeep::core
