#include "commands.hpp"
#include "core/layout/events.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <memory>

namespace modelkeep::backup {

namespace {

struct BackupArgs {
  std::string source;
  std::string type = "emergency";
  std::string reason;
  std::string format = "dir";
  std::optional<int> level;
  std::vector<std::string> critical;
};

core::BackupRequest to_request(const BackupArgs& args, const core::Store& store)
{
  core::BackupRequest request;
  if (!util::exists(args.source)) {
    throw Error(ExitCode::not_found, "source not found " + args.source);
  }
  if (!util::is_directory(args.source)) {
    throw Error(ExitCode::usage, "source is not a directory " + args.source);
  }
  request.source = fs::canonical(args.source);
  const fs::path backups = fs::weakly_canonical(store.backups_dir());
  const auto [source_end, ignored] =
      std::mismatch(request.source.begin(), request.source.end(), backups.begin(), backups.end());
  if (source_end == request.source.end()) {
    throw Error(ExitCode::refused, "refusing to back up " + request.source.string() +
                                       ": it contains the backups in " + backups.string());
  }
  request.type = args.type;
  request.name = request.source.filename().string();
  request.reason = args.reason;
  request.format = core::parse_format(args.format);
  if (args.level && request.format != core::BackupFormat::tar_zst) {
    throw Error(ExitCode::usage, "--level applies to --format tar.zst only");
  }
  request.level = args.level.value_or(3);
  request.critical_files = core::default_critical_files(request.source);
  for (const auto& extra : args.critical) {
    if (std::find(request.critical_files.begin(), request.critical_files.end(), extra) ==
        request.critical_files.end()) {
      request.critical_files.push_back(extra);
    }
  }
  return request;
}

void run(const BackupArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  const core::Store store = context.new_store();
  const auto lock = context.lock(store, "backup");
  const core::BackupRequest request = to_request(args, store);
  const auto record = core::create_verified_backup(store, request, context.progress());
  core::append_event(store, core::EventKind::backup,
                     {{"backup", record.path.string()},
                      {"source", request.source.string()},
                      {"type", request.type},
                      {"files", record.manifest.file_count()},
                      {"size", record.manifest.total_size()}});
  context.print_result(record.path.string());
  context.note("verified: " + std::to_string(record.manifest.file_count()) + " files, " +
               util::human_size(record.manifest.total_size()) +
               ", read back from disk and checked (count, sizes, " + "SHA-256, " +
               std::to_string(request.critical_files.size()) + " critical files)");
  context.emit(core::load_backup(record.path).to_json(), [] {});
}

} // namespace

void add_backup(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<BackupArgs>();
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
