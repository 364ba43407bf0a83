#include "core/telemetry/observation.hpp"

#include "util/error.hpp"
#include "util/file.hpp"
#include "util/text.hpp"

#include <cmath>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace modelkeep::core {

using nlohmann::json;

namespace {

std::optional<double> number_field(const json& record, const char* key)
{
  const auto it = record.find(key);
  if (it == record.end() || !it->is_number()) {
    return std::nullopt;
  }
  return it->get<double>();
}

void require_finite(std::optional<double> value, const char* what)
{
  if (value && !std::isfinite(*value)) {
    throw Error(ExitCode::usage, std::string(what) + " must be a finite number");
  }
}

} // namespace

void Observation::validate() const
{
  require_finite(latency_ms, "latency");
  require_finite(confidence, "confidence");
  require_finite(psi, "psi");
  if (latency_ms && *latency_ms < 0) {
    throw Error(ExitCode::usage, "latency must not be negative");
  }
  if (confidence && (*confidence < 0 || *confidence > 1)) {
    throw Error(ExitCode::usage, "confidence must be between 0 and 1");
  }
  if (psi && *psi < 0) {
    throw Error(ExitCode::usage, "psi must not be negative");
  }
  if (!error_kind.empty()) {
    if (!error) {
      throw Error(ExitCode::usage, "an error kind needs --error");
    }
    if (error_kind != "load" && error_kind != "signature" && error_kind != "runtime") {
      throw Error(ExitCode::usage, "invalid error kind '" + error_kind + "': use load, signature or runtime");
    }
  }
}

json Observation::to_json() const
{
  json record = json::object();
  if (latency_ms) {
    record["latency_ms"] = *latency_ms;
  }
  if (confidence) {
    record["confidence"] = *confidence;
  }
  if (correct) {
    record["correct"] = *correct;
  }
  if (error) {
    record["error"] = true;
    if (!error_kind.empty()) {
      record["error_kind"] = error_kind;
    }
  }
  if (psi) {
    record["psi"] = *psi;
  }
  return record;
}

Observation Observation::from_json(const json& record)
{
  Observation o;
  o.latency_ms = number_field(record, "latency_ms");
  o.confidence = number_field(record, "confidence");
  o.psi = number_field(record, "psi");
  if (const auto it = record.find("correct"); it != record.end() && it->is_boolean()) {
    o.correct = it->get<bool>();
  }
  if (const auto it = record.find("error"); it != record.end() && it->is_boolean()) {
    o.error = it->get<bool>();
  }
  if (const auto it = record.find("error_kind"); it != record.end() && it->is_string()) {
    o.error_kind = it->get<std::string>();
  }
  return o;
}

ObservationSummary summarize(const std::vector<Observation>& observations)
{
  ObservationSummary s;
  std::vector<double> latencies;
  std::vector<double> confidences;
  std::vector<double> psis;
  for (const auto& o : observations) {
    ++s.predictions;
    if (o.correct) {
      ++s.labelled;
      s.correct += *o.correct ? 1 : 0;
    }
    s.errors += o.error ? 1 : 0;
    if (o.latency_ms) {
      latencies.push_back(*o.latency_ms);
    }
    if (o.confidence) {
      confidences.push_back(*o.confidence);
    }
    if (o.psi) {
      psis.push_back(*o.psi);
    }
  }
  if (s.labelled > 0) {
    s.accuracy = static_cast<double>(s.correct) / static_cast<double>(s.labelled);
  }
  s.accuracy_interval = wilson_interval(s.correct, s.labelled);
  s.error_rate = s.predictions == 0 ? 0 : static_cast<double>(s.errors) / static_cast<double>(s.predictions);
  s.mean_latency_ms = mean(latencies);
  s.p95_latency_ms = percentile(latencies, 95);
  s.mean_confidence = mean(confidences);
  s.mean_psi = mean(psis);
  return s;
}

json ObservationSummary::to_json() const
{
  const auto opt = [](std::optional<double> v) { return v ? json(*v) : json(nullptr); };
  json doc = {{"predictions", predictions},
              {"labelled", labelled},
              {"correct", correct},
              {"errors", errors},
              {"accuracy", opt(accuracy)},
              {"error_rate", error_rate},
              {"mean_latency_ms", opt(mean_latency_ms)},
              {"p95_latency_ms", opt(p95_latency_ms)},
              {"mean_confidence", opt(mean_confidence)},
              {"mean_psi", opt(mean_psi)}};
  doc["accuracy_ci95"] =
      labelled > 0 ? json::array({accuracy_interval.low, accuracy_interval.high}) : json(nullptr);
  return doc;
}

} // namespace modelkeep::core
