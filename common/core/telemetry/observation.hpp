#pragma once

#include "core/telemetry/stats.hpp"

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace modelkeep::core {

namespace fs = std::filesystem;

/// One prediction as a serving process reports it, for an A/B test or for monitoring.
struct Observation {
  std::optional<double> latency_ms;
  std::optional<double> confidence; ///< in [0, 1]
  std::optional<bool> correct;      ///< feedback, when the true answer is known
  bool error = false;               ///< the prediction failed
  std::string error_kind;           ///< "load", "signature" or "runtime" (only with error)
  std::optional<double> psi;        ///< input drift (population stability index) seen by the caller

  /// Throws Error(usage) for out-of-range values (negative latency, confidence outside [0, 1],
  /// an unknown error kind, an error kind without an error, NaN).
  void validate() const;
  /// The JSON fields of the record (absent values left out).
  [[nodiscard]] nlohmann::json to_json() const;
  /// Reads the fields back; missing or mistyped fields are left empty.
  [[nodiscard]] static Observation from_json(const nlohmann::json& record);
};

/// Figures over a run of observations.
struct ObservationSummary {
  std::uint64_t predictions = 0;
  std::uint64_t labelled = 0; ///< with correct/incorrect feedback
  std::uint64_t correct = 0;
  std::uint64_t errors = 0;
  std::optional<double> accuracy; ///< correct / labelled
  Interval accuracy_interval;     ///< 95% Wilson interval of the accuracy
  double error_rate = 0;          ///< errors / predictions
  std::optional<double> mean_latency_ms;
  std::optional<double> p95_latency_ms;
  std::optional<double> mean_confidence;
  std::optional<double> mean_psi;

  [[nodiscard]] nlohmann::json to_json() const;
};

[[nodiscard]] ObservationSummary summarize(const std::vector<Observation>& observations);

} // namespace modelkeep::core
