#include "commands.hpp"
#include "core/backup/cleanup.hpp"
#include "core/backup/offsite.hpp"
#include "core/backup/retention.hpp"
#include "util/clock.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/progress.hpp"
#include "util/text.hpp"

#include <cstdio>
#include <iostream>
#include <memory>

namespace modelkeep::backup {

namespace {

using nlohmann::json;

/// The restic repository of a store, the offsite lock, and the snapshots it holds.
struct Remote {
  core::Restic restic;
  util::LockFile lock;

  Remote(const Context& context, const core::Store& store, const std::optional<std::string>& repo,
         const std::string& command)
      : restic(core::load_restic_config(store, repo)),
        lock(core::lock_offsite(store, command, context.lock_timeout()))
  {
  }
};

std::vector<core::RemoteCopy> copies_of_model(const std::vector<core::RemoteCopy>& all,
                                              const core::Store& store)
{
  std::vector<core::RemoteCopy> mine;
  for (const auto& copy : all) {
    if (copy.model == store.model()) {
      mine.push_back(copy);
    }
  }
  return mine;
}

// ---- push ----

struct PushArgs {
  std::vector<std::string> backups;
  bool all = false;
  bool all_models = false;
  std::optional<std::string> repo;
};

void run_push(const PushArgs& args, const GlobalOptions& options)
{
  if (args.all == !args.backups.empty()) {
    throw Error(ExitCode::usage, "name the backups to push, or give --all");
  }
  if (args.all_models && !args.all) {
    throw Error(ExitCode::usage, "--all-models goes with --all");
  }
  const Context context(options);
  json doc = {{"pushed", json::array()}, {"failed", json::array()}};
  std::vector<std::string> failures;
  for (const auto& store : context.stores(args.all_models)) {
    std::vector<core::BackupInfo> chosen;
    if (args.all) {
      for (const auto& entry : core::list_backups(store, std::nullopt)) {
        if (entry.info) {
          chosen.push_back(*entry.info);
        } else {
          failures.push_back(entry.error);
        }
      }
    } else {
      for (const auto& text : args.backups) {
        chosen.push_back(core::resolve_backup(store, text));
      }
    }
    if (chosen.empty()) {
      continue;
    }
    const auto lock = context.lock(store, "push");
    const Remote remote(context, store, args.repo, "backup-manager push");
    doc["repository"] = remote.restic.config().shown_repository();
    const auto existing = core::remote_copies(remote.restic);
    for (const auto& info : chosen) {
      try {
        const auto result = core::push_backup(store, remote.restic, info, existing, context.progress());
        doc["pushed"].push_back({{"id", info.id()},
                                 {"model", store.model()},
                                 {"snapshot", result.snapshot},
                                 {"already", result.already}});
        context.note(info.id() + (result.already ? ": already in " : ": sent to ") +
                     remote.restic.config().shown_repository() + " as snapshot " +
                     result.snapshot.substr(0, 8));
        context.print_result(result.snapshot.substr(0, 8));
      } catch (const Error& e) {
        if (e.code() != ExitCode::failed) {
          throw; // the repository itself is unusable: no point in trying the next backup
        }
        failures.push_back(info.id() + ": " + e.what());
        doc["failed"].push_back({{"id", info.id()}, {"model", store.model()}, {"error", e.what()}});
      }
    }
  }
  context.emit(doc, [] {});
  if (!failures.empty()) {
    throw Error(ExitCode::failed,
                std::to_string(failures.size()) + " backups not sent:\n  " + util::join(failures, "\n  "));
  }
}

// ---- offsite list ----

void run_list(const std::optional<std::string>& repo, bool all_models, const GlobalOptions& options)
{
  const Context context(options);
  json rows = json::array();
  std::string shown;
  for (const auto& store : context.stores(all_models)) {
    const Remote remote(context, store, repo, "backup-manager offsite list");
    shown = remote.restic.config().shown_repository();
    auto copies = copies_of_model(core::remote_copies(remote.restic), store);
    std::vector<bool> matched(copies.size(), false);
    for (const auto& entry : core::list_backups(store, std::nullopt)) {
      json snapshots = json::array();
      for (std::size_t i = 0; i < copies.size(); ++i) {
        if (copies[i].type == entry.type && copies[i].name == entry.name) {
          snapshots.push_back(copies[i].short_id);
          matched[i] = true;
        }
      }
      rows.push_back({{"model", store.model()},
                      {"id", entry.type + "/" + entry.name},
                      {"local", true},
                      {"snapshots", snapshots}});
    }
    for (std::size_t i = 0; i < copies.size(); ++i) {
      if (!matched[i]) {
        rows.push_back({{"model", store.model()},
                        {"id", copies[i].backup_id()},
                        {"local", false},
                        {"snapshots", json::array({copies[i].short_id})}});
      }
    }
  }
  context.emit({{"repository", shown}, {"backups", rows}}, [&] {
    std::printf("%-24s %-60s %-6s %s\n", "MODEL", "BACKUP", "LOCAL", "REMOTE");
    for (const auto& row : rows) {
      std::string remote = "-  (no remote copy)";
      if (!row["snapshots"].empty()) {
        std::vector<std::string> ids;
        for (const auto& id : row["snapshots"]) {
          ids.push_back(id.get<std::string>());
        }
        remote = util::join(ids, ",") + (row["local"].get<bool>() ? "" : "  (remote only: no local backup)");
      }
      std::printf("%-24s %-60s %-6s %s\n", row["model"].get<std::string>().c_str(),
                  row["id"].get<std::string>().c_str(), row["local"].get<bool>() ? "yes" : "no",
                  remote.c_str());
    }
  });
}

// ---- offsite verify ----

struct VerifyArgs {
  std::optional<std::string> repo;
  std::string subset = "1/1";
  std::optional<std::string> backup;
  bool no_restore = false;
  bool all_models = false;
};

/// The remote copy to restore and compare: the one of --backup, else a different one each
/// day, so that successive nights restore every backup in turn.
std::optional<core::RemoteCopy> chosen_copy(const std::vector<core::RemoteCopy>& copies,
                                            const std::optional<std::string>& backup)
{
  if (copies.empty()) {
    if (backup) {
      throw Error(ExitCode::not_found, "no remote copy of " + *backup);
    }
    return std::nullopt;
  }
  if (backup) {
    std::optional<core::RemoteCopy> newest;
    for (const auto& copy : copies) {
      if ((copy.name == *backup || copy.backup_id() == *backup) && (!newest || copy.time > newest->time)) {
        newest = copy;
      }
    }
    if (!newest) {
      throw Error(ExitCode::not_found,
                  "no remote copy of " + *backup + " (backup-manager offsite list shows them)");
    }
    return newest;
  }
  const auto day = util::to_unix_seconds(std::chrono::system_clock::now()) / 86400;
  return copies[static_cast<std::size_t>(day) % copies.size()];
}

/// Restores one remote copy of `store`'s model and compares it with its manifest; records the
/// result in the local backup if there is one. Returns what it did, for the report.
json verify_one_copy(const Context& context, const core::Store& store, const core::Restic& restic,
                     const std::optional<std::string>& backup)
{
  const auto copy = chosen_copy(copies_of_model(core::remote_copies(restic), store), backup);
  if (!copy) {
    return nullptr;
  }
  context.note("restoring " + copy->backup_id() + " (snapshot " + copy->short_id +
               ") and checking every SHA-256");
  store.ensure_layout();
  core::with_restored_copy(restic, *copy, store.backups_dir() / "offsite-verify", [&](const auto& info) {
    util::Progress progress("verifying " + copy->backup_id(), info.manifest.total_size(), context.progress());
    const auto check = core::verify_backup(info, core::Hashing::yes, &progress);
    if (!check.ok()) {
      throw Error(ExitCode::failed, "the remote copy " + copy->short_id + " of " + copy->backup_id() +
                                        " does not match its manifest: " + util::join(check.problems, "; "));
    }
  });
  return {{"model", store.model()},
          {"id", copy->backup_id()},
          {"snapshot", copy->short_id},
          {"snapshot_id", copy->id},
          {"ok", true}};
}

/// Notes a verified remote copy in its local backup's record, if the backup is still there.
/// Called without the offsite lock: the lock order is a model's lock, then the offsite lock.
void record_verified_copy(const Context& context, const core::Store& store, const json& restored)
{
  const auto lock = context.lock(store, "offsite verify");
  try {
    core::record_remote_verification(core::resolve_backup(store, restored["id"].get<std::string>()),
                                     restored["snapshot_id"].get<std::string>());
  } catch (const Error& e) {
    util::log_step(std::string("no local backup to record the verification in: ") + e.what());
  }
}

void run_verify(const VerifyArgs& args, const GlobalOptions& options)
{
  const auto [n, t] = parse_subset(args.subset);
  if (args.all_models && args.backup) {
    throw Error(ExitCode::usage, "--backup names one model's backup; it does not go with --all-models");
  }
  const Context context(options);
  json doc = {{"checked", json::array()}, {"subset", args.subset}, {"restored", json::array()}};
  std::set<std::string> checked;
  for (const auto& store : context.stores(args.all_models)) {
    json restored;
    {
      const Remote remote(context, store, args.repo, "backup-manager offsite verify");
      const std::string shown = remote.restic.config().shown_repository();
      if (checked.insert(remote.restic.config().repository).second) {
        context.note("checking " + shown + " (restic check, reading pack data " + args.subset + ")");
        remote.restic.check(n, t);
        doc["checked"].push_back(shown);
      }
      if (!args.no_restore) {
        restored = verify_one_copy(context, store, remote.restic, args.backup);
      }
    }
    if (!restored.is_null()) {
      record_verified_copy(context, store, restored);
      restored.erase("snapshot_id");
      doc["restored"].push_back(std::move(restored));
    }
  }
  context.emit(doc, [&] {
    for (const auto& repo : doc["checked"]) {
      std::cout << repo.get<std::string>() << ": restic check OK (pack data " << args.subset << " read)\n";
    }
    for (const auto& item : doc["restored"]) {
      std::cout << item["model"].get<std::string>() << " " << item["id"].get<std::string>() << " (snapshot "
                << item["snapshot"].get<std::string>() << "): restored and matches its manifest\n";
    }
  });
}

// ---- offsite restore ----

void run_restore(const std::string& name, const std::string& dest, const std::optional<std::string>& repo,
                 const GlobalOptions& options)
{
  const Context context(options);
  const core::Store store = context.store();
  const auto lock = context.lock(store, "offsite restore");
  const Remote remote(context, store, repo, "backup-manager offsite restore");
  const auto copy = chosen_copy(copies_of_model(core::remote_copies(remote.restic), store), name);
  const fs::path target = fs::absolute(dest).lexically_normal();
  std::optional<core::RestoreResult> result;
  core::with_restored_copy(remote.restic, *copy, target, [&](const core::BackupInfo& info) {
    result = core::restore_backup(store, info, target, context.progress());
  });
  const json doc = {
      {"backup", copy->backup_id()},
      {"snapshot", copy->short_id},
      {"target", result->target.string()},
      {"already_identical", result->already_identical},
      {"pre_restore_backup", result->backup_path ? json(result->backup_path->string()) : json(nullptr)}};
  context.emit(doc, [&] {
    std::cout << app::describe_restore(*result,
                                       copy->backup_id() + " (remote snapshot " + copy->short_id + ")");
  });
}

// ---- offsite forget ----

struct ForgetArgs {
  core::RetentionPolicy policy;
  std::optional<std::string> type;
  std::optional<std::string> repo;
  bool execute = false;
};

void run_forget(const ForgetArgs& args, const GlobalOptions& options)
{
  if (args.policy.empty()) {
    throw Error(ExitCode::usage, "no retention rule given (e.g. --keep-last 3); an empty policy would forget "
                                 "everything and is refused");
  }
  const Context context(options);
  const core::Store store = context.store();
  const Remote remote(context, store, args.repo, "backup-manager offsite forget");
  std::vector<core::RemoteCopy> copies;
  for (auto& copy : copies_of_model(core::remote_copies(remote.restic), store)) {
    if (!args.type || copy.type == *args.type) {
      copies.push_back(std::move(copy));
    }
  }
  // The newest copy of each source is kept whatever the policy, as cleanup keeps the newest
  // verified local backup.
  std::map<std::string, std::size_t> newest;
  std::vector<core::RetentionItem> items;
  for (std::size_t i = 0; i < copies.size(); ++i) {
    const auto& copy = copies[i];
    const auto created = util::parse_utc_iso8601(copy.created_at);
    const std::string group = copy.type + "|" + copy.source;
    items.push_back({created ? *created : std::chrono::system_clock::now(), group, ""});
    const auto it = newest.find(group);
    if (it == newest.end() || items[it->second].created <= items[i].created) {
      newest[group] = i;
    }
  }
  for (const auto& [group, index] : newest) {
    items[index].protected_reason = "protected: newest remote copy of " + copies[index].source;
  }
  const auto decisions = core::apply_retention(items, args.policy, std::chrono::system_clock::now());
  json rows = json::array();
  std::vector<std::string> doomed;
  for (std::size_t i = 0; i < copies.size(); ++i) {
    rows.push_back({{"id", copies[i].backup_id()},
                    {"snapshot", copies[i].short_id},
                    {"action", decisions[i].keep ? "keep" : "forget"},
                    {"reasons", decisions[i].reasons}});
    if (!decisions[i].keep) {
      doomed.push_back(copies[i].id);
    }
  }
  context.emit({{"repository", remote.restic.config().shown_repository()},
                {"execute", args.execute},
                {"snapshots", rows}},
               [&] {
                 for (std::size_t i = 0; i < copies.size(); ++i) {
                   std::printf("%-6s %-8s %-58s %s\n", decisions[i].keep ? "KEEP" : "FORGET",
                               copies[i].short_id.c_str(), copies[i].backup_id().c_str(),
                               util::join(decisions[i].reasons, ", ").c_str());
                 }
                 std::printf("%zu to keep, %zu to forget\n", copies.size() - doomed.size(), doomed.size());
                 if (!args.execute && !doomed.empty()) {
                   std::printf("dry run: nothing was forgotten; add --execute to forget and prune them\n");
                 }
               });
  if (args.execute) {
    remote.restic.forget(doomed);
  }
}

} // namespace

std::set<std::string> remote_snapshot_ids(const Context& context, const core::Store& store,
                                          const std::optional<std::string>& repo)
{
  const Remote remote(context, store, repo, "backup-manager cleanup --require-offsite");
  std::set<std::string> ids;
  for (const auto& copy : core::remote_copies(remote.restic)) {
    ids.insert(copy.id);
  }
  return ids;
}

void add_offsite(CLI::App& app, const GlobalOptions& options)
{
  auto push = std::make_shared<PushArgs>();
  auto* push_cmd = app.add_subcommand(
      "push",
      "Send verified backups off the machine with restic (a backup that fails verification is refused); "
      "the snapshot id is recorded in backup.json");
  push_cmd->add_option("BACKUP", push->backups, "A backup: its path, TYPE/NAME, or its name");
  push_cmd->add_flag("--all", push->all, "Every backup that has no copy in the repository yet");
  push_cmd->add_flag("--all-models", push->all_models, "With --all: every model in the root");
  push_cmd->add_option("--repo", push->repo,
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
  verify_cmd->add_option("--subset", verify->subset, "Pack data to read: n/t (default 1/1, everything)");
  verify_cmd->add_option("--backup", verify->backup,
                         "The backup whose copy is restored (default: one per day in turn)");
  verify_cmd->add_flag("--no-restore", verify->no_restore, "Only run restic check");
  verify_cmd->add_flag(
      "--all-models", verify->all_models,
      "Every model in the root: each repository checked once, one copy of each model restored");
  verify_cmd->callback([verify, repo, &options] {
    auto args = *verify;
    args.repo = *repo;
    run_verify(args, options);
  });

  auto name = std::make_shared<std::string>();
  auto dest = std::make_shared<std::string>();
  auto* restore = offsite->add_subcommand(
      "restore",
      "Restore a backup's newest remote copy into DEST: restic restore into a temporary sibling, then "
      "the same verification and swap as restore (what DEST held is backed up first)");
  restore->add_option("NAME", *name, "The backup: TYPE/NAME or NAME")->required();
  restore->add_option("DEST", *dest, "Directory to restore into (replaced as a whole)")->required();
  restore->callback([name, dest, repo, &options] { run_restore(*name, *dest, *repo, options); });

  auto forget = std::make_shared<ForgetArgs>();
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
