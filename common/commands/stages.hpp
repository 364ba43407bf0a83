#pragma once

// Moving stages: promote, auto-promote, rollback.

#include "commands/session.hpp"
#include "core/stages/rollback.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace modelkeep::commands {

struct PromoteOptions {
  std::string version;
  std::string stage = "production";
  std::string reason;
};
/// `promote`: the stage points at the version (verified first); unchanged if it already did.
struct Promotion {
  std::string stage;
  std::optional<std::string> from;
  std::string to;
  bool changed = false;
  [[nodiscard]] nlohmann::json to_json() const;
};
Promotion promote(const Session& session, const PromoteOptions& options);

struct AutoPromoteOptions {
  std::string version;
  std::string stage = "production";
  std::optional<std::string> metric; ///< defaults from the store's settings
  std::optional<double> high_threshold;
  std::optional<double> min_improvement;
};
/// `auto-promote`: the decision in words, and whether the stage moved.
struct AutoPromotion {
  bool promoted = false;
  std::string reason;
  std::optional<double> old_value;
  double new_value = 0;
  std::string stage;
  std::string version;
  [[nodiscard]] nlohmann::json to_json() const;
};
AutoPromotion auto_promote(const Session& session, const AutoPromoteOptions& options);

struct RollbackOptions {
  std::string stage = "production";
  std::optional<std::string> to;   ///< this version
  std::optional<std::string> best; ///< the earlier version with the best value of this metric
  std::string reason;
};
/// `rollback`: the stage moved back; the hooks ran after the lock was released.
struct Rollback {
  std::string stage;
  std::string from;
  std::string to;
  std::vector<core::HookRun> hooks;
  [[nodiscard]] nlohmann::json to_json() const;
};
Rollback rollback(const Session& session, const RollbackOptions& options);

} // namespace modelkeep::commands
