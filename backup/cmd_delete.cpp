#include "commands.hpp"
#include "core/trust/protection.hpp"
#include "core/backup/cleanup.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <iostream>
#include <memory>

namespace modelkeep::backup {

namespace {

struct DeleteArgs {
  std::string backup;
  bool confirm = false;
  bool force = false;
};

void run(const DeleteArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  const core::Store store = context.store();
  if (!args.confirm) {
    const auto info = core::resolve_backup(store, args.backup);
    throw Error(ExitCode::refused, "would delete backup " + info.path.string() + " (" +
                                       std::to_string(info.manifest.file_count()) + " files, " +
                                       util::human_size(info.manifest.total_size()) +
                                       "); run again with --confirm to do it");
  }
  const auto lock = context.lock(store, "delete");
  const auto info = core::resolve_backup(store, args.backup);
  core::delete_backup(store, info, args.force ? core::Force::yes : core::Force::no);
  context.emit({{"deleted", info.id()}, {"path", info.path.string()}},
               [&] { std::cout << "deleted backup " << info.path.string() << '\n'; });
}

} // namespace

void add_delete(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<DeleteArgs>();
  auto* cmd = app.add_subcommand("delete", "Delete one backup (needs --confirm)");
  cmd->add_option("BACKUP", args->backup, "A backup: its path, TYPE/NAME, or its name")->required();
  cmd->add_flag("--confirm", args->confirm, "Really delete (without it: say what would be deleted, exit 4)");
  cmd->add_flag(
      "--force", args->force,
      "Also delete a protected backup (the newest verified one of its source, or one a record needs)");
  cmd->callback([args, &options] { run(*args, options); });
}

} // namespace modelkeep::backup
