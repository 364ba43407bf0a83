#include "commands.hpp"
#include "core/backup/cleanup.hpp"

#include <iostream>
#include <memory>

namespace modelkeep::backup {

namespace {

struct RestoreArgs {
  std::string backup;
  std::string dest;
};

void run(const RestoreArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  const core::Store store = context.store();
  const auto lock = context.lock(store, "restore");
  const auto info = core::resolve_backup(store, args.backup);
  const auto result = core::restore_backup(store, info, args.dest, context.progress());
  const nlohmann::json doc = {{"backup", info.id()},
                              {"target", result.target.string()},
                              {"already_identical", result.already_identical},
                              {"pre_restore_backup", result.backup_path
                                                         ? nlohmann::json(result.backup_path->string())
                                                         : nlohmann::json(nullptr)}};
  context.emit(doc, [&] { std::cout << app::describe_restore(result, info.id()); });
}

} // namespace

void add_restore(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<RestoreArgs>();
  auto* cmd = app.add_subcommand(
      "restore",
      "Verify a backup, then put its files into DEST; what DEST held is backed up first (pre_restore)");
  cmd->add_option("BACKUP", args->backup, "A backup: its path, TYPE/NAME, or its name")->required();
  cmd->add_option("DEST", args->dest, "Directory to restore into (replaced as a whole)")->required();
  cmd->callback([args, &options] { run(*args, options); });
}

} // namespace modelkeep::backup
