#include "core/stages/promotion.hpp"
#include "core/telemetry/monitor.hpp"
#include "core/versions/refs.hpp"
#include "core/versions/version.hpp"
#include "test_support.hpp"
#include "util/error.hpp"
#include "util/json_file.hpp"

#include <chrono>
#include <cstdlib>
#include <doctest/doctest.h>
#include <sys/stat.h>

using namespace modelkeep;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

core::Observation ok_obs()
{
  core::Observation o;
  o.latency_ms = 10;
  o.confidence = 0.9;
  return o;
}

core::Observation err_obs(const std::string& kind = "runtime")
{
  core::Observation o;
  o.error = true;
  o.error_kind = kind;
  return o;
}

core::Observation labelled(bool correct)
{
  core::Observation o = ok_obs();
  o.correct = correct;
  return o;
}

/// `n` observations made by `make(i)`.
template <typename Make> std::vector<core::Observation> series(std::size_t n, Make make)
{
  std::vector<core::Observation> out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(make(i));
  }
  return out;
}

std::optional<std::string> fired(const core::Thresholds& t, const std::vector<core::Observation>& obs,
                                 bool complete = false, std::optional<double> baseline = std::nullopt)
{
  const auto trigger = core::evaluate_triggers(t, obs, complete, baseline);
  return trigger ? std::optional<std::string>(trigger->name) : std::nullopt;
}

} // namespace

TEST_CASE("immediate triggers fire at exactly their threshold and not one prediction before")
{
  core::Thresholds t;
  SUBCASE("consecutive failures")
  {
    std::vector<core::Observation> obs = {ok_obs(), err_obs(), err_obs()};
    CHECK_FALSE(fired(t, obs));
    obs.push_back(err_obs());
    const auto trigger = core::evaluate_triggers(t, obs, false, std::nullopt);
    REQUIRE(trigger);
    CHECK(trigger->name == "consecutive_failures");
    CHECK(trigger->observed == 3);
    CHECK(trigger->speed == "immediate");
  }
  SUBCASE("two load or signature errors among the last ten")
  {
    std::vector<core::Observation> obs = {err_obs("signature")};
    for (int i = 0; i < 9; ++i) {
      obs.push_back(ok_obs());
    }
    obs.push_back(err_obs("load")); // the first one is now 11 back
    CHECK_FALSE(fired(t, obs));
    obs.push_back(err_obs("load"));
    CHECK(fired(t, obs) == "load_signature_errors");
  }
  SUBCASE("every one of at least five attempts failed")
  {
    t.consecutive_failures = 10;
    auto obs = series(4, [](std::size_t) { return err_obs(); });
    CHECK_FALSE(fired(t, obs, true));
    obs.push_back(err_obs());
    CHECK(fired(t, obs, true) == "all_failed");
    CHECK_FALSE(fired(t, obs, false)); // earlier attempts unknown: not all of them
  }
}

TEST_CASE("window triggers wait for a full window, then fire just past their threshold")
{
  core::Thresholds t; // window 100
  SUBCASE("error rate: 5 in 100 is at the maximum, 6 is above")
  {
    auto six = series(99, [](std::size_t i) { return i % 16 == 0 ? err_obs() : ok_obs(); });
    REQUIRE(std::count_if(six.begin(), six.end(), [](const auto& o) { return o.error; }) == 7);
    CHECK_FALSE(fired(t, six)); // 99 predictions: no full window yet
    auto five = series(100, [](std::size_t i) { return i % 20 == 0 ? err_obs() : ok_obs(); });
    CHECK_FALSE(fired(t, five));
    five.push_back(err_obs()); // the window slides: 6 errors in the last 100? no: the first one left
    CHECK_FALSE(fired(t, five));
    auto over = series(100, [](std::size_t i) { return i % 20 == 1 ? err_obs() : ok_obs(); });
    over.push_back(err_obs());
    const auto trigger = core::evaluate_triggers(t, over, false, std::nullopt);
    REQUIRE(trigger);
    CHECK(trigger->name == "max_error_rate");
    CHECK(trigger->observed == doctest::Approx(0.06));
    CHECK(trigger->predictions == 100);
    CHECK(trigger->description == "error rate 0.06 > 0.05 over 100 predictions");
  }
  SUBCASE("accuracy: 80 of 100 is the minimum, 79 is below")
  {
    CHECK_FALSE(fired(t, series(100, [](std::size_t i) { return labelled(i >= 20); })));
    CHECK(fired(t, series(100, [](std::size_t i) { return labelled(i >= 21); })) == "min_accuracy");
  }
  SUBCASE("mean latency and confidence")
  {
    auto at = series(100, [](std::size_t) {
      auto o = ok_obs();
      o.latency_ms = 200;
      o.confidence = 0.6;
      return o;
    });
    CHECK_FALSE(fired(t, at));
    at.back().latency_ms = 201;
    CHECK(fired(t, at) == "max_latency_ms");
    at.back().latency_ms = 200;
    at.back().confidence = 0.5;
    CHECK(fired(t, at) == "min_confidence");
  }
  SUBCASE("accuracy drop against the previous version: 0.15 or more")
  {
    const auto obs = series(100, [](std::size_t i) { return labelled(i >= 19); }); // 0.81
    CHECK_FALSE(fired(t, obs, false, 0.95));                                       // drop 0.14
    CHECK(fired(t, obs, false, 0.96) == "max_accuracy_drop");                      // drop 0.15
    CHECK_FALSE(fired(t, obs, false, std::nullopt));
  }
  SUBCASE("drift PSI")
  {
    auto obs = series(100, [](std::size_t) {
      auto o = ok_obs();
      o.psi = 0.25;
      return o;
    });
    CHECK_FALSE(fired(t, obs));
    obs.back().psi = 0.35;
    CHECK(fired(t, obs) == "max_drift_psi");
  }
}

