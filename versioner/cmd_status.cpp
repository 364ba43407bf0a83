#include "commands.hpp"
#include "core/stages/promotion.hpp"

#include <iostream>
#include <memory>

namespace modelkeep::versioner {

namespace {

struct StatusArgs {
  std::string ref;
  std::string status;
  std::string reason;
};

void run(const StatusArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  const auto ref = core::VersionRef::parse(args.ref);
  const core::Store store = context.store();
  store.require_exists();
  const auto lock = context.lock(store, "status");
  const auto version = core::resolve_version(store, ref);
  core::set_status(store, version, args.status, args.reason);
  context.emit({{"version", version.name}, {"status", args.status}},
               [&] { std::cout << version.name << ": " << args.status << '\n'; });
}

} // namespace

void add_status(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<StatusArgs>();
  auto* cmd =
      app.add_subcommand("status", "Set a version's status: staging, production, canary, archived, failed, "
                                   "rollback_candidate");
  cmd->add_option("VERSION", args->ref, "The version")->required();
  cmd->add_option("NEW_STATUS", args->status, "The new status")->required();
  cmd->add_option("--reason", args->reason, "Why (recorded in the history)");
  cmd->callback([args, &options] { run(*args, options); });
}

} // namespace modelkeep::versioner
