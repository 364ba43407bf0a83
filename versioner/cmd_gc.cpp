#include "commands.hpp"
#include "core/trust/protection.hpp"
#include "core/stages/promotion.hpp"
#include "core/versions/refs.hpp"
#include "core/versions/version_ops.hpp"
#include "util/error.hpp"
#include "util/failpoint.hpp"
#include "util/text.hpp"

#include <cstdio>
#include <memory>
#include <set>

namespace modelkeep::versioner {

namespace {

struct GcArgs {
  std::size_t keep = 0;
  bool execute = false;
  bool no_backup = false;
};

struct Verdict {
  core::VersionDir version;
  bool keep = false;
  std::string why;
};

std::vector<Verdict> plan(const core::Store& store, std::size_t keep)
{
  const auto versions = core::list_versions(store);
  const core::Holds holds = core::version_holds(store);
  std::vector<Verdict> verdicts;
  for (std::size_t i = 0; i < versions.size(); ++i) {
    const auto& v = versions[i];
    const std::size_t rank = versions.size() - 1 - i; // 0 = newest
    Verdict verdict{v, false, "beyond the newest " + std::to_string(keep)};
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

void run(const GcArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  const core::Store store = context.store();
  store.require_exists();
  std::optional<util::LockFile> lock;
  if (args.execute) {
    lock.emplace(context.lock(store, "gc"));
  }
  const auto verdicts = plan(store, args.keep);
  nlohmann::json doc = {{"execute", args.execute}, {"versions", nlohmann::json::array()}};
  std::size_t doomed = 0;
  for (const auto& v : verdicts) {
    doomed += v.keep ? 0 : 1;
    doc["versions"].push_back(
        {{"name", v.version.name}, {"action", v.keep ? "keep" : "delete"}, {"why", v.why}});
  }
  context.emit(doc, [&] {
    for (const auto& v : verdicts) {
      std::printf("%-6s %-50s %s\n", v.keep ? "KEEP" : "DELETE", v.version.name.c_str(), v.why.c_str());
    }
    std::printf("%zu to keep, %zu to delete%s\n", verdicts.size() - doomed, doomed,
                args.execute ? "" : (doomed > 0 ? "; dry run: add --execute to delete them" : ""));
  });
  if (!args.execute) {
    return;
  }
  for (const auto& v : verdicts) {
    if (!v.keep) {
      (void)core::delete_version(store, v.version, context.progress(),
                                 args.no_backup ? core::BackupFirst::no : core::BackupFirst::yes);
      util::failpoint("gc.after_delete");
    }
  }
  // Content no version names any more (also what killed creates left behind).
  const std::size_t pruned = core::prune_unreferenced_objects(store);
  if (pruned > 0) {
    context.note("removed " + std::to_string(pruned) + " stored files no version uses any more");
  }
}

} // namespace

void add_gc(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<GcArgs>();
  auto* cmd = app.add_subcommand(
      "gc", "Delete all but the newest N versions (and those a stage points to, and latest); "
            "a dry run unless --execute");
  cmd->add_option("--keep", args->keep, "How many of the newest versions to keep")->required();
  cmd->add_flag("--execute", args->execute, "Really delete (each through a verified backup, like delete)");
  cmd->add_flag("--no-backup", args->no_backup, "With --execute: delete without the backups");
  cmd->callback([args, &options] { run(*args, options); });
}

} // namespace modelkeep::versioner