namespace {

struct MonitorFixture : test::ScratchStore {
  std::string v1 = add_version("one");
  std::string v2 = add_version("two");
  core::RecordOptions options;

  MonitorFixture()
  {
    promote(v1);
    promote(v2);
    core::Thresholds t;
    t.window = 10;
    t.max_error_rate = 0.1;
    core::save_thresholds(store, "production", t);
  }

  core::MonitorOutcome record(const core::Observation& o)
  {
    return core::record_prediction(store, "production", o, options);
  }

  std::string status_of(const std::string& name) const
  {
    return core::load_metadata(store.versions_dir() / name).status;
  }
};

} // namespace

TEST_CASE("a window trigger rolls production back on the exact prediction, once, with its numbers")
{
  MonitorFixture f;
  for (int i = 0; i < 9; ++i) {
    CHECK_FALSE(f.record(i == 1 ? err_obs() : ok_obs()).trigger);
  }
  CHECK_FALSE(f.record(ok_obs()).trigger);  // 1 error in 10: at the maximum
  const auto outcome = f.record(err_obs()); // the window now holds 2 errors in 10
  REQUIRE(outcome.trigger);
  CHECK(outcome.rolled_back);
  CHECK(outcome.version == f.v2);
  CHECK(outcome.rolled_back_to == f.v1);
  CHECK(outcome.message() ==
        "rolled back production: " + f.v2 + " -> " + f.v1 + " (error rate 0.2 > 0.1 over 10 predictions)");
  CHECK(core::stage_holder(f.store, "production") == f.v1);
  CHECK(f.status_of(f.v2) == "failed");

  const auto events = core::read_events(f.store);
  json rollback;
  for (const auto& e : events) {
    if (e.value("event", "") == "rollback") {
      rollback = e;
    }
  }
  REQUIRE(rollback.is_object());
  CHECK(rollback["automatic"] == true);
  CHECK(rollback["trigger"] == "max_error_rate");
  CHECK(rollback["observed"].get<double>() == doctest::Approx(0.2));
  CHECK(rollback["threshold"].get<double>() == doctest::Approx(0.1));
  CHECK(rollback["predictions"] == 10);
  CHECK(rollback["from"] == f.v2);
  CHECK(rollback["to"] == f.v1);

  // Records now go to v1; v2's trigger never fires again even if v2 comes back.
  CHECK(f.record(ok_obs()).version == f.v1);
  f.promote(f.v2);
  CHECK_FALSE(f.record(err_obs()).trigger);
  CHECK(core::monitor_status(f.store, "production").fired["trigger"] == "max_error_rate");
}

TEST_CASE("with auto-rollback off, or nothing to roll back to, a trigger alerts and marks the version failed")
{
  MonitorFixture f;
  auto t = core::load_thresholds(f.store, "production");
  t.auto_rollback = false;
  core::save_thresholds(f.store, "production", t);
  CHECK_FALSE(f.record(err_obs()).trigger);
  CHECK_FALSE(f.record(err_obs()).trigger);
  const auto outcome = f.record(err_obs());
  REQUIRE(outcome.trigger);
  CHECK(outcome.trigger->name == "consecutive_failures");
  CHECK_FALSE(outcome.rolled_back);
  CHECK(outcome.note == "auto-rollback is off");
  CHECK(outcome.event["event"] == "monitor_alert");
  CHECK(core::stage_holder(f.store, "production") == f.v2);
  CHECK(f.status_of(f.v2) == "failed");
  CHECK_FALSE(f.record(err_obs()).trigger); // once per version

  test::ScratchStore lone;
  const auto only = lone.add_version("only");
  lone.promote(only);
  core::Observation bad = err_obs();
  for (int i = 0; i < 2; ++i) {
    (void)core::record_prediction(lone.store, "production", bad, {});
  }
  const auto last = core::record_prediction(lone.store, "production", bad, {});
  REQUIRE(last.trigger);
  CHECK_FALSE(last.rolled_back);
  CHECK(last.note.find("nothing to roll back to") == 0);
}

