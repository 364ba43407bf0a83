#include "commands.hpp"
#include "commands/backups.hpp"

#include <iostream>
#include <memory>

namespace modelkeep::backup {

namespace {

void run(const commands::BackupRestoreOptions& args, const GlobalOptions& options)
{
  const Context context(options);
  const auto restored = commands::restore_backup(context.session(), args);
  context.emit(restored.to_json(), [&] { std::cout << app::describe_restore(restored.result, restored.backup); });
}

} // namespace

void add_restore(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<commands::BackupRestoreOptions>();
  auto* cmd = app.add_subcommand(
      "restore",
      "Verify a backup, then put its files into DEST; what DEST held is backed up first (pre_restore)");
  cmd->add_option("BACKUP", args->backup, "A backup: its path, TYPE/NAME, or its name")->required();
  cmd->add_option("DEST", args->dest, "Directory to restore into (replaced as a whole)")->required();
  cmd->callback([args, &options] { run(*args, options); });
}

} // namespace modelkeep::backup
