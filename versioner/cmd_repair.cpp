#include "commands.hpp"
#include "core/backup/offsite.hpp"
#include "core/layout/events.hpp"
#include "core/trust/repair.hpp"
#include "core/versions/refs.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <iostream>
#include <memory>

namespace modelkeep::versioner {

namespace {

using nlohmann::json;

struct RepairArgs {
  std::vector<std::string> versions;
  std::optional<std::string> repo;
  bool no_remote = false;
};

/// The restic repository to look in for intact copies, if one is configured (and wanted).
std::optional<core::Restic> remote_of(const core::Store& store, const RepairArgs& args)
{
  if (args.no_remote) {
    return std::nullopt;
  }
  try {
    return core::Restic(core::load_restic_config(store, args.repo));
  } catch (const Error& e) {
    if (e.code() == ExitCode::usage && !args.repo) {
      return std::nullopt; // no offsite repository configured: local copies only
    }
    throw;
  }
}

json repair_json(const core::Repair& repair)
{
  return {{"sha256", repair.sha256},
          {"files", repair.files},
          {"repaired", !repair.source.empty()},
          {"source", repair.source.empty() ? json(nullptr) : json(repair.source)},
          {"tried", repair.tried}};
}

void run(const RepairArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  const core::Store store = context.store();
  const auto lock = context.lock(store, "repair");
  const auto remote = remote_of(store, args);
  std::optional<util::LockFile> offsite_lock;
  if (remote) {
    offsite_lock.emplace(core::lock_offsite(store, "model-versioner repair", context.lock_timeout()));
  }
  std::vector<core::VersionDir> versions;
  if (args.versions.empty()) {
    versions = core::list_versions(store);
  } else {
    for (const auto& text : args.versions) {
      versions.push_back(core::resolve_version(store, core::VersionRef::parse(text)));
    }
  }
  if (versions.empty()) {
    throw Error(ExitCode::not_found, "nothing to repair: no versions in " + store.versions_dir().string());
  }
  const core::RepairReport report =
      core::repair_versions(store, versions, remote ? &*remote : nullptr, context.progress());

  std::size_t repaired = 0;
  std::size_t unrepaired = 0;
  json doc = {{"checked", versions.size()}, {"repairs", json::array()}, {"notes", report.notes}};
  for (const auto& repair : report.repairs) {
    (repair.source.empty() ? unrepaired : repaired) += repair.files.size();
    doc["repairs"].push_back(repair_json(repair));
  }
  json after = json::array();
  for (const auto& check : report.after) {
    after.push_back({{"name", check.version.name}, {"ok", check.ok()}, {"problems", check.files.summary()}});
  }
  doc["after"] = after;
  doc["ok"] = report.ok();
  if (!report.repairs.empty()) {
    core::append_event(
        store, core::EventKind::repair,
        {{"repaired_files", repaired}, {"unrepaired_files", unrepaired}, {"repairs", doc["repairs"]}});
  }
  context.emit(doc, [&] {
    if (report.repairs.empty() && report.after.empty()) {
      std::cout << "Nothing to repair: " << versions.size() << " version(s) verified intact\n";
    }
    for (const auto& repair : report.repairs) {
      for (const auto& file : repair.files) {
        std::cout << file << ": "
                  << (repair.source.empty()
                          ? "NOT REPAIRED (no intact copy of sha256 " + repair.sha256.substr(0, 12) + "...)"
                          : "repaired from " + repair.source)
                  << '\n';
      }
      if (repair.source.empty()) {
        for (const auto& why : repair.tried) {
          std::cout << "  tried " << why << '\n';
        }
      }
    }
    for (const auto& check : report.after) {
      std::cout << check.version.name << ": "
                << (check.ok() ? "OK after repair" : "still FAILED: " + check.files.summary()) << '\n';
    }
    for (const auto& note : report.notes) {
      std::cout << "note: " << note << '\n';
    }
  });
  if (!report.ok()) {
    throw Error(ExitCode::failed, unrepaired > 0 ? std::to_string(unrepaired) +
                                                       " damaged file(s) have no intact copy anywhere; "
                                                       "nothing was changed for them"
                                                 : "some versions still fail verification");
  }
}

} // namespace

void add_repair(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<RepairArgs>();
  auto* cmd = app.add_subcommand(
      "repair", "Restore damaged files of versions from any intact copy of the same SHA-256, then re-verify");
  cmd->footer("Looks in the stored object, other versions, local backups (any format), other models of the "
              "root and, when an offsite repository is configured, remote copies of local backups. Files "
              "with no intact copy are reported and left as they are (exit 1). Extra files are reported, "
              "never removed.");
  cmd->add_option("VERSION", args->versions, "Versions to repair (default: all)");
  cmd->add_option("--repo", args->repo, "restic repository to look in (default: the configured one)");
  cmd->add_flag("--no-remote", args->no_remote, "Do not look in the offsite repository");
  cmd->callback([args, &options] { run(*args, options); });
}

} // namespace modelkeep::versioner
