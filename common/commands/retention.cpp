#include "commands/retention.hpp"

#include "core/trust/protection.hpp"
#include "core/versions/refs.hpp"
#include "core/versions/version_ops.hpp"
#include "util/error.hpp"
#include "util/failpoint.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <optional>

namespace modelkeep::commands {

using nlohmann::json;

namespace {

std::string describe(const core::VersionDir& version)
{
  try {
    const auto meta = core::load_metadata(version.path);
    return version.name + " (" + util::plural(meta.manifest.file_count(), "file") + ", " +
           util::human_size(meta.manifest.total_size()) + ")";
  } catch (const Error&) {
    return version.name + " (metadata unreadable)";
  }
}

std::vector<Collection::Verdict> plan(const core::Store& store, std::size_t keep)
{
  const auto versions = core::list_versions(store);
  const core::Holds holds = core::version_holds(store);
  std::vector<Collection::Verdict> verdicts;
  for (std::size_t i = 0; i < versions.size(); ++i) {
    const auto& v = versions[i];
    const std::size_t rank = versions.size() - 1 - i; // 0 = newest
    Collection::Verdict verdict{v, false, "beyond the newest " + std::to_string(keep)};
    if (rank < keep) {
      verdict = {v, true, "one of the newest " + std::to_string(keep)};
    } else if (const auto held = holds.find(v.name); held != holds.end()) {
      verdict = {v, true, "protected: " + util::join(held->second, "; ")};
    } else if (rank == 0) {
      verdict = {v, true, "latest"};
    }
    verdicts.push_back(verdict);
  }
  return verdicts;
}

} // namespace

json Deletion::to_json() const
{
  return {{"deleted", version}, {"backup", backup}};
}

Deletion delete_version(const Session& session, const DeleteOptions& options)
{
  const auto ref = core::VersionRef::parse(options.version);
  const core::Store& store = session.existing();
  if (!options.confirm) {
    const auto version = core::resolve_version(store, ref);
    throw Error(ExitCode::refused, "would delete " + describe(version) + " after a verified backup to " +
                                       (store.backups_dir() / "deleted_versions").string() +
                                       "/; run again with --confirm to do it");
  }
  const auto lock = session.lock("delete");
  const auto version = core::resolve_version(store, ref);
  core::require_unheld_version(store, version, "delete", core::Force::no,
                               "promote or roll back another version, or conclude the A/B test, first");
  const auto result = core::delete_version(store, version, session.progress);
  (void)core::prune_unreferenced_objects(store);
  return {version.name, result.backup.path.string()};
}

std::size_t Collection::doomed() const
{
  return static_cast<std::size_t>(
      std::count_if(verdicts.begin(), verdicts.end(), [](const Verdict& v) { return !v.keep; }));
}

json Collection::to_json() const
{
  json doc = {{"execute", execute}, {"versions", json::array()}};
  for (const auto& v : verdicts) {
    doc["versions"].push_back(
        {{"name", v.version.name}, {"action", v.keep ? "keep" : "delete"}, {"reasons", json::array({v.why})}});
  }
  return doc;
}

Collection collect_versions(const Session& session, const GcOptions& options)
{
  const core::Store& store = session.existing();
  std::optional<util::LockFile> lock;
  if (options.execute) {
    lock.emplace(session.lock("gc"));
  }
  Collection result;
  result.execute = options.execute;
  result.verdicts = plan(store, options.keep);
  if (!options.execute) {
    return result;
  }
  for (auto& v : result.verdicts) {
    if (!v.keep) {
      try {
        (void)core::delete_version(store, v.version, session.progress,
                                   options.no_backup ? core::BackupFirst::no : core::BackupFirst::yes);
      } catch (const Error& e) {
        if (e.code() != ExitCode::refused) {
          throw;
        }
        v = {v.version, true,
             "fails verification: repair it first (model-versioner repair " + v.version.name + ")"};
        continue;
      }
      util::failpoint("gc.after_delete");
    }
  }
  // Content no version names any more (also what killed creates left behind).
  result.pruned = core::prune_unreferenced_objects(store);
  return result;
}

} // namespace modelkeep::commands
