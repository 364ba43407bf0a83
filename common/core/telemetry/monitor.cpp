#include "core/telemetry/monitor.hpp"

#include "core/layout/events.hpp"
#include "core/layout/names.hpp"
#include "core/layout/store.hpp"
#include "core/stages/promotion.hpp"
#include "core/versions/recovery.hpp"
#include "core/versions/refs.hpp"
#include "util/clock.hpp"
#include "util/error.hpp"
#include "util/failpoint.hpp"
#include "util/file.hpp"
#include "util/json_file.hpp"
#include "util/lockfile.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace modelkeep::core {

using nlohmann::json;

namespace {

/// Comparisons at a threshold: exactly the threshold never fires, whatever the rounding of
/// a ratio such as 7/100.
constexpr double k_tolerance = 1e-9;

std::string num(double value)
{
  char text[64];
  std::snprintf(text, sizeof text, "%.4g", value);
  return text;
}

std::string over(std::uint64_t n)
{
  return " over " + std::to_string(n) + " predictions";
}

fs::path thresholds_path(const Store& store, const std::string& stage)
{
  return monitor_dir(store, stage) / filenames::thresholds;
}

fs::path state_path(const Store& store, const std::string& stage)
{
  return monitor_dir(store, stage) / filenames::monitor_state;
}

fs::path log_path(const Store& store, const std::string& stage, const std::string& version)
{
  return monitor_dir(store, stage) / (version + std::string(filenames::predictions_suffix));
}

util::LockFile lock_monitor(const Store& store, const std::string& stage, const std::string& command,
                            std::chrono::milliseconds timeout)
{
  const fs::path dir = monitor_dir(store, stage);
  util::create_directories(dir);
  return util::LockFile::acquire(dir / filenames::lock, "monitor " + command + " " + stage, timeout);
}

} // namespace

MonitorState load_monitor_state(const Store& store, const std::string& stage)
{
  const fs::path path = state_path(store, stage);
  const auto doc = util::read_json_file_if_exists(path, util::JsonLimit::record);
  return doc ? MonitorState::from_json(*doc, path) : MonitorState{};
}

std::vector<std::string> monitored_stages(const Store& store)
{
  std::vector<std::string> stages;
  const fs::path dir = store.versions_dir() / filenames::monitor;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (is_stage_name(name) && it->is_directory()) {
      stages.push_back(name);
    }
  }
  util::check_listing(ec, dir);
  std::sort(stages.begin(), stages.end());
  return stages;
}

namespace {

void save_state(const Store& store, const std::string& stage, const MonitorState& state)
{
  util::write_file_atomic(state_path(store, stage), state.to_json().dump(1) + '\n');
}

std::vector<Observation> observations(const std::vector<json>& records)
{
  std::vector<Observation> result;
  result.reserve(records.size());
  for (const auto& record : records) {
    result.push_back(Observation::from_json(record));
  }
  return result;
}

/// The window accuracy recorded for a version of the stage, if it has feedback.
std::optional<double> recorded_accuracy(const Store& store, const std::string& stage,
                                        const std::string& version, std::uint64_t window)
{
  return summarize(observations(util::read_tail(log_path(store, stage, version), window).records)).accuracy;
}

/// Registers a version the stage monitors for the first time, with the accuracy of the last
/// version monitored before it that did not fail as its baseline.
void register_version(const Store& store, const std::string& stage, MonitorState& state,
                      const std::string& version, std::uint64_t window)
{
  MonitoredVersion entry;
  entry.first_seen = util::utc_now_iso8601();
  for (auto it = state.order.rbegin(); it != state.order.rend(); ++it) {
    const auto known = state.versions.find(*it);
    if (*it == version || (known != state.versions.end() && !known->second.fired.is_null())) {
      continue;
    }
    entry.baseline_version = *it;
    entry.baseline_accuracy = recorded_accuracy(store, stage, *it, window);
    break;
  }
  state.versions[version] = entry;
  state.order.push_back(version);
}

} // namespace

json MonitoredVersion::to_json() const
{
  return {{"first_seen", first_seen},
          {"baseline_version", baseline_version ? json(*baseline_version) : json(nullptr)},
          {"baseline_accuracy", baseline_accuracy ? json(*baseline_accuracy) : json(nullptr)},
          {"fired", fired}};
}

json MonitorState::to_json() const
{
  json doc = {{"versions", json::object()}, {"order", order}};
  for (const auto& [name, entry] : versions) {
    doc["versions"][name] = entry.to_json();
  }
  return doc;
}

