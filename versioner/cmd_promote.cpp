#include "commands.hpp"
#include "core/layout/names.hpp"
#include "core/stages/promotion.hpp"
#include "core/versions/refs.hpp"
#include "core/versions/version_ops.hpp"
#include "util/error.hpp"

#include <iostream>
#include <memory>

namespace modelkeep::versioner {

namespace {

struct PromoteArgs {
  std::string ref;
  std::string stage = "production";
  std::string reason;
};

struct AutoPromoteArgs {
  std::string ref;
  std::string stage = "production";
  std::optional<std::string> metric;
  std::optional<double> high_threshold;
  std::optional<double> min_improvement;
};

void run_promote(const PromoteArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  core::validate_stage_name(args.stage);
  const auto ref = core::VersionRef::parse(args.ref);
  const core::Store store = context.store();
  store.require_exists();
  const auto lock = context.lock(store, "promote");
  const auto version = core::resolve_version(store, ref);
  core::require_verified(version, "promote", context.progress());
  const auto previous = core::stage_holder(store, args.stage);
  const bool changed = previous != version.name;
  if (changed) {
    (void)core::move_stage(store, args.stage, version, core::EventKind::promote, args.reason);
  }
  context.emit({{"stage", args.stage},
                {"from", previous ? nlohmann::json(*previous) : nlohmann::json(nullptr)},
                {"to", version.name},
                {"changed", changed}},
               [&] {
                 if (!changed) {
                   std::cout << args.stage << " already points to " << version.name << "; nothing changed\n";
                   return;
                 }
                 std::cout << args.stage << ": " << (previous ? *previous : std::string("(none)")) << " -> "
                           << version.name << '\n';
               });
}

void run_auto_promote(const AutoPromoteArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  core::validate_stage_name(args.stage);
  const auto ref = core::VersionRef::parse(args.ref);
  const core::Store store = context.store();
  store.require_exists();
  core::AutoPromoteRule rule = core::load_auto_promote_rule(store);
  rule.metric = args.metric.value_or(rule.metric);
  rule.high_threshold = args.high_threshold.value_or(rule.high_threshold);
  rule.min_improvement = args.min_improvement.value_or(rule.min_improvement);
  const auto lock = context.lock(store, "auto-promote");
  const auto version = core::resolve_version(store, ref);
  const auto meta = core::load_metadata(version.path);
  const auto found = meta.metrics.find(rule.metric);
  if (found == meta.metrics.end()) {
    throw Error(ExitCode::refused, version.name + " has no metric " + rule.metric +
                                       " (record it with create --metric " + rule.metric + "=VALUE)");
  }
  std::optional<double> old_value;
  const auto holder = core::stage_holder(store, args.stage);
  if (holder && *holder != version.name) {
    const auto current = core::load_metadata(store.versions_dir() / *holder);
    if (const auto it = current.metrics.find(rule.metric); it != current.metrics.end()) {
      old_value = it->second;
    }
  }
  const auto decision = core::decide_auto_promote(rule, old_value, found->second);
  if (decision.promote) {
    core::require_verified(version, "promote", context.progress());
    core::move_stage(store, args.stage, version, core::EventKind::promote, "auto-promote: " + decision.reason,
                     {{"automatic", true}, {"metric", rule.metric}});
  }
  context.emit({{"promoted", decision.promote},
                {"reason", decision.reason},
                {"old", old_value ? nlohmann::json(*old_value) : nlohmann::json(nullptr)},
                {"new", decision.new_value},
                {"stage", args.stage},
                {"version", version.name}},
               [&] {
                 std::cout << (decision.promote ? "promoted " : "not promoted ") << version.name << " to "
                           << args.stage << ": " << decision.reason << '\n';
               });
  if (!decision.promote) {
    throw Error(ExitCode::refused, "not promoted: " + decision.reason);
  }
}

} // namespace

void add_promote(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<PromoteArgs>();
  auto* cmd =
      app.add_subcommand("promote", "Point a stage (default production) at a version, after verifying it");
  cmd->add_option("VERSION", args->ref, "v3, 3, v003, a version directory name, latest or a stage")
      ->required();
  cmd->add_option("--stage", args->stage, "Stage name (default production)");
  cmd->add_option("--reason", args->reason, "Why (recorded in the history)");
  cmd->callback([args, &options] { run_promote(*args, options); });

  auto auto_args = std::make_shared<AutoPromoteArgs>();
  auto* auto_cmd = app.add_subcommand(
      "auto-promote",
      "Promote if the metric says so: the first version always; at or above --high-threshold "
      "unless it regresses; below it, only with at least --min-improvement (exit 4 if not promoted)");
  auto_cmd->add_option("VERSION", auto_args->ref, "The candidate version")->required();
  auto_cmd->add_option("--stage", auto_args->stage, "Stage name (default production)");
  auto_cmd->add_option("--metric", auto_args->metric, "Metric to compare (default f1_score)");
  auto_cmd->add_option("--high-threshold", auto_args->high_threshold, "Default 0.95");
  auto_cmd->add_option("--min-improvement", auto_args->min_improvement,
                       "Absolute improvement needed, default 0.02");
  auto_cmd->footer(
      "Defaults can be set per store in .modelkeep/config.json: "
      "{\"auto_promote\": {\"metric\": ..., \"high_threshold\": ..., \"min_improvement\": ...}}\n");
  auto_cmd->callback([auto_args, &options] { run_auto_promote(*auto_args, options); });
}

} // namespace modelkeep::versioner
