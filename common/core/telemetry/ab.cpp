#include "core/telemetry/ab.hpp"

#include "core/layout/events.hpp"
#include "core/layout/names.hpp"
#include "core/layout/store.hpp"
#include "core/versions/version.hpp"
#include "util/clock.hpp"
#include "util/enum_names.hpp"
#include "util/env.hpp"
#include "util/error.hpp"
#include "util/failpoint.hpp"
#include "util/file.hpp"
#include "util/hash.hpp"
#include "util/json_file.hpp"
#include "util/lockfile.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cmath>
#include <fcntl.h>
#include <random>
#include <unistd.h>

namespace modelkeep::core {

using nlohmann::json;

namespace {

constexpr std::chrono::seconds k_record_lock_timeout{30};

std::string now_iso()
{
  return util::utc_now_iso8601();
}

fs::path test_file(const Store& store, const std::string& id)
{
  return ab_test_dir(store, id) / filenames::ab_test;
}

util::LockFile lock_test(const Store& store, const std::string& id, const std::string& command)
{
  if (!util::is_directory(ab_test_dir(store, id))) {
    throw Error(ExitCode::not_found, "no A/B test " + id + " in " + ab_dir(store).string());
  }
  return util::LockFile::acquire(ab_test_dir(store, id) / filenames::lock, "ab " + command + " " + id,
                                 k_record_lock_timeout);
}

void save(const Store& store, const AbTest& test)
{
  util::write_file_atomic(test_file(store, test.id), test.to_json().dump(2) + '\n');
}

void require_status(const AbTest& test, AbState status, const std::string& action)
{
  if (test.status != status) {
    throw Error(
        ExitCode::refused,
        "cannot " + action + " A/B test " + test.id + ": it is " + std::string(to_string(test.status)) +
            (status == AbState::running && test.status == AbState::draft ? " (run ab start first)" : ""));
  }
}

std::uint64_t next_round_robin(const Store& store, const std::string& id)
{
  const fs::path path = ab_test_dir(store, id) / filenames::ab_counter;
  const int raw = util::env().open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (raw < 0) {
    throw_errno("cannot open", path);
  }
  util::UniqueFd fd(raw);
  char text[32] = {};
  const ssize_t n = ::pread(fd.get(), text, sizeof text - 1, 0);
  const std::uint64_t value = n > 0 ? std::strtoull(text, nullptr, 10) : 0;
  const std::string next = std::to_string(value + 1) + '\n';
  if (util::env().pwrite(fd.get(), next.data(), next.size(), 0) != static_cast<ssize_t>(next.size())) {
    throw_errno("cannot write", path);
  }
  fd.close(path);
  return value;
}

double uniform_random()
{
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

void check_share(double share, const char* what)
{
  if (!std::isfinite(share) || share < 0 || share > 1) {
    throw Error(ExitCode::usage, std::string(what) + " must be between 0 and 1");
  }
}

constexpr std::string_view k_states[] = {"draft", "running", "concluded"};
constexpr std::string_view k_strategies[] = {"random", "round_robin", "sticky", "canary"};
constexpr std::string_view k_variants[] = {"control", "treatment"};

/// The predictions log of a test: predictions.jsonl, or the events.jsonl a release before 0.2
/// wrote (kept in use, so a test never has its records in two files).
fs::path predictions_path(const Store& store, const std::string& id)
{
  const fs::path dir = ab_test_dir(store, id);
  const fs::path legacy = dir / filenames::legacy_ab_predictions;
  if (!util::exists(dir / filenames::ab_predictions) && util::exists(legacy)) {
    return legacy;
  }
  return dir / filenames::ab_predictions;
}

} // namespace

std::string_view to_string(AbState state)
{
  return util::enum_name(k_states, state);
}

std::string_view to_string(AbStrategy strategy)
{
  return util::enum_name(k_strategies, strategy);
}

std::string_view to_string(Variant variant)
{
  return util::enum_name(k_variants, variant);
}

AbStrategy parse_strategy(std::string_view text)
{
  if (const auto strategy = util::parse_enum<AbStrategy>(k_strategies, text)) {
    return *strategy;
  }
  throw Error(ExitCode::usage,
              "invalid strategy '" + util::printable(text) + "': use " + util::choices(k_strategies));
}

Variant parse_variant(std::string_view text)
{
  if (const auto variant = util::parse_enum<Variant>(k_variants, text)) {
    return *variant;
  }
  throw Error(ExitCode::usage, "invalid variant '" + util::printable(text) + "': use control or treatment");
}

json AbTest::to_json() const
{
  json doc = {{"id", id},
              {"name", name},
              {"description", description},
              {"control", control},
              {"treatment", treatment},
              {"split", split},
              {"strategy", to_string(strategy)},
              {"canary_step", canary_step},
              {"canary_share", canary_share},
              {"target_samples", target_samples},
              {"status", to_string(status)},
              {"created", created},
              {"started", started.empty() ? json(nullptr) : json(started)},
              {"concluded", concluded.empty() ? json(nullptr) : json(concluded)},
              {"result", result}};
  return doc;
}

AbTest AbTest::from_json(const json& doc)
{
  if (!doc.is_object()) {
    throw Error(ExitCode::malformed, "A/B test record is not a JSON object");
  }
  const auto text = [&](const char* key) {
    const auto it = doc.find(key);
    return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  AbTest t;
  try {
    t.id = text("id");
    t.name = text("name");
    t.description = text("description");
    t.control = text("control");
    t.treatment = text("treatment");
    t.split = doc.value("split", 0.5);
    const auto strategy = util::parse_enum<AbStrategy>(k_strategies, doc.value("strategy", "random"));
    const auto status = util::parse_enum<AbState>(k_states, doc.value("status", "draft"));
    if (!strategy || !status) {
      throw Error(ExitCode::malformed, "bad A/B test record: unknown strategy or status");
    }
    t.strategy = *strategy;
    t.status = *status;
    t.canary_step = doc.value("canary_step", 0.1);
    t.canary_share = doc.value("canary_share", 0.0);
    t.target_samples = doc.value("target_samples", std::uint64_t{0});
    t.created = text("created");
    t.started = text("started");
    t.concluded = text("concluded");
    t.result = doc.value("result", json());
  } catch (const json::exception& e) {
    throw Error(ExitCode::malformed, std::string("bad A/B test record: ") + e.what());
  }
  if (t.control.empty() || t.treatment.empty()) {
    throw Error(ExitCode::malformed, "bad A/B test record: control or treatment missing");
  }
  return t;
}

double AbTest::treatment_share() const
{
  return strategy == AbStrategy::canary ? canary_share : split;
}

const std::string& AbTest::version_of(Variant variant) const
{
  return variant == Variant::treatment ? treatment : control;
}

fs::path ab_dir(const Store& store)
{
  return store.versions_dir() / filenames::ab;
}

fs::path ab_test_dir(const Store& store, const std::string& id)
{
  validate_test_id(id);
  return ab_dir(store) / id;
}

void create_ab_test(const Store& store, const AbTest& test)
{
  validate_test_id(test.id);
  check_share(test.split, "--split");
  if (!(test.canary_step > 0 && test.canary_step <= 1)) {
    throw Error(ExitCode::usage, "--canary-step must be in (0, 1]");
  }
  if (test.control == test.treatment) {
    throw Error(ExitCode::usage, "control and treatment are the same version " + test.control);
  }
  const fs::path dir = ab_test_dir(store, test.id);
  if (util::exists(dir)) {
    throw Error(ExitCode::refused, "A/B test " + test.id + " exists already");
  }
  // Built in a temporary directory and renamed into place, so a test is there whole or not at all.
  util::create_directories(ab_dir(store));
  const fs::path temp = util::temp_path_for(dir);
  util::create_directories(temp);
  util::TempPath guard(temp);
  AbTest record = test;
  record.status = AbState::draft;
  record.created = now_iso();
  record.canary_share = test.strategy == AbStrategy::canary ? test.canary_step : 0;
  util::write_file_atomic(temp / filenames::ab_test, record.to_json().dump(2) + '\n');
  util::rename_durable(temp, dir);
  guard.commit();
  append_event(store, EventKind::ab_create,
               {{"test", test.id},
                {"control", test.control},
                {"treatment", test.treatment},
                {"strategy", to_string(test.strategy)},
                {"split", test.split}});
}

AbTest load_ab_test(const Store& store, const std::string& id)
{
  const auto doc = util::read_json_file_if_exists(test_file(store, id), util::JsonLimit::settings);
  if (!doc) {
    throw Error(ExitCode::not_found, "no A/B test " + id + " in " + ab_dir(store).string());
  }
  return AbTest::from_json(*doc);
}

std::vector<AbTest> list_ab_tests(const Store& store)
{
  std::vector<std::string> ids;
  std::error_code ec;
  for (fs::directory_iterator it(ab_dir(store), ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!util::is_temp_name(name) && it->is_directory()) {
      ids.push_back(name);
    }
  }
  util::check_listing(ec, ab_dir(store));
  std::sort(ids.begin(), ids.end());
  std::vector<AbTest> tests;
  for (const auto& id : ids) {
    try {
      tests.push_back(load_ab_test(store, id));
    } catch (const Error&) {
      continue;
    }
  }
  return tests;
}

AbTest start_ab_test(const Store& store, const std::string& id)
{
  const auto lock = lock_test(store, id, "start");
  AbTest test = load_ab_test(store, id);
  require_status(test, AbState::draft, "start");
  test.status = AbState::running;
  test.started = now_iso();
  save(store, test);
  append_event(store, EventKind::ab_start, {{"test", id}});
  return test;
}

AbTest raise_canary(const Store& store, const std::string& id)
{
  const auto lock = lock_test(store, id, "canary");
  AbTest test = load_ab_test(store, id);
  if (test.strategy != AbStrategy::canary) {
    throw Error(ExitCode::refused, "A/B test " + id + " is not a canary test (strategy " +
                                       std::string(to_string(test.strategy)) + ")");
  }
  require_status(test, AbState::running, "raise the canary of");
  const double before = test.canary_share;
  // Rounded to the step's grid so that ten steps of 0.1 reach exactly 1.0.
  test.canary_share = std::min(1.0, std::round((before + test.canary_step) * 1e9) / 1e9);
  save(store, test);
  append_event(store, EventKind::ab_canary, {{"test", id}, {"from", before}, {"to", test.canary_share}});
  return test;
}

double sticky_position(const std::string& test_id, const std::string& user)
{
  std::string key = test_id;
  key.push_back('\0');
  key += user;
  const std::string hex = util::sha256_hex(key);
  const std::uint64_t value = std::stoull(hex.substr(0, 16), nullptr, 16);
  return static_cast<double>(value >> 11) * 0x1.0p-53;
}

bool round_robin_treatment(std::uint64_t n, double share)
{
  const auto treated = [share](std::uint64_t k) {
    return static_cast<std::uint64_t>(std::floor(static_cast<double>(k) * share + 1e-9));
  };
  return treated(n + 1) > treated(n);
}

AbRoute route_ab(const Store& store, const std::string& id, const std::string& user)
{
  AbTest test = load_ab_test(store, id);
  require_status(test, AbState::running, "route a request of");
  const double share = test.treatment_share();
  bool treatment = false;
  if (test.strategy == AbStrategy::sticky || (test.strategy == AbStrategy::canary && !user.empty())) {
    if (user.empty()) {
      throw Error(ExitCode::usage, "sticky routing needs --user");
    }
    treatment = sticky_position(id, user) < share;
  } else if (test.strategy == AbStrategy::round_robin) {
    const auto lock = lock_test(store, id, "route");
    // Re-read under the lock: the test may have been concluded meanwhile.
    test = load_ab_test(store, id);
    require_status(test, AbState::running, "route a request of");
    treatment = round_robin_treatment(next_round_robin(store, id), share);
  } else {
    treatment = uniform_random() < share;
  }
  AbRoute route;
  route.variant = treatment ? Variant::treatment : Variant::control;
  route.version = test.version_of(route.variant);
  route.adapter = store.version_path(route.version) / filenames::adapter;
  return route;
}

void record_ab(const Store& store, const std::string& id, Variant variant, const Observation& observation)
{
  observation.validate();
  const auto lock = lock_test(store, id, "record");
  const AbTest test = load_ab_test(store, id);
  require_status(test, AbState::running, "record into");
  json record = observation.to_json();
  record["variant"] = to_string(variant);
  record["time"] = now_iso();
  record["pid"] = ::getpid();
  util::append_line(predictions_path(store, id), record.dump() + '\n');
}

AbStatus ab_status(const Store& store, const std::string& id)
{
  AbStatus status;
  status.test = load_ab_test(store, id);
  std::vector<Observation> control;
  std::vector<Observation> treatment;
  for (const auto& record : util::read_json_lines(predictions_path(store, id))) {
    const auto variant = util::parse_enum<Variant>(k_variants, record.value("variant", ""));
    if (variant == Variant::control) {
      control.push_back(Observation::from_json(record));
    } else if (variant == Variant::treatment) {
      treatment.push_back(Observation::from_json(record));
    }
  }
  status.control = summarize(control);
  status.treatment = summarize(treatment);
  return status;
}

json AbConclusion::to_json() const
{
  return {{"metric", metric},
          {"control", control_value},
          {"treatment", treatment_value},
          {"winner", winner ? json(to_string(*winner)) : json(nullptr)},
          {"z", z},
          {"p_value", p_value},
          {"significant", significant},
          {"target_reached", target_reached},
          {"control_samples", control_samples},
          {"treatment_samples", treatment_samples}};
}

AbConclusion judge_ab(const AbTest& test, const ObservationSummary& control,
                      const ObservationSummary& treatment)
{
  AbConclusion c;
  ProportionTest result;
  if (control.labelled > 0 && treatment.labelled > 0) {
    c.metric = "accuracy";
    c.control_value = *control.accuracy;
    c.treatment_value = *treatment.accuracy;
    c.control_samples = control.labelled;
    c.treatment_samples = treatment.labelled;
    result = two_proportion_test(control.correct, control.labelled, treatment.correct, treatment.labelled);
    if (c.treatment_value != c.control_value) {
      c.winner = c.treatment_value > c.control_value ? Variant::treatment : Variant::control;
    }
  } else {
    c.metric = "error_rate";
    c.control_value = control.error_rate;
    c.treatment_value = treatment.error_rate;
    c.control_samples = control.predictions;
    c.treatment_samples = treatment.predictions;
    result =
        two_proportion_test(control.errors, control.predictions, treatment.errors, treatment.predictions);
    if (c.treatment_value != c.control_value && control.predictions > 0 && treatment.predictions > 0) {
      c.winner = c.treatment_value < c.control_value ? Variant::treatment : Variant::control;
    }
  }
  c.z = result.z;
  c.p_value = result.p_value;
  c.significant = c.winner.has_value() && c.p_value < 0.05;
  c.target_reached = test.target_samples > 0 && c.control_samples >= test.target_samples &&
                     c.treatment_samples >= test.target_samples;
  return c;
}

AbConcludeResult conclude_ab_test(const Store& store, const std::string& id,
                                  const std::function<json(const AbConclusion&)>& promote)
{
  const auto lock = lock_test(store, id, "conclude");
  const AbStatus status = ab_status(store, id);
  require_status(status.test, AbState::running, "conclude");
  AbConcludeResult result;
  result.test = status.test;
  result.conclusion = judge_ab(status.test, status.control, status.treatment);
  if (result.conclusion.significant && promote) {
    result.promotion = promote(result.conclusion);
    util::failpoint("ab.after_promotion");
  }
  result.test.status = AbState::concluded;
  result.test.concluded = now_iso();
  result.test.result = result.conclusion.to_json();
  result.test.result["promotion"] = result.promotion;
  save(store, result.test);
  json event = result.test.result;
  event["test"] = id;
  append_event(store, EventKind::ab_conclude, event);
  return result;
}

} // namespace modelkeep::core