MonitorState MonitorState::from_json(const json& doc, const fs::path& origin)
{
  const auto bad = [&] {
    return Error(ExitCode::malformed, "bad monitoring state " + origin.string() + ": not the expected JSON");
  };
  if (!doc.is_object() || !doc.contains("versions") || !doc["versions"].is_object() ||
      !doc.contains("order") || !doc["order"].is_array()) {
    throw bad();
  }
  MonitorState state;
  for (const auto& name : doc["order"]) {
    if (!name.is_string()) {
      throw bad();
    }
    state.order.push_back(name.get<std::string>());
  }
  for (const auto& [name, item] : doc["versions"].items()) {
    if (!item.is_object()) {
      throw bad();
    }
    MonitoredVersion entry;
    entry.first_seen = item.value("first_seen", std::string());
    if (const auto it = item.find("baseline_version"); it != item.end() && it->is_string()) {
      entry.baseline_version = it->get<std::string>();
    }
    if (const auto it = item.find("baseline_accuracy"); it != item.end() && it->is_number()) {
      entry.baseline_accuracy = it->get<double>();
    }
    entry.fired = item.value("fired", json());
    state.versions[name] = std::move(entry);
  }
  return state;
}

void Thresholds::validate() const
{
  const auto unit = [](double value, const char* name) {
    if (!std::isfinite(value) || value < 0 || value > 1) {
      throw Error(ExitCode::usage, std::string(name) + " must be between 0 and 1");
    }
  };
  unit(min_accuracy, "--min-accuracy");
  unit(max_error_rate, "--max-error-rate");
  unit(min_confidence, "--min-confidence");
  unit(max_accuracy_drop, "--max-accuracy-drop");
  if (!std::isfinite(max_latency_ms) || max_latency_ms <= 0) {
    throw Error(ExitCode::usage, "--max-latency-ms must be positive");
  }
  if (!std::isfinite(max_drift_psi) || max_drift_psi <= 0) {
    throw Error(ExitCode::usage, "--max-drift-psi must be positive");
  }
  if (window == 0 || window > 1000000) {
    throw Error(ExitCode::usage, "--window must be between 1 and 1000000");
  }
  if (consecutive_failures == 0 || consecutive_failures > 1000000) {
    throw Error(ExitCode::usage, "--consecutive-failures must be between 1 and 1000000");
  }
}

json Thresholds::to_json() const
{
  return {{"min_accuracy", min_accuracy},
          {"max_error_rate", max_error_rate},
          {"max_latency_ms", max_latency_ms},
          {"min_confidence", min_confidence},
          {"window", window},
          {"consecutive_failures", consecutive_failures},
          {"max_accuracy_drop", max_accuracy_drop},
          {"max_drift_psi", max_drift_psi},
          {"auto_rollback", auto_rollback}};
}

Thresholds Thresholds::from_json(const json& doc)
{
  Thresholds t;
  if (!doc.is_object()) {
    throw Error(ExitCode::malformed, "thresholds are not a JSON object");
  }
  try {
    t.min_accuracy = doc.value("min_accuracy", t.min_accuracy);
    t.max_error_rate = doc.value("max_error_rate", t.max_error_rate);
    t.max_latency_ms = doc.value("max_latency_ms", t.max_latency_ms);
    t.min_confidence = doc.value("min_confidence", t.min_confidence);
    t.window = doc.value("window", t.window);
    t.consecutive_failures = doc.value("consecutive_failures", t.consecutive_failures);
    t.max_accuracy_drop = doc.value("max_accuracy_drop", t.max_accuracy_drop);
    t.max_drift_psi = doc.value("max_drift_psi", t.max_drift_psi);
    t.auto_rollback = doc.value("auto_rollback", t.auto_rollback);
  } catch (const json::exception& e) {
    throw Error(ExitCode::malformed, std::string("bad thresholds: ") + e.what());
  }
  return t;
}

json Trigger::to_json() const
{
  return {{"trigger", name},
          {"speed", speed},
          {"observed", observed},
          {"threshold", threshold},
          {"predictions", predictions},
          {"description", description}};
}

std::size_t trigger_tail_size(const Thresholds& thresholds)
{
  return static_cast<std::size_t>(
      std::max<std::uint64_t>({thresholds.window, thresholds.consecutive_failures, 10}));
}

