#pragma once

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

/// Throws Error(usage) unless `name` is a valid stage name: [a-z][a-z0-9_-]*, not "latest"
/// or another reserved name of versions/.
void validate_stage_name(const std::string& name);

/// The version directory name a stage points to, or nullopt.
[[nodiscard]] std::optional<std::string> stage_holder(const Store& store, const std::string& stage);

/// Every stage (symlink in versions/ other than latest) and the version it points to.
[[nodiscard]] std::map<std::string, std::string> list_stages(const Store& store);

/// Every event of the store's log in order; torn or unparseable lines are skipped.
[[nodiscard]] std::vector<nlohmann::json> read_events(const Store& store);

/// Who held `stage` at `time`, replaying promote and rollback events; nullopt if nobody.
[[nodiscard]] std::optional<std::string> holder_at(const std::vector<nlohmann::json>& events,
                                                   const std::string& stage, util::SystemTime time);

/// The rollback target of a stage from its history: the most recent earlier holder that is not
/// the current one, was not rolled back from, and still exists; nullopt if there is none.
[[nodiscard]] std::optional<std::string>
previous_holder(const Store& store, const std::vector<nlohmann::json>& events, const std::string& stage);

/// Points `stage` at `version` (atomically), updates statuses (the new holder gets the stage's
/// status if it is one; the previous holder becomes rollback_candidate when a promotion
/// replaces it in production, else staging) and logs `event` ("promote" or "rollback") with from/to/reason
/// and `extra` fields, and returns that event. The caller holds the lock and has verified the
/// version.
nlohmann::json move_stage(const Store& store, const std::string& stage, const VersionDir& version,
                          const std::string& event, const std::string& reason,
                          const nlohmann::json& extra = nlohmann::json::object());

/// Sets a version's status in its metadata.json (atomic rewrite) and logs a status event.
void set_status(const Store& store, const VersionDir& version, const std::string& status,
                const std::string& reason);

/// The auto-promotion rule and its thresholds.
struct AutoPromoteRule {
  std::string metric = "f1_score";
  double high_threshold = 0.95;
  double min_improvement = 0.02;
};

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

/// The store's defaults for auto-promote from .modelkeep/config.json ("auto_promote": {...}),
/// or the built-in ones.
[[nodiscard]] AutoPromoteRule load_auto_promote_rule(const Store& store);

} // namespace modelkeep::core
