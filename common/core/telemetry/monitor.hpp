#pragma once

#include "core/stages/rollback.hpp"
#include "core/telemetry/observation.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace modelkeep::core {

class Store;

/// When a stage's version counts as bad. Stored per stage in versions/monitor/<stage>/thresholds.json.
struct Thresholds {
  double min_accuracy = 0.80;
  double max_error_rate = 0.05;
  double max_latency_ms = 200;
  double min_confidence = 0.60;
  std::uint64_t window = 100;
  std::uint64_t consecutive_failures = 3;
  double max_accuracy_drop = 0.15;
  double max_drift_psi = 0.25;
  bool auto_rollback = true;

  /// Throws Error(usage) for values that make no sense (window 0, rates outside [0, 1], ...).
  void validate() const;
  [[nodiscard]] nlohmann::json to_json() const;
  /// Known fields of `doc` over the defaults; Error(malformed) for mistyped ones.
  [[nodiscard]] static Thresholds from_json(const nlohmann::json& doc);
};

/// A trigger that fired, with the numbers behind it.
struct Trigger {
  std::string name;  ///< consecutive_failures, load_signature_errors, all_failed, min_accuracy,
                     ///< max_error_rate, max_latency_ms, min_confidence, max_accuracy_drop, max_drift_psi
  std::string speed; ///< "immediate" or "window"
  double observed = 0;
  double threshold = 0;
  std::uint64_t predictions = 0; ///< the predictions the figure is over
  std::string description;       ///< "error rate 0.12 > 0.05 over 100 predictions"

  [[nodiscard]] nlohmann::json to_json() const;
};

/// The records a trigger evaluation needs from a version's log: the last
/// max(window, consecutive_failures, 10) of them.
[[nodiscard]] std::size_t trigger_tail_size(const Thresholds& thresholds);

/// Evaluates the triggers on the latest predictions of a version (oldest first; `complete`
/// when they are all it has) — immediate ones first, then, once a full window exists, the
/// window ones. `baseline_accuracy` is the previous version's recorded accuracy, if any.
[[nodiscard]] std::optional<Trigger> evaluate_triggers(const Thresholds& thresholds,
                                                       const std::vector<Observation>& latest, bool complete,
                                                       std::optional<double> baseline_accuracy);

/// What the monitor remembers of one version a stage served.
struct MonitoredVersion {
  std::string first_seen;
  std::optional<std::string> baseline_version; ///< the last earlier version that did not fail
  std::optional<double> baseline_accuracy;     ///< its window accuracy when this one was first seen
  nlohmann::json fired; ///< the trigger that fired (with time and rolled_back_to), or null

  [[nodiscard]] nlohmann::json to_json() const;
};

/// versions/monitor/<stage>/state.json: every version the stage monitored, in the order it
/// first served them. Rewritten (atomically) only when a version is first seen or a trigger fires.
struct MonitorState {
  std::map<std::string, MonitoredVersion> versions;
  std::vector<std::string> order;

  [[nodiscard]] nlohmann::json to_json() const;
  /// Parses state.json; Error(malformed) naming `origin` for anything else.
  [[nodiscard]] static MonitorState from_json(const nlohmann::json& doc, const fs::path& origin);
};

[[nodiscard]] fs::path monitor_dir(const Store& store, const std::string& stage);

/// The stage's state.json; an empty state only when the file does not exist (a file that
/// cannot be read is an error: rewriting it from nothing would lose every baseline).
[[nodiscard]] MonitorState load_monitor_state(const Store& store, const std::string& stage);

/// Every stage with a monitoring directory, by name.
[[nodiscard]] std::vector<std::string> monitored_stages(const Store& store);

/// The stage's thresholds (the defaults if none were set).
[[nodiscard]] Thresholds load_thresholds(const Store& store, const std::string& stage);

/// Stores the stage's thresholds (atomically, under the stage's monitor lock).
void save_thresholds(const Store& store, const std::string& stage, const Thresholds& thresholds);

/// What a long-lived process keeps between records so that each record parses only the lines
/// added to a version's log since its last one (by any process), not the whole window again.
/// Thread-safe; the files stay the source of truth (a replaced or shrunk log is re-read).
class MonitorCache {
public:
  /// The latest `count` observations of the log at `path` (oldest first) and whether they are
  /// all it holds; call with the stage's monitor lock held.
  [[nodiscard]] std::pair<std::vector<Observation>, bool> latest(const fs::path& path, std::size_t count);

private:
  struct Entry {
    std::uint64_t inode = 0;
    std::uint64_t offset = 0;
    std::size_t capacity = 0;
    std::uint64_t seen = 0; ///< observations held or dropped since `complete` was known
    bool complete = false;  ///< the entry started from the file's beginning
    std::vector<Observation> latest;
  };
  std::mutex m_mutex;
  std::map<std::string, Entry> m_entries;
};

/// How a record call should behave.
struct RecordOptions {
  std::chrono::milliseconds lock_timeout{30000};
  bool show_progress = false;    ///< for the verification of the rollback target
  MonitorCache* cache = nullptr; ///< a long-lived process's cache, if any
};

/// What recording one prediction did.
struct MonitorOutcome {
  std::string stage;
  std::string version;            ///< the version the prediction was recorded against
  std::optional<Trigger> trigger; ///< set when a trigger fired on this prediction
  bool rolled_back = false;
  std::string rolled_back_to;
  std::string note;     ///< why there was no rollback, when a trigger fired without one
  nlohmann::json event; ///< the rollback or monitor_alert event logged (null if none)
  std::vector<HookRun> hooks;

  [[nodiscard]] nlohmann::json to_json() const;
  /// "rolled back production: v004 -> v003 (error rate 0.12 > 0.05 over 100 predictions)", or
  /// the alert without a rollback; empty when nothing fired.
  [[nodiscard]] std::string message() const;
};

/// Records one prediction against the version `stage` points to now (Error(not_found) if it
/// points to none) and evaluates the triggers. When one fires (once per version), the version
/// is marked failed and, with auto-rollback on, the stage rolls back like `rollback` does
/// (logged with automatic: true, the trigger and its numbers); then the rollback hooks run.
/// Records append one JSON line under the stage's monitor lock, so many processes can record
/// at once.
[[nodiscard]] MonitorOutcome record_prediction(const Store& store, const std::string& stage,
                                               const Observation& observation, const RecordOptions& options);

/// The monitoring picture of a stage now.
struct MonitorStatus {
  std::string stage;
  std::optional<std::string> version;
  Thresholds thresholds;
  std::uint64_t recorded = 0; ///< predictions recorded for the version in total
  ObservationSummary window;  ///< over its last `window` predictions
  std::optional<std::string> baseline_version;
  std::optional<double> baseline_accuracy;
  nlohmann::json fired; ///< the trigger that fired for this version, or null

  [[nodiscard]] nlohmann::json to_json() const;
};
[[nodiscard]] MonitorStatus monitor_status(const Store& store, const std::string& stage);

} // namespace modelkeep::core
