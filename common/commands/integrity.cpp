#include "commands/integrity.hpp"

#include "core/backup/offsite.hpp"
#include "core/layout/events.hpp"
#include "core/versions/refs.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <algorithm>

namespace modelkeep::commands {

using nlohmann::json;

namespace {

std::vector<core::VersionDir> chosen(const core::Store& store, const std::vector<std::string>& refs)
{
  if (refs.empty()) {
    return core::list_versions(store);
  }
  std::vector<core::VersionDir> versions;
  versions.reserve(refs.size());
  for (const auto& text : refs) {
    versions.push_back(core::resolve_version(store, core::VersionRef::parse(text)));
  }
  return versions;
}

/// "" if latest points to the newest version of `store`, else the problem in words.
std::string latest_problem_of(const core::Store& store)
{
  const auto newest = core::newest_version(store);
  if (!newest || core::read_latest_link(store) == newest->name) {
    return {};
  }
  return "latest" + store.model_suffix() + " does not point to the newest version " + newest->name +
         " (the next write repairs it)";
}

/// The restic repository to look in for intact copies, if one is configured (and wanted).
std::optional<core::Restic> remote_of(const core::Store& store, const RepairOptions& options)
{
  if (options.no_remote) {
    return std::nullopt;
  }
  try {
    return core::Restic(core::load_restic_config(store, options.repo));
  } catch (const Error& e) {
    if (e.code() == ExitCode::usage && !options.repo) {
      return std::nullopt; // no offsite repository configured: local copies only
    }
    throw;
  }
}

} // namespace

json to_json(const core::Repair& repair)
{
  return {{"sha256", repair.sha256},
          {"files", repair.files},
          {"repaired", !repair.source.empty()},
          {"source", repair.source.empty() ? json(nullptr) : json(repair.source)},
          {"tried", repair.tried}};
}

// ---- verify ----

std::size_t VersionVerification::failed() const
{
  return static_cast<std::size_t>(
      std::count_if(checks.begin(), checks.end(), [](const Item& item) { return !item.check.ok(); }));
}

std::vector<std::string> VersionVerification::shared_with(const std::string& version,
                                                          const std::string& path) const
{
  for (const auto& file : damaged) {
    if (file.version == version && file.path == path) {
      return file.shared_with;
    }
  }
  return {};
}

json VersionVerification::to_json() const
{
  json versions = json::array();
  for (const auto& [model, check] : checks) {
    json item = {{"name", check.version.name}, {"ok", check.ok()}, {"model", model}};
    if (check.metadata_error) {
      item["metadata_error"] = *check.metadata_error;
    } else {
      item["file_count"] = check.file_count;
      item["total_size"] = check.total_size;
      item["missing"] = check.files.missing;
      item["modified"] = check.files.modified;
      item["extra"] = check.files.extra;
      json shared = json::object();
      for (const auto& path : check.files.modified) {
        if (auto others = shared_with(check.version.name, path); !others.empty()) {
          shared[path] = std::move(others);
        }
      }
      item["shared_with"] = shared;
    }
    versions.push_back(std::move(item));
  }
  const std::string latest_problem = util::join(latest_problems, "; ");
  return {{"versions", versions},
          {"ok", failed() == 0 && latest_problems.empty()},
          {"latest_problem", latest_problem.empty() ? json(nullptr) : json(latest_problem)}};
}

void VersionVerification::require_ok() const
{
  if (checks.empty()) {
    throw Error(ExitCode::not_found, "nothing was verified: no versions in " + searched);
  }
  const std::size_t bad = failed();
  if (bad > 0 || !latest_problems.empty()) {
    throw Error(ExitCode::failed, std::to_string(bad) + " of " + util::plural(checks.size(), "version") +
                                      " failed verification" +
                                      (latest_problems.empty() ? "" : "; " + util::join(latest_problems, "; ")));
  }
}

VersionVerification verify_versions(const std::vector<Session>& sessions, const VerifyOptions& options)
{
  VersionVerification result;
  for (const auto& session : sessions) {
    const core::Store& store = options.versions.empty() ? session.store : session.existing();
    std::vector<core::VersionCheck> store_checks;
    for (const auto& version : chosen(store, options.versions)) {
      store_checks.push_back(core::verify_version(version, session.progress));
    }
    auto store_damaged = core::damaged_files(store, store_checks);
    if (!store_damaged.empty()) {
      try {
        const auto lock = session.lock("verify");
        core::record_damage(store, store_damaged);
      } catch (const Error& e) {
        result.notes.push_back(std::string("the damaged objects were not recorded (") + e.what() + ")");
      }
    }
    for (auto& check : store_checks) {
      result.checks.push_back({store.model(), std::move(check)});
    }
    result.damaged.insert(result.damaged.end(), store_damaged.begin(), store_damaged.end());
    if (options.versions.empty()) {
      if (auto problem = latest_problem_of(store); !problem.empty()) {
        result.latest_problems.push_back(std::move(problem));
      }
    }
  }
  result.searched = searched_in(sessions, &core::Store::versions_dir);
  return result;
}

// ---- repair ----

std::size_t VersionRepair::unrepaired_files() const
{
  std::size_t count = 0;
  for (const auto& repair : report.repairs) {
    count += repair.source.empty() ? repair.files.size() : 0;
  }
  return count;
}

json VersionRepair::to_json() const
{
  json repairs = json::array();
  for (const auto& repair : report.repairs) {
    repairs.push_back(commands::to_json(repair));
  }
  json after = json::array();
  for (const auto& check : report.after) {
    after.push_back({{"name", check.version.name}, {"ok", check.ok()}, {"problems", check.files.summary()}});
  }
  return {{"checked", checked}, {"repairs", repairs}, {"notes", report.notes}, {"after", after},
          {"ok", report.ok()}};
}

void VersionRepair::require_ok() const
{
  if (report.ok()) {
    return;
  }
  const std::size_t unrepaired = unrepaired_files();
  throw Error(ExitCode::failed, unrepaired > 0 ? util::plural(unrepaired, "damaged file") +
                                                     " without an intact copy anywhere; nothing was "
                                                     "changed for them"
                                               : "some versions still fail verification");
}

VersionRepair repair_versions(const Session& session, const RepairOptions& options)
{
  const core::Store& store = session.existing();
  const auto lock = session.lock("repair");
  const auto remote = remote_of(store, options);
  std::optional<util::LockFile> offsite_lock;
  if (remote) {
    offsite_lock.emplace(core::lock_offsite(store, session.program + " repair", session.lock_timeout));
  }
  const auto versions = chosen(store, options.versions);
  if (versions.empty()) {
    throw Error(ExitCode::not_found, "nothing to repair: no versions in " + store.versions_dir().string());
  }
  VersionRepair result{versions.size(),
                       core::repair_versions(store, versions, remote ? &*remote : nullptr, session.progress)};
  if (!result.report.repairs.empty()) {
    const std::size_t unrepaired = result.unrepaired_files();
    std::size_t files = 0;
    json repairs = json::array();
    for (const auto& repair : result.report.repairs) {
      files += repair.files.size();
      repairs.push_back(commands::to_json(repair));
    }
    core::append_event(
        store, core::EventKind::repair,
        {{"repaired_files", files - unrepaired}, {"unrepaired_files", unrepaired}, {"repairs", repairs}});
  }
  return result;
}

} // namespace modelkeep::commands
