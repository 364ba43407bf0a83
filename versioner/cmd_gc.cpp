#include "commands.hpp"
#include "commands/retention.hpp"
#include "core/stages/promotion.hpp"
#include "core/trust/protection.hpp"
#include "core/versions/refs.hpp"
#include "core/versions/version_ops.hpp"
#include "util/error.hpp"
#include "util/failpoint.hpp"
#include "util/text.hpp"

#include <cstdio>
#include <memory>
#include <set>

namespace modelkeep::versioner {

namespace {

void run(const commands::GcOptions& args, const GlobalOptions& options)
{
  const Context context(options);
  const auto result = commands::collect_versions(context.session(), args);
  context.emit(result.to_json(), [&] {
    const std::size_t doomed = result.doomed();
    const bool done = result.execute;
    for (const auto& v : result.verdicts) {
      const char* action = v.keep ? (done ? "KEPT" : "KEEP") : (done ? "DELETED" : "DELETE");
      std::printf("%-*s %-50s %s\n", done ? 7 : 6, action, v.version.name.c_str(), v.why.c_str());
    }
    if (done) {
      std::printf("%zu kept, %zu deleted\n", result.verdicts.size() - doomed, doomed);
    } else {
      std::printf("%zu to keep, %zu to delete%s\n", result.verdicts.size() - doomed, doomed,
                  doomed > 0 ? "; dry run: add --execute to delete them" : "");
    }
  });
  if (result.pruned > 0) {
    context.note("removed " + std::to_string(result.pruned) + " stored files no version uses any more");
  }
}

} // namespace

void add_gc(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<commands::GcOptions>();
  auto* cmd = app.add_subcommand(
      "gc", "Delete all but the newest N versions (and latest, and every version something uses: "
            "stages, A/B tests, monitoring baselines, consolidated models); a dry run unless --execute");
  cmd->add_option("--keep", args->keep, "How many of the newest versions to keep")->required();
  cmd->add_flag("--execute", args->execute, "Really delete (each through a verified backup, like delete)");
  cmd->add_flag("--no-backup", args->no_backup, "With --execute: delete without the backups");
  cmd->callback([args, &options] { run(*args, options); });
}

} // namespace modelkeep::versioner
