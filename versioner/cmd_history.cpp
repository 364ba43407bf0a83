#include "commands.hpp"
#include "commands/versions.hpp"
#include "core/layout/events.hpp"
#include "core/stages/promotion.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>

namespace modelkeep::versioner {

namespace {

std::string describe(const nlohmann::json& e)
{
  using core::EventKind;
  const auto kind = core::event_kind(e);
  const auto text = [&](const char* key) {
    return e.contains(key) && e[key].is_string() ? e[key].get<std::string>() : std::string("-");
  };
  std::string line;
  if (kind == EventKind::promote || kind == EventKind::rollback) {
    line = text("stage") + ": " + text("from") + " -> " + text("to");
    if (kind == EventKind::rollback || e.contains("automatic")) {
      line += e.value("automatic", false) ? " (automatic)" : " (manual)";
    }
  } else if (kind == EventKind::status) {
    line = text("version") + ": " + text("from") + " -> " + text("to");
  } else if (kind == EventKind::ab_create || kind == EventKind::ab_start || kind == EventKind::ab_canary ||
             kind == EventKind::ab_conclude) {
    line = "A/B test " + text("test");
    if (kind == EventKind::ab_create) {
      line += ": " + text("control") + " vs " + text("treatment");
    } else if (kind == EventKind::ab_conclude) {
      line += ": winner " + text("winner") +
              (e.value("significant", false) ? " (significant)" : " (not significant)");
    }
  } else if (kind == EventKind::monitor_alert) {
    line = text("stage") + ": " + text("version") + " alert, not rolled back";
  } else {
    line = text("version") != "-" ? text("version") : text("backup");
  }
  if (e.contains("reason") && e["reason"].is_string() && !e["reason"].get<std::string>().empty()) {
    line += "  \"" + e["reason"].get<std::string>() + "\"";
  }
  return line;
}

void run(const commands::HistoryOptions& args, const GlobalOptions& options)
{
  const Context context(options);
  const auto result = commands::history(context.session(), args);
  context.emit_data(result.to_json(), [&] {
    if (result.at) {
      for (const auto& [stage, holder] : result.holders) {
        std::printf("%s at %s: %s\n", stage.c_str(), result.at->c_str(), holder ? holder->c_str() : "(none)");
      }
      return;
    }
    for (const auto& e : result.events) {
      std::printf("%-20s %-14s %-10s %s\n", e.value("time", "?").c_str(), e.value("event", "?").c_str(),
                  e.value("user", "?").c_str(), describe(e).c_str());
    }
  });
}

} // namespace

void add_history(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<commands::HistoryOptions>();
  auto* cmd =
      app.add_subcommand("history", "Every event (create, promote, rollback, status, restore, delete, ...), "
                                    "newest first; --at TIME tells which version held each stage then");
  cmd->add_option("--stage", args->stage, "Only events of this stage");
  cmd->add_option("--version", args->version, "Only events about this version");
  cmd->add_option("--at", args->at,
                  "Who held each stage then: 2025-11-18 (local midnight), 2025-11-18 09:00 (local), or with "
                  "Z or an offset (2025-11-18T09:00:00Z, 2025-11-18T10:00+01:00)");
  cmd->callback([args, &options] { run(*args, options); });
}

} // namespace modelkeep::versioner