TEST_CASE("the accuracy drop compares with the previous version's recorded accuracy")
{
  MonitorFixture f;
  f.promote(f.v1);
  for (int i = 0; i < 10; ++i) {
    (void)f.record(labelled(true)); // v1: accuracy 1.0
  }
  f.promote(f.v2);
  auto t = core::load_thresholds(f.store, "production");
  t.min_accuracy = 0.5;
  core::save_thresholds(f.store, "production", t);
  std::optional<core::Trigger> trigger;
  for (int i = 0; i < 10 && !trigger; ++i) {
    trigger = f.record(labelled(i >= 2)).trigger; // v2: 0.8 after ten
  }
  REQUIRE(trigger);
  CHECK(trigger->name == "max_accuracy_drop");
  CHECK(trigger->observed == doctest::Approx(0.2));
  CHECK(trigger->description == "accuracy dropped 0.2 (1 -> 0.8) >= 0.15 over 10 predictions");
}

TEST_CASE("recording against a stage with no version is not found and creates nothing")
{
  test::ScratchStore s;
  (void)s.add_version("one");
  try {
    (void)core::record_prediction(s.store, "production", ok_obs(), {});
    FAIL("recorded without a version");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::not_found);
  }
  CHECK_FALSE(fs::exists(s.store.versions_dir() / "monitor"));
  core::Observation bad;
  bad.confidence = 1.5;
  CHECK_THROWS_AS(core::record_prediction(s.store, "production", bad, {}), Error);
}

TEST_CASE("rollback hooks get the event, a failing or hanging one does not undo or block the rollback")
{
  MonitorFixture f;
  const fs::path hooks = core::rollback_hooks_dir(f.store);
  const fs::path out = f.dir / "hook-out";
  test::write_text(
      hooks / "10-record",
      "#!/bin/sh\necho \"$MODELKEEP_STAGE $MODELKEEP_FROM $MODELKEEP_TO $MODELKEEP_AUTOMATIC\" > " +
          out.string() + ".env\ncat > " + out.string() + ".json\n");
  test::write_text(hooks / "20-fail", "#!/bin/sh\nexit 7\n");
  test::write_text(hooks / "30-hang", "#!/bin/sh\nsleep 60\n");
  test::write_text(hooks / "40-open", "#!/bin/sh\ntouch " + out.string() + ".open\n");
  for (const char* name : {"10-record", "20-fail", "30-hang"}) {
    fs::permissions(hooks / name, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  }
  fs::permissions(hooks / "40-open", fs::perms::owner_all | fs::perms::others_all); // writable by others
  ::setenv("MODELKEEP_HOOK_TIMEOUT", "0.5", 1);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) {
    (void)f.record(err_obs());
  }
  ::unsetenv("MODELKEEP_HOOK_TIMEOUT");
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
  CHECK(core::stage_holder(f.store, "production") == f.v1);
  CHECK(test::read_text(out.string() + ".env") == "production " + f.v2 + " " + f.v1 + " true\n");
  const json event = json::parse(test::read_text(out.string() + ".json"));
  CHECK(event["trigger"] == "consecutive_failures");
  CHECK(event.contains("time"));
  CHECK_FALSE(fs::exists(out.string() + ".open"));
  const auto status = core::monitor_status(f.store, "production");
  CHECK(status.version == f.v1);
}

TEST_CASE("the monitor cache sees every process's appends and agrees with a fresh tail read")
{
  test::ScratchDir dir;
  const fs::path log = dir / "v.jsonl";
  core::MonitorCache cache;
  const auto append = [&](int i) {
    core::Observation o;
    o.latency_ms = i;
    o.error = i % 3 == 0;
    util::append_line(log, o.to_json().dump() + "\n");
  };
  const auto latencies = [](const std::vector<core::Observation>& obs) {
    std::vector<double> out;
    for (const auto& o : obs) {
      out.push_back(*o.latency_ms);
    }
    return out;
  };
  CHECK(cache.latest(log, 5).first.empty());
  CHECK(cache.latest(log, 5).second);
  for (int i = 1; i <= 4; ++i) {
    append(i);
  }
  auto [some, complete] = cache.latest(log, 5);
  CHECK(latencies(some) == std::vector<double>{1, 2, 3, 4});
  CHECK(complete);
  for (int i = 5; i <= 12; ++i) {
    append(i); // as if from other processes
  }
  const auto [latest, still_complete] = cache.latest(log, 5);
  CHECK(latencies(latest) == std::vector<double>{8, 9, 10, 11, 12});
  CHECK_FALSE(still_complete);
  const auto fresh = util::read_tail(log, 5);
  CHECK(fresh.records.size() == 5);
  CHECK(fresh.records.front()["latency_ms"] == 8);
  // A replaced log is read again from its own tail.
  fs::remove(log);
  append(100);
  CHECK(latencies(cache.latest(log, 5).first) == std::vector<double>{100});
}
