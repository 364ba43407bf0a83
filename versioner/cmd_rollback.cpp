#include "commands.hpp"
#include "core/layout/names.hpp"
#include "core/stages/promotion.hpp"
#include "core/stages/rollback.hpp"
#include "core/versions/refs.hpp"
#include "core/versions/version_ops.hpp"
#include "util/error.hpp"

#include <iostream>
#include <memory>

namespace modelkeep::versioner {

namespace {

struct RollbackArgs {
  std::string stage = "production";
  std::optional<std::string> to;
  std::optional<std::string> best;
  std::string reason;
};

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

void run(const RollbackArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  core::validate_stage_name(args.stage);
  if (args.to && args.best) {
    throw Error(ExitCode::usage, "give --to or --best, not both");
  }
  const core::Store store = context.store();
  store.require_exists();
  nlohmann::json event;
  std::string from;
  {
    const auto lock = context.lock(store, "rollback");
    const auto holder = core::stage_holder(store, args.stage);
    if (!holder) {
      throw Error(ExitCode::refused, "nothing to roll back: stage " + args.stage + " points to no version");
    }
    const auto current = core::resolve_version(store, core::VersionRef::parse(*holder));
    from = current.name;
    core::VersionDir target;
    if (args.to) {
      target = core::resolve_version(store, core::VersionRef::parse(*args.to));
    } else if (args.best) {
      target = best_earlier(store, current, *args.best);
    } else {
      const auto previous = core::rollback_target(store, args.stage);
      if (!previous) {
        throw Error(ExitCode::refused, "nothing to roll back to: no earlier holder of " + args.stage +
                                           " in the history (use --to VERSION)");
      }
      target = *previous;
    }
    if (target.name == current.name) {
      throw Error(ExitCode::refused,
                  "nothing to roll back to: " + args.stage + " already points to " + target.name);
    }
    event =
        core::roll_back(store, args.stage, target, args.reason, {{"automatic", false}}, context.progress());
  }
  // Hooks run after the lock is released: a slow hook must not hold up other writers.
  const auto hooks = core::run_rollback_hooks(store, event);
  nlohmann::json hook_docs = nlohmann::json::array();
  for (const auto& hook : hooks) {
    hook_docs.push_back(hook.to_json());
  }
  const std::string to = event.value("to", "");
  context.emit(
      {{"stage", args.stage}, {"from", from}, {"to", to}, {"automatic", false}, {"hooks", hook_docs}}, [&] {
        std::cout << "rolled back " << args.stage << ": " << from << " -> " << to << '\n';
        for (const auto& hook : hooks) {
          std::cout << "  hook " << hook.hook << ": " << hook.outcome << '\n';
        }
      });
}

} // namespace

void add_rollback(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<RollbackArgs>();
  auto* cmd = app.add_subcommand(
      "rollback", "Point a stage back at the version that held it before (from the "
                  "history), at --to VERSION, or at the earlier version with the --best metric");
  cmd->add_option("--stage", args->stage, "Stage name (default production)");
  cmd->add_option("--to", args->to, "Roll back to this version");
  cmd->add_option("--best", args->best,
                  "Roll back to the earlier version with the best value of this metric "
                  "(lowest for *loss, *error, *latency; else highest)");
  cmd->add_option("--reason", args->reason, "Why (recorded in the history)");
  cmd->callback([args, &options] { run(*args, options); });
}

} // namespace modelkeep::versioner
