#include "commands.hpp"
#include "core/backup/cleanup.hpp"
#include "core/backup/offsite.hpp"
#include "core/backup/retention.hpp"
#include "core/layout/events.hpp"
#include "core/trust/copies.hpp"
#include "core/trust/protection.hpp"
#include "util/clock.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/progress.hpp"
#include "util/text.hpp"

#include <cstdio>
#include <iostream>
#include <memory>
#include <tuple>

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
  bool force = false;
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
  json doc = {{"pushed", json::array()}, {"skipped", json::array()}, {"failed", json::array()}};
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
    const std::string shown = remote.restic.config().shown_repository();
    for (const auto& info : chosen) {
      try {
        const auto result = core::push_backup(store, remote.restic, info, existing, context.progress(),
                                              args.force ? core::Resend::yes : core::Resend::no);
        if (result.forgotten) {
          // Forgotten on purpose: --all never undoes an `offsite forget`.
          doc["skipped"].push_back({{"id", info.id()}, {"model", store.model()}, {"why", "forgotten"}});
          context.note(info.id() + ": not sent: its copy in " + shown +
                       " was forgotten on purpose (offsite forget); push it by name with --force to send "
                       "it again");
          if (!args.all) {
            throw Error(ExitCode::refused, "not sending " + info.id() + ": its copy in " + shown +
                                               " was forgotten on purpose; add --force to send it again");
          }
          continue;
        }
        if (!result.already) {
          core::append_event(store, core::EventKind::offsite_push,
                             {{"backup", info.path.string()}, {"repository", shown}, {"snapshot", result.snapshot}});
        }
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

/// The snapshot ids the repository holds now.
std::set<std::string> present_ids(const std::vector<core::RemoteCopy>& copies)
{
  std::set<std::string> ids;
  for (const auto& copy : copies) {
    ids.insert(copy.id);
  }
  return ids;
}

void run_list(const std::optional<std::string>& repo, bool all_models, const GlobalOptions& options)
{
  const Context context(options);
  json rows = json::array();
  std::string shown;
  for (const auto& store : context.stores(all_models)) {
    const Remote remote(context, store, repo, "backup-manager offsite list");
    shown = remote.restic.config().shown_repository();
    const auto copies = copies_of_model(core::remote_copies(remote.restic), store);
    const auto present = present_ids(copies);
    const auto repository_check = core::repository_state(store, shown);
    std::set<std::string> recorded;
    for (const auto& entry : core::list_backups(store, std::nullopt)) {
      json snapshots = json::array();
      bool counted = false;
      if (entry.info) {
        const auto statuses = core::remote_copy_statuses(*entry.info, shown, present, repository_check);
        counted = core::has_counted_copy(statuses);
        for (const auto& status : statuses) {
          recorded.insert(status.record.snapshot);
          snapshots.push_back({{"snapshot", status.record.snapshot.substr(0, 8)},
                               {"present", status.present},
                               {"counted", status.counted},
                               {"state", core::to_string(status.record.verification.state)},
                               {"forgotten", !status.record.forgotten_at.empty()},
                               {"why", status.why}});
        }
      }
      rows.push_back({{"model", store.model()},
                      {"id", entry.type + "/" + entry.name},
                      {"local", true},
                      {"counted", counted},
                      {"snapshots", snapshots}});
    }
    // Snapshots no local record names: a push that did not finish, or a backup deleted here.
    for (const auto& copy : copies) {
      if (recorded.count(copy.id) == 0) {
        rows.push_back({{"model", store.model()},
                        {"id", copy.backup_id()},
                        {"local", false},
                        {"counted", false},
                        {"snapshots", json::array({{{"snapshot", copy.short_id},
                                                    {"present", true},
                                                    {"counted", false},
                                                    {"state", "unrecorded"},
                                                    {"forgotten", false},
                                                    {"why", copy.short_id + " not recorded by any local backup"}}})}});
      }
    }
  }
  context.emit({{"repository", shown}, {"backups", rows}}, [&] {
    std::printf("%-24s %-60s %-6s %-7s %s\n", "MODEL", "BACKUP", "LOCAL", "COUNTED", "REMOTE COPIES");
    for (const auto& row : rows) {
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

/// The result of restoring one remote copy and comparing it with its manifest.
struct CopyCheck {
  core::RemoteCopy copy;
  std::vector<std::string> problems;
};

/// Restores one remote copy of `store`'s model (the one of `backup`, else the day's) and
/// compares it with its manifest; nullopt if the model has no remote copy.
std::optional<CopyCheck> check_one_copy(const Context& context, const core::Store& store,
                                        const core::Restic& restic, const std::optional<std::string>& backup)
{
  const auto copy = chosen_copy(copies_of_model(core::remote_copies(restic), store), backup);
  if (!copy) {
    return std::nullopt;
  }
  context.note("restoring " + copy->backup_id() + " (snapshot " + copy->short_id +
               ") and checking every SHA-256");
  CopyCheck result{*copy, {}};
  try {
    core::with_restored_copy(restic, *copy, store.backups_dir() / "offsite-verify", [&](const auto& info) {
      util::Progress progress("verifying " + copy->backup_id(), info.manifest.total_size(), context.progress());
      result.problems = core::verify_backup(info, core::Hashing::yes, &progress).problems;
    });
  } catch (const Error& e) {
    if (e.code() != ExitCode::failed && e.code() != ExitCode::malformed) {
      throw; // the repository is unusable (locked, unreachable): nothing is known of the copy
    }
    result.problems.emplace_back(e.what());
  }
  return result;
}

/// Records the check of a remote copy in its local backup, if the backup is still there.
/// Called without the offsite lock: the lock order is a model's lock, then the offsite lock.
void record_copy_check(const Context& context, const core::Store& store, const CopyCheck& check)
{
  const auto lock = context.lock(store, "offsite verify");
  try {
    core::record_remote_check(core::resolve_backup(store, check.copy.backup_id()), check.copy.id,
                              core::CheckDepth::full, check.problems);
  } catch (const Error& e) {
    util::log_step(std::string("no local backup to record the check in: ") + e.what());
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
  std::vector<std::string> failures;
  for (const auto& store : context.stores(args.all_models)) {
    std::optional<CopyCheck> copy_check;
    {
      const Remote remote(context, store, args.repo, "backup-manager offsite verify");
      const std::string shown = remote.restic.config().shown_repository();
      if (checked.insert(remote.restic.config().repository).second) {
        context.note("checking " + shown + " (restic check, reading pack data " + args.subset + ")");
        const auto depth = t == 1 ? core::CheckDepth::full : core::CheckDepth::quick;
        try {
          remote.restic.check(n, t);
          core::record_repository_check(store, shown, depth, {});
        } catch (const Error& e) {
          if (e.code() == ExitCode::failed) {
            // Which copies a damaged pack holds is not known: none counts until a check
            // reading every pack (--subset 1/1) passes.
            core::record_repository_check(store, shown, depth, {e.what()});
          }
          throw;
        }
        doc["checked"].push_back(shown);
      }
      if (!args.no_restore) {
        copy_check = check_one_copy(context, store, remote.restic, args.backup);
      }
    }
    if (!copy_check) {
      continue;
    }
    record_copy_check(context, store, *copy_check);
    const auto& copy = copy_check->copy;
    const bool ok = copy_check->problems.empty();
    if (!ok) {
      failures.push_back("the remote copy " + copy.short_id + " of " + copy.backup_id() +
                         " does not match its manifest: " + util::join(copy_check->problems, "; "));
    }
    doc["restored"].push_back({{"model", store.model()},
                               {"id", copy.backup_id()},
                               {"snapshot", copy.short_id},
                               {"ok", ok},
                               {"problems", copy_check->problems}});
  }
  context.emit(doc, [&] {
    for (const auto& repo : doc["checked"]) {
      std::cout << repo.get<std::string>() << ": restic check OK (pack data " << args.subset << " read)\n";
    }
    for (const auto& item : doc["restored"]) {
      std::cout << item["model"].get<std::string>() << " " << item["id"].get<std::string>() << " (snapshot "
                << item["snapshot"].get<std::string>() << "): "
                << (item["ok"].get<bool>() ? "restored and matches its manifest" : "FAILED") << '\n';
    }
  });
  if (!failures.empty()) {
    throw Error(ExitCode::failed, util::join(failures, "\n"));
  }
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
  const json origin = {{"repository", remote.restic.config().shown_repository()}, {"snapshot", copy->id}};
  core::with_restored_copy(remote.restic, *copy, target, [&](const core::BackupInfo& info) {
    result = core::restore_backup(store, info, target, context.progress(), origin);
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

/// Why a remote copy must stay whatever the policy: it is the newest copy of its source, or
/// the only intact copy of a backup that something holds here (a deleted version's copy, ...)
/// whose local backup is gone or damaged.
std::map<std::string, std::string> forget_protections(const core::Store& store,
                                                      const std::vector<core::RemoteCopy>& copies)
{
  std::map<std::string, std::string> keep;
  std::map<std::string, std::size_t> newest;
  for (std::size_t i = 0; i < copies.size(); ++i) {
    // copies are in (created, name) order: a later one of the same source is newer.
    newest[copies[i].type + "|" + copies[i].source] = i;
  }
  for (const auto& [group, index] : newest) {
    keep[copies[index].id] = "the newest remote copy of " + copies[index].source;
  }
  const auto backups = core::list_backups(store, std::nullopt);
  const core::Holds holds = core::backup_holds(store, backups);
  for (const auto& copy : copies) {
    const auto local = std::find_if(backups.begin(), backups.end(), [&](const core::BackupEntry& entry) {
      return entry.type == copy.type && entry.name == copy.name;
    });
    const bool intact_here = local != backups.end() && local->info && !local->info->verification.failed();
    const auto held = holds.find(copy.backup_id());
    if (!intact_here && held != holds.end()) {
      keep[copy.id] = "the only intact copy of " + core::describe_holds(copy.backup_id(), held->second);
    }
  }
  return keep;
}

void run_forget(const ForgetArgs& args, const GlobalOptions& options)
{
  if (args.policy.empty()) {
    throw Error(ExitCode::usage, "no retention rule given (e.g. --keep-last 3); an empty policy would forget "
                                 "everything and is refused");
  }
  const Context context(options);
  const core::Store store = context.store();
  // Lock order: the model's lock (forgotten copies are recorded in its backups), then the offsite lock.
  std::optional<util::LockFile> model_lock;
  if (args.execute) {
    model_lock.emplace(context.lock(store, "offsite forget"));
  }
  const Remote remote(context, store, args.repo, "backup-manager offsite forget");
  std::vector<core::RemoteCopy> copies;
  for (auto& copy : copies_of_model(core::remote_copies(remote.restic), store)) {
    if (!args.type || copy.type == *args.type) {
      copies.push_back(std::move(copy));
    }
  }
  // Ordered by the backup's creation, and by its full name within a second, so that two
  // backups made in the same second are never a tie.
  std::sort(copies.begin(), copies.end(), [](const core::RemoteCopy& a, const core::RemoteCopy& b) {
    return std::tie(a.created_at, a.type, a.name, a.time) < std::tie(b.created_at, b.type, b.name, b.time);
  });
  const auto keep = forget_protections(store, copies);
  std::vector<core::RetentionItem> items;
  for (const auto& copy : copies) {
    const auto created = util::parse_utc_iso8601(copy.created_at);
    const auto found = keep.find(copy.id);
    items.push_back({created ? *created : std::chrono::system_clock::now(), copy.type + "|" + copy.source,
                     found != keep.end() ? found->second : std::string()});
  }
  const auto decisions = core::apply_retention(items, args.policy, std::chrono::system_clock::now());
  json rows = json::array();
  std::vector<std::size_t> doomed;
  for (std::size_t i = 0; i < copies.size(); ++i) {
    rows.push_back({{"id", copies[i].backup_id()},
                    {"snapshot", copies[i].short_id},
                    {"action", decisions[i].keep ? "keep" : "forget"},
                    {"reasons", decisions[i].reasons}});
    if (!decisions[i].keep) {
      doomed.push_back(i);
    }
  }
  const std::string shown = remote.restic.config().shown_repository();
  context.emit({{"repository", shown}, {"execute", args.execute}, {"snapshots", rows}}, [&] {
    for (std::size_t i = 0; i < copies.size(); ++i) {
      std::printf("%-6s %-8s %-58s %s\n", decisions[i].keep ? "KEEP" : "FORGET", copies[i].short_id.c_str(),
                  copies[i].backup_id().c_str(), util::join(decisions[i].reasons, ", ").c_str());
    }
    std::printf("%zu to keep, %zu to forget\n", copies.size() - doomed.size(), doomed.size());
    if (!args.execute && !doomed.empty()) {
      std::printf("dry run: nothing was forgotten; add --execute to forget and prune them\n");
    }
  });
  if (!args.execute || doomed.empty()) {
    return;
  }
  std::vector<std::string> ids;
  for (const auto i : doomed) {
    ids.push_back(copies[i].id);
  }
  remote.restic.forget(ids);
  // Recorded, so that the next push does not send them again.
  for (const auto i : doomed) {
    try {
      core::record_forgotten(core::resolve_backup(store, copies[i].backup_id()), copies[i].id);
    } catch (const Error&) {
      // no local backup of it any more
    }
  }
  core::append_event(store, core::EventKind::offsite_forget, {{"repository", shown}, {"snapshots", ids}});
}

} // namespace

core::Holds offsite_holds(const Context& context, const core::Store& store, const std::optional<std::string>& repo,
                          const std::vector<core::BackupEntry>& backups)
{
  const Remote remote(context, store, repo, "backup-manager cleanup --require-offsite");
  const std::string shown = remote.restic.config().shown_repository();
  return core::offsite_holds(backups, shown, present_ids(core::remote_copies(remote.restic)),
                             core::repository_state(store, shown));
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
  push_cmd->add_flag("--force", push->force,
                     "Send a named backup again although its copy was forgotten on purpose (offsite forget)");
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
