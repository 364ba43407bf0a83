#pragma once

// The names that point at versions, like git's refs: `latest` and the stage links beside it in
// versions/ (symlinks replaced atomically). Reading and repairing them is here; deciding where
// a stage goes (promotion, rollback) is the stages room's.

#include <map>
#include <optional>
#include <string>

namespace modelkeep::core {

class Store;

/// The directory name `latest` points to, or nullopt if it is missing or not a symlink.
[[nodiscard]] std::optional<std::string> read_latest_link(const Store& store);

/// Points `latest` at the newest version (or removes it on an empty store) if it does not
/// already; writers call this so that a run killed between steps is repaired.
void repair_latest(const Store& store);

/// The version directory name a stage points to, or nullopt.
[[nodiscard]] std::optional<std::string> stage_holder(const Store& store, const std::string& stage);

/// Every stage (symlink in versions/ other than latest) and the version it points to.
[[nodiscard]] std::map<std::string, std::string> list_stages(const Store& store);

} // namespace modelkeep::core
