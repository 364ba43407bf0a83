#include "core/layout/names.hpp"
#include "core/stages/promotion.hpp"
#include "core/telemetry/ab.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace modelkeep;
namespace fs = std::filesystem;

namespace {

struct AbFixture : test::ScratchStore {
  std::string v1 = add_version("one");
  std::string v2 = add_version("two");

  core::AbTest make(const std::string& id, core::AbStrategy strategy, double split = 0.5)
  {
    core::AbTest t;
    t.id = id;
    t.control = v1;
    t.treatment = v2;
    t.strategy = strategy;
    t.split = split;
    core::create_ab_test(store, t);
    return core::start_ab_test(store, id);
  }
};

core::ObservationSummary summary(std::uint64_t labelled, std::uint64_t correct, std::uint64_t predictions,
                                 std::uint64_t errors)
{
  core::ObservationSummary s;
  s.labelled = labelled;
  s.correct = correct;
  s.predictions = predictions;
  s.errors = errors;
  if (labelled > 0) {
    s.accuracy = static_cast<double>(correct) / static_cast<double>(labelled);
  }
  s.error_rate = predictions > 0 ? static_cast<double>(errors) / static_cast<double>(predictions) : 0;
  return s;
}

} // namespace

TEST_CASE("sticky positions are a fixed function of test and user, close to the split over 10,000 users")
{
  // SHA-256("exp1\0alice"): the same on every machine and every run.
  CHECK(core::sticky_position("exp1", "alice") == doctest::Approx(0.4038741777155578).epsilon(1e-12));
  CHECK(core::sticky_position("exp1", "bob") == doctest::Approx(0.6867916946806646).epsilon(1e-12));
  CHECK(core::sticky_position("exp2", "alice") != core::sticky_position("exp1", "alice"));
  int treated = 0;
  for (int user = 0; user < 10000; ++user) {
    treated += core::sticky_position("exp1", "user-" + std::to_string(user)) < 0.2 ? 1 : 0;
  }
  CHECK(treated > 1850); // 0.2 +- 3.75 standard deviations (sd = 40)
  CHECK(treated < 2150);
}

TEST_CASE("weighted round robin sends exactly floor(n * share) of n requests to treatment")
{
  std::vector<bool> half;
  for (std::uint64_t n = 0; n < 6; ++n) {
    half.push_back(core::round_robin_treatment(n, 0.5));
  }
  CHECK(half == std::vector<bool>{false, true, false, true, false, true});
  for (double share : {0.0, 0.1, 0.2, 0.3, 1.0}) {
    std::uint64_t treated = 0;
    for (std::uint64_t n = 0; n < 1000; ++n) {
      treated += core::round_robin_treatment(n, share) ? 1 : 0;
    }
    CHECK(treated == static_cast<std::uint64_t>(1000 * share + 1e-9));
  }
}

TEST_CASE("a test is created as a draft, routes only while running and refuses records once concluded")
{
  AbFixture f;
  core::AbTest t;
  t.id = "exp";
  t.control = f.v1;
  t.treatment = f.v2;
  core::create_ab_test(f.store, t);
  CHECK(core::load_ab_test(f.store, "exp").status == core::AbState::draft);
  CHECK_THROWS_AS(core::create_ab_test(f.store, t), Error);
  try {
    (void)core::route_ab(f.store, "exp", "");
    FAIL("routed a draft");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::refused);
  }
  (void)core::start_ab_test(f.store, "exp");
  const auto route = core::route_ab(f.store, "exp", "");
  CHECK(route.adapter == f.store.versions_dir() / route.version / "adapter");
  core::Observation o;
  o.correct = true;
  core::record_ab(f.store, "exp", core::Variant::control, o);
  const auto result = core::conclude_ab_test(f.store, "exp", {});
  CHECK(result.test.status == core::AbState::concluded);
  try {
    core::record_ab(f.store, "exp", core::Variant::control, o);
    FAIL("recorded into a concluded test");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::refused);
  }
  CHECK(core::ab_status(f.store, "exp").control.predictions == 1);
}

TEST_CASE("bad ids, variants and settings are usage errors and create nothing")
{
  AbFixture f;
  for (const std::string& id : std::vector<std::string>{"../x", "A", "", "a/b", std::string(65, 'a')}) {
    try {
      core::validate_test_id(id);
      FAIL("accepted " << id);
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::usage);
    }
  }
  CHECK_THROWS_AS((void)core::parse_variant("both"), Error);
  core::AbTest t;
  t.id = "bad";
  t.control = f.v1;
  t.treatment = f.v2;
  t.split = 1.5;
  CHECK_THROWS_AS(core::create_ab_test(f.store, t), Error);
  t.split = 0.5;
  t.canary_step = 0;
  CHECK_THROWS_AS(core::create_ab_test(f.store, t), Error);
  CHECK_THROWS_AS((void)core::parse_strategy("alphabetical"), Error);
  CHECK_FALSE(fs::exists(core::ab_dir(f.store) / "bad"));
}