std::optional<Trigger> evaluate_triggers(const Thresholds& t, const std::vector<Observation>& latest,
                                         bool complete, std::optional<double> baseline_accuracy)
{
  const auto fire = [](std::string name, std::string speed, double observed, double threshold,
                       std::uint64_t predictions, std::string description) {
    return Trigger{std::move(name), std::move(speed), observed,
                   threshold,       predictions,      std::move(description)};
  };
  // Immediate: unambiguous breakage.
  std::uint64_t run = 0;
  for (auto it = latest.rbegin(); it != latest.rend() && it->error; ++it) {
    ++run;
  }
  if (run >= t.consecutive_failures) {
    return fire("consecutive_failures", "immediate", static_cast<double>(run),
                static_cast<double>(t.consecutive_failures), run,
                std::to_string(run) + " consecutive failures");
  }
  std::uint64_t hard = 0;
  const std::size_t last10 = std::min<std::size_t>(latest.size(), 10);
  for (std::size_t i = latest.size() - last10; i < latest.size(); ++i) {
    hard +=
        latest[i].error && (latest[i].error_kind == "load" || latest[i].error_kind == "signature") ? 1 : 0;
  }
  if (hard >= 2) {
    return fire("load_signature_errors", "immediate", static_cast<double>(hard), 2, last10,
                std::to_string(hard) + " load/signature errors among the last " + std::to_string(last10) +
                    " predictions");
  }
  if (complete && latest.size() >= 5 && run == latest.size()) {
    return fire("all_failed", "immediate", static_cast<double>(run), 5, run,
                "all " + std::to_string(run) + " predictions failed");
  }
  // Window: severe patterns and statistical regressions, once a full window exists.
  if (latest.size() < t.window) {
    return std::nullopt;
  }
  const std::vector<Observation> window(latest.end() - static_cast<std::ptrdiff_t>(t.window), latest.end());
  const ObservationSummary s = summarize(window);
  const std::uint64_t n = s.predictions;
  if (s.accuracy && *s.accuracy < t.min_accuracy - k_tolerance) {
    return fire("min_accuracy", "window", *s.accuracy, t.min_accuracy, s.labelled,
                "accuracy " + num(*s.accuracy) + " < " + num(t.min_accuracy) + over(s.labelled));
  }
  if (s.error_rate > t.max_error_rate + k_tolerance) {
    return fire("max_error_rate", "window", s.error_rate, t.max_error_rate, n,
                "error rate " + num(s.error_rate) + " > " + num(t.max_error_rate) + over(n));
  }
  if (s.mean_latency_ms && *s.mean_latency_ms > t.max_latency_ms + k_tolerance) {
    return fire("max_latency_ms", "window", *s.mean_latency_ms, t.max_latency_ms, n,
                "mean latency " + num(*s.mean_latency_ms) + " ms > " + num(t.max_latency_ms) + " ms" +
                    over(n));
  }
  if (s.mean_confidence && *s.mean_confidence < t.min_confidence - k_tolerance) {
    return fire("min_confidence", "window", *s.mean_confidence, t.min_confidence, n,
                "mean confidence " + num(*s.mean_confidence) + " < " + num(t.min_confidence) + over(n));
  }
  if (s.accuracy && baseline_accuracy) {
    const double drop = *baseline_accuracy - *s.accuracy;
    if (drop >= t.max_accuracy_drop - k_tolerance) {
      return fire("max_accuracy_drop", "window", drop, t.max_accuracy_drop, s.labelled,
                  "accuracy dropped " + num(drop) + " (" + num(*baseline_accuracy) + " -> " +
                      num(*s.accuracy) + ") >= " + num(t.max_accuracy_drop) + over(s.labelled));
    }
  }
  if (s.mean_psi && *s.mean_psi > t.max_drift_psi + k_tolerance) {
    return fire("max_drift_psi", "window", *s.mean_psi, t.max_drift_psi, n,
                "drift PSI " + num(*s.mean_psi) + " > " + num(t.max_drift_psi) + over(n));
  }
  return std::nullopt;
}

fs::path monitor_dir(const Store& store, const std::string& stage)
{
  validate_stage_name(stage);
  return store.versions_dir() / filenames::monitor / stage;
}

Thresholds load_thresholds(const Store& store, const std::string& stage)
{
  const auto doc = util::read_json_file_if_exists(thresholds_path(store, stage), util::JsonLimit::settings);
  return doc ? Thresholds::from_json(*doc) : Thresholds{};
}

void save_thresholds(const Store& store, const std::string& stage, const Thresholds& thresholds)
{
  thresholds.validate();
  const auto lock = lock_monitor(store, stage, "thresholds", std::chrono::seconds(30));
  util::write_file_atomic(thresholds_path(store, stage), thresholds.to_json().dump(2) + '\n');
}

