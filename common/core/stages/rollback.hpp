#pragma once

#include "core/versions/version.hpp"
#include "util/subprocess.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace modelkeep::core {

class Store;

/// The version a rollback of `stage` goes to by default: the most recent earlier holder that
/// was not rolled back from and still exists (see previous_holder); nullopt if there is none.
[[nodiscard]] std::optional<VersionDir> rollback_target(const Store& store, const std::string& stage);

/// Verifies `target` (Error(failed) if it does not verify) and points `stage` at it, logging a
/// rollback event with `reason` and `extra`; returns the event. The caller holds the store lock.
nlohmann::json roll_back(const Store& store, const std::string& stage, const VersionDir& target,
                         const std::string& reason, const nlohmann::json& extra, bool show_progress);

/// One rollback hook's run.
struct HookRun {
  std::string hook; ///< file name in hooks/on-rollback.d/
  bool ok = false;
  std::string outcome; ///< "exit 0", "exit 3", "timed out after 2 s and was killed", or why skipped
  [[nodiscard]] nlohmann::json to_json() const;
};

/// The directory of rollback hooks: <root>/hooks/on-rollback.d.
[[nodiscard]] fs::path rollback_hooks_dir(const Store& store);

/// Runs every executable in the store's on-rollback.d (in name order, each in its own process
/// group, bounded by $MODELKEEP_HOOK_TIMEOUT seconds, default 30) with the event in the
/// environment (MODELKEEP_STAGE, _FROM, _TO, _REASON, _AUTOMATIC, _ROOT) and as JSON on stdin.
/// Hooks that the directory or file lets others write, or that another user (not root) owns,
/// are skipped. Failures are reported, never thrown: the rollback stands whatever a hook does.
/// Call without holding the store lock.
[[nodiscard]] std::vector<HookRun> run_rollback_hooks(const Store& store, const nlohmann::json& event);

} // namespace modelkeep::core
