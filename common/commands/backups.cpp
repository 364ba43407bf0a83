#include "commands/backups.hpp"

#include "commands/integrity.hpp"
#include "commands/offsite.hpp"
#include "core/layout/events.hpp"
#include "core/layout/filenames.hpp"
#include "core/versions/recovery.hpp"
#include "core/trust/protection.hpp"
#include "util/clock.hpp"
#include "util/error.hpp"
#include "util/failpoint.hpp"
#include "util/file.hpp"
#include "util/progress.hpp"
#include "util/text.hpp"

#include <algorithm>

namespace modelkeep::commands {

using nlohmann::json;
namespace fs = std::filesystem;

// ---- backup ----

namespace {

core::BackupRequest to_request(const BackupOptions& options, const core::Store& store)
{
  core::BackupRequest request;
  if (!util::exists(options.source)) {
    throw Error(ExitCode::not_found, "source not found " + options.source);
  }
  if (!util::is_directory(options.source)) {
    throw Error(ExitCode::usage, "source is not a directory " + options.source);
  }
  request.source = fs::canonical(options.source);
  const fs::path backups = fs::weakly_canonical(store.backups_dir());
  const auto [source_end, ignored] =
      std::mismatch(request.source.begin(), request.source.end(), backups.begin(), backups.end());
  if (source_end == request.source.end()) {
    throw Error(ExitCode::refused, "refusing to back up " + request.source.string() +
                                       ": it contains the backups in " + backups.string());
  }
  request.type = options.type;
  request.name = request.source.filename().string();
  request.reason = options.reason;
  request.format = core::parse_format(options.format);
  if (options.level && request.format != core::BackupFormat::tar_zst) {
    throw Error(ExitCode::usage, "--level applies to --format tar.zst only");
  }
  if (options.level && (*options.level < 1 || *options.level > 19)) {
    throw Error(ExitCode::usage, "--level must be 1-19");
  }
  request.level = options.level.value_or(3);
  request.critical_files = core::default_critical_files(request.source);
  for (const auto& extra : options.critical) {
    if (std::find(request.critical_files.begin(), request.critical_files.end(), extra) ==
        request.critical_files.end()) {
      request.critical_files.push_back(extra);
    }
  }
  return request;
}

} // namespace

MadeBackup make_backup(const Session& session, const BackupOptions& options)
{
  const core::Store& store = session.store;
  const auto lock = core::lock_for_writing(store, session.program + " backup", session.lock_timeout, session.tell);
  const core::BackupRequest request = to_request(options, store);
  const auto record = core::create_verified_backup(store, request, session.progress);
  core::append_event(store, core::EventKind::backup,
                     {{"backup", record.path.string()},
                      {"source", request.source.string()},
                      {"type", request.type},
                      {"files", record.manifest.file_count()},
                      {"size", record.manifest.total_size()}});
  return {core::load_backup(record.path), request.critical_files.size()};
}

// ---- list ----

void BackupListing::require_readable() const
{
  for (const auto& entry : entries) {
    if (!entry.info) {
      throw Error(ExitCode::malformed, entry.error);
    }
  }
}

BackupListing list_backups(const Session& session, const std::optional<std::string>& type)
{
  const core::Store& store = session.existing();
  auto entries = core::list_backups(store, type);
  auto document = core::backups_document(store, entries);
  return {std::move(entries), std::move(document)};
}

// ---- verify ----

namespace {

std::vector<core::BackupInfo> chosen(const core::Store& store, const BackupVerifyOptions& options,
                                     std::size_t& existing)
{
  std::vector<core::BackupInfo> result;
  if (!options.all) {
    for (const auto& text : options.backups) {
      result.push_back(core::resolve_backup(store, text));
    }
    return result;
  }
  const auto slice = options.subset ? core::Subset::parse(*options.subset) : core::Subset{};
  const auto entries = core::list_backups(store, std::nullopt);
  existing += entries.size();
  for (const auto& entry : entries) {
    if (!entry.info) {
      throw Error(ExitCode::malformed, entry.error);
    }
    if (core::in_subset(entry.info->id(), slice.n, slice.t)) {
      result.push_back(*entry.info);
    }
  }
  return result;
}

} // namespace

std::size_t BackupVerification::failed() const
{
  return static_cast<std::size_t>(
      std::count_if(items.begin(), items.end(), [](const Item& item) { return !item.ok(); }));
}

json BackupVerification::to_json() const
{
  json backups = json::array();
  for (const auto& item : items) {
    backups.push_back({{"id", item.info.id()},
                       {"model", item.model},
                       {"ok", item.ok()},
                       {"depth", core::to_string(item.check.depth)},
                       {"state", core::to_string(item.state.state)},
                       {"checks", item.check.checks},
                       {"problems", item.check.ok() ? item.state.problems : item.check.problems}});
  }
  return {{"backups", backups}, {"ok", failed() == 0}};
}

void BackupVerification::require_ok() const
{
  if (const std::size_t bad = failed(); bad > 0) {
    throw Error(ExitCode::failed, std::to_string(bad) + " of " + util::plural(items.size(), "backup") +
                                      " failed verification");
  }
}

void BackupVerifyOptions::validate() const
{
  if (all == !backups.empty()) {
    throw Error(ExitCode::usage, "name the backups to verify, or give --all");
  }
  if (subset && !all) {
    throw Error(ExitCode::usage, "--subset goes with --all");
  }
  if (subset) {
    (void)core::Subset::parse(*subset);
  }
}

BackupVerification verify_backups(const std::vector<Session>& sessions, const BackupVerifyOptions& options)
{
  options.validate();
  BackupVerification result;
  for (const auto& session : sessions) {
    const core::Store& store = session.existing();
    const auto backups = chosen(store, options, result.existing);
    std::vector<core::BackupCheck> checks;
    for (const auto& info : backups) {
      util::Progress progress("verifying " + info.id(), info.manifest.total_size(), session.progress);
      checks.push_back(
          core::verify_backup(info, options.quick ? core::Hashing::no : core::Hashing::yes, &progress));
    }
    if (backups.empty()) {
      continue;
    }
    const auto lock = session.lock("verify");
    for (std::size_t i = 0; i < backups.size(); ++i) {
      core::VerificationRecord state = backups[i].verification.apply(
          checks[i].depth, checks[i].checks, checks[i].problems, util::utc_now_iso8601());
      if (util::exists(backups[i].path / core::filenames::backup_record)) {
        state = core::record_verification(backups[i], checks[i]);
      }
      result.items.push_back({store.model(), backups[i], checks[i], state});
    }
  }
  if (options.all && result.existing == 0) {
    throw Error(ExitCode::not_found,
                "nothing was verified: no backups in " + searched_in(sessions, &core::Store::backups_dir));
  }
  return result;
}

// ---- restore ----

json BackupRestored::to_json() const
{
  json doc = result.to_json();
  doc["backup"] = backup;
  return doc;
}

BackupRestored restore_backup(const Session& session, const BackupRestoreOptions& options)
{
  const core::Store& store = session.existing();
  const auto lock = session.lock("restore");
  const auto info = core::resolve_backup(store, options.backup);
  return {info.id(), core::restore_backup(store, info, options.dest, session.progress)};
}

// ---- delete ----

BackupDeletion delete_backup(const Session& session, const BackupDeleteOptions& options)
{
  const core::Store& store = session.existing();
  if (!options.confirm) {
    const auto info = core::resolve_backup(store, options.backup);
    throw Error(ExitCode::refused, "would delete backup " + info.path.string() + " (" +
                                       util::plural(info.manifest.file_count(), "file") + ", " +
                                       util::human_size(info.manifest.total_size()) +
                                       "); run again with --confirm to do it");
  }
  const auto lock = session.lock("delete");
  const auto info = core::resolve_backup(store, options.backup);
  core::delete_backup(store, info, options.force ? core::Force::yes : core::Force::no);
  return {info.id(), info.path.string()};
}

// ---- cleanup ----

json CleanupPlan::to_json() const
{
  json backups = json::array();
  for (const auto& model : models) {
    for (const auto& item : model.items) {
      backups.push_back({{"id", item.entry.type + '/' + item.entry.name},
                         {"model", model.model},
                         {"action", item.decision.keep ? "keep" : "delete"},
                         {"reasons", item.decision.reasons}});
    }
  }
  return {{"execute", execute}, {"backups", backups}};
}

void CleanupOptions::validate() const
{
  if (policy.empty()) {
    throw Error(ExitCode::usage,
                "refusing to clean up without a policy: give --retention-days or a --keep-* rule");
  }
}

CleanupPlan cleanup_backups(const std::vector<Session>& sessions, const CleanupOptions& options)
{
  options.validate();
  CleanupPlan result;
  result.execute = options.execute;
  const auto now = std::chrono::system_clock::now();
  for (const auto& session : sessions) {
    const core::Store& store = session.existing();
    std::optional<util::LockFile> lock;
    if (options.execute) {
      lock.emplace(session.lock("cleanup"));
    }
    const auto backups = core::list_backups(store, std::nullopt);
    auto holds = core::backup_holds(store, backups);
    if (options.require_offsite) {
      for (auto& [id, reasons] : offsite_holds(session, options.repo, backups)) {
        auto& all = holds[id];
        all.insert(all.end(), reasons.begin(), reasons.end());
      }
    }
    auto& model = result.models.emplace_back(
        CleanupPlan::Model{store.model(), core::plan_cleanup(store, options.policy, options.type, now, holds)});
    if (!options.execute) {
      continue;
    }
    for (const auto& item : model.items) {
      if (!item.decision.keep) {
        core::remove_backup(*item.entry.info);
        util::failpoint("cleanup.after_remove");
        core::append_event(store, core::EventKind::backup_cleanup,
                           {{"backup", item.entry.path.string()}, {"reasons", item.decision.reasons}});
      }
    }
  }
  return result;
}

// ---- repair ----

json BackupRepaired::to_json() const
{
  json repairs = json::array();
  for (const auto& repair : result.repairs) {
    repairs.push_back(commands::to_json(repair));
  }
  return {{"backup", result.backup.id()},
          {"repairs", repairs},
          {"ok", ok()},
          {"problems", result.after ? json(result.after->problems) : json::array()}};
}

void BackupRepaired::require_ok() const
{
  if (ok()) {
    return;
  }
  const auto unrepaired = std::count_if(result.repairs.begin(), result.repairs.end(),
                                        [](const core::Repair& repair) { return repair.source.empty(); });
  throw Error(ExitCode::failed, unrepaired > 0 ? util::plural(static_cast<std::uint64_t>(unrepaired), "damaged file") +
                                                     " without an intact copy; nothing was changed for "
                                                     "them"
                                               : result.backup.id() + " still fails verification");
}

BackupRepaired repair_backup(const Session& session, const std::string& backup)
{
  const core::Store& store = session.existing();
  const auto lock = session.lock("repair");
  const auto info = core::resolve_backup(store, backup);
  BackupRepaired repaired{core::repair_backup(store, info, session.progress)};
  if (!repaired.result.refused.empty()) {
    throw Error(ExitCode::refused, "cannot repair " + info.id() + ": " + repaired.result.refused);
  }
  if (!repaired.result.repairs.empty()) {
    json repairs = repaired.to_json()["repairs"];
    core::append_event(store, core::EventKind::repair,
                       {{"backup", info.id()}, {"repairs", repairs}, {"verified", repaired.ok()}});
  }
  return repaired;
}

} // namespace modelkeep::commands