json MonitorOutcome::to_json() const
{
  json hook_list = json::array();
  for (const auto& hook : hooks) {
    hook_list.push_back(hook.to_json());
  }
  return {{"stage", stage},
          {"version", version},
          {"trigger", trigger ? trigger->to_json() : json(nullptr)},
          {"rolled_back", rolled_back},
          {"rolled_back_to", rolled_back ? json(rolled_back_to) : json(nullptr)},
          {"note", note.empty() ? json(nullptr) : json(note)},
          {"event", event},
          {"hooks", hook_list}};
}

std::string MonitorOutcome::message() const
{
  if (!trigger) {
    return {};
  }
  if (rolled_back) {
    return "rolled back " + stage + ": " + version + " -> " + rolled_back_to + " (" + trigger->description +
           ")";
  }
  return "trigger fired on " + stage + " " + version + " (" + trigger->description + "): " + note;
}

namespace {

/// Acts on a trigger under the store lock: rolls back if allowed and possible, marks the
/// version failed, logs the event.
void act_on_trigger(const Store& store, const Thresholds& thresholds, const RecordOptions& options,
                    MonitorOutcome& outcome)
{
  const auto lock = core::lock_for_writing(store, "model-versioner monitor record (automatic rollback)",
                                           options.lock_timeout);
  const auto& trigger = *outcome.trigger;
  json numbers = trigger.to_json();
  numbers.erase("description");
  numbers["automatic"] = true;
  numbers["window"] = thresholds.window;
  const auto holder = stage_holder(store, outcome.stage);
  if (holder != outcome.version) {
    outcome.note = "the stage moved to " + holder.value_or("no version") + " meanwhile; nothing rolled back";
  } else if (!thresholds.auto_rollback) {
    outcome.note = "auto-rollback is off";
  } else {
    try {
      const auto target = rollback_target(store, outcome.stage);
      if (!target) {
        outcome.note = "nothing to roll back to (no earlier holder of " + outcome.stage + " in the history)";
      } else {
        outcome.event =
            roll_back(store, outcome.stage, *target, trigger.description, numbers, options.show_progress);
        outcome.rolled_back = true;
        outcome.rolled_back_to = target->name;
      }
    } catch (const Error& e) {
      outcome.note = std::string("rollback refused: ") + e.what();
    }
  }
  if (!outcome.rolled_back) {
    json alert = numbers;
    alert["stage"] = outcome.stage;
    alert["version"] = outcome.version;
    alert["reason"] = trigger.description;
    alert["rolled_back"] = false;
    alert["note"] = outcome.note;
    outcome.event = append_event(store, EventKind::monitor_alert, alert);
  }
  const fs::path version_path = store.versions_dir() / outcome.version;
  if (util::is_directory(version_path)) {
    set_status(store, {parse_version_dir_name(outcome.version).value_or(0), outcome.version, version_path},
               "failed", "monitoring: " + trigger.description);
  }
}

} // namespace

MonitorOutcome record_prediction(const Store& store, const std::string& stage, const Observation& observation,
                                 const RecordOptions& options)
{
  observation.validate();
  validate_stage_name(stage);
  store.require_exists();
  const auto no_version = [&] {
    return Error(ExitCode::not_found, "stage " + stage + " points to no version; nothing to record against");
  };
  if (!stage_holder(store, stage)) {
    throw no_version();
  }
  MonitorOutcome outcome;
  outcome.stage = stage;
  {
    const auto lock = lock_monitor(store, stage, "record", options.lock_timeout);
    const auto holder = stage_holder(store, stage);
    if (!holder) {
      throw no_version();
    }
    outcome.version = *holder;
    json record = observation.to_json();
    record["time"] = util::utc_now_iso8601();
    record["pid"] = ::getpid();
    const fs::path log = log_path(store, stage, outcome.version);
    util::append_line(log, record.dump() + '\n');

    const Thresholds thresholds = load_thresholds(store, stage);
    MonitorState state = load_monitor_state(store, stage);
    if (state.versions.count(outcome.version) == 0) {
      register_version(store, stage, state, outcome.version, thresholds.window);
      save_state(store, stage, state);
    }
    MonitoredVersion& entry = state.versions[outcome.version];
    if (!entry.fired.is_null()) {
      return outcome; // a trigger fires once per version
    }
    const std::size_t needed = trigger_tail_size(thresholds);
    if (options.cache != nullptr) {
      const auto [latest, complete] = options.cache->latest(log, needed);
      outcome.trigger = evaluate_triggers(thresholds, latest, complete, entry.baseline_accuracy);
    } else {
      const util::Tail tail = util::read_tail(log, needed);
      outcome.trigger =
          evaluate_triggers(thresholds, observations(tail.records), tail.complete, entry.baseline_accuracy);
    }
    if (!outcome.trigger) {
      return outcome;
    }
    act_on_trigger(store, thresholds, options, outcome);
    util::failpoint("monitor.after_action");
    entry.fired = outcome.trigger->to_json();
    entry.fired["time"] = util::utc_now_iso8601();
    entry.fired["rolled_back_to"] = outcome.rolled_back ? json(outcome.rolled_back_to) : json(nullptr);
    save_state(store, stage, state);
  }
  if (outcome.rolled_back) {
    outcome.hooks = run_rollback_hooks(store, outcome.event);
  }
  return outcome;
}

