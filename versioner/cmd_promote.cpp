#include "commands.hpp"
#include "commands/stages.hpp"
#include "core/layout/names.hpp"
#include "core/stages/promotion.hpp"
#include "core/versions/refs.hpp"
#include "core/versions/version_ops.hpp"
#include "util/error.hpp"

#include <iostream>
#include <memory>

namespace modelkeep::versioner {

namespace {

void run_promote(const commands::PromoteOptions& args, const GlobalOptions& options)
{
  const Context context(options);
  const auto result = commands::promote(context.session(), args);
  context.emit(result.to_json(), [&] {
    if (!result.changed) {
      std::cout << result.stage << " already points to " << result.to << "; nothing changed\n";
      return;
    }
    std::cout << result.stage << ": " << result.from.value_or("(none)") << " -> " << result.to << '\n';
  });
}

void run_auto_promote(const commands::AutoPromoteOptions& args, const GlobalOptions& options)
{
  const Context context(options);
  const auto result = commands::auto_promote(context.session(), args);
  context.emit(result.to_json(), [&] {
    std::cout << (result.promoted ? "promoted " : "not promoted ") << result.version << " to " << result.stage
              << ": " << result.reason << '\n';
  });
  if (!result.promoted) {
    throw Error(ExitCode::refused, "not promoted: " + result.reason);
  }
}

} // namespace

void add_promote(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<commands::PromoteOptions>();
  auto* cmd =
      app.add_subcommand("promote", "Point a stage (default production) at a version, after verifying it");
  cmd->add_option("VERSION", args->version, "v3, 3, v003, a version directory name, latest or a stage")
      ->required();
  cmd->add_option("--stage", args->stage, "Stage name (default production)");
  cmd->add_option("--reason", args->reason, "Why (recorded in the history)");
  cmd->callback([args, &options] { run_promote(*args, options); });

  auto auto_args = std::make_shared<commands::AutoPromoteOptions>();
  auto* auto_cmd = app.add_subcommand(
      "auto-promote",
      "Promote if the metric says so: the first version always; at or above --high-threshold "
      "unless it regresses; below it, only with at least --min-improvement (exit 4 if not promoted)");
  auto_cmd->add_option("VERSION", auto_args->version, "The candidate version")->required();
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
