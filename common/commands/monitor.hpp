#pragma once

// Monitoring a stage: thresholds, record, status, history.

#include "commands/session.hpp"
#include "core/telemetry/monitor.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace modelkeep::commands {

/// The thresholds to set; those not given keep their value.
struct ThresholdOptions {
  std::string stage = "production";
  std::optional<double> min_accuracy;
  std::optional<double> max_error_rate;
  std::optional<double> max_latency_ms;
  std::optional<double> min_confidence;
  std::optional<std::uint64_t> window;
  std::optional<std::uint64_t> consecutive_failures;
  std::optional<double> max_accuracy_drop;
  std::optional<double> max_drift_psi;
  std::optional<bool> auto_rollback;
};
/// `monitor thresholds`: the stage's thresholds, and whether this call changed them (setting
/// a value it already has changes nothing and writes nothing).
struct ThresholdsResult {
  std::string stage;
  core::Thresholds thresholds;
  bool changed = false;
  [[nodiscard]] nlohmann::json to_json() const;
};
ThresholdsResult monitor_thresholds(const Session& session, const ThresholdOptions& options);

/// `monitor record`: one prediction against what the stage serves now (`cache`: a long-lived
/// process's parsed predictions, or null).
core::MonitorOutcome monitor_record(const Session& session, const std::string& stage,
                                    const core::Observation& observation,
                                    core::MonitorCache* cache = nullptr);

[[nodiscard]] core::MonitorStatus monitor_status(const Session& session, const std::string& stage);

/// `monitor history`: the rollbacks and alerts of a stage (or of every stage), oldest first.
[[nodiscard]] std::vector<nlohmann::json> monitor_history(const Session& session,
                                                          const std::optional<std::string>& stage);

} // namespace modelkeep::commands
