#include "commands.hpp"
#include "core/version_ops.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <iostream>
#include <memory>

namespace modelkeep::versioner {

namespace {

nlohmann::json check_json(const core::VersionCheck& check)
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
  }
  return item;
}

void print_check(const core::VersionCheck& check)
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
    std::cout << "  modified: " << path << '\n';
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

void run(const std::vector<std::string>& refs, const GlobalOptions& options)
{
  const Context context(options);
  const core::Store store = context.store();
  if (!refs.empty()) {
    store.require_exists();
  }
  std::vector<core::VersionCheck> checks;
  for (const auto& version : selected(store, refs)) {
    checks.push_back(core::verify_version(version, context.progress()));
  }
  std::string latest_problem;
  const auto newest = core::newest_version(store);
  if (refs.empty() && newest && core::read_latest_link(store) != newest->name) {
    latest_problem =
        "latest does not point to the newest version " + newest->name + " (the next write repairs it)";
  }
  std::size_t failed = 0;
  nlohmann::json doc = {{"versions", nlohmann::json::array()}};
  for (const auto& check : checks) {
    failed += check.ok() ? 0 : 1;
    doc["versions"].push_back(check_json(check));
  }
  doc["ok"] = failed == 0 && latest_problem.empty();
  doc["latest_problem"] = latest_problem.empty() ? nlohmann::json(nullptr) : nlohmann::json(latest_problem);
  context.emit(doc, [&] {
    if (checks.empty()) {
      std::cout << "No versions found\n";
    }
    for (const auto& check : checks) {
      print_check(check);
    }
    if (!latest_problem.empty()) {
      std::cout << "FAILED: " << latest_problem << '\n';
    }
  });
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
  cmd->callback([refs, &options] { run(*refs, options); });
}

} // namespace modelkeep::versioner
