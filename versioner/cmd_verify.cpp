#include "commands.hpp"
#include "core/trust/repair.hpp"
#include "core/versions/refs.hpp"
#include "core/versions/version_ops.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <iostream>
#include <memory>

namespace modelkeep::versioner {

namespace {

/// The versions sharing the stored copy of `path` in `version`, from `damaged`.
std::vector<std::string> shared_with(const std::vector<core::DamagedFile>& damaged,
                                     const std::string& version, const std::string& path)
{
  for (const auto& file : damaged) {
    if (file.version == version && file.path == path) {
      return file.shared_with;
    }
  }
  return {};
}

nlohmann::json check_json(const core::VersionCheck& check, const std::vector<core::DamagedFile>& damaged)
{
  nlohmann::json item = {{"name", check.version.name}, {"ok", check.ok()}};
  if (check.metadata_error) {
    item["metadata_error"] = *check.metadata_error;
  } else {
    item["file_count"] = check.file_count;
    item["total_size"] = check.total_size;
    item["missing"] = check.files.missing;
    item["modified"] = check.files.modified;
    item["extra"] = check.files.extra;
    nlohmann::json shared = nlohmann::json::object();
    for (const auto& path : check.files.modified) {
      if (auto others = shared_with(damaged, check.version.name, path); !others.empty()) {
        shared[path] = std::move(others);
      }
    }
    item["shared_with"] = shared;
  }
  return item;
}

void print_check(const core::VersionCheck& check, const std::vector<core::DamagedFile>& damaged)
{
  if (check.ok()) {
    std::cout << check.version.name << ": OK (" << check.file_count << " files, "
              << util::human_size(check.total_size) << ")\n";
    return;
  }
  if (check.metadata_error) {
    std::cout << check.version.name << ": FAILED: " << *check.metadata_error << '\n';
    return;
  }
  std::cout << check.version.name << ": FAILED: " << check.files.summary() << '\n';
  for (const auto& path : check.files.missing) {
    std::cout << "  missing:  " << path << '\n';
  }
  for (const auto& path : check.files.modified) {
    std::cout << "  modified: " << path;
    if (const auto others = shared_with(damaged, check.version.name, path); !others.empty()) {
      std::cout << " (the same stored copy as in " << util::join(others, ", ") << ": damaged there too)";
    }
    std::cout << '\n';
  }
  for (const auto& path : check.files.extra) {
    std::cout << "  extra:    " << path << '\n';
  }
}

std::vector<core::VersionDir> selected(const core::Store& store, const std::vector<std::string>& refs)
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

/// Records the objects `damaged` files are linked to, so that no new version links to them
/// (taken under the writer lock; if another writer holds it, the next verify or repair records them).
void remember_damage(const Context& context, const core::Store& store,
                     const std::vector<core::DamagedFile>& damaged)
{
  try {
    const auto lock = context.lock(store, "verify");
    core::record_damage(store, damaged);
  } catch (const Error& e) {
    context.note(std::string("note: the damaged objects were not recorded (") + e.what() + ")");
  }
}

void run(const std::vector<std::string>& refs, bool all_models, const GlobalOptions& options)
{
  if (all_models && !refs.empty()) {
    throw Error(ExitCode::usage, "--all-models checks every version; name no versions with it");
  }
  const Context context(options);
  std::vector<std::pair<std::string, core::VersionCheck>> checks;
  std::vector<core::DamagedFile> damaged;
  std::vector<std::string> latest_problems;
  for (const auto& store : context.stores(all_models)) {
    if (!refs.empty()) {
      store.require_exists();
    }
    std::vector<core::VersionCheck> store_checks;
    for (const auto& version : selected(store, refs)) {
      store_checks.push_back(core::verify_version(version, context.progress()));
    }
    auto store_damaged = core::damaged_files(store, store_checks);
    if (!store_damaged.empty()) {
      remember_damage(context, store, store_damaged);
    }
    for (auto& check : store_checks) {
      checks.emplace_back(store.model(), std::move(check));
    }
    damaged.insert(damaged.end(), store_damaged.begin(), store_damaged.end());
    if (refs.empty()) {
      if (auto problem = latest_problem_of(store); !problem.empty()) {
        latest_problems.push_back(std::move(problem));
      }
    }
  }
  const std::string latest_problem = util::join(latest_problems, "; ");
  std::size_t failed = 0;
  nlohmann::json doc = {{"versions", nlohmann::json::array()}};
  for (const auto& [model, check] : checks) {
    failed += check.ok() ? 0 : 1;
    auto item = check_json(check, damaged);
    item["model"] = model;
    doc["versions"].push_back(std::move(item));
  }
  doc["ok"] = failed == 0 && latest_problem.empty();
  doc["latest_problem"] = latest_problem.empty() ? nlohmann::json(nullptr) : nlohmann::json(latest_problem);
  context.emit(doc, [&] {
    if (checks.empty()) {
      std::cout << "No versions found\n";
    }
    for (const auto& [model, check] : checks) {
      if (all_models) {
        std::cout << model << ": ";
      }
      print_check(check, damaged);
    }
    for (const auto& problem : latest_problems) {
      std::cout << "FAILED: " << problem << '\n';
    }
    if (failed > 0) {
      std::cout << "Damaged files can be restored from an intact copy: model-versioner repair\n";
    }
  });
  if (checks.empty()) {
    throw Error(ExitCode::not_found,
                "nothing was verified: no versions in " +
                    (all_models ? context.root().string() : context.store().versions_dir().string()));
  }
  if (failed > 0 || !latest_problem.empty()) {
    throw Error(ExitCode::failed, std::to_string(failed) + " of " + std::to_string(checks.size()) +
                                      " versions failed verification" +
                                      (latest_problem.empty() ? "" : "; " + latest_problem));
  }
}

} // namespace

void add_verify(CLI::App& app, const GlobalOptions& options)
{
  auto refs = std::make_shared<std::vector<std::string>>();
  auto* cmd =
      app.add_subcommand("verify", "Recompute every checksum; report missing, modified and extra files");
  cmd->add_option("VERSION", *refs, "Versions to check (default: all)");
  auto all_models = std::make_shared<bool>(false);
  cmd->add_flag("--all-models", *all_models, "Check every version of every model in the root");
  cmd->callback([refs, all_models, &options] { run(*refs, *all_models, options); });
}

} // namespace modelkeep::versioner
