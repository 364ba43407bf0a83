#pragma once

// The names that point at versions, like git's refs: `latest` and the stage links beside it in
// versions/ (symlinks replaced atomically). Reading and repairing them is here; deciding where
// a stage goes (promotion, rollback) is the stages room's.

#include "core/layout/events.hpp"

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

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
/// The same, from the names of versions/'s symbolic links already read (list_versions()).
[[nodiscard]] std::map<std::string, std::string> list_stages(const Store& store,
                                                             const std::vector<std::string>& symlinks);

/// Stage moves are journaled, so that a stage's link and the events log never disagree after a
/// crash: the mover writes the event it is about to log to .modelkeep/stage-move.json (durably)
/// before the link moves and removes it once the event is in the log; the next writer
/// completes a move a crash interrupted (finish_stage_move). Returns the move's id, which the
/// event carries as "move".
[[nodiscard]] std::string begin_stage_move(const Store& store, EventKind kind, const nlohmann::json& fields);

/// The move's event is logged: the journal goes.
void end_stage_move(const Store& store);

/// Completes what a stopped stage move left (every writer calls this under the lock, through
/// lock_for_writing): if the stage's link had moved and the event is not in the log, it is
/// logged now, marked "recovered"; if the link had not moved, the move never happened. Either
/// way the journal goes.
void finish_stage_move(const Store& store);

} // namespace modelkeep::core
