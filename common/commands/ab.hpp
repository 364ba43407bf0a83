#pragma once

// A/B tests: create, start, canary, list, show, route, record, status, conclude.

#include "commands/session.hpp"
#include "core/telemetry/ab.hpp"
#include "core/telemetry/observation.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace modelkeep::commands {

struct AbCreateOptions {
  std::string id;
  std::string control;
  std::string treatment;
  double split = 0.5;
  std::string strategy = "random";
  double canary_step = 0.1;
  std::uint64_t target_samples = 0;
  std::string name;
  std::string description;
};
/// The test as created (its document: AbTest::to_json()).
core::AbTest ab_create(const Session& session, const AbCreateOptions& options);
core::AbTest ab_start(const Session& session, const std::string& id);

/// `ab canary`: the treatment share before and after one step.
struct AbCanary {
  double before = 0;
  core::AbTest test;
  [[nodiscard]] nlohmann::json to_json() const { return test.to_json(); }
};
AbCanary ab_canary(const Session& session, const std::string& id);

/// `ab list`: every test (its document: an array of the tests).
[[nodiscard]] std::vector<core::AbTest> ab_list(const Session& session);
[[nodiscard]] nlohmann::json to_json(const std::vector<core::AbTest>& tests);
[[nodiscard]] core::AbTest ab_show(const Session& session, const std::string& id);

/// `ab route`: the variant, version and adapter chosen for one request.
struct AbRouted {
  std::string test;
  core::AbRoute route;
  [[nodiscard]] nlohmann::json to_json() const;
};
[[nodiscard]] AbRouted ab_route(const Session& session, const std::string& id, const std::string& user);

/// `ab record`: the observation as recorded.
struct AbRecorded {
  std::string test;
  core::Variant variant = core::Variant::control;
  core::Observation observation;
  [[nodiscard]] nlohmann::json to_json() const;
};
AbRecorded ab_record(const Session& session, const std::string& id, core::Variant variant,
                     const core::Observation& observation);

/// `ab status`: the test and the figures of each variant.
[[nodiscard]] core::AbStatus ab_status(const Session& session, const std::string& id);
[[nodiscard]] nlohmann::json to_json(const core::AbStatus& status);

struct AbConcludeOptions {
  std::string id;
  bool promote_winner = false;
  std::string stage = "production";
};
/// `ab conclude`: the judgement, and the promotion if one was asked for and the result is
/// significant (its document: the concluded test).
core::AbConcludeResult ab_conclude(const Session& session, const AbConcludeOptions& options);

} // namespace modelkeep::commands
