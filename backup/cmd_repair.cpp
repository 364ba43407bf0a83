#include "commands.hpp"
#include "core/layout/events.hpp"
#include "core/trust/repair.hpp"
#include "util/error.hpp"

#include <iostream>
#include <memory>

namespace modelkeep::backup {

namespace {

using nlohmann::json;

void run(const std::string& name, const GlobalOptions& options)
{
  const Context context(options);
  const core::Store store = context.store();
  const auto lock = context.lock(store, "repair");
  const auto info = core::resolve_backup(store, name);
  const core::BackupRepair result = core::repair_backup(store, info, context.progress());
  if (!result.refused.empty()) {
    throw Error(ExitCode::refused, "cannot repair " + info.id() + ": " + result.refused);
  }
  std::size_t unrepaired = 0;
  json repairs = json::array();
  for (const auto& repair : result.repairs) {
    unrepaired += repair.source.empty() ? 1 : 0;
    repairs.push_back({{"files", repair.files},
                       {"sha256", repair.sha256},
                       {"repaired", !repair.source.empty()},
                       {"source", repair.source.empty() ? json(nullptr) : json(repair.source)},
                       {"tried", repair.tried}});
  }
  const bool ok = result.after && result.after->ok();
  if (!result.repairs.empty()) {
    core::append_event(store, core::EventKind::repair,
                       {{"backup", info.id()}, {"repairs", repairs}, {"verified", ok}});
  }
  const json doc = {{"backup", info.id()},
                    {"repairs", repairs},
                    {"ok", ok},
                    {"problems", result.after ? json(result.after->problems) : json::array()}};
  context.emit(doc, [&] {
    if (result.repairs.empty()) {
      std::cout << info.id() << ": nothing to repair\n";
    }
    for (const auto& repair : result.repairs) {
      std::cout << repair.files.front() << ": "
                << (repair.source.empty() ? "NOT REPAIRED (no intact copy)"
                                          : "repaired from " + repair.source)
                << '\n';
    }
    std::cout << info.id() << ": " << (ok ? "verified" : "still FAILED") << '\n';
  });
  if (!ok) {
    throw Error(ExitCode::failed, unrepaired > 0 ? std::to_string(unrepaired) +
                                                       " damaged file(s) have no intact copy; nothing was "
                                                       "changed for them"
                                                 : info.id() + " still fails verification");
  }
}

} // namespace

void add_repair(CLI::App& app, const GlobalOptions& options)
{
  auto name = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "repair", "Restore a directory backup's damaged files from intact copies, then verify it in full");
  cmd->footer(
      "Copies come from versions, stored objects and other backups of any model of the root whose "
      "SHA-256 matches. Archives are not rewritten: restore them from their remote copy or make a new "
      "backup. Exit 1 if a file has no intact copy (nothing is changed for it).");
  cmd->add_option("BACKUP", *name, "A backup: its path, TYPE/NAME, or its name")->required();
  cmd->callback([name, &options] { run(*name, options); });
}

} // namespace modelkeep::backup
