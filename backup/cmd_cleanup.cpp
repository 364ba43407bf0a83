#include "commands.hpp"
#include "commands/backups.hpp"
#include "util/text.hpp"

#include <cstdio>
#include <memory>

namespace modelkeep::backup {

namespace {

void print_plan(const std::vector<core::CleanupItem>& plan, bool execute)
{
  std::uint64_t freed = 0;
  std::size_t deleted = 0;
  for (const auto& item : plan) {
    const std::string id = item.entry.type + '/' + item.entry.name;
    const char* action = item.decision.keep ? (execute ? "KEPT" : "KEEP") : (execute ? "DELETED" : "DELETE");
    std::printf("%-*s %-58s %s\n", execute ? 7 : 6, action, id.c_str(),
                util::join(item.decision.reasons, ", ").c_str());
    if (!item.decision.keep) {
      ++deleted;
      freed += item.entry.info->manifest.total_size();
    }
  }
  if (execute) {
    std::printf("%zu kept, %zu deleted (%s freed)\n", plan.size() - deleted, deleted,
                util::human_size(freed).c_str());
    return;
  }
  std::printf("%zu to keep, %zu to delete (%s)\n", plan.size() - deleted, deleted, util::human_size(freed).c_str());
  if (deleted > 0) {
    std::printf("dry run: nothing was deleted; add --execute to delete them\n");
  }
}

void run(const commands::CleanupOptions& args, bool all_models, const GlobalOptions& options)
{
  args.validate();
  const Context context(options);
  const auto result = commands::cleanup_backups(context.sessions(all_models), args);
  context.emit(result.to_json(), [&] {
    for (const auto& model : result.models) {
      if (all_models) {
        std::printf("model %s:\n", model.model.c_str());
      }
      print_plan(model.items, result.execute);
    }
  });
}

} // namespace

void add_policy_options(CLI::App& cmd, core::RetentionPolicy& policy, const std::string& what)
{
  cmd.add_option("--retention-days", policy.within_days, "Keep every " + what + " newer than N days");
  cmd.add_option("--keep-last", policy.keep_last, "Keep the N newest (per type and source)");
  cmd.add_option("--keep-daily", policy.keep_daily, "Keep the newest of each of the last N days");
  cmd.add_option("--keep-weekly", policy.keep_weekly, "Keep the newest of each of the last N weeks");
  cmd.add_option("--keep-monthly", policy.keep_monthly, "Keep the newest of each of the last N months");
}

void add_cleanup(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<commands::CleanupOptions>();
  auto all_models = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand(
      "cleanup", "Apply a retention policy (rules ORed, like restic forget); a dry run unless --execute");
  add_policy_options(*cmd, args->policy, "backup");
  cmd->add_option("--type", args->type, "Only consider backups of this type");
  cmd->add_flag("--all-models", *all_models, "Apply the policy to every model in the root, each on its own");
  cmd->add_flag(
      "--require-offsite", args->require_offsite,
      "Never delete a backup without a verified remote copy: still in the restic repository, restored "
      "and matched by offsite verify, not failed or forgotten since");
  cmd->add_option("--repo", args->repo,
                  "With --require-offsite: the restic repository (default: as for push)");
  cmd->add_flag("--execute", args->execute, "Really delete (default: only print what would be deleted)");
  cmd->footer(
      "Never deleted, whatever the policy: the newest verified backup of each source, and backups that a\n"
      "version's delete record or a consolidation record points to. UTC days, ISO weeks.\n");
  cmd->callback([args, all_models, &options] { run(*args, *all_models, options); });
}

} // namespace modelkeep::backup
