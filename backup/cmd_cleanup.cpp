#include "commands.hpp"
#include "core/backup/cleanup.hpp"
#include "core/backup/offsite.hpp"
#include "core/layout/events.hpp"
#include "core/trust/protection.hpp"
#include "util/error.hpp"
#include "util/failpoint.hpp"
#include "util/text.hpp"

#include <cstdio>
#include <memory>

namespace modelkeep::backup {

namespace {

struct CleanupArgs {
  core::RetentionPolicy policy;
  std::optional<std::string> type;
  bool execute = false;
  bool all_models = false;
  bool require_offsite = false;
  std::optional<std::string> repo;
};

std::string reasons_text(const core::RetentionDecision& decision)
{
  std::string text;
  for (const auto& reason : decision.reasons) {
    text += (text.empty() ? "" : ", ") + reason;
  }
  return text;
}

void print_plan(const std::vector<core::CleanupItem>& plan, bool execute)
{
  std::uint64_t freed = 0;
  std::size_t deleted = 0;
  for (const auto& item : plan) {
    const std::string id = item.entry.type + '/' + item.entry.name;
    std::printf("%-6s %-58s %s\n", item.decision.keep ? "KEEP" : "DELETE", id.c_str(),
                reasons_text(item.decision).c_str());
    if (!item.decision.keep) {
      ++deleted;
      freed += item.entry.info->manifest.total_size();
    }
  }
  std::printf("%zu to keep, %zu to delete (%s)\n", plan.size() - deleted, deleted,
              util::human_size(freed).c_str());
  if (!execute && deleted > 0) {
    std::printf("dry run: nothing was deleted; add --execute to delete them\n");
  }
}

/// Plans (and with --execute applies) the policy to one model's backups; adds its items to `doc`.
void cleanup_model(const Context& context, const core::Store& store, const CleanupArgs& args,
                   nlohmann::json& doc)
{
  const auto now = std::chrono::system_clock::now();
  std::optional<util::LockFile> lock;
  if (args.execute) {
    lock.emplace(context.lock(store, "cleanup"));
  }
  const auto backups = core::list_backups(store, std::nullopt);
  auto holds = core::backup_holds(store, backups);
  if (args.require_offsite) {
    for (auto& [id, reasons] : offsite_holds(context, store, args.repo, backups)) {
      auto& all = holds[id];
      all.insert(all.end(), reasons.begin(), reasons.end());
    }
  }
  const auto plan = core::plan_cleanup(store, args.policy, args.type, now, holds);
  for (const auto& item : plan) {
    doc["backups"].push_back({{"id", item.entry.type + '/' + item.entry.name},
                              {"model", store.model()},
                              {"action", item.decision.keep ? "keep" : "delete"},
                              {"reasons", item.decision.reasons}});
  }
  if (!context.json()) {
    context.emit(doc, [&] {
      if (args.all_models) {
        std::printf("model %s:\n", store.model().c_str());
      }
      print_plan(plan, args.execute);
    });
  }
  if (!args.execute) {
    return;
  }
  for (const auto& item : plan) {
    if (!item.decision.keep) {
      core::remove_backup(*item.entry.info);
      util::failpoint("cleanup.after_remove");
      core::append_event(store, core::EventKind::backup_cleanup,
                         {{"backup", item.entry.path.string()}, {"reasons", item.decision.reasons}});
    }
  }
}

void run(const CleanupArgs& args, const GlobalOptions& options)
{
  if (args.policy.empty()) {
    throw Error(ExitCode::usage,
                "refusing to clean up without a policy: give --retention-days or a --keep-* rule");
  }
  const Context context(options);
  nlohmann::json doc = {{"execute", args.execute}, {"backups", nlohmann::json::array()}};
  for (const auto& store : context.stores(args.all_models)) {
    cleanup_model(context, store, args, doc);
  }
  if (context.json()) {
    context.emit(doc, [] {});
  }
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
  auto args = std::make_shared<CleanupArgs>();
  auto* cmd = app.add_subcommand(
      "cleanup", "Apply a retention policy (rules ORed, like restic forget); a dry run unless --execute");
  add_policy_options(*cmd, args->policy, "backup");
  cmd->add_option("--type", args->type, "Only consider backups of this type");
  cmd->add_flag("--all-models", args->all_models,
                "Apply the policy to every model in the root, each on its own");
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
  cmd->callback([args, &options] { run(*args, options); });
}

} // namespace modelkeep::backup
