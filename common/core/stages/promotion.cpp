#include "core/stages/promotion.hpp"

#include "core/layout/events.hpp"
#include "core/layout/store.hpp"
#include "core/versions/indexes.hpp"
#include "core/versions/list_index.hpp"
#include "core/versions/refs.hpp"
#include "util/error.hpp"
#include "util/failpoint.hpp"
#include "util/file.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

namespace modelkeep::core {

using nlohmann::json;

const std::vector<std::string>& version_statuses()
{
  static const std::vector<std::string> statuses = {"staging",  "production", "canary",
                                                    "archived", "failed",     "rollback_candidate"};
  return statuses;
}

namespace {

bool moves_stage(const json& event, const std::string& stage)
{
  const auto kind = event_kind(event);
  return (kind == EventKind::promote || kind == EventKind::rollback) && event.value("stage", "") == stage;
}

} // namespace

std::optional<std::string> holder_at(const std::vector<json>& events, const std::string& stage,
                                     util::SystemTime time)
{
  std::optional<std::string> holder;
  for (const auto& event : events) {
    const auto when = util::parse_utc_iso8601(event.value("time", ""));
    if (!when || *when > time) {
      continue;
    }
    if (moves_stage(event, stage)) {
      holder = event.value("to", "");
    }
  }
  return holder;
}

std::optional<std::string> previous_holder(const Store& store, const std::vector<json>& events,
                                           const std::string& stage)
{
  const auto current = stage_holder(store, stage);
  std::set<std::string> rolled_back_from;
  std::vector<std::string> holders;
  for (const auto& event : events) {
    if (!moves_stage(event, stage)) {
      continue;
    }
    if (is_event(event, EventKind::rollback)) {
      rolled_back_from.insert(event.value("from", ""));
    }
    holders.push_back(event.value("to", ""));
  }
  std::set<std::string> existing;
  for (const auto& version : list_versions(store)) {
    existing.insert(version.name);
  }
  for (auto it = holders.rbegin(); it != holders.rend(); ++it) {
    if (*it != current && rolled_back_from.count(*it) == 0 && existing.count(*it) != 0) {
      return *it;
    }
  }
  return std::nullopt;
}

namespace {

void write_status(const VersionDir& version, const std::string& status)
{
  VersionMetadata meta = load_metadata(version.path);
  meta.status = status;
  write_metadata(version.path, meta);
}

} // namespace

json move_stage(const Store& store, const std::string& stage, const VersionDir& version, EventKind event,
                const std::string& reason, const json& extra)
{
  const auto previous = stage_holder(store, stage);
  json record = extra;
  record["stage"] = stage;
  record["from"] = previous ? json(*previous) : json(nullptr);
  record["to"] = version.name;
  record["reason"] = reason;
  record["move"] = begin_stage_move(store, event, record);
  util::replace_symlink(store.versions_dir() / stage, version.name);
  util::failpoint("stage.after_link");
  const auto& statuses = version_statuses();
  if (std::find(statuses.begin(), statuses.end(), stage) != statuses.end()) {
    write_status(version, stage);
  }
  if (previous && *previous != version.name && util::is_directory(store.versions_dir() / *previous)) {
    const auto number = parse_version_dir_name(*previous);
    write_status({number.value_or(0), *previous, store.versions_dir() / *previous},
                 stage == "production" && event == EventKind::promote ? "rollback_candidate" : "staging");
  }
  util::failpoint("stage.before_event");
  record = append_event(store, event, record);
  end_stage_move(store);
  refresh_indexes(store);
  return record;
}

void set_status(const Store& store, const VersionDir& version, const std::string& status,
                const std::string& reason)
{
  const auto& statuses = version_statuses();
  if (std::find(statuses.begin(), statuses.end(), status) == statuses.end()) {
    std::string list;
    for (const auto& s : statuses) {
      list += (list.empty() ? "" : ", ") + s;
    }
    throw Error(ExitCode::usage, "invalid status '" + status + "': use one of " + list);
  }
  // production and canary are what their stage links say: set by promote (which verifies the
  // version first) and rollback, never by hand, so that a status never contradicts a stage.
  for (const char* stage : {"production", "canary"}) {
    const auto holder = stage_holder(store, stage);
    if (status == stage) {
      throw Error(ExitCode::refused,
                  "refusing to set status " + status + " by hand: it follows the stage link (" + stage +
                      " points to " + holder.value_or("no version") + "); run model-versioner promote " +
                      version.name + " --stage " + stage + " (it verifies the version first)");
    }
    if (holder == version.name && status != "failed") {
      throw Error(ExitCode::refused, "refusing to set " + version.name + " to " + status + ": stage " +
                                         stage +
                                         " points to it and its status follows the stage; promote another "
                                         "version or roll back first (or mark it failed)");
    }
  }
  const std::string old = load_metadata(version.path).status;
  write_status(version, status);
  append_event(store, EventKind::status,
               {{"version", version.name}, {"from", old}, {"to", status}, {"reason", reason}});
  refresh_indexes(store);
}

namespace {

std::string label(const std::string& metric)
{
  return metric == "f1_score" || metric == "f1" ? "F1" : metric;
}

std::string decimals(double value, int places, bool sign = false)
{
  char text[64];
  std::snprintf(text, sizeof text, sign ? "%+.*f" : "%.*f", places, value);
  return text;
}

std::string short_number(double value)
{
  char text[64];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

} // namespace

AutoPromoteDecision decide_auto_promote(const AutoPromoteRule& rule, std::optional<double> old_value,
                                        double new_value)
{
  AutoPromoteDecision decision{false, {}, old_value, new_value};
  const std::string name = label(rule.metric);
  if (!old_value) {
    decision.promote = true;
    decision.reason = "first version for this stage (" + name + " " + decimals(new_value, 3) + ")";
    return decision;
  }
  const double change = new_value - *old_value;
  const std::string values = "(" + decimals(*old_value, 3) + " -> " + decimals(new_value, 3) + ")";
  if (new_value >= rule.high_threshold) {
    decision.promote = new_value >= *old_value;
    decision.reason = decision.promote
                          ? name + " " + decimals(new_value, 3) + " at or above the high threshold " +
                                short_number(rule.high_threshold) + " without regression " + values
                          : name + " regressed " + decimals(-change * 100, 1) + " points " + values;
    return decision;
  }
  // A small tolerance so that an improvement of exactly the threshold counts despite rounding.
  decision.promote = change >= rule.min_improvement - 1e-12;
  // Metrics in [0, 1]: a change of 0.03 is 3 percentage points, not 3% (that would be 3.3%).
  decision.reason = decision.promote ? name + " improved " + decimals(change * 100, 1) + " points " + values
                                     : name + " change " + decimals(change * 100, 1, true) +
                                           " points, below the threshold of " +
                                           short_number(rule.min_improvement * 100) + " points " + values;
  return decision;
}

} // namespace modelkeep::core
