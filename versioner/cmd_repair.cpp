#include "commands.hpp"
#include "commands/integrity.hpp"
#include "util/text.hpp"

#include <iostream>
#include <memory>

namespace modelkeep::versioner {

namespace {

void run(const commands::RepairOptions& args, const GlobalOptions& options)
{
  const Context context(options);
  const auto result = commands::repair_versions(context.session(), args);
  const auto& report = result.report;
  context.emit(result.to_json(), [&] {
    if (report.repairs.empty() && report.after.empty()) {
      std::cout << "Nothing to repair: " << util::plural(result.checked, "version") << " verified intact\n";
    }
    for (const auto& repair : report.repairs) {
      for (const auto& file : repair.files) {
        std::cout << file << ": "
                  << (repair.source.empty()
                          ? "NOT REPAIRED (no intact copy of sha256 " + repair.sha256.substr(0, 12) + "...)"
                          : "repaired from " + repair.source)
                  << '\n';
      }
      if (repair.source.empty()) {
        for (const auto& why : repair.tried) {
          std::cout << "  tried " << why << '\n';
        }
      }
    }
    for (const auto& check : report.after) {
      std::cout << check.version.name << ": "
                << (check.ok() ? "OK after repair" : "still FAILED: " + check.files.summary()) << '\n';
    }
    for (const auto& note : report.notes) {
      std::cout << "note: " << note << '\n';
    }
  });
  result.require_ok();
}

} // namespace

void add_repair(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<commands::RepairOptions>();
  auto* cmd = app.add_subcommand(
      "repair", "Restore damaged files of versions from any intact copy of the same SHA-256, then re-verify");
  cmd->footer("Looks in the stored object, other versions, local backups (any format), other models of the "
              "root and, when an offsite repository is configured, remote copies of local backups. Files "
              "with no intact copy are reported and left as they are (exit 1). Extra files are reported, "
              "never removed.");
  cmd->add_option("VERSION", args->versions, "Versions to repair (default: all)");
  cmd->add_option("--repo", args->repo, "restic repository to look in (default: the configured one)");
  cmd->add_flag("--no-remote", args->no_remote, "Do not look in the offsite repository");
  cmd->callback([args, &options] { run(*args, options); });
}

} // namespace modelkeep::versioner
