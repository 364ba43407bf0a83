#pragma once

#include "core/layout/events.hpp"
#include "core/layout/settings.hpp"
#include "core/versions/version.hpp"
#include "util/clock.hpp"

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace modelkeep::core {

class Store;

/// The statuses a version can have; "staging" is the default on create.
[[nodiscard]] const std::vector<std::string>& version_statuses();

/// Who held `stage` at `time`, replaying promote and rollback events; nullopt if nobody.
[[nodiscard]] std::optional<std::string> holder_at(const std::vector<nlohmann::json>& events,
                                                   const std::string& stage, util::SystemTime time);

/// The rollback target of a stage from its history: the most recent earlier holder that is not
/// the current one, was not rolled back from, and still exists; nullopt if there is none.
[[nodiscard]] std::optional<std::string>
previous_holder(const Store& store, const std::vector<nlohmann::json>& events, const std::string& stage);

/// Points `stage` at `version` (atomically), updates statuses (the new holder gets the stage's
/// status if it is one; the previous holder becomes rollback_candidate when a promotion
/// replaces it in production, else staging) and logs `event` (promote or rollback) with from/to/reason
/// and `extra` fields, and returns that event. The caller holds the lock and has verified the
/// version.
nlohmann::json move_stage(const Store& store, const std::string& stage, const VersionDir& version,
                          EventKind event, const std::string& reason,
                          const nlohmann::json& extra = nlohmann::json::object());

/// Sets a version's status in its metadata.json (atomic rewrite) and logs a status event.
void set_status(const Store& store, const VersionDir& version, const std::string& status,
                const std::string& reason);

/// Whether to promote and why, in words.
struct AutoPromoteDecision {
  bool promote = false;
  std::string reason;
  std::optional<double> old_value;
  double new_value = 0;
};

/// The head-versioning rule: the first version for a stage always promotes; at or above the
/// high threshold a version promotes unless it regresses; below it, it needs an improvement
/// of at least min_improvement (absolute).
[[nodiscard]] AutoPromoteDecision decide_auto_promote(const AutoPromoteRule& rule,
                                                      std::optional<double> old_value, double new_value);

} // namespace modelkeep::core
