#include "commands.hpp"
#include "core/layout/events.hpp"
#include "core/stages/promotion.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>

namespace modelkeep::versioner {

namespace {

struct HistoryArgs {
  std::optional<std::string> stage;
  std::optional<std::string> version;
  std::optional<std::string> at;
};

bool concerns(const nlohmann::json& event, const std::string& name)
{
  for (const char* key : {"version", "from", "to"}) {
    if (event.contains(key) && event[key].is_string() && event[key].get<std::string>() == name) {
      return true;
    }
  }
  return false;
}

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

/// The version a --version argument names: an existing one, or a deleted one the log knows.
std::string version_for_history(const core::Store& store, const std::string& text,
                                const std::vector<nlohmann::json>& events)
{
  const auto ref = core::VersionRef::parse(text);
  try {
    return core::resolve_version(store, ref).name;
  } catch (const Error& error) {
    if (error.code() != ExitCode::not_found) {
      throw;
    }
    for (const auto& event : events) {
      const std::string name = event.value("version", "");
      const bool match =
          ref.kind == core::VersionRef::Kind::name
              ? name == ref.name
              : ref.kind == core::VersionRef::Kind::number &&
                    core::parse_version_dir_name(name) == std::optional<std::uint64_t>(ref.number);
      if (match) {
        return name;
      }
    }
    throw;
  }
}

void run(const HistoryArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  const core::Store store = context.store();
  auto events = core::read_events(store);
  if (args.at) {
    const auto time = util::parse_utc_iso8601(*args.at);
    if (!time) {
      throw Error(ExitCode::usage,
                  "invalid --at '" + *args.at + "': use UTC ISO-8601, e.g. 2025-11-18T09:00:00Z");
    }
    std::vector<std::string> stages;
    if (args.stage) {
      stages.push_back(*args.stage);
    } else {
      for (const auto& e : events) {
        if ((core::is_event(e, core::EventKind::promote) || core::is_event(e, core::EventKind::rollback)) &&
            std::find(stages.begin(), stages.end(), e.value("stage", "")) == stages.end()) {
          stages.push_back(e.value("stage", ""));
        }
      }
    }
    nlohmann::json doc = {{"at", *args.at}, {"stages", nlohmann::json::object()}};
    for (const auto& stage : stages) {
      const auto holder = core::holder_at(events, stage, *time);
      doc["stages"][stage] = holder ? nlohmann::json(*holder) : nlohmann::json(nullptr);
    }
    context.emit(doc, [&] {
      for (const auto& stage : stages) {
        const auto holder = core::holder_at(events, stage, *time);
        std::printf("%s at %s: %s\n", stage.c_str(), args.at->c_str(), holder ? holder->c_str() : "(none)");
      }
    });
    return;
  }
  std::optional<std::string> version_name;
  if (args.version) {
    version_name = version_for_history(store, *args.version, events);
  }
  std::vector<nlohmann::json> selected;
  for (auto it = events.rbegin(); it != events.rend(); ++it) {
    if ((args.stage && it->value("stage", "") != *args.stage) ||
        (version_name && !concerns(*it, *version_name))) {
      continue;
    }
    selected.push_back(*it);
  }
  context.emit({{"events", selected}}, [&] {
    for (const auto& e : selected) {
      std::printf("%-20s %-14s %-10s %s\n", e.value("time", "?").c_str(), e.value("event", "?").c_str(),
                  e.value("user", "?").c_str(), describe(e).c_str());
    }
  });
}

} // namespace

void add_history(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<HistoryArgs>();
  auto* cmd =
      app.add_subcommand("history", "Every event (create, promote, rollback, status, restore, delete, ...), "
                                    "newest first; --at TIME tells which version held each stage then");
  cmd->add_option("--stage", args->stage, "Only events of this stage");
  cmd->add_option("--version", args->version, "Only events about this version");
  cmd->add_option("--at", args->at, "UTC time (2025-11-18T09:00:00Z): who held each stage then");
  cmd->callback([args, &options] { run(*args, options); });
}

} // namespace modelkeep::versioner