TEST_CASE("canary: the share starts at the step, rises one step at a time and stops at 1.0")
{
  AbFixture f;
  core::AbTest t;
  t.id = "can";
  t.control = f.v1;
  t.treatment = f.v2;
  t.strategy = core::AbStrategy::canary;
  t.canary_step = 0.3;
  core::create_ab_test(f.store, t);
  (void)core::start_ab_test(f.store, "can");
  CHECK(core::load_ab_test(f.store, "can").treatment_share() == doctest::Approx(0.3));
  CHECK(core::raise_canary(f.store, "can").canary_share == doctest::Approx(0.6));
  CHECK(core::raise_canary(f.store, "can").canary_share == doctest::Approx(0.9));
  CHECK(core::raise_canary(f.store, "can").canary_share == 1.0);
  CHECK(core::raise_canary(f.store, "can").canary_share == 1.0);
  // A user in treatment stays there as the share grows (sticky positions under the share).
  CHECK(core::route_ab(f.store, "can", "anyone").variant == core::Variant::treatment);
}

TEST_CASE("round robin stays exact across concurrent processes")
{
  AbFixture f;
  (void)f.make("rr", core::AbStrategy::round_robin, 0.25);
  std::vector<pid_t> children;
  for (int p = 0; p < 4; ++p) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      int treated = 0;
      for (int i = 0; i < 100; ++i) {
        treated += core::route_ab(f.store, "rr", "").variant == core::Variant::treatment ? 1 : 0;
      }
      ::_exit(treated);
    }
    children.push_back(pid);
  }
  int treated = 0;
  for (const pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    REQUIRE(WIFEXITED(status));
    treated += WEXITSTATUS(status);
  }
  CHECK(treated == 100); // exactly a quarter of 400
}

TEST_CASE("judging: a known winner is significant, a coin flip is not, and no feedback falls back to errors")
{
  core::AbTest t;
  t.target_samples = 500;
  const auto clear = core::judge_ab(t, summary(500, 400, 500, 0), summary(500, 450, 500, 0));
  CHECK(clear.metric == "accuracy");
  CHECK(clear.winner == core::Variant::treatment);
  CHECK(clear.significant);
  CHECK(clear.p_value < 0.001);
  CHECK(clear.target_reached);

  const auto close = core::judge_ab(t, summary(100, 80, 100, 0), summary(100, 82, 100, 0));
  CHECK(close.winner == core::Variant::treatment);
  CHECK_FALSE(close.significant);
  CHECK(close.p_value > 0.5);
  CHECK_FALSE(close.target_reached);

  const auto errors = core::judge_ab(t, summary(0, 0, 1000, 50), summary(0, 0, 1000, 20));
  CHECK(errors.metric == "error_rate");
  CHECK(errors.winner == core::Variant::treatment);
  CHECK(errors.significant);

  const auto tie = core::judge_ab(t, summary(10, 5, 10, 0), summary(10, 5, 10, 0));
  CHECK_FALSE(tie.winner.has_value());
  CHECK_FALSE(tie.significant);
}

TEST_CASE("conclude promotes through the callback only when significant")
{
  AbFixture f;
  (void)f.make("win", core::AbStrategy::random);
  core::Observation right;
  right.correct = true;
  core::Observation wrong;
  wrong.correct = false;
  for (int i = 0; i < 200; ++i) {
    core::record_ab(f.store, "win", core::Variant::control, i % 2 == 0 ? right : wrong);
    core::record_ab(f.store, "win", core::Variant::treatment, i % 10 == 0 ? wrong : right);
  }
  int calls = 0;
  const auto result = core::conclude_ab_test(f.store, "win", [&](const core::AbConclusion& c) {
    ++calls;
    return nlohmann::json{{"winner", core::to_string(*c.winner)}};
  });
  CHECK(calls == 1);
  CHECK(result.conclusion.winner == core::Variant::treatment);
  CHECK(result.test.result["promotion"]["winner"] == "treatment");
  CHECK(core::load_ab_test(f.store, "win").result["significant"] == true);

  (void)f.make("flat", core::AbStrategy::random);
  for (int i = 0; i < 50; ++i) {
    core::record_ab(f.store, "flat", core::Variant::control, i % 2 == 0 ? right : wrong);
    core::record_ab(f.store, "flat", core::Variant::treatment, i % 2 == 1 ? right : wrong);
  }
  const auto flat = core::conclude_ab_test(f.store, "flat", [&](const core::AbConclusion&) {
    ++calls;
    return nlohmann::json();
  });
  CHECK(calls == 1);
  CHECK_FALSE(flat.conclusion.significant);
}
