#include "commands/offsite.hpp"

#include "core/layout/events.hpp"
#include "core/trust/copies.hpp"
#include "util/clock.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/progress.hpp"
#include "core/backup/cleanup.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace modelkeep::commands {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

/// The restic repository of a store, and the offsite lock held while it is used.
struct Remote {
  core::Restic restic;
  util::LockFile lock;
  std::string shown; ///< the repository as printed (no credentials)

  Remote(const Session& session, const std::optional<std::string>& repo, const std::string& command)
      : restic(core::load_restic_config(session.store, repo)),
        lock(core::lock_offsite(session.store, session.program + " " + command, session.lock_timeout)),
        shown(restic.config().shown_repository())
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

/// The snapshot ids the repository holds now.
std::set<std::string> present_ids(const std::vector<core::RemoteCopy>& copies)
{
  std::set<std::string> ids;
  for (const auto& copy : copies) {
    ids.insert(copy.id);
  }
  return ids;
}

/// The remote copy to restore and compare: the one of `backup`, else a different one each
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

} // namespace

core::Holds offsite_holds(const Session& session, const std::optional<std::string>& repo,
                          const std::vector<core::BackupEntry>& backups)
{
  const Remote remote(session, repo, "cleanup --require-offsite");
  return core::offsite_holds(backups, remote.shown, present_ids(core::remote_copies(remote.restic)),
                             core::repository_state(session.store, remote.shown));
}

// ---- push ----

json Pushed::to_json() const
{
  json doc = {{"pushed", pushed}, {"skipped", skipped}, {"failed", failed}};
  if (!repository.empty()) {
    doc["repository"] = repository;
  }
  return doc;
}

void Pushed::require_ok() const
{
  if (!failures.empty()) {
    throw Error(ExitCode::failed,
                util::plural(failures.size(), "backup") + " not sent:\n  " + util::join(failures, "\n  "));
  }
}

void PushOptions::validate() const
{
  if (all == !backups.empty()) {
    throw Error(ExitCode::usage, "name the backups to push, or give --all");
  }
}

Pushed push_backups(const std::vector<Session>& sessions, const PushOptions& options)
{
  options.validate();
  Pushed result;
  for (const auto& session : sessions) {
    const core::Store& store = session.existing();
    std::vector<core::BackupInfo> chosen;
    if (options.all) {
      for (const auto& entry : core::list_backups(store, std::nullopt)) {
        if (entry.info) {
          chosen.push_back(*entry.info);
        } else {
          result.failures.push_back(entry.error);
        }
      }
    } else {
      for (const auto& text : options.backups) {
        chosen.push_back(core::resolve_backup(store, text));
      }
    }
    if (chosen.empty()) {
      continue;
    }
    const auto lock = session.lock("push");
    const Remote remote(session, options.repo, "push");
    result.repository = remote.shown;
    // The repository's snapshots are listed only when a chosen backup has a copy recorded in it,
    // the one case push_backup looks at them: each restic call opens the repository again
    // (about half a second: restic derives its key each time).
    const std::string repository = remote.restic.config().shown_repository();
    const bool recorded_there = std::any_of(chosen.begin(), chosen.end(), [&](const core::BackupInfo& info) {
      const auto records = core::offsite_records(info);
      return std::any_of(records.begin(), records.end(),
                         [&](const core::OffsiteRecord& record) { return record.repository == repository; });
    });
    const auto existing = recorded_there ? core::remote_copies(remote.restic) : std::vector<core::RemoteCopy>{};
    for (const auto& info : chosen) {
      try {
        const auto pushed = core::push_backup(store, remote.restic, info, existing, session.progress,
                                              options.force ? core::Resend::yes : core::Resend::no);
        if (pushed.forgotten) {
          // Forgotten on purpose: --all never undoes an `offsite forget`.
          if (!options.all) {
            throw Error(ExitCode::refused, "not sending " + info.id() + ": its copy in " + remote.shown +
                                               " was forgotten on purpose; add --force to send it again");
          }
          result.skipped.push_back({{"id", info.id()}, {"model", store.model()},
                                    {"reasons", json::array({"forgotten on purpose (offsite forget)"})}});
          session.note(info.id() + ": not sent: its copy in " + remote.shown +
                       " was forgotten on purpose (offsite forget); push it by name with --force to send "
                       "it again");
          continue;
        }
        if (!pushed.already) {
          core::append_event(
              store, core::EventKind::offsite_push,
              {{"backup", info.path.string()}, {"repository", remote.shown}, {"snapshot", pushed.snapshot}});
        }
        result.pushed.push_back({{"id", info.id()},
                                 {"model", store.model()},
                                 {"snapshot", pushed.snapshot},
                                 {"already", pushed.already}});
        session.note(info.id() + (pushed.already ? ": already in " : ": sent to ") + remote.shown +
                     " as snapshot " + pushed.snapshot.substr(0, 8));
      } catch (const Error& e) {
        if (e.code() != ExitCode::failed) {
          throw; // the repository itself is unusable: no point in trying the next backup
        }
        result.failures.push_back(info.id() + ": " + e.what());
        result.failed.push_back({{"id", info.id()}, {"model", store.model()}, {"error", e.what()}});
      }
    }
  }
  return result;
}

