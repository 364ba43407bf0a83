#include "commands.hpp"
#include "commands/offsite.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <cstdio>
#include <iostream>
#include <memory>

namespace modelkeep::backup {

namespace {

using nlohmann::json;

struct PushArgs {
  commands::PushOptions push;
  bool all_models = false;
};

void run_push(const PushArgs& args, const GlobalOptions& options)
{
  args.push.validate();
  if (args.all_models && !args.push.all) {
    throw Error(ExitCode::usage, "--all-models goes with --all");
  }
  const Context context(options);
  const auto result = commands::push_backups(context.sessions(args.all_models), args.push);
  for (const auto& pushed : result.pushed) {
    context.print_result(pushed["snapshot"].get<std::string>().substr(0, 8));
  }
  context.emit(result.to_json(), [] {});
  result.require_ok();
}

void run_list(const std::optional<std::string>& repo, bool all_models, const GlobalOptions& options)
{
  const Context context(options);
  const auto listing = commands::offsite_list(context.sessions(all_models), repo);
  context.emit_data(listing.to_json(), [&] {
    std::printf("%-24s %-60s %-6s %-7s %s\n", "MODEL", "BACKUP", "LOCAL", "COUNTED", "REMOTE COPIES");
    for (const auto& row : listing.rows) {
      std::vector<std::string> whys;
      for (const auto& snapshot : row["snapshots"]) {
        whys.push_back(snapshot["why"].get<std::string>());
      }
      std::string remote = whys.empty() ? "-  (no remote copy)" : util::join(whys, "; ");
      if (!row["local"].get<bool>()) {
        remote += "  (remote only: no local backup)";
      }
      std::printf("%-24s %-60s %-6s %-7s %s\n", row["model"].get<std::string>().c_str(),
                  row["id"].get<std::string>().c_str(), row["local"].get<bool>() ? "yes" : "no",
                  row["counted"].get<bool>() ? "yes" : "no", remote.c_str());
    }
  });
}

struct VerifyArgs {
  commands::OffsiteVerifyOptions verify;
  bool all_models = false;
};

void run_verify(const VerifyArgs& args, const GlobalOptions& options)
{
  if (args.all_models && args.verify.backup) {
    throw Error(ExitCode::usage, "--backup names one model's backup; it does not go with --all-models");
  }
  args.verify.validate();
  const Context context(options);
  const auto result = commands::offsite_verify(context.sessions(args.all_models), args.verify);
  context.emit(result.to_json(), [&] {
    for (const auto& repo : result.checked) {
      std::cout << repo.get<std::string>() << ": restic check OK (pack data " << result.subset << " read)\n";
    }
    for (const auto& item : result.restored) {
      std::cout << item["model"].get<std::string>() << " " << item["id"].get<std::string>() << " (snapshot "
                << item["snapshot"].get<std::string>() << "): "
                << (item["ok"].get<bool>() ? "restored and matches its manifest" : "FAILED") << '\n';
    }
  });
  result.require_ok();
}

void run_restore(const commands::OffsiteRestoreOptions& args, const GlobalOptions& options)
{
  const Context context(options);
  const auto restored = commands::offsite_restore(context.session(), args);
  context.emit(restored.to_json(), [&] {
    std::cout << app::describe_restore(restored.result,
                                       restored.backup + " (remote snapshot " + restored.snapshot + ")");
  });
}

void run_forget(const commands::ForgetOptions& args, const GlobalOptions& options)
{
  args.validate();
  const Context context(options);
  const auto plan = commands::offsite_forget(context.session(), args);
  context.emit(plan.to_json(), [&] {
    const bool done = plan.execute;
    for (const auto& item : plan.items) {
      const char* action = item.decision.keep ? (done ? "KEPT" : "KEEP") : (done ? "FORGOTTEN" : "FORGET");
      std::printf("%-*s %-8s %-58s %s\n", done ? 9 : 6, action, item.copy.short_id.c_str(),
                  item.copy.backup_id().c_str(), util::join(item.decision.reasons, ", ").c_str());
    }
    const std::size_t doomed = plan.doomed();
    if (done) {
      std::printf("%zu kept, %zu forgotten and pruned\n", plan.items.size() - doomed, doomed);
      return;
    }
    std::printf("%zu to keep, %zu to forget\n", plan.items.size() - doomed, doomed);
    if (doomed > 0) {
      std::printf("dry run: nothing was forgotten; add --execute to forget and prune them\n");
    }
  });
}

} // namespace

void add_offsite(CLI::App& app, const GlobalOptions& options)
{
  auto push = std::make_shared<PushArgs>();
  auto* push_cmd = app.add_subcommand(
      "push",
      "Send verified backups off the machine with restic (a backup that fails verification is refused); "
      "the snapshot id is recorded in backup.json");
  push_cmd->add_option("BACKUP", push->push.backups, "A backup: its path, TYPE/NAME, or its name");
  push_cmd->add_flag("--all", push->push.all, "Every backup that has no copy in the repository yet");
  push_cmd->add_flag("--all-models", push->all_models, "With --all: every model in the root");
  push_cmd->add_flag("--force", push->push.force,
                     "Send a named backup again although its copy was forgotten on purpose (offsite forget)");
  push_cmd->add_option("--repo", push->push.repo,
                       "restic repository (default: RESTIC_REPOSITORY, else offsite.repository)");
  push_cmd->footer(
      "Repository and password: \"offsite\": {\"repository\", \"password_file\", \"options\", "
      "\"timeout_seconds\"} in <root>/.modelkeep/config.json, or RESTIC_REPOSITORY and "
      "RESTIC_PASSWORD_FILE. Any restic backend works (local path, sftp:, rest:, s3:, b2:, rclone:); "
      "its credentials come from restic's own environment variables.\n");
  push_cmd->callback([push, &options] { run_push(*push, options); });

  auto* offsite =
      app.add_subcommand("offsite", "Remote copies in the restic repository: list, verify, restore, forget");
  offsite->require_subcommand(1);
  offsite->fallthrough();
  auto repo = std::make_shared<std::optional<std::string>>();
  offsite->add_option("--repo", *repo,
                      "restic repository (default: RESTIC_REPOSITORY, else offsite.repository)");

  auto list_all_models = std::make_shared<bool>(false);
  auto* list =
      offsite->add_subcommand("list", "Which backups have a remote copy, and which remote copies have no "
                                      "local backup any more");
  list->add_flag("--all-models", *list_all_models, "Every model in the root");
  list->callback([repo, list_all_models, &options] { run_list(*repo, *list_all_models, options); });

  auto verify = std::make_shared<VerifyArgs>();
  auto* verify_cmd = offsite->add_subcommand(
      "verify",
      "restic check reading pack data subset n/t, then restore one backup's remote copy into a temporary "
      "directory and compare it with its SHA-256 manifest");
  verify_cmd->add_option("--subset", verify->verify.subset, "Pack data to read: n/t (default 1/1, everything)");
  verify_cmd->add_option("--backup", verify->verify.backup,
                         "The backup whose copy is restored (default: one per day in turn)");
  verify_cmd->add_flag("--no-restore", verify->verify.no_restore, "Only run restic check");
  verify_cmd->add_flag(
      "--all-models", verify->all_models,
      "Every model in the root: each repository checked once, one copy of each model restored");
  verify_cmd->callback([verify, repo, &options] {
    auto args = *verify;
    args.verify.repo = *repo;
    run_verify(args, options);
  });

  auto restore_args = std::make_shared<commands::OffsiteRestoreOptions>();
  auto* restore = offsite->add_subcommand(
      "restore",
      "Restore a backup's newest remote copy into DEST: restic restore into a temporary sibling, then "
      "the same verification and swap as restore (what DEST held is backed up first)");
  restore->add_option("NAME", restore_args->backup, "The backup: TYPE/NAME or NAME")->required();
  restore->add_option("DEST", restore_args->dest, "Directory to restore into (replaced as a whole)")->required();
  restore->callback([restore_args, repo, &options] {
    auto args = *restore_args;
    args.repo = *repo;
    run_restore(args, options);
  });

  auto forget = std::make_shared<commands::ForgetOptions>();
  auto* forget_cmd = offsite->add_subcommand(
      "forget",
      "Remote retention with cleanup's policy flags (restic forget, then prune); a dry run unless --execute");
  add_policy_options(*forget_cmd, forget->policy, "copy");
  forget_cmd->add_option("--type", forget->type, "Only consider copies of this type");
  forget_cmd->add_flag("--execute", forget->execute,
                       "Really forget and prune (default: only print the plan)");
  forget_cmd->callback([forget, repo, &options] {
    auto args = *forget;
    args.repo = *repo;
    run_forget(args, options);
  });
}

} // namespace modelkeep::backup
