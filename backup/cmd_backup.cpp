#include "commands.hpp"
#include "commands/backups.hpp"
#include "util/text.hpp"

#include <memory>

namespace modelkeep::backup {

namespace {

void run(const commands::BackupOptions& args, const GlobalOptions& options)
{
  const Context context(options);
  const auto made = commands::make_backup(context.new_session(), args);
  const auto& manifest = made.info.manifest;
  context.print_result(made.info.path.string());
  context.note("verified: " + util::plural(manifest.file_count(), "file") + ", " +
               util::human_size(manifest.total_size()) +
               ", read back from disk and checked (count, sizes, SHA-256, " +
               util::plural(made.critical_files, "critical file") + ")");
  context.emit(made.to_json(), [] {});
}

} // namespace

void add_backup(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<commands::BackupOptions>();
  auto* cmd =
      app.add_subcommand("backup", "Back up a directory, read the copy back and verify it; prints its path");
  cmd->add_option("SOURCE", args->source, "Directory to back up")->required();
  cmd->add_option(
      "--type", args->type,
      "Backup type: pre_consolidation, pre_deletion, emergency (default), or any [a-z][a-z0-9_]*");
  cmd->add_option("--reason", args->reason, "Why this backup was made (recorded)");
  cmd->add_option("--format", args->format, "dir (default), tar or tar.zst")
      ->check(CLI::IsMember({"dir", "tar", "tar.zst"}));
  cmd->add_option("--level", args->level, "zstd level for tar.zst (1-19, default 3)")
      ->check(CLI::Range(1, 19));
  cmd->add_option(
      "--critical", args->critical,
      "A file (relative to SOURCE) that must be in the backup, besides the usual adapter and model files");
  cmd->callback([args, &options] { run(*args, options); });
}

} // namespace modelkeep::backup
