#include "commands.hpp"
#include "commands/stages.hpp"
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

void run(const commands::RollbackOptions& args, const GlobalOptions& options)
{
  const Context context(options);
  const auto result = commands::rollback(context.session(), args);
  context.emit(result.to_json(), [&] {
    std::cout << "rolled back " << result.stage << ": " << result.from << " -> " << result.to << '\n';
    for (const auto& hook : result.hooks) {
      std::cout << "  hook " << hook.hook << ": " << hook.outcome << '\n';
    }
  });
}

} // namespace

void add_rollback(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<commands::RollbackOptions>();
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