std::pair<std::vector<Observation>, bool> MonitorCache::latest(const fs::path& path, std::size_t count)
{
  const std::lock_guard<std::mutex> guard(m_mutex);
  Entry& entry = m_entries[path.string()];
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  const auto size = exists ? static_cast<std::uint64_t>(st.st_size) : 0;
  const auto inode = exists ? static_cast<std::uint64_t>(st.st_ino) : 0;
  if (entry.inode != inode || size < entry.offset || entry.capacity < count) {
    // Start again from the file's tail.
    const util::Tail tail = util::read_tail(path, count);
    entry = Entry{inode, tail.end, count, tail.records.size(), tail.complete, observations(tail.records)};
  } else if (size > entry.offset) {
    // Only what was appended since: complete lines, one record each.
    const int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (raw < 0) {
      throw_errno("cannot open", path);
    }
    util::UniqueFd fd(raw);
    std::string text(size - entry.offset, '\0');
    const ssize_t n = ::pread(fd.get(), text.data(), text.size(), static_cast<off_t>(entry.offset));
    if (n < 0) {
      throw_errno("cannot read", path);
    }
    text.resize(static_cast<std::size_t>(n));
    const auto last_newline = text.rfind('\n');
    if (last_newline != std::string::npos) {
      text.resize(last_newline + 1);
      entry.offset += text.size();
      for (const auto& line : util::split(text, '\n')) {
        const json record = json::parse(line, nullptr, false);
        if (!record.is_discarded() && record.is_object()) {
          entry.latest.push_back(Observation::from_json(record));
          ++entry.seen;
        }
      }
    }
  }
  if (entry.latest.size() > entry.capacity) {
    entry.latest.erase(entry.latest.begin(),
                       entry.latest.begin() +
                           static_cast<std::ptrdiff_t>(entry.latest.size() - entry.capacity));
  }
  const bool complete = entry.complete && entry.seen <= count;
  std::vector<Observation> result(entry.latest.end() -
                                      static_cast<std::ptrdiff_t>(std::min(count, entry.latest.size())),
                                  entry.latest.end());
  return {std::move(result), complete};
}

json MonitorStatus::to_json() const
{
  return {{"stage", stage},
          {"version", version ? json(*version) : json(nullptr)},
          {"thresholds", thresholds.to_json()},
          {"recorded", recorded},
          {"window", window.to_json()},
          {"baseline_version", baseline_version ? json(*baseline_version) : json(nullptr)},
          {"baseline_accuracy", baseline_accuracy ? json(*baseline_accuracy) : json(nullptr)},
          {"fired", fired}};
}

MonitorStatus monitor_status(const Store& store, const std::string& stage)
{
  validate_stage_name(stage);
  store.require_exists();
  MonitorStatus status;
  status.stage = stage;
  status.thresholds = load_thresholds(store, stage);
  status.version = stage_holder(store, stage);
  if (!status.version) {
    return status;
  }
  const auto records = util::read_json_lines(log_path(store, stage, *status.version));
  status.recorded = records.size();
  const std::size_t take = std::min<std::size_t>(records.size(), status.thresholds.window);
  status.window = summarize(
      observations(std::vector<json>(records.end() - static_cast<std::ptrdiff_t>(take), records.end())));
  const MonitorState state = load_monitor_state(store, stage);
  if (const auto it = state.versions.find(*status.version); it != state.versions.end()) {
    status.baseline_version = it->second.baseline_version;
    status.baseline_accuracy = it->second.baseline_accuracy;
    status.fired = it->second.fired;
  }
  return status;
}

} // namespace modelkeep::core
