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

void append_line(const fs::path& path, const std::string& line)
{
  const int raw = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (raw < 0) {
    throw_errno("cannot open", path);
  }
  util::UniqueFd fd(raw);
  util::write_all(fd.get(), line, path);
  fd.close(path);
}

Tail read_tail(const fs::path& path, std::size_t count)
{
  Tail tail;
  const int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0) {
    if (errno == ENOENT) {
      return tail;
    }
    throw_errno("cannot open", path);
  }
  util::UniqueFd fd(raw);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    throw_errno("cannot stat", path);
  }
  // Read backwards in blocks until the text holds count+1 line starts or the file's start.
  const off_t size = st.st_size;
  tail.end = static_cast<std::uint64_t>(size);
  off_t start = size;
  std::string text;
  std::size_t newlines = 0;
  constexpr off_t block = 64 * 1024;
  while (start > 0) {
    const off_t from = start > block ? start - block : 0;
    std::string chunk(static_cast<std::size_t>(start - from), '\0');
    const ssize_t n = ::pread(fd.get(), chunk.data(), chunk.size(), from);
    if (n != static_cast<ssize_t>(chunk.size())) {
      throw_errno("cannot read", path);
    }
    for (char c : chunk) {
      newlines += c == '\n' ? 1 : 0;
    }
    text.insert(0, chunk);
    start = from;
    if (newlines > count) {
      break;
    }
  }
  // Unless the file's start was reached, the first piece is a partial line.
  std::vector<std::string> lines = util::split(text, '\n');
  std::size_t first = 0;
  if (start > 0 && !lines.empty()) {
    first = 1;
  }
  for (std::size_t i = first; i < lines.size(); ++i) {
    json record = json::parse(lines[i], nullptr, false);
    if (!record.is_discarded() && record.is_object()) {
      tail.records.push_back(std::move(record));
    }
  }
  tail.complete = start == 0 && tail.records.size() <= count;
  if (tail.records.size() > count) {
    tail.records.erase(tail.records.begin(),
                       tail.records.begin() + static_cast<std::ptrdiff_t>(tail.records.size() - count));
  }
  return tail;
}

std::vector<json> read_json_lines(const fs::path& path)
{
  std::vector<json> records;
  std::string text;
  try {
    text = util::read_file(path, std::uint64_t{1} << 32);
  } catch (const Error& e) {
    if (e.code() == ExitCode::not_found || !fs::exists(path)) {
      return records;
    }
    throw;
  }
  for (const auto& line : util::split(text, '\n')) {
    json record = json::parse(line, nullptr, false);
    if (!record.is_discarded() && record.is_object()) {
      records.push_back(std::move(record));
    }
  }
  return records;
}

} // namespace modelkeep::core
