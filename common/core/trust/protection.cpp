#include "core/trust/protection.hpp"

#include "core/backup/cleanup.hpp"
#include "core/layout/events.hpp"
#include "core/layout/filenames.hpp"
#include "core/layout/store.hpp"
#include "core/telemetry/ab.hpp"
#include "core/telemetry/monitor.hpp"
#include "core/versions/refs.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

namespace modelkeep::core {

using nlohmann::json;

namespace {

void hold(Holds& holds, const std::string& name, const std::string& reason)
{
  auto& reasons = holds[name];
  if (std::find(reasons.begin(), reasons.end(), reason) == reasons.end()) {
    reasons.push_back(reason);
  }
}

/// "TYPE/NAME" of a backup path (its last two components).
std::string backup_id_of(const fs::path& path)
{
  const fs::path normal = path.lexically_normal();
  return normal.parent_path().filename().string() + '/' + normal.filename().string();
}

std::string text(const json& event, const char* key)
{
  const auto it = event.find(key);
  return it != event.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void hold_ab_versions(const Store& store, Holds& holds)
{
  for (const auto& test : list_ab_tests(store)) {
    if (test.status == AbState::concluded) {
      continue;
    }
    const std::string state(to_string(test.status));
    hold(holds, test.control, "the control of " + state + " A/B test " + test.id);
    hold(holds, test.treatment, "the treatment of " + state + " A/B test " + test.id);
  }
}

void hold_baselines(const Store& store, Holds& holds)
{
  for (const auto& stage : monitored_stages(store)) {
    const auto current = stage_holder(store, stage);
    if (!current) {
      continue;
    }
    const MonitorState state = load_monitor_state(store, stage);
    const auto it = state.versions.find(*current);
    if (it != state.versions.end() && it->second.baseline_version) {
      hold(holds, *it->second.baseline_version,
           "the baseline monitored " + stage + " (" + *current + ") is compared with");
    }
  }
}

void hold_consolidated(const Store& store, Holds& holds)
{
  for (const auto& event : read_events(store)) {
    if (!is_event(event, EventKind::consolidate)) {
      continue;
    }
    const std::string version = text(event, "version");
    const std::string output = text(event, "output");
    if (!version.empty() && !output.empty() && util::is_directory(output)) {
      hold(holds, version, "merged into " + fs::path(output).lexically_relative(store.dir()).string());
    }
  }
}

/// Digests of every version's adapter: content a version holds (a version that fails
/// verification is repaired from its backups, not the other way round, so it still counts).
std::set<std::string> version_contents(const Store& store)
{
  std::set<std::string> digests;
  for (const auto& version : list_versions(store)) {
    try {
      const VersionMetadata meta = load_metadata(version.path);
      digests.insert(meta.manifest.subtree(std::string(filenames::adapter) + '/').digest());
    } catch (const Error&) {
      continue; // unreadable metadata is no copy of anything
    }
  }
  return digests;
}

/// True if a backup other than `id` holds the same content and is fully verified.
bool verified_elsewhere(const std::vector<BackupEntry>& backups, const BackupInfo& info)
{
  return std::any_of(backups.begin(), backups.end(), [&](const BackupEntry& other) {
    return other.info && other.info->id() != info.id() && other.info->verification.verified() &&
           other.info->manifest.digest() == info.manifest.digest();
  });
}

/// Backups that records name: the copy of a deleted version, the adapter a consolidation
/// merged, and what a restore replaced (only while no version or other verified backup holds
/// the same content: then it is no longer the last copy).
void hold_recorded_backups(const Store& store, const std::vector<BackupEntry>& backups, Holds& holds)
{
  std::map<std::string, const BackupInfo*> by_id;
  for (const auto& entry : backups) {
    if (entry.info) {
      by_id[entry.info->id()] = &*entry.info;
    }
  }
  std::optional<std::set<std::string>> in_versions;
  for (const auto& event : read_events(store)) {
    const auto kind = event_kind(event);
    if (kind == EventKind::delete_version || kind == EventKind::consolidate) {
      const std::string path = text(event, "backup");
      if (!path.empty()) {
        hold(holds, backup_id_of(path),
             (kind == EventKind::delete_version ? "the copy of deleted version "
                                                : "the adapter merged in the consolidation of ") +
                 text(event, "version"));
      }
      continue;
    }
    const std::string path = kind == EventKind::restore          ? text(event, "backup")
                             : kind == EventKind::backup_restore ? text(event, "pre_restore_backup")
                                                                 : std::string();
    const auto found = path.empty() ? by_id.end() : by_id.find(backup_id_of(path));
    if (found == by_id.end()) {
      continue;
    }
    if (!in_versions) {
      in_versions = version_contents(store);
    }
    const BackupInfo& info = *found->second;
    if (in_versions->count(info.manifest.digest()) == 0 && !verified_elsewhere(backups, info)) {
      hold(holds, info.id(), "the only copy of what " + text(event, "target") + " held before a restore");
    }
  }
}

} // namespace

Holds version_holds(const Store& store)
{
  Holds holds;
  for (const auto& [stage, holder] : list_stages(store)) {
    hold(holds, holder, "stage " + stage + " points to it");
  }
  hold_ab_versions(store, holds);
  hold_baselines(store, holds);
  hold_consolidated(store, holds);
  return holds;
}

Holds backup_holds(const Store& store, const std::vector<BackupEntry>& backups)
{
  Holds holds;
  std::map<std::string, const BackupInfo*> newest_by_source;
  for (const auto& entry : backups) {
    if (!entry.info || !entry.info->verification.verified()) {
      continue;
    }
    const BackupInfo*& newest = newest_by_source[entry.info->source];
    if (newest == nullptr ||
        std::tie(entry.info->created_at, entry.name) > std::tie(newest->created_at, newest->name)) {
      newest = &*entry.info;
    }
  }
  for (const auto& [source, info] : newest_by_source) {
    hold(holds, info->id(), "the newest verified backup of " + source);
  }
  hold_recorded_backups(store, backups, holds);
  return holds;
}

std::string describe_holds(const std::string& name, const std::vector<std::string>& reasons)
{
  std::vector<std::string> parts;
  for (const auto& reason : reasons) {
    const bool is_clause = reason.rfind("stage ", 0) == 0 || reason.rfind("merged ", 0) == 0;
    parts.push_back(is_clause ? reason : "it is " + reason);
  }
  return name + ": " + util::join(parts, "; ");
}

void require_unheld_version(const Store& store, const VersionDir& version, const std::string& action,
                            Force force, const std::string& force_hint)
{
  if (force == Force::yes) {
    return;
  }
  const Holds holds = version_holds(store);
  const auto found = holds.find(version.name);
  if (found == holds.end()) {
    return;
  }
  throw Error(ExitCode::refused, "refusing to " + action + " " + describe_holds(version.name, found->second) +
                                     (force_hint.empty() ? "" : " (" + force_hint + ")"));
}

void delete_backup(const Store& store, const BackupInfo& backup, Force force)
{
  const Holds holds = backup_holds(store, list_backups(store, std::nullopt));
  if (const auto found = holds.find(backup.id()); found != holds.end() && force == Force::no) {
    throw Error(ExitCode::refused, "refusing to delete " + describe_holds(backup.id(), found->second) +
                                       " (add --force to delete it anyway)");
  }
  remove_backup(backup);
  append_event(store, EventKind::backup_delete,
               {{"backup", backup.path.string()}, {"forced", force == Force::yes}});
}

} // namespace modelkeep::core