// ---- offsite list ----

OffsiteListing offsite_list(const std::vector<Session>& sessions, const std::optional<std::string>& repo)
{
  OffsiteListing listing;
  for (const auto& session : sessions) {
    const core::Store& store = session.existing();
    const Remote remote(session, repo, "offsite list");
    listing.repository = remote.shown;
    const auto copies = copies_of_model(core::remote_copies(remote.restic), store);
    const auto present = present_ids(copies);
    const auto repository_check = core::repository_state(store, remote.shown);
    std::set<std::string> recorded;
    for (const auto& entry : core::list_backups(store, std::nullopt)) {
      json snapshots = json::array();
      bool counted = false;
      if (entry.info) {
        const auto statuses = core::remote_copy_statuses(*entry.info, remote.shown, present, repository_check);
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
      listing.rows.push_back({{"model", store.model()},
                              {"id", entry.type + "/" + entry.name},
                              {"local", true},
                              {"counted", counted},
                              {"snapshots", snapshots}});
    }
    // Snapshots no local record names: a push that did not finish, or a backup deleted here.
    for (const auto& copy : copies) {
      if (recorded.count(copy.id) == 0) {
        listing.rows.push_back(
            {{"model", store.model()},
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
  return listing;
}

// ---- offsite verify ----

namespace {

/// The result of restoring one remote copy and comparing it with its manifest.
struct CopyCheck {
  core::RemoteCopy copy;
  std::vector<std::string> problems;
};

/// Restores one remote copy of the session's model (the one of `backup`, else the day's) and
/// compares it with its manifest; nullopt if the model has no remote copy.
std::optional<CopyCheck> check_one_copy(const Session& session, const core::Restic& restic,
                                        const std::optional<std::string>& backup)
{
  const auto copy = chosen_copy(copies_of_model(core::remote_copies(restic), session.store), backup);
  if (!copy) {
    return std::nullopt;
  }
  session.note("restoring " + copy->backup_id() + " (snapshot " + copy->short_id +
               ") and checking every SHA-256");
  CopyCheck result{*copy, {}};
  try {
    core::with_restored_copy(restic, *copy, session.store.backups_dir() / "offsite-verify", [&](const auto& info) {
      util::Progress progress("verifying " + copy->backup_id(), info.manifest.total_size(), session.progress);
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
void record_copy_check(const Session& session, const CopyCheck& check)
{
  const auto lock = session.lock("offsite verify");
  try {
    core::record_remote_check(core::resolve_backup(session.store, check.copy.backup_id()), check.copy.id,
                              core::CheckDepth::full, check.problems);
  } catch (const Error& e) {
    util::log_step(std::string("no local backup to record the check in: ") + e.what());
  }
}

} // namespace

void OffsiteVerification::require_ok() const
{
  if (!failures.empty()) {
    throw Error(ExitCode::failed, util::join(failures, "\n"));
  }
}

void OffsiteVerifyOptions::validate() const
{
  (void)core::Subset::parse(subset);
}

OffsiteVerification offsite_verify(const std::vector<Session>& sessions, const OffsiteVerifyOptions& options)
{
  const auto [n, t] = core::Subset::parse(options.subset);
  OffsiteVerification result;
  result.subset = options.subset;
  std::set<std::string> checked;
  for (const auto& session : sessions) {
    const core::Store& store = session.existing();
    std::optional<CopyCheck> copy_check;
    {
      const Remote remote(session, options.repo, "offsite verify");
      if (checked.insert(remote.restic.config().repository).second) {
        session.note("checking " + remote.shown + " (restic check, reading pack data " + options.subset + ")");
        const auto depth = t == 1 ? core::CheckDepth::full : core::CheckDepth::quick;
        try {
          remote.restic.check(n, t);
          core::record_repository_check(store, remote.shown, depth, {});
        } catch (const Error& e) {
          if (e.code() == ExitCode::failed) {
            // Which copies a damaged pack holds is not known: none counts until a check
            // reading every pack (--subset 1/1) passes.
            core::record_repository_check(store, remote.shown, depth, {e.what()});
          }
          throw;
        }
        result.checked.push_back(remote.shown);
      }
      if (!options.no_restore) {
        copy_check = check_one_copy(session, remote.restic, options.backup);
      }
    }
    if (!copy_check) {
      continue;
    }
    record_copy_check(session, *copy_check);
    const auto& copy = copy_check->copy;
    const bool ok = copy_check->problems.empty();
    if (!ok) {
      result.failures.push_back("the remote copy " + copy.short_id + " of " + copy.backup_id() +
                                " does not match its manifest: " + util::join(copy_check->problems, "; "));
    }
    result.restored.push_back({{"model", store.model()},
                               {"id", copy.backup_id()},
                               {"snapshot", copy.short_id},
                               {"ok", ok},
                               {"problems", copy_check->problems}});
  }
  return result;
}

// ---- offsite restore ----

json OffsiteRestored::to_json() const
{
  json doc = result.to_json();
  doc["backup"] = backup;
  doc["snapshot"] = snapshot;
  return doc;
}

OffsiteRestored offsite_restore(const Session& session, const OffsiteRestoreOptions& options)
{
  const core::Store& store = session.existing();
  const auto lock = session.lock("offsite restore");
  const Remote remote(session, options.repo, "offsite restore");
  const auto copy = chosen_copy(copies_of_model(core::remote_copies(remote.restic), store), options.backup);
  const fs::path target = fs::absolute(options.dest).lexically_normal();
  std::optional<core::RestoreResult> result;
  const json origin = {{"repository", remote.shown}, {"snapshot", copy->id}};
  core::with_restored_copy(remote.restic, *copy, target, [&](const core::BackupInfo& info) {
    result = core::restore_backup(store, info, target, session.progress, origin);
  });
  return {copy->backup_id(), copy->short_id, *result};
}

// ---- offsite forget ----

namespace {

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

} // namespace

std::size_t ForgetPlan::doomed() const
{
  return static_cast<std::size_t>(
      std::count_if(items.begin(), items.end(), [](const Item& item) { return !item.decision.keep; }));
}

json ForgetPlan::to_json() const
{
  json rows = json::array();
  for (const auto& item : items) {
    rows.push_back({{"id", item.copy.backup_id()},
                    {"snapshot", item.copy.short_id},
                    {"action", item.decision.keep ? "keep" : "forget"},
                    {"reasons", item.decision.reasons}});
  }
  return {{"repository", repository}, {"execute", execute}, {"snapshots", rows}};
}

void ForgetOptions::validate() const
{
  if (policy.empty()) {
    throw Error(ExitCode::usage, "no retention rule given (e.g. --keep-last 3); an empty policy would forget "
                                 "everything and is refused");
  }
}

ForgetPlan offsite_forget(const Session& session, const ForgetOptions& options)
{
  options.validate();
  const core::Store& store = session.existing();
  // Lock order: the model's lock (forgotten copies are recorded in its backups), then the offsite lock.
  std::optional<util::LockFile> model_lock;
  if (options.execute) {
    model_lock.emplace(session.lock("offsite forget"));
  }
  const Remote remote(session, options.repo, "offsite forget");
  std::vector<core::RemoteCopy> copies;
  for (auto& copy : copies_of_model(core::remote_copies(remote.restic), store)) {
    if (!options.type || copy.type == *options.type) {
      copies.push_back(std::move(copy));
    }
  }
  // Ordered by the backup's creation, and by its full name within a second, so that two
  // backups made in the same second are never a tie.
  std::sort(copies.begin(), copies.end(), [](const core::RemoteCopy& a, const core::RemoteCopy& b) {
    return std::tie(a.created_at, a.type, a.name, a.time) < std::tie(b.created_at, b.type, b.name, b.time);
  });
  const auto keep = forget_protections(store, copies);
  std::vector<core::RetentionItem> retention;
  for (const auto& copy : copies) {
    const auto created = util::parse_utc_iso8601(copy.created_at);
    const auto found = keep.find(copy.id);
    retention.push_back({created ? *created : std::chrono::system_clock::now(), copy.type + "|" + copy.source,
                         found != keep.end() ? found->second : std::string()});
  }
  const auto decisions = core::apply_retention(retention, options.policy, std::chrono::system_clock::now());
  ForgetPlan plan{remote.shown, options.execute, {}};
  for (std::size_t i = 0; i < copies.size(); ++i) {
    plan.items.push_back({copies[i], decisions[i]});
  }
  if (!options.execute || plan.doomed() == 0) {
    return plan;
  }
  std::vector<std::string> ids;
  for (const auto& item : plan.items) {
    if (!item.decision.keep) {
      ids.push_back(item.copy.id);
    }
  }
  remote.restic.forget(ids);
  // Recorded, so that the next push does not send them again.
  for (const auto& item : plan.items) {
    if (item.decision.keep) {
      continue;
    }
    try {
      core::record_forgotten(core::resolve_backup(store, item.copy.backup_id()), item.copy.id);
    } catch (const Error&) {
      // no local backup of it any more
    }
  }
  core::append_event(store, core::EventKind::offsite_forget, {{"repository", remote.shown}, {"snapshots", ids}});
  return plan;
}

} // namespace modelkeep::commands
