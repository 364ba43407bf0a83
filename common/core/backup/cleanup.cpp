#include "core/backup/cleanup.hpp"

#include "core/layout/events.hpp"
#include "core/layout/store.hpp"
#include "core/tree/archive.hpp"
#include "util/clock.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/hash.hpp"
#include "util/log.hpp"
#include "util/progress.hpp"
#include "util/text.hpp"

#include <nlohmann/json.hpp>
#include <tuple>

namespace modelkeep::core {

using nlohmann::json;

RestoreResult restore_backup(const Store& store, const BackupInfo& backup, const fs::path& dest,
                             bool show_progress, const json& origin)
{
  util::log_step("verifying " + backup.id() + " before restoring it");
  util::Progress progress("verifying backup", backup.manifest.total_size(), show_progress);
  const BackupCheck check = verify_backup(backup, Hashing::yes, &progress);
  progress.finish();
  if (!check.ok()) {
    record_verification(backup, check);
    std::string problems;
    for (const auto& problem : check.problems) {
      problems += "\n  " + problem;
    }
    throw Error(ExitCode::failed,
                "backup " + backup.path.string() + " failed verification; not restoring it:" + problems);
  }
  const auto materialize = [&](const fs::path& fresh, util::Progress* copy_progress) {
    if (backup.format != BackupFormat::dir) {
      return extract_archive(backup.data_path(), fresh, copy_progress);
    }
    std::vector<SourceFile> files;
    files.reserve(backup.manifest.file_count());
    for (const auto& entry : backup.manifest.files()) {
      files.push_back({entry.path, backup.data_path() / entry.path, entry.size, entry.mode});
    }
    return copy_tree(files, fresh, copy_progress);
  };
  RestoreResult result =
      restore_into(store, backup.manifest, dest, "backup " + backup.id(), show_progress, materialize);
  json event = {{"backup", origin.is_object() ? json(nullptr) : json(backup.path.string())},
                {"id", backup.id()},
                {"target", result.target.string()},
                {"already_identical", result.already_identical}};
  if (origin.is_object()) {
    event.update(origin);
  }
  if (result.backup_path) {
    event["pre_restore_backup"] = result.backup_path->string();
  }
  append_event(store, EventKind::backup_restore, event);
  return result;
}

std::vector<CleanupItem> plan_cleanup(const Store& store, const RetentionPolicy& policy,
                                      const std::optional<std::string>& type, util::SystemTime now,
                                      const std::map<std::string, std::vector<std::string>>& holds)
{
  if (policy.empty()) {
    throw Error(ExitCode::usage,
                "refusing to clean up without a policy: give --retention-days or a --keep-* rule");
  }
  const auto all = list_backups(store, std::nullopt);
  std::vector<CleanupItem> plan;
  std::vector<RetentionItem> items;
  for (const auto& entry : all) {
    if (type && entry.type != *type) {
      continue;
    }
    CleanupItem item{entry, {}};
    if (!entry.info) {
      item.decision = {true, {"unreadable backup.json"}};
      plan.push_back(std::move(item));
      continue;
    }
    const auto created = util::parse_utc_iso8601(entry.info->created_at);
    const auto found = holds.find(entry.info->id());
    items.push_back({created.value_or(now), entry.type + '\n' + entry.info->source,
                     found != holds.end() ? util::join(found->second, "; ")
                                          : (created ? "" : "unreadable created_at")});
    plan.push_back(std::move(item));
  }
  const auto decisions = apply_retention(items, policy, now);
  std::size_t next = 0;
  for (auto& item : plan) {
    if (item.entry.info) {
      item.decision = decisions[next++];
      if (!item.decision.keep) {
        item.decision.reasons.emplace_back("no rule keeps it");
      }
    }
  }
  return plan;
}

Subset Subset::parse(const std::string& text)
{
  const auto parts = util::split(text, '/');
  std::uint64_t n = 0;
  std::uint64_t t = 0;
  if (parts.size() != 2 || !util::parse_uint(parts[0], n) || !util::parse_uint(parts[1], t) || n < 1 ||
      n > t || t > 10000) {
    throw Error(ExitCode::usage, "invalid --subset '" + util::printable(text) + "': use n/t with 1 <= n <= t, e.g. 3/7");
  }
  return {static_cast<unsigned>(n), static_cast<unsigned>(t)};
}

bool in_subset(const std::string& id, unsigned n, unsigned t)
{
  const std::string digest = util::sha256_hex(id);
  const std::uint64_t value = std::stoull(digest.substr(0, 12), nullptr, 16);
  return value % t == n - 1;
}

} // namespace modelkeep::core
