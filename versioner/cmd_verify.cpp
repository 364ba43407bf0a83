#include "commands.hpp"
#include "commands/integrity.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <iostream>
#include <memory>

namespace modelkeep::versioner {

namespace {

void print_check(const commands::VersionVerification& result, const core::VersionCheck& check)
{
  if (check.ok()) {
    std::cout << check.version.name << ": OK (" << util::plural(check.file_count, "file") << ", "
              << util::human_size(check.total_size) << ")\n";
    return;
  }
  if (check.metadata_error) {
    std::cout << check.version.name << ": FAILED: " << *check.metadata_error << '\n';
    return;
  }
  std::cout << check.version.name << ": FAILED: " << check.files.summary() << '\n';
  for (const auto& path : check.files.missing) {
    std::cout << "  missing:  " << path << '\n';
  }
  for (const auto& path : check.files.modified) {
    std::cout << "  modified: " << path;
    if (const auto others = result.shared_with(check.version.name, path); !others.empty()) {
      std::cout << " (the same stored copy as in " << util::join(others, ", ") << ": damaged there too)";
    }
    std::cout << '\n';
  }
  for (const auto& path : check.files.extra) {
    std::cout << "  extra:    " << path << '\n';
  }
}

void run(const commands::VerifyOptions& args, bool all_models, const GlobalOptions& options)
{
  if (all_models && !args.versions.empty()) {
    throw Error(ExitCode::usage, "--all-models checks every version; name no versions with it");
  }
  const Context context(options);
  const auto result = commands::verify_versions(context.sessions(all_models), args);
  for (const auto& note : result.notes) {
    context.note("note: " + note);
  }
  context.emit(result.to_json(), [&] {
    if (result.checks.empty()) {
      std::cout << "No versions found\n";
    }
    for (const auto& [model, check] : result.checks) {
      if (all_models) {
        std::cout << model << ": ";
      }
      print_check(result, check);
    }
    for (const auto& problem : result.latest_problems) {
      std::cout << "FAILED: " << problem << '\n';
    }
    if (result.failed() > 0) {
      std::cout << "Damaged files can be restored from an intact copy: model-versioner repair\n";
    }
  });
  result.require_ok();
}

} // namespace

void add_verify(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<commands::VerifyOptions>();
  auto* cmd =
      app.add_subcommand("verify", "Recompute every checksum; report missing, modified and extra files");
  cmd->add_option("VERSION", args->versions, "Versions to check (default: all)");
  auto all_models = std::make_shared<bool>(false);
  cmd->add_flag("--all-models", *all_models, "Check every version of every model in the root");
  cmd->callback([args, all_models, &options] { run(*args, *all_models, options); });
}

} // namespace modelkeep::versioner
