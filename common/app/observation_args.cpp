#include "app/observation_args.hpp"

#include "util/error.hpp"

namespace modelkeep::app {

core::Observation ObservationArgs::observation() const
{
  if (correct && *correct != 0 && *correct != 1) {
    throw Error(ExitCode::usage, "--correct takes 0 or 1");
  }
  core::Observation o;
  o.latency_ms = latency_ms;
  o.confidence = confidence;
  if (correct) {
    o.correct = *correct == 1;
  }
  o.error = error;
  o.error_kind = error_kind;
  o.psi = psi;
  o.validate();
  return o;
}

void add_observation_options(CLI::App* cmd, ObservationArgs& args, bool monitoring)
{
  cmd->add_option("--latency-ms", args.latency_ms, "How long the prediction took, in milliseconds");
  cmd->add_option("--confidence", args.confidence, "The model's confidence in [0, 1]");
  cmd->add_option("--correct", args.correct, "Feedback: 1 if the prediction was right, 0 if wrong");
  cmd->add_flag("--error", args.error, "The prediction failed");
  if (monitoring) {
    cmd->add_option("--error-kind", args.error_kind, "With --error: load, signature or runtime");
    cmd->add_option("--psi", args.psi, "Input drift seen by the caller (population stability index)");
  }
}

} // namespace modelkeep::app
