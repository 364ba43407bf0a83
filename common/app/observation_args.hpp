#pragma once

#include "core/telemetry/observation.hpp"

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

namespace modelkeep::app {

/// The options that describe one prediction, shared by `ab record` and `monitor record`.
struct ObservationArgs {
  std::optional<double> latency_ms;
  std::optional<double> confidence;
  std::optional<int> correct;
  bool error = false;
  std::string error_kind;
  std::optional<double> psi;

  /// The observation, validated (Error(usage) for out-of-range values).
  [[nodiscard]] core::Observation observation() const;
};

/// Adds --latency-ms, --confidence, --correct, --error and, with `monitoring`, --error-kind and --psi.
void add_observation_options(CLI::App* cmd, ObservationArgs& args, bool monitoring);

} // namespace modelkeep::app
