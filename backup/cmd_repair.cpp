#include "commands.hpp"
#include "commands/backups.hpp"

#include <iostream>
#include <memory>

namespace modelkeep::backup {

namespace {

void run(const std::string& name, const GlobalOptions& options)
{
  const Context context(options);
  const auto repaired = commands::repair_backup(context.session(), name);
  const auto& result = repaired.result;
  const std::string id = result.backup.id();
  context.emit(repaired.to_json(), [&] {
    if (result.repairs.empty()) {
      std::cout << id << ": nothing to repair\n";
    }
    for (const auto& repair : result.repairs) {
      std::cout << repair.files.front() << ": "
                << (repair.source.empty() ? "NOT REPAIRED (no intact copy)" : "repaired from " + repair.source)
                << '\n';
    }
    std::cout << id << ": " << (repaired.ok() ? "verified" : "still FAILED") << '\n';
  });
  repaired.require_ok();
}

} // namespace

void add_repair(CLI::App& app, const GlobalOptions& options)
{
  auto name = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "repair", "Restore a directory backup's damaged files from intact copies, then verify it in full");
  cmd->footer(
      "Copies come from versions, stored objects and other backups of any model of the root whose "
      "SHA-256 matches. Archives are not rewritten: restore them from their remote copy or make a new "
      "backup. Exit 1 if a file has no intact copy (nothing is changed for it).");
  cmd->add_option("BACKUP", *name, "A backup: its path, TYPE/NAME, or its name")->required();
  cmd->callback([name, &options] { run(*name, options); });
}

} // namespace modelkeep::backup
