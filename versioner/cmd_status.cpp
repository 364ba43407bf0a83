#include "commands.hpp"
#include "commands/versions.hpp"
#include "core/stages/promotion.hpp"

#include <iostream>
#include <memory>

namespace modelkeep::versioner {

namespace {

void run(const commands::StatusOptions& args, const GlobalOptions& options)
{
  const Context context(options);
  const auto change = commands::set_status(context.session(), args);
  context.emit(change.to_json(), [&] { std::cout << change.version << ": " << change.status << '\n'; });
}

} // namespace

void add_status(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<commands::StatusOptions>();
  auto* cmd =
      app.add_subcommand("status", "Set a version's status: staging, archived, failed, rollback_candidate "
                                   "(production and canary follow their stage links: use promote)");
  cmd->add_option("VERSION", args->version, "The version")->required();
  cmd->add_option("NEW_STATUS", args->status, "The new status")->required();
  cmd->add_option("--reason", args->reason, "Why (recorded in the history)");
  cmd->callback([args, &options] { run(*args, options); });
}

} // namespace modelkeep::versioner
