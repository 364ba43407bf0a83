#include "commands/ab.hpp"

#include "core/layout/events.hpp"
#include "core/layout/names.hpp"
#include "core/stages/promotion.hpp"
#include "core/versions/refs.hpp"
#include "core/versions/version_ops.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

namespace modelkeep::commands {

using nlohmann::json;

core::AbTest ab_create(const Session& session, const AbCreateOptions& options)
{
  core::validate_test_id(options.id);
  const auto lock = session.lock("ab create");
  const core::Store& store = session.store;
  core::AbTest test;
  test.id = options.id;
  test.name = options.name;
  test.description = options.description;
  test.control = core::resolve_version(store, core::VersionRef::parse(options.control)).name;
  test.treatment = core::resolve_version(store, core::VersionRef::parse(options.treatment)).name;
  test.split = options.split;
  test.strategy = core::parse_strategy(options.strategy);
  test.canary_step = options.canary_step;
  test.target_samples = options.target_samples;
  core::create_ab_test(store, test);
  return core::load_ab_test(store, options.id);
}

core::AbTest ab_start(const Session& session, const std::string& id)
{
  const auto lock = session.lock("ab start");
  return core::start_ab_test(session.store, id);
}

AbCanary ab_canary(const Session& session, const std::string& id)
{
  const auto lock = session.lock("ab canary");
  AbCanary result;
  result.before = core::load_ab_test(session.store, id).canary_share;
  result.test = core::raise_canary(session.store, id);
  return result;
}

std::vector<core::AbTest> ab_list(const Session& session)
{
  return core::list_ab_tests(session.existing());
}

json to_json(const std::vector<core::AbTest>& tests)
{
  json list = json::array();
  for (const auto& test : tests) {
    list.push_back(test.to_json());
  }
  return {{"tests", std::move(list)}};
}

core::AbTest ab_show(const Session& session, const std::string& id)
{
  return core::load_ab_test(session.existing(), id);
}

json AbRouted::to_json() const
{
  return {{"test", test},
          {"variant", core::to_string(route.variant)},
          {"version", route.version},
          {"adapter", route.adapter}};
}

AbRouted ab_route(const Session& session, const std::string& id, const std::string& user)
{
  return {id, core::route_ab(session.existing(), id, user)};
}

json AbRecorded::to_json() const
{
  json doc = observation.to_json();
  doc["test"] = test;
  doc["variant"] = core::to_string(variant);
  doc["recorded"] = true;
  return doc;
}

AbRecorded ab_record(const Session& session, const std::string& id, core::Variant variant,
                     const core::Observation& observation)
{
  core::record_ab(session.existing(), id, variant, observation);
  return {id, variant, observation};
}

core::AbStatus ab_status(const Session& session, const std::string& id)
{
  return core::ab_status(session.existing(), id);
}

json to_json(const core::AbStatus& status)
{
  json doc = status.test.to_json();
  doc["variants"] = {{"control", status.control.to_json()}, {"treatment", status.treatment.to_json()}};
  return doc;
}

core::AbConcludeResult ab_conclude(const Session& session, const AbConcludeOptions& options)
{
  core::validate_stage_name(options.stage);
  const auto lock = session.lock("ab conclude");
  const core::Store& store = session.store;
  std::function<json(const core::AbConclusion&)> promote;
  if (options.promote_winner) {
    promote = [&](const core::AbConclusion& c) -> json {
      const auto winner = core::resolve_version(
          store, core::VersionRef::parse(core::load_ab_test(store, options.id).version_of(*c.winner)));
      const auto holder = core::stage_holder(store, options.stage);
      if (holder == winner.name) {
        return {{"stage", options.stage}, {"version", winner.name}, {"changed", false}};
      }
      core::require_verified(winner, "promote", session.progress);
      core::move_stage(store, options.stage, winner, core::EventKind::promote,
                       "A/B test " + options.id + ": " + std::string(core::to_string(*c.winner)) + " won (" +
                           c.metric + " " + util::fixed(c.control_value, 3) + " vs " +
                           util::fixed(c.treatment_value, 3) + ", p = " + util::significant(c.p_value, 3) +
                           ")",
                       {{"ab_test", options.id}});
      return {{"stage", options.stage},
              {"version", winner.name},
              {"changed", true},
              {"from", holder ? json(*holder) : json(nullptr)}};
    };
  }
  return core::conclude_ab_test(store, options.id, promote);
}

} // namespace modelkeep::commands
