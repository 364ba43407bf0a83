#include "commands/stages.hpp"

#include "core/layout/events.hpp"
#include "core/layout/names.hpp"
#include "core/layout/settings.hpp"
#include "core/stages/promotion.hpp"
#include "core/versions/refs.hpp"
#include "core/versions/version_ops.hpp"
#include "util/error.hpp"

namespace modelkeep::commands {

using nlohmann::json;

namespace {

/// Metrics where lower is better.
bool lower_is_better(const std::string& metric)
{
  const auto ends = [&](const std::string& suffix) {
    return metric.size() >= suffix.size() &&
           metric.compare(metric.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends("loss") || ends("error") || ends("error_rate") || ends("latency") || ends("latency_ms");
}

core::VersionDir best_earlier(const core::Store& store, const core::VersionDir& current,
                              const std::string& metric)
{
  std::optional<core::VersionDir> best;
  double best_value = 0;
  for (const auto& version : core::list_versions(store)) {
    if (version.number >= current.number) {
      continue;
    }
    try {
      const auto meta = core::load_metadata(version.path);
      const auto it = meta.metrics.find(metric);
      if (it == meta.metrics.end()) {
        continue;
      }
      const bool better = lower_is_better(metric) ? it->second < best_value : it->second > best_value;
      if (!best || better) {
        best = version;
        best_value = it->second;
      }
    } catch (const Error&) {
      continue;
    }
  }
  if (!best) {
    throw Error(ExitCode::refused,
                "nothing to roll back to: no version before " + current.name + " has metric " + metric);
  }
  return *best;
}

} // namespace

json Promotion::to_json() const
{
  return {{"stage", stage}, {"from", from ? json(*from) : json(nullptr)}, {"to", to}, {"changed", changed}};
}

Promotion promote(const Session& session, const PromoteOptions& options)
{
  core::validate_stage_name(options.stage);
  const auto ref = core::VersionRef::parse(options.version);
  const auto lock = session.lock("promote");
  const auto version = core::resolve_version(session.store, ref);
  core::require_verified(version, "promote", session.progress);
  Promotion result;
  result.stage = options.stage;
  result.from = core::stage_holder(session.store, options.stage);
  result.to = version.name;
  result.changed = result.from != version.name;
  if (result.changed) {
    (void)core::move_stage(session.store, options.stage, version, core::EventKind::promote, options.reason);
  }
  return result;
}

json AutoPromotion::to_json() const
{
  return {{"promoted", promoted}, {"reason", reason}, {"old", old_value ? json(*old_value) : json(nullptr)},
          {"new", new_value},     {"stage", stage},   {"version", version}};
}

AutoPromotion auto_promote(const Session& session, const AutoPromoteOptions& options)
{
  core::validate_stage_name(options.stage);
  const auto ref = core::VersionRef::parse(options.version);
  const core::Store& store = session.existing();
  core::AutoPromoteRule rule = core::load_auto_promote_rule(store);
  rule.metric = options.metric.value_or(rule.metric);
  rule.high_threshold = options.high_threshold.value_or(rule.high_threshold);
  rule.min_improvement = options.min_improvement.value_or(rule.min_improvement);
  const auto lock = session.lock("auto-promote");
  const auto version = core::resolve_version(store, ref);
  const auto meta = core::load_metadata(version.path);
  const auto found = meta.metrics.find(rule.metric);
  if (found == meta.metrics.end()) {
    throw Error(ExitCode::refused, version.name + " has no metric " + rule.metric +
                                       " (record it with create --metric " + rule.metric + "=VALUE)");
  }
  AutoPromotion result;
  result.stage = options.stage;
  result.version = version.name;
  const auto holder = core::stage_holder(store, options.stage);
  if (holder && *holder != version.name) {
    const auto current = core::load_metadata(store.versions_dir() / *holder);
    if (const auto it = current.metrics.find(rule.metric); it != current.metrics.end()) {
      result.old_value = it->second;
    }
  }
  const auto decision = core::decide_auto_promote(rule, result.old_value, found->second);
  if (decision.promote) {
    core::require_verified(version, "promote", session.progress);
    core::move_stage(store, options.stage, version, core::EventKind::promote,
                     "auto-promote: " + decision.reason, {{"automatic", true}, {"metric", rule.metric}});
  }
  result.promoted = decision.promote;
  result.reason = decision.reason;
  result.new_value = decision.new_value;
  return result;
}

json Rollback::to_json() const
{
  json hook_docs = json::array();
  for (const auto& hook : hooks) {
    hook_docs.push_back(hook.to_json());
  }
  return {{"stage", stage}, {"from", from}, {"to", to}, {"automatic", false}, {"hooks", hook_docs}};
}

Rollback rollback(const Session& session, const RollbackOptions& options)
{
  core::validate_stage_name(options.stage);
  if (options.to && options.best) {
    throw Error(ExitCode::usage, "give --to or --best, not both");
  }
  const core::Store& store = session.existing();
  json event;
  Rollback result;
  result.stage = options.stage;
  {
    const auto lock = session.lock("rollback");
    const auto holder = core::stage_holder(store, options.stage);
    if (!holder) {
      throw Error(ExitCode::refused,
                  "nothing to roll back: stage " + options.stage + " points to no version");
    }
    const auto current = core::resolve_version(store, core::VersionRef::parse(*holder));
    result.from = current.name;
    core::VersionDir target;
    if (options.to) {
      target = core::resolve_version(store, core::VersionRef::parse(*options.to));
    } else if (options.best) {
      target = best_earlier(store, current, *options.best);
    } else {
      const auto previous = core::rollback_target(store, options.stage);
      if (!previous) {
        throw Error(ExitCode::refused, "nothing to roll back to: no earlier holder of " + options.stage +
                                           " in the history (use --to VERSION)");
      }
      target = *previous;
    }
    if (target.name == current.name) {
      throw Error(ExitCode::refused,
                  "nothing to roll back to: " + options.stage + " already points to " + target.name);
    }
    event = core::roll_back(store, options.stage, target, options.reason, {{"automatic", false}},
                            session.progress);
  }
  // Hooks run after the lock is released: a slow hook must not hold up other writers.
  result.hooks = core::run_rollback_hooks(store, event);
  result.to = event.value("to", "");
  return result;
}

} // namespace modelkeep::commands
