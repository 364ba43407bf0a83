#include "commands.hpp"
#include "commands/backups.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <iostream>
#include <memory>

namespace modelkeep::backup {

namespace {

void print_result(const commands::BackupVerification::Item& result)
{
  const auto& info = result.info;
  const bool quick = result.check.depth == core::CheckDepth::quick;
  if (result.ok()) {
    std::cout << info.id() << ": OK (" << util::plural(info.manifest.file_count(), "file") << ", "
              << util::human_size(info.manifest.total_size()) << (quick ? "; sizes only" : "") << ")\n";
    return;
  }
  if (result.check.ok()) {
    std::cout << info.id() << ": FAILED (sizes match, but a check failed at " << result.state.failed_at
              << " and only a full verify can clear it)\n";
    for (const auto& problem : result.state.problems) {
      std::cout << "  " << problem << '\n';
    }
    return;
  }
  std::cout << info.id() << ": FAILED (" << util::plural(result.check.problems.size(), "problem") << ")\n";
  for (const auto& problem : result.check.problems) {
    std::cout << "  " << problem << '\n';
  }
}

void run(const commands::BackupVerifyOptions& args, bool all_models, const GlobalOptions& options)
{
  args.validate();
  if (all_models && !args.all) {
    throw Error(ExitCode::usage, "--all-models goes with --all");
  }
  const Context context(options);
  const auto result = commands::verify_backups(context.sessions(all_models), args);
  context.emit(result.to_json(), [&] {
    if (result.items.empty()) {
      std::cout << "No backups in slice " << args.subset.value_or("1/1") << " (of " << result.existing << ")\n";
    }
    for (const auto& item : result.items) {
      if (all_models) {
        std::cout << item.model << ": ";
      }
      print_result(item);
    }
  });
  result.require_ok();
}

} // namespace

void add_verify(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<commands::BackupVerifyOptions>();
  auto all_models = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("verify", "Check backups: file count, total size, critical files, each "
                                           "size, and every SHA-256; records the result");
  cmd->add_option("BACKUP", args->backups, "A backup: its path, TYPE/NAME, or its name");
  cmd->add_flag("--all", args->all, "Verify every backup");
  cmd->add_flag("--all-models", *all_models, "With --all: every backup of every model in the root");
  cmd->add_flag("--quick", args->quick, "Skip the SHA-256 check (count, sizes and critical files only)");
  cmd->add_option("--subset", args->subset,
                  "With --all: only slice n of t (e.g. 3/7), so t runs cover everything");
  cmd->callback([args, all_models, &options] { run(*args, *all_models, options); });
}

} // namespace modelkeep::backup
