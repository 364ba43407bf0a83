#include "commands/monitor.hpp"

#include "core/layout/events.hpp"
#include "core/layout/names.hpp"

namespace modelkeep::commands {

using nlohmann::json;

json ThresholdsResult::to_json() const
{
  json doc = thresholds.to_json();
  doc["stage"] = stage;
  doc["changed"] = changed;
  return doc;
}

ThresholdsResult monitor_thresholds(const Session& session, const ThresholdOptions& options)
{
  core::validate_stage_name(options.stage);
  const core::Store& store = session.existing();
  ThresholdsResult result;
  result.stage = options.stage;
  const core::Thresholds before = core::load_thresholds(store, options.stage);
  core::Thresholds& t = result.thresholds;
  t = before;
  const auto set = [](auto& field, const auto& value) {
    if (value) {
      field = *value;
    }
  };
  set(t.min_accuracy, options.min_accuracy);
  set(t.max_error_rate, options.max_error_rate);
  set(t.max_latency_ms, options.max_latency_ms);
  set(t.min_confidence, options.min_confidence);
  set(t.window, options.window);
  set(t.consecutive_failures, options.consecutive_failures);
  set(t.max_accuracy_drop, options.max_accuracy_drop);
  set(t.max_drift_psi, options.max_drift_psi);
  set(t.auto_rollback, options.auto_rollback);
  result.changed = t.to_json() != before.to_json();
  if (result.changed) {
    core::save_thresholds(store, options.stage, t);
  }
  return result;
}

core::MonitorOutcome monitor_record(const Session& session, const std::string& stage,
                                    const core::Observation& observation, core::MonitorCache* cache)
{
  core::RecordOptions options;
  options.lock_timeout = session.lock_timeout;
  options.show_progress = session.progress;
  options.cache = cache;
  return core::record_prediction(session.existing(), stage, observation, options);
}

core::MonitorStatus monitor_status(const Session& session, const std::string& stage)
{
  return core::monitor_status(session.existing(), stage);
}

std::vector<json> monitor_history(const Session& session, const std::optional<std::string>& stage)
{
  std::vector<json> events;
  for (const auto& event : core::read_events(session.existing())) {
    const auto kind = core::event_kind(event);
    if ((kind == core::EventKind::rollback || kind == core::EventKind::monitor_alert) &&
        (!stage || event.value("stage", "") == *stage)) {
      events.push_back(event);
    }
  }
  return events;
}

} // namespace modelkeep::commands
