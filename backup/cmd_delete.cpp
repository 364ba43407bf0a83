#include "commands.hpp"
#include "commands/backups.hpp"

#include <iostream>
#include <memory>

namespace modelkeep::backup {

namespace {

void run(const commands::BackupDeleteOptions& args, const GlobalOptions& options)
{
  const Context context(options);
  const auto deleted = commands::delete_backup(context.session(), args);
  context.emit(deleted.to_json(), [&] { std::cout << "deleted backup " << deleted.path << '\n'; });
}

} // namespace

void add_delete(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<commands::BackupDeleteOptions>();
  auto* cmd = app.add_subcommand("delete", "Delete one backup (needs --confirm)");
  cmd->add_option("BACKUP", args->backup, "A backup: its path, TYPE/NAME, or its name")->required();
  cmd->add_flag("--confirm", args->confirm, "Really delete (without it: say what would be deleted, exit 4)");
  cmd->add_flag(
      "--force", args->force,
      "Also delete a protected backup (the newest verified one of its source, or one a record needs)");
  cmd->callback([args, &options] { run(*args, options); });
}

} // namespace modelkeep::backup
