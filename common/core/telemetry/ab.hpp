#pragma once

#include "core/telemetry/observation.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modelkeep::core {

class Store;

/// Where an A/B test is in its life: draft -> running -> concluded.
enum class AbState { draft, running, concluded };
/// How requests are split between the variants.
enum class AbStrategy { random, round_robin, sticky, canary };
/// The two arms of a test.
enum class Variant { control, treatment };

/// The names of the values in test.json, documents and on the command line.
[[nodiscard]] std::string_view to_string(AbState state);
[[nodiscard]] std::string_view to_string(AbStrategy strategy);
[[nodiscard]] std::string_view to_string(Variant variant);

/// Parses a strategy name; Error(usage) naming the choices otherwise.
[[nodiscard]] AbStrategy parse_strategy(std::string_view text);
/// Parses "control" or "treatment"; Error(usage) otherwise.
[[nodiscard]] Variant parse_variant(std::string_view text);

/// An A/B test between two versions, stored under versions/ab/<id>/: test.json (this, rewritten
/// atomically), predictions.jsonl (one record per prediction), counter (round-robin position)
/// and lock (taken for every change and record).
struct AbTest {
  std::string id;
  std::string name;
  std::string description;
  std::string control;   ///< version directory name
  std::string treatment; ///< version directory name
  double split = 0.5;    ///< the treatment's share of traffic
  AbStrategy strategy = AbStrategy::random;
  double canary_step = 0.1;
  double canary_share = 0;          ///< the treatment's current share under canary
  std::uint64_t target_samples = 0; ///< per variant; 0 = none
  AbState status = AbState::draft;
  std::string created;
  std::string started;
  std::string concluded;
  nlohmann::json result; ///< the conclusion, once concluded

  [[nodiscard]] nlohmann::json to_json() const;
  [[nodiscard]] static AbTest from_json(const nlohmann::json& doc);
  /// The treatment's share of traffic now (the canary share under canary, else split).
  [[nodiscard]] double treatment_share() const;
  /// The version directory name of a variant.
  [[nodiscard]] const std::string& version_of(Variant variant) const;
};

[[nodiscard]] fs::path ab_dir(const Store& store);
[[nodiscard]] fs::path ab_test_dir(const Store& store, const std::string& id);

/// Creates a draft test (the versions resolved and existing); Error(refused) if the id exists.
void create_ab_test(const Store& store, const AbTest& test);

/// Loads a test; Error(not_found) if there is none.
[[nodiscard]] AbTest load_ab_test(const Store& store, const std::string& id);

/// Every test, by id.
[[nodiscard]] std::vector<AbTest> list_ab_tests(const Store& store);

/// draft -> running; Error(refused) from any other status.
AbTest start_ab_test(const Store& store, const std::string& id);

/// Raises the canary share one step (capped at 1.0); Error(refused) unless a running canary test.
AbTest raise_canary(const Store& store, const std::string& id);

/// Where one request goes.
struct AbRoute {
  Variant variant = Variant::control;
  std::string version;
  fs::path adapter; ///< the version's adapter directory
};

/// The fraction in [0, 1) a user maps to in a test: the first 8 bytes of SHA-256(id NUL user)
/// over 2^64 — the same on every run and every machine.
[[nodiscard]] double sticky_position(const std::string& test_id, const std::string& user);

/// Whether the n-th request (from 0) of a weighted round robin with treatment share `share`
/// goes to treatment: exactly floor(n * share) of the first n requests do.
[[nodiscard]] bool round_robin_treatment(std::uint64_t n, double share);

/// Routes a request of a running test (Error(refused) otherwise). `user` is required by sticky,
/// used by canary when given (so a user stays in treatment as the share grows), else ignored.
[[nodiscard]] AbRoute route_ab(const Store& store, const std::string& id, const std::string& user);

/// Appends one prediction of `variant` to a running test (Error(refused) if not running).
void record_ab(const Store& store, const std::string& id, Variant variant, const Observation& observation);

/// The per-variant figures so far.
struct AbStatus {
  AbTest test;
  ObservationSummary control;
  ObservationSummary treatment;
};
[[nodiscard]] AbStatus ab_status(const Store& store, const std::string& id);

/// The statistics of a conclusion: a two-proportion z-test on accuracy, or on the error rate
/// when either variant has no feedback.
struct AbConclusion {
  std::string metric; ///< "accuracy" or "error_rate"
  double control_value = 0;
  double treatment_value = 0;
  std::optional<Variant> winner; ///< none when equal
  double z = 0;
  double p_value = 1;
  bool significant = false; ///< p < 0.05 and a winner
  bool target_reached = false;
  std::uint64_t control_samples = 0;
  std::uint64_t treatment_samples = 0;

  [[nodiscard]] nlohmann::json to_json() const;
};
[[nodiscard]] AbConclusion judge_ab(const AbTest& test, const ObservationSummary& control,
                                    const ObservationSummary& treatment);

/// What conclude did.
struct AbConcludeResult {
  AbTest test;
  AbConclusion conclusion;
  nlohmann::json promotion; ///< what `promote` returned (null when it was not called)
};

/// Concludes a running test under its lock (Error(refused) otherwise): judges the records,
/// calls `promote` with the conclusion when it is significant and `promote` is given (the
/// caller holds the store lock; whatever it returns is kept in the result), marks the test
/// concluded and logs an ab_conclude event. No record lands after the judgement.
AbConcludeResult conclude_ab_test(const Store& store, const std::string& id,
                                  const std::function<nlohmann::json(const AbConclusion&)>& promote);

} // namespace modelkeep::core
